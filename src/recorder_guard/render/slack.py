"""Slack Block Kit for the webhook forwarder, rendered from the ECS JSON alert.

The forwarder receives the alert as a machine consumer does (the `lambda` rendition), so this
works from the document alone. Slack's limits (https://api.slack.com/reference/block-kit):
header text 150 characters, section text 3,000, at most 10 fields of 2,000 each, 50 blocks;
every event-supplied value is inline code (or, in the notification fallback `text`, made
inert by `slack_inert`), so no link, mention or formatting can be injected. Every mrkdwn text
object is `verbatim` (Slack does not auto-link URLs or names in it,
https://docs.slack.dev/reference/block-kit/composition-objects/text-object), the header is
plain text holding only our own words, and link previews are off (`unfurl_links`,
`unfurl_media`). Values are clipped before they are escaped; whole fields are cut by
`slack_clip`, which never splits an entity or a code span.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from recorder_guard.domain.alert import LINK_LABELS
from recorder_guard.domain.limits import clip
from recorder_guard.render.escape import plain, slack_clip, slack_code, slack_inert, slack_text

HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
BLOCKS_MAX = 50
FALLBACK_MAX = 3000
SEVERITY_EMOJI = {"low": "🔵", "medium": "🟡", "high": "🟠", "critical": "🔴"}
# Our console links only: https, a console host, no character that could end Slack's markup.
CONSOLE_URL = re.compile(
    r"https://[a-z0-9.-]+\.(amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)/[^\s<>|&]*"
)
NOTICE_HEADERS = {  # the backstop's notices other than a new alert
    "reminder": "⏰ Reminder:",
    "resolved": "🟢 Resolved:",
    "gone": "⚪ Closed:",
    "digest": "📋 Daily digest:",
}


def _get(document: Mapping[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


VALUE_MAX = 1024  # characters of each document value kept, before escaping


def _text(document: Mapping[str, Any], path: str) -> str | None:
    """A string of the document, clipped before any escaping."""
    value = _get(document, path)
    return clip(value, VALUE_MAX) if isinstance(value, str) else None


def _mrkdwn(text: str, limit: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": slack_clip(text, limit), "verbatim": True}


def _field(label: str, value: str) -> dict[str, Any]:
    return _mrkdwn(f"*{label}*\n{value}", FIELD_MAX)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text, SECTION_MAX)}


def _severity(document: Mapping[str, Any]) -> dict[str, str]:
    severity = _text(document, "recorder_guard.severity") or "unknown"
    risk = _get(document, "event.risk_score")
    return _field("Severity", f"{slack_inert(severity)} (risk score {slack_inert(str(risk))})")


def _event_fields(document: Mapping[str, Any]) -> list[dict[str, str]]:
    subtechniques = _get(document, "threat.technique.subtechnique.id") or []
    recorder = _text(document, "recorder_guard.recorder.name")
    status = _text(document, "recorder_guard.recorder.status.summary")
    state = _text(document, "recorder_guard.recorder.state")
    kind = _text(document, "recorder_guard.recorder.resource_kind")
    return [
        _severity(document),
        _field("Action", slack_code(_text(document, "event.action"))),
        _field(
            kind or "Recorder",
            slack_code(_text(document, "recorder_guard.recorder.resource") or recorder),
        ),
        *([_field("Recorder now", slack_inert(state or status))] if state or status else []),
        _field(
            "Account / region",
            f"{slack_code(_text(document, 'cloud.account.id'))} / "
            f"{slack_code(_text(document, 'cloud.region'))}",
        ),
        _field(
            "Actor",
            f"{slack_code(_text(document, 'recorder_guard.actor.display_name'))} "
            f"({slack_code(_text(document, 'aws.cloudtrail.user_identity.type'))})\n"
            f"{slack_code(_text(document, 'aws.cloudtrail.user_identity.arn'))}",
        ),
        _field("Source IP", slack_code(_text(document, "source.ip"))),
        _field("User agent", slack_code(_text(document, "user_agent.original"))),
        _field(
            "MITRE ATT&amp;CK",
            slack_text(
                _text(document, "recorder_guard.attack.summary")
                or (", ".join(str(s) for s in subtechniques) if subtechniques else None)
            ),
        ),
        _field("Event time", slack_code(_text(document, "event.start"))),
    ][:FIELDS_MAX]


def _backstop_fields(document: Mapping[str, Any]) -> list[dict[str, str]]:
    """A scheduled-check notice has no caller: the recorder's state and the episode instead."""
    problems = _get(document, "recorder_guard.recorder.status.problems") or []
    opened = _text(document, "recorder_guard.episode.opened_at")
    by = _text(document, "recorder_guard.episode.opened_by")
    fields = [
        _severity(document),
        _field("Recorder", slack_code(_text(document, "recorder_guard.recorder.name"))),
        _field(
            "Recorder now", slack_inert(_text(document, "recorder_guard.recorder.status.summary"))
        ),
        _field("Problems", slack_inert(", ".join(str(p) for p in problems) or "none")),
        _field(
            "Account / region",
            f"{slack_code(_text(document, 'cloud.account.id'))} / "
            f"{slack_code(_text(document, 'cloud.region'))}",
        ),
    ]
    stopper = _text(document, "recorder_guard.stopped_by.arn")
    if stopper:
        fields.append(_field("Stopped by", slack_code(stopper)))
    if opened:
        fields.append(_field("Episode opened", f"{slack_code(opened)} by {slack_inert(by)}"))
    return fields


def _headline(document: Mapping[str, Any], rule: str) -> str:
    """The alert's one line with every event value as code: rule, target, account, region."""
    recorder = _get(document, "recorder_guard.recorder")
    target = None
    if isinstance(recorder, Mapping):
        for key in ("resource", "name"):
            value = recorder.get(key)
            if isinstance(value, str) and value:
                target = clip(value, VALUE_MAX)
                break
    return (
        f"{slack_text(rule)}: {slack_code(target)} in"
        f" {slack_code(_text(document, 'cloud.account.id'))} /"
        f" {slack_code(_text(document, 'cloud.region'))}"
    )


def _steps(document: Mapping[str, Any]) -> list[str]:
    """Our step text as prose, the command (event values, shell-quoted) as code."""
    structured = _get(document, "recorder_guard.steps")
    if isinstance(structured, list):
        steps = []
        for step in structured:
            if not isinstance(step, Mapping) or not isinstance(step.get("text"), str):
                continue
            command = step.get("command")
            steps.append(
                slack_text(clip(step["text"], VALUE_MAX))
                + (f" {slack_code(clip(command, VALUE_MAX))}" if isinstance(command, str) else "")
            )
        return steps
    listed = _get(document, "recorder_guard.next_steps") or []
    return [slack_inert(clip(s, VALUE_MAX)) for s in listed if isinstance(s, str)]


def render_slack(document: Mapping[str, Any]) -> dict[str, Any]:
    """A webhook payload: `text` (notifications, fallback) and `blocks`."""
    rule = _text(document, "rule.name") or "recorder-guard alert"
    severity = _text(document, "recorder_guard.severity") or "unknown"
    emoji = SEVERITY_EMOJI.get(severity, "⚪")
    escalated = bool(_get(document, "recorder_guard.remediation.escalated"))
    restarted = _get(document, "recorder_guard.remediation.outcome") == "restarted"
    state = "ESCALATED: " if escalated else ""
    header = f"{emoji} {state}{plain(rule)}" + (", restarted" if restarted else "")
    if _get(document, "recorder_guard.test") is True:
        header = f"🧪 TEST: {plain(rule)}"
    notice = _text(document, "recorder_guard.notice")
    if notice in NOTICE_HEADERS:
        header = f"{NOTICE_HEADERS[notice]} {plain(rule)}"
    backstop = _text(document, "event.dataset") == "recorder_guard.backstop"
    fields = _backstop_fields(document) if backstop else _event_fields(document)
    headline = slack_code(_text(document, "message")) if backstop else _headline(document, rule)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(header, HEADER_MAX), "emoji": True},
        },
        _section(headline),
    ]
    lost = _text(document, "recorder_guard.lost")
    if lost:
        blocks.append(_section(f"*Lost:* {slack_inert(lost)}"))
    blocks.append({"type": "section", "fields": fields})
    remediation = _get(document, "recorder_guard.remediation")
    if isinstance(remediation, Mapping):
        outcome = slack_inert(clip(str(remediation.get("outcome")), VALUE_MAX))
        detail = slack_inert(clip(str(remediation.get("detail")), VALUE_MAX))
        blocks.append(_section(f"*Auto-restart:* {outcome}: {detail}"))
    steps = _steps(document)
    if steps:
        listed = "\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1))
        blocks.append(_section(f"*Next steps*\n{listed}"))
    links = _get(document, "recorder_guard.console_links")
    if isinstance(links, Mapping):
        elements = [
            _mrkdwn(f"<{url}|{LINK_LABELS[key]}>", SECTION_MAX)
            for key, url in links.items()
            if key in LINK_LABELS and isinstance(url, str) and CONSOLE_URL.fullmatch(url)
        ]
        if elements:
            blocks.append({"type": "context", "elements": elements[:10]})
    event_id = _text(document, "event.id")
    blocks.append(
        {
            "type": "context",
            "elements": [
                _mrkdwn(
                    f"recorder-guard · rule {slack_code(_text(document, 'rule.id'))}"
                    f" · event {slack_code(event_id)}",
                    SECTION_MAX,
                )
            ],
        }
    )
    fallback = f"{emoji} {slack_inert(_text(document, 'message') or rule)}"
    return {
        "text": slack_clip(fallback, FALLBACK_MAX),
        "blocks": blocks[:BLOCKS_MAX],
        "unfurl_links": False,
        "unfurl_media": False,
    }
