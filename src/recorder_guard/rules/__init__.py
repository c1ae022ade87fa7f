"""Detection rules as data: one JSON file per rule, loaded once per process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

SEVERITIES = ("low", "medium", "high", "critical")
REMEDIATIONS = (None, "restart_recorder")


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
class Rule:
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
    conditions: tuple[tuple[str, str], ...]
    references: tuple[str, ...]
    tags: tuple[str, ...]
    threats: tuple[Threat, ...]
    remediation: str | None = None

    @property
    def restartable(self) -> bool:
        """Only a stopped recorder is restarted; other rules alert and explain."""
        return self.remediation == "restart_recorder"

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
            "category": "Defense Evasion",
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


def parse_rule(raw: dict[str, Any]) -> Rule:
    """Validate one rule file; a broken rule must fail at import, not at alert time."""
    severity = raw["severity"]
    if severity not in SEVERITIES:
        raise ValueError(f"rule {raw.get('id')}: severity {severity!r} not in {SEVERITIES}")
    if raw.get("remediation") not in REMEDIATIONS:
        raise ValueError(f"rule {raw.get('id')}: remediation {raw.get('remediation')!r} unknown")
    risk_score = int(raw["risk_score"])
    if not 0 <= risk_score <= 100:
        raise ValueError(f"rule {raw.get('id')}: risk_score {risk_score} outside 0..100")
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
    return Rule(
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
        conditions=tuple((str(k), str(v)) for k, v in raw["conditions"].items()),
        references=tuple(raw["references"]),
        tags=tuple(raw["tags"]),
        threats=threats,
        remediation=raw.get("remediation"),
    )


@cache
def load_rules() -> tuple[Rule, ...]:
    """Every rule file shipped in this package, sorted by file name."""
    folder = resources.files(__package__)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    return tuple(parse_rule(json.loads(f.read_text(encoding="utf-8"))) for f in files)
