"""Manifests, load ids and the staging table agree with the envelope and the layout."""

from __future__ import annotations

import json

import pytest
from ddb_cdc import envelope, layout
from ddb_cdc.warehouse import ConfigError, load_id_for, manifest_body, manifest_key, s3_url
from ddb_cdc.warehouse.sql import ENVELOPE_COLUMNS

from tests.rig.cdc_files import stream_record


def test_staging_columns_are_exactly_the_envelopes_keys() -> None:
    """COPY's JSON 'auto' fills a column only when a key has exactly its name."""
    streamed = envelope.encode_stream_record(
        stream_record(
            "INSERT",
            {"id": {"S": "a"}},
            # 1E+125 is a number SUPER might alter, so the envelope carries exact_numbers; a binary
            # reads like a string in JSON, so it carries exact_types.
            {"id": {"S": "a"}, "n": {"N": "1E+125"}, "b": {"B": "AAE="}},
            sequence_number="1",
            created_s=1_795_000_000,
            event_id="e1",
            table="orders",
        ),
        envelope.table_json("orders"),
    )
    snapshot = envelope.encode_snapshot(
        {"id": {"S": "a"}, "n": {"N": "1.50"}, "s": {"SS": ["x"]}}, ["id"], "orders", 1_795_000_000_000
    )
    columns = {column.name for column in ENVELOPE_COLUMNS}
    assert set(json.loads(streamed.line)) == columns
    assert set(json.loads(snapshot.line)) == columns
    removed = envelope.encode_stream_record(
        stream_record(
            "REMOVE",
            {"id": {"S": "a"}},
            None,
            sequence_number="2",
            created_s=1_795_000_000,
            event_id="e2",
            table="orders",
        ),
        envelope.table_json("orders"),
    )
    assert set(json.loads(removed.line)) == columns - {"image", "exact_numbers", "exact_types"}
    not_null = {column.name for column in ENVELOPE_COLUMNS if column.not_null}
    assert not_null <= set(json.loads(removed.line))


def test_manifests_live_under_the_prefix_manifests_area_per_table_and_load() -> None:
    assert manifest_key("cdc/prod", "orders", "abc") == "cdc/prod/manifests/orders/abc.json"
    assert manifest_key("", "orders", "abc") == "manifests/orders/abc.json"
    with pytest.raises(ConfigError, match="load_id"):
        manifest_key("cdc", "orders", "../x")
    with pytest.raises(ConfigError, match="slash"):
        manifest_key("cdc", "a/b", "x")


def test_a_manifest_lists_every_file_as_mandatory() -> None:
    key = layout.raw_object_key("cdc/prod", "orders", 1_795_000_000_000, "label_1_2")
    assert json.loads(manifest_body("cdc-bucket", [key])) == {
        "entries": [{"url": f"s3://cdc-bucket/{key}", "mandatory": True}]
    }
    with pytest.raises(ConfigError, match="at least one file"):
        manifest_body("cdc-bucket", [])
    with pytest.raises(ConfigError, match="not a valid S3 bucket name"):
        s3_url("Bad_Bucket", "k")


def test_the_load_id_depends_only_on_the_set_of_files() -> None:
    assert load_id_for(["b", "a", "a"]) == load_id_for(["a", "b"])
    assert load_id_for(["a"]) != load_id_for(["a", "b"])
    assert len(load_id_for(["a"])) == 32
    with pytest.raises(ConfigError):
        load_id_for([])
