"""AWS clients: created lazily, once per process, only for features that are switched on."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config

from recorder_guard.aws.errors import error_code, error_details, is_access_denied
from recorder_guard.domain.values import field, value
from recorder_guard.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
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

# The opt-in outputs beside SNS: a few quick retries, short timeouts, never long enough to
# endanger the function's budget (the SNS alert is already out when they run).
OUTPUT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=3
)

# The backstop must finish what it starts inside its reserve (a hung publish with the event
# path's settings could take 90 s and more): fewer attempts, shorter timeouts.
BACKSTOP_PUBLISH_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=3
)
BACKSTOP_STATE_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=3
)
RETRY_AFTER_MAX_SECONDS = 5  # botocore adds up to this much for an x-amz-retry-after header
MAX_BACKOFF_SECONDS = 20


def worst_case_seconds(config: Config) -> float:
    """The longest one call through a client with `config` can take: every attempt times out
    (connect + read), with standard-mode backoff at its maximum between attempts
    (botocore.retries.standard.ExponentialBackoff: rand * min(2 ** (n - 1), 20), plus up to 5 s
    for a retry-after header)."""
    settings: Any = config  # botocore's Config sets these attributes dynamically
    retries = settings.retries or {}
    attempts = int(retries.get("total_max_attempts") or int(retries.get("max_attempts", 2)) + 1)
    per_attempt = float(settings.connect_timeout or 60) + float(settings.read_timeout or 60)
    backoff = sum(
        min(2.0 ** (n - 1), MAX_BACKOFF_SECONDS) + RETRY_AFTER_MAX_SECONDS
        for n in range(1, attempts)
    )
    return attempts * per_attempt + backoff


# The idempotency store is a nicety in front of the alert: one quick retry, then publish
# without it (worst case about 2 x (1 + 2) s per call, instead of the state client's ~16 s).
IDEMPOTENCY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1, read_timeout=2
)
logger = Logger(service="recorder-guard", child=True)
MEMBER_SESSION_SECONDS = 900
DENIED_CACHE_SECONDS = 60  # a refused AssumeRole is not retried for every region of a run
REFRESH_MARGIN_SECONDS = 120


# boto3's default session is not thread-safe (clients are): the status check and the
# backstop's fan-out run on worker threads, so every client made from it is made under this
# lock. https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients
_DEFAULT_SESSION_LOCK = threading.Lock()


def default_client(service: str, **options: Any) -> Any:
    """A client from boto3's default session, safe to call from any thread."""
    with _DEFAULT_SESSION_LOCK:
        return boto3.client(service, **options)  # type: ignore[call-overload]


RESPONDER_SESSION = "recorder-guard-responder"
BACKSTOP_SESSION = "recorder-guard-backstop"


@value
class Reach:
    """A Config client for one account and region, or why there is none."""

    config: ConfigServiceClient | None
    reason: str | None = None
    account_alias: str | None = None


@value(frozen=False)
class Runtime:
    """Settings plus the clients they call for; tests build one around moto-backed clients."""

    settings: Settings
    publish_config: Config = field(default=PUBLISH_CONFIG, repr=False)
    state_config: Config = field(default=STATE_CONFIG, repr=False)
    _sns: SNSClient | None = field(default=None, repr=False)
    _config: ConfigServiceClient | None = field(default=None, repr=False)
    _dynamodb: DynamoDBClient | None = field(default=None, repr=False)
    _idempotency_dynamodb: DynamoDBClient | None = field(default=None, repr=False)
    _members: dict[tuple[str, str], tuple[float, Reach]] = field(default_factory=dict, repr=False)
    _sts: Any = field(default=None, repr=False)
    _sessions: dict[str, tuple[float, boto3.Session | None, str | None, str | None]] = field(
        default_factory=dict, repr=False
    )
    _organizations: Any = field(default=None, repr=False)
    _securityhub: dict[str, Any] = field(default_factory=dict, repr=False)
    _events: EventBridgeClient | None = field(default=None, repr=False)
    # The member role's trust policy admits each central role under its own session name,
    # and gives the backstop's reads to the backstop's session only (templates/forwarder.yaml).
    session_name: str = RESPONDER_SESSION

    @property
    def sns(self) -> SNSClient:
        if self._sns is None:
            self._sns = default_client("sns", config=self.publish_config)
        return self._sns

    @property
    def config(self) -> ConfigServiceClient | None:
        """None when neither the status check, auto-restart nor the backstop is on."""
        settings = self.settings
        if not (settings.check_recorder_status or settings.auto_restart or settings.backstop):
            return None
        if self._config is None:
            self._config = default_client("config", config=STATUS_CHECK_CONFIG)
        return self._config

    def reach(self, account: str | None, region: str | None) -> Reach:
        """Config in an account and region: this account directly (other regions only where
        the backstop is told to look); in central mode a member account through its member
        role. Clients and member sessions are cached until shortly before they expire."""
        own = self.config
        if own is None:
            return Reach(None, "no Config access is configured")
        settings = self.settings
        account = account or settings.home_account
        region = region or own.meta.region_name
        if account == settings.home_account and region == own.meta.region_name:
            return Reach(own)
        cached = self._members.get((account, region))
        if cached and cached[0] - REFRESH_MARGIN_SECONDS > time.time():
            return cached[1]
        self._members.pop((account, region), None)
        if account == settings.home_account and region in settings.backstop_regions:
            reach = Reach(default_client("config", region_name=region, config=STATUS_CHECK_CONFIG))
            self._members[(account, region)] = (float("inf"), reach)
            return reach
        if not settings.member_role_name:
            return Reach(
                None,
                f"event from {account}/{region}; this single-account responder runs in"
                f" {settings.home_account}/{own.meta.region_name}",
            )
        expires, session, reason, alias = self._member_session(account)
        reach = (
            Reach(
                session.client("config", region_name=region, config=STATUS_CHECK_CONFIG),
                None,
                alias,
            )
            if session is not None
            else Reach(None, reason)
        )
        if session is not None:  # a refusal is remembered per account, in _sessions only
            self._members[(account, region)] = (expires, reach)
        return reach

    def _member_session(
        self, account: str
    ) -> tuple[float, boto3.Session | None, str | None, str | None]:
        """One AssumeRole per member account (not per region): expiry, session or why not,
        and the account alias. A refusal (access denied) is remembered for a minute; a
        throttled or timed-out call is not remembered at all, so the next event tries again."""
        now = time.time()
        cached = self._sessions.get(account)
        if cached and (
            cached[0] - REFRESH_MARGIN_SECONDS > now or (cached[1] is None and cached[0] > now)
        ):
            return cached
        expires = now + MEMBER_SESSION_SECONDS
        settings = self.settings
        role = f"arn:{settings.partition}:iam::{account}:role/{settings.member_role_name}"
        try:
            credentials = self.sts.assume_role(
                RoleArn=role,
                RoleSessionName=self.session_name,
                DurationSeconds=MEMBER_SESSION_SECONDS,
            )["Credentials"]
        except Exception as error:  # the alert still goes out, saying why
            code, message = error_details(error)
            logger.warning("AssumeRole failed", extra={"error_code": code, "error": message})
            denied = is_access_denied(error)
            result = (
                now + DENIED_CACHE_SECONDS if denied else now,
                None,
                f"could not assume {role}: {code}",
                None,
            )
            if denied:
                self._sessions[account] = result
            else:
                self._sessions.pop(account, None)
            return result
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        alias = None
        try:
            aliases = session.client("iam", config=STATUS_CHECK_CONFIG).list_account_aliases()
            alias = next(iter(aliases.get("AccountAliases", [])), None)
        except Exception as error:  # a nicety: the alert names the account id anyway
            logger.info("no account alias", extra={"error_code": error_code(error)})
            alias = None
        self._sessions[account] = (expires, session, None, alias)
        return self._sessions[account]

    def cloudtrail_in(self, account: str, region: str) -> Any:
        """CloudTrail's event history in an account and region, reached as reach() reaches
        Config; None when the member role cannot be assumed."""
        settings = self.settings
        if account == settings.home_account:
            return default_client("cloudtrail", region_name=region, config=STATUS_CHECK_CONFIG)
        if not settings.member_role_name:
            return None
        session = self._member_session(account)[1]
        if session is None:
            return None
        return session.client("cloudtrail", region_name=region, config=STATUS_CHECK_CONFIG)

    @property
    def sts(self) -> Any:
        """Created before the backstop fans out: clients are thread-safe, creating them from
        boto3's shared default session is not."""
        if self._sts is None:
            self._sts = default_client("sts", config=STATUS_CHECK_CONFIG)
        return self._sts

    def forget(self, account: str) -> None:
        """Drop an account's member session and clients: the backstop reads hundreds of
        accounts per run and must not hold a session for each."""
        self._sessions.pop(account, None)
        for key in list(self._members):  # one C-level copy: other workers may be adding keys
            if key[0] == account:
                self._members.pop(key, None)

    @property
    def organizations(self) -> Any:
        """For the backstop in central mode: the organization's member accounts."""
        if self._organizations is None:
            self._organizations = default_client("organizations", config=STATUS_CHECK_CONFIG)
        return self._organizations

    @property
    def dynamodb(self) -> DynamoDBClient | None:
        """The state table's client, only when a feature that uses the table is on."""
        settings = self.settings
        uses_table = settings.auto_restart or settings.idempotency or settings.backstop
        if not (uses_table and self.settings.state_table):
            return None
        if self._dynamodb is None:
            self._dynamodb = default_client("dynamodb", config=self.state_config)
        return self._dynamodb

    @property
    def idempotency_dynamodb(self) -> DynamoDBClient | None:
        """The state table for idempotency records, with short timeouts; tests that hand in
        one moto-backed client get it for both uses."""
        if not (self.settings.idempotency and self.settings.state_table):
            return None
        if self._idempotency_dynamodb is None:
            self._idempotency_dynamodb = (
                self._dynamodb
                if self._dynamodb is not None
                else default_client("dynamodb", config=IDEMPOTENCY_CONFIG)
            )
        return self._idempotency_dynamodb

    def securityhub_in(self, account: str, region: str) -> tuple[Any, str | None]:
        """Security Hub in the account and region a finding is about, or why there is none:
        with the default product ARN only that account may import it. This account directly;
        in central mode a member account through its member role. None when the feature is
        off (no client is created for it)."""
        settings = self.settings
        if not settings.security_hub_findings:
            return None, "SecurityHubFindings is off"
        if account == settings.home_account:
            if region not in self._securityhub:
                self._securityhub[region] = default_client(
                    "securityhub", region_name=region, config=OUTPUT_CONFIG
                )
            return self._securityhub[region], None
        if not settings.member_role_name:
            return None, (
                f"finding for {account}: a single-account deployment imports only"
                f" {settings.home_account}'s findings"
            )
        _, session, reason, _ = self._member_session(account)
        if session is None:
            return None, reason
        return session.client("securityhub", region_name=region, config=OUTPUT_CONFIG), None

    @property
    def events(self) -> EventBridgeClient | None:
        """EventBridge for the alert bus, in the bus's region when given as an ARN; None
        when AlertEventBus is not set."""
        bus = self.settings.alert_event_bus
        if not bus:
            return None
        if self._events is None:
            region = bus.split(":")[3] if bus.startswith("arn:") else None
            self._events = default_client("events", region_name=region, config=OUTPUT_CONFIG)
        return self._events
