"""The Firehose patch buffers, compresses and names S3 objects as the service does, and goes away on exit."""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.firehose.models import FirehoseBackend
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from tests.sandbox.patches import firehose

REGION = "us-east-1"
BUCKET = "cdc-bucket"
FIXED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
MIB = 1024 * 1024


def wait_until(condition: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def create_stream(
    client,
    name: str,
    *,
    size_mb: int = 5,
    interval: int = 300,
    prefix: str | None = "raw/t/!{timestamp:yyyy/MM/dd/HH}/",
    compression: str = "GZIP",
    extension: str | None = ".json.gz",
) -> None:
    config = {
        "RoleARN": "arn:aws:iam::123456789012:role/firehose",
        "BucketARN": f"arn:aws:s3:::{BUCKET}",
        "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval},
        "CompressionFormat": compression,
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/",
    }
    if prefix is not None:
        config["Prefix"] = prefix
    if extension is not None:
        config["FileExtension"] = extension
    client.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut", ExtendedS3DestinationConfiguration=config
    )


def objects(s3) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed}


@pytest.fixture
def aws() -> Iterator[tuple[object, object]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        yield boto3.client("firehose", region_name=REGION), s3


def test_buffer_is_delivered_when_it_reaches_the_size_hint(aws) -> None:
    client, s3 = aws
    create_stream(client, "sized", size_mb=1, interval=900)
    record = b"x" * (400 * 1024) + b"\n"
    with firehose.installed() as delivery:
        client.put_record_batch(DeliveryStreamName="sized", Records=[{"Data": record}] * 2)
        assert objects(s3) == {}  # 800 KiB < 1 MiB: still buffered
        client.put_record_batch(DeliveryStreamName="sized", Records=[{"Data": record}, {"Data": b"tail\n"}])
        stored = objects(s3)
        assert len(stored) == 1
        assert gzip.decompress(next(iter(stored.values()))) == record * 3  # counted before compression
        assert not delivery.idle()  # "tail" waits for the next trigger
        stats = delivery.stats()
        assert stats["flushes_by_size"] == 1
        assert stats["flushes_by_interval"] == 0
        assert stats["records"] == 4
        assert stats["objects"] == 1


def test_buffer_is_delivered_when_the_interval_passes(aws) -> None:
    client, s3 = aws
    create_stream(client, "timed", size_mb=5, interval=1)
    with firehose.installed() as delivery:
        started = time.monotonic()
        client.put_record_batch(DeliveryStreamName="timed", Records=[{"Data": b"a\n"}])
        client.put_record(DeliveryStreamName="timed", Record={"Data": b"b\n"})
        assert objects(s3) == {}
        wait_until(delivery.idle)
        assert time.monotonic() - started >= 0.9
        stored = objects(s3)
        assert [gzip.decompress(body) for body in stored.values()] == [b"a\nb\n"]
        assert delivery.stats()["flushes_by_interval"] == 1


def test_zero_interval_delivers_promptly_and_gzip_round_trips_byte_exact(aws) -> None:
    client, s3 = aws
    create_stream(client, "prompt", interval=0)
    records = [
        b'{"k": 1, "v": "caf\xc3\xa9"}\n',
        b'{"k": 2, "n": 12345678901234567890.5}\n',
        b"\x00\xff raw\n",
    ]
    with firehose.installed() as delivery:
        result = client.put_record_batch(DeliveryStreamName="prompt", Records=[{"Data": r} for r in records])
        wait_until(delivery.idle, timeout=3)
    assert result["FailedPutCount"] == 0
    assert len(result["RequestResponses"]) == 3
    assert len({entry["RecordId"] for entry in result["RequestResponses"]}) == 3
    (body,) = objects(s3).values()
    assert body[:2] == b"\x1f\x8b"
    assert gzip.decompress(body) == b"".join(records)  # concatenated as received, no delimiter added
    assert delivery.stats()["bytes"] == len(body)


def test_prefix_and_object_name_use_the_oldest_record_arrival_time(aws) -> None:
    client, s3 = aws
    create_stream(client, "named", interval=0)
    with firehose.installed(clock=lambda: FIXED) as delivery:
        client.put_record(DeliveryStreamName="named", Record={"Data": b"r\n"})
        wait_until(delivery.idle, timeout=3)
    (key,) = objects(s3)
    assert re.fullmatch(r"raw/t/2026/01/02/03/named-1-2026-01-02-03-04-05-[0-9a-f-]{36}\.json\.gz", key), key


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("raw/t/!{timestamp:yyyy/MM/dd/HH}/", "raw/t/2026/01/02/03/"),
        ("dt=!{timestamp:yyyy'-'MM'-'dd}/h=!{timestamp:HH}/", "dt=2026-01-02/h=03/"),
        ("!{timestamp:yy-M-d H:mm:ss.SSS D EEE MMM a ''}/", "26-1-2 3:04:05.000 2 Fri Jan AM '/"),
        (None, "2026/01/02/03/"),  # no custom prefix: the default time prefix
        ("myApp/", "myApp/2026/01/02/03/"),  # no timestamp expression: the default is appended
    ],
)
def test_timestamp_expressions_follow_java_datetimeformatter(template: str | None, expected: str) -> None:
    assert firehose.expand_prefix(template, FIXED) == expected


def test_firehose_namespace_expressions() -> None:
    error_prefix = "errors/!{firehose:error-output-type}/!{timestamp:yyyy}/"
    assert firehose.expand_prefix(error_prefix, FIXED, error_output_type="processing-failed") == (
        "errors/processing-failed/2026/"
    )
    with pytest.raises(ValueError, match="error-output-type"):
        firehose.expand_prefix(error_prefix, FIXED)
    expanded = firehose.expand_prefix("r/!{firehose:random-string}/!{timestamp:yyyy}/", FIXED)
    assert re.fullmatch(r"r/[a-z0-9]{11}/2026/", expanded)
    with pytest.raises(ValueError, match="partitionKeyFromQuery"):
        firehose.expand_prefix("!{partitionKeyFromQuery:id}/!{timestamp:yyyy}/", FIXED)


def test_custom_time_zone_shifts_prefix_and_name() -> None:
    destination = {"Prefix": "p/!{timestamp:yyyy/MM/dd/HH}/", "CustomTimeZone": "Asia/Tokyo"}
    key = firehose.object_key(destination, "s", "3", FIXED, object_id=lambda: "id")
    assert key == "p/2026/01/02/12/s-3-2026-01-02-12-04-05-id"


@pytest.mark.parametrize(
    ("compression", "extension", "suffix"),
    [
        ("GZIP", ".json.gz", ".json.gz"),
        ("GZIP", None, ".gz"),
        ("UNCOMPRESSED", None, ""),
        ("UNCOMPRESSED", ".ndjson", ".ndjson"),
    ],
)
def test_file_extension(aws, compression: str, extension: str | None, suffix: str) -> None:
    client, s3 = aws
    create_stream(client, "ext", interval=0, compression=compression, extension=extension)
    with firehose.installed() as delivery:
        client.put_record(DeliveryStreamName="ext", Record={"Data": b"r\n"})
        wait_until(delivery.idle, timeout=3)
    ((key, body),) = objects(s3).items()
    assert re.search(r"-[0-9a-f-]{36}" + re.escape(suffix) + "$", key), key
    assert (gzip.decompress(body) if compression == "GZIP" else body) == b"r\n"


def test_streams_buffer_independently(aws) -> None:
    client, s3 = aws
    create_stream(client, "fast", interval=1, prefix="fast/!{timestamp:yyyy}/")
    create_stream(client, "slow", interval=900, prefix="slow/!{timestamp:yyyy}/")
    with firehose.installed() as delivery:
        client.put_record(DeliveryStreamName="slow", Record={"Data": b"s\n"})
        client.put_record(DeliveryStreamName="fast", Record={"Data": b"f\n"})
        wait_until(lambda: delivery.stats()["objects"] == 1)
        (key,) = objects(s3)
        assert key.startswith("fast/")
        assert not delivery.idle()  # "slow" still holds its record
        assert delivery.flush() == 1
        assert delivery.idle()
        assert {key.split("/")[0] for key in objects(s3)} == {"fast", "slow"}


def test_batch_limits_are_enforced(aws) -> None:
    client, _ = aws
    create_stream(client, "limits")
    with firehose.installed():
        with pytest.raises(ClientError):
            client.put_record_batch(DeliveryStreamName="limits", Records=[{"Data": b"x"}] * 501)
        with pytest.raises(ClientError):
            client.put_record_batch(DeliveryStreamName="limits", Records=[{"Data": b"x" * (1000 * 1024 + 1)}])
        with pytest.raises(ClientError):
            client.put_record_batch(DeliveryStreamName="limits", Records=[{"Data": b"x" * (1000 * 1024)}] * 5)


def test_failed_delivery_keeps_the_records_and_retries(aws) -> None:
    client, s3 = aws
    create_stream(client, "retried", interval=0)
    s3.delete_bucket(Bucket=BUCKET)
    with firehose.installed() as delivery:
        client.put_record(DeliveryStreamName="retried", Record={"Data": b"kept\n"})
        wait_until(lambda: delivery.stats()["delivery_errors"] > 0, timeout=3)
        assert not delivery.idle()
        s3.create_bucket(Bucket=BUCKET)
        wait_until(delivery.idle, timeout=5)
    assert [gzip.decompress(body) for body in objects(s3).values()] == [b"kept\n"]


def test_deleting_a_stream_drops_its_buffer(aws) -> None:
    client, s3 = aws
    create_stream(client, "gone", interval=900)
    with firehose.installed() as delivery:
        client.put_record(DeliveryStreamName="gone", Record={"Data": b"r\n"})
        client.delete_delivery_stream(DeliveryStreamName="gone")
        assert delivery.idle()
        assert delivery.stats()["records_dropped"] == 1
    assert objects(s3) == {}


PATCHED = (
    "create_delivery_stream",
    "update_destination",
    "put_record",
    "put_record_batch",
    "delete_delivery_stream",
)


def test_patch_is_reverted_after_the_context(aws) -> None:
    client, s3 = aws
    original = {name: getattr(FirehoseBackend, name) for name in PATCHED}
    with firehose.installed():
        assert all(getattr(FirehoseBackend, name) is not original[name] for name in PATCHED)
    assert {name: getattr(FirehoseBackend, name) for name in PATCHED} == original
    create_stream(client, "vanilla", interval=900)
    client.put_record(DeliveryStreamName="vanilla", Record={"Data": b"r\n"})
    assert list(objects(s3).values()) == [b"r\n"]  # moto's own behaviour again: at once, uncompressed


@pytest.mark.parametrize(
    ("prefix", "error_prefix", "problem"),
    [
        ("raw/!{timestamp:yyyy}/", None, "can't be null"),
        ("raw/!{firehose:error-output-type}/", "e/!{firehose:error-output-type}/", "Prefix can't contain"),
        ("raw/!{timestamp:yyyy}/", "errors/!{timestamp:yyyy}/", "must contain"),
        ("raw/!{timestamp:yyyy/qq}/", "e/!{firehose:error-output-type}/", "not supported"),
    ],
)
def test_invalid_prefixes_are_rejected_at_creation(
    aws, prefix: str, error_prefix: str | None, problem: str
) -> None:
    client, _ = aws
    config = {
        "RoleARN": "arn:aws:iam::123456789012:role/f",
        "BucketARN": f"arn:aws:s3:::{BUCKET}",
        "Prefix": prefix,
    }
    if error_prefix is not None:
        config["ErrorOutputPrefix"] = error_prefix
    with firehose.installed(), pytest.raises(ClientError, match=problem):
        client.create_delivery_stream(DeliveryStreamName="bad", ExtendedS3DestinationConfiguration=config)


def test_update_destination_is_validated_and_bumps_the_version_in_names(aws) -> None:
    client, s3 = aws
    create_stream(client, "updated", interval=0)
    with firehose.installed(clock=lambda: FIXED) as delivery:
        with pytest.raises(ClientError, match="can't be null"):
            client.update_destination(
                DeliveryStreamName="updated",
                CurrentDeliveryStreamVersionId="1",
                DestinationId="destinationId-000000000001",
                ExtendedS3DestinationUpdate={"Prefix": "new/!{timestamp:yyyy}/", "ErrorOutputPrefix": ""},
            )
        client.update_destination(
            DeliveryStreamName="updated",
            CurrentDeliveryStreamVersionId="1",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"Prefix": "new/!{timestamp:yyyy}/"},
        )
        client.put_record(DeliveryStreamName="updated", Record={"Data": b"r\n"})
        wait_until(delivery.idle, timeout=3)
    (key,) = objects(s3)
    assert key.startswith("new/2026/updated-2-2026-01-02-03-04-05-")


def test_works_through_a_threaded_moto_server() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        client = boto3.client("firehose", region_name=REGION, endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET)
        create_stream(client, "served", interval=1)
        with firehose.installed(clock=lambda: FIXED) as delivery:
            result = client.put_record_batch(
                DeliveryStreamName="served", Records=[{"Data": b"1\n"}, {"Data": b"2\n"}]
            )
            assert result["FailedPutCount"] == 0
            assert len(result["RequestResponses"]) == 2
            assert objects(s3) == {}
            wait_until(delivery.idle)
        ((key, body),) = objects(s3).items()
        assert key.startswith("raw/t/2026/01/02/03/served-1-2026-01-02-03-04-05-")
        assert gzip.decompress(body) == b"1\n2\n"
    finally:
        server.stop()
        moto_api_backend.reset()  # the server shares moto's global state with the rest of the session
