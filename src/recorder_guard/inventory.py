"""What the backstop reads: every customer-managed recorder in one account and region.

Three read-only calls per region. A region that cannot be read (no member role, access
denied, region not enabled) is reported as unchecked, never as healthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recorder_guard.cloudtrail import is_service_linked_recorder

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

# What the check calls, so a test can hold the template's IAM against the code.
INVENTORY_PERMISSIONS = (
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
    "config:DescribeDeliveryChannels",
)
NOT_RECORDING = "not recording"
NEVER_STARTED = "never started"
DELIVERY_FAILED = "last delivery failed"
NO_DELIVERY_CHANNEL = "no delivery channel"


@dataclass(frozen=True, order=True)
class RecorderKey:
    """One recorder anywhere in the organization; the episode store's key."""

    account: str
    region: str
    recorder: str

    @property
    def text(self) -> str:
        return f"{self.account}/{self.region}/{self.recorder}"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class RegionCheck:
    account: str
    region: str
    recorders: tuple[RecorderCheck, ...] = ()
    error: str | None = None  # why this region could not be read

    @property
    def checked(self) -> bool:
        return self.error is None


def _time(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__


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
        statuses = {
            status.get("name"): status
            for status in config.describe_configuration_recorder_status(
                ConfigurationRecorderNames=names
            ).get("ConfigurationRecordersStatus", [])
        }
        has_channel = bool(config.describe_delivery_channels().get("DeliveryChannels"))
    except Exception as error:  # one unreadable region must not stop the others
        return RegionCheck(account, region, error=_error_code(error))
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
