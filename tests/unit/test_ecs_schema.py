"""Every ECS document recorder-guard emits, checked against ECS 9.4.0's own field definitions
and Elastic's AWS CloudTrail integration (tests/data/ecs, see PROVENANCE.md there): required
fields, names, types, allowed values, arrays where ECS normalizes to arrays, and the expected
event.category / event.type pairs. Our own fields live under `recorder_guard.*`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from recorder_guard.domain.alert import ECS_VERSION, build_alert
from recorder_guard.domain.cloudtrail import parse_event
from recorder_guard.domain.detection import Detection, detect
from recorder_guard.domain.notice import DIGEST, GONE, OPENED, REMINDER, RESOLVED, build_notice
from recorder_guard.domain.recorder import (
    BY_BACKSTOP,
    Episode,
    RecorderCheck,
    RecorderKey,
    RecorderStatus,
)
from recorder_guard.domain.remediation import RESTARTED, RemediationResult
from recorder_guard.domain.rules import load_rules, scheduled_rule
from tests.conftest import DETECTED_AT
from tests.support import corpus_events, sample_events

TABLE = Path(__file__).resolve().parent.parent / "data" / "ecs" / "ecs-9.4.0-fields.json"
OUR_NAMESPACE = "recorder_guard"
STRING_TYPES = {"keyword", "text", "match_only_text", "wildcard", "constant_keyword", "ip"}


@cache
def table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TABLE.read_text(encoding="utf-8"))
    return data


def leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted name, value) for every leaf; a list of objects is walked element by element."""
    if isinstance(value, dict):
        found = []
        for key, child in value.items():
            name = f"{prefix}.{key}" if prefix else key
            if name in table()["fields"] or name in table()["aws_cloudtrail"]:
                found.append((name, child))  # a field, even when its value is an object
            else:
                found += leaves(child, name)
        return found
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [leaf for item in value for leaf in leaves(item, prefix)]
    return [(prefix, value)]


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _any(_: Any) -> bool:
    return True


TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    **dict.fromkeys(STRING_TYPES, lambda v: isinstance(v, str)),
    "date": _is_date,
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "scaled_float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "flattened": lambda v: isinstance(v, dict),
    "object": lambda v: isinstance(v, dict),
}


def field_problems(name: str, value: Any) -> list[str]:
    """One field against its definition: known, typed, allowed values, array if normalized."""
    ecs = table()
    if name.startswith("aws."):
        kind = ecs["aws_cloudtrail"].get(name)
        if kind is None:
            return [f"{name}: not a field of Elastic's AWS CloudTrail integration"]
        row = [kind, 0, None, None]
    else:
        row = ecs["fields"].get(name)
        if row is None:
            parent = ecs["fields"].get(name.rsplit(".", 1)[0])
            if parent and parent[3]:
                return []  # a key of an object field such as labels.*
            return [f"{name}: not an ECS 9.4.0 field"]
    kind, normalize, allowed = row[0], row[1], row[2]
    found = []
    if normalize and not isinstance(value, list):
        found.append(f"{name}: ECS normalizes it to an array")
    for item in value if isinstance(value, list) else [value]:
        if not TYPE_CHECKS.get(kind, _any)(item):
            found.append(f"{name}: {item!r} is not a {kind}")
        if allowed and item not in allowed:
            found.append(f"{name}: {item!r} not in {allowed}")
    return found


def problems(document: dict[str, Any]) -> list[str]:
    """Every way the document departs from ECS 9.4.0 and the integration's fields."""
    ecs = table()
    found = [f"missing required {name}" for name in ecs["required"] if not has(document, name)]
    if document.get("ecs", {}).get("version") != ecs["ecs_version"]:
        found.append(f"ecs.version is {document.get('ecs', {}).get('version')!r}")
    found += [
        f"{top}: not an ECS field set"
        for top in document
        if top not in ecs["fieldsets"] and top not in ("aws", OUR_NAMESPACE)
    ]
    for name, value in leaves({k: v for k, v in document.items() if k != OUR_NAMESPACE}):
        found += field_problems(name, value)
    expected = ecs["category_expected_types"]
    event = document.get("event", {})
    found += [
        f"event.type {kind!r} is not expected with category {category!r}"
        for category in event.get("category", [])
        for kind in event.get("type", [])
        if kind not in expected.get(category, [])
    ]
    return found


def has(document: dict[str, Any], name: str) -> bool:
    if name in document:
        return True
    node: Any = document
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def alert_documents() -> dict[str, dict[str, Any]]:
    events = {**sample_events(), **{n: e for n, (e, _) in corpus_events().items()}}
    documents = {}
    status = RecorderStatus(recording=False, name="default", checked_at="2026-11-28T21:14:07Z")
    restarted = RemediationResult(RESTARTED, "default restarted and verified recording", "enforce")
    for name, event in events.items():
        verdict = detect(parse_event(event), load_rules())
        if not isinstance(verdict, Detection):
            continue
        alert = build_alert(verdict, detected_at=DETECTED_AT, recorder_status=status)
        documents[name] = alert.to_document()
        if verdict.rule.restartable:
            again = build_alert(verdict, detected_at=DETECTED_AT, remediation=restarted)
            documents[name + " restarted"] = again.to_document()
    return documents


def notice_documents() -> dict[str, dict[str, Any]]:
    rule = scheduled_rule("recorder_not_recording")
    key = RecorderKey("111122223333", "us-east-1", "default")
    opened = int(datetime(2026, 11, 29, 6, 0, tzinfo=UTC).timestamp())
    check = RecorderCheck(key, recording=False, last_start_time="2026-11-29T05:00:00+00:00")
    episode = Episode(key, opened, opened, "not recording", BY_BACKSTOP)
    at = datetime(2026, 11, 29, 7, 30, tzinfo=UTC)
    notices = {
        OPENED: build_notice(OPENED, rule, partition="aws", detected_at=at, check=check),
        REMINDER: build_notice(
            REMINDER, rule, partition="aws", detected_at=at, check=check, episode=episode
        ),
        RESOLVED: build_notice(
            RESOLVED,
            rule,
            partition="aws",
            detected_at=at,
            check=RecorderCheck(key, recording=True),
            episode=episode,
        ),
        GONE: build_notice(GONE, rule, partition="aws", detected_at=at, episode=episode),
        DIGEST: build_notice(DIGEST, rule, partition="aws", detected_at=at),
    }
    return {kind: notice.to_document() for kind, notice in notices.items()}


DOCUMENTS = {**alert_documents(), **notice_documents()}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_we_emit_is_ecs_9_4(name: str) -> None:
    assert problems(DOCUMENTS[name]) == []


def test_the_table_is_ecs_9_4_and_we_say_so() -> None:
    assert table()["ecs_version"] == ECS_VERSION
    assert table()["required"] == ["@timestamp", "ecs.version"]


def test_the_checker_catches_what_issue_18_found() -> None:
    """The departures the old documents had, each caught."""
    document = dict(DOCUMENTS["stop_recorder_assumed_role.json"])
    document = json.loads(json.dumps(document))
    del document["ecs"]
    identity = document["aws"]["cloudtrail"]["user_identity"]
    identity["principal_id"] = "AROA:x"
    identity["session_context"]["session_issuer"]["user_name"] = "PlatformAdmin"
    document["event"]["type"] = ["end"]
    found = "\n".join(problems(document))
    assert "missing required ecs.version" in found
    assert "aws.cloudtrail.user_identity.principal_id: not a field" in found
    assert "session_issuer.user_name: not a field" in found
    assert "'end' is not expected with category 'configuration'" in found
