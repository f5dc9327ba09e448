"""The backfill's configuration and its keys (contract 2)."""

from __future__ import annotations

import random

import pytest
from ddb_cdc import layout
from ddb_cdc.backfill.config import BackfillConfig
from ddb_cdc.config import ConfigError

from .conftest import MAPPING, env

SCAN_ID = "20261130T010203Za1b2c3"


def test_the_environment_parses_into_a_frozen_config() -> None:
    config = BackfillConfig.from_env(
        env(
            CDC_KEY_NAMES="id, timestamp",
            CDC_BACKFILL_STATE_MACHINE_ARN="arn:aws:states:us-east-1:123456789012:stateMachine:orders-backfill",
        )
    )
    assert config.key_names == ("id", "timestamp")
    assert config.mapping_uuid == MAPPING and config.mode == "step_functions"
    assert (config.segments, config.page_size, config.read_units_per_second) == (4, 3, 1000.0)
    assert config.max_attempts == 5
    with pytest.raises(AttributeError):
        config.page_size = 1  # type: ignore[misc]


def test_defaults() -> None:
    values = env()
    for name in ("CDC_BACKFILL_SEGMENTS", "CDC_BACKFILL_PAGE_SIZE", "CDC_BACKFILL_READ_UNITS_PER_SECOND"):
        values.pop(name)
    config = BackfillConfig.from_env(values)
    assert (config.segments, config.page_size, config.read_units_per_second) == (4, 1000, 200.0)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CDC_BACKFILL_MODE", "lambda", "CDC_BACKFILL_MODE"),
        ("CDC_BACKFILL_SEGMENTS", "0", "1..1000"),
        ("CDC_BACKFILL_SEGMENTS", "1001", "1..1000"),
        ("CDC_BACKFILL_PAGE_SIZE", "10001", "1..10000"),
        ("CDC_BACKFILL_PAGE_SIZE", "ten", "integer"),
        ("CDC_BACKFILL_READ_UNITS_PER_SECOND", "0.5", ">= 1"),
        ("CDC_BACKFILL_READ_UNITS_PER_SECOND", "nan", ">= 1"),
        ("CDC_BACKFILL_MAX_ATTEMPTS", "0", ">= 1"),
        ("CDC_KEY_NAMES", "a,b,c", "CDC_KEY_NAMES"),
        ("CDC_KEY_NAMES", "a,a", "twice"),
        ("CDC_STREAM_MAPPING_UUID", "", "CDC_STREAM_MAPPING_UUID"),
        ("CDC_BACKFILL_STATE_MACHINE_ARN", "arn:aws:lambda:x", "state machine"),
    ],
)
def test_a_bad_value_is_a_config_error(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BackfillConfig.from_env(env(**{name: value}))


def test_checkpoint_mode_needs_its_cursor_table() -> None:
    values = env(CDC_BACKFILL_MODE="checkpoint_table")
    values.pop("CDC_BACKFILL_CURSOR_TABLE")
    with pytest.raises(ConfigError, match="CDC_BACKFILL_CURSOR_TABLE"):
        BackfillConfig.from_env(values)


def test_a_scan_id_is_the_start_time_and_six_hex_digits() -> None:
    scan_id = layout.new_scan_id(1_796_000_523_999, random.Random(7))
    assert scan_id.startswith("20261130T010203Z") and layout.is_scan_id(scan_id)
    assert scan_id.isascii() and scan_id.isalnum()
    assert not layout.is_scan_id("2026-11-30T01:02:03Z")
    with pytest.raises(layout.LayoutError):
        layout.check_scan_id("../etc")


def test_a_snapshot_name_is_fixed_by_scan_segment_page_and_range() -> None:
    start = {"pk": {"S": "k0002"}}
    end = {"pk": {"S": "k0005"}}
    name = layout.snapshot_object_name(SCAN_ID, 3, 12, start, end)
    assert name.startswith(f"snapshot_{SCAN_ID}_00003_00000012_") and len(name.rsplit("_", 1)[1]) == 12
    assert layout.snapshot_object_name(SCAN_ID, 3, 12, dict(start), dict(end)) == name
    assert layout.snapshot_object_name(SCAN_ID, 3, 12, start, {"pk": {"S": "k0006"}}) != name
    assert layout.snapshot_object_name(SCAN_ID, 3, 12, None, None) != layout.snapshot_object_name(
        SCAN_ID, 3, 12, None, end
    )
    # boto3's bytes and Lambda's base64 text are one cursor.
    assert layout.snapshot_object_name(SCAN_ID, 0, 0, None, {"pk": {"B": b"\x00\xff"}}) == (
        layout.snapshot_object_name(SCAN_ID, 0, 0, None, {"pk": {"B": "AP8="}})
    )
    key = layout.raw_object_key("cdc", "orders", 1_796_000_523_999, name)
    parsed = layout.parse_object_key(key)
    assert (parsed.area, parsed.table, parsed.name) == ("raw", "orders", name)


def test_an_export_name_keeps_letters_and_digits_only() -> None:
    name = layout.export_object_name("01764464523000-a1b2c3d4", "abc-def.x", 7)
    assert name == "export_01764464523000a1b2c3d4_abcdefx_0007"
    with pytest.raises(layout.LayoutError):
        layout.export_object_name("---", "x", 0)


def test_the_control_area_sits_beside_raw_never_under_it() -> None:
    assert layout.backfill_prefix("cdc/prod", "orders", SCAN_ID) == f"cdc/prod/backfill/orders/{SCAN_ID}/"
    assert layout.backfill_prefix("", "orders", "") == "backfill/orders/"
    assert layout.progress_key("", "orders", SCAN_ID, 7) == f"backfill/orders/{SCAN_ID}/segment-00007.json"
    assert layout.scan_record_key("p", "orders", SCAN_ID) == f"p/backfill/orders/{SCAN_ID}/scan.json"
    assert layout.export_prefix("p", "orders", SCAN_ID) == f"p/backfill/orders/{SCAN_ID}/export"
    with pytest.raises(layout.LayoutError):
        layout.parse_object_key(layout.progress_key("p", "orders", SCAN_ID, 7))
