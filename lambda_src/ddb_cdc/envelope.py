"""Contract 1: the change envelope, defined here and nowhere else.

One envelope is one line of NDJSON::

    {"envelope_version":1,"op":"MODIFY","source_table":"orders","event_id":"…",
     "seq":"0000…0111","approx_created_at":"2026-11-27T03:49:52.000Z",
     "keys":{"id":"a-1"},"key_string":"[[\\"id\\",\\"S\\",\\"a-1\\"]]","image":{…},
     "exact_numbers":{…}}

``image`` is absent for ``REMOVE``; ``exact_numbers`` is present only when the image
holds a number the warehouse might alter, ``exact_types`` only when it holds a value
plain JSON cannot type (see below). Every producer (stream writer,
Firehose writer, backfill) calls this module, so the loaders can rely on one shape.

The DynamoDB JSON converter emits JSON text directly instead of building Python
objects and calling ``json.dumps``: the standard encoder cannot write a number
token verbatim, and going through ``float`` (or ``Decimal`` per value) would either
lose digits or cost several times more on the writer's hot path. Lossless means:

* ``N`` is written as the exact token DynamoDB sent (validated against the JSON
  number grammar); a spelling JSON does not accept (``+5``, ``.5``, ``007``) is
  rewritten from its exact ``Decimal`` value, never through ``float``.
* ``B`` and ``BS`` members become canonical base64 (Lambda delivers binary as base64
  text, boto3 as bytes; both are accepted). ``SS``/``NS``/``BS`` become arrays sorted
  by code point, numeric value and bytes respectively, so equal sets give equal text.
* Strings are ASCII-escaped like ``json.dumps`` does by default, which keeps lines
  valid even for lone surrogates and makes the byte size of a line equal its length.

Lossless also has to hold after the line is stored. Redshift keeps ``image`` in a SUPER
column, and its documentation does not say what SUPER does with a 38-digit integer,
``1E+125``, ``1E-36`` or ``1.50`` (a SUPER number may be a bigint, a decimal of at
most 38 digits or a float8). So every number that such a store *might* alter
(:func:`number_at_risk`) is also written, as a JSON string holding exactly the token
the image has, in ``exact_numbers``: an object that mirrors the image down to those
numbers only (maps by attribute name, lists and ``NS`` arrays by index as a decimal
string). :func:`apply_exact_numbers` puts the exact values back into a parsed image,
however lossily it was parsed::

    "image":{"a":{"b":1E+125,"c":5},"l":[1,12345678901234567890123456789012345678]},
    "exact_numbers":{"a":{"b":"1E+125"},"l":{"1":"12345678901234567890123456789012345678"}}

Lossless includes the type. ``exact_types`` mirrors the image the same way (maps by
name, lists by index) down to the values plain JSON cannot tell apart, each marked
with a code: ``B`` (base64 text, not a string), ``SS``, ``NS``, ``BS`` (sorted arrays,
not lists), and the storable forms ``S*`` and ``B*`` below. An item of strings,
numbers, booleans, nulls, maps and lists has none. :func:`rebuild_item` gives back the
exact DynamoDB item from any parse of ``image``, ``exact_numbers`` and ``exact_types``;
:func:`rebuild_keys` the key attributes from ``key_string``.

Every valid item also becomes a row COPY accepts, so one value never fails a file:

* ``S*``: a string holding NUL (valid in DynamoDB, refused by COPY) or over SUPER's
  65,535 bytes is an array of parts: strings of at most 65,535 UTF-8 bytes, cut at
  character bounds, to concatenate, and integers ``n`` standing for ``n`` NUL
  characters (:func:`string_parts`, :func:`join_string_parts`). ``B*``: a binary whose
  base64 is longer is an array of base64 pieces of 65,532 characters. A member of an
  ``SS`` or ``BS`` array in that form is an array, which needs no mark of its own; so
  is an S key holding NUL in ``keys`` (``key_string`` names its type and is unchanged:
  it is escaped JSON text, so it never holds a raw NUL).
* The row limit (4 MB; read as 4,000,000 bytes): escaping expands a control character
  to 6 bytes, so a 400 KB item stays under 2.5 MB of strings; but DynamoDB streams
  numbers positionally (``1E-130`` as 132 characters for 3 bytes of item). An envelope
  over the limit has its at-risk numbers respelled in their shorter exponent form, in
  the image and ``exact_numbers`` alike (same value; :func:`rebuild_item` gives
  DynamoDB's canonical text either way).
* Refused, alone, with a reason that names no content: an attribute name holding NUL (a
  name is the path a query uses; no spelling of it stays both storable and findable),
  and an envelope still over the limit once compacted (only contrived items: thousands
  of tiny values under control-character names, whose mirrors repeat the escaped name).

The common record pays one check for all this (:func:`_envelope_line`).
"""

from __future__ import annotations

import binascii
import copy
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Final, NamedTuple

ENVELOPE_VERSION: Final = 1
SEQ_WIDTH: Final = 40
SNAPSHOT_SEQ: Final = "0" * SEQ_WIDTH
STREAM_OPS: Final = frozenset({"INSERT", "MODIFY", "REMOVE"})

# Both encoders are the C accelerated ones whenever CPython has them (it always does
# on Lambda). encode_basestring_ascii is what json.dumps uses by default.
_ascii_str = json.encoder.encode_basestring_ascii
_unicode_str = json.encoder.encode_basestring
_b2a = binascii.b2a_base64

# The JSON number grammar (RFC 8259, section 6). Possessive quantifiers (3.11+) keep
# the engine from backtracking, which matters because it runs once per record over
# all of the record's numbers joined by commas.
_NUMBER = r"-?+(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?:[eE][+-]?+[0-9]++)?+"
_json_number = re.compile(_NUMBER).fullmatch
_json_number_list = re.compile(f"{_NUMBER}(?:,{_NUMBER})*+").fullmatch
# A number token that survives being stored as bigint, decimal(38) or float8 with its
# value and its text intact; see number_at_risk, which is defined by this pattern. The
# three branches: 0 (unsigned); an integer of 1 to 15 digits, or one with a fraction
# and 15 digits in all (at most 16 characters with the point); 0.<fraction> with at
# most 15 digits after its leading zeros and at most 37 digits after the point
# (decimal's largest scale). A fraction must end in a non-zero digit, nothing may have
# an exponent. Possessive quantifiers and lookarounds again keep it from backtracking.
_SAFE_NUMBER = (
    r"(?:0(?![0-9.])|-?+(?:"
    r"[1-9][0-9]{0,14}+(?![0-9.])"
    r"|(?=[0-9.]{3,16}+(?![0-9.]))[1-9][0-9]*+\.[0-9]++(?<=[1-9])"
    r"|0\.(?=[0-9]{1,37}+(?![0-9]))0*+[1-9][0-9]{0,14}+(?<=[1-9])"
    r"))"
)
_safe_number = re.compile(_SAFE_NUMBER).fullmatch
_safe_number_list = re.compile(f"{_SAFE_NUMBER}(?:,{_SAFE_NUMBER})*+").fullmatch
# What Decimal would also parse but JSON does not accept; no NaN, Infinity, spaces or
# underscores, which DynamoDB never produces and which Decimal would silently take.
_lenient_number = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?").fullmatch

# DynamoDB's documented magnitude bounds: 1E-130 up to 9.99…E+125, 38 significant
# digits. Only the canonical key form enforces them, to bound the length of the
# positional (exponent-free) string it spells out.
_MIN_ADJUSTED_EXPONENT: Final = -130
_MAX_ADJUSTED_EXPONENT: Final = 125

# SUPER keeps a string of at most 65,535 bytes (without enable_large_strings_opt_in);
# longer strings and base64 binaries are stored as arrays of pieces (S* and B*).
MAX_SUPER_STRING_BYTES: Final = 65_535
_BASE64_PIECE: Final = 65_532  # a multiple of 4, so each piece is valid base64 on its own
# COPY refuses a JSON record over 4 MB; read as 4,000,000 bytes, the stricter of
# 4 * 10**6 and 4 * 2**20, since the page does not say which.
MAX_LINE_BYTES: Final = 4_000_000

_MAX_REASON: Final = 300
_NUL_NAME: Final = "an attribute name holds a NUL character, which the warehouse cannot store"
_MAX_NAME_IN_REASON: Final = 64  # attribute names in reasons are cut to this

# Attribute names repeat across the records of a table, so their encoded form
# (with the separator that precedes them) is cached. The bound keeps a table whose
# maps use data as keys from growing the cache without limit.
_NAME_CACHE_LIMIT: Final = 8192
_name_cache: dict[str, str] = {}


class UnconvertibleRecord(Exception):
    """A stream record or item that cannot become an envelope; ``reason`` says why.

    It names the record section, the top-level attribute and the DynamoDB type, never a
    value, so that reasons can be logged without leaking item contents.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason[:_MAX_REASON]
        super().__init__(self.reason)


class EncodedEnvelope(NamedTuple):
    """One serialized envelope plus the fields a writer needs without reparsing."""

    line: str  # the JSON object, without the trailing newline
    op: str
    event_id: str | None
    seq: str  # ordering token, SEQ_WIDTH digits
    created_ms: int  # approximate creation time, epoch milliseconds
    sequence_number: str | None  # the stream's SequenceNumber exactly as received


# ---------------------------------------------------------------------------
# DynamoDB JSON -> JSON text
# ---------------------------------------------------------------------------


_cached_name = _name_cache.get


def _comma_name(name: str) -> str:
    encoded = _cached_name(name)
    if encoded is None:
        if "\x00" in name:
            # Values holding NUL are re-encoded (see the module docstring); a name is the
            # path itself, so it has no storable spelling that a query would still find.
            raise UnconvertibleRecord(_NUL_NAME)
        encoded = "," + _ascii_str(name) + ":"
        if len(_name_cache) < _NAME_CACHE_LIMIT:
            _name_cache[name] = encoded
    return encoded


def _describe(tag: object) -> str:
    return repr(tag)[:20]


class _TypedMark(str):
    """What a B, SS, NS or BS value adds to the emitters' list of number tokens.

    It is an empty string, so the one regex call that checks a record's numbers fails
    for an item holding such a value and sends it down the slower path that also writes
    ``exact_types``; the common item (no binary, no set) pays nothing for the flag.
    """


_TYPED: Final = _TypedMark()


# The emitters below append JSON text to ``out``. ``nums`` collects the number tokens
# written verbatim so that one regex call validates them all per record (the fast
# path); when it is None every number is validated, and respelled if JSON does not
# accept its spelling, on the spot (the exact path, taken only after the batched
# check failed). S and N are inlined in the map and list loops because they are most
# of the values in real tables and a call per value is the main cost in CPython.


def _emit_map(value: dict[str, Any], out: list[str], nums: list[str] | None) -> None:
    append = out.append
    start = len(out)
    for name, attr in value.items():
        [tag] = attr  # exactly one type tag, or ValueError
        inner = attr[tag]
        if tag == "S":
            append((_cached_name(name) or _comma_name(name)) + _ascii_str(inner))
        elif tag == "N" and nums is not None:
            nums.append(inner)
            append((_cached_name(name) or _comma_name(name)) + inner)
        elif tag == "M" and type(inner) is dict:
            append(_cached_name(name) or _comma_name(name))
            _emit_map(inner, out, nums)
        else:
            append(_cached_name(name) or _comma_name(name))
            _emit(tag, inner, out, nums)
    if len(out) == start:
        append("{}")
    else:
        out[start] = "{" + out[start][1:]  # every member starts with a comma; the first one must not
        append("}")


def _emit_list(value: list[Any], out: list[str], nums: list[str] | None) -> None:
    append = out.append
    start = len(out)
    for member in value:
        [tag] = member
        inner = member[tag]
        if tag == "S":
            append("," + _ascii_str(inner))
        elif tag == "N" and nums is not None:
            nums.append(inner)
            append("," + inner)
        elif tag == "M" and type(inner) is dict:
            append(",")
            _emit_map(inner, out, nums)
        else:
            append(",")
            _emit(tag, inner, out, nums)
    if len(out) == start:
        append("[]")
    else:
        out[start] = "[" + out[start][1:]
        append("]")


def _emit(tag: Any, value: Any, out: list[str], nums: list[str] | None) -> None:
    if tag == "M":
        if type(value) is not dict:
            raise UnconvertibleRecord("M value is not an object")
        _emit_map(value, out, nums)
    elif tag == "L":
        if type(value) is not list:
            raise UnconvertibleRecord("L value is not an array")
        _emit_list(value, out, nums)
    elif tag == "BOOL":
        if type(value) is not bool:
            raise UnconvertibleRecord("BOOL value is not a boolean")
        out.append("true" if value else "false")
    elif tag == "NULL":
        if value is not True:
            raise UnconvertibleRecord("NULL value is not true")
        out.append("null")
    elif tag == "B":
        if nums is not None:
            nums.append(_TYPED)
        out.append('"' + _base64_text(value) + '"')
    elif tag == "SS":
        if nums is not None:
            nums.append(_TYPED)
        out.append("[" + ",".join(map(_ascii_str, sorted(_set_members(value, tag)))) + "]")
    elif tag == "NS":
        members = _set_members(value, tag)
        if nums is not None:
            nums.append(_TYPED)
            nums.extend(members)
        else:
            members = list(map(number_token, members))
        # Decimal parses exactly; DynamoDB sets never hold two equal numbers, so the
        # numeric order is total.
        out.append("[" + ",".join(sorted(members, key=Decimal)) + "]")
    elif tag == "BS":
        if nums is not None:
            nums.append(_TYPED)
        decoded = sorted(map(_decode_base64, _set_members(value, tag)))
        out.append(
            "[" + ",".join(['"' + _b2a(raw, newline=False).decode("ascii") + '"' for raw in decoded]) + "]"
        )
    elif tag == "S":
        out.append(_ascii_str(value))
    elif tag == "N":
        out.append(number_token(value))
    else:
        raise UnconvertibleRecord(f"unknown DynamoDB type tag {_describe(tag)}")


def _set_members(value: Any, tag: str) -> list[Any]:
    if type(value) is not list:
        raise UnconvertibleRecord(f"{tag} value is not an array")
    return value


def _decode_base64(value: Any) -> bytes:
    # Lambda delivers binary base64-encoded; boto3 (backfill, tests) hands over bytes.
    if type(value) is str:
        try:
            return binascii.a2b_base64(value, strict_mode=True)
        except (binascii.Error, ValueError):
            raise UnconvertibleRecord("binary value is not valid base64") from None
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    raise UnconvertibleRecord("binary value is neither base64 text nor bytes")


def _base64_text(value: Any) -> str:
    """Canonical base64 of a binary value (text that decodes leniently is re-encoded)."""
    return binascii.b2a_base64(_decode_base64(value), newline=False).decode("ascii")


def number_token(value: Any) -> str:
    """Return a JSON number token with exactly the decimal value of DynamoDB ``N`` text."""
    if type(value) is not str:
        raise UnconvertibleRecord("N value is not a string")
    if _json_number(value):
        return value
    if _lenient_number(value):
        # Decimal's own string form is always a valid JSON number for finite values,
        # and Decimal parses without rounding.
        return str(Decimal(value))
    raise UnconvertibleRecord("N value is not a decimal number")


# What malformed DynamoDB JSON raises inside the emitters (a value of the wrong type,
# a type object with zero or two tags, absurd nesting) before any explicit check.
_MALFORMED: Final = (TypeError, ValueError, AttributeError, InvalidOperation, RecursionError)


def number_at_risk(token: str) -> bool:
    """Whether a warehouse might change this JSON number token's value or text.

    Redshift's SUPER stores a number as a bigint, a decimal of at most 38 digits or a
    float8, and its documentation says neither which one it picks nor what happens to a
    number none of them holds exactly (it "doesn't differentiate integers and decimals
    of scale 0", so even ``1.0`` may come back as ``1``). The rule is conservative on
    purpose: a number is *safe* only if every one of those types keeps both its value
    and its spelling, which means its token

    * matches ``-?(0|[1-9][0-9]*)(\\.[0-9]*[1-9])?``: no exponent, no leading zeros,
      no trailing fractional zeros;
    * is not ``-0``;
    * has at most 15 significant digits (the digits left after dropping the sign, the
      point and leading zeros), which a float8 round-trips exactly;
    * has at most 37 digits after the point (decimal's largest scale).

    Everything else is at risk: ``1.50``, ``1E+125``, ``1E-36``, ``-0``, ``0.0`` and any
    number of 16 or more significant digits; ``5``, ``-12.25`` and ``0.001`` are safe.
    At-risk numbers are what ``exact_numbers`` carries.
    """
    return not _safe_number(token)


def _convert_map(item: Any, section: str) -> tuple[str, str | None, bool]:
    """The item's plain JSON text, its ``exact_numbers`` JSON text (None when not needed)
    and whether it holds a B, SS, NS or BS value (which needs ``exact_types``).

    The text is the fast path's: a string holding NUL or longer than SUPER keeps is
    still written as itself here; :func:`_storable_image` re-encodes such items.
    """
    if type(item) is not dict:
        raise UnconvertibleRecord(f"{section} is not an object")
    out: list[str] = []
    nums: list[str] = []
    try:
        _emit_map(item, out, nums)
        if not nums:
            return "".join(out), None, False
        # One regex call over all numbers is several times cheaper than one per
        # number; the comma count rejects a value that itself contains a comma. Safe
        # numbers are valid JSON numbers too, so the common case (every number valid
        # and safe) costs a single regex call.
        joined = ",".join(nums)
        if joined.count(",") == len(nums) - 1:
            if _safe_number_list(joined):
                return "".join(out), None, False
            if _json_number_list(joined):
                return "".join(out), _exact_numbers_json(item), False
        typed = any(token is _TYPED for token in nums)
        if typed:
            tokens = [token for token in nums if token is not _TYPED]
            joined = ",".join(tokens)
            if not tokens or joined.count(",") == len(tokens) - 1:
                if not tokens or _safe_number_list(joined):
                    return "".join(out), None, True
                if _json_number_list(joined):
                    return "".join(out), _exact_numbers_json(item), True
        # At least one number is spelled in a way JSON does not accept (or is not a
        # number at all): redo the item validating each number on its own.
        out.clear()
        _emit_map(item, out, None)
        return "".join(out), _exact_numbers_json(item), typed
    except (UnconvertibleRecord, *_MALFORMED):
        raise UnconvertibleRecord(f"{section}.{_first_failing_attribute(item)}") from None


# The exact_numbers mirror. These walks run only for an item that has just converted,
# so its shape is known to be valid, and only when it holds an at-risk number. Like the
# emitters they write JSON text directly (names come from the same cache, and a token
# needs no escaping), skip the common tags without a call, and recurse one frame per
# level, no deeper than the emitters did. Each returns "" when it finds nothing.


def _risky_token(raw: str) -> str | None:
    """The image's token for N text that is not safe as sent, or None if it is safe after all."""
    token = number_token(raw)  # respells what JSON does not accept, like the emitters
    return None if _safe_number(token) else token


def _mirror_value(tag: str, inner: Any) -> str:
    """The mirror node of one typed value: "" for a safe number and for any other type."""
    if tag == "N":
        if _safe_number(inner) or (token := _risky_token(inner)) is None:
            return ""
        return '"' + token + '"'
    if tag == "M":
        return _mirror_map(inner)
    if tag == "L":
        return _mirror_list(inner)
    if tag == "NS":
        return _mirror_set(inner)
    return ""


def _mirror_map(value: dict[str, Any]) -> str:
    parts: list[str] = []
    for name, attr in value.items():
        [tag] = attr
        if tag != "S" and (found := _mirror_value(tag, attr[tag])):
            parts.append((_cached_name(name) or _comma_name(name)) + found)
    return "{" + "".join(parts)[1:] + "}" if parts else ""


def _mirror_list(value: list[Any]) -> str:
    parts: list[str] = []
    for index, member in enumerate(value):
        [tag] = member
        if tag != "S" and (found := _mirror_value(tag, member[tag])):
            parts.append(f',"{index}":{found}')
    return "{" + "".join(parts)[1:] + "}" if parts else ""


def _mirror_set(members: list[str]) -> str:
    # Keyed by the index in the image's array, which _emit sorts by value.
    tokens = sorted(map(number_token, members), key=Decimal)
    parts = [f'"{index}":"{token}"' for index, token in enumerate(tokens) if not _safe_number(token)]
    return "{" + ",".join(parts) + "}" if parts else ""


def _exact_numbers_json(item: dict[str, Any]) -> str | None:
    return _mirror_map(item) or None


def apply_exact_numbers(image: Any, exact_numbers: Any) -> Any:
    """A copy of a parsed ``image`` with every number listed in ``exact_numbers`` exact.

    ``image`` may come from any JSON parse (numbers as float, int or Decimal, e.g. read
    back from the warehouse) and ``exact_numbers`` is the envelope's field of the same
    name, parsed; None or an empty object means there is nothing to restore. Each
    listed number becomes ``Decimal(exact text)``; everything else is left as parsed
    (those numbers are the ones :func:`number_at_risk` calls safe, which any of the
    warehouse's number types keeps). The input is not modified. Raises ``ValueError``
    when the mirror does not fit the image.
    """
    result = copy.deepcopy(image)
    if exact_numbers:
        if type(result) is not dict or type(exact_numbers) is not dict:
            raise ValueError("exact_numbers needs an image object and a mirror object")
        _restore(result, exact_numbers)
    return result


def _restore(container: dict[str, Any] | list[Any], mirror: dict[str, Any]) -> None:
    for name, node in mirror.items():
        try:
            if type(container) is dict:
                key: Any = name
            elif name.isascii() and name.isdigit():  # a list index: no sign, no spaces
                key = int(name)
            else:
                raise KeyError(name)
            current = container[key]
        except (KeyError, IndexError, AttributeError):
            raise ValueError(f"exact_numbers names {name!r}, which the image lacks") from None
        if type(node) is str:
            if isinstance(current, bool) or not isinstance(current, int | float | Decimal):
                raise ValueError(f"exact_numbers names {name!r}, which is not a number in the image")
            container[key] = Decimal(node)
        elif type(node) is dict and isinstance(current, dict | list):
            _restore(current, node)
        else:
            raise ValueError(f"exact_numbers does not match the image at {name!r}")


# ---------------------------------------------------------------------------
# exact_types, and values the warehouse cannot store as they are
# ---------------------------------------------------------------------------
# The light walk below runs for an item that converted and holds a B, SS, NS or BS
# value but nothing that needs re-encoding; it only writes the type codes. The full
# walk (_storable) runs when an item holds a string with NUL or longer than SUPER
# keeps, or when its envelope is over COPY's row limit: it writes the image, both
# mirrors and the storable forms in one pass, validating every value as it goes.


def _types_map(value: dict[str, Any]) -> str:
    parts: list[str] = []
    for name, attr in value.items():
        [tag] = attr
        if tag == "S" or tag == "N" or tag == "BOOL" or tag == "NULL":
            continue
        if tag == "M":
            found = _types_map(attr[tag])
        elif tag == "L":
            found = _types_list(attr[tag])
        else:  # B, SS, NS, BS
            found = '"' + tag + '"'
        if found:
            parts.append((_cached_name(name) or _comma_name(name)) + found)
    return "{" + "".join(parts)[1:] + "}" if parts else ""


def _types_list(value: list[Any]) -> str:
    parts: list[str] = []
    for index, member in enumerate(value):
        [tag] = member
        if tag == "S" or tag == "N" or tag == "BOOL" or tag == "NULL":
            continue
        if tag == "M":
            found = _types_map(member[tag])
        elif tag == "L":
            found = _types_list(member[tag])
        else:
            found = '"' + tag + '"'
        if found:
            parts.append(f',"{index}":{found}')
    return "{" + "".join(parts)[1:] + "}" if parts else ""


def _utf8_size(text: str) -> int:
    # surrogatepass: a lone surrogate (never in DynamoDB, possible in a malformed
    # record) is counted, not raised on; the escaped JSON keeps it as \\udXXX.
    return len(text.encode("utf-8", "surrogatepass"))


def _fits_super(text: str) -> bool:
    return len(text) <= MAX_SUPER_STRING_BYTES // 4 or _utf8_size(text) <= MAX_SUPER_STRING_BYTES


def _utf8_pieces(text: str) -> list[str]:
    """``text`` cut into pieces of at most MAX_SUPER_STRING_BYTES UTF-8 bytes, at character bounds."""
    data = text.encode("utf-8", "surrogatepass")
    pieces: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + MAX_SUPER_STRING_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a multi-byte character
            end -= 1
        pieces.append(data[start:end].decode("utf-8", "surrogatepass"))
        start = end
    return pieces


def string_parts(text: str) -> list[str | int]:
    """The ``S*`` form of a string: text pieces that SUPER can store, and NUL runs as counts.

    ``"a\\x00\\x00b"`` gives ``["a", 2, "b"]``; concatenating the pieces, with each integer
    ``n`` read as ``n`` NUL characters, gives the string back (:func:`join_string_parts`).
    """
    parts: list[str | int] = []
    for index, segment in enumerate(text.split("\x00")):
        if index:
            if parts and type(parts[-1]) is int:
                parts[-1] += 1  # type: ignore[operator]
            else:
                parts.append(1)
        if segment:
            parts.extend(_utf8_pieces(segment) if not _fits_super(segment) else [segment])
    return parts


def _string_json(value: Any) -> tuple[str, bool]:
    """A string's JSON as stored, and whether that is its ``S*`` parts form."""
    if type(value) is not str:
        raise UnconvertibleRecord("S value is not a string")
    if "\x00" not in value and _fits_super(value):
        return _ascii_str(value), False
    parts = string_parts(value)
    return "[" + ",".join(_ascii_str(p) if type(p) is str else str(p) for p in parts) + "]", True


def _binary_json(raw: bytes) -> tuple[str, bool]:
    """A binary's JSON as stored (canonical base64), and whether that is its ``B*`` parts form."""
    text = _b2a(raw, newline=False).decode("ascii")
    if len(text) <= MAX_SUPER_STRING_BYTES:
        return '"' + text + '"', False
    pieces = [text[i : i + _BASE64_PIECE] for i in range(0, len(text), _BASE64_PIECE)]
    return "[" + ",".join('"' + piece + '"' for piece in pieces) + "]", True


# normalize() rounds to its context's precision; the default context keeps 28 digits and
# DynamoDB numbers have 38, so the exponent form is computed in an exact context.
_EXACT_DECIMAL: Final = Context(prec=60, Emin=-999, Emax=999)


def _short_token(token: str) -> str:
    """The shorter of a token and its exponent form with the same exact value (1E-130)."""
    exact = Decimal(token)
    short = f"{_EXACT_DECIMAL.normalize(exact):E}"
    if Decimal(short) != exact:  # never trade a digit for a byte
        return token
    return short if len(short) < len(token) else token


def _members_object(parts: list[str]) -> str:
    return "{" + "".join(parts)[1:] + "}" if parts else ""


def _storable(tag: Any, value: Any, compact: bool) -> tuple[str, str, str]:
    """One typed value as the image stores it, with its exact_numbers and exact_types nodes.

    A node is "" when the value needs none. ``compact`` writes at-risk numbers in their
    shorter exponent form (image and mirror alike), which only an envelope over the row
    limit needs: DynamoDB sends 1E-130 as 132 characters.
    """
    if tag == "S":
        text, parted = _string_json(value)
        return text, "", '"S*"' if parted else ""
    if tag == "N":
        token = number_token(value)
        if _safe_number(token):
            return token, "", ""
        if compact:
            token = _short_token(token)
        return token, '"' + token + '"', ""
    if tag == "M":
        if type(value) is not dict:
            raise UnconvertibleRecord("M value is not an object")
        items: list[str] = []
        numbers: list[str] = []
        types: list[str] = []
        for name, attr in value.items():
            [inner] = attr
            key = _cached_name(name) or _comma_name(name)
            text, number_node, type_node = _storable(inner, attr[inner], compact)
            items.append(key + text)
            if number_node:
                numbers.append(key + number_node)
            if type_node:
                types.append(key + type_node)
        return _members_object(items) or "{}", _members_object(numbers), _members_object(types)
    if tag == "L":
        if type(value) is not list:
            raise UnconvertibleRecord("L value is not an array")
        texts: list[str] = []
        numbers, types = [], []
        for index, member in enumerate(value):
            [inner] = member
            text, number_node, type_node = _storable(inner, member[inner], compact)
            texts.append(text)
            if number_node:
                numbers.append(f',"{index}":{number_node}')
            if type_node:
                types.append(f',"{index}":{type_node}')
        return "[" + ",".join(texts) + "]", _members_object(numbers), _members_object(types)
    if tag == "B":
        text, parted = _binary_json(_decode_base64(value))
        return text, "", '"B*"' if parted else '"B"'
    if tag == "SS":
        members = sorted(_set_members(value, tag))
        return "[" + ",".join(_string_json(m)[0] for m in members) + "]", "", '"SS"'
    if tag == "NS":
        tokens = sorted(map(number_token, _set_members(value, tag)), key=Decimal)
        numbers = []
        for index, token in enumerate(tokens):
            if not _safe_number(token):
                if compact:
                    tokens[index] = token = _short_token(token)
                numbers.append(f',"{index}":"{token}"')
        return "[" + ",".join(tokens) + "]", _members_object(numbers), '"NS"'
    if tag == "BS":
        decoded = sorted(map(_decode_base64, _set_members(value, tag)))
        return "[" + ",".join(_binary_json(raw)[0] for raw in decoded) + "]", "", '"BS"'
    out: list[str] = []
    _emit(tag, value, out, None)  # BOOL and NULL, and the refusal of an unknown tag
    return "".join(out), "", ""


def _storable_image(item: dict[str, Any], section: str, compact: bool) -> tuple[str, str | None, str | None]:
    try:
        text, numbers, types = _storable("M", item, compact)
    except (UnconvertibleRecord, *_MALFORMED):
        raise UnconvertibleRecord(f"{section}.{_first_failing_attribute(item)}") from None
    return text, numbers or None, types or None


def _storable_keys(keys: dict[str, Any]) -> str:
    """The ``keys`` object with every S value holding NUL in its ``S*`` parts form.

    Only called once :func:`_encode_keys` accepted the keys. No mark is needed: a key
    is S, N or B, the key string names which, and only an S key can be an array.
    """
    members = []
    for name in sorted(keys) if len(keys) > 1 else keys:
        if "\x00" in name:
            raise UnconvertibleRecord(_NUL_NAME)
        [tag] = keys[name]
        value = keys[name][tag]
        if tag == "S":
            text = _string_json(value)[0]
        elif tag == "N":
            text = number_token(value)
        else:
            text = '"' + _base64_text(value) + '"'
        members.append(_ascii_str(name) + ":" + text)
    return "{" + ",".join(members) + "}"


def item_to_json_with_mirrors(item: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """The image, ``exact_numbers`` and ``exact_types`` JSON texts an envelope carries for ``item``.

    Each mirror is None when the item needs none. The envelope may still respell
    at-risk numbers shorter if its line would be over the row limit (see the module
    docstring); :func:`rebuild_item` gives the same item back from either form.
    """
    image, numbers, typed = _convert_map(item, "item")
    if len(image) > MAX_SUPER_STRING_BYTES or "\\u0000" in image:
        return _storable_image(item, "item", compact=False)  # type: ignore[arg-type]
    return image, numbers, _types_map(item) if typed else None  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Rebuilding the DynamoDB item
# ---------------------------------------------------------------------------


def join_string_parts(parts: Any) -> str:
    """The string an ``S*`` parts array stands for (integers are runs of NUL characters)."""
    if type(parts) is not list:
        raise ValueError("an S* value must be an array of parts")
    out = []
    for part in parts:
        if type(part) is str:
            out.append(part)
        elif isinstance(part, int | float | Decimal) and not isinstance(part, bool) and part == int(part) > 0:
            out.append("\x00" * int(part))
        else:
            raise ValueError("an S* part must be a string or a positive count of NUL characters")
    return "".join(out)


def _rebuilt_binary(value: Any, parted: bool, as_bytes: bool) -> Any:
    if parted:
        if type(value) is not list or not all(type(piece) is str for piece in value):
            raise ValueError("a B* value must be an array of base64 pieces")
        value = "".join(value)
    if type(value) is not str:
        raise ValueError("a binary value must be base64 text")
    try:
        raw = binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ValueError("a binary value is not valid base64") from None
    return raw if as_bytes else _b2a(raw, newline=False).decode("ascii")


def _rebuilt_number(value: Any, exact: Any) -> str:
    """DynamoDB's canonical text of a number, from its exact mirror text or its parsed value."""
    if exact is not None:
        if type(exact) is not str:
            raise ValueError("exact_numbers does not match the image")
        text = exact
    elif isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("exact_numbers names a value that is not a number in the image")
    elif type(value) is float:
        if not math.isfinite(value):
            raise ValueError("a number in the image is not finite")
        # A number without a mirror entry has at most 15 significant digits, which the
        # shortest repr of its float8 spells exactly.
        text = repr(value)
    else:
        text = str(value)
    try:
        return canonical_number(text)
    except UnconvertibleRecord as exc:
        raise ValueError(exc.reason) from None


def _child(node: Any, key: str) -> Any:
    return node.get(key) if type(node) is dict else None


def _check_mirror(node: Any, keys: Iterable[str], field: str) -> None:
    if node is None:
        return
    if type(node) is not dict:
        raise ValueError(f"{field} does not match the image")
    missing = node.keys() - set(keys)
    if missing:
        raise ValueError(f"{field} names {sorted(missing)[0]!r}, which the image lacks")


def _rebuilt(value: Any, numbers: Any, code: Any, as_bytes: bool) -> dict[str, Any]:
    if code is not None and type(code) is not dict:
        if numbers is not None and code != "NS":
            raise ValueError("exact_numbers does not match the image")
        if code == "B" or code == "B*":
            return {"B": _rebuilt_binary(value, code == "B*", as_bytes)}
        if code == "S*":
            return {"S": join_string_parts(value)}
        if type(value) is not list or not value:
            raise ValueError(f"a {code!r} value must be a non-empty array")
        if code == "SS":
            return {"SS": [m if type(m) is str else join_string_parts(m) for m in value]}
        if code == "BS":
            return {"BS": [_rebuilt_binary(m, type(m) is list, as_bytes) for m in value]}
        if code == "NS":
            _check_mirror(numbers, map(str, range(len(value))), "exact_numbers")
            return {"NS": [_rebuilt_number(m, _child(numbers, str(i))) for i, m in enumerate(value)]}
        raise ValueError(f"exact_types holds the unknown code {str(code)[:8]!r}")
    if type(value) is dict:
        _check_mirror(numbers, value, "exact_numbers")
        _check_mirror(code, value, "exact_types")
        return {
            "M": {
                name: _rebuilt(inner, _child(numbers, name), _child(code, name), as_bytes)
                for name, inner in value.items()
            }
        }
    if type(value) is list:
        indexes = [str(index) for index in range(len(value))]
        _check_mirror(numbers, indexes, "exact_numbers")
        _check_mirror(code, indexes, "exact_types")
        return {
            "L": [
                _rebuilt(inner, _child(numbers, key), _child(code, key), as_bytes)
                for key, inner in zip(indexes, value, strict=True)
            ]
        }
    if code is not None:
        raise ValueError("exact_types does not match the image")
    if type(value) is str:
        if numbers is not None:
            raise ValueError("exact_numbers names a value that is not a number in the image")
        return {"S": value}
    if value is None or isinstance(value, bool):
        if numbers is not None:
            raise ValueError("exact_numbers names a value that is not a number in the image")
        return {"NULL": True} if value is None else {"BOOL": value}
    return {"N": _rebuilt_number(value, numbers)}


def rebuild_item(
    image: Any, exact_numbers: Any = None, exact_types: Any = None, *, binary_as_bytes: bool = False
) -> dict[str, Any] | None:
    """The exact DynamoDB item (DynamoDB JSON) an envelope's image stands for.

    ``image``, ``exact_numbers`` and ``exact_types`` are the envelope's fields (or the
    warehouse columns that hold them), parsed by any JSON parser: numbers may come as
    int, float or Decimal. Pure; the inputs are not modified. Numbers come back as
    DynamoDB's canonical text (positional, no leading or trailing zeros, no ``-0``),
    which is what DynamoDB itself returns and streams, so a streamed item comes back
    character for character. Sets come back in the envelope's sorted order; binary as
    canonical base64 text (Lambda's form) or, with ``binary_as_bytes``, as bytes
    (boto3's). Returns None for None (a REMOVE has no image). Raises ``ValueError``
    when a mirror does not fit the image.
    """
    if image is None:
        return None
    if type(image) is not dict:
        raise ValueError("an image is a JSON object")
    return _rebuilt(image, exact_numbers or None, exact_types or None, binary_as_bytes)["M"]  # type: ignore[no-any-return]


def rebuild_keys(key_string_text: str) -> dict[str, Any]:
    """The item's key attributes (DynamoDB JSON) from the canonical key string alone.

    Works for every op, REMOVE included. Numbers come back canonical, binary as
    canonical base64 text, strings exactly (NUL included: the key string escapes it).
    """
    try:
        members = json.loads(key_string_text)
        return {name: {tag: value} for name, tag, value in members if tag in ("S", "N", "B")}
    except (TypeError, ValueError):
        raise ValueError("not a canonical key string") from None


def _failure(attr: Any) -> str | None:
    """Why one attribute value cannot be converted, or None if it can."""
    out: list[str] = []
    try:
        _emit("M", {"v": attr}, out, None)
    except UnconvertibleRecord as exc:
        return exc.reason
    except _MALFORMED as exc:
        return f"malformed DynamoDB JSON ({type(exc).__name__})"
    return None


def _first_failing_attribute(item: dict[Any, Any]) -> str:
    # Only runs once a conversion has failed: converts each top-level attribute on
    # its own to name the culprit.
    for name, attr in item.items():
        if type(name) is str and "\x00" in name:
            return _NUL_NAME
        reason = _failure(attr)
        if reason is not None:
            return f"{str(name)[:_MAX_NAME_IN_REASON]}: {reason}"
    return "malformed DynamoDB JSON"


def item_to_json(item: Mapping[str, Any]) -> str:
    """Convert a DynamoDB JSON item (attribute name -> typed value) to the image's JSON text."""
    return item_to_json_with_mirrors(item)[0]


def item_to_json_with_exact_numbers(item: Mapping[str, Any]) -> tuple[str, str | None]:
    """The image's JSON text and its ``exact_numbers`` JSON text, None if it needs none."""
    return item_to_json_with_mirrors(item)[:2]


def attribute_to_json(attr: Mapping[str, Any]) -> str:
    """Convert one typed DynamoDB JSON value, e.g. ``{"N": "1E+125"}``, to JSON text."""
    wrapped = item_to_json({"v": attr})
    return wrapped[len('{"v":') : -1]


# ---------------------------------------------------------------------------
# Canonical key string
# ---------------------------------------------------------------------------


def canonical_number(value: Any) -> str:
    """Spell a DynamoDB number so that equal values give equal text.

    Positional notation without exponent, no trailing fractional zeros, no ``-0``:
    ``1``, ``1.0`` and ``1E0`` all give ``"1"``; ``1E+2`` gives ``"100"``.
    """
    if type(value) is str and value.isascii() and value.isdigit() and (value[0] != "0" or len(value) == 1):
        return value  # the common case: a plain non-negative integer is already canonical
    token = number_token(value)
    sign, digit_tuple, exponent = Decimal(token).as_tuple()
    assert isinstance(exponent, int)  # number_token admits finite values only
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return "0"
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    adjusted = exponent + len(digits) - 1
    if not _MIN_ADJUSTED_EXPONENT <= adjusted <= _MAX_ADJUSTED_EXPONENT:
        raise UnconvertibleRecord("N key value is outside DynamoDB's number range")
    if exponent >= 0:
        text = digits + "0" * exponent
    else:
        point = len(digits) + exponent
        text = digits[:point] + "." + digits[point:] if point > 0 else "0." + "0" * -point + digits
    return "-" + text if sign else text


def key_string(keys: Mapping[str, Any]) -> str:
    """The canonical key string: ``[[name, type, value], …]`` sorted by name, compact JSON.

    Names sort by code point. Values are text: strings as they are, numbers via
    :func:`canonical_number`, binary as canonical base64. Non-ASCII characters are
    kept as themselves (not ``\\u`` escaped) so the string reads naturally in SQL.
    """
    return _encode_keys(keys)[1]


def _encode_keys(keys: Any) -> tuple[str, str]:
    """Both key forms in one pass: the ``keys`` JSON object and the canonical key string.

    Key attributes can only be S, N or B, so this needs none of the general converter.
    """
    if type(keys) is not dict or not keys:
        raise UnconvertibleRecord("Keys is missing or empty")
    members = []
    canonical = []
    try:
        for name in sorted(keys) if len(keys) > 1 else keys:
            attr = keys[name]
            if type(attr) is not dict:
                raise TypeError
            [tag] = attr
            value = attr[tag]
            if tag == "S":
                members.append(_ascii_str(name) + ":" + _ascii_str(value))
                text = value
            elif tag == "N":
                members.append(_ascii_str(name) + ":" + number_token(value))
                text = canonical_number(value)
            elif tag == "B":
                text = _base64_text(value)
                members.append(_ascii_str(name) + ':"' + text + '"')
            else:
                raise UnconvertibleRecord(f"key type tag {_describe(tag)} is not S, N or B")
            canonical.append("[" + _unicode_str(name) + ',"' + tag + '",' + _unicode_str(text) + "]")
    except (TypeError, ValueError):
        raise UnconvertibleRecord("Keys holds a malformed attribute") from None
    return "{" + ",".join(members) + "}", "[" + ",".join(canonical) + "]"


# ---------------------------------------------------------------------------
# Ordering token and time
# ---------------------------------------------------------------------------


def seq_token(sequence_number: Any) -> str:
    """Left-pad a stream SequenceNumber to SEQ_WIDTH digits so string order is numeric order."""
    if (
        type(sequence_number) is not str
        or not 0 < len(sequence_number) <= SEQ_WIDTH
        or not (sequence_number.isascii() and sequence_number.isdigit())
    ):
        raise UnconvertibleRecord(f"SequenceNumber is not 1 to {SEQ_WIDTH} decimal digits")
    return sequence_number.zfill(SEQ_WIDTH)


# 1970-01-01 to 9999-12-31: what an ISO-8601 four-digit year can spell.
_MAX_EPOCH_SECONDS: Final = 253_402_300_799


def epoch_ms(approximate_creation: Any) -> int:
    """Milliseconds since the epoch from ApproximateCreationDateTime (epoch seconds)."""
    if type(approximate_creation) is int:
        millis = approximate_creation * 1000
    elif type(approximate_creation) is float and math.isfinite(approximate_creation):
        millis = round(approximate_creation * 1000)
    else:
        raise UnconvertibleRecord("ApproximateCreationDateTime is not epoch seconds")
    if not 0 <= millis <= _MAX_EPOCH_SECONDS * 1000:
        raise UnconvertibleRecord("ApproximateCreationDateTime is out of range")
    return millis


_second_prefix: dict[int, str] = {}


def format_timestamp(millis: int) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``: ``2026-11-27T03:49:52.276Z``."""
    seconds, ms = divmod(millis, 1000)
    prefix = _second_prefix.get(seconds)
    if prefix is None:
        # A batch spans few distinct seconds; the cache saves a strftime per record.
        if len(_second_prefix) >= 4096:
            _second_prefix.clear()
        prefix = _second_prefix[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds))
    return f"{prefix}{ms:03d}Z"


# ---------------------------------------------------------------------------
# Envelopes
# ---------------------------------------------------------------------------


def _head(
    op: str, table_json: str, event_id: str | None, seq: str, created_ms: int, keys_json: str, key_text: str
) -> str:
    event = "null" if event_id is None else _ascii_str(event_id)
    return (
        f'{{"envelope_version":{ENVELOPE_VERSION},"op":"{op}","source_table":{table_json},"event_id":{event},'
        f'"seq":"{seq}","approx_created_at":"{format_timestamp(created_ms)}","keys":{keys_json},'
        f'"key_string":{_ascii_str(key_text)}'
    )


def _line(head: str, image_json: str | None, exact_json: str | None, types_json: str | None) -> str:
    if image_json is None:
        return head + "}"
    line = f'{head},"image":{image_json}'
    if exact_json is not None:
        line += f',"exact_numbers":{exact_json}'
    if types_json is not None:
        line += f',"exact_types":{types_json}'
    return line + "}"


def _holds_escaped_nul(text: str) -> bool:
    # Most texts hold no backslash at all, and a one-character search is a memchr.
    return "\\" in text and "\\u0000" in text


def _envelope_line(
    op: str,
    table_json: str,
    event_id: str | None,
    seq: str,
    created_ms: int,
    keys: Any,
    image: Any,
    section: str,
) -> str:
    keys_json, key_text = _encode_keys(keys)
    if image is None:
        image_json = exact_json = None
        typed = False
    else:
        image_json, exact_json, typed = _convert_map(image, section)
    # The one check the common record pays: no binary or set, no escaped NUL (most texts
    # hold no backslash at all, and a one-character search is a memchr), and an image too
    # short to hold a string over SUPER's limit (an escaped string is never shorter than
    # its UTF-8 bytes) or to bring the line near the row limit.
    if (
        typed
        or ("\\" in keys_json and "\\u0000" in keys_json)
        or (
            image_json is not None
            and (len(image_json) > MAX_SUPER_STRING_BYTES or ("\\" in image_json and "\\u0000" in image_json))
        )
    ):
        head = (op, table_json, event_id, seq, created_ms, keys_json, key_text)
        return _storable_line(head, keys, image, section, image_json, exact_json, typed)
    event = "null" if event_id is None else _ascii_str(event_id)
    line = (
        f'{{"envelope_version":{ENVELOPE_VERSION},"op":"{op}","source_table":{table_json},"event_id":{event},'
        f'"seq":"{seq}","approx_created_at":"{format_timestamp(created_ms)}","keys":{keys_json},'
        f'"key_string":{_ascii_str(key_text)}'
    )
    if image_json is None:
        return line + "}"
    if exact_json is None:
        return f'{line},"image":{image_json}}}'
    return f'{line},"image":{image_json},"exact_numbers":{exact_json}}}'


def _storable_line(
    head_fields: tuple[str, str, str | None, str, int, str, str],
    keys: Any,
    image: Any,
    section: str,
    image_json: str | None,
    exact_json: str | None,
    typed: bool,
) -> str:
    """The envelope of a record that holds a B, SS, NS or BS value, a string with NUL or
    over SUPER's limit, or a key with NUL; ``image_json``, ``exact_json`` and ``typed``
    are what :func:`_convert_map` gave, so the keys and image are known to convert."""
    op, table_json, event_id, seq, created_ms, keys_json, key_text = head_fields
    if _holds_escaped_nul(keys_json):
        keys_json = _storable_keys(keys)
    head = _head(op, table_json, event_id, seq, created_ms, keys_json, key_text)
    types_json = None
    if image_json is not None:
        if len(image_json) > MAX_SUPER_STRING_BYTES or _holds_escaped_nul(image_json):
            image_json, exact_json, types_json = _storable_image(image, section, compact=False)
        elif typed:
            types_json = _types_map(image)
    line = _line(head, image_json, exact_json, types_json)
    if len(line) > MAX_LINE_BYTES and image_json is not None:
        image_json, exact_json, types_json = _storable_image(image, section, compact=True)
        line = _line(head, image_json, exact_json, types_json)
    if len(line) > MAX_LINE_BYTES:
        raise UnconvertibleRecord(
            f"the envelope is {len(line)} bytes, over the {MAX_LINE_BYTES}-byte row limit of COPY"
        )
    return line


def table_json(source_table: str) -> str:
    """The JSON string literal of a table name; writers compute it once per batch."""
    return _ascii_str(source_table)


def encode_stream_record(record: Any, source_table_json: str) -> EncodedEnvelope:
    """Turn one DynamoDB stream record, as Lambda delivers it, into an envelope line.

    ``source_table_json`` comes from :func:`table_json`. Raises
    :class:`UnconvertibleRecord` for anything that cannot be represented faithfully.
    """
    if type(record) is not dict:
        raise UnconvertibleRecord("stream record is not an object")
    op = record.get("eventName")
    if op not in STREAM_OPS:
        raise UnconvertibleRecord(f"eventName {_describe(op)} is not INSERT, MODIFY or REMOVE")
    event_id = record.get("eventID")
    if type(event_id) is not str or not event_id:
        raise UnconvertibleRecord("eventID is missing")
    data = record.get("dynamodb")
    if type(data) is not dict:
        raise UnconvertibleRecord("dynamodb section is missing")
    sequence_number = data.get("SequenceNumber")
    seq = seq_token(sequence_number)
    created_ms = epoch_ms(data.get("ApproximateCreationDateTime"))
    image = None
    if op != "REMOVE":
        image = data.get("NewImage")
        if image is None:
            raise UnconvertibleRecord(
                "NewImage is missing: the stream view type must be NEW_IMAGE or NEW_AND_OLD_IMAGES"
            )
    line = _envelope_line(
        op, source_table_json, event_id, seq, created_ms, data.get("Keys"), image, "NewImage"
    )
    return EncodedEnvelope(line, op, event_id, seq, created_ms, sequence_number)


def encode_snapshot(
    item: Mapping[str, Any], key_names: Iterable[str], source_table: str, snapshot_ms: int
) -> EncodedEnvelope:
    """A backfill envelope: ``op`` SNAPSHOT, the lowest ordering token, no event id.

    The lowest token makes any streamed change of the same key win during the merge,
    so a snapshot can never overwrite a newer change or resurrect a deleted key.
    """
    if type(item) is not dict:
        raise UnconvertibleRecord("item is not an object")
    try:
        keys = {name: item[name] for name in key_names}
    except KeyError:
        raise UnconvertibleRecord("item lacks a key attribute") from None
    line = _envelope_line(
        "SNAPSHOT", table_json(source_table), None, SNAPSHOT_SEQ, snapshot_ms, keys, item, "item"
    )
    return EncodedEnvelope(line, "SNAPSHOT", None, SNAPSHOT_SEQ, snapshot_ms, None)
