"""What happens to a stream record that cannot become an envelope.

It goes to the dead-letter queue as ``{"reason", "source_table", "event_id", "seq",
"record"}`` with the raw record, so nothing blocks the shard and nothing is dropped
silently. An SQS message holds at most 256 KiB, and a stream record with both images
of a 400 KB item is larger than that, so:

* with a bucket, the raw record is written to ``<prefix>/quarantine/…`` (see
  :mod:`ddb_cdc.layout`) and the message carries ``record_s3`` instead of ``record``;
* without one (the Firehose writer may run without a bucket), the record's JSON text is
  split over several messages that share ``event_id`` and carry ``part``/``parts`` and
  ``record_json_part``; concatenating the parts in order gives the record back.

This module only plans the messages and objects; the handlers send them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Final, NamedTuple

from ddb_cdc import envelope, layout

SQS_MESSAGE_LIMIT: Final = 256 * 1024
# A chunk of ASCII JSON at most doubles when escaped inside another JSON string (every
# quote or backslash gains a backslash), so 100,000 characters stay far below the limit
# even with the message's other fields, which are capped below.
_CHUNK_CHARS: Final = 100_000
_MAX_FIELD: Final = 256


class Quarantined(NamedTuple):
    """A record set aside, with what could still be read from it."""

    reason: str
    record: Any
    event_id: str | None
    seq: str | None  # the SequenceNumber as received, when it is a string
    created_ms: int | None  # from ApproximateCreationDateTime, when that is valid


class SendMessage(NamedTuple):
    body: str


class PutObject(NamedTuple):
    key: str
    body: bytes


def set_aside(record: Any, reason: str) -> Quarantined:
    """Collect what a quarantine message needs, tolerating any malformed shape."""
    data = record.get("dynamodb") if isinstance(record, dict) else None
    data = data if isinstance(data, dict) else {}
    event_id = record.get("eventID") if isinstance(record, dict) else None
    seq = data.get("SequenceNumber")
    try:
        created_ms: int | None = envelope.epoch_ms(data.get("ApproximateCreationDateTime"))
    except envelope.UnconvertibleRecord:
        created_ms = None
    return Quarantined(
        reason=reason,
        record=record,
        event_id=event_id[:_MAX_FIELD] if isinstance(event_id, str) else None,
        seq=seq[:_MAX_FIELD] if isinstance(seq, str) else None,
        created_ms=created_ms,
    )


def _json_default(value: Any) -> Any:
    # Lambda events are plain JSON; this only matters for records shaped by boto3
    # (bytes for binary) or by a caller handing over something unexpected.
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=_json_default)


def plan(
    item: Quarantined, *, source_table: str, bucket: str | None, prefix: str, fallback_ms: int
) -> list[SendMessage | PutObject]:
    """The messages (and spill object) that quarantine one record, in sending order.

    ``fallback_ms`` places the spill object of a record whose own creation time is
    unreadable: the handlers pass the batch's first valid time (or 0), never the wall
    clock, so a retry writes the same key.
    """
    head = {
        "reason": item.reason,
        "source_table": source_table,
        "event_id": item.event_id,
        "seq": item.seq,
    }
    record_json = _dumps(item.record)
    single = _dumps({**head, "record": item.record})
    if len(single) <= SQS_MESSAGE_LIMIT:  # ASCII JSON: characters are bytes
        return [SendMessage(single)]
    if bucket is not None:
        digest = hashlib.sha256(record_json.encode("ascii")).hexdigest()
        created_ms = item.created_ms if item.created_ms is not None else fallback_ms
        key = layout.quarantine_object_key(
            prefix, source_table, created_ms, layout.quarantine_name(item.event_id, digest)
        )
        pointer = {**head, "record_size": len(record_json), "record_s3": {"bucket": bucket, "key": key}}
        return [PutObject(key, record_json.encode("ascii")), SendMessage(_dumps(pointer))]
    pieces = [record_json[i : i + _CHUNK_CHARS] for i in range(0, len(record_json), _CHUNK_CHARS)]
    messages: list[SendMessage | PutObject] = []
    for number, piece in enumerate(pieces, start=1):
        body = _dumps(
            {
                **head,
                "record_size": len(record_json),
                "part": number,
                "parts": len(pieces),
                "record_json_part": piece,
            }
        )
        if len(body) > SQS_MESSAGE_LIMIT:
            raise ValueError("quarantine chunk exceeds the SQS message limit")
        messages.append(SendMessage(body))
    return messages
