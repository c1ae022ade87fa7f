"""The synthetic event `doctor --send-test` sends to the deployed responder.

It carries a StopConfigurationRecorder record, so the alert goes through every real
rendering and the real topic, but under a source of our own: EventBridge reserves `aws.*`
sources for AWS, so nobody can make it look like a real call, and no rule of ours matches
it (`doctor --send-test` invokes the function directly). The responder recognises it by its
source and publishes a TEST alert: no recorder read, no restart, no episode, no idempotency
record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

TEST_SOURCE = "recorder-guard.test"
TEST_DETAIL_TYPE = "recorder-guard test alert"
TEST_RECORDER = "TEST-recorder-guard-doctor"
TEST_USER_AGENT = "recorder-guard doctor --send-test"
TEST_RULE = "stopped_recorder"
TEST_BANNER = (
    "TEST ALERT sent by `recorder-guard doctor --send-test` to prove that alerts arrive."
    " Nothing happened to any recorder; no action is needed."
)


def is_test_event(event: object) -> bool:
    return isinstance(event, Mapping) and event.get("source") == TEST_SOURCE


def build_test_event(
    *, account: str, region: str, event_id: str, at: datetime, caller_arn: str
) -> dict[str, Any]:
    """An EventBridge-shaped event whose detail is a StopConfigurationRecorder record made
    by `caller_arn` (the operator who ran doctor) on a recorder that does not exist."""
    moment = at.isoformat().replace("+00:00", "Z")
    return {
        "version": "0",
        "id": event_id,
        "detail-type": TEST_DETAIL_TYPE,
        "source": TEST_SOURCE,
        "account": account,
        "time": moment,
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole", "arn": caller_arn, "accountId": account},
            "eventTime": moment,
            "eventSource": "config.amazonaws.com",
            "eventName": "StopConfigurationRecorder",
            "awsRegion": region,
            "sourceIPAddress": "recorder-guard.test",
            "userAgent": TEST_USER_AGENT,
            "requestParameters": {"configurationRecorderName": TEST_RECORDER},
            "responseElements": None,
            "requestID": event_id,
            "eventID": event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
        },
    }
