"""The pure core of every backfill mode: items read at one moment -> one raw object.

A Scan page, or a part of an export data file, becomes gzip NDJSON of snapshot
envelopes (:func:`ddb_cdc.envelope.encode_snapshot`), compressed exactly like the
stream writer's objects, under a raw key the caller named (:mod:`ddb_cdc.layout`).

An item that cannot become an envelope is set aside alone (contract 4), as the stream
writers do with a record: the rest of the page is still written, and the item goes to
the quarantine area as one JSON object holding the reason and the raw item. The backfill
function has no dead-letter queue, so unlike a stream record it never travels through
SQS; its quarantine key is derived from the page object's name and the item's place in
the page, so a retried page rewrites it instead of adding a twin.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from ddb_cdc import envelope, layout
from ddb_cdc.capture import GZIP_LEVEL


class PageObject(NamedTuple):
    key: str
    body: bytes  # gzip of the NDJSON lines
    items: int
    ndjson_bytes: int


class QuarantinedItem(NamedTuple):
    key: str
    body: bytes  # JSON: reason, source table, the page object's name, the raw item
    reason: str  # names the attribute and type, never a value: safe to log


class PagePlan(NamedTuple):
    object: PageObject | None  # None when no item of the page could be converted (or none was read)
    quarantined: list[QuarantinedItem]


def _json_default(value: Any) -> Any:
    # boto3 hands binary values over as bytes; the quarantine object keeps them as base64
    # text, the form Lambda and DynamoDB's own exports use.
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def quarantine_body(item: Any, *, reason: str, source_table: str, object_name: str, index: int) -> bytes:
    """The quarantine object of one item: enough to find where it came from and to replay it."""
    doc = {
        "reason": reason,
        "source_table": source_table,
        "event_id": None,
        "seq": None,
        "backfill_object": object_name,
        "index": index,
        "record": {"Item": item},
    }
    return json.dumps(doc, separators=(",", ":"), default=_json_default).encode("ascii")


def plan_page(
    items: Sequence[Mapping[str, Any]],
    *,
    key_names: Iterable[str],
    table: str,
    prefix: str,
    name: str,
    hour_ms: int,
    read_ms: int,
    compresslevel: int = GZIP_LEVEL,
) -> PagePlan:
    """One raw object named ``name`` under ``hour_ms``'s hour, holding every convertible item.

    ``read_ms`` stamps every envelope (``approx_created_at``): the time the items were
    read, which decides between two snapshots of one key. ``hour_ms`` only places the
    object; callers pass a value that a retry reproduces.
    """
    keys = tuple(key_names)
    lines: list[str] = []
    quarantined: list[QuarantinedItem] = []
    for index, item in enumerate(items):
        try:
            lines.append(envelope.encode_snapshot(item, keys, table, read_ms).line)
        except envelope.UnconvertibleRecord as exc:
            qname = layout.quarantine_name(None, f"{name}_{index:05d}")
            quarantined.append(
                QuarantinedItem(
                    layout.quarantine_object_key(prefix, table, hour_ms, qname),
                    quarantine_body(
                        item, reason=exc.reason, source_table=table, object_name=name, index=index
                    ),
                    exc.reason,
                )
            )
    if not lines:
        return PagePlan(None, quarantined)
    lines.append("")  # every line, the last one included, ends with a newline
    ndjson = "\n".join(lines).encode("ascii")
    body = gzip.compress(ndjson, compresslevel=compresslevel, mtime=0)
    key = layout.raw_object_key(prefix, table, hour_ms, name)
    return PagePlan(PageObject(key, body, len(lines) - 1, len(ndjson)), quarantined)
