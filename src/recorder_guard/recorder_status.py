"""Is the recorder still stopped when the alert leaves? One read-only call, never blocking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

logger = Logger(service="recorder-guard", child=True)


@dataclass(frozen=True)
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


def read_recorder_status(
    config: ConfigServiceClient, recorder_name: str | None, *, checked_at: str
) -> RecorderStatus:
    """Ask Config (a client for the event's account and region); any failure becomes an
    explained unknown. Without a recorder name (a deleted delivery channel, say) it asks
    about the account's customer-managed recorder, which is what such a call affects."""
    try:
        response = (
            config.describe_configuration_recorder_status(
                ConfigurationRecorderNames=[recorder_name]
            )
            if recorder_name
            else config.describe_configuration_recorder_status()
        )
    except config.exceptions.NoSuchConfigurationRecorderException:
        return not_checked("the recorder no longer exists")
    except Exception as error:  # the alert must go out whatever this call does
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        logger.warning(
            "recorder status check failed", extra={"error": str(error), "error_code": code}
        )
        return not_checked(f"status check failed: {code or type(error).__name__}")
    statuses = response.get("ConfigurationRecordersStatus", [])
    if not statuses:
        return not_checked("the recorder no longer exists" if recorder_name else "no recorder")
    status = statuses[0]
    stop_time = status.get("lastStopTime")
    return RecorderStatus(
        recording=bool(status.get("recording")),
        name=status.get("name"),
        last_status=status.get("lastStatus"),
        last_error_code=status.get("lastErrorCode"),
        last_stop_time=stop_time.isoformat() if stop_time else None,
        checked_at=checked_at,
    )
