"""Two ATT&CK mappings per rule: Elastic's as-is in ECS `threat.*` (legacy ids, so alerts join
Elastic's), and the current version's beside it, held to the checked-in v18 -> v19 table."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest

from recorder_guard.domain.rules import Rule, Threat, load_rules, scheduled_rule
from recorder_guard.render.chatbot import render_chatbot
from recorder_guard.render.email import render_email
from tests.conftest import alert_for
from tests.support import sample_events

ALL_RULES = (*load_rules(), scheduled_rule("recorder_not_recording"))
ID = re.compile(r"^(TA\d{4}|T\d{4}(\.\d{3})?)$")


def table() -> dict[str, Any]:
    path = resources.files("recorder_guard").joinpath("rules", "mitre", "attack-v18-to-v19.json")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def expected_v19(threats: tuple[Threat, ...]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(id, name, legacy ids) of every entry the table makes of a legacy mapping, in order."""
    mapping = table()
    entries: dict[str, tuple[str, str, list[str]]] = {}
    for threat in threats:
        for legacy, kind in [(threat.tactic.id, "tactics")] + [
            (e.id, "techniques") for e in (threat.technique, *threat.subtechniques)
        ]:
            new = mapping[kind][legacy]
            entries.setdefault(new["id"], (new["id"], new["name"], []))[2].append(legacy)
    return [(i, name, tuple(legacy)) for i, name, legacy in entries.values()]


def actual_v19(rule: Rule) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(e.id, e.name, e.legacy) for t in rule.attack for e in t.entries]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.key)
def test_every_rule_maps_to_v19_exactly_as_the_table_says(rule: Rule) -> None:
    assert rule.threats, "every rule carries Elastic's (legacy) mapping"
    assert {t.version for t in rule.attack} == {table()["to_version"]}
    assert actual_v19(rule) == expected_v19(rule.threats)


def test_table_ids_are_well_formed_and_cited() -> None:
    mapping = table()
    for kind in ("tactics", "techniques"):
        for legacy, new in mapping[kind].items():
            assert ID.match(legacy), legacy
            assert ID.match(new["id"]), new
            path = new["id"].replace(".", "/")
            prefix = "tactics" if kind == "tactics" else "techniques"
            assert new["reference"] == f"https://attack.mitre.org/{prefix}/{path}/"
    assert (
        "secondary" in mapping["verification"]["T1562.008 -> T1685.002 Disable or Modify Cloud Log"]
    )


def test_ecs_threat_stays_elastic_and_v19_sits_beside_it() -> None:
    alert = alert_for(sample_events()["stop_recorder_assumed_role.json"])
    document = alert.to_document()
    assert document["threat"]["framework"] == "MITRE ATT&CK"
    assert document["threat"]["tactic"]["id"] == ["TA0005"]
    assert document["threat"]["technique"]["id"] == ["T1562"]
    assert document["threat"]["technique"]["subtechnique"]["id"] == ["T1562.001", "T1562.008"]
    attack = document["recorder_guard"]["attack"]
    assert attack["framework"] == "MITRE ATT&CK"
    assert attack["version"] == "19"
    assert attack["tactic"] == {
        "id": ["TA0112"],
        "name": ["Defense Impairment"],
        "reference": ["https://attack.mitre.org/tactics/TA0112/"],
    }
    assert attack["technique"]["id"] == ["T1685"]
    assert attack["technique"]["subtechnique"]["id"] == ["T1685.002"]
    assert attack["legacy_id"] == ["TA0005", "T1562", "T1562.001", "T1562.008"]


def test_email_and_chat_show_current_ids_with_legacy_in_brackets() -> None:
    alert = alert_for(sample_events()["stop_recorder_assumed_role.json"])
    shown = "T1685.002 Disable or Modify Cloud Log (legacy T1562.008)"
    assert shown in " ".join(render_email(alert).split())
    chat = render_chatbot(alert)["content"]
    assert shown in chat["description"]
    assert "TA0112 Defense Impairment (legacy TA0005)" in chat["description"]
    assert chat["keywords"][4:7] == ["TA0112", "T1685", "T1685.002"]
    assert "T1562.008" in chat["keywords"]  # legacy ids stay searchable
