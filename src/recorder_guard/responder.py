"""One event through the flow: parse, detect, enrich, publish. No Lambda specifics here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from recorder_guard.alert import Alert, build_alert
from recorder_guard.clients import Runtime
from recorder_guard.cloudtrail import CloudTrailEvent, parse_event
from recorder_guard.detection import Ignored, detect
from recorder_guard.notify import build_publish_request, publish
from recorder_guard.recorder_status import not_checked, read_recorder_status
from recorder_guard.remediation import (
    FAILED,
    FlapGuard,
    RemediationPolicy,
    RemediationResult,
    Target,
    remediate_within_budget,
)
from recorder_guard.rules import enabled_rules

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient


@dataclass(frozen=True)
class Outcome:
    outcome: str  # "alerted" | "ignored"
    reason: str
    event_id: str | None
    ignored_code: str | None = None
    message_id: str | None = None
    alert: Alert | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """What the handler returns: small; event-supplied text only as clipped, quoted reasons."""
        result: dict[str, Any] = {
            "outcome": self.outcome,
            "reason": self.reason,
            "event_id": self.event_id,
        }
        if self.message_id:
            result["message_id"] = self.message_id
        if self.alert:
            result["recorder_state"] = self.alert.recorder_now
            if self.alert.remediation:
                result["remediation"] = self.alert.remediation.to_dict()
        return result


PUBLISH_RESERVE_SECONDS = 8.0  # what the publish needs, kept back from remediation's budget


def respond(
    event: object, runtime: Runtime, *, now: datetime, seconds_left: float = 30.0
) -> Outcome:
    """Raises MalformedEventError for a non-EventBridge event and lets publish errors out."""
    parsed = parse_event(event)
    verdict = detect(parsed, enabled_rules(runtime.settings.enabled_rules))
    if isinstance(verdict, Ignored):
        return Outcome(
            outcome="ignored",
            reason=verdict.reason,
            ignored_code=verdict.code,
            event_id=parsed.record.event_id,
        )
    settings = runtime.settings
    wants_config = settings.check_recorder_status or (
        settings.auto_restart and verdict.rule.restartable
    )
    reach = runtime.reach(parsed.account_id, parsed.region_name) if wants_config else None
    status = None
    if settings.check_recorder_status and reach is not None:
        status = (
            read_recorder_status(
                reach.config,
                parsed.record.recorder_name,
                checked_at=now.isoformat().replace("+00:00", "Z"),
            )
            if reach.config is not None
            else not_checked(reach.reason or "no Config access")
        )
    remediation = None
    if settings.auto_restart and verdict.rule.restartable and reach is not None:
        remediation = (
            restart(parsed, runtime, reach.config, seconds_left)
            if reach.config is not None
            else RemediationResult(
                FAILED, reach.reason or "no Config access", settings.remediation_mode
            )
        )
    alert = build_alert(
        verdict,
        detected_at=now,
        recorder_status=status,
        remediation=remediation,
        account_alias=reach.account_alias if reach else None,
    )
    request = build_publish_request(alert, runtime.settings.alert_topic_arn)
    message_id = publish(runtime.sns, request)
    return Outcome(
        outcome="alerted",
        reason=f"{verdict.rule.name} ({verdict.rule.id})",
        event_id=parsed.record.event_id,
        message_id=message_id,
        alert=alert,
    )


def restart(
    event: CloudTrailEvent, runtime: Runtime, config: ConfigServiceClient, seconds_left: float
) -> RemediationResult:
    """The opt-in restart, inside what is left of the function's time after the publish."""
    settings = runtime.settings
    budget = max(
        1.0, min(settings.remediation_budget_seconds, seconds_left - PUBLISH_RESERVE_SECONDS)
    )
    policy = RemediationPolicy(
        mode=settings.remediation_mode,
        exempt_principal_patterns=settings.exempt_principal_patterns,
        flap_window_seconds=settings.flap_window_seconds,
        budget_seconds=budget,
        state_table=settings.state_table,
    )
    identity = event.record.user_identity
    issuer = identity.session_issuer
    target = Target(
        recorder_name=event.record.recorder_name,
        account_id=event.account_id,
        region=event.region_name,
        principal_arns=tuple(arn for arn in (identity.arn, issuer and issuer.arn) if arn),
    )
    dynamodb = runtime.dynamodb
    flap_guard = (
        FlapGuard(dynamodb, settings.state_table, settings.flap_window_seconds)
        if dynamodb is not None and settings.state_table
        else None
    )
    return remediate_within_budget(target, policy, config, flap_guard)
