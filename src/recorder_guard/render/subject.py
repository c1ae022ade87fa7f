"""The SNS Subject: what an email client shows first, held to SNS's real rules.

SNS requires ASCII only, no line breaks or control characters, starting with a letter,
number or punctuation mark, and fewer than 100 characters. moto checks only part of that.
"""

from __future__ import annotations

from recorder_guard.domain.alert import Alert
from recorder_guard.render.escape import ascii_only

SUBJECT_MAX = 99
ELLIPSIS = "..."


def clip_subject(text: str) -> str:
    """Any text made into a valid subject; cut text ends with '...'."""
    subject = ascii_only(text)
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - len(ELLIPSIS)].rstrip() + ELLIPSIS
    if not subject or not (
        subject[0].isalnum() or subject[0] in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    ):
        subject = "Alert: " + subject
        subject = clip_subject(subject) if len(subject) > SUBJECT_MAX else subject
    return subject


def render_subject(alert: Alert) -> str:
    where = f"{alert.account_id or 'unknown account'} {alert.region or ''}".strip()
    prefix = "TEST " if alert.test else ("[ESCALATED] " if alert.escalated else "")
    headline = (
        "Config recorder stopped"
        if alert.action == "StopConfigurationRecorder"
        else alert.rule.name
    )
    return clip_subject(f"{prefix}[{alert.severity.upper()}] {headline}: {alert.target} in {where}")
