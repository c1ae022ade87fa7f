"""A rule's conditions as data: a small tree of field tests, checked at load, evaluated pure.

    {"all": [c, ...]}   {"any": [c, ...]}
    {"field": F, "equals": V}        {"field": F, "in": [V, ...]}
    {"field": F, "not_in": [V, ...]} {"field": F, "not_matching": [glob, ...]}
    {"field": F, "exists": true|false}

`not_in` and `not_matching` hold when the field is absent. Fields are ECS names; paths under
`aws.cloudtrail.flattened.request_parameters.` reach into the call's request parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase
from typing import Any

Resolve = Callable[[str], Any]
TESTS = ("equals", "in", "not_in", "not_matching", "exists")


def validate(condition: Any, where: str) -> None:
    """Fail at load time, naming the rule, for any shape the evaluator does not know."""
    if not isinstance(condition, Mapping):
        raise ValueError(f"{where}: a condition must be an object, got {condition!r}")
    if set(condition) in ({"all"}, {"any"}):
        children = next(iter(condition.values()))
        if not isinstance(children, list) or not children:
            raise ValueError(f"{where}: 'all'/'any' needs a non-empty list")
        for child in children:
            validate(child, where)
        return
    tests = [key for key in condition if key in TESTS]
    if set(condition) != {"field", *tests} or len(tests) != 1:
        raise ValueError(f"{where}: expected field plus one of {TESTS}, got {sorted(condition)}")
    value = condition[tests[0]]
    if tests[0] in ("in", "not_in", "not_matching") and not isinstance(value, list):
        raise ValueError(f"{where}: {tests[0]} needs a list")
    if tests[0] == "exists" and not isinstance(value, bool):
        raise ValueError(f"{where}: exists needs true or false")


def _shown(value: Any) -> str:
    return "absent" if value is None else repr(value)[:80]


def first_miss(condition: Mapping[str, Any], resolve: Resolve) -> tuple[str, str] | None:
    """None when the condition holds; else (field, why) for the first test that fails."""
    if "all" in condition:
        for child in condition["all"]:
            miss = first_miss(child, resolve)
            if miss:
                return miss
        return None
    if "any" in condition:
        failed = [miss for child in condition["any"] if (miss := first_miss(child, resolve))]
        if len(failed) < len(condition["any"]):
            return None
        return failed[0][0], "none of: " + "; ".join(why for _, why in failed)
    field = condition["field"]
    actual = resolve(field)
    if "equals" in condition:
        held = actual == condition["equals"]
        wanted = repr(condition["equals"])
    elif "in" in condition:
        held = actual in condition["in"]
        wanted = f"one of {condition['in']}"[:120]
    elif "not_in" in condition:
        held = actual not in condition["not_in"]
        wanted = f"none of {condition['not_in']}"[:120]
    elif "not_matching" in condition:
        held = not (
            isinstance(actual, str)
            and any(fnmatchcase(actual, pattern) for pattern in condition["not_matching"])
        )
        wanted = f"not matching {condition['not_matching']}"[:120]
    else:
        held = (actual is not None) == condition["exists"]
        wanted = "present" if condition["exists"] else "absent"
    return None if held else (field, f"{field} is {_shown(actual)}, wants {wanted}")


def satisfied_prefix(condition: Mapping[str, Any], resolve: Resolve) -> int:
    """How many leading top-level tests hold: the nearest rule explains an ignored event."""
    children = condition.get("all", [condition])
    count = 0
    for child in children:
        if first_miss(child, resolve):
            break
        count += 1
    return count


def leaf_values(condition: Mapping[str, Any], field: str, test: str) -> list[Any] | None:
    """Values a top-level `all` requires of a field (for the EventBridge pre-filter)."""
    for child in condition.get("all", [condition]):
        if child.get("field") == field and test in child:
            value = child[test]
            return list(value) if isinstance(value, list) else [value]
    return None
