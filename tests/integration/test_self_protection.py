"""Issue 17 and 20 against the resolved template: parameters substituted, conditions
evaluated, `Fn::If` branches chosen and `AWS::NoValue` dropped, so each assertion holds for
what CloudFormation would create with those parameter values (five parameter sets), not for
the text. The linters run in test_stack.py; `make lint-policies` runs parliament."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests.integration.test_template_conditions import condition
from tests.support import FORWARDER, load_template

SECRET = "arn:aws:secretsmanager:us-east-1:111122223333:secret:slack-AbCdEf"
CENTRAL_BUS = "arn:aws:events:us-east-1:111122223333:event-bus/recorder-guard-central"
STACK = "arn:aws:cloudformation:us-east-1:111122223333:stack/recorder-guard/{run}"
PARAMETER_SETS = {
    "email": {"NotificationEmail": "sec@example.com"},
    "chatbot": {"SlackWorkspaceId": "T0123", "SlackChannelId": "C0456"},
    "webhook-only-rules": {
        "SlackWebhookSecretArn": SECRET,
        "OperatorEmail": "ops@example.com",
        "EnabledRules": "stopped_recorder",
        "BackstopSchedule": "",
    },
    "central": {
        "NotificationEmail": "sec@example.com",
        "DeploymentMode": "central",
        "OrganizationId": "o-abcdefghij",
        "AutoRestart": "true",
    },
    "no-reservation": {
        "NotificationEmail": "sec@example.com",
        "ResponderReservedConcurrency": "0",
    },
}
NO_VALUE = object()


def parameters(overrides: Mapping[str, str], template: dict[str, Any]) -> dict[str, str]:
    values = {k: str(p.get("Default", "")) for k, p in template["Parameters"].items()}
    return {**values, **overrides}


class Resolver:
    """Evaluates the intrinsic functions a template uses, for parameter values and a stack id;
    a `Ref`/`GetAtt` to a resource stays a readable token (`<Name>` / `<Name.Attr>`)."""

    def __init__(self, template: dict[str, Any], overrides: Mapping[str, str], run: str) -> None:
        self.template = template
        self.values = parameters(overrides, template)
        self.overrides = dict(overrides)
        self.pseudo = {
            "AWS::AccountId": "111122223333",
            "AWS::Region": "us-east-1",
            "AWS::Partition": "aws",
            "AWS::StackName": "recorder-guard",
            "AWS::StackId": STACK.format(run=run),
            "AWS::URLSuffix": "amazonaws.com",
        }

    def holds(self, name: str) -> bool:
        return condition_in(self.template, name, self.values, self.pseudo)

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.values:
            return self.values[name]
        return f"<{name}>"

    def __call__(self, node: Any) -> Any:  # noqa: PLR0911 - one branch per function
        if isinstance(node, list):
            return [v for v in (self(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, args),) = node.items()
            if key == "Ref":
                return self.ref(args)
            if key == "Fn::GetAtt":
                return f"<{args[0]}.{args[1]}>"
            if key == "Fn::If":
                return self(args[1] if self.holds(args[0]) else args[2])
            if key == "Fn::Sub":
                text, variables = (args, {}) if isinstance(args, str) else args
                local = {k: self(v) for k, v in variables.items()}

                def fill(match: re.Match[str]) -> str:
                    name = match.group(1)
                    return str(local[name] if name in local else self.ref(name))

                return re.sub(r"\$\{([\w:.]+)\}", fill, text)
            if key == "Fn::Select":
                items = self(args[1])
                if len(items) == 1 and str(items[0]).startswith("<"):
                    return items[0]  # a part of a resource's attribute: keep the token
                return items[int(self(args[0]))]
            if key == "Fn::Split":
                return str(self(args[1])).split(args[0])
            if key == "Fn::Join":
                return args[0].join(str(v) for v in self(args[1]))
            if key == "Fn::FindInMap":
                mapping, top, second = (self(a) for a in args)
                return self.template["Mappings"][mapping][str(top)][second]
        return {k: v for k, v in ((k, self(v)) for k, v in node.items()) if v is not NO_VALUE}

    def resources(self) -> dict[str, Any]:
        """The resources CloudFormation would create, resolved."""
        return {
            logical_id: {**resource, "Properties": self(resource.get("Properties", {}))}
            for logical_id, resource in self.template["Resources"].items()
            if "Condition" not in resource or self.holds(resource["Condition"])
        }


def evaluate(node: Any, template: dict[str, Any], ref: Callable[[str], Any]) -> Any:
    """The condition functions a template's Conditions and Rules use, `Ref` through `ref`."""

    def value(node: Any) -> Any:
        if isinstance(node, list):
            return [value(item) for item in node]
        if not isinstance(node, dict):
            return node
        ((function, args),) = node.items()
        if function == "Ref":
            return ref(args)
        if function == "Condition":
            return value(template["Conditions"][args])
        operations: dict[str, Callable[[], Any]] = {
            "Fn::Equals": lambda: value(args[0]) == value(args[1]),
            "Fn::Not": lambda: not value(args[0]),
            "Fn::And": lambda: all(value(a) for a in args),
            "Fn::Or": lambda: any(value(a) for a in args),
            "Fn::Join": lambda: args[0].join(value(args[1])),
            "Fn::Split": lambda: value(args[1]).split(args[0]),
            "Fn::Select": lambda: value(args[1])[int(args[0])],
        }
        return operations[function]()

    return value(node)


def condition_in(
    template: dict[str, Any], name: str, values: Mapping[str, str], pseudo: Mapping[str, str]
) -> bool:
    """A Condition of another template (the forwarder)."""
    condition = template["Conditions"][name]
    return bool(evaluate(condition, template, lambda ref: pseudo.get(ref, values.get(ref))))


def failing_rules(overrides: Mapping[str, str]) -> set[str]:
    """The template Rules whose assertions fail for these parameter values."""
    template = load_template()
    values = parameters(overrides, template)

    def value(node: Any) -> Any:
        return evaluate(node, template, values.__getitem__)

    failing = set()
    for name, rule in template["Rules"].items():
        if "RuleCondition" in rule and not value(rule["RuleCondition"]):
            continue
        if not all(value(assertion["Assert"]) for assertion in rule["Assertions"]):
            failing.add(name)
    return failing


@pytest.mark.parametrize("name", sorted(PARAMETER_SETS))
def test_the_resolver_evaluates_conditions_as_the_shared_evaluator(name: str) -> None:
    resolver = Resolver(load_template(), PARAMETER_SETS[name], "run")
    for condition_name in load_template()["Conditions"]:
        assert resolver.holds(condition_name) is condition(condition_name, PARAMETER_SETS[name])


# --- 17.1 / 20.2: somebody is always told ---------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "failing"),
    [
        ({}, {"SomebodyIsTold", "OperatorIsTold"}),  # the defaults: nobody would be told
        ({"NotificationEmail": "sec@example.com"}, set()),  # also the operator fallback
        ({"SlackWorkspaceId": "T0123", "SlackChannelId": "C0456"}, set()),
        ({"SlackWorkspaceId": "T0123"}, {"SomebodyIsTold", "OperatorIsTold"}),
        (
            {
                "SlackWebhookSecretArn": PARAMETER_SETS["webhook-only-rules"][
                    "SlackWebhookSecretArn"
                ]
            },
            {"OperatorIsTold"},
        ),
        ({"OperatorEmail": "ops@example.com"}, {"SomebodyIsTold"}),
        ({"AllowNoSubscriber": "true"}, set()),
    ],
)
def test_a_deployment_that_tells_no_one_is_refused(
    overrides: dict[str, str], failing: set[str]
) -> None:
    assert failing_rules(overrides) == failing


@pytest.mark.parametrize("name", sorted(PARAMETER_SETS))
def test_every_parameter_set_passes_the_rules(name: str) -> None:
    assert failing_rules(PARAMETER_SETS[name]) == set()


@pytest.mark.parametrize(
    ("overrides", "endpoint"),
    [
        ({"NotificationEmail": "a@example.com,b@example.com"}, "a@example.com"),
        (
            {"NotificationEmail": "a@example.com", "OperatorEmail": "ops@example.com"},
            "ops@example.com",
        ),
        ({"SlackWorkspaceId": "T0123", "SlackChannelId": "C0456"}, None),
    ],
)
def test_the_operator_topic_falls_back_to_the_alert_address(
    overrides: dict[str, str], endpoint: str | None
) -> None:
    resources = Resolver(load_template(), overrides, "run1").resources()
    subscription = resources.get("OperatorEmailSubscription")
    assert (subscription["Properties"]["Endpoint"] if subscription else None) == endpoint
    if endpoint is None:  # Chatbot carries operator alarms instead
        assert "<OperatorTopic>" in resources["ChatbotSlackChannel"]["Properties"]["SnsTopicArns"]


def test_the_guided_deploy_asks_who_is_told_first() -> None:
    template = load_template()
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert sorted(grouped) == sorted(template["Parameters"])  # every parameter, once
    assert list(template["Parameters"]) == grouped  # `sam deploy --guided` asks in this order
    assert groups[0]["Parameters"][0] == "NotificationEmail"
    labels = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterLabels"]
    for name, parameter in template["Parameters"].items():
        assert name in labels, name
        assert len(parameter["Description"]) >= 40, name  # says what it does, not just its name


# --- 17.2: EventBridge failures are alarmed ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(PARAMETER_SETS))
def test_every_eventbridge_rule_has_a_failure_alarm_to_the_operator(name: str) -> None:
    resources = Resolver(load_template(), PARAMETER_SETS[name], "run1").resources()
    central = PARAMETER_SETS[name].get("DeploymentMode") == "central"
    rules = [i for i, r in resources.items() if r["Type"] == "AWS::Events::Rule"]
    assert rules
    for rule in rules:
        alarm = resources[f"{rule}FailuresAlarm"]["Properties"]
        assert alarm["AlarmActions"] == ["<OperatorTopic>"]
        metrics = {
            m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"]["Metric"]
            for m in alarm["Metrics"]
            if "MetricStat" in m
        }
        assert set(metrics) == {"FailedInvocations", "InvocationsFailedToBeSentToDlq"}
        on_custom_bus = resources[rule]["Properties"]["EventBusName"] != "default"
        for metric in metrics.values():
            assert metric["Namespace"] == "AWS/Events"
            dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            # RuleName alone means the default bus; a custom bus adds EventBusName.
            assert ("EventBusName" in dimensions) is on_custom_bus
            if on_custom_bus:
                assert central
                assert dimensions["EventBusName"] == "recorder-guard-central"
            assert dimensions["RuleName"] == f"<{rule}.Arn>"  # resolved: the ARN's last part
        (expression,) = [m for m in alarm["Metrics"] if m.get("ReturnData")]
        assert expression["Expression"] == "FILL(failed, 0) + FILL(undeadlettered, 0)"


def test_rule_names_are_the_last_part_of_their_arns() -> None:
    """The alarm dimension: rule/NAME on the default bus, rule/BUS/NAME on the central bus."""
    arns = {
        "single": "arn:aws:events:us-east-1:111122223333:rule/rg-StoppedRecorderRule-X",
        "central": "arn:aws:events:us-east-1:111122223333:rule/recorder-guard-central/rg-Stop-X",
    }
    mapping = load_template()["Mappings"]["RuleArn"]
    for mode, arn in arns.items():
        assert arn.split("/")[mapping[mode]["NameIndex"]] == arn.split("/")[-1]


def test_eventbridge_gets_the_dead_letter_key_only_through_sqs_for_that_queue() -> None:
    for run in ("11111111-aaaa", "22222222-bbbb"):
        resources = Resolver(load_template(), PARAMETER_SETS["email"], run).resources()
        key = resources["AlertKey"]["Properties"]["KeyPolicy"]["Statement"]
        (grant,) = [s for s in key if s["Principal"] == {"Service": "events.amazonaws.com"}]
        text = str(grant)
        assert "aws:SourceAccount" not in text
        assert "aws:SourceArn" not in text
        queue_name = resources["DeadLetterQueue"]["Properties"]["QueueName"]
        assert grant["Condition"] == {
            "StringEquals": {
                "kms:ViaService": "sqs.us-east-1.amazonaws.com",
                "kms:EncryptionContext:aws:sqs:arn": (
                    f"arn:aws:sqs:us-east-1:111122223333:{queue_name}"
                ),
            }
        }
        assert set(grant["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}


def test_the_key_policy_says_what_it_does() -> None:
    """The account root administers the key; using it goes through SNS or SQS only."""
    statements = load_template()["Resources"]["AlertKey"]["Properties"]["KeyPolicy"]["Statement"]
    administration = next(s for s in statements if s.get("Sid") == "AccountAdministration")
    assert "kms:*" not in administration["Action"]
    assert not {"kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt"} & set(
        administration["Action"]
    )
    usage = next(s for s in statements if s.get("Sid") == "AccountPrincipalsViaSnsAndSqs")
    assert set(usage["Condition"]["StringEquals"]["kms:ViaService"][0]["Fn::Sub"].split(".")) >= {
        "sns"
    }


# --- 17.3 / 17.7 / 20.3: dead letters kept, and a redeploy that does not collide ------------------


RETAINED = {
    "DeadLetterQueue": "QueueName",
    "SlackDeadLetterQueue": "QueueName",
    "ResponderLogGroup": "LogGroupName",
    "BackstopLogGroup": "LogGroupName",
    "SlackForwarderLogGroup": "LogGroupName",
}


def test_evidence_is_retained_and_a_redeploy_under_the_same_name_does_not_collide() -> None:
    overrides = {**PARAMETER_SETS["webhook-only-rules"], "BackstopSchedule": "rate(15 minutes)"}
    first = Resolver(load_template(), overrides, "0f1e2d3c-aaaa-4bbb-8ccc-000000000001").resources()
    again = Resolver(load_template(), overrides, "9a8b7c6d-dddd-4eee-8fff-000000000002").resources()
    for logical_id, name_property in RETAINED.items():
        resource = load_template()["Resources"][logical_id]
        assert resource["DeletionPolicy"] == "Retain", logical_id
        assert resource["UpdateReplacePolicy"] == "Retain", logical_id
        before = first[logical_id]["Properties"][name_property]
        after = again[logical_id]["Properties"][name_property]
        assert before != after, logical_id  # the retained one stays; the new one is beside it
        assert "recorder-guard" in before
    assert first["ResponderLogGroup"]["Properties"]["LogGroupName"] == (
        "/aws/lambda/recorder-guard-responder-0f1e2d3c"
    )
    assert len(first["SlackDeadLetterQueue"]["Properties"]["QueueName"]) <= 80  # SQS limit
    forwarder_queue = load_template(FORWARDER)["Resources"]["ForwardDeadLetterQueue"]
    assert forwarder_queue["DeletionPolicy"] == "Retain"
    assert "QueueName" not in forwarder_queue["Properties"]  # generated: unique per instance


def test_no_other_fixed_name_outlives_the_stack() -> None:
    """Only resources CloudFormation deletes may have a fixed name."""
    for logical_id, resource in load_template()["Resources"].items():
        if resource.get("DeletionPolicy") == "Retain":
            assert logical_id in RETAINED, logical_id


# --- 17.6 / 17.7: the detector watches itself ------------------------------------------------


def test_functions_have_reserved_concurrency_unless_switched_off() -> None:
    resolved = Resolver(load_template(), PARAMETER_SETS["email"], "r").resources()
    assert resolved["ResponderFunction"]["Properties"]["ReservedConcurrentExecutions"] == "5"
    assert resolved["BackstopFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1
    off = Resolver(load_template(), PARAMETER_SETS["no-reservation"], "r").resources()
    assert "ReservedConcurrentExecutions" not in off["ResponderFunction"]["Properties"]
    assert "ReservedConcurrentExecutions" not in off["BackstopFunction"]["Properties"]


def test_the_backstop_heartbeat_breaches_after_two_silent_intervals() -> None:
    template = load_template()
    allowed = template["Parameters"]["BackstopIntervalMinutes"]["AllowedValues"]
    for minutes in allowed:
        overrides = {**PARAMETER_SETS["email"], "BackstopIntervalMinutes": str(minutes)}
        alarm = Resolver(template, overrides, "r").resources()["BackstopHeartbeatAlarm"]
        properties = alarm["Properties"]
        assert properties["Period"] == 60 * minutes
        assert properties["EvaluationPeriods"] == 2
        assert properties["EvaluationPeriods"] * properties["Period"] <= 86400
        assert properties["TreatMissingData"] == "breaching"
        assert (properties["MetricName"], properties["ComparisonOperator"]) == (
            "Invocations",
            "LessThanThreshold",
        )
        assert properties["AlarmActions"] == ["<OperatorTopic>"]
    assert alarm["Condition"] == "HasBackstop"


def test_member_alarms_reach_the_central_operator_topic() -> None:
    forwarder = load_template(FORWARDER)
    central = Resolver(load_template(), PARAMETER_SETS["central"], "r").resources()
    prefix = central["MemberAlarmsRule"]["Properties"]["EventPattern"]["detail"]["alarmName"][0]
    member = Resolver(
        forwarder,
        {"CentralEventBusArn": CENTRAL_BUS},
        "r",
    ).resources()
    alarms = {i: r for i, r in member.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {
        "ForwardDeadLetterAlarm",
        "ForwardFailuresAlarm",
        "ForwardNotDeadLetteredAlarm",
    }
    forwarded = member["AlarmStateForwardRule"]["Properties"]
    own_prefix = forwarded["EventPattern"]["detail"]["alarmName"][0]["prefix"]
    for alarm in alarms.values():
        name = alarm["Properties"]["AlarmName"]
        assert name.startswith(prefix["prefix"])
        assert name.startswith(own_prefix)
    assert forwarded["Targets"][0]["Arn"].endswith(":event-bus/recorder-guard-central")
    assert central["MemberAlarmsRule"]["Properties"]["Targets"][0]["Arn"] == "<OperatorTopic>"
    for alarm_id, metric in (
        ("ForwardFailuresAlarm", "FailedInvocations"),
        ("ForwardNotDeadLetteredAlarm", "InvocationsFailedToBeSentToDlq"),
    ):
        metrics = member[alarm_id]["Properties"]["Metrics"]
        stats = [m for m in metrics if "MetricStat" in m]
        assert len(stats) <= 10  # the metric-math limit per alarm
        assert {m["MetricStat"]["Metric"]["MetricName"] for m in stats} == {metric}
        for logical_id, resource in member.items():
            if resource["Type"] == "AWS::Events::Rule":
                assert f"<{logical_id}>" in str(stats), (alarm_id, logical_id)
    # Relayed events reach the topic only if its policy admits the rule and its key lets
    # EventBridge encrypt: both name exactly that rule / that topic.
    topic_policy = str(central["OperatorTopicPolicy"]["Properties"])
    assert "<MemberAlarmsRule.Arn>" in topic_policy
    key = str(central["AlertKey"]["Properties"]["KeyPolicy"])
    assert "arn:aws:sns:us-east-1:111122223333:recorder-guard-operator" in key
    assert central["OperatorTopic"]["Properties"]["TopicName"] == "recorder-guard-operator"


def test_every_queue_denies_insecure_transport() -> None:
    for template, overrides in (
        (load_template(), PARAMETER_SETS["webhook-only-rules"]),
        (
            load_template(FORWARDER),
            {"CentralEventBusArn": "arn:aws:events:us-east-1:111122223333:event-bus/b"},
        ),
    ):
        resources = Resolver(template, overrides, "r").resources()
        queues = {i for i, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
        protected = {
            q[1:-1]
            for r in resources.values()
            if r["Type"] == "AWS::SQS::QueuePolicy"
            and "aws:SecureTransport" in str(r["Properties"]["PolicyDocument"])
            for q in r["Properties"]["Queues"]
        }
        assert queues == protected


def test_the_iam_part_of_the_member_watch_exists_only_where_iam_events_arrive() -> None:
    forwarder = load_template(FORWARDER)
    base = {
        "CentralEventBusArn": "arn:aws:events:us-east-1:111122223333:event-bus/b",
        "ResponderRoleArn": "arn:aws:iam::111122223333:role/responder",
    }
    for region, watched in (("us-east-1", True), ("eu-west-1", False)):
        resolver = Resolver(forwarder, {**base, "MemberRoleRegion": region}, "r")
        resolver.pseudo["AWS::Region"] = region
        rule = resolver.resources()["RecorderGuardTamperingForwardRule"]["Properties"]
        roles = rule["EventPattern"]["detail"]["$or"][2]["requestParameters"]["roleName"]
        assert ("recorder-guard-member" in roles) is watched


def test_sam_config_agrees_with_the_template() -> None:
    """samconfig.toml overrides nothing to a value other than the template's default, except
    what its comment says differs (stack name, tags)."""
    import tomllib

    from tests.support import ROOT

    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    template = load_template()
    for environment in ("default", "prod"):
        deploy = config[environment]["deploy"]["parameters"]
        overrides = dict(re.findall(r'(\w+)="([^"]*)"', deploy.get("parameter_overrides", "")))
        for name, value in overrides.items():
            assert name in template["Parameters"], name
            assert str(template["Parameters"][name].get("Default", "")) == value, (
                environment,
                name,
            )


def test_every_dead_letter_queue_is_an_output_for_the_runbook() -> None:
    """docs/operations.md's redrive commands read these outputs."""
    outputs = load_template()["Outputs"]
    assert outputs["DeadLetterQueueUrl"]["Value"] == {"Ref": "DeadLetterQueue"}
    assert outputs["SlackDeadLetterQueueUrl"]["Value"] == {"Ref": "SlackDeadLetterQueue"}
    assert outputs["SlackDeadLetterQueueUrl"]["Condition"] == "HasSlackWebhook"
    forwarder = load_template(FORWARDER)["Outputs"]
    assert forwarder["ForwardDeadLetterQueueUrl"]["Value"] == {"Ref": "ForwardDeadLetterQueue"}


# Service principals whose trust policies carry no confused-deputy condition, and why (the
# AWS page that would document the keys does not; docs/configuration.md "Service roles").
UNCONDITIONED_SERVICES = {"chatbot.amazonaws.com"}


def service_trusts(resources: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each IAM role trusted by an AWS service: logical id -> (service, its trust condition)."""
    trusts = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            service = statement.get("Principal", {}).get("Service")
            if service:
                trusts[logical_id] = (service, statement.get("Condition", {}))
    return trusts


@pytest.mark.parametrize("name", sorted(PARAMETER_SETS))
def test_service_roles_name_the_account_that_may_use_them(name: str) -> None:
    """Issue 17.7: every role the templates define for an AWS service admits only this
    account's resources (aws:SourceAccount), unless the service does not document the key.
    The functions' execution roles (lambda.amazonaws.com) stay SAM's: docs/configuration.md
    says why. No schedule event may leave SAM to generate an unconditioned Scheduler role."""
    resources = Resolver(load_template(), PARAMETER_SETS[name], "r").resources()
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] in {"Schedule", "ScheduleV2"}:
                    assert "RoleArn" in event["Properties"], logical_id
    forwarder = Resolver(load_template(FORWARDER), {"CentralEventBusArn": CENTRAL_BUS}, "r")
    for template_resources in (resources, forwarder.resources()):
        for logical_id, (service, when) in service_trusts(template_resources).items():
            if service in UNCONDITIONED_SERVICES:
                assert not when, logical_id
                continue
            assert when["StringEquals"]["aws:SourceAccount"] == "111122223333", logical_id


def test_the_backstop_schedule_role_is_scoped_to_its_schedule_group() -> None:
    """EventBridge Scheduler: aws:SourceArn is the schedule GROUP's ARN (not the schedule's),
    and the schedule is in that group; SAM generates no unconditioned role beside it."""
    template = load_template()
    resolved = Resolver(template, PARAMETER_SETS["email"], "r").resources()
    role = resolved["BackstopScheduleRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    # The group's ARN (the page's current text) and, from an earlier revision of the same
    # page, the ARNs of the schedules in that group; nothing outside it.
    group_arn, schedules_arn = statement["Condition"]["ArnLike"]["aws:SourceArn"]
    assert group_arn == "arn:aws:scheduler:us-east-1:111122223333:schedule-group/default"
    assert schedules_arn == "arn:aws:scheduler:us-east-1:111122223333:schedule/default/*"
    schedule = resolved["BackstopFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
    assert group_arn.endswith(":schedule-group/" + schedule["GroupName"])
    assert schedule["RoleArn"] == "<BackstopScheduleRole.Arn>"  # SAM makes no role of its own
    (policy,) = role["Policies"]
    (grant,) = policy["PolicyDocument"]["Statement"]
    assert (grant["Action"], grant["Resource"]) == (
        "lambda:InvokeFunction",
        "<BackstopFunction.Arn>",
    )
    # Without a backstop there is no schedule and no role.
    off = Resolver(template, PARAMETER_SETS["webhook-only-rules"], "r").resources()
    assert "BackstopScheduleRole" not in off
    assert "BackstopFunction" not in off


def test_the_forward_role_admits_only_this_accounts_rules_here() -> None:
    """EventBridge: for a rule target aws:SourceArn is the sending rule's ARN; the forward
    rules cannot be named in the role they use (a cycle), so the ARN is this account's rules in
    this region, and every rule that uses the role lives there."""
    resolver = Resolver(load_template(FORWARDER), {"CentralEventBusArn": CENTRAL_BUS}, "r")
    resolver.pseudo["AWS::Region"] = "eu-west-1"
    resources = resolver.resources()
    (statement,) = resources["ForwardRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:events:eu-west-1:111122223333:rule/*"
    }
    users = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule"
        and any(t.get("RoleArn") == "<ForwardRole.Arn>" for t in r["Properties"]["Targets"])
    ]
    assert users
    assert all(rule.get("EventBusName", "default") == "default" for rule in users)
