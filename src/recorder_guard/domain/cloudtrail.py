"""The EventBridge "AWS API Call via CloudTrail" event: validation, typed access, ECS fields.

Every CloudTrail field is attacker-influenced or at least untrusted (the corpus holds numbers
where strings belong, "null" as a string, placeholders), so each accessor accepts only the
type it documents and treats anything else as absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from recorder_guard.domain.limits import bound_depth
from recorder_guard.domain.values import value

API_CALL_DETAIL_TYPE = "AWS API Call via CloudTrail"
ECS_DATASET = "aws.cloudtrail"
SERVICE_LINKED_RECORDER_PREFIX = "AWSConfigurationRecorderFor"
SESSION_CONTEXT = "aws.cloudtrail.user_identity.session_context."
# Matched whole (fullmatch): with `match` and `$`, "us-east-1\n" would pass for a region;
# ASCII digits only (`\d` also matches other scripts' digits).
ACCOUNT_PATTERN = re.compile(r"[0-9]{12}")
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
RESOURCE_NAME_KEYS = (
    "deliveryChannelName",
    "configRuleName",
    "organizationConfigRuleName",
    "conformancePackName",
    "organizationConformancePackName",
    "configurationAggregatorName",
    "retentionConfigurationName",
)
# What recorder-guard's own parts are named by in the calls its tampering rule watches:
# EventBridge rules and schedules (name, rule), functions, roles.
OWN_RESOURCE_NAME_KEYS = ("name", "rule", "functionName", "roleName")


class MalformedEventError(ValueError):
    """Not an EventBridge event at all: must be retried and kept, never dropped."""


def text(value: object) -> str | None:
    """A string field: strings as they are, integers as digits, anything else absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def flag(value: object) -> bool | None:
    """CloudTrail writes booleans as JSON booleans or as "true"/"false" strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def valid_account(value: str | None) -> str | None:
    """A 12-digit account id exactly, else None."""
    return value if value is not None and ACCOUNT_PATTERN.fullmatch(value) else None


def valid_region(value: str | None) -> str | None:
    """A region name exactly (no trailing newline, no spaces), else None."""
    return value if value is not None and REGION_PATTERN.fullmatch(value) else None


def as_mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@value
class SessionIssuer:
    type: str | None
    principal_id: str | None
    arn: str | None
    account_id: str | None
    user_name: str | None


@value
class UserIdentity:
    """CloudTrail `userIdentity`, for every documented type and the undocumented ones."""

    type: str | None
    principal_id: str | None
    arn: str | None
    account_id: str | None
    access_key_id: str | None
    user_name: str | None
    invoked_by: str | None
    session_issuer: SessionIssuer | None
    mfa_authenticated: bool | None
    session_created: str | None
    source_identity: str | None
    identity_store_user_id: str | None

    @classmethod
    def parse(cls, raw: object) -> UserIdentity:
        identity = as_mapping(raw)
        context = as_mapping(identity.get("sessionContext"))
        attributes = as_mapping(context.get("attributes"))
        issuer_raw = as_mapping(context.get("sessionIssuer"))
        issuer = None
        if any(text(v) for v in issuer_raw.values()):
            issuer = SessionIssuer(
                type=text(issuer_raw.get("type")),
                principal_id=text(issuer_raw.get("principalId")),
                arn=text(issuer_raw.get("arn")),
                account_id=text(issuer_raw.get("accountId")),
                user_name=text(issuer_raw.get("userName")),
            )
        on_behalf_of = as_mapping(identity.get("onBehalfOf"))
        return cls(
            type=text(identity.get("type")),
            principal_id=text(identity.get("principalId")),
            arn=text(identity.get("arn")),
            account_id=text(identity.get("accountId")),
            access_key_id=text(identity.get("accessKeyId")),
            user_name=text(identity.get("userName")),
            invoked_by=text(identity.get("invokedBy")),
            session_issuer=issuer,
            mfa_authenticated=flag(attributes.get("mfaAuthenticated")),
            session_created=text(attributes.get("creationDate")),
            source_identity=text(context.get("sourceIdentity")),
            identity_store_user_id=text(on_behalf_of.get("userId")),
        )

    @property
    def session_name(self) -> str | None:
        """The role session name: the last part of an assumed-role or federated-user ARN."""
        if self.arn and self.type in ("AssumedRole", "FederatedUser") and "/" in self.arn:
            return self.arn.rsplit("/", 1)[1] or None
        return None

    @property
    def display_name(self) -> str | None:
        """Who, in the words a responder uses: user, role session, root or service."""
        if self.type == "Root":
            return "root"
        if self.type == "AWSService":
            return self.invoked_by
        if self.type == "AssumedRole" and self.session_issuer and self.session_issuer.user_name:
            session = self.session_name
            role = self.session_issuer.user_name
            return f"{role}/{session}" if session else role
        return self.user_name or self.session_name or self.principal_id


@value
class CloudTrailRecord:
    """The `detail` of an EventBridge CloudTrail event, with typed access."""

    raw: Mapping[str, Any]
    event_version: str | None
    event_id: str | None
    event_time: str | None
    event_source: str | None
    event_name: str | None
    event_type: str | None
    aws_region: str | None
    source_ip: str | None
    user_agent: str | None
    error_code: str | None
    error_message: str | None
    request_id: str | None
    recipient_account_id: str | None
    read_only: bool | None
    management_event: bool | None
    session_credential_from_console: bool | None
    user_identity: UserIdentity

    @classmethod
    def parse(cls, detail: Mapping[str, Any]) -> CloudTrailRecord:
        error_code = detail.get("errorCode")
        return cls(
            raw=detail,
            event_version=text(detail.get("eventVersion")),
            event_id=text(detail.get("eventID")),
            event_time=text(detail.get("eventTime")),
            event_source=text(detail.get("eventSource")),
            event_name=text(detail.get("eventName")),
            event_type=text(detail.get("eventType")),
            aws_region=text(detail.get("awsRegion")),
            source_ip=text(detail.get("sourceIPAddress")),
            user_agent=text(detail.get("userAgent")),
            # Any non-null errorCode marks a failed call, whatever its type.
            error_code=None if error_code is None else (text(error_code) or json.dumps(error_code)),
            error_message=text(detail.get("errorMessage")),
            request_id=text(detail.get("requestID")),
            recipient_account_id=text(detail.get("recipientAccountId")),
            read_only=flag(detail.get("readOnly")),
            management_event=flag(detail.get("managementEvent")),
            session_credential_from_console=flag(detail.get("sessionCredentialFromConsole")),
            user_identity=UserIdentity.parse(detail.get("userIdentity")),
        )

    @property
    def request_parameters(self) -> Mapping[str, Any]:
        return as_mapping(self.raw.get("requestParameters"))

    @property
    def recorder_name(self) -> str | None:
        """The recorder the call acted on: by name, inside a recorder object, or by ARN; for
        DeleteServiceLinkedConfigurationRecorder, which may name only the service principal,
        from the name and ARN its response returns."""
        parameters = self.request_parameters
        response = as_mapping(self.raw.get("responseElements"))
        name = text(parameters.get("configurationRecorderName")) or text(
            as_mapping(parameters.get("configurationRecorder")).get("name")
        )
        for arn in (
            text(parameters.get("configurationRecorderArn")),
            text(parameters.get("arn")),
            text(response.get("arn")),
        ):
            if not name and arn and ":configuration-recorder/" in arn:
                name = arn.split(":configuration-recorder/", 1)[1].split("/", 1)[0] or None
        if not name and text(response.get("arn")):
            name = text(response.get("name"))
        return name

    @property
    def service_principal(self) -> str | None:
        """The AWS service a service-linked recorder call names (`servicePrincipal`)."""
        return text(self.request_parameters.get("servicePrincipal"))

    @property
    def resource_name(self) -> str | None:
        """The Config resource a call named (rule, pack, channel, aggregator, ...)."""
        parameters = self.request_parameters
        for key in RESOURCE_NAME_KEYS:
            value = text(parameters.get(key))
            if value:
                return value
        if self.recorder_name or self.service_principal:
            return self.recorder_name or self.service_principal
        for key in OWN_RESOURCE_NAME_KEYS:
            value = text(parameters.get(key))
            if value:
                return value
        return None

    @property
    def outcome(self) -> str:
        """ECS event.outcome as Elastic's AWS integration derives it."""
        if self.error_code is not None:
            return "failure"
        if as_mapping(self.raw.get("responseElements")).get("ConsoleLogin") == "Failure":
            return "failure"
        return "success"

    @property
    def timestamp(self) -> datetime | None:
        """eventTime as an aware datetime; CloudTrail writes ISO 8601 in UTC."""
        if not self.event_time:
            return None
        value = self.event_time.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@value
class CloudTrailEvent:
    """An EventBridge event that carries a CloudTrail record."""

    id: str | None
    detail_type: str
    source: str
    account: str | None
    region: str | None
    time: str | None
    record: CloudTrailRecord

    @property
    def is_api_call(self) -> bool:
        return self.detail_type == API_CALL_DETAIL_TYPE

    @property
    def detail_account(self) -> str | None:
        """The account as the payload states it (recipientAccountId, else the caller's)."""
        return self.record.recipient_account_id or self.record.user_identity.account_id

    @property
    def account_id(self) -> str | None:
        """The account as the event tells it, for display: CloudTrail's own field first, then
        the envelope. Where to act comes from `routing_account`, never from this."""
        return self.detail_account or self.account

    @property
    def region_name(self) -> str | None:
        return self.record.aws_region or self.region

    @property
    def routing_account(self) -> str | None:
        """Where a role may be assumed and a recorder restarted: a valid account id from the
        envelope, or from the payload only when the envelope has none; else None."""
        if self.account is not None:
            return valid_account(self.account)
        return valid_account(self.detail_account)

    @property
    def routing_region(self) -> str | None:
        if self.region is not None:
            return valid_region(self.region)
        return valid_region(self.record.aws_region)

    @property
    def envelope_mismatch(self) -> str | None:
        """Why the payload cannot be trusted for routing: it names another account or region
        than the envelope, or a value that is not an account id or region name at all.
        https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html"""
        problems = []
        for what, envelope, detail in (
            ("account", self.account, self.record.recipient_account_id),
            ("region", self.region, self.record.aws_region),
        ):
            if envelope is not None and detail is not None and envelope != detail:
                problems.append(f"the envelope says {what} {envelope!r}, the event {detail!r}")
        if self.routing_account is None:
            problems.append("no valid account id")
        if self.routing_region is None:
            problems.append("no valid region name")
        return "; ".join(problems) or None

    @property
    def partition(self) -> str:
        return partition_of(self.record.user_identity.arn, self.region_name)


def partition_of(arn: str | None, region: str | None) -> str:
    """aws, aws-cn or aws-us-gov: from an ARN when there is one, else from the region name."""
    if arn and arn.startswith("arn:"):
        candidate = arn.split(":")[1]
        if candidate in ("aws", "aws-cn", "aws-us-gov"):
            return candidate
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def parse_event(event: object) -> CloudTrailEvent:
    """Validate the EventBridge envelope; raise MalformedEventError with one clear line."""
    if not isinstance(event, Mapping):
        raise MalformedEventError(
            f"not an EventBridge event: expected a JSON object, got {type(event).__name__}"
        )
    missing = [key for key in ("detail-type", "source") if not isinstance(event.get(key), str)]
    if missing:
        raise MalformedEventError(
            f"not an EventBridge event: {' and '.join(missing)} missing or not a string"
        )
    if not isinstance(event.get("detail"), Mapping):
        raise MalformedEventError("not an EventBridge event: 'detail' missing or not an object")
    # Typed access from here on. Powertools' EventBridgeEvent would do the same but costs
    # ~20 ms of cold start (its data_classes package), measured with `make bench`.
    return CloudTrailEvent(
        id=text(event.get("id")),
        detail_type=event["detail-type"],
        source=event["source"],
        account=text(event.get("account")),
        region=text(event.get("region")),
        time=text(event.get("time")),
        # A payload nested hundreds deep would make copying or JSON raise RecursionError:
        # deeper parts become a visible marker and the alert still goes out.
        record=CloudTrailRecord.parse(bound_depth(event["detail"])[0]),
    )


def iso_date(value: str | None) -> str | None:
    """A date field only when it is one: ECS `date` fields reject placeholders like "..."."""
    if not value:
        return None
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value


def _keyword_flag(value: bool | None) -> str | None:
    """Elastic's integration maps some CloudTrail booleans as keywords: "true" / "false"."""
    return None if value is None else str(value).lower()


def ecs_fields(event: CloudTrailEvent) -> dict[str, Any]:
    """Flat ECS fields (dotted names) for detection and the alert; absent values left out.

    Names and types follow Elastic's AWS CloudTrail integration (its fields.yml and ingest
    pipeline): principalId is `user.id`, userName (or the session issuer's, for an assumed
    role) is `user.name`, accountId is `cloud.account.id`; the integration has no field for the
    session name or source identity, so the alert carries those under `recorder_guard.actor`.
    """
    record = event.record
    identity = record.user_identity
    issuer = identity.session_issuer
    fields: dict[str, Any] = {
        "@timestamp": iso_date(record.event_time),
        "event.dataset": ECS_DATASET,
        "event.provider": record.event_source,
        "event.action": record.event_name,
        "event.outcome": record.outcome,
        "event.id": record.event_id,
        "cloud.provider": "aws",
        "cloud.account.id": event.account_id,
        "cloud.region": event.region_name,
        "source.ip": record.source_ip,
        "source.address": record.source_ip,
        "user_agent.original": record.user_agent,
        "user.id": identity.principal_id,
        "user.name": identity.user_name or (issuer.user_name if issuer else None),
        "aws.cloudtrail.event_version": record.event_version,
        "aws.cloudtrail.event_type": record.event_type,
        "aws.cloudtrail.event_category": text(record.raw.get("eventCategory")),
        "aws.cloudtrail.request_id": record.request_id,
        "aws.cloudtrail.request_parameters": (
            json.dumps(record.request_parameters, sort_keys=True, default=str)
            if record.request_parameters
            else None
        ),
        "aws.cloudtrail.recipient_account_id": record.recipient_account_id,
        "aws.cloudtrail.management_event": _keyword_flag(record.management_event),
        "aws.cloudtrail.read_only": record.read_only,
        "aws.cloudtrail.error_code": record.error_code,
        "aws.cloudtrail.error_message": record.error_message,
        "aws.cloudtrail.user_identity.type": identity.type,
        "aws.cloudtrail.user_identity.arn": identity.arn,
        "aws.cloudtrail.user_identity.access_key_id": identity.access_key_id,
        "aws.cloudtrail.user_identity.invoked_by": identity.invoked_by,
        SESSION_CONTEXT + "mfa_authenticated": _keyword_flag(identity.mfa_authenticated),
        SESSION_CONTEXT + "creation_date": iso_date(identity.session_created),
        "aws.cloudtrail.session_credential_from_console": _keyword_flag(
            record.session_credential_from_console
        ),
    }
    if issuer:
        prefix = SESSION_CONTEXT + "session_issuer."
        fields[prefix + "type"] = issuer.type
        fields[prefix + "arn"] = issuer.arn
        fields[prefix + "principal_id"] = issuer.principal_id
        fields[prefix + "account_id"] = issuer.account_id
    return {key: value for key, value in fields.items() if value is not None}


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Turn dotted ECS names into nested objects (`@timestamp` stays a top-level key)."""
    nested: dict[str, Any] = {}
    for dotted, item in flat.items():
        *parents, leaf = dotted.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = item
    return nested


def is_service_linked_recorder(name: str | None) -> bool:
    """Service-linked recorders are managed by their AWS service, not by the account. Config
    reserves the name prefix for them: StopConfigurationRecorder answers
    InvalidConfigurationRecorderNameException for it (API reference,
    https://docs.aws.amazon.com/config/latest/APIReference/API_StopConfigurationRecorder.html);
    Describe calls also return `servicePrincipal`, which aws/inventory.py and the restart check."""
    return bool(name) and str(name).startswith(SERVICE_LINKED_RECORDER_PREFIX)
