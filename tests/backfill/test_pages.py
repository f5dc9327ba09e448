"""A page of items -> one gzip NDJSON object of snapshot envelopes, bad items set aside alone."""

from __future__ import annotations

import gzip
import json

from ddb_cdc import capture
from ddb_cdc.backfill import pages

NAME = "snapshot_20261130T010203Za1b2c3_00000_00000000_0123456789ab"
HOUR_MS = 1_796_000_400_000
READ_MS = HOUR_MS + 61_234


def plan(items: list[dict[str, object]]) -> pages.PagePlan:
    return pages.plan_page(
        items, key_names=("pk", "sk"), table="orders", prefix="p", name=NAME, hour_ms=HOUR_MS, read_ms=READ_MS
    )


def test_a_page_becomes_one_object_compressed_like_the_stream_writer() -> None:
    items = [
        {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"SS": ["y", "x"]}},
        {"pk": {"S": "b"}, "sk": {"N": "2"}},
    ]
    result = plan(items)
    assert result.quarantined == []
    obj = result.object
    assert obj is not None and obj.items == 2
    assert obj.key == f"p/raw/orders/2026/11/30/01/{NAME}.json.gz"
    ndjson = gzip.decompress(obj.body)
    assert len(ndjson) == obj.ndjson_bytes and ndjson.endswith(b"\n")
    assert obj.body == gzip.compress(ndjson, compresslevel=capture.GZIP_LEVEL, mtime=0)
    first = json.loads(ndjson.splitlines()[0])
    assert first["op"] == "SNAPSHOT" and first["approx_created_at"] == "2026-11-30T01:01:01.234Z"
    assert first["keys"] == {"pk": "a", "sk": 1} and first["image"]["v"] == ["x", "y"]


def test_an_unconvertible_item_is_quarantined_alone_with_its_reason() -> None:
    good = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    bad_name = {"pk": {"S": "b"}, "sk": {"N": "2"}, "na\x00me": {"B": b"\x01"}}
    result = plan([good, bad_name, {"pk": {"S": "c"}}])
    assert result.object is not None and result.object.items == 1
    assert [q.reason for q in result.quarantined][1] == "item lacks a key attribute"
    first = result.quarantined[0]
    assert "NUL" in first.reason and "na\x00me" not in first.reason  # reasons name no content
    assert first.key == f"p/quarantine/orders/2026/11/30/01/{NAME}_00001.json"
    body = json.loads(first.body)
    assert body["backfill_object"] == NAME and body["index"] == 1 and body["source_table"] == "orders"
    assert body["record"]["Item"]["na\x00me"] == {"B": "AQ=="}


def test_a_page_of_nothing_writes_nothing() -> None:
    assert plan([]) == pages.PagePlan(None, [])
