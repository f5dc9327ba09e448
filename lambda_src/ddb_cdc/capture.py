"""The pure core of both stream writers: no I/O, no clock, no boto3.

``plan_s3_batch`` turns a Lambda batch into the one gzip NDJSON object to write plus
the records to quarantine. ``plan_firehose_batch``, ``firehose_chunks`` and
``deliver`` do the same for Firehose, where records travel one envelope each and
partial failures are retried here with backoff; the actual ``PutRecordBatch`` call is
an adapter the handler passes in.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

from ddb_cdc import envelope, layout
from ddb_cdc.quarantine import Quarantined, set_aside

# Level 6 is zlib's default trade-off: objects stay ~20% smaller than at level 1,
# which COPY and compaction read again and again, for a cost that is still small next
# to the conversion. Changing it changes the bytes of every object (not their keys),
# so a retry across a deployment would rewrite an object with equal content.
GZIP_LEVEL: Final = 6

FIREHOSE_MAX_RECORDS: Final = 500
FIREHOSE_MAX_BATCH_BYTES: Final = 4 * 1024 * 1024
FIREHOSE_MAX_RECORD_BYTES: Final = 1000 * 1024


class BatchObject(NamedTuple):
    key: str
    body: bytes  # gzip of the NDJSON lines
    records: int
    first_seq: str
    last_seq: str
    ndjson_bytes: int


class S3BatchPlan(NamedTuple):
    object: BatchObject | None  # None when nothing in the batch could be converted
    quarantined: list[Quarantined]
    fallback_ms: int  # where quarantine objects of records without a valid time go


class FirehoseRecord(NamedTuple):
    sequence_number: str  # as received: what batchItemFailures must echo back
    data: bytes  # one envelope line including its newline


class DirectObject(NamedTuple):
    """An envelope too big for one Firehose record, written to S3 on its own instead."""

    key: str  # a raw object key, named like a one-record batch of the lambda aggregation
    body: bytes  # gzip of the one NDJSON line


class FirehosePlan(NamedTuple):
    records: list[FirehoseRecord]
    quarantined: list[Quarantined]
    fallback_ms: int
    direct: list[DirectObject] = []  # noqa: RUF012  # NamedTuple default, never mutated


def _first_valid_ms(items: Sequence[Quarantined], converted_ms: int | None) -> int:
    if converted_ms is not None:
        return converted_ms
    return next((q.created_ms for q in items if q.created_ms is not None), 0)


def _records(event: Any) -> list[Any]:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        # Not a stream batch at all: a wiring error, not a poison record. Raising makes
        # it visible as a function error instead of being quarantined record by record.
        raise ValueError("event has no Records list")
    return records


OTHER_TABLE: Final = "eventSourceARN names the stream of another table than the one this writer captures"


class _SourceCheck:
    """Whether a record comes from the configured table's stream, and that stream's label.

    Lambda puts ``eventSourceARN`` on every record of a DynamoDB stream event, so a record
    without one, or from another table's stream (a mapping wired to the wrong function,
    a replayed or hand-made event), cannot be attributed to this table: it is set aside
    alone instead of being written as this table's change. A batch comes from one
    stream, so the verdict is kept for the last ARN seen and costs one comparison per
    record.
    """

    __slots__ = ("arn", "label", "table")

    def __init__(self, table: str) -> None:
        self.table = table
        self.arn: object = None
        self.label = ""

    def label_of(self, record: dict[str, Any]) -> str:
        arn = record.get("eventSourceARN")
        if arn != self.arn or not self.label:
            label = layout.stream_label(arn)
            if layout.stream_table(arn) != self.table:
                raise layout.LayoutError(OTHER_TABLE)
            self.arn, self.label = arn, label
        return self.label


def plan_s3_batch(event: Any, *, table: str, prefix: str, compresslevel: int = GZIP_LEVEL) -> S3BatchPlan:
    """One object holding every convertible record in stream order, plus the rest."""
    table_json = envelope.table_json(table)
    lines: list[str] = []
    quarantined: list[Quarantined] = []
    label: str | None = None
    first: envelope.EncodedEnvelope | None = None
    last: envelope.EncodedEnvelope | None = None
    source = _SourceCheck(table)
    for record in _records(event):
        try:
            encoded = envelope.encode_stream_record(record, table_json)
            record_label = source.label_of(record)
        except envelope.UnconvertibleRecord as exc:
            quarantined.append(set_aside(record, exc.reason))
            continue
        except layout.LayoutError as exc:
            quarantined.append(set_aside(record, str(exc)))
            continue
        if label is None:
            label = record_label
        elif record_label != label:
            # The object name assumes one stream per batch, which Lambda guarantees;
            # a stray record must not hide inside another stream's object.
            quarantined.append(set_aside(record, "record belongs to a different stream than its batch"))
            continue
        if first is None:
            first = encoded
        last = encoded
        lines.append(encoded.line)
    if first is None or last is None or label is None:
        return S3BatchPlan(None, quarantined, _first_valid_ms(quarantined, None))
    lines.append("")  # every line, the last one included, ends with a newline
    ndjson = "\n".join(lines).encode("ascii")
    name = layout.batch_object_name(label, first.seq, last.seq)
    key = layout.raw_object_key(prefix, table, first.created_ms, name)
    body = gzip.compress(ndjson, compresslevel=compresslevel, mtime=0)
    batch = BatchObject(key, body, len(lines) - 1, first.seq, last.seq, len(ndjson))
    return S3BatchPlan(batch, quarantined, first.created_ms)


def plan_firehose_batch(
    event: Any, *, table: str, prefix: str | None = None, compresslevel: int = GZIP_LEVEL
) -> FirehosePlan:
    """One Firehose record per convertible stream record of this table.

    An envelope over Firehose's 1,000 KiB record limit (a valid item whose text expands
    that much when escaped) cannot go through Firehose whole: with ``prefix`` it becomes
    a raw object of its own, named like a one-record batch of the ``lambda`` aggregation
    (deterministic, so a retry overwrites it), which the loader loads like any other;
    without ``prefix`` it is quarantined."""
    table_json = envelope.table_json(table)
    out: list[FirehoseRecord] = []
    direct: list[DirectObject] = []
    quarantined: list[Quarantined] = []
    first_ms: int | None = None
    source = _SourceCheck(table)
    for record in _records(event):
        try:
            encoded = envelope.encode_stream_record(record, table_json)
            source.label_of(record)
        except envelope.UnconvertibleRecord as exc:
            quarantined.append(set_aside(record, exc.reason))
            continue
        except layout.LayoutError as exc:
            quarantined.append(set_aside(record, str(exc)))
            continue
        data = (encoded.line + "\n").encode("ascii")
        if len(data) > FIREHOSE_MAX_RECORD_BYTES:
            # Truncating would corrupt the envelope; splitting it would break the
            # one-line-per-change contract. It goes to S3 alone, or to quarantine.
            if prefix is None:
                quarantined.append(
                    set_aside(
                        record, f"envelope is {len(data)} bytes, over Firehose's 1,000 KiB record limit"
                    )
                )
                continue
            name = layout.batch_object_name(source.label_of(record), encoded.seq, encoded.seq)
            direct.append(
                DirectObject(
                    layout.raw_object_key(prefix, table, encoded.created_ms, name),
                    gzip.compress(data, compresslevel=compresslevel, mtime=0),
                )
            )
            first_ms = encoded.created_ms if first_ms is None else first_ms
            continue
        if first_ms is None:
            first_ms = encoded.created_ms
        assert encoded.sequence_number is not None  # stream envelopes always carry one
        out.append(FirehoseRecord(encoded.sequence_number, data))
    return FirehosePlan(out, quarantined, _first_valid_ms(quarantined, first_ms), direct)


def firehose_chunks(records: Sequence[FirehoseRecord]) -> list[list[FirehoseRecord]]:
    """Split into PutRecordBatch calls of at most 500 records and 4 MiB, keeping order."""
    chunks: list[list[FirehoseRecord]] = []
    current: list[FirehoseRecord] = []
    size = 0
    for record in records:
        length = len(record.data)
        if current and (len(current) == FIREHOSE_MAX_RECORDS or size + length > FIREHOSE_MAX_BATCH_BYTES):
            chunks.append(current)
            current, size = [], 0
        current.append(record)
        size += length
    if current:
        chunks.append(current)
    return chunks


class RetryPolicy(NamedTuple):
    """Bounded exponential backoff with full jitter, inside the invocation's time."""

    max_attempts: int = 6  # calls per chunk, the first one included
    base_delay_s: float = 0.1
    max_delay_s: float = 2.0
    # Time kept back for quarantine logging and returning the response; a call
    # started with less than this left could be cut off by the Lambda timeout.
    reserve_ms: int = 3000


DEFAULT_RETRY: Final = RetryPolicy()


class DeliveryOutcome(NamedTuple):
    delivered: int
    first_unfinished: FirehoseRecord | None  # where the shard must resume, if anywhere
    calls: int
    retried_entries: int


PutBatch = Callable[[Sequence[bytes]], list[str | None]]
"""Send records; return one error code per entry (None for success), in order."""


def deliver(
    chunks: Sequence[Sequence[FirehoseRecord]],
    put_batch: PutBatch,
    *,
    remaining_ms: Callable[[], int],
    sleep: Callable[[float], None],
    jitter: Callable[[], float],
    policy: RetryPolicy = DEFAULT_RETRY,
) -> DeliveryOutcome:
    """Send chunks in order, retrying only failed entries; stop at the first that stays failed.

    Everything before the returned ``first_unfinished`` record is in Firehose; the
    stream resumes there, so later chunks are not sent at all (they would be sent
    again on the retry anyway).
    """
    delivered = calls = retried = 0
    for chunk in chunks:
        pending = list(chunk)
        attempt = 0
        while pending:
            if remaining_ms() <= policy.reserve_ms:
                return DeliveryOutcome(delivered, pending[0], calls, retried)
            codes = put_batch([record.data for record in pending])
            calls += 1
            attempt += 1
            if len(codes) != len(pending):
                raise RuntimeError("PutRecordBatch returned a response count that does not match the request")
            failed = [record for record, code in zip(pending, codes, strict=True) if code is not None]
            delivered += len(pending) - len(failed)
            pending = failed
            if not pending:
                break
            if attempt >= policy.max_attempts:
                return DeliveryOutcome(delivered, pending[0], calls, retried)
            delay = jitter() * min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))
            if remaining_ms() - delay * 1000 <= policy.reserve_ms:
                return DeliveryOutcome(delivered, pending[0], calls, retried)
            retried += len(pending)
            sleep(delay)
    return DeliveryOutcome(delivered, None, calls, retried)
