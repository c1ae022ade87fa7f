"""Who stopped it: the backstop asks CloudTrail's event history about a recorder it found off.

The event path knows the caller from the event; the backstop only knows the recorder's
`lastStopTime`. One LookupEvents call around that time finds the StopConfigurationRecorder
call (if CloudTrail has it yet), so the alert can name the caller and the same
ExemptPrincipalArns apply to the restart. Every value in it is attacker-controlled text.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from recorder_guard.domain.cloudtrail import CloudTrailRecord
from recorder_guard.domain.recorder import Stopper, stopper_from_record

logger = Logger(service="recorder-guard", child=True)
LOOKUP_PERMISSIONS = ("cloudtrail:LookupEvents",)
WINDOW = timedelta(minutes=10)  # either side of lastStopTime


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
    return stopper_from_record(min(candidates, key=lambda pair: pair[0])[1])
