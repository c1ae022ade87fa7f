"""Plain-text email: readable in any mail client in 30 seconds, no markup.

Lines stay within 78 characters (RFC 5322's recommendation) except a line holding one URL
or one `$ command`: those are never broken, so they stay clickable and copy-pasteable.
Event-supplied values pass through `plain()`, so a user agent cannot start a new line or
hide text with bidi overrides.
"""

from __future__ import annotations

import re
import textwrap

from recorder_guard import __version__
from recorder_guard.domain.alert import LINK_LABELS, Alert, remediation_text
from recorder_guard.domain.selftest import TEST_BANNER
from recorder_guard.render.escape import plain

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
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def quoted(value: str | None) -> str:
    """An untrusted value inside prose: escaped, and quoted unless it is one plain token, so
    a value with spaces cannot pass for part of the sentence."""
    text = plain(value)
    return text if SIMPLE_TOKEN.fullmatch(text) else '"' + text.replace('"', '\\"') + '"'


def field_lines(label: str, value: str) -> list[str]:
    prefix = f"  {label + ':':<{LABEL_WIDTH}}"
    return textwrap.wrap(
        value,
        width=WIDTH,
        initial_indent=prefix,
        subsequent_indent=" " * len(prefix),
        break_long_words=True,
        break_on_hyphens=False,
    ) or [prefix.rstrip()]


def paragraph(value: str, indent: str = "  ", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        value,
        width=WIDTH,
        initial_indent=first if first is not None else indent,
        subsequent_indent=indent,
        break_on_hyphens=False,
    )


def render_email(alert: Alert) -> str:
    actor = alert.actor
    rule = alert.rule
    escalation = [*paragraph(ESCALATION, indent=""), ""] if alert.escalated else []
    banner = [*paragraph(TEST_BANNER, indent=""), ""] if alert.test else []
    lines = [
        *banner,
        f"{rule.name.upper()} - {alert.severity.upper()} severity, risk score {rule.risk_score}",
        "",
        *escalation,
        "WHAT HAPPENED",
        *paragraph(alert.summary(quoted, plain)),
    ]
    if alert.service_linked:
        lines += paragraph(
            "This recorder is service-linked: only its AWS service may change it, so a customer"
            " call is unexpected and worth a closer look."
        )
    lines += [
        "",
        *(field_lines("Account alias", plain(alert.account_alias)) if alert.account_alias else []),
        *field_lines("Recorder now", alert.recorder_now),
        *(
            field_lines("Auto-restart", remediation_text(alert.remediation, plain))
            if alert.remediation
            else []
        ),
        "",
        "WHO",
        *field_lines("Principal", f"{plain(actor.display_name)} ({plain(actor.type)})"),
        *field_lines("ARN", plain(actor.arn)),
        *field_lines("Account", plain(actor.account_id)),
    ]
    if actor.access_key_id:
        lines += field_lines("Access key", plain(actor.access_key_id))
    if actor.session_issuer_arn:
        lines += field_lines("Session issuer", plain(actor.session_issuer_arn))
    if actor.source_identity:
        lines += field_lines("Source identity", plain(actor.source_identity))
    lines += field_lines("MFA", _yes_no(actor.mfa_authenticated))
    lines += field_lines("Console session", _yes_no(actor.console_session))
    if actor.invoked_by:
        lines += field_lines("Invoked by", plain(actor.invoked_by))
    lines += [
        "",
        "FROM WHERE",
        *field_lines("Source IP", plain(alert.source_ip)),
        *field_lines("User agent", plain(alert.user_agent)),
        "",
        "WHEN",
        *field_lines("Event time", plain(alert.event_time)),
        *field_lines(
            "Detected",
            alert.detected_at.isoformat(timespec="seconds").replace("+00:00", "Z")
            + (
                f" ({_duration(alert.delay_seconds)} after the call)" if alert.delay_seconds else ""
            ),
        ),
        *field_lines("Event ID", plain(alert.event_id)),
        "",
        "RULE",
        *field_lines("Name", rule.name),
        *field_lines("Rule ID", f"{rule.id} (version {rule.version}, {rule.ruleset})"),
        *field_lines("Severity", f"{alert.severity}, risk score {rule.risk_score} of 100"),
        *field_lines("MITRE ATT&CK", rule.mitre_summary()),
        "",
        "NEXT STEPS",
    ]
    for number, step in enumerate(alert.next_steps, 1):
        lines += paragraph(step.text, indent="     ", first=f"  {number}. ")
        if step.command:
            lines.append(f"     $ {plain(step.command)}")
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
    return "\n".join(lines) + "\n"
