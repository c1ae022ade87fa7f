"""template.yaml's conditions evaluated per configuration: which permissions a deployment
with given parameter values really grants, rule targets' retries and dead letters, the
environment's references. (The linters and `sam build` run in test_stack.py.)

The template is read with `tests.support.load_template` (a SafeLoader that turns the short-form
tags !Ref, !GetAtt, !Sub, !If, ... into their long JSON form), the one YAML loader the tests
share; `template_resource` here is what test_event_pattern.py reads the rule's pattern with.
Conditions are evaluated for given parameter values, so IAM is checked per configuration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from tests.support import ROOT, load_template

FUNCTION = "ResponderFunction"
# The stack id's first UUID block: differs for every stack created, even under the same name.
STACK_RUN = {
    "Fn::Select": [
        0,
        {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]},
    ]
}
SETTINGS = ROOT / "src" / "recorder_guard" / "settings.py"
PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::URLSuffix",
    "AWS::NotificationARNs",
}


def template_resource(logical_id: str) -> dict[str, Any]:
    """One resource of template.yaml, intrinsic functions in long form."""
    resources: dict[str, Any] = load_template()["Resources"]
    assert logical_id in resources, f"template.yaml has no resource {logical_id}"
    return resources[logical_id]


# --- conditions and policies as data -------------------------------------------------------


def condition(name: str, parameters: Mapping[str, str] | None = None) -> bool:
    """Evaluate a template Condition with parameter defaults overridden by `parameters`."""
    template = load_template()
    values = {key: str(p.get("Default", "")) for key, p in template["Parameters"].items()}
    values.update(parameters or {})

    def value(node: Any) -> Any:
        if isinstance(node, list):
            return [value(item) for item in node]
        if not isinstance(node, dict):
            return node if isinstance(node, str) else str(node).lower()
        ((function, arguments),) = node.items()
        assert function in functions, f"unsupported in a condition: {function}"
        return functions[function](arguments)

    functions: dict[str, Callable[[Any], Any]] = {
        "Ref": lambda name: values[name],
        "Condition": lambda name: value(template["Conditions"][name]),
        "Fn::Equals": lambda args: value(args[0]) == value(args[1]),
        "Fn::Not": lambda args: not value(args[0]),
        "Fn::And": lambda args: all(value(a) for a in args),
        "Fn::Or": lambda args: any(value(a) for a in args),
        "Fn::Join": lambda args: args[0].join(value(args[1])),
        "Fn::Split": lambda args: value(args[1]).split(args[0]),
        "Fn::Select": lambda args: value(args[1])[int(args[0])],
    }
    return bool(value(template["Conditions"][name]))


def function_properties() -> dict[str, Any]:
    return template_resource(FUNCTION)["Properties"]


def policy_statements() -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(condition or None, statement) for every statement of the function's inline policies;
    a statement under `Fn::If` is yielded with its condition (the AWS::NoValue branch dropped)."""
    for policy in function_properties()["Policies"]:
        assert isinstance(policy, dict), f"not an inline policy: {policy!r}"
        for statement in policy["Statement"]:
            if "Fn::If" in statement:
                name, when_true, when_false = statement["Fn::If"]
                for branch in (when_true, when_false):
                    if branch != {"Ref": "AWS::NoValue"}:
                        yield name, branch
            else:
                yield None, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granted(parameters: Mapping[str, str]) -> set[str]:
    """The actions the function may call with these parameter values."""
    return {
        action
        for name, statement in policy_statements()
        if name is None or condition(name, parameters)
        for action in as_list(statement["Action"])
    }


def refs(node: Any) -> Iterator[str]:
    """Every name a `Ref` (or `${Name}` in a `Fn::Sub`) inside `node` points at."""
    if isinstance(node, list):
        for item in node:
            yield from refs(item)
    elif isinstance(node, dict):
        for key, item in node.items():
            if key == "Ref":
                yield item
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                yield from re.findall(r"\$\{([\w:]+)\}", text)
                if isinstance(item, list):
                    yield from refs(item[1:])
            else:
                yield from refs(item)


def points_at(node: Any) -> str:
    """The logical id a `Ref` or `Fn::GetAtt [id, Arn]` names."""
    if "Ref" in node:
        return str(node["Ref"])
    logical_id, attribute = node["Fn::GetAtt"]
    assert attribute == "Arn", node
    return str(logical_id)


# --- external tools -------------------------------------------------------------------------


# --- the template as data -------------------------------------------------------------------


def test_recorder_status_is_read_only_when_a_feature_needs_it() -> None:
    describe = "config:DescribeConfigurationRecorderStatus"
    conditions = {name for name, s in policy_statements() if describe in as_list(s["Action"])}
    assert conditions, f"{describe} is never granted"
    assert None not in conditions, f"{describe} must sit inside an Fn::If"
    # ReadsRecorderStatus: CheckRecorderStatus or AutoRestart (a restart is verified by a read).
    assert conditions in ({"ChecksRecorderStatus"}, {"ReadsRecorderStatus"}), conditions
    for check in ("true", "false"):
        for restart in ("true", "false"):
            parameters = {"CheckRecorderStatus": check, "AutoRestart": restart}
            expected = check == "true" or (
                conditions == {"ReadsRecorderStatus"} and restart == "true"
            )
            assert (describe in granted(parameters)) is expected, parameters
    assert condition("ChecksRecorderStatus")  # on by default
    assert not condition("ChecksRecorderStatus", {"CheckRecorderStatus": "false"})


def test_environment_references_exist() -> None:
    template = load_template()
    variables = function_properties()["Environment"]["Variables"]
    for name, value in variables.items():
        for target in refs(value):
            assert (
                target in template["Parameters"]
                or target in template["Resources"]
                or target in PSEUDO_PARAMETERS
            ), f"{name} refers to {target}, which the template does not define"
        if isinstance(value, dict) and "Fn::If" in value:
            assert value["Fn::If"][0] in template["Conditions"], name
    referenced = {t for v in variables.values() for t in refs(v)}
    assert {"CheckRecorderStatus", "AutoRestart", "AlertTopic"} <= referenced


def test_log_group_has_retention_and_is_the_functions() -> None:
    properties = template_resource("ResponderLogGroup")["Properties"]
    assert "RetentionInDays" in properties
    name, variables = properties["LogGroupName"]["Fn::Sub"]
    assert name == "/aws/lambda/${AWS::StackName}-responder-${Run}"
    assert variables == {"Run": STACK_RUN}
    logging = function_properties()["LoggingConfig"]
    assert logging["LogGroup"] == {"Ref": "ResponderLogGroup"}


def test_rule_targets_retry_then_dead_letter() -> None:
    rules = {
        logical_id: resource
        for logical_id, resource in load_template()["Resources"].items()
        if resource["Type"] == "AWS::Events::Rule"
    }
    assert "StoppedRecorderRule" in rules
    queue_policies = [
        r for r in load_template()["Resources"].values() if r["Type"] == "AWS::SQS::QueuePolicy"
    ]
    for logical_id, rule in rules.items():
        targets = rule["Properties"]["Targets"]
        assert targets, logical_id
        for target in targets:
            retry = target["RetryPolicy"]
            assert 0 <= retry["MaximumRetryAttempts"] <= 185, logical_id
            assert 60 <= retry["MaximumEventAgeInSeconds"] <= 86400, logical_id
            queue = points_at(target["DeadLetterConfig"]["Arn"])
            assert template_resource(queue)["Type"] == "AWS::SQS::Queue", logical_id
            # EventBridge may only write to the dead-letter queue if its policy admits the rule.
            admitted = [
                p
                for p in queue_policies
                if {"Ref": queue} in p["Properties"]["Queues"]
                and logical_id in str(p["Properties"]["PolicyDocument"])
            ]
            assert admitted, f"no queue policy lets {logical_id} dead-letter into {queue}"


@pytest.mark.parametrize(
    ("emails", "slots"),
    [
        ("", 0),
        ("a@example.com", 1),
        ("a@example.com,b@example.org", 2),
        (",".join(["x@y.io"] * 5), 5),
    ],
)
def test_one_email_subscription_per_address(emails: str, slots: int) -> None:
    enabled = [
        condition(f"HasNotificationEmail{n}", {"NotificationEmail": emails}) for n in range(1, 6)
    ]
    assert enabled == [n <= slots for n in range(1, 6)]


@pytest.mark.parametrize(
    ("workspace", "channel", "chatbot"),
    [("", "", False), ("T0123", "", False), ("T0123", "C0456", True)],
)
def test_chatbot_only_with_workspace_and_channel(
    workspace: str, channel: str, chatbot: bool
) -> None:
    parameters = {"SlackWorkspaceId": workspace, "SlackChannelId": channel}
    assert condition("HasChatbot", parameters) is chatbot


def test_chatbot_channel_is_read_only_and_subscribed() -> None:
    channel = template_resource("ChatbotSlackChannel")
    assert channel["Condition"] == "HasChatbot"
    properties = channel["Properties"]
    assert properties["SnsTopicArns"] == [{"Ref": "AlertTopic"}, {"Ref": "OperatorTopic"}]
    assert properties["GuardrailPolicies"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"}
    ]
    role = template_resource("ChatbotChannelRole")
    assert "Policies" not in role["Properties"]
    assert "ManagedPolicyArns" not in role["Properties"]


def test_slack_forwarder_reads_only_its_secret() -> None:
    forwarder = template_resource("SlackForwarderFunction")
    assert forwarder["Condition"] == "HasSlackWebhook"
    properties = forwarder["Properties"]
    assert properties["Events"]["Alerts"] == {
        "Type": "SNS",
        "Properties": {"Topic": {"Ref": "AlertTopic"}},
    }
    (policy,) = properties["Policies"]
    secret = next(s for s in policy["Statement"] if s["Sid"] == "ReadWebhookSecret")
    assert secret["Action"] == "secretsmanager:GetSecretValue"
    assert secret["Resource"] == {"Ref": "SlackWebhookSecretArn"}
    on_failure = properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    # Its own dead-letter queue: redrive sends a queue's records to one function (17.3).
    assert on_failure["Destination"] == {"Fn::GetAtt": ["SlackDeadLetterQueue", "Arn"]}
    assert template_resource("SlackDeadLetterQueue")["Condition"] == "HasSlackWebhook"
    assert condition("HasSlackWebhook") is False
