"""AWS clients: created lazily, once per process, only for features that are switched on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from recorder_guard.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient

# Publishing must survive throttling: the standard retry mode backs off on 429/5xx.
PUBLISH_RETRIES = 5  # botocore's max_attempts counts retries: 6 attempts in all
PUBLISH_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": PUBLISH_RETRIES},
    connect_timeout=5,
    read_timeout=10,
)
# The status check is a nicety: short timeouts, few retries, so it never delays the alert much.
STATUS_CHECK_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=3
)
# Remediation shares the status check's client: the same short timeouts keep it in budget.
STATE_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=3
)


@dataclass
class Runtime:
    """Settings plus the clients they call for; tests build one around moto-backed clients."""

    settings: Settings
    _sns: SNSClient | None = field(default=None, repr=False)
    _config: ConfigServiceClient | None = field(default=None, repr=False)
    _dynamodb: DynamoDBClient | None = field(default=None, repr=False)

    @property
    def sns(self) -> SNSClient:
        if self._sns is None:
            self._sns = boto3.client("sns", config=PUBLISH_CONFIG)
        return self._sns

    @property
    def config(self) -> ConfigServiceClient | None:
        """None when neither the status check nor auto-restart is on."""
        if not (self.settings.check_recorder_status or self.settings.auto_restart):
            return None
        if self._config is None:
            self._config = boto3.client("config", config=STATUS_CHECK_CONFIG)
        return self._config

    @property
    def dynamodb(self) -> DynamoDBClient | None:
        """The state table's client, only when a feature that uses the table is on."""
        uses_table = self.settings.auto_restart or self.settings.idempotency
        if not (uses_table and self.settings.state_table):
            return None
        if self._dynamodb is None:
            self._dynamodb = boto3.client("dynamodb", config=STATE_CONFIG)
        return self._dynamodb
