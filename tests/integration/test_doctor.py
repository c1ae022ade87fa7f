"""doctor against moto: a stack shaped like template.yaml (plain CloudFormation, as moto does
not expand SAM), each check healthy and then broken the way it breaks in an account.

moto cannot show an email subscription pending confirmation (it confirms at once), nor run the
deployed function (without Docker, Invoke only echoes): the pending case is tested with plain
data in tests/unit/test_doctor.py, and --send-test at the Lambda boundary with a Stubber.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from recorder_guard import __main__ as cli
from recorder_guard.aws.doctor import (
    Reader,
    credentials_session,
    member_checks,
    read_alarms,
    read_backstop,
    read_stack,
    read_stack_instances,
    run_doctor,
    send_test,
)
from recorder_guard.domain.doctor import FAIL, OK, WARN, Check, check_alarms, check_backstop
from recorder_guard.domain.selftest import TEST_SOURCE, build_test_event, is_test_event
from recorder_guard.local import LocalOptions, invoke
from tests.support import ROOT, fake_aws_credentials, load_json, member_session, sns_delivers

REGION = "us-east-1"
STACK = "rg"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
TEMPLATE = {
    "Resources": {
        "ResponderFunctionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": ASSUME_LAMBDA},
        },
        "ResponderFunction": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.13",
                "Handler": "recorder_guard.app.handler",
                "Role": {"Fn::GetAtt": ["ResponderFunctionRole", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context): return event"},
            },
        },
        "DeadLetterQueue": {"Type": "AWS::SQS::Queue"},
        "AlertTopic": {"Type": "AWS::SNS::Topic"},
        "OperatorTopic": {"Type": "AWS::SNS::Topic"},
        "StoppedRecorderRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "State": "ENABLED",
                "EventPattern": {"source": ["aws.config"]},
                "Targets": [
                    {
                        "Id": "responder",
                        "Arn": {"Fn::GetAtt": ["ResponderFunction", "Arn"]},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}},
                    }
                ],
            },
        },
    },
    "Outputs": {
        "AlertTopicArn": {"Value": {"Ref": "AlertTopic"}},
        "OperatorTopicArn": {"Value": {"Ref": "OperatorTopic"}},
        "FunctionName": {"Value": {"Ref": "ResponderFunction"}},
        "DeadLetterQueueUrl": {"Value": {"Ref": "DeadLetterQueue"}},
    },
}


@dataclass
class Deployed:
    """The stack plus the account around it, healthy; tests break one thing each."""

    session: boto3.Session
    outputs: dict[str, str]
    resources: dict[str, str]

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)  # type: ignore[call-overload]

    def run(self) -> dict[str, Check]:
        return {check.name: check for check in run_doctor(self.session, STACK, None, NOW)}


def healthy_account(session: boto3.Session, bucket: str = "trail-bucket-rg") -> None:
    """A logging multi-region trail, a recording recorder with a channel."""
    session.client("s3").create_bucket(Bucket=bucket)
    cloudtrail = session.client("cloudtrail")
    cloudtrail.create_trail(Name="main", S3BucketName=bucket, IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name="main")
    config = session.client("config")
    config.put_configuration_recorder(
        ConfigurationRecorder={"name": "default", "roleARN": "arn:aws:iam::1:role/config"}
    )
    config.put_delivery_channel(
        DeliveryChannel={"name": "default", "s3BucketName": "trail-bucket-rg"}
    )
    config.start_configuration_recorder(ConfigurationRecorderName="default")


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployed]:
    fake_aws_credentials(monkeypatch, REGION)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        session = boto3.Session(region_name=REGION)
        cloudformation = session.client("cloudformation")
        cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
        (stack,) = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        resources = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        }
        sns = session.client("sns")
        for topic in ("AlertTopicArn", "OperatorTopicArn"):
            sns.subscribe(
                TopicArn=outputs[topic], Protocol="email", Endpoint="security@example.com"
            )
        healthy_account(session)
        yield Deployed(session, outputs, resources)


def statuses(checks: dict[str, Check]) -> dict[str, str]:
    return {name: check.status for name, check in checks.items()}


def test_a_healthy_stack_passes_every_check(deployed: Deployed) -> None:
    checks = deployed.run()
    assert statuses(checks) == {
        "trail in us-east-1": OK,
        "rule StoppedRecorderRule": OK,
        "alert topic": OK,
        "operator topic": OK,
        "queue DeadLetterQueue": OK,
        "function ResponderFunction": OK,
        "recorder default in us-east-1": OK,
    }


def test_no_logging_trail_fails(deployed: Deployed) -> None:
    deployed.client("cloudtrail").stop_logging(Name="main")
    assert deployed.run()["trail in us-east-1"].status == FAIL


def test_a_trail_without_management_writes_fails(deployed: Deployed) -> None:
    deployed.client("cloudtrail").put_event_selectors(
        TrailName="main",
        EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}],
    )
    check = deployed.run()["trail in us-east-1"]
    assert (check.status, "write events" in check.detail) == (FAIL, True)


def test_another_region_without_a_trail_fails(deployed: Deployed) -> None:
    cloudtrail = deployed.client("cloudtrail")
    cloudtrail.delete_trail(Name="main")
    cloudtrail.create_trail(Name="local", S3BucketName="trail-bucket-rg")
    cloudtrail.start_logging(Name="local")
    checks = {
        c.name: c for c in run_doctor(deployed.session, STACK, ["us-east-1", "eu-west-1"], NOW)
    }
    assert checks["trail in us-east-1"].status == OK
    assert checks["trail in eu-west-1"].status == FAIL


def test_a_disabled_rule_fails(deployed: Deployed) -> None:
    deployed.client("events").disable_rule(Name=deployed.resources["StoppedRecorderRule"])
    check = deployed.run()["rule StoppedRecorderRule"]
    assert (check.status, "DISABLED" in check.detail) == (FAIL, True)


def test_a_deleted_rule_fails(deployed: Deployed) -> None:
    events = deployed.client("events")
    name = deployed.resources["StoppedRecorderRule"]
    events.remove_targets(Rule=name, Ids=["responder"])
    events.delete_rule(Name=name)
    check = deployed.run()["rule StoppedRecorderRule"]
    assert (check.status, "does not exist" in check.detail) == (FAIL, True)


def test_a_target_without_dead_letter_queue_warns(deployed: Deployed) -> None:
    events = deployed.client("events")
    name = deployed.resources["StoppedRecorderRule"]
    (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
    events.put_targets(Rule=name, Targets=[{"Id": "responder", "Arn": target["Arn"]}])
    assert deployed.run()["rule StoppedRecorderRule"].status == WARN


def test_an_alert_topic_without_subscribers_fails(deployed: Deployed) -> None:
    sns = deployed.client("sns")
    for subscription in sns.list_subscriptions_by_topic(TopicArn=deployed.outputs["AlertTopicArn"])[
        "Subscriptions"
    ]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    assert deployed.run()["alert topic"].status == FAIL


def test_a_chatbot_endpoint_on_plain_http_warns(deployed: Deployed) -> None:
    """Chatbot subscribed with protocol http would get the message's default, the ECS JSON
    document, instead of the chat notification under `https`."""
    endpoint = "global.sns-api.chatbot.amazonaws.com"
    topic = deployed.outputs["AlertTopicArn"]
    deployed.client("sns").subscribe(TopicArn=topic, Protocol="http", Endpoint=f"http://{endpoint}")
    check = deployed.run()["chatbot protocol"]
    assert check.status == WARN
    assert f"--topic-arn {topic} --protocol https --notification-endpoint https://{endpoint}" in (
        check.fix
    )


def test_dead_letters_fail_with_the_redrive_command(deployed: Deployed) -> None:
    url = deployed.outputs["DeadLetterQueueUrl"]
    deployed.client("sqs").send_message(QueueUrl=url, MessageBody="{}")
    check = deployed.run()["queue DeadLetterQueue"]
    assert check.status == FAIL
    assert f"make redrive QUEUE_URL={url}" in check.fix


def test_a_function_throttled_to_zero_fails(deployed: Deployed) -> None:
    deployed.client("lambda").put_function_concurrency(
        FunctionName=deployed.outputs["FunctionName"], ReservedConcurrentExecutions=0
    )
    assert deployed.run()["function ResponderFunction"].status == FAIL


def test_a_stopped_recorder_fails(deployed: Deployed) -> None:
    deployed.client("config").stop_configuration_recorder(ConfigurationRecorderName="default")
    check = deployed.run()["recorder default in us-east-1"]
    assert check.status == FAIL
    assert "start-configuration-recorder" in check.fix


def test_alarms_in_alarm_fail(deployed: Deployed) -> None:
    cloudwatch = deployed.client("cloudwatch")
    for name in ("errors", "dead-letters"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    assert [
        c.status for c in check_alarms(read_alarms(cloudwatch, ["errors", "dead-letters"]))
    ] == [OK]
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="1 error")
    checks = check_alarms(read_alarms(cloudwatch, ["errors", "dead-letters"]))
    assert [(c.name, c.status) for c in checks] == [("alarm errors", FAIL)]


def test_backstop_last_successful_run(deployed: Deployed) -> None:
    scheduler = deployed.client("scheduler")
    cloudwatch = deployed.client("cloudwatch")
    scheduler.create_schedule(
        Name="rg-backstop",
        ScheduleExpression="rate(15 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": f"arn:aws:lambda:{REGION}:111122223333:function:rg-backstop",
            "RoleArn": "arn:aws:iam::111122223333:role/scheduler",
        },
    )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    assert (
        check_backstop(read_backstop(scheduler, cloudwatch, "rg-backstop", now), now).status == FAIL
    )
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "FunctionName", "Value": "rg-backstop"}],
                "Timestamp": now - timedelta(minutes=10),
                "Value": 1,
            }
        ],
    )
    view = read_backstop(scheduler, cloudwatch, "rg-backstop", now)
    assert check_backstop(view, now).status == OK
    assert check_backstop(read_backstop(scheduler, cloudwatch, "gone", now), now).status == FAIL


def test_the_checks_only_read(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every AWS operation doctor makes, member checks included, is Describe/Get/List/Lookup,
    plus sts:AssumeRole into the member role: recorded at the botocore boundary."""
    operations: list[str] = []

    def record(model: Any, **_: Any) -> None:
        operations.append(model.name)

    def recorded_member_session(credentials: Any) -> boto3.Session:
        member = credentials_session(credentials)
        member.events.register("before-call", record)
        return member

    deployed.session.events.register("before-call", record)
    run_doctor(deployed.session, STACK, ["us-east-1", "eu-west-1"], NOW)
    monkeypatch.delenv("MOTO_ACCOUNT_ID")  # moto takes the member account from the role
    forwarder_in_member(member_session(MEMBER, "recorder-guard-member", REGION))
    member_checks(
        deployed.session,
        accounts=[MEMBER],
        regions=[REGION],
        role_name="recorder-guard-member",
        central_bus_arn=CENTRAL_BUS,
        instances=None,
        session_for=recorded_member_session,
    )
    assert {"DescribeStacks", "GetTrailStatus", "ListRuleNamesByTarget", "AssumeRole"} <= set(
        operations
    )
    assert {"GetQueueUrl", "GetQueueAttributes", "DescribeConfigurationRecorders"} <= set(
        operations
    )
    written = {
        name
        for name in operations
        if not name.startswith(("Describe", "Get", "List", "Lookup")) and name != "AssumeRole"
    }
    assert written == set()


def test_cli_prints_one_line_per_check_and_exits_1_on_a_failure(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["doctor", "--stack", STACK, "--stack-region", REGION]) == 0
    healthy = capsys.readouterr().out
    assert "ok    cloudtrail  trail in us-east-1" in healthy
    assert healthy.rstrip().endswith("0 failure(s)")
    deployed.client("events").disable_rule(Name=deployed.resources["StoppedRecorderRule"])
    assert cli.main(["doctor", "--stack", STACK, "--stack-region", REGION, "--json"]) == 1
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failed = [d for d in documents if d["status"] == FAIL]
    assert [d["name"] for d in failed] == ["rule StoppedRecorderRule"]
    assert failed[0]["fix"].startswith("aws events enable-rule")


def test_cli_on_a_missing_stack_says_so_in_one_line(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["doctor", "--stack", "nope", "--stack-region", REGION]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read stack nope")
    assert len(err.strip().splitlines()) == 1


# --- organization mode ----------------------------------------------------------------------

MEMBER = "222233334444"
CENTRAL_BUS = f"arn:aws:events:{REGION}:111122223333:event-bus/recorder-guard-central"


def forwarder_in_member(session: boto3.Session) -> str:
    """What templates/forwarder.yaml creates in a member: the forward rule with its DLQ."""
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName="forward-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = session.client("events")
    events.put_rule(Name="forward-stopped", EventPattern='{"source":["aws.config"]}')
    events.put_targets(
        Rule="forward-stopped",
        Targets=[{"Id": "central", "Arn": CENTRAL_BUS, "DeadLetterConfig": {"Arn": arn}}],
    )
    healthy_account(session, bucket="trail-bucket-member")
    return url


@pytest.fixture
def organization(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    fake_aws_credentials(monkeypatch, REGION)
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def member_lines(session: boto3.Session, instances: Any = None) -> list[Check]:
    return member_checks(
        session,
        accounts=[MEMBER],
        regions=[REGION],
        role_name="recorder-guard-member",
        central_bus_arn=CENTRAL_BUS,
        instances=instances,
    )


def test_member_account_healthy_then_broken(organization: boto3.Session) -> None:
    member = member_session(MEMBER, "recorder-guard-member", REGION)
    url = forwarder_in_member(member)
    (line,) = member_lines(organization)
    assert (line.name, line.status) == (f"account {MEMBER} {REGION}", OK)

    member.client("sqs").send_message(QueueUrl=url, MessageBody="{}")
    member.client("events").disable_rule(Name="forward-stopped")
    (line,) = member_lines(organization)
    assert line.status == FAIL
    assert "DISABLED" in line.detail
    assert "message(s) waiting" in line.detail


def test_member_account_without_forwarder_or_instance_fails(organization: boto3.Session) -> None:
    (line,) = member_lines(organization, instances=[])
    assert line.status == FAIL
    assert "no StackSet instance" in line.detail
    assert "no rule forwards" in line.detail


def test_stack_set_instances_are_read(organization: boto3.Session) -> None:
    cloudformation = organization.client("cloudformation")
    cloudformation.create_stack_set(
        StackSetName="rg-forwarder",
        TemplateBody=json.dumps(
            {"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "fwd"}}}}
        ),
    )
    cloudformation.create_stack_instances(
        StackSetName="rg-forwarder", Accounts=[MEMBER], Regions=[REGION]
    )
    (instance,) = read_stack_instances(cloudformation, "rg-forwarder", "SELF")
    assert (instance.account, instance.region) == (MEMBER, REGION)


# --- the test alert -------------------------------------------------------------------------


def test_send_test_invokes_the_function_with_a_test_event() -> None:
    """At the Lambda boundary (moto's Invoke without Docker only echoes): the request doctor
    sends, and how it reads the function's answer."""
    client = boto3.client(
        "lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    answer = {"outcome": "alerted", "subject": "TEST [HIGH] Config recorder stopped", "test": True}
    body = json.dumps(answer).encode()
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))},
            {
                "FunctionName": "rg-responder",
                "InvocationType": "RequestResponse",
                "Payload": json.dumps(
                    build_test_event(
                        account="111122223333",
                        region=REGION,
                        event_id="id-1",
                        at=NOW,
                        caller_arn="arn:aws:sts::111122223333:assumed-role/Sec/jane",
                    )
                ).encode(),
            },
        )
        sent = send_test(
            client,
            "rg-responder",
            account="111122223333",
            region=REGION,
            caller_arn="arn:aws:sts::111122223333:assumed-role/Sec/jane",
            now=NOW,
            new_id=lambda: "id-1",
        )
    assert is_test_event(sent.event)
    assert sent.event["source"] == TEST_SOURCE
    assert (sent.status_code, sent.summary, sent.function_error) == (200, answer, None)


def test_the_responder_publishes_a_test_alert_and_touches_nothing_else() -> None:
    """The deployed code path, through the local runner: TEST subject and text, no restart
    even with auto-restart on, no recorder read."""
    event = build_test_event(
        account="111122223333",
        region=REGION,
        event_id="7e57-0001",
        at=NOW,
        caller_arn="arn:aws:sts::111122223333:assumed-role/Sec/jane",
    )
    result = invoke(event, options=LocalOptions(auto_restart=True))
    assert result["outcome"] == "alerted"
    assert result["remediation"] is None
    (request,) = result["published"]
    assert request["Subject"].startswith("TEST ")
    message = json.loads(request["Message"])
    assert message["email"].startswith("TEST ALERT")
    assert json.loads(message["https"])["content"]["title"].split(" ", 2)[1] == "TEST"
    document = json.loads(sns_delivers(message, "sqs"))
    assert document["recorder_guard"]["test"] is True
    assert "test" in document["tags"]
    assert document["message"].startswith("TEST: ")
    # twice with the same id: still published (no idempotency record for a test)
    assert invoke(event)["published"]


def test_the_sample_test_event_is_what_doctor_sends() -> None:
    sample = load_json(ROOT / "events" / "doctor" / "send_test.json")
    rebuilt = build_test_event(
        account=sample["account"],
        region=sample["region"],
        event_id=sample["id"],
        at=datetime.fromisoformat(sample["time"].replace("Z", "+00:00")),
        caller_arn=sample["detail"]["userIdentity"]["arn"],
    )
    assert sample == rebuilt


def test_reader_makes_one_client_per_service_and_region() -> None:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION)
    reader = Reader(session)
    assert reader.client("sqs", REGION) is reader.client("sqs", REGION)
    assert reader.client("sqs", "eu-west-1") is not reader.client("sqs", REGION)
    with contextlib.suppress(Exception):
        read_stack(reader.client("cloudformation", REGION), "x", REGION)
