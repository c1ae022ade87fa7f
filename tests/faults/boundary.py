"""Faults raised at the botocore boundary: a `before-call.<service>.<Operation>` hook on one
client raises a real botocore exception for one operation, before the request is sent (so
botocore's own retries are not involved and no wall time passes). Our code is never patched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

URL = "https://injected.fault.invalid"


def client_error(code: str, status: int = 400) -> Callable[[str], BaseException]:
    def make(operation: str) -> BaseException:
        response: Any = {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return ClientError(response, operation)

    return make


# name -> factory(operation name) -> exception, as botocore raises them.
FAULTS: dict[str, Callable[[str], BaseException]] = {
    "ReadTimeoutError": lambda _: ReadTimeoutError(endpoint_url=URL),
    "ConnectTimeoutError": lambda _: ConnectTimeoutError(endpoint_url=URL),
    "EndpointConnectionError": lambda _: EndpointConnectionError(endpoint_url=URL),
    "ConnectionClosedError": lambda _: ConnectionClosedError(endpoint_url=URL),
    "Throttling": client_error("ThrottlingException"),
    "AccessDenied": client_error("AccessDenied", 403),
    "InternalError": client_error("InternalFailure", 500),
}


@dataclass
class Injection:
    """How often the operation was called, and how many of those calls failed."""

    calls: int = 0
    raised: int = 0
    errors: list[str] = field(default_factory=list)


@contextmanager
def inject(
    client: Any,
    operation: str,
    fault: str | Callable[[str], BaseException] | None,
    *,
    times: int | None = None,
    before: Callable[[], None] | None = None,
) -> Iterator[Injection]:
    """Every call of `operation` on `client` raises `fault` (the first `times` calls only, when
    given); `before` runs first on every call (a concurrent delivery, say). `fault=None` only
    counts calls."""
    seen = Injection()
    make = FAULTS[fault] if isinstance(fault, str) else fault
    service = client.meta.service_model.service_id.hyphenize()
    event = f"before-call.{service}.{operation}"

    def hook(**_: Any) -> None:
        seen.calls += 1
        if before is not None:
            before()
        if make is not None and (times is None or seen.raised < times):
            seen.raised += 1
            error = make(operation)
            seen.errors.append(type(error).__name__)
            raise error

    client.meta.events.register(event, hook, unique_id=f"fault-{id(seen)}")
    try:
        yield seen
    finally:
        client.meta.events.unregister(event, unique_id=f"fault-{id(seen)}")


def metrics_in(output: str) -> dict[str, float]:
    """The EMF metrics Powertools printed (one JSON object per line), summed by name."""
    found: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                total = sum(values) if isinstance(values, list) else values
                found[metric["Name"]] = found.get(metric["Name"], 0) + total
    return found
