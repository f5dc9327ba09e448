"""Fixtures for the capture path: fake AWS credentials, moto, fake Lambda context, events."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from ddb_cdc.handlers import stream_to_firehose, stream_to_s3
from moto import mock_aws

from .support import REGION

EVENTS = Path(__file__).parent / "events"
TABLE = "sensors"
BUCKET = "cdc-bucket"
QUEUE = "cdc-dlq"


@dataclass
class FakeContext:
    """What the handlers use of the Lambda context object."""

    remaining_ms: int = 300_000
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"
    function_name: str = "cdc-writer"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region for every test, and fresh handler runtimes.

    The handlers build their clients once per container; between tests that cache must
    go, or a client bound to an earlier test's environment would be reused.
    """
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # Current boto3 routes calls through account-based endpoints, which moto's
        # in-process DynamoDB Streams mock does not answer (every call 404s).
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    stream_to_s3._runtime.cache_clear()
    stream_to_firehose._runtime.cache_clear()
    yield
    stream_to_s3._runtime.cache_clear()
    stream_to_firehose._runtime.cache_clear()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    """A fresh copy of a JSON event fixture from tests/capture/events/."""

    def load(name: str) -> dict[str, Any]:
        return copy.deepcopy(json.loads((EVENTS / name).read_text(encoding="utf-8")))

    return load


@pytest.fixture
def s3_writer_env(aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A bucket and a DLQ in moto, and the stream->S3 writer's environment pointing at them."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName=QUEUE)["QueueUrl"]
    env = {
        "CDC_BUCKET": BUCKET,
        "CDC_PREFIX": "cdc/prod",
        "CDC_TABLE_NAME": TABLE,
        "CDC_DLQ_URL": queue_url,
        "LOG_LEVEL": "INFO",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def dlq_messages(aws: None) -> Callable[[str], list[dict[str, Any]]]:
    """Drain a queue and return its message bodies parsed as JSON."""

    def drain(queue_url: str) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=REGION)
        bodies: list[dict[str, Any]] = []
        while True:
            response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = response.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    return drain
