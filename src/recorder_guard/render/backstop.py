"""The backstop's notices as email, chat and subject: same conventions as the event alerts.

Recorder names, aliases and error codes come from the account being checked, so they are
escaped like CloudTrail values: `plain` in email, inline code in chat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recorder_guard import __version__
from recorder_guard.domain.alert import remediation_text
from recorder_guard.domain.limits import clip
from recorder_guard.domain.notice import (
    DIGEST,
    NAME_LIMIT,
    OPENED,
    REMINDER,
    ExpectedOff,
    Notice,
    iso,
)
from recorder_guard.render.chatbot import (
    SEVERITY_EMOJI,
    TITLE_MAX,
    custom_notification,
    inert,
    thread_id,
)
from recorder_guard.render.email import field_lines, paragraph, quoted, step_lines
from recorder_guard.render.escape import (
    email_guard,
    plain,
    slack_clip,
    slack_code,
    slack_inert,
    slack_text,
)
from recorder_guard.render.subject import clip_subject
from recorder_guard.render.view import Step

SUBJECT_TAGS = {
    "alert": "",
    "reminder": "[REMINDER] ",
    "resolved": "[RESOLVED] ",
    "gone": "[CLOSED] ",
    "digest": "[DIGEST] ",
}
RESOLVED_EMOJI = ":large_green_circle:"
Escape = Callable[[str | None], str]


def render_notice_subject(notice: Notice) -> str:
    tag = SUBJECT_TAGS[notice.kind]
    if notice.kind == DIGEST:
        return clip_subject(f"{tag}recorder-guard: {notice.headline()}")
    severity = f"[{notice.severity.upper()}] " if notice.kind == OPENED else ""
    what = {
        "alert": "Config recorder not recording",
        "reminder": f"Config recorder not recording for {notice.lasted}",
        "resolved": "Config recorder recording again",
        "gone": "Config recorder deleted while not recording",
    }[notice.kind]
    if notice.kind == OPENED and notice.restarted:
        what = "Config recorder was not recording, restarted"
    where = f"{notice.account or 'unknown account'} {notice.region or ''}".strip()
    return clip_subject(f"{tag}{severity}{what}: {notice.recorder} in {where}")


def _last_started(notice: Notice) -> str:
    """Config's lastStartTime; one after this check's own time means the clocks disagree
    (moto stamps real time under a fixed demo clock), which is said, not hidden."""
    started = notice.check.last_start_time if notice.check else None
    if not started:
        return "never"
    checked = iso(notice.detected_at)
    if started.replace("+00:00", "Z") > checked:
        return f"{plain(started)} (after this check at {checked}: the clocks disagree)"
    return plain(started)


def _steps(notice: Notice, text: Escape, command: Escape) -> tuple[Step, ...]:
    return tuple(
        Step(text(step.text), command(step.command) if step.command else None)
        for step in notice.next_steps
    )


def _digest_lines(entry: ExpectedOff) -> list[str]:
    key = entry.check.key
    recorder = quoted(clip(key.recorder, NAME_LIMIT))
    return [
        f"  - {plain(key.account)} / {plain(key.region)} / {recorder}:"
        f" {plain(', '.join(entry.check.problems))} (ExpectedOff {plain(entry.pattern)})"
    ]


def _digest_section(notice: Notice) -> list[str]:
    lines = [f"EXPECTED OFF ({len(notice.expected_off)})"]
    for entry in notice.expected_off[: notice.listed]:
        lines += _digest_lines(entry)
    if len(notice.expected_off) > notice.listed:
        lines.append(f"  ... and {len(notice.expected_off) - notice.listed} more")
    lines += ["", f"NOT CHECKED ({len(notice.unchecked)})"]
    for region in notice.unchecked[: notice.listed]:
        lines.append(f"  - {plain(region.account)} / {plain(region.region)}: {plain(region.error)}")
    if len(notice.unchecked) > notice.listed:
        lines.append(f"  ... and {len(notice.unchecked) - notice.listed} more")
    return lines


def _recorder_section(notice: Notice) -> list[str]:
    check = notice.check
    lines = [
        "RECORDER",
        *field_lines("Recorder", quoted(notice.recorder)),
        *field_lines("Account", plain(notice.account)),
        *(
            field_lines("Account alias", plain(notice.account_alias))
            if notice.account_alias
            else []
        ),
        *field_lines("Region", plain(notice.region)),
        *field_lines("Recorder now", plain(notice.recorder_now)),
        *field_lines("Problems", plain(notice.problems or "none")),
    ]
    if check:
        lines += field_lines("Last status", plain(check.last_status))
        if check.last_error_code:
            lines += field_lines("Last error", plain(check.last_error_code))
        lines += field_lines("Last started", _last_started(notice))
        if check.last_stop_time:
            lines += field_lines("Last stopped", plain(check.last_stop_time))
        lines += field_lines("Delivery channel", "yes" if check.has_delivery_channel else "none")
    stopped_by = notice.stopped_by(quoted, plain)
    if stopped_by:
        lines += field_lines("Stopped by", stopped_by)
    if notice.remediation:
        lines += field_lines("Auto-restart", remediation_text(notice.remediation, plain))
    if notice.episode:
        lines += field_lines("Episode", notice.opened_text(quoted, plain))
    return lines


def render_notice_email(notice: Notice) -> str:
    rule = notice.rule
    lines = [
        f"{rule.name.upper()} - {notice.kind.upper()}",
        "",
        "WHAT",
        *paragraph(notice.headline(quoted)),
        "",
        *paragraph(notice.summary(quoted, plain)),
        "",
    ]
    lines += _digest_section(notice) if notice.kind == DIGEST else _recorder_section(notice)
    lines += [
        "",
        "RULE",
        *field_lines("Name", rule.name),
        *field_lines("Rule ID", f"{rule.id} (version {rule.version}, {rule.ruleset})"),
        *field_lines("Severity", f"{notice.severity}, risk score {rule.risk_score} of 100"),
        *field_lines("MITRE ATT&CK", rule.mitre_summary()),
    ]
    lines += step_lines(_steps(notice, plain, plain))
    link = notice.console_link()
    if link:
        lines += ["", "LINKS", "  AWS Config recorder settings:", f"  {link}"]
    lines += [
        "",
        "--",
        *paragraph(
            f"recorder-guard {__version__}, scheduled check. Recorder names and error codes"
            " are shown as AWS Config returned them, with control characters escaped.",
            indent="",
        ),
    ]
    return email_guard("\n".join(lines) + "\n")


def render_notice_chatbot(notice: Notice) -> dict[str, Any]:
    """An AWS Chatbot custom notification (same schema and limits as the event alerts)."""
    emoji = (
        SEVERITY_EMOJI[notice.severity]
        if notice.kind in (OPENED, REMINDER) and not notice.restarted
        else RESOLVED_EMOJI
    )
    lines = [notice.summary(slack_code, slack_inert)]
    if notice.kind == DIGEST:
        for entry in notice.expected_off[: notice.listed]:
            key = entry.check.key
            lines.append(
                f"• {slack_code(key.account)} / {slack_code(key.region)} /"
                f" {slack_code(clip(key.recorder, NAME_LIMIT))}:"
                f" {slack_inert(', '.join(entry.check.problems))}"
                f" (ExpectedOff {slack_code(entry.pattern)})"
            )
        for region in notice.unchecked[: notice.listed]:
            lines.append(
                f"• not checked: {slack_code(region.account)} / {slack_code(region.region)}:"
                f" {slack_code(region.error)}"
            )
    else:
        lines += [
            f"*Recorder now:* {slack_inert(notice.recorder_now)}",
            f"*Problems:* {slack_inert(notice.problems or 'none')}",
            f"*Account / region:* {slack_code(notice.account)}"
            + (f" ({slack_code(notice.account_alias)})" if notice.account_alias else "")
            + f" / {slack_code(notice.region)}",
        ]
        stopped_by = notice.stopped_by(slack_code, slack_inert)
        if stopped_by:
            lines.append(f"*Stopped by:* {stopped_by}")
        if notice.remediation:
            lines.append(f"*Auto-restart:* {remediation_text(notice.remediation, slack_inert)}")
        if notice.episode:
            lines.append(f"*Episode:* {notice.opened_text(slack_code, slack_inert)}")
        link = notice.console_link()
        if link:
            lines.append(f"*Links:* <{link}|AWS Config recorder settings>")
    return custom_notification(
        identifier=notice.identifier,
        title=f"{emoji} {notice.headline(slack_code)}",
        description="\n".join(lines),
        next_steps=_steps(notice, slack_text, slack_code),
        keywords=[
            inert(w, 75) for w in (notice.severity, f"backstop {notice.kind}", notice.region) if w
        ],
        metadata={
            "threadId": thread_id(notice.account, notice.region, notice.recorder),
            "summary": slack_clip(notice.headline(inert), TITLE_MAX),
            "eventType": f"backstop-{notice.kind}",
            "additionalContext": {
                "ruleId": notice.rule.id,
                "severity": notice.severity,
                "riskScore": str(notice.rule.risk_score),
            },
        },
    )
