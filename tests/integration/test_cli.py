"""`python -m recorder_guard`: the local runner contract in DESIGN.md, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import EVENTS_DIR, ROOT, sample_expectations


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ALERT_TOPIC_ARN"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "recorder_guard", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_invoke_json_prints_exactly_one_object() -> None:
    result = run("invoke", str(EVENTS_DIR / "stop_recorder_assumed_role.json"), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    output = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert set(output) >= {"outcome", "reason", "published", "remediation"}
    assert output["outcome"] == "alerted"
    assert output["remediation"] is None
    (request,) = output["published"]
    assert set(request) == {
        "TopicArn",
        "Subject",
        "Message",
        "MessageStructure",
        "MessageAttributes",
    }
    assert request["MessageStructure"] == "json"
    message = json.loads(request["Message"])
    assert message["default"] == message["https"]
    assert json.loads(message["https"])["source"] == "custom"
    assert json.loads(message["sqs"])["event"]["kind"] == "alert"
    assert message["email"].startswith("AWS CONFIGURATION RECORDER STOPPED")


def test_invoke_ignored_event() -> None:
    result = run("invoke", str(EVENTS_DIR / "stop_recorder_access_denied.json"), "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["outcome"] == "ignored"
    assert "failure" in output["reason"]
    assert output["published"] == []


def test_invoke_for_people_shows_email_and_chat() -> None:
    result = run("invoke", str(EVENTS_DIR / "stop_recorder_root_console.json"))
    assert result.returncode == 0, result.stderr
    assert "---- email ---- Subject: [HIGH] Config recorder stopped" in result.stdout
    assert "WHAT HAPPENED" in result.stdout
    assert "---- chat" in result.stdout
    assert "*Who:* `root` (Root)" in result.stdout


def test_demo_runs_every_sample() -> None:
    result = run("demo", str(EVENTS_DIR))
    assert result.returncode == 0, result.stderr
    for path in EVENTS_DIR.glob("*.json"):
        assert f"== {path}" in result.stdout
    expected = sample_expectations().values()
    assert result.stdout.count("outcome: alerted") == sum(v is not None for v in expected)
    assert result.stdout.count("outcome: ignored") == sum(v is None for v in expected)


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        ("{not json", 2, "is not JSON: Expecting property name enclosed in double quotes"),
        ("[1, 2]", 1, "not an EventBridge event: expected a JSON object, got list"),
        ('{"detail": {}}', 1, "detail-type and source missing"),
        ("\udcff", 2, "cannot read"),
    ],
)
def test_bad_input_is_one_line_and_no_traceback(
    tmp_path: Path, content: str, code: int, message: str
) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    result = run("invoke", str(path), "--json")
    assert result.returncode == code
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file() -> None:
    result = run("invoke", "no/such/file.json")
    assert result.returncode == 2
    assert result.stderr == "error: cannot read no/such/file.json: No such file or directory\n"


@pytest.mark.parametrize(
    ("form", "marker"),
    [
        ("email", "Subject: [HIGH] Config recorder stopped"),
        ("chatbot", '"source": "custom"'),
        ("slack", '"type": "header"'),
        ("json", '"kind": "alert"'),
    ],
)
def test_render_prints_each_rendition(form: str, marker: str) -> None:
    result = run("render", str(EVENTS_DIR / "stop_recorder_assumed_role.json"), "--format", form)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    if form != "email":
        json.loads(result.stdout)


def test_render_of_an_ignored_event_says_why() -> None:
    result = run("render", str(EVENTS_DIR / "start_recorder_other_action.json"))
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr.startswith("ignored: event.action 'StartConfigurationRecorder'")


def test_demo_shows_every_rendition_for_one_event() -> None:
    result = run("demo", str(EVENTS_DIR))
    assert "---- slack rendition of stop_recorder_assumed_role.json ----" in result.stdout
    assert "---- json rendition of stop_recorder_assumed_role.json ----" in result.stdout


def test_backstop_shows_one_alert_then_quiet_then_resolved() -> None:
    result = run("backstop", "--json")
    assert result.returncode == 0, result.stderr
    first, second, third = json.loads(result.stdout)
    assert first["summary"]["published"] == {"alert": 1}
    assert second["summary"]["published"] == {}
    assert third["summary"]["published"] == {"resolved": 1}
    (alert,) = first["published"]
    assert alert["Subject"] == (
        "[HIGH] Config recorder not recording: default in 111122223333 us-east-1"
    )
    assert "Problems:         never started" in json.loads(alert["Message"])["email"]
    people = run("backstop")
    assert people.returncode == 0, people.stderr
    assert "Subject: [RESOLVED] Config recorder recording again: default" in people.stdout
