"""The AWS Chatbot (Amazon Q Developer in chat applications) custom notification.

Schema: https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html (version
"1.0", source "custom", textType "client-markdown"). The published page does not state
length limits; we hold each field to the tightest ones in public client code (title 250,
description 8,000, each next step 350, each keyword 75 characters) so nothing is cut by
Chatbot without a visible marker. `client-markdown` is rendered in the chat platform's
markdown (Slack mrkdwn for Slack), and AWS's own sample puts Slack link syntax in it, so our
values are escaped for Slack exactly as in a Block Kit message (render/escape.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from recorder_guard.domain.alert import LINK_LABELS, Alert
from recorder_guard.domain.selftest import TEST_BANNER
from recorder_guard.render.escape import plain, slack_clip, slack_code, slack_inert, slack_text
from recorder_guard.render.view import AlertView, Medium, Step, alert_view

TITLE_MAX = 250
DESCRIPTION_MAX = 8000
NEXT_STEP_MAX = 350
KEYWORD_MAX = 75
METADATA_MAX = 256
ESCALATION_LINE = ":rotating_light: *ESCALATED:* stopped again after an automatic restart"
SEVERITY_EMOJI = {
    "low": ":large_blue_circle:",
    "medium": ":large_yellow_circle:",
    "high": ":large_orange_circle:",
    "critical": ":red_circle:",
}
RESTARTED_EMOJI = ":large_green_circle:"


def chat_medium(field_chars: int = DESCRIPTION_MAX) -> Medium:
    """Slack mrkdwn through AWS Chatbot: names as code spans, our prose escaped; each raw
    value is cut to a share of the field budget before it is escaped."""
    return Medium(
        name=slack_code,
        inline=slack_code,
        prose=slack_inert,
        ours=slack_text,
        value_limit=max(min(1024, field_chars // 4), 16),
    )


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def _description(alert: Alert, view: AlertView) -> str:
    actor = alert.actor
    lines = [
        view.summary,
        f"*Severity:* {alert.severity} (risk score {alert.rule.risk_score})",
        f"*{alert.resource_kind}:* {view.resource}"
        + (" (service-linked)" if alert.service_linked else ""),
        f"*Lost:* {view.lost}",
        *([f"*Recorder now:* {view.recorder_now}"] if view.recorder_now else []),
        f"*Account / region:* {view.account}"
        + (f" ({view.account_alias})" if view.account_alias else "")
        + f" / {view.region}",
        f"*Who:* {view.actor_name} ({view.actor_type})",
        f"*Principal ARN:* {view.actor_arn}",
    ]
    if view.remediation:
        lines.insert(5, f"*Auto-restart:* {view.remediation}")
    if alert.escalated:
        lines.insert(0, ESCALATION_LINE)
    if alert.test:
        lines.insert(0, f"*{slack_text(TEST_BANNER)}*")
    if view.access_key:
        lines.append(f"*Access key:* {view.access_key}")
    lines += [
        f"*MFA:* {_yes_no(actor.mfa_authenticated)}   *Console session:* "
        f"{_yes_no(actor.console_session)}",
        f"*Source IP:* {view.source_ip}",
        f"*User agent:* {view.user_agent}",
        f"*Event time:* {view.event_time}   *Event ID:* {view.event_id}",
        f"*MITRE ATT&amp;CK:* {slack_text(alert.rule.mitre_summary())}",
    ]
    if view.invoked_by:
        lines.append(f"*Invoked by:* {view.invoked_by}")
    links = [f"<{url}|{LINK_LABELS[key]}>" for key, url in alert.console_links.items()]
    if links:
        lines.append("*Links:* " + " · ".join(links))
    return "\n".join(lines)


def _step(step: Step) -> str:
    return step.text + (f" {step.command}" if step.command else "")


def custom_notification(
    *,
    identifier: str | None,
    title: str,
    description: str,
    next_steps: Iterable[Step],
    keywords: Iterable[str],
    metadata: dict[str, Any],
    field_chars: int = DESCRIPTION_MAX,
) -> dict[str, Any]:
    """The custom notification envelope; every argument is already escaped for Slack, so
    each field is only held to its limit here, without splitting an entity or a code span.
    The event alerts and the backstop's notices both go out through it."""
    return {
        "version": "1.0",
        "source": "custom",
        "id": slack_clip(slack_inert(identifier), METADATA_MAX),
        "content": {
            "textType": "client-markdown",
            "title": slack_clip(title, min(TITLE_MAX, field_chars)),
            "description": slack_clip(description, min(DESCRIPTION_MAX, field_chars)),
            "nextSteps": [
                slack_clip(_step(step), min(NEXT_STEP_MAX, field_chars)) for step in next_steps
            ],
            "keywords": [slack_clip(keyword, KEYWORD_MAX) for keyword in keywords],
        },
        "metadata": metadata,
    }


def thread_id(*parts: str | None) -> str:
    """Notifications about one recorder share a thread; the id carries no event text."""
    digest = hashlib.sha256("/".join(plain(p) for p in parts).encode("utf-8", "replace"))
    return f"recorder-guard-{digest.hexdigest()[:32]}"


def inert(value: str | None, limit: int = METADATA_MAX) -> str:
    """A metadata or keyword value: clipped, then made inert (no code span is possible)."""
    return slack_inert(value if value is None else value[:limit])


def render_chatbot(alert: Alert, field_chars: int = DESCRIPTION_MAX) -> dict[str, Any]:
    """A custom notification whose every event-supplied string is inline code (or inert text
    where Chatbot shows no markdown); `field_chars` bounds each field when SNS's size limit
    requires a smaller message."""
    medium = chat_medium(field_chars)
    view = alert_view(alert, medium)
    emoji = RESTARTED_EMOJI if alert.restarted else SEVERITY_EMOJI[alert.severity]
    escalated = "TEST " if alert.test else ("ESCALATED " if alert.escalated else "")
    title = (
        f"{emoji} {escalated}{slack_text(alert.headline)}: {view.target}"
        f" in {view.account} / {view.region}"
    )
    keywords = [
        alert.severity,
        inert(alert.action, KEYWORD_MAX),
        "account " + inert(alert.account_id, KEYWORD_MAX),
        inert(alert.region or "unknown region", KEYWORD_MAX),
        *alert.rule.attack_ids(),
    ]
    if alert.restarted:
        keywords.insert(1, "restarted")
    return custom_notification(
        identifier=alert.event_id,
        title=title,
        description=_description(alert, view),
        next_steps=view.steps,
        keywords=keywords,
        field_chars=field_chars,
        metadata={
            "threadId": thread_id(alert.account_id, alert.region, alert.recorder_name),
            "summary": slack_clip(inert(alert.title), min(TITLE_MAX, field_chars)),
            "eventType": inert(alert.action, 100),
            "relatedResources": [
                slack_clip(inert(v), METADATA_MAX)
                for v in (alert.actor.arn, alert.resource_name or alert.recorder_name)
                if v
            ],
            "additionalContext": {
                "ruleId": alert.rule.id,
                "severity": alert.severity,
                "riskScore": str(alert.rule.risk_score),
            },
        },
    )


def _shown(text: str) -> str:
    """mrkdwn as the reader sees it: links as `label (url)`, entities decoded (Slack decodes
    `&amp;`, `&lt;`, `&gt;` for display; AWS Chatbot passes markdown through, see
    docs/alerts.md)."""
    text = re.sub(r"<(https://[^|<>]+)\|([^<>]+)>", r"\2 (\1)", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def chat_preview(notification: dict[str, Any]) -> str:
    """Roughly what Slack shows, for the terminal: title, description, next steps, keywords."""
    content = notification["content"]
    steps = "\n".join(f"  {i}. {_shown(s)}" for i, s in enumerate(content["nextSteps"], 1))
    return (
        f"{_shown(content['title'])}\n{_shown(content['description'])}\n*Next steps*\n{steps}\n"
        f"Keywords: {', '.join(_shown(k) for k in content['keywords'])}"
    )
