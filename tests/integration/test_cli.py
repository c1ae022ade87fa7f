"""`python -m recorder_guard`: the local runner contract in DESIGN.md, as a user runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recorder_guard.__main__ import (
    EXIT_ALERTED,
    EXIT_BROKEN_PIPE,
    EXIT_IGNORED,
    EXIT_INTERNAL,
    EXIT_REJECTED,
    EXIT_USAGE,
    main,
    parser,
)
from tests.docs_check import cli_commands, makefile_targets
from tests.support import EVENTS_DIR, ROOT, sample_expectations

ALERTING_EVENT = str(EVENTS_DIR / "stop_recorder_assumed_role.json")


def run(
    *args: str, cwd: Path = ROOT, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ALERT_TOPIC_ARN"):
        env.pop(name, None)
    env.update(extra_env or {})
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
    result = run("invoke", ALERTING_EVENT, "--json")
    assert result.returncode == EXIT_ALERTED, result.stderr
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
    assert set(message) == {"default", "https", "email"}
    assert json.loads(message["https"])["source"] == "custom"
    assert json.loads(message["default"])["event"]["kind"] == "alert"
    assert message["email"].startswith("AWS CONFIGURATION RECORDER STOPPED")


def test_invoke_ignored_event() -> None:
    result = run("invoke", str(EVENTS_DIR / "stop_recorder_access_denied.json"), "--json")
    assert result.returncode == EXIT_IGNORED, result.stderr
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


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    """One `demo` run, shared by the tests that read its output (it takes seconds)."""
    return run("demo", str(EVENTS_DIR))


def test_demo_runs_every_sample(demo: subprocess.CompletedProcess[str]) -> None:
    result = demo
    assert result.returncode == 0, result.stderr
    for path in EVENTS_DIR.glob("*.json"):
        assert f"== {path}" in result.stdout
    expected = sample_expectations().values()
    assert result.stdout.count("outcome: alerted") == sum(v is not None for v in expected)
    assert result.stdout.count("outcome: ignored") == sum(v is None for v in expected)


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        ("{not json", EXIT_USAGE, "is not JSON: Expecting property name enclosed in double"),
        ("[1, 2]", EXIT_REJECTED, "not an EventBridge event: expected a JSON object, got list"),
        ('{"detail": {}}', EXIT_REJECTED, "detail-type and source missing"),
        ("\udcff", EXIT_USAGE, "cannot read"),
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
    assert result.returncode == EXIT_USAGE
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
    assert result.returncode == EXIT_IGNORED
    assert result.stdout == ""
    assert result.stderr.startswith("ignored: event.action 'StartConfigurationRecorder'")


def test_demo_shows_every_rendition_for_one_event(demo: subprocess.CompletedProcess[str]) -> None:
    result = demo
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


def test_exit_codes_are_distinct() -> None:
    codes = [EXIT_ALERTED, EXIT_IGNORED, EXIT_USAGE, EXIT_REJECTED, EXIT_INTERNAL, EXIT_BROKEN_PIPE]
    assert len(set(codes)) == len(codes)
    assert EXIT_USAGE == 2  # argparse's code for bad arguments: one meaning for both


def test_dry_run_without_auto_restart_is_refused() -> None:
    result = run("invoke", ALERTING_EVENT, "--dry-run")
    assert result.returncode == EXIT_USAGE
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "python -m recorder_guard invoke: error: --dry-run only applies with --auto-restart"
        " (add --auto-restart, or leave it out)"
    )


@pytest.mark.parametrize("command", ["invoke", "render", "demo"])
@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--dry-run"], "--dry-run only applies"),
        (["--exempt", "arn:aws:iam::*:role/X"], "--exempt only applies"),
        (["--dry-run", "--exempt", "x"], "--dry-run and --exempt only apply"),
    ],
)
def test_remediation_options_without_auto_restart_are_refused_by_every_runner(
    command: str, options: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """In process: argparse refuses before any AWS is started, so this is the real path."""
    with pytest.raises(SystemExit) as exited:
        main([command, ALERTING_EVENT, *options])
    assert exited.value.code == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{command}: error: {named} with --auto-restart" in captured.err


def test_dry_run_with_auto_restart_says_what_it_would_do_once() -> None:
    result = run("invoke", ALERTING_EVENT, "--auto-restart", "--dry-run")
    assert result.returncode == EXIT_ALERTED, result.stderr
    assert "auto-restart: dry_run (would restart default)" in result.stdout
    assert "Auto-restart:     dry_run: would restart default" in result.stdout


DOUBLED = re.compile(r"\b([A-Za-z_]\w*)\b[ (:]+\1\b")


def test_no_doubled_words_or_repeated_labels_in_what_people_read(
    demo: subprocess.CompletedProcess[str],
) -> None:
    dry_run = run("demo", str(EVENTS_DIR), "--auto-restart", "--dry-run")
    assert "Auto-restart:     dry_run: would restart default" in dry_run.stdout
    for output in (demo.stdout, dry_run.stdout):  # every event, email and chat, the backstop
        assert "== backstop run" in output
        assert DOUBLED.findall(output) == []


def test_demo_ends_with_a_summary_a_person_reads(demo: subprocess.CompletedProcess[str]) -> None:
    result = demo
    assert result.returncode == EXIT_ALERTED, result.stderr
    summary = result.stdout[result.stdout.index("== summary") :].splitlines()
    expected = sample_expectations().values()
    alerted = sum(v is not None for v in expected)
    assert summary[1] == (
        f"{len(expected)} sample events: {alerted} alerted,"
        f" {len(expected) - alerted} ignored (not ours, nothing published)."
    )
    assert "  4 AWS Configuration Recorder Stopped" in summary
    assert summary[-2] == (
        "Backstop, 3 runs over a recorder that was never started:"
        " 1 alert, then nothing, then 1 resolution."
    )
    assert "{" not in result.stdout[result.stdout.index("== backstop run") :]
    assert "checked 1 region, 1 recorder: 1 not recording; published 1 alert" in result.stdout


def test_piping_into_head_ends_quietly() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    piped = subprocess.run(
        f"{sys.executable} -m recorder_guard demo | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0
    assert piped.stdout == "== events/delete_delivery_channel_assumed_role.json\n"
    assert piped.stderr == "", piped.stderr


def test_a_reader_that_is_gone_gets_no_traceback() -> None:
    """The same, without a race: the pipe's reading end is closed before the first write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "recorder_guard", "invoke", ALERTING_EVENT],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == EXIT_BROKEN_PIPE
    assert result.stderr == ""


def test_help_lists_every_subcommand_and_the_exit_codes() -> None:
    result = run("--help")
    assert result.returncode == 0
    for name in cli_commands(parser()):
        assert f"python -m recorder_guard {name}" in result.stdout  # the usage summary
        assert re.search(rf"^    {name} ", result.stdout, re.MULTILINE), name  # the list
    for code in (EXIT_IGNORED, EXIT_REJECTED, EXIT_INTERNAL, EXIT_BROKEN_PIPE):
        assert re.search(rf"^  {code} +\S", result.stdout, re.MULTILINE), code
    assert "exit codes:" in run("invoke", "--help").stdout


def test_the_readme_states_the_same_exit_codes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, word in (
        (EXIT_ALERTED, "alerted"),
        (EXIT_IGNORED, "ignored"),
        (EXIT_USAGE, "usage"),
        (EXIT_REJECTED, "rejected"),
        (EXIT_INTERNAL, "error"),
    ):
        assert f"| {code} | {word}" in readme


def test_make_help_lists_every_target() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    listed = subprocess.run(
        [make, "-s", "help"], capture_output=True, text=True, cwd=ROOT, check=True, timeout=30
    ).stdout
    for target in makefile_targets(ROOT / "Makefile"):
        assert f"make {target} " in listed, target


def test_make_passes_the_runner_exit_code_on() -> None:
    make = shutil.which("make")
    if make is None or not (ROOT / ".venv" / "bin" / ".installed").exists():
        pytest.skip("make or the installed .venv is missing")
    event = f"EVENT={EVENTS_DIR / 'start_recorder_other_action.json'}"
    result = subprocess.run(
        [make, "-s", "invoke", event, "ARGS=--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2  # GNU make's own status for any failed recipe
    assert f"python -m recorder_guard invoke exited {EXIT_IGNORED}" in result.stderr
    assert f"Error {EXIT_IGNORED}" in result.stderr


def test_a_failure_inside_is_one_line_and_its_own_code() -> None:
    """redrive against an endpoint nobody listens on: botocore's real connection error."""
    result = run(
        "redrive",
        "--queue-url",
        "http://127.0.0.1:9/111122223333/dlq",
        "--function",
        "recorder-guard",
        "--region",
        "us-east-1",
        extra_env={
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_MAX_ATTEMPTS": "1",
        },
    )
    assert result.returncode == EXIT_INTERNAL
    assert result.stdout == ""
    assert result.stderr.startswith("error: internal: EndpointConnectionError")
    assert result.stderr.count("\n") == 1


def test_the_readme_alert_example_is_what_render_prints() -> None:
    """The README's email is the renderer's output; only the detection time differs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## What an alert looks like") :]
    example = section.split("```text\n", 1)[1].split("\n```", 1)[0]
    result = run("render", ALERTING_EVENT, "--format", "email")
    assert result.returncode == EXIT_ALERTED, result.stderr

    def without_detection_time(text: str) -> list[str]:
        return [line for line in text.rstrip("\n").splitlines() if "Detected:" not in line]

    assert without_detection_time(example) == without_detection_time(result.stdout)
