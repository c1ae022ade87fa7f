"""Exactly one alert per CloudTrail event: Powertools idempotency keyed on the eventID.

EventBridge delivers at least once and Lambda retries: a second delivery of an event that
was already handled returns the stored summary (marked `duplicate`) and publishes nothing.
A failure before the summary is stored deletes the in-progress record, so the retry runs.
The records share the state table with the restart claims (key `pk`, TTL `expires_at`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

# What the persistence layer calls, so a test can hold the template's IAM against it.
IDEMPOTENCY_PERMISSIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
RECORD_TTL_SECONDS = 24 * 3600  # EventBridge retries for up to 24 hours

Process = Callable[..., dict[str, Any]]


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    if isinstance(response, dict):
        return {**response, "duplicate": True}
    return response


def event_id(event: Any) -> str | None:
    """The CloudTrail eventID, when the event has one to key on."""
    detail = event.get("detail") if isinstance(event, dict) else None
    value = detail.get("eventID") if isinstance(detail, dict) else None
    return value if isinstance(value, str) and value else None


def make_idempotent(
    process: Process, dynamodb: DynamoDBClient, table: str, context: LambdaContext | None
) -> Process:
    """`process(event=...)` wrapped so each eventID runs once; other arguments pass through."""
    persistence = DynamoDBPersistenceLayer(
        table_name=table, key_attr="pk", expiry_attr="expires_at", boto3_client=dynamodb
    )
    config = IdempotencyConfig(
        # eventID is unique per CloudTrail event; the rest guards against reused test ids.
        event_key_jmespath=(
            "[detail.eventID, detail.eventName, detail.errorCode, detail.recipientAccountId,"
            " detail.awsRegion]"
        ),
        raise_on_no_idempotency_key=False,  # no eventID: still alert, just without dedup
        expires_after_seconds=RECORD_TTL_SECONDS,
        response_hook=_mark_duplicate,
    )
    if context is not None:
        config.register_lambda_context(context)
    wrapped: Process = idempotent_function(
        process, data_keyword_argument="event", persistence_store=persistence, config=config
    )
    return wrapped
