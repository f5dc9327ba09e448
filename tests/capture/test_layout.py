"""Contract 2: object keys are deterministic, hour-partitioned by record time, and parse back."""

from __future__ import annotations

import calendar

import pytest
from ddb_cdc import layout

FIRST = "0" * 12 + "4421584500000000017450439091"
LAST = "0" * 12 + "4421584500000000017450439093"
CREATED_MS = 1_764_215_392_000  # 2025-11-27T03:49:52Z


def test_raw_key_has_prefix_table_hour_and_batch_name() -> None:
    name = layout.batch_object_name("20261127T034952276", FIRST, LAST)
    key = layout.raw_object_key("cdc/prod", "sensors", CREATED_MS, name)
    assert key == f"cdc/prod/raw/sensors/2025/11/27/03/20261127T034952276_{FIRST}_{LAST}.json.gz"


def test_empty_prefix_gives_no_leading_slash() -> None:
    key = layout.raw_object_key("", "sensors", CREATED_MS, "n")
    assert key == "raw/sensors/2025/11/27/03/n.json.gz"


def test_hour_comes_from_the_given_creation_time_in_utc() -> None:
    just_before_midnight = calendar.timegm((2025, 12, 31, 23, 59, 59)) * 1000 + 999
    assert "/2025/12/31/23/" in layout.raw_object_key("p", "t_1", just_before_midnight, "n")
    assert "/2026/01/01/00/" in layout.raw_object_key("p", "t_1", just_before_midnight + 1, "n")


@pytest.mark.parametrize(
    ("arn", "label"),
    [
        (
            "arn:aws:dynamodb:us-east-1:123456789012:table/sensors/stream/2015-06-27T00:48:05.899",
            "20150627T004805899",
        ),
        (
            "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/a.b-c_d/stream/2026-11-27T03:49:52.276118",
            "20261127T034952276118",
        ),
    ],
)
def test_stream_label_keeps_only_letters_and_digits(arn: str, label: str) -> None:
    assert layout.stream_label(arn) == label


@pytest.mark.parametrize(
    "arn",
    [
        None,
        "",
        "arn:aws:kinesis:us-east-1:123456789012:stream/x",
        "arn:aws:dynamodb:us-east-1:123:table/t/stream/x",
    ],
)
def test_anything_but_a_dynamodb_stream_arn_is_rejected(arn: object) -> None:
    with pytest.raises(layout.LayoutError):
        layout.stream_label(arn)


def test_batch_name_requires_ordered_40_digit_tokens() -> None:
    with pytest.raises(layout.LayoutError):
        layout.batch_object_name("L1", LAST, FIRST)
    with pytest.raises(layout.LayoutError):
        layout.batch_object_name("L1", "123", LAST)
    with pytest.raises(layout.LayoutError):
        layout.batch_object_name("bad:label", FIRST, LAST)


def test_raw_key_parses_back_to_its_parts() -> None:
    key = layout.raw_object_key("a/b/c", "sensors", CREATED_MS, "L_x_y")
    parsed = layout.parse_object_key(key)
    assert parsed == layout.ObjectKey("a/b/c", "raw", "sensors", CREATED_MS - 49 * 60_000 - 52_000, "L_x_y")


def test_quarantine_key_uses_event_id_or_a_digest_when_unsafe() -> None:
    assert (
        layout.quarantine_name("c4ca4238a0b923820dcc509a6f75849b", "d" * 64)
        == "c4ca4238a0b923820dcc509a6f75849b"
    )
    assert layout.quarantine_name("../../etc", "d" * 64) == "d" * 64
    assert layout.quarantine_name(None, "d" * 64) == "d" * 64
    key = layout.quarantine_object_key("", "sensors", CREATED_MS, "evt-1")
    assert key == "quarantine/sensors/2025/11/27/03/evt-1.json"
    assert layout.parse_object_key(key) == layout.ObjectKey(
        "", "quarantine", "sensors", 1_764_212_400_000, "evt-1"
    )


@pytest.mark.parametrize(
    "key",
    [
        "raw/sensors/2025/11/27/03/x.json",  # raw objects are gzip
        "other/sensors/2025/11/27/03/x.json.gz",
        "raw/sensors/2025/13/27/03/x.json.gz",
        "raw/sensors/25/11/27/03/x.json.gz",
        "raw/2025/11/27/03/x.json.gz",
    ],
)
def test_keys_outside_the_layout_do_not_parse(key: str) -> None:
    with pytest.raises(layout.LayoutError):
        layout.parse_object_key(key)
