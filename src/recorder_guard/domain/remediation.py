"""What a restart may do and what it did: the policy, the target and the result, as values.

The calls themselves live in `recorder_guard.aws.restart`; this module decides, without AWS,
which recorders must never be touched and how a failure is explained to the reader.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from recorder_guard.domain.cloudtrail import is_service_linked_recorder
from recorder_guard.domain.values import value

RESTARTED = "restarted"
ALREADY_RECORDING = "already_recording"
SKIPPED_EXEMPT = "skipped_exempt"
SKIPPED_SERVICE_LINKED = "skipped_service_linked"
SKIPPED_FLAPPING = "skipped_flapping"
SKIPPED_EXPECTED_OFF = "skipped_expected_off"
SKIPPED_ENVELOPE_MISMATCH = "skipped_envelope_mismatch"
DRY_RUN = "dry_run"
FAILED = "failed"
POLL_INTERVAL_SECONDS = 1.0


@value
class RemediationPolicy:
    mode: str  # "enforce" | "dry_run"
    exempt_principal_patterns: tuple[str, ...]
    flap_window_seconds: int
    budget_seconds: float
    state_table: str | None


@value
class RemediationResult:
    outcome: str
    detail: str
    mode: str
    error_code: str | None = None
    escalated: bool = False

    @property
    def restarted(self) -> bool:
        """Restarted and verified recording by us."""
        return self.outcome == RESTARTED

    @property
    def summary(self) -> str:
        return f"{self.outcome}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"outcome": self.outcome, "detail": self.detail, "mode": self.mode}
        if self.error_code:
            result["error_code"] = self.error_code
        if self.escalated:
            result["escalated"] = True
        return result


@value
class Target:
    """The recorder to restart and who stopped it."""

    recorder_name: str | None
    account_id: str | None
    region: str | None
    principal_arns: tuple[str, ...]


def exempt_pattern(policy: RemediationPolicy, principal_arns: tuple[str, ...]) -> str | None:
    """The first exemption pattern that matches the caller's ARN or its session issuer."""
    for pattern in policy.exempt_principal_patterns:
        if any(fnmatchcase(arn, pattern) for arn in principal_arns):
            return pattern
    return None


def declined(target: Target, policy: RemediationPolicy) -> RemediationResult | None:
    """Recorders we must not touch, whatever their state."""
    if is_service_linked_recorder(target.recorder_name):
        return RemediationResult(
            SKIPPED_SERVICE_LINKED,
            "service-linked recorders are managed by their service",
            policy.mode,
        )
    pattern = exempt_pattern(policy, target.principal_arns)
    if pattern:
        return RemediationResult(SKIPPED_EXEMPT, f"caller matches exemption {pattern}", policy.mode)
    return None


EXPLANATIONS = {
    "NoAvailableDeliveryChannelException": "no delivery channel: recreate it, then restart",
    "NoSuchConfigurationRecorderException": "the recorder was deleted: recreate it",
    "AccessDeniedException": "access denied: check the function's IAM and any SCP",
    "AccessDenied": "access denied: check the function's IAM and any SCP",
    "ReadTimeoutError": "AWS Config did not answer within the time budget",
    "ConnectTimeoutError": "could not reach AWS Config within the time budget",
}


def explain(code: str) -> str:
    return EXPLANATIONS.get(code, f"AWS error {code}")
