"""The rule that watches recorder-guard itself (issue 17.6): what it alerts on, what it leaves
alone, and the facts the catalogue states about it. Which resources are ours is decided by
the EventBridge rule (test_catalogue.py, test_self_protection.py); the handler's conditions
hold the rest."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from recorder_guard.domain.alert import LOSSES, OWN_RESOURCE_KINDS, build_alert
from recorder_guard.domain.cloudtrail import parse_event
from recorder_guard.domain.detection import Detection, Ignored, detect
from recorder_guard.domain.rules import load_rules
from tests.conftest import DETECTED_AT
from tests.support import ROOT, sample_events

KEY = "recorder_guard_tampering"
BASE = sample_events()["disable_rule_recorder_guard.json"]


def tampering_rule() -> Any:
    (rule,) = [rule for rule in load_rules() if rule.key == KEY]
    return rule


def event(source: str, name: str, parameters: dict[str, Any], **detail: Any) -> dict[str, Any]:
    changed = copy.deepcopy(BASE)
    changed["source"] = "aws." + source.split(".", maxsplit=1)[0]
    changed["detail"].update(
        {"eventSource": source, "eventName": name, "requestParameters": parameters, **detail}
    )
    return changed


def verdict(changed: dict[str, Any]) -> Detection | Ignored:
    return detect(parse_event(changed), load_rules())


@pytest.mark.parametrize(
    ("source", "name", "parameters", "resource"),
    [
        ("events.amazonaws.com", "DisableRule", {"name": "rg-Rule-1"}, "rg-Rule-1"),
        ("events.amazonaws.com", "DeleteRule", {"name": "rg-Rule-1", "force": True}, "rg-Rule-1"),
        ("events.amazonaws.com", "RemoveTargets", {"rule": "rg-Rule-1", "ids": ["x"]}, "rg-Rule-1"),
        ("lambda.amazonaws.com", "DeleteFunction20150331", {"functionName": "rg-fn"}, "rg-fn"),
        (
            "lambda.amazonaws.com",
            "PutFunctionConcurrency20171031",
            {"functionName": "rg-fn", "reservedConcurrentExecutions": 0},
            "rg-fn",
        ),
        ("scheduler.amazonaws.com", "DeleteSchedule", {"name": "rg-sched"}, "rg-sched"),
        ("iam.amazonaws.com", "DeleteRole", {"roleName": "recorder-guard-member"}, None),
        (
            "iam.amazonaws.com",
            "PutRolePolicy",
            {"roleName": "recorder-guard-member", "policyName": "p"},
            None,
        ),
    ],
)
def test_tampering_alerts(
    source: str, name: str, parameters: dict[str, Any], resource: str | None
) -> None:
    found = verdict(event(source, name, parameters))
    assert isinstance(found, Detection), found
    assert found.rule.key == KEY
    alert = build_alert(found, detected_at=DETECTED_AT, recorder_status=None, remediation=None)
    assert str(resource or parameters["roleName"]) in alert.title


@pytest.mark.parametrize(
    ("source", "name", "parameters", "extra"),
    [
        # A reservation that still lets the function run is a normal setting, not tampering.
        (
            "lambda.amazonaws.com",
            "PutFunctionConcurrency20171031",
            {"functionName": "rg-fn", "reservedConcurrentExecutions": 5},
            {},
        ),
        # A stack update: CloudFormation calls on the deployer's behalf.
        (
            "events.amazonaws.com",
            "PutRule",
            {"name": "rg-Rule-1"},
            {"sourceIPAddress": "cloudformation.amazonaws.com"},
        ),
        (
            "events.amazonaws.com",
            "DisableRule",
            {"name": "rg-Rule-1"},
            {"errorCode": "AccessDenied"},
        ),
        ("events.amazonaws.com", "EnableRule", {"name": "rg-Rule-1"}, {}),
    ],
)
def test_what_is_not_tampering(
    source: str, name: str, parameters: dict[str, Any], extra: dict[str, Any]
) -> None:
    changed = event(source, name, parameters)
    if extra.get("sourceIPAddress") == "cloudformation.amazonaws.com":
        changed["detail"]["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com"
    changed["detail"].update(extra)
    assert isinstance(verdict(changed), Ignored)


def test_the_rule_is_ours_and_says_so() -> None:
    rule = tampering_rule()
    raw = json.loads(
        (ROOT / "src/recorder_guard/rules/recorder_guard_tampering.json").read_text("utf-8")
    )
    assert rule.ruleset == "recorder-guard"
    assert rule.author == ("recorder-guard",)
    assert "not an Elastic rule" in raw["source"]
    assert (rule.severity, rule.risk_score) == ("high", 73)
    assert not rule.restartable
    assert not rule.concerns_config  # the recorder's status is not read for these alerts
    pattern = rule.event_pattern()
    assert pattern["source"] == ["aws.events", "aws.iam", "aws.lambda", "aws.scheduler"]
    # CloudTrail names Lambda's versioned operations with a date suffix; both spellings.
    names = pattern["detail"]["eventName"]
    assert {"DeleteFunction", "DeleteFunction20150331"} <= set(names)
    assert {"PutFunctionConcurrency", "PutFunctionConcurrency20171031"} <= set(names)


# CloudTrail event name -> the IAM action that makes the call.
IAM_ACTION = {
    "DisableRule": "events:DisableRule",
    "DeleteRule": "events:DeleteRule",
    "RemoveTargets": "events:RemoveTargets",
    "PutRule": "events:PutRule",
    "PutTargets": "events:PutTargets",
    "DeleteFunction": "lambda:DeleteFunction",
    "DeleteFunction20150331": "lambda:DeleteFunction",
    "PutFunctionConcurrency": "lambda:PutFunctionConcurrency",
    "PutFunctionConcurrency20171031": "lambda:PutFunctionConcurrency",
    "DeleteSchedule": "scheduler:DeleteSchedule",
    "UpdateSchedule": "scheduler:UpdateSchedule",
    "DeleteRole": "iam:DeleteRole",
    "UpdateAssumeRolePolicy": "iam:UpdateAssumeRolePolicy",
    "PutRolePolicy": "iam:PutRolePolicy",
    "DeleteRolePolicy": "iam:DeleteRolePolicy",
    "AttachRolePolicy": "iam:AttachRolePolicy",
    "DetachRolePolicy": "iam:DetachRolePolicy",
    "PutRolePermissionsBoundary": "iam:PutRolePermissionsBoundary",
}


def test_the_example_scp_denies_what_the_rule_watches() -> None:
    """docs/examples/scp-protect-recorder-guard.json: valid JSON, a Deny for everyone but the
    deployment role, covering every API the rule alerts on (IAM action names have no date
    suffix)."""
    scp = json.loads((ROOT / "docs/examples/scp-protect-recorder-guard.json").read_text("utf-8"))
    denied = set()
    for statement in scp["Statement"]:
        assert statement["Effect"] == "Deny"
        assert "ArnNotLike" in statement["Condition"]
        assert "aws:PrincipalARN" in statement["Condition"]["ArnNotLike"]
        denied |= set(statement["Action"])
    pattern = tampering_rule().event_pattern()["detail"]
    assert set(pattern["eventName"]) == set(IAM_ACTION)  # a new watched call needs its action
    assert set(IAM_ACTION.values()) <= denied, set(IAM_ACTION.values()) - denied


def test_every_watched_action_names_what_it_hit() -> None:
    """Each action the rule watches has a resource kind for the alert's title and loss line
    (domain/alert.py), and no kind is kept for an action the rule no longer watches."""
    watched = set(tampering_rule().event_pattern()["detail"]["eventName"])
    assert watched == set(OWN_RESOURCE_KINDS)
    assert watched <= set(LOSSES)


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("UpdateAssumeRolePolicy", {"roleName": "recorder-guard-member", "policyDocument": "{}"}),
        ("DeleteRolePolicy", {"roleName": "recorder-guard-member", "policyName": "reads"}),
        (
            "AttachRolePolicy",
            {"roleName": "recorder-guard-member", "policyArn": "arn:aws:iam::aws:policy/X"},
        ),
        (
            "DetachRolePolicy",
            {"roleName": "recorder-guard-member", "policyArn": "arn:aws:iam::aws:policy/X"},
        ),
        (
            "PutRolePermissionsBoundary",
            {"roleName": "recorder-guard-member", "permissionsBoundary": "arn:aws:iam::1:policy/b"},
        ),
    ],
)
def test_every_change_to_the_member_role_alerts(name: str, parameters: dict[str, Any]) -> None:
    """Item 17.6: deleting OR changing the member role (its trust, its policies, a boundary
    that caps it) blinds the central responder in that account."""
    found = verdict(event("iam.amazonaws.com", name, parameters))
    assert isinstance(found, Detection), found
    alert = build_alert(found, detected_at=DETECTED_AT, recorder_status=None, remediation=None)
    assert "recorder-guard-member" in alert.title
    assert OWN_RESOURCE_KINDS[name] == "IAM role"


def test_a_new_boundary_gets_the_step_that_removes_it() -> None:
    found = verdict(
        event(
            "iam.amazonaws.com",
            "PutRolePermissionsBoundary",
            {"roleName": "recorder-guard-member", "permissionsBoundary": "arn:aws:iam::1:policy/b"},
        )
    )
    assert isinstance(found, Detection)
    alert = build_alert(found, detected_at=DETECTED_AT, recorder_status=None, remediation=None)
    commands = [step.command for step in alert.next_steps if step.command]
    assert "aws iam delete-role-permissions-boundary --role-name recorder-guard-member" in commands
    assert not any("enable-rule" in command for command in commands)


def test_removing_a_boundary_is_not_tampering() -> None:
    """DeleteRolePermissionsBoundary only widens what the role may do (our templates set no
    boundary), so it cannot blind recorder-guard: the example SCP denies it, the rule does not
    alert on it."""
    removed = event(
        "iam.amazonaws.com", "DeleteRolePermissionsBoundary", {"roleName": "recorder-guard-member"}
    )
    assert isinstance(verdict(removed), Ignored)
    scp = json.loads((ROOT / "docs/examples/scp-protect-recorder-guard.json").read_text("utf-8"))
    denied = {action for statement in scp["Statement"] for action in statement["Action"]}
    assert "iam:DeleteRolePermissionsBoundary" in denied
