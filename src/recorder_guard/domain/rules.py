"""Detection rules as data: one JSON file per rule, loaded and checked once per process."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache, cached_property
from importlib import resources
from typing import Any

from recorder_guard.domain.conditions import leaf_values, validate
from recorder_guard.domain.values import field, value

SEVERITIES = ("low", "medium", "high", "critical")
REMEDIATIONS = (None, "restart_recorder")
STEP_WHEN = (None, "restarted", "not_restarted")
API_CALL_DETAIL_TYPE = "AWS API Call via CloudTrail"


@value
class MitreEntry:
    id: str
    name: str
    reference: str
    legacy: tuple[str, ...] = ()  # in a current-version mapping: the ids this one replaced

    @property
    def display(self) -> str:
        """`T1685.002 Disable or Modify Cloud Log (legacy T1562.008)`."""
        legacy = f" (legacy {', '.join(self.legacy)})" if self.legacy else ""
        return f"{self.id} {self.name}{legacy}"


@value
class Threat:
    framework: str
    tactic: MitreEntry
    technique: MitreEntry
    subtechniques: tuple[MitreEntry, ...]
    version: str = ""  # the ATT&CK version of a current mapping; "" for Elastic's as-is mapping

    @property
    def entries(self) -> tuple[MitreEntry, ...]:
        return (self.tactic, self.technique, *self.subtechniques)


def threat_fields(threats: tuple[Threat, ...]) -> dict[str, Any]:
    """ECS `threat.*` layout: one keyword array per field, one entry per mapping."""
    return {
        "framework": threats[0].framework if threats else "MITRE ATT&CK",
        "tactic": {
            "id": [t.tactic.id for t in threats],
            "name": [t.tactic.name for t in threats],
            "reference": [t.tactic.reference for t in threats],
        },
        "technique": {
            "id": [t.technique.id for t in threats],
            "name": [t.technique.name for t in threats],
            "reference": [t.technique.reference for t in threats],
            "subtechnique": {
                "id": [s.id for t in threats for s in t.subtechniques],
                "name": [s.name for t in threats for s in t.subtechniques],
                "reference": [s.reference for t in threats for s in t.subtechniques],
            },
        },
    }


@value
class StepTemplate:
    """A triage step; `{recorder}`, `{resource}` and `{region_flag}` are filled per alert."""

    text: str
    command: str | None = None
    actions: tuple[str, ...] = ()  # only for these event actions; empty: always
    when: str | None = None  # "restarted" / "not_restarted": only after (or without) a restart


@value
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
    # The ignore code and words for an event this rule watches whose finer conditions fail.
    unmatched_code: str | None = None
    unmatched_reason: str | None = None
    attack: tuple[Threat, ...] = ()  # the current ATT&CK version's mapping, beside `threats`
    service_linked: bool = False  # written for service-linked recorders: its own steps apply
    upstream: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def single_action(self) -> bool:
        return len(self.event_pattern()["detail"]["eventName"]) == 1

    @cached_property
    def actions(self) -> tuple[str, ...]:
        """The CloudTrail eventNames this rule watches."""
        return tuple(self.event_pattern()["detail"]["eventName"])

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
        """The ECS `threat.*` fields exactly as Elastic's rule maps them (legacy ATT&CK ids),
        so a SIEM joins our alert with Elastic's by rule id and technique."""
        return threat_fields(self.threats)

    def attack_to_ecs(self) -> dict[str, Any] | None:
        """`recorder_guard.attack`: the current ATT&CK version's mapping in the `threat.*`
        layout, with its version, the legacy ids it replaces and the display line. ECS has
        one `threat.framework` per document and no version field, so it cannot sit there."""
        if not self.attack:
            return None
        fields = threat_fields(self.attack)
        fields["version"] = self.attack[0].version
        fields["legacy_id"] = list(
            dict.fromkeys(i for t in self.attack for e in t.entries for i in e.legacy)
        )
        fields["summary"] = self.mitre_summary()
        return fields

    def mitre_summary(self) -> str:
        """What email and chat show: the current ids with the legacy ones in brackets,
        `v19 TA0112 Defense Impairment (legacy TA0005) > T1685 ... > T1685.002 ...`; the
        as-is mapping when a rule has no current one."""
        threats = self.attack or self.threats
        parts = []
        for threat in threats:
            line = " > ".join(
                [threat.tactic.display, threat.technique.display]
                + (
                    [", ".join(s.display for s in threat.subtechniques)]
                    if threat.subtechniques
                    else []
                )
            )
            parts.append(f"v{threat.version} {line}" if threat.version else line)
        return "; ".join(parts)

    def attack_ids(self) -> list[str]:
        """Every ATT&CK id the rule carries, current first, then legacy (chat keywords)."""
        entries = [e for t in self.attack + self.threats for e in t.entries]
        return list(dict.fromkeys(e.id for e in entries))


def _entry(raw: dict[str, Any]) -> MitreEntry:
    return MitreEntry(
        id=raw["id"],
        name=raw["name"],
        reference=raw["reference"],
        legacy=tuple(raw.get("legacy", [])),
    )


def _threats(raw: list[dict[str, Any]]) -> tuple[Threat, ...]:
    return tuple(
        Threat(
            framework=t["framework"],
            tactic=_entry(t["tactic"]),
            technique=_entry(technique),
            subtechniques=tuple(_entry(s) for s in technique.get("subtechnique", [])),
            version=str(t.get("version", "")),
        )
        for t in raw
        for technique in t["technique"]
    )


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
    for step in raw["next_steps"]:
        if step.get("when") not in STEP_WHEN:
            raise ValueError(f"{where}: step 'when' {step.get('when')!r} not in {STEP_WHEN}")
    threats = _threats(raw.get("threat", []))
    attack = _threats(raw.get("attack", []))
    if any(not t.version for t in attack):
        raise ValueError(f"{where}: every `attack` mapping needs its ATT&CK version")
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
            StepTemplate(s["text"], s.get("command"), tuple(s.get("actions", [])), s.get("when"))
            for s in raw["next_steps"]
        ),
        cis_controls=tuple(raw.get("cis_controls", [])),
        rationale=raw.get("rationale", ""),
        remediation=raw.get("remediation"),
        unmatched_code=raw.get("unmatched", {}).get("code"),
        unmatched_reason=raw.get("unmatched", {}).get("reason"),
        attack=attack,
        service_linked=bool(raw.get("service_linked", False)),
        upstream=raw.get("upstream", {}),
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
