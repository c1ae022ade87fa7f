"""`value` classes behave as the frozen dataclasses they replace (see domain/values.py)."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar

import pytest

from recorder_guard.domain.values import field, fields, replace, value


@value
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    note: str = field(default="", repr=False)
    extra: dict[str, Any] = field(default_factory=dict, hash=False)
    unit: ClassVar[str] = "m"


@value(order=True)
class Key:
    account: str
    region: str


@value(frozen=False)
class Counter:
    seen: list[str] = field(default_factory=list)
    count: int = 0


def test_init_positional_keyword_and_defaults() -> None:
    point = Point(1, tags=("a",))
    assert (point.x, point.y, point.tags, point.note, point.extra) == (1, 0, ("a",), "", {})
    assert Point(x=1, y=2) == Point(1, 2)
    assert Point(1).extra is not Point(1).extra  # a fresh dict from the factory each time
    assert Point.unit == "m"
    assert Point.__match_args__ == ("x", "y", "tags", "note", "extra")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, 2, (), "", {}, 6), {}), ((1,), {"x": 1}), ((1,), {"z": 1})],
)
def test_bad_arguments_are_refused(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        Point(*args, **kwargs)


def test_frozen() -> None:
    point = Point(1)
    with pytest.raises(FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del point.x


def test_eq_hash_repr() -> None:
    assert Point(1, extra={"a": 1}) == Point(1, extra={"a": 1})
    assert Point(1, extra={"a": 1}) != Point(1, extra={"a": 2})
    assert hash(Point(1, extra={"a": 1})) == hash(Point(1, extra={"b": 2}))  # extra unhashed
    assert Point(1) != (1, 0, (), "", {})  # type: ignore[comparison-overlap]
    assert repr(Point(1, note="hidden")) == "Point(x=1, y=0, tags=(), extra={})"
    assert len({Key("1", "a"), Key("1", "a"), Key("2", "a")}) == 2


def test_order() -> None:
    assert sorted([Key("2", "a"), Key("1", "b"), Key("1", "a")]) == [
        Key("1", "a"),
        Key("1", "b"),
        Key("2", "a"),
    ]
    assert Key("1", "a") <= Key("1", "a") < Key("1", "b")
    with pytest.raises(TypeError):
        assert Key("1", "a") < ("1", "b")  # type: ignore[operator]


def test_mutable() -> None:
    counter = Counter()
    counter.count += 1
    counter.seen.append("x")
    assert counter == Counter(["x"], 1)
    with pytest.raises(TypeError):
        hash(counter)


def test_replace_copy_pickle_fields() -> None:
    point = Point(1, 2, note="n")
    moved = replace(point, y=3)
    assert moved == Point(1, 3, note="n")
    assert point.y == 2
    with pytest.raises(TypeError):
        replace(point, z=1)
    assert copy.deepcopy(point) == point
    assert pickle.loads(pickle.dumps(Key("1", "a"))) == Key("1", "a")
    assert list(fields(Point)) == ["x", "y", "tags", "note", "extra"]
    assert fields(Point)["tags"] == "tuple[str, ...]"


def test_a_field_without_default_after_one_with_default_is_refused() -> None:
    class Bad:
        x: int = 0
        y: int

    with pytest.raises(TypeError, match="follows default"):
        value(Bad)


def test_subclass_adds_fields() -> None:
    @value
    class Labelled(Point):
        label: str = ""

    assert list(fields(Labelled)) == [*fields(Point), "label"]
    assert Labelled(1, label="a").label == "a"
