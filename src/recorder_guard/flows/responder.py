"""One event through the flow: parse, detect, enrich, publish. No Lambda specifics here."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from recorder_guard.aws.clients import Reach, Runtime
from recorder_guard.aws.errors import error_code
from recorder_guard.aws.publish import build_publish_request, publish
from recorder_guard.aws.recorder_status import read_recorder_status
from recorder_guard.domain.alert import Alert, build_alert
from recorder_guard.domain.cloudtrail import API_CALL_DETAIL_TYPE, CloudTrailEvent, parse_event
from recorder_guard.domain.detection import Ignored, detect
from recorder_guard.domain.recorder import (
    BY_EVENT,
    NOT_RECORDING,
    Episode,
    RecorderKey,
    not_checked,
)
from recorder_guard.domain.rules import enabled_rules, load_rules
from recorder_guard.domain.selftest import TEST_RULE, TEST_SOURCE
from recorder_guard.domain.values import field, replace, value
from recorder_guard.flows.outputs import FAILED as OUTPUT_FAILED
from recorder_guard.flows.outputs import Delivery, deliver_finding, send_event
from recorder_guard.settings import expected_off_pattern

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

    from recorder_guard.domain.recorder import RecorderStatus
    from recorder_guard.domain.remediation import RemediationResult


@value
class Outcome:
    outcome: str  # "alerted" | "ignored"
    reason: str
    event_id: str | None
    ignored_code: str | None = None
    message_id: str | None = None
    alert: Alert | None = field(default=None, repr=False)
    subject: str | None = None  # only for a test alert, so doctor --send-test can show it
    outputs: dict[str, Delivery] = field(default_factory=dict)  # security_hub, alert_event

    def summary(self) -> dict[str, Any]:
        """What the handler returns: small; event-supplied text only as clipped, quoted reasons."""
        result: dict[str, Any] = {
            "outcome": self.outcome,
            "reason": self.reason,
            "event_id": self.event_id,
        }
        if self.message_id:
            result["message_id"] = self.message_id
        if self.subject:
            result["test"] = True
            result["subject"] = self.subject
        if self.alert:
            result["recorder_state"] = self.alert.recorder_now
            if self.alert.remediation:
                result["remediation"] = self.alert.remediation.to_dict()
        for name, delivery in self.outputs.items():
            result[name] = delivery.status
        return result


logger = Logger(service="recorder-guard", child=True)
PUBLISH_RESERVE_SECONDS = 8.0  # what the publish needs, kept back from remediation's budget
LOOK_BUDGET_SECONDS = 8.0  # AssumeRole (+ alias) and the status read, together
# Time each opt-in output needs (OUTPUT_CONFIG's worst case); one that would not finish before
# the function times out is skipped and counted: a timeout would retry the whole event and
# send its SNS alert twice.
OUTPUT_SECONDS = 8.0
TIME_UP = "skipped: not enough time left in this invocation"


def respond(
    event: object, runtime: Runtime, *, now: datetime, seconds_left: float = 30.0
) -> Outcome:
    """Raises MalformedEventError for a non-EventBridge event and lets publish errors out."""
    deadline = time.monotonic() + seconds_left
    parsed = parse_event(event)
    if parsed.source == TEST_SOURCE:
        return respond_to_test(parsed, runtime, now)
    verdict = detect(parsed, enabled_rules(runtime.settings.enabled_rules))
    if isinstance(verdict, Ignored):
        return Outcome(
            outcome="ignored",
            reason=verdict.reason,
            ignored_code=verdict.code,
            event_id=parsed.record.event_id,
        )
    settings = runtime.settings
    wants_config = (settings.check_recorder_status and verdict.rule.concerns_config) or (
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
            remediation = envelope_mismatch_result(settings.remediation_mode)
        else:
            remediation = restart(
                parsed, runtime, reach.config, reach.reason, deadline - time.monotonic()
            )
    alert = build_alert(
        verdict,
        detected_at=now,
        recorder_status=status,
        remediation=remediation,
        account_alias=reach.account_alias if reach else None,
    )
    request = build_publish_request(alert, runtime.settings.alert_topic_arn)
    message_id = publish(runtime.sns, request)
    outputs, finding = alert_outputs(alert, runtime, deadline)
    if settings.backstop and verdict.rule.restartable and alert.recording_now is not True:
        open_episode(parsed, runtime, now, finding)
    return Outcome(
        outcome="alerted",
        reason=f"{verdict.rule.name} ({verdict.rule.id})",
        event_id=parsed.record.event_id,
        message_id=message_id,
        alert=alert,
        outputs=outputs,
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
    # This account's Config client is made here, not on the worker: loading its service model
    # on a new thread's malloc arena raised the cold start's peak memory by 1.7 MiB
    # (docs/development.md, "Ideas measured").
    runtime.config  # noqa: B018 - created on first use

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


def build_test_alert(parsed: CloudTrailEvent, now: datetime) -> Alert | Ignored:
    """The stopped-recorder alert for `doctor --send-test`'s synthetic record, marked TEST;
    pure, so doctor can show locally what the deployed function publishes."""
    rule = next(rule for rule in load_rules() if rule.key == TEST_RULE)
    verdict = detect(replace(parsed, detail_type=API_CALL_DETAIL_TYPE), (rule,))
    if isinstance(verdict, Ignored):
        return verdict
    alert = build_alert(
        verdict, detected_at=now, recorder_status=not_checked("test alert: no recorder was read")
    )
    return replace(alert, test=True)


def respond_to_test(parsed: CloudTrailEvent, runtime: Runtime, now: datetime) -> Outcome:
    """Publish the TEST alert to the real topic. No recorder is read or restarted, no
    episode opened (and app.py keeps no idempotency record for it)."""
    alert = build_test_alert(parsed, now)
    if isinstance(alert, Ignored):
        return Outcome(
            outcome="ignored",
            reason=f"test event not usable: {alert.reason}",
            ignored_code=alert.code,
            event_id=parsed.record.event_id,
        )
    request = build_publish_request(alert, runtime.settings.alert_topic_arn)
    return Outcome(
        outcome="alerted",
        reason=f"TEST alert ({alert.rule.name})",
        event_id=parsed.record.event_id,
        message_id=publish(runtime.sns, request),
        alert=alert,
        subject=request["Subject"],
    )


def alert_outputs(
    alert: Alert, runtime: Runtime, deadline: float = float("inf")
) -> tuple[dict[str, Delivery], dict[str, Any] | None]:
    """The opt-in outputs, after SNS: the finding (returned too, for the episode) and the
    event, each only with time left to finish it. Modules are imported here: a deployment
    without them never loads them."""
    settings = runtime.settings

    def out_of_time() -> bool:
        return time.monotonic() + OUTPUT_SECONDS > deadline

    outputs: dict[str, Delivery] = {}
    finding = None
    if settings.security_hub_findings and alert.envelope_mismatch:
        # A finding is imported in the account it names (through the member role): never in
        # one that only the payload names.
        outputs["security_hub"] = Delivery(OUTPUT_FAILED, error="envelope mismatch: not imported")
    elif settings.security_hub_findings:
        from recorder_guard.domain.finding import finding_for_alert  # noqa: PLC0415

        try:
            finding = finding_for_alert(alert)
        except ValueError as error:  # FindingTooLargeError: counted like a failed import
            outputs["security_hub"] = Delivery(OUTPUT_FAILED, error=str(error)[:300])
        else:
            if finding is None:
                missing = "the event names no account, region or event id"
                outputs["security_hub"] = Delivery(OUTPUT_FAILED, error=missing)
            elif out_of_time():
                outputs["security_hub"] = Delivery(OUTPUT_FAILED, finding["Id"], TIME_UP)
            else:
                outputs["security_hub"] = deliver_finding(runtime, finding)
    if settings.alert_event_bus and out_of_time():
        outputs["alert_event"] = Delivery(OUTPUT_FAILED, error=TIME_UP)
    elif settings.alert_event_bus:
        from recorder_guard.aws.alert_events import (  # noqa: PLC0415
            ALERT_DETAIL_TYPE,
            alert_documents,
        )

        outputs["alert_event"] = send_event(runtime, alert_documents(alert), ALERT_DETAIL_TYPE)
    return outputs, finding


def _key(event: CloudTrailEvent) -> RecorderKey | None:
    """The stopped recorder, for episodes and ExpectedOff. Account and region come from the
    EventBridge envelope, which AWS sets."""
    name = event.record.recorder_name
    if not name:
        return None
    account, region = event.routing_account, event.routing_region
    if event.envelope_mismatch or account is None or region is None:
        return None  # no episode or exemption keyed on a value the sender chose
    return RecorderKey(account, region, name)


def open_episode(
    event: CloudTrailEvent,
    runtime: Runtime,
    now: datetime,
    finding: dict[str, Any] | None = None,
) -> None:
    """Remember the stop as an open episode, so the backstop reminds and resolves it instead
    of alerting on it again. Best effort: the alert is already out."""
    from recorder_guard.aws.episodes import EpisodeStore  # noqa: PLC0415 - only with a backstop

    settings = runtime.settings
    key = _key(event)
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
        finding=json.dumps(finding, separators=(",", ":")) if finding else None,
    )
    try:
        EpisodeStore(runtime.dynamodb, settings.state_table).open(episode)
    except Exception as error:
        logger.warning("could not open the episode", extra={"error": str(error)})


def envelope_mismatch_result(mode: str) -> RemediationResult:
    """No restart on the word of a payload that contradicts its envelope."""
    from recorder_guard.domain.remediation import (  # noqa: PLC0415
        SKIPPED_ENVELOPE_MISMATCH,
        RemediationResult,
    )

    return RemediationResult(
        SKIPPED_ENVELOPE_MISMATCH,
        "the event's account or region is not the one EventBridge delivered it from:"
        " not restarting anything on its word",
        mode,
    )


def restart(
    event: CloudTrailEvent,
    runtime: Runtime,
    config: ConfigServiceClient | None,
    no_config_reason: str | None,
    seconds_left: float,
) -> RemediationResult:
    """The opt-in restart, inside what is left of the function's time after the publish.
    Imported here: with auto-restart off (the default) a cold start never loads it."""
    from recorder_guard.aws.restart import FlapGuard, remediate_within_budget  # noqa: PLC0415
    from recorder_guard.domain.remediation import (  # noqa: PLC0415
        FAILED,
        SKIPPED_EXPECTED_OFF,
        RemediationPolicy,
        RemediationResult,
        Target,
    )

    settings = runtime.settings
    if config is None:
        return RemediationResult(
            FAILED, no_config_reason or "no Config access", settings.remediation_mode
        )
    key = _key(event) if settings.expected_off else None
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
