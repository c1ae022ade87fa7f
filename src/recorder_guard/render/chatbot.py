"""The AWS Chatbot (Amazon Q Developer in chat applications) custom notification.

Schema: https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html (version
"1.0", source "custom", textType "client-markdown"). The published page does not state
length limits; we hold each field to the tightest ones in public client code (title 250,
description 8,000, each next step 350, each keyword 75 characters) so nothing is cut by
Chatbot without a visible marker.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from recorder_guard.domain.alert import LINK_LABELS, Alert, NextStep, remediation_text
from recorder_guard.domain.limits import clip
from recorder_guard.domain.selftest import TEST_BANNER
from recorder_guard.render.escape import plain, slack_code, slack_text

TITLE_MAX = 250
DESCRIPTION_MAX = 8000
NEXT_STEP_MAX = 350
KEYWORD_MAX = 75
ESCALATION_LINE = ":rotating_light: *ESCALATED:* stopped again after an automatic restart"
SEVERITY_EMOJI = {
    "low": ":large_blue_circle:",
    "medium": ":large_yellow_circle:",
    "high": ":large_orange_circle:",
    "critical": ":red_circle:",
}


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def _description(alert: Alert) -> str:
    actor = alert.actor
    lines = [
        alert.summary(slack_code, slack_text),
        f"*Severity:* {alert.severity} (risk score {alert.rule.risk_score})",
        f"*Recorder:* {slack_code(alert.recorder_name)}"
        + (" (service-linked)" if alert.service_linked else ""),
        f"*Recorder now:* {slack_text(alert.recorder_now)}",
        f"*Account / region:* {slack_code(alert.account_id)}"
        + (f" ({slack_code(alert.account_alias)})" if alert.account_alias else "")
        + f" / {slack_code(alert.region)}",
        f"*Who:* {slack_code(actor.display_name)} ({slack_text(actor.type)})",
        f"*Principal ARN:* {slack_code(actor.arn)}",
    ]
    if alert.remediation:
        lines.insert(4, f"*Auto-restart:* {remediation_text(alert.remediation, slack_text)}")
    if alert.escalated:
        lines.insert(0, ESCALATION_LINE)
    if alert.test:
        lines.insert(0, f"*{slack_text(TEST_BANNER)}*")
    if actor.access_key_id:
        lines.append(f"*Access key:* {slack_code(actor.access_key_id)}")
    lines += [
        f"*MFA:* {_yes_no(actor.mfa_authenticated)}   *Console session:* "
        f"{_yes_no(actor.console_session)}",
        f"*Source IP:* {slack_code(alert.source_ip)}",
        f"*User agent:* {slack_code(alert.user_agent)}",
        f"*Event time:* {slack_text(alert.event_time)}   *Event ID:* {slack_code(alert.event_id)}",
        f"*MITRE ATT&amp;CK:* {slack_text(alert.rule.mitre_summary())}",
    ]
    if actor.invoked_by:
        lines.append(f"*Invoked by:* {slack_code(actor.invoked_by)}")
    links = [f"<{url}|{LINK_LABELS[key]}>" for key, url in alert.console_links.items()]
    if links:
        lines.append("*Links:* " + " · ".join(links))
    return "\n".join(lines)


def _target(alert: Alert) -> str:
    name = slack_code(alert.resource_name or alert.recorder_name)
    return name if alert.rule.single_action else f"{slack_text(alert.action)} {name}"


def _step(step: NextStep) -> str:
    command = f" {slack_code(step.command)}" if step.command else ""
    return slack_text(step.text) + command


def custom_notification(
    *,
    identifier: str | None,
    title: str,
    description: str,
    next_steps: Iterable[NextStep],
    keywords: Iterable[str],
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """The custom notification envelope with every field held to its limit; the event alerts
    and the backstop's notices both go out through it."""
    return {
        "version": "1.0",
        "source": "custom",
        "id": clip(plain(identifier), 256),
        "content": {
            "textType": "client-markdown",
            "title": clip(title, TITLE_MAX),
            "description": clip(description, DESCRIPTION_MAX),
            "nextSteps": [clip(_step(step), NEXT_STEP_MAX) for step in next_steps],
            "keywords": [clip(slack_text(keyword), KEYWORD_MAX) for keyword in keywords],
        },
        "metadata": metadata,
    }


def render_chatbot(alert: Alert) -> dict[str, Any]:
    """A custom notification whose every event-supplied string is inline code."""
    emoji = SEVERITY_EMOJI[alert.severity]
    escalated = "TEST " if alert.test else ("ESCALATED " if alert.escalated else "")
    title = (
        f"{emoji} {escalated}{slack_text(alert.rule.name)}: {_target(alert)}"
        f" in {slack_code(alert.account_id)} / {slack_code(alert.region)}"
    )
    keywords = [
        alert.severity,
        alert.action,
        f"account {alert.account_id or 'unknown'}",
        alert.region or "unknown region",
        *alert.rule.attack_ids(),
    ]
    return custom_notification(
        identifier=alert.event_id,
        title=title,
        description=_description(alert),
        next_steps=alert.next_steps,
        keywords=keywords,
        metadata={
            "threadId": clip(
                plain(f"{alert.account_id}/{alert.region}/{alert.recorder_name}"), 256
            ),
            "summary": clip(plain(alert.title), TITLE_MAX),
            "eventType": alert.action,
            "relatedResources": [
                clip(plain(v), 256) for v in (alert.actor.arn, alert.recorder_name) if v
            ],
            "additionalContext": {
                "ruleId": alert.rule.id,
                "severity": alert.severity,
                "riskScore": str(alert.rule.risk_score),
            },
        },
    )


def chat_preview(notification: dict[str, Any]) -> str:
    """Roughly what Slack shows, for the terminal: title, description, next steps, keywords."""
    content = notification["content"]
    steps = "\n".join(f"  {i}. {s}" for i, s in enumerate(content["nextSteps"], 1))
    return (
        f"{content['title']}\n{content['description']}\n*Next steps*\n{steps}\n"
        f"Keywords: {', '.join(content['keywords'])}"
    )
