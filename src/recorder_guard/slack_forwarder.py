"""The optional Slack webhook forwarder: SNS (the ECS alert) in, Block Kit out.

For teams without AWS Chatbot. The webhook URL lives in Secrets Manager and is never logged.
Slack's 429 and 5xx answers are retried, honouring Retry-After within a bounded wait; a
failure after the retries raises, so Lambda retries the SNS delivery and the dead-letter
queue keeps the alert. Only HTTP 200 with the body `ok` counts as delivered
(https://api.slack.com/messaging/webhooks#handling_errors): a 200 with another body (a
proxy's login page, an HTML error page) and any redirect are failures, retried like a 5xx.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from recorder_guard.domain.values import value
from recorder_guard.render.slack import render_slack
from recorder_guard.settings import SettingsError, slack_webhook_secret_arn

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_secretsmanager import SecretsManagerClient

logger = Logger(service="recorder-guard-slack")
ATTEMPTS = 4
MAX_WAIT_SECONDS = 10.0  # per retry; the function's timeout bounds the total
REQUEST_TIMEOUT_SECONDS = 5.0
SECRET_PERMISSIONS = ("secretsmanager:GetSecretValue",)
BODY_READ_BYTES = 1024  # enough to tell `ok` from a page; a page is never read whole


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not Slack accepting the message: surface it as an HTTPError."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class SlackDeliveryError(RuntimeError):
    """Slack did not accept the message after the retries: raise so it is retried and kept."""


@value
class WebhookResult:
    status: int
    attempts: int


LOOPBACK_PREFIXES = ("http://127.", "http://localhost:", "http://localhost/", "http://[::1]")


def webhook_url_from_secret(secret: str, *, local: bool = False) -> str:
    """The secret holds the URL, or JSON with a `url` (or `webhook_url`) key. Plain http to a
    loopback address only when running locally (tests, `sam local`): deployed, a secret
    pointing at http://127.0.0.1 would send alerts nowhere."""
    value = secret.strip()
    if value.startswith("{"):
        parsed = json.loads(value)
        value = str(parsed.get("url") or parsed.get("webhook_url") or "")
    if value.startswith("https://"):
        return value
    if local and value.startswith(LOOPBACK_PREFIXES):
        return value
    # Never echo the value: it is a credential.
    raise SettingsError("the Slack webhook secret does not hold an https:// URL")


def _retry_after(error: urllib.error.HTTPError, attempt: int) -> float:
    header = error.headers.get("Retry-After") if error.headers else None
    try:
        wait = float(header) if header is not None else 2.0**attempt
    except ValueError:
        wait = 2.0**attempt
    return min(max(wait, 0.0), MAX_WAIT_SECONDS)


def post(
    url: str,
    payload: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = ATTEMPTS,
) -> WebhookResult:
    """POST the payload; retry 429, 5xx and connection errors; raise when it never lands."""
    body = json.dumps(payload).encode()
    last = "no attempt"
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with _OPENER.open(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
                body = response.read(BODY_READ_BYTES)
                if response.status == 200 and body.strip() == b"ok":
                    return WebhookResult(status=response.status, attempts=attempt)
            last = f"HTTP {response.status} with a body other than 'ok'"
            wait = min(2.0**attempt, MAX_WAIT_SECONDS)
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
            redirect = 300 <= error.code < 400
            if error.code != 429 and error.code < 500 and not redirect:
                raise SlackDeliveryError(f"Slack refused the message: {last}") from None
            wait = _retry_after(error, attempt)
        except (urllib.error.URLError, TimeoutError) as error:
            last = type(error).__name__
            wait = min(2.0**attempt, MAX_WAIT_SECONDS)
        if attempt < attempts:
            logger.warning("Slack webhook retry", extra={"attempt": attempt, "reason": last})
            sleep(wait)
    raise SlackDeliveryError(f"Slack did not accept the message after {attempts} attempts: {last}")


@cache
def _secrets_client() -> SecretsManagerClient:
    import boto3  # noqa: PLC0415 - only the forwarder needs it, once

    return boto3.client("secretsmanager")


@cache
def webhook_url(secret_arn: str) -> str:
    """Read once per process; the value is cached, never logged."""
    secret = _secrets_client().get_secret_value(SecretId=secret_arn)["SecretString"]
    return webhook_url_from_secret(secret, local=running_locally())


def running_locally() -> bool:
    """`sam local` sets AWS_SAM_LOCAL=true; a deployed function never has it."""
    return os.environ.get("AWS_SAM_LOCAL") == "true"


def forward(
    event: Mapping[str, Any], url: str, *, sleep: Callable[[float], None] = time.sleep
) -> int:
    """Every SNS record's alert to Slack; returns how many were posted."""
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError("not an SNS event: no Records list")
    for record in records:
        message = record.get("Sns", {}).get("Message") if isinstance(record, Mapping) else None
        if not isinstance(message, str):
            raise ValueError("not an SNS record: no Sns.Message string")
        document = json.loads(message)
        if not isinstance(document, Mapping):
            raise ValueError("the SNS message is not the JSON alert")
        post(url, render_slack(document), sleep=sleep)
    return len(records)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    posted = forward(event, webhook_url(slack_webhook_secret_arn()))
    logger.info("posted to Slack", extra={"messages": posted})
    return {"posted": posted}
