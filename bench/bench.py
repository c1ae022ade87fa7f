"""recorder-guard benchmark: what a deployed function costs, next to the same AWS work done bare.

`make bench` runs `sam build`, then this. Every measured process is a fresh interpreter of a
runtime-like environment: Python 3.13 with the Lambda runtime's boto3 and botocore and
without awscrt (bench/.runtime-venv, built on first use), over the compiled `sam build`
output, with bytecode writing off as in Lambda's read-only code directory. The function runs
with the settings a default deployment has (idempotency on, episode writes on, status
check on) against a moto_server on a free loopback port, started and stopped here.

Each comparison is A/B paired: the two processes of a pair run back to back (the order
alternates between pairs), the ratio of each pair is taken, and the median and range of those
ratios are reported. The floor imports boto3 and makes the same AWS calls with the same
parameters, recorded from the function itself. Nothing here is a test and no threshold fails
a build; the goals are reported as met or not. Results: bench/results.json.
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build" / "ResponderFunction"
PROBE = ROOT / "bench" / "probe.py"
RUNTIME_VENV = ROOT / "bench" / ".runtime-venv"
CUSTODIAN_VENV = ROOT / "bench" / ".custodian-venv"
EMPTY = ROOT / "bench" / ".empty"
RESULTS = ROOT / "bench" / "results.json"
SAM_LOCAL_REPORT = ROOT / "bench" / "sam-local-report.json"  # written by `make sam-local`
RUNTIME_REQUIREMENTS = ROOT / "scripts" / "local-runtime-requirements.txt"
SAMPLE_EVENT = ROOT / "events" / "stop_recorder_assumed_role.json"
SCHEMA_VERSION = 2

# The Lambda Python runtime's own packages (boto3 and what it needs), as pinned for the
# stand-in runtime image; awscrt is not among them.
RUNTIME_PACKAGES = (
    "boto3",
    "botocore",
    "jmespath",
    "python-dateutil",
    "s3transfer",
    "six",
    "urllib3",
)
# Cloud Custodian, optional: c7n pins an exact boto3, so it is installed without its
# dependencies and given the runtime's boto3; its other pins are its own (c7n 0.9.53).
CUSTODIAN_PACKAGES = (
    "argcomplete==3.7.2",
    "cryptography==50.0.1",
    "jsonschema==4.26.0",
    "pyyaml==6.0.3",
    "tabulate==0.10.0",
)
CUSTODIAN_VERSION = "c7n==0.9.53"
CUSTODIAN_POLICY = {
    "execution-options": {"account_id": "111122223333"},  # no STS call at start-up
    "policies": [
        {
            "name": "config-recorder-stopped",
            "resource": "aws.config-recorder",
            "mode": {
                "type": "cloudtrail",
                "events": [
                    {
                        "source": "config.amazonaws.com",
                        "event": "StopConfigurationRecorder",
                        "ids": "requestParameters.configurationRecorderName",
                    }
                ],
            },
            "filters": [{"type": "value", "key": "status.recording", "value": False}],
        }
    ],
}

# A default deployment's environment (template.yaml: ResponderFunction Environment with the
# parameter defaults, and a backstop schedule, which is on by default). The topic ARN and
# table name are filled in per run.
DEPLOYED_SETTINGS = {
    "CHECK_RECORDER_STATUS": "true",
    "ENABLED_RULES": "all",
    "MEMBER_ROLE_NAME": "",
    "AUTO_RESTART": "false",
    "REMEDIATION_MODE": "enforce",
    "EXEMPT_PRINCIPAL_ARNS": "",
    "FLAP_WINDOW_MINUTES": "60",
    "REMEDIATION_TIMEOUT_SECONDS": "10",
    "IDEMPOTENCY": "true",
    "BACKSTOP": "true",
    "BACKSTOP_REMINDER_HOURS": "24",
    "EXPECTED_OFF": "",
    "BACKSTOP_REGIONS": "",
    "BACKSTOP_ACCOUNTS": "",
    "POWERTOOLS_SERVICE_NAME": "recorder-guard",
    "POWERTOOLS_METRICS_NAMESPACE": "RecorderGuard",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
# What Lambda itself sets in every function's environment, for both sides.
LAMBDA_ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_NAME": "recorder-guard-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
GOALS = {
    "cold_import_and_clients": 1.05,
    "cold_first_alert": 1.05,
    "warm_per_event": 1.10,
    "peak_rss": 1.05,
}


# ---- pure helpers (unit-tested) -------------------------------------------------------------


def pair_ratios(ours: Sequence[float], floor: Sequence[float]) -> list[float]:
    """The ratio of each A/B pair (A over B)."""
    if len(ours) != len(floor) or not ours:
        raise ValueError("paired measurements need the same, non-zero number of A and B runs")
    return [a / b for a, b in zip(ours, floor, strict=True)]


def spread(values: Sequence[float], digits: int = 1) -> dict[str, float]:
    """Median and range: with few, noisy samples the median is the figure, the range the doubt."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def paired(ours: Sequence[float], floor: Sequence[float], goal: float | None) -> dict[str, Any]:
    """One comparison as results.json records it."""
    ratios = pair_ratios(ours, floor)
    result: dict[str, Any] = {
        "ours": spread(ours),
        "floor": spread(floor),
        "ratio": spread(ratios, 3),
        "pairs": len(ratios),
    }
    if goal is not None:
        result["goal"] = goal
        result["met"] = result["ratio"]["median"] <= goal
    return result


def run_order(index: int, sides: Sequence[str]) -> list[str]:
    """The sides of one round, rotated by the round's index, so running first or last is no
    advantage to any of them (two sides alternate)."""
    shift = index % len(sides)
    return [*sides[shift:], *sides[:shift]]


def top_level(path: Path) -> str:
    """The package a file of the build belongs to (a dist-info folder counts as its package)."""
    first = path.parts[0]
    if first == "__pycache__":
        return path.name.split(".")[0]
    if first.endswith((".dist-info", ".egg-info")):
        return first.split("-")[0].lower()
    return first.removesuffix(".py")


def per_protocol_bytes(request: dict[str, Any]) -> dict[str, Any]:
    """Sizes of one SNS Publish request: the whole, the message, and each protocol's part."""
    message = request["Message"]
    attributes = sum(
        len(name.encode()) + len(value["DataType"]) + len(value["StringValue"].encode())
        for name, value in request.get("MessageAttributes", {}).items()
    )
    result: dict[str, Any] = {
        "message_bytes": len(message.encode()),
        "request_bytes": len(message.encode()) + len(request["Subject"].encode()) + attributes,
    }
    if request.get("MessageStructure") == "json":
        parts = json.loads(message)
        result["protocols"] = {name: len(text.encode()) for name, text in parts.items()}
    return result


REQUIRED_KEYS = {
    "schema": int,
    "measured_at": str,
    "environment": dict,
    "cold_import_and_clients": dict,
    "cold_first_alert": dict,
    "warm_per_event": dict,
    "peak_rss": dict,
    "custodian": dict,
    "package": dict,
    "sns_message": dict,
    "goals": dict,
}


def check_results(results: dict[str, Any]) -> list[str]:
    """What is missing or malformed in a results document (empty: it is well-formed)."""
    problems = [
        f"{key}: expected {kind.__name__}"
        for key, kind in REQUIRED_KEYS.items()
        if not isinstance(results.get(key), kind)
    ]
    if problems:
        return problems
    for key in ("python", "awscrt", "settings", "boto3", "botocore", "compiled"):
        if key not in results["environment"]:
            problems.append(f"environment.{key}: missing")
    for name in GOALS:
        section = results[name]
        for key in ("ours", "floor", "ratio", "pairs", "goal", "met"):
            if key not in section:
                problems.append(f"{name}.{key}: missing")
        goal = results["goals"].get(name)
        if not isinstance(goal, dict) or {"goal", "measured", "met"} - goal.keys():
            problems.append(f"goals.{name}: needs goal, measured and met")
    return problems


# ---- environments ----------------------------------------------------------------------------


def pins(names: Sequence[str]) -> list[str]:
    """The runtime image's pins for `names`, from scripts/local-runtime-requirements.txt."""
    found = {}
    for line in RUNTIME_REQUIREMENTS.read_text().splitlines():
        name, _, version = line.strip().partition("==")
        if version and name in names:
            found[name] = line.strip()
    missing = set(names) - found.keys()
    if missing:
        raise SystemExit(f"{RUNTIME_REQUIREMENTS.name} pins none of {sorted(missing)}")
    return [found[name] for name in names]


def python313() -> str:
    """The Python 3.13 to build venvs from: BENCH_PYTHON, else python3.13 on PATH (pyenv)."""
    return os.environ.get("BENCH_PYTHON", "python3.13")


def make_venv(venv: Path, install: list[list[str]]) -> Path:
    """A venv built from scratch when its recorded recipe changed; returns its python."""
    python = venv / "bin" / "python"
    stamp = venv / "bench-recipe.json"
    recipe = json.dumps(install)
    if python.exists() and stamp.exists() and stamp.read_text() == recipe:
        return python
    subprocess.run([python313(), "-m", "venv", "--clear", str(venv)], check=True)
    for arguments in install:
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *arguments,
            ],
            check=True,
        )
    stamp.write_text(recipe)
    return python


def runtime_python() -> Path:
    """Python 3.13 with only the runtime's boto3 stack: no awscrt, which aws-sam-cli adds."""
    return make_venv(RUNTIME_VENV, [["--no-deps", *pins(RUNTIME_PACKAGES)]])


def custodian_python(install: bool) -> Path | None:
    """Cloud Custodian's venv: None when it is not installed and was not asked for."""
    if not install and not (CUSTODIAN_VENV / "bench-recipe.json").exists():
        return None
    return make_venv(
        CUSTODIAN_VENV,
        [
            ["--no-deps", CUSTODIAN_VERSION],
            ["--no-deps", *pins(RUNTIME_PACKAGES)],
            [*CUSTODIAN_PACKAGES, "-c", str(RUNTIME_REQUIREMENTS)],
        ],
    )


def describe(python: Path) -> dict[str, Any]:
    """The measured environment, as the processes see it."""
    code = (
        "import json, platform, importlib.util as u, boto3, botocore;"
        "print(json.dumps({'python': platform.python_version(), 'boto3': boto3.__version__,"
        " 'botocore': botocore.__version__, 'awscrt': u.find_spec('awscrt') is not None}))"
    )
    shown = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    found: dict[str, Any] = json.loads(shown.stdout)
    return found


# ---- AWS (moto_server) -----------------------------------------------------------------------


@contextmanager
def local_aws() -> Iterator[str]:
    """A moto_server on a free loopback port for this run, stopped at the end."""
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    from tests.sam_local import moto_server, wait_until_ready

    with moto_server("127.0.0.1") as endpoint:
        wait_until_ready(endpoint)
        yield endpoint


def fresh_stack(endpoint: str) -> dict[str, str]:
    """An empty moto with what the template creates; the function's settings for it."""
    import boto3
    from tests.sam_local import reset_moto

    from recorder_guard.local import STATE_TABLE, create_local_stack

    reset_moto(endpoint)
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    topic_arn = create_local_stack(session)
    return {**DEPLOYED_SETTINGS, "ALERT_TOPIC_ARN": topic_arn, "STATE_TABLE_NAME": STATE_TABLE}


# ---- processes -------------------------------------------------------------------------------


def run_probe(
    python: Path, mode: str, endpoint: str, extra: dict[str, str], ours: bool
) -> dict[str, Any]:
    """One fresh process. `cold_ms` runs from just before the spawn to the probe's `ready`
    mark (CLOCK_MONOTONIC is system-wide on Linux), so interpreter exit is not counted:
    a Lambda execution environment does not exit between events."""
    out = ROOT / "bench" / f".probe-{os.getpid()}.json"
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(BUILD if ours else EMPTY),
        "AWS_ENDPOINT_URL": endpoint,
        **LAMBDA_ENVIRONMENT,
        **extra,
    }
    spawned = time.monotonic()
    done = subprocess.run(
        [str(python), "-P", str(PROBE), mode, str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"probe {mode} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    result["cold_ms"] = (result["ready"] - spawned) * 1000
    return result


def record_calls(python: Path, endpoint: str, event: str) -> dict[str, Any]:
    """The AWS calls the function makes for the sample event and for a second, new event."""
    settings = fresh_stack(endpoint)
    recorded = run_probe(
        python,
        "record",
        endpoint,
        {**settings, "BENCH_EVENT": event, "BENCH_WARM_EVENTS": "1"},
        ours=True,
    )
    first = {json.dumps(call["params"]) for call in recorded["calls"]}
    for call in recorded["warm_calls"]:
        key = call["params"].get("Item", call["params"].get("Key", {})).get("pk", {}).get("S")
        # A key the first event did not write is the new event's own (its idempotency record).
        if key and not any(key in text for text in first):
            call["idempotency_key"] = key
    return recorded


def measure_pairs(
    pairs: int,
    run: dict[str, Any],
    custodian: Any,
) -> dict[str, list[dict[str, Any]]]:
    """`pairs` rounds of each A/B comparison, every process fresh, moto reset before each."""
    runs: dict[str, list[dict[str, Any]]] = {
        "clients": [],
        "floor-clients": [],
        "powertools-clients": [],
        "alert": [],
        "floor-alert": [],
        "custodian": [],
    }
    rounds = (
        {"ours": "clients", "floor": "floor-clients", "powertools": "powertools-clients"},
        {"ours": "alert", "floor": "floor-alert"},
    )
    for index in range(pairs):
        for modes in rounds:
            for side in run_order(index, list(modes)):
                mode = modes[side]
                settings = fresh_stack(run["endpoint"])
                extra = {**run["extra"], **(settings if side == "ours" else {})}
                runs[mode].append(
                    run_probe(run["python"], mode, run["endpoint"], extra, side != "floor")
                )
        if custodian is not None:
            fresh_stack(run["endpoint"])
            runs["custodian"].append(
                run_probe(custodian, "custodian", run["endpoint"], run["extra"], ours=False)
            )
        print(f"  pair {index + 1}/{pairs}", file=sys.stderr)
    return runs


# ---- package and message size ----------------------------------------------------------------


def package_size() -> dict[str, Any]:
    """The deployment zip as `sam deploy` would make it, by top-level package."""
    buffer = io.BytesIO()
    sizes: dict[str, int] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(BUILD.rglob("*")):
            if path.is_file():
                before = buffer.tell()
                archive.write(path, path.relative_to(BUILD))
                top = top_level(path.relative_to(BUILD))
                sizes[top] = sizes.get(top, 0) + buffer.tell() - before
    total = len(buffer.getvalue())
    return {
        "zip_bytes": total,
        "zip_mib": round(total / 2**20, 2),
        "by_package": {
            name: {"bytes": size, "share": round(size / total, 3)}
            for name, size in sorted(sizes.items(), key=lambda item: -item[1])
        },
    }


def sns_message_sizes() -> dict[str, Any]:
    """The Publish request each sample event produces, through the local runner."""
    sys.path.insert(0, str(ROOT / "src"))
    from recorder_guard import local

    os.environ.pop("AWS_ENDPOINT_URL", None)
    sizes: dict[str, Any] = {}
    for path in sorted((ROOT / "events").glob("*.json")):
        event = json.loads(path.read_text())
        event_bytes = len(json.dumps(event["detail"]).encode())
        result = local.invoke(event)
        sizes[path.name] = {
            "event_detail_bytes": event_bytes,
            "outcome": result["outcome"],
            **(per_protocol_bytes(result["published"][0]) if result["published"] else {}),
        }
    return sizes


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


# ---- the run ---------------------------------------------------------------------------------


def summarize(runs: dict[str, list[dict[str, Any]]], recorded: dict[str, Any]) -> dict[str, Any]:
    """The paired comparisons from the raw runs."""

    def cold(mode: str) -> list[float]:
        return [run["cold_ms"] for run in runs[mode]]

    def warm(mode: str) -> list[float]:
        return [statistics.median(run["warm_ms"]) for run in runs[mode]]

    def peak(mode: str) -> list[float]:
        return [run["peak_kb"] / 1024 for run in runs[mode]]

    results: dict[str, Any] = {
        "cold_import_and_clients": paired(
            cold("clients"), cold("floor-clients"), GOALS["cold_import_and_clients"]
        ),
        "cold_first_alert": paired(cold("alert"), cold("floor-alert"), GOALS["cold_first_alert"]),
        "warm_per_event": paired(warm("alert"), warm("floor-alert"), GOALS["warm_per_event"]),
        "peak_rss": paired(peak("alert"), peak("floor-alert"), GOALS["peak_rss"]),
    }
    results["cold_import_and_clients"]["unit"] = "ms, spawn to clients created"
    results["cold_import_and_clients"]["import_only_ms"] = spread(
        [run["import_ms"] for run in runs["clients"]]
    )
    results["cold_first_alert"]["unit"] = "ms, spawn to the first invocation's return"
    results["cold_first_alert"]["aws_calls"] = [
        f"{call['service']}.{call['operation']}" for call in recorded["calls"]
    ]
    warm_events = len(runs["alert"][0]["warm_ms"])
    results["warm_per_event"]["unit"] = f"ms per event, median of {warm_events} events per process"
    results["warm_per_event"]["aws_calls"] = [
        f"{call['service']}.{call['operation']}"
        + (" (fails: item exists)" if call["failed"] else "")
        for call in recorded["warm_calls"]
    ]
    results["warm_per_event"]["overhead_ms"] = spread(
        [a - b for a, b in zip(warm("alert"), warm("floor-alert"), strict=True)]
    )
    results["peak_rss"]["unit"] = f"MiB, VmHWM after the first event and {warm_events} more"
    results["powertools_floor"] = {
        "unit": "ms, spawn to clients created; the floor plus importing the Powertools parts"
        " the design requires (Logger, Metrics, idempotency, LambdaContext) and making a"
        " Logger and a Metrics",
        "over_floor": paired(cold("powertools-clients"), cold("floor-clients"), None),
        "ours_over_it": paired(cold("clients"), cold("powertools-clients"), None),
    }
    if runs["custodian"]:
        results["custodian"] = paired(cold("custodian"), cold("clients"), None)
        results["custodian"]["unit"] = (
            "ms; ours = Cloud Custodian's policy Lambda setup, floor = recorder-guard's"
            " import and clients; ratio > 1 means Custodian is slower"
        )
        results["custodian"]["peak_mib"] = spread(peak("custodian"))
    else:
        results["custodian"] = {
            "skipped": "Cloud Custodian is not installed here: `make bench ARGS=--custodian`"
            " installs it into bench/.custodian-venv"
        }
    results["goals"] = {
        name: {
            "goal": goal,
            "measured": results[name]["ratio"]["median"],
            "met": results[name]["met"],
        }
        for name, goal in GOALS.items()
    }
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=15, help="A/B pairs per comparison (15)")
    parser.add_argument(
        "--warm-events", type=int, default=30, help="warm events per process after the first (30)"
    )
    parser.add_argument(
        "--custodian",
        action="store_true",
        help="install Cloud Custodian into bench/.custodian-venv (once) and measure it",
    )
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.warm_events < 1:
        parser.error("--pairs and --warm-events must be at least 1")
    if not (BUILD / "recorder_guard" / "app.py").is_file():
        print("run `make build` first (bench reads the sam build output)", file=sys.stderr)
        return 2
    EMPTY.mkdir(exist_ok=True)
    python = runtime_python()
    custodian = custodian_python(args.custodian)
    event = SAMPLE_EVENT.read_text()
    environment = describe(python)
    environment.update(
        compiled=any(BUILD.joinpath("recorder_guard", "__pycache__").glob("app.*.pyc")),
        settings=DEPLOYED_SETTINGS,
        lambda_environment=LAMBDA_ENVIRONMENT,
        sample_event=SAMPLE_EVENT.name,
        pairs=args.pairs,
        warm_events=args.warm_events,
        machine=f"{platform.platform()}, {os.cpu_count()} CPUs",
        custodian=describe(custodian) | {"c7n": CUSTODIAN_VERSION} if custodian else None,
    )
    print(f"bench: {environment['python']}, awscrt {environment['awscrt']}", file=sys.stderr)
    with local_aws() as endpoint:
        recorded = record_calls(python, endpoint, event)
        services = sorted({call["service"] for call in recorded["calls"]})
        extra = {
            "BENCH_EVENT": event,
            "BENCH_WARM_EVENTS": str(args.warm_events),
            "BENCH_CALLS": json.dumps(recorded["calls"]),
            "BENCH_WARM_CALLS": json.dumps(recorded["warm_calls"]),
            "BENCH_SERVICES": ",".join(services),
            "BENCH_CUSTODIAN_POLICY": json.dumps(CUSTODIAN_POLICY),
        }
        run = {"python": python, "endpoint": endpoint, "extra": extra}
        runs = measure_pairs(args.pairs, run, custodian)
    results: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "make bench"
        + (f" ARGS='{' '.join(argv or sys.argv[1:])}'" if sys.argv[1:] else ""),
        "environment": environment,
        **summarize(runs, recorded),
        "package": package_size(),
        "sns_message": sns_message_sizes(),
        "sam_local_invoke": sam_local_invoke(),
    }
    problems = check_results(results)
    if problems:
        raise SystemExit(f"results.json would be malformed: {problems}")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(render_table(results))
    return 0


# ---- the report ------------------------------------------------------------------------------


def _cell(figures: dict[str, float]) -> str:
    return f"{figures['median']} ({figures['min']}–{figures['max']})"


def render_table(results: dict[str, Any]) -> str:
    """The rows docs/development.md shows, in Markdown."""
    env = results["environment"]
    rows = []
    for name, label in (
        ("cold_import_and_clients", "cold: import + the 3 clients, ms"),
        (
            "cold_first_alert",
            f"cold: import + first alert ({len(results['cold_first_alert']['aws_calls'])}"
            " AWS calls), ms",
        ),
        ("warm_per_event", "warm: per alert, ms"),
        ("peak_rss", "peak RSS, MiB"),
    ):
        section = results[name]
        verdict = "met" if section["met"] else "NOT met"
        rows.append(
            f"| {label} | {_cell(section['ours'])} | {_cell(section['floor'])} |"
            f" {_cell(section['ratio'])}× | ≤ {section['goal']}×: {verdict} |"
        )
    powertools = results.get("powertools_floor")
    if powertools:
        rows.append(
            "| floor + required Powertools (import + clients), ms |"
            f" {_cell(powertools['over_floor']['ours'])} |"
            f" {_cell(powertools['over_floor']['floor'])} |"
            f" {_cell(powertools['over_floor']['ratio'])}× | reference: no goal |"
        )
        rows.append(
            "| recorder-guard over floor + required Powertools, ms |"
            f" {_cell(powertools['ours_over_it']['ours'])} |"
            f" {_cell(powertools['ours_over_it']['floor'])} |"
            f" {_cell(powertools['ours_over_it']['ratio'])}× | reference: no goal |"
        )
    custodian = results["custodian"]
    if "ratio" in custodian:
        rows.append(
            f"| Cloud Custodian policy Lambda setup vs ours (import + clients), ms |"
            f" {_cell(custodian['ours'])} | {_cell(custodian['floor'])} |"
            f" {_cell(custodian['ratio'])}× | Custodian / recorder-guard |"
        )
    package = results["package"]
    largest = ", ".join(
        f"{name} {share['share']:.0%}" for name, share in list(package["by_package"].items())[:3]
    )
    sample = results["sns_message"].get(env["sample_event"], {})
    lines = [
        f"{env['python']} (awscrt {'present' if env['awscrt'] else 'absent'}), boto3"
        f" {env['boto3']}, botocore {env['botocore']}, compiled .pyc: {env['compiled']};"
        f" {env['pairs']} pairs, {env['warm_events']} warm events; {env['machine']}",
        "",
        "| measure | recorder-guard | floor (bare boto3, same calls) | ratio per pair | goal |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"package: {package['zip_mib']} MiB zipped ({largest})",
        f"SNS message for {env['sample_event']}: {sample.get('message_bytes')} bytes"
        f" (detail {sample.get('event_detail_bytes')} bytes); per protocol:"
        f" {sample.get('protocols')}",
    ]
    if "skipped" in custodian:
        lines.append(f"Cloud Custodian: {custodian['skipped']}")
    lines += ["", *render_sam_local(results["sam_local_invoke"])]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
