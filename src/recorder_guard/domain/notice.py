"""What the backstop publishes: an episode's alert, reminder and resolution, and the digest.

A Notice is built from what Config says now and what the episode store remembers; it has no
CloudTrail event behind it, so it carries no actor. Pure, so every rendition is testable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from recorder_guard.domain.alert import (
    ECS_VERSION,
    SEVERITY_NUMBER,
    NextStep,
    config_settings_url,
    console_base,
    ecs_document,
)
from recorder_guard.domain.alert import next_steps as rule_next_steps
from recorder_guard.domain.limits import clip
from recorder_guard.domain.recorder import (
    BY_EVENT,
    Episode,
    RecorderCheck,
    RecorderKey,
    RegionCheck,
    Stopper,
)
from recorder_guard.domain.remediation import RESTARTED, RemediationResult
from recorder_guard.domain.rules import Rule
from recorder_guard.domain.values import field, value

SCHEMA_VERSION = "1.0"
Escape = Callable[[str | None], str]
OPENED = "alert"
REMINDER = "reminder"
RESOLVED = "resolved"
GONE = "gone"
DIGEST = "digest"
DIGEST_LIMIT = 200  # entries listed per section; the rest are counted
NAME_LIMIT = 256  # Config's own limit on a recorder name
NOTICE_EVENT_TYPES = {
    OPENED: ["info"],
    REMINDER: ["info"],
    RESOLVED: ["change"],
    GONE: ["deletion"],
    DIGEST: ["info"],
}


def iso(moment: datetime | int) -> str:
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def duration(seconds: float) -> str:
    """`3 d 4 h`, `5 h 10 min`, `12 min`: how long an episode has lasted."""
    minutes = max(int(seconds // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@value
class ExpectedOff:
    check: RecorderCheck
    pattern: str


@value
class Notice:
    kind: str  # OPENED | REMINDER | RESOLVED | GONE | DIGEST
    rule: Rule
    partition: str
    detected_at: datetime
    check: RecorderCheck | None = None
    episode: Episode | None = None
    remediation: RemediationResult | None = None
    account_alias: str | None = None
    expected_off: tuple[ExpectedOff, ...] = ()
    unchecked: tuple[RegionCheck, ...] = ()
    next_steps: tuple[NextStep, ...] = field(default=(), repr=False)
    listed: int = DIGEST_LIMIT  # digest entries rendered per section (shrunk to fit SNS)
    stopper: Stopper | None = None  # the StopConfigurationRecorder call, when CloudTrail has it

    @property
    def key(self) -> RecorderKey | None:
        """The recorder this notice is about (none for the digest)."""
        return self.check.key if self.check else self.episode.key if self.episode else None

    @property
    def account(self) -> str | None:
        return self.key.account if self.key else None

    @property
    def region(self) -> str | None:
        return self.key.region if self.key else None

    @property
    def recorder(self) -> str | None:
        return clip(self.key.recorder, NAME_LIMIT) if self.key else None

    @property
    def problems(self) -> str:
        """What is wrong now; without a fresh check, what was wrong when the episode opened."""
        if self.check is not None:
            return ", ".join(self.check.problems)
        return self.episode.problem if self.episode else ""

    def stopped_by(self, name: Escape = str, prose: Escape = str) -> str | None:
        """Who stopped it, as CloudTrail says; None when nothing was looked up."""
        if self.stopper:
            who = self.stopper
            return (
                f"{name(who.display_name)} ({prose(who.identity_type)}) {name(who.arn)},"
                f" {prose('call at')} {name(who.event_time)}, {prose('event')}"
                f" {name(who.event_id)}"
            )
        check = self.check
        if self.kind == OPENED and check and not check.recording and check.last_stop_time:
            return prose(
                f"no StopConfigurationRecorder call for it in CloudTrail's event history around"
                f" {check.last_stop_time} (it can lag by minutes)"
            )
        return None

    @property
    def restarted(self) -> bool:
        return bool(self.remediation and self.remediation.outcome == RESTARTED)

    @property
    def severity(self) -> str:
        return "low" if self.kind == DIGEST else self.rule.severity

    @property
    def lasted(self) -> str | None:
        """How long the episode has been open, for reminders and resolutions."""
        if not self.episode:
            return None
        return duration(self.detected_at.timestamp() - self.episode.opened_at)

    @property
    def recording_now(self) -> bool | None:
        """After our verified restart it records; None when there is nothing to read."""
        if self.kind == GONE or (self.check is None and not self.restarted):
            return None
        return self.restarted or bool(self.check and self.check.recording)

    @property
    def recorder_now(self) -> str:
        if self.kind == GONE:
            return "the recorder no longer exists"
        if self.restarted:
            return "recording again (restarted and verified by recorder-guard)"
        if self.check is None:
            return "unknown"
        return "recording" if self.check.recording else "not recording"

    def headline(self, name: Escape = str) -> str:
        """One line; `name` escapes the untrusted parts for the format it lands in."""
        if self.kind == DIGEST:
            return (
                f"Daily digest: {len(self.expected_off)} recorder(s) expected off,"
                f" {len(self.unchecked)} region(s) not checked"
            )
        where = f"{name(self.account)} / {name(self.region)}"
        recorder = name(self.recorder)
        if self.kind == REMINDER:
            return f"Still not recording after {self.lasted}: {recorder} in {where}"
        if self.kind == RESOLVED:
            return f"Recording again after {self.lasted}: {recorder} in {where}"
        if self.kind == GONE:
            return f"Recorder no longer exists, episode closed: {recorder} in {where}"
        if self.restarted:
            return f"Recorder was not recording, restarted: {recorder} in {where}"
        return f"{self.rule.name}: {recorder} in {where}"

    def summary(self, name: Escape = str, prose: Escape = str) -> str:
        """`name` escapes names for the format; `prose` escapes the rest (our sentences
        with AWS-supplied error codes in them)."""
        if self.kind == DIGEST:
            return prose(
                "Recorders listed in ExpectedOff are not alerted on or restarted; they are"
                " listed here once a day so the exemption stays visible. Regions that could"
                " not be checked are blind spots of the backstop itself."
            )
        story = self.rule.summary.format(
            recorder=name(self.recorder),
            account=name(self.account),
            region=name(self.region),
            scope=prose(self.problems),
        )
        opened = self.opened_text(name, prose)
        if self.kind == OPENED:
            return story
        if self.kind == REMINDER:
            return f"{opened} {prose('It is still not recording.')} {story}"
        if self.kind == RESOLVED:
            return f"{opened} {prose('It is recording again; the episode is closed.')}"
        return f"{opened} {prose('The recorder has since been deleted; the episode is closed.')}"

    def opened_text(self, name: Escape = str, prose: Escape = str) -> str:
        """When and by which path the episode was opened, and what was wrong then."""
        episode = self.episode
        if not episode:
            return ""
        by = (
            f"{prose('by the alert on CloudTrail event')} {name(episode.event_id)}"
            if episode.source == BY_EVENT
            else prose("by the scheduled check")
        )
        return (
            prose(f"Found not recording at {iso(episode.opened_at)}")
            + f" ({by}: {prose(episode.problem)})."
        )

    def console_link(self) -> str | None:
        base = console_base(self.partition, self.region)
        return config_settings_url(base, self.region) if base and self.region else None

    @property
    def identifier(self) -> str:
        """Stable per episode (chat threads group by it)."""
        if self.kind == DIGEST:
            return f"digest/{iso(self.detected_at)}"
        opened = self.episode.opened_at if self.episode else int(self.detected_at.timestamp())
        return f"{self.account}/{self.region}/{self.recorder}/{opened}"

    def to_document(self) -> dict[str, Any]:
        """The ECS document machine subscribers receive, shaped like the event alerts."""
        detected = iso(self.detected_at)
        flat: dict[str, Any] = {
            "@timestamp": detected,
            "ecs.version": ECS_VERSION,
            "message": self.headline(),
            "event.kind": "alert" if self.kind in (OPENED, REMINDER) else "event",
            "event.category": ["configuration"],
            # ECS expects configuration with access, change, creation, deletion or info: a
            # recorder recording again is a change, one that was deleted a deletion.
            "event.type": NOTICE_EVENT_TYPES[self.kind],
            "event.action": f"backstop-{self.kind}",
            "event.id": self.identifier,
            "event.module": "recorder_guard",
            "event.dataset": "recorder_guard.backstop",
            "event.created": detected,
            "event.start": iso(self.episode.opened_at) if self.episode else None,
            "event.risk_score": self.rule.risk_score,
            "event.severity": SEVERITY_NUMBER[self.severity],
            "cloud.provider": "aws",
            "cloud.account.id": self.account,
            "cloud.account.name": self.account_alias,
            "cloud.region": self.region,
            "labels.schema_version": SCHEMA_VERSION,
            "labels.partition": self.partition,
            "tags": list(self.rule.tags),
        }
        doc = ecs_document(flat, self.rule)
        check = self.check
        link = self.console_link()
        doc["recorder_guard"] = {
            "schema_version": SCHEMA_VERSION,
            "attack": self.rule.attack_to_ecs(),
            "notice": self.kind,
            "severity": self.severity,
            "recorder": {
                "name": self.recorder,
                "status": {
                    "summary": self.recorder_now,
                    "problems": list(check.problems) if check else [],
                    "recording": check.recording if check else None,
                    "last_status": check.last_status if check else None,
                    "last_error_code": check.last_error_code if check else None,
                    "last_start_time": check.last_start_time if check else None,
                    "last_stop_time": check.last_stop_time if check else None,
                    "has_delivery_channel": check.has_delivery_channel if check else None,
                },
                "recording_now": self.recording_now,
            }
            if self.kind != DIGEST
            else None,
            "episode": {
                "opened_at": iso(self.episode.opened_at),
                "opened_by": self.episode.source,
                "event_id": self.episode.event_id,
                "problem": self.episode.problem,
                "reminders": self.episode.reminders,
                "lasted": self.lasted,
            }
            if self.episode
            else None,
            "remediation": self.remediation.to_dict() if self.remediation else None,
            "stopped_by": self.stopper.to_dict() if self.stopper else None,
            "console_links": {"config_recorder": link} if link else {},
            "next_steps": [step.as_text() for step in self.next_steps],
            "steps": [{"text": step.text, "command": step.command} for step in self.next_steps],
        }
        if self.kind == DIGEST:
            doc["recorder_guard"]["expected_off"] = [
                {**_key(entry.check), "problems": list(entry.check.problems), "by": entry.pattern}
                for entry in self.expected_off[: self.listed]
            ]
            doc["recorder_guard"]["unchecked"] = [
                {"account": region.account, "region": region.region, "error": region.error}
                for region in self.unchecked[: self.listed]
            ]
        return doc


def _key(check: RecorderCheck) -> dict[str, str]:
    key = check.key
    return {"account": key.account, "region": key.region, "recorder": clip(key.recorder, 256)}


def build_notice(
    kind: str,
    rule: Rule,
    *,
    partition: str,
    detected_at: datetime,
    check: RecorderCheck | None = None,
    episode: Episode | None = None,
    remediation: RemediationResult | None = None,
    account_alias: str | None = None,
    stopper: Stopper | None = None,
) -> Notice:
    """An episode notice with the rule's triage steps filled in for this recorder."""
    key = check.key if check else episode.key if episode else None
    steps: tuple[NextStep, ...] = ()
    if key and kind in (OPENED, REMINDER):
        steps = rule_next_steps(
            rule,
            action="",
            recorder=key.recorder,
            resource=None,
            account=key.account,
            region=key.region,
            partition=partition,
            restarted=bool(remediation and remediation.outcome == RESTARTED),
        )
    return Notice(
        kind=kind,
        rule=rule,
        partition=partition,
        detected_at=detected_at,
        check=check,
        episode=episode,
        remediation=remediation,
        account_alias=account_alias,
        next_steps=steps,
        stopper=stopper,
    )
