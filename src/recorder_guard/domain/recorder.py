"""A recorder as the domain sees it: its key, its state, who stopped it, its open episode.

Plain values only (no AWS calls): the adapters in `recorder_guard.aws` produce them and the
flows, notices and renderings read them.
"""

from __future__ import annotations

from typing import Any

from recorder_guard.domain.cloudtrail import CloudTrailRecord
from recorder_guard.domain.limits import clip
from recorder_guard.domain.values import value

NOT_RECORDING = "not recording"
NEVER_STARTED = "never started"
DELIVERY_FAILED = "last delivery failed"
NO_DELIVERY_CHANNEL = "no delivery channel"


@value(order=True)
class RecorderKey:
    """One recorder anywhere in the organization; the episode store's key."""

    account: str
    region: str
    recorder: str

    @property
    def text(self) -> str:
        return f"{self.account}/{self.region}/{self.recorder}"


@value
class RecorderCheck:
    """One recorder as Config describes it now; every string is as AWS returned it."""

    key: RecorderKey
    recording: bool
    last_status: str | None = None
    last_error_code: str | None = None
    last_start_time: str | None = None
    last_stop_time: str | None = None
    has_delivery_channel: bool = True
    account_alias: str | None = None  # read with the member role, for the notice

    @property
    def problems(self) -> tuple[str, ...]:
        """Empty when the recorder records and delivers; otherwise each reason, worst first."""
        found = []
        if not self.recording:
            found.append(NEVER_STARTED if self.last_start_time is None else NOT_RECORDING)
        if not self.has_delivery_channel:
            found.append(NO_DELIVERY_CHANNEL)
        if (self.last_status or "").upper() == "FAILURE":
            code = f" ({self.last_error_code})" if self.last_error_code else ""
            found.append(DELIVERY_FAILED + code)
        return tuple(found)

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def restartable(self) -> bool:
        """StartConfigurationRecorder can fix it: stopped, with somewhere to deliver to."""
        return not self.recording and self.has_delivery_channel


@value
class RegionCheck:
    account: str
    region: str
    recorders: tuple[RecorderCheck, ...] = ()
    error: str | None = None  # why this region could not be read

    @property
    def checked(self) -> bool:
        return self.error is None


@value
class RecorderStatus:
    """What DescribeConfigurationRecorderStatus said, or why we could not ask."""

    recording: bool | None
    name: str | None = None
    last_status: str | None = None
    last_error_code: str | None = None
    last_stop_time: str | None = None
    checked_at: str | None = None
    unavailable_reason: str | None = None

    @property
    def summary(self) -> str:
        if self.recording is True:
            return "recording"
        if self.recording is False:
            return "stopped"
        return f"unknown ({self.unavailable_reason or 'not checked'})"

    def to_ecs(self) -> dict[str, Any]:
        fields = {
            "name": self.name,
            "recording": self.recording,
            "summary": self.summary,
            "last_status": self.last_status,
            "last_error_code": self.last_error_code,
            "last_stop_time": self.last_stop_time,
            "checked_at": self.checked_at,
            "unavailable_reason": self.unavailable_reason,
        }
        return {key: value for key, value in fields.items() if value is not None}


def not_checked(reason: str) -> RecorderStatus:
    return RecorderStatus(recording=None, unavailable_reason=reason)


FIELD_LIMIT = 1024


@value
class Stopper:
    """The successful StopConfigurationRecorder call that matches the recorder's stop."""

    arn: str | None
    issuer_arn: str | None
    display_name: str | None
    identity_type: str | None
    source_ip: str | None
    event_id: str | None
    event_time: str | None

    @property
    def principal_arns(self) -> tuple[str, ...]:
        return tuple(arn for arn in (self.arn, self.issuer_arn) if arn)

    def to_dict(self) -> dict[str, Any]:
        fields = {
            "arn": self.arn,
            "session_issuer_arn": self.issuer_arn,
            "display_name": self.display_name,
            "type": self.identity_type,
            "source_ip": self.source_ip,
            "event_id": self.event_id,
            "event_time": self.event_time,
        }
        return {key: value for key, value in fields.items() if value is not None}


def stopper_from_record(record: CloudTrailRecord) -> Stopper:
    identity = record.user_identity
    issuer = identity.session_issuer

    def short(value: str | None) -> str | None:
        return clip(value, FIELD_LIMIT) if value is not None else None

    return Stopper(
        arn=short(identity.arn),
        issuer_arn=short(issuer.arn if issuer else None),
        display_name=short(identity.display_name),
        identity_type=short(identity.type),
        source_ip=short(record.source_ip),
        event_id=short(record.event_id),
        event_time=short(record.event_time),
    )


BY_EVENT = "event"
BY_BACKSTOP = "backstop"


@value
class Episode:
    key: RecorderKey
    opened_at: int  # epoch seconds
    notified_at: int  # the last alert or reminder
    problem: str
    source: str  # BY_EVENT | BY_BACKSTOP
    event_id: str | None = None  # the CloudTrail event that opened it, if any
    reminders: int = 0
    pending: str | None = None  # a notice decided but not yet confirmed sent (its kind)
    finding: str | None = None  # its Security Hub finding (JSON), to update and resolve it
