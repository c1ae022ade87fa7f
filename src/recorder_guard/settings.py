"""Configuration from the environment variables that template.yaml sets, parsed once.

A bad value fails the first invocation with a message that names the variable, rather than
surfacing later as a confusing AWS error in the middle of an alert.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from recorder_guard.domain.cloudtrail import ACCOUNT_PATTERN, REGION_PATTERN
from recorder_guard.domain.values import value

if TYPE_CHECKING:
    from recorder_guard.domain.recorder import RecorderKey

TOPIC_ARN_PATTERN = re.compile(
    r"arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}"
)
BOOLEANS = {"true": True, "false": False}
# ASCII only (`\d` would also accept other scripts' digits); every pattern is matched whole.
ROLE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
SECRET_ARN_PATTERN = re.compile(
    r"arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}"
)
# PutEvents' EventBusName: a name, or the ARN of a bus (the API model's own pattern).
EVENT_BUS_PATTERN = re.compile(
    r"(arn:aws[A-Za-z0-9-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/)?[.\-_A-Za-z0-9]{1,256}"
)


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


REMEDIATION_MODES = ("enforce", "dry_run")


@value
class Settings:
    alert_topic_arn: str
    check_recorder_status: bool
    auto_restart: bool = False
    remediation_mode: str = "enforce"
    exempt_principal_patterns: tuple[str, ...] = ()
    flap_window_seconds: int = 3600
    remediation_budget_seconds: float = 10.0
    state_table: str | None = None
    idempotency: bool = False  # the template turns it on; tests opt in
    enabled_rules: tuple[str, ...] | None = None  # rule keys; None: the whole catalogue
    member_role_name: str | None = None  # central mode: the role to assume in member accounts
    backstop: bool = False  # the scheduled check is deployed: both paths keep episodes
    reminder_seconds: int = 24 * 3600  # 0: no reminders for open episodes
    expected_off: tuple[str, ...] = ()  # `account/region/recorder` patterns, `*` wildcards
    backstop_accounts: tuple[str, ...] = ()  # empty: this account (central: the organization)
    backstop_regions: tuple[str, ...] = ()  # empty: the function's own region
    security_hub_findings: bool = False  # each alert and episode also as a Security Hub finding
    alert_event_bus: str | None = None  # each alert also as an EventBridge event on this bus

    @property
    def home_account(self) -> str:
        """This stack's account, read from the topic ARN (no STS call needed)."""
        return self.alert_topic_arn.split(":")[4]

    @property
    def home_region(self) -> str:
        return self.alert_topic_arn.split(":")[3]

    @property
    def partition(self) -> str:
        return self.alert_topic_arn.split(":")[1]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        topic = env.get("ALERT_TOPIC_ARN", "").strip()
        if not topic:
            raise SettingsError("ALERT_TOPIC_ARN is not set: the SNS topic to publish alerts to")
        if not TOPIC_ARN_PATTERN.fullmatch(topic):
            raise SettingsError(f"ALERT_TOPIC_ARN is not an SNS topic ARN: {topic[:300]!r}")
        auto_restart = _boolean(env, "AUTO_RESTART", default=False)
        mode = env.get("REMEDIATION_MODE", "").strip() or "enforce"
        if mode not in REMEDIATION_MODES:
            raise SettingsError(
                f"REMEDIATION_MODE must be one of {REMEDIATION_MODES}, got {mode!r}"
            )
        state_table = env.get("STATE_TABLE_NAME", "").strip() or None
        if auto_restart and mode == "enforce" and not state_table:
            raise SettingsError(
                "STATE_TABLE_NAME is not set: AUTO_RESTART in enforce mode keeps restart state"
                " there to stop restart loops"
            )
        idempotency = _boolean(env, "IDEMPOTENCY", default=True)
        if idempotency and not state_table:
            raise SettingsError(
                "STATE_TABLE_NAME is not set: IDEMPOTENCY keeps one record per CloudTrail event"
                " there (set IDEMPOTENCY=false to run without it)"
            )
        patterns = tuple(p.strip() for p in env.get("EXEMPT_PRINCIPAL_ARNS", "").split(","))
        for pattern in patterns:
            if pattern and not pattern.startswith("arn:"):
                raise SettingsError(
                    f"EXEMPT_PRINCIPAL_ARNS entries must be ARN patterns, got {pattern[:100]!r}"
                )
        member_role = env.get("MEMBER_ROLE_NAME", "").strip() or None
        if member_role and not ROLE_NAME_PATTERN.fullmatch(member_role):
            raise SettingsError(f"MEMBER_ROLE_NAME is not an IAM role name: {member_role[:100]!r}")
        if member_role:
            for pattern in patterns:
                account = pattern.split(":")[4] if pattern.count(":") >= 5 else ""
                if pattern and not ACCOUNT_PATTERN.fullmatch(account):
                    # In central mode a wildcard account would exempt that role name in every
                    # member account: whoever can create a role so named escapes remediation.
                    raise SettingsError(
                        "EXEMPT_PRINCIPAL_ARNS entries need a literal 12-digit account in"
                        f" central mode (MEMBER_ROLE_NAME is set), got {pattern[:100]!r}"
                    )
        return cls(
            **_backstop(env, state_table),
            **_outputs(env),
            member_role_name=member_role,
            enabled_rules=_rule_keys(env),
            alert_topic_arn=topic,
            check_recorder_status=_boolean(env, "CHECK_RECORDER_STATUS", default=True),
            auto_restart=auto_restart,
            remediation_mode=mode,
            exempt_principal_patterns=tuple(p for p in patterns if p),
            flap_window_seconds=60 * _integer(env, "FLAP_WINDOW_MINUTES", 60, 1, 10_080),
            remediation_budget_seconds=float(
                _integer(env, "REMEDIATION_TIMEOUT_SECONDS", 10, 1, 60)
            ),
            state_table=state_table,
            idempotency=idempotency,
        )


def _boolean(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in BOOLEANS:
        raise SettingsError(f"{name} must be 'true' or 'false', got {raw[:50]!r}")
    return BOOLEANS[raw]


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw[:50]!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _backstop(env: Mapping[str, str], state_table: str | None) -> dict[str, Any]:
    """The scheduled check's settings (the responder reads BACKSTOP to keep episodes)."""
    backstop = _boolean(env, "BACKSTOP", default=False)
    if backstop and not state_table:
        raise SettingsError(
            "STATE_TABLE_NAME is not set: the BACKSTOP keeps its open episodes there"
        )
    accounts = _listed(env, "BACKSTOP_ACCOUNTS")
    for account in accounts:
        if not ACCOUNT_PATTERN.fullmatch(account):
            raise SettingsError(f"BACKSTOP_ACCOUNTS entries must be 12-digit ids: {account!r}")
    regions = _listed(env, "BACKSTOP_REGIONS")
    for region in regions:
        if not REGION_PATTERN.fullmatch(region):
            raise SettingsError(f"BACKSTOP_REGIONS entries must be region names: {region!r}")
    return {
        "backstop": backstop,
        "reminder_seconds": 3600 * _integer(env, "BACKSTOP_REMINDER_HOURS", 24, 0, 720),
        "expected_off": expected_off_patterns(env.get("EXPECTED_OFF", "")),
        "backstop_accounts": accounts,
        "backstop_regions": regions,
    }


def _outputs(env: Mapping[str, str]) -> dict[str, Any]:
    """The opt-in machine outputs beside SNS: Security Hub findings, an EventBridge event."""
    bus = env.get("ALERT_EVENT_BUS", "").strip() or None
    if bus and not EVENT_BUS_PATTERN.fullmatch(bus):
        raise SettingsError(f"ALERT_EVENT_BUS must be an event bus name or ARN, got {bus[:200]!r}")
    return {
        "security_hub_findings": _boolean(env, "SECURITY_HUB_FINDINGS", default=False),
        "alert_event_bus": bus,
    }


def _listed(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in env.get(name, "").split(",") if v.strip()))


def expected_off_patterns(raw: str) -> tuple[str, ...]:
    """EXPECTED_OFF entries as `account/region/recorder` patterns: a 12-digit id means that
    account, a region name that region, `a/b/c` is taken as written (`*` wildcards), and
    anything else is a recorder name."""
    patterns = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        if ACCOUNT_PATTERN.fullmatch(entry):
            patterns.append(f"{entry}/*/*")
        elif REGION_PATTERN.fullmatch(entry):
            patterns.append(f"*/{entry}/*")
        elif "/" in entry:
            parts = entry.split("/")
            if len(parts) != 3 or not all(parts):
                raise SettingsError(
                    f"EXPECTED_OFF entry {entry[:100]!r} must be account/region/recorder"
                )
            patterns.append(entry)
        else:
            patterns.append(f"*/*/{entry}")
    return tuple(dict.fromkeys(patterns))


def expected_off_pattern(patterns: tuple[str, ...], key: RecorderKey) -> str | None:
    """The first EXPECTED_OFF pattern matching `account/region/recorder`, if any."""
    return next((p for p in patterns if fnmatchcase(key.text, p)), None)


def _rule_keys(env: Mapping[str, str]) -> tuple[str, ...] | None:
    """ENABLED_RULES: comma-separated rule keys, or `all` / empty for the whole catalogue."""
    from recorder_guard.domain.rules import load_rules  # noqa: PLC0415 - settings stay import-light

    raw = env.get("ENABLED_RULES", "").strip()
    if raw in ("", "all"):
        return None
    keys = tuple(key.strip() for key in raw.split(",") if key.strip())
    known = {rule.key for rule in load_rules()}
    unknown = sorted(set(keys) - known)
    if unknown or not keys:
        raise SettingsError(
            f"ENABLED_RULES names unknown rules {unknown}; known: {sorted(known)} or 'all'"
        )
    return keys


def slack_webhook_secret_arn(env: Mapping[str, str] | None = None) -> str:
    """SLACK_WEBHOOK_SECRET_ARN, for the Slack forwarder function only."""
    env = os.environ if env is None else env
    arn = env.get("SLACK_WEBHOOK_SECRET_ARN", "").strip()
    if not SECRET_ARN_PATTERN.fullmatch(arn):
        raise SettingsError(
            "SLACK_WEBHOOK_SECRET_ARN must be the ARN of the Secrets Manager secret that holds"
            f" the Slack webhook URL, got {arn[:200]!r}"
        )
    return arn
