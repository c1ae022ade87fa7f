"""Hostile and broken input through the handler (hypothesis): arbitrary JSON and mutated real
events. The only outcomes are alerted, ignored or the documented validation error; every
publish obeys SNS's real limits and every chat rendition stays inert.

`pytest tests/integration/test_hostile_input.py --hypothesis-show-statistics` reports how
many examples ran."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from recorder_guard.aws.clients import Runtime
from recorder_guard.domain.cloudtrail import MalformedEventError
from recorder_guard.flows.responder import respond
from recorder_guard.settings import Settings
from tests.conftest import DETECTED_AT
from tests.support import corpus_events, sample_events
from tests.unit.test_render import NASTY, assert_valid_publish

REGION = "us-east-1"
BASES = [*sample_events().values(), *(event for event, _ in corpus_events().values())]
CONSOLE = r"[a-z0-9.-]+\.(amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)"
LINK = re.compile(rf"<https://{CONSOLE}/[^|<>\s]*\|[A-Za-z ]+>")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from(NASTY),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    event = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        candidates = paths(event)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = event
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return event


@pytest.fixture(scope="module")
def aws_runtime() -> Iterator[tuple[Runtime, list[dict[str, Any]]]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("MOTO_ACCOUNT_ID", "111122223333")
        with mock_aws():
            sns = boto3.client("sns", region_name=REGION)
            topic = sns.create_topic(Name="alerts")["TopicArn"]
            config = boto3.client("config", region_name=REGION)
            sent: list[dict[str, Any]] = []
            sns.meta.events.register(
                "provide-client-params.sns.Publish", lambda params, **_: sent.append(params)
            )
            settings_ = Settings(alert_topic_arn=topic, check_recorder_status=True)
            yield Runtime(settings=settings_, _sns=sns, _config=config), sent


def assert_inert_chat(request: dict[str, Any]) -> None:
    chat = json.loads(json.loads(request["Message"])["https"])
    for text in [
        chat["content"]["title"],
        chat["content"]["description"],
        *chat["content"]["nextSteps"],
    ]:
        for markup in re.findall(r"<[^<>]*>", text):
            assert LINK.fullmatch(markup), markup
        assert "<!" not in text
        assert "<@" not in text


def check(event: Any, runtime: tuple[Runtime, list[dict[str, Any]]]) -> None:
    rt, sent = runtime
    sent.clear()
    try:
        outcome = respond(event, rt, now=DETECTED_AT)
    except MalformedEventError as error:
        rejected = str(error)
    else:
        rejected = ""
    if rejected:
        hypothesis.event("outcome: rejected")
        assert "\n" not in rejected
        assert sent == []
        return
    hypothesis.event(f"outcome: {outcome.outcome}")
    assert outcome.outcome in ("alerted", "ignored")
    assert len(sent) == (1 if outcome.outcome == "alerted" else 0)
    for request in sent:
        assert_valid_publish(request)
        assert_inert_chat(request)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(event=json_values)
def test_arbitrary_json(aws_runtime: Any, event: Any) -> None:
    check(event, aws_runtime)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(event=mutated_events())
def test_mutated_real_events(aws_runtime: Any, event: Any) -> None:
    check(event, aws_runtime)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(user_agent=st.text(), session=st.text(), recorder=st.text())
def test_hostile_strings_in_an_alerting_event(
    aws_runtime: Any, user_agent: str, session: str, recorder: str
) -> None:
    event = copy.deepcopy(sample_events()["stop_recorder_hostile_user_agent.json"])
    event["detail"]["userAgent"] += user_agent
    event["detail"]["userIdentity"]["arn"] += session
    event["detail"]["requestParameters"]["configurationRecorderName"] = recorder or "x"
    check(event, aws_runtime)
