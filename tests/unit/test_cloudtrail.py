"""The EventBridge envelope and CloudTrail record: validation, typed access, ECS fields."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from recorder_guard.domain.cloudtrail import (
    MalformedEventError,
    UserIdentity,
    ecs_fields,
    nest,
    parse_event,
    partition_of,
)
from tests.support import CORPUS_DIR, corpus_events, load_json, wrap_as_eventbridge


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "expected a JSON object, got list"),
        ("StopConfigurationRecorder", "expected a JSON object, got str"),
        (None, "expected a JSON object, got NoneType"),
        ({"detail": {}}, "detail-type and source missing or not a string"),
        ({"detail-type": "x", "detail": {}}, "source missing or not a string"),
        ({"detail-type": "x", "source": "aws.config"}, "'detail' missing or not an object"),
        ({"detail-type": "x", "source": "aws.config", "detail": "{}"}, "'detail' missing"),
        ({"detail-type": 5, "source": "aws.config", "detail": {}}, "detail-type missing"),
    ],
)
def test_malformed_events_raise_one_clear_line(event: Any, message: str) -> None:
    with pytest.raises(MalformedEventError, match=message) as raised:
        parse_event(event)
    assert "\n" not in str(raised.value)


def test_every_corpus_event_parses_without_error() -> None:
    for name, (event, _) in corpus_events().items():
        parsed = parse_event(event)
        ecs_fields(parsed)  # must not raise on any published record
        assert parsed.detail_type, name


def test_assumed_role_maps_to_ecs(assumed_role_event: dict[str, Any]) -> None:
    fields = ecs_fields(parse_event(assumed_role_event))
    assert fields["event.provider"] == "config.amazonaws.com"
    assert fields["event.action"] == "StopConfigurationRecorder"
    assert fields["event.outcome"] == "success"
    assert fields["event.dataset"] == "aws.cloudtrail"
    assert fields["cloud.account.id"] == "111122223333"
    assert fields["cloud.region"] == "us-east-1"
    # As Elastic's integration maps it: an assumed role's user.name is the role's name.
    assert fields["user.name"] == "PlatformAdmin"
    assert fields["source.ip"] == "203.0.113.24"
    issuer = "aws.cloudtrail.user_identity.session_context.session_issuer."
    assert fields[issuer + "arn"] == "arn:aws:iam::111122223333:role/PlatformAdmin"
    assert fields["aws.cloudtrail.user_identity.session_context.mfa_authenticated"] == "false"
    nested = nest(fields)
    assert nested["event"]["action"] == "StopConfigurationRecorder"
    assert nested["aws"]["cloudtrail"]["user_identity"]["type"] == "AssumedRole"


# (corpus file, type, display name, user name, partition)
IDENTITIES = [
    ("awsdocs_stop_configuration_recorder_iamuser.json", "IAMUser", "JohnDoe", "JohnDoe", "aws"),
    ("elastic_stop_recorder_success_iamuser.json", "IAMUser", None, None, "aws"),
    ("fivexl_stoplogging_assumedrole_redacted.json", "AssumedRole", None, None, "aws"),
    ("stratus_getcalleridentity_federateduser.json", "FederatedUser", None, None, "aws"),
    ("awsdocs_consolelogin_success_root.json", "Root", "root", None, "aws"),
    (
        "elastic_assumerole_awsservice_invokedby.json",
        "AWSService",
        "ec2.amazonaws.com",
        None,
        "aws",
    ),
    ("awsdocs_iam_assumerole_awsaccount_crossaccount.json", "AWSAccount", None, None, "aws"),
    ("elastic_grafana_action_samluser_errorcode200.json", "SAMLUser", None, None, "aws"),
    ("elastic_userauthentication_identitycenteruser.json", "IdentityCenterUser", None, None, "aws"),
    ("panther_sso_createtoken_unknown.json", "Unknown", None, None, "aws"),
    (
        "elastic_updateinstanceinformation_assumedrole_usgov.json",
        "AssumedRole",
        None,
        None,
        "aws-us-gov",
    ),
    ("awsdocs_rotatekey_awsserviceevent_noidentitytype.json", None, None, None, "aws"),
    ("streamalert_eventbridge_modifyimageattribute_type_user.json", "User", None, None, "aws"),
]


@pytest.mark.parametrize(("name", "kind", "display", "user", "partition"), IDENTITIES)
def test_every_identity_type_is_read(
    name: str, kind: str | None, display: str | None, user: str | None, partition: str
) -> None:
    event, _ = corpus_events()[name]
    parsed = parse_event(event)
    identity = parsed.record.user_identity
    assert identity.type == kind
    if display is not None:
        assert identity.display_name == display
    if user is not None:
        assert identity.user_name == user
    assert parsed.partition == partition
    fields = ecs_fields(parsed)
    if kind is not None:
        assert fields["aws.cloudtrail.user_identity.type"] == kind


def test_assumed_role_display_name_is_role_and_session() -> None:
    record = load_json(CORPUS_DIR / "stratus_getcalleridentity_assumedrole_ec2roledelivery.json")
    identity = UserIdentity.parse(record["userIdentity"])
    assert identity.session_issuer is not None
    assert identity.display_name == f"{identity.session_issuer.user_name}/{identity.session_name}"


def test_web_identity_user_is_read() -> None:
    """No published WebIdentityUser record is valid JSON; this follows the documented shape."""
    identity = UserIdentity.parse(
        {
            "type": "WebIdentityUser",
            "principalId": "accounts.google.com:123456789012.apps.googleusercontent.com:1234",
            "userName": "1234",
            "identityProvider": "accounts.google.com",
        }
    )
    assert identity.type == "WebIdentityUser"
    assert identity.display_name == "1234"


def test_strings_where_types_differ_are_treated_as_absent(
    assumed_role_event: dict[str, Any],
) -> None:
    event = copy.deepcopy(assumed_role_event)
    event["detail"]["userAgent"] = {"nested": "object"}
    event["detail"]["sourceIPAddress"] = ["10.0.0.1"]
    event["detail"]["userIdentity"] = "not an object"
    fields = ecs_fields(parse_event(event))
    assert "user_agent.original" not in fields
    assert "source.ip" not in fields
    assert fields["event.action"] == "StopConfigurationRecorder"


@pytest.mark.parametrize(
    ("error_code", "outcome"),
    [(None, "success"), ("AccessDenied", "failure"), ("", "failure"), (200, "failure")],
)
def test_outcome_is_failure_whenever_error_code_is_present(
    assumed_role_event: dict[str, Any], error_code: Any, outcome: str
) -> None:
    event = copy.deepcopy(assumed_role_event)
    event["detail"]["errorCode"] = error_code
    assert parse_event(event).record.outcome == outcome


def test_console_login_failure_without_error_code_is_failure() -> None:
    event, _ = corpus_events()["awsdocs_consolelogin_failure_root.json"]
    assert parse_event(event).record.outcome == "failure"


@pytest.mark.parametrize(
    ("arn", "region", "partition"),
    [
        ("arn:aws-cn:iam::123456789012:user/x", "cn-north-1", "aws-cn"),
        (None, "cn-northwest-1", "aws-cn"),
        (None, "us-gov-west-1", "aws-us-gov"),
        ("arn: aws: sts: : 1: x", "eu-west-1", "aws"),
        ("", None, "aws"),
    ],
)
def test_partition(arn: str | None, region: str | None, partition: str) -> None:
    assert partition_of(arn, region) == partition


@pytest.mark.parametrize(
    ("event_time", "expected"),
    [
        ("2023-02-10T18:08:33Z", "2023-02-10T18:08:33+00:00"),
        ("2023-02-10 18:08:33", "2023-02-10T18:08:33+00:00"),
        ("yesterday", None),
        (None, None),
    ],
)
def test_event_time(event_time: str | None, expected: str | None) -> None:
    record: dict[str, Any] = {"eventTime": event_time} if event_time else {}
    parsed = parse_event(wrap_as_eventbridge(record))
    timestamp = parsed.record.timestamp
    assert (timestamp.isoformat() if timestamp else None) == expected


def test_account_falls_back_from_record_to_envelope() -> None:
    parsed = parse_event(
        {
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.config",
            "account": 12345,
            "detail": {},
        }
    )
    assert parsed.account_id == "12345"
