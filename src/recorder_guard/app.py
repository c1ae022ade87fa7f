"""The Lambda handler: wiring only. The flow lives in flows/responder.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from recorder_guard.aws.clients import Runtime
from recorder_guard.aws.idempotency import (
    IN_FLIGHT,
    NOT_COMPLETED,
    UNAVAILABLE,
    Handled,
    event_id,
    run_once,
)
from recorder_guard.domain.cloudtrail import MalformedEventError
from recorder_guard.domain.detection import ignore_metric
from recorder_guard.domain.limits import bound_depth
from recorder_guard.domain.selftest import is_test_event
from recorder_guard.flows.outputs import OUTPUT_FAILURE_METRICS
from recorder_guard.flows.responder import respond
from recorder_guard.settings import Settings

logger = Logger(service="recorder-guard")
metrics = Metrics(namespace="RecorderGuard", service="recorder-guard")


@cache
def runtime() -> Runtime:
    """Settings and clients, once per process (the Lambda execution environment)."""
    return Runtime(settings=Settings.from_env())


def process(
    *,
    event: Any,
    runtime: Runtime,
    remaining_ms: Callable[[], int],
    now: datetime | None = None,
) -> dict[str, Any]:
    """One event to its summary, with its metrics and log line. With idempotency on this runs
    once per CloudTrail eventID; a repeat returns the stored summary instead. The time left is
    read when it starts (a slow idempotency store may have used some). `now` is the local
    runner's fixed clock; Lambda never passes it."""
    seconds_left = remaining_ms() / 1000
    outcome = respond(event, runtime, now=now or datetime.now(UTC), seconds_left=seconds_left)
    if outcome.outcome == "ignored":
        metrics.add_metric(name="IgnoredEvents", unit=MetricUnit.Count, value=1)
        if outcome.ignored_code:
            metrics.add_metric(
                name=ignore_metric(outcome.ignored_code), unit=MetricUnit.Count, value=1
            )
        logger.info("ignored", extra={"reason": outcome.reason, "code": outcome.ignored_code})
        return outcome.summary()
    metrics.add_metric(name="Alerts", unit=MetricUnit.Count, value=1)
    alert = outcome.alert
    if alert and alert.delay_seconds is not None:
        metrics.add_metric(
            name="DetectionDelay", unit=MetricUnit.Seconds, value=alert.delay_seconds
        )
    if alert and alert.remediation:
        name = "Remediation" + alert.remediation.outcome.title().replace("_", "")
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    for name, delivery in outcome.outputs.items():
        if delivery.failed:
            metrics.add_metric(name=OUTPUT_FAILURE_METRICS[name], unit=MetricUnit.Count, value=1)
    logger.info("alert published", extra=outcome.summary())
    return outcome.summary()


STORE_METRICS = {
    UNAVAILABLE: "IdempotencyUnavailable",
    NOT_COMPLETED: "IdempotencyUnavailable",
    IN_FLIGHT: "DuplicateInFlight",
}


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="detail.eventID", clear_state=True)
def handler(
    event: dict[str, Any], context: LambdaContext, now: datetime | None = None
) -> dict[str, Any]:
    try:
        # Before anything copies or hashes it: a payload nested hundreds deep is clipped here.
        event, _ = bound_depth(event)
        current = runtime()
        arguments: dict[str, Any] = {
            "event": event,
            "runtime": current,
            "remaining_ms": context.get_remaining_time_in_millis,
            "now": now,
        }
        dynamodb = current.idempotency_dynamodb
        table = current.settings.state_table
        if (
            current.settings.idempotency
            and dynamodb
            and table
            and event_id(event)
            and not is_test_event(event)  # a test alert stores nothing
        ):
            handled = run_once(process, dynamodb, table, context, **arguments)
        else:
            handled = Handled(process(**arguments))
    except MalformedEventError as error:
        metrics.add_metric(name="MalformedEvents", unit=MetricUnit.Count, value=1)
        logger.error(f"rejected: {error}")
        raise
    except Exception:
        metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
        logger.exception("alert not published; the invocation fails so it is retried and kept")
        raise
    summary = handled.summary
    if handled.store_problem:
        metrics.add_metric(
            name=STORE_METRICS[handled.store_problem], unit=MetricUnit.Count, value=1
        )
        logger.warning(
            {
                UNAVAILABLE: "idempotency store unavailable: handled without it (a duplicate"
                " alert is possible, a lost one is not)",
                NOT_COMPLETED: "alert published, but its completed record was not stored",
                IN_FLIGHT: "another delivery of this event is being handled: nothing published",
            }[handled.store_problem],
            extra={"store_error": handled.store_error, "event_id": summary.get("event_id")},
        )
    elif summary.get("duplicate"):
        metrics.add_metric(name="DuplicateEvents", unit=MetricUnit.Count, value=1)
        logger.info("duplicate delivery: already handled, nothing published", extra=summary)
    return summary
