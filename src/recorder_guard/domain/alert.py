"""The alert: one value built from a Detection, rendered to ECS JSON, email text and chat."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from recorder_guard.domain.cloudtrail import (
    REGION_PATTERN,
    as_mapping,
    is_service_linked_recorder,
    nest,
)
from recorder_guard.domain.detection import Detection
from recorder_guard.domain.limits import clip, clip_strings
from recorder_guard.domain.recorder import RecorderStatus, not_checked
from recorder_guard.domain.rules import Rule
from recorder_guard.domain.values import field, value

if TYPE_CHECKING:  # the remediation module loads only where auto-restart is on
    from recorder_guard.domain.remediation import RemediationResult

SCHEMA_VERSION = "1.0"
ECS_VERSION = "9.4.0"  # the ECS release the documents are checked against (tests/data/ecs)
FIELD_LIMIT = 1024  # characters per event-supplied string in the alert
PARAMETERS_LIMIT = 400  # characters of request parameters quoted in summaries
ORIGINAL_RECORD_LIMIT = 32 * 1024  # characters of the raw CloudTrail record kept in event.original
SEVERITY_NUMBER = {"low": 21, "medium": 47, "high": 73, "critical": 99}
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


# recorder-guard's own resources, which the tampering rule watches.
OWN_RESOURCE_KINDS = {
    **dict.fromkeys(
        ("DisableRule", "DeleteRule", "RemoveTargets", "PutRule", "PutTargets"), "EventBridge rule"
    ),
    **dict.fromkeys(
        (
            "DeleteFunction",
            "DeleteFunction20150331",
            "PutFunctionConcurrency",
            "PutFunctionConcurrency20171031",
        ),
        "Lambda function",
    ),
    **dict.fromkeys(("DeleteSchedule", "UpdateSchedule"), "Schedule"),
    **dict.fromkeys(
        (
            "DeleteRole",
            "UpdateAssumeRolePolicy",
            "PutRolePolicy",
            "DeleteRolePolicy",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "PutRolePermissionsBoundary",
        ),
        "IAM role",
    ),
}
OWN_RESOURCE_LOSS = (
    "recorder-guard's watch over this account: a stopped recorder may go unreported until"
    " the stack is put back"
)
# What each action takes away, in the reader's words: an alert names what was lost, not a
# generic "recorder stopped". `{scope}` is the narrowing rule's escaped evidence.
LOSSES = {
    "StopConfigurationRecorder": "recording: resource changes are not recorded until it is"
    " started again",
    "DeleteConfigurationRecorder": "the recorder and its settings: nothing is recorded in this"
    " region until it is recreated and started",
    "DeleteServiceLinkedConfigurationRecorder": "the service-linked recorder: its service no"
    " longer records here",
    "DeleteDeliveryChannel": "the delivery channel: configuration history and snapshots are no"
    " longer delivered, and the recorder cannot record without one",
    "DeleteConfigRule": "the Config rule and its evaluation results",
    "DeleteOrganizationConfigRule": "the organization Config rule in every member account",
    "DeleteConformancePack": "the conformance pack, its rules and their evaluation results",
    "DeleteOrganizationConformancePack": "the organization conformance pack in every member"
    " account",
    "DeleteConfigurationAggregator": "the aggregated multi-account, multi-region view",
    "DeleteRemediationConfiguration": "automatic remediation for the rule's noncompliant resources",
    "DeleteRetentionConfiguration": "your retention period: history falls back to AWS Config's"
    " default",
    "PutConfigurationRecorder": "recording of part of the resources ({scope})",
    "DisassociateResourceTypes": "recording of part of the resources ({scope})",
    **dict.fromkeys(OWN_RESOURCE_KINDS, OWN_RESOURCE_LOSS),
}
RESOURCE_KINDS = {
    "DeleteDeliveryChannel": "Delivery channel",
    "DeleteConfigRule": "Config rule",
    "DeleteOrganizationConfigRule": "Organization rule",
    "DeleteConformancePack": "Conformance pack",
    "DeleteOrganizationConformancePack": "Organization pack",
    "DeleteConfigurationAggregator": "Aggregator",
    "DeleteRemediationConfiguration": "Remediation for",
    "DeleteRetentionConfiguration": "Retention config",
    **OWN_RESOURCE_KINDS,
}
RESTARTED_STORY = (
    "The AWS Config configuration recorder {recorder} in account {account}, region {region},"
    " was stopped ({action} succeeded) and recorder-guard restarted it{off}: it records again."
    " Resource changes made while it was stopped are not in Config history."
)


@value
class NextStep:
    """One triage step; `command`, when there is one, is shell-quoted and copy-paste ready."""

    text: str
    command: str | None = None

    def as_text(self) -> str:
        return f"{self.text} {self.command}" if self.command else self.text


@value
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
    session_issuer_name: str | None
    session_name: str | None
    mfa_authenticated: bool | None
    console_session: bool | None
    invoked_by: str | None
    source_identity: str | None


@value
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
    envelope_mismatch: str | None = None  # the payload disagrees with EventBridge's envelope
    test: bool = False  # a `doctor --send-test` alert: every rendition says TEST

    @property
    def escalated(self) -> bool:
        return bool(self.remediation and self.remediation.escalated)

    @property
    def restarted(self) -> bool:
        """recorder-guard restarted the recorder and verified it records."""
        return bool(self.remediation and self.remediation.restarted)

    @property
    def recording_now(self) -> bool | None:
        """After our own verified restart the recorder is recording, whatever it was before."""
        if self.restarted:
            return True
        return self.recorder_status.recording

    @property
    def recorder_now(self) -> str:
        """The recorder's state when the alert leaves, in the words of this rule's story."""
        status = self.recorder_status
        if self.restarted:
            return "recording again (restarted and verified by recorder-guard)"
        if status.recording is None:
            return status.summary
        if self.rule.restartable:
            return (
                "recording again (restarted since the stop)"
                if status.recording
                else "still stopped"
            )
        state = "recording" if status.recording else "not recording"
        if status.name and status.name != self.recorder_name:
            return f"{state} (recorder {status.name})"
        return state

    @property
    def stopped_for(self) -> str:
        """` after at least 2 min`: from the call to the alert, a lower bound on the gap."""
        if self.delay_seconds is None or self.delay_seconds < 1:
            return ""
        return f" after at least {duration_text(self.delay_seconds)}"

    @property
    def severity(self) -> str:
        return self.rule.severity

    @property
    def service_linked(self) -> bool:
        return is_service_linked_recorder(self.recorder_name)

    @property
    def shows_recorder_state(self) -> bool:
        """Only an AWS Config call says anything about a recorder's state."""
        return self.rule.concerns_config

    @property
    def resource_kind(self) -> str:
        """What the call acted on, as a label: `Recorder`, `Delivery channel`, ..."""
        return RESOURCE_KINDS.get(self.action, "Recorder")

    @property
    def headline(self) -> str:
        """The rule's name, and what recorder-guard did about it when that changes the story."""
        return f"{self.rule.name}, restarted" if self.restarted else self.rule.name

    @property
    def target(self) -> str:
        """What the call acted on, with the action when the rule covers several actions."""
        name = self.resource_name or self.recorder_name or "unnamed"
        return name if self.rule.single_action else f"{self.action} {name}"

    @property
    def title(self) -> str:
        """Untrusted parts: the target, account and region; renderers escape them."""
        return ("TEST: " if self.test else "") + (
            f"{self.headline}: {self.target} in {self.account_id or 'unknown account'}"
            f" / {self.region or 'unknown region'}"
        )

    def summary(self, name: Callable[[str | None], str], prose: Callable[[str | None], str]) -> str:
        """The rule's one-paragraph story (or the restart's): names pass through `name`, the
        described recording scope through `prose`; both escape for the format they land in."""
        template = RESTARTED_STORY if self.restarted else self.rule.summary
        return template.format(
            recorder=name(self.recorder_name),
            resource=name(self.resource_name or self.recorder_name),
            action=name(self.action),
            account=name(self.account_id),
            region=name(self.region),
            scope=prose(self.scope),
            off=self.stopped_for,
        )

    def lost(self, prose: Callable[[str | None], str]) -> str:
        """What this call took away; the narrowing scope is event-supplied, so escaped."""
        if self.restarted:
            gap = self.stopped_for.replace(" after ", "", 1)
            return "recording between the stop and the restart" + (f" ({gap})" if gap else "")
        loss = LOSSES.get(self.action, self.rule.description)
        return loss.format(scope=prose(self.scope)) if "{scope}" in loss else loss

    def to_document(self, original_limit: int = ORIGINAL_RECORD_LIMIT) -> dict[str, Any]:
        """The ECS alert document; `original_limit` bounds event.original (notify shrinks it)."""
        flat: dict[str, Any] = dict(self.ecs_fields)
        detected = self.detected_at.isoformat().replace("+00:00", "Z")
        flat.update(
            {
                "@timestamp": detected,
                "ecs.version": ECS_VERSION,
                "message": self.title,
                "event.kind": "alert",
                # ECS's expected pairs: configuration with change or deletion.
                "event.category": ["configuration"],
                "event.type": ["deletion"] if self.action.startswith("Delete") else ["change"],
                "event.module": "aws",
                "event.created": detected,
                "event.start": self.event_time,
                "event.risk_score": self.rule.risk_score,
                "event.severity": SEVERITY_NUMBER[self.rule.severity],
                "event.original": (  # limit 0: left out, not an empty string
                    clip(self.original_record, original_limit) if original_limit > 0 else None
                ),
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
        actor = self.actor
        related_users = [v for v in (actor.user_name, actor.session_name, actor.display_name) if v]
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
                "resource_kind": self.resource_kind,
                **(
                    {
                        "state": self.recorder_now,
                        "status": self.recorder_status.to_ecs(),
                        "recording_now": self.recording_now,
                    }
                    if self.shows_recorder_state
                    else {}
                ),
            },
            "actor": {
                # CloudTrail fields Elastic's integration does not define live here.
                "display_name": self.actor.display_name,
                "session_name": self.actor.session_name,
                "account_id": self.actor.account_id,
                "source_identity": self.actor.source_identity,
                "mfa_authenticated": self.actor.mfa_authenticated,
                "console_session": self.actor.console_session,
                "session_issuer_name": self.actor.session_issuer_name,
            },
            "lost": self.lost(str),
            "remediation": self.remediation.to_dict() if self.remediation else None,
            "console_links": self.console_links,
            "next_steps": [step.as_text() for step in self.next_steps],
            "steps": [{"text": step.text, "command": step.command} for step in self.next_steps],
        }
        if self.envelope_mismatch:  # only when there is one: the usual document is unchanged
            doc["recorder_guard"]["envelope_mismatch"] = self.envelope_mismatch
        if self.test:
            doc["recorder_guard"]["test"] = True
        return doc


def ecs_document(flat: Mapping[str, Any], rule: Rule) -> dict[str, Any]:
    """Dotted ECS fields (None dropped) nested, with the rule's `rule.*` and `threat.*`."""
    doc = nest({key: value for key, value in flat.items() if value is not None})
    doc["rule"] = rule.to_ecs()
    doc["threat"] = rule.threat_to_ecs()
    return doc


def duration_text(seconds: float) -> str:
    """`4.0 s`, `12 min`, `3 h 5 min`: a delay or a gap, for people."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def remediation_text(result: RemediationResult, escape: Callable[[str], str]) -> str:
    """`restarted (enforce): default restarted and verified recording`, escaped for a format.

    The mode is left out when the outcome already names it (`dry_run: would restart default`).
    """
    error = f" [{result.error_code}]" if result.error_code else ""
    mode = "" if result.outcome == result.mode else f" ({result.mode})"
    return escape(f"{result.outcome}{mode}: {result.detail}{error}")


def _opt(value: str | None) -> str | None:
    return None if value is None else clip(value, FIELD_LIMIT)


def console_base(partition: str, region: str | None) -> str | None:
    """The console's address for the partition and region; None for a region that is not real
    (the region is event-supplied text and ends up in a link)."""
    if not region or not REGION_PATTERN.fullmatch(region):
        return None
    host = CONSOLE_HOSTS.get(partition, CONSOLE_HOSTS["aws"])
    return f"https://{region}.{host}" if partition == "aws" else f"https://{host}"


def config_settings_url(base: str, region: str) -> str:
    return f"{base}/config/home?region={region}#/settings"


def console_links(
    partition: str, region: str | None, event_id: str | None, actor: Actor, action: str
) -> dict[str, str]:
    """Links into the right console for the partition; none for a region that is not real."""
    base = console_base(partition, region)
    if base is None or region is None:
        return {}
    host = CONSOLE_HOSTS.get(partition, CONSOLE_HOSTS["aws"])
    links = {
        "config_recorder": config_settings_url(base, region),
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


IDENTITY_CENTER_ROLE = "AWSReservedSSO_"


def _iam_user_step(actor: Actor) -> NextStep:
    user = shlex.quote(actor.user_name or "USER-NAME")
    if actor.access_key_id:
        command = (
            f"aws iam update-access-key --user-name {user}"
            f" --access-key-id {shlex.quote(actor.access_key_id)} --status Inactive"
        )
    else:
        command = f"aws iam list-access-keys --user-name {user}"
    return NextStep(
        "If it was not planned, treat this IAM user's long-term credentials as compromised:"
        " deactivate its access keys (the command below does the one used here), check its"
        " MFA devices and console password, and look for keys or users it created.",
        command,
    )


ACTOR_STEPS = {
    "Root": NextStep(
        "The root user made this call. If it was not planned: change the root password,"
        " check the root MFA device and who holds the root credentials, and delete any root"
        " access keys (the account should have none; 1 below means it has):",
        "aws iam get-account-summary --query SummaryMap.AccountAccessKeysPresent",
    ),
    "IdentityCenterUser": NextStep(
        "The caller signed in through IAM Identity Center. If it was not planned: disable"
        " the user in Identity Center, then revoke the permission set role's active sessions"
        " (IAM console, the role, Revoke active sessions); until then they last up to the"
        " permission set's session duration."
    ),
    "AssumedRole": NextStep(
        "If it was not planned, revoke the role's active sessions (IAM console, the role,"
        " Revoke active sessions: every session issued before now is denied) and find who"
        " assumed it: the AssumeRole call for this session name in CloudTrail."
    ),
    "FederatedUser": NextStep(
        "The caller used GetFederationToken credentials of an IAM user. They cannot be"
        " revoked one by one: if it was not planned, deactivate the issuing user's access"
        " keys or deny that user, which also denies its federated sessions."
    ),
    "AWSService": NextStep(
        "An AWS service made this call on the account's behalf: find which service"
        " configuration or automation asked for it (the Invoked by value) and who changed"
        " that configuration."
    ),
    "AWSAccount": NextStep(
        "Another AWS account made this call: check which account it was (Principal ARN) and"
        " which resource or role policy lets it."
    ),
}
UNKNOWN_ACTOR_STEP = NextStep(
    "If it was not planned, treat the caller's credentials as compromised and revoke them."
)


def actor_step(actor: Actor | None) -> NextStep | None:
    """What to do about the caller if the call was not planned: it depends on what kind of
    principal made it (CloudTrail userIdentity.type,
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html).
    Step text is ours; event values appear only in shell-quoted commands."""
    if actor is None:
        return None
    if actor.type == "IAMUser":
        return _iam_user_step(actor)
    kind = actor.type or ""
    if (actor.session_issuer_name or "").startswith(IDENTITY_CENTER_ROLE):
        kind = "IdentityCenterUser"
    return ACTOR_STEPS.get(kind, UNKNOWN_ACTOR_STEP)


def next_steps(
    rule: Rule,
    *,
    action: str,
    recorder: str | None,
    resource: str | None,
    account: str | None,
    region: str | None,
    partition: str,
    restarted: bool = False,
    actor: Actor | None = None,
    service_principal: str | None = None,
) -> tuple[NextStep, ...]:
    """The rule's triage steps for this action, after a restart or not, with the step that
    fits the caller after the rule's "ask the caller" step; commands are copy-paste ready
    (shell-quoted). A rule written for customer recorders gives way to the service-linked
    steps."""
    linked = is_service_linked_recorder(recorder) or is_service_linked_recorder(resource)
    if linked and not rule.service_linked:
        return SERVICE_LINKED_STEPS
    values = {
        "service_principal": shlex.quote(service_principal or "SERVICE-PRINCIPAL"),
        "recorder": shlex.quote(recorder or "default"),
        "resource": shlex.quote(resource or recorder or "default"),
        "account": shlex.quote(account or "ACCOUNT-ID"),
        "partition": partition,
        "region_flag": f" --region {region}" if region and REGION_PATTERN.fullmatch(region) else "",
    }
    state = "restarted" if restarted else "not_restarted"
    steps = [
        NextStep(step.text, step.command.format(**values) if step.command else None)
        for step in rule.next_steps
        if (not step.actions or action in step.actions) and step.when in (None, state)
    ]
    extra = actor_step(actor)
    if extra is not None:
        asks = [i for i, step in enumerate(steps) if step.text.startswith("Ask the caller")]
        steps.insert(asks[0] + 1 if asks else len(steps), extra)
    return tuple(steps)


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
        user_name=_opt(identity.user_name),
        access_key_id=_opt(identity.access_key_id),
        session_issuer_arn=_opt(issuer.arn if issuer else None),
        session_issuer_type=_opt(issuer.type if issuer else None),
        session_issuer_name=_opt(issuer.user_name if issuer else None),
        session_name=_opt(identity.session_name),
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
            restarted=bool(remediation and remediation.restarted),
            actor=actor,
            service_principal=_opt(record.service_principal),
        ),
        remediation=remediation,
        account_alias=_opt(account_alias),
        envelope_mismatch=_opt(event.envelope_mismatch),
    )
