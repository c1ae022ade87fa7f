"""The scheduled backstop: find recorders that are not recording, whatever stopped them.

Events are not the only way a recorder ends up off: infrastructure code can recreate it and
never start it, an event can be missed, the responder can be disabled. Every run reads each
account and region, compares with the open episodes, and publishes only what changed: a new
episode's alert, a reminder when one is due, "recording again" when it is over, and once a
day a digest of what is expected to be off and of regions it could not read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from recorder_guard.aws.clients import STATUS_CHECK_CONFIG, Runtime, worst_case_seconds
from recorder_guard.aws.episodes import EpisodeStore
from recorder_guard.aws.errors import error_code
from recorder_guard.aws.inventory import check_region
from recorder_guard.aws.publish import build_notice_request, publish
from recorder_guard.aws.restart import FlapGuard, remediate_within_budget
from recorder_guard.aws.stopper import find_stopper
from recorder_guard.domain.notice import (
    DIGEST,
    GONE,
    OPENED,
    REMINDER,
    RESOLVED,
    ExpectedOff,
    Notice,
    build_notice,
)
from recorder_guard.domain.recorder import (
    BY_BACKSTOP,
    Episode,
    RecorderCheck,
    RecorderKey,
    RegionCheck,
    Stopper,
)
from recorder_guard.domain.remediation import (
    RESTARTED,
    RemediationPolicy,
    RemediationResult,
    Target,
)
from recorder_guard.domain.rules import Rule, scheduled_rule
from recorder_guard.domain.values import field, value
from recorder_guard.flows.outputs import FAILED, Delivery, deliver_finding, send_event
from recorder_guard.settings import expected_off_pattern

logger = Logger(service="recorder-guard", child=True)
RULE_KEY = "recorder_not_recording"
DIGEST_INTERVAL_SECONDS = 24 * 3600
WORKERS = 16  # accounts read in parallel; each account's regions one after another
ORGANIZATIONS_PERMISSIONS = ("organizations:ListAccounts",)


def act_reserve_seconds(runtime: Runtime) -> float:
    """The longest one decision can take once started: claim the episode, ask CloudTrail who
    stopped it, restart within the budget, publish, and record that it was sent; each call
    at its clients' worst case. Acting stops this long before the function's timeout."""
    state = worst_case_seconds(runtime.state_config)
    return (
        2 * state
        + worst_case_seconds(STATUS_CHECK_CONFIG)
        + runtime.settings.remediation_budget_seconds
        + worst_case_seconds(runtime.publish_config)
    )


def _subject(decision: Decision) -> str:
    key = decision.check.key if decision.check else decision.episode and decision.episode.key
    return key.text if key else "?"


class BackstopError(RuntimeError):
    """The run could not do its job (no state table, notices not published)."""


@value
class Decision:
    kind: str  # OPENED | REMINDER | RESOLVED | GONE
    check: RecorderCheck | None
    episode: Episode | None


@value
class Plan:
    decisions: tuple[Decision, ...]
    expected_off: tuple[ExpectedOff, ...]
    unchecked: tuple[RegionCheck, ...]
    stale: tuple[Episode, ...] = ()  # episodes of recorders now expected off: closed quietly


def _kind(
    check: RecorderCheck, episode: Episode | None, *, now: int, reminder_seconds: int
) -> str | None:
    """What to say about one recorder that is not expected off, if anything."""
    if check.healthy:
        return RESOLVED if episode else None
    if episode is None:
        return OPENED
    if episode.pending == OPENED:  # decided, never confirmed sent: send it now
        return OPENED
    if episode.pending or (reminder_seconds and now - episode.notified_at >= reminder_seconds):
        return REMINDER  # a pending reminder, or a resolution that is no longer true
    return None


def decide(
    regions: Iterable[RegionCheck],
    episodes: Mapping[RecorderKey, Episode],
    *,
    expected_off: tuple[str, ...],
    now: int,
    reminder_seconds: int,
) -> Plan:
    """What this run must say, from what Config says now and what is remembered. Pure."""
    decisions: list[Decision] = []
    off: list[ExpectedOff] = []
    unchecked: list[RegionCheck] = []
    stale: list[Episode] = []
    seen: set[RecorderKey] = set()
    checked: set[tuple[str, str]] = set()
    for region in regions:
        if not region.checked:
            unchecked.append(region)
            continue
        checked.add((region.account, region.region))
        for check in region.recorders:
            seen.add(check.key)
            episode = episodes.get(check.key)
            pattern = expected_off_pattern(expected_off, check.key)
            if pattern:
                if not check.healthy:
                    off.append(ExpectedOff(check, pattern))
                if episode:
                    stale.append(episode)
            else:
                kind = _kind(check, episode, now=now, reminder_seconds=reminder_seconds)
                if kind:
                    decisions.append(Decision(kind, check, episode))
    for key, episode in sorted(episodes.items()):
        if key not in seen and (key.account, key.region) in checked:
            decisions.append(Decision(GONE, None, episode))
    return Plan(tuple(decisions), tuple(off), tuple(unchecked), tuple(stale))


@value(frozen=False)
class Report:
    """What one run did; the handler returns it and logs it."""

    regions_checked: int = 0
    regions_unchecked: int = 0
    recorders: int = 0
    not_recording: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    deferred: int = 0  # decisions left for the next run when time ran short
    output_failures: dict[str, int] = field(default_factory=dict)  # security_hub, alert_event

    def count(self, what: str, into: dict[str, int] | None = None) -> None:
        target = self.counts if into is None else into
        target[what] = target.get(what, 0) + 1

    def summary(self) -> dict[str, Any]:
        return {
            "regions_checked": self.regions_checked,
            "regions_unchecked": self.regions_unchecked,
            "recorders": self.recorders,
            "not_recording": self.not_recording,
            "published": dict(sorted(self.counts.items())),
            "restarts": dict(sorted(self.restarts.items())),
            "failures": self.failures[:20],
            "deferred": self.deferred,
            "output_failures": dict(sorted(self.output_failures.items())),
        }


def organization_accounts(organizations: Any) -> list[str]:
    """Active member accounts (`State` where AWS returns it, else the older `Status`)."""
    accounts = []
    for page in organizations.get_paginator("list_accounts").paginate():
        for account in page.get("Accounts", []):
            state = account.get("State") or account.get("Status")
            if state == "ACTIVE":
                accounts.append(str(account["Id"]))
    return sorted(accounts)


def targets(runtime: Runtime) -> tuple[list[str], list[str]]:
    """Accounts and regions to read: as configured, else this account (central mode: the
    organization) in the function's own region."""
    settings = runtime.settings
    own_region = runtime.config.meta.region_name if runtime.config else settings.home_region
    regions = list(settings.backstop_regions) or [own_region]
    if settings.backstop_accounts:
        accounts = list(settings.backstop_accounts)
    elif settings.member_role_name:
        try:
            accounts = organization_accounts(runtime.organizations)
            problem = None if accounts else "it lists no active account"
        except Exception as error:
            problem = error_code(error)
        if problem:  # checking nothing must not look like finding nothing
            raise BackstopError(
                f"cannot list the organization's accounts ({problem}): run the stack in the"
                " management account or a delegated administrator, or list the accounts in"
                " BackstopAccounts"
            )
    else:
        accounts = [settings.home_account]
    return accounts, regions


def inventory(
    runtime: Runtime, accounts: list[str], regions: list[str], deadline: float
) -> list[RegionCheck]:
    """Every account and region, read in parallel by account, within the deadline. A member
    account's session is dropped once its regions are read (memory stays flat with size)."""

    def one_account(account: str) -> list[RegionCheck]:
        found = []
        for region in regions:
            if time.monotonic() > deadline:
                found.append(RegionCheck(account, region, error="out of time in this run"))
                continue
            reach = runtime.reach(account, region)
            if reach.config is None:
                found.append(RegionCheck(account, region, error=reach.reason or "no access"))
            else:
                found.append(check_region(reach.config, account, region, reach.account_alias))
        if account != runtime.settings.home_account:
            runtime.forget(account)
        return found

    if runtime.settings.member_role_name:
        _ = runtime.sts  # shared by the workers; created here, on one thread
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="backstop") as pool:
        return [check for checks in pool.map(one_account, accounts) for check in checks]


class Backstop:
    """One run's collaborators: settings, clients, the episode store and the rule."""

    def __init__(self, runtime: Runtime, *, now: datetime) -> None:
        settings = runtime.settings
        if runtime.dynamodb is None or not settings.state_table:
            raise BackstopError("the backstop needs the state table (STATE_TABLE_NAME)")
        self.runtime, self.settings, self.now = runtime, settings, now
        self.store = EpisodeStore(runtime.dynamodb, settings.state_table)
        self.rule: Rule = scheduled_rule(RULE_KEY)
        self.report = Report()

    def run(self, *, seconds_left: float = 300.0) -> Report:
        """Read, decide, act. Reading may use 60% of the time left; acting stops while there
        is still time to finish one restart and publish, so no episode is ever stored without
        its notice. What is left is deferred: the next run decides it again."""
        started = time.monotonic()
        accounts, regions = targets(self.runtime)
        checks = inventory(self.runtime, accounts, regions, started + 0.6 * seconds_left)
        reserve = act_reserve_seconds(self.runtime)
        act_until = started + seconds_left - reserve
        episodes = self.store.open_episodes()
        now = int(self.now.timestamp())
        plan = decide(
            checks,
            episodes,
            expected_off=self.settings.expected_off,
            now=now,
            reminder_seconds=self.settings.reminder_seconds,
        )
        report = self.report
        report.regions_checked = sum(1 for c in checks if c.checked)
        report.regions_unchecked = len(plan.unchecked)
        report.recorders = sum(len(c.recorders) for c in checks)
        report.not_recording = sum(1 for c in checks for r in c.recorders if not r.healthy)
        for episode in plan.stale:
            if time.monotonic() <= act_until:
                self._safely(f"close {episode.key.text}", self.store.close, episode)
        for decision in plan.decisions:
            if time.monotonic() > act_until:
                report.deferred += 1
                continue
            self._safely(f"{decision.kind} for {_subject(decision)}", self._act, decision, now)
        if (plan.expected_off or plan.unchecked) and time.monotonic() <= act_until:
            self._digest(plan, now)
        return report

    def _safely(self, what: str, action: Callable[..., Any], *arguments: Any) -> None:
        """One decision's store or AWS error is reported, not allowed to end the run: the
        others still get their notices, and what failed stays pending for the next run."""
        try:
            action(*arguments)
        except Exception as error:
            logger.exception("backstop action failed", extra={"action": what})
            self.report.failures.append(f"{what}: {error_code(error)}")

    def _notice(self, kind: str, decision: Decision, **extra: Any) -> Notice:
        alias = decision.check.account_alias if decision.check else None
        return build_notice(
            kind,
            self.rule,
            partition=self.settings.partition,
            detected_at=self.now,
            check=decision.check,
            episode=decision.episode,
            account_alias=alias,
            **extra,
        )

    def _publish(self, notice: Notice) -> bool:
        try:
            request = build_notice_request(notice, self.settings.alert_topic_arn)
            publish(self.runtime.sns, request)
        except Exception as error:
            what = f"{notice.kind} for {notice.account}/{notice.region}/{notice.recorder}"
            logger.exception("notice not published", extra={"notice": what})
            self.report.failures.append(f"{what}: {error_code(error)}")
            return False
        self.report.count(notice.kind)
        if self.settings.alert_event_bus:
            from recorder_guard.aws.alert_events import (  # noqa: PLC0415 - opt-in
                NOTICE_DETAIL_TYPE,
                notice_documents,
            )

            sent = send_event(self.runtime, notice_documents(notice), NOTICE_DETAIL_TYPE)
            self._delivered("alert_event", sent)
        return True

    def _delivered(self, output: str, delivery: Delivery) -> None:
        if delivery.failed:
            self.report.count(output, self.report.output_failures)

    def _import(self, finding: dict[str, Any] | None) -> None:
        if finding is None:
            self._delivered("security_hub", Delivery(FAILED, error="no account or region"))
        else:
            self._delivered("security_hub", deliver_finding(self.runtime, finding))

    def _finding_opened(self, notice: Notice, episode: Episode) -> None:
        """The new episode as a finding, kept with the episode so that reminders refresh it
        and the resolution closes it."""
        if not self.settings.security_hub_findings:
            return
        from recorder_guard.domain.finding import finding_for_notice  # noqa: PLC0415

        try:
            finding = finding_for_notice(notice, episode)
        except ValueError as error:  # too large even shortened: counted, the alert stands
            logger.warning("finding not built", extra={"error": str(error)[:300]})
            finding = None
        self._import(finding)
        if finding is not None:
            self.store.attach_finding(episode.key, json.dumps(finding, separators=(",", ":")))

    def _finding_update(self, kind: str, episode: Episode) -> None:
        """A reminder refreshes the episode's finding; the resolution archives it, PASSED."""
        if not (self.settings.security_hub_findings and episode.finding):
            return
        from recorder_guard.domain.finding import observed_again, resolved  # noqa: PLC0415
        from recorder_guard.domain.notice import duration, iso  # noqa: PLC0415

        try:
            stored = json.loads(episode.finding)
            if kind == RESOLVED:
                lasted = duration(self.now.timestamp() - episode.opened_at)
                note = (
                    f"Resolved by recorder-guard at {iso(self.now)}: the recorder is recording"
                    f" again after {lasted}."
                )
                finding = resolved(stored, self.now, note)
            else:
                finding = observed_again(stored, self.now)
        except ValueError as error:  # a stored finding we cannot read: counted, not raised
            logger.warning("stored finding unreadable", extra={"error": str(error)[:300]})
            finding = None
        self._import(finding)

    def _act(self, decision: Decision, now: int) -> None:
        """Every notice is written down as pending before it is published and cleared after,
        so a run killed mid-send (or a failed publish) leaves it for the next run to send."""
        episode = decision.episode
        if decision.kind == OPENED and decision.check is not None and episode is None:
            self._open(decision.check, now)
            return
        if episode is None or not self.store.claim(episode, decision.kind, now):
            return  # another run changed this episode since it was read: it speaks for it
        notice = self._notice(decision.kind, decision)
        if not self._publish(notice):
            return  # stays pending
        if decision.kind in (RESOLVED, GONE):
            self.store.close(episode)
        else:
            self.store.sent(episode, reminded=decision.kind == REMINDER)
        # Security Hub follows the notice (a deleted recorder's finding stays as it is).
        if decision.kind == OPENED:
            self._finding_opened(notice, episode)
        elif decision.kind in (REMINDER, RESOLVED):
            self._finding_update(decision.kind, episode)

    def _open(self, check: RecorderCheck, now: int) -> None:
        episode = Episode(
            key=check.key,
            opened_at=now,
            notified_at=now,
            problem=", ".join(check.problems),
            source=BY_BACKSTOP,
            pending=OPENED,
        )
        if not self.store.open(episode):
            return  # the event path (or an overlapping run) alerted on it already
        stopper = self._stopper(check)
        remediation = self._restart(check, stopper)
        notice = self._notice(
            OPENED, Decision(OPENED, check, episode), remediation=remediation, stopper=stopper
        )
        if not self._publish(notice):
            return  # stays pending: the next run sends the alert
        if remediation and remediation.outcome == RESTARTED:
            self.store.close(episode)  # fixed and said so: nothing left open
        else:
            self.store.sent(episode)
        self._finding_opened(notice, episode)

    def _stopper(self, check: RecorderCheck) -> Stopper | None:
        """Who stopped it, from CloudTrail's event history, when Config says when."""
        if check.recording or not check.last_stop_time:
            return None
        try:
            stopped_at = datetime.fromisoformat(check.last_stop_time)
        except ValueError:
            return None
        key = check.key
        cloudtrail = self.runtime.cloudtrail_in(key.account, key.region)
        return find_stopper(cloudtrail, key.recorder, stopped_at) if cloudtrail else None

    def _restart(self, check: RecorderCheck, stopper: Stopper | None) -> RemediationResult | None:
        """The opt-in restart, with the event path's mode, exemptions (when CloudTrail names
        the caller), flap window and time budget."""
        settings = self.settings
        if not settings.auto_restart or not check.restartable:
            return None
        reach = self.runtime.reach(check.key.account, check.key.region)
        if reach.config is None:
            return None
        dynamodb = self.runtime.dynamodb
        if dynamodb is None or not settings.state_table:
            return None
        result = remediate_within_budget(
            Target(
                check.key.recorder,
                check.key.account,
                check.key.region,
                principal_arns=stopper.principal_arns if stopper else (),
            ),
            RemediationPolicy(
                mode=settings.remediation_mode,
                exempt_principal_patterns=settings.exempt_principal_patterns,
                flap_window_seconds=settings.flap_window_seconds,
                budget_seconds=settings.remediation_budget_seconds,
                state_table=settings.state_table,
            ),
            reach.config,
            FlapGuard(dynamodb, settings.state_table, settings.flap_window_seconds),
        )
        self.report.count(result.outcome, self.report.restarts)
        return result

    def _digest(self, plan: Plan, now: int) -> None:
        if not self.store.claim_digest(now, DIGEST_INTERVAL_SECONDS):
            return
        notice = Notice(
            kind=DIGEST,
            rule=self.rule,
            partition=self.settings.partition,
            detected_at=self.now,
            expected_off=plan.expected_off,
            unchecked=plan.unchecked,
        )
        if not self._publish(notice):
            self.store.release_digest(now)
