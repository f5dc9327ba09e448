"""Real change files in (moto) S3, made by the real writers, for loader tests.

Stream files go through ``ddb_cdc.handlers.stream_to_s3.process``, the production
handler core, with a Lambda-shaped event. Backfill snapshot files are built from
``ddb_cdc.envelope.encode_snapshot`` and ``ddb_cdc.layout`` exactly as a backfill writes
them (gzip NDJSON under ``raw/``), since the backfill writer is not this rig's subject.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from ddb_cdc import adapters, capture, envelope, layout
from ddb_cdc.config import StreamToS3Config
from ddb_cdc.handlers import stream_to_s3

REGION: Final = "us-east-1"
STREAM_ARN: Final = "arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-11-27T03:49:52.276"
ROLE_ARN: Final = "arn:aws:iam::123456789012:role/cdc-copy"

# The writer logs through this logger only: configuring the package's own "ddb_cdc"
# logger here would change other tests' log level.
_QUIET = logging.getLogger("tests.rig.writer")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False
_QUIET.setLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class _NoContext:
    aws_request_id: str = "rig"


class _NoDeadLetters:
    """The rig writes only convertible records; a quarantine attempt is a test bug."""

    def send(self, body: str) -> None:
        raise AssertionError(f"unexpected quarantine: {body[:200]}")


def stream_record(
    event_name: str,
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None,
    *,
    sequence_number: str,
    created_s: int,
    event_id: str,
    table: str,
) -> dict[str, Any]:
    """One DynamoDB stream record shaped as Lambda delivers it (DynamoDB JSON)."""
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": created_s,
        "Keys": dict(keys),
        "SequenceNumber": sequence_number,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        dynamodb["NewImage"] = dict(new_image)
    return {
        "eventID": event_id,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": STREAM_ARN.format(table=table),
    }


class ChangeFiles:
    """Writes change files for one table into one bucket and prefix."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str, table: str):
        self.s3, self.bucket, self.prefix, self.table = s3_client, bucket, prefix, table
        config = StreamToS3Config(
            bucket=bucket, prefix=prefix, table_name=table, dlq_url="unused://rig", log_level="WARNING"
        )
        self._runtime = stream_to_s3.Runtime(
            config=config,
            store=adapters.ObjectStore(s3_client, bucket),
            dlq=_NoDeadLetters(),  # type: ignore[arg-type]  # duck-typed MessageQueue
            logger=_QUIET,
        )
        # What this instance wrote, so tests can read envelopes back without a round trip.
        self.written: dict[str, bytes] = {}

    def write_stream_batch(self, records: Sequence[Mapping[str, Any]]) -> str:
        """Run the stream->S3 handler on one batch; return the object key it wrote."""
        # The handler does not return its key; the same pure planner it uses names it.
        planned = capture.plan_s3_batch(
            {"Records": list(records)}, table=self.table, prefix=self.prefix
        ).object
        assert planned is not None, "the batch produced no object"
        response = stream_to_s3.process({"Records": list(records)}, _NoContext(), self._runtime)
        assert response == {"batchItemFailures": []}
        self.written[planned.key] = planned.body
        return planned.key

    def write_snapshot(
        self, items: Iterable[Mapping[str, Any]], key_names: Sequence[str], snapshot_ms: int, name: str
    ) -> str:
        """A backfill file: one SNAPSHOT envelope per item, gzip NDJSON under raw/."""
        lines = [
            envelope.encode_snapshot(dict(item), key_names, self.table, snapshot_ms).line for item in items
        ]
        body = gzip.compress(("\n".join(lines) + "\n").encode("ascii"), mtime=0)
        key = layout.raw_object_key(self.prefix, self.table, snapshot_ms, name)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        self.written[key] = body
        return key

    def put_raw(self, key: str, body: bytes) -> None:
        """Write arbitrary bytes (corrupt files, hand-made envelopes)."""
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        self.written[key] = body

    def read_envelopes(self, key: str) -> list[dict[str, Any]]:
        """The envelopes of one file, numbers exact (Decimal for fractions)."""
        body = self.written.get(key)
        if body is None:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        text = gzip.decompress(body).decode("utf-8")
        return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line]


class WriteThroughS3:
    """An S3 client wrapper that remembers what it wrote or read, for immutable objects.

    Every put still goes to the wrapped client (moto), and the first read of an object
    it has not seen comes from there too; later reads are served from memory. Only for
    workloads whose objects never change after being written (the property test, where
    thousands of loads re-read the same few files): a moto round trip costs about
    2.5 ms, and the bytes are the same either way. Fault tests use the plain client.
    """

    def __init__(self, client: Any):
        self._client = client
        self._bodies: dict[tuple[str, str], bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **kwargs: Any) -> Any:  # boto3's names
        response = self._client.put_object(Bucket=Bucket, Key=Key, Body=Body, **kwargs)
        self._bodies[(Bucket, Key)] = bytes(Body)
        return response

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        body = self._bodies.get((Bucket, Key))
        if body is None:
            body = self._client.get_object(Bucket=Bucket, Key=Key)["Body"].read()
            self._bodies[(Bucket, Key)] = body
        return {"Body": io.BytesIO(body)}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
