"""`doctor`: would a deployment really tell anyone? Each silent failure as a pure check.

The inputs are plain values read from AWS by `aws/doctor.py`; the output of every check is a
`Check` (ok / warn / fail, what was found, and the fix). No boto3 here, so each check's ok and
failing states are tested with plain data, including what moto cannot show (a subscription
pending confirmation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from recorder_guard.domain.cloudtrail import is_service_linked_recorder

OK = "ok"
WARN = "warn"
FAIL = "fail"
STATUSES = (OK, WARN, FAIL)

PENDING = "PendingConfirmation"
# The rule state that also delivers read-only management events (Get/List/Describe):
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html
ALL_MANAGEMENT_EVENTS_STATE = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
ENABLED_STATES = ("ENABLED", ALL_MANAGEMENT_EVENTS_STATE)
# AWS Chatbot subscribes to a topic over HTTPS at an endpoint of its own (seen in deployed
# accounts; not documented as a contract, so a mismatch is a warning, never a failure).
CHATBOT_ENDPOINT_HINT = "chatbot.amazonaws.com"
CRON_FALLBACK_PERIOD = timedelta(days=1)


@dataclass(frozen=True)
class Check:
    """One line of the report: `area` groups lines, `name` says what was checked."""

    area: str
    name: str
    status: str
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    def to_dict(self) -> dict[str, str]:
        return {
            "area": self.area,
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
        }


def exit_status(checks: Iterable[Check]) -> int:
    """0 only when nothing failed; warnings are reported, not fatal."""
    return 1 if any(check.status == FAIL for check in checks) else 0


# --- CloudTrail ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailView:
    """One trail as DescribeTrails, GetTrailStatus and GetEventSelectors report it."""

    name: str
    arn: str
    home_region: str
    multi_region: bool
    logging: bool | None  # None: the status could not be read
    selectors: Mapping[str, Any] = field(default_factory=dict)
    organization: bool = False
    error: str | None = None

    def covers(self, region: str) -> bool:
        return self.multi_region or self.home_region == region


def _basic_logs(selectors: Sequence[Mapping[str, Any]], kinds: tuple[str, ...]) -> bool:
    return any(
        selector.get("IncludeManagementEvents", True) and selector.get("ReadWriteType") in kinds
        for selector in selectors
    )


def _advanced_logs(selectors: Sequence[Mapping[str, Any]], read_only: str) -> bool:
    """An advanced selector logs management events of this kind when it selects the
    Management category and does not restrict `readOnly` to the other value."""
    for selector in selectors:
        fields = {item.get("Field"): item for item in selector.get("FieldSelectors", []) if item}
        category = fields.get("eventCategory", {})
        if "Management" not in category.get("Equals", []):
            continue
        flag = fields.get("readOnly")
        if flag is None:
            return True
        if read_only in flag.get("Equals", [read_only]) and read_only not in flag.get(
            "NotEquals", []
        ):
            return True
    return False


def logs_management_events(selectors: Mapping[str, Any], *, writes: bool) -> bool:
    """Whether a trail's GetEventSelectors answer logs management write (or read) events.

    A trail without selectors logs all management events (the EventSelector reference:
    https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_EventSelector.html);
    AWS reports that default as a selector, moto as two empty lists: both count as "all".
    """
    basic = selectors.get("EventSelectors") or []
    advanced = selectors.get("AdvancedEventSelectors") or []
    if not basic and not advanced:
        return True
    kinds = ("All", "WriteOnly") if writes else ("All", "ReadOnly")
    return _basic_logs(basic, kinds) or _advanced_logs(advanced, "false" if writes else "true")


TRAIL_FIX = (
    "create or start a trail that logs management write events in this region (a multi-region"
    " trail counts): aws cloudtrail create-trail --is-multi-region-trail ... then"
    " aws cloudtrail start-logging --name NAME. EventBridge receives 'AWS API Call via"
    " CloudTrail' events only where a trail logs them:"
    " https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html"
)


def check_cloudtrail(
    region: str, trails: Sequence[TrailView], *, needs_read_only: bool = False
) -> Check:
    """A logging trail covering `region` with management write events; read-only ones too
    when a rule of ours asks EventBridge for them."""
    name = f"trail in {region}"
    covering = [trail for trail in trails if trail.covers(region)]
    reasons = []
    good: list[TrailView] = []
    for trail in covering:
        if trail.error:
            reasons.append(f"{trail.name}: not readable ({trail.error})")
        elif trail.logging is not True:
            reasons.append(f"{trail.name}: not logging")
        elif not logs_management_events(trail.selectors, writes=True):
            reasons.append(f"{trail.name}: does not log management write events")
        else:
            good.append(trail)
    if not good:
        found = "; ".join(reasons) if reasons else "no trail covers this region"
        return Check("cloudtrail", name, FAIL, found, TRAIL_FIX)
    names = ", ".join(
        trail.name + (" (multi-region)" if trail.multi_region else "") for trail in good
    )
    if needs_read_only and not any(
        logs_management_events(trail.selectors, writes=False) for trail in good
    ):
        return Check(
            "cloudtrail",
            name,
            WARN,
            f"{names} logs write events, but a rule needs read-only management events too",
            "add read-only management events to the trail's event selectors",
        )
    return Check("cloudtrail", name, OK, f"{names} logging management write events")


# --- EventBridge --------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetView:
    arn: str
    dead_letter_arn: str | None = None


@dataclass(frozen=True)
class RuleView:
    """One AWS::Events::Rule of the stack, as DescribeRule and ListTargetsByRule show it;
    `state` None means the rule was not found."""

    logical_id: str
    name: str
    state: str | None
    targets: tuple[TargetView, ...] = ()
    error: str | None = None


def _is_ours(arn: str, ours: Iterable[str]) -> bool:
    """The same ARN, or a qualified form of it (a function alias or version)."""
    return any(arn == known or arn.startswith(known + ":") for known in ours)


def check_rule(rule: RuleView, ours: Iterable[str], stack: str) -> Check:  # noqa: PLR0911
    """Exists, enabled, targets a resource of ours (the function, or the central bus from a
    member account), each target with a dead-letter queue."""
    known = tuple(ours)
    name = f"rule {rule.logical_id}"
    fix_state = f"aws events enable-rule --name {rule.name}, or redeploy the stack {stack}"
    if rule.error:
        return Check("eventbridge", name, FAIL, f"{rule.name}: {rule.error}", fix_state)
    if rule.state is None:
        return Check(
            "eventbridge",
            name,
            FAIL,
            f"{rule.name} does not exist (deleted outside CloudFormation?)",
            f"redeploy the stack {stack} (sam deploy) to recreate it",
        )
    if rule.state not in ENABLED_STATES:
        return Check("eventbridge", name, FAIL, f"{rule.name} is {rule.state}", fix_state)
    if not rule.targets:
        return Check("eventbridge", name, FAIL, f"{rule.name} has no target", fix_state)
    foreign = [target.arn for target in rule.targets if not _is_ours(target.arn, known)]
    if len(foreign) == len(rule.targets):
        return Check(
            "eventbridge",
            name,
            FAIL,
            f"{rule.name} targets {', '.join(foreign)}, none of them this stack's",
            f"redeploy the stack {stack} to restore its target",
        )
    without_dlq = [t.arn for t in rule.targets if _is_ours(t.arn, known) and not t.dead_letter_arn]
    if without_dlq:
        return Check(
            "eventbridge",
            name,
            WARN,
            f"{rule.name} is enabled, but its target has no dead-letter queue: an event that"
            " cannot be delivered is dropped",
            f"redeploy the stack {stack} to restore the target's DeadLetterConfig",
        )
    extra = f"; also targets {', '.join(foreign)}" if foreign else ""
    return Check(
        "eventbridge",
        name,
        OK,
        f"{rule.name} {rule.state.lower()}, targets ours with a dead-letter queue{extra}",
    )


def needs_read_only_events(rules: Iterable[RuleView]) -> bool:
    return any(rule.state == ALL_MANAGEMENT_EVENTS_STATE for rule in rules)


# --- Delivery -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    protocol: str
    endpoint: str
    arn: str

    @property
    def pending(self) -> bool:
        """SNS lists an unconfirmed subscription with this literal instead of an ARN:
        https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html"""
        return self.arn == PENDING

    @property
    def confirmed(self) -> bool:
        return self.arn.startswith("arn:")


@dataclass(frozen=True)
class TopicView:
    label: str  # "alert topic", "operator topic", or the logical id
    arn: str
    subscriptions: tuple[Subscription, ...] = ()
    error: str | None = None


def check_topic(topic: TopicView, *, required: bool) -> list[Check]:
    """At least one confirmed subscription (a failure on the alert topic, `required`; a
    warning elsewhere), and one warning per subscription still pending, naming its address."""
    area = "delivery"
    if topic.error:
        return [Check(area, topic.label, FAIL, f"{topic.arn}: {topic.error}", "")]
    confirmed = [s for s in topic.subscriptions if s.confirmed]
    pending = [s for s in topic.subscriptions if s.pending]
    checks = []
    if confirmed:
        kinds = ", ".join(sorted({s.protocol for s in confirmed}))
        checks.append(
            Check(area, topic.label, OK, f"{len(confirmed)} confirmed subscription(s) ({kinds})")
        )
    else:
        checks.append(
            Check(
                area,
                topic.label,
                FAIL if required else WARN,
                "no confirmed subscription: nobody receives what is published here",
                f"subscribe someone: aws sns subscribe --topic-arn {topic.arn} --protocol email"
                " --notification-endpoint ADDRESS, then confirm from the email",
            )
        )
    checks.extend(
        Check(
            area,
            f"{topic.label} subscription",
            WARN,
            f"{s.protocol} {s.endpoint} has not confirmed its subscription",
            f"{s.endpoint} must click the link in the 'AWS Notification - Subscription"
            " Confirmation' email (check spam); re-send with aws sns subscribe",
        )
        for s in pending
    )
    return checks


def check_chatbot(topic: TopicView, deployed: bool) -> Check | None:
    """With a Chatbot channel in the stack, the alert topic should have its HTTPS
    subscription; without one there is nothing to check."""
    if not deployed:
        return None
    if any(
        s.protocol == "https" and CHATBOT_ENDPOINT_HINT in s.endpoint and s.confirmed
        for s in topic.subscriptions
    ):
        return Check("delivery", "chatbot", OK, "AWS Chatbot is subscribed to the alert topic")
    return Check(
        "delivery",
        "chatbot",
        WARN,
        "the stack has a Chatbot Slack channel, but no confirmed Chatbot subscription on the"
        " alert topic",
        "open the Chatbot console: authorise the Slack workspace, check the channel"
        " configuration lists the alert topic; then run doctor --send-test",
    )


def check_chatbot_protocol(topic: TopicView) -> list[Check]:
    """A subscription at a Chatbot endpoint must use protocol `https`: the alert's message
    (aws/publish.py) has the chat notification under `https` only, and SNS gives any other
    protocol (`http`, say) the `default` key, the ECS JSON document, which is not a chat
    notification. One warning per such subscription, pending or confirmed."""
    checks = []
    for s in topic.subscriptions:
        if CHATBOT_ENDPOINT_HINT not in s.endpoint or s.protocol == "https":
            continue
        https_endpoint = "https://" + s.endpoint.split("://", 1)[-1]
        remove = f", then aws sns unsubscribe --subscription-arn {s.arn}" if s.confirmed else ""
        checks.append(
            Check(
                "delivery",
                "chatbot protocol",
                WARN,
                f"{s.protocol} subscription to {s.endpoint}: it receives the ECS JSON document"
                " (the message's default), not the chat notification, which only an https"
                " subscription receives",
                "subscribe the endpoint with protocol https (as the Chatbot console does):"
                f" aws sns subscribe --topic-arn {topic.arn} --protocol https"
                f" --notification-endpoint {https_endpoint}{remove}",
            )
        )
    return checks


def check_webhook_forwarder(topic: TopicView, function_arn: str | None) -> Check | None:
    """The Slack webhook forwarder, when deployed, must be subscribed to the alert topic."""
    if not function_arn:
        return None
    if any(
        s.protocol == "lambda" and _is_ours(s.endpoint, [function_arn]) for s in topic.subscriptions
    ):
        return Check("delivery", "slack webhook", OK, "the forwarder is subscribed")
    return Check(
        "delivery",
        "slack webhook",
        FAIL,
        f"{function_arn} is not subscribed to the alert topic",
        "redeploy the stack to restore the forwarder's SNS subscription",
    )


# --- Health -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    logical_id: str
    url: str
    visible: int
    in_flight: int
    error: str | None = None


def check_queue(queue: QueueView, stack: str) -> Check:
    """A dead-letter queue holds events nobody was told about: anything in it fails."""
    name = f"queue {queue.logical_id}"
    if queue.error:
        return Check("health", name, FAIL, f"{queue.url}: {queue.error}", "")
    waiting = queue.visible + queue.in_flight
    if waiting:
        return Check(
            "health",
            name,
            FAIL,
            f"{waiting} message(s) waiting: events that were never alerted on",
            f"inspect and re-drive: make redrive QUEUE_URL={queue.url}"
            f" FUNCTION=<FunctionName output of {stack}> ARGS=--dry-run",
        )
    return Check("health", name, OK, "empty")


@dataclass(frozen=True)
class AlarmView:
    name: str
    state: str
    reason: str = ""


def check_alarms(alarms: Sequence[AlarmView]) -> list[Check]:
    """One failure per alarm in ALARM; otherwise one line for all of them."""
    firing = [alarm for alarm in alarms if alarm.state == "ALARM"]
    if not firing:
        return [Check("health", "alarms", OK, f"{len(alarms)} alarm(s), none in ALARM")]
    return [
        Check(
            "health",
            f"alarm {alarm.name}",
            FAIL,
            f"in ALARM: {alarm.reason}"[:300],
            "read the alarm's description and the function's logs; it returns to OK by itself",
        )
        for alarm in firing
    ]


@dataclass(frozen=True)
class FunctionView:
    label: str
    name: str
    state: str | None  # Lambda's State: Active, Pending, Inactive, Failed
    reserved_concurrency: int | None  # None: no reservation
    recent_errors: float = 0.0
    error: str | None = None


def check_function(function: FunctionView, hours: int) -> Check:
    """Runnable (not failed, not throttled to zero) and no errors in the last `hours`."""
    name = function.label
    if function.error:
        return Check("health", name, FAIL, f"{function.name}: {function.error}", "")
    if function.state not in (None, "Active", "Inactive"):
        return Check(
            "health",
            name,
            FAIL,
            f"{function.name} is {function.state}",
            "redeploy the stack; see aws lambda get-function --function-name for the reason",
        )
    if function.reserved_concurrency == 0:
        return Check(
            "health",
            name,
            FAIL,
            f"{function.name} has reserved concurrency 0: it can never run",
            f"aws lambda delete-function-concurrency --function-name {function.name}",
        )
    if function.recent_errors:
        return Check(
            "health",
            name,
            WARN,
            f"{function.name}: {int(function.recent_errors)} error(s) in the last {hours} h",
            "read the function's log group; failed events go to the dead-letter queue",
        )
    return Check("health", name, OK, f"{function.name}: no errors in the last {hours} h")


RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")


def schedule_period(expression: str) -> timedelta:
    """The period of a rate() expression; cron() expressions are taken as daily at most."""
    match = RATE.match(expression.strip())
    if not match:
        return CRON_FALLBACK_PERIOD
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    return timedelta(**{unit + "s": count})


@dataclass(frozen=True)
class BackstopView:
    schedule_name: str
    state: str | None  # ENABLED / DISABLED; None when not found
    expression: str
    successful_runs: tuple[datetime, ...]  # minutes with an invocation and no error
    error: str | None = None


def check_backstop(backstop: BackstopView, now: datetime) -> Check:
    """The schedule is enabled and a run succeeded within two schedule periods."""
    name = "backstop"
    if backstop.error:
        return Check("health", name, FAIL, f"{backstop.schedule_name}: {backstop.error}", "")
    if backstop.state is None:
        return Check(
            "health",
            name,
            FAIL,
            f"schedule {backstop.schedule_name} not found",
            "redeploy the stack to recreate it",
        )
    if backstop.state != "ENABLED":
        return Check(
            "health",
            name,
            FAIL,
            f"schedule {backstop.schedule_name} is {backstop.state}",
            "redeploy the stack, or aws scheduler update-schedule ... --state ENABLED",
        )
    window = 2 * schedule_period(backstop.expression)
    recent = [moment for moment in backstop.successful_runs if moment >= now - window]
    if not recent:
        return Check(
            "health",
            name,
            FAIL,
            f"no successful run in the last {_span(window)} ({backstop.expression})",
            "read the backstop's log group and its errors alarm",
        )
    last = max(recent).isoformat().replace("+00:00", "Z")
    return Check("health", name, OK, f"last successful run {last} ({backstop.expression})")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} day(s)"
    if minutes % 60 == 0:
        return f"{minutes // 60} hour(s)"
    return f"{minutes} minutes"


# --- The account's recorders --------------------------------------------------------------


@dataclass(frozen=True)
class RecorderView:
    name: str
    recording: bool | None
    service_principal: str | None = None
    last_status: str | None = None

    @property
    def service_linked(self) -> bool:
        return bool(self.service_principal) or is_service_linked_recorder(self.name)


def check_recorders(
    where: str, recorders: Sequence[RecorderView], has_channel: bool, error: str | None = None
) -> list[Check]:
    """Each customer-managed recorder recording with a delivery channel; service-linked
    recorders are listed as such (their service manages them)."""
    area = "recorders"
    if error:
        return [Check(area, f"recorders in {where}", FAIL, f"not readable: {error}", "")]
    if not recorders:
        return [
            Check(
                area,
                f"recorders in {where}",
                WARN,
                "no configuration recorder: nothing is recorded here to protect",
                "set up AWS Config in this region, or leave it out of --region",
            )
        ]
    checks = []
    for recorder in recorders:
        name = f"recorder {recorder.name} in {where}"
        if recorder.service_linked:
            checks.append(
                Check(
                    area,
                    name,
                    OK,
                    f"service-linked ({recorder.service_principal or 'AWS service'}),"
                    f" {'recording' if recorder.recording else 'not recording'}; managed by"
                    " its service",
                )
            )
        elif not recorder.recording:
            checks.append(
                Check(
                    area,
                    name,
                    FAIL,
                    "not recording"
                    + (f" (last status {recorder.last_status})" if recorder.last_status else ""),
                    "aws configservice start-configuration-recorder"
                    f" --configuration-recorder-name {recorder.name}",
                )
            )
        elif not has_channel:
            checks.append(
                Check(
                    area,
                    name,
                    FAIL,
                    "recording, but no delivery channel: nothing is delivered",
                    "aws configservice put-delivery-channel ...",
                )
            )
        else:
            checks.append(Check(area, name, OK, "recording, with a delivery channel"))
    return checks


# --- Organization members -----------------------------------------------------------------


@dataclass(frozen=True)
class StackInstanceView:
    account: str
    region: str
    status: str  # CURRENT / OUTDATED / INOPERABLE
    reason: str = ""


def check_stack_instance(instance: StackInstanceView | None, account: str, region: str) -> Check:
    name = f"stackset instance {account} {region}"
    if instance is None:
        return Check(
            "member",
            name,
            FAIL,
            "no StackSet instance: this account and region forward nothing",
            "aws cloudformation create-stack-instances (or add the account's OU to the StackSet)",
        )
    if instance.status != "CURRENT":
        return Check(
            "member",
            name,
            WARN,
            f"instance {instance.status} {instance.reason}".strip(),
            "update the StackSet's instances",
        )
    return Check("member", name, OK, "CURRENT")


def member_summary(account: str, region: str, checks: Sequence[Check]) -> Check:
    """One line per account and region: the worst of its checks, naming what is not ok."""
    worst = (
        FAIL
        if any(c.status == FAIL for c in checks)
        else (WARN if any(c.status == WARN for c in checks) else OK)
    )
    problems = [f"{c.name}: {c.detail}" for c in checks if c.status != OK]
    detail = "; ".join(problems) if problems else f"{len(checks)} check(s) ok"
    fixes = "; ".join(dict.fromkeys(c.fix for c in checks if c.status != OK and c.fix))
    return Check("member", f"account {account} {region}", worst, detail, fixes)
