"""Faults on the way to SNS, against a real HTTP server on loopback that speaks SNS's query
protocol: throttling and 5xx (botocore's standard retries, then an error for the
dead-letter path), KMS access denied, timeouts. Each event ends published exactly once, or
raised so Lambda retries it and keeps it, never neither."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from recorder_guard.aws.clients import PUBLISH_CONFIG, PUBLISH_RETRIES, Runtime
from recorder_guard.flows.responder import respond
from recorder_guard.settings import Settings
from tests.conftest import DETECTED_AT
from tests.support import QuietHandler, loopback_server, sample_events

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
TEST_RETRIES = 3
EVENT = sample_events()["stop_recorder_assumed_role.json"]
OK = (
    '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
    "<MessageId>{id}</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId>"
    "</ResponseMetadata></PublishResponse>"
)
ERROR = (
    '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>{kind}</Type>'
    "<Code>{code}</Code><Message>injected</Message></Error><RequestId>r</RequestId>"
    "</ErrorResponse>"
)


@dataclass
class FakeSns:
    """Answers each Publish with the next scripted reply; counts what it accepted."""

    script: list[tuple[str, Any]] = field(default_factory=list)
    attempts: int = 0
    published: list[dict[str, list[str]]] = field(default_factory=list)
    url: str = ""

    def reply(self, form: dict[str, list[str]]) -> tuple[int, str, float]:
        self.attempts += 1
        step: tuple[str, Any] = self.script.pop(0) if self.script else ("ok", None)
        kind, value = step
        if kind == "ok":
            self.published.append(form)
            return 200, OK.format(id=f"m-{len(self.published)}"), 0.0
        if kind == "sleep":
            return 200, OK.format(id="late"), float(value)
        status, code = value
        return status, ERROR.format(kind="Sender" if status < 500 else "Receiver", code=code), 0.0


@pytest.fixture
def fake_sns() -> Iterator[FakeSns]:
    fake = FakeSns()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            status, text, delay = fake.reply(parse_qs(body))
            if delay:
                time.sleep(delay)  # the client has given up: this reply is never read
                return
            self.reply(status, text.encode(), {"Content-Type": "text/xml"})

    with loopback_server(Handler) as url:
        fake.url = url
        yield fake


def runtime(fake: FakeSns) -> Runtime:
    """The production retry mode, with timeouts and attempts small enough for a test (the
    production backoff over 5 attempts can wait 15 s)."""
    client = boto3.client(
        "sns",
        region_name="us-east-1",
        endpoint_url=fake.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=PUBLISH_CONFIG.merge(
            Config(
                read_timeout=0.5,
                connect_timeout=0.5,
                retries={"mode": "standard", "max_attempts": TEST_RETRIES},
            )
        ),
    )
    settings = Settings(alert_topic_arn=TOPIC, check_recorder_status=False)
    return Runtime(settings=settings, _sns=client)


def outcome(fake: FakeSns) -> str:
    """published once, or failed (raised) with nothing published: never neither, never both."""
    try:
        result = respond(EVENT, runtime(fake), now=DETECTED_AT)
    except (ClientError, ReadTimeoutError):
        assert fake.published == []
        return "failed"
    assert result.outcome == "alerted"
    assert len(fake.published) == 1
    assert result.message_id == "m-1"
    return "published"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "Throttling"),
        (400, "ThrottlingException"),
        (500, "InternalError"),
        (503, "ServiceUnavailable"),
    ],
)
def test_transient_errors_are_retried_then_published_once(
    fake_sns: FakeSns, status: int, code: str
) -> None:
    fake_sns.script = [("error", (status, code))] * 2
    assert outcome(fake_sns) == "published"
    assert fake_sns.attempts == 3


def test_persistent_throttling_ends_in_the_failure_path(fake_sns: FakeSns) -> None:
    fake_sns.script = [("error", (400, "Throttling"))] * 10
    assert outcome(fake_sns) == "failed"
    assert fake_sns.attempts == TEST_RETRIES + 1


def test_production_publish_retries_in_standard_mode() -> None:
    # As botocore applies it (it rewrites the Config's dict into total attempts in place).
    client = boto3.client("sns", region_name="us-east-1", config=PUBLISH_CONFIG)
    retries = client.meta.config.retries  # type: ignore[attr-defined]
    assert retries == {"mode": "standard", "total_max_attempts": PUBLISH_RETRIES + 1}
    assert PUBLISH_RETRIES >= 3


def test_kms_access_denied_is_not_retried_and_fails(fake_sns: FakeSns) -> None:
    fake_sns.script = [("error", (400, "KMSAccessDenied"))]
    assert outcome(fake_sns) == "failed"
    assert fake_sns.attempts == 1


def test_a_timeout_is_retried(fake_sns: FakeSns) -> None:
    fake_sns.script = [("sleep", 1.5)]
    assert outcome(fake_sns) == "published"
    assert fake_sns.attempts == 2


def test_the_request_sns_received_is_the_one_we_built(fake_sns: FakeSns) -> None:
    assert outcome(fake_sns) == "published"
    (form,) = fake_sns.published
    assert form["Action"] == ["Publish"]
    assert form["MessageStructure"] == ["json"]
    assert form["Subject"][0].startswith("[HIGH] Config recorder stopped")
