"""The stream->Firehose writer: limits, partial-failure retries, and where the shard resumes."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from ddb_cdc import adapters, capture, layout, obs
from ddb_cdc.config import ConfigError, StreamToFirehoseConfig
from ddb_cdc.handlers import stream_to_firehose

from .conftest import BUCKET, TABLE, FakeContext
from .support import REGION, loads_exact, read_envelopes, stream_record

ErrorRule = Callable[[int, bytes], str | None]


class FakeFirehose:
    """PutRecordBatch that rejects the entries ``fail(call_number, data)`` names, or throttles calls."""

    def __init__(self, fail: ErrorRule | None = None, throttle_calls: frozenset[int] = frozenset()) -> None:
        self.fail = fail
        self.throttle_calls = throttle_calls
        self.calls: list[list[bytes]] = []
        self.accepted: list[bytes] = []

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        call = len(self.calls)
        batch = [record["Data"] for record in Records]
        self.calls.append(batch)
        if call in self.throttle_calls:
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailableException", "Message": "Slow down."}}, "PutRecordBatch"
            )
        responses = []
        for data in batch:
            code = self.fail(call, data) if self.fail else None
            if code:
                responses.append({"ErrorCode": code, "ErrorMessage": "try again"})
            else:
                responses.append({"RecordId": f"r{len(self.accepted)}"})
                self.accepted.append(data)
        failed = sum("ErrorCode" in response for response in responses)
        return {"FailedPutCount": failed, "Encrypted": False, "RequestResponses": responses}


class FakeSqs:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, str]:
        assert len(MessageBody.encode()) <= 256 * 1024
        self.bodies.append(json.loads(MessageBody))
        return {"MessageId": str(len(self.bodies))}


class Recorder:
    """Fake sleep that also spends the fake context's remaining time."""

    def __init__(self, context: FakeContext) -> None:
        self.context = context
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.context.remaining_ms -= int(seconds * 1000)


def runtime(
    firehose: FakeFirehose, sqs: FakeSqs, spill: adapters.ObjectStore | None = None
) -> stream_to_firehose.Runtime:
    config = StreamToFirehoseConfig(
        delivery_stream="cdc-stream",
        table_name=TABLE,
        dlq_url="https://sqs.us-east-1.amazonaws.com/123456789012/cdc-dlq",
        log_level="INFO",
        spill_bucket=spill.bucket if spill else None,
        prefix="cdc",
    )
    return stream_to_firehose.Runtime(
        config=config,
        stream=adapters.DeliveryStream(firehose, config.delivery_stream),
        dlq=adapters.MessageQueue(sqs, config.dlq_url),
        spill=spill,
        logger=obs.configure("INFO"),
    )


def batch(count: int, *, payload: str = "", start: int = 1) -> dict[str, Any]:
    records = []
    for number in range(start, start + count):
        key = {"id": {"S": f"k{number}"}}
        records.append(
            stream_record(
                "INSERT",
                key,
                new_image={**key, "payload": {"S": payload}},
                sequence_number=str(10**20 + number),
                event_id=f"e{number}",
            )
        )
    return {"Records": records}


def event_id(data: bytes) -> str:
    return loads_exact(data)["event_id"]


def process(event: dict[str, Any], context: FakeContext, rt: stream_to_firehose.Runtime) -> Any:
    return stream_to_firehose.process(event, context, rt, sleep=Recorder(context), jitter=lambda: 1.0)


def test_every_record_is_sent_as_one_envelope_line(context: FakeContext) -> None:
    firehose, sqs = FakeFirehose(), FakeSqs()
    assert process(batch(3), context, runtime(firehose, sqs)) == {"batchItemFailures": []}
    assert [event_id(data) for data in firehose.accepted] == ["e1", "e2", "e3"]
    assert all(data.endswith(b"}\n") and data.count(b"\n") == 1 for data in firehose.accepted)


def test_calls_split_at_500_records(context: FakeContext) -> None:
    firehose = FakeFirehose()
    process(batch(1201), context, runtime(firehose, FakeSqs()))
    assert [len(call) for call in firehose.calls] == [500, 500, 201]
    assert [event_id(d) for d in firehose.accepted] == [f"e{n}" for n in range(1, 1202)]


def test_calls_split_before_4_mib(context: FakeContext) -> None:
    firehose = FakeFirehose()
    process(batch(5, payload="x" * 1_000_000), context, runtime(firehose, FakeSqs()))
    sizes = [sum(len(data) for data in call) for call in firehose.calls]
    assert [len(call) for call in firehose.calls] == [4, 1]
    assert all(size <= capture.FIREHOSE_MAX_BATCH_BYTES for size in sizes)
    assert sizes[0] + len(firehose.calls[1][0]) > capture.FIREHOSE_MAX_BATCH_BYTES


def test_chunking_respects_both_limits_at_once() -> None:
    small = [capture.FirehoseRecord(str(n), b"x" * 10) for n in range(501)]
    large = [capture.FirehoseRecord(str(n), b"x" * 1_000_000) for n in range(9)]
    assert [len(c) for c in capture.firehose_chunks(small + large + small[:3])] == [500, 5, 4, 4]


def test_envelope_over_1000_kib_is_quarantined_whole_never_truncated(context: FakeContext) -> None:
    # 100,000 four-byte characters: a legal 400 KB item whose ASCII-escaped envelope is 1.2 MB.
    firehose, sqs = FakeFirehose(), FakeSqs()
    event = batch(3)
    event["Records"][1]["dynamodb"]["NewImage"]["payload"] = {"S": "😀" * 100_000}
    assert process(event, context, runtime(firehose, sqs)) == {"batchItemFailures": []}

    assert [event_id(d) for d in firehose.accepted] == ["e1", "e3"]
    parts = sorted((m for m in sqs.bodies), key=lambda m: m["part"])
    (reason,) = {m["reason"] for m in parts}
    match = re.fullmatch(r"envelope is (\d+) bytes, over Firehose's 1,000 KiB record limit", reason)
    assert match is not None
    size = int(match[1])
    assert size > capture.FIREHOSE_MAX_RECORD_BYTES
    assert [m["part"] for m in parts] == list(range(1, parts[0]["parts"] + 1))
    assert {m["event_id"] for m in parts} == {"e2"} and {m["seq"] for m in parts} == {str(10**20 + 2)}
    assert json.loads("".join(m["record_json_part"] for m in parts)) == event["Records"][1]
    assert parts[0]["record_size"] == sum(len(m["record_json_part"]) for m in parts)


def test_an_envelope_too_big_for_firehose_is_written_to_the_raw_prefix_alone(
    aws: None, context: FakeContext
) -> None:
    """A valid 400 KB item whose escaped envelope is over Firehose's 1,000 KiB record limit
    is stored, not quarantined: one raw object of its own, named like a one-record batch."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    firehose, sqs = FakeFirehose(), FakeSqs()
    event = batch(2)
    event["Records"][0]["dynamodb"]["NewImage"]["payload"] = {"S": "😀" * 100_000}
    assert process(event, context, runtime(firehose, sqs, adapters.ObjectStore(s3, BUCKET))) == {
        "batchItemFailures": []
    }

    assert sqs.bodies == []
    assert [event_id(d) for d in firehose.accepted] == ["e2"]
    [key] = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    parsed = layout.parse_object_key(key)
    assert (parsed.area, parsed.table) == (layout.RAW, "sensors") and key.startswith(
        "cdc/raw/sensors/2025/11/27/03/"
    )
    [line] = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode().splitlines()
    assert json.loads(line)["event_id"] == "e1"
    # A retried batch rewrites the same key.
    process(event, context, runtime(FakeFirehose(), FakeSqs(), adapters.ObjectStore(s3, BUCKET)))
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]


def test_only_the_failed_entries_are_retried(context: FakeContext) -> None:
    def fail_first_call(call: int, data: bytes) -> str | None:
        return "ServiceUnavailableException" if call == 0 and event_id(data) in {"e3", "e7"} else None

    firehose = FakeFirehose(fail=fail_first_call)
    sleep = Recorder(context)
    result = stream_to_firehose.process(
        batch(10), context, runtime(firehose, FakeSqs()), sleep=sleep, jitter=lambda: 0.5
    )

    assert result == {"batchItemFailures": []}
    assert [event_id(d) for d in firehose.calls[1]] == ["e3", "e7"]
    assert sorted(event_id(d) for d in firehose.accepted) == sorted(f"e{n}" for n in range(1, 11))
    assert sleep.sleeps == [0.05]  # full jitter: 0.5 of the first 0.1 s step


def test_a_throttled_call_counts_as_all_failed_and_is_retried(context: FakeContext) -> None:
    firehose = FakeFirehose(throttle_calls=frozenset({0}))
    assert process(batch(4), context, runtime(firehose, FakeSqs())) == {"batchItemFailures": []}
    assert [len(call) for call in firehose.calls] == [4, 4]
    assert [event_id(d) for d in firehose.accepted] == ["e1", "e2", "e3", "e4"]


def test_lasting_failure_reports_the_first_unfinished_record_and_sends_nothing_after_it(
    context: FakeContext,
) -> None:
    def always_fail(_call: int, data: bytes) -> str | None:
        return "InternalFailure" if event_id(data) in {"e7", "e4"} else None

    firehose = FakeFirehose(fail=always_fail)
    sleep = Recorder(context)
    result = stream_to_firehose.process(
        batch(600), context, runtime(firehose, FakeSqs()), sleep=sleep, jitter=lambda: 1.0
    )

    assert result == {"batchItemFailures": [{"itemIdentifier": str(10**20 + 4)}]}
    assert len(firehose.calls) == capture.DEFAULT_RETRY.max_attempts  # the second chunk never went out
    assert sleep.sleeps == [0.1, 0.2, 0.4, 0.8, 1.6]  # exponential, bounded by max_attempts


def test_backoff_never_sleeps_past_the_lambda_deadline(context: FakeContext) -> None:
    context.remaining_ms = 3_350
    firehose = FakeFirehose(
        fail=lambda _call, data: "ServiceUnavailableException" if event_id(data) == "e2" else None
    )
    sleep = Recorder(context)
    result = stream_to_firehose.process(
        batch(3), context, runtime(firehose, FakeSqs()), sleep=sleep, jitter=lambda: 1.0
    )

    assert result == {"batchItemFailures": [{"itemIdentifier": str(10**20 + 2)}]}
    assert sleep.sleeps == [0.1, 0.2]  # a third backoff (0.4 s) would eat into the reserved time
    assert context.remaining_ms > capture.DEFAULT_RETRY.reserve_ms


def test_no_call_starts_when_the_invocation_is_nearly_out_of_time(context: FakeContext) -> None:
    context.remaining_ms = 2_000
    firehose = FakeFirehose()
    result = process(batch(3), context, runtime(firehose, FakeSqs()))
    assert result == {"batchItemFailures": [{"itemIdentifier": str(10**20 + 1)}]}
    assert firehose.calls == []


def test_non_retryable_firehose_error_raises(context: FakeContext) -> None:
    class MissingStream(FakeFirehose):
        def put_record_batch(
            self, DeliveryStreamName: str, Records: list[dict[str, bytes]]
        ) -> dict[str, Any]:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "PutRecordBatch"
            )

    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        process(batch(1), context, runtime(MissingStream(), FakeSqs()))


def test_poison_record_is_quarantined_and_the_others_delivered(
    load_event: Callable[[str], Any], context: FakeContext
) -> None:
    firehose, sqs = FakeFirehose(), FakeSqs()
    event = load_event("poison_batch.json")
    assert process(event, context, runtime(firehose, sqs)) == {"batchItemFailures": []}
    assert [event_id(d) for d in firehose.accepted] == [
        event["Records"][0]["eventID"],
        event["Records"][2]["eventID"],
    ]
    (message,) = sqs.bodies
    assert message["record"] == event["Records"][1] and "unknown DynamoDB type tag" in message["reason"]


def test_missing_delivery_stream_setting_fails_the_invocation(
    context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDC_TABLE_NAME", TABLE)
    monkeypatch.setenv("CDC_DLQ_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cdc-dlq")
    with pytest.raises(ConfigError, match="CDC_DELIVERY_STREAM is required"):
        stream_to_firehose.handler({"Records": []}, context)


def test_handler_delivers_through_moto_firehose_into_s3(
    aws: None, load_event: Callable[[str], Any], context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="dlq")["QueueUrl"]
    boto3.client("firehose", region_name=REGION).create_delivery_stream(
        DeliveryStreamName="cdc-stream",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{BUCKET}",
            "Prefix": "cdc/raw/sensors/",
        },
    )
    for name, value in {
        "CDC_DELIVERY_STREAM": "cdc-stream",
        "CDC_TABLE_NAME": TABLE,
        "CDC_DLQ_URL": queue_url,
    }.items():
        monkeypatch.setenv(name, value)

    event = load_event("insert_modify_remove.json")
    assert stream_to_firehose.handler(event, context) == {"batchItemFailures": []}

    keys = [entry["Key"] for entry in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    body = b"".join(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in sorted(keys))
    envelopes = read_envelopes(body, gzipped=False)  # moto writes each put uncompressed
    assert [e["event_id"] for e in envelopes] == [r["eventID"] for r in event["Records"]]
