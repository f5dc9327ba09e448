"""What Redshift refuses or does differently from PostgreSQL: the emulator's conformance rules.

The sandbox runs Redshift SQL on PostgreSQL (:mod:`tests.sandbox.redshift_sql`). A
translation alone checks syntax; PostgreSQL then happily runs statements that Redshift
refuses (a MERGE that navigates a SUPER column) and gives other answers where the two
differ (a lax SUPER cast, trailing spaces). Each documented rule is one function here,
with the page it follows; the translator, the Data API emulator and the strict COPY
adapter call them. A refusal raises :class:`RedshiftRefuses` with the page in its text.

Rules enforced (the page each follows):

=====================================  =================================================================
rule                                   page
=====================================  =================================================================
:func:`check_batch`                    Data API: at most 40 SQL statements per BatchExecuteStatement
                                       (API model, ``SqlList`` length 1-40); "The maximum query statement
                                       size is 100 KB" (mgmt/data-api.html)
:func:`check_one_statement`            one statement per ``Sql``/``Sqls`` element (the Data API runs each
                                       element as one statement; Redshift's drivers refuse several:
                                       "cannot insert multiple commands into a prepared statement")
:func:`check_merge`                    MERGE (dg/r_MERGE.html): no WITH clause; no partial reference of a
                                       SUPER column in the condition or expressions; no alias for the
                                       target; one unconditional WHEN MATCHED and one WHEN NOT MATCHED
                                       INSERT; SET names no table; the source is a table
:func:`merge_error`                    MERGE: "Rows in target_table can't match multiple rows in
                                       source_table" -> "Found multiple matches to update the same tuple."
:func:`lax_cast`                       SUPER lax casts (dg/limitations-super.html, dg/query-super.html
                                       "Lax semantics"): a cast to the wrong type is NULL, an object or
                                       array cast to a string is NULL
:func:`ignores_trailing_spaces`        "Trailing spaces in VARCHAR and CHAR values are treated as
                                       semantically insignificant when values are compared"
                                       (dg/r_Character_types.html)
:func:`timestamp_auto`                 TIMESTAMP: "Time zone values in input strings are ignored"
                                       (dg/r_Datetime_types.html), for COPY's TIMEFORMAT 'auto'
:func:`super_string_fits`              "a single string value loaded to SUPER is limited to the maximum
                                       VARCHAR length of 65535 bytes" unless enable_large_strings_opt_in
                                       (dg/limitations-super.html, dg/r_enable_large_strings_opt_in.html)
:func:`json_serialize`                 JSON_SERIALIZE (dg/JSON_SERIALIZE.html): NULL gives the text 'null';
                                       JSON text over 65,535 bytes is an error
:func:`super_number`                   not documented: what SUPER keeps of a 38-digit integer, 1E+125,
                                       1E-36 or 1.50. The emulator assumes the worst plausible store
                                       (bigint when it fits, else float8), so that code that relies on
                                       SUPER keeping such a number exactly fails here first
=====================================  =================================================================

Rules the emulator cannot enforce are listed in the README ("What only a real Redshift can prove").
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Final

from sqlglot import exp

DATA_API_PAGE: Final = "https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html"
MERGE_PAGE: Final = "https://docs.aws.amazon.com/redshift/latest/dg/r_MERGE.html"
SUPER_LIMITS_PAGE: Final = "https://docs.aws.amazon.com/redshift/latest/dg/limitations-super.html"
LAX_PAGE: Final = "https://docs.aws.amazon.com/redshift/latest/dg/query-super.html"
CHARACTER_PAGE: Final = "https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html"
DATETIME_PAGE: Final = "https://docs.aws.amazon.com/redshift/latest/dg/r_Datetime_types.html"

MAX_BATCH_STATEMENTS: Final = 40
# "100 KB": read as the stricter 100,000 bytes of UTF-8, since the page does not say.
MAX_STATEMENT_BYTES: Final = 100_000
MAX_SUPER_STRING_BYTES: Final = 65_535


class RedshiftRefuses(Exception):
    """Redshift would refuse this statement; the message names the rule's page."""

    def __init__(self, message: str, page: str) -> None:
        super().__init__(f"{message} (Redshift refuses this: {page})")
        self.page = page


# ---------------------------------------------------------------------------
# The Data API's limits
# ---------------------------------------------------------------------------


def check_batch(sqls: Sequence[str]) -> None:
    """BatchExecuteStatement: 1 to 40 statements, each at most 100 KB."""
    if not 1 <= len(sqls) <= MAX_BATCH_STATEMENTS:
        raise RedshiftRefuses(
            f"a batch holds {len(sqls)} statements; BatchExecuteStatement takes 1 to {MAX_BATCH_STATEMENTS}",
            DATA_API_PAGE,
        )
    for index, sql in enumerate(sqls, start=1):
        check_statement_size(sql, index)


def check_statement_size(sql: str, index: int = 1) -> None:
    size = len(sql.encode("utf-8"))
    if size > MAX_STATEMENT_BYTES:
        raise RedshiftRefuses(
            f"statement {index} is {size} bytes; the maximum query statement size is 100 KB", DATA_API_PAGE
        )


# Quoted identifiers, string literals and comments: a ';' inside them ends nothing.
_LEXEMES: Final = re.compile(r"\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)


def check_one_statement(sql: str) -> None:
    """One statement per ``Sqls`` element; a trailing ';' is allowed."""
    bare = _LEXEMES.sub(" ", sql).strip()
    while bare.endswith(";"):
        bare = bare[:-1].rstrip()
    if ";" in bare:
        raise RedshiftRefuses(
            "one SQL element holds several statements; send each as its own element of Sqls", DATA_API_PAGE
        )


# ---------------------------------------------------------------------------
# MERGE
# ---------------------------------------------------------------------------

IsSuperColumn = Callable[[exp.Column], bool]


def check_merge(
    tree: exp.Merge, is_super_column: IsSuperColumn, navigations: Sequence[exp.Expression]
) -> None:
    """The MERGE shape and references Redshift accepts.

    ``navigations`` are the SUPER navigation expressions the translator found in the
    statement (paths into a SUPER column); ``is_super_column`` tells a whole SUPER
    column apart from a plain one.
    """
    if tree.args.get("with_") is not None or tree.args.get("with") is not None:
        raise RedshiftRefuses("You can't use the WITH clause in a MERGE statement", MERGE_PAGE)
    target = tree.this
    if not isinstance(target, exp.Table) or target.args.get("alias") is not None:
        raise RedshiftRefuses("MERGE INTO takes a table name without an alias", MERGE_PAGE)
    source = tree.args.get("using")
    if not isinstance(source, exp.Table):
        # The MERGE page has said both "source_table can't be a view or a subquery" and,
        # later, that it can; the emulator keeps the stricter reading, so only a table passes.
        raise RedshiftRefuses("the MERGE source must be a table (not a subquery or view)", MERGE_PAGE)
    whens = tree.args["whens"].expressions if tree.args.get("whens") else []
    if any(when.args.get("condition") is not None for when in whens):
        raise RedshiftRefuses("WHEN [NOT] MATCHED takes no AND condition", MERGE_PAGE)
    shapes = [(bool(when.args.get("matched")), _action(when.args.get("then"))) for when in whens]
    if shapes not in ([(True, "UPDATE"), (False, "INSERT")], [(True, "DELETE"), (False, "INSERT")]):
        raise RedshiftRefuses(
            "MERGE takes one WHEN MATCHED THEN UPDATE or DELETE and one WHEN NOT MATCHED THEN INSERT",
            MERGE_PAGE,
        )
    for when in whens:
        then = when.args.get("then")
        if isinstance(then, exp.Update):
            for assignment in then.expressions:
                column = assignment.this if isinstance(assignment, exp.EQ) else None
                if isinstance(column, exp.Column) and column.table:
                    raise RedshiftRefuses(
                        "Don't include the table name when specifying the target column", MERGE_PAGE
                    )
    if navigations:
        shown = navigations[0].sql(dialect="redshift")
        raise RedshiftRefuses(
            f"Partial reference of SUPER column is not supported in MERGE statement ({shown})", MERGE_PAGE
        )
    for subscript in tree.find_all(exp.Bracket):
        base = subscript.this
        if isinstance(base, exp.Column) and is_super_column(base):
            raise RedshiftRefuses(
                "Partial reference of SUPER column is not supported in MERGE statement "
                f"({subscript.sql(dialect='redshift')})",
                MERGE_PAGE,
            )


def _action(then: exp.Expression | None) -> str:
    if isinstance(then, exp.Update):
        return "UPDATE"
    if isinstance(then, exp.Insert):
        return "INSERT"
    return then.sql(dialect="redshift").upper() if then is not None else ""


def merge_error(pg_message: str) -> str | None:
    """Redshift's text for PostgreSQL's MERGE cardinality error, or None for another error.

    PostgreSQL enforces the same rule ("MERGE command cannot affect row a second time"),
    so the emulator only has to speak Redshift's words for it.
    """
    if "MERGE command cannot affect row a second time" in pg_message:
        return f"Found multiple matches to update the same tuple. (Redshift: {MERGE_PAGE})"
    return None


# ---------------------------------------------------------------------------
# SUPER values
# ---------------------------------------------------------------------------

_SCALAR: Final = "('string', 'number', 'boolean')"
_CHARACTER: Final = frozenset(
    {exp.DataType.Type.CHAR, exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.NCHAR}
)
_NUMERIC: Final = frozenset(
    {
        exp.DataType.Type.SMALLINT,
        exp.DataType.Type.INT,
        exp.DataType.Type.BIGINT,
        exp.DataType.Type.DECIMAL,
        exp.DataType.Type.FLOAT,
        exp.DataType.Type.DOUBLE,
    }
)
_TEMPORAL: Final = frozenset(
    {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ}
)


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def lax_cast(value: str, to: exp.DataType) -> str:
    """PostgreSQL for ``CAST(<SUPER value> AS to)`` under Redshift's default lax mode.

    "Casting a SUPER value to the wrong type returns null instead of an error"
    (query-super.html, lax semantics); "Cast from non-scalar values (object and array)
    to string returns NULL" (limitations-super.html). The dynamic type decides:

    * to CHAR/VARCHAR: only a SUPER string; a number, boolean, object or array is NULL
      (serialize with JSON_SERIALIZE instead);
    * to a number: only a SUPER number (a string such as '12' is NULL); a value the
      type cannot hold (overflow) is NULL, as "Redshift converts SUPER-related errors to null";
    * to BOOLEAN: a boolean, or a number of scale 0 ("5::super::bool is True,
      5.0::super::bool is NULL");
    * to DATE/TIMESTAMP: a string in a form the type accepts ("casting a SUPER string to
      DATE works");
    * a missing path or a JSON null is NULL for every type.
    """
    if to.is_type(exp.DataType.Type.SUPER):
        return value
    target = to.sql(dialect="postgres")
    kind = to.this
    text = f"({value} #>> '{{}}')"

    def guarded(condition: str, source: str) -> str:
        return (
            f"(CASE WHEN {condition} AND pg_input_is_valid({source}, {_quote_literal(target)}) "
            f"THEN CAST({source} AS {target}) END)"
        )

    if kind in _CHARACTER:
        # Lengths: an explicit cast to VARCHAR(n) shortens, in both databases.
        return f"(CASE WHEN jsonb_typeof({value}) = 'string' THEN CAST({text} AS {target}) END)"
    if kind in _NUMERIC:
        return guarded(f"jsonb_typeof({value}) = 'number'", text)
    if kind == exp.DataType.Type.BOOLEAN:
        return (
            f"(CASE WHEN jsonb_typeof({value}) = 'boolean' THEN CAST({text} AS BOOLEAN) "
            f"WHEN jsonb_typeof({value}) = 'number' AND {text} ~ '^-?[0-9]+$' "
            f"THEN CAST({text} AS NUMERIC) <> 0 END)"
        )
    if kind in _TEMPORAL:
        return guarded(f"jsonb_typeof({value}) = 'string'", text)
    return guarded(f"jsonb_typeof({value}) IN {_SCALAR}", text)


JSON_SERIALIZE_PAGE: Final = "https://docs.aws.amazon.com/redshift/latest/dg/JSON_SERIALIZE.html"


def json_serialize(value: str) -> str:
    """PostgreSQL for ``JSON_SERIALIZE(<SUPER value>)`` as Redshift documents it: "always a
    non-null JSON string. If super_expression is NULL, JSON_SERIALIZE returns the JSON
    string 'null'", and it "returns an error when the JSON format exceeds the VARCHAR
    limit of the system" (65,535 bytes). The error is raised at run time, only for a
    value over the limit (the concatenation keeps PostgreSQL from folding it early)."""
    text = f"COALESCE(CAST({value} AS TEXT), 'null')"
    too_long = (
        f"CAST('JSON_SERIALIZE: the JSON text exceeds the VARCHAR limit of {MAX_SUPER_STRING_BYTES} bytes "
        f"(Redshift refuses this: {JSON_SERIALIZE_PAGE})' || LEFT({text}, 0) AS INTEGER)"
    )
    return f"(CASE WHEN OCTET_LENGTH({text}) <= {MAX_SUPER_STRING_BYTES} THEN {text} ELSE CAST({too_long} AS TEXT) END)"


def json_size(value: str) -> str:
    """PostgreSQL for ``JSON_SIZE(<SUPER value>)``: the bytes of the serialized value. PostgreSQL
    writes JSONB with a space after ':' and ',', so this over-counts slightly: the emulator
    calls a value too long a little earlier than Redshift would, never later."""
    return f"OCTET_LENGTH(CAST({value} AS TEXT))"


def ignores_trailing_spaces(sql: str) -> str:
    """PostgreSQL for a character value as Redshift compares it: trailing spaces dropped.

    Redshift: "Trailing spaces in VARCHAR and CHAR values are treated as semantically
    insignificant when values are compared." PostgreSQL's VARCHAR keeps them, so the
    translator wraps both sides of a comparison (and a window partition) in this.
    """
    return f"RTRIM({sql}, ' ')"


_TIMESTAMP_AUTO: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,6})?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
)


def timestamp_auto(value: str) -> str | None:
    """The TIMESTAMP text COPY's TIMEFORMAT 'auto' loads from ``value``, or None.

    "Time zone values in input strings are ignored" for TIMESTAMP: ``10:00:00+02:00``
    loads as 10:00:00, not 08:00:00. Producers must therefore write UTC (the envelope does).
    """
    match = _TIMESTAMP_AUTO.fullmatch(value)
    if match is None:
        return None
    return f"{match.group(1)}T{match.group(2)}{match.group(3) or ''}"


def super_string_fits(value: str, *, large_strings: bool = False) -> bool:
    """Whether a string can be stored in SUPER: 65,535 bytes unless enable_large_strings_opt_in."""
    return large_strings or len(value.encode("utf-8")) <= MAX_SUPER_STRING_BYTES


_BIGINT: Final = range(-(2**63), 2**63)
_INTEGER_TOKEN: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")


def super_number(token: str) -> str:
    """The JSON text of a number as the emulator's SUPER keeps it (worst plausible case).

    Redshift does not document how SUPER stores a JSON number beyond "smallint, integer,
    bigint, decimal, or floating point". The emulator assumes the least faithful store:
    an integer token in the BIGINT range is kept; any other number becomes float8, so
    ``1.50`` reads back as ``1.5``, ``1E+125`` as ``1e+125`` and a 38-digit integer
    rounded to 17 significant digits.
    """
    if _INTEGER_TOKEN.fullmatch(token) and int(token) in _BIGINT:
        return token
    number = float(token)
    if math.isinf(number):  # beyond float8: Redshift would have to refuse or change it
        raise ValueError(f"the number {token} does not fit a SUPER number")
    return json.dumps(number)
