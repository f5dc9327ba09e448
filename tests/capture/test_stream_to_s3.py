"""The stream->S3 writer: one deterministic object per batch, quarantine beside it, errors raise."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from ddb_cdc.config import ConfigError
from ddb_cdc.handlers import stream_to_s3

from .conftest import BUCKET, FakeContext
from .support import REGION, read_envelopes, stream_record

LABEL = "20261127T034952276"


def objects(prefix: str = "") -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name=REGION)
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {entry["Key"]: s3.get_object(Bucket=BUCKET, Key=entry["Key"])["Body"].read() for entry in listing}


def seq40(sequence_number: str) -> str:
    return sequence_number.zfill(40)


def test_batch_becomes_one_object_holding_every_change_in_stream_order(
    s3_writer_env: dict[str, str], load_event: Callable[[str], Any], context: FakeContext
) -> None:
    event = load_event("insert_modify_remove.json")
    assert stream_to_s3.handler(event, context) == {"batchItemFailures": []}

    written = objects()
    first, last = "4421584500000000017450439091", "4421584500000000017450439093"
    expected_key = f"cdc/prod/raw/sensors/2025/11/27/03/{LABEL}_{seq40(first)}_{seq40(last)}.json.gz"
    assert list(written) == [expected_key]
    envelopes = read_envelopes(written[expected_key])
    assert [e["op"] for e in envelopes] == ["INSERT", "MODIFY", "REMOVE"]
    assert [e["event_id"] for e in envelopes] == [r["eventID"] for r in event["Records"]]
    assert envelopes[1]["image"]["temp"] == Decimal("22.75")

    head = boto3.client("s3", region_name=REGION).head_object(Bucket=BUCKET, Key=expected_key)
    assert head["ContentType"] == "application/gzip"
    assert head["Metadata"] == {
        "envelope-version": "1",
        "record-count": "3",
        "first-seq": seq40(first),
        "last-seq": seq40(last),
    }


def test_hour_partition_comes_from_the_first_record_not_the_wall_clock(
    s3_writer_env: dict[str, str], load_event: Callable[[str], Any], context: FakeContext
) -> None:
    stream_to_s3.handler(load_event("hour_boundary.json"), context)
    (key,) = objects()
    assert key.startswith(
        "cdc/prod/raw/sensors/2025/11/27/03/"
    )  # 03:59:59, though the batch ends at 04:00:01


def test_retried_batch_writes_the_same_key_and_the_same_bytes(
    s3_writer_env: dict[str, str], load_event: Callable[[str], Any], context: FakeContext
) -> None:
    stream_to_s3.handler(load_event("insert_modify_remove.json"), context)
    first_attempt = objects()
    stream_to_s3._runtime.cache_clear()  # the retry may land in a fresh container
    stream_to_s3.handler(load_event("insert_modify_remove.json"), context)
    assert objects() == first_attempt
    assert len(first_attempt) == 1


def test_poison_record_is_quarantined_and_the_rest_of_the_batch_written(
    s3_writer_env: dict[str, str],
    load_event: Callable[[str], Any],
    context: FakeContext,
    dlq_messages: Callable[[str], list[dict[str, Any]]],
) -> None:
    event = load_event("poison_batch.json")
    assert stream_to_s3.handler(event, context) == {"batchItemFailures": []}

    (key,) = objects()
    assert key.endswith(
        f"_{seq40('4421584500000000017450440001')}_{seq40('4421584500000000017450440003')}.json.gz"
    )
    assert [e["event_id"] for e in read_envelopes(objects()[key])] == [
        event["Records"][0]["eventID"],
        event["Records"][2]["eventID"],
    ]
    (message,) = dlq_messages(s3_writer_env["CDC_DLQ_URL"])
    assert message == {
        "reason": "NewImage.temp: unknown DynamoDB type tag 'X'",
        "source_table": "sensors",
        "event_id": event["Records"][1]["eventID"],
        "seq": event["Records"][1]["dynamodb"]["SequenceNumber"],
        "record": event["Records"][1],
    }


def test_batch_of_only_unconvertible_records_writes_no_object(
    s3_writer_env: dict[str, str],
    load_event: Callable[[str], Any],
    context: FakeContext,
    dlq_messages: Callable[[str], list[dict[str, Any]]],
) -> None:
    event = load_event("poison_batch.json")
    event["Records"] = [event["Records"][1]]
    assert stream_to_s3.handler(event, context) == {"batchItemFailures": []}
    assert objects() == {}
    assert len(dlq_messages(s3_writer_env["CDC_DLQ_URL"])) == 1


def test_empty_batch_writes_nothing_and_succeeds(s3_writer_env: dict[str, str], context: FakeContext) -> None:
    assert stream_to_s3.handler({"Records": []}, context) == {"batchItemFailures": []}
    assert objects() == {}


def test_oversized_quarantine_goes_to_s3_and_the_dlq_gets_a_pointer(
    s3_writer_env: dict[str, str],
    context: FakeContext,
    dlq_messages: Callable[[str], list[dict[str, Any]]],
) -> None:
    big = stream_record(
        "INSERT",
        {"id": {"S": "big"}},
        new_image={"id": {"S": "big"}, "blob": {"S": "x" * 300_000}, "bad": {"Z": "?"}},
        event_id="f00dfeed",
    )
    good = stream_record(
        "INSERT", {"id": {"S": "ok"}}, new_image={"id": {"S": "ok"}}, sequence_number="100000000000000000002"
    )
    stream_to_s3.handler({"Records": [big, good]}, context)

    (pointer,) = dlq_messages(s3_writer_env["CDC_DLQ_URL"])
    quarantine_key = "cdc/prod/quarantine/sensors/2025/11/27/03/f00dfeed.json"
    assert pointer["record_s3"] == {"bucket": BUCKET, "key": quarantine_key}
    assert pointer["reason"] == "NewImage.bad: unknown DynamoDB type tag 'Z'"
    assert pointer["event_id"] == "f00dfeed" and "record" not in pointer
    stored = objects("cdc/prod/quarantine/")
    assert json.loads(stored[quarantine_key]) == big
    assert pointer["record_size"] == len(stored[quarantine_key])
    assert len(objects("cdc/prod/raw/")) == 1


def test_s3_failure_raises_so_the_mapping_retries_and_nothing_is_quarantined_twice(
    s3_writer_env: dict[str, str],
    load_event: Callable[[str], Any],
    context: FakeContext,
    dlq_messages: Callable[[str], list[dict[str, Any]]],
) -> None:
    boto3.client("s3", region_name=REGION).delete_bucket(Bucket=BUCKET)
    with pytest.raises(ClientError, match="NoSuchBucket"):
        stream_to_s3.handler(load_event("poison_batch.json"), context)
    assert (
        dlq_messages(s3_writer_env["CDC_DLQ_URL"]) == []
    )  # the object goes first; the retry will quarantine


def test_dlq_failure_raises_instead_of_dropping_the_record(
    s3_writer_env: dict[str, str], load_event: Callable[[str], Any], context: FakeContext, monkeypatch: Any
) -> None:
    missing_queue = s3_writer_env["CDC_DLQ_URL"].rsplit("/", 1)[0] + "/no-such-queue"
    monkeypatch.setenv("CDC_DLQ_URL", missing_queue)
    with pytest.raises(ClientError):
        stream_to_s3.handler(load_event("poison_batch.json"), context)


def test_missing_bucket_setting_fails_the_invocation(
    s3_writer_env: dict[str, str], load_event: Callable[[str], Any], context: FakeContext, monkeypatch: Any
) -> None:
    monkeypatch.delenv("CDC_BUCKET")
    with pytest.raises(ConfigError, match="CDC_BUCKET is required"):
        stream_to_s3.handler(load_event("insert_modify_remove.json"), context)


@pytest.mark.parametrize("prefix", ["/cdc", "cdc/", "cdc//prod", "cdc prod"])
def test_malformed_prefix_fails_the_invocation(
    s3_writer_env: dict[str, str], context: FakeContext, monkeypatch: Any, prefix: str
) -> None:
    monkeypatch.setenv("CDC_PREFIX", prefix)
    with pytest.raises(ConfigError, match="CDC_PREFIX"):
        stream_to_s3.handler({"Records": []}, context)


def test_empty_prefix_writes_at_the_bucket_root(
    s3_writer_env: dict[str, str], load_event: Callable[[str], Any], context: FakeContext, monkeypatch: Any
) -> None:
    monkeypatch.setenv("CDC_PREFIX", "")
    stream_to_s3.handler(load_event("insert_modify_remove.json"), context)
    (key,) = objects()
    assert key.startswith("raw/sensors/2025/11/27/03/")


def test_event_without_records_is_a_wiring_error(s3_writer_env: dict[str, str], context: FakeContext) -> None:
    with pytest.raises(ValueError, match="no Records list"):
        stream_to_s3.handler({"detail-type": "Scheduled Event"}, context)


def test_logs_are_json_lines_with_counts_and_key_but_no_item_contents(
    s3_writer_env: dict[str, str],
    load_event: Callable[[str], Any],
    context: FakeContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream_to_s3.handler(load_event("poison_batch.json"), context)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    captured = next(line for line in lines if line["message"] == "batch captured")
    assert captured["level"] == "INFO"
    assert captured["records_written"] == 2 and captured["records_quarantined"] == 1
    assert captured["s3_key"].startswith("cdc/prod/raw/sensors/2025/11/27/03/")
    assert captured["object_bytes"] > 0 and captured["ndjson_bytes"] > captured["object_bytes"]
    assert captured["request_id"] == context.aws_request_id
    quarantined = next(line for line in lines if line["message"] == "record quarantined")
    assert quarantined["level"] == "WARNING" and quarantined["dlq_messages"] == 1
    output = "\n".join(json.dumps(line) for line in lines)
    assert "20.4" not in output and "sensor-0001" not in output  # item contents stay out of logs


def test_records_from_another_stream_or_without_a_stream_arn_are_quarantined(
    s3_writer_env: dict[str, str],
    load_event: Callable[[str], Any],
    context: FakeContext,
    dlq_messages: Callable[[str], list[dict[str, Any]]],
) -> None:
    event = load_event("insert_modify_remove.json")
    event["Records"][1]["eventSourceARN"] = event["Records"][1]["eventSourceARN"].replace(
        "03:49:52", "04:00:00"
    )
    del event["Records"][2]["eventSourceARN"]
    stream_to_s3.handler(event, context)

    (key,) = objects()
    assert [e["op"] for e in read_envelopes(objects()[key])] == ["INSERT"]
    reasons = [message["reason"] for message in dlq_messages(s3_writer_env["CDC_DLQ_URL"])]
    assert reasons == [
        "record belongs to a different stream than its batch",
        "eventSourceARN is not a DynamoDB stream ARN",
    ]


def test_oversized_record_without_a_creation_time_is_filed_under_the_batch_hour(
    s3_writer_env: dict[str, str],
    context: FakeContext,
    dlq_messages: Callable[[str], list[dict[str, Any]]],
) -> None:
    good = stream_record("INSERT", {"id": {"S": "ok"}}, new_image={"id": {"S": "ok"}}, created=1764216001)
    broken = stream_record(
        "INSERT",
        {"id": {"S": "big"}},
        new_image={"id": {"S": "big"}, "blob": {"S": "x" * 300_000}},
        sequence_number="100000000000000000002",
        event_id="../not a key",
    )
    del broken["dynamodb"]["ApproximateCreationDateTime"]
    stream_to_s3.handler({"Records": [good, broken]}, context)

    (pointer,) = dlq_messages(s3_writer_env["CDC_DLQ_URL"])
    assert pointer["reason"] == "ApproximateCreationDateTime is not epoch seconds"
    # 04:00:01 is the good record's time; the unsafe eventID gives way to a content digest.
    assert re.fullmatch(
        r"cdc/prod/quarantine/sensors/2025/11/27/04/[0-9a-f]{64}\.json", pointer["record_s3"]["key"]
    )
