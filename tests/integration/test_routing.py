"""The EventBridge patterns in template.yaml, routed by moto's EventBridge.

moto's test_event_pattern is a stub and a Lambda or SNS target breaks put_events, so each
rule's pattern goes on a rule whose only target is an SQS queue, and what arrives there is
what the function would have been invoked with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support import corpus_events, load_template, sample_events, sample_expectations

REGION = "us-east-1"


def template_patterns() -> dict[str, dict[str, Any]]:
    """rule key -> pattern of each detection rule; the tampering rule's `$or` filter on the
    stack's own resource names (intrinsic functions, resolved only at deploy) is left out."""
    resources = load_template()["Resources"]
    patterns = {}
    for resource in resources.values():
        key = resource.get("Metadata", {}).get("RecorderGuardRule")
        if resource["Type"] == "AWS::Events::Rule" and key:
            pattern = resource["Properties"]["EventPattern"]
            detail = {k: v for k, v in pattern["detail"].items() if k != "$or"}
            patterns[key] = {**pattern, "detail": detail}
    return patterns


@pytest.fixture(scope="module")
def route(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[Any]:
    """A function: EventBridge events in, {marker: rule key} of what each rule delivered."""
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        queues = {}
        for key, pattern in template_patterns().items():
            url = sqs.create_queue(QueueName=f"rule-{key}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            events.put_rule(Name=key, EventPattern=json.dumps(pattern), State="ENABLED")
            events.put_targets(
                Rule=key, Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}]
            )
            queues[key] = url

        def deliver(batch: dict[str, Any]) -> dict[str, set[str]]:
            entries: list[Any] = []
            for marker, event in batch.items():
                entries.append(
                    {
                        "Source": str(event.get("source")),
                        "DetailType": str(event.get("detail-type")),
                        "Detail": json.dumps({**event["detail"], "__marker": marker}),
                    }
                )
            for start in range(0, len(entries), 10):
                events.put_events(Entries=entries[start : start + 10])
            delivered: dict[str, set[str]] = {}
            for key, url in queues.items():
                while True:
                    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
                    if not messages.get("Messages"):
                        break
                    for message in messages["Messages"]:
                        marker = json.loads(message["Body"])["detail"]["__marker"]
                        delivered.setdefault(marker, set()).add(key)
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return delivered

        yield deliver


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("MOTO_ACCOUNT_ID", "111122223333")
        yield patch


def test_stop_pattern_is_the_one_the_product_promises() -> None:
    assert template_patterns()["stopped_recorder"] == {
        "source": ["aws.config"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["config.amazonaws.com"],
            "eventName": ["StopConfigurationRecorder"],
            "errorCode": [{"exists": False}],
        },
    }


def test_sample_events_reach_exactly_their_rule(route: Any) -> None:
    delivered = route(sample_events())
    expected = {name: {key} for name, key in sample_expectations().items() if key}
    assert delivered == expected


# The patterns are a pre-filter: these reach the function, whose full rule conditions then
# ignore them (a PutConfigurationRecorder that does not narrow; see test_handler's corpus test).
PREFILTER_ONLY = {"awsdocs_put_configuration_recorder_iamuser.json": {"recording_narrowed"}}


def test_corpus_reaches_exactly_the_rules_that_alert(route: Any) -> None:
    """Every public sample that must alert reaches its rule; nothing else arrives but the
    known pre-filter passes."""
    delivered = route({name: event for name, (event, _) in corpus_events().items()})
    expected = {name: {key} for name, (_, key) in corpus_events().items() if key}
    assert delivered == {**expected, **PREFILTER_ONLY}


def test_a_failed_stop_is_not_delivered(route: Any) -> None:
    event = json.loads(json.dumps(sample_events()["stop_recorder_assumed_role.json"]))
    event["detail"]["errorCode"] = "AccessDenied"
    assert route({"denied": event}) == {}
