"""Stream record -> envelope line: the exact contract-1 shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from ddb_cdc.envelope import (
    SNAPSHOT_SEQ,
    UnconvertibleRecord,
    encode_snapshot,
    encode_stream_record,
    format_timestamp,
    seq_token,
    table_json,
)

from .support import assert_item_lossless, loads_exact, stream_record

ENVELOPE_KEYS = [
    "envelope_version",
    "op",
    "source_table",
    "event_id",
    "seq",
    "approx_created_at",
    "keys",
    "key_string",
    "image",
]
# Written right after image, only when the image holds a number SUPER might alter.
EXACT_KEYS = [*ENVELOPE_KEYS, "exact_numbers"]


def encode(record: dict[str, Any], table: str = "sensors") -> dict[str, Any]:
    return loads_exact(encode_stream_record(record, table_json(table)).line)


def test_insert_becomes_an_envelope_with_exactly_the_contract_keys(load_event: Any) -> None:
    record = load_event("insert_modify_remove.json")["Records"][0]
    envelope = encode(record)
    assert list(envelope) == EXACT_KEYS
    assert envelope["exact_numbers"] == {"temp": "21.50"}  # the other numbers are safe
    assert envelope["envelope_version"] == 1
    assert envelope["op"] == "INSERT"
    assert envelope["source_table"] == "sensors"
    assert envelope["event_id"] == "c4ca4238a0b923820dcc509a6f75849b"
    assert envelope["seq"] == "000000000000" + "4421584500000000017450439091"
    assert envelope["approx_created_at"] == "2025-11-27T03:49:52.000Z"
    assert envelope["keys"] == {"id": "sensor-0001", "timestamp": 1764215392000}
    assert envelope["key_string"] == '[["id","S","sensor-0001"],["timestamp","N","1764215392000"]]'
    assert_item_lossless(record["dynamodb"]["NewImage"], envelope["image"])


def test_remove_after_insert_leaves_tombstone_without_image(load_event: Any) -> None:
    insert, _, remove = load_event("insert_modify_remove.json")["Records"]
    tombstone = encode(remove)
    assert tombstone["op"] == "REMOVE"
    assert "image" not in tombstone
    assert "exact_numbers" not in tombstone
    assert tombstone["keys"] == encode(insert)["keys"]
    assert tombstone["key_string"] == encode(insert)["key_string"]
    assert tombstone["seq"] > encode(insert)["seq"]


def test_every_type_survives_inside_a_full_envelope(load_event: Any) -> None:
    record = load_event("all_types.json")["Records"][0]
    line = encode_stream_record(record, table_json("sensors")).line
    assert "\n" not in line and line.isascii()
    assert_item_lossless(record["dynamodb"]["NewImage"], loads_exact(line)["image"])


def test_envelope_line_is_compact_json_with_numbers_verbatim(load_event: Any) -> None:
    record = load_event("all_types.json")["Records"][0]
    line = encode_stream_record(record, table_json("sensors")).line
    assert '"digits38":12345678901234567890123456789012345678' in line
    assert '"huge":1E+125' in line and '"tiny":-1E-130' in line
    assert '"trailing_zeros":1.500' in line


@pytest.mark.parametrize(
    ("sequence_number", "token"),
    [
        ("1", "0" * 39 + "1"),
        ("4421584500000000017450439091", "000000000000" + "4421584500000000017450439091"),
        ("9" * 40, "9" * 40),
    ],
)
def test_sequence_numbers_pad_to_40_digits(sequence_number: str, token: str) -> None:
    assert seq_token(sequence_number) == token


def test_padded_tokens_sort_as_strings_like_the_numbers_sort() -> None:
    numbers = [5, 40, 123456789012345678901, 99, 10**39, 7 * 10**25]
    tokens = [seq_token(str(n)) for n in numbers]
    assert sorted(tokens) == [seq_token(str(n)) for n in sorted(numbers)]


@pytest.mark.parametrize("bad", ["1" * 41, "12a4", "", "-5", "١٢٣", 12345, None])
def test_sequence_numbers_that_are_not_up_to_40_digits_are_unconvertible(bad: Any) -> None:
    with pytest.raises(UnconvertibleRecord, match="SequenceNumber"):
        seq_token(bad)


@pytest.mark.parametrize(
    ("created", "text"),
    [
        (1764215392, "2025-11-27T03:49:52.000Z"),
        (1764215392.5, "2025-11-27T03:49:52.500Z"),
        (1764215392.1234, "2025-11-27T03:49:52.123Z"),
        (0, "1970-01-01T00:00:00.000Z"),
    ],
)
def test_creation_time_is_iso_utc_with_milliseconds(created: int | float, text: str) -> None:
    record = stream_record("INSERT", {"id": {"S": "a"}}, new_image={"id": {"S": "a"}}, created=created)
    assert encode(record)["approx_created_at"] == text


def test_format_timestamp_rolls_seconds_over_correctly() -> None:
    assert format_timestamp(1_764_215_392_999) == "2025-11-27T03:49:52.999Z"
    assert format_timestamp(1_764_215_393_000) == "2025-11-27T03:49:53.000Z"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda r: r.update(eventName="UPSERT"), "eventName"),
        (lambda r: r.pop("eventID"), "eventID is missing"),
        (lambda r: r.pop("dynamodb"), "dynamodb section is missing"),
        (lambda r: r["dynamodb"].update(SequenceNumber="x1"), "SequenceNumber"),
        (
            lambda r: r["dynamodb"].update(ApproximateCreationDateTime="2025-11-27"),
            "ApproximateCreationDateTime",
        ),
        (
            lambda r: r["dynamodb"].update(ApproximateCreationDateTime=float("nan")),
            "ApproximateCreationDateTime",
        ),
        (lambda r: r["dynamodb"].update(ApproximateCreationDateTime=True), "ApproximateCreationDateTime"),
        (lambda r: r["dynamodb"].pop("Keys"), "Keys is missing"),
        (lambda r: r["dynamodb"].pop("NewImage"), "NEW_IMAGE or NEW_AND_OLD_IMAGES"),
        (
            lambda r: r["dynamodb"]["NewImage"].update(temp={"X": "1"}),
            "NewImage.temp: unknown DynamoDB type tag",
        ),
    ],
)
def test_malformed_stream_records_are_unconvertible_with_a_reason(
    load_event: Any, mutate: Any, reason: str
) -> None:
    record = load_event("insert_modify_remove.json")["Records"][0]
    mutate(record)
    with pytest.raises(UnconvertibleRecord) as raised:
        encode_stream_record(record, table_json("sensors"))
    assert reason in raised.value.reason


def test_remove_needs_no_new_image_even_in_a_keys_only_stream() -> None:
    record = stream_record("REMOVE", {"id": {"S": "gone"}})
    record["dynamodb"]["StreamViewType"] = "KEYS_ONLY"
    assert encode(record)["keys"] == {"id": "gone"}


def test_snapshot_envelope_uses_the_lowest_token_and_no_event_id() -> None:
    item = {"id": {"S": "a"}, "n": {"N": "1.0"}, "tags": {"SS": ["y", "x"]}}
    encoded = encode_snapshot(item, ["id"], "sensors", 1_764_215_392_000)
    envelope = loads_exact(encoded.line)
    assert list(envelope) == [*EXACT_KEYS, "exact_types"]
    assert envelope["exact_numbers"] == {"n": "1.0"}
    assert envelope["exact_types"] == {"tags": "SS"}
    assert envelope["op"] == "SNAPSHOT"
    assert envelope["seq"] == SNAPSHOT_SEQ == "0" * 40
    assert envelope["event_id"] is None
    assert envelope["keys"] == {"id": "a"}
    assert envelope["image"] == {"id": "a", "n": Decimal("1.0"), "tags": ["x", "y"]}


def test_snapshot_of_an_item_without_its_key_is_unconvertible() -> None:
    with pytest.raises(UnconvertibleRecord, match="lacks a key attribute"):
        encode_snapshot({"other": {"S": "x"}}, ["id"], "sensors", 0)
