"""Re-drive the dead-letter queue: hand each kept event back to the function, once.

The queue holds two shapes: EventBridge's undeliverable events (the event itself) and Lambda's
on-failure records (the event under `requestPayload`). A message is deleted only after the
function accepted its event; anything that fails stays in the queue for the next try. An
on-failure record names the function that failed; one naming another function than the one
being re-driven to is refused and kept (each function has its own queue, but a record sent to
the wrong function would be lost: its handler ignores it and the message would be deleted).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

VISIBILITY_SECONDS = 120  # long enough to invoke; a failure reappears after it


@dataclass
class RedriveReport:
    redriven: list[str] = field(default_factory=list)  # CloudTrail event ids (or message ids)
    failed: list[str] = field(default_factory=list)  # one line each: message id and why
    listed: list[Any] = field(default_factory=list)  # with dry_run: the events, not sent


def original_event(body: str) -> Any:
    """The event a dead-letter message carries, in either of the two shapes."""
    payload = json.loads(body)
    if isinstance(payload, dict) and "requestContext" in payload and "requestPayload" in payload:
        return payload["requestPayload"]
    return payload


def failed_function(body: str) -> str | None:
    """The function an on-failure record names (requestContext.functionArn), or None."""
    payload = json.loads(body)
    context = payload.get("requestContext") if isinstance(payload, dict) else None
    arn = context.get("functionArn") if isinstance(context, dict) else None
    return function_name_of(arn) if isinstance(arn, str) else None


def function_name_of(name_or_arn: str) -> str:
    """`name`, `arn:...:function:name` or `arn:...:function:name:qualifier` -> `name`."""
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn.split(":", 1)[0]


def _label(event: Any, message_id: str) -> str:
    detail = event.get("detail") if isinstance(event, dict) else None
    event_id = detail.get("eventID") if isinstance(detail, dict) else None
    return str(event_id) if isinstance(event_id, str) else f"message {message_id}"


def redrive(
    sqs: SQSClient,
    queue_url: str,
    send: Callable[[Any], None],
    *,
    dry_run: bool = False,
    limit: int | None = None,
    function: str | None = None,
) -> RedriveReport:
    """Drain up to `limit` messages through `send`; each message is seen at most once per run.
    With `function` (what `send` invokes), records that name another function are kept."""
    report = RedriveReport()
    seen: set[str] = set()
    while limit is None or len(seen) < limit:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=VISIBILITY_SECONDS,
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            message_id = message["MessageId"]
            seen.add(message_id)
            try:
                event = original_event(message["Body"])
                named = failed_function(message["Body"])
            except ValueError as error:
                report.failed.append(f"{message_id}: body is not JSON ({error})")
                continue
            if function and named and named != function_name_of(function):
                report.failed.append(
                    f"{message_id}: the record is from function {named[:64]}, not"
                    f" {function_name_of(function)[:64]}: kept (re-drive it to its own function)"
                )
                continue
            if dry_run:
                report.listed.append(event)
                continue
            try:
                send(event)
            except Exception as error:
                report.failed.append(f"{message_id}: {type(error).__name__}: {error}")
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            report.redriven.append(_label(event, message_id))
    return report


def lambda_sender(client: LambdaClient, function_name: str) -> Callable[[Any], None]:
    """Invoke the responder asynchronously, as EventBridge does: its retries and on-failure
    destination apply again."""

    def send(event: Any) -> None:
        response = client.invoke(
            FunctionName=function_name,
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )
        if response.get("StatusCode") != 202:
            raise RuntimeError(f"Lambda answered {response.get('StatusCode')}, expected 202")

    return send
