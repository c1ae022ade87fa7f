"""Organization-wide deployment: member accounts forward to a central bus that admits only
the organization, and the central responder reads and restarts member recorders through the
member role. moto plays several accounts (assume_role into another account id)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from recorder_guard import app
from recorder_guard.aws.doctor import MEMBER_DOCTOR_PERMISSIONS
from recorder_guard.local import LocalContext, create_state_table
from tests.support import (
    FORWARDER,
    fake_aws_credentials,
    load_template,
    member_session,
    sample_events,
    topic_with_queue,
)

REGION = "us-east-1"
CENTRAL = "123456789012"  # moto's own account; MOTO_ACCOUNT_ID would override assumed roles
MEMBER = "444455556666"
MEMBER_ROLE = "recorder-guard-member"
ORG = "o-a1b2c3d4e5"


def statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Effect" in node and ("Action" in node or "NotAction" in node):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(resource)
    return found


def test_the_central_bus_admits_only_the_organization() -> None:
    resources = load_template()["Resources"]
    bus_policy = resources["CentralEventBusPolicy"]
    assert bus_policy["Condition"] == "IsCentral"
    statement = bus_policy["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == {"Fn::GetAtt": ["CentralEventBus", "Arn"]}
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    }
    for logical_id in (
        "StoppedRecorderRule",
        "ConfigResourceDeletionRule",
        "RecordingNarrowedRule",
    ):
        bus = resources[logical_id]["Properties"]["EventBusName"]
        assert bus == {"Fn::If": ["IsCentral", {"Ref": "CentralEventBus"}, "default"]}


def test_no_wildcard_principal_without_the_organization_condition() -> None:
    for template in (load_template(), load_template(FORWARDER)):
        for resource in template["Resources"].values():
            for statement in statements(resource):
                principal = statement.get("Principal")
                wildcard = principal == "*" or (
                    isinstance(principal, dict) and "*" in principal.values()
                )
                if wildcard and statement["Effect"] == "Allow":
                    assert "aws:PrincipalOrgID" in json.dumps(statement.get("Condition", {})), (
                        statement
                    )


def test_the_responder_assumes_only_member_roles_inside_the_organization() -> None:
    (policy,) = load_template()["Resources"]["ResponderFunction"]["Properties"]["Policies"]
    (assume,) = [
        s["Fn::If"][1]
        for s in policy["Statement"]
        if "Fn::If" in s and s["Fn::If"][0] == "IsCentral"
    ]
    assert assume["Action"] == "sts:AssumeRole"
    assert assume["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}}
    assert load_template()["Rules"]["CentralModeNeedsAnOrganization"]


def test_the_member_role_trusts_exactly_the_responder_and_restarts_only_when_allowed() -> None:
    forwarder = load_template(FORWARDER)
    role = forwarder["Resources"]["MemberRole"]
    assert role["Condition"] == "CreatesMemberRole"
    trust, doctor = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert doctor["Fn::If"][0] == "TrustsDoctor"
    assert doctor["Fn::If"][1]["Principal"] == {"AWS": {"Ref": "DoctorPrincipalArn"}}
    responder = {"Ref": "ResponderRoleArn"}
    both = [responder, {"Ref": "BackstopRoleArn"}]
    assert trust["Principal"] == {"AWS": {"Fn::If": ["TrustsBackstop", both, responder]}}
    (policy,) = role["Properties"]["Policies"]
    plain = [s for s in policy["PolicyDocument"]["Statement"] if "Fn::If" not in s]
    assert {
        a for s in plain for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    } == {
        "config:DescribeConfigurationRecorderStatus",
        "config:DescribeConfigurationRecorders",
        "config:DescribeDeliveryChannels",
        "cloudtrail:LookupEvents",
        "iam:ListAccountAliases",
    }
    reads, restart, findings = [
        s["Fn::If"] for s in policy["PolicyDocument"]["Statement"] if "Fn::If" in s
    ]
    assert reads[0] == "TrustsDoctor"
    granted = set(reads[1]["Action"]) | {
        a for s in plain for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert set(MEMBER_DOCTOR_PERMISSIONS) <= granted
    assert restart[0] == "AllowsRestart"
    assert restart[1]["Action"] == "config:StartConfigurationRecorder"
    assert findings[0] == "ImportsFindings"  # test_outputs.py holds its statement
    assert forwarder["Conditions"]["CreatesMemberRole"]["Fn::And"][1] == {
        "Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "MemberRoleRegion"}]
    }
    forward_role = forwarder["Resources"]["ForwardRole"]["Properties"]
    (put,) = forward_role["Policies"][0]["PolicyDocument"]["Statement"]
    assert put == {
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": {"Ref": "CentralEventBusArn"},
    }


@dataclass
class Org:
    central_events: Any
    member: boto3.Session
    inbox: Any
    inbox_url: str
    alerts_url: str


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    fake_aws_credentials(monkeypatch, REGION)
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        bus = events.create_event_bus(Name="recorder-guard-central")["EventBusArn"]
        inbox_url = sqs.create_queue(QueueName="central-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])
        central_pattern = load_template()["Resources"]["StoppedRecorderRule"]["Properties"][
            "EventPattern"
        ]
        events.put_rule(
            Name="stopped",
            EventBusName="recorder-guard-central",
            EventPattern=json.dumps(central_pattern),
        )
        events.put_targets(
            Rule="stopped",
            EventBusName="recorder-guard-central",
            Targets=[{"Id": "inbox", "Arn": inbox_arn["Attributes"]["QueueArn"]}],
        )
        member = member_session(MEMBER, MEMBER_ROLE, REGION)
        forward_pattern = load_template(FORWARDER)["Resources"]["StoppedRecorderForwardRule"][
            "Properties"
        ]["EventPattern"]
        member_events = member.client("events")
        member_events.put_rule(Name="forward", EventPattern=json.dumps(forward_pattern))
        member_events.put_targets(
            Rule="forward",
            Targets=[
                {"Id": "central", "Arn": bus, "RoleArn": f"arn:aws:iam::{MEMBER}:role/forward"}
            ],
        )
        config = member.client("config")
        config.put_configuration_recorder(
            ConfigurationRecorder={
                "name": "default",
                "roleARN": f"arn:aws:iam::{MEMBER}:role/config",
            }
        )
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "b"})
        member.client("iam").create_account_alias(AccountAlias="payments-prod")
        topic, alerts_url = topic_with_queue(REGION, queue="alerts")
        create_state_table(boto3.client("dynamodb", region_name=REGION), "state")
        for name, value in {
            "ALERT_TOPIC_ARN": topic,
            "STATE_TABLE_NAME": "state",
            "MEMBER_ROLE_NAME": MEMBER_ROLE,
        }.items():
            monkeypatch.setenv(name, value)
        app.runtime.cache_clear()
        yield Org(events, member, sqs, inbox_url, alerts_url)
        app.runtime.cache_clear()


def member_stop_event() -> dict[str, Any]:
    """The stop as CloudTrail records it in the member account."""
    event = json.loads(json.dumps(sample_events()["stop_recorder_assumed_role.json"]))
    detail = event["detail"]
    detail["recipientAccountId"] = MEMBER
    identity = detail["userIdentity"]
    identity["accountId"] = MEMBER
    identity["arn"] = f"arn:aws:sts::{MEMBER}:assumed-role/PlatformAdmin/jane.doe"
    identity["sessionContext"]["sessionIssuer"]["arn"] = f"arn:aws:iam::{MEMBER}:role/PlatformAdmin"
    identity["sessionContext"]["sessionIssuer"]["accountId"] = MEMBER
    return event


def forwarded_to_central(org: Org) -> dict[str, Any]:
    event = member_stop_event()
    org.member.client("events").put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
            }
        ]
    )
    (message,) = org.inbox.receive_message(QueueUrl=org.inbox_url)["Messages"]
    return json.loads(message["Body"])


def alerts(org: Org) -> list[dict[str, Any]]:
    """The ECS alerts an SQS subscriber of the central topic received."""
    messages = org.inbox.receive_message(QueueUrl=org.alerts_url, MaxNumberOfMessages=10)
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages.get("Messages", [])]


def test_a_member_stop_reaches_the_central_bus_and_alerts_with_the_member_account(org: Org) -> None:
    delivered = forwarded_to_central(org)
    assert delivered["detail"]["recipientAccountId"] == MEMBER
    summary = app.handler(delivered, LocalContext())
    assert summary["outcome"] == "alerted"
    assert summary["recorder_state"] == "still stopped"  # read in the member account
    (document,) = alerts(org)
    assert document["cloud"]["account"] == {"id": MEMBER, "name": "payments-prod"}


def test_cross_account_restart_assumes_the_member_role(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTO_RESTART", "true")
    app.runtime.cache_clear()
    summary = app.handler(forwarded_to_central(org), LocalContext())
    assert summary["remediation"]["outcome"] == "restarted"
    status = org.member.client("config").describe_configuration_recorder_status()
    assert status["ConfigurationRecordersStatus"][0]["recording"] is True
    assert (
        boto3.client("config", region_name=REGION).describe_configuration_recorder_status()[
            "ConfigurationRecordersStatus"
        ]
        == []
    )  # nothing happened in the central account


def test_single_account_mode_does_not_reach_into_other_accounts(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBER_ROLE_NAME", "")
    app.runtime.cache_clear()
    summary = app.handler(member_stop_event(), LocalContext())
    assert summary["outcome"] == "alerted"
    assert summary["recorder_state"].startswith(f"unknown (event from {MEMBER}/{REGION}")


def test_a_members_finding_is_imported_in_the_member_account_through_its_role(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default product only the account a finding is about may import it: the
    central responder imports through the member role, into the member's Security Hub."""
    monkeypatch.setenv("SECURITY_HUB_FINDINGS", "true")
    app.runtime.cache_clear()
    summary = app.handler(forwarded_to_central(org), LocalContext())
    assert summary["security_hub"] == "imported"
    (finding,) = org.member.client("securityhub").get_findings()["Findings"]
    assert finding["AwsAccountId"] == MEMBER
    assert (
        finding["ProductArn"] == f"arn:aws:securityhub:{REGION}:{MEMBER}:product/{MEMBER}/default"
    )
    central = boto3.client("securityhub", region_name=REGION).get_findings()["Findings"]
    assert central == []  # nothing imported in the central account


def test_single_account_mode_imports_no_other_accounts_finding(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBER_ROLE_NAME", "")
    monkeypatch.setenv("SECURITY_HUB_FINDINGS", "true")
    app.runtime.cache_clear()
    summary = app.handler(member_stop_event(), LocalContext())
    assert (summary["outcome"], summary["security_hub"]) == ("alerted", "failed")
    assert boto3.client("securityhub", region_name=REGION).get_findings()["Findings"] == []
