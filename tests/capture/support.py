"""Helpers shared by the capture tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import boto3
from ddb_cdc.envelope import MAX_SUPER_STRING_BYTES, string_parts

REGION = "us-east-1"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/sensors/stream/2026-11-27T03:49:52.276"


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON keeping every digit: fractions and exponents become Decimal, integers int."""
    return json.loads(text, parse_float=Decimal)


def read_envelopes(body: bytes, *, gzipped: bool = True) -> list[dict[str, Any]]:
    data = gzip.decompress(body) if gzipped else body
    text = data.decode("ascii")  # the writers emit ASCII-only JSON
    assert text.endswith("\n")
    return [loads_exact(line) for line in text.splitlines()]


def _bytes_of(value: Any) -> bytes:
    return bytes(value) if isinstance(value, bytes | bytearray) else base64.b64decode(value, validate=True)


def exact_decimal(number: Any) -> Decimal:
    """A number parsed by :func:`loads_exact` (int or Decimal) as a Decimal."""
    assert isinstance(number, int | Decimal) and not isinstance(number, bool)
    return Decimal(number)


def stored_string(text: str) -> Any:
    """What the image holds for a string: itself, or its ``S*`` parts when it holds NUL
    or is over SUPER's 65,535 bytes (envelope.py)."""
    if "\x00" in text or len(text.encode("utf-8")) > MAX_SUPER_STRING_BYTES:
        return string_parts(text)
    return text


def assert_lossless(
    attr: Mapping[str, Any], plain: Any, number: Callable[[Any], Decimal] = exact_decimal
) -> None:
    """Assert that ``plain`` (parsed with :func:`loads_exact`) carries exactly ``attr``.

    Plain JSON cannot say which DynamoDB type a value had, so the inverse is a
    comparison: equal decimal values for N, equal bytes for B, equal sorted sets.
    ``number`` turns a parsed number into the Decimal it stands for.
    """
    ((tag, value),) = attr.items()
    if tag == "S":
        assert plain == stored_string(value)
    elif tag == "N":
        assert number(plain) == Decimal(value)
    elif tag == "B":
        assert _bytes_of(plain) == _bytes_of(value)
    elif tag == "BOOL":
        assert plain is value
    elif tag == "NULL":
        assert plain is None
    elif tag == "M":
        assert isinstance(plain, dict) and plain.keys() == value.keys()
        for name, inner in value.items():
            assert_lossless(inner, plain[name], number)
    elif tag == "L":
        assert isinstance(plain, list) and len(plain) == len(value)
        for inner, out in zip(value, plain, strict=True):
            assert_lossless(inner, out, number)
    elif tag == "SS":
        assert plain == [stored_string(member) for member in sorted(value)]
    elif tag == "NS":
        numbers = [number(member) for member in plain]
        assert numbers == sorted(Decimal(member) for member in value)
    elif tag == "BS":
        assert [_bytes_of(member) for member in plain] == sorted(_bytes_of(member) for member in value)
    else:
        raise AssertionError(f"unexpected tag {tag}")


def assert_item_lossless(
    item: Mapping[str, Any], plain: Any, number: Callable[[Any], Decimal] = exact_decimal
) -> None:
    assert_lossless({"M": item}, plain, number)


def _json_ready(value: Any) -> Any:
    # boto3 hands binary over as bytes; Lambda delivers it base64-encoded.
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: _json_ready(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_json_ready(inner) for inner in value]
    return value


def lambda_event(stream_records: Iterable[Mapping[str, Any]], stream_arn: str) -> dict[str, Any]:
    """Shape DynamoDB Streams GetRecords output exactly like Lambda's event for a stream mapping.

    ApproximateCreationDateTime becomes epoch seconds (the API documents it rounded down
    to the second), binary becomes base64, and eventSourceARN is added; the result goes
    through a JSON round trip as the real event does.
    """
    records = []
    for record in stream_records:
        dynamodb = dict(record["dynamodb"])
        created = dynamodb["ApproximateCreationDateTime"]
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
        records.append(
            {
                "eventID": record["eventID"],
                "eventName": record["eventName"],
                "eventVersion": record.get("eventVersion", "1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": record.get("awsRegion", "us-east-1"),
                "dynamodb": dynamodb,
                "eventSourceARN": stream_arn,
            }
        )
    return json.loads(json.dumps(_json_ready({"Records": records})))


def stream_record(
    event_name: str,
    keys: dict[str, Any],
    *,
    new_image: dict[str, Any] | None = None,
    sequence_number: str = "100000000000000000001",
    created: int | float = 1764215392,
    event_id: str = "e1",
    stream_arn: str = STREAM_ARN,
) -> dict[str, Any]:
    """One Lambda-shaped stream record, for tests that build batches by hand."""
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": created,
        "Keys": keys,
        "SequenceNumber": sequence_number,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        dynamodb["NewImage"] = new_image
    return {
        "eventID": event_id,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def create_table(name: str, key_schema: list[tuple[str, str, str]], *, stream: bool = True) -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": n, "KeyType": k} for n, _, k in key_schema],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t, _ in key_schema],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if stream:
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    client.create_table(**arguments)
    return client


def scan_all(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def stream_events(client: Any, table: str) -> Iterator[dict[str, Any]]:
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            yield from page["Records"]
            iterator = page.get("NextShardIterator")
