"""``exact_numbers``: the exact text of every number a SUPER column might alter.

Redshift does not document what SUPER does with a 38-digit integer, ``1E+125``,
``1E-36`` or ``1.50``; the envelope carries their exact tokens beside the plain image,
and ``apply_exact_numbers`` rebuilds exact values from however the image was parsed.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from ddb_cdc import capture
from ddb_cdc.envelope import (
    apply_exact_numbers,
    encode_snapshot,
    encode_stream_record,
    item_to_json_with_exact_numbers,
    number_at_risk,
    table_json,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

from .strategies import dynamo_items, dynamo_numbers, everyday_numbers
from .support import assert_item_lossless, loads_exact, stream_record

# CPU-bound, among the main thread's longest tests (make test at 2094115: 3 tests, 75 s): beside the suite in a pytest
# process of their own (tests/rig/own_process.py), so their minutes overlap the demos'.
RUN_IN_OWN_PROCESS = True

FOUR = [
    "12345678901234567890123456789012345678",  # 38 digits: beyond bigint, float8
    "1E+125",  # beyond decimal(38)
    "1E-36",  # an exponent, and below what float8 prints positionally
    "1.50",  # a trailing zero that decimal or float8 may drop
]
KEYS = {"pk": {"S": "k"}}


def N(text: str) -> dict[str, str]:  # spelled like the DynamoDB type
    return {"N": text}


def stream_line(image: dict[str, Any] | None, op: str = "INSERT") -> str:
    record = stream_record(op, KEYS, new_image=image)
    return encode_stream_record(record, table_json("sensors")).line


def envelope_of(image: dict[str, Any] | None, op: str = "INSERT") -> dict[str, Any]:
    return loads_exact(stream_line(image, op))


class Token(str):
    """A number exactly as it is spelled in the JSON text (parse_int/parse_float hook)."""


def loads_tokens(text: str) -> Any:
    return json.loads(text, parse_int=Token, parse_float=Token)


def number_tokens(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Every number token of a parsed image, by its path (list indexes as strings)."""
    if isinstance(value, Token):
        return {path: str(value)}
    if isinstance(value, dict):
        members = value.items()
    elif isinstance(value, list):
        members = ((str(index), inner) for index, inner in enumerate(value))
    else:
        return {}
    found: dict[tuple[str, ...], str] = {}
    for name, inner in members:
        found.update(number_tokens(inner, (*path, name)))
    return found


def mirror_leaves(mirror: dict[str, Any], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """The mirror's leaves by path; also checks that it holds only non-empty objects and strings."""
    assert isinstance(mirror, dict) and mirror
    leaves: dict[tuple[str, ...], str] = {}
    for name, node in mirror.items():
        if isinstance(node, str):
            leaves[(*path, name)] = node
        else:
            leaves.update(mirror_leaves(node, (*path, name)))
    return leaves


# ---------------------------------------------------------------------------
# The at-risk rule
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "5",
        "-12.25",
        "0.001",
        "0",
        "-7",
        "999999999999999",  # 15 digits
        "1.23456789012345",
        "-0.000123456789012345",  # 15 significant digits after leading zeros
        "0." + "0" * 36 + "1",  # scale 37, decimal's largest
        "1764215392000",
    ],
)
def test_safe_numbers(token: str) -> None:
    assert not number_at_risk(token)


@pytest.mark.parametrize(
    "token",
    [
        *FOUR,
        "-0",
        "0.0",
        "-0.0",
        "1.0",
        "10.10",
        "1000000000000000",  # 16 digits, trailing zeros count
        "1.234567890123456",  # 16 significant digits
        "0.1234567890123456",
        "1e5",
        "1E5",
        "0." + "0" * 37 + "1",  # scale 38
        "9.9999999999999999999999999999999999999E+125",
        "-1E-130",
    ],
)
def test_numbers_at_risk(token: str) -> None:
    assert number_at_risk(token)


_RULE_SHAPE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")


def reference_safe(token: str) -> bool:
    """The documented rule, spelled out slowly."""
    if not _RULE_SHAPE.fullmatch(token) or token == "-0":
        return False
    significant = token.lstrip("-").replace(".", "").lstrip("0")
    scale = len(token.partition(".")[2])
    return len(significant) <= 15 and scale <= 37


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        dynamo_numbers().map(lambda pair: pair[1]),
        everyday_numbers().map(lambda pair: pair[1]),
        st.text("0123456789.-eE+", min_size=1, max_size=45),
    )
)
@example("0." + "0" * 36 + "123456789012345")
@example("123456789012345.6")
def test_the_single_regex_is_the_documented_rule(token: str) -> None:
    assert number_at_risk(token) is not reference_safe(token)


# ---------------------------------------------------------------------------
# The mirror in envelopes
# ---------------------------------------------------------------------------


def test_the_example_from_the_readme() -> None:
    image = {
        "a": {"M": {"b": N("1E+125"), "c": N("5")}},
        "l": {"L": [N("1"), N("12345678901234567890123456789012345678")]},
    }
    line = stream_line({**KEYS, **image})
    assert line.endswith(
        '"image":{"pk":"k","a":{"b":1E+125,"c":5},"l":[1,12345678901234567890123456789012345678]},'
        '"exact_numbers":{"a":{"b":"1E+125"},"l":{"1":"12345678901234567890123456789012345678"}}}'
    )


@pytest.mark.parametrize("token", FOUR)
def test_each_risky_number_is_mirrored_with_its_exact_text_wherever_it_sits(token: str) -> None:
    ns = [token, "2", "-3"]
    image = {
        **KEYS,
        "top": N(token),
        "safe": N("5"),
        "m": {"M": {"x": N(token), "y": N("-12.25")}},
        "l": {"L": [N("0.001"), N(token), {"S": token}]},
        "deep": {"M": {"rows": {"L": [{"L": [N("1"), N(token)]}, {"L": [N("2")]}]}}},
        "set": {"NS": ns},
        "safe_set": {"NS": ["1", "2.5"]},
        "text": {"S": token},
    }
    envelope = envelope_of(image)
    set_index = str(sorted(ns, key=Decimal).index(token))
    assert envelope["exact_numbers"] == {
        "top": token,
        "m": {"x": token},
        "l": {"1": token},
        "deep": {"rows": {"0": {"1": token}}},
        "set": {set_index: token},
    }
    assert list(envelope)[-3:] == ["image", "exact_numbers", "exact_types"]  # "set" is an NS
    assert_item_lossless(image, envelope["image"])
    line = stream_line(image)
    assert f'"top":{token},' in line  # the image keeps the number token itself


def test_an_image_with_only_safe_numbers_has_no_exact_numbers() -> None:
    image = {
        **KEYS,
        "n": N("5"),
        "f": N("-12.25"),
        "small": N("0.001"),
        "ts": N("1764215392000"),
        "m": {"M": {"l": {"L": [N("0"), {"NS": ["1", "-2.5"]}]}}},
        "s": {"S": "1.50"},
    }
    line = stream_line(image)
    assert "exact_numbers" not in json.loads(line)
    assert line.endswith("}}") and '"image":' in line


def test_an_image_without_numbers_has_no_exact_numbers() -> None:
    assert "exact_numbers" not in envelope_of({**KEYS, "s": {"S": "x"}, "b": {"BOOL": True}})


def test_remove_has_neither_image_nor_exact_numbers() -> None:
    tombstone = envelope_of(None, "REMOVE")
    assert "image" not in tombstone and "exact_numbers" not in tombstone


def test_modify_carries_exact_numbers_too() -> None:
    assert envelope_of({**KEYS, "n": N("1.50")}, "MODIFY")["exact_numbers"] == {"n": "1.50"}


def test_snapshots_carry_exact_numbers() -> None:
    item = {**KEYS, "n": N("1E-36"), "ok": N("3"), "l": {"L": [N("12345678901234567890123456789012345678")]}}
    envelope = loads_exact(encode_snapshot(item, ["pk"], "sensors", 1_764_215_392_000).line)
    assert envelope["exact_numbers"] == {"n": "1E-36", "l": {"0": "12345678901234567890123456789012345678"}}
    plain = loads_exact(encode_snapshot({**KEYS, "ok": N("3")}, ["pk"], "sensors", 0).line)
    assert "exact_numbers" not in plain


@pytest.mark.parametrize(
    ("spelling", "token"), [("1.E3", "1E+3"), (".50", "0.50"), ("-00.250", "-0.250"), ("1e5", "1e5")]
)
def test_respelled_numbers_are_mirrored_as_the_image_spells_them(spelling: str, token: str) -> None:
    image_json, exact_json = item_to_json_with_exact_numbers({"a": N(spelling), "b": N("+5")})
    assert image_json == f'{{"a":{token},"b":5}}'
    assert exact_json == f'{{"a":"{token}"}}'


def test_mirror_keys_are_escaped_like_the_image_keys() -> None:
    name = 'naïve "☃"'
    image_json, exact_json = item_to_json_with_exact_numbers({name: N("1.50")})
    assert exact_json is not None and exact_json.isascii()
    assert image_json.startswith(exact_json[: exact_json.index(":") + 1])
    assert json.loads(exact_json) == {name: "1.50"}


def test_both_writers_emit_it() -> None:
    record = stream_record("INSERT", KEYS, new_image={**KEYS, "n": N("1E+125")})
    event = {"Records": [record]}
    firehose = capture.plan_firehose_batch(event, table="sensors")
    assert json.loads(firehose.records[0].data)["exact_numbers"] == {"n": "1E+125"}
    s3 = capture.plan_s3_batch(event, table="sensors", prefix="cdc")
    assert s3.object is not None

    assert json.loads(gzip.decompress(s3.object.body))["exact_numbers"] == {"n": "1E+125"}


# ---------------------------------------------------------------------------
# apply_exact_numbers
# ---------------------------------------------------------------------------


def test_apply_restores_exact_values_from_a_float_parse() -> None:
    image = {**KEYS, **{f"n{i}": N(t) for i, t in enumerate(FOUR)}, "l": {"L": [N(FOUR[0])]}}
    envelope = json.loads(stream_line(image), parse_float=float, parse_int=float)
    assert envelope["image"]["n0"] != Decimal(FOUR[0])  # what the lossy store did
    rebuilt = apply_exact_numbers(envelope["image"], envelope["exact_numbers"])
    assert [rebuilt[f"n{i}"] for i in range(4)] == [Decimal(t) for t in FOUR]
    assert str(rebuilt["n3"]) == "1.50"  # the text too, not only the value
    assert rebuilt["l"] == [Decimal(FOUR[0])]
    assert envelope["image"]["n0"] == float(FOUR[0])  # the input is left alone


@pytest.mark.parametrize("mirror", [None, {}])
def test_apply_without_a_mirror_returns_an_equal_copy(mirror: Any) -> None:
    image = {"a": [1.5, {"b": 2}]}
    rebuilt = apply_exact_numbers(image, mirror)
    assert rebuilt == image and rebuilt is not image and rebuilt["a"] is not image["a"]
    assert apply_exact_numbers(None, None) is None  # a REMOVE has neither


@pytest.mark.parametrize(
    "mirror",
    [
        {"missing": "1"},
        {"a": {"5": "1"}},
        {"a": {"-1": "1"}},
        {"a": {" 0": "1"}},
        {"a": {"x": "1"}},
        {"s": "1"},
        {"t": "1"},
        {"a": "1"},
        {"n": {"0": "1"}},
    ],
)
def test_apply_refuses_a_mirror_that_does_not_fit(mirror: dict[str, Any]) -> None:
    image = {"a": [1.0], "n": 2.0, "s": "x", "t": True}
    with pytest.raises(ValueError, match="exact_numbers"):
        apply_exact_numbers(image, mirror)


# ---------------------------------------------------------------------------
# Properties over every DynamoDB type
# ---------------------------------------------------------------------------


def stored_as_float8(number: Any) -> Decimal:
    """The value a float8 stands for, as the shortest text that reads back as it.

    A safe number has at most 15 significant digits, so that text is its exact value.
    Restored numbers are Decimal already.
    """
    if isinstance(number, Decimal):
        return number
    assert isinstance(number, float)
    return Decimal(repr(number))


@settings(max_examples=400, deadline=None)
@given(dynamo_items)
def test_a_lossy_parse_plus_exact_numbers_gives_back_every_value(item: dict[str, Any]) -> None:
    line = stream_line(item)
    # A store that keeps every number as a float8: the worst SUPER could do.
    envelope = json.loads(line, parse_float=float, parse_int=lambda text: float(text))
    original_image = copy.deepcopy(envelope["image"])
    rebuilt = apply_exact_numbers(envelope["image"], envelope.get("exact_numbers"))
    assert envelope["image"] == original_image
    assert_item_lossless(item, rebuilt, stored_as_float8)


@settings(max_examples=400, deadline=None)
@given(dynamo_items)
def test_the_mirror_holds_exactly_the_risky_tokens_as_the_image_spells_them(item: dict[str, Any]) -> None:
    line = stream_line(item)
    envelope = loads_tokens(line)
    tokens = number_tokens(envelope["image"])
    risky = {path: token for path, token in tokens.items() if number_at_risk(token)}
    if risky:
        assert list(envelope)[list(envelope).index("image") + 1] == "exact_numbers"
        assert mirror_leaves(envelope["exact_numbers"]) == risky
    else:
        assert "exact_numbers" not in envelope
    # With an exact parse, applying the mirror changes no value.
    exact = loads_exact(line)
    assert apply_exact_numbers(exact["image"], exact.get("exact_numbers")) == exact["image"]
