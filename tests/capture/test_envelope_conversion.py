"""DynamoDB JSON -> plain JSON: lossless for every type, strict about malformed input."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from ddb_cdc.envelope import (
    UnconvertibleRecord,
    attribute_to_json,
    canonical_number,
    item_to_json,
    key_string,
    number_token,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from .strategies import b64, dynamo_attrs, dynamo_numbers
from .support import assert_item_lossless, assert_lossless, loads_exact


@pytest.mark.parametrize(
    ("attr", "expected_text"),
    [
        ({"S": "plain"}, '"plain"'),
        ({"S": ""}, '""'),
        ({"S": 'quote " backslash \\ newline \n'}, '"quote \\" backslash \\\\ newline \\n"'),
        ({"S": "naïve ☃ 𝄞"}, '"na\\u00efve \\u2603 \\ud834\\udd1e"'),
        ({"N": "42"}, "42"),
        ({"N": "-0.50"}, "-0.50"),
        ({"N": "12345678901234567890123456789012345678"}, "12345678901234567890123456789012345678"),
        ({"N": "0.12345678901234567890123456789012345678"}, "0.12345678901234567890123456789012345678"),
        ({"N": "1E+125"}, "1E+125"),
        ({"N": "-1E-130"}, "-1E-130"),
        (
            {"N": "9.9999999999999999999999999999999999999E+125"},
            "9.9999999999999999999999999999999999999E+125",
        ),
        ({"BOOL": True}, "true"),
        ({"BOOL": False}, "false"),
        ({"NULL": True}, "null"),
        ({"B": b64(b"\x00\xff")}, '"AP8="'),
        ({"B": b"\x00\xff"}, '"AP8="'),
        ({"B": ""}, '""'),
        ({"M": {}}, "{}"),
        ({"L": []}, "[]"),
        ({"M": {"a": {"N": "1"}, "b": {"L": [{"S": "x"}, {"NULL": True}]}}}, '{"a":1,"b":["x",null]}'),
        ({"SS": ["b", "a", "É", "Z"]}, '["Z","a","b","\\u00c9"]'),
        ({"NS": ["10", "-2.5", "1E+2", "3"]}, "[-2.5,3,10,1E+2]"),
        ({"BS": [b64(b"\xff"), b64(b"\x00\x02"), b64(b"\x00\x01")]}, '["AAE=","AAI=","/w=="]'),
    ],
)
def test_each_type_converts_to_exact_json_text(attr: dict[str, Any], expected_text: str) -> None:
    text = attribute_to_json(attr)
    assert text == expected_text
    assert_lossless(attr, loads_exact(text))


def test_38_digit_numbers_keep_every_digit_through_a_json_round_trip() -> None:
    attr = {"N": "-98765432109876543210987654321098765432"}
    parsed = loads_exact(attribute_to_json(attr))
    assert parsed == -98765432109876543210987654321098765432
    float_path = json.loads(json.dumps(float(attr["N"])))
    assert Decimal(float_path) != Decimal(attr["N"])  # what the naive float path would lose


def test_number_extremes_round_trip_to_the_same_decimal_value() -> None:
    for text in ("1E+125", "-1E-130", "9.9999999999999999999999999999999999999E+125", "1E-130"):
        assert loads_exact(attribute_to_json({"N": text})) == Decimal(text)


def test_nested_sets_inside_maps_and_lists_are_sorted_and_lossless(load_event: Any) -> None:
    image = load_event("all_types.json")["Records"][0]["dynamodb"]["NewImage"]
    plain = loads_exact(item_to_json(image))
    assert_item_lossless(image, plain)
    assert plain["nested"]["level1"]["level2"][2]["deep"] == [1, 2]
    assert plain["nested"]["sets"] == [["a", "b"], [b64(b"\x01"), b64(b"\x02")]]


def test_set_order_in_the_input_does_not_change_the_output() -> None:
    assert attribute_to_json({"NS": ["1", "2.5", "-3"]}) == attribute_to_json({"NS": ["-3", "2.5", "1"]})
    assert attribute_to_json({"SS": ["b", "a"]}) == attribute_to_json({"SS": ["a", "b"]})


@pytest.mark.parametrize(
    ("spelling", "token"),
    [
        ("+5", "5"),
        (".5", "0.5"),
        ("5.", "5"),
        ("007", "7"),
        ("-00.250", "-0.250"),
        ("1e5", "1e5"),
        ("1.E3", "1E+3"),
    ],
)
def test_number_spellings_json_rejects_are_respelled_with_the_same_value(spelling: str, token: str) -> None:
    assert number_token(spelling) == token
    assert Decimal(token) == Decimal(spelling)
    text = item_to_json({"a": {"N": spelling}, "b": {"N": "1"}})
    assert loads_exact(text) == {"a": Decimal(spelling), "b": 1}


@pytest.mark.parametrize(
    "bad", ["NaN", "Infinity", "-inf", "1_000", " 1", "1,2", "", "0x10", "1e", "--1", "١٢"]
)
def test_values_that_are_not_decimal_numbers_are_unconvertible(bad: str) -> None:
    with pytest.raises(UnconvertibleRecord, match="N value is not a decimal number"):
        item_to_json({"a": {"N": bad}})


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"a": {"X": "1"}}, "unknown DynamoDB type tag 'X'"),
        ({"a": {"S": "x", "N": "1"}}, "malformed DynamoDB JSON"),
        ({"a": {}}, "malformed DynamoDB JSON"),
        ({"a": "bare string"}, "malformed DynamoDB JSON"),
        ({"a": {"S": 5}}, "malformed DynamoDB JSON"),
        ({"a": {"N": 5}}, "N value is not a string"),
        ({"a": {"BOOL": "true"}}, "BOOL value is not a boolean"),
        ({"a": {"NULL": False}}, "NULL value is not true"),
        ({"a": {"B": "not base64!"}}, "binary value is not valid base64"),
        ({"a": {"BS": ["AQ==", 7]}}, "binary value is neither base64 text nor bytes"),
        ({"a": {"M": []}}, "M value is not an object"),
        ({"a": {"L": {}}}, "L value is not an array"),
        ({"a": {"SS": "abc"}}, "SS value is not an array"),
        ({"a": {"L": [{"M": {"deep": {"Q": 1}}}]}}, "unknown DynamoDB type tag 'Q'"),
    ],
)
def test_malformed_dynamodb_json_raises_unconvertible_with_a_reason(
    item: dict[str, Any], reason: str
) -> None:
    with pytest.raises(UnconvertibleRecord) as raised:
        item_to_json(item)
    assert reason in raised.value.reason
    assert raised.value.reason.startswith("item.a: ")


def test_absurdly_deep_nesting_is_unconvertible_not_a_crash() -> None:
    attr: dict[str, Any] = {"S": "leaf"}
    for _ in range(5000):
        attr = {"L": [attr]}
    with pytest.raises(UnconvertibleRecord, match=r"item\.deep: malformed DynamoDB JSON"):
        item_to_json({"deep": attr})


def test_reasons_name_types_but_never_values() -> None:
    secret = "4111-1111-1111-1111"
    with pytest.raises(UnconvertibleRecord) as raised:
        item_to_json({"card": {"N": secret}})
    assert secret not in raised.value.reason


# ---------------------------------------------------------------------------
# Canonical numbers and key strings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spellings", "canonical"),
    [
        (["1", "1.0", "1E0", "1.000", "10E-1", "0.1E1", "+1"], "1"),
        (["100", "1E+2", "1e2", "100.00"], "100"),
        (["0", "-0", "0.000", "0E+5", "-0.0"], "0"),
        (["-2.50", "-25E-1"], "-2.5"),
        (["1E+125"], "1" + "0" * 125),
        (["-1E-130"], "-0." + "0" * 129 + "1"),
    ],
)
def test_equal_numbers_give_one_canonical_string_without_exponent(
    spellings: list[str], canonical: str
) -> None:
    assert {canonical_number(s) for s in spellings} == {canonical}


def test_canonical_form_rejects_numbers_outside_dynamodb_range() -> None:
    with pytest.raises(UnconvertibleRecord, match="outside DynamoDB's number range"):
        canonical_number("1E+126")
    with pytest.raises(UnconvertibleRecord, match="outside DynamoDB's number range"):
        canonical_number("1E-131")


def test_key_string_sorts_by_name_and_uses_type_letters() -> None:
    keys = {"timestamp": {"N": "1.50E3"}, "id": {"S": "naïve"}, "blob": {"B": b64(b"\x01")}}
    assert key_string(keys) == '[["blob","B","AQ=="],["id","S","naïve"],["timestamp","N","1500"]]'


def test_key_string_is_the_same_for_the_same_key_spelled_differently() -> None:
    assert (
        key_string({"pk": {"N": "1"}}) == key_string({"pk": {"N": "1.0"}}) == key_string({"pk": {"N": "1E0"}})
    )
    assert key_string({"pk": {"B": b"\x01"}}) == key_string({"pk": {"B": "AQ=="}})


@pytest.mark.parametrize(
    "keys", [{}, {"pk": {"BOOL": True}}, {"pk": {"S": 1}}, {"pk": {"S": "a", "N": "1"}}, {"pk": "a"}, None]
)
def test_key_string_rejects_what_cannot_be_a_dynamodb_key(keys: Any) -> None:
    with pytest.raises(UnconvertibleRecord):
        key_string(keys)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(dynamo_attrs)
def test_any_dynamodb_value_converts_to_valid_json_that_round_trips_losslessly(attr: dict[str, Any]) -> None:
    text = attribute_to_json(attr)
    assert text.isascii()
    assert_lossless(attr, loads_exact(text))


@settings(max_examples=300, deadline=None)
@given(dynamo_numbers(), dynamo_numbers())
def test_canonical_numbers_are_equal_exactly_when_the_values_are(
    left: tuple[Decimal, str], right: tuple[Decimal, str]
) -> None:
    (left_value, left_text), (right_value, right_text) = left, right
    left_canonical, right_canonical = canonical_number(left_text), canonical_number(right_text)
    assert Decimal(left_canonical) == left_value
    assert "e" not in left_canonical.lower()
    assert (left_canonical == right_canonical) == (left_value == right_value)
    assert canonical_number(f"{left_value:E}") == left_canonical


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.one_of(
            st.text(min_size=1).map(lambda s: {"S": s}),
            dynamo_numbers().map(lambda pair: {"N": pair[1]}),
            st.binary(min_size=1, max_size=16).map(lambda raw: {"B": b64(raw)}),
        ),
        min_size=1,
        max_size=2,
    ),
    st.randoms(),
)
def test_key_string_is_canonical_sorted_and_decodable(keys: dict[str, Any], rng: Any) -> None:
    shuffled_names = list(keys)
    rng.shuffle(shuffled_names)
    text = key_string(keys)
    assert text == key_string({name: keys[name] for name in shuffled_names})
    entries = json.loads(text)
    assert [name for name, _, _ in entries] == sorted(keys)
    for name, tag, value in entries:
        ((original_tag, original),) = keys[name].items()
        assert tag == original_tag
        if tag == "N":
            assert Decimal(value) == Decimal(original)
        elif tag == "B":
            assert base64.b64decode(value) == base64.b64decode(original)
        else:
            assert value == original
