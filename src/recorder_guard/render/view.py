"""An alert as one medium sees it: every event-supplied string clipped, then escaped, once.

Renderers read an AlertView and the rule's own (trusted) text, never the Alert's raw strings,
so a field cannot reach a reader unescaped by being forgotten: `VIEWED` lists every string of
the Alert that flows in here and a test holds it equal to the Alert's string fields minus
`TRUSTED`.
"""

from __future__ import annotations

from collections.abc import Callable

from recorder_guard.domain.alert import Alert, remediation_text
from recorder_guard.domain.limits import clip
from recorder_guard.domain.values import value

Escape = Callable[[str | None], str]

# Alert and Actor string fields that reach a rendition, all through the view.
VIEWED = frozenset(
    {
        "event_id",
        "event_time",
        "action",
        "account_id",
        "region",
        "source_ip",
        "user_agent",
        "recorder_name",
        "resource_name",
        "scope",
        "account_alias",
        "envelope_mismatch",
        "actor.display_name",
        "actor.type",
        "actor.arn",
        "actor.account_id",
        "actor.access_key_id",
        "actor.session_issuer_arn",
        "actor.invoked_by",
        "actor.source_identity",
    }
)
# Strings that are ours, validated to a closed set, or only in the ECS document.
TRUSTED = frozenset(
    {
        "provider",  # the rule requires config.amazonaws.com
        "outcome",  # success | failure
        "partition",  # aws | aws-cn | aws-us-gov
        "original_record",  # event.original, ECS only
        "actor.principal_id",  # ECS only
        "actor.user_name",  # ECS only; links quote it
        "actor.session_issuer_type",  # ECS only
        "actor.session_issuer_name",  # ECS only; picks the next step
        "actor.session_name",  # ECS only
    }
)


@value
class Medium:
    """How one medium escapes: `name` for a value on its own, `inline` for a value inside a
    sentence, `prose` for text that carries AWS or event words (a recording scope, a state,
    a caller type), `ours` for text that is only ours."""

    name: Escape
    inline: Escape
    prose: Escape
    ours: Escape  # our own step text
    value_limit: int = 1024  # characters of each raw value kept, before escaping


@value
class Step:
    text: str
    command: str | None


@value
class AlertView:
    summary: str
    lost: str
    target: str  # the resource, with the action when the rule covers several
    resource: str
    recorder_now: str | None  # None: the call is not about a recorder
    envelope_mismatch: str | None  # the envelope and the payload disagree
    remediation: str | None
    account: str
    account_alias: str | None
    region: str
    actor_name: str
    actor_type: str
    actor_arn: str
    actor_account: str
    access_key: str | None
    session_issuer: str | None
    source_identity: str | None
    invoked_by: str | None
    source_ip: str
    user_agent: str
    event_time: str
    event_id: str
    steps: tuple[Step, ...]


def alert_view(alert: Alert, medium: Medium) -> AlertView:
    """Clip first, escape last: a cut never splits what escaping produced."""
    limit = medium.value_limit

    def cut(value: str | None) -> str | None:
        return None if value is None else clip(value, limit)

    def name(value: str | None) -> str:
        return medium.name(cut(value))

    def inline(value: str | None) -> str:
        return medium.inline(cut(value))

    def prose(value: str | None) -> str:
        return medium.prose(cut(value))

    def optional(value: str | None) -> str | None:
        return name(value) if value else None

    actor = alert.actor
    resource = alert.resource_name or alert.recorder_name
    target = inline(resource or "unnamed")
    return AlertView(
        summary=alert.summary(inline, prose),
        lost=alert.lost(prose),
        target=target if alert.rule.single_action else f"{inline(alert.action)} {target}",
        resource=name(resource),
        recorder_now=prose(alert.recorder_now) if alert.shows_recorder_state else None,
        envelope_mismatch=prose(alert.envelope_mismatch) if alert.envelope_mismatch else None,
        remediation=remediation_text(alert.remediation, prose) if alert.remediation else None,
        account=name(alert.account_id),
        account_alias=optional(alert.account_alias),
        region=name(alert.region),
        actor_name=name(actor.display_name),
        actor_type=prose(actor.type),
        actor_arn=name(actor.arn),
        actor_account=name(actor.account_id),
        access_key=optional(actor.access_key_id),
        session_issuer=optional(actor.session_issuer_arn),
        source_identity=optional(actor.source_identity),
        invoked_by=optional(actor.invoked_by),
        source_ip=name(alert.source_ip),
        user_agent=name(alert.user_agent),
        event_time=name(alert.event_time),
        event_id=name(alert.event_id),
        steps=tuple(
            Step(medium.ours(step.text), name(step.command) if step.command else None)
            for step in alert.next_steps
        ),
    )
