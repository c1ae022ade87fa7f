"""Rule files against our snapshot of the upstream rules (`make rules-check`): each file's
`upstream` block states the facts of the upstream version it was compared against, and the
rule either matches them or says why not. Updating the snapshot makes the drift a failure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from recorder_guard.domain.conditions import leaf_values
from recorder_guard.domain.rules import Rule, load_rules
from tests.support import ROOT

SNAPSHOT = ROOT / "tests" / "data" / "upstream" / "elastic.json"
ELASTIC = "Elastic prebuilt rules"
EVENT_DRIVEN = "event-driven"


def snapshot() -> dict[str, Any]:
    return dict(json.loads(SNAPSHOT.read_text(encoding="utf-8")))


def ours(rule: Rule) -> dict[str, Any]:
    """The same facts, read from what the rule file implements."""
    actions = leaf_values(rule.conditions, "event.action", "in") or leaf_values(
        rule.conditions, "event.action", "equals"
    )
    return {
        "severity": rule.severity,
        "risk_score": rule.risk_score,
        "interval": EVENT_DRIVEN,
        "from": EVENT_DRIVEN,
        "dataset_field": "event.dataset"
        if leaf_values(rule.conditions, "event.dataset", "equals")
        else None,
        "actions": sorted(actions or []),
        "outcome": (leaf_values(rule.conditions, "event.outcome", "equals") or [None])[0],
        "threat": [e.id for t in rule.threats for e in t.entries],
    }


UPSTREAM_RULES = [rule for rule in load_rules() if rule.ruleset == ELASTIC]


def test_every_elastic_rule_is_in_the_snapshot_and_only_those() -> None:
    assert {rule.id for rule in UPSTREAM_RULES} == set(snapshot())
    for rule in load_rules():
        assert bool(rule.upstream) == (rule.ruleset == ELASTIC), rule.key


@pytest.mark.parametrize("rule", UPSTREAM_RULES, ids=lambda rule: rule.key)
def test_rule_file_states_the_snapshot(rule: Rule) -> None:
    upstream = snapshot()[rule.id]
    assert rule.name == upstream["name"]
    assert rule.upstream["compared_version"] == upstream["version"]
    assert rule.upstream["compared_date"] == upstream["updated_date"]
    assert rule.upstream["facts"] == upstream["facts"]


@pytest.mark.parametrize("rule", UPSTREAM_RULES, ids=lambda rule: rule.key)
def test_rule_matches_upstream_or_says_why_not(rule: Rule) -> None:
    facts = snapshot()[rule.id]["facts"]
    implemented = ours(rule)
    differs = {
        key for key, value in facts.items() if value is not None and implemented[key] != value
    }
    if rule.version != snapshot()[rule.id]["version"]:
        differs.add("version")
    explained = set(rule.upstream.get("we_differ", {}))
    assert differs == explained, f"undeclared: {differs - explained}; stale: {explained - differs}"
