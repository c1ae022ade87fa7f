"""The seed rule's facts, as Elastic's rule page states them (plus T1562.008, issue 11)."""

from __future__ import annotations

import pytest

from recorder_guard.domain.rules import Rule, load_rules, parse_rule


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


# The seed document: Elastic's prebuilt rule page "AWS Configuration Recorder Stopped"
# (https://www.elastic.co/guide/en/security/current/prebuilt-rule-8-2-1-aws-configuration-recorder-stopped.html,
# rule version 8). Its facts are written out here so the repository stands alone.
SEED_QUERY = (
    "event.dataset:aws.cloudtrail and event.provider:config.amazonaws.com and "
    "event.action:StopConfigurationRecorder and event.outcome:success"
)
SEED_REFERENCES = (
    "https://awscli.amazonaws.com/v2/documentation/api/latest/reference/configservice/stop-configuration-recorder.html",
    "https://docs.aws.amazon.com/config/latest/APIReference/API_StopConfigurationRecorder.html",
)
SEED_THREAT = (("TA0005", "Defense Evasion"), ("T1562", "Impair Defenses"), "T1562.001")


def test_seed_document_facts_agree_with_rule_file() -> None:
    rule = seed_rule()
    assert rule.query == SEED_QUERY
    assert rule.references == SEED_REFERENCES
    (threat,) = rule.threats
    assert (threat.tactic.id, threat.tactic.name) == SEED_THREAT[0]
    assert (threat.technique.id, threat.technique.name) == SEED_THREAT[1]
    assert threat.subtechniques[0].id == SEED_THREAT[2]


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
