"""Exactly one alert per CloudTrail event: Powertools idempotency keyed on the eventID.

EventBridge delivers at least once and Lambda retries: a second delivery of an event that
was already handled returns the stored summary (marked `duplicate`) and publishes nothing.
A failure before the summary is stored deletes the in-progress record, so the retry runs.
The records share the state table with the restart claims (key `pk`, TTL `expires_at`).

The store fails open: it exists to avoid duplicates, and must never cost the alert itself.
- The in-progress record cannot be written or read (error, timeout): publish anyway.
- The completed record cannot be written after SNS accepted the alert: the invocation still
  succeeds (failing would make Lambda retry, and the retry would publish again).
- Another delivery holds the in-progress record: this one publishes nothing and succeeds;
  the holder publishes, or fails and is retried by Lambda (its record is deleted, or expires
  with its invocation), so the event is never left without an owner.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)

from recorder_guard.aws.errors import error_code
from recorder_guard.domain.values import field, value

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


@lru_cache(maxsize=4)
def _store(
    dynamodb: DynamoDBClient, table: str
) -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
    """The persistence layer and its settings, once per client and table: Powertools adds a
    User-Agent hook to the client for every persistence layer built, so one built per event
    made each request of a warm function run one more hook than the last."""
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
    return persistence, config


def make_idempotent(
    process: Process, dynamodb: DynamoDBClient, table: str, context: LambdaContext | None
) -> Process:
    """`process(event=...)` wrapped so each eventID runs once; other arguments pass through."""
    persistence, config = _store(dynamodb, table)
    # This invocation's deadline bounds its in-progress record (none without a context).
    config.lambda_context = context
    wrapped: Process = idempotent_function(
        process, data_keyword_argument="event", persistence_store=persistence, config=config
    )
    return wrapped


UNAVAILABLE = "unavailable"  # the store failed before the alert: published without it
NOT_COMPLETED = "not_completed"  # published, but the completed record was not stored
IN_FLIGHT = "in_flight"  # another delivery of this event holds the record


@value(frozen=False)
class Attempt:
    """What the wrapped process did, seen from outside Powertools' wrapper."""

    ran: bool = False
    summary: dict[str, Any] | None = None
    error: BaseException | None = field(default=None, repr=False)


@value
class Handled:
    summary: dict[str, Any]
    store_problem: str | None = None  # UNAVAILABLE | NOT_COMPLETED | IN_FLIGHT
    store_error: str | None = None  # the store's error code, for the log


def run_once(
    process: Process,
    dynamodb: DynamoDBClient,
    table: str,
    context: LambdaContext | None,
    **arguments: Any,
) -> Handled:
    """`process(**arguments)` at most once per eventID while the store works, and exactly
    once (or raising, for Lambda to retry and keep) when it does not. Errors of `process`
    itself propagate unchanged."""
    attempt = Attempt()

    def observed(**kwargs: Any) -> dict[str, Any]:
        attempt.ran = True
        try:
            attempt.summary = process(**kwargs)
        except BaseException as error:
            attempt.error = error
            raise
        return attempt.summary

    observed.__qualname__ = getattr(process, "__qualname__", "process")  # the record's key
    observed.__module__ = getattr(process, "__module__", __name__)
    try:
        summary = make_idempotent(observed, dynamodb, table, context)(**arguments)
    except IdempotencyAlreadyInProgressError:
        event = arguments.get("event")
        return Handled(
            {"outcome": "duplicate_in_flight", "event_id": event_id(event), "duplicate": True},
            IN_FLIGHT,
        )
    except IdempotencyPersistenceLayerError as error:
        cause = error.__cause__ or error
        if attempt.error is not None:
            raise attempt.error from None  # the publish failed: retry and keep, as without a store
        if attempt.ran and attempt.summary is not None:
            return Handled(attempt.summary, NOT_COMPLETED, error_code(cause))
        return Handled(process(**arguments), UNAVAILABLE, error_code(cause))
    return Handled(summary)
