"""Opt-in restart of a stopped recorder: restart, verify, report; never fight an operator.

Safe by construction:
- only StartConfigurationRecorder: the recorder's recording group, mode and role are never
  rewritten (a remediation that re-created recorders broke its users' cost controls);
- exempt principals (break-glass, maintenance roles) are alerted on but not remediated;
- service-linked recorders belong to their AWS service and are left alone;
- a recorder stopped again within the flap window after we restarted it is not restarted
  again: the alert escalates instead (state in DynamoDB, claimed with a conditional write so
  concurrent deliveries cannot both restart);
- everything runs inside a time budget, so the alert is published whatever happens here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from recorder_guard.cloudtrail import is_service_linked_recorder

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(service="recorder-guard", child=True)

# What each action calls, so a test can hold the template's IAM against the code.
RESTART_PERMISSIONS = (
    "config:DescribeConfigurationRecorderStatus",
    "config:StartConfigurationRecorder",
)
STATE_PERMISSIONS = ("dynamodb:PutItem", "dynamodb:DeleteItem")

RESTARTED = "restarted"
ALREADY_RECORDING = "already_recording"
SKIPPED_EXEMPT = "skipped_exempt"
SKIPPED_SERVICE_LINKED = "skipped_service_linked"
SKIPPED_FLAPPING = "skipped_flapping"
SKIPPED_EXPECTED_OFF = "skipped_expected_off"
DRY_RUN = "dry_run"
FAILED = "failed"
POLL_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class RemediationPolicy:
    mode: str  # "enforce" | "dry_run"
    exempt_principal_patterns: tuple[str, ...]
    flap_window_seconds: int
    budget_seconds: float
    state_table: str | None


@dataclass(frozen=True)
class RemediationResult:
    outcome: str
    detail: str
    mode: str
    error_code: str | None = None
    escalated: bool = False

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


@dataclass(frozen=True)
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


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__


class Clock:
    """Real time; tests pass a fake one so the bounded wait costs no wall time."""

    def __init__(
        self,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.now, self.sleep, self.wall = now, sleep, wall


def _recording(config: ConfigServiceClient, name: str) -> bool:
    statuses = config.describe_configuration_recorder_status(ConfigurationRecorderNames=[name])[
        "ConfigurationRecordersStatus"
    ]
    return bool(statuses and statuses[0].get("recording"))


class FlapGuard:
    """One DynamoDB item per recorder: when we last restarted it. Expires by TTL."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, window_seconds: int) -> None:
        self.dynamodb, self.table, self.window = dynamodb, table, window_seconds

    @staticmethod
    def key(target: Target) -> str:
        return f"recorder#{target.account_id}#{target.region}#{target.recorder_name}"

    def claim(self, target: Target, now: float) -> str | None:
        """Record a restart atomically; None when one already happened within the window."""
        claim_id = uuid.uuid4().hex
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": self.key(target)},
                    "restarted_at": {"N": str(int(now))},
                    "claim_id": {"S": claim_id},
                    "expires_at": {"N": str(int(now) + 2 * self.window)},
                },
                ConditionExpression="attribute_not_exists(pk) OR restarted_at < :cutoff",
                ExpressionAttributeValues={":cutoff": {"N": str(int(now) - self.window)}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return None
        return claim_id

    def release(self, target: Target, claim_id: str) -> None:
        """A restart that failed is no restart: the next stop may try again."""
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key={"pk": {"S": self.key(target)}},
                ConditionExpression="claim_id = :claim",
                ExpressionAttributeValues={":claim": {"S": claim_id}},
            )
        except Exception as error:
            logger.warning("could not release the restart claim", extra={"error": str(error)})


def remediate(
    target: Target,
    policy: RemediationPolicy,
    config: ConfigServiceClient,
    flap_guard: FlapGuard | None,
    *,
    clock: Clock | None = None,
) -> RemediationResult:
    """Decide, restart and verify within `policy.budget_seconds`; never raises."""
    clock = clock or Clock()
    deadline = clock.now() + policy.budget_seconds
    mode = policy.mode
    declined = _declined(target, policy)
    if declined or not target.recorder_name:
        return declined or RemediationResult(FAILED, "the event names no recorder", mode)
    try:
        return _act(
            target,
            name=target.recorder_name,
            policy=policy,
            config=config,
            flap_guard=flap_guard,
            clock=clock,
            deadline=deadline,
        )
    except Exception as error:  # remediation must never stop the alert
        code = _error_code(error)
        logger.warning("remediation failed", extra={"error": str(error), "error_code": code})
        return RemediationResult(FAILED, _explain(code), mode, error_code=code)


def _act(
    target: Target,
    *,
    name: str,
    policy: RemediationPolicy,
    config: ConfigServiceClient,
    flap_guard: FlapGuard | None,
    clock: Clock,
    deadline: float,
) -> RemediationResult:
    mode = policy.mode
    if _recording(config, name):
        return RemediationResult(ALREADY_RECORDING, "someone already restarted it", mode)
    if mode == "dry_run":
        return RemediationResult(DRY_RUN, f"would restart {name}", mode)
    if flap_guard is None:
        return RemediationResult(FAILED, "no restart-state table is configured", mode)
    claim_id = flap_guard.claim(target, clock.wall())
    if claim_id is None:
        minutes = policy.flap_window_seconds // 60
        return RemediationResult(
            SKIPPED_FLAPPING,
            f"restarted by us within the last {minutes} min and stopped again:"
            " not restarting in a loop, a person must look",
            mode,
            escalated=True,
        )
    try:
        result = _restart_and_verify(config, name, deadline, clock, mode)
    except Exception:
        flap_guard.release(target, claim_id)
        raise
    if result.outcome != RESTARTED:
        flap_guard.release(target, claim_id)
    return result


def _declined(target: Target, policy: RemediationPolicy) -> RemediationResult | None:
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


def _restart_and_verify(
    config: ConfigServiceClient, name: str, deadline: float, clock: Clock, mode: str
) -> RemediationResult:
    config.start_configuration_recorder(ConfigurationRecorderName=name)
    while True:
        if _recording(config, name):
            return RemediationResult(RESTARTED, f"{name} restarted and verified recording", mode)
        if clock.now() + POLL_INTERVAL_SECONDS > deadline:
            return RemediationResult(
                FAILED,
                f"started {name} but it was not recording within the time budget",
                mode,
                error_code="VerificationTimeout",
            )
        clock.sleep(POLL_INTERVAL_SECONDS)


def remediate_within_budget(
    target: Target,
    policy: RemediationPolicy,
    config: ConfigServiceClient,
    flap_guard: FlapGuard | None,
    *,
    clock: Clock | None = None,
) -> RemediationResult:
    """A hard cap on top of remediate()'s own deadline: a hung call cannot hold the alert."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="remediation")
    future = pool.submit(remediate, target, policy, config, flap_guard, clock=clock)
    try:
        return future.result(timeout=policy.budget_seconds + 1)
    except FutureTimeout:
        logger.warning("remediation exceeded its time budget; alerting without waiting")
        return RemediationResult(
            FAILED,
            f"no answer within the {policy.budget_seconds:g} s budget; check the recorder",
            policy.mode,
            error_code="RemediationTimeout",
        )
    finally:
        pool.shutdown(wait=False)


EXPLANATIONS = {
    "NoAvailableDeliveryChannelException": "no delivery channel: recreate it, then restart",
    "NoSuchConfigurationRecorderException": "the recorder was deleted: recreate it",
    "AccessDeniedException": "access denied: check the function's IAM and any SCP",
    "AccessDenied": "access denied: check the function's IAM and any SCP",
    "ReadTimeoutError": "AWS Config did not answer within the time budget",
    "ConnectTimeoutError": "could not reach AWS Config within the time budget",
}


def _explain(code: str) -> str:
    return EXPLANATIONS.get(code, f"AWS error {code}")
