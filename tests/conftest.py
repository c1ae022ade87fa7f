"""Shared fixtures: sample events, and alerts built from them without AWS."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from recorder_guard.domain.alert import Alert, build_alert
from recorder_guard.domain.cloudtrail import parse_event
from recorder_guard.domain.detection import Detection, detect
from recorder_guard.domain.recorder import RecorderStatus
from recorder_guard.domain.rules import load_rules
from tests.support import sample_events

DETECTED_AT = datetime(2026, 11, 28, 21, 14, 7, tzinfo=UTC)


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
