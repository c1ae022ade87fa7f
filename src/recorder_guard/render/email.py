"""Plain-text email: readable in any mail client in 30 seconds, no markup.

Lines stay within 78 characters (RFC 5322's recommendation) except where one word is longer:
text wraps at spaces only, so an ARN, ID, URL or `$ command` is never broken and stays
clickable and copy-pasteable.
Event-supplied values pass through `plain()`, so a user agent cannot start a new line or
hide text with bidi overrides.
"""

from __future__ import annotations

import re
import textwrap

from recorder_guard import __version__
from recorder_guard.domain.alert import LINK_LABELS, Alert, duration_text
from recorder_guard.domain.selftest import TEST_BANNER
from recorder_guard.render.escape import email_guard, plain
from recorder_guard.render.view import Medium, Step, alert_view

WIDTH = 78
ESCALATION = (
    "ESCALATED: this recorder was stopped again soon after recorder-guard restarted it. It"
    " was not restarted again, to avoid a restart loop: a person must look."
)
LABEL_WIDTH = 18
SIMPLE_TOKEN = re.compile(r"[\w.:/@+=,-]+")


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def _duration(seconds: float) -> str:
    if seconds < 0:
        return f"{-seconds:.1f} s before the call, clocks disagree;"
    return duration_text(seconds)


def quoted(value: str | None) -> str:
    """An untrusted value inside prose: escaped, and quoted unless it is one plain token, so
    a value with spaces cannot pass for part of the sentence."""
    text = plain(value)
    return text if SIMPLE_TOKEN.fullmatch(text) else '"' + text.replace('"', '\\"') + '"'


EMAIL = Medium(name=plain, inline=quoted, prose=plain, ours=plain)


def _wrap(value: str, first: str, rest: str) -> list[str]:
    """Wrapped at spaces only: an ARN, ID or URL longer than a line stays whole on its own."""
    return textwrap.wrap(
        value,
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def field_lines(label: str, value: str) -> list[str]:
    prefix = f"  {label + ':':<{LABEL_WIDTH}}"
    return _wrap(value, prefix, " " * len(prefix)) or [prefix.rstrip()]


def paragraph(value: str, indent: str = "  ", first: str | None = None) -> list[str]:
    return _wrap(value, first if first is not None else indent, indent)


def step_lines(steps: tuple[Step, ...]) -> list[str]:
    """`NEXT STEPS` and the numbered steps; nothing at all when there are none."""
    if not steps:
        return []
    lines = ["", "NEXT STEPS"]
    for number, step in enumerate(steps, 1):
        lines += paragraph(step.text, indent="     ", first=f"  {number}. ")
        if step.command:
            lines.append(f"     $ {step.command}")
    return lines


def render_email(alert: Alert) -> str:
    view = alert_view(alert, EMAIL)
    actor = alert.actor
    rule = alert.rule
    escalation = [*paragraph(ESCALATION, indent=""), ""] if alert.escalated else []
    banner = [*paragraph(TEST_BANNER, indent=""), ""] if alert.test else []
    lines = [
        *banner,
        f"{alert.headline.upper()} - {alert.severity.upper()} severity,"
        f" risk score {rule.risk_score}",
        "",
        *escalation,
        "WHAT HAPPENED",
        *paragraph(view.summary),
    ]
    if alert.service_linked:
        lines += paragraph(
            "This recorder is service-linked: only its AWS service may change it, so a customer"
            " call is unexpected and worth a closer look."
        )
    lines += [
        "",
        *field_lines(alert.resource_kind, view.resource),
        *field_lines("Lost", view.lost),
        *(field_lines("Recorder now", view.recorder_now) if view.recorder_now else []),
        *(field_lines("Mismatch", view.envelope_mismatch) if view.envelope_mismatch else []),
        *(field_lines("Auto-restart", view.remediation) if view.remediation else []),
        "",
        "WHO",
        *field_lines("Principal", f"{view.actor_name} ({view.actor_type})"),
        *field_lines("ARN", view.actor_arn),
        *field_lines("Account", view.actor_account),
        *(field_lines("Account alias", view.account_alias) if view.account_alias else []),
    ]
    if view.access_key:
        lines += field_lines("Access key", view.access_key)
    if view.session_issuer:
        lines += field_lines("Session issuer", view.session_issuer)
    if view.source_identity:
        lines += field_lines("Source identity", view.source_identity)
    lines += field_lines("MFA", _yes_no(actor.mfa_authenticated))
    lines += field_lines("Console session", _yes_no(actor.console_session))
    if view.invoked_by:
        lines += field_lines("Invoked by", view.invoked_by)
    delay = alert.delay_seconds
    lines += [
        "",
        "FROM WHERE",
        *field_lines("Source IP", view.source_ip),
        *field_lines("User agent", view.user_agent),
        "",
        "WHEN",
        *field_lines("Event time", view.event_time),
        *field_lines(
            "Detected",
            alert.detected_at.isoformat(timespec="seconds").replace("+00:00", "Z")
            + (f" ({_duration(delay)} after the call)" if delay is not None else ""),
        ),
        *field_lines("Event ID", view.event_id),
        "",
        "RULE",
        *field_lines("Name", rule.name),
        *field_lines("Rule ID", f"{rule.id} (version {rule.version}, {rule.ruleset})"),
        *field_lines("Severity", f"{alert.severity}, risk score {rule.risk_score} of 100"),
        *field_lines("MITRE ATT&CK", rule.mitre_summary()),
        *step_lines(view.steps),
    ]
    if alert.console_links:
        lines += ["", "LINKS"]
        for key, url in alert.console_links.items():
            lines += [f"  {LINK_LABELS[key]}:", f"  {url}"]
    lines += [
        "",
        "--",
        *paragraph(
            f"recorder-guard {__version__}. Values from the CloudTrail event are shown as"
            " sent, with control characters escaped. SQS, Lambda and Firehose subscribers of"
            " this topic receive the alert as JSON.",
            indent="",
        ),
    ]
    return email_guard("\n".join(lines) + "\n")
