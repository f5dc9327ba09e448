"""The centrepiece: whatever is loaded, in whatever order, the target is right.

Each example draws a small table history (puts and deletes over five keys, some keys
existing before the stream, as a backfill would find them), runs it through the real
stream writer into moto S3 (random batch boundaries, plus overlapping re-written
batches as a bisected retry produces), adds backfill snapshot files (seq 0, the table
as it was at some stream position; one covers the whole table), and then loads the
files in random batches: duplicated inside a manifest, reordered, replayed.

After every load the target must equal the oracle in support.expected_rows (the best
change per key among the envelopes loaded so far), the view must hide exactly the
tombstones, the ledger must list exactly the files loaded, and the history table every
distinct change loaded. Once every file is in, the view must equal the model's final
table. 500 examples normally, 5,000 with HYPOTHESIS_PROFILE=thorough.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ddb_cdc.warehouse import KeyAttribute, TargetSpec
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from tests.rig.cdc_files import REGION, ChangeFiles, WriteThroughS3
from tests.rig.loads import LocalWarehouse
from tests.rig.postgres import PostgresServer

from .support import (
    TableModel,
    distinct_changes,
    expected_rows,
    plain,
    property_settings,
    read_history,
    read_ledger,
    read_target,
    read_view,
    snapshot_time_ms,
    visible,
)

# CPU-bound, among the main thread's longest tests (make test at 2094115: 43 s): beside the suite in a pytest
# process of their own (tests/rig/own_process.py), so their minutes overlap the demos'.
RUN_IN_OWN_PROCESS = True
BUCKET = "property-bucket"
TABLE = "sensors"
KEYS = [f"k{index}" for index in range(5)]

# DynamoDB values the images carry: exact decimals (digits beyond float precision),
# big integers, unicode text (NUL and control characters included: the envelope stores a
# string holding NUL in pieces) and booleans. Every type and size is covered by
# test_round_trip_types.py; this test is about ordering, replays and tombstones.
values = st.one_of(
    st.integers(-(10**30), 10**30).map(lambda number: {"N": str(number)}),
    st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False, allow_infinity=False).map(
        lambda number: {"N": format(number, "f")}
    ),
    st.text(st.characters(codec="utf-8"), max_size=6).map(lambda text: {"S": text}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
)
operations = st.lists(
    st.tuples(st.sampled_from(["put", "put", "delete"]), st.sampled_from(KEYS), values, st.booleans()),
    max_size=16,
)
initial_items = st.dictionaries(st.sampled_from(KEYS), values, max_size=3)


class PropertyRig:
    """One schema and one bucket for all examples; each example empties the tables and
    writes under a new prefix."""

    def __init__(self, pg_server: PostgresServer, s3: Any):
        self.s3 = s3
        self.connection = pg_server.connect()
        self.schema = "prop_" + uuid.uuid4().hex[:8]
        spec = TargetSpec(self.schema, TABLE, (KeyAttribute("id", "S"),), history=True)
        self.warehouse = LocalWarehouse(spec, self.connection, s3, BUCKET, "unused")
        self.warehouse.create()

    def reset(self) -> ChangeFiles:
        spec = self.warehouse.spec
        # DELETE, not TRUNCATE: on tables this small it is ten times cheaper, and the
        # reset runs once per example.
        with self.connection.cursor() as cursor:
            for table in (spec.table, spec.history_table, spec.ledger_table):
                cursor.execute(f'DELETE FROM "{spec.schema}"."{table}"')
        self.connection.commit()
        # A fresh prefix per example: earlier examples' objects can never be picked up.
        prefix = "p" + uuid.uuid4().hex[:10]
        self.warehouse.prefix = prefix
        return ChangeFiles(self.s3, BUCKET, prefix, TABLE)

    def close(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
        self.connection.commit()
        self.connection.close()


@pytest.fixture(scope="module")
def rig(pg_server: PostgresServer) -> Iterator[PropertyRig]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        # Writes reach moto; re-reads of the same immutable files come from memory.
        property_rig = PropertyRig(pg_server, WriteThroughS3(s3))
        yield property_rig
        property_rig.close()


def _item(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"id": {"S": key}, "rev": {"N": "0"}, "v": value}


@property_settings(normal=500, thorough=5000)
@given(data=st.data())
def test_target_equals_the_changes_loaded_so_far_whatever_the_batches_order_and_replays(
    rig: PropertyRig, data: st.DataObject
) -> None:
    files = rig.reset()
    warehouse = rig.warehouse

    # 1. A table history and its stream.
    initial = {key: _item(key, value) for key, value in data.draw(initial_items, label="initial").items()}
    first_sequence = data.draw(st.sampled_from([10**20 - 3, 4421584500000000017450439091]), label="first_seq")
    model = TableModel(TABLE, first_sequence, initial)
    for action, key, value, nested in data.draw(operations, label="operations"):
        if action == "put":
            model.put(key, value, nested)
        else:
            model.delete(key)
    records = model.records

    # 2. The stream through the real writer: random batch boundaries, plus overlapping
    #    re-written ranges (what a bisected retry leaves behind).
    file_keys: list[str] = []
    if records:
        # At most four batches: every object costs an S3 round trip, and four already
        # give every kind of boundary (inside a key's history, between keys).
        cuts = (
            data.draw(st.sets(st.integers(1, len(records) - 1), max_size=3), label="cuts")
            if len(records) > 1
            else set()
        )
        bounds = [0, *sorted(cuts), len(records)]
        for start, end in itertools.pairwise(bounds):
            file_keys.append(files.write_stream_batch(records[start:end]))
        overlaps = data.draw(
            st.lists(st.tuples(st.integers(0, len(records) - 1), st.integers(1, 4)), max_size=2),
            label="overlaps",
        )
        for start, length in overlaps:
            file_keys.append(files.write_stream_batch(records[start : start + length]))

    # 3. Backfill snapshots: the table as it was at stream position p. One covers every
    #    item (a backfill scans the whole table), others only some segments.
    full_at = data.draw(st.integers(0, len(records)), label="full_snapshot_at")
    partial = data.draw(
        st.lists(st.tuples(st.integers(0, len(records)), st.sets(st.sampled_from(KEYS))), max_size=1),
        label="partial_snapshots",
    )
    for number, (position, keys) in enumerate([(full_at, set(KEYS)), *partial]):
        state = model.states[position]
        items = [state[key] for key in sorted(state) if key in keys]
        if items:
            file_keys.append(
                files.write_snapshot(items, ["id"], snapshot_time_ms(position), f"backfill-{number}")
            )

    file_keys = list(dict.fromkeys(file_keys))
    if not file_keys:
        assert read_target(warehouse) == {}
        return
    envelopes = {key: files.read_envelopes(key) for key in file_keys}

    # 4. Loads: random subsets (duplicates inside a manifest), reordered and replayed,
    #    then whatever was never loaded, then (sometimes) a replay of finished work.
    plan = data.draw(
        st.lists(st.lists(st.sampled_from(file_keys), min_size=1, max_size=3), min_size=1, max_size=3),
        label="loads",
    )
    never_loaded = [key for key in file_keys if not any(key in load for load in plan)]
    if never_loaded:
        plan.append(data.draw(st.permutations(never_loaded), label="remaining"))
    if data.draw(st.booleans(), label="replay_at_the_end"):
        plan.append(data.draw(st.lists(st.sampled_from(file_keys), min_size=1, max_size=2), label="replay"))

    loaded: set[str] = set()
    for manifest_files in plan:
        ledger_files = list(dict.fromkeys(manifest_files))
        warehouse.load(ledger_files, manifest_files=manifest_files)
        loaded.update(ledger_files)
        changes = [change for key in loaded for change in envelopes[key]]
        expected = expected_rows(changes)
        assert read_target(warehouse) == expected
        assert read_view(warehouse) == visible(expected)
        assert read_ledger(warehouse) == sorted(loaded)
        assert read_history(warehouse) == distinct_changes(changes)

    # 5. Everything is in: the view is the table as the model left it.
    assert loaded == set(file_keys)
    final = {
        f'[["id","S","{key}"]]': {name: plain(value) for name, value in item.items()}
        for key, item in model.items.items()
    }
    assert read_view(warehouse) == final
