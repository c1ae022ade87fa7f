"""The rules' conditions over ECS fields: a Detection, or the reason the event is not ours."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from recorder_guard.domain.cloudtrail import CloudTrailEvent, ecs_fields
from recorder_guard.domain.conditions import first_miss, satisfied_prefix
from recorder_guard.domain.rules import Rule
from recorder_guard.domain.values import value

REQUEST_PARAMETERS = "aws.cloudtrail.flattened.request_parameters."
MISS_CODES = {"event.outcome": "failed_call", "event.provider": "not_provider"}
# Every reason an event is ignored; the handler counts each as metric `Ignored<CodeInCamel>`
# beside `IgnoredEvents` (docs/alerts.md lists them; a test holds the three together).
IGNORE_CODES = {
    "not_api_call": "not an AWS API call via CloudTrail",
    "no_rules": "no detection rule is enabled",
    "not_action": "the call is watched by no enabled rule",
    "not_provider": "another service's call",
    "failed_call": "the call failed (errorCode), so nothing changed",
    "excluded": "the caller is excluded by the rule (an AWS service's own call)",
    "not_matched": "a rule's other conditions do not hold",
    "does_not_narrow": "a PutConfigurationRecorder that does not narrow recording",
}


def ignore_metric(code: str) -> str:
    """`not_action` -> `IgnoredNotAction`: one metric per reason."""
    return "Ignored" + code.title().replace("_", "")


@value
class Detection:
    rule: Rule
    event: CloudTrailEvent
    fields: Mapping[str, Any]


@value
class Ignored:
    """A well-formed event that no rule claims; `reason` says which condition it failed."""

    reason: str
    code: str


def resolver(event: CloudTrailEvent, fields: Mapping[str, Any]) -> Any:
    """ECS fields by name, and request parameters by path, as Elastic's flattened field."""

    def resolve(name: str) -> Any:
        if not name.startswith(REQUEST_PARAMETERS):
            return fields.get(name)
        node: Any = event.record.request_parameters
        for part in name[len(REQUEST_PARAMETERS) :].split("."):
            if not isinstance(node, Mapping):
                return None
            node = node.get(part)
        return node

    return resolve


def _miss_code(field: str) -> str:
    if field in MISS_CODES:
        return MISS_CODES[field]
    if field == "event.action":
        return "not_action"
    return "excluded" if field.startswith("aws.cloudtrail.user_identity") else "not_matched"


def detect(event: CloudTrailEvent, rules: Iterable[Rule]) -> Detection | Ignored:
    """First rule whose conditions hold; else the rule that came nearest explains the skip."""
    if not event.is_api_call:
        return Ignored(
            reason=f"detail-type is {event.detail_type[:80]!r}, not a CloudTrail API call",
            code="not_api_call",
        )
    fields = ecs_fields(event)
    resolve = resolver(event, fields)
    nearest: tuple[int, str, str] | None = None
    action = fields.get("event.action")
    watched = False
    for rule in rules:
        miss = first_miss(rule.conditions, resolve)
        if miss is None:
            return Detection(rule=rule, event=event, fields=fields)
        watched = watched or action in rule.actions
        score = satisfied_prefix(rule.conditions, resolve)
        if nearest is None or score > nearest[0]:
            field, why = miss
            code = _miss_code(field)
            if field == "event.action" and action in rule.actions:
                # The rule watches this call; a finer condition failed, not the action.
                code = rule.unmatched_code or "not_matched"
                if rule.unmatched_reason:
                    why = f"{action} {rule.unmatched_reason}: {why}"
            nearest = (score, code, f"{why} (rule {rule.name!r})")
    if nearest is None:
        return Ignored(reason="no detection rule is enabled", code="no_rules")
    if nearest[1] == "not_action" and not watched:  # say so, not one rule's wish
        shown = "absent" if action is None else repr(action)[:80]
        return Ignored(
            reason=f"event.action {shown} is watched by no enabled rule", code="not_action"
        )
    return Ignored(reason=nearest[2], code=nearest[1])
