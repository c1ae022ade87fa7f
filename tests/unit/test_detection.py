"""The rule's conditions over ECS fields, against the sample events and the public corpus."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from recorder_guard.alert import build_alert
from recorder_guard.cloudtrail import parse_event
from recorder_guard.detection import Detection, Ignored, detect
from recorder_guard.notify import build_publish_request
from recorder_guard.rules import load_rules
from tests.conftest import DETECTED_AT
from tests.support import corpus_events, sample_events, sample_expectations


def verdict(event: Any) -> Detection | Ignored:
    return detect(parse_event(event), load_rules())


def test_every_sample_has_an_expectation() -> None:
    assert set(sample_expectations()) == set(sample_events())


@pytest.mark.parametrize("name", sorted(sample_events()))
def test_sample_events(name: str) -> None:
    result = verdict(sample_events()[name])
    key = result.rule.key if isinstance(result, Detection) else None
    assert key == sample_expectations()[name], result


@pytest.mark.parametrize("name", sorted(corpus_events()))
def test_corpus_matches_sources_md(name: str) -> None:
    event, rule_key = corpus_events()[name]
    result = verdict(event)
    assert (result.rule.key if isinstance(result, Detection) else None) == rule_key, result


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"eventName": "StartConfigurationRecorder"}, "not_action"),
        ({"eventSource": "cloudtrail.amazonaws.com"}, "not_provider"),
        ({"errorCode": "AccessDenied"}, "failed_call"),
        ({"eventName": ["StopConfigurationRecorder"]}, "not_action"),
    ],
)
def test_ignored_events_say_why(
    assumed_role_event: dict[str, Any], change: dict[str, Any], code: str
) -> None:
    event = copy.deepcopy(assumed_role_event)
    event["detail"].update(change)
    result = verdict(event)
    assert isinstance(result, Ignored)
    assert result.code == code
    assert "\n" not in result.reason


def test_other_detail_type_is_ignored(assumed_role_event: dict[str, Any]) -> None:
    event = copy.deepcopy(assumed_role_event)
    event["detail-type"] = "AWS Console Sign In via CloudTrail"
    result = verdict(event)
    assert isinstance(result, Ignored)
    assert result.code == "not_api_call"


def test_no_rules_means_ignored(assumed_role_event: dict[str, Any]) -> None:
    result = detect(parse_event(assumed_role_event), [])
    assert isinstance(result, Ignored)
    assert result.code == "no_rules"


def identities_in_corpus() -> dict[str, Any]:
    """One userIdentity per distinct type in the corpus (plus the missing-type case)."""
    found: dict[str, Any] = {}
    for event, _ in corpus_events().values():
        identity = event["detail"].get("userIdentity")
        if isinstance(identity, dict):
            found.setdefault(str(identity.get("type")), identity)
    return found


def test_corpus_covers_the_documented_identity_types() -> None:
    documented = {
        "Root",
        "IAMUser",
        "AssumedRole",
        "FederatedUser",
        "AWSAccount",
        "AWSService",
        "SAMLUser",
        "IdentityCenterUser",
        "Unknown",
    }
    assert documented <= set(identities_in_corpus())


@pytest.mark.parametrize("kind", sorted(identities_in_corpus()))
def test_a_stop_by_any_identity_type_alerts_and_renders(
    assumed_role_event: dict[str, Any], kind: str
) -> None:
    event = copy.deepcopy(assumed_role_event)
    event["detail"]["userIdentity"] = copy.deepcopy(identities_in_corpus()[kind])
    detection = verdict(event)
    assert isinstance(detection, Detection)
    alert = build_alert(detection, detected_at=DETECTED_AT)
    request = build_publish_request(alert, "arn:aws:sns:us-east-1:123456789012:alerts")
    email = json.loads(request["Message"])["email"]
    assert f"({kind})" in email or kind == "None"
