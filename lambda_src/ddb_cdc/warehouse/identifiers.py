"""Everything user-supplied that ends up inside SQL text is validated here first.

The warehouse renders SQL as text (the Redshift Data API takes statements, not bound
parameters for DDL or COPY), so this module is the only gate between configuration and
SQL. Its rules are deliberately narrower than what either database accepts:

* **Identifiers** (schema, table, column names) must match ``[A-Za-z_][A-Za-z0-9_]{0,126}``,
  are stored lower-case (Redshift folds unquoted names to lower case, so a user can
  query them without quotes), must not be a reserved word (see :data:`RESERVED_WORDS`)
  and are always emitted double-quoted.
* **Column types** come from a small grammar (:func:`parse_column_type`), are parsed into
  a :class:`ColumnType` and re-rendered per dialect; the user's text is never pasted.
* **String literals** (file keys, ARNs, URLs, JSON path segments) may not contain
  backslashes or control characters. Redshift string literals treat a backslash as an
  escape character (PostgreSQL's do not), so the only way to be sure both read a
  literal the same is to refuse backslashes; single quotes are doubled.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Final, Literal

Dialect = Literal["redshift", "postgresql"]
DIALECTS: Final[tuple[Dialect, ...]] = ("redshift", "postgresql")

# Redshift's limit for identifiers is 127 bytes; ASCII-only names make bytes = characters.
MAX_IDENTIFIER: Final = 127

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,126}")
# Control characters (C0, DEL, C1) and the two characters that change how a literal or
# a quoted identifier is read.
_UNSAFE_IN_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")

# Names that would need quoting whenever a user writes SQL against the tables by hand.
# Everything we emit is quoted, so these are refused for the users' sake, not ours. The
# list lives in reserved_words.json next to this file (its "about" says where the words
# come from), because the Terraform module reads the same file to refuse these names at
# plan time: one list, two readers.
RESERVED_WORDS_FILE: Final = "reserved_words.json"


def _load_reserved_words() -> frozenset[str]:
    data = json.loads(
        resources.files("ddb_cdc.warehouse").joinpath(RESERVED_WORDS_FILE).read_text(encoding="utf-8")
    )
    return frozenset(word.lower() for word in data["words"])


RESERVED_WORDS: Final = _load_reserved_words()


class ConfigError(ValueError):
    """A warehouse setting (name, type, path, ARN, file key…) that cannot be used safely."""


def identifier(value: object, what: str) -> str:
    """Validate a schema, table or column name; return it lower-cased.

    ``what`` names the setting in the error message, e.g. ``"schema"`` or
    ``"column name in columns[2]"``.
    """
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ConfigError(
            f"{what} {_show(value)} is not a valid name: use 1 to {MAX_IDENTIFIER} ASCII letters, digits "
            "and underscores, not starting with a digit"
        )
    lowered = value.lower()
    if lowered in RESERVED_WORDS:
        raise ConfigError(f"{what} {_show(value)} is a reserved SQL word; choose another name")
    return lowered


def quote(name: str) -> str:
    """Double-quote an identifier that :func:`identifier` accepted.

    Doubling embedded quotes is defence in depth: validated names cannot contain any.
    """
    return '"' + name.replace('"', '""') + '"'


def text(value: object, what: str, *, max_length: int = 1024) -> str:
    """Validate free text that will become a SQL string literal (see the module doc)."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty string")
    if len(value) > max_length:
        raise ConfigError(f"{what} is longer than {max_length} characters")
    bad = _UNSAFE_IN_TEXT.search(value)
    if bad:
        raise ConfigError(
            f"{what} {_show(value)} contains {bad.group()!r}: backslashes and control characters "
            "are not allowed in SQL string literals"
        )
    return value


def literal(value: str) -> str:
    """Render validated text (:func:`text`) as a SQL string literal."""
    if _UNSAFE_IN_TEXT.search(value):
        # Callers validate first; reaching this is a programming error, and emitting
        # the literal anyway could change how Redshift reads the statement.
        raise ConfigError(f"refusing to render {_show(value)} as a SQL literal")
    return "'" + value.replace("'", "''") + "'"


def _show(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


# ---------------------------------------------------------------------------
# Column types
# ---------------------------------------------------------------------------

TypeKind = Literal[
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "DECIMAL",
    "REAL",
    "DOUBLE PRECISION",
    "BOOLEAN",
    "CHAR",
    "VARCHAR",
    "DATE",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "SUPER",
]

_ALIASES: Final[dict[str, TypeKind]] = {
    "SMALLINT": "SMALLINT",
    "INT2": "SMALLINT",
    "INTEGER": "INTEGER",
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "BIGINT": "BIGINT",
    "INT8": "BIGINT",
    "DECIMAL": "DECIMAL",
    "NUMERIC": "DECIMAL",
    "REAL": "REAL",
    "FLOAT4": "REAL",
    "DOUBLE PRECISION": "DOUBLE PRECISION",
    "FLOAT8": "DOUBLE PRECISION",
    "FLOAT": "DOUBLE PRECISION",
    "BOOLEAN": "BOOLEAN",
    "BOOL": "BOOLEAN",
    "CHAR": "CHAR",
    "CHARACTER": "CHAR",
    "VARCHAR": "VARCHAR",
    "CHARACTER VARYING": "VARCHAR",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "TIMESTAMPTZ": "TIMESTAMPTZ",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "SUPER": "SUPER",
}

ALLOWED_TYPES: Final = (
    "SMALLINT, INTEGER, BIGINT, DECIMAL(p,s) or NUMERIC(p,s), REAL, DOUBLE PRECISION, BOOLEAN, "
    "CHAR(n), VARCHAR(n), DATE, TIMESTAMP, TIMESTAMPTZ, SUPER"
)

# Redshift's limits; the defaults are what Redshift itself assumes for a bare name. They
# are always rendered explicitly, because PostgreSQL's defaults differ (a bare NUMERIC
# there is unconstrained and a bare VARCHAR unlimited).
MAX_DECIMAL_PRECISION: Final = 38
MAX_CHAR: Final = 4096
MAX_VARCHAR: Final = 65535
_DEFAULTS: Final[dict[str, tuple[int, int]]] = {"DECIMAL": (18, 0), "CHAR": (1, 0), "VARCHAR": (256, 0)}

_TYPE = re.compile(
    r"\s*([A-Za-z][A-Za-z0-9]*(?:\s+[A-Za-z]+)*)\s*(?:\(\s*(\d{1,6})\s*(?:,\s*(\d{1,6})\s*)?\))?\s*"
)

NUMERIC_KINDS: Final = frozenset({"SMALLINT", "INTEGER", "BIGINT", "DECIMAL", "REAL", "DOUBLE PRECISION"})
CHARACTER_KINDS: Final = frozenset({"CHAR", "VARCHAR"})


@dataclass(frozen=True, slots=True)
class ColumnType:
    """A parsed column type. ``size`` is the length (CHAR, VARCHAR) or precision (DECIMAL)."""

    kind: TypeKind
    size: int | None = None
    scale: int | None = None

    def render(self, dialect: Dialect) -> str:
        if self.kind == "DECIMAL":
            return f"DECIMAL({self.size},{self.scale})"
        if self.kind in CHARACTER_KINDS:
            return f"{self.kind}({self.size})"
        if self.kind == "SUPER":
            return "SUPER" if dialect == "redshift" else "JSONB"
        return self.kind

    def __str__(self) -> str:
        return self.render("redshift")


def parse_column_type(value: object, what: str = "column type") -> ColumnType:
    """Parse a type from the allow-list (aliases such as INT8 or NUMERIC are accepted)."""
    if isinstance(value, ColumnType):
        return value
    match = _TYPE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise ConfigError(f"{what} {_show(value)} is not a type; use one of {ALLOWED_TYPES}")
    name = " ".join(match.group(1).upper().split())
    kind = _ALIASES.get(name)
    if kind is None:
        raise ConfigError(f"{what} {_show(value)} is not supported; use one of {ALLOWED_TYPES}")
    first = None if match.group(2) is None else int(match.group(2))
    second = None if match.group(3) is None else int(match.group(3))
    if kind == "DECIMAL":
        precision = first if first is not None else _DEFAULTS["DECIMAL"][0]
        scale = second if second is not None else (0 if first is not None else _DEFAULTS["DECIMAL"][1])
        if not 1 <= precision <= MAX_DECIMAL_PRECISION:
            raise ConfigError(f"{what} {_show(value)}: precision must be 1 to {MAX_DECIMAL_PRECISION}")
        if not 0 <= scale <= precision:
            raise ConfigError(f"{what} {_show(value)}: scale must be 0 to the precision")
        return ColumnType(kind, precision, scale)
    if kind in CHARACTER_KINDS:
        if second is not None:
            raise ConfigError(f"{what} {_show(value)}: {kind} takes one length")
        length = first if first is not None else _DEFAULTS[kind][0]
        limit = MAX_CHAR if kind == "CHAR" else MAX_VARCHAR
        if not 1 <= length <= limit:
            raise ConfigError(f"{what} {_show(value)}: {kind} length must be 1 to {limit} bytes")
        return ColumnType(kind, length)
    if first is not None:
        raise ConfigError(f"{what} {_show(value)}: {kind} takes no length or precision")
    return ColumnType(kind)


# ---------------------------------------------------------------------------
# JSON paths (columns mode)
# ---------------------------------------------------------------------------

MAX_PATH_DEPTH: Final = 16


def json_path(value: object, what: str) -> tuple[str, ...]:
    """Validate a JSON path: a non-empty list of attribute names, outermost first.

    Segments are plain strings, never SQL. Redshift reads them as quoted identifiers in
    SUPER navigation (``image."a"."b"``), which caps them at 127 bytes and forbids the
    double quote; PostgreSQL reads them as string literals (``image #>> ARRAY['a','b']``).
    Array indexes are not supported: every segment names an object attribute.
    """
    if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
        raise ConfigError(f'{what} must be a non-empty list of attribute names, e.g. ["address", "city"]')
    if len(value) > MAX_PATH_DEPTH:
        raise ConfigError(f"{what} is deeper than {MAX_PATH_DEPTH} levels")
    segments = []
    for index, segment in enumerate(value):
        label = f"{what}[{index}]"
        if not isinstance(segment, str):
            raise ConfigError(f"{label} {_show(segment)} is not a string (array indexes are not supported)")
        text(segment, label, max_length=MAX_IDENTIFIER)
        if '"' in segment:
            raise ConfigError(f"{label} {_show(segment)} contains a double quote")
        if len(segment.encode("utf-8")) > MAX_IDENTIFIER:
            raise ConfigError(f"{label} is longer than {MAX_IDENTIFIER} bytes")
        segments.append(segment)
    return tuple(segments)
