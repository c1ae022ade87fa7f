"""The alert: one value built from a Detection, rendered to ECS JSON, email text and chat."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from recorder_guard.domain.cloudtrail import as_mapping, is_service_linked_recorder, nest
from recorder_guard.domain.detection import Detection
from recorder_guard.domain.limits import clip, clip_strings
from recorder_guard.domain.recorder import RecorderStatus, not_checked
from recorder_guard.domain.rules import Rule

if TYPE_CHECKING:  # the remediation module loads only where auto-restart is on
    from recorder_guard.domain.remediation import RemediationResult

SCHEMA_VERSION = "1.0"
FIELD_LIMIT = 1024  # characters per event-supplied string in the alert
PARAMETERS_LIMIT = 400  # characters of request parameters quoted in summaries
ORIGINAL_RECORD_LIMIT = 32 * 1024  # characters of the raw CloudTrail record kept in event.original
SEVERITY_NUMBER = {"low": 21, "medium": 47, "high": 73, "critical": 99}
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
CONSOLE_HOSTS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


LINK_LABELS = {
    "config_recorder": "AWS Config recorder settings",
    "cloudtrail_event_history": "CloudTrail event history",
    "cloudtrail_event": "This CloudTrail event",
    "iam_principal": "IAM principal",
}


@dataclass(frozen=True)
class NextStep:
    """One triage step; `command`, when there is one, is shell-quoted and copy-paste ready."""

    text: str
    command: str | None = None

    def as_text(self) -> str:
        return f"{self.text} {self.command}" if self.command else self.text


@dataclass(frozen=True)
class Actor:
    """Who made the call; every value is as CloudTrail wrote it (untrusted)."""

    display_name: str | None
    type: str | None
    arn: str | None
    principal_id: str | None
    account_id: str | None
    user_name: str | None
    access_key_id: str | None
    session_issuer_arn: str | None
    session_issuer_type: str | None
    mfa_authenticated: bool | None
    console_session: bool | None
    invoked_by: str | None
    source_identity: str | None


@dataclass(frozen=True)
class Alert:
    rule: Rule
    event_id: str | None
    event_time: str | None
    action: str
    provider: str
    outcome: str
    account_id: str | None
    region: str | None
    partition: str
    actor: Actor
    source_ip: str | None
    user_agent: str | None
    recorder_name: str | None
    detected_at: datetime
    delay_seconds: float | None
    recorder_status: RecorderStatus
    ecs_fields: dict[str, Any]
    original_record: str
    resource_name: str | None = None
    scope: str = ""
    console_links: dict[str, str] = field(default_factory=dict)
    next_steps: tuple[NextStep, ...] = ()
    remediation: RemediationResult | None = None
    account_alias: str | None = None
    test: bool = False  # a `doctor --send-test` alert: every rendition says TEST

    @property
    def escalated(self) -> bool:
        return bool(self.remediation and self.remediation.escalated)

    @property
    def recording_now(self) -> bool | None:
        """After our own verified restart the recorder is recording, whatever it was before."""
        if self.remediation and self.remediation.restarted:
            return True
        return self.recorder_status.recording

    @property
    def recorder_now(self) -> str:
        """The recorder's state when the alert leaves, in the words of this rule's story."""
        status = self.recorder_status
        if self.remediation and self.remediation.restarted:
            return "recording again (restarted and verified by recorder-guard)"
        if status.recording is None:
            return status.summary
        if self.rule.restartable:
            return (
                "recording again (restarted since the stop)"
                if status.recording
                else "still stopped"
            )
        return "recording" if status.recording else "not recording"

    @property
    def severity(self) -> str:
        return self.rule.severity

    @property
    def service_linked(self) -> bool:
        return is_service_linked_recorder(self.recorder_name)

    @property
    def target(self) -> str:
        """What the call acted on, with the action when the rule covers several actions."""
        name = self.resource_name or self.recorder_name or "unnamed"
        return name if self.rule.single_action else f"{self.action} {name}"

    @property
    def title(self) -> str:
        """Untrusted parts: the target, account and region; renderers escape them."""
        return ("TEST: " if self.test else "") + (
            f"{self.rule.name}: {self.target} in {self.account_id or 'unknown account'}"
            f" / {self.region or 'unknown region'}"
        )

    def summary(self, name: Callable[[str | None], str], prose: Callable[[str | None], str]) -> str:
        """The rule's one-paragraph story: names pass through `name`, the described recording
        scope through `prose`; both escape for the format they land in."""
        return self.rule.summary.format(
            recorder=name(self.recorder_name),
            resource=name(self.resource_name or self.recorder_name),
            action=name(self.action),
            account=name(self.account_id),
            region=name(self.region),
            scope=prose(self.scope),
        )

    def to_document(self, original_limit: int = ORIGINAL_RECORD_LIMIT) -> dict[str, Any]:
        """The ECS alert document; `original_limit` bounds event.original (notify shrinks it)."""
        flat: dict[str, Any] = dict(self.ecs_fields)
        detected = self.detected_at.isoformat().replace("+00:00", "Z")
        flat.update(
            {
                "@timestamp": detected,
                "message": self.title,
                "event.kind": "alert",
                "event.category": ["configuration"],
                "event.type": ["change"],
                "event.module": "aws",
                "event.created": detected,
                "event.start": self.event_time,
                "event.risk_score": self.rule.risk_score,
                "event.severity": SEVERITY_NUMBER[self.rule.severity],
                "event.original": clip(self.original_record, original_limit),
                "cloud.account.id": self.account_id,
                "cloud.account.name": self.account_alias,
                "cloud.region": self.region,
                "labels.schema_version": SCHEMA_VERSION,
                "labels.partition": self.partition,
                "tags": [*self.rule.tags, *(["test"] if self.test else [])],
                "labels.test": "true" if self.test else None,
            }
        )
        doc = ecs_document(flat, self.rule)
        related_users = [v for v in (self.actor.user_name, self.actor.display_name) if v]
        related = {
            "user": sorted(set(related_users)),
            "ip": [self.source_ip] if self.source_ip else [],
        }
        doc["related"] = {key: value for key, value in related.items() if value}
        doc["recorder_guard"] = {
            "schema_version": SCHEMA_VERSION,
            "severity": self.rule.severity,
            "attack": self.rule.attack_to_ecs(),
            "detection_delay_seconds": self.delay_seconds,
            "recorder": {
                "name": self.recorder_name,
                "resource": self.resource_name,
                "service_linked": self.service_linked,
                "status": self.recorder_status.to_ecs(),
                "recording_now": self.recording_now,
            },
            "actor": {
                "display_name": self.actor.display_name,
                "mfa_authenticated": self.actor.mfa_authenticated,
                "console_session": self.actor.console_session,
            },
            "remediation": self.remediation.to_dict() if self.remediation else None,
            "console_links": self.console_links,
            "next_steps": [step.as_text() for step in self.next_steps],
        }
        if self.test:
            doc["recorder_guard"]["test"] = True
        return doc


def ecs_document(flat: Mapping[str, Any], rule: Rule) -> dict[str, Any]:
    """Dotted ECS fields (None dropped) nested, with the rule's `rule.*` and `threat.*`."""
    doc = nest({key: value for key, value in flat.items() if value is not None})
    doc["rule"] = rule.to_ecs()
    doc["threat"] = rule.threat_to_ecs()
    return doc


def remediation_text(result: RemediationResult, escape: Callable[[str], str]) -> str:
    """`restarted (enforce): default restarted and verified recording`, escaped for a format.

    The mode is left out when the outcome already names it (`dry_run: would restart default`).
    """
    error = f" [{result.error_code}]" if result.error_code else ""
    mode = "" if result.outcome == result.mode else f" ({result.mode})"
    return escape(f"{result.outcome}{mode}: {result.detail}{error}")


def _opt(value: str | None) -> str | None:
    return None if value is None else clip(value, FIELD_LIMIT)


def console_links(
    partition: str, region: str | None, event_id: str | None, actor: Actor, action: str
) -> dict[str, str]:
    """Links into the right console for the partition; none for a region that is not real."""
    host = CONSOLE_HOSTS.get(partition, CONSOLE_HOSTS["aws"])
    if not region or not REGION_PATTERN.match(region):
        return {}
    base = f"https://{region}.{host}" if partition == "aws" else f"https://{host}"
    links = {
        "config_recorder": f"{base}/config/home?region={region}#/settings",
        "cloudtrail_event_history": (
            f"{base}/cloudtrailv2/home?region={region}#/events?EventName={quote(action, safe='')}"
        ),
    }
    if event_id:
        links["cloudtrail_event"] = (
            f"{base}/cloudtrailv2/home?region={region}#/events/{quote(event_id, safe='')}"
        )
    iam = f"https://{host}/iam/home#"
    if actor.type == "IAMUser" and actor.user_name:
        links["iam_principal"] = f"{iam}/users/details/{quote(actor.user_name, safe='')}"
    elif actor.type == "AssumedRole" and actor.session_issuer_arn:
        role_name = actor.session_issuer_arn.rsplit("/", 1)[-1]
        links["iam_principal"] = f"{iam}/roles/details/{quote(role_name, safe='')}"
    return links


SERVICE_LINKED_STEPS = (
    NextStep(
        "This is a service-linked recorder: only its AWS service can change it. Check that"
        " service's configuration (for example Security Hub or Control Tower) and who changed it."
    ),
    NextStep(
        "Ask the caller whether the change was planned; if not, treat the credentials as"
        " compromised and review their other CloudTrail activity around this time."
    ),
)


def next_steps(
    rule: Rule,
    *,
    action: str,
    recorder: str | None,
    resource: str | None,
    account: str | None,
    region: str | None,
    partition: str,
    service_principal: str | None = None,
) -> tuple[NextStep, ...]:
    """The rule's triage steps for this action; commands are copy-paste ready (shell-quoted).
    A rule written for customer recorders gives way to the service-linked steps."""
    linked = is_service_linked_recorder(recorder) or is_service_linked_recorder(resource)
    if linked and not rule.service_linked:
        return SERVICE_LINKED_STEPS
    values = {
        "service_principal": shlex.quote(service_principal or "SERVICE-PRINCIPAL"),
        "recorder": shlex.quote(recorder or "default"),
        "resource": shlex.quote(resource or recorder or "default"),
        "account": shlex.quote(account or "ACCOUNT-ID"),
        "partition": partition,
        "region_flag": f" --region {region}" if region and REGION_PATTERN.match(region) else "",
    }
    return tuple(
        NextStep(step.text, step.command.format(**values) if step.command else None)
        for step in rule.next_steps
        if not step.actions or action in step.actions
    )


def _names(value: Any) -> str:
    types = value if isinstance(value, list) else []
    return ", ".join(str(t) for t in types[:20]) + (
        f" and {len(types) - 20} more" if len(types) > 20 else ""
    )


def recording_scope(action: str, parameters: Mapping[str, Any]) -> str:
    """What a recorder change asked for, in words: the narrowing rule's evidence."""
    if action == "DisassociateResourceTypes":
        return f"stop recording {_names(parameters.get('resourceTypes')) or 'some resource types'}"
    recorder = as_mapping(parameters.get("configurationRecorder"))
    group = as_mapping(recorder.get("recordingGroup"))
    mode = as_mapping(recorder.get("recordingMode"))
    parts = []
    if group.get("allSupported") is False:
        parts.append("not all resource types")
    strategy = as_mapping(group.get("recordingStrategy")).get("useOnly")
    if isinstance(strategy, str):
        parts.append(f"strategy {strategy}")
    excluded = as_mapping(group.get("exclusionByResourceTypes"))
    if excluded.get("resourceTypes"):
        parts.append(f"excluding {_names(excluded.get('resourceTypes'))}")
    if group.get("resourceTypes"):
        parts.append(f"only {_names(group.get('resourceTypes'))}")
    if mode.get("recordingFrequency") == "DAILY":
        parts.append("daily instead of continuous recording")
    if mode.get("recordingModeOverrides"):
        parts.append("per-type recording frequency overrides")
    return "; ".join(parts)


def build_alert(
    detection: Detection,
    *,
    detected_at: datetime,
    recorder_status: RecorderStatus | None = None,
    remediation: RemediationResult | None = None,
    account_alias: str | None = None,
) -> Alert:
    """Enrich a Detection with context; pure, so every rendition is testable without AWS."""
    event = detection.event
    record = event.record
    identity = record.user_identity
    issuer = identity.session_issuer
    actor = Actor(
        display_name=_opt(identity.display_name),
        type=_opt(identity.type),
        arn=_opt(identity.arn),
        principal_id=_opt(identity.principal_id),
        account_id=_opt(identity.account_id),
        user_name=_opt(identity.user_name or identity.session_name),
        access_key_id=_opt(identity.access_key_id),
        session_issuer_arn=_opt(issuer.arn if issuer else None),
        session_issuer_type=_opt(issuer.type if issuer else None),
        mfa_authenticated=identity.mfa_authenticated,
        console_session=record.session_credential_from_console,
        invoked_by=_opt(identity.invoked_by),
        source_identity=_opt(identity.source_identity),
    )
    event_time = record.timestamp
    delay = (detected_at - event_time).total_seconds() if event_time else None
    region = _opt(event.region_name)
    recorder = _opt(record.recorder_name)
    resource = _opt(record.resource_name)
    partition = event.partition
    action = detection.fields.get("event.action", "")
    return Alert(
        rule=detection.rule,
        event_id=_opt(record.event_id),
        event_time=event_time.isoformat().replace("+00:00", "Z") if event_time else None,
        action=action,
        provider=detection.fields.get("event.provider", ""),
        outcome=record.outcome,
        account_id=_opt(event.account_id),
        region=region,
        partition=partition,
        actor=actor,
        source_ip=_opt(record.source_ip),
        user_agent=_opt(record.user_agent),
        recorder_name=recorder,
        detected_at=detected_at,
        delay_seconds=round(delay, 3) if delay is not None else None,
        recorder_status=recorder_status or not_checked("status check is turned off"),
        ecs_fields=clip_strings(dict(detection.fields), FIELD_LIMIT),
        original_record=json.dumps(record.raw, sort_keys=True, separators=(",", ":"), default=str),
        console_links=console_links(
            partition, region, record.event_id, actor, record.event_name or ""
        ),
        resource_name=resource,
        scope=clip(recording_scope(action, record.request_parameters), PARAMETERS_LIMIT),
        next_steps=next_steps(
            detection.rule,
            action=action,
            recorder=recorder,
            resource=resource,
            account=event.account_id,
            region=region,
            partition=partition,
            service_principal=_opt(record.service_principal),
        ),
        remediation=remediation,
        account_alias=_opt(account_alias),
    )
