"""The rule catalogue and template.yaml agree: one EventBridge rule per detection rule, each
with exactly the pattern the catalogue generates, switchable by EnabledRules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from recorder_guard.domain.rules import load_rules
from recorder_guard.settings import Settings, SettingsError
from tests.support import FORWARDER, TEMPLATE, load_template

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def eventbridge_rules(path: Path = TEMPLATE) -> dict[str, tuple[str, dict[str, Any]]]:
    """rule key -> (logical id, resource) for every AWS::Events::Rule in a template."""
    found = {}
    for logical_id, resource in load_template(path)["Resources"].items():
        key = resource.get("Metadata", {}).get("RecorderGuardRule")
        if resource["Type"] == "AWS::Events::Rule" and key:
            found[key] = (logical_id, resource)
    return found


def generic_part(pattern: dict[str, Any]) -> dict[str, Any]:
    """A pattern without its `$or` filter on our own resources' names (the tampering rule's
    addition, which only the template can know)."""
    return {**pattern, "detail": {k: v for k, v in pattern["detail"].items() if k != "$or"}}


@pytest.mark.parametrize("path", [TEMPLATE, FORWARDER], ids=["template", "forwarder"])
def test_one_eventbridge_rule_per_detection_rule(path: Path) -> None:
    assert set(eventbridge_rules(path)) == {rule.key for rule in load_rules()}


@pytest.mark.parametrize("path", [TEMPLATE, FORWARDER], ids=["template", "forwarder"])
@pytest.mark.parametrize("rule", load_rules(), ids=lambda rule: rule.key)
def test_template_pattern_is_the_generated_one(rule: Any, path: Path) -> None:
    _, resource = eventbridge_rules(path)[rule.key]
    pattern = resource["Properties"]["EventPattern"]
    assert generic_part(pattern) == rule.event_pattern()
    assert ("$or" in pattern["detail"]) is (rule.key == "recorder_guard_tampering")


def test_the_tampering_rule_names_every_own_rule_function_and_schedule() -> None:
    """Every other EventBridge rule of the stack, every function and the schedule appear in the
    tampering rule's resource filter (a new rule or function must be added there)."""
    resources = load_template()["Resources"]
    _, rule = eventbridge_rules()["recorder_guard_tampering"]
    names = str(rule["Properties"]["EventPattern"]["detail"]["$or"])
    for logical_id, resource in resources.items():
        if (
            resource["Type"] in ("AWS::Events::Rule", "AWS::Serverless::Function")
            and logical_id != "RecorderGuardTamperingRule"
        ):
            assert f"'{logical_id}'" in names, logical_id
    assert "'BackstopFunctionSchedule'" in names
    forwarder = load_template(FORWARDER)["Resources"]
    _, member_rule = eventbridge_rules(FORWARDER)["recorder_guard_tampering"]
    member_names = str(member_rule["Properties"]["EventPattern"]["detail"]["$or"])
    for logical_id, resource in forwarder.items():
        if (
            resource["Type"] == "AWS::Events::Rule"
            and logical_id != "RecorderGuardTamperingForwardRule"
        ):
            assert f"'{logical_id}'" in member_names, logical_id
    assert "'MemberRoleName'" in member_names


@pytest.mark.parametrize("rule", load_rules(), ids=lambda rule: rule.key)
def test_each_rule_is_switchable_and_wired(rule: Any) -> None:
    template = load_template()
    logical_id, resource = eventbridge_rules()[rule.key]
    condition = resource["Condition"]
    assert condition in template["Conditions"]
    assert f",{rule.key}," in str(template["Conditions"][condition])
    permission = template["Resources"][f"{logical_id}Permission"]
    assert permission["Condition"] == condition
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    (target,) = resource["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["ResponderFunction", "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert "RetryPolicy" in target
    alarm = template["Resources"][f"{logical_id}FailuresAlarm"]
    assert alarm["Condition"] == condition


def test_enabled_rules_parameter_accepts_exactly_the_catalogue() -> None:
    parameter = load_template()["Parameters"]["EnabledRules"]
    pattern = re.compile(parameter["AllowedPattern"])
    keys = [rule.key for rule in load_rules()]
    assert pattern.fullmatch("all")
    assert pattern.fullmatch(",".join(keys))
    for key in keys:
        assert pattern.fullmatch(key)
    assert not pattern.fullmatch("stopped_recorder,unknown_rule")
    assert not pattern.fullmatch("stopped_recorder, recording_narrowed")


def test_settings_reject_unknown_rules() -> None:
    env = {
        "ALERT_TOPIC_ARN": TOPIC,
        "IDEMPOTENCY": "false",
        "ENABLED_RULES": "stopped_recorder,nope",
    }
    with pytest.raises(SettingsError, match="ENABLED_RULES"):
        Settings.from_env(env)
    base = {"ALERT_TOPIC_ARN": TOPIC, "IDEMPOTENCY": "false"}
    assert Settings.from_env({**base, "ENABLED_RULES": "all"}).enabled_rules is None
    only = Settings.from_env({**base, "ENABLED_RULES": "stopped_recorder"})
    assert only.enabled_rules == ("stopped_recorder",)
