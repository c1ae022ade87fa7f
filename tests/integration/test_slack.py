"""The Slack webhook forwarder, from the user's side: an alert arrives over SNS, a Block Kit
message reaches a real HTTP server on loopback that records requests and can answer 429
and 500 like Slack does."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from recorder_guard import slack_forwarder
from recorder_guard.aws.publish import build_notice_request, build_publish_request
from recorder_guard.domain.notice import RESOLVED, build_notice
from recorder_guard.domain.recorder import BY_BACKSTOP, Episode, RecorderCheck, RecorderKey
from recorder_guard.domain.rules import scheduled_rule
from recorder_guard.local import LocalContext
from recorder_guard.render.slack import FIELD_MAX, FIELDS_MAX, HEADER_MAX, SECTION_MAX, render_slack
from recorder_guard.slack_forwarder import (
    SlackDeliveryError,
    forward,
    post,
    webhook_url_from_secret,
)
from tests.conftest import alert_for
from tests.support import QuietHandler, loopback_server, sample_events, sns_delivers

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def lambda_rendition(name: str) -> str:
    """What SNS hands the forwarder, a Lambda subscription: the message's `default`."""
    request = build_publish_request(alert_for(sample_events()[name]), TOPIC)
    return sns_delivers(json.loads(request["Message"]), "lambda")


def sns_event(message: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "Sns": {"Type": "Notification", "TopicArn": TOPIC, "Message": message},
            }
        ]
    }


@dataclass
class FakeSlack:
    """Records every request; answers from a script of (status, headers), then 200 ok."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            fake.requests.append(
                {"path": self.path, "type": self.headers["Content-Type"], "body": json.loads(body)}
            )
            status, headers = fake.script.pop(0) if fake.script else (200, {})
            payload = b"ok" if status == 200 else b"rate_limited" if status == 429 else b"error"
            self.reply(status, payload, headers)

    with loopback_server(Handler) as url:
        fake.url = f"{url}/services/T000/B000/secret-token"
        yield fake


def test_an_alert_becomes_one_block_kit_message(slack: FakeSlack) -> None:
    sleeps: list[float] = []
    assert (
        forward(
            sns_event(lambda_rendition("stop_recorder_assumed_role.json")),
            slack.url,
            sleep=sleeps.append,
        )
        == 1
    )
    (request,) = slack.requests
    assert request["type"] == "application/json"
    message = request["body"]
    blocks = message["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "🟠 AWS Configuration Recorder Stopped",
            "emoji": True,
        },
    }
    text = json.dumps(message)
    for expected in (
        "`PlatformAdmin/jane.doe`",
        "`111122223333`",
        "`203.0.113.24`",
        "T1562.001",
        "*Next steps*",
    ):
        assert expected in text
    assert "high (risk score 73)" in text
    assert sleeps == []


def test_limits_hold(slack: FakeSlack) -> None:
    for name in ("stop_recorder_hostile_user_agent.json", "put_recorder_exclude_iam_types.json"):
        message = render_slack(json.loads(lambda_rendition(name)))
        assert len(message["blocks"]) <= 50
        for block in message["blocks"]:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= HEADER_MAX
            if block["type"] == "section" and "text" in block:
                assert len(block["text"]["text"]) <= SECTION_MAX
            if "fields" in block:
                assert len(block["fields"]) <= FIELDS_MAX
                assert all(len(f["text"]) <= FIELD_MAX for f in block["fields"])


def test_hostile_values_cannot_link_mention_or_format(slack: FakeSlack) -> None:
    message = render_slack(json.loads(lambda_rendition("stop_recorder_hostile_user_agent.json")))
    text = json.dumps(message)
    assert "<https://evil.example" not in text
    assert "&lt;https://evil.example/login|Click to re-authenticate&gt;" in text
    assert "<!" not in text
    assert "<@" not in text
    for block in message["blocks"]:
        for item in block.get("fields", []):
            if item["text"].startswith("*User agent*"):
                assert item["text"].count("`") == 2


def test_429_is_retried_after_the_time_slack_asks(slack: FakeSlack) -> None:
    slack.script = [(429, {"Retry-After": "3"})]
    sleeps: list[float] = []
    result = post(slack.url, {"text": "x"}, sleep=sleeps.append)
    assert (result.status, result.attempts) == (200, 2)
    assert sleeps == [3.0]
    assert len(slack.requests) == 2


def test_5xx_is_retried_then_raises_so_the_alert_is_kept(slack: FakeSlack) -> None:
    slack.script = [(500, {})] * 10
    sleeps: list[float] = []
    with pytest.raises(SlackDeliveryError, match="after 4 attempts: HTTP 500"):
        post(slack.url, {"text": "x"}, sleep=sleeps.append)
    assert len(slack.requests) == 4
    assert sleeps == [2.0, 4.0, 8.0]


def test_a_huge_retry_after_is_capped(slack: FakeSlack) -> None:
    slack.script = [(429, {"Retry-After": "3600"})]
    sleeps: list[float] = []
    post(slack.url, {"text": "x"}, sleep=sleeps.append)
    assert sleeps == [10.0]


def test_a_client_error_is_not_retried(slack: FakeSlack) -> None:
    slack.script = [(404, {})]
    with pytest.raises(SlackDeliveryError, match="HTTP 404"):
        post(slack.url, {"text": "x"}, sleep=lambda _: None)
    assert len(slack.requests) == 1


def test_the_webhook_url_is_never_logged(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack.script = [(503, {})] * 4
    with caplog.at_level(logging.DEBUG), pytest.raises(SlackDeliveryError) as raised:
        post(slack.url, {"text": "x"}, sleep=lambda _: None)
    assert "secret-token" not in caplog.text
    assert "secret-token" not in str(raised.value)


def test_a_loopback_webhook_only_when_running_locally() -> None:
    """Deployed, a secret pointing at plain http on loopback would post alerts nowhere."""
    for url in ("http://127.0.0.1:8080/x", "http://localhost:9/x", "http://[::1]:9/x"):
        assert webhook_url_from_secret(url, local=True) == url
        with pytest.raises(ValueError, match="does not hold an https:// URL"):
            webhook_url_from_secret(url)
    with pytest.raises(ValueError, match="does not hold an https:// URL"):
        webhook_url_from_secret("http://localhost.evil.example/x", local=True)


@pytest.mark.parametrize(
    ("secret", "ok"),
    [
        ("https://hooks.slack.com/services/T/B/x", True),
        ('{"url": "https://hooks.slack.com/services/T/B/x"}', True),
        ("ftp://example.com/x", False),
        ('{"token": "x"}', False),
    ],
)
def test_secret_formats(secret: str, ok: bool) -> None:
    if ok:
        assert webhook_url_from_secret(secret).startswith("https://hooks.slack.com/")
    else:
        with pytest.raises(ValueError, match="does not hold an https:// URL") as raised:
            webhook_url_from_secret(secret)
        assert "example.com" not in str(raised.value)


@pytest.mark.parametrize("customer_key", [False, True], ids=["aws-managed-key", "customer-key"])
def test_the_lambda_handler_reads_the_secret_and_posts(
    slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, customer_key: bool
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")  # the fake Slack is plain http on loopback
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        if customer_key:  # the template grants kms:Decrypt via Secrets Manager for this case
            kms = boto3.client("kms", region_name="us-east-1")
            key = kms.create_key()["KeyMetadata"]["Arn"]
            arn = secrets.create_secret(Name="slack-webhook", SecretString=slack.url, KmsKeyId=key)[
                "ARN"
            ]
        else:
            arn = secrets.create_secret(Name="slack-webhook", SecretString=slack.url)["ARN"]
        monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", arn)
        slack_forwarder._secrets_client.cache_clear()
        slack_forwarder.webhook_url.cache_clear()
        result = slack_forwarder.handler(
            sns_event(lambda_rendition("delete_delivery_channel_assumed_role.json")),
            LocalContext(),  # type: ignore[arg-type]
        )
        slack_forwarder._secrets_client.cache_clear()
        slack_forwarder.webhook_url.cache_clear()
    assert result == {"posted": 1}
    (request,) = slack.requests
    assert request["path"] == "/services/T000/B000/secret-token"
    assert request["body"]["blocks"][0]["text"]["text"] == "🟡 AWS Config Resource Deletion"


def test_a_backstop_notice_reaches_slack_with_the_recorder_not_a_caller(slack: FakeSlack) -> None:
    key = RecorderKey("111122223333", "us-east-1", "default <!channel>")
    opened = 1_764_396_000
    notice = build_notice(
        RESOLVED,
        scheduled_rule("recorder_not_recording"),
        partition="aws",
        detected_at=datetime.fromtimestamp(opened + 5400, UTC),
        check=RecorderCheck(key, recording=True, last_start_time="2026-11-29T07:30:00+00:00"),
        episode=Episode(key, opened, opened, "not recording", BY_BACKSTOP),
    )
    rendition = sns_delivers(json.loads(build_notice_request(notice, TOPIC)["Message"]), "lambda")
    assert forward(sns_event(rendition), slack.url, sleep=lambda _: None) == 1
    message = slack.requests[0]["body"]
    assert message["blocks"][0]["text"]["text"] == "🟢 Resolved: AWS Config Recorder Not Recording"
    text = json.dumps(message, ensure_ascii=False)
    assert "Recording again after 1 h 30 min" in text
    assert "*Episode opened*" in text
    assert "Actor" not in text
    assert "<!channel>" not in text
