"""Contract 2: S3 object keys, built and parsed here and nowhere else.

``<prefix>/raw/<table>/YYYY/MM/DD/HH/<name>.json.gz`` for change batches and
``<prefix>/quarantine/<table>/YYYY/MM/DD/HH/<name>.json`` for records that could not
be converted and were too large for the dead-letter queue. The hour is always taken
from a record's creation time, never from the wall clock, so a retry lands in the
same place.

Batch object names are ``<streamLabel>_<firstSeq>_<lastSeq>``:

* Lambda does not tell a DynamoDB stream handler which shard a batch came from, so
  the shard id is not available. The stream label (from ``eventSourceARN``) names the
  stream, and a batch is a contiguous run of one shard's records: inside one stream,
  the first and last sequence number of the records written identify that run, and
  with it the object's content.
* Retrying a batch redelivers the same records, so it rebuilds the same name and
  overwrites its own object instead of adding a twin. A bisected retry writes smaller
  objects whose records overlap the failed batch's; the loaders keep the latest
  change per key, so such duplicates are harmless.
* Re-enabling a table's stream creates a stream with a new label, so sequence numbers
  of an old and a new stream can never collide in one name.

The label is reduced to its letters and digits (``2015-06-27T00:48:05.899`` becomes
``20150627T004805899``) because colons break Hadoop paths (``s3-dist-cp`` in the EMR
compaction strategy) and make keys awkward to quote.
"""

from __future__ import annotations

import calendar
import re
import time
from typing import Final, NamedTuple

RAW: Final = "raw"
QUARANTINE: Final = "quarantine"
RAW_SUFFIX: Final = ".json.gz"
QUARANTINE_SUFFIX: Final = ".json"

_STREAM_ARN = re.compile(
    r"arn:[a-z0-9-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/([A-Za-z0-9_.-]{3,255})/stream/(.+)"
)
_SEQ = re.compile(r"[0-9]{40}")
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,200}")
_HOUR_PARTS = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}")


class LayoutError(ValueError):
    """An input that cannot be placed in, or read back from, the layout."""


class ObjectKey(NamedTuple):
    """A parsed raw or quarantine key."""

    prefix: str
    area: str  # RAW or QUARANTINE
    table: str
    hour_ms: int  # the start of the hour, epoch milliseconds (UTC)
    name: str  # without the suffix


def stream_label(event_source_arn: object) -> str:
    """The stream label of a DynamoDB stream ARN, reduced to letters and digits."""
    match = _STREAM_ARN.fullmatch(event_source_arn) if isinstance(event_source_arn, str) else None
    label = "".join(ch for ch in match.group(2) if ch.isascii() and ch.isalnum()) if match else ""
    if not label:
        raise LayoutError("eventSourceARN is not a DynamoDB stream ARN")
    return label


def stream_table(event_source_arn: object) -> str:
    """The table name in a DynamoDB stream ARN (``…:table/<name>/stream/<label>``)."""
    match = _STREAM_ARN.fullmatch(event_source_arn) if isinstance(event_source_arn, str) else None
    if match is None:
        raise LayoutError("eventSourceARN is not a DynamoDB stream ARN")
    return match.group(1)


def batch_object_name(label: str, first_seq: str, last_seq: str) -> str:
    """``<label>_<firstSeq>_<lastSeq>`` for a batch whose envelopes span those tokens."""
    if not (label.isascii() and label.isalnum()):
        raise LayoutError("stream label must be ASCII letters and digits")
    if not (_SEQ.fullmatch(first_seq) and _SEQ.fullmatch(last_seq)) or first_seq > last_seq:
        raise LayoutError("sequence tokens must be 40 digits, first <= last")
    return f"{label}_{first_seq}_{last_seq}"


def _hour_path(created_ms: int) -> str:
    return time.strftime("%Y/%m/%d/%H", time.gmtime(created_ms // 1000))


def _join(prefix: str, *parts: str) -> str:
    return "/".join((prefix, *parts)) if prefix else "/".join(parts)


def raw_object_key(prefix: str, table: str, created_ms: int, name: str) -> str:
    """Key of a batch object; ``created_ms`` is the first record's creation time."""
    return _join(prefix, RAW, table, _hour_path(created_ms), name + RAW_SUFFIX)


def quarantine_object_key(prefix: str, table: str, created_ms: int, name: str) -> str:
    """Key of a quarantined raw record; ``name`` comes from :func:`quarantine_name`."""
    if not _SAFE_NAME.fullmatch(name):
        raise LayoutError("quarantine object name must be 1 to 200 characters of [A-Za-z0-9._-]")
    return _join(prefix, QUARANTINE, table, _hour_path(created_ms), name + QUARANTINE_SUFFIX)


def quarantine_name(event_id: object, fallback_digest: str) -> str:
    """The record's eventID when it is safe as a key segment, else the given digest."""
    if isinstance(event_id, str) and _SAFE_NAME.fullmatch(event_id):
        return event_id
    return fallback_digest


def parse_object_key(key: str) -> ObjectKey:
    """Read a raw or quarantine key back; the prefix may itself contain slashes."""
    parts = key.split("/")
    if len(parts) < 7:
        raise LayoutError("too few segments for a layout key")
    *prefix_parts, area, table, year, month, day, hour, filename = parts
    suffix = {RAW: RAW_SUFFIX, QUARANTINE: QUARANTINE_SUFFIX}.get(area)
    if suffix is None or not filename.endswith(suffix) or len(filename) == len(suffix):
        raise LayoutError("not a raw or quarantine object key")
    hour_path = f"{year}/{month}/{day}/{hour}"
    if not _HOUR_PARTS.fullmatch(hour_path):
        raise LayoutError("hour segments are not YYYY/MM/DD/HH")
    try:
        hour_ms = calendar.timegm(time.strptime(hour_path, "%Y/%m/%d/%H")) * 1000
    except ValueError:
        raise LayoutError("hour segments are not a valid date and hour") from None
    return ObjectKey("/".join(prefix_parts), area, table, hour_ms, filename[: -len(suffix)])
