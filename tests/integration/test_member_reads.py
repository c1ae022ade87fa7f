"""Member-account reads as AWS allows them (issue 17.5, 17.7): one recorder name per
DescribeConfigurationRecorderStatus call, each central role under its own session name,
and no wildcard-account exemptions in central mode."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from recorder_guard import app, backstop_app
from recorder_guard.aws.clients import BACKSTOP_SESSION, RESPONDER_SESSION
from recorder_guard.aws.inventory import check_region
from recorder_guard.settings import Settings, SettingsError
from tests.support import fake_aws_credentials

REGION = "us-east-1"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def test_status_is_read_one_recorder_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API takes at most one name (API_DescribeConfigurationRecorderStatus); moto takes
    more, so the calls are recorded at the botocore boundary."""
    fake_aws_credentials(monkeypatch, REGION)
    with mock_aws():
        config = boto3.client("config", region_name=REGION)
        role = "arn:aws:iam::123456789012:role/config"
        config.put_configuration_recorder(
            ConfigurationRecorder={"name": "default", "roleARN": role}
        )
        calls: list[dict[str, Any]] = []

        def record(params: dict[str, Any], **_: Any) -> None:
            calls.append(params)

        config.meta.events.register(
            "provide-client-params.config.DescribeConfigurationRecorderStatus", record
        )
        check = check_region(config, "123456789012", REGION)
    assert [c.key.recorder for c in check.recorders] == ["default"]
    assert calls == [{"ConfigurationRecorderNames": ["default"]}]


def test_each_central_role_assumes_the_member_role_under_its_own_session_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The member role's trust policy and its backstop-only statements key on these names
    (templates/forwarder.yaml); the code must pass exactly them."""
    env = {
        "ALERT_TOPIC_ARN": TOPIC,
        "IDEMPOTENCY": "false",
        "BACKSTOP": "false",
        "MEMBER_ROLE_NAME": "recorder-guard-member",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fake_aws_credentials(monkeypatch, REGION)
    app.runtime.cache_clear()
    backstop_app.runtime.cache_clear()
    try:
        assert app.runtime().session_name == RESPONDER_SESSION == "recorder-guard-responder"
        assert backstop_app.runtime().session_name == BACKSTOP_SESSION == "recorder-guard-backstop"
    finally:
        app.runtime.cache_clear()
        backstop_app.runtime.cache_clear()


@pytest.mark.parametrize(
    ("pattern", "accepted_in_central"),
    [
        ("arn:aws:iam::111122223333:role/BreakGlass", True),
        ("arn:aws:sts::111122223333:assumed-role/Maintenance/*", True),
        ("arn:aws:iam::*:role/BreakGlass", False),
        ("arn:aws:iam::1111222233*:role/BreakGlass", False),
        ("arn:*:iam::?11122223333:role/x", False),
    ],
)
def test_central_mode_rejects_wildcard_account_exemptions(
    pattern: str, accepted_in_central: bool
) -> None:
    """A wildcard account would exempt that role name in every member account: anyone who
    can create a role so named in any account escapes remediation."""
    base = {"ALERT_TOPIC_ARN": TOPIC, "IDEMPOTENCY": "false", "EXEMPT_PRINCIPAL_ARNS": pattern}
    assert Settings.from_env(base).exempt_principal_patterns == (pattern,)  # single mode
    central = {**base, "MEMBER_ROLE_NAME": "recorder-guard-member"}
    if accepted_in_central:
        assert Settings.from_env(central).exempt_principal_patterns == (pattern,)
    else:
        with pytest.raises(SettingsError, match="literal 12-digit account in central mode"):
            Settings.from_env(central)
