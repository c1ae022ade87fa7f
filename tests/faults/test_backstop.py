"""The backstop under faults at the AWS boundary: a notice that was not sent (the publish
failed, or the run was killed mid-send) is kept as pending in the episode store and sent once
by the next run; one decision's failure does not end the run; every client it uses has limits
that fit its reserve."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from recorder_guard import app, backstop_app
from recorder_guard.aws.clients import STATUS_CHECK_CONFIG, worst_case_seconds
from recorder_guard.aws.episodes import EpisodeStore
from recorder_guard.flows.backstop import Backstop, act_reserve_seconds
from recorder_guard.local import create_state_table
from tests.faults.boundary import FAULTS, inject
from tests.support import fake_aws_credentials, topic_with_queue

REGION = "us-east-1"
ROLE = "arn:aws:iam::111122223333:role/config"
T0 = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
BACKSTOP_TIMEOUT_SECONDS = 600  # template.yaml, BackstopFunction
READ_SHARE = 0.6  # Backstop.run reads for at most this share of the time left


class Killed(BaseException):
    """The function's timeout: nothing after it runs, no except-Exception catches it."""


def kill(_: str) -> BaseException:
    return Killed()


class World:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.config = boto3.client("config", region_name=REGION)

    def received(self) -> list[str]:
        """The notices (SQS bodies) the topic's subscriber received since the last call."""
        found: list[str] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(message["Body"])
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def stopped_recorder(self) -> None:
        self.config.put_configuration_recorder(
            ConfigurationRecorder={"name": "default", "roleARN": ROLE}
        )
        self.config.put_delivery_channel(
            DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"}
        )

    def run(self, minutes: int = 0) -> dict[str, Any]:
        backstop = Backstop(backstop_app.runtime(), now=T0 + timedelta(minutes=minutes))
        return backstop.run().summary()

    def pending(self) -> list[str | None]:
        store = EpisodeStore(boto3.client("dynamodb", region_name=REGION), "state")
        return [episode.pending for episode in store.open_episodes().values()]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    fake_aws_credentials(monkeypatch, REGION)
    with mock_aws():
        topic, queue_url = topic_with_queue(REGION)
        create_state_table(boto3.client("dynamodb", region_name=REGION), "state")
        for name, value in {
            "ALERT_TOPIC_ARN": topic,
            "STATE_TABLE_NAME": "state",
            "BACKSTOP": "true",
            "IDEMPOTENCY": "false",
        }.items():
            monkeypatch.setenv(name, value)
        backstop_app.runtime.cache_clear()
        app.runtime.cache_clear()
        yield World(queue_url)
        backstop_app.runtime.cache_clear()


def published(world: World) -> int:
    return len(world.received())


@pytest.mark.parametrize("fault", [*FAULTS, "killed"])
def test_an_alert_that_was_not_sent_is_sent_once_by_the_next_run(world: World, fault: str) -> None:
    world.stopped_recorder()
    sns = backstop_app.runtime().sns
    with inject(sns, "Publish", kill if fault == "killed" else fault) as seen:
        if fault == "killed":
            with pytest.raises(Killed):
                world.run()
        else:
            assert world.run()["failures"]
    assert seen.raised == 1
    assert published(world) == 0
    assert world.pending() == ["alert"]
    assert world.run(15)["published"] == {"alert": 1}
    assert published(world) == 1
    assert world.pending() == [None]
    assert world.run(30)["published"] == {}


@pytest.mark.parametrize("fault", [*FAULTS, "killed"])
def test_a_resolution_that_was_not_sent_is_sent_once_by_the_next_run(
    world: World, fault: str
) -> None:
    world.stopped_recorder()
    assert world.run()["published"] == {"alert": 1}
    world.received()
    world.config.start_configuration_recorder(ConfigurationRecorderName="default")
    with inject(backstop_app.runtime().sns, "Publish", kill if fault == "killed" else fault):
        if fault == "killed":
            with pytest.raises(Killed):
                world.run(15)
        else:
            assert world.run(15)["failures"]
    assert published(world) == 0
    assert world.pending() == ["resolved"]  # today's bug: the episode was already deleted
    assert world.run(30)["published"] == {"resolved": 1}
    assert world.pending() == []
    assert world.run(45)["published"] == {}


@pytest.mark.parametrize("fault", ["ReadTimeoutError", "Throttling", "AccessDenied"])
def test_a_store_failure_on_one_decision_is_reported_and_the_next_run_says_it(
    world: World, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKSTOP_REMINDER_HOURS", "1")
    backstop_app.runtime.cache_clear()
    world.stopped_recorder()
    world.run()
    world.received()
    dynamodb = backstop_app.runtime().dynamodb
    with inject(dynamodb, "UpdateItem", fault):
        summary = world.run(60)
    assert summary["failures"]  # reported (the handler raises on it), not a crash
    assert published(world) == 0
    assert world.run(75)["published"] == {"reminder": 1}


def test_every_backstop_client_fits_its_reserve(world: World) -> None:
    """The slowest possible call of each client (every attempt timing out, maximum backoff),
    as botocore applies the configs, fits the time the run keeps back for acting."""
    runtime = backstop_app.runtime()
    for client in (runtime.sns, runtime.dynamodb, runtime.config):
        applied: Any = client.meta.config  # type: ignore[union-attr]
        assert applied.connect_timeout <= 2
        assert applied.read_timeout <= 3
        assert applied.retries["total_max_attempts"] <= 3
    assert worst_case_seconds(runtime.publish_config) <= 30
    assert worst_case_seconds(STATUS_CHECK_CONFIG) <= 30
    assert act_reserve_seconds(runtime) <= BACKSTOP_TIMEOUT_SECONDS * (1 - READ_SHARE)
