"""Is the recorder still stopped when the alert leaves? One read-only call, never blocking."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from recorder_guard.aws.errors import error_details
from recorder_guard.domain.recorder import RecorderStatus, not_checked

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

logger = Logger(service="recorder-guard", child=True)


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
        code, message = error_details(error)
        logger.warning("recorder status check failed", extra={"error": message, "error_code": code})
        return not_checked(f"status check failed: {code}")
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
