"""One SNS publish per alert: a message per kind of subscriber, a valid subject, attributes.

The message is `MessageStructure=json` with three keys. SNS hands each subscription the value
under its protocol's key, and `default` to every protocol without a key of its own; `default`
is required ("custom platform-specific payloads",
https://docs.aws.amazon.com/sns/latest/dg/sns-send-custom-platform-specific-payloads-mobile-devices.html;
Publish, https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). So:

- `default`: the ECS JSON alert, for every machine consumer (SQS, Lambda and so the Slack
  forwarder, Firehose, HTTP, email-json, and any protocol added later), sent once.
- `https`: the AWS Chatbot custom notification. Chatbot (Amazon Q Developer in chat
  applications) subscribes to a topic with protocol `https` (endpoint
  https://global.sns-api.chatbot.amazonaws.com, as the console creates it), and that
  subscription is what makes this key reach it. This was not verified against a real Chatbot
  channel; `doctor` checks that a Chatbot endpoint is subscribed with protocol `https`. Any
  other HTTPS endpoint gets the chat notification too.
- `email`: plain text.

The whole request is held under SNS's 256 KiB limit (bytes, message attributes included) by
shrinking the least useful parts first, always with a visible truncation marker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from recorder_guard.domain.alert import Alert
from recorder_guard.domain.limits import clip, clip_bytes, clip_strings
from recorder_guard.domain.values import replace, value
from recorder_guard.render.chatbot import DESCRIPTION_MAX, render_chatbot
from recorder_guard.render.email import render_email
from recorder_guard.render.escape import ascii_only
from recorder_guard.render.subject import render_subject

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

    from recorder_guard.domain.notice import Notice
    from recorder_guard.domain.rules import Rule

SNS_MAX_BYTES = 262_144
SAFETY_BYTES = 2_048  # headroom for SNS's own accounting of the request
# The protocols with a key of their own in the message; every other one receives `default`.
CHAT_PROTOCOL = "https"  # AWS Chatbot's subscription
EMAIL_PROTOCOL = "email"
ATTRIBUTE_VALUE_MAX = 256


@value
class ShrinkLevel:
    original_chars: int  # event.original in the ECS alert
    ecs_field_chars: int  # every other string in the ECS alert
    chat_field_chars: int  # every string in the chat notification
    email_bytes: int  # the whole email text


SHRINK_LEVELS = (
    ShrinkLevel(32_768, 1_024, DESCRIPTION_MAX, 65_536),
    ShrinkLevel(8_192, 1_024, DESCRIPTION_MAX, 32_768),
    ShrinkLevel(0, 512, 4_000, 16_384),
    ShrinkLevel(0, 128, 2_000, 8_192),
    ShrinkLevel(0, 32, 800, 4_096),
    ShrinkLevel(0, 16, 400, 2_048),
)


class MessageTooLargeError(RuntimeError):
    """Even the smallest rendition exceeds SNS's limit: raise so the event is kept."""


def _string(value: str | None) -> dict[str, str]:
    """An attribute value: non-empty printable ASCII within SNS's filterable length."""
    cleaned = ascii_only(value or "") or "unknown"
    return {"DataType": "String", "StringValue": clip(cleaned, ATTRIBUTE_VALUE_MAX)}


def _attributes(
    *,
    severity: str,
    rule: Rule,
    account: str | None,
    region: str | None,
    action: str,
    recording: bool | None,
    remediation: str,
    notice: str,
) -> dict[str, dict[str, str]]:
    """One attribute set for alerts and backstop notices, so one filter policy routes both
    paths alike; values are non-empty printable ASCII."""
    state = "unknown" if recording is None else ("recording" if recording else "stopped")
    return {
        "severity": _string(severity),
        "risk_score": {"DataType": "Number", "StringValue": str(rule.risk_score)},
        "rule_id": _string(rule.id),
        "rule_name": _string(rule.name),
        "account": _string(account),
        "region": _string(region),
        "event_action": _string(action),
        "recorder_state": _string(state),
        "remediation": _string(remediation),
        "schema_version": _string("1.0"),
        "notice": _string(notice),
    }


def message_attributes(alert: Alert) -> dict[str, dict[str, str]]:
    """Attributes for subscription filter policies."""
    return _attributes(
        severity=alert.severity,
        rule=alert.rule,
        account=alert.account_id,
        region=alert.region,
        action=alert.action,
        recording=alert.recording_now,
        remediation=alert.remediation.outcome if alert.remediation else "off",
        notice="alert",
    )


def _attributes_bytes(attributes: dict[str, dict[str, str]]) -> int:
    return sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )


def _compact(value: Any) -> str:
    """JSON as pure ASCII: lone surrogates and odd code points cannot break the UTF-8 body."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def render_message(alert: Alert, level: ShrinkLevel) -> str:
    document = alert.to_document(original_limit=level.original_chars)
    original = document["event"].get("original")
    document = clip_strings(document, level.ecs_field_chars)
    if original is not None:
        document["event"]["original"] = original
    ecs = _compact(document)
    # Clipped inside the renderer, before escaping: cutting escaped text could split an
    # entity or leave a code span open.
    chat = _compact(render_chatbot(alert, level.chat_field_chars))
    email = clip_bytes(render_email(alert), level.email_bytes)
    return _message(ecs, chat, email)


def _message(ecs: str, chat: str, email: str) -> str:
    """The `MessageStructure=json` message: the ECS document once, as everyone's default."""
    return _compact({"default": ecs, CHAT_PROTOCOL: chat, EMAIL_PROTOCOL: email})


def received_by(message: Mapping[str, str], protocol: str) -> str:
    """What SNS sends a subscription of `protocol`: its own key, else `default`."""
    return message.get(protocol, message["default"])


def _request(
    topic_arn: str, subject: str, message: str, attributes: dict[str, dict[str, str]]
) -> dict[str, Any]:
    return {
        "TopicArn": topic_arn,
        "Subject": subject,
        "Message": message,
        "MessageStructure": "json",
        "MessageAttributes": attributes,
    }


def build_publish_request(alert: Alert, topic_arn: str) -> dict[str, Any]:
    """The exact Publish request: the largest rendition that fits SNS's limit."""
    attributes = message_attributes(alert)
    budget = SNS_MAX_BYTES - SAFETY_BYTES - _attributes_bytes(attributes)
    for level in SHRINK_LEVELS:
        message = render_message(alert, level)
        if len(message.encode("utf-8")) <= budget:
            return _request(topic_arn, render_subject(alert), message, attributes)
    raise MessageTooLargeError(
        f"alert for event {alert.event_id!r} exceeds {budget} bytes even at the smallest size"
    )


def publish(sns: SNSClient, request: dict[str, Any]) -> str:
    """Publish once; any error propagates so Lambda retries and the dead-letter path keeps it."""
    response = sns.publish(**request)
    return response["MessageId"]


def notice_attributes(notice: Notice) -> dict[str, dict[str, str]]:
    """The event alerts' attributes (`_attributes`), for a backstop notice."""
    return _attributes(
        severity=notice.severity,
        rule=notice.rule,
        account=notice.account or "all",
        region=notice.region or "all",
        action=f"backstop-{notice.kind}",
        recording=notice.recording_now,
        remediation=notice.remediation.outcome if notice.remediation else "off",
        notice=notice.kind,
    )


def build_notice_request(notice: Notice, topic_arn: str) -> dict[str, Any]:
    """A backstop notice as one Publish request; a digest lists fewer entries until it fits.
    The renderers are imported here: the event path's cold start never loads them."""
    from recorder_guard.render.backstop import (  # noqa: PLC0415
        render_notice_chatbot,
        render_notice_email,
        render_notice_subject,
    )

    attributes = notice_attributes(notice)
    budget = SNS_MAX_BYTES - SAFETY_BYTES - _attributes_bytes(attributes)
    while True:
        message = _message(
            _compact(notice.to_document()),
            _compact(render_notice_chatbot(notice)),
            render_notice_email(notice),
        )
        if len(message.encode("utf-8")) <= budget:
            return _request(topic_arn, render_notice_subject(notice), message, attributes)
        if notice.listed == 0:
            raise MessageTooLargeError(f"{notice.kind} notice exceeds {budget} bytes")
        notice = replace(notice, listed=notice.listed // 2)
