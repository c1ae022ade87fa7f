"""Exact validation of what decides where we act: whole-string matches, ASCII digits, the
envelope over the payload; and one reading of any botocore error."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from recorder_guard.aws.errors import error_details, is_access_denied
from recorder_guard.domain.alert import next_steps
from recorder_guard.domain.cloudtrail import parse_event, valid_account, valid_region
from recorder_guard.domain.limits import bound_depth
from recorder_guard.settings import Settings, SettingsError
from tests.conftest import alert_for
from tests.support import sample_events

BASE = sample_events()["stop_recorder_assumed_role.json"]


@pytest.mark.parametrize(
    "value", ["us-east-1\n", " us-east-1", "us-east-1 ", "US-EAST-1", "us-east-١", "us-east-"]
)
def test_a_region_is_a_region_exactly(value: str) -> None:
    assert valid_region(value) is None


@pytest.mark.parametrize("value", ["11112222333\n", "1111222233334", "١١١١٢٢٢٢٣٣٣٣", "x" * 12])
def test_an_account_is_twelve_ascii_digits_exactly(value: str) -> None:
    assert valid_account(value) is None
    assert valid_account("111122223333") == "111122223333"


def envelope(**changes: Any) -> Any:
    event = copy.deepcopy(BASE)
    for key, value in changes.items():
        if key.startswith("detail_"):
            event["detail"][key.removeprefix("detail_")] = value
        else:
            event[key] = value
    return event


def test_routing_comes_from_the_envelope_and_a_disagreement_is_flagged() -> None:
    event = envelope(detail_recipientAccountId="444455556666")
    parsed = parse_event(event)
    assert parsed.routing_account == "111122223333"  # the envelope's, set by EventBridge
    assert "444455556666" in (parsed.envelope_mismatch or "")
    document = alert_for(event).to_document()
    assert "444455556666" in document["recorder_guard"]["envelope_mismatch"]


def test_a_region_with_a_newline_routes_nowhere_and_builds_no_command() -> None:
    parsed = parse_event(envelope(region="us-east-1\n", detail_awsRegion="us-east-1\n"))
    assert parsed.routing_region is None
    assert parsed.envelope_mismatch == "no valid region name"
    alert = alert_for(envelope(region="us-east-1\n", detail_awsRegion="us-east-1\n"))
    assert alert.console_links == {}
    assert all("--region" not in (step.command or "") for step in alert.next_steps)


def test_a_consistent_event_is_not_flagged() -> None:
    assert parse_event(copy.deepcopy(BASE)).envelope_mismatch is None
    assert (
        alert_for(copy.deepcopy(BASE)).to_document()["recorder_guard"].get("envelope_mismatch")
        is None
    )


def test_settings_accept_ascii_digits_only() -> None:
    base = {"ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:alerts", "IDEMPOTENCY": "false"}
    with pytest.raises(SettingsError, match="BACKSTOP_ACCOUNTS"):
        Settings.from_env({**base, "BACKSTOP_ACCOUNTS": "١١١١٢٢٢٢٣٣٣٣"})
    with pytest.raises(SettingsError, match="MEMBER_ROLE_NAME"):
        Settings.from_env({**base, "MEMBER_ROLE_NAME": "rôle"})
    assert Settings.from_env({**base, "BACKSTOP_ACCOUNTS": "111122223333"})


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ReadTimeoutError(endpoint_url="https://x"), "ReadTimeoutError"),
        (ConnectionClosedError(endpoint_url="https://x"), "ConnectionClosedError"),
        (
            ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole"),
            "AccessDenied",
        ),
        (ClientError({}, "AssumeRole"), "ClientError"),
        (ValueError("x"), "ValueError"),
    ],
)
def test_error_details_reads_any_exception(error: BaseException, code: str) -> None:
    assert error_details(error)[0] == code
    assert is_access_denied(error) == (code == "AccessDenied")


def test_bound_depth_is_iterative_and_marks_what_it_cut() -> None:
    deep: Any = "leaf"
    for _ in range(100_000):
        deep = [deep]
    bounded, clipped = bound_depth({"a": deep}, max_depth=4)
    assert clipped
    assert bounded == {"a": [[["…[clipped: nested deeper than 4 levels]"]]]}
    assert bound_depth({"a": [1, {"b": None}]}) == ({"a": [1, {"b": None}]}, False)


def test_next_steps_never_take_a_region_flag_from_a_bad_region() -> None:
    alert = alert_for(copy.deepcopy(BASE))
    steps = next_steps(
        alert.rule,
        action="StopConfigurationRecorder",
        recorder="default",
        resource=None,
        account="111122223333",
        region="us-east-1\n--profile prod",
        partition="aws",
    )
    assert all("--profile" not in (step.command or "") for step in steps)
