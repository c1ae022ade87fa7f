"""Slack Block Kit for the webhook forwarder, rendered from the ECS JSON alert.

The forwarder receives the alert as a machine consumer does (the `lambda` rendition), so this
works from the document alone. Slack's limits (https://api.slack.com/reference/block-kit):
header text 150 characters, section text 3,000, at most 10 fields of 2,000 each, 50 blocks;
every event-supplied value is inline code, so no link, mention or formatting can be injected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recorder_guard.domain.alert import LINK_LABELS
from recorder_guard.domain.limits import clip
from recorder_guard.render.escape import slack_code, slack_text

HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
BLOCKS_MAX = 50
FALLBACK_MAX = 3000
SEVERITY_EMOJI = {"low": "🔵", "medium": "🟡", "high": "🟠", "critical": "🔴"}
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


def _text(document: Mapping[str, Any], path: str) -> str | None:
    value = _get(document, path)
    return value if isinstance(value, str) else None


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", FIELD_MAX)}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_MAX)}}


def _severity(document: Mapping[str, Any]) -> dict[str, str]:
    severity = _text(document, "recorder_guard.severity") or "unknown"
    risk = _get(document, "event.risk_score")
    return _field("Severity", f"{slack_text(severity)} (risk score {slack_text(str(risk))})")


def _event_fields(document: Mapping[str, Any]) -> list[dict[str, str]]:
    subtechniques = _get(document, "threat.technique.subtechnique.id") or []
    recorder = _text(document, "recorder_guard.recorder.name")
    status = _text(document, "recorder_guard.recorder.status.summary")
    return [
        _severity(document),
        _field("Action", slack_code(_text(document, "event.action"))),
        _field(
            "Recorder", slack_code(recorder or _text(document, "recorder_guard.recorder.resource"))
        ),
        _field("Recorder now", slack_text(status)),
        _field(
            "Account / region",
            f"{slack_code(_text(document, 'cloud.account.id'))} / "
            f"{slack_code(_text(document, 'cloud.region'))}",
        ),
        _field(
            "Actor",
            f"{slack_code(_text(document, 'recorder_guard.actor.display_name'))} "
            f"({slack_text(_text(document, 'aws.cloudtrail.user_identity.type'))})\n"
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
        _field("Event time", slack_text(_text(document, "event.start"))),
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
            "Recorder now", slack_text(_text(document, "recorder_guard.recorder.status.summary"))
        ),
        _field("Problems", slack_text(", ".join(str(p) for p in problems) or "none")),
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
        fields.append(_field("Episode opened", f"{slack_text(opened)} by {slack_text(by)}"))
    return fields


def render_slack(document: Mapping[str, Any]) -> dict[str, Any]:
    """A webhook payload: `text` (notifications, fallback) and `blocks`."""
    rule = _text(document, "rule.name") or "recorder-guard alert"
    severity = _text(document, "recorder_guard.severity") or "unknown"
    emoji = SEVERITY_EMOJI.get(severity, "⚪")
    escalated = bool(_get(document, "recorder_guard.remediation.escalated"))
    header = f"{emoji} {'ESCALATED: ' if escalated else ''}{rule}"
    if _get(document, "recorder_guard.test") is True:
        header = f"🧪 TEST: {rule}"
    notice = _text(document, "recorder_guard.notice")
    if notice in NOTICE_HEADERS:
        header = f"{NOTICE_HEADERS[notice]} {rule}"
    fields = (
        _backstop_fields(document)
        if _text(document, "event.dataset") == "recorder_guard.backstop"
        else _event_fields(document)
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(header, HEADER_MAX)}},
        _section(slack_text(_text(document, "message"))),
        {"type": "section", "fields": fields},
    ]
    remediation = _get(document, "recorder_guard.remediation")
    if isinstance(remediation, Mapping):
        outcome = slack_text(str(remediation.get("outcome")))
        blocks.append(
            _section(f"*Auto-restart:* {outcome}: {slack_text(str(remediation.get('detail')))}")
        )
    steps = [s for s in _get(document, "recorder_guard.next_steps") or [] if isinstance(s, str)]
    if steps:
        listed = "\n".join(f"{n}. {slack_text(step)}" for n, step in enumerate(steps, 1))
        blocks.append(_section(f"*Next steps*\n{listed}"))
    links = _get(document, "recorder_guard.console_links")
    if isinstance(links, Mapping):
        elements = [
            {"type": "mrkdwn", "text": f"<{url}|{LINK_LABELS[key]}>"}
            for key, url in links.items()
            if key in LINK_LABELS and isinstance(url, str) and url.startswith("https://")
        ]
        if elements:
            blocks.append({"type": "context", "elements": elements[:10]})
    event_id = _text(document, "event.id")
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": clip(
                        f"recorder-guard · rule {slack_text(_text(document, 'rule.id'))}"
                        f" · event {slack_code(event_id)}",
                        SECTION_MAX,
                    ),
                }
            ],
        }
    )
    fallback = f"{emoji} {slack_text(_text(document, 'message') or rule)}"
    return {"text": clip(fallback, FALLBACK_MAX), "blocks": blocks[:BLOCKS_MAX]}
