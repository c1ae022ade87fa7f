"""One event through the flow: parse, detect, enrich, publish. No Lambda specifics here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from recorder_guard.alert import Alert, build_alert
from recorder_guard.clients import Runtime
from recorder_guard.cloudtrail import parse_event
from recorder_guard.detection import Ignored, detect
from recorder_guard.notify import build_publish_request, publish
from recorder_guard.recorder_status import read_recorder_status
from recorder_guard.rules import load_rules

logger = Logger(service="recorder-guard", child=True)


@dataclass(frozen=True)
class Outcome:
    outcome: str  # "alerted" | "ignored"
    reason: str
    event_id: str | None
    ignored_code: str | None = None
    message_id: str | None = None
    alert: Alert | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """What the handler returns: small, and free of event-supplied text beyond the id."""
        result: dict[str, Any] = {
            "outcome": self.outcome,
            "reason": self.reason,
            "event_id": self.event_id,
        }
        if self.message_id:
            result["message_id"] = self.message_id
        if self.alert:
            result["recorder_state"] = self.alert.recorder_status.summary
        return result


def respond(event: object, runtime: Runtime, *, now: datetime) -> Outcome:
    """Raises MalformedEventError for a non-EventBridge event and lets publish errors out."""
    parsed = parse_event(event)
    verdict = detect(parsed, load_rules())
    if isinstance(verdict, Ignored):
        return Outcome(
            outcome="ignored",
            reason=verdict.reason,
            ignored_code=verdict.code,
            event_id=parsed.record.event_id,
        )
    checked_at = now.isoformat().replace("+00:00", "Z")
    config = runtime.config
    status = (
        read_recorder_status(
            config,
            parsed.record.recorder_name,
            event_region=parsed.region_name,
            checked_at=checked_at,
        )
        if config is not None
        else None
    )
    alert = build_alert(verdict, detected_at=now, recorder_status=status)
    request = build_publish_request(alert, runtime.settings.alert_topic_arn)
    message_id = publish(runtime.sns, request)
    return Outcome(
        outcome="alerted",
        reason=f"{verdict.rule.name} ({verdict.rule.id})",
        event_id=parsed.record.event_id,
        message_id=message_id,
        alert=alert,
    )
