"""The opt-in outputs beside SNS, shared by the responder and the backstop: a Security Hub
finding and an EventBridge event. Each runs after the SNS publish and never raises: a failure
is logged, returned and counted (metrics SecurityHubImportFailed and AlertEventFailed, each
alarmed in template.yaml), and the alert stands."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools import Logger

from recorder_guard.aws.clients import Runtime
from recorder_guard.domain.values import value

logger = Logger(service="recorder-guard", child=True)
IMPORTED, SENT, FAILED = "imported", "sent", "failed"
# The metric each output's failures are counted in (both handlers); template.yaml alarms on each.
OUTPUT_FAILURE_METRICS = {
    "security_hub": "SecurityHubImportFailed",
    "alert_event": "AlertEventFailed",
}


@value
class Delivery:
    """What one output did: `imported`/`sent` or `failed`, and why it failed."""

    status: str
    reference: str | None = None  # the finding Id or the EventBridge event id
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == FAILED


def deliver_finding(runtime: Runtime, finding: dict[str, Any]) -> Delivery:
    """Import one finding in the account and region it is about."""
    from recorder_guard.aws.securityhub import import_finding  # noqa: PLC0415 - opt-in

    finding_id = str(finding["Id"])
    account = str(finding["AwsAccountId"])
    region = str(finding["ProductArn"]).split(":")[3]
    client, reason = runtime.securityhub_in(account, region)
    if client is None:
        result_error = reason or "no Security Hub client"
    else:
        result = import_finding(client, finding)
        if result.imported:
            return Delivery(IMPORTED, finding_id)
        result_error = result.error or "failed"
    logger.warning(
        "Security Hub finding not imported",
        extra={"finding_id": finding_id, "error": result_error},
    )
    return Delivery(FAILED, finding_id, result_error)


def send_event(runtime: Runtime, documents: Iterable[dict[str, Any]], detail_type: str) -> Delivery:
    """One event on the alert bus (AlertEventBus)."""
    from recorder_guard.aws.alert_events import build_entry, put_event  # noqa: PLC0415

    events, bus = runtime.events, runtime.settings.alert_event_bus
    if events is None or not bus:
        return Delivery(FAILED, error="AlertEventBus is not set")
    try:
        entry = build_entry(documents, bus, detail_type)
    except Exception as error:  # too large even when shrunk: say so, keep the alert
        logger.warning("alert event not built", extra={"error": str(error)})
        return Delivery(FAILED, error=type(error).__name__)
    result = put_event(events, entry)
    if result.sent:
        return Delivery(SENT, result.event_id)
    logger.warning(
        "alert event not sent", extra={"error": result.error, "attempts": result.attempts}
    )
    return Delivery(FAILED, error=result.error)
