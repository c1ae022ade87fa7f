"""Renditions: SNS subject rules, email text, Chatbot notification, escaping, size limits.

Property-based: every event-supplied string is replaced by arbitrary text (including
surrogates, bidi overrides, Slack control characters and very long values), and each
rendition must still obey the real service rules, which moto does not check.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder_guard.aws.publish import (
    SNS_MAX_BYTES,
    build_publish_request,
    message_attributes,
)
from recorder_guard.domain.alert import ORIGINAL_RECORD_LIMIT
from recorder_guard.domain.limits import clip, clip_bytes
from recorder_guard.domain.recorder import RecorderStatus
from recorder_guard.render.chatbot import (
    DESCRIPTION_MAX,
    KEYWORD_MAX,
    NEXT_STEP_MAX,
    TITLE_MAX,
    render_chatbot,
)
from recorder_guard.render.email import WIDTH, render_email
from recorder_guard.render.escape import plain, slack_code, slack_text
from recorder_guard.render.subject import SUBJECT_MAX, clip_subject, render_subject
from tests.conftest import CI_HEALTH_CHECKS, alert_for
from tests.support import sample_events, sns_delivers

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
NASTY = [
    "\ud800",
    "\u202e",
    "\u200b",
    "\n",
    "\r",
    "\t",
    "\x00",
    "\x7f",
    "<",
    ">",
    "&",
    "`",
    "*",
    "_",
    "~",
    "@",
    "|",
    "😀",
    "é",
    "\\",
    '"',
    "<!here>",
    "<@U123>",
    "\u2028",
]
hostile_text = st.one_of(
    st.text(),
    st.lists(st.sampled_from(NASTY), max_size=40).map("".join),
    st.lists(st.sampled_from(NASTY), min_size=1000, max_size=3000).map("".join),
)
BASE = sample_events()["stop_recorder_assumed_role.json"]


def hostile_event(user_agent: str, session: str, recorder: str, ip: str) -> dict[str, Any]:
    event = copy.deepcopy(BASE)
    detail = event["detail"]
    detail["userAgent"] = user_agent
    detail["sourceIPAddress"] = ip
    detail["requestParameters"]["configurationRecorderName"] = recorder
    identity = detail["userIdentity"]
    identity["arn"] = f"arn:aws:sts::111122223333:assumed-role/PlatformAdmin/{session}"
    identity["sessionContext"]["sessionIssuer"]["userName"] = session
    return event


def assert_valid_subject(subject: str) -> None:
    assert 0 < len(subject) <= SUBJECT_MAX
    assert all(" " <= char <= "~" for char in subject), subject
    assert subject[0].isalnum() or not subject[0].isspace()


# --- subject --------------------------------------------------------------------------------


def test_subject_reads_well() -> None:
    subject = render_subject(alert_for(BASE))
    assert subject == "[HIGH] Config recorder stopped: default in 111122223333 us-east-1"


@given(st.text())
def test_any_text_becomes_a_valid_subject(text: str) -> None:
    assert_valid_subject(clip_subject(text))


def test_long_subject_is_cut_with_a_marker() -> None:
    subject = clip_subject("x" * 300)
    assert len(subject) == SUBJECT_MAX
    assert subject.endswith("...")


# --- escaping -------------------------------------------------------------------------------


def test_plain_escapes_line_breaks_and_bidi() -> None:
    assert plain("a\nSeverity: low\u202e") == "a\\nSeverity: low\\u202e"
    assert plain(None) == "unknown"


def test_slack_code_defeats_links_mentions_and_formatting() -> None:
    rendered = slack_code("<https://evil.example|login> <!here> <@U1> `x` *b*")
    assert "<" not in rendered
    assert ">" not in rendered
    assert rendered.startswith("`")
    assert rendered.endswith("`")
    assert rendered.count("`") == 2
    assert slack_text("a & b") == "a &amp; b"


@settings(max_examples=100, deadline=None, suppress_health_check=CI_HEALTH_CHECKS)
@given(hostile_text)
def test_slack_code_is_always_one_closed_code_span(text: str) -> None:
    rendered = slack_code(text)
    assert rendered.count("`") in (0, 2)
    assert "<" not in rendered
    assert ">" not in rendered
    assert "\n" not in rendered
    assert not re.search(r"&(?!amp;|lt;|gt;)", rendered)


# --- email ----------------------------------------------------------------------------------


def email_lines_ok(text: str) -> None:
    """Within WIDTH, unless the line holds one word longer than a line (an ARN, URL, ID or
    `$ command`), which is never broken."""
    for line in text.splitlines():
        if len(line) <= WIDTH or line.strip().startswith(("https://", "$ aws ")):
            continue
        label, _, value = line.strip().partition(":  ")
        assert " " not in (value or label).strip(), line


def test_email_says_what_who_where_when_and_what_next(stopped_status: RecorderStatus) -> None:
    text = render_email(alert_for(BASE, stopped_status))
    for expected in (
        "WHAT HAPPENED",
        "recorder default in account 111122223333,",
        "Recorder now:     still stopped",
        "PlatformAdmin/jane.doe (AssumedRole)",
        "203.0.113.24",
        "2026-11-28T21:14:03Z",
        "high, risk score 73 of 100",
        "T1685.002 Disable or Modify Cloud Log (legacy T1562.008)",
        "NEXT STEPS",
        "$ aws configservice start-configuration-recorder --configuration-recorder-name default"
        " --region us-east-1",
        "https://us-east-1.console.aws.amazon.com/config/home?region=us-east-1",
    ):
        assert " ".join(expected.split()) in " ".join(text.split()), expected
    email_lines_ok(text)
    assert "<" not in text.replace("<https", "")  # no markup


def test_email_links_follow_the_partition() -> None:
    event = copy.deepcopy(BASE)
    event["detail"]["awsRegion"] = "us-gov-west-1"
    event["detail"]["userIdentity"]["arn"] = "arn:aws-us-gov:sts::111122223333:assumed-role/A/b"
    text = render_email(alert_for(event))
    assert "https://console.amazonaws-us-gov.com/config/home?region=us-gov-west-1" in text
    assert "console.aws.amazon.com" not in text
    event["detail"]["awsRegion"] = "cn-north-1"
    event["detail"]["userIdentity"]["arn"] = "arn:aws-cn:sts::111122223333:assumed-role/A/b"
    assert "https://console.amazonaws.cn/" in render_email(alert_for(event))


def test_email_hostile_user_agent_cannot_forge_lines() -> None:
    text = render_email(alert_for(sample_events()["stop_recorder_hostile_user_agent.json"]))
    assert "\nSeverity: low" not in text
    assert "\\nSeverity:" in text
    assert "\u202e" not in text


# --- chatbot --------------------------------------------------------------------------------


def assert_valid_chatbot(notification: dict[str, Any]) -> None:
    assert notification["version"] == "1.0"
    assert notification["source"] == "custom"
    content = notification["content"]
    assert content["textType"] == "client-markdown"
    assert 0 < len(content["title"]) <= TITLE_MAX
    assert 0 < len(content["description"]) <= DESCRIPTION_MAX
    assert all(len(step) <= NEXT_STEP_MAX for step in content["nextSteps"])
    assert all(len(keyword) <= KEYWORD_MAX for keyword in content["keywords"])
    assert set(notification) <= {"version", "source", "id", "content", "metadata"}
    assert set(content) <= {"textType", "title", "description", "nextSteps", "keywords"}
    for value in notification["metadata"]["additionalContext"].values():
        assert isinstance(value, str)


def test_chatbot_notification(stopped_status: RecorderStatus) -> None:
    notification = render_chatbot(alert_for(BASE, stopped_status))
    assert_valid_chatbot(notification)
    description = notification["content"]["description"]
    assert "*Recorder now:* still stopped" in description
    assert "`PlatformAdmin/jane.doe`" in description
    assert "T1562.008" in notification["content"]["keywords"]
    assert notification["metadata"]["eventType"] == "StopConfigurationRecorder"


def test_chatbot_hostile_values_are_inert() -> None:
    notification = render_chatbot(
        alert_for(sample_events()["stop_recorder_hostile_user_agent.json"])
    )
    description = notification["content"]["description"]
    assert "<https://evil.example" not in description
    assert "&lt;https://evil.example/login|Click to re-authenticate&gt;" in description
    user_agent_line = next(line for line in description.splitlines() if "User agent" in line)
    assert user_agent_line.count("`") == 2


# --- the publish request --------------------------------------------------------------------


def test_publish_request_has_the_ecs_document_once_as_default(
    stopped_status: RecorderStatus,
) -> None:
    request = build_publish_request(alert_for(BASE, stopped_status), TOPIC)
    assert request["MessageStructure"] == "json"
    message = json.loads(request["Message"])
    assert set(message) == {"default", "https", "email"}
    chat = json.loads(message["https"])
    assert_valid_chatbot(chat)
    assert chat["source"] == "custom"
    document = json.loads(message["default"])
    for protocol in ("sqs", "lambda", "firehose", "http", "email-json"):
        assert sns_delivers(message, protocol) == message["default"]
    # Sent once, not once per machine protocol as before (the message's text holds each
    # value as an escaped JSON string).
    assert request["Message"].count(json.dumps(message["default"])) == 1
    assert document["event"]["kind"] == "alert"
    assert document["rule"]["id"] == "fbd44836-0d69-4004-a0b4-03c20370c435"
    assert document["event"]["risk_score"] == 73
    assert document["threat"]["tactic"]["id"] == ["TA0005"]
    assert document["recorder_guard"]["recorder"]["status"]["recording"] is False
    assert json.loads(document["event"]["original"])["eventID"] == BASE["detail"]["eventID"]
    assert message["email"].startswith("AWS CONFIGURATION RECORDER STOPPED")


def test_message_attributes_for_filter_policies(stopped_status: RecorderStatus) -> None:
    attributes = message_attributes(alert_for(BASE, stopped_status))
    assert attributes["severity"] == {"DataType": "String", "StringValue": "high"}
    assert attributes["risk_score"] == {"DataType": "Number", "StringValue": "73"}
    assert attributes["account"]["StringValue"] == "111122223333"
    assert attributes["region"]["StringValue"] == "us-east-1"
    assert attributes["event_action"]["StringValue"] == "StopConfigurationRecorder"
    assert attributes["rule_id"]["StringValue"] == "fbd44836-0d69-4004-a0b4-03c20370c435"
    assert attributes["recorder_state"]["StringValue"] == "stopped"


def assert_valid_publish(request: dict[str, Any]) -> None:
    assert_valid_subject(request["Subject"])
    size = len(request["Message"].encode("utf-8"))
    for name, value in request["MessageAttributes"].items():
        assert re.fullmatch(r"[A-Za-z0-9_\-.]{1,256}", name)
        assert not name.lower().startswith(("aws.", "amazon."))
        assert value["StringValue"], name
        size += len(name) + len(value["DataType"]) + len(value["StringValue"].encode("utf-8"))
    assert size <= SNS_MAX_BYTES
    message = json.loads(request["Message"])
    assert isinstance(message["default"], str)
    assert all(isinstance(value, str) for value in message.values())
    request["Message"].encode("utf-8")  # no lone surrogates survive
    assert_valid_chatbot(json.loads(message["https"]))
    json.loads(message["default"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user_agent=hostile_text, session=hostile_text, recorder=hostile_text, ip=hostile_text)
def test_any_input_gives_a_valid_publish(
    user_agent: str, session: str, recorder: str, ip: str
) -> None:
    alert = alert_for(hostile_event(user_agent, session, recorder, ip))
    request = build_publish_request(alert, TOPIC)
    assert_valid_publish(request)
    email_lines_ok(json.loads(request["Message"])["email"])


def test_huge_record_is_truncated_with_a_marker_not_dropped() -> None:
    event = copy.deepcopy(BASE)
    event["detail"]["requestParameters"]["padding"] = '"\u00e9\\' * 200_000
    event["detail"]["userAgent"] = "😀" * 100_000
    request = build_publish_request(alert_for(event), TOPIC)
    assert_valid_publish(request)
    document = json.loads(sns_delivers(json.loads(request["Message"]), "sqs"))
    assert "[truncated" in document["user_agent"]["original"]
    assert document["event"]["action"] == "StopConfigurationRecorder"
    # The first size fits (before, with five copies of the document, the third did, which
    # leaves event.original out): the record is cut at 32 K characters, with the marker.
    assert document["event"]["original"].endswith("chars]")


def test_an_original_record_of_31_000_characters_is_sent_whole() -> None:
    """The ECS document is in the message once, so a record that nearly fills event.original
    (ORIGINAL_RECORD_LIMIT, 32 K characters) fits at the first size; with five copies of the
    document, as before, this one was cut to 8 K characters."""
    event = copy.deepcopy(BASE)
    # "\u00e9" in the record: 6 characters each
    event["detail"]["requestParameters"]["padding"] = "\u00e9" * 5_000
    alert = alert_for(event)
    assert 30_000 < len(alert.original_record) < ORIGINAL_RECORD_LIMIT
    request = build_publish_request(alert, TOPIC)
    assert_valid_publish(request)
    document = json.loads(sns_delivers(json.loads(request["Message"]), "sqs"))
    assert document["event"]["original"] == alert.original_record


def test_worst_case_everywhere_still_fits() -> None:
    """Every string field at once, each made of the most expensive characters to encode."""
    worst = '\ud800\x01"' * 50_000

    def poison(value: Any) -> Any:
        if isinstance(value, str):
            return worst
        if isinstance(value, dict):
            return {key: poison(item) for key, item in value.items()}
        if isinstance(value, list):
            return [poison(item) for item in value]
        return value

    event = copy.deepcopy(BASE)
    keep = {key: event["detail"][key] for key in ("eventSource", "eventName")}
    event["detail"] = {**poison(event["detail"]), **keep}
    assert_valid_publish(build_publish_request(alert_for(event), TOPIC))


# --- limits ---------------------------------------------------------------------------------


@given(st.text(), st.integers(min_value=0, max_value=500))
def test_clip_never_exceeds_and_marks(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert len(clipped) <= limit or len(text) <= limit
    if len(text) > limit >= 30:
        assert "[truncated" in clipped


@settings(max_examples=100, deadline=None, suppress_health_check=CI_HEALTH_CHECKS)
@given(hostile_text, st.integers(min_value=0, max_value=500))
def test_clip_bytes_never_exceeds(text: str, limit: int) -> None:
    assert len(clip_bytes(text, limit).encode("utf-8", "surrogatepass")) <= limit


@pytest.mark.parametrize(
    ("partition", "region", "host", "iam_host"),
    [
        (
            "aws",
            "eu-west-1",
            "https://eu-west-1.console.aws.amazon.com",
            "https://console.aws.amazon.com",
        ),
        ("aws-cn", "cn-north-1", "https://console.amazonaws.cn", "https://console.amazonaws.cn"),
        (
            "aws-us-gov",
            "us-gov-west-1",
            "https://console.amazonaws-us-gov.com",
            "https://console.amazonaws-us-gov.com",
        ),
    ],
)
def test_console_links_for_each_partition(
    partition: str, region: str, host: str, iam_host: str
) -> None:
    event = copy.deepcopy(BASE)
    event["detail"]["awsRegion"] = region
    identity = event["detail"]["userIdentity"]
    identity["arn"] = f"arn:{partition}:sts::111122223333:assumed-role/PlatformAdmin/jane.doe"
    identity["sessionContext"]["sessionIssuer"]["arn"] = (
        f"arn:{partition}:iam::111122223333:role/PlatformAdmin"
    )
    links = alert_for(event).console_links
    event_id = event["detail"]["eventID"]
    assert (
        links["cloudtrail_event"] == f"{host}/cloudtrailv2/home?region={region}#/events/{event_id}"
    )
    assert links["cloudtrail_event_history"].startswith(
        f"{host}/cloudtrailv2/home?region={region}#/events?"
    )
    assert links["config_recorder"] == f"{host}/config/home?region={region}#/settings"
    assert links["iam_principal"] == f"{iam_host}/iam/home#/roles/details/PlatformAdmin"


def test_no_links_for_a_region_that_does_not_exist() -> None:
    event = copy.deepcopy(BASE)
    event["detail"]["awsRegion"] = "euiso-south-3r"  # as Stratus anonymises them
    assert alert_for(event).console_links == {}
