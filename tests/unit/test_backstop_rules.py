"""The backstop's decisions, settings and renditions, without AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from recorder_guard.aws.publish import SNS_MAX_BYTES, build_notice_request
from recorder_guard.domain.notice import DIGEST, OPENED, RESOLVED, ExpectedOff, Notice, build_notice
from recorder_guard.domain.recorder import (
    BY_BACKSTOP,
    BY_EVENT,
    Episode,
    RecorderCheck,
    RecorderKey,
    RegionCheck,
    Stopper,
)
from recorder_guard.domain.rules import scheduled_rule
from recorder_guard.flows.backstop import RULE_KEY, decide
from recorder_guard.render.backstop import render_notice_chatbot, render_notice_email
from recorder_guard.settings import Settings, SettingsError, expected_off_patterns

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
KEY = RecorderKey("111122223333", "us-east-1", "default")
STOPPED = RecorderCheck(KEY, recording=False, last_start_time="2026-11-01T00:00:00+00:00")
RUNNING = RecorderCheck(KEY, recording=True, last_start_time="2026-11-01T00:00:00+00:00")
EPISODE = Episode(KEY, opened_at=1000, notified_at=1000, problem="not recording", source=BY_EVENT)


def kinds(plan: object) -> list[str]:
    return [d.kind for d in plan.decisions]  # type: ignore[attr-defined]


def test_expected_off_entries_read_as_account_region_or_recorder() -> None:
    assert expected_off_patterns("123456789012, eu-west-3,sandbox-recorder, */us-*/x") == (
        "123456789012/*/*",
        "*/eu-west-3/*",
        "*/*/sandbox-recorder",
        "*/us-*/x",
    )
    with pytest.raises(SettingsError, match="account/region/recorder"):
        expected_off_patterns("a/b")


def test_backstop_settings_are_checked() -> None:
    topic = "arn:aws:sns:us-east-1:111122223333:alerts"
    with pytest.raises(SettingsError, match="STATE_TABLE_NAME"):
        Settings.from_env({"ALERT_TOPIC_ARN": topic, "BACKSTOP": "true", "IDEMPOTENCY": "false"})
    with pytest.raises(SettingsError, match="BACKSTOP_REGIONS"):
        Settings.from_env(
            {"ALERT_TOPIC_ARN": topic, "STATE_TABLE_NAME": "t", "BACKSTOP_REGIONS": "mars-1"}
        )
    settings = Settings.from_env(
        {"ALERT_TOPIC_ARN": topic, "STATE_TABLE_NAME": "t", "BACKSTOP_REMINDER_HOURS": "0"}
    )
    assert settings.reminder_seconds == 0


def test_decide_opens_reminds_resolves_and_skips() -> None:
    region = RegionCheck("111122223333", "us-east-1", (STOPPED,))
    assert kinds(decide([region], {}, expected_off=(), now=2000, reminder_seconds=3600)) == [OPENED]
    episodes = {KEY: EPISODE}
    assert kinds(decide([region], episodes, expected_off=(), now=2000, reminder_seconds=3600)) == []
    assert kinds(decide([region], episodes, expected_off=(), now=4600, reminder_seconds=3600)) == [
        "reminder"
    ]
    assert (
        kinds(decide([region], episodes, expected_off=(), now=9_000_000_000, reminder_seconds=0))
        == []
    )
    running = RegionCheck("111122223333", "us-east-1", (RUNNING,))
    assert kinds(decide([running], episodes, expected_off=(), now=2000, reminder_seconds=0)) == [
        RESOLVED
    ]


def test_an_unreadable_region_is_a_blind_spot_not_a_resolution() -> None:
    unreadable = RegionCheck("111122223333", "us-east-1", error="AccessDeniedException")
    plan = decide([unreadable], {KEY: EPISODE}, expected_off=(), now=2000, reminder_seconds=0)
    assert plan.decisions == ()
    assert plan.unchecked == (unreadable,)


def test_expected_off_goes_to_the_digest_and_closes_an_old_episode_quietly() -> None:
    region = RegionCheck("111122223333", "us-east-1", (STOPPED,))
    plan = decide(
        [region], {KEY: EPISODE}, expected_off=("*/us-east-1/*",), now=2000, reminder_seconds=0
    )
    assert plan.decisions == ()
    assert plan.expected_off == (ExpectedOff(STOPPED, "*/us-east-1/*"),)
    assert plan.stale == (EPISODE,)


HOSTILE = "x\n\u202eFAKE <!channel> `code` <https://evil.example|click> @here"


def test_a_hostile_recorder_name_is_escaped_everywhere() -> None:
    key = RecorderKey("111122223333", "us-east-1", HOSTILE)
    notice = build_notice(
        OPENED,
        scheduled_rule(RULE_KEY),
        partition="aws",
        detected_at=NOW,
        check=RecorderCheck(key, recording=False),
    )
    email = render_notice_email(notice)
    assert "\u202e" not in email
    assert "\nFAKE" not in email
    rendered = render_notice_chatbot(notice)
    chat = json.dumps([rendered["content"], rendered["metadata"]["summary"]], ensure_ascii=False)
    for injected in ("<!channel>", "<https://evil", "@here"):
        assert injected not in chat
    assert "\u202e" not in chat
    request = build_notice_request(notice, "arn:aws:sns:us-east-1:111122223333:alerts")
    assert request["Subject"].isascii()
    assert "\n" not in request["Subject"]


def test_a_notice_message_has_the_ecs_document_once_as_default() -> None:
    notice = build_notice(
        OPENED, scheduled_rule(RULE_KEY), partition="aws", detected_at=NOW, check=STOPPED
    )
    request = build_notice_request(notice, "arn:aws:sns:us-east-1:111122223333:alerts")
    message = json.loads(request["Message"])
    assert set(message) == {"default", "https", "email"}
    document = json.loads(message["default"])
    assert (document["event"]["kind"], document["event"]["action"]) == ("alert", "backstop-alert")
    assert request["Message"].count(json.dumps(message["default"])) == 1
    assert json.loads(message["https"])["source"] == "custom"
    assert message["email"] == render_notice_email(notice)


def test_a_huge_digest_is_shrunk_under_the_sns_limit_with_a_count() -> None:
    entries = tuple(
        ExpectedOff(
            RecorderCheck(RecorderKey(f"{n:012d}", "us-east-1", "r" * 256), recording=False),
            f"{n:012d}/*/*",
        )
        for n in range(5000)
    )
    notice = Notice(
        kind=DIGEST,
        rule=scheduled_rule(RULE_KEY),
        partition="aws",
        detected_at=NOW,
        expected_off=entries,
    )
    request = build_notice_request(notice, "arn:aws:sns:us-east-1:111122223333:alerts")
    assert len(request["Message"].encode()) < SNS_MAX_BYTES
    email = json.loads(request["Message"])["email"]
    assert "EXPECTED OFF (5000)" in email
    assert "more" in email.splitlines()[email.splitlines().index("NOT CHECKED (0)") - 2]


def test_the_backstop_rule_is_ours_and_outside_the_event_catalogue() -> None:
    from recorder_guard.domain.rules import load_rules

    rule = scheduled_rule(RULE_KEY)
    assert rule.name == "AWS Config Recorder Not Recording"
    assert rule.author == ("recorder-guard",)
    assert rule.key not in {r.key for r in load_rules()}
    assert BY_BACKSTOP == "backstop"


def test_a_failing_delivery_is_a_problem_even_while_recording() -> None:
    failing = RecorderCheck(
        KEY,
        recording=True,
        last_status="Failure",
        last_error_code="AccessDenied",
        last_start_time="2026-11-01T00:00:00+00:00",
    )
    assert failing.problems == ("last delivery failed (AccessDenied)",)
    assert not failing.restartable  # restarting cannot fix a delivery failure
    region = RegionCheck("111122223333", "us-east-1", (failing,))
    assert kinds(decide([region], {}, expected_off=(), now=2000, reminder_seconds=0)) == [OPENED]


def test_a_hostile_caller_from_cloudtrail_is_escaped() -> None:
    stopper = Stopper(
        arn="arn:aws:sts::111122223333:assumed-role/Admin/" + HOSTILE,
        issuer_arn=None,
        display_name=HOSTILE,
        identity_type="AssumedRole",
        source_ip="203.0.113.9",
        event_id="e-1",
        event_time="2026-11-29T05:00:00Z",
    )
    notice = build_notice(
        OPENED,
        scheduled_rule(RULE_KEY),
        partition="aws",
        detected_at=NOW,
        check=STOPPED,
        stopper=stopper,
    )
    email = render_notice_email(notice)
    assert "Stopped by:" in email
    assert "\u202e" not in email
    assert "\nFAKE" not in email
    description = render_notice_chatbot(notice)["content"]["description"]
    assert "*Stopped by:* `x\\n\\u202eFAKE &lt;!channel&gt;" in description
    for injected in ("<!channel>", "<https://evil", "@here"):
        assert injected not in description
