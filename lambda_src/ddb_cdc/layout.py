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

Backfill writes ordinary raw objects (the loader cannot tell them apart, and need
not), named so that a retry overwrites its own object; see
:func:`snapshot_object_name` and :func:`export_object_name`. Its control files (progress
records, the scan record, the export's own output) live under
``<prefix>/backfill/<table>/<scan_id>/``, which the loader never lists.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import json
import random
import re
import time
from typing import Any, Final, NamedTuple

RAW: Final = "raw"
QUARANTINE: Final = "quarantine"
RAW_SUFFIX: Final = ".json.gz"
QUARANTINE_SUFFIX: Final = ".json"
BACKFILL: Final = "backfill"

_STREAM_ARN = re.compile(
    r"arn:[a-z0-9-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/([A-Za-z0-9_.-]{3,255})/stream/(.+)"
)
_SEQ = re.compile(r"[0-9]{40}")
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,200}")
_HOUR_PARTS = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}")
SCAN_ID: Final = re.compile(r"[0-9]{8}T[0-9]{6}Z[0-9a-f]{6}")


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


# ---------------------------------------------------------------------------
# Backfill
# ---------------------------------------------------------------------------


def new_scan_id(now_ms: int, rng: random.Random | None = None) -> str:
    """``YYYYMMDDTHHMMSSZ`` of ``now_ms`` plus 6 lowercase hex digits, e.g. ``20261130T010203Za1b2c3``.

    The time makes scans sort by start and read naturally in a key listing; the random
    tail keeps two scans started in the same second apart. Letters and digits only,
    like every other name segment (no colons, see above).
    """
    draw = (rng or random.SystemRandom()).getrandbits(24)
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now_ms // 1000)) + f"{draw:06x}"


def is_scan_id(value: object) -> bool:
    """Whether ``value`` has the shape :func:`new_scan_id` gives."""
    return isinstance(value, str) and SCAN_ID.fullmatch(value) is not None


def check_scan_id(scan_id: object) -> str:
    """``scan_id`` itself when it has the shape :func:`new_scan_id` gives, else LayoutError."""
    if not isinstance(scan_id, str) or not is_scan_id(scan_id):
        raise LayoutError("scan_id must look like 20261130T010203Za1b2c3")
    return scan_id


def _json_default(value: Any) -> Any:
    # boto3 returns binary key values as bytes; cursors are canonical with them as base64
    # text, Lambda's form, so both spellings of one cursor give one digest.
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON")


def cursor_digest(start_cursor: Any, end_cursor: Any) -> str:
    """First 12 hex digits of the sha256 of the canonical JSON of ``[start, end]``."""
    text = json.dumps(
        [start_cursor, end_cursor], sort_keys=True, separators=(",", ":"), default=_json_default
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]


def snapshot_object_name(scan_id: str, segment: int, page: int, start_cursor: Any, end_cursor: Any) -> str:
    """``snapshot_<scan_id>_<segment:05d>_<page:08d>_<h12>`` for one Scan page.

    Cursors are the DynamoDB JSON ``ExclusiveStartKey`` the page was read from and the
    ``LastEvaluatedKey`` it ended at (None at either end of a segment); ``h12`` digests
    both. A retried page that read the same range rebuilds the same name and overwrites
    its own object. A retry whose page ended elsewhere (items were deleted or added
    meanwhile) gets a new name: the ledger keys on the S3 key alone, so reusing the name
    for different content could leave a ledgered older version hiding part of a range.
    """
    check_scan_id(scan_id)
    if not (0 <= segment < 100_000 and 0 <= page < 100_000_000):
        raise LayoutError("segment must be 0..99999 and page 0..99999999")
    return f"snapshot_{scan_id}_{segment:05d}_{page:08d}_{cursor_digest(start_cursor, end_cursor)}"


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum())


def export_object_name(export_id: str, data_file_stem: str, part: int) -> str:
    """``export_<export_id>_<stem>_<part:04d>``, letters and digits of each, for one part of a data file.

    Export data files are immutable, and a part is a fixed run of a file's lines, so
    converting a file again rewrites identical objects under identical names.
    """
    export, stem = _alnum(export_id), _alnum(data_file_stem)
    if not export or not stem or not 0 <= part < 10_000:
        raise LayoutError("export id and data file stem need letters or digits; part must be 0..9999")
    return f"export_{export}_{stem}_{part:04d}"


def backfill_prefix(prefix: str, table: str, scan_id: str) -> str:
    """``<prefix>/backfill/<table>/<scan_id>/``: one scan's control area, outside ``raw/``.

    The loader lists only ``raw/``, so nothing here is ever loaded by mistake. An empty
    ``scan_id`` gives the table's backfill area, ``<prefix>/backfill/<table>/``, whose
    sub-prefixes are the scans (the CLI lists them to find the newest).
    """
    if scan_id == "":
        return _join(prefix, BACKFILL, table) + "/"
    return _join(prefix, BACKFILL, table, check_scan_id(scan_id)) + "/"


def progress_key(prefix: str, table: str, scan_id: str, segment: int) -> str:
    """Where a segment's progress record (its last returned state) lives."""
    if not 0 <= segment < 100_000:
        raise LayoutError("segment must be 0..99999")
    return f"{backfill_prefix(prefix, table, scan_id)}segment-{segment:05d}.json"


def scan_record_key(prefix: str, table: str, scan_id: str) -> str:
    """The scan record the CLI writes at start (mode, total segments, start and hour)."""
    return backfill_prefix(prefix, table, scan_id) + "scan.json"


def export_prefix(prefix: str, table: str, scan_id: str) -> str:
    """The ``S3Prefix`` given to ExportTableToPointInTime, without a trailing slash.

    DynamoDB writes ``<this>/AWSDynamoDB/<exportId>/…`` (manifests and data files) there.
    """
    return backfill_prefix(prefix, table, scan_id) + "export"


# ---------------------------------------------------------------------------
# EMR compaction (load_strategy = "emr_compaction")
# ---------------------------------------------------------------------------

COMPACTION: Final = "compaction"
COMPACTED: Final = "compacted"
_HOUR_LABEL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}")


def hour_label(hour_ms: int) -> str:
    """``YYYY-MM-DDTHH`` (UTC) of the hour holding ``hour_ms``: how a compaction run names its hour."""
    return time.strftime("%Y-%m-%dT%H", time.gmtime(hour_ms // 1000))


def parse_hour_label(label: object) -> int:
    """The start (epoch ms) of the hour :func:`hour_label` names; LayoutError for anything else."""
    if not isinstance(label, str) or not _HOUR_LABEL.fullmatch(label):
        raise LayoutError("an hour must look like 2026-12-07T03 (UTC)")
    try:
        return calendar.timegm(time.strptime(label, "%Y-%m-%dT%H")) * 1000
    except ValueError:
        raise LayoutError(f"{label!r} is not a valid date and hour") from None


def raw_hour_prefix(prefix: str, table: str, hour_ms: int) -> str:
    """``<prefix>/raw/<table>/YYYY/MM/DD/HH/``: every change file of one hour."""
    return _join(prefix, RAW, table, _hour_path(hour_ms)) + "/"


def compaction_run_prefix(prefix: str, table: str, hour_ms: int, run_id: str) -> str:
    """``<prefix>/compaction/<table>/YYYY/MM/DD/HH/<run>/``: one compaction run's control files.

    A run id has the shape of a scan id (:func:`new_scan_id`): its start time and a
    random tail, so every run of an hour (a retry, a manual rerun) has its own area.
    """
    return _join(prefix, COMPACTION, table, _hour_path(hour_ms), check_scan_id(run_id)) + "/"


def compaction_inputs_key(prefix: str, table: str, hour_ms: int, run_id: str) -> str:
    """The run's ``--srcPrefixesFile``: one ``s3://bucket/key`` per raw file it compacts."""
    return compaction_run_prefix(prefix, table, hour_ms, run_id) + "inputs.txt"


def compaction_ledger_key(prefix: str, table: str, hour_ms: int, run_id: str) -> str:
    """The run's ledger list (gzip NDJSON ``{"file_key": …}``), which the load COPYs into the ledger."""
    return compaction_run_prefix(prefix, table, hour_ms, run_id) + "ledger.json.gz"


def compaction_ledger_manifest_key(prefix: str, table: str, hour_ms: int, run_id: str) -> str:
    """The COPY manifest naming :func:`compaction_ledger_key`."""
    return compaction_run_prefix(prefix, table, hour_ms, run_id) + "ledger.manifest.json"


def compacted_prefix(prefix: str, table: str, hour_ms: int, run_id: str) -> str:
    """``<prefix>/compacted/<table>/YYYY/MM/DD/HH/<run>/``: the run's ``--dest``, outside ``raw/``."""
    return _join(prefix, COMPACTED, table, _hour_path(hour_ms), check_scan_id(run_id)) + "/"
