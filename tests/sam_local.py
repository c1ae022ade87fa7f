"""`make sam-local`: every file in events/ through `sam local invoke`, in a Lambda runtime
container, against a moto_server; what reached the topic is checked against events/README.md.

Why: users try the function with `sam local invoke` before they deploy it, and the unit and
integration tests run the handler in this process, never in a runtime container with the
`sam build` output, the template's environment and the network between them. This runs the
built function as SAM runs it, in the stand-in runtime image (scripts/local-runtime-image.sh)
for the template's architecture, and reads what an SQS subscriber of the topic received.

    python -m tests.sam_local [--endpoint URL] [--image IMAGE]

Without --endpoint it starts its own moto_server on the Docker bridge's gateway address (the
only address the containers and this machine share) and stops it at the end. It writes the
emulator's REPORT figures for each event to bench/sam-local-report.json for `make bench`, and
exits 1 with one line per event that failed. Not collected by pytest: it needs Docker.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import boto3

from recorder_guard.domain.rules import load_rules, scheduled_rule
from recorder_guard.local import LOCAL_ACCOUNT, LOCAL_REGION, create_local_stack
from tests.support import EVENTS_DIR, ROOT, load_template, sample_expectations

FUNCTION = "ResponderFunction"
BACKSTOP_FUNCTION = "BackstopFunction"
BACKSTOP_RULE = "recorder_not_recording"
BACKSTOP_RULE_ID = scheduled_rule(BACKSTOP_RULE).id
BUILT_TEMPLATE = ROOT / ".aws-sam" / "build" / "template.yaml"
ENV_FILE = ROOT / "scripts" / "sam-local-env.json"
IMAGE_SCRIPT = ROOT / "scripts" / "local-runtime-image.sh"
REPORT_FILE = ROOT / "bench" / "sam-local-report.json"
BIN = Path(sys.executable).parent
DOCKER_ARCH = {"arm64": "arm64", "x86_64": "amd64"}
INVOKE_TIMEOUT_SECONDS = 900  # a guard against a hung container, not a speed requirement
REPORT_LINE = re.compile(
    r"^REPORT RequestId: \S+\s+(?:Init Duration: (?P<init>[\d.]+) ms\s+)?"
    r"Duration: (?P<duration>[\d.]+) ms\s+Billed Duration: (?P<billed>[\d.]+) ms\s+"
    r"Memory Size: (?P<memory>\d+) MB\s+Max Memory Used: (?P<max_memory>\d+) MB",
    re.MULTILINE,
)


@dataclass
class Result:
    """One event's invocation: what the function returned, what reached the topic, REPORT."""

    event: str
    expected_rule: str | None
    outcome: str | None = None
    alerted_rules: list[str] = field(default_factory=list)
    report: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    failure: str | None = None
    response: dict[str, object] = field(default_factory=dict)


def function_architecture() -> str:
    """The Docker architecture of the function as template.yaml declares it."""
    architectures = load_template()["Resources"][FUNCTION]["Properties"]["Architectures"]
    return DOCKER_ARCH[architectures[0]]


def bridge_gateway() -> str:
    """The default bridge's gateway: the host address that SAM's containers can reach. Docker
    20.10 leaves it out of the network's IPAM data, so it is read off the bridge interface."""

    def docker_inspect(template: str) -> str:
        command = ["docker", "network", "inspect", "bridge", "--format", template]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    gateway = docker_inspect("{{range .IPAM.Config}}{{.Gateway}}{{end}}")
    if not gateway:
        interface = docker_inspect('{{index .Options "com.docker.network.bridge.name"}}')
        shown = subprocess.run(
            ["ip", "-4", "-o", "address", "show", "dev", interface or "docker0"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found = re.search(r"\binet (\d+\.\d+\.\d+\.\d+)/", shown)
        gateway = found[1] if found else ""
    if not gateway:
        raise SystemExit("docker: found no gateway address of the default bridge network")
    return gateway


@contextmanager
def moto_server(host: str) -> Iterator[str]:
    """A moto_server for this run only, in the sample events' account; stopped by its PID."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - kept until the server is stopped
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", host, "-p", str(port)],
        env={**os.environ, "MOTO_ACCOUNT_ID": LOCAL_ACCOUNT},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://{host}:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def wait_until_ready(endpoint: str, attempts: int = 120) -> None:
    """moto_server takes a few seconds to import its services."""
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"moto_server at {endpoint} does not answer")


def reset_moto(endpoint: str) -> None:
    """An empty moto: no state (idempotency records, messages) from an earlier run."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def subscribe_queue(session: boto3.Session, topic_arn: str) -> str:
    """An SQS subscriber of the topic, as a SIEM would subscribe: what reached the topic."""
    sqs = session.client("sqs")
    queue_url = sqs.create_queue(QueueName="recorder-guard-sam-local")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    session.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


def drain(session: boto3.Session, queue_url: str) -> list[str]:
    """Rule ids of every alert now in the queue (SNS delivers to it before Publish returns)."""
    sqs = session.client("sqs")
    rule_ids = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            envelope = json.loads(message["Body"])
            rule_ids.append(envelope["MessageAttributes"]["rule_id"]["Value"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return rule_ids


def env_vars_file(directory: Path, endpoint: str, topic_arn: str) -> Path:
    """scripts/sam-local-env.json (the file the README shows) with this run's endpoint."""
    data = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    variables = data[FUNCTION]
    if variables["ALERT_TOPIC_ARN"] != topic_arn:
        raise SystemExit(
            f"{ENV_FILE.name} names topic {variables['ALERT_TOPIC_ARN']}, moto created"
            f" {topic_arn} (run moto_server with MOTO_ACCOUNT_ID={LOCAL_ACCOUNT})"
        )
    for function in data.values():
        function["AWS_ENDPOINT_URL"] = endpoint
    path = directory / "env.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def sam_environment(endpoint: str) -> dict[str, str]:
    """Only what sam and Docker need, so no variable of this shell overrides the template's,
    dummy credentials, and moto as sam's own endpoint: `sam local invoke` asks STS for the
    account id, and that call should not leave this machine."""
    kept = ("PATH", "HOME", "PYENV_VERSION", "PYENV_ROOT", "DOCKER_HOST", "TMPDIR", "LANG")
    env = {name: os.environ[name] for name in kept if name in os.environ}
    env.update(
        SAM_CLI_TELEMETRY="0",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_ENDPOINT_URL=endpoint,
    )
    return env


def invoke(
    name: str,
    image: str,
    env_file: Path,
    env: dict[str, str],
    *,
    function: str = FUNCTION,
    event: Path | None = None,
) -> Result:
    """One `sam local invoke`, as the README shows it, with the stand-in image."""
    result = Result(event=name, expected_rule=sample_expectations().get(name))
    command = [
        str(BIN / "sam"),
        "local",
        "invoke",
        function,
        "--template",
        str(BUILT_TEMPLATE),
        "--event",
        str(event or EVENTS_DIR / name),
        "--env-vars",
        str(env_file),
        "--invoke-image",
        image,
        "--skip-pull-image",
        "--region",
        LOCAL_REGION,
        # moto holds the recorder: read its status as the deployed default does.
        "--parameter-overrides",
        "CheckRecorderStatus=true",
    ]
    start = time.perf_counter()
    try:
        run = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=INVOKE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        result.failure = f"sam local invoke did not finish in {INVOKE_TIMEOUT_SECONDS} s"
        return result
    result.wall_seconds = round(time.perf_counter() - start, 2)
    report = REPORT_LINE.search(run.stderr)
    if report:
        result.report = {
            "init_duration_ms": float(report["init"] or 0),
            "duration_ms": float(report["duration"]),
            "billed_duration_ms": float(report["billed"]),
            "memory_size_mb": float(report["memory"]),
            "max_memory_used_mb": float(report["max_memory"]),
        }
    last_error = next(
        (line for line in reversed(run.stderr.splitlines()) if line.strip()), "no output"
    )
    if run.returncode != 0:
        result.failure = f"sam local invoke exited {run.returncode}: {last_error[:300]}"
        return result
    try:
        response = json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        result.failure = f"no JSON response from the function: {last_error[:300]}"
        return result
    if "errorType" in response:
        result.failure = (
            f"the function failed: {response['errorType']}: "
            + str(response.get("errorMessage", ""))[:300]
        )
        return result
    result.outcome = response.get("outcome")
    result.response = response
    if not report:
        result.failure = "no REPORT line from the runtime interface emulator"
    return result


def verdict(result: Result) -> str | None:
    """Why this event's result differs from events/README.md, or None."""
    if result.failure:
        return result.failure
    expected = result.expected_rule
    if result.event not in sample_expectations():
        return "no expected outcome for this file in events/README.md"
    if expected is None:
        if result.outcome != "ignored" or result.alerted_rules:
            return f"expected ignored and no alert, got {result.outcome} and {result.alerted_rules}"
        return None
    if result.outcome != "alerted" or result.alerted_rules != [expected]:
        return (
            f"expected one alert from {expected}, got outcome {result.outcome} and alerts"
            f" {result.alerted_rules}"
        )
    return None


def backstop_verdict(result: Result, rule_ids: list[str], expected: dict[str, int]) -> str | None:
    """The scheduled backstop's run: what it says it published, and what reached the topic."""
    if result.failure:
        return result.failure
    published = result.response.get("published")
    if published != expected:
        return f"expected the run to publish {expected}, it says {published}"
    wanted = [BACKSTOP_RULE_ID] * sum(expected.values())
    if rule_ids != wanted:
        return f"expected {len(wanted)} backstop notice(s) on the topic, got rules {rule_ids}"
    return None


def summary_line(result: Result) -> str:
    what = f"{result.outcome} ({', '.join(result.alerted_rules) or 'no alert'})"
    figures = result.report
    timing = (
        f"Init Duration {figures['init_duration_ms']} ms, Duration {figures['duration_ms']} ms"
        if figures
        else "no REPORT"
    )
    return f"{result.event}: {what}; {timing}; {result.wall_seconds} s wall"


def write_report(results: list[Result], image: str, arch: str) -> None:
    """What bench/bench.py prints under `sam local invoke`, with what the figures mean."""
    emulated = DOCKER_ARCH.get(platform.machine(), platform.machine()) != arch
    REPORT_FILE.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                "image": image,
                "function_architecture": arch,
                "emulated": emulated,
                "note": (
                    "REPORT lines of the runtime interface emulator that sam local invoke adds"
                    " to the stand-in image (Debian trixie python3 3.13, awslambdaric, boto3),"
                    + (f" run under qemu {arch} emulation," if emulated else "")
                    + " not Lambda's. Each invoke is a new container: Duration includes the"
                    " Python start and imports, which the emulator's Init Duration does not;"
                    " the emulator reports Memory Size as Max Memory Used."
                ),
                "events": {result.event: asdict(result) for result in results},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--endpoint", help="a running moto_server the containers can reach")
    parser.add_argument("--image", help="the runtime image (default: built by the script)")
    parser.add_argument(
        "--bridge-gateway",
        action="store_true",
        help="print the address to start a moto_server on for --endpoint, and exit",
    )
    args = parser.parse_args()
    if args.bridge_gateway:
        print(bridge_gateway())
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup on TERM too
    if not BUILT_TEMPLATE.exists():
        print("run `make build` first: sam local invoke runs the sam build output")
        return 2
    arch = function_architecture()
    image = args.image or runtime_image(arch)
    server: AbstractContextManager[str] = (
        nullcontext(args.endpoint.rstrip("/")) if args.endpoint else moto_server(bridge_gateway())
    )
    with server as endpoint, tempfile.TemporaryDirectory() as scratch:
        return run_all(endpoint, image, arch, Path(scratch))


def runtime_image(arch: str) -> str:
    """The stand-in runtime image for `arch`, from the script that builds and caches it."""
    built = subprocess.run(
        [str(IMAGE_SCRIPT), arch],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
        env={**os.environ, "PYTHON": sys.executable},
    )
    if built.returncode != 0 or not built.stdout.strip():
        raise SystemExit(f"{IMAGE_SCRIPT.name} {arch} failed (exit {built.returncode})")
    return built.stdout.strip().splitlines()[-1]


def run_all(endpoint: str, image: str, arch: str, scratch: Path) -> int:
    """A fresh stack in moto, then each event in turn: invoke, read the queue, judge."""
    wait_until_ready(endpoint)
    reset_moto(endpoint)
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=LOCAL_REGION
    )
    os.environ["AWS_ENDPOINT_URL"] = endpoint  # this process's clients: moto, never AWS
    topic_arn = create_local_stack(session)
    queue_url = subscribe_queue(session, topic_arn)
    env_file = env_vars_file(scratch, endpoint, topic_arn)
    env = sam_environment(endpoint)
    keys = {rule.id: rule.key for rule in load_rules()}
    print(f"sam local invoke with {image} against moto at {endpoint}", flush=True)
    results, failures = [], []
    scheduled = scratch / "scheduled.json"
    scheduled.write_text("{}", encoding="utf-8")  # the schedule's payload carries nothing we read

    def backstop_run(name: str, expected: dict[str, int]) -> None:
        """The backstop as the schedule invokes it. First, on the fresh stack, it finds the
        recorder that was never started (one alert); last, after the sample stops opened or
        kept that episode, it has nothing new to say."""
        result = invoke(name, image, env_file, env, function=BACKSTOP_FUNCTION, event=scheduled)
        rule_ids = drain(session, queue_url)
        result.outcome = "published " + str(result.response.get("published"))
        result.alerted_rules = [BACKSTOP_RULE if r == BACKSTOP_RULE_ID else r for r in rule_ids]
        results.append(result)
        problem = backstop_verdict(result, rule_ids, expected)
        if problem:
            failures.append(f"FAIL {name}: {problem}")
            print(failures[-1], flush=True)
        else:
            print(f"ok   {summary_line(result)}", flush=True)

    backstop_run("backstop, first run", {"alert": 1})
    for path in sorted(EVENTS_DIR.glob("*.json")):
        result = invoke(path.name, image, env_file, env)
        result.alerted_rules = [keys.get(rule_id, rule_id) for rule_id in drain(session, queue_url)]
        results.append(result)
        problem = verdict(result)
        if problem:
            failures.append(f"FAIL {path.name}: {problem}")
            print(failures[-1], flush=True)
        else:
            print(f"ok   {summary_line(result)}", flush=True)
    backstop_run("backstop, after the events", {})
    write_report(results, image, arch)
    print(f"REPORT figures: {REPORT_FILE.relative_to(ROOT)}")
    print(f"sam-local: {len(results) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
