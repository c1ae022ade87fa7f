"""recorder-guard benchmarks: cold import, warm per-event cost, peak memory, package size.

Everything is measured in one run, next to its floor, and reported as ratios; nothing here
is a test and no threshold is asserted. Run with `make bench` (it runs `sam build` first).

Cold import runs in a clean interpreter of the Lambda runtime's Python (3.13) with only boto3
installed (bench/.runtime-venv, built on first use), over the `sam build` output with
bytecode writing off, as Lambda loads it from its read-only code directory.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import zipfile
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build" / "ResponderFunction"
RUNTIME_VENV = ROOT / "bench" / ".runtime-venv"
RESULTS = ROOT / "bench" / "results.json"
SAM_LOCAL_REPORT = ROOT / "bench" / "sam-local-report.json"  # written by `make sam-local`
GOALS = {
    "cold_import_ratio": 1.10,
    "warm_overhead_us": 1000.0,
    "peak_rss_mb": 100.0,
    "package_zip_mb": 5.0,
}

HANDLER_IMPORT = "import recorder_guard.app"
CLIENTS = (
    "import boto3; "
    "[boto3.client(n, region_name='us-east-1') for n in ('sns', 'config', 'dynamodb')]"
)
HANDLER_WITH_CLIENTS = (
    HANDLER_IMPORT + "; " + CLIENTS.split("; ", 1)[1].replace("[", "import boto3; [", 1)
)
FLOOR = CLIENTS


def runtime_python() -> Path:
    """A venv of the runtime's Python with boto3 only (no awscrt, which aws-sam-cli adds)."""
    python = RUNTIME_VENV / "bin" / "python"
    if not python.exists():
        env = {**os.environ, "PYENV_VERSION": os.environ.get("PYENV_VERSION", "3.11.7:3.13.0")}
        subprocess.run(["python3.13", "-m", "venv", str(RUNTIME_VENV)], check=True, env=env)
        boto3_pin = next(
            line.strip()
            for line in (ROOT / "constraints.txt").read_text().splitlines()
            if line.startswith("boto3==")
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                boto3_pin,
                "-c",
                str(ROOT / "constraints.txt"),
            ],
            check=True,
        )
    return python


def timed_runs(python: Path, code: str, runs: int, path: Path | None) -> list[float]:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
    }
    if path:
        env["PYTHONPATH"] = str(path)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(python), "-I" if not path else "-s", "-c", code], check=True, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: list[float]) -> dict[str, float]:
    quartiles = statistics.quantiles(times, n=4)
    return {
        "median_ms": round(statistics.median(times), 1),
        "p25_ms": round(quartiles[0], 1),
        "p75_ms": round(quartiles[2], 1),
        "runs": len(times),
    }


def cold_import(runs: int) -> dict[str, Any]:
    python = runtime_python()
    empty = ROOT / "bench" / ".empty"
    empty.mkdir(exist_ok=True)
    # Interleave the variants so drift on the machine hits all of them alike.
    handler, handler_clients, floor, bare = [], [], [], []
    for _ in range(runs):
        handler += timed_runs(python, HANDLER_IMPORT, 1, BUILD)
        handler_clients += timed_runs(python, HANDLER_WITH_CLIENTS, 1, BUILD)
        floor += timed_runs(python, FLOOR, 1, empty)
        bare += timed_runs(python, "pass", 1, empty)
    result: dict[str, Any] = {
        "python": subprocess.run(
            [str(python), "-V"], capture_output=True, text=True, check=True
        ).stdout.strip(),
        "interpreter_start": summary(bare),
        "floor_boto3_and_clients": summary(floor),
        "handler_import": summary(handler),
        "handler_import_and_clients": summary(handler_clients),
    }
    result["ratio_handler_and_clients_to_floor"] = round(
        statistics.median(handler_clients) / statistics.median(floor), 3
    )
    return result


def warm_cost(events: int) -> dict[str, Any]:
    """In-process, AWS answered by botocore's Stubber: the handler's own cost per event."""
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x"
    )
    import boto3
    from botocore.stub import Stubber

    from recorder_guard import app
    from recorder_guard.aws.clients import Runtime
    from recorder_guard.settings import Settings

    quiet_logs()

    samples = {p.name: json.loads(p.read_text()) for p in (ROOT / "events").glob("*.json")}
    alert_event = samples["stop_recorder_assumed_role.json"]
    ignored_event = samples["start_recorder_other_action.json"]
    sns = boto3.client("sns", region_name="us-east-1")
    config = boto3.client("config", region_name="us-east-1")
    settings = Settings(
        alert_topic_arn="arn:aws:sns:us-east-1:123456789012:alerts", check_recorder_status=True
    )
    app.runtime.cache_clear()
    runtime = Runtime(settings=settings, _sns=sns, _config=config)
    app.runtime = lambda: runtime  # type: ignore[assignment]
    context = BenchContext()
    results: dict[str, Any] = {}
    with Stubber(sns) as sns_stub, Stubber(config) as config_stub, redirect_stdout(io.StringIO()):
        for name, event, calls in (("alert", alert_event, True), ("ignored", ignored_event, False)):
            if calls:
                for _ in range(events + 50):
                    sns_stub.add_response("publish", {"MessageId": "m"})
                    config_stub.add_response(
                        "describe_configuration_recorder_status",
                        {"ConfigurationRecordersStatus": [{"name": "default", "recording": False}]},
                    )
            for _ in range(50):  # warm up
                app.handler(event, context)
            start = time.perf_counter()
            for _ in range(events):
                app.handler(event, context)
            elapsed = time.perf_counter() - start
            results[name] = {
                "events": events,
                "us_per_event": round(elapsed / events * 1e6, 1),
                "events_per_second": round(events / elapsed),
            }
    # The floor for an alert: the two stubbed AWS calls alone, same clients, same stubs.
    with Stubber(sns) as sns_stub, Stubber(config) as config_stub:
        for _ in range(events):
            sns_stub.add_response("publish", {"MessageId": "m"})
            config_stub.add_response(
                "describe_configuration_recorder_status", {"ConfigurationRecordersStatus": []}
            )
        start = time.perf_counter()
        for _ in range(events):
            config.describe_configuration_recorder_status(ConfigurationRecorderNames=["default"])
            sns.publish(TopicArn=settings.alert_topic_arn, Message="{}")
        floor = (time.perf_counter() - start) / events * 1e6
    results["floor_two_stubbed_calls_us"] = round(floor, 1)
    results["alert_overhead_us"] = round(results["alert"]["us_per_event"] - floor, 1)
    return results


class BenchContext:
    """The LambdaContext attributes Powertools reads."""

    function_name = "recorder-guard-bench"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:recorder-guard-bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def quiet_logs() -> None:
    """Logs are written (their cost counts) but to /dev/null, not the terminal."""
    import logging

    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger("recorder-guard").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


# ru_maxrss would inherit the benchmark's own peak across fork and exec on Linux; VmHWM is the
# high-water mark of this process's own memory.
PEAK_KB = (
    "def peak_kb():\n"
    "    status = open('/proc/self/status').read().splitlines()\n"
    "    return next(int(line.split()[1]) for line in status if line.startswith('VmHWM'))\n"
)
PEAK_RSS_CODE = (
    PEAK_KB
    + """
import io, json, logging, os, sys
from contextlib import redirect_stdout
sys.path.insert(0, os.environ["BUILD"])
import boto3
from botocore.stub import Stubber
from recorder_guard import app
from recorder_guard.aws.clients import Runtime
from recorder_guard.settings import Settings
for handler in logging.getLogger("recorder-guard").handlers:
    handler.setStream(open(os.devnull, "w"))
class LocalContext:
    function_name = "bench"; memory_limit_in_mb = 128; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 30000
event = json.load(open(os.environ["EVENT"]))
sns = boto3.client("sns", region_name="us-east-1")
config = boto3.client("config", region_name="us-east-1")
runtime = Runtime(settings=Settings(alert_topic_arn="arn:aws:sns:us-east-1:123456789012:a",
                  check_recorder_status=True), _sns=sns, _config=config)
app.runtime = lambda: runtime
with Stubber(sns) as s1, Stubber(config) as s2, redirect_stdout(io.StringIO()):
    for _ in range(1000):
        s1.add_response("publish", {"MessageId": "m"})
        status = {"ConfigurationRecordersStatus": []}
        s2.add_response("describe_configuration_recorder_status", status)
        app.handler(event, LocalContext())
print(peak_kb())
"""
)


def peak_rss() -> dict[str, Any]:
    env = {
        **os.environ,
        "SRC": str(ROOT / "src"),
        "EVENT": str(ROOT / "events" / "stop_recorder_assumed_role.json"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    handler_kb = int(
        subprocess.run(
            [str(runtime_python()), "-c", PEAK_RSS_CODE],
            capture_output=True,
            text=True,
            check=True,
            env={**env, "BUILD": str(BUILD)},
        ).stdout.strip()
    )
    floor_kb = int(
        subprocess.run(
            [
                str(runtime_python()),
                "-c",
                PEAK_KB + "import boto3\n"
                "boto3.client('sns', region_name='us-east-1')\n"
                "boto3.client('config', region_name='us-east-1')\n"
                "print(peak_kb())",
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
    )
    template = (ROOT / "template.yaml").read_text()
    memory = 128 if "Default: 128" in template else None
    return {
        "handler_1000_alerts_mb": round(handler_kb / 1024, 1),
        "floor_boto3_two_clients_mb": round(floor_kb / 1024, 1),
        "function_memory_mb": memory,
    }


def package_size() -> dict[str, Any]:
    buffer = io.BytesIO()
    sizes: dict[str, int] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(BUILD.rglob("*")):
            if path.is_file():
                before = buffer.tell()
                archive.write(path, path.relative_to(BUILD))
                top = path.relative_to(BUILD).parts[0]
                sizes[top] = sizes.get(top, 0) + buffer.tell() - before
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:5]
    return {
        "zip_mb": round(len(buffer.getvalue()) / 1e6, 2),
        "largest": {name: round(size / 1e6, 2) for name, size in largest},
    }


def sam_local_invoke() -> dict[str, Any] | str:
    """The REPORT lines `make sam-local` recorded last (tests/sam_local.py), if it ran here."""
    if not SAM_LOCAL_REPORT.exists():
        return "not measured here: run `make sam-local` (root, Docker)"
    report: dict[str, Any] = json.loads(SAM_LOCAL_REPORT.read_text(encoding="utf-8"))
    return report


def render_sam_local(report: dict[str, Any] | str) -> list[str]:
    """The emulator's figures per event, labelled with where they were measured."""
    if isinstance(report, str):
        return [f"sam local invoke: {report}"]
    where = f"the stand-in image {report['image']}"
    if report["emulated"]:
        where += f" ({report['function_architecture']}) under qemu emulation on {report['machine']}"
    lines = [
        f"sam local invoke, measured {report['measured_at']} by `make sam-local` in {where};"
        " not Lambda's figures:",
        report["note"],
        "",
        "| event | outcome | Init Duration, ms | Duration, ms | Max Memory Used, MB | wall, s |",
        "|---|---|---|---|---|---|",
    ]
    for name, event in report["events"].items():
        figures = event["report"]
        outcome = event["outcome"] if not event["failure"] else f"FAILED: {event['failure']}"
        cells = (
            [str(figures[key]) for key in ("init_duration_ms", "duration_ms", "max_memory_used_mb")]
            if figures
            else ["", "", ""]
        )
        lines.append(f"| {name} | {outcome} | {' | '.join(cells)} | {event['wall_seconds']} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="cold-import runs per variant (>= 15)")
    parser.add_argument("--events", type=int, default=2000, help="warm events per kind")
    args = parser.parse_args()
    if not BUILD.is_dir():
        print("run `make build` first (bench reads the sam build output)", file=sys.stderr)
        return 2
    results: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "cold_import": cold_import(max(args.runs, 15)),
        "warm": warm_cost(args.events),
        "peak_rss": peak_rss(),
        "package": package_size(),
        "sam_local_invoke": sam_local_invoke(),
    }
    measured = {
        "cold_import_ratio": results["cold_import"]["ratio_handler_and_clients_to_floor"],
        "warm_overhead_us": results["warm"]["alert_overhead_us"],
        "peak_rss_mb": results["peak_rss"]["handler_1000_alerts_mb"],
        "package_zip_mb": results["package"]["zip_mb"],
    }
    results["goals"] = {
        name: {"goal": goal, "measured": measured[name], "met": measured[name] <= goal}
        for name, goal in GOALS.items()
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(render_table(results))
    return 0


def _spread(measure: dict[str, float]) -> str:
    return f"{measure['median_ms']} ({measure['p25_ms']}-{measure['p75_ms']})"


def render_table(results: dict[str, Any]) -> str:
    cold, warm, rss = results["cold_import"], results["warm"], results["peak_rss"]
    machine = results["machine"]
    largest = ", ".join(f"{k} {v}" for k, v in results["package"]["largest"].items())
    rss_ratio = round(rss["handler_1000_alerts_mb"] / rss["floor_boto3_two_clients_mb"], 2)
    rows = [
        (
            "cold import + clients, ms (median, p25-p75)",
            _spread(cold["handler_import_and_clients"]),
            _spread(cold["floor_boto3_and_clients"]),
            f"{cold['ratio_handler_and_clients_to_floor']}x / <= 1.10x",
        ),
        (
            "cold import of the handler module alone, ms",
            str(cold["handler_import"]["median_ms"]),
            f"interpreter start {cold['interpreter_start']['median_ms']}",
            "",
        ),
        (
            "warm alert: us/event, events/s",
            f"{warm['alert']['us_per_event']}, {warm['alert']['events_per_second']}",
            f"{warm['floor_two_stubbed_calls_us']} (its two AWS calls)",
            f"overhead {warm['alert_overhead_us']} us / < 1000 us",
        ),
        (
            "warm ignored event: us/event, events/s",
            f"{warm['ignored']['us_per_event']}, {warm['ignored']['events_per_second']}",
            "",
            "",
        ),
        (
            "peak RSS after 1,000 alerts, MB",
            str(rss["handler_1000_alerts_mb"]),
            str(rss["floor_boto3_two_clients_mb"]),
            f"{rss_ratio}x / < 100 MB (function: {rss['function_memory_mb']} MB)",
        ),
        (
            "package, zipped, MB",
            str(results["package"]["zip_mb"]),
            "",
            f"< 5 MB; largest: {largest}",
        ),
    ]
    goals = ", ".join(
        f"{name} {'met' if goal['met'] else 'MISSED'} ({goal['measured']} vs {goal['goal']})"
        for name, goal in results["goals"].items()
    )
    return "\n".join(
        [
            f"machine: {machine['platform']}, {machine['cpus']} CPUs;"
            f" cold import in {cold['python']}, warm in Python {machine['python']}",
            "",
            "| measure | recorder-guard | floor | ratio / goal |",
            "|---|---|---|---|",
            *(f"| {' | '.join(row)} |" for row in rows),
            "",
            f"goals: {goals}",
            "",
            *render_sam_local(results["sam_local_invoke"]),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
