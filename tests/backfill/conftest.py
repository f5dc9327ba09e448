"""Fixtures for the backfill: moto, a fake clock that never sleeps, a fake Lambda context."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from ddb_cdc import adapters, obs
from ddb_cdc.backfill import scan
from ddb_cdc.backfill.config import BackfillConfig
from ddb_cdc.handlers import backfill_checkpoint, backfill_export, backfill_scan
from moto import mock_aws

REGION = "us-east-1"
TABLE = "orders"
BUCKET = "cdc-bucket"
PREFIX = "cdc/prod"
CURSORS = "orders-backfill-cursors"
MAPPING = "5f1c6a1e-0000-4000-8000-000000000001"
SCAN_ID = "20261130T010203Za1b2c3"
HOUR_MS = 1_796_000_400_000  # 2026-11-30T01:00:00Z


class FakeClock:
    """Monotonic seconds that move only when told (or when something sleeps)."""

    def __init__(self, wall_ms: int = HOUR_MS + 123_000) -> None:
        self.seconds = 0.0
        self.wall_ms = wall_ms
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.seconds

    def now_ms(self) -> int:
        return self.wall_ms + int(self.seconds * 1000)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.seconds += seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds

    def as_clock(self) -> scan.Clock:
        return scan.Clock(now_ms=self.now_ms, monotonic=self.monotonic, sleep=self.sleep)


@dataclass
class FakeContext:
    """A Lambda context whose remaining time runs on the fake clock."""

    clock: FakeClock
    timeout_ms: int = 900_000
    function_name: str = "orders-backfill"
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock.seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_ms - (self.clock.seconds - self.started) * 1000)


class FakeLambda:
    """Only get_event_source_mapping. moto can create a mapping only for a function it
    can build (a role, a zip) on a real stream ARN; the check reads nothing but State."""

    def __init__(self, state: str = "Enabled") -> None:
        self.state = state
        self.calls = 0

    def get_event_source_mapping(self, UUID: str) -> dict[str, Any]:  # boto3's spelling
        self.calls += 1
        assert UUID == MAPPING
        return {"UUID": UUID, "State": self.state}


class SlowScans:
    """Wraps a DynamoDB client: every Scan advances the fake clock and is recorded."""

    def __init__(self, client: Any, clock: FakeClock, seconds_per_page: float = 0.0) -> None:
        self._client = client
        self.clock = clock
        self.seconds_per_page = seconds_per_page
        self.requests: list[dict[str, Any]] = []
        self.fail_with: Exception | None = None
        self.strip_segments = False

    def scan(self, **request: Any) -> Any:
        self.requests.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        sent = dict(request)
        if self.strip_segments:
            assert sent.pop("TotalSegments") == 1
            sent.pop("Segment")
        response = self._client.scan(**sent)
        self.clock.advance(self.seconds_per_page)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def env(**overrides: str) -> dict[str, str]:
    values = {
        "CDC_TABLE_NAME": TABLE,
        "CDC_BUCKET": BUCKET,
        "CDC_PREFIX": PREFIX,
        "LOG_LEVEL": "INFO",
        "CDC_KEY_NAMES": "pk",
        "CDC_BACKFILL_MODE": "step_functions",
        "CDC_STREAM_MAPPING_UUID": MAPPING,
        "CDC_BACKFILL_SEGMENTS": "4",
        "CDC_BACKFILL_PAGE_SIZE": "3",
        "CDC_BACKFILL_READ_UNITS_PER_SECOND": "1000",
        "CDC_BACKFILL_CURSOR_TABLE": CURSORS,
    }
    values.update(overrides)
    return values


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for module in (backfill_scan, backfill_checkpoint, backfill_export):
        module._runtime.cache_clear()
    yield
    for module in (backfill_scan, backfill_checkpoint, backfill_export):
        module._runtime.cache_clear()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield


def create_table(name: str = TABLE, key_type: str = "S", range_key: tuple[str, str] | None = None) -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": key_type}]
    if range_key is not None:
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
        attributes.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
    client.create_table(
        TableName=name, KeySchema=schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )
    return client


def cursor_table() -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName=CURSORS,
        KeySchema=[
            {"AttributeName": "scan_id", "KeyType": "HASH"},
            {"AttributeName": "segment", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "scan_id", "AttributeType": "S"},
            {"AttributeName": "segment", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return client


@dataclass
class Rig:
    """A backfill runtime over moto, with the fakes the tests steer."""

    config: BackfillConfig
    clock: FakeClock
    dynamodb: SlowScans
    lambda_client: FakeLambda
    s3: Any

    def services(self) -> scan.Services:
        return scan.Services(
            s3=self.s3,
            store=adapters.ObjectStore(self.s3, BUCKET),
            dynamodb=self.dynamodb,
            lambda_client=self.lambda_client,
        )

    def scan_runtime(self) -> backfill_scan.Runtime:
        return backfill_scan.Runtime(self.config, self.services(), self.clock.as_clock(), logger())

    def checkpoint_runtime(self) -> backfill_checkpoint.Runtime:
        return backfill_checkpoint.Runtime(self.config, self.services(), self.clock.as_clock(), logger())

    def export_runtime(self) -> backfill_export.Runtime:
        return backfill_export.Runtime(self.config, self.services(), self.clock.as_clock(), logger())

    def context(self, timeout_ms: int = 900_000) -> FakeContext:
        return FakeContext(self.clock, timeout_ms)

    def keys(self, under: str) -> list[str]:
        found: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=under):
            found.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(found)

    def raw_keys(self) -> list[str]:
        return self.keys(f"{PREFIX}/raw/")

    def envelopes(self, key: str) -> list[dict[str, Any]]:
        body = gzip.decompress(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode("ascii")
        return [json.loads(line) for line in body.splitlines()]

    def json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def logger() -> logging.Logger:
    return obs.configure("WARNING")


def make_rig(**overrides: str) -> Rig:
    clock = FakeClock()
    return Rig(
        config=BackfillConfig.from_env(env(**overrides)),
        clock=clock,
        dynamodb=SlowScans(boto3.client("dynamodb", region_name=REGION), clock),
        lambda_client=FakeLambda(),
        s3=boto3.client("s3", region_name=REGION),
    )


def put_items(items: list[dict[str, Any]], table: str = TABLE) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    for item in items:
        client.put_item(TableName=table, Item=item)


def plain_items(count: int) -> list[dict[str, Any]]:
    return [{"pk": {"S": f"k{n:04d}"}, "n": {"N": str(n)}, "tag": {"S": "x" * (n % 7)}} for n in range(count)]
