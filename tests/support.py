"""Test data: the sample events in events/ and the public CloudTrail corpus in tests/data/."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import yaml

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"
TEMPLATE = ROOT / "template.yaml"
FORWARDER = ROOT / "templates" / "forwarder.yaml"
CORPUS_DIR = ROOT / "tests" / "data" / "corpus"

DETAIL_TYPES = {
    "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
    "AwsConsoleAction": "AWS Console Action via CloudTrail",
}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def sample_events() -> dict[str, Any]:
    return {path.name: load_json(path) for path in sorted(EVENTS_DIR.glob("*.json"))}


@cache
def sample_expectations() -> dict[str, str | None]:
    """events/ file -> key of the rule that must alert, or None, from events/README.md."""
    expected: dict[str, str | None] = {}
    for line in (EVENTS_DIR / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"`[\w.-]+\.json`", cells[0]):
            alerted = cells[2].startswith("`alerted`")
            expected[cells[0].strip("`")] = cells[3] if alerted else None
    return expected


def wrap_as_eventbridge(record: dict[str, Any]) -> dict[str, Any]:
    """A plain CloudTrail record as EventBridge delivers it to a rule target."""
    source = record.get("eventSource")
    service = source.split(".")[0] if isinstance(source, str) and source else "unknown"
    event_type = record.get("eventType")
    account = record.get("recipientAccountId")
    if not isinstance(account, str):
        account = (record.get("userIdentity") or {}).get("accountId", "123456789012")
    return {
        "version": "0",
        "id": "6f7c2a52-0000-4000-8000-000000000000",
        "detail-type": DETAIL_TYPES.get(event_type, "AWS API Call via CloudTrail")
        if isinstance(event_type, str)
        else "AWS API Call via CloudTrail",
        "source": f"aws.{service}",
        "account": str(account),
        "time": record.get("eventTime") or "2024-01-01T00:00:00Z",
        "region": record.get("awsRegion") or "us-east-1",
        "resources": [],
        "detail": record,
    }


@cache
def corpus_expectations() -> dict[str, tuple[str, bool]]:
    """file -> (form, alerts?) from the table in tests/data/corpus/SOURCES.md."""
    table = (CORPUS_DIR / "SOURCES.md").read_text(encoding="utf-8")
    expectations: dict[str, tuple[str, bool]] = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"[\w.-]+\.json", cells[0]):
            form, expected = cells[1], cells[4]
            expectations[cells[0]] = (form, expected.startswith("alert"))
    return expectations


# SOURCES.md gives the stopped-recorder rule's verdict; these files alert under the rules the
# catalogue added since (successful DeleteDeliveryChannel calls: AWS Config Resource Deletion).
CATALOGUE_ALERTS = {
    "awsdocs_delete_delivery_channel_iamuser.json": "config_resource_deletion",
    "panther_delete_delivery_channel_assumedrole.json": "config_resource_deletion",
}


def corpus_events() -> dict[str, tuple[Any, str | None]]:
    """file -> (EventBridge event, key of the rule that must alert or None), wrapping plain
    records as EventBridge does."""
    events: dict[str, tuple[Any, str | None]] = {}
    for name, (form, alerts) in corpus_expectations().items():
        data = load_json(CORPUS_DIR / name)
        event = data if "envelope" in form.lower() else wrap_as_eventbridge(data)
        events[name] = (event, "stopped_recorder" if alerts else CATALOGUE_ALERTS.get(name))
    return events


class Intrinsic(dict[str, Any]):
    """A CloudFormation short-form tag (!Ref, !GetAtt, ...) as its long form."""


class TemplateLoader(yaml.SafeLoader):
    """YAML loader that accepts CloudFormation's short-form intrinsic functions."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Intrinsic:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return Intrinsic({name: value})


TemplateLoader.add_multi_constructor("!", _intrinsic)


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """A CloudFormation template as data (template.yaml by default), intrinsic functions in
    their long (JSON) form."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=TemplateLoader)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler for test servers: no access log on stderr."""

    def log_message(self, *_: Any) -> None:
        pass

    def reply(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 for the test's duration; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fake_aws_credentials(monkeypatch: Any, region: str = "us-east-1") -> None:
    """moto's fake credentials in the environment, never a real profile."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
    }.items():
        monkeypatch.setenv(name, value)


def topic_with_queue(region: str, topic: str = "alerts", queue: str = "inbox") -> tuple[str, str]:
    """Inside moto: an SNS topic with an SQS subscriber, as a SIEM would subscribe.
    Returns the topic ARN and the queue URL."""
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
    return topic_arn, queue_url


def sns_delivers(message: dict[str, str], protocol: str) -> str:
    """What SNS sends a subscription of `protocol` from a `MessageStructure=json` message:
    the protocol's own key, else `default` (the SNS Publish API; moto does the same)."""
    return message.get(protocol, message["default"])


def member_session(account: str, role: str, region: str) -> boto3.Session:
    """Inside moto: a session in another account through its member role (moto derives the
    account from the assumed role, so MOTO_ACCOUNT_ID must be unset)."""
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="test-setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
