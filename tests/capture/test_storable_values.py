"""Issue 10, items 1 and 6 at the source: every valid item becomes a line COPY accepts,
and the exact DynamoDB item can be rebuilt from it.

What the warehouse refuses (tests/sandbox/redshift_rules.py, tests/rig/pg_copy.py): an
escaped NUL anywhere in a row, a SUPER string over 65,535 bytes, a JSON record over
4 MB. The envelope writes such values in a storable form marked in ``exact_types``
(envelope.py), and :func:`rebuild_item` gives back the exact item.
"""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from ddb_cdc.envelope import (
    MAX_LINE_BYTES,
    MAX_SUPER_STRING_BYTES,
    UnconvertibleRecord,
    encode_snapshot,
    encode_stream_record,
    key_string,
    rebuild_item,
    rebuild_keys,
    table_json,
)
from hypothesis import HealthCheck, example, given, settings

from tests.rig.pg_copy import MAX_ROW_BYTES
from tests.sandbox import redshift_rules

from .strategies import dynamo_items, items, normal
from .support import stream_record

KEYS = {"pk": {"S": "k"}}
# The strict COPY adapter's test for a NUL in a row (tests/rig/pg_copy.py, _ESCAPED_NUL).
ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def line_of(item: dict[str, Any], keys: dict[str, Any] | None = None) -> str:
    keys = keys or {"pk": item["pk"]}
    return encode_stream_record(stream_record("INSERT", keys, new_image=item), table_json("sensors")).line


def rebuilt(line: str, *, lossy: bool = False) -> dict[str, Any] | None:
    if lossy:  # the worst a SUPER store could do: every number a float8
        envelope = json.loads(line, parse_float=float, parse_int=float)
    else:
        envelope = json.loads(line, parse_float=Decimal)
    return rebuild_item(envelope.get("image"), envelope.get("exact_numbers"), envelope.get("exact_types"))


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value.keys(), *(s for inner in value.values() for s in strings_in(inner))]
    if isinstance(value, list):
        return [s for inner in value for s in strings_in(inner)]
    return []


def assert_copy_accepts(line: str) -> None:
    """What the emulator checks of one row, plus SUPER's string limit on every string."""
    assert line.isascii() and len(line) <= min(MAX_LINE_BYTES, MAX_ROW_BYTES)
    assert not ESCAPED_NUL.search(line)
    envelope = json.loads(line)
    for field in ("keys", "image", "exact_numbers", "exact_types"):
        for text in strings_in(envelope.get(field)):
            assert redshift_rules.super_string_fits(text)


# ---------------------------------------------------------------------------
# The normal form a test compares: what DynamoDB holds, spelled one way
# ---------------------------------------------------------------------------


def assert_rebuilds(item: dict[str, Any], line: str) -> None:
    expected = normal({"M": item})
    assert normal({"M": rebuilt(line)}) == expected
    assert normal({"M": rebuilt(line, lossy=True)}) == expected


# ---------------------------------------------------------------------------
# Item 6: the type is kept
# ---------------------------------------------------------------------------

TWINS = [
    ({"v": {"S": "aGk="}}, {"v": {"B": "aGk="}}),
    ({"v": {"L": [{"S": "a"}, {"S": "b"}]}}, {"v": {"SS": ["a", "b"]}}),
    ({"v": {"L": [{"N": "1"}, {"N": "2"}]}}, {"v": {"NS": ["1", "2"]}}),
    ({"v": {"SS": ["AA==", "AQ=="]}}, {"v": {"BS": ["AA==", "AQ=="]}}),
    ({"v": {"L": [{"S": "AA=="}]}}, {"v": {"L": [{"B": "AA=="}]}}),
    ({"v": {"M": {"x": {"S": "AA=="}}}}, {"v": {"M": {"x": {"B": "AA=="}}}}),
]


@pytest.mark.parametrize(("one", "other"), TWINS)
def test_values_that_look_alike_in_plain_json_give_different_envelopes(
    one: dict[str, Any], other: dict[str, Any]
) -> None:
    first, second = line_of({**KEYS, **one}), line_of({**KEYS, **other})
    assert json.loads(first)["image"] == json.loads(second)["image"]  # plain JSON stays plain
    assert first != second
    assert rebuilt(first) == {**KEYS, **one}
    assert rebuilt(second) == {**KEYS, **other}


def test_exact_types_marks_only_what_plain_json_cannot_tell() -> None:
    item = {
        **KEYS,
        "s": {"S": "x"},
        "n": {"N": "5"},
        "ok": {"BOOL": True},
        "none": {"NULL": True},
        "b": {"B": "AA=="},
        "ss": {"SS": ["y", "x"]},
        "m": {"M": {"deep": {"L": [{"S": "x"}, {"BS": ["AA=="]}, {"NS": ["2", "1"]}]}, "plain": {"M": {}}}},
    }
    envelope = json.loads(line_of(item))
    assert envelope["exact_types"] == {"b": "B", "ss": "SS", "m": {"deep": {"1": "BS", "2": "NS"}}}
    assert envelope["image"]["m"]["deep"] == ["x", ["AA=="], [1, 2]]
    assert "exact_types" not in json.loads(line_of({**KEYS, "s": {"S": "x"}, "l": {"L": [{"N": "1"}]}}))


# ---------------------------------------------------------------------------
# Item 1 at the source: NUL and SUPER's string limit
# ---------------------------------------------------------------------------


def test_a_string_holding_nul_is_stored_as_parts_and_rebuilt_exactly() -> None:
    item = {**KEYS, "s": {"S": "a\x00\x00b\x00"}, "only": {"S": "\x00"}, "ss": {"SS": ["x\x00", "y"]}}
    line = line_of(item)
    assert_copy_accepts(line)
    envelope = json.loads(line)
    assert envelope["image"]["s"] == ["a", 2, "b", 1]
    assert envelope["image"]["only"] == [1]
    assert envelope["image"]["ss"] == [["x", 1], "y"]  # a set member in parts needs no mark of its own
    assert envelope["exact_types"] == {"s": "S*", "only": "S*", "ss": "SS"}
    assert rebuilt(line) == item


def test_a_key_holding_nul_is_storable_and_the_key_string_is_unchanged() -> None:
    keys = {"pk": {"S": "tenant\x00a"}, "sk": {"N": "1.50"}}
    item = {**keys, "v": {"S": "x"}}
    line = line_of(item, keys)
    assert_copy_accepts(line)
    envelope = json.loads(line, parse_float=Decimal)
    assert envelope["keys"] == {"pk": ["tenant", 1, "a"], "sk": Decimal("1.50")}
    assert envelope["key_string"] == key_string(keys) == '[["pk","S","tenant\\u0000a"],["sk","N","1.5"]]'
    assert "\x00" not in envelope["key_string"]  # escaped JSON text: the merge identity stays as it was
    assert rebuild_keys(envelope["key_string"]) == {"pk": {"S": "tenant\x00a"}, "sk": {"N": "1.5"}}
    assert rebuilt(line) == {"pk": {"S": "tenant\x00a"}, "sk": {"N": "1.5"}, "v": {"S": "x"}}


def test_a_remove_of_a_key_holding_nul_is_storable() -> None:
    keys = {"pk": {"S": "\x00"}}
    line = encode_stream_record(stream_record("REMOVE", keys), table_json("sensors")).line
    assert_copy_accepts(line)
    assert json.loads(line)["keys"] == {"pk": [1]}
    assert rebuild_keys(json.loads(line)["key_string"]) == keys


@pytest.mark.parametrize(
    "text",
    [
        "x" * (MAX_SUPER_STRING_BYTES + 1),
        "é" * 40_000,  # 80,000 bytes in 40,000 characters
        "a" + "𝄞" * 100_000,  # 4-byte characters: no piece may cut one
        "\x01" * 70_000,
        ("x" * 70_000 + "\x00") * 3,
    ],
    ids=["ascii", "two-byte", "four-byte", "control", "nul-and-long"],
)
def test_a_string_over_supers_limit_is_split_into_storable_pieces(text: str) -> None:
    item = {**KEYS, "s": {"S": text}, "l": {"L": [{"S": text}]}, "ss": {"SS": [text, "a"]}}
    line = line_of(item)
    assert_copy_accepts(line)
    envelope = json.loads(line)
    assert envelope["exact_types"] == {"s": "S*", "l": {"0": "S*"}, "ss": "SS"}
    assert all(
        len(piece.encode("utf-8")) <= MAX_SUPER_STRING_BYTES for piece in strings_in(envelope["image"])
    )
    assert_rebuilds(item, line)


def test_a_binary_over_supers_limit_is_split_into_base64_pieces() -> None:
    raw = bytes(range(256)) * 1_200  # 307,200 bytes: 409,600 base64 characters
    item = {
        **KEYS,
        "b": {"B": base64.b64encode(raw).decode()},
        "bs": {"BS": [base64.b64encode(raw).decode()]},
    }
    line = line_of(item)
    assert_copy_accepts(line)
    envelope = json.loads(line)
    assert envelope["exact_types"] == {"b": "B*", "bs": "BS"}
    assert all(len(piece) % 4 == 0 for piece in envelope["image"]["b"][:-1])
    assert rebuilt(line) == item
    assert rebuild_item(envelope["image"], None, envelope["exact_types"], binary_as_bytes=True)["b"] == {
        "B": raw
    }


def test_an_attribute_name_holding_nul_is_refused_without_naming_it() -> None:
    for item in ({**KEYS, "se\x00cret": {"S": "x"}}, {**KEYS, "m": {"M": {"se\x00cret": {"S": "x"}}}}):
        with pytest.raises(UnconvertibleRecord) as caught:
            line_of(item)
        assert "NUL" in caught.value.reason and "cret" not in caught.value.reason


# ---------------------------------------------------------------------------
# The 4 MB row limit
# ---------------------------------------------------------------------------

ITEM_LIMIT = 400 * 1024  # DynamoDB's item size limit


def test_the_worst_escaping_of_a_400_kb_item_stays_under_the_row_limit() -> None:
    # A control character is 1 byte in DynamoDB and 6 in the line (\u0001), the largest
    # expansion of any character; NUL between them turns into ,1, (3 more per 2 bytes).
    for text in ("\x01" * (ITEM_LIMIT - 10), "\x01\x00" * ((ITEM_LIMIT - 10) // 2)):
        item = {**KEYS, "s": {"S": text}}
        line = line_of(item)
        assert_copy_accepts(line)
        assert rebuilt(line) == item


def test_dynamodbs_long_spelling_of_tiny_numbers_is_shortened_to_fit_the_row_limit() -> None:
    # DynamoDB streams numbers in positional form: 1E-130 arrives as 132 characters, yet
    # costs about 3 bytes of the item as a list element (1 digit, 1 byte, 1 per element).
    tiny = "-0." + "0" * 129 + "1"
    huge = "9" + "0" * 125
    item = {**KEYS, "l": {"L": [{"N": tiny}, {"N": huge}] * 65_000}, "ns": {"NS": [tiny, huge, "1"]}}
    line = line_of(item)
    assert_copy_accepts(line)
    envelope = json.loads(line)
    assert (
        envelope["exact_numbers"]["l"]["0"] == "-1E-130" and envelope["exact_numbers"]["ns"]["0"] == "-1E-130"
    )
    assert_rebuilds(item, line)  # canonical text again, exactly as DynamoDB sent it
    small = {**KEYS, "n": {"N": tiny}}  # an envelope that fits keeps the token as sent
    assert json.loads(line_of(small), parse_float=str)["exact_numbers"] == {"n": tiny}


def test_shortening_an_oversized_envelope_keeps_every_one_of_38_digits() -> None:
    # Review finding: normalize() in the default context rounded to 28 digits, silently.
    tiny = ["0." + "0" * (130 - len(str(index))) + str(index) for index in range(1, 20_000)]
    big = "12345678901234567890123456789012345678"
    small_38 = "0." + "0" * 92 + "12345678901234567890123456789012345678"
    item = {**KEYS, "big": {"N": big}, "ns": {"NS": [*tiny, small_38]}}
    line = line_of(item)
    assert len(line.encode()) <= MAX_LINE_BYTES
    assert_copy_accepts(line)
    assert_rebuilds(item, line)
    assert json.loads(line)["exact_numbers"]["big"] in (big, "1.2345678901234567890123456789012345678E+37")


def test_an_envelope_that_cannot_fit_the_row_limit_is_refused_alone_without_content() -> None:
    # Bigger than DynamoDB allows, so no real stream carries it; it stands for the
    # adversarial shapes (thousands of tiny values under control-character names).
    with pytest.raises(UnconvertibleRecord) as caught:
        line_of({**KEYS, "s": {"S": "\x01" * 700_000}})
    assert re.fullmatch(
        r"the envelope is \d+ bytes, over the 4000000-byte row limit of COPY", caught.value.reason
    )


# ---------------------------------------------------------------------------
# The round trip for every type
# ---------------------------------------------------------------------------
#
# item -> envelope line -> JSON parse (exact, and lossy: every number a float) ->
# rebuild_item == the item. Compared as DynamoDB holds it: numbers by exact text equal
# to DynamoDB's canonical form (positional, no leading/trailing zeros, no -0: what
# DynamoDB stores and streams, so a streamed number comes back as sent), sets as sets,
# binary as bytes. Exclusions, each named: attribute names holding NUL (refused, above);
# lone surrogates (DynamoDB strings are UTF-8, so none can exist); numbers out of
# DynamoDB's range or over 38 digits (DynamoDB refuses them).


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(items)
@example({"pk": {"S": "\x00"}, "e": {"S": ""}, "m": {"M": {}}, "l": {"L": []}, "b": {"B": ""}})
@example({"pk": {"N": "-9.9999999999999999999999999999999999999E+125"}, "t": {"N": "1E-130"}})
@example({"pk": {"N": "12345678901234567890123456789012345678"}, "z": {"NS": ["-0", "0.000"][:1]}})
def test_every_dynamodb_item_round_trips_through_the_envelope(item: dict[str, Any]) -> None:
    line = encode_stream_record(
        stream_record("INSERT", {"pk": item["pk"]}, new_image=item), table_json("sensors")
    ).line
    assert_copy_accepts(line)
    assert_rebuilds(item, line)
    snapshot = encode_snapshot(item, ["pk"], "sensors", 0).line
    assert_rebuilds(item, snapshot)


@settings(max_examples=200, deadline=None)
@given(dynamo_items)
def test_the_shared_item_strategy_round_trips_too(item: dict[str, Any]) -> None:
    line = line_of(item)
    assert_copy_accepts(line)
    assert_rebuilds(item, line)


# ---------------------------------------------------------------------------
# rebuild_item refuses mirrors that do not fit
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "numbers", "types"),
    [
        ({"a": "x"}, None, {"b": "B"}),
        ({"a": "x"}, None, {"a": "Q"}),
        ({"a": "not base64!"}, None, {"a": "B"}),
        ({"a": [1, "x"]}, None, {"a": "SS"}),
        ({"a": ["x", -1]}, None, {"a": "S*"}),
        ({"a": "x"}, {"a": "1"}, None),
        ({"a": [1]}, {"a": {"3": "1"}}, None),
        ({"a": 1}, None, {"a": {"0": "B"}}),
    ],
)
def test_rebuild_refuses_a_mirror_that_does_not_fit(image: Any, numbers: Any, types: Any) -> None:
    with pytest.raises(ValueError):
        rebuild_item(image, numbers, types)


def test_rebuild_of_a_remove_is_none() -> None:
    assert rebuild_item(None, None, None) is None
