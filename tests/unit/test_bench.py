"""The benchmark's arithmetic and its results document (no timing is asserted here)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import bench

ROOT = bench.ROOT


def test_each_pair_gives_its_own_ratio() -> None:
    assert bench.pair_ratios([110.0, 90.0, 300.0], [100.0, 100.0, 150.0]) == [1.1, 0.9, 2.0]


def test_unpaired_runs_are_refused() -> None:
    with pytest.raises(ValueError, match="same, non-zero number"):
        bench.pair_ratios([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="same, non-zero number"):
        bench.pair_ratios([], [])


def test_the_median_of_ratios_is_not_the_ratio_of_medians() -> None:
    ours, floor = [10.0, 30.0, 31.0], [5.0, 30.0, 40.0]
    result = bench.paired(ours, floor, goal=1.05)
    assert result["ratio"] == {"median": 1.0, "min": 0.775, "max": 2.0}
    assert result["ours"]["median"] / result["floor"]["median"] == 1.0  # here they agree ...
    other = bench.paired([10.0, 20.0, 100.0], [10.0, 10.0, 200.0], goal=1.05)
    assert other["ratio"]["median"] == 1.0  # ... here the ratio of medians would be 2.0
    assert other["met"] is True
    assert other["pairs"] == 3


def test_a_missed_goal_is_reported() -> None:
    assert bench.paired([11.0], [10.0], goal=1.05)["met"] is False
    assert "met" not in bench.paired([11.0], [10.0], goal=None)


def test_each_side_takes_its_turn_at_running_first() -> None:
    assert [bench.run_order(index, ["ours", "floor"]) for index in range(3)] == [
        ["ours", "floor"],
        ["floor", "ours"],
        ["ours", "floor"],
    ]
    three = [bench.run_order(index, ["a", "b", "c"]) for index in range(3)]
    assert [order[0] for order in three] == ["a", "b", "c"]
    assert all(sorted(order) == ["a", "b", "c"] for order in three)


@pytest.mark.parametrize(
    ("path", "package"),
    [
        ("aws_lambda_powertools/logging/logger.py", "aws_lambda_powertools"),
        ("aws_lambda_powertools-3.37.0.dist-info/RECORD", "aws_lambda_powertools"),
        ("__pycache__/typing_extensions.cpython-313.pyc", "typing_extensions"),
        ("typing_extensions.py", "typing_extensions"),
        ("recorder_guard/app.py", "recorder_guard"),
    ],
)
def test_files_count_towards_their_top_level_package(path: str, package: str) -> None:
    assert bench.top_level(Path(path)) == package


def test_message_sizes_per_protocol_are_bytes() -> None:
    request: dict[str, Any] = {
        "Subject": "é",
        "Message": '{"default": "ü", "email": "plain"}',
        "MessageStructure": "json",
        "MessageAttributes": {"a": {"DataType": "String", "StringValue": "bc"}},
    }
    sizes = bench.per_protocol_bytes(request)
    assert sizes["protocols"] == {"default": 2, "email": 5}
    assert sizes["message_bytes"] == len(request["Message"].encode())
    assert sizes["request_bytes"] == sizes["message_bytes"] + 2 + 1 + 6 + 2


def _comparison(goal: float | None) -> dict[str, Any]:
    return bench.paired([1.0, 2.0], [1.0, 1.0], goal)


def _results() -> dict[str, Any]:
    environment = dict.fromkeys(("python", "awscrt", "settings", "boto3", "botocore", "compiled"))
    results: dict[str, Any] = {
        "schema": bench.SCHEMA_VERSION,
        "measured_at": "2026-12-04T00:00:00+00:00",
        "environment": environment,
        "custodian": {"skipped": "not installed"},
        "package": {},
        "sns_message": {},
    }
    for name, goal in bench.GOALS.items():
        results[name] = _comparison(goal)
    results["goals"] = {
        name: {"goal": goal, "measured": 1.5, "met": False} for name, goal in bench.GOALS.items()
    }
    return results


def test_a_complete_results_document_passes_the_check() -> None:
    assert bench.check_results(_results()) == []


def test_the_check_names_what_is_missing() -> None:
    results = copy.deepcopy(_results())
    del results["environment"]["awscrt"]
    del results["peak_rss"]["ratio"]
    del results["goals"]["warm_per_event"]
    assert sorted(bench.check_results(results)) == [
        "environment.awscrt: missing",
        "goals.warm_per_event: needs goal, measured and met",
        "peak_rss.ratio: missing",
    ]
    assert bench.check_results({"schema": 2}) != []


def test_the_runtime_pins_come_from_the_runtime_image_list() -> None:
    assert bench.pins(["boto3", "botocore"])[0].startswith("boto3==")
    assert all("awscrt" not in pin for pin in bench.pins(bench.RUNTIME_PACKAGES))


def test_help_works_without_a_build() -> None:
    shown = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--pairs" in shown.stdout
    assert "--custodian" in shown.stdout
