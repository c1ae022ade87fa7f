"""template.yaml as a deployer gets it: real cfn-lint, sam validate --lint and sam build, and
its IAM read as data and held against what the code calls (moto does not enforce IAM)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from recorder_guard.aws.idempotency import IDEMPOTENCY_PERMISSIONS
from recorder_guard.aws.restart import RESTART_PERMISSIONS, STATE_PERMISSIONS
from tests.support import FORWARDER, ROOT, TEMPLATE, load_template

BIN = Path(sys.executable).parent
FUNCTION = "ResponderFunction"


def tool_env() -> dict[str, str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.setdefault("PYENV_VERSION", "3.11.7:3.13.0")  # sam build needs python3.13 on PATH
    return env


def function() -> dict[str, Any]:
    return load_template()["Resources"][FUNCTION]


def statements() -> list[dict[str, Any]]:
    """The function's inline policy statements, each `Fn::If` unwrapped to (condition, stmt)."""
    (policy,) = function()["Properties"]["Policies"]
    return policy["Statement"]


def conditional(condition: str) -> list[dict[str, Any]]:
    return [
        s["Fn::If"][1]
        for s in statements()
        if "Fn::If" in s
        and s["Fn::If"][0] == condition
        and s["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    ]


def unconditional() -> list[dict[str, Any]]:
    return [s for s in statements() if "Fn::If" not in s]


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return value if isinstance(value, list) else [value]


@pytest.mark.slow
@pytest.mark.parametrize("template", [TEMPLATE, FORWARDER], ids=["template", "forwarder"])
def test_cfn_lint(template: Path) -> None:
    result = subprocess.run(
        [str(BIN / "cfn-lint"), str(template)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("template", [TEMPLATE, FORWARDER], ids=["template", "forwarder"])
def test_sam_validate_lint(template: Path) -> None:
    result = subprocess.run(
        [
            str(BIN / "sam"),
            "validate",
            "--lint",
            "--region",
            "us-east-1",
            "--template-file",
            str(template),
        ],
        capture_output=True,
        text=True,
        env=tool_env(),
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_sam_build(tmp_path: Path) -> None:
    if not shutil.which("python3.13", path=tool_env()["PATH"]) and not shutil.which("pyenv"):
        pytest.skip("python3.13 is not available for the python3.13 runtime")
    build = tmp_path / "build"
    result = subprocess.run(
        [str(BIN / "sam"), "build", "--template-file", str(TEMPLATE), "--build-dir", str(build)],
        capture_output=True,
        text=True,
        env=tool_env(),
        cwd=ROOT,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    code = build / FUNCTION
    assert (code / "recorder_guard" / "app.py").is_file()
    shipped = code / "recorder_guard" / "rules"
    catalogue = ROOT / "src" / "recorder_guard" / "rules"
    assert {p.name for p in shipped.glob("*.json")} == {p.name for p in catalogue.glob("*.json")}
    assert (shipped / "mitre" / "attack-v18-to-v19.json").is_file()
    assert (code / "aws_lambda_powertools").is_dir()
    assert not (code / "boto3").exists()  # the runtime provides it
    # Lambda cannot write bytecode into its read-only code directory: we ship it (src/Makefile)
    assert list((code / "recorder_guard" / "__pycache__").glob("app.cpython-313.pyc"))
    assert not (code / "Makefile").exists()


def test_function_shape() -> None:
    properties = function()["Properties"]
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "recorder_guard.app.handler"
    assert properties["CodeUri"] == "src/"
    assert properties["MemorySize"] == {"Ref": "FunctionMemorySize"}
    assert load_template()["Parameters"]["FunctionMemorySize"]["Default"] == 128
    on_failure = properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_every_setting_is_set_by_the_template() -> None:
    source = (ROOT / "src" / "recorder_guard" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r'env(?:\.get)?\(\s*"([A-Z_]+)"', source))
    read |= set(re.findall(r'_(?:boolean|integer)\(env, "([A-Z_]+)"', source))
    assert read >= {"ALERT_TOPIC_ARN", "AUTO_RESTART", "ENABLED_RULES"}
    variables = function()["Properties"]["Environment"]["Variables"]
    forwarder = load_template()["Resources"]["SlackForwarderFunction"]["Properties"]
    slack_only = {"SLACK_WEBHOOK_SECRET_ARN"}
    assert variables["MEMBER_ROLE_NAME"] == {"Fn::If": ["IsCentral", {"Ref": "MemberRoleName"}, ""]}
    assert read - slack_only <= set(variables), read - set(variables)
    assert slack_only <= set(forwarder["Environment"]["Variables"])
    parameters = load_template()["Parameters"]
    for value in variables.values():
        if isinstance(value, dict) and "Ref" in value and not value["Ref"].startswith("AWS::"):
            assert value["Ref"] in parameters or value["Ref"] in load_template()["Resources"]


def test_the_endpoint_variable_is_declared_empty_and_inert_in_aws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AWS_ENDPOINT_URL is declared only so that `sam local invoke --env-vars` can point the
    function at a local endpoint (SAM passes declared variables only); deployed, it is empty,
    and an empty value must leave boto3 on AWS's own endpoint."""
    assert function()["Properties"]["Environment"]["Variables"]["AWS_ENDPOINT_URL"] == ""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")
    client = boto3.client(
        "sns", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    assert client.meta.endpoint_url == "https://sns.us-east-1.amazonaws.com"


def test_least_privilege_by_default() -> None:
    always = unconditional()
    granted = {action for s in always for action in actions(s)}
    assert granted == {"sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"}
    publish = next(s for s in always if actions(s) == ["sns:Publish"])
    assert publish["Resource"] == {"Ref": "AlertTopic"}
    for statement in statements():
        body = statement.get("Fn::If", [None, statement])[1]
        assert body["Resource"] != "*", body
        assert not any(a == "*" or a.endswith(":*") for a in actions(body)), body


def test_no_config_write_permission_without_auto_restart() -> None:
    conditions = load_template()["Conditions"]
    writes = [
        (s["Fn::If"][0], a)
        for s in statements()
        if "Fn::If" in s
        for a in actions(s["Fn::If"][1])
        if a.startswith("config:") and not a.startswith("config:Describe")
    ]
    assert writes == [("EnforcesRestart", "config:StartConfigurationRecorder")]
    assert conditions["EnforcesRestart"] == {
        "Fn::And": [
            {"Condition": "AutoRestartEnabled"},
            {"Fn::Equals": [{"Ref": "RemediationMode"}, "enforce"]},
        ]
    }
    assert conditions["AutoRestartEnabled"] == {"Fn::Equals": [{"Ref": "AutoRestart"}, "true"]}
    assert load_template()["Parameters"]["AutoRestart"]["Default"] == "false"
    assert not any("PutConfigurationRecorder" in str(s) for s in statements())


def test_remediation_permissions_are_exactly_what_the_code_declares() -> None:
    granted = {a for s in conditional("EnforcesRestart") for a in actions(s)}
    granted |= {a for s in conditional("ReadsRecorderStatus") for a in actions(s)}
    assert granted == set(RESTART_PERMISSIONS + STATE_PERMISSIONS)
    recorder_arn = (
        "arn:${AWS::Partition}:config:${AWS::Region}:${AWS::AccountId}:configuration-recorder/*"
    )
    for statement in conditional("EnforcesRestart") + conditional("ReadsRecorderStatus"):
        if any(a.startswith("config:") for a in actions(statement)):
            assert statement["Resource"] == {"Fn::Sub": recorder_arn}
        else:
            assert statement["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}


def test_idempotency_permissions_are_exactly_what_the_code_declares() -> None:
    (statement,) = conditional("IdempotencyEnabled")
    assert set(actions(statement)) == set(IDEMPOTENCY_PERMISSIONS)
    assert statement["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
    template = load_template()
    assert template["Parameters"]["Idempotency"]["Default"] == "true"
    table = template["Resources"]["StateTable"]
    assert table["Condition"] == "NeedsStateTable"
    assert template["Conditions"]["NeedsStateTable"] == {
        "Fn::Or": [
            {"Condition": "IdempotencyEnabled"},
            {"Condition": "EnforcesRestart"},
            {"Condition": "HasBackstop"},
        ]
    }
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def test_alarms_reach_the_operator_topic() -> None:
    resources = load_template()["Resources"]
    alarms = {  # a metric-math alarm (no Namespace) is keyed by its expression's label
        (r["Properties"].get("Namespace", "math"), r["Properties"].get("MetricName", str(r))): r
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert set(alarms) >= {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SNS", "NumberOfNotificationsFailed"),
    }
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "OperatorTopic"}]
    assert resources["OperatorTopic"]["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": ["AlertKey", "Arn"]
    }
    key_policy = str(resources["AlertKey"]["Properties"]["KeyPolicy"])
    assert "cloudwatch.amazonaws.com" in key_policy


def test_alerts_are_encrypted_with_a_customer_managed_key() -> None:
    resources = load_template()["Resources"]
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": ["AlertKey", "Arn"]
    }
    assert resources["AlertKey"]["Type"] == "AWS::KMS::Key"
    assert resources["AlertKey"]["Properties"]["EnableKeyRotation"] is True
    assert resources["DeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": ["AlertKey", "Arn"]
    }
    for statement in resources["AlertKey"]["Properties"]["KeyPolicy"]["Statement"]:
        principal = statement["Principal"]
        assert principal != "*"
        assert principal.get("AWS") != "*"


def test_optional_email_outputs_and_logs() -> None:
    template = load_template()
    for slot in range(1, 6):
        subscription = template["Resources"][f"AlertEmailSubscription{slot}"]
        assert subscription["Condition"] == f"HasNotificationEmail{slot}"
        assert subscription["Properties"]["Protocol"] == "email"
    pattern = re.compile(template["Parameters"]["NotificationEmail"]["AllowedPattern"])
    assert pattern.fullmatch("")
    assert pattern.fullmatch("a@example.com,b@example.org")
    assert pattern.fullmatch(",".join(f"{n}@example.com" for n in range(5)))
    assert not pattern.fullmatch(",".join(f"{n}@example.com" for n in range(6)))
    assert not pattern.fullmatch("a@example.com, b@example.org")
    assert template["Resources"]["ResponderLogGroup"]["Properties"]["RetentionInDays"] == {
        "Ref": "LogRetentionDays"
    }
    assert {"AlertTopicArn", "FunctionName", "RuleArn"} <= set(template["Outputs"])
