"""Configuration from the environment variables that template.yaml sets, parsed once.

A bad value fails the first invocation with a message that names the variable, rather than
surfacing later as a confusing AWS error in the middle of an alert.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

TOPIC_ARN_PATTERN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"
)
BOOLEANS = {"true": True, "false": False}


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    alert_topic_arn: str
    check_recorder_status: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        topic = env.get("ALERT_TOPIC_ARN", "").strip()
        if not topic:
            raise SettingsError("ALERT_TOPIC_ARN is not set: the SNS topic to publish alerts to")
        if not TOPIC_ARN_PATTERN.match(topic):
            raise SettingsError(f"ALERT_TOPIC_ARN is not an SNS topic ARN: {topic[:300]!r}")
        return cls(
            alert_topic_arn=topic,
            check_recorder_status=_boolean(env, "CHECK_RECORDER_STATUS", default=True),
        )


def _boolean(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in BOOLEANS:
        raise SettingsError(f"{name} must be 'true' or 'false', got {raw[:50]!r}")
    return BOOLEANS[raw]
