"""The StoppedRecorderRule's EventBridge pattern, read from template.yaml and run by moto.

moto's `test_event_pattern` is a stub, and a Lambda or SNS target breaks `put_events`, so the
pattern goes on a rule whose only target is an SQS queue: what arrives in the queue is what the
function would be invoked with. Each entry is matched to its delivery by the EventId that
`put_events` returns (the delivered event's `id`), so no test data is changed on the way in.
An entry moto rejects counts as not delivered, and must be one that is expected not to match.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import BotoCoreError, ClientError
from moto import mock_aws

from tests.integration.test_template_conditions import template_resource
from tests.support import corpus_events, sample_events

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

REGION = "us-east-1"
RULE = "StoppedRecorderRule"
DENIED_SAMPLE = "stop_recorder_access_denied.json"
BATCH = 10  # put_events takes at most 10 entries per call


def stop_pattern() -> dict[str, Any]:
    """The EventPattern of StoppedRecorderRule exactly as template.yaml has it (a fresh copy)."""
    rule = template_resource(RULE)
    assert rule["Type"] == "AWS::Events::Rule"
    return copy.deepcopy(rule["Properties"]["EventPattern"])


@dataclass
class Routing:
    delivered: dict[str, Any] = field(default_factory=dict)  # name -> event as delivered
    rejected: dict[str, str] = field(default_factory=dict)  # name -> why put_events refused it


def put_entry(event: Any) -> PutEventsRequestEntryTypeDef:
    """The PutEvents entry for an EventBridge-shaped event: Source, DetailType, Detail (and
    Resources when it is a list of strings). Envelope oddities are passed on as text."""
    envelope = event if isinstance(event, dict) else {}
    entry: PutEventsRequestEntryTypeDef = {
        "EventBusName": "default",
        "Source": str(envelope.get("source")),
        "DetailType": str(envelope.get("detail-type")),
        "Detail": json.dumps(envelope.get("detail")),
    }
    resources = envelope.get("resources")
    if isinstance(resources, list) and all(isinstance(r, str) for r in resources):
        entry["Resources"] = resources
    return entry


def route(pattern: Mapping[str, Any], events: Mapping[str, Any]) -> Routing:
    """Put every event on moto's default bus under a rule with `pattern`; report which ones the
    rule delivered to its SQS target, and which ones put_events rejected."""
    routing = Routing()
    with mock_aws():
        bus = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="stopped-recorder-target")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        bus.put_rule(Name=RULE, EventPattern=json.dumps(pattern), State="ENABLED")
        bus.put_targets(Rule=RULE, Targets=[{"Id": "queue", "Arn": queue_arn}])

        names_by_id: dict[str, str] = {}
        items = [(name, put_entry(event)) for name, event in events.items()]
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            try:
                results = bus.put_events(Entries=[entry for _, entry in batch])["Entries"]
            except (BotoCoreError, ClientError):
                results = []  # the whole call failed: put the entries one by one to see which
                for _, entry in batch:
                    try:
                        results += bus.put_events(Entries=[entry])["Entries"]
                    except (BotoCoreError, ClientError) as error:
                        results.append(
                            {"ErrorCode": type(error).__name__, "ErrorMessage": str(error)}
                        )
            assert len(results) == len(batch), results
            for (name, _), result in zip(batch, results, strict=True):
                if "EventId" in result:
                    names_by_id[result["EventId"]] = name
                else:
                    routing.rejected[name] = f"{result['ErrorCode']}: {result['ErrorMessage']}"

        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                delivered = json.loads(message["Body"])
                name = names_by_id[delivered["id"]]
                assert name not in routing.delivered, f"{name} delivered twice"
                routing.delivered[name] = delivered
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return routing


def test_rule_is_on_the_default_bus_unless_central_and_enabled() -> None:
    properties = template_resource(RULE)["Properties"]
    bus = properties["EventBusName"]
    assert bus == {"Fn::If": ["IsCentral", {"Ref": "CentralEventBus"}, "default"]}
    assert properties["State"] == "ENABLED"


def test_mangled_envelope_is_put_and_simply_not_matched() -> None:
    name = "streamalert_envelope_mangled_root_invokedby.json"
    event, key = corpus_events()[name]
    assert key is None
    assert isinstance(event["account"], int)  # the oddity this file is kept for
    routing = route(stop_pattern(), {name: event})
    assert routing.delivered == {}


# One variant of a matching sample per clause of the pattern; each must be filtered out by its
# clause alone, so dropping that clause from the pattern lets the variant through.
VARIANTS: dict[str, tuple[tuple[str, ...], Any]] = {
    "denied": (("detail", "errorCode"), "AccessDenied"),
    "other-source": (("source",), "aws.s3"),
    "other-detail-type": (("detail-type",), "AWS Service Event via CloudTrail"),
    "other-event-source": (("detail", "eventSource"), "s3.amazonaws.com"),
    "other-event-name": (("detail", "eventName"), "StartConfigurationRecorder"),
    "event-name-case": (("detail", "eventName"), "stopConfigurationRecorder"),
}
CLAUSE_OF = {
    "denied": ("detail", "errorCode"),
    "other-source": ("source",),
    "other-detail-type": ("detail-type",),
    "other-event-source": ("detail", "eventSource"),
    "other-event-name": ("detail", "eventName"),
}


def variants() -> dict[str, Any]:
    base = sample_events()["stop_recorder_assumed_role.json"]
    events = {"original": base}
    for label, (path, value) in VARIANTS.items():
        event = copy.deepcopy(base)
        target = event
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        events[label] = event
    return events


def test_each_variant_of_a_stop_is_filtered_out() -> None:
    events = variants()
    routing = route(stop_pattern(), events)
    assert set(routing.delivered) == {"original"}, sorted(routing.delivered)
    assert routing.rejected == {}


@pytest.mark.parametrize("label", sorted(CLAUSE_OF))
def test_each_clause_of_the_pattern_is_load_bearing(label: str) -> None:
    """Without the clause, its variant gets through: moto really evaluates every clause, so the
    tests above would go red if the template lost one."""
    pattern = stop_pattern()
    *parents, last = CLAUSE_OF[label]
    target = pattern
    for part in parents:
        target = target[part]
    del target[last]
    routing = route(pattern, {label: variants()[label]})
    assert set(routing.delivered) == {label}
