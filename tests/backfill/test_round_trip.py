"""A table of every DynamoDB type, scanned by the segment loop, rebuilds to the same items."""

from __future__ import annotations

import base64
import gzip
import json
from decimal import Decimal
from typing import Any

import boto3
from ddb_cdc import envelope
from ddb_cdc.backfill import scan
from ddb_cdc.handlers import backfill_scan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.capture.strategies import items, normal

from .conftest import BUCKET, HOUR_MS, PREFIX, REGION, SCAN_ID, create_table, make_rig

# CPU-bound, among the main thread's longest tests (make test at 2094115: 108 s): beside the suite in a pytest
# process of their own (tests/rig/own_process.py), so their minutes overlap the demos'.
RUN_IN_OWN_PROCESS = True


def as_boto3(attr: dict[str, Any]) -> dict[str, Any]:
    """The strategy's values in the form boto3 sends: binary as bytes (base64 text would be
    encoded a second time)."""
    ((tag, value),) = attr.items()
    if tag == "B":
        return {"B": value if isinstance(value, bytes) else base64.b64decode(value)}
    if tag == "BS":
        return {"BS": [m if isinstance(m, bytes) else base64.b64decode(m) for m in value]}
    if tag == "M":
        return {"M": {name: as_boto3(inner) for name, inner in value.items()}}
    if tag == "L":
        return {"L": [as_boto3(inner) for inner in value]}
    return {tag: value}


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(st.lists(items, min_size=1, max_size=6), st.integers(1, 3), st.integers(1, 4))
def test_every_item_scanned_appears_once_with_its_exact_typed_value(
    table_items: list[dict[str, Any]], page_size: int, segments: int
) -> None:
    # Keys are rewritten to distinct strings so that every generated item is its own row.
    originals = {
        f"k{n}": {name: as_boto3(attr) for name, attr in {**item, "pk": {"S": f"k{n}"}}.items()}
        for n, item in enumerate(table_items)
    }
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        client = create_table()
        for item in originals.values():
            client.put_item(TableName="orders", Item=item)
        rig = make_rig(CDC_BACKFILL_PAGE_SIZE=str(page_size))
        for segment in range(segments):
            state: dict[str, Any] = scan.fresh_state(SCAN_ID, segment, segments, HOUR_MS)
            while not state.get("done"):
                state = backfill_scan.process(state, rig.context(), rig.scan_runtime())
        seen: dict[str, dict[str, Any]] = {}
        for key in rig.keys(f"{PREFIX}/raw/"):
            body = rig.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            for line in gzip.decompress(body).decode("ascii").splitlines():
                env = json.loads(line, parse_float=Decimal)
                (pk,) = envelope.rebuild_keys(env["key_string"]).values()
                assert pk["S"] not in seen, "an item appeared twice"
                seen[pk["S"]] = envelope.rebuild_item(
                    env["image"], env.get("exact_numbers"), env.get("exact_types")
                )
        assert rig.keys(f"{PREFIX}/quarantine/") == []
    assert seen.keys() == originals.keys()
    for pk, item in originals.items():
        rebuilt = seen[pk]
        assert rebuilt.keys() == item.keys()
        assert {n: normal(a) for n, a in rebuilt.items()} == {n: normal(a) for n, a in item.items()}
