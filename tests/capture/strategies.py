"""Hypothesis strategies for DynamoDB JSON values of every type, shared by the capture tests."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from ddb_cdc.envelope import canonical_number
from hypothesis import strategies as st


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@st.composite
def dynamo_numbers(draw: st.DrawFn) -> tuple[Decimal, str]:
    """A number DynamoDB can hold (38 significant digits, 1E-130 .. 9.99E+125) in some spelling."""
    digits = draw(st.text("0123456789", min_size=1, max_size=38))
    significant = digits.lstrip("0") or "0"
    max_exponent = 125 - (len(significant) - 1)
    exponent = draw(st.integers(min_value=-130, max_value=max_exponent))
    negative = draw(st.booleans())
    value = Decimal(f"{'-' if negative else ''}{digits}E{exponent}")
    style = draw(st.sampled_from(["sci", "plain", "trailing", "lower", "str"]))
    if style == "sci":
        spelling = f"{value:E}"
    elif style == "plain":
        spelling = f"{value:f}"
    elif style == "trailing":
        spelling = f"{value:f}" + ("" if "." in f"{value:f}" else ".") + "000"
    elif style == "lower":
        spelling = f"{value:e}"
    else:
        spelling = str(value)
    return value, spelling


@st.composite
def everyday_numbers(draw: st.DrawFn) -> tuple[Decimal, str]:
    """Numbers as real tables hold them: counters, prices, readings (mostly 15 digits or fewer).

    They sit on both sides of the at-risk rule: ``5`` and ``-12.25`` are safe, ``1.50``,
    ``-0``, ``0.000`` and 16 digits are not.
    """
    unscaled = draw(
        st.one_of(
            st.integers(min_value=-999, max_value=999),
            st.integers(min_value=-(10**16), max_value=10**16),
        )
    )
    value = Decimal(unscaled).scaleb(-draw(st.integers(min_value=0, max_value=6)))
    if draw(st.booleans()) and value == 0:
        value = -value  # -0 and -0.00
    return value, str(value)


def numbers() -> st.SearchStrategy[tuple[Decimal, str]]:
    return st.one_of(dynamo_numbers(), everyday_numbers())


def _b64_or_bytes(raw: bytes, as_text: bool) -> Any:
    return b64(raw) if as_text else raw


scalar_attrs = st.one_of(
    st.text().map(lambda s: {"S": s}),
    numbers().map(lambda pair: {"N": pair[1]}),
    st.builds(_b64_or_bytes, st.binary(max_size=40), st.booleans()).map(lambda v: {"B": v}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.sets(st.text(), min_size=1, max_size=5).map(lambda s: {"SS": list(s)}),
    st.lists(numbers(), min_size=1, max_size=5, unique_by=lambda pair: pair[0]).map(
        lambda pairs: {"NS": [spelling for _, spelling in pairs]}
    ),
    st.sets(st.binary(max_size=10), min_size=1, max_size=5).map(lambda s: {"BS": [b64(raw) for raw in s]}),
)
# Exclusion: an attribute name holding NUL. Values holding NUL are made storable, a name
# cannot be (it is the path a query uses); such an item is quarantined alone, which
# test_storable_values.py covers.
attribute_names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=8)
dynamo_attrs = st.recursive(
    scalar_attrs,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda members: {"L": members}),
        st.dictionaries(attribute_names, children, max_size=4).map(lambda m: {"M": m}),
    ),
    max_leaves=20,
)
# A whole item: a string key "pk" plus any attributes.
dynamo_items = st.dictionaries(
    attribute_names.filter(lambda name: name != "pk"), dynamo_attrs, max_size=6
).map(lambda attrs: {"pk": {"S": "k"}, **attrs})


# ---------------------------------------------------------------------------
# Every DynamoDB type, with the values the warehouse cannot store as they are
# ---------------------------------------------------------------------------
# Exclusions, each named: attribute names holding NUL (quarantined alone, see
# test_storable_values.py); lone surrogates (DynamoDB strings are UTF-8, so none can
# exist); numbers out of DynamoDB's range or over 38 digits (DynamoDB refuses them).

texts = st.one_of(
    st.text(),
    st.text(st.sampled_from(["\x00", "\x01", "\x1f", '"', "\\", "é", "☃", "𝄞", "a"]), max_size=12),
)
large = st.sampled_from(
    [
        {"S": "é" * 70_000},
        {"S": "\x00" + "x" * 70_000 + "\x00\x00"},
        {"B": base64.b64encode(b"\xff" * 50_000).decode()},
        {"SS": ["y" * 66_000, "\x00"]},
        {"BS": [base64.b64encode(b"\x00" * 60_000).decode(), ""]},
    ]
)
scalars = st.one_of(
    texts.map(lambda s: {"S": s}),
    numbers().map(lambda pair: {"N": pair[1]}),
    st.binary(max_size=20).map(lambda raw: {"B": base64.b64encode(raw).decode()}),
    st.binary(max_size=20).map(lambda raw: {"B": raw}),  # boto3's form (backfill)
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.sets(texts, min_size=1, max_size=4).map(lambda s: {"SS": list(s)}),
    st.lists(numbers(), min_size=1, max_size=4, unique_by=lambda pair: pair[0]).map(
        lambda pairs: {"NS": [spelling for _, spelling in pairs]}
    ),
    st.sets(st.binary(max_size=8), min_size=1, max_size=4).map(
        lambda s: {"BS": [base64.b64encode(raw).decode() for raw in s]}
    ),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda members: {"L": members}),
        st.dictionaries(attribute_names, children, max_size=4).map(lambda m: {"M": m}),
    ),
    max_leaves=16,
)
items = st.builds(
    lambda key, attrs, extra: {"pk": key, **attrs, **extra},
    st.one_of(
        texts.filter(bool).map(lambda s: {"S": s}),
        numbers().map(lambda pair: {"N": pair[1]}),
        st.binary(min_size=1, max_size=8).map(lambda raw: {"B": base64.b64encode(raw).decode()}),
    ),
    st.dictionaries(attribute_names.filter(lambda name: name != "pk"), values, max_size=6),
    st.dictionaries(st.just("large"), large, max_size=1),
)


def _bytes(value: Any) -> bytes:
    return bytes(value) if isinstance(value, bytes | bytearray) else base64.b64decode(value, validate=True)


def normal(attr: dict[str, Any]) -> Any:
    """Numbers as DynamoDB's canonical text (what it stores, returns and streams), binary
    as bytes, sets as frozensets (DynamoDB keeps no set order)."""
    ((tag, value),) = attr.items()
    if tag == "N":
        return ("N", canonical_number(value))
    if tag == "B":
        return ("B", _bytes(value))
    if tag == "SS":
        return ("SS", frozenset(value))
    if tag == "NS":
        return ("NS", frozenset(map(canonical_number, value)))
    if tag == "BS":
        return ("BS", frozenset(map(_bytes, value)))
    if tag == "M":
        return ("M", {name: normal(inner) for name, inner in value.items()})
    if tag == "L":
        return ("L", [normal(inner) for inner in value])
    return (tag, value)
