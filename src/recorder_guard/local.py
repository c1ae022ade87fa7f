"""The real handler against an embedded AWS (moto) holding what the template would create."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from recorder_guard import app

LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "123456789012"  # moto's default account
TOPIC_NAME = "recorder-guard-alerts"
LOCAL_RECORDERS = ("default",)


@dataclass
class LocalContext:
    """The LambdaContext attributes Powertools reads."""

    function_name: str = "recorder-guard-local"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = (
        f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:recorder-guard-local"
    )
    aws_request_id: str = "local-invocation"


@contextmanager
def embedded_aws() -> Iterator[list[dict[str, Any]]]:
    """moto with the stack's topic (KMS-encrypted) and a stopped recorder; yields the list
    that collects every SNS Publish request exactly as the handler sent it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "POWERTOOLS_METRICS_NAMESPACE": "RecorderGuard",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)

    with mock_aws():
        session = boto3.Session(region_name=LOCAL_REGION)
        key_id = session.client("kms").create_key(Description="recorder-guard alerts")[
            "KeyMetadata"
        ]["KeyId"]
        topic_arn = session.client("sns").create_topic(
            Name=TOPIC_NAME, Attributes={"KmsMasterKeyId": key_id}
        )["TopicArn"]
        config = session.client("config")
        role = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/aws-service-role/config.amazonaws.com/x"
        for name in LOCAL_RECORDERS:
            config.put_configuration_recorder(ConfigurationRecorder={"name": name, "roleARN": role})
        os.environ["ALERT_TOPIC_ARN"] = topic_arn
        published: list[dict[str, Any]] = []

        def capture(params: dict[str, Any], **_: Any) -> None:
            published.append(json.loads(json.dumps(params)))

        boto3.setup_default_session(region_name=LOCAL_REGION)
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("provide-client-params.sns.Publish", capture)
        yield published


def route_logs(verbose: bool) -> None:
    """The handler's JSON logs go to stderr, and only with --verbose, so that stdout carries
    exactly what the CLI promises and a rejected event prints one line."""
    logger = logging.getLogger("recorder-guard")
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    logger.setLevel(logging.INFO if verbose else logging.CRITICAL + 1)


def invoke(event: object, *, verbose: bool = False) -> dict[str, Any]:
    """Run the Lambda handler once inside `embedded_aws()`; returns the contract's object."""
    route_logs(verbose)
    # EMF metrics are printed to stdout by Powertools: shown on stderr with --verbose only.
    metrics_sink = sys.stderr if verbose else io.StringIO()
    with embedded_aws() as published:
        app.runtime.cache_clear()
        try:
            with redirect_stdout(metrics_sink):
                summary = app.handler(event, LocalContext())
        finally:
            app.runtime.cache_clear()
    return {
        "outcome": summary["outcome"],
        "reason": summary["reason"],
        "event_id": summary.get("event_id"),
        "recorder_state": summary.get("recorder_state"),
        "published": published,
        "remediation": None,
    }
