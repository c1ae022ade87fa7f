"""The opt-in outputs beside SNS against moto: a Security Hub finding per alert and episode,
and an EventBridge event per alert, observed through an SQS target of a rule on the bus.

moto keeps findings by Id (a second import updates in place) but enforces none of Security
Hub's own rules (UpdatedAt ordering, ignored customer fields, the caller-account rule, sizes):
those are asserted on the mapping itself in tests/unit/test_finding.py. Faults are injected at
the botocore boundary (a `before-call` hook for one operation), never in our code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto import mock_aws

from recorder_guard import app, backstop_app
from recorder_guard.aws.alert_events import ALERT_DETAIL_TYPE, EVENTS_PERMISSIONS, SOURCE
from recorder_guard.aws.clients import Runtime
from recorder_guard.aws.securityhub import FINDINGS_PERMISSIONS
from recorder_guard.flows.backstop import Backstop
from recorder_guard.flows.responder import TIME_UP, respond
from recorder_guard.local import LocalContext, create_state_table
from recorder_guard.settings import Settings, SettingsError
from tests.integration.test_template_conditions import condition
from tests.support import (
    FORWARDER,
    ROOT,
    fake_aws_credentials,
    load_template,
    sample_events,
    topic_with_queue,
)

REGION = "us-east-1"
ACCOUNT = "111122223333"
BUS = "alerts"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/config"
T0 = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
EVENT = sample_events()["stop_recorder_assumed_role.json"]
DOCS = ROOT / "docs" / "alerts.md"


@dataclass
class Deployment:
    securityhub: Any
    sqs: Any
    config: Any
    alerts_queue: str  # the SNS topic's SQS subscriber
    events_queue: str  # the SQS target of a rule on the alert bus

    def findings(self) -> list[dict[str, Any]]:
        return list(self.securityhub.get_findings()["Findings"])

    def drain(self, queue: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
            if not batch.get("Messages"):
                return found
            for message in batch["Messages"]:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    def events(self) -> list[dict[str, Any]]:
        return self.drain(self.events_queue)

    def stopped_recorder(self) -> None:
        self.config.put_configuration_recorder(
            ConfigurationRecorder={"name": "default", "roleARN": ROLE}
        )
        self.config.put_delivery_channel(
            DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"}
        )
        self.config.start_configuration_recorder(ConfigurationRecorderName="default")
        self.config.stop_configuration_recorder(ConfigurationRecorderName="default")


def queue_target(bus: str, name: str, pattern: dict[str, Any]) -> str:
    """A rule on the bus whose only target is a new SQS queue (moto delivers to SQS)."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn["QueueArn"]}]
    )
    return str(url)


def reset() -> None:
    app.runtime.cache_clear()
    backstop_app.runtime.cache_clear()


@pytest.fixture
def deployment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    fake_aws_credentials(monkeypatch, REGION)
    with mock_aws():
        topic, alerts_queue = topic_with_queue(REGION)
        boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)
        events_queue = queue_target(BUS, "siem", {"source": [SOURCE]})
        create_state_table(boto3.client("dynamodb", region_name=REGION), "state")
        securityhub = boto3.client("securityhub", region_name=REGION)
        securityhub.enable_security_hub()
        for name, value in {
            "ALERT_TOPIC_ARN": topic,
            "STATE_TABLE_NAME": "state",
            "IDEMPOTENCY": "false",  # a redelivery reaches the flow again
            "BACKSTOP": "true",
            "SECURITY_HUB_FINDINGS": "true",
            "ALERT_EVENT_BUS": BUS,
        }.items():
            monkeypatch.setenv(name, value)
        reset()
        yield Deployment(
            securityhub,
            boto3.client("sqs", region_name=REGION),
            boto3.client("config", region_name=REGION),
            alerts_queue,
            events_queue,
        )
        reset()


Answer = Callable[[dict[str, Any]], Any]


@pytest.fixture
def hook() -> Iterator[Callable[[str, str, Answer], None]]:
    """Answer one operation at the botocore boundary, for clients created from now on:
    `answer(request)` (the request's JSON body as sent) returns a parsed response, raises, or
    returns None to let it through. Unregistered when the test ends."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    registered: list[tuple[str, Any]] = []

    def register(service: str, operation: str, answer: Answer) -> None:
        def before_call(params: dict[str, Any], **_: Any) -> Any:
            parsed = answer(json.loads(params["body"]))
            if parsed is None:
                return None
            return AWSResponse("https://injected", 200, {}, None), parsed  # type: ignore[arg-type]

        name = f"before-call.{service}.{operation}"
        session.events.register(name, before_call)
        registered.append((name, before_call))

    yield register
    for name, handler in registered:
        session.events.unregister(name, handler)


# --- one stop: one finding, one event ------------------------------------------------------


def test_a_stop_yields_one_finding_and_one_event(deployment: Deployment) -> None:
    deployment.stopped_recorder()
    summary = app.handler(EVENT, LocalContext())
    assert summary["security_hub"] == "imported"
    assert summary["alert_event"] == "sent"
    (finding,) = deployment.findings()
    assert finding["Id"] == f"recorder-guard/{ACCOUNT}/{REGION}/event/{EVENT['detail']['eventID']}"
    assert finding["ProductArn"] == (
        f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    )
    assert finding["Severity"]["Label"] == "HIGH"
    assert "TTPs/Defense Evasion/Impair Defenses" in finding["Types"]
    assert finding["ProductFields"]["recorder-guard/EventId"] == EVENT["detail"]["eventID"]
    assert finding["ProductFields"]["recorder-guard/RuleId"] == (
        "fbd44836-0d69-4004-a0b4-03c20370c435"
    )
    assert finding["Compliance"]["Status"] == "FAILED"
    assert finding["RecordState"] == "ACTIVE"
    (event,) = deployment.events()
    assert event["source"] == SOURCE
    assert event["detail-type"] == ALERT_DETAIL_TYPE
    (notification,) = deployment.drain(deployment.alerts_queue)
    assert event["detail"] == json.loads(notification["Message"])  # the SNS SIEM document
    assert event["detail"]["rule"]["id"] == "fbd44836-0d69-4004-a0b4-03c20370c435"


def test_a_duplicate_delivery_updates_the_same_finding(deployment: Deployment) -> None:
    deployment.stopped_recorder()
    app.handler(EVENT, LocalContext())
    (first,) = deployment.findings()
    app.handler(EVENT, LocalContext())
    (second,) = deployment.findings()  # one finding, not two
    assert second["Id"] == first["Id"]
    assert second["UpdatedAt"] >= first["UpdatedAt"]


def test_the_backstop_resolves_the_events_finding(deployment: Deployment) -> None:
    deployment.stopped_recorder()
    app.handler(EVENT, LocalContext())
    deployment.events()
    deployment.config.start_configuration_recorder(ConfigurationRecorderName="default")
    summary = Backstop(backstop_app.runtime(), now=datetime.now(UTC) + timedelta(minutes=15)).run()
    assert summary.summary()["published"] == {"resolved": 1}
    assert summary.output_failures == {}
    (finding,) = deployment.findings()
    assert finding["RecordState"] == "ARCHIVED"
    assert finding["Compliance"]["Status"] == "PASSED"
    assert finding["Title"].startswith("Resolved: ")
    assert "recording again" in finding["ProductFields"]["recorder-guard/Resolution"]
    assert "Workflow" not in finding  # the analyst's, never sent by us
    (notice,) = deployment.events()
    assert notice["detail-type"] == "Recorder Guard Backstop Notice"
    assert notice["detail"]["recorder_guard"]["notice"] == "resolved"


def test_a_backstop_episode_is_one_finding_refreshed_then_resolved(
    deployment: Deployment,
) -> None:
    deployment.stopped_recorder()
    runtime = backstop_app.runtime()
    assert Backstop(runtime, now=T0).run().summary()["published"] == {"alert": 1}
    (opened,) = deployment.findings()
    assert re.fullmatch(
        rf"recorder-guard/{ACCOUNT}/{REGION}/recorder/default/{int(T0.timestamp())}",
        opened["Id"],
    )
    assert opened["RecordState"] == "ACTIVE"
    Backstop(runtime, now=T0 + timedelta(hours=24)).run()  # a reminder
    (reminded,) = deployment.findings()
    assert reminded["LastObservedAt"] > opened["LastObservedAt"]
    deployment.config.start_configuration_recorder(ConfigurationRecorderName="default")
    Backstop(runtime, now=T0 + timedelta(hours=25)).run()
    (resolved,) = deployment.findings()
    assert resolved["Id"] == opened["Id"]
    assert resolved["RecordState"] == "ARCHIVED"
    kinds = [e["detail"]["recorder_guard"]["notice"] for e in deployment.events()]
    assert kinds == ["alert", "reminder", "resolved"]


# --- failures never block the alert ---------------------------------------------------------


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The `error` of each warning an output logged (why it failed)."""
    return [str(r.error) for r in caplog.records if hasattr(r, "error")]


def test_an_import_failure_still_publishes_the_alert(
    deployment: Deployment,
    capsys: pytest.CaptureFixture[str],
    hook: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def not_subscribed(params: dict[str, Any]) -> dict[str, Any]:
        (finding,) = params["Findings"]
        return {
            "FailedCount": 1,
            "SuccessCount": 0,
            "FailedFindings": [
                {
                    "Id": finding["Id"],
                    "ErrorCode": "InvalidAccess",
                    "ErrorMessage": "Account is not subscribed to AWS Security Hub",
                }
            ],
        }

    hook("securityhub", "BatchImportFindings", not_subscribed)
    deployment.stopped_recorder()
    summary = app.handler(EVENT, LocalContext())
    assert summary["outcome"] == "alerted"
    assert summary["security_hub"] == "failed"
    assert summary["alert_event"] == "sent"
    assert len(deployment.drain(deployment.alerts_queue)) == 1  # the SNS alert went out
    assert deployment.findings() == []
    out = capsys.readouterr().out
    assert '"SecurityHubImportFailed"' in out  # the EMF metric, alarmed
    assert logged_errors(caplog) == ["InvalidAccess: Account is not subscribed to AWS Security Hub"]


def test_an_import_error_is_counted_not_raised(
    deployment: Deployment, hook: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def denied(params: dict[str, Any]) -> dict[str, Any]:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "BatchImportFindings"
        )

    hook("securityhub", "BatchImportFindings", denied)
    deployment.stopped_recorder()
    summary = app.handler(EVENT, LocalContext())
    assert (summary["outcome"], summary["security_hub"]) == ("alerted", "failed")
    assert len(deployment.drain(deployment.alerts_queue)) == 1
    assert logged_errors(caplog) == ["AccessDeniedException"]


def test_a_throttled_entry_is_retried_and_delivered_once(deployment: Deployment, hook: Any) -> None:
    calls: list[int] = []

    def throttled_once(params: dict[str, Any]) -> dict[str, Any] | None:
        calls.append(len(params["Entries"]))
        if len(calls) > 1:
            return None  # through to moto
        return {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}],
        }

    hook("eventbridge", "PutEvents", throttled_once)
    deployment.stopped_recorder()
    assert app.handler(EVENT, LocalContext())["alert_event"] == "sent"
    assert calls == [1, 1]
    assert len(deployment.events()) == 1


def test_a_rejected_entry_is_not_retried_and_is_counted(
    deployment: Deployment,
    capsys: pytest.CaptureFixture[str],
    hook: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def denied(params: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        return {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "AccessDeniedException", "ErrorMessage": "denied"}],
        }

    hook("eventbridge", "PutEvents", denied)
    deployment.stopped_recorder()
    summary = app.handler(EVENT, LocalContext())
    assert (summary["outcome"], summary["alert_event"]) == ("alerted", "failed")
    assert calls == [1]
    out = capsys.readouterr().out
    assert '"AlertEventFailed"' in out
    assert logged_errors(caplog) == ["AccessDeniedException: denied"]
    assert len(deployment.drain(deployment.alerts_queue)) == 1


# --- the documented event patterns route ------------------------------------------------------


def documented_patterns() -> dict[str, dict[str, Any]]:
    """The example patterns in docs/alerts.md: each ```json block after a `#### ` heading."""
    text = DOCS.read_text(encoding="utf-8")
    found = re.findall(r"^#### (.+?)\n.*?```json\n(.*?)```", text, flags=re.M | re.S)
    return {title.strip(): json.loads(body) for title, body in found}


def test_the_documented_patterns_deliver_the_alert(deployment: Deployment) -> None:
    patterns = documented_patterns()
    assert len(patterns) >= 2, patterns
    queues = {
        title: queue_target(BUS, f"pattern-{n}", pattern)
        for n, (title, pattern) in enumerate(patterns.items())
    }
    deployment.stopped_recorder()
    app.handler(EVENT, LocalContext())
    for title, queue in queues.items():
        (event,) = deployment.drain(queue)
        assert event["detail"]["recorder_guard"]["severity"] == "high", title


# --- settings, clients, templates ------------------------------------------------------------


def test_no_client_for_an_output_that_is_off() -> None:
    runtime = Runtime(
        Settings(
            alert_topic_arn="arn:aws:sns:us-east-1:111122223333:t", check_recorder_status=False
        )
    )
    assert runtime.events is None
    assert runtime.securityhub_in(ACCOUNT, REGION)[0] is None
    assert runtime._securityhub == {}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALERT_EVENT_BUS", "my bus"),
        ("ALERT_EVENT_BUS", "arn:aws:sns:us-east-1:111122223333:topic"),
        ("SECURITY_HUB_FINDINGS", "yes"),
    ],
)
def test_a_bad_value_fails_at_start_naming_the_variable(name: str, value: str) -> None:
    env = {"ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:t", "IDEMPOTENCY": "false"}
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**env, name: value})


def test_a_bus_arn_is_called_in_its_region() -> None:
    env = {
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:t",
        "IDEMPOTENCY": "false",
        "ALERT_EVENT_BUS": "arn:aws:events:eu-west-1:444455556666:event-bus/secops",
    }
    runtime = Runtime(Settings.from_env(env))
    assert runtime.events is not None
    assert runtime.events.meta.region_name == "eu-west-1"


def _statements(function: str) -> list[tuple[str | None, dict[str, Any]]]:
    (policy,) = load_template()["Resources"][function]["Properties"]["Policies"]
    found: list[tuple[str | None, dict[str, Any]]] = []
    for statement in policy["Statement"]:
        if "Fn::If" in statement:
            found.append((statement["Fn::If"][0], statement["Fn::If"][1]))
        else:
            found.append((None, statement))
    return found


@pytest.mark.parametrize("function", ["ResponderFunction", "BackstopFunction"])
def test_each_outputs_permission_exists_only_when_its_parameter_is_on(function: str) -> None:
    grants = {
        action: (name, body)
        for name, body in _statements(function)
        for action in ([body["Action"]] if isinstance(body["Action"], str) else body["Action"])
    }
    (shub,) = FINDINGS_PERMISSIONS
    (put,) = EVENTS_PERMISSIONS
    name, body = grants[shub]
    assert name == "SecurityHubFindingsEnabled"
    assert body["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/"
        "${AWS::AccountId}/default"
    }
    assert body["Condition"] == {
        "StringEquals": {"securityhub:TargetAccount": {"Ref": "AWS::AccountId"}}
    }
    assert not condition(name)
    assert condition(name, {"SecurityHubFindings": "true"})
    name, body = grants[put]
    assert name == "HasAlertEventBus"
    assert body["Condition"] == {"StringEquals": {"events:source": SOURCE}}
    assert not condition(name)
    assert condition(name, {"AlertEventBus": BUS})
    assert not condition("AlertEventBusIsArn", {"AlertEventBus": BUS})
    arn = "arn:aws:events:us-east-1:111122223333:event-bus/secops"
    assert condition("AlertEventBusIsArn", {"AlertEventBus": arn})
    variables = load_template()["Resources"][function]["Properties"]["Environment"]["Variables"]
    assert variables["SECURITY_HUB_FINDINGS"] == {"Ref": "SecurityHubFindings"}
    assert variables["ALERT_EVENT_BUS"] == {"Ref": "AlertEventBus"}


def test_the_member_role_imports_only_its_own_accounts_findings_when_allowed() -> None:
    forwarder = load_template(FORWARDER)
    statements = forwarder["Resources"]["MemberRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    (grant,) = [
        s["Fn::If"] for s in statements if "Fn::If" in s and s["Fn::If"][0] == "ImportsFindings"
    ]
    body = grant[1]
    assert body["Action"] == "securityhub:BatchImportFindings"
    assert body["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/"
        "${AWS::AccountId}/default"
    }
    assert body["Condition"] == {
        "StringEquals": {"securityhub:TargetAccount": {"Ref": "AWS::AccountId"}}
    }
    assert forwarder["Parameters"]["AllowSecurityHubFindings"]["Default"] == "false"
    assert forwarder["Conditions"]["ImportsFindings"] == {
        "Fn::And": [
            {"Condition": "CreatesMemberRole"},
            {"Fn::Equals": [{"Ref": "AllowSecurityHubFindings"}, "true"]},
        ]
    }


def test_each_outputs_failures_are_alarmed() -> None:
    resources = load_template()["Resources"]
    for logical_id, name, metric in (
        ("SecurityHubImportFailedAlarm", "SecurityHubFindingsEnabled", "SecurityHubImportFailed"),
        ("AlertEventFailedAlarm", "HasAlertEventBus", "AlertEventFailed"),
    ):
        alarm = resources[logical_id]
        assert alarm["Condition"] == name
        stats = [
            m["MetricStat"]["Metric"] for m in alarm["Properties"]["Metrics"] if "MetricStat" in m
        ]
        assert {s["MetricName"] for s in stats} == {metric}
        assert {s["Dimensions"][0]["Value"] for s in stats} == {
            "recorder-guard",
            "recorder-guard-backstop",
        }
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "OperatorTopic"}]


def test_outputs_that_could_not_finish_in_time_are_skipped_not_risked(
    deployment: Deployment,
) -> None:
    """A Lambda timeout would retry the event and send its SNS alert twice: an output that
    needs more time than is left is skipped and counted instead (5 s left < 8 s needed)."""
    deployment.stopped_recorder()
    outcome = respond(EVENT, app.runtime(), now=datetime.now(UTC), seconds_left=5.0)
    assert outcome.outcome == "alerted"
    assert {name: d.error for name, d in outcome.outputs.items()} == {
        "security_hub": TIME_UP,
        "alert_event": TIME_UP,
    }
    assert len(deployment.drain(deployment.alerts_queue)) == 1
    assert deployment.findings() == []
    assert deployment.events() == []
