"""The alert as one EventBridge event: the ECS document as `detail`, our own source.

Consumers subscribe with an ordinary event pattern on the bus (see docs/alerts.md). PutEvents
limits, from https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html and
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html: an entry's size
is the UTF-8 bytes of Source, DetailType and Detail (plus Resources, plus 14 bytes for Time,
both unused here), and must stay under 256 KB (newer SDK documentation says 1 MB; we hold the
older, smaller limit, which every region honours). A 200 response can still fail entries one
by one (`FailedEntryCount`): those with a transient code are retried, the rest reported.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from recorder_guard.aws.errors import error_code
from recorder_guard.domain.limits import clip_strings
from recorder_guard.domain.values import replace, value

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

    from recorder_guard.domain.alert import Alert
    from recorder_guard.domain.notice import Notice

EVENTS_PERMISSIONS = ("events:PutEvents",)
SOURCE = "recorder-guard"  # not `aws.`: that prefix is AWS's own services'
ALERT_DETAIL_TYPE = "Recorder Guard Alert"
NOTICE_DETAIL_TYPE = "Recorder Guard Backstop Notice"
ENTRY_MAX_BYTES = 256 * 1024
RETRYABLE = frozenset({"InternalFailure", "ThrottlingException"})
ATTEMPTS = 3
BACKOFF_SECONDS = 0.2


class EventTooLargeError(ValueError):
    """Even the smallest rendition of the document exceeds PutEvents' entry limit."""


@value
class EventResult:
    sent: bool
    event_id: str | None = None
    error: str | None = None
    attempts: int = 1


def entry_size(entry: dict[str, Any]) -> int:
    """PutEvents' own accounting of one entry."""
    fields = (entry.get("Source", ""), entry.get("DetailType", ""), entry.get("Detail", ""))
    size = sum(len(str(value).encode("utf-8")) for value in fields)
    size += sum(len(arn.encode("utf-8")) for arn in entry.get("Resources", []))
    return size + (14 if "Time" in entry else 0)


def _compact(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=True, separators=(",", ":"))


def build_entry(documents: Iterable[dict[str, Any]], bus: str, detail_type: str) -> dict[str, Any]:
    """The first (largest) rendition that fits the entry limit, as one PutEvents entry."""
    for document in documents:
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": _compact(document),
            "EventBusName": bus,
        }
        if entry_size(entry) < ENTRY_MAX_BYTES:
            return entry
    raise EventTooLargeError(f"{detail_type} exceeds {ENTRY_MAX_BYTES} bytes at every size")


def alert_documents(alert: Alert) -> Iterator[dict[str, Any]]:
    """The ECS alert, shrunk level by level exactly as the SNS message is."""
    from recorder_guard.aws.publish import SHRINK_LEVELS  # noqa: PLC0415 - one shrink table

    for level in SHRINK_LEVELS:
        document = alert.to_document(original_limit=level.original_chars)
        original = document["event"].get("original")
        document = clip_strings(document, level.ecs_field_chars)
        if original is not None:
            document["event"]["original"] = original
        yield document


def notice_documents(notice: Notice) -> Iterator[dict[str, Any]]:
    """A backstop notice; a digest lists fewer entries until it fits, as on SNS."""
    while True:
        yield notice.to_document()
        if notice.listed == 0:
            return
        notice = replace(notice, listed=notice.listed // 2)


def put_event(events: EventBridgeClient, entry: dict[str, Any]) -> EventResult:
    """One entry, retried while PutEvents fails it with a transient code. Never raises: the
    SNS alert is out already."""
    reason = "not sent"
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = events.put_events(Entries=[entry])  # type: ignore[list-item]
        except Exception as error:  # botocore already retried throttling and 5xx
            return EventResult(False, error=error_code(error), attempts=attempt)
        (result,) = response.get("Entries") or [{}]
        if not response.get("FailedEntryCount") and result.get("EventId"):
            return EventResult(True, event_id=result["EventId"], attempts=attempt)
        code = str(result.get("ErrorCode") or "Failed")
        reason = f"{code}: {result.get('ErrorMessage', '')}".strip()[:300]
        if code not in RETRYABLE:
            return EventResult(False, error=reason, attempts=attempt)
        if attempt < ATTEMPTS:
            time.sleep(BACKOFF_SECONDS * attempt)
    return EventResult(False, error=reason, attempts=ATTEMPTS)
