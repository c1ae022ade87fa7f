"""Every string field of every rendition, for every sample event, with every hostile string in
every event-supplied field at once: nothing the caller wrote can notify, link, format or hide.

Chat (AWS Chatbot notification and the forwarder's Block Kit): outside code spans no `<`, `>`,
bare `&`, live URL or host name, formatting pair or mention; inside code spans no `<`, `>` or
bare `&`, and spans are always closed. Email: no C0/C1 control but the line break, no format
character (bidi overrides, zero-width). Subject: printable ASCII, at most 99 characters.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from typing import Any

import pytest

from recorder_guard.domain.alert import Actor, Alert, build_alert
from recorder_guard.domain.cloudtrail import parse_event
from recorder_guard.domain.detection import Detection, detect
from recorder_guard.domain.recorder import RecorderStatus
from recorder_guard.domain.remediation import RESTARTED, RemediationResult
from recorder_guard.domain.rules import load_rules
from recorder_guard.domain.values import fields
from recorder_guard.render.chatbot import render_chatbot
from recorder_guard.render.email import render_email
from recorder_guard.render.slack import render_slack
from recorder_guard.render.subject import SUBJECT_MAX, render_subject
from recorder_guard.render.view import TRUSTED, VIEWED
from tests.conftest import DETECTED_AT
from tests.support import sample_events

HOSTILE = [
    "<!here>",
    "<!everyone> <!channel>",
    "<@U024BE7LH> <#C024BE7LR> <!subteam^SAZ94GDB8>",
    "<!date^1392734382^{date}|x>",
    "<https://phish.example/x|Click to re-authenticate>",
    "https://phish.example/x",
    "www.phish.example",
    "mail phish.example now",
    "*bold* _italic_ ~strike~",
    "`code` ```block```",
    "&amp; &lt;!here&gt;",
    "> quote",
    "@here @channel",
    "\u202eexe.txt\u200b",
    "a\x00b\x1b[31mred\x85\u2028x\r\nSeverity: low",
    "&" * 3000,
    "`" * 5 + "<" * 2000,
]
KEEP = {"eventSource", "eventName", "eventVersion", "eventType", "eventCategory", "eventTime"}
CONSOLE = r"[a-z0-9.-]+\.(amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)"
OUR_LINK = re.compile(rf"<https://{CONSOLE}/[^|<>\s]*\|[A-Za-z ]+>")
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
LIVE_OUTSIDE_CODE = ("phish.example", "https://phish", "www.phish", "@here", "@channel")
FORMATTING = ("*bold*", "_italic_", "~strike~")
ALERTING = [
    name
    for name, event in sample_events().items()
    if isinstance(detect(parse_event(event), load_rules()), Detection)
]


def poisoned(event: Any, hostile: str) -> Any:
    """Every string the caller controls set to `hostile`; what detection needs is kept."""

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str) and key not in KEEP and not value.startswith(("EXCLUSION_",)):
            return hostile
        return value

    event = copy.deepcopy(event)
    event["detail"] = walk(event["detail"])
    return event


def alerts_for(name: str, hostile: str) -> list[Alert]:
    verdict = detect(parse_event(poisoned(sample_events()[name], hostile)), load_rules())
    assert isinstance(verdict, Detection), verdict
    status = RecorderStatus(recording=False, name=hostile, checked_at="2026-11-28T21:14:07Z")
    alerts = [build_alert(verdict, detected_at=DETECTED_AT, recorder_status=status)]
    if verdict.rule.restartable:
        restarted = RemediationResult(RESTARTED, f"{hostile} restarted", "enforce")
        alerts.append(build_alert(verdict, detected_at=DETECTED_AT, remediation=restarted))
    return alerts


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def assert_inert_chat(text: str) -> None:
    text = OUR_LINK.sub("", text)
    assert text.count("`") % 2 == 0, f"code span left open: {text[:200]!r}"
    parts = text.split("`")
    for index, part in enumerate(parts):
        assert "<" not in part, part[:200]
        assert ">" not in part, part[:200]
        assert not BARE_AMPERSAND.search(part), part[:200]
        if index % 2 == 0:  # outside a code span
            for live in (*LIVE_OUTSIDE_CODE, *FORMATTING):
                assert live not in part, (live, part[:200])


def assert_clean_email(text: str) -> None:
    for char in text:
        category = unicodedata.category(char)
        assert char == "\n" or category not in ("Cc", "Cf", "Zl", "Zp"), repr(char)


@pytest.mark.parametrize("name", ALERTING)
@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_no_rendition_lets_the_caller_speak(name: str, hostile: str) -> None:
    for alert in alerts_for(name, hostile):
        for field_chars in (8000, 400):
            for text in strings(render_chatbot(alert, field_chars)):
                assert_inert_chat(text)
        for text in strings(render_slack(alert.to_document())):
            assert_inert_chat(text)
        assert_clean_email(render_email(alert))
        subject = render_subject(alert)
        assert 0 < len(subject) <= SUBJECT_MAX
        assert all(" " <= char <= "~" for char in subject)


def test_every_string_of_an_alert_is_viewed_or_trusted() -> None:
    """A new string field on Alert or Actor must be routed through the view (or declared
    trusted), so no renderer can print it raw by forgetting."""
    names = {name for name, kind in fields(Alert).items() if "str" in kind and "dict" not in kind}
    names |= {f"actor.{name}" for name, kind in fields(Actor).items() if "str" in kind}
    assert names <= VIEWED | TRUSTED, sorted(names - VIEWED - TRUSTED)
    assert "user_agent" in names
    assert "actor.arn" in names
