"""The real handler against an embedded AWS (moto) holding what the template would create."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from recorder_guard import app

LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "111122223333"  # the account of the sample events in events/
TOPIC_NAME = "recorder-guard-alerts"
LOCAL_RECORDERS = ("default",)
STATE_TABLE = "recorder-guard-state"


@dataclass
class LocalContext:
    """The LambdaContext attributes Powertools reads."""

    function_name: str = "recorder-guard-local"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = (
        f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:recorder-guard-local"
    )
    aws_request_id: str = "local-invocation"
    timeout_millis: int = 30_000  # the responder's timeout; the backstop's is 600 s

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_millis


def create_state_table(dynamodb: Any, name: str) -> None:
    """The template's StateTable: key `pk`, on demand (TTL is not needed locally)."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def create_local_stack(session: boto3.Session) -> str:
    """What the template creates that the handler touches, in moto (embedded or a moto_server
    that `session` points at): the KMS-encrypted topic, a stopped recorder named `default`
    with a delivery channel, and the state table. Returns the topic ARN."""
    key_id = session.client("kms").create_key(Description="recorder-guard alerts")["KeyMetadata"][
        "KeyId"
    ]
    topic_arn = session.client("sns").create_topic(
        Name=TOPIC_NAME, Attributes={"KmsMasterKeyId": key_id}
    )["TopicArn"]
    config = session.client("config")
    role = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/aws-service-role/config.amazonaws.com/x"
    for name in LOCAL_RECORDERS:
        config.put_configuration_recorder(ConfigurationRecorder={"name": name, "roleARN": role})
    session.client("s3").create_bucket(Bucket="config-bucket-local")
    config.put_delivery_channel(
        DeliveryChannel={"name": "default", "s3BucketName": "config-bucket-local"}
    )
    create_state_table(session.client("dynamodb"), STATE_TABLE)
    return topic_arn


@dataclass(frozen=True)
class LocalOptions:
    """Template parameters for the embedded stack."""

    auto_restart: bool = False
    remediation_mode: str = "enforce"
    exempt_principal_arns: str = ""


@contextmanager
def embedded_aws(options: LocalOptions) -> Iterator[list[dict[str, Any]]]:
    """moto with the stack's topic (KMS-encrypted), a stopped recorder with a delivery channel
    and, with auto-restart, the state table; yields the list that collects every SNS Publish
    request exactly as the handler sent it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "MOTO_ACCOUNT_ID": LOCAL_ACCOUNT,
        "POWERTOOLS_METRICS_NAMESPACE": "RecorderGuard",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)

    with mock_aws():
        topic_arn = create_local_stack(boto3.Session(region_name=LOCAL_REGION))
        os.environ.update(
            ALERT_TOPIC_ARN=topic_arn,
            STATE_TABLE_NAME=STATE_TABLE,
            IDEMPOTENCY="true",
            AUTO_RESTART=str(options.auto_restart).lower(),
            REMEDIATION_MODE=options.remediation_mode,
            EXEMPT_PRINCIPAL_ARNS=options.exempt_principal_arns,
        )
        published: list[dict[str, Any]] = []

        def capture(params: dict[str, Any], **_: Any) -> None:
            published.append(json.loads(json.dumps(params)))

        boto3.setup_default_session(region_name=LOCAL_REGION)
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("provide-client-params.sns.Publish", capture)
        yield published


def route_logs(verbose: bool) -> None:
    """The handler's JSON logs go to stderr, and only with --verbose, so that stdout carries
    exactly what the CLI promises and a rejected event prints one line."""
    logger = logging.getLogger("recorder-guard")
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    logger.setLevel(logging.INFO if verbose else logging.CRITICAL + 1)


# CloudTrail delivers a management event to EventBridge within minutes ("on a best effort
# basis", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event.html);
# a sample is replayed as if it arrived this long after its call.
SAMPLE_DELAY = timedelta(seconds=150)


def event_clock(event: object) -> datetime | None:
    """The clock a sample is replayed at: the event's own `time` plus SAMPLE_DELAY, so the
    delay an alert shows is a realistic one, not the months since the sample was written.
    None when the event has no usable time."""
    moment = event.get("time") if isinstance(event, dict) else None
    if not isinstance(moment, str):
        return None
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)) + SAMPLE_DELAY


def invoke(
    event: object,
    *,
    verbose: bool = False,
    options: LocalOptions | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run the Lambda handler once inside `embedded_aws()`; returns the contract's object.
    `now` fixes the handler's clock (the CLI passes `event_clock`)."""
    route_logs(verbose)
    # EMF metrics are printed to stdout by Powertools: shown on stderr with --verbose only.
    metrics_sink = sys.stderr if verbose else io.StringIO()
    with embedded_aws(options or LocalOptions()) as published:
        app.runtime.cache_clear()
        try:
            with redirect_stdout(metrics_sink):
                summary = app.handler(event, LocalContext(), now)
        finally:
            app.runtime.cache_clear()
    return {
        "outcome": summary["outcome"],
        "reason": summary["reason"],
        "event_id": summary.get("event_id"),
        "recorder_state": summary.get("recorder_state"),
        "published": published,
        "remediation": summary.get("remediation"),
    }


BACKSTOP_SCENARIO = (
    (0, "the recorder exists but was never started (infrastructure code recreated it)"),
    (15, "15 minutes later, still off: one alert per episode, so nothing is sent"),
    (30, "someone started it: the episode is resolved"),
)


def backstop_scenario(*, verbose: bool = False) -> list[dict[str, Any]]:
    """The scheduled backstop's three runs over one recorder, inside `embedded_aws()`: what
    each run found and every Publish request it made."""
    from recorder_guard import backstop_app  # noqa: PLC0415 - only this command needs it
    from recorder_guard.flows.backstop import Backstop  # noqa: PLC0415

    route_logs(verbose)
    # moto stamps recorder start times with the real clock, so the scenario starts now:
    # a fixed date in the past would show a "Last started" after the resolution.
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    runs = []
    with embedded_aws(LocalOptions()) as published:
        os.environ["BACKSTOP"] = "true"
        backstop_app.runtime.cache_clear()
        try:
            for minutes, story in BACKSTOP_SCENARIO:
                if minutes == BACKSTOP_SCENARIO[-1][0]:
                    boto3.client("config").start_configuration_recorder(
                        ConfigurationRecorderName=LOCAL_RECORDERS[0]
                    )
                before = len(published)
                at = start + timedelta(minutes=minutes)
                report = Backstop(backstop_app.runtime(), now=at).run()
                runs.append(
                    {
                        "at": at.isoformat().replace("+00:00", "Z"),
                        "story": story,
                        "summary": report.summary(),
                        "published": published[before:],
                    }
                )
        finally:
            backstop_app.runtime.cache_clear()
            os.environ.pop("BACKSTOP", None)
    return runs
