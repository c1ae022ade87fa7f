"""One event through the flow: parse, detect, enrich, publish. No Lambda specifics here."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from recorder_guard.aws.clients import Reach, Runtime
from recorder_guard.aws.errors import error_code
from recorder_guard.aws.publish import build_publish_request, publish
from recorder_guard.aws.recorder_status import read_recorder_status
from recorder_guard.aws.restart import FlapGuard, remediate_within_budget
from recorder_guard.domain.alert import Alert, build_alert
from recorder_guard.domain.cloudtrail import CloudTrailEvent, parse_event
from recorder_guard.domain.detection import Ignored, detect
from recorder_guard.domain.recorder import not_checked
from recorder_guard.domain.remediation import (
    FAILED,
    SKIPPED_ENVELOPE_MISMATCH,
    SKIPPED_EXPECTED_OFF,
    RemediationPolicy,
    RemediationResult,
    Target,
)
from recorder_guard.domain.rules import enabled_rules
from recorder_guard.settings import expected_off_pattern

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

    from recorder_guard.domain.recorder import RecorderKey, RecorderStatus


@dataclass(frozen=True)
class Outcome:
    outcome: str  # "alerted" | "ignored"
    reason: str
    event_id: str | None
    ignored_code: str | None = None
    message_id: str | None = None
    alert: Alert | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """What the handler returns: small; event-supplied text only as clipped, quoted reasons."""
        result: dict[str, Any] = {
            "outcome": self.outcome,
            "reason": self.reason,
            "event_id": self.event_id,
        }
        if self.message_id:
            result["message_id"] = self.message_id
        if self.alert:
            result["recorder_state"] = self.alert.recorder_now
            if self.alert.remediation:
                result["remediation"] = self.alert.remediation.to_dict()
        return result


logger = Logger(service="recorder-guard", child=True)
PUBLISH_RESERVE_SECONDS = 8.0  # what the publish needs, kept back from remediation's budget
LOOK_BUDGET_SECONDS = 8.0  # AssumeRole (+ alias) and the status read, together


def respond(
    event: object, runtime: Runtime, *, now: datetime, seconds_left: float = 30.0
) -> Outcome:
    """Raises MalformedEventError for a non-EventBridge event and lets publish errors out."""
    parsed = parse_event(event)
    verdict = detect(parsed, enabled_rules(runtime.settings.enabled_rules))
    if isinstance(verdict, Ignored):
        return Outcome(
            outcome="ignored",
            reason=verdict.reason,
            ignored_code=verdict.code,
            event_id=parsed.record.event_id,
        )
    settings = runtime.settings
    deadline = time.monotonic() + seconds_left
    wants_config = settings.check_recorder_status or (
        settings.auto_restart and verdict.rule.restartable
    )
    reach, status = None, None
    if wants_config:
        _ = runtime.sns  # created here, on this thread, before any worker thread runs
        reach, status = look(
            runtime,
            parsed,
            checked_at=now.isoformat().replace("+00:00", "Z"),
            budget=max(1.0, min(LOOK_BUDGET_SECONDS, seconds_left - PUBLISH_RESERVE_SECONDS)),
        )
    remediation = None
    if settings.auto_restart and verdict.rule.restartable and reach is not None:
        if parsed.envelope_mismatch:
            remediation = RemediationResult(
                SKIPPED_ENVELOPE_MISMATCH,
                "the event's account or region is not the one EventBridge delivered it from:"
                " not restarting anything on its word",
                settings.remediation_mode,
            )
        elif reach.config is None:
            remediation = RemediationResult(
                FAILED, reach.reason or "no Config access", settings.remediation_mode
            )
        else:
            remediation = restart(parsed, runtime, reach.config, deadline - time.monotonic())
    alert = build_alert(
        verdict,
        detected_at=now,
        recorder_status=status,
        remediation=remediation,
        account_alias=reach.account_alias if reach else None,
    )
    request = build_publish_request(alert, runtime.settings.alert_topic_arn)
    message_id = publish(runtime.sns, request)
    if settings.backstop and verdict.rule.restartable and alert.recording_now is not True:
        open_episode(parsed, runtime, now)
    return Outcome(
        outcome="alerted",
        reason=f"{verdict.rule.name} ({verdict.rule.id})",
        event_id=parsed.record.event_id,
        message_id=message_id,
        alert=alert,
    )


def look(
    runtime: Runtime, event: CloudTrailEvent, *, checked_at: str, budget: float
) -> tuple[Reach, RecorderStatus | None]:
    """Config in the event's account and region, and the recorder's status, within `budget`
    seconds: a hung AssumeRole or status read cannot hold the alert. Never raises."""
    account, region = event.routing_account, event.routing_region
    if account is None or region is None:
        reason = "the event names no valid account and region"
        return Reach(None, reason), not_checked(reason)
    check = runtime.settings.check_recorder_status

    def work() -> tuple[Reach, RecorderStatus | None]:
        reach = runtime.reach(account, region)
        if not check:
            return reach, None
        if reach.config is None:
            return reach, not_checked(reach.reason or "no Config access")
        return reach, read_recorder_status(
            reach.config, event.record.recorder_name, checked_at=checked_at
        )

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="look")
    try:
        return pool.submit(work).result(timeout=budget)
    except FutureTimeout:
        reason = f"no answer from AWS within {budget:g} s"
        logger.warning("status check abandoned", extra={"reason": reason})
        return Reach(None, reason), (not_checked(reason) if check else None)
    except Exception as error:  # reach() and the read explain failures; this is a backstop
        code = error_code(error)
        logger.warning("status check failed", extra={"error_code": code})
        reason = f"status check failed: {code}"
        return Reach(None, reason), (not_checked(reason) if check else None)
    finally:
        pool.shutdown(wait=False)


def _key(event: CloudTrailEvent, runtime: Runtime) -> RecorderKey | None:
    """The stopped recorder, for episodes and ExpectedOff. Imported here: neither is on the
    path of an ignored event, so a cold start does not pay for it."""
    from recorder_guard.domain.recorder import RecorderKey  # noqa: PLC0415

    name = event.record.recorder_name
    if not name:
        return None
    account, region = event.routing_account, event.routing_region
    if event.envelope_mismatch or account is None or region is None:
        return None  # no episode or exemption keyed on a value the sender chose
    return RecorderKey(account, region, name)


def open_episode(event: CloudTrailEvent, runtime: Runtime, now: datetime) -> None:
    """Remember the stop as an open episode, so the backstop reminds and resolves it instead
    of alerting on it again. Best effort: the alert is already out."""
    from recorder_guard.aws.episodes import EpisodeStore  # noqa: PLC0415
    from recorder_guard.domain.recorder import (  # noqa: PLC0415
        BY_EVENT,
        NOT_RECORDING,
        Episode,
    )

    settings = runtime.settings
    key = _key(event, runtime)
    if key is None or runtime.dynamodb is None or not settings.state_table:
        return
    if expected_off_pattern(settings.expected_off, key):
        return
    moment = int(now.timestamp())
    episode = Episode(
        key=key,
        opened_at=moment,
        notified_at=moment,
        problem=NOT_RECORDING,
        source=BY_EVENT,
        event_id=event.record.event_id,
    )
    try:
        EpisodeStore(runtime.dynamodb, settings.state_table).open(episode)
    except Exception as error:
        logger.warning("could not open the episode", extra={"error": str(error)})


def restart(
    event: CloudTrailEvent, runtime: Runtime, config: ConfigServiceClient, seconds_left: float
) -> RemediationResult:
    """The opt-in restart, inside what is left of the function's time after the publish."""
    settings = runtime.settings
    key = _key(event, runtime) if settings.expected_off else None
    pattern = expected_off_pattern(settings.expected_off, key) if key else None
    if pattern:
        return RemediationResult(
            SKIPPED_EXPECTED_OFF, f"listed in ExpectedOff ({pattern})", settings.remediation_mode
        )
    budget = max(
        1.0, min(settings.remediation_budget_seconds, seconds_left - PUBLISH_RESERVE_SECONDS)
    )
    policy = RemediationPolicy(
        mode=settings.remediation_mode,
        exempt_principal_patterns=settings.exempt_principal_patterns,
        flap_window_seconds=settings.flap_window_seconds,
        budget_seconds=budget,
        state_table=settings.state_table,
    )
    identity = event.record.user_identity
    issuer = identity.session_issuer
    target = Target(
        recorder_name=event.record.recorder_name,
        account_id=event.routing_account,
        region=event.routing_region,
        principal_arns=tuple(arn for arn in (identity.arn, issuer and issuer.arn) if arn),
    )
    dynamodb = runtime.dynamodb
    flap_guard = (
        FlapGuard(dynamodb, settings.state_table, settings.flap_window_seconds)
        if dynamodb is not None and settings.state_table
        else None
    )
    return remediate_within_budget(target, policy, config, flap_guard)
