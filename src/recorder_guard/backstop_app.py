"""The scheduled backstop's Lambda handler: wiring only. The check is flows/backstop.py."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from recorder_guard.aws.clients import (
    BACKSTOP_PUBLISH_CONFIG,
    BACKSTOP_SESSION,
    BACKSTOP_STATE_CONFIG,
    Runtime,
)
from recorder_guard.flows.backstop import Backstop, BackstopError, Report
from recorder_guard.flows.outputs import OUTPUT_FAILURE_METRICS
from recorder_guard.settings import Settings

logger = Logger(service="recorder-guard-backstop")
metrics = Metrics(namespace="RecorderGuard", service="recorder-guard-backstop")
NOTICE_METRICS = {
    "alert": "EpisodesOpened",
    "reminder": "Reminders",
    "resolved": "Resolutions",
    "gone": "EpisodesClosedRecorderGone",
    "digest": "Digests",
}


@cache
def runtime() -> Runtime:
    """Settings and clients, once per process (the Lambda execution environment)."""
    return Runtime(
        settings=Settings.from_env(),
        session_name=BACKSTOP_SESSION,
        publish_config=BACKSTOP_PUBLISH_CONFIG,
        state_config=BACKSTOP_STATE_CONFIG,
    )


def record_metrics(report: Report) -> None:
    """Two metrics every run (each custom metric is billed per month); notices when sent.
    A failed run shows in the function's own Errors metric and alarm."""
    for name, value in (
        ("RegionsUnchecked", report.regions_unchecked),
        ("RecordersNotRecording", report.not_recording),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for kind, count in report.counts.items():
        metrics.add_metric(name=NOTICE_METRICS[kind], unit=MetricUnit.Count, value=count)
    for output, count in report.output_failures.items():
        metrics.add_metric(name=OUTPUT_FAILURE_METRICS[output], unit=MetricUnit.Count, value=count)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Any event runs one check (the schedule's payload carries nothing we need)."""
    try:
        backstop = Backstop(runtime(), now=datetime.now(UTC))
        report = backstop.run(seconds_left=context.get_remaining_time_in_millis() / 1000)
    except Exception:
        metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
        logger.exception("backstop run failed")
        raise
    record_metrics(report)
    summary = report.summary()
    if report.failures:
        logger.error("backstop run: some notices were not published", extra=summary)
        raise BackstopError("; ".join(report.failures[:5]))
    logger.info("backstop run", extra=summary)
    return summary
