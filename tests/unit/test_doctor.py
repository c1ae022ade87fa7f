"""doctor's checks with plain data: each in its ok and failing state, including what moto
cannot show (a subscription pending confirmation, AWS's default event selector)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recorder_guard.domain.doctor import (
    FAIL,
    OK,
    WARN,
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
    exit_status,
    logs_management_events,
    member_summary,
    needs_read_only_events,
    schedule_period,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
FUNCTION = "arn:aws:lambda:us-east-1:111122223333:function:rg-responder"
DLQ = "arn:aws:sqs:us-east-1:111122223333:rg-dlq"
AWS_DEFAULT = {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}


def trail(**overrides: object) -> TrailView:
    values: dict[str, object] = {
        "name": "main",
        "arn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/main",
        "home_region": "us-east-1",
        "multi_region": True,
        "logging": True,
        "selectors": AWS_DEFAULT,
    }
    values.update(overrides)
    return TrailView(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("selectors", "writes", "reads"),
    [
        ({}, True, True),  # moto's answer for a trail without selectors: the default
        ({"EventSelectors": [], "AdvancedEventSelectors": []}, True, True),
        (AWS_DEFAULT, True, True),
        ({"EventSelectors": [{"ReadWriteType": "WriteOnly"}]}, True, False),
        ({"EventSelectors": [{"ReadWriteType": "ReadOnly"}]}, False, True),
        (
            {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]},
            False,
            False,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
                ]
            },
            True,
            True,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["true"]},
                        ]
                    }
                ]
            },
            False,
            True,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}
                ]
            },
            False,
            False,
        ),
    ],
)
def test_event_selectors(selectors: dict[str, object], writes: bool, reads: bool) -> None:
    assert logs_management_events(selectors, writes=True) is writes
    assert logs_management_events(selectors, writes=False) is reads


def test_cloudtrail_ok_with_a_multi_region_trail_from_another_region() -> None:
    check = check_cloudtrail("eu-west-1", [trail()])
    assert check.status == OK
    assert "multi-region" in check.detail


@pytest.mark.parametrize(
    ("trails", "why"),
    [
        ([], "no trail covers"),
        ([trail(multi_region=False)], "no trail covers"),
        ([trail(logging=False)], "not logging"),
        ([trail(selectors={"EventSelectors": [{"ReadWriteType": "ReadOnly"}]})], "write"),
        ([trail(error="AccessDeniedException: no")], "not readable"),
    ],
)
def test_cloudtrail_fails(trails: list[TrailView], why: str) -> None:
    check = check_cloudtrail("eu-west-1", trails)
    assert check.status == FAIL
    assert why in check.detail
    assert "eb-service-event-cloudtrail" in check.fix


def test_cloudtrail_warns_when_a_rule_needs_read_only_events() -> None:
    writes_only = trail(selectors={"EventSelectors": [{"ReadWriteType": "WriteOnly"}]})
    assert check_cloudtrail("us-east-1", [writes_only], needs_read_only=True).status == WARN
    assert check_cloudtrail("us-east-1", [trail()], needs_read_only=True).status == OK
    rules = [RuleView("R", "r", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")]
    assert needs_read_only_events(rules)
    assert not needs_read_only_events([RuleView("R", "r", "ENABLED")])


def rule(**overrides: object) -> RuleView:
    values: dict[str, object] = {
        "logical_id": "StoppedRecorderRule",
        "name": "rg-StoppedRecorderRule-1",
        "state": "ENABLED",
        "targets": (TargetView(FUNCTION, DLQ),),
    }
    values.update(overrides)
    return RuleView(**values)  # type: ignore[arg-type]


def test_rule_ok_including_a_qualified_function_arn() -> None:
    assert check_rule(rule(), [FUNCTION], "rg").status == OK
    qualified = rule(targets=(TargetView(FUNCTION + ":live", DLQ),))
    assert check_rule(qualified, [FUNCTION], "rg").status == OK


@pytest.mark.parametrize(
    ("view", "status", "why"),
    [
        (rule(state=None), FAIL, "does not exist"),
        (rule(state="DISABLED"), FAIL, "DISABLED"),
        (rule(targets=()), FAIL, "no target"),
        (rule(targets=(TargetView("arn:aws:sns:us-east-1:1:other", DLQ),)), FAIL, "none"),
        (rule(targets=(TargetView(FUNCTION, None),)), WARN, "no dead-letter queue"),
        (rule(error="AccessDeniedException: x"), FAIL, "AccessDenied"),
    ],
)
def test_rule_failures(view: RuleView, status: str, why: str) -> None:
    check = check_rule(view, [FUNCTION], "rg")
    assert (check.status, why in check.detail) == (status, True)
    assert check.fix


def topic(*subscriptions: Subscription, label: str = "alert topic") -> TopicView:
    return TopicView(label, "arn:aws:sns:us-east-1:111122223333:alerts", subscriptions)


CONFIRMED = Subscription("email", "sec@example.com", "arn:aws:sns:us-east-1:1:alerts:abc")
PENDING = Subscription("email", "new@example.com", "PendingConfirmation")


def test_topic_confirmed_and_pending() -> None:
    checks = check_topic(topic(CONFIRMED, PENDING), required=True)
    assert [c.status for c in checks] == [OK, WARN]
    assert "new@example.com" in checks[1].detail
    assert "new@example.com" in checks[1].fix


def test_alert_topic_with_only_pending_subscriptions_fails_and_names_each() -> None:
    checks = check_topic(topic(PENDING), required=True)
    assert [c.status for c in checks] == [FAIL, WARN]
    assert "new@example.com" in checks[1].detail


def test_operator_topic_without_subscription_is_a_warning() -> None:
    (check,) = check_topic(topic(label="operator topic"), required=False)
    assert check.status == WARN
    assert "aws sns subscribe" in check.fix


def test_chatbot_and_webhook() -> None:
    chatbot = Subscription(
        "https", "https://global.sns-api.chatbot.amazonaws.com", "arn:aws:sns:us-east-1:1:a:c"
    )
    assert check_chatbot(topic(), deployed=False) is None
    assert check_chatbot(topic(chatbot), deployed=True).status == OK  # type: ignore[union-attr]
    assert check_chatbot(topic(CONFIRMED), deployed=True).status == WARN  # type: ignore[union-attr]
    forwarder = "arn:aws:lambda:us-east-1:1:function:fwd"
    subscribed = Subscription("lambda", forwarder, "arn:aws:sns:us-east-1:1:a:d")
    assert check_webhook_forwarder(topic(), None) is None
    assert check_webhook_forwarder(topic(subscribed), forwarder).status == OK  # type: ignore[union-attr]
    assert check_webhook_forwarder(topic(CONFIRMED), forwarder).status == FAIL  # type: ignore[union-attr]


def test_a_chatbot_endpoint_subscribed_over_another_protocol_is_flagged() -> None:
    endpoint = "http://global.sns-api.chatbot.amazonaws.com"
    plain = Subscription("http", endpoint, "arn:aws:sns:us-east-1:1:a:c")
    https_endpoint = "https://global.sns-api.chatbot.amazonaws.com"
    https = Subscription("https", https_endpoint, "arn:x:c")
    assert check_chatbot_protocol(topic(https, CONFIRMED)) == []
    (check,) = check_chatbot_protocol(topic(https, plain, CONFIRMED))
    assert (check.area, check.status) == ("delivery", WARN)
    assert check.detail.startswith(f"http subscription to {endpoint}")
    assert "receives the ECS JSON document" in check.detail
    assert "--protocol https" in check.fix
    assert f"--protocol https --notification-endpoint {https_endpoint}," in check.fix
    assert "unsubscribe --subscription-arn arn:aws:sns:us-east-1:1:a:c" in check.fix
    pending = Subscription("http", endpoint, PENDING.arn)
    (check,) = check_chatbot_protocol(topic(pending))
    assert "--protocol https" in check.fix
    assert "unsubscribe" not in check.fix  # nothing to remove before it is confirmed


def test_queue() -> None:
    assert check_queue(QueueView("DeadLetterQueue", "https://q", 0, 0), "rg").status == OK
    full = check_queue(QueueView("DeadLetterQueue", "https://q", 2, 1), "rg")
    assert full.status == FAIL
    assert "3 message(s)" in full.detail
    assert "make redrive QUEUE_URL=https://q" in full.fix


def test_alarms() -> None:
    (ok,) = check_alarms([AlarmView("a", "OK"), AlarmView("b", "INSUFFICIENT_DATA")])
    assert ok.status == OK
    firing = check_alarms([AlarmView("a", "ALARM", "Threshold crossed"), AlarmView("b", "OK")])
    assert [(c.name, c.status) for c in firing] == [("alarm a", FAIL)]


@pytest.mark.parametrize(
    ("view", "status"),
    [
        (FunctionView("function R", "f", "Active", None), OK),
        (FunctionView("function R", "f", "Active", 5), OK),
        (FunctionView("function R", "f", "Active", 0), FAIL),
        (FunctionView("function R", "f", "Failed", None), FAIL),
        (FunctionView("function R", "f", "Active", None, recent_errors=3), WARN),
        (FunctionView("function R", "f", None, None, error="ResourceNotFoundException"), FAIL),
    ],
)
def test_function(view: FunctionView, status: str) -> None:
    assert check_function(view, 24).status == status


def test_schedule_period() -> None:
    assert schedule_period("rate(15 minutes)") == timedelta(minutes=15)
    assert schedule_period("rate(1 hour)") == timedelta(hours=1)
    assert schedule_period("rate(2 days)") == timedelta(days=2)
    assert schedule_period("cron(0 6 * * ? *)") == timedelta(days=1)


def backstop(runs: tuple[datetime, ...], state: str | None = "ENABLED") -> BackstopView:
    return BackstopView("rg-schedule", state, "rate(15 minutes)", runs)


def test_backstop_within_two_periods() -> None:
    assert check_backstop(backstop((NOW - timedelta(minutes=29),)), NOW).status == OK
    late = check_backstop(backstop((NOW - timedelta(minutes=31),)), NOW)
    assert late.status == FAIL
    assert "30 minutes" in late.detail
    assert check_backstop(backstop(()), NOW).status == FAIL
    assert check_backstop(backstop((NOW,), state="DISABLED"), NOW).status == FAIL
    assert check_backstop(backstop((NOW,), state=None), NOW).status == FAIL


def test_recorders() -> None:
    views = [
        RecorderView("default", True),
        RecorderView("AWSConfigurationRecorderForX", False, "config-conforms.amazonaws.com"),
    ]
    checks = check_recorders("us-east-1", views, has_channel=True)
    assert [c.status for c in checks] == [OK, OK]
    assert "service-linked" in checks[1].detail
    (stopped,) = check_recorders("us-east-1", [RecorderView("default", False)], True)
    assert stopped.status == FAIL
    assert "start-configuration-recorder" in stopped.fix
    (no_channel,) = check_recorders("us-east-1", [RecorderView("default", True)], False)
    assert no_channel.status == FAIL
    (none,) = check_recorders("us-east-1", [], True)
    assert none.status == WARN
    (unreadable,) = check_recorders("us-east-1", [], True, error="AccessDenied")
    assert unreadable.status == FAIL


def test_member_lines_and_exit_status() -> None:
    assert check_stack_instance(None, "1", "us-east-1").status == FAIL
    outdated = StackInstanceView("1", "us-east-1", "OUTDATED", "update failed")
    assert check_stack_instance(outdated, "1", "us-east-1").status == WARN
    good = Check("member", "a", OK, "fine")
    bad = Check("member", "b", FAIL, "broken", "fix it")
    summary = member_summary("222233334444", "us-east-1", [good, bad])
    assert (summary.name, summary.status) == ("account 222233334444 us-east-1", FAIL)
    assert "b: broken" in summary.detail
    assert summary.fix == "fix it"
    assert member_summary("2", "r", [good]).status == OK
    assert exit_status([good, Check("x", "y", WARN, "z")]) == 0
    assert exit_status([good, bad]) == 1
    with pytest.raises(ValueError, match="unknown check status"):
        Check("x", "y", "maybe", "z")
