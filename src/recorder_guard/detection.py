"""The rule's conditions over ECS fields: a Detection, or the reason the event is not ours."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from recorder_guard.cloudtrail import CloudTrailEvent, ecs_fields
from recorder_guard.rules import Rule


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


def _mismatch(rule: Rule, fields: Mapping[str, Any]) -> tuple[str, str] | None:
    for name, wanted in rule.conditions:
        actual = fields.get(name)
        if actual != wanted:
            shown = "absent" if actual is None else repr(actual)[:80]
            code = {"event.outcome": "failed_call"}.get(name, "not_" + name.split(".")[-1])
            return code, f"{name} is {shown}, rule {rule.name!r} wants {wanted!r}"
    return None


def detect(event: CloudTrailEvent, rules: Iterable[Rule]) -> Detection | Ignored:
    """First rule whose every condition holds; else the nearest miss explains the skip."""
    if not event.is_api_call:
        return Ignored(
            reason=f"detail-type is {event.detail_type[:80]!r}, not a CloudTrail API call",
            code="not_api_call",
        )
    fields = ecs_fields(event)
    misses: list[tuple[str, str]] = []
    for rule in rules:
        miss = _mismatch(rule, fields)
        if miss is None:
            return Detection(rule=rule, event=event, fields=fields)
        misses.append(miss)
    if not misses:
        return Ignored(reason="no detection rule is enabled", code="no_rules")
    code, reason = misses[0]
    return Ignored(reason=reason, code=code)
