"""Generator -> DynamoDB stream -> Lambda-shaped events -> writers, all in moto.

Replaying the envelopes (latest per key, removes delete) must give back exactly what
the table holds: that is the capture half of "the result is exactly what the source holds".
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest
from ddb_cdc import generator, layout
from ddb_cdc.envelope import item_to_json, key_string
from ddb_cdc.handlers import stream_to_firehose, stream_to_s3

from .conftest import BUCKET, TABLE, FakeContext
from .support import REGION, create_table, lambda_event, loads_exact, read_envelopes, scan_all, stream_events

# CPU-bound, among the main thread's longest tests (make test at 2094115: 2 tests, 75 s): beside the suite in a pytest
# process of their own (tests/rig/own_process.py), so their minutes overlap the demos'.
RUN_IN_OWN_PROCESS = True

LAMBDA_BATCH_SIZE = 100


def generate(client: Any) -> tuple[generator.Summary, list[dict[str, Any]], str]:
    summary = generator.run(
        client,
        generator.Options(
            table=TABLE, items=260, update_share=0.25, delete_share=0.15, profile="mixed", seed=11
        ),
    )
    stream_arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    return summary, list(stream_events(client, TABLE)), stream_arn


def replay(envelopes: list[dict[str, Any]]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for envelope in sorted(envelopes, key=lambda e: e["seq"]):
        if envelope["op"] == "REMOVE":
            state.pop(envelope["key_string"], None)
        else:
            state[envelope["key_string"]] = envelope["image"]
    return state


def table_state(client: Any) -> dict[str, Any]:
    return {
        key_string({"id": item["id"]}): loads_exact(item_to_json(item)) for item in scan_all(client, TABLE)
    }


def lambda_batches(records: list[dict[str, Any]], stream_arn: str) -> list[dict[str, Any]]:
    return [
        lambda_event(records[start : start + LAMBDA_BATCH_SIZE], stream_arn)
        for start in range(0, len(records), LAMBDA_BATCH_SIZE)
    ]


def test_every_change_becomes_exactly_one_envelope_in_order_through_the_s3_writer(
    s3_writer_env: dict[str, str], context: FakeContext
) -> None:
    client = create_table(TABLE, [("id", "S", "HASH")])
    summary, records, stream_arn = generate(client)
    assert len(records) == summary.operations

    for event in lambda_batches(records, stream_arn):
        assert stream_to_s3.handler(event, context) == {"batchItemFailures": []}

    s3 = boto3.client("s3", region_name=REGION)
    keys = [entry["Key"] for entry in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == -(-len(records) // LAMBDA_BATCH_SIZE)  # one object per batch
    # Objects in stream order: by the first sequence token in their name.
    keys.sort(key=lambda key: layout.parse_object_key(key).name.split("_")[1])
    envelopes = [
        e for key in keys for e in read_envelopes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    ]

    assert [e["event_id"] for e in envelopes] == [r["eventID"] for r in records]
    assert [e["seq"] for e in envelopes] == sorted(e["seq"] for e in envelopes)
    assert len({e["seq"] for e in envelopes}) == len(envelopes)
    assert Counter(e["op"] for e in envelopes) == {
        "INSERT": summary.puts,
        "MODIFY": summary.updates,
        "REMOVE": summary.deletes,
    }
    assert replay(envelopes) == table_state(client)


def test_every_change_arrives_once_through_the_firehose_writer(
    aws: None, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="dlq")["QueueUrl"]
    boto3.client("firehose", region_name=REGION).create_delivery_stream(
        DeliveryStreamName="cdc-stream",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{BUCKET}",
            "Prefix": "raw/",
        },
    )
    monkeypatch.setenv("CDC_DELIVERY_STREAM", "cdc-stream")
    monkeypatch.setenv("CDC_TABLE_NAME", TABLE)
    monkeypatch.setenv("CDC_DLQ_URL", queue_url)
    client = create_table(TABLE, [("id", "S", "HASH")])
    summary, records, stream_arn = generate(client)

    for event in lambda_batches(records, stream_arn):
        assert stream_to_firehose.handler(event, context) == {"batchItemFailures": []}

    bodies = [
        s3.get_object(Bucket=BUCKET, Key=entry["Key"])["Body"].read()
        for entry in s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    ]
    envelopes = [e for body in bodies for e in read_envelopes(body, gzipped=False)]
    # Firehose does not promise order across puts; the sequence token restores it.
    envelopes.sort(key=lambda e: e["seq"])
    assert [e["event_id"] for e in envelopes] == [r["eventID"] for r in records]
    assert replay(envelopes) == table_state(client)
    assert len(envelopes) == summary.operations
