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
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from recorder_guard.aws.errors import error_code
from recorder_guard.domain.remediation import (
    ALREADY_RECORDING,
    DRY_RUN,
    FAILED,
    RESTARTED,
    SKIPPED_FLAPPING,
    RemediationPolicy,
    RemediationResult,
    Target,
    declined,
    explain,
)

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

POLL_INTERVAL_SECONDS = 1.0


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
    refusal = declined(target, policy)
    if refusal or not target.recorder_name:
        return refusal or RemediationResult(FAILED, "the event names no recorder", mode)
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
        code = error_code(error)
        logger.warning("remediation failed", extra={"error": str(error), "error_code": code})
        return RemediationResult(FAILED, explain(code), mode, error_code=code)


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
