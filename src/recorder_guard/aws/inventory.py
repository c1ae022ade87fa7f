"""What the backstop reads: every customer-managed recorder in one account and region.

Three read-only calls per region. A region that cannot be read (no member role, access
denied, region not enabled) is reported as unchecked, never as healthy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recorder_guard.aws.errors import error_code
from recorder_guard.domain.cloudtrail import is_service_linked_recorder
from recorder_guard.domain.recorder import RecorderCheck, RecorderKey, RegionCheck

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

# What the check calls, so a test can hold the template's IAM against the code.
INVENTORY_PERMISSIONS = (
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
    "config:DescribeDeliveryChannels",
)


def _time(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None


def check_region(
    config: ConfigServiceClient, account: str, region: str, alias: str | None = None
) -> RegionCheck:
    """Never raises: a failure becomes an unchecked region that says why."""
    try:
        recorders = [
            recorder
            for recorder in config.describe_configuration_recorders().get(
                "ConfigurationRecorders", []
            )
            if not recorder.get("servicePrincipal")
            and not is_service_linked_recorder(recorder.get("name"))
        ]
        if not recorders:
            return RegionCheck(account, region)
        names = [str(recorder.get("name")) for recorder in recorders]
        # The API takes one recorder name per call (API_DescribeConfigurationRecorderStatus:
        # ConfigurationRecorderNames, "Array Members: Maximum number of 1 item").
        statuses = {
            status.get("name"): status
            for name in names
            for status in config.describe_configuration_recorder_status(
                ConfigurationRecorderNames=[name]
            ).get("ConfigurationRecordersStatus", [])
        }
        has_channel = bool(config.describe_delivery_channels().get("DeliveryChannels"))
    except Exception as error:  # one unreadable region must not stop the others
        return RegionCheck(account, region, error=error_code(error))
    checks = []
    for name in names:
        status: Any = statuses.get(name, {})
        checks.append(
            RecorderCheck(
                key=RecorderKey(account, region, name),
                recording=bool(status.get("recording")),
                last_status=status.get("lastStatus"),
                last_error_code=status.get("lastErrorCode"),
                last_start_time=_time(status.get("lastStartTime")),
                last_stop_time=_time(status.get("lastStopTime")),
                has_delivery_channel=has_channel,
                account_alias=alias,
            )
        )
    return RegionCheck(account, region, tuple(checks))
