"""Alerts and backstop episodes as AWS Security Finding Format (ASFF) findings. Pure: no boto3.

Field names, limits and who may change what come from the Security Hub API reference
(https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_AwsSecurityFinding.html) and the
user guide (https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html,
https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchimportfindings.html).

A finding's `Id` is deterministic (an event alert: its CloudTrail event; an episode the backstop
opened: the recorder and the moment it opened), so a repeated import updates one finding. The
customer-owned fields (`Workflow`, `Note`, `UserDefinedFields`, `VerificationState`) are never
sent: Security Hub ignores them in an update, and they are the analyst's.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from recorder_guard import __version__
from recorder_guard.domain.limits import clip

if TYPE_CHECKING:
    from recorder_guard.domain.alert import Alert
    from recorder_guard.domain.notice import Notice
    from recorder_guard.domain.recorder import Episode
    from recorder_guard.domain.rules import Rule

SCHEMA_VERSION = "2018-10-08"
FINDING_MAX_BYTES = (
    240 * 1024
)  # BatchImportFindings: "The maximum allowed size for a finding is 240 Kb"
ID_MAX = 512
TITLE_MAX = 256
DESCRIPTION_MAX = 1024
RECOMMENDATION_MAX = 512
FIELD_KEY_MAX = 128
FIELD_VALUE_MAX = 2048  # ProductFields values
DETAIL_VALUE_MAX = 1024  # Resources[].Details.Other values (kept below ProductFields')
URL_MAX = 2048  # a link longer than this is left out: a cut link leads nowhere
TYPES_MAX = 50
PRODUCT = "recorder-guard"
SEVERITY_LABELS = {"low": "LOW", "medium": "MEDIUM", "high": "HIGH", "critical": "CRITICAL"}
# The TTPs categories the ASFF types taxonomy defines (MITRE ATT&CK tactics of 2018):
# https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings-format-type-taxonomy.html
TTP_CATEGORIES = frozenset(
    {
        "Initial Access",
        "Execution",
        "Persistence",
        "Privilege Escalation",
        "Defense Evasion",
        "Credential Access",
        "Discovery",
        "Lateral Movement",
        "Collection",
        "Command and Control",
    }
)
CIS_TYPE = (
    "Software and Configuration Checks/Industry and Regulatory Standards"
    "/CIS AWS Foundations Benchmark"
)
# Compliance.Status for rules whose condition can end (the recorder records again).
FAILED, PASSED, NOT_AVAILABLE = "FAILED", "PASSED", "NOT_AVAILABLE"
ACTIVE, ARCHIVED = "ACTIVE", "ARCHIVED"


class FindingTooLargeError(ValueError):
    """Even with every provider field shortened the finding exceeds 240 KB."""


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as the API reference's Timestamps section accepts."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_product_arn(partition: str, region: str, account: str) -> str:
    """The product ARN Security Hub creates for custom findings in each account and region
    (https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-custom-providers.html)."""
    return f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"


def _finding_id(*parts: str) -> str:
    """`recorder-guard/<parts>`, each part percent-encoded (no stray `/`); a hash when longer
    than the 512 characters an Id may have."""
    text = "/".join([PRODUCT, *(quote(part, safe="-_.:") for part in parts)])
    if len(text) <= ID_MAX:
        return text
    return f"{PRODUCT}/sha256/{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}"


def event_finding_id(account: str, region: str, event_id: str) -> str:
    """One finding per CloudTrail event: a redelivered event updates it."""
    return _finding_id(account, region, "event", event_id)


def episode_finding_id(episode: Episode) -> str:
    """The finding of an episode: the event's when an event alert opened it, else the
    recorder's at the moment the backstop opened it."""
    key = episode.key
    if episode.event_id:
        return event_finding_id(key.account, key.region, episode.event_id)
    return _finding_id(key.account, key.region, "recorder", key.recorder, str(episode.opened_at))


def finding_types(rule: Rule) -> list[str]:
    """ASFF `Types` from the rule's MITRE mapping (`TTPs/<tactic>/<technique>`), plus the
    CIS benchmark's check type when the rule names CIS controls."""
    types: list[str] = []
    for threat in rule.threats:
        tactic = threat.tactic.name
        category = f"TTPs/{tactic}" if tactic in TTP_CATEGORIES else "TTPs"
        names = [threat.technique.name, *(s.name for s in threat.subtechniques)]
        types.extend(f"{category}/{name}" if category != "TTPs" else category for name in names)
    if rule.cis_controls:
        types.append(CIS_TYPE)
    return list(dict.fromkeys(types))[:TYPES_MAX] or ["TTPs"]


def _mitre(rule: Rule) -> dict[str, str]:
    tactics = ", ".join(dict.fromkeys(f"{t.tactic.id} {t.tactic.name}" for t in rule.threats))
    techniques = ", ".join(
        f"{e.id} {e.name}" for t in rule.threats for e in (t.technique, *t.subtechniques)
    )
    fields = {"MitreTactics": tactics, "MitreTechniques": techniques}
    if rule.attack:  # the current ATT&CK version's ids beside Elastic's (Types keep the latter:
        fields["MitreAttack"] = rule.mitre_summary()  # ASFF has no "Defense Impairment" category)
    return fields


def _rule_fields(rule: Rule) -> dict[str, str]:
    """The rule's ProductFields, the same for an alert's finding and an episode's."""
    return {
        "RuleId": rule.id,
        "RuleName": rule.name,
        "RiskScore": str(rule.risk_score),
        **_mitre(rule),
    }


def _product_fields(fields: dict[str, str | None]) -> dict[str, str]:
    """`recorder-guard/<name>` keys (the `aws/` prefix is AWS's); empty values dropped; at
    most 50 pairs, values clipped to 2048 characters."""
    kept = {
        clip(f"{PRODUCT}/{name}", FIELD_KEY_MAX): clip(value, FIELD_VALUE_MAX)
        for name, value in fields.items()
        if value
    }
    kept["ProviderName"] = PRODUCT
    kept["ProviderVersion"] = __version__
    return dict(list(kept.items())[:50])


def _details(values: dict[str, str | None]) -> dict[str, str]:
    return {key: clip(value, DETAIL_VALUE_MAX) for key, value in values.items() if value}


def _recorder_resource(
    partition: str, region: str, account: str, recorder: str | None
) -> dict[str, Any]:
    """The recorder as the finding's target. ASFF has no resource type for a Config recorder,
    so `Other` (as the Resource page says for unlisted types), identified by name."""
    name = recorder or "unknown"
    return {
        "Type": "Other",
        "Id": clip(f"configuration-recorder/{name}", 512),
        "Partition": partition,
        "Region": region,
        "ResourceRole": "Target",
        "Details": {
            "Other": _details(
                {
                    "ResourceType": "AWS::Config::ConfigurationRecorder",
                    "RecorderName": name,
                    "AccountId": account,
                }
            )
        },
    }


def _account_resource(partition: str, region: str, account: str) -> dict[str, Any]:
    return {
        "Type": "AwsAccount",
        "Id": f"AWS::::Account:{account}",
        "Partition": partition,
        "Region": region,
    }


def _actor_resource(alert: Alert, partition: str, region: str) -> dict[str, Any] | None:
    """The principal that made the call, as an `Actor` resource when CloudTrail names it."""
    actor = alert.actor
    if actor.type == "IAMUser" and actor.arn:
        kind, arn = "AwsIamUser", actor.arn
    elif actor.type == "AssumedRole" and actor.session_issuer_arn:
        kind, arn = "AwsIamRole", actor.session_issuer_arn
    elif actor.arn:
        kind, arn = "Other", actor.arn
    else:
        return None
    return {
        "Type": kind,
        "Id": clip(arn, 512),
        "Partition": partition,
        "Region": region,
        "ResourceRole": "Actor",
    }


def _api_call(alert: Alert) -> dict[str, Any]:
    """`Action`: the API call, its caller's IPv4 address or the AWS service that called."""
    call: dict[str, Any] = {
        "Api": clip(alert.action or "unknown", 128),
        "ServiceName": clip(alert.provider or "unknown", 128),
    }
    if alert.event_time:
        call["FirstSeen"] = call["LastSeen"] = alert.event_time
    source = alert.source_ip or ""
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv4Address):
        call["CallerType"] = "remoteip"
        call["RemoteIpDetails"] = {"IpAddressV4": str(address)}
    elif source and address is None:
        call["CallerType"] = "domain"
        call["DomainDetails"] = {"Domain": clip(source, 128)}
    return {"ActionType": "AWS_API_CALL", "AwsApiCallAction": call}


def _compliance(rule: Rule, recording: bool | None) -> dict[str, Any] | None:
    """Only for rules whose condition can end (a stopped recorder): FAILED while it does not
    record, PASSED when it records again, NOT_AVAILABLE when we could not tell."""
    if not rule.restartable:
        return None
    status = NOT_AVAILABLE if recording is None else (PASSED if recording else FAILED)
    compliance: dict[str, Any] = {"Status": status}
    if rule.cis_controls:
        compliance["RelatedRequirements"] = [clip(c, 256) for c in rule.cis_controls[:32]]
    return compliance


def _guidance(
    rule: Rule, steps: list[str], url: str | None, recording: bool | None
) -> dict[str, Any]:
    """`Remediation` (the next steps, and the recorder's console page when known) and, for a
    rule whose condition can end, `Compliance`: alike for an alert's finding and an episode's."""
    recommendation: dict[str, str] = {"Text": _steps_text(steps)}
    if url:
        recommendation["Url"] = url
    guidance: dict[str, Any] = {"Remediation": {"Recommendation": recommendation}}
    compliance = _compliance(rule, recording)
    if compliance:
        guidance["Compliance"] = compliance
    return guidance


def _steps_text(steps: list[str]) -> str:
    numbered = " ".join(f"{n}. {step}" for n, step in enumerate(steps, 1))
    return clip(numbered or "Restart the recorder if nobody owns the change.", RECOMMENDATION_MAX)


def _severity(rule: Rule) -> dict[str, str]:
    return {"Label": SEVERITY_LABELS[rule.severity], "Original": rule.severity}


def _base(
    *,
    rule: Rule,
    finding_id: str,
    partition: str,
    region: str,
    account: str,
    now: datetime,
    first_seen: str,
    title: str,
    description: str,
) -> dict[str, Any]:
    created = timestamp(now)
    types = finding_types(rule)
    severity = _severity(rule)
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id,
        "ProductArn": default_product_arn(partition, region, account),
        "GeneratorId": clip(rule.id, 512),
        "AwsAccountId": account,
        "Types": types,
        "CreatedAt": created,
        "UpdatedAt": created,
        "FirstObservedAt": first_seen,
        "LastObservedAt": first_seen,
        "Severity": severity,
        # Providers keep Severity and Types current through FindingProviderFields; the top-level
        # copies are what a customer may override (API reference, FindingProviderFields).
        "FindingProviderFields": {"Severity": severity, "Types": types},
        "Title": clip(title, TITLE_MAX),
        "Description": clip(description or rule.description, DESCRIPTION_MAX),
        "ProductName": PRODUCT,
        "CompanyName": PRODUCT,
        "RecordState": ACTIVE,
    }


def finding_for_alert(alert: Alert) -> dict[str, Any] | None:
    """The event alert as one finding; None when the event names no account or region (a
    finding must be imported in the account and region it is about)."""
    account, region = alert.account_id, alert.region
    if not account or not region or not alert.event_id:
        return None
    rule = alert.rule
    event_time = alert.event_time or timestamp(alert.detected_at)
    finding = _base(
        rule=rule,
        finding_id=event_finding_id(account, region, alert.event_id),
        partition=alert.partition,
        region=region,
        account=account,
        now=alert.detected_at,
        first_seen=event_time,
        title=alert.title,
        description=alert.summary(str, str),
    )
    links = {name: url for name, url in alert.console_links.items() if len(url) <= URL_MAX}
    resources = [
        _recorder_resource(
            alert.partition, region, account, alert.resource_name or alert.recorder_name
        ),
        _account_resource(alert.partition, region, account),
    ]
    actor = _actor_resource(alert, alert.partition, region)
    if actor:
        resources.append(actor)
    finding["Resources"] = resources
    finding["Action"] = _api_call(alert)
    if links.get("cloudtrail_event"):
        finding["SourceUrl"] = links["cloudtrail_event"]
    finding.update(
        _guidance(
            rule,
            [s.as_text() for s in alert.next_steps],
            links.get("config_recorder"),
            alert.recording_now,
        )
    )
    who = alert.actor
    finding["ProductFields"] = _product_fields(
        {
            "EventId": alert.event_id,
            "EventAction": alert.action,
            **_rule_fields(rule),
            "ActorArn": who.arn,
            "ActorType": who.type,
            "ActorName": who.display_name,
            "ActorAccountId": who.account_id,
            "AccessKeyId": who.access_key_id,
            "SessionIssuerArn": who.session_issuer_arn,
            "MfaAuthenticated": _flag(who.mfa_authenticated),
            "InvokedBy": who.invoked_by,
            "SourceIp": alert.source_ip,
            "UserAgent": alert.user_agent,
            "RecorderState": alert.recorder_now,
            "Remediation": alert.remediation.outcome if alert.remediation else None,
            "AccountAlias": alert.account_alias,
            "IamPrincipalUrl": links.get("iam_principal"),
        }
    )
    return fit(finding)


def _flag(value: bool | None) -> str | None:
    return None if value is None else str(value).lower()


def finding_for_notice(notice: Notice, episode: Episode) -> dict[str, Any] | None:
    """A backstop episode (the recorder found not recording) as one finding."""
    account, region = notice.account, notice.region
    if not account or not region:
        return None
    rule = notice.rule
    link = notice.console_link()
    finding = _base(
        rule=rule,
        finding_id=episode_finding_id(episode),
        partition=notice.partition,
        region=region,
        account=account,
        now=notice.detected_at,
        first_seen=timestamp(datetime.fromtimestamp(episode.opened_at, UTC)),
        title=notice.headline(),
        description=notice.summary(),
    )
    finding["Resources"] = [
        _recorder_resource(notice.partition, region, account, notice.recorder),
        _account_resource(notice.partition, region, account),
    ]
    if link:
        finding["SourceUrl"] = link
    finding.update(
        _guidance(rule, [s.as_text() for s in notice.next_steps], link, notice.recording_now)
    )
    stopper = notice.stopper
    finding["ProductFields"] = _product_fields(
        {
            "EventId": stopper.event_id if stopper else None,
            **_rule_fields(rule),
            "Problems": notice.problems,
            "ActorArn": stopper.arn if stopper else None,
            "ActorType": stopper.identity_type if stopper else None,
            "ActorName": stopper.display_name if stopper else None,
            "SessionIssuerArn": stopper.issuer_arn if stopper else None,
            "SourceIp": stopper.source_ip if stopper else None,
            "RecorderState": notice.recorder_now,
            "Remediation": notice.remediation.outcome if notice.remediation else None,
            "AccountAlias": notice.account_alias,
        }
    )
    return fit(finding)


def _later(moment: datetime, previous: str) -> str:
    """`moment`, or 1 ms after `previous` when the clock says otherwise: Security Hub ignores
    an update whose UpdatedAt is not later than the stored one."""
    try:
        before = datetime.fromisoformat(previous.replace("Z", "+00:00"))
    except ValueError:
        return timestamp(moment)
    return timestamp(max(moment, before + timedelta(milliseconds=1)))


def observed_again(finding: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The same finding, still true at `now` (a reminder): newer UpdatedAt and LastObservedAt."""
    updated = copy.deepcopy(finding)
    updated["UpdatedAt"] = _later(now, finding.get("UpdatedAt", ""))
    updated["LastObservedAt"] = updated["UpdatedAt"]
    return fit(updated)


def resolved(finding: dict[str, Any], now: datetime, note: str) -> dict[str, Any]:
    """The finding closed by its provider: the recorder records again.

    `Workflow.Status` is the customer's and BatchImportFindings ignores it on an existing
    finding; what a provider may change is `RecordState` (ARCHIVED), `Compliance.Status`
    (PASSED) and its own text. So the finding is re-imported archived, passed and saying why,
    with a newer `UpdatedAt`."""
    updated = copy.deepcopy(finding)
    updated["UpdatedAt"] = _later(now, finding.get("UpdatedAt", ""))
    updated["RecordState"] = ARCHIVED
    if "Compliance" in updated:
        updated["Compliance"]["Status"] = PASSED
    title = str(updated.get("Title", ""))
    if not title.startswith("Resolved: "):
        updated["Title"] = clip(f"Resolved: {title}", TITLE_MAX)
    updated["Description"] = clip(f"{note} {updated.get('Description', '')}", DESCRIPTION_MAX)
    fields = dict(updated.get("ProductFields", {}))
    fields[f"{PRODUCT}/Resolution"] = clip(note, FIELD_VALUE_MAX)
    fields[f"{PRODUCT}/ResolvedAt"] = updated["UpdatedAt"]
    fields[f"{PRODUCT}/RecorderState"] = "recording"
    updated["ProductFields"] = dict(list(fields.items())[:50])
    return fit(updated)


def size(finding: dict[str, Any]) -> int:
    """The finding's size as sent: its JSON in UTF-8."""
    return len(json.dumps(finding, separators=(",", ":")).encode("utf-8", "surrogatepass"))


def fit(finding: dict[str, Any], limit: int = FINDING_MAX_BYTES) -> dict[str, Any]:
    """Within the 240 KB a finding may have: provider fields and resource details are
    shortened (each with a visible marker) until it fits; raises if it still does not."""
    for chars in (None, 512, 128, 32):
        candidate = finding if chars is None else _shortened(finding, chars)
        if size(candidate) <= limit:
            return candidate
    raise FindingTooLargeError(f"finding {finding.get('Id')!r} exceeds {limit} bytes")


def _shortened(finding: dict[str, Any], chars: int) -> dict[str, Any]:
    shorter = copy.deepcopy(finding)
    fields = shorter.get("ProductFields", {})
    for key, value in fields.items():
        if key not in ("ProviderName", "ProviderVersion"):
            fields[key] = clip(value, chars)
    for resource in shorter.get("Resources", []):
        other = resource.get("Details", {}).get("Other", {})
        for key, value in other.items():
            other[key] = clip(value, chars)
    return shorter
