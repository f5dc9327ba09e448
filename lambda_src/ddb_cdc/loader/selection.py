"""Pure decisions: which S3 keys an event names, which hours a scheduled run lists, and
how candidate files are grouped into loads. No I/O here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote_plus

from ddb_cdc import layout
from ddb_cdc.warehouse.sql import raw_prefix

HOUR_MS: Final = 3_600_000
# A cap on one load's files: keeps the manifest, the ledger INSERTs (within the Data
# API's 40 statements and 100 KB per statement) and the COPY's duration bounded. What
# is left waits for the next run; the ledger, not the trigger, remembers it.
MAX_FILES_PER_LOAD: Final = 1000
# Loads of never-failed files one scheduled run (schedule, ec2_cron, reconcile) may start:
# with one, a run every 15 minutes loads at most 4,000 files an hour and falls behind a
# table writing 100 files a minute (bench/bench_compaction.py). Ten is also what one SQS
# batch of 10,000 notifications can need, so no invocation does more than that path.
MAX_CLEAN_LOADS_PER_RUN: Final = 10
# Files that failed before are loaded one at a time, so that only a corrupt file keeps
# failing; this bounds how many such single-file loads one invocation runs.
MAX_SINGLE_FILE_LOADS: Final = 20


@dataclass(frozen=True, slots=True)
class EventKeys:
    keys: tuple[str, ...]
    test_events: int = 0
    ignored: tuple[str, ...] = field(default_factory=tuple)  # reasons, for the log


def is_raw_file(key: str, prefix: str, table: str) -> bool:
    """A change file of this table: under ``<prefix>/raw/<table>/`` and ending ``.json.gz``.

    Only prefix and suffix are checked, never the file name: Firehose names its objects
    itself, and both aggregations must load.
    """
    return key.startswith(raw_prefix(prefix, table)) and key.endswith(layout.RAW_SUFFIX)


def _s3_records(body: str) -> tuple[list[Mapping[str, Any]], bool, str | None]:
    """(records, is_test_event, problem) of one SQS message body."""
    try:
        document = json.loads(body)
    except (TypeError, json.JSONDecodeError):
        return [], False, "message body is not JSON"
    # S3 -> SNS -> SQS wraps the notification in an SNS envelope; accept both.
    if isinstance(document, dict) and document.get("Type") == "Notification" and "Message" in document:
        return _s3_records(document["Message"])
    if not isinstance(document, dict):
        return [], False, "message body is not a JSON object"
    if document.get("Event") == "s3:TestEvent":
        # S3 sends this once when the notification is configured; it names no object.
        return [], True, None
    records = document.get("Records")
    if not isinstance(records, list):
        return [], False, "message has no Records list"
    return [record for record in records if isinstance(record, dict)], False, None


def keys_from_sqs_event(event: Mapping[str, Any], *, bucket: str, prefix: str, table: str) -> EventKeys:
    """The raw file keys named by an SQS batch of S3 event notifications, de-duplicated.

    S3 form-encodes object keys in notifications ('+' for a space, %XX otherwise), so
    each key is decoded with ``unquote_plus`` before it is compared or loaded.
    """
    keys: dict[str, None] = {}
    tests = 0
    ignored: list[str] = []
    for message in event.get("Records") or []:
        if not isinstance(message, dict) or message.get("eventSource") != "aws:sqs":
            ignored.append("record is not an SQS message")
            continue
        records, is_test, problem = _s3_records(message.get("body", ""))
        tests += is_test
        if problem:
            ignored.append(problem)
        for record in records:
            s3 = record.get("s3") or {}
            name = str(record.get("eventName", ""))
            if not name.startswith("ObjectCreated:"):
                ignored.append(f"event {name or 'without a name'}")
                continue
            if (s3.get("bucket") or {}).get("name") != bucket:
                ignored.append("another bucket")
                continue
            raw_key = (s3.get("object") or {}).get("key")
            if not isinstance(raw_key, str):
                ignored.append("no object key")
                continue
            key = unquote_plus(raw_key)
            if is_raw_file(key, prefix, table):
                keys[key] = None
            else:
                ignored.append("not a raw change file of this table")
    return EventKeys(tuple(keys), tests, tuple(ignored))


def hour_prefixes(prefix: str, table: str, start_ms: int, end_ms: int) -> list[str]:
    """``<prefix>/raw/<table>/YYYY/MM/DD/HH/`` for every hour from start to end, inclusive."""
    base = raw_prefix(prefix, table)
    first = start_ms - start_ms % HOUR_MS
    return [
        base + time.strftime("%Y/%m/%d/%H/", time.gmtime(hour // 1000))
        for hour in range(first, end_ms + 1, HOUR_MS)
    ]


def schedule_window_start(high_water_hour_ms: int | None, lookback_hours: int) -> int | None:
    """Where a scheduled run starts listing: the newest loaded hour minus the safety
    margin, or None (list everything) when the ledger is empty.

    The margin covers files that land late in an hour already loaded: a writer retry,
    Firehose buffering across the hour boundary, a backfill.
    """
    if high_water_hour_ms is None:
        return None
    return high_water_hour_ms - lookback_hours * HOUR_MS


def plan_loads(
    candidates: Iterable[str],
    failure_counts: Mapping[str, int],
    *,
    max_files: int = MAX_FILES_PER_LOAD,
    max_single_loads: int = MAX_SINGLE_FILE_LOADS,
    max_clean_loads: int = MAX_CLEAN_LOADS_PER_RUN,
    load_all_clean: bool = False,
) -> list[tuple[str, ...]]:
    """Group files into loads: the files that never failed together, then each file
    that failed before on its own.

    A failed batch therefore splits on its retry: the good files load, and only the
    corrupt one keeps failing until it is quarantined. Oldest keys go first (raw keys
    sort by hour). Clean files beyond ``max_clean_loads`` loads of ``max_files`` wait for
    the next run, unless
    ``load_all_clean``: an SQS batch's messages are gone once the invocation returns,
    so its files are loaded in as many capped loads as they need (a batch of up to
    10,000 messages is at most ten loads). Files that failed before are never lost to
    the cap: their failure records keep them pending.
    """
    ordered = sorted(set(candidates))
    clean = [key for key in ordered if failure_counts.get(key, 0) == 0]
    suspect = [key for key in ordered if failure_counts.get(key, 0) > 0][:max_single_loads]
    loads = chunked(clean, max_files)
    if not load_all_clean:
        loads = loads[:max_clean_loads]
    loads.extend((key,) for key in suspect)
    return loads


def chunked(keys: Iterable[str], size: int = MAX_FILES_PER_LOAD) -> list[tuple[str, ...]]:
    ordered = sorted(set(keys))
    return [tuple(ordered[start : start + size]) for start in range(0, len(ordered), size)]
