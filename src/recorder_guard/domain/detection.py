"""The rules' conditions over ECS fields: a Detection, or the reason the event is not ours."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from recorder_guard.domain.cloudtrail import CloudTrailEvent, ecs_fields
from recorder_guard.domain.conditions import first_miss, satisfied_prefix
from recorder_guard.domain.rules import Rule

REQUEST_PARAMETERS = "aws.cloudtrail.flattened.request_parameters."
MISS_CODES = {"event.outcome": "failed_call", "event.provider": "not_provider"}


@dataclass(frozen=True)
class Detection:
    rule: Rule
    event: CloudTrailEvent
    fields: Mapping[str, Any]


@dataclass(frozen=True)
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
    for rule in rules:
        miss = first_miss(rule.conditions, resolve)
        if miss is None:
            return Detection(rule=rule, event=event, fields=fields)
        score = satisfied_prefix(rule.conditions, resolve)
        if nearest is None or score > nearest[0]:
            field, why = miss
            nearest = (score, _miss_code(field), f"{why} (rule {rule.name!r})")
    if nearest is None:
        return Ignored(reason="no detection rule is enabled", code="no_rules")
    if nearest[1] == "not_action":  # no rule watches this call: say so, not one rule's wish
        action = fields.get("event.action")
        shown = "absent" if action is None else repr(action)[:80]
        return Ignored(
            reason=f"event.action {shown} is watched by no enabled rule", code="not_action"
        )
    return Ignored(reason=nearest[2], code=nearest[1])
