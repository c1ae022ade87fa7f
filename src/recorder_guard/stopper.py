"""Who stopped it: the backstop asks CloudTrail's event history about a recorder it found off.

The event path knows the caller from the event; the backstop only knows the recorder's
`lastStopTime`. One LookupEvents call around that time finds the StopConfigurationRecorder
call (if CloudTrail has it yet), so the alert can name the caller and the same
ExemptPrincipalArns apply to the restart. Every value in it is attacker-controlled text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from recorder_guard.cloudtrail import CloudTrailRecord
from recorder_guard.limits import clip

logger = Logger(service="recorder-guard", child=True)
LOOKUP_PERMISSIONS = ("cloudtrail:LookupEvents",)
WINDOW = timedelta(minutes=10)  # either side of lastStopTime
FIELD_LIMIT = 1024


@dataclass(frozen=True)
class Stopper:
    """The successful StopConfigurationRecorder call that matches the recorder's stop."""

    arn: str | None
    issuer_arn: str | None
    display_name: str | None
    identity_type: str | None
    source_ip: str | None
    event_id: str | None
    event_time: str | None

    @property
    def principal_arns(self) -> tuple[str, ...]:
        return tuple(arn for arn in (self.arn, self.issuer_arn) if arn)

    def to_dict(self) -> dict[str, Any]:
        fields = {
            "arn": self.arn,
            "session_issuer_arn": self.issuer_arn,
            "display_name": self.display_name,
            "type": self.identity_type,
            "source_ip": self.source_ip,
            "event_id": self.event_id,
            "event_time": self.event_time,
        }
        return {key: value for key, value in fields.items() if value is not None}


def _stopper(record: CloudTrailRecord) -> Stopper:
    identity = record.user_identity
    issuer = identity.session_issuer

    def short(value: str | None) -> str | None:
        return clip(value, FIELD_LIMIT) if value is not None else None

    return Stopper(
        arn=short(identity.arn),
        issuer_arn=short(issuer.arn if issuer else None),
        display_name=short(identity.display_name),
        identity_type=short(identity.type),
        source_ip=short(record.source_ip),
        event_id=short(record.event_id),
        event_time=short(record.event_time),
    )


def find_stopper(cloudtrail: Any, recorder: str, stopped_at: datetime) -> Stopper | None:
    """The matching call closest to `stopped_at`, or None (not in the history yet, no access,
    or stopped by something that is not a successful API call). Never raises."""
    try:
        response = cloudtrail.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "StopConfigurationRecorder"}
            ],
            StartTime=stopped_at - WINDOW,
            EndTime=stopped_at + WINDOW,
            MaxResults=50,
        )
    except Exception as error:  # a nicety: the alert goes out without it
        logger.warning("CloudTrail lookup failed", extra={"error": str(error)})
        return None
    candidates = []
    for event in response.get("Events", []):
        try:
            raw = json.loads(event.get("CloudTrailEvent") or "{}")
        except ValueError:
            continue
        if not isinstance(raw, dict):
            continue
        record = CloudTrailRecord.parse(raw)
        when = record.timestamp
        if record.outcome != "success" or record.recorder_name != recorder or when is None:
            continue
        candidates.append((abs((when - stopped_at).total_seconds()), record))
    if not candidates:
        return None
    return _stopper(min(candidates, key=lambda pair: pair[0])[1])
