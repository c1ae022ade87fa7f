"""One measured process for bench.py: run in the runtime-like venv (Python 3.13, boto3 only).

Started fresh for every measurement, so what it does first is a cold start. It needs nothing
but the standard library and boto3 (the function's own code comes from the `sam build`
output on PYTHONPATH); bench.py reads the JSON it writes to the file named on its command line.

Modes (the first argument):
  clients          import the handler module, then the three clients its first event creates
  floor-clients    import boto3, then the same three clients
  powertools-clients
                   the floor plus the Powertools parts the design requires (Logger,
                   Metrics, idempotency, LambdaContext), a Logger and a Metrics made
  alert            import the handler, first invocation of the sample event, then warm events
  floor-alert      import boto3, the same clients, the recorded AWS calls, then warm repeats
  record           one invocation that writes down every AWS call the handler made
  custodian        Cloud Custodian's policy Lambda setup (import, policy loaded, clients)
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

STARTED = time.monotonic()  # CLOCK_MONOTONIC: system-wide on Linux, so bench.py can compare


def peak_kb() -> int:
    """This process's own high-water mark (ru_maxrss would include the parent's on Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class BenchContext:
    """The LambdaContext attributes Powertools reads."""

    function_name = "recorder-guard-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:recorder-guard-bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def warm_event(event: dict[str, Any], index: int) -> dict[str, Any]:
    """The sample event as a new CloudTrail event (its own eventID), so idempotency lets it in."""
    copy = json.loads(json.dumps(event))
    copy["id"] = f"{copy.get('id', 'event')}-warm-{index}"
    copy["detail"]["eventID"] = f"{copy['detail']['eventID']}-warm-{index}"
    return copy


def _clients(services: list[str]) -> list[Any]:
    import boto3

    return [boto3.client(name) for name in services]  # type: ignore[call-overload]


def replay(clients: dict[str, Any], calls: list[dict[str, Any]], suffix: str) -> None:
    """The recorded calls, same operations and parameters; idempotency keys get `suffix` so
    each repeat is a new record, as a new event's would be. Errors the handler met (a
    conditional write that found its item) are met and caught here too."""
    from botocore import xform_name
    from botocore.exceptions import ClientError

    for call in calls:
        params = call["params"]
        if suffix and call.get("idempotency_key"):
            params = json.loads(
                json.dumps(params).replace(
                    call["idempotency_key"], call["idempotency_key"] + suffix
                )
            )
        try:
            getattr(clients[call["service"]], xform_name(call["operation"]))(**params)
        except ClientError:
            if not call.get("failed"):
                raise


def record_calls(calls: list[dict[str, Any]]) -> None:
    """Every API call the default session's clients make, with its parameters as the caller
    passed them and whether AWS answered with an error."""
    import boto3

    def request(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append(
            {
                "service": model.service_model.service_name,
                "operation": model.name,
                "params": json.loads(json.dumps(params)),
                "failed": False,
            }
        )

    def response(http_response: Any, **_: Any) -> None:
        calls[-1]["failed"] = http_response.status_code >= 300

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("provide-client-params", request)
    boto3.DEFAULT_SESSION.events.register("after-call", response)


def run_ours(mode: str, result: dict[str, Any]) -> None:
    """The function: its module imported, then its clients or its first event and more."""
    from recorder_guard import app

    result["import_ms"] = (time.monotonic() - STARTED) * 1000
    if mode == "clients":
        runtime = app.runtime()
        runtime.sns, runtime.config, runtime.dynamodb  # noqa: B018 - created on first use
        result["ready"] = time.monotonic()
        return
    calls: list[dict[str, Any]] = []
    if mode == "record":
        record_calls(calls)
    event = json.loads(os.environ["BENCH_EVENT"])
    before = time.monotonic()
    result["summary"] = app.handler(event, BenchContext())
    result["ready"] = time.monotonic()
    result["first_event_ms"] = (result["ready"] - before) * 1000
    result["calls"], calls[:] = list(calls), []
    warm = []
    for index in range(int(os.environ["BENCH_WARM_EVENTS"])):
        copy = warm_event(event, index)
        before = time.monotonic()
        app.handler(copy, BenchContext())
        warm.append((time.monotonic() - before) * 1000)
    result["warm_ms"] = warm
    result["warm_calls"] = calls


def run_floor(mode: str, result: dict[str, Any]) -> None:
    """boto3 alone: the same clients, then the recorded calls for the first event and more."""
    if mode == "floor-clients":
        _clients(os.environ["BENCH_SERVICES"].split(","))
        result["ready"] = time.monotonic()
        return
    calls = json.loads(os.environ["BENCH_CALLS"])
    services = sorted({call["service"] for call in calls})
    clients = dict(zip(services, _clients(services), strict=True))
    before = time.monotonic()
    replay(clients, calls, "")
    result["ready"] = time.monotonic()
    result["first_event_ms"] = (result["ready"] - before) * 1000
    warm_calls = json.loads(os.environ["BENCH_WARM_CALLS"])
    warm = []
    for index in range(int(os.environ["BENCH_WARM_EVENTS"])):
        before = time.monotonic()
        replay(clients, warm_calls, f"-warm-{index}")
        warm.append((time.monotonic() - before) * 1000)
    result["warm_ms"] = warm


def run_powertools_floor(result: dict[str, Any]) -> None:
    """What any handler built to the design pays before its own code: boto3, the Powertools
    imports DESIGN.md's conventions require, a Logger and a Metrics, the same clients."""
    import boto3  # noqa: F401 - imported first, as the floor does
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: F401
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: F401

    Logger(service="bench")
    Metrics(namespace="Bench", service="bench")
    _clients(os.environ["BENCH_SERVICES"].split(","))
    result["ready"] = time.monotonic()


def main() -> int:
    mode, out = sys.argv[1], sys.argv[2]
    result: dict[str, Any] = {"mode": mode}
    if mode in ("clients", "alert", "record"):
        run_ours(mode, result)
    elif mode in ("floor-clients", "floor-alert"):
        run_floor(mode, result)
    elif mode == "powertools-clients":
        run_powertools_floor(result)
    elif mode == "custodian":
        custodian_setup(json.loads(os.environ["BENCH_CUSTODIAN_POLICY"]))
        _clients(os.environ["BENCH_SERVICES"].split(","))
        result["ready"] = time.monotonic()
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    result["total_ms"] = (time.monotonic() - STARTED) * 1000
    result["peak_kb"] = peak_kb()
    with open(out, "w") as handle:
        json.dump(result, handle)
    return 0


def custodian_setup(policy_data: dict[str, Any]) -> None:
    """What c7n's policy Lambda (`custodian_policy.run` -> c7n.handler.dispatch_event) does on
    a cold start before it looks at the event: import, config, resource types, policies,
    validation. The account id comes from the config, so no STS call is made."""
    from c7n import handler
    from c7n.policy import PolicyCollection
    from c7n.resources import load_resources
    from c7n.structure import StructureParser

    config = handler.init_config(policy_data)
    load_resources(StructureParser().get_resource_types(policy_data))
    for policy in PolicyCollection.from_data(policy_data, config):
        policy.validate()


if __name__ == "__main__":
    sys.exit(main())
