"""The Lambda handler end to end against moto: the event that arrives, the alert that leaves.

An SQS queue subscribed to the topic stands in for a machine consumer; what it receives is
the SNS notification as SNS delivers it (not raw), so the test reads what a real subscriber
would: the message's `default` (the ECS alert), since no key is the queue's own.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from recorder_guard import app
from recorder_guard.aws.clients import Runtime
from recorder_guard.aws.idempotency import IDEMPOTENCY_PERMISSIONS
from recorder_guard.domain.cloudtrail import MalformedEventError
from recorder_guard.flows.responder import respond
from recorder_guard.local import LocalContext, create_state_table
from recorder_guard.settings import Settings
from tests.conftest import DETECTED_AT
from tests.support import corpus_events, fake_aws_credentials, sample_events

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/config-role"
TABLE = "state"


@dataclass
class Stack:
    """What template.yaml creates, in moto, plus an SQS subscriber."""

    topic_arn: str
    queue_url: str
    sns: Any
    sqs: Any
    config: Any

    def runtime(self, *, check_status: bool = True) -> Runtime:
        settings = Settings(alert_topic_arn=self.topic_arn, check_recorder_status=check_status)
        return Runtime(settings=settings, _sns=self.sns, _config=self.config)

    def received(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    fake_aws_credentials(monkeypatch, REGION)
    with mock_aws():
        kms = boto3.client("kms", region_name=REGION)
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        sns = boto3.client("sns", region_name=REGION)
        topic_arn = sns.create_topic(Name="alerts", Attributes={"KmsMasterKeyId": key})["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        config = boto3.client("config", region_name=REGION)
        config.put_configuration_recorder(
            ConfigurationRecorder={"name": "default", "roleARN": ROLE}
        )
        create_state_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic_arn)
        monkeypatch.setenv("STATE_TABLE_NAME", TABLE)
        app.runtime.cache_clear()
        yield Stack(topic_arn, queue_url, sns, sqs, config)
        app.runtime.cache_clear()


def invoke(event: Any) -> dict[str, Any]:
    """Through the real Lambda entry point, with its decorators."""
    return app.handler(event, LocalContext())


def test_stop_event_publishes_one_alert_that_subscribers_receive(stack: Stack) -> None:
    published: list[dict[str, Any]] = []
    app.runtime().sns.meta.events.register(
        "provide-client-params.sns.Publish", lambda params, **_: published.append(params)
    )
    event = sample_events()["stop_recorder_assumed_role.json"]
    summary = invoke(event)
    assert summary["outcome"] == "alerted"
    assert summary["event_id"] == event["detail"]["eventID"]
    assert summary["recorder_state"] == "still stopped"
    (notification,) = stack.received()
    assert notification["MessageId"] == summary["message_id"]
    assert notification["Subject"].startswith("[HIGH] Config recorder stopped: default")
    # The message has no `sqs` key: SNS (here moto) hands the queue `default`, the ECS alert.
    (request,) = published
    message = json.loads(request["Message"])
    assert set(message) == {"default", "https", "email"}
    assert notification["Message"] == message["default"]
    document = json.loads(notification["Message"])
    assert document["event"]["kind"] == "alert"
    assert document["event"]["action"] == "StopConfigurationRecorder"
    assert document["cloud"] == {
        "provider": "aws",
        "account": {"id": "111122223333"},
        "region": "us-east-1",
    }
    assert document["recorder_guard"]["recorder"]["status"]["recording"] is False
    assert stack.received() == []  # exactly one


def test_alert_reports_a_recorder_already_restarted(stack: Stack) -> None:
    stack.config.put_delivery_channel(
        DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"}
    )
    stack.config.start_configuration_recorder(ConfigurationRecorderName="default")
    summary = invoke(sample_events()["stop_recorder_iam_user_access_key.json"])
    assert summary["recorder_state"] == "recording again (restarted since the stop)"
    (notification,) = stack.received()
    status = json.loads(notification["Message"])["recorder_guard"]["recorder"]["status"]
    assert status["recording"] is True


def test_recorder_that_no_longer_exists(stack: Stack) -> None:
    stack.config.delete_configuration_recorder(ConfigurationRecorderName="default")
    summary = invoke(sample_events()["stop_recorder_root_console.json"])
    assert summary["outcome"] == "alerted"
    assert summary["recorder_state"] == "unknown (the recorder no longer exists)"


def test_status_check_failure_never_blocks_the_alert(stack: Stack) -> None:
    runtime = stack.runtime()
    assert runtime.config is not None
    with Stubber(runtime.config) as stubber:
        stubber.add_client_error(
            "describe_configuration_recorder_status", "AccessDeniedException", http_status_code=400
        )
        outcome = respond(
            sample_events()["stop_recorder_assumed_role.json"], runtime, now=DETECTED_AT
        )
    assert outcome.outcome == "alerted"
    assert outcome.summary()["recorder_state"] == (
        "unknown (status check failed: AccessDeniedException)"
    )
    (notification,) = stack.received()
    assert "AccessDeniedException" in notification["Message"]


def test_status_check_off_creates_no_config_client(stack: Stack) -> None:
    runtime = Runtime(
        settings=Settings(alert_topic_arn=stack.topic_arn, check_recorder_status=False)
    )
    assert runtime.config is None


@pytest.mark.parametrize(
    "name", ["stop_recorder_access_denied.json", "start_recorder_other_action.json"]
)
def test_events_that_are_not_ours_publish_nothing(stack: Stack, name: str) -> None:
    summary = invoke(sample_events()[name])
    assert summary["outcome"] == "ignored"
    assert summary["reason"]
    assert stack.received() == []


@pytest.mark.parametrize("event", [[], "text", {"detail": {}}, {"detail-type": "x", "source": "y"}])
def test_malformed_events_raise_so_lambda_retries_and_keeps_them(stack: Stack, event: Any) -> None:
    with pytest.raises(MalformedEventError):
        invoke(event)
    assert stack.received() == []


def test_publish_failure_propagates(stack: Stack) -> None:
    stack.sns.delete_topic(TopicArn=stack.topic_arn)
    with pytest.raises(stack.sns.exceptions.NotFoundException):
        invoke(sample_events()["stop_recorder_assumed_role.json"])


def test_bad_configuration_names_the_variable(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHECK_RECORDER_STATUS", "maybe")
    app.runtime.cache_clear()
    with pytest.raises(ValueError, match="CHECK_RECORDER_STATUS"):
        invoke(sample_events()["stop_recorder_assumed_role.json"])


def test_corpus_through_the_handler(stack: Stack) -> None:
    """Every public sample: alert exactly where tests/data/corpus/SOURCES.md says."""
    mismatches = []
    for name, (event, rule_key) in corpus_events().items():
        should_alert = rule_key is not None
        outcome = invoke(copy.deepcopy(event))["outcome"]
        if (outcome == "alerted") != should_alert:
            mismatches.append(f"{name}: {outcome}")
        received = stack.received()
        if len(received) != (1 if should_alert else 0):
            mismatches.append(f"{name}: {len(received)} messages")
    assert mismatches == []


def test_a_duplicate_delivery_publishes_nothing_new(stack: Stack) -> None:
    event = sample_events()["stop_recorder_assumed_role.json"]
    first = invoke(event)
    second = invoke(copy.deepcopy(event))
    assert first["outcome"] == second["outcome"] == "alerted"
    assert second["duplicate"] is True
    assert second["message_id"] == first["message_id"]
    assert len(stack.received()) == 1


def test_a_retry_after_a_failure_in_the_middle_publishes_once(stack: Stack) -> None:
    event = sample_events()["stop_recorder_iam_user_access_key.json"]
    stack.sns.delete_topic(TopicArn=stack.topic_arn)  # the publish fails mid-invocation
    with pytest.raises(stack.sns.exceptions.NotFoundException):
        invoke(event)
    topic = stack.sns.create_topic(Name="alerts")["TopicArn"]
    queue_arn = stack.sqs.get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["QueueArn"]
    )
    stack.sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
    )
    retried = invoke(event)  # Lambda's retry: the failed attempt left no record behind
    assert retried["outcome"] == "alerted"
    assert "duplicate" not in retried
    assert invoke(event)["duplicate"] is True
    assert len(stack.received()) == 1


def test_idempotency_uses_only_the_declared_calls(stack: Stack) -> None:
    calls: list[str] = []
    dynamodb = app.runtime().dynamodb
    assert dynamodb is not None
    dynamodb.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append("dynamodb:" + model.name)
    )
    event = sample_events()["stop_recorder_root_console.json"]
    invoke(event)
    invoke(event)
    assert calls
    assert set(calls) <= set(IDEMPOTENCY_PERMISSIONS)


def _hooks_run_for(event: dict[str, Any]) -> Counter[str]:
    """The Powertools request hooks one invocation runs, counted by name."""
    ran: Counter[str] = Counter()

    def profile(frame: Any, what: str, _: Any) -> None:
        if what == "call" and frame.f_code.co_name == "add_powertools_feature":
            ran[frame.f_code.co_name] += 1

    sys.setprofile(profile)
    try:
        assert invoke(event)["outcome"] == "alerted"
    finally:
        sys.setprofile(None)
    return ran


def test_a_warm_process_does_the_same_work_on_its_hundredth_event(stack: Stack) -> None:
    """Powertools registers a User-Agent hook on the client each time a persistence layer is
    built: built per event, one more hook ran on every request of every later event, and the
    client held them all (60 events: 64 request hooks on PutItem, 1 per event)."""
    event = sample_events()["stop_recorder_assumed_role.json"]

    def numbered(index: int) -> dict[str, Any]:
        fresh = copy.deepcopy(event)
        fresh["detail"]["eventID"] = f"warm-{index}"
        return fresh

    invoke(numbered(0))
    second = _hooks_run_for(numbered(1))
    for index in range(2, 100):
        invoke(numbered(index))
    assert second["add_powertools_feature"] > 0
    assert _hooks_run_for(numbered(100)) == second


def test_the_status_checks_client_is_made_on_the_handlers_thread(stack: Stack) -> None:
    """boto3's default session is not thread-safe, and a service model loaded on the
    status check's worker thread raised the cold start's peak memory by 1.7 MiB."""
    made_on: list[str] = []
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "creating-client-class.config-service",
        lambda **_: made_on.append(threading.current_thread().name),
    )
    summary = invoke(sample_events()["stop_recorder_assumed_role.json"])
    assert summary["recorder_state"] == "still stopped"  # the status was read
    assert made_on == [threading.current_thread().name]
