"""The scheduled backstop against moto: Config recorders in, one notice per episode out."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

from recorder_guard import app, backstop_app
from recorder_guard.aws.episodes import EPISODE_PERMISSIONS
from recorder_guard.aws.inventory import INVENTORY_PERMISSIONS
from recorder_guard.aws.restart import RESTART_PERMISSIONS, STATE_PERMISSIONS
from recorder_guard.aws.stopper import LOOKUP_PERMISSIONS
from recorder_guard.flows.backstop import ORGANIZATIONS_PERMISSIONS, Backstop, BackstopError
from recorder_guard.local import LocalContext, create_state_table
from recorder_guard.settings import SettingsError, expected_off_patterns
from tests.support import (
    QuietHandler,
    fake_aws_credentials,
    load_template,
    loopback_server,
    member_session,
    sample_events,
    topic_with_queue,
)

REGION = "us-east-1"
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/config"
MEMBER_ROLE = "recorder-guard-member"
T0 = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
BACKSTOP_CONTEXT = LocalContext(function_name="recorder-guard-backstop", timeout_millis=600_000)


@dataclass
class Account:
    config: Any
    sqs: Any
    queue_url: str
    topic: str

    def notices(self) -> list[dict[str, Any]]:
        """Every notice the topic's SQS subscriber received since the last call: the
        subject and the ECS document (what an SQS subscriber gets)."""
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = batch.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                body = json.loads(message["Body"])
                found.append({"subject": body.get("Subject"), **json.loads(body["Message"])})
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def recorder(self, name: str = "default", *, channel: bool = True) -> None:
        self.config.put_configuration_recorder(
            ConfigurationRecorder={"name": name, "roleARN": ROLE}
        )
        if channel:
            self.config.put_delivery_channel(
                DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"}
            )

    def status(self) -> dict[str, Any]:
        (status,) = self.config.describe_configuration_recorder_status()[
            "ConfigurationRecordersStatus"
        ]
        return dict(status)


def run(now: datetime = T0) -> dict[str, Any]:
    """One scheduled run at `now` (the handler's own clock cannot be moved)."""
    return Backstop(backstop_app.runtime(), now=now).run().summary()


def deployed(monkeypatch: pytest.MonkeyPatch, **settings: str) -> Account:
    """Inside moto: the stack's topic (with an SQS subscriber), state table and settings."""
    topic, queue_url = topic_with_queue(REGION)
    create_state_table(boto3.client("dynamodb", region_name=REGION), "state")
    for name, value in {"ALERT_TOPIC_ARN": topic, "STATE_TABLE_NAME": "state", **settings}.items():
        monkeypatch.setenv(name, value)
    backstop_app.runtime.cache_clear()
    app.runtime.cache_clear()
    sqs = boto3.client("sqs", region_name=REGION)
    return Account(boto3.client("config", region_name=REGION), sqs, queue_url, topic)


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    fake_aws_credentials(monkeypatch, REGION)
    with mock_aws():
        yield deployed(monkeypatch, BACKSTOP="true", IDEMPOTENCY="false")
        backstop_app.runtime.cache_clear()
        app.runtime.cache_clear()


def test_a_recorder_created_but_never_started_is_found_once(account: Account) -> None:
    account.recorder()
    summary = backstop_app.handler({}, BACKSTOP_CONTEXT)
    assert summary["published"] == {"alert": 1}
    (notice,) = account.notices()
    assert notice["subject"] == (
        f"[HIGH] Config recorder not recording: default in {ACCOUNT} {REGION}"
    )
    assert notice["recorder_guard"]["recorder"]["status"]["problems"] == ["never started"]
    assert notice["rule"]["name"] == "AWS Config Recorder Not Recording"
    assert notice["event"]["kind"] == "alert"
    assert notice["cloud"] == {"account": {"id": ACCOUNT}, "region": REGION, "provider": "aws"}
    assert backstop_app.handler({}, BACKSTOP_CONTEXT)["published"] == {}
    assert account.notices() == []  # one alert per episode, not one per run


def test_a_stopped_recorder_is_alerted_once_and_resolved_once(account: Account) -> None:
    account.recorder()
    account.config.start_configuration_recorder(ConfigurationRecorderName="default")
    assert run()["published"] == {}
    account.config.stop_configuration_recorder(ConfigurationRecorderName="default")
    assert run(T0 + timedelta(minutes=15))["published"] == {"alert": 1}
    (alert,) = account.notices()
    assert alert["recorder_guard"]["recorder"]["status"]["problems"] == ["not recording"]
    assert run(T0 + timedelta(minutes=30))["published"] == {}
    account.config.start_configuration_recorder(ConfigurationRecorderName="default")
    assert run(T0 + timedelta(minutes=45))["published"] == {"resolved": 1}
    (resolved,) = account.notices()
    assert resolved["subject"] == (
        f"[RESOLVED] Config recorder recording again: default in {ACCOUNT} {REGION}"
    )
    assert resolved["recorder_guard"]["episode"]["lasted"] == "30 min"
    assert resolved["event"]["type"] == ["end"]
    assert run(T0 + timedelta(minutes=60))["published"] == {}
    assert account.notices() == []


def test_reminders_follow_the_configured_interval(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKSTOP_REMINDER_HOURS", "2")
    backstop_app.runtime.cache_clear()
    account.recorder()
    run()
    assert run(T0 + timedelta(hours=1, minutes=59))["published"] == {}
    assert run(T0 + timedelta(hours=2))["published"] == {"reminder": 1}
    assert run(T0 + timedelta(hours=3))["published"] == {}
    assert run(T0 + timedelta(hours=4))["published"] == {"reminder": 1}
    subjects = [n["subject"] for n in account.notices()]
    assert subjects[1] == (
        f"[REMINDER] Config recorder not recording for 2 h 0 min: default in {ACCOUNT} {REGION}"
    )
    assert len(subjects) == 3  # alert and two reminders


def test_a_missing_delivery_channel_is_named(account: Account) -> None:
    account.recorder(channel=False)
    run()
    (notice,) = account.notices()
    problems = notice["recorder_guard"]["recorder"]["status"]["problems"]
    assert problems == ["never started", "no delivery channel"]


def test_expected_off_recorders_are_not_alerted_but_listed_daily(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPECTED_OFF", f"{ACCOUNT}")
    monkeypatch.setenv("AUTO_RESTART", "true")
    backstop_app.runtime.cache_clear()
    account.recorder()
    assert run()["published"] == {"digest": 1}
    (digest,) = account.notices()
    assert digest["subject"].startswith("[DIGEST] recorder-guard: Daily digest: 1 recorder(s)")
    assert digest["recorder_guard"]["expected_off"] == [
        {
            "account": ACCOUNT,
            "region": REGION,
            "recorder": "default",
            "problems": ["never started"],
            "by": f"{ACCOUNT}/*/*",
        }
    ]
    assert account.status()["recording"] is False  # not restarted
    assert run(T0 + timedelta(hours=23))["published"] == {}
    assert run(T0 + timedelta(hours=24))["published"] == {"digest": 1}


def test_the_event_alert_and_the_backstop_do_not_double_alert(account: Account) -> None:
    account.recorder()
    account.config.start_configuration_recorder(ConfigurationRecorderName="default")
    account.config.stop_configuration_recorder(ConfigurationRecorderName="default")
    event = sample_events()["stop_recorder_assumed_role.json"]
    assert app.handler(event, LocalContext())["outcome"] == "alerted"
    assert len(account.notices()) == 1  # the event alert
    assert run(T0 + timedelta(minutes=15))["published"] == {}
    account.config.start_configuration_recorder(ConfigurationRecorderName="default")
    assert run(T0 + timedelta(minutes=30))["published"] == {"resolved": 1}
    (resolved,) = account.notices()
    episode = resolved["recorder_guard"]["episode"]
    assert episode["opened_by"] == "event"
    assert episode["event_id"] == event["detail"]["eventID"]


def test_the_backstop_restarts_when_the_operator_opted_in(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTO_RESTART", "true")
    backstop_app.runtime.cache_clear()
    account.recorder()
    assert run()["restarts"] == {"restarted": 1}
    (notice,) = account.notices()
    assert notice["subject"].startswith("[HIGH] Config recorder was not recording, restarted")
    assert notice["recorder_guard"]["remediation"]["outcome"] == "restarted"
    assert account.status()["recording"] is True
    account.config.stop_configuration_recorder(ConfigurationRecorderName="default")
    summary = run(T0 + timedelta(minutes=15))
    assert summary["restarts"] == {"skipped_flapping": 1}  # the shared flap window holds
    assert account.status()["recording"] is False


def test_dry_run_says_what_it_would_do(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_RESTART", "true")
    monkeypatch.setenv("REMEDIATION_MODE", "dry_run")
    backstop_app.runtime.cache_clear()
    account.recorder()
    assert run()["restarts"] == {"dry_run": 1}
    assert account.status()["recording"] is False


def test_a_recorder_without_a_channel_is_not_restarted(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTO_RESTART", "true")
    backstop_app.runtime.cache_clear()
    account.recorder(channel=False)
    assert run()["restarts"] == {}


def test_expected_off_also_stops_the_event_path_restarting(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTO_RESTART", "true")
    monkeypatch.setenv("EXPECTED_OFF", f"{ACCOUNT}/{REGION}/default")
    app.runtime.cache_clear()
    account.recorder()
    event = sample_events()["stop_recorder_assumed_role.json"]
    summary = app.handler(event, LocalContext())
    assert summary["remediation"]["outcome"] == "skipped_expected_off"
    assert account.status()["recording"] is False


def test_a_notice_that_cannot_be_published_is_sent_by_the_next_run(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("sns", region_name=REGION).delete_topic(TopicArn=account.topic)
    account.recorder()
    with pytest.raises(BackstopError, match="alert for 111122223333/us-east-1/default"):
        backstop_app.handler({}, BACKSTOP_CONTEXT)
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="alerts")["TopicArn"]
    queue = account.sqs.get_queue_attributes(
        QueueUrl=account.queue_url, AttributeNames=["QueueArn"]
    )
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue["Attributes"]["QueueArn"]
    )
    assert run()["published"] == {"alert": 1}


def test_a_run_short_of_time_defers_and_the_next_run_alerts(account: Account) -> None:
    account.recorder()
    backstop = backstop_app.runtime()
    short = Backstop(backstop, now=T0).run(seconds_left=25).summary()
    assert short["deferred"] == 1
    assert short["published"] == {}
    assert account.notices() == []
    assert run(T0 + timedelta(minutes=15))["published"] == {"alert": 1}


def test_a_deleted_recorder_closes_its_episode(account: Account) -> None:
    account.recorder()
    run()
    account.notices()
    account.config.delete_delivery_channel(DeliveryChannelName="default")
    account.config.delete_configuration_recorder(ConfigurationRecorderName="default")
    assert run(T0 + timedelta(minutes=15))["published"] == {"gone": 1}
    (notice,) = account.notices()
    assert notice["subject"].startswith("[CLOSED] Config recorder deleted while not recording")


@pytest.fixture
def organization(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Account, list[str]]]:
    """A central account with two members: the backstop reads both through the member role
    (moto's account id must follow the assumed role, so MOTO_ACCOUNT_ID is unset)."""
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    fake_aws_credentials(monkeypatch, REGION)
    with mock_aws():
        organizations = boto3.client("organizations", region_name=REGION)
        organizations.create_organization(FeatureSet="ALL")
        members = [
            organizations.create_account(Email=f"m{n}@example.com", AccountName=f"member-{n}")[
                "CreateAccountStatus"
            ]["AccountId"]
            for n in (1, 2)
        ]
        yield (
            deployed(monkeypatch, BACKSTOP="true", MEMBER_ROLE_NAME=MEMBER_ROLE),
            members,
        )
        backstop_app.runtime.cache_clear()


def test_organization_mode_checks_each_member(organization: tuple[Account, list[str]]) -> None:
    central, (healthy, stopped) = organization
    for member in (healthy, stopped):
        config = member_session(member, MEMBER_ROLE, REGION).client("config")
        config.put_configuration_recorder(
            ConfigurationRecorder={"name": "default", "roleARN": f"arn:aws:iam::{member}:role/c"}
        )
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "b"})
    member_session(healthy, MEMBER_ROLE, REGION).client("config").start_configuration_recorder(
        ConfigurationRecorderName="default"
    )
    summary = backstop_app.handler({}, BACKSTOP_CONTEXT)
    assert summary["regions_checked"] == 3  # the central account and both members
    assert summary["recorders"] == 2
    assert summary["published"] == {"alert": 1}
    (notice,) = central.notices()
    assert notice["cloud"]["account"]["id"] == stopped
    assert notice["subject"].endswith(f"default in {stopped} {REGION}")


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_the_backstop_is_scheduled_and_absent_when_the_schedule_is_empty() -> None:
    template = load_template()
    function = template["Resources"]["BackstopFunction"]
    assert function["Condition"] == "HasBackstop"
    assert template["Conditions"]["HasBackstop"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "BackstopSchedule"}, ""]}]
    }
    assert template["Parameters"]["BackstopSchedule"]["Default"] == "rate(15 minutes)"
    schedule = function["Properties"]["Events"]["Schedule"]
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "BackstopSchedule"}
    assert function["Properties"]["Handler"] == "recorder_guard.backstop_app.handler"
    responder = template["Resources"]["ResponderFunction"]["Properties"]["Environment"]
    assert responder["Variables"]["BACKSTOP"] == {"Fn::If": ["HasBackstop", "true", "false"]}


def test_the_backstop_role_allows_what_the_code_calls_and_no_more() -> None:
    function = load_template()["Resources"]["BackstopFunction"]["Properties"]
    (policy,) = function["Policies"]
    always: dict[str, set[str]] = {}
    conditional: dict[str, tuple[str, set[str]]] = {}
    for statement in policy["Statement"]:
        if "Fn::If" in statement:
            condition, body, _ = statement["Fn::If"]
            conditional[body["Sid"]] = (condition, _actions(body))
        else:
            always[statement["Sid"]] = _actions(statement)
    read = always["ListRecorders"] | always["ReadRecorderStatus"]
    assert read == set(INVENTORY_PERMISSIONS)
    assert always["Episodes"] == set(EPISODE_PERMISSIONS) | set(STATE_PERMISSIONS)
    assert always["FindWhoStopped"] == set(LOOKUP_PERMISSIONS)
    assert conditional["RestartRecorder"] == ("EnforcesRestart", {RESTART_PERMISSIONS[1]})
    assert conditional["AssumeMemberRoles"] == ("IsCentral", {"sts:AssumeRole"})
    assert conditional["ListOrganizationAccounts"] == (
        "BackstopListsOrganization",
        set(ORGANIZATIONS_PERMISSIONS),
    )
    assert always["PublishAlerts"] == {"sns:Publish"}
    variables = function["Environment"]["Variables"]
    responder = load_template()["Resources"]["ResponderFunction"]["Properties"]["Environment"]
    assert set(variables) == set(responder["Variables"])  # one Settings parser reads both


@contextmanager
def cloudtrail_history(
    records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[dict[str, Any]]]:
    """CloudTrail's event history (LookupEvents, which moto lacks) as a real HTTP server on
    loopback, answering by event name and time range as the API does; yields the requests."""
    requests: list[dict[str, Any]] = []

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append(body)
            (attribute,) = body["LookupAttributes"]
            start, end = float(body["StartTime"]), float(body["EndTime"])
            events = [
                {"EventId": r["eventID"], "CloudTrailEvent": json.dumps(r)}
                for r in records
                if r["eventName"] == attribute["AttributeValue"]
                and start <= datetime.fromisoformat(r["eventTime"]).timestamp() <= end
            ]
            self.reply(200, json.dumps({"Events": events}).encode())

    with loopback_server(Handler) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", url)
        yield requests


def recorded_stop(config: Any) -> dict[str, Any]:
    """The sample stop, as CloudTrail recorded it at the moment moto stopped the recorder."""
    record = json.loads(json.dumps(sample_events()["stop_recorder_assumed_role.json"]["detail"]))
    (status,) = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    record["eventTime"] = status["lastStopTime"].isoformat()
    return dict(record)


def test_the_backstop_names_who_stopped_it_from_cloudtrail(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    account.recorder()
    account.config.start_configuration_recorder(ConfigurationRecorderName="default")
    account.config.stop_configuration_recorder(ConfigurationRecorderName="default")
    stop = recorded_stop(account.config)
    failed = {**stop, "eventID": "failed-call", "errorCode": "AccessDenied"}
    with cloudtrail_history([failed, stop], monkeypatch) as requests:
        assert run()["published"] == {"alert": 1}
    (request,) = requests
    assert request["LookupAttributes"] == [
        {"AttributeKey": "EventName", "AttributeValue": "StopConfigurationRecorder"}
    ]
    (notice,) = account.notices()
    stopped_by = notice["recorder_guard"]["stopped_by"]
    assert stopped_by["arn"] == stop["userIdentity"]["arn"]
    assert stopped_by["event_id"] == stop["eventID"]  # not the failed attempt


def test_exemptions_apply_when_cloudtrail_names_the_caller(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTO_RESTART", "true")
    monkeypatch.setenv("EXEMPT_PRINCIPAL_ARNS", "arn:aws:iam::111122223333:role/PlatformAdmin")
    backstop_app.runtime.cache_clear()
    account.recorder()
    account.config.start_configuration_recorder(ConfigurationRecorderName="default")
    account.config.stop_configuration_recorder(ConfigurationRecorderName="default")
    with cloudtrail_history([recorded_stop(account.config)], monkeypatch):
        assert run()["restarts"] == {"skipped_exempt": 1}
    assert account.status()["recording"] is False
    (notice,) = account.notices()
    assert notice["recorder_guard"]["remediation"]["outcome"] == "skipped_exempt"


VALID_EXPECTED_OFF = (
    "",
    "123456789012",
    "123456789012, eu-west-3,sandbox",
    "111122223333/eu-*/default",
    "*/us-east-1/*,210987654321",
)
INVALID_EXPECTED_OFF = ("a/b", "a//c", "a/b/c/d", "x,,y", ",x")


def test_expected_off_is_checked_at_deploy_time_as_the_function_reads_it() -> None:
    pattern = load_template()["Parameters"]["ExpectedOff"]["AllowedPattern"]
    for value in VALID_EXPECTED_OFF:
        assert re.fullmatch(pattern, value), value
        expected_off_patterns(value)  # and the function reads it
    for value in INVALID_EXPECTED_OFF:
        assert not re.fullmatch(pattern, value), value  # CloudFormation refuses it
    for value in INVALID_EXPECTED_OFF[:3]:
        with pytest.raises(SettingsError, match="account/region/recorder"):
            expected_off_patterns(value)


def test_without_an_organization_to_list_the_run_fails_saying_what_to_do(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBER_ROLE_NAME", MEMBER_ROLE)  # central, but no org
    backstop_app.runtime.cache_clear()
    with pytest.raises(BackstopError, match="list the accounts in BackstopAccounts"):
        backstop_app.handler({}, BACKSTOP_CONTEXT)


SERVICE_LINKED = (
    # Config's reserved name prefix, as AWS managed policies name Security Hub's recorder
    {
        "name": "AWSConfigurationRecorderForSecurityHubAssets",
        "servicePrincipal": "securityhub.amazonaws.com",
    },
    # a service principal under any other name: the Describe answer, not the name, decides
    {"name": "third-party-connector-recorder", "servicePrincipal": "example.amazonaws.com"},
)


@pytest.fixture
def service_linked_recorders(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """moto (5.2) does not model service-linked recorders: at the botocore boundary, Config's
    Describe answers gain two stopped ones, as the API reference documents them (name, arn,
    servicePrincipal). Every Config call is recorded, to show none targets them."""
    calls: list[tuple[str, dict[str, Any]]] = []
    original = BaseClient._make_api_call  # type: ignore[attr-defined]  # botocore private

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        response = original(client, operation, params)
        if client.meta.service_model.service_name != "config":
            return response
        calls.append((operation, params))
        if operation == "DescribeConfigurationRecorders":
            response["ConfigurationRecorders"] += [
                {
                    **recorder,
                    "arn": f"arn:aws:config:{REGION}:{ACCOUNT}:configuration-recorder/"
                    f"{recorder['name']}/example",
                    "recordingGroup": {"allSupported": False},
                }
                for recorder in SERVICE_LINKED
            ]
        if operation == "DescribeConfigurationRecorderStatus":
            response["ConfigurationRecordersStatus"] += [
                {"name": recorder["name"], "recording": False, "lastStatus": "FAILURE"}
                for recorder in SERVICE_LINKED
                if recorder["name"] in params.get("ConfigurationRecorderNames", [recorder["name"]])
            ]
        return response

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return calls


def test_the_backstop_never_reports_or_restarts_a_service_linked_recorder(
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
    service_linked_recorders: list[tuple[str, dict[str, Any]]],
) -> None:
    monkeypatch.setenv("AUTO_RESTART", "true")
    backstop_app.runtime.cache_clear()
    account.recorder()  # the customer-managed one, never started
    summary = run()
    assert summary["recorders"] == 1
    assert summary["restarts"] == {"restarted": 1}
    (notice,) = account.notices()
    assert notice["recorder_guard"]["recorder"]["name"] == "default"
    linked = {recorder["name"] for recorder in SERVICE_LINKED}
    for operation, params in service_linked_recorders:
        named = set(params.get("ConfigurationRecorderNames", [])) | {
            params.get("ConfigurationRecorderName")
        }
        assert not named & linked, (operation, params)
    started = [p for op, p in service_linked_recorders if op == "StartConfigurationRecorder"]
    assert started == [{"ConfigurationRecorderName": "default"}]
