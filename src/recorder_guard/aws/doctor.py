"""`doctor`'s reads: a deployed stack and the account around it, read-only.

Every call here is a Describe/Get/List/Lookup operation (a test records each operation name
during a moto run and holds it to that), except `sts:AssumeRole` for `--member-role` and
`lambda:Invoke` for `--send-test`. Resources are found by type from ListStackResources, so
a rule, queue, alarm or topic added to the template is checked without a change here. A read
that fails becomes a failing check that says why; it never stops the other checks.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import boto3

from recorder_guard.aws.errors import error_details
from recorder_guard.domain.doctor import (
    FAIL,
    AlarmView,
    BackstopView,
    Check,
    FunctionView,
    QueueView,
    RecorderView,
    RuleView,
    StackInstanceView,
    Subscription,
    TargetView,
    TopicView,
    TrailView,
    check_alarms,
    check_backstop,
    check_chatbot,
    check_chatbot_protocol,
    check_cloudtrail,
    check_function,
    check_queue,
    check_recorders,
    check_rule,
    check_stack_instance,
    check_topic,
    check_webhook_forwarder,
    member_summary,
    needs_read_only_events,
    schedule_period,
)
from recorder_guard.domain.selftest import build_test_event

# What --member-role calls in a member account, so a test can hold the forwarder's member
# role against the code (its DoctorReadsForwarding statement and the recorder reads).
MEMBER_DOCTOR_PERMISSIONS = (
    "events:ListRuleNamesByTarget",
    "events:DescribeRule",
    "events:ListTargetsByRule",
    "sqs:GetQueueUrl",
    "sqs:GetQueueAttributes",
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
    "config:DescribeDeliveryChannels",
)
ERROR_HOURS = 24
ALARM_BATCH = 100  # DescribeAlarms takes at most 100 names


class DoctorError(Exception):
    """The stack itself cannot be read: nothing else can be checked."""


def _why(error: BaseException) -> str:
    code, message = error_details(error)
    return f"{code}: {message}"[:300]


@dataclass(frozen=True)
class StackView:
    name: str
    region: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    resources: tuple[dict[str, Any], ...]

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r.get("ResourceType") == resource_type]


def read_stack(cloudformation: Any, name: str, region: str) -> StackView:
    try:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
        resources: list[dict[str, Any]] = []
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
            resources.extend(page["StackResourceSummaries"])
    except Exception as error:
        raise DoctorError(f"cannot read stack {name} in {region}: {_why(error)}") from error
    return StackView(
        name=name,
        region=region,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        parameters={
            p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", ""))
            for p in stack.get("Parameters", [])
        },
        resources=tuple(resources),
    )


@dataclass
class Reader:
    """Clients from one boto3 Session, one per service and region."""

    session: boto3.Session
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region)  # type: ignore[call-overload]
        return self._clients[key]


# --- CloudTrail ---------------------------------------------------------------------------


def read_trails(cloudtrail: Any) -> list[TrailView]:
    """Trails visible in the client's region, shadow trails included (a multi-region or
    organization trail made elsewhere); status and selectors are read by ARN, as
    GetTrailStatus requires for a shadow trail."""
    trails = []
    for trail in cloudtrail.describe_trails(includeShadowTrails=True).get("trailList", []):
        arn = trail.get("TrailARN", trail.get("Name", ""))
        view = TrailView(
            name=trail.get("Name", arn),
            arn=arn,
            home_region=trail.get("HomeRegion", ""),
            multi_region=bool(trail.get("IsMultiRegionTrail")),
            organization=bool(trail.get("IsOrganizationTrail")),
            logging=None,
        )
        try:
            logging = bool(cloudtrail.get_trail_status(Name=arn).get("IsLogging"))
            selectors = cloudtrail.get_event_selectors(TrailName=arn)
        except Exception as error:
            trails.append(replace(view, error=_why(error)))
            continue
        trails.append(
            replace(
                view,
                logging=logging,
                selectors={
                    "EventSelectors": selectors.get("EventSelectors", []),
                    "AdvancedEventSelectors": selectors.get("AdvancedEventSelectors", []),
                },
            )
        )
    return trails


def cloudtrail_checks(reader: Reader, regions: Iterable[str], needs_read_only: bool) -> list[Check]:
    checks = []
    for region in regions:
        try:
            trails = read_trails(reader.client("cloudtrail", region))
        except Exception as error:
            checks.append(Check("cloudtrail", f"trail in {region}", FAIL, _why(error), ""))
            continue
        checks.append(check_cloudtrail(region, trails, needs_read_only=needs_read_only))
    return checks


# --- EventBridge --------------------------------------------------------------------------


def read_rule(events: Any, logical_id: str, physical_id: str, buses: Iterable[str]) -> RuleView:
    """The rule by its physical id: `name`, or `bus|name` for a rule on a custom bus."""
    bus_hint, _, name = physical_id.rpartition("|")
    candidates = [bus_hint] if bus_hint else ["default", *buses]
    for bus in candidates:
        try:
            rule = events.describe_rule(Name=name, EventBusName=bus)
            targets = events.list_targets_by_rule(Rule=name, EventBusName=bus).get("Targets", [])
        except Exception as error:
            if error_details(error)[0] == "ResourceNotFoundException":
                continue
            return RuleView(logical_id, name, None, error=_why(error))
        return RuleView(
            logical_id,
            name,
            rule.get("State"),
            tuple(
                TargetView(t["Arn"], (t.get("DeadLetterConfig") or {}).get("Arn")) for t in targets
            ),
        )
    return RuleView(logical_id, name, None)


# --- Delivery -----------------------------------------------------------------------------


def read_topic(sns: Any, label: str, arn: str) -> TopicView:
    try:
        subscriptions = [
            Subscription(s.get("Protocol", ""), s.get("Endpoint", ""), s.get("SubscriptionArn", ""))
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
            for s in page.get("Subscriptions", [])
        ]
    except Exception as error:
        return TopicView(label, arn, error=_why(error))
    return TopicView(label, arn, tuple(subscriptions))


# --- Health -------------------------------------------------------------------------------


def read_queue(sqs: Any, logical_id: str, url: str) -> QueueView:
    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        ).get("Attributes", {})
    except Exception as error:
        return QueueView(logical_id, url, 0, 0, error=_why(error))
    return QueueView(
        logical_id,
        url,
        int(attributes.get("ApproximateNumberOfMessages", 0)),
        int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )


def read_alarms(cloudwatch: Any, names: list[str]) -> list[AlarmView]:
    alarms: list[AlarmView] = []
    for start in range(0, len(names), ALARM_BATCH):
        response = cloudwatch.describe_alarms(AlarmNames=names[start : start + ALARM_BATCH])
        alarms.extend(
            AlarmView(a["AlarmName"], a.get("StateValue", ""), a.get("StateReason", ""))
            for a in response.get("MetricAlarms", []) + response.get("CompositeAlarms", [])
        )
    return alarms


def _lambda_metric(
    cloudwatch: Any, function: str, metric: str, *, start: datetime, end: datetime, period: int
) -> dict[datetime, float]:
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=[{"Name": "FunctionName", "Value": function}],
        StartTime=start,
        EndTime=end,
        Period=period,
        Statistics=["Sum"],
    ).get("Datapoints", [])
    return {point["Timestamp"]: float(point.get("Sum", 0)) for point in points}


def read_function(
    lambda_client: Any, cloudwatch: Any, label: str, name: str, now: datetime
) -> tuple[FunctionView, str | None]:
    """The function's state, reserved concurrency and errors in the last day; and its ARN."""
    try:
        configuration = lambda_client.get_function_configuration(FunctionName=name)
        concurrency = lambda_client.get_function_concurrency(FunctionName=name)
        errors = _lambda_metric(
            cloudwatch,
            name,
            "Errors",
            start=now - timedelta(hours=ERROR_HOURS),
            end=now,
            period=3600,
        )
    except Exception as error:
        return FunctionView(label, name, None, None, error=_why(error)), None
    view = FunctionView(
        label,
        name,
        configuration.get("State"),
        concurrency.get("ReservedConcurrentExecutions"),
        recent_errors=sum(errors.values()),
    )
    return view, configuration.get("FunctionArn")


def read_backstop(
    scheduler: Any, cloudwatch: Any, schedule_name: str, now: datetime
) -> BackstopView:
    """The schedule, and the minutes within two periods in which its function ran without
    an error (AWS/Lambda Invocations above Errors)."""
    try:
        schedule = scheduler.get_schedule(Name=schedule_name)
    except Exception as error:
        if error_details(error)[0] == "ResourceNotFoundException":
            return BackstopView(schedule_name, None, "", ())
        return BackstopView(schedule_name, None, "", (), error=_why(error))
    expression = schedule.get("ScheduleExpression", "")
    function = schedule.get("Target", {}).get("Arn", "").split(":function:")[-1].split(":")[0]
    start = now - 2 * schedule_period(expression) - timedelta(minutes=5)
    try:
        invocations = _lambda_metric(
            cloudwatch, function, "Invocations", start=start, end=now, period=60
        )
        errors = _lambda_metric(cloudwatch, function, "Errors", start=start, end=now, period=60)
    except Exception as error:
        return BackstopView(schedule_name, schedule.get("State"), expression, (), _why(error))
    runs = tuple(moment for moment, count in invocations.items() if count > errors.get(moment, 0.0))
    return BackstopView(schedule_name, schedule.get("State"), expression, runs)


# --- Recorders ----------------------------------------------------------------------------


def recorder_checks(config: Any, where: str) -> list[Check]:
    try:
        recorders = config.describe_configuration_recorders().get("ConfigurationRecorders", [])
        names = [r["name"] for r in recorders]
        statuses = (
            {
                s["name"]: s
                for s in config.describe_configuration_recorder_status(
                    ConfigurationRecorderNames=names
                ).get("ConfigurationRecordersStatus", [])
            }
            if names
            else {}
        )
        has_channel = bool(config.describe_delivery_channels().get("DeliveryChannels"))
    except Exception as error:
        return check_recorders(where, [], False, error=_why(error))
    views = [
        RecorderView(
            name=r["name"],
            recording=statuses.get(r["name"], {}).get("recording"),
            service_principal=r.get("servicePrincipal"),
            last_status=statuses.get(r["name"], {}).get("lastStatus"),
        )
        for r in recorders
    ]
    return check_recorders(where, views, has_channel)


# --- The whole stack ----------------------------------------------------------------------


def _regions(stack: StackView, regions: list[str] | None) -> list[str]:
    """--region as given; else the stack's region and the backstop's BackstopRegions."""
    if regions:
        return list(dict.fromkeys(regions))
    extra = [r for r in stack.parameters.get("BackstopRegions", "").split(",") if r]
    return list(dict.fromkeys([stack.region, *extra]))


def _label(logical_id: str, stack: StackView, arn: str) -> str:
    if arn == stack.outputs.get("AlertTopicArn"):
        return "alert topic"
    if arn == stack.outputs.get("OperatorTopicArn"):
        return "operator topic"
    return f"topic {logical_id}"


def stack_checks(
    reader: Reader, stack: StackView, regions: list[str] | None, now: datetime
) -> list[Check]:
    """Every check for one stack: EventBridge, delivery, health, CloudTrail, recorders."""
    region = stack.region
    events = reader.client("events", region)
    cloudwatch = reader.client("cloudwatch", region)
    lambda_client = reader.client("lambda", region)

    checks: list[Check] = []
    ours: list[str] = []
    functions: list[FunctionView] = []
    forwarder_arn = None
    for resource in stack.of_type("AWS::Lambda::Function"):
        name = resource["PhysicalResourceId"]
        view, arn = read_function(
            lambda_client, cloudwatch, f"function {resource['LogicalResourceId']}", name, now
        )
        functions.append(view)
        if arn:
            ours.append(arn)
            if name == stack.outputs.get("SlackForwarderFunctionName"):
                forwarder_arn = arn
    topics = [r["PhysicalResourceId"] for r in stack.of_type("AWS::SNS::Topic")]
    buses = [r["PhysicalResourceId"] for r in stack.of_type("AWS::Events::EventBus")]
    ours += topics
    ours += [
        value
        for value in (
            stack.outputs.get("CentralEventBusArn"),
            stack.parameters.get("CentralEventBusArn"),
        )
        if value
    ]
    bus_names = [b for b in buses if b] + (
        [stack.parameters["CentralEventBusName"]]
        if stack.parameters.get("DeploymentMode") == "central"
        else []
    )

    rules = [
        read_rule(events, r["LogicalResourceId"], r["PhysicalResourceId"], bus_names)
        for r in stack.of_type("AWS::Events::Rule")
    ]
    checks += [check_rule(rule, ours, stack.name) for rule in rules]

    sns = reader.client("sns", region)
    topic_views = [
        read_topic(
            sns,
            _label(r["LogicalResourceId"], stack, r["PhysicalResourceId"]),
            r["PhysicalResourceId"],
        )
        for r in stack.of_type("AWS::SNS::Topic")
    ]
    for topic in topic_views:
        checks += check_topic(topic, required=topic.label == "alert topic")
        if topic.label == "alert topic":
            chatbot = check_chatbot(
                topic, bool(stack.of_type("AWS::Chatbot::SlackChannelConfiguration"))
            )
            webhook = check_webhook_forwarder(topic, forwarder_arn)
            checks += [c for c in (chatbot, webhook) if c]
            checks += check_chatbot_protocol(topic)

    sqs = reader.client("sqs", region)
    checks += [
        check_queue(read_queue(sqs, r["LogicalResourceId"], r["PhysicalResourceId"]), stack.name)
        for r in stack.of_type("AWS::SQS::Queue")
    ]
    alarm_names = [r["PhysicalResourceId"] for r in stack.of_type("AWS::CloudWatch::Alarm")]
    if alarm_names:
        try:
            checks += check_alarms(read_alarms(cloudwatch, alarm_names))
        except Exception as error:
            checks.append(Check("health", "alarms", FAIL, _why(error), ""))
    checks += [check_function(view, ERROR_HOURS) for view in functions]
    scheduler = reader.client("scheduler", region)
    checks += [
        check_backstop(read_backstop(scheduler, cloudwatch, r["PhysicalResourceId"], now), now)
        for r in stack.of_type("AWS::Scheduler::Schedule")
    ]

    checked = _regions(stack, regions)
    checks[:0] = cloudtrail_checks(reader, checked, needs_read_only_events(rules))
    for where in checked:
        checks += recorder_checks(reader.client("config", where), where)
    return checks


def run_doctor(
    session: boto3.Session, stack_name: str, regions: list[str] | None, now: datetime
) -> list[Check]:
    region = session.region_name or (regions[0] if regions else None)
    if not region:
        raise DoctorError("no region: pass --stack-region or set AWS_REGION")
    reader = Reader(session)
    stack = read_stack(reader.client("cloudformation", region), stack_name, region)
    return stack_checks(reader, stack, regions, now)


# --- Organization members -----------------------------------------------------------------


def read_stack_instances(
    cloudformation: Any, stack_set: str, call_as: str
) -> list[StackInstanceView]:
    instances: list[StackInstanceView] = []
    for page in cloudformation.get_paginator("list_stack_instances").paginate(
        StackSetName=stack_set, CallAs=call_as
    ):
        instances.extend(
            StackInstanceView(
                i["Account"],
                i["Region"],
                i.get("Status", ""),
                i.get("StatusReason", ""),
            )
            for i in page.get("Summaries", [])
        )
    return instances


def forward_checks(events: Any, sqs: Any, central_bus_arn: str, where: str) -> list[Check]:
    """The member's forward rules (found by their target, the central bus) enabled, each
    with its dead-letter queue empty."""
    try:
        names = events.list_rule_names_by_target(TargetArn=central_bus_arn).get("RuleNames", [])
    except Exception as error:
        return [Check("member", f"forward rules {where}", FAIL, _why(error), "")]
    if not names:
        return [
            Check(
                "member",
                f"forward rules {where}",
                FAIL,
                f"no rule forwards to {central_bus_arn}",
                "deploy templates/forwarder.yaml here (the StackSet)",
            )
        ]
    checks = []
    queues: dict[str, str] = {}
    for name in names:
        rule = read_rule(events, name, name, [])
        checks.append(check_rule(rule, [central_bus_arn], "forwarder StackSet"))
        for target in rule.targets:
            if target.dead_letter_arn:
                queues[target.dead_letter_arn] = name
    for arn in queues:
        _, _, _, _, account, queue_name = arn.split(":", 5)
        try:
            url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)[
                "QueueUrl"
            ]
        except Exception as error:
            checks.append(Check("member", f"queue {queue_name}", FAIL, _why(error), ""))
            continue
        checks.append(check_queue(read_queue(sqs, queue_name, url), "forwarder StackSet"))
    return checks


def credentials_session(credentials: Mapping[str, Any]) -> boto3.Session:
    """A session on AssumeRole's temporary credentials."""
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def member_checks(
    session: boto3.Session,
    *,
    accounts: list[str],
    regions: list[str],
    role_name: str,
    central_bus_arn: str,
    instances: list[StackInstanceView] | None,
    partition: str = "aws",
    session_for: Callable[[Mapping[str, Any]], boto3.Session] = credentials_session,
) -> list[Check]:
    """One summary line per account and region, through the member role (read-only)."""
    sts = session.client("sts")
    summaries = []
    for account in accounts:
        arn = f"arn:{partition}:iam::{account}:role/{role_name}"
        try:
            credentials = sts.assume_role(RoleArn=arn, RoleSessionName="recorder-guard-doctor")[
                "Credentials"
            ]
        except Exception as error:
            summaries += [
                Check(
                    "member",
                    f"account {account} {region}",
                    FAIL,
                    f"cannot assume {arn}: {_why(error)}",
                    "deploy the forwarder with DoctorPrincipalArn naming your role",
                )
                for region in regions
            ]
            continue
        reader = Reader(session_for(credentials))
        for region in regions:
            checks: list[Check] = []
            if instances is not None:
                found = {(i.account, i.region): i for i in instances}.get((account, region))
                checks.append(check_stack_instance(found, account, region))
            checks += forward_checks(
                reader.client("events", region),
                reader.client("sqs", region),
                central_bus_arn,
                f"{account} {region}",
            )
            checks += recorder_checks(reader.client("config", region), f"{account} {region}")
            summaries.append(member_summary(account, region, checks))
    return summaries


# --- The test alert -----------------------------------------------------------------------


@dataclass(frozen=True)
class SentTest:
    event: dict[str, Any]
    status_code: int
    summary: dict[str, Any]
    function_error: str | None


def send_test(
    lambda_client: Any,
    function: str,
    *,
    account: str,
    region: str,
    caller_arn: str,
    now: datetime,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> SentTest:
    """Invoke the deployed responder once, synchronously, with the synthetic test event."""
    event = build_test_event(
        account=account, region=region, event_id=new_id(), at=now, caller_arn=caller_arn
    )
    response = lambda_client.invoke(
        FunctionName=function,
        InvocationType="RequestResponse",
        Payload=json.dumps(event).encode(),
    )
    raw = response["Payload"].read()
    try:
        summary = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        summary = {"raw": raw.decode("utf-8", "replace")[:500]}
    return SentTest(
        event=event,
        status_code=int(response.get("StatusCode", 0)),
        summary=summary if isinstance(summary, dict) else {"raw": summary},
        function_error=response.get("FunctionError"),
    )
