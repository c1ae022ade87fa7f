"""Shared fixtures: sample events, and alerts built from them without AWS."""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from recorder_guard.domain.alert import Alert, build_alert
from recorder_guard.domain.cloudtrail import parse_event
from recorder_guard.domain.detection import Detection, detect
from recorder_guard.domain.recorder import RecorderStatus
from recorder_guard.domain.rules import load_rules
from tests.support import sample_events

DETECTED_AT = datetime(2026, 11, 28, 21, 14, 7, tzinfo=UTC)

# Property tests must not flake on a loaded machine: no per-example deadline, no health check
# that measures time or data size, and (profile "ci", the default) the same examples every
# run. `HYPOTHESIS_PROFILE=explore pytest ...` searches afresh with more examples.
CI_HEALTH_CHECKS = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=CI_HEALTH_CHECKS,
)
settings.register_profile(
    "explore", deadline=None, max_examples=1000, suppress_health_check=CI_HEALTH_CHECKS
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def detection_for(event: Any) -> Detection:
    verdict = detect(parse_event(event), load_rules())
    assert isinstance(verdict, Detection), verdict
    return verdict


def alert_for(event: Any, status: RecorderStatus | None = None) -> Alert:
    return build_alert(detection_for(event), detected_at=DETECTED_AT, recorder_status=status)


@pytest.fixture(autouse=True)
def sample_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's account is the one the sample events were made in, as if deployed there."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")


@pytest.fixture
def assumed_role_event() -> dict[str, Any]:
    return copy.deepcopy(sample_events()["stop_recorder_assumed_role.json"])


@pytest.fixture
def stopped_status() -> RecorderStatus:
    return RecorderStatus(recording=False, last_status="Success", checked_at="2026-11-28T21:14:07Z")
