"""The seed rule's facts, as ../shared/seed states them (plus T1562.008, issue 11)."""

from __future__ import annotations

import pytest

from recorder_guard.rules import Rule, load_rules, parse_rule
from tests.support import ROOT


def seed_rule() -> Rule:
    return next(rule for rule in load_rules() if rule.key == "stopped_recorder")


def test_seed_rule_facts() -> None:
    rule = seed_rule()
    assert rule.name == "AWS Configuration Recorder Stopped"
    assert rule.id == "fbd44836-0d69-4004-a0b4-03c20370c435"
    assert rule.version == 8
    assert rule.severity == "high"
    assert rule.risk_score == 73
    assert rule.author == ("Elastic",)
    assert rule.license == "Elastic License v2"
    assert rule.conditions == {
        "all": [
            {"field": "event.dataset", "equals": "aws.cloudtrail"},
            {"field": "event.provider", "equals": "config.amazonaws.com"},
            {"field": "event.action", "equals": "StopConfigurationRecorder"},
            {"field": "event.outcome", "equals": "success"},
        ]
    }
    assert rule.tags == ("Elastic", "Cloud", "AWS", "Continuous Monitoring", "SecOps", "Monitoring")
    (threat,) = rule.threats
    assert (threat.tactic.id, threat.tactic.name) == ("TA0005", "Defense Evasion")
    assert (threat.technique.id, threat.technique.name) == ("T1562", "Impair Defenses")
    assert [s.id for s in threat.subtechniques] == ["T1562.001", "T1562.008"]


def test_seed_text_agrees_with_rule_file() -> None:
    seed = next((ROOT.parent / "shared" / "seed").glob("*.txt")).read_text(encoding="utf-8")
    rule = seed_rule()
    for fact in (
        rule.name,
        f"**Risk score**: {rule.risk_score}",
        f"**Version**: {rule.version}",
        "TA0005",
        "T1562.001",
        *rule.references,
        rule.query,
    ):
        assert fact in seed, fact


def test_ecs_threat_fields() -> None:
    rule = seed_rule()
    threat = rule.threat_to_ecs()
    assert threat["framework"] == "MITRE ATT&CK"
    assert threat["technique"]["subtechnique"]["id"] == ["T1562.001", "T1562.008"]


@pytest.mark.parametrize(("field", "value"), [("severity", "urgent"), ("risk_score", 101)])
def test_invalid_rules_fail_at_load(field: str, value: object) -> None:
    raw = {
        "name": "x",
        "id": "x",
        "version": 1,
        "description": "",
        "severity": "low",
        "risk_score": 1,
        "author": [],
        "license": "",
        "query": "",
        "conditions": {},
        "references": [],
        "tags": [],
    }
    raw[field] = value
    with pytest.raises(ValueError, match=field):
        parse_rule(raw)
