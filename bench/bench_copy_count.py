"""COPY statements per hour: SQS batching window (one load per window) vs one COPY per file.

Simulates 100 new change files per minute for an hour. Each file's S3 notification
reaches the loader queue; the Lambda event source mapping delivers a batch when the
batching window (300 s) ends, the batch size (10,000) is reached or the payload nears
6 MB. Every batch goes through the real loader core (``LoaderService.run_s3_event``:
event parsing, ledger look-up, manifest, ``render_load``) with an executor that only
counts statements, and in-memory stand-ins for S3, SNS and CloudWatch so the run takes
seconds. The baseline is the seed lab's shape: one invocation, and one COPY, per file.

    python bench/bench_copy_count.py [--files-per-minute 100] [--minutes 60] [--window 300]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from ddb_cdc import layout
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import Submission
from ddb_cdc.loader.files import CdcFiles
from ddb_cdc.loader.service import Alerts, LoaderService, Metrics

BUCKET = "cdc-bucket"
PREFIX = "cdc"
TABLE = "orders"
START_S = 1_795_752_000  # 2026-11-27T04:00:00Z
BATCH_SIZE = 10_000  # the maximum for a standard queue with a batching window
PAYLOAD_LIMIT = 6 * 1024 * 1024  # Lambda's synchronous invocation payload


class MemoryS3:
    """The few S3 calls the loader makes, in memory."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.objects[Key] = Body

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        return {"LastModified": datetime.fromtimestamp(START_S, UTC)}

    def get_paginator(self, _name: str) -> MemoryS3:
        return self

    def paginate(self, *, Bucket: str, Prefix: str) -> list[dict[str, Any]]:
        return [{"Contents": [{"Key": key} for key in sorted(self.objects) if key.startswith(Prefix)]}]

    def list_objects_v2(
        self, *, Bucket: str, Prefix: str, MaxKeys: int = 1000, StartAfter: str = "", **_: Any
    ) -> dict[str, Any]:
        keys = [key for key in sorted(self.objects) if key.startswith(Prefix) and key > StartAfter]
        return {
            "Contents": [
                {"Key": key, "LastModified": datetime.fromtimestamp(START_S, UTC)} for key in keys[:MaxKeys]
            ],
            "IsTruncated": len(keys) > MaxKeys,
        }

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "missing"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}


class Sink:
    def publish(self, **_: Any) -> None:
        pass

    def put_metric_data(self, **_: Any) -> None:
        pass


class CountingExecutor:
    def __init__(self) -> None:
        self.copies = 0
        self.transactions = 0

    def run(self, statements: Sequence[str], *, name: str | None = None) -> Submission:
        self.transactions += 1
        self.copies += sum(1 for statement in statements if statement.startswith("COPY "))
        return Submission("submitted", name)

    def query(self, sql: str, params: Mapping[str, str] | None = None) -> list[tuple[Any, ...]]:
        return []  # nothing is ledgered yet: every file in the simulation is new


def notification(key: str, second: int) -> dict[str, Any]:
    body = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(second)),
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": 4096}},
            }
        ]
    }
    return {"messageId": key, "eventSource": "aws:sqs", "body": json.dumps(body)}


def batches(
    arrivals: list[tuple[int, dict[str, Any]]], window_s: int, batch_size: int
) -> list[list[dict[str, Any]]]:
    """Group messages the way the event source mapping does (window, count, payload)."""
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    opened = 0
    size = 0
    for second, message in arrivals:
        length = len(json.dumps(message))
        if current and (
            second - opened >= window_s or len(current) >= batch_size or size + length > PAYLOAD_LIMIT
        ):
            groups.append(current)
            current, size = [], 0
        if not current:
            opened = second
        current.append(message)
        size += length
    if current:
        groups.append(current)
    return groups


def simulate(files_per_minute: int, minutes: int, window_s: int, batch_size: int) -> tuple[int, int, float]:
    config = LoaderConfig.from_env(
        {
            "CDC_BUCKET": BUCKET,
            "CDC_PREFIX": PREFIX,
            "CDC_TABLE_NAME": TABLE,
            "CDC_TARGET_SPEC": json.dumps(
                {"schema": "cdc", "table": TABLE, "keys": [{"name": "id", "type": "S"}]}
            ),
            "CDC_COPY_ROLE_ARN": "arn:aws:iam::123456789012:role/cdc-copy",
            "CDC_REDSHIFT_DATABASE": "dev",
            "CDC_REDSHIFT_WORKGROUP": "cdc",
        }
    )
    logger = logging.getLogger("bench.copy_count")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    executor = CountingExecutor()
    service = LoaderService(
        config,
        executor=executor,
        files=CdcFiles(MemoryS3(), BUCKET, PREFIX, TABLE),
        alerts=Alerts(Sink(), None, logger),
        metrics=Metrics(Sink(), config.metric_namespace, TABLE),
        logger=logger,
    )
    arrivals = []
    for index in range(files_per_minute * minutes):
        second = START_S + index * 60 // files_per_minute
        name = f"shard{index:06d}"
        arrivals.append(
            (second, notification(layout.raw_object_key(PREFIX, TABLE, second * 1000, name), second))
        )
    started = time.perf_counter()
    for group in batches(arrivals, window_s, batch_size):
        service.run_s3_event({"Records": group})
    elapsed = time.perf_counter() - started
    return executor.copies, len(arrivals), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files-per-minute", type=int, default=100)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--window", type=int, default=300, help="batching window in seconds")
    args = parser.parse_args()
    batched, files, elapsed = simulate(args.files_per_minute, args.minutes, args.window, BATCH_SIZE)
    per_file = files  # one invocation and one COPY per file
    print(f"files arriving:                 {files} ({args.files_per_minute}/min for {args.minutes} min)")
    print(f"COPY with a {args.window} s window:        {batched}")
    print(f"COPY with one per file:         {per_file}")
    print(f"reduction:                      {per_file / max(batched, 1):.0f}x fewer COPY statements")
    print(f"loader core time (batched run): {elapsed:.2f} s")


if __name__ == "__main__":
    main()
