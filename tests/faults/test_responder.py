"""The responder under faults at the AWS boundary: every fault ends in exactly one alert, or in
a raised error that Lambda retries and keeps, never in a crash that loses the alert and never
in two alerts when only the idempotency store fails.

Each test runs the real Lambda entry point against moto, with one operation of one client
raising a real botocore exception (`boundary.inject`)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from recorder_guard import app
from recorder_guard.aws.clients import Runtime
from recorder_guard.local import LocalContext, create_state_table
from tests.faults.boundary import FAULTS, inject, metrics_in
from tests.support import fake_aws_credentials, sample_events, topic_with_queue

REGION = "us-east-1"
HOME = "123456789012"  # moto's own account (assumed roles need MOTO_ACCOUNT_ID unset)
MEMBER = "444455556666"
ROLE = f"arn:aws:iam::{HOME}:role/config-role"


def code_of(fault: str) -> str:
    """The code error_details() reads: the service's code, or the exception's class name."""
    error = FAULTS[fault]("Op")
    return error.response["Error"]["Code"] if isinstance(error, ClientError) else fault


def stop_event(event_id: str = "0b7e2c1d-0000-4000-8000-000000000001", account: str = HOME):
    event = copy.deepcopy(sample_events()["stop_recorder_assumed_role.json"])
    event["account"] = account
    event["detail"]["recipientAccountId"] = account
    event["detail"]["userIdentity"]["accountId"] = account
    event["detail"]["eventID"] = event_id
    return event


@dataclass
class Stack:
    queue_url: str
    sqs: Any
    capsys: pytest.CaptureFixture[str]

    @property
    def runtime(self) -> Runtime:
        return app.runtime()

    def published(self) -> int:
        """Alerts the topic's SQS subscriber received since the last call."""
        count = 0
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                return count
            for message in messages:
                count += 1
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def metrics(self) -> dict[str, float]:
        return metrics_in(self.capsys.readouterr().out)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Stack]:
    fake_aws_credentials(monkeypatch, REGION)
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    with mock_aws():
        topic, queue_url = topic_with_queue(REGION)
        boto3.client("config", region_name=REGION).put_configuration_recorder(
            ConfigurationRecorder={"name": "default", "roleARN": ROLE}
        )
        create_state_table(boto3.client("dynamodb", region_name=REGION), "state")
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic)
        monkeypatch.setenv("STATE_TABLE_NAME", "state")
        monkeypatch.setenv("IDEMPOTENCY", "true")
        app.runtime.cache_clear()
        yield Stack(queue_url, boto3.client("sqs", region_name=REGION), capsys)
        app.runtime.cache_clear()


def invoke(event: Any, remaining_ms: int = 30_000) -> dict[str, Any]:
    return app.handler(event, LocalContext(timeout_millis=remaining_ms))


# --- 1. transport errors are errors like any other --------------------------------------------


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_status_read_still_alerts_saying_why(stack: Stack, fault: str) -> None:
    with inject(stack.runtime.config, "DescribeConfigurationRecorderStatus", fault) as seen:
        summary = invoke(stop_event())
    assert seen.raised == 1
    assert summary["outcome"] == "alerted"
    assert summary["recorder_state"] == f"unknown (status check failed: {code_of(fault)})"
    assert stack.published() == 1
    assert "Failures" not in stack.metrics()


@pytest.fixture
def central(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """Central mode: events from a member account are read through the member role."""
    monkeypatch.setenv("MEMBER_ROLE_NAME", "recorder-guard-member")
    app.runtime.cache_clear()
    _ = stack.runtime.sts  # created before the test hooks it
    return stack


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_assume_role_still_alerts_and_only_a_refusal_is_remembered(
    central: Stack, fault: str
) -> None:
    sts = central.runtime.sts
    with inject(sts, "AssumeRole", fault):
        summary = invoke(stop_event("first", MEMBER))
    assert summary["outcome"] == "alerted"
    role = f"arn:aws:iam::{MEMBER}:role/recorder-guard-member"
    assert summary["recorder_state"] == f"unknown (could not assume {role}: {code_of(fault)})"
    assert central.published() == 1
    with inject(sts, "AssumeRole", None) as retried:
        assert invoke(stop_event("second", MEMBER))["outcome"] == "alerted"
    assert central.published() == 1
    # Throttling, timeouts and 5xx are tried again on the next event; a refusal is not.
    assert retried.calls == (0 if fault == "AccessDenied" else 1)


# --- 2. the idempotency store fails open -------------------------------------------------------


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_store_that_cannot_record_the_start_does_not_stop_the_alert(
    stack: Stack, fault: str
) -> None:
    with inject(stack.runtime.idempotency_dynamodb, "PutItem", fault) as seen:
        summary = invoke(stop_event())
    assert seen.raised == 1
    assert summary["outcome"] == "alerted"
    assert stack.published() == 1
    metrics = stack.metrics()
    assert metrics.get("IdempotencyUnavailable") == 1
    assert "Failures" not in metrics


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_store_that_cannot_record_completion_neither_fails_nor_publishes_twice(
    stack: Stack, fault: str
) -> None:
    with inject(stack.runtime.idempotency_dynamodb, "UpdateItem", fault) as seen:
        summary = invoke(stop_event())
    assert seen.raised == 1
    assert summary["outcome"] == "alerted"  # not raised: a Lambda retry would publish again
    assert stack.published() == 1
    assert stack.metrics().get("IdempotencyUnavailable") == 1
    again = invoke(stop_event())  # a redelivery finds the record still in progress
    assert again["outcome"] == "duplicate_in_flight"
    assert stack.published() == 0
    assert stack.metrics().get("DuplicateInFlight") == 1


@pytest.mark.parametrize("operation", ["PutItem", "UpdateItem", "GetItem", "DeleteItem"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_only_the_store_failing_gives_exactly_one_alert_over_a_retry(
    stack: Stack, operation: str, fault: str
) -> None:
    with inject(stack.runtime.idempotency_dynamodb, operation, fault):
        for _ in range(2):  # the invocation, and Lambda's retry if it failed
            try:
                invoke(stop_event())
                break
            except Exception:
                continue
    assert stack.published() == 1


@pytest.mark.parametrize("fault", ["ReadTimeoutError", "Throttling", "InternalError"])
def test_a_failed_publish_with_a_failing_store_raises_the_publish_error_and_the_retry_alerts(
    stack: Stack, fault: str
) -> None:
    runtime = stack.runtime
    with (
        inject(runtime.sns, "Publish", fault),
        inject(runtime.idempotency_dynamodb, "DeleteItem", fault) as delete,
        pytest.raises((ClientError, ReadTimeoutError)),
    ):
        # The invocation's deadline passes at once: Lambda retries only after it, by when
        # the in-progress record it could not delete has expired.
        invoke(stop_event(), remaining_ms=1)
    assert delete.raised == 1
    assert stack.published() == 0
    assert stack.metrics().get("Failures") == 1
    assert invoke(stop_event())["outcome"] == "alerted"
    assert stack.published() == 1


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failed_publish_is_raised_kept_and_published_once_by_the_retry(
    stack: Stack, fault: str
) -> None:
    expected = type(FAULTS[fault]("Publish"))
    with inject(stack.runtime.sns, "Publish", fault), pytest.raises(expected):
        invoke(stop_event())
    assert stack.published() == 0
    assert invoke(stop_event())["outcome"] == "alerted"
    assert stack.published() == 1
    assert invoke(stop_event())["duplicate"] is True
    assert stack.published() == 0


# --- 3. an in-flight duplicate is not a failure ------------------------------------------------


def test_a_concurrent_delivery_is_counted_in_flight_and_publishes_nothing(stack: Stack) -> None:
    nested: list[dict[str, Any]] = []

    def deliver_again() -> None:  # while the first delivery is about to publish
        if not nested:
            nested.append(invoke(stop_event()))

    with inject(stack.runtime.sns, "Publish", None, before=deliver_again):
        first = invoke(stop_event())
    assert nested[0]["outcome"] == "duplicate_in_flight"
    assert first["outcome"] == "alerted"
    assert stack.published() == 1
    metrics = stack.metrics()
    assert metrics.get("DuplicateInFlight") == 1
    assert "Failures" not in metrics
    later = invoke(stop_event())  # a retry after the first finished finds it completed
    assert later["duplicate"] is True
    assert stack.published() == 0


# --- 4. deep input --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [200, 500, 5_000])
def test_deeply_nested_parameters_alert_with_the_field_clipped(stack: Stack, depth: int) -> None:
    event = stop_event()
    nested: dict[str, Any] = {}
    for _ in range(depth):
        nested = {"a": nested}
    event["detail"]["requestParameters"]["extra"] = nested
    summary = invoke(event)
    assert summary["outcome"] == "alerted"
    assert stack.published() == 1


# --- 5. routing comes from the envelope -------------------------------------------------------


def test_a_payload_naming_another_account_is_flagged_and_not_restarted(
    central: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTO_RESTART", "true")
    app.runtime.cache_clear()
    event = stop_event()
    event["detail"]["recipientAccountId"] = MEMBER  # the payload claims a member account
    with inject(app.runtime().sts, "AssumeRole", None) as assumed:
        summary = invoke(event)
    assert summary["remediation"]["outcome"] == "skipped_envelope_mismatch"
    assert assumed.calls == 0  # nothing is done in the account the payload names
    message = central.sqs.receive_message(QueueUrl=central.queue_url)["Messages"][0]
    document = json.loads(json.loads(message["Body"])["Message"])
    assert MEMBER in document["recorder_guard"]["envelope_mismatch"]
    assert HOME in document["recorder_guard"]["envelope_mismatch"]
