"""Detection rules as data: one JSON file per rule, loaded and checked once per process."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from recorder_guard.domain.conditions import leaf_values, validate

SEVERITIES = ("low", "medium", "high", "critical")
REMEDIATIONS = (None, "restart_recorder")
API_CALL_DETAIL_TYPE = "AWS API Call via CloudTrail"


@dataclass(frozen=True)
class MitreEntry:
    id: str
    name: str
    reference: str


@dataclass(frozen=True)
class Threat:
    framework: str
    tactic: MitreEntry
    technique: MitreEntry
    subtechniques: tuple[MitreEntry, ...]


@dataclass(frozen=True)
class StepTemplate:
    """A triage step; `{recorder}`, `{resource}` and `{region_flag}` are filled per alert."""

    text: str
    command: str | None = None
    actions: tuple[str, ...] = ()  # only for these event actions; empty: always


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    id: str
    version: int
    description: str
    severity: str
    risk_score: int
    author: tuple[str, ...]
    license: str
    ruleset: str
    query: str
    conditions: Mapping[str, Any] = field(hash=False)
    references: tuple[str, ...]
    tags: tuple[str, ...]
    threats: tuple[Threat, ...]
    summary: str
    next_steps: tuple[StepTemplate, ...]
    cis_controls: tuple[str, ...] = ()
    rationale: str = ""
    remediation: str | None = None

    @property
    def single_action(self) -> bool:
        return len(self.event_pattern()["detail"]["eventName"]) == 1

    @property
    def concerns_config(self) -> bool:
        """Only AWS Config calls make the recorder's status worth reading for the alert."""
        return leaf_values(self.conditions, "event.provider", "equals") == ["config.amazonaws.com"]

    @property
    def restartable(self) -> bool:
        """Only a stopped recorder is restarted; other rules alert and explain."""
        return self.remediation == "restart_recorder"

    def event_pattern(self) -> dict[str, Any]:
        """The EventBridge pre-filter for this rule: provider, actions and success only.

        The rule's finer conditions (exclusions, request parameters) are evaluated by the
        handler; EventBridge's anything-but does not match absent fields, so they stay there.
        """
        provider = leaf_values(self.conditions, "event.provider", "equals") or leaf_values(
            self.conditions, "event.provider", "in"
        )
        actions = leaf_values(self.conditions, "event.action", "in") or leaf_values(
            self.conditions, "event.action", "equals"
        )
        outcome = leaf_values(self.conditions, "event.outcome", "equals")
        if not provider or not actions or outcome != ["success"]:
            raise ValueError(f"rule {self.key}: needs provider, action(s) and outcome success")
        return {
            "source": sorted({"aws." + str(p).split(".")[0] for p in provider}),
            "detail-type": [API_CALL_DETAIL_TYPE],
            "detail": {
                "eventSource": sorted(provider),
                "eventName": sorted(actions),
                "errorCode": [{"exists": False}],
            },
        }

    def to_ecs(self) -> dict[str, Any]:
        """The ECS `rule.*` fields, as Elastic Security writes them on its own alerts."""
        return {
            "name": self.name,
            "id": self.id,
            "uuid": self.id,
            "version": str(self.version),
            "description": self.description,
            "author": list(self.author),
            "license": self.license,
            "ruleset": self.ruleset,
            "reference": list(self.references),
            "category": self.threats[0].tactic.name if self.threats else "",
        }

    def threat_to_ecs(self) -> dict[str, Any]:
        """The ECS `threat.*` fields (arrays, one entry per mapping)."""
        return {
            "framework": self.threats[0].framework if self.threats else "MITRE ATT&CK",
            "tactic": {
                "id": [t.tactic.id for t in self.threats],
                "name": [t.tactic.name for t in self.threats],
                "reference": [t.tactic.reference for t in self.threats],
            },
            "technique": {
                "id": [t.technique.id for t in self.threats],
                "name": [t.technique.name for t in self.threats],
                "reference": [t.technique.reference for t in self.threats],
                "subtechnique": {
                    "id": [s.id for t in self.threats for s in t.subtechniques],
                    "name": [s.name for t in self.threats for s in t.subtechniques],
                    "reference": [s.reference for t in self.threats for s in t.subtechniques],
                },
            },
        }

    def mitre_summary(self) -> str:
        """`TA0005 Defense Evasion > T1562 Impair Defenses > T1562.001 ..., T1562.008 ...`."""
        parts = []
        for threat in self.threats:
            subs = ", ".join(f"{s.id} {s.name}" for s in threat.subtechniques)
            line = f"{threat.tactic.id} {threat.tactic.name} > {threat.technique.id} "
            line += threat.technique.name + (f" > {subs}" if subs else "")
            parts.append(line)
        return "; ".join(parts)


def _entry(raw: dict[str, Any]) -> MitreEntry:
    return MitreEntry(id=raw["id"], name=raw["name"], reference=raw["reference"])


def parse_rule(raw: dict[str, Any], *, event_driven: bool = True) -> Rule:
    """Validate one rule file; a broken rule must fail at import, not at alert time. A
    scheduled rule (the backstop's) has metadata only: no conditions, no event pattern."""
    where = f"rule {raw.get('key') or raw.get('id')}"
    severity = raw["severity"]
    if severity not in SEVERITIES:
        raise ValueError(f"{where}: severity {severity!r} not in {SEVERITIES}")
    if raw.get("remediation") not in REMEDIATIONS:
        raise ValueError(f"{where}: remediation {raw.get('remediation')!r} unknown")
    risk_score = int(raw["risk_score"])
    if not 0 <= risk_score <= 100:
        raise ValueError(f"{where}: risk_score {risk_score} outside 0..100")
    if event_driven:
        validate(raw["conditions"], where)
    threats = tuple(
        Threat(
            framework=t["framework"],
            tactic=_entry(t["tactic"]),
            technique=_entry(technique),
            subtechniques=tuple(_entry(s) for s in technique.get("subtechnique", [])),
        )
        for t in raw.get("threat", [])
        for technique in t["technique"]
    )
    rule = Rule(
        key=raw["key"],
        name=raw["name"],
        id=raw["id"],
        version=int(raw["version"]),
        description=raw["description"],
        severity=severity,
        risk_score=risk_score,
        author=tuple(raw["author"]),
        license=raw["license"],
        ruleset=raw.get("ruleset", ""),
        query=raw["query"],
        conditions=raw["conditions"],
        references=tuple(raw["references"]),
        tags=tuple(raw["tags"]),
        threats=threats,
        summary=raw["summary"],
        next_steps=tuple(
            StepTemplate(s["text"], s.get("command"), tuple(s.get("actions", [])))
            for s in raw["next_steps"]
        ),
        cis_controls=tuple(raw.get("cis_controls", [])),
        rationale=raw.get("rationale", ""),
        remediation=raw.get("remediation"),
    )
    if event_driven:
        rule.event_pattern()  # every event rule must yield an EventBridge pre-filter
    return rule


@cache
def load_rules() -> tuple[Rule, ...]:
    """Every rule file shipped in this package, in file-name order (the catalogue)."""
    folder = resources.files("recorder_guard").joinpath("rules")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    rules = tuple(parse_rule(json.loads(f.read_text(encoding="utf-8"))) for f in files)
    keys = [rule.key for rule in rules]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate rule keys in {keys}")
    return rules


@cache
def scheduled_rule(key: str) -> Rule:
    """A rule the scheduled backstop raises (in `scheduled/`, outside the event catalogue)."""
    path = resources.files("recorder_guard").joinpath("rules").joinpath("scheduled", f"{key}.json")
    return parse_rule(json.loads(path.read_text(encoding="utf-8")), event_driven=False)


def enabled_rules(keys: tuple[str, ...] | None) -> tuple[Rule, ...]:
    """The catalogue filtered by ENABLED_RULES (None: all)."""
    rules = load_rules()
    return rules if keys is None else tuple(rule for rule in rules if rule.key in keys)
