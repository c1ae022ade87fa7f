"""Re-drive from the dead-letter queue, with moto SQS and the real handler as the function."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from recorder_guard import app
from recorder_guard.aws.redrive import function_name_of, lambda_sender, original_event, redrive
from recorder_guard.local import LocalContext
from tests.support import sample_events

REGION = "us-east-1"
EVENT = sample_events()["stop_recorder_assumed_role.json"]
OTHER = sample_events()["stop_recorder_root_console.json"]


def on_failure_record(event: Any, function: str = "responder") -> str:
    """What Lambda's on-failure destination writes after the retries are spent."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-11-28T21:14:40.000Z",
            "requestContext": {
                "requestId": "3c2d0a8e-0000-4000-8000-000000000000",
                "functionArn": f"arn:aws:lambda:us-east-1:111122223333:function:{function}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorMessage": "An error occurred (KMSAccessDenied)",
                "errorType": "ClientError",
            },
        }
    )


@pytest.fixture
def dlq(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        dead = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic)
        monkeypatch.setenv("IDEMPOTENCY", "false")
        monkeypatch.setenv("CHECK_RECORDER_STATUS", "false")
        app.runtime.cache_clear()
        yield sqs, dead, inbox
        app.runtime.cache_clear()


def real_handler(event: Any) -> None:
    app.handler(event, LocalContext())


def count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_both_dead_letter_shapes_are_redriven_and_alerted(dlq: tuple[Any, str, Any]) -> None:
    sqs, dead, inbox = dlq
    sqs.send_message(QueueUrl=dead, MessageBody=json.dumps(EVENT))  # from the EventBridge target
    sqs.send_message(QueueUrl=dead, MessageBody=on_failure_record(OTHER))  # from Lambda
    report = redrive(sqs, dead, real_handler)
    assert sorted(report.redriven) == sorted(
        [EVENT["detail"]["eventID"], OTHER["detail"]["eventID"]]
    )
    assert report.failed == []
    assert count(sqs, dead) == 0
    received = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    assert len(received) == 2


def test_what_fails_again_stays_in_the_queue(dlq: tuple[Any, str, Any]) -> None:
    sqs, dead, _ = dlq
    sqs.send_message(QueueUrl=dead, MessageBody=json.dumps(["not", "an", "event"]))
    sqs.send_message(QueueUrl=dead, MessageBody="{truncated")
    report = redrive(sqs, dead, real_handler)
    assert report.redriven == []
    assert len(report.failed) == 2
    assert any("MalformedEventError" in line for line in report.failed)
    assert any("not JSON" in line for line in report.failed)
    assert count(sqs, dead) == 2  # nothing is lost


def test_dry_run_lists_and_keeps(dlq: tuple[Any, str, Any]) -> None:
    sqs, dead, _ = dlq
    sqs.send_message(QueueUrl=dead, MessageBody=on_failure_record(EVENT))
    report = redrive(sqs, dead, real_handler, dry_run=True)
    assert report.listed == [EVENT]
    assert count(sqs, dead) == 1


def test_a_record_from_another_function_is_refused_and_kept(dlq: tuple[Any, str, Any]) -> None:
    """The Slack forwarder's failed SNS event sent to the responder would be ignored there
    and deleted here: lost. It stays, with a line that says whose it is."""
    sqs, dead, _ = dlq
    sqs.send_message(QueueUrl=dead, MessageBody=on_failure_record(EVENT, "rg-slack-forwarder"))
    sqs.send_message(QueueUrl=dead, MessageBody=on_failure_record(OTHER, "rg-responder"))
    sent: list[Any] = []
    report = redrive(sqs, dead, sent.append, function="rg-responder")
    assert sent == [OTHER]
    (line,) = report.failed
    assert "from function rg-slack-forwarder, not rg-responder" in line
    assert count(sqs, dead) == 1
    # --function may be a name, an ARN or a qualified ARN
    arn = "arn:aws:lambda:us-east-1:111122223333:function:rg-slack-forwarder"
    for given in ("rg-slack-forwarder", arn, f"{arn}:$LATEST"):
        assert function_name_of(given) == "rg-slack-forwarder"


def test_original_event_unwraps_lambda_records() -> None:
    assert original_event(on_failure_record(EVENT)) == EVENT
    assert original_event(json.dumps(EVENT)) == EVENT


def test_lambda_sender_invokes_asynchronously() -> None:
    client = boto3.client(
        "lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {
                "FunctionName": "responder",
                "InvocationType": "Event",
                "Payload": json.dumps(EVENT).encode(),
            },
        )
        lambda_sender(client, "responder")(EVENT)
        stub.assert_no_pending_responses()
