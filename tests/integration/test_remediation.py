"""Auto-restart against moto's Config and DynamoDB: restart, verify, report, never loop."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from recorder_guard import app
from recorder_guard.aws.restart import (
    RESTART_PERMISSIONS,
    STATE_PERMISSIONS,
    Clock,
    FlapGuard,
    remediate,
    remediate_within_budget,
)
from recorder_guard.domain.remediation import RemediationPolicy, Target
from recorder_guard.local import LocalContext, create_state_table
from tests.support import sample_events

REGION = "us-east-1"
TABLE = "state"
ROLE = "arn:aws:iam::123456789012:role/config-role"
EVENT = sample_events()["stop_recorder_assumed_role.json"]
TARGET = Target(
    recorder_name="default",
    account_id="111122223333",
    region=REGION,
    principal_arns=(
        "arn:aws:sts::111122223333:assumed-role/PlatformAdmin/jane.doe",
        "arn:aws:iam::111122223333:role/PlatformAdmin",
    ),
)


class FakeClock(Clock):
    """Time that moves only when the code sleeps: the bounded wait costs no wall time."""

    def __init__(self) -> None:
        self.t = 1_000_000.0
        self.sleeps: list[float] = []
        super().__init__(now=lambda: self.t, sleep=self._sleep, wall=lambda: self.t)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@dataclass
class Aws:
    config: Any
    dynamodb: Any
    sqs: Any
    queue_url: str
    calls: list[str]

    def guard(self, window: int = 3600) -> FlapGuard:
        return FlapGuard(self.dynamodb, TABLE, window)

    def recording(self) -> bool:
        status = self.config.describe_configuration_recorder_status(
            ConfigurationRecorderNames=["default"]
        )["ConfigurationRecordersStatus"][0]
        return bool(status["recording"])

    def received(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def policy(
    mode: str = "enforce", exempt: tuple[str, ...] = (), budget: float = 10
) -> RemediationPolicy:
    return RemediationPolicy(
        mode=mode,
        exempt_principal_patterns=exempt,
        flap_window_seconds=3600,
        budget_seconds=budget,
        state_table=TABLE,
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        calls: list[str] = []
        session = boto3.Session(region_name=REGION)
        session.events.register(
            "before-call.*.*",
            lambda model, **_: calls.append(model.service_model.service_name + ":" + model.name),
        )
        config = session.client("config")
        config.put_configuration_recorder(
            ConfigurationRecorder={"name": "default", "roleARN": ROLE}
        )
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "bucket"})
        dynamodb = session.client("dynamodb")
        create_state_table(dynamodb, TABLE)
        sns = session.client("sns")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        sqs = session.client("sqs")
        queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
        for name, value in {
            "ALERT_TOPIC_ARN": topic,
            "AUTO_RESTART": "true",
            "STATE_TABLE_NAME": TABLE,
            "REMEDIATION_MODE": "enforce",
        }.items():
            monkeypatch.setenv(name, value)
        calls.clear()
        app.runtime.cache_clear()
        yield Aws(config, dynamodb, sqs, queue_url, calls)
        app.runtime.cache_clear()


def test_restart_works_and_is_verified(aws: Aws) -> None:
    result = remediate(TARGET, policy(), aws.config, aws.guard(), clock=FakeClock())
    assert result.outcome == "restarted"
    assert aws.recording()


def test_only_the_declared_calls_are_made_and_the_recorder_is_never_rewritten(aws: Aws) -> None:
    """Each call maps to a declared permission, which the template grants (test_template)."""
    remediate(TARGET, policy(), aws.config, aws.guard(), clock=FakeClock())
    assert set(aws.calls) == set(RESTART_PERMISSIONS + STATE_PERMISSIONS) - {"dynamodb:DeleteItem"}
    assert not any("PutConfigurationRecorder" in call for call in aws.calls)


def test_already_recording(aws: Aws) -> None:
    aws.config.start_configuration_recorder(ConfigurationRecorderName="default")
    aws.calls.clear()
    result = remediate(TARGET, policy(), aws.config, aws.guard(), clock=FakeClock())
    assert result.outcome == "already_recording"
    assert aws.calls == ["config:DescribeConfigurationRecorderStatus"]


def test_no_delivery_channel_fails_cleanly(aws: Aws) -> None:
    aws.config.delete_delivery_channel(DeliveryChannelName="default")
    result = remediate(TARGET, policy(), aws.config, aws.guard(), clock=FakeClock())
    assert result.outcome == "failed"
    assert result.error_code == "NoAvailableDeliveryChannelException"
    assert "delivery channel" in result.detail
    # the failed attempt does not count as a restart: the next stop may try again
    aws.config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "b"})
    assert (
        remediate(TARGET, policy(), aws.config, aws.guard(), clock=FakeClock()).outcome
        == "restarted"
    )


def test_deleted_recorder_fails_cleanly(aws: Aws) -> None:
    aws.config.delete_configuration_recorder(ConfigurationRecorderName="default")
    result = remediate(TARGET, policy(), aws.config, aws.guard(), clock=FakeClock())
    assert result.outcome == "failed"
    assert result.error_code == "NoSuchConfigurationRecorderException"


def test_access_denied_fails_cleanly(aws: Aws) -> None:
    with Stubber(aws.config) as stub:
        stub.add_response(
            "describe_configuration_recorder_status",
            {"ConfigurationRecordersStatus": [{"name": "default", "recording": False}]},
        )
        stub.add_client_error(
            "start_configuration_recorder", "AccessDeniedException", http_status_code=400
        )
        result = remediate(TARGET, policy(), aws.config, aws.guard(), clock=FakeClock())
    assert (result.outcome, result.error_code) == ("failed", "AccessDeniedException")


def test_exempt_principal_is_alerted_not_remediated(aws: Aws) -> None:
    result = remediate(
        TARGET, policy(exempt=("arn:aws:iam::*:role/PlatformAdmin",)), aws.config, aws.guard()
    )
    assert result.outcome == "skipped_exempt"
    assert not aws.recording()
    assert aws.calls == ["config:DescribeConfigurationRecorderStatus"]  # only our own check


def test_dry_run_changes_nothing(aws: Aws) -> None:
    result = remediate(TARGET, policy(mode="dry_run"), aws.config, None, clock=FakeClock())
    assert result.outcome == "dry_run"
    assert not aws.recording()
    assert aws.dynamodb.scan(TableName=TABLE)["Count"] == 0


def test_service_linked_recorder_is_left_alone(aws: Aws) -> None:
    target = Target("AWSConfigurationRecorderForSecurityHub", "1", REGION, ())
    assert remediate(target, policy(), aws.config, aws.guard()).outcome == "skipped_service_linked"
    assert aws.calls == []


def test_flapping_is_escalated_not_looped(aws: Aws) -> None:
    clock = FakeClock()
    assert remediate(TARGET, policy(), aws.config, aws.guard(), clock=clock).outcome == "restarted"
    aws.config.stop_configuration_recorder(ConfigurationRecorderName="default")
    clock.t += 600  # stopped again ten minutes later
    again = remediate(TARGET, policy(), aws.config, aws.guard(), clock=clock)
    assert again.outcome == "skipped_flapping"
    assert again.escalated
    assert not aws.recording()
    clock.t += 3600  # after the window it is a new incident
    assert remediate(TARGET, policy(), aws.config, aws.guard(), clock=clock).outcome == "restarted"


def test_verification_wait_is_bounded(aws: Aws) -> None:
    clock = FakeClock()
    with Stubber(aws.config) as stub:
        never = {"ConfigurationRecordersStatus": [{"name": "default", "recording": False}]}
        stub.add_response("describe_configuration_recorder_status", never)
        stub.add_response("start_configuration_recorder", {})
        for _ in range(20):
            stub.add_response("describe_configuration_recorder_status", never)
        result = remediate(TARGET, policy(budget=5), aws.config, aws.guard(), clock=clock)
    assert (result.outcome, result.error_code) == ("failed", "VerificationTimeout")
    assert sum(clock.sleeps) <= 5


class HangingClock(Clock):
    """A clock whose first reading blocks, standing in for an AWS call that never returns."""

    def __init__(self) -> None:
        self.release = threading.Event()
        super().__init__(now=self._hang)

    def _hang(self) -> float:
        self.release.wait(10)
        return 0.0


def test_a_hung_remediation_does_not_hold_the_alert(aws: Aws) -> None:
    clock = HangingClock()
    result = remediate_within_budget(
        TARGET, policy(budget=0.2), aws.config, aws.guard(), clock=clock
    )
    clock.release.set()
    # The abandoned worker goes on once released: let it finish inside this test's moto, or it
    # restarts the recorder in whichever test runs next (seen as "already_recording" there).
    for worker in threading.enumerate():
        if worker.name.startswith("remediation"):
            worker.join(timeout=30)
    assert (result.outcome, result.error_code) == ("failed", "RemediationTimeout")


def test_handler_reports_remediation_in_every_rendition(aws: Aws) -> None:
    summary = app.handler(EVENT, LocalContext())
    assert summary["remediation"]["outcome"] == "restarted"
    (notification,) = aws.received()
    document = json.loads(notification["Message"])
    assert document["recorder_guard"]["remediation"]["outcome"] == "restarted"
    assert document["recorder_guard"]["recorder"]["recording_now"] is True


def test_handler_escalates_a_flapping_recorder(aws: Aws) -> None:
    app.handler(EVENT, LocalContext())
    aws.config.stop_configuration_recorder(ConfigurationRecorderName="default")
    second = dict(EVENT, detail=dict(EVENT["detail"], eventID="second-stop"))
    summary = app.handler(second, LocalContext())
    assert summary["remediation"]["outcome"] == "skipped_flapping"
    notifications = aws.received()
    assert len(notifications) == 2
    assert notifications[1]["Subject"].startswith("[ESCALATED] [HIGH]")


def test_auto_restart_applies_only_to_the_stopped_recorder_rule(aws: Aws) -> None:
    for name in (
        "delete_delivery_channel_assumed_role.json",
        "put_recorder_exclude_iam_types.json",
    ):
        summary = app.handler(sample_events()[name], LocalContext())
        assert summary["outcome"] == "alerted"
        assert "remediation" not in summary
    assert not any("StartConfigurationRecorder" in call for call in aws.calls)


def test_the_event_path_never_starts_a_service_linked_recorder(aws: Aws) -> None:
    """Neither its deletion (no remediation: only its service may recreate it) nor a stop
    naming one (Config rejects that name, but an event is input) leads to a Config write."""
    deleted = app.handler(
        sample_events()["delete_service_linked_recorder_assumed_role.json"], LocalContext()
    )
    assert deleted["outcome"] == "alerted"
    assert "remediation" not in deleted
    name = "AWSConfigurationRecorderForSecurityHubAssets"
    stop = dict(
        EVENT, detail=dict(EVENT["detail"], requestParameters={"configurationRecorderName": name})
    )
    stopped = app.handler(stop, LocalContext())
    assert stopped["remediation"]["outcome"] == "skipped_service_linked"
    assert not any("StartConfigurationRecorder" in call for call in aws.calls)
    assert aws.recording() is False  # the customer's recorder was not touched either
