"""The rule's conditions over ECS fields, against the sample events and the public corpus."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from recorder_guard.aws.publish import build_publish_request
from recorder_guard.domain.alert import build_alert
from recorder_guard.domain.cloudtrail import parse_event
from recorder_guard.domain.detection import Detection, Ignored, detect
from recorder_guard.domain.rules import enabled_rules, load_rules
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


# --- the rules the catalogue added ----------------------------------------------------------

DELETIONS = [
    "DeleteConfigRule",
    "DeleteOrganizationConfigRule",
    "DeleteConfigurationAggregator",
    "DeleteConfigurationRecorder",
    "DeleteConformancePack",
    "DeleteOrganizationConformancePack",
    "DeleteDeliveryChannel",
    "DeleteRemediationConfiguration",
    "DeleteRetentionConfiguration",
]


def config_call(base: dict[str, Any], action: str, parameters: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(base)
    event["detail"]["eventName"] = action
    event["detail"]["requestParameters"] = parameters
    return event


@pytest.mark.parametrize("action", DELETIONS)
def test_every_deletion_alerts_medium(assumed_role_event: dict[str, Any], action: str) -> None:
    result = verdict(config_call(assumed_role_event, action, {"configRuleName": "r"}))
    assert isinstance(result, Detection)
    assert (result.rule.key, result.rule.severity, result.rule.risk_score) == (
        "config_resource_deletion",
        "medium",
        47,
    )


@pytest.mark.parametrize(
    ("identity_change", "why"),
    [
        ({"invokedBy": "securityhub.amazonaws.com"}, "invoked_by"),
        ({"invokedBy": "config-conforms.amazonaws.com"}, "invoked_by"),
        (
            {"sessionIssuerArn": "arn:aws:iam::111122223333:role/AWSControlTowerExecution"},
            "session_issuer",
        ),
        (
            {
                "sessionIssuerArn": "arn:aws:iam::111122223333:role/aws-service-role/"
                "fms.amazonaws.com/AWSServiceRoleForFMS"
            },
            "session_issuer",
        ),
    ],
)
def test_deletions_by_config_managing_services_are_excluded(
    assumed_role_event: dict[str, Any], identity_change: dict[str, str], why: str
) -> None:
    event = config_call(assumed_role_event, "DeleteConfigRule", {"configRuleName": "r"})
    identity = event["detail"]["userIdentity"]
    if "invokedBy" in identity_change:
        identity["invokedBy"] = identity_change["invokedBy"]
    else:
        identity["sessionContext"]["sessionIssuer"]["arn"] = identity_change["sessionIssuerArn"]
    result = verdict(event)
    assert isinstance(result, Ignored)
    assert result.code == "excluded"
    assert why in result.reason


def test_failed_deletion_is_ignored(assumed_role_event: dict[str, Any]) -> None:
    event = config_call(assumed_role_event, "DeleteDeliveryChannel", {"deliveryChannelName": "x"})
    event["detail"]["errorCode"] = "LastDeliveryChannelDeleteFailedException"
    assert isinstance(verdict(event), Ignored)


RECORDER = {"name": "default", "roleARN": "arn:aws:iam::111122223333:role/config"}


@pytest.mark.parametrize(
    ("recorder", "narrowed"),
    [
        (RECORDER, False),
        ({**RECORDER, "recordingGroup": {"allSupported": True}}, False),
        (
            {
                **RECORDER,
                "recordingGroup": {"allSupported": False, "resourceTypes": ["AWS::S3::Bucket"]},
            },
            True,
        ),
        (
            {
                **RECORDER,
                "recordingGroup": {
                    "exclusionByResourceTypes": {"resourceTypes": ["AWS::IAM::Role"]}
                },
            },
            True,
        ),
        (
            {
                **RECORDER,
                "recordingGroup": {"recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"}},
            },
            True,
        ),
        (
            {
                **RECORDER,
                "recordingGroup": {
                    "recordingStrategy": {"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"}
                },
            },
            False,
        ),
        ({**RECORDER, "recordingMode": {"recordingFrequency": "DAILY"}}, True),
        ({**RECORDER, "recordingMode": {"recordingFrequency": "CONTINUOUS"}}, False),
        (
            {
                **RECORDER,
                "recordingMode": {
                    "recordingFrequency": "CONTINUOUS",
                    "recordingModeOverrides": [
                        {"resourceTypes": ["AWS::EC2::Instance"], "recordingFrequency": "DAILY"}
                    ],
                },
            },
            True,
        ),
        ({**RECORDER, "recordingGroup": "not an object"}, False),
    ],
)
def test_put_configuration_recorder_narrowing(
    assumed_role_event: dict[str, Any], recorder: dict[str, Any], narrowed: bool
) -> None:
    event = config_call(
        assumed_role_event, "PutConfigurationRecorder", {"configurationRecorder": recorder}
    )
    result = verdict(event)
    assert isinstance(result, Detection) == narrowed, result
    if narrowed:
        assert isinstance(result, Detection)
        assert result.rule.key == "recording_narrowed"
        alert = build_alert(result, detected_at=DETECTED_AT)
        assert alert.scope
        assert alert.recorder_name == "default"


def test_disassociate_resource_types_always_narrows(assumed_role_event: dict[str, Any]) -> None:
    arn = "arn:aws:config:us-east-1:111122223333:configuration-recorder/default/abc123"
    event = config_call(
        assumed_role_event,
        "DisassociateResourceTypes",
        {"configurationRecorderArn": arn, "resourceTypes": ["AWS::IAM::Role"]},
    )
    result = verdict(event)
    assert isinstance(result, Detection)
    alert = build_alert(result, detected_at=DETECTED_AT)
    assert alert.recorder_name == "default"
    assert alert.scope == "stop recording AWS::IAM::Role"


def test_associate_resource_types_widens_and_is_ignored(assumed_role_event: dict[str, Any]) -> None:
    event = config_call(
        assumed_role_event, "AssociateResourceTypes", {"resourceTypes": ["AWS::IAM::Role"]}
    )
    assert isinstance(verdict(event), Ignored)


def test_deletion_alert_says_what_to_recreate(assumed_role_event: dict[str, Any]) -> None:
    event = config_call(
        assumed_role_event, "DeleteDeliveryChannel", {"deliveryChannelName": "main"}
    )
    result = verdict(event)
    assert isinstance(result, Detection)
    alert = build_alert(result, detected_at=DETECTED_AT)
    commands = [step.command for step in alert.next_steps if step.command]
    assert commands[0].startswith(
        "aws configservice put-delivery-channel --delivery-channel name=main,"
    )
    assert commands[1].startswith("aws configservice start-configuration-recorder")
    assert not result.rule.restartable
    recorder_deleted = config_call(
        assumed_role_event, "DeleteConfigurationRecorder", {"configurationRecorderName": "default"}
    )
    detection = verdict(recorder_deleted)
    assert isinstance(detection, Detection)
    steps = build_alert(detection, detected_at=DETECTED_AT).next_steps
    assert steps[0].command is not None
    assert "put-configuration-recorder" in steps[0].command


def test_disabled_rules_do_not_alert(assumed_role_event: dict[str, Any]) -> None:
    event = config_call(assumed_role_event, "DeleteDeliveryChannel", {"deliveryChannelName": "x"})
    only_stop = enabled_rules(("stopped_recorder",))
    result = detect(parse_event(event), only_stop)
    assert isinstance(result, Ignored)
    assert result.code == "not_action"


# --- service-linked recorders ---------------------------------------------------------------

SL_SAMPLE = "delete_service_linked_recorder_assumed_role.json"
SL_NAME = "AWSConfigurationRecorderForSecurityHubAssets"
SL_ARN = f"arn:aws:config:us-east-1:111122223333:configuration-recorder/{SL_NAME}/example0a1b2c3d4e"


def test_service_linked_recorder_deletion_alerts_high_with_its_own_steps() -> None:
    result = verdict(sample_events()[SL_SAMPLE])
    assert isinstance(result, Detection)
    assert (result.rule.key, result.rule.severity, result.rule.risk_score) == (
        "service_linked_recorder_deleted",
        "high",
        73,
    )
    assert not result.rule.restartable  # only its service may recreate or start it
    alert = build_alert(result, detected_at=DETECTED_AT)
    assert alert.recorder_name == SL_NAME  # from the response: the request names the service
    assert alert.service_linked
    commands = [step.command for step in alert.next_steps if step.command]
    assert (
        "aws configservice put-service-linked-configuration-recorder"
        " --service-principal securityhub.amazonaws.com --region us-east-1"
    ) in commands
    assert not any("start-configuration-recorder" in command for command in commands)


def test_service_linked_recorder_named_by_arn() -> None:
    event = copy.deepcopy(sample_events()[SL_SAMPLE])
    event["detail"]["requestParameters"] = {"arn": SL_ARN}
    event["detail"]["responseElements"] = None
    result = verdict(event)
    assert isinstance(result, Detection)
    assert build_alert(result, detected_at=DETECTED_AT).recorder_name == SL_NAME


@pytest.mark.parametrize(
    "identity",
    [
        {"type": "AWSService", "invokedBy": "securityhub.amazonaws.com"},
        {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForSecurityHub/sh",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": "arn:aws:iam::111122223333:role/aws-service-role/"
                    "securityhub.amazonaws.com/AWSServiceRoleForSecurityHub",
                }
            },
        },
    ],
    ids=["aws-service", "service-linked-role"],
)
def test_service_removing_its_own_recorder_is_not_alerted(identity: dict[str, Any]) -> None:
    event = copy.deepcopy(sample_events()[SL_SAMPLE])
    event["detail"]["userIdentity"] = identity
    result = verdict(event)
    assert isinstance(result, Ignored)
    assert result.code == "excluded"


def test_a_stop_of_a_service_linked_recorder_gets_the_service_linked_steps(
    assumed_role_event: dict[str, Any],
) -> None:
    """StopConfigurationRecorder rejects the reserved prefix; should a success ever arrive,
    the alert must not tell anyone to start the service's recorder."""
    event = config_call(
        assumed_role_event, "StopConfigurationRecorder", {"configurationRecorderName": SL_NAME}
    )
    result = verdict(event)
    assert isinstance(result, Detection)
    alert = build_alert(result, detected_at=DETECTED_AT)
    assert not any(step.command for step in alert.next_steps)
