"""The Slack forwarder against a real HTTP server on loopback that answers the way proxies,
captive portals and misconfigured webhooks do: only HTTP 200 with the body `ok` is delivered;
anything else is retried, then raised so the SNS delivery is retried and kept."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from recorder_guard.slack_forwarder import SlackDeliveryError, post
from tests.support import QuietHandler, loopback_server

PAYLOAD = {"text": "alert"}
LOGIN_PAGE = b"<html><body>Please sign in to continue</body></html>"


@dataclass
class Webhook:
    """Answers each POST with the next (status, body, headers); then 200 ok."""

    script: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    posts: int = 0
    gets: int = 0
    url: str = ""


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    fake = Webhook()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            fake.posts += 1
            status, body, headers = fake.script.pop(0) if fake.script else (200, b"ok", {})
            self.reply(status, body, headers)

        def do_GET(self) -> None:  # where a followed redirect would land
            fake.gets += 1
            self.reply(200, b"ok")

    with loopback_server(Handler) as url:
        fake.url = f"{url}/services/T000/B000/secret"
        yield fake


def no_sleep(_: float) -> None:
    """Retries without wall time."""


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (200, LOGIN_PAGE, {"Content-Type": "text/html"}),
        (200, b"", {}),
        (200, b"invalid_payload", {}),
        (302, b"", {"Location": "/login"}),
        (301, b"", {"Location": "/moved"}),
        (307, b"", {"Location": "/elsewhere"}),
    ],
)
def test_anything_but_200_ok_is_retried_then_raised(
    webhook: Webhook, status: int, body: bytes, headers: dict[str, str]
) -> None:
    webhook.script = [(status, body, headers)] * 4
    with pytest.raises(SlackDeliveryError, match=f"HTTP {status}"):
        post(webhook.url, PAYLOAD, sleep=no_sleep, attempts=4)
    assert webhook.posts == 4
    assert webhook.gets == 0  # a redirect is never followed to a page that says "ok"


def test_a_login_page_once_then_ok_is_delivered_on_the_retry(webhook: Webhook) -> None:
    webhook.script = [(200, LOGIN_PAGE, {})]
    result = post(webhook.url, PAYLOAD, sleep=no_sleep)
    assert (result.status, result.attempts) == (200, 2)


def test_ok_with_a_trailing_newline_is_delivered(webhook: Webhook) -> None:
    webhook.script = [(200, b"ok\n", {})]
    assert post(webhook.url, PAYLOAD, sleep=no_sleep).attempts == 1
