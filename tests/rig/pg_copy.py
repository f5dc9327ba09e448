"""Run a Redshift load transaction on PostgreSQL, executing its COPY for real.

PostgreSQL cannot run Redshift's ``COPY ... FROM 's3://…' MANIFEST``. This adapter runs a
list of statements in ONE PostgreSQL transaction and performs every COPY itself: it reads
the manifest and each object through the boto3 S3 client it was given (moto in tests),
gunzips, parses the JSON objects and inserts them into the named table, the way
Redshift's ``FORMAT AS JSON 'auto'`` would. It is strict on purpose:

* only ``IAM_ROLE '<arn>'``, ``FORMAT [AS] JSON 'auto'``, ``GZIP``, ``MANIFEST`` and
  ``TIMEFORMAT [AS] 'auto'`` are understood; any other option, a column list, a missing
  MANIFEST/GZIP or a second FROM is an error, never silently ignored;
* a mandatory manifest entry whose object is missing, bad gzip, invalid UTF-8, invalid
  JSON (NaN, duplicate keys, a top-level array), an object over Redshift's 4 MB row
  limit, a missing NOT NULL field, or a value that does not fit its column fails the
  whole COPY, and with it the transaction. :class:`CopyError` names the file, the line
  and the column, like a row of ``STL_LOAD_ERRORS``.

JSON ``'auto'`` maps an object key to the column of exactly that name (Redshift's
``'auto ignorecase'`` is the case-insensitive variant); unmatched keys are ignored and
absent keys load NULL. Values are converted only where the conversion is unambiguous:
JSON strings into CHAR/VARCHAR (length counted in UTF-8 bytes, as Redshift does) and
TIMESTAMP, integers into integer columns, numbers into DECIMAL, booleans into BOOLEAN,
anything into SUPER (stored as JSONB, numbers kept digit for digit). Everything else is
an error: a false failure here surfaces in a test, a false success would hide a bug.

The sandbox's Redshift Data API emulator reuses :class:`StrictCopyExecutor` as is.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from botocore.exceptions import ClientError
from psycopg2 import sql as pgsql

from tests.sandbox import redshift_rules as rules

MAX_ROW_BYTES: Final = 4 * 1024 * 1024  # Redshift's limit for one input row


class CopyError(Exception):
    """A COPY that Redshift would refuse or abort, with where it happened."""

    def __init__(
        self, reason: str, *, url: str | None = None, line: int | None = None, column: str | None = None
    ):
        self.reason, self.url, self.line, self.column = reason, url, line, column
        where = ", ".join(
            part
            for part in (
                url,
                f"line {line}" if line is not None else None,
                f"column {column}" if column is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {reason}" if where else reason)


# ---------------------------------------------------------------------------
# Parsing the COPY statement
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyCommand:
    schema: str | None
    table: str
    source: str  # the manifest URL
    iam_role: str
    timeformat_auto: bool


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<quoted>"(?:[^"]|"")*")
      | (?P<string>'(?:[^'\\]|'')*')
      | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
      | (?P<number>[0-9]+)
      | (?P<punct>[.;(),])
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_COPY_START = re.compile(r"\s*COPY\b", re.IGNORECASE)
_ONE_ROLE = r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=.@_/-]+"
_ROLE_ARN = re.compile(f"{_ONE_ROLE}(?:,{_ONE_ROLE})*")


def is_copy(statement: str) -> bool:
    return bool(_COPY_START.match(statement))


def _tokens(statement: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    statement = statement.rstrip()
    while position < len(statement):
        match = _TOKEN.match(statement, position)
        if match is None:  # only trailing whitespace is left
            break
        kind = match.lastgroup or "bad"
        value = match.group(kind)
        if kind == "bad":
            # A quote only fails to start a literal when a backslash follows inside it:
            # Redshift reads backslash escapes there, so the two databases would differ.
            hint = " (a backslash in a string literal is not supported)" if value == "'" else ""
            raise CopyError(f"unexpected {value!r} in COPY{hint}")
        tokens.append((kind, value))
        position = match.end()
    if tokens and tokens[-1] == ("punct", ";"):
        tokens.pop()
    return tokens


def parse_copy(statement: str) -> CopyCommand:
    """Parse the one COPY form the loader emits; refuse everything else."""
    tokens = _tokens(statement)
    position = 0

    def take() -> tuple[str, str]:
        nonlocal position
        if position >= len(tokens):
            raise CopyError("COPY statement ends too early")
        token = tokens[position]
        position += 1
        return token

    def word() -> str:
        kind, value = take()
        if kind != "word":
            raise CopyError(f"expected a keyword in COPY, found {value!r}")
        return value.upper()

    def string() -> str:
        kind, value = take()
        if kind != "string":
            raise CopyError(f"expected a string literal in COPY, found {value!r}")
        return value[1:-1].replace("''", "'")

    def name() -> str:
        kind, value = take()
        if kind == "quoted":
            return value[1:-1].replace('""', '"')
        if kind == "word":
            return value.lower()
        raise CopyError(f"expected a table name in COPY, found {value!r}")

    if word() != "COPY":
        raise CopyError("not a COPY statement")
    first = name()
    schema, table = None, first
    if position < len(tokens) and tokens[position] == ("punct", "."):
        position += 1
        schema, table = first, name()
    if position < len(tokens) and tokens[position] == ("punct", "("):
        raise CopyError("COPY column lists are not supported by the strict adapter")
    if word() != "FROM":
        raise CopyError("only COPY ... FROM is supported")
    source = string()

    seen: set[str] = set()
    iam_role = ""
    timeformat_auto = False
    while position < len(tokens):
        option = word()
        if option in seen:
            raise CopyError(f"COPY option {option} given twice")
        seen.add(option)
        if option == "IAM_ROLE":
            iam_role = string()
            if not _ROLE_ARN.fullmatch(iam_role):
                raise CopyError(f"IAM_ROLE {iam_role!r} is not a role ARN")
        elif option == "FORMAT":
            following = word()
            if following == "AS":
                following = word()
            if following != "JSON":
                raise CopyError(f"FORMAT {following} is not supported (only FORMAT AS JSON 'auto')")
            argument = string()
            if argument != "auto":
                raise CopyError(f"JSON {argument!r} is not supported (only 'auto')")
        elif option == "TIMEFORMAT":
            if (
                position < len(tokens)
                and tokens[position][0] == "word"
                and tokens[position][1].upper() == "AS"
            ):
                position += 1
            argument = string()
            if argument != "auto":
                raise CopyError(f"TIMEFORMAT {argument!r} is not supported (only 'auto')")
            timeformat_auto = True
        elif option not in ("GZIP", "MANIFEST"):
            raise CopyError(f"COPY option {option} is not supported by the strict adapter")
    for required in ("IAM_ROLE", "FORMAT", "GZIP", "MANIFEST"):
        if required not in seen:
            raise CopyError(f"COPY without {required} is not supported by the strict adapter")
    return CopyCommand(schema, table, source, iam_role, timeformat_auto)


# ---------------------------------------------------------------------------
# Reading the data
# ---------------------------------------------------------------------------

_S3_URL = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+)")


def _split_url(url: str) -> tuple[str, str]:
    match = _S3_URL.fullmatch(url)
    if not match:
        raise CopyError(f"{url!r} is not an s3://bucket/key URL")
    return match.group(1), match.group(2)


def _get_object(s3: Any, url: str) -> bytes | None:
    bucket, key = _split_url(url)
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def _read_manifest(s3: Any, url: str) -> list[tuple[str, bool]]:
    body = _get_object(s3, url)
    if body is None:
        raise CopyError("the manifest does not exist", url=url)
    try:
        manifest = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CopyError(f"the manifest is not valid JSON: {exc}", url=url) from None
    entries = manifest.get("entries") if isinstance(manifest, dict) else None
    if not isinstance(entries, list) or not entries:
        raise CopyError('the manifest needs a non-empty "entries" list', url=url)
    files = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) - {"url", "mandatory", "meta"}:
            raise CopyError(f"manifest entry {index} must hold only url, mandatory and meta", url=url)
        file_url = entry.get("url")
        mandatory = entry.get("mandatory", False)  # Redshift's default
        if not isinstance(file_url, str) or not isinstance(mandatory, bool):
            raise CopyError(f"manifest entry {index} needs a string url and a boolean mandatory", url=url)
        _split_url(file_url)
        files.append((file_url, mandatory))
    return files


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate attribute {key!r}")
        result[key] = value
    return result


# Numbers with a fraction or exponent stay text, marked by a leading NUL, instead of
# becoming float (lossy) or Decimal (which the C encoder cannot write back). Real strings
# never hold NUL: _objects refuses rows with an escaped NUL before parsing, because
# neither database stores it. Integers parse exactly as int.
_NUMBER_MARK: Final = "\x00"
_DECODER = json.JSONDecoder(
    parse_float=lambda token: _NUMBER_MARK + token,
    parse_constant=_reject_constant,
    object_pairs_hook=_unique_keys,
)
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_MARKED_NUMBER = re.compile(r'"\\u0000([^"]*)"')
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _objects(text: str, url: str) -> list[tuple[int, dict[str, Any]]]:
    """Every top-level JSON object with its line number; objects may span lines."""
    found = []
    line, counted_to = 1, 0
    position = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    while position < len(text):
        line += text.count("\n", counted_to, position)  # incrementally: files hold many rows
        counted_to = position
        try:
            value, end = _DECODER.raw_decode(text, position)
        except ValueError as exc:
            raise CopyError(f"invalid JSON: {exc}", url=url, line=line) from None
        if end - position > MAX_ROW_BYTES:
            raise CopyError("the JSON object is larger than 4 MB", url=url, line=line)
        if "u0000" in text[position:end] and _ESCAPED_NUL.search(text, position, end):
            raise CopyError("a string holds a NUL character, which cannot be stored", url=url, line=line)
        if not isinstance(value, dict):
            raise CopyError("JSON 'auto' needs an object per row", url=url, line=line)
        found.append((line, value))
        position = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
    return found


# ---------------------------------------------------------------------------
# Converting values to the table's column types
# ---------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | str)
        and not isinstance(value, bool)
        and (not isinstance(value, str) or value.startswith(_NUMBER_MARK))
    )


def _json_text(value: Any) -> str:
    """Serialize a parsed value back to JSON, every number exactly as it was written."""
    return _MARKED_NUMBER.sub(_unmark, json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _unmark(match: re.Match[str]) -> str:
    return match[1]


def _super_value(value: Any) -> Any:
    """A parsed JSON value as Redshift's SUPER keeps it (tests.sandbox.redshift_rules):
    numbers through :func:`super_number` (the worst plausible store), and strings only
    up to SUPER's 65,535 bytes (without enable_large_strings_opt_in)."""
    if isinstance(value, str):
        if value.startswith(_NUMBER_MARK):
            return _NUMBER_MARK + rules.super_number(value[1:])
        if not rules.super_string_fits(value):
            raise ValueError(
                f"a string of {len(value.encode('utf-8'))} bytes is over SUPER's "
                f"{rules.MAX_SUPER_STRING_BYTES} bytes (enable_large_strings_opt_in is not set)"
            )
        return value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        token = str(value)
        kept = rules.super_number(token)
        return value if kept == token else _NUMBER_MARK + kept
    if isinstance(value, dict):
        return {name: _super_value(item) for name, item in value.items()}
    return [_super_value(item) for item in value]


def _super_text(value: Any) -> str:
    return _json_text(_super_value(value))


_INTEGER_RANGES: Final = {"smallint": 15, "integer": 31, "bigint": 63}
_DEFAULT_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})")


Converter = Callable[[Any], Any]


def _kind(value: Any) -> str:
    """The JSON type of a parsed value, for error messages."""
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    return {str: "a string", dict: "an object", list: "an array"}.get(type(value), type(value).__name__)


def _converter(pg_type: str, timeformat_auto: bool) -> Converter:
    """The conversion for one column; raises ValueError with a reason for a bad value."""
    if pg_type == "jsonb":
        return _super_text
    if pg_type in _INTEGER_RANGES:
        bits = _INTEGER_RANGES[pg_type]

        def to_integer(value: Any) -> int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{_kind(value)} is not an integer")
            if not -(2**bits) <= value < 2**bits:
                raise ValueError(f"{value} overflows {pg_type}")
            return value

        return to_integer
    numeric = re.fullmatch(r"numeric\((\d+),(\d+)\)", pg_type)
    if numeric:
        precision, scale = int(numeric.group(1)), int(numeric.group(2))

        def to_decimal(value: Any) -> Decimal:
            if not _is_number(value):
                raise ValueError(f"{_kind(value)} is not a number")
            # Rounded half away from zero, as both databases store it; PostgreSQL does
            # the rounding, this only checks that the result fits.
            exact = Decimal(value[1:] if isinstance(value, str) else value)
            rounded = exact.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
            if rounded and rounded.adjusted() >= precision - scale:
                raise ValueError(f"{value} overflows {pg_type}")
            return exact

        return to_decimal
    if pg_type == "boolean":

        def to_boolean(value: Any) -> bool:
            if not isinstance(value, bool):
                raise ValueError(f"{_kind(value)} is not a boolean")
            return value

        return to_boolean
    character = re.fullmatch(r"(character varying|character)\((\d+)\)", pg_type)
    if character:
        limit = int(character.group(2))

        def to_text(value: Any) -> str:
            if not isinstance(value, str) or _is_number(value):
                raise ValueError(f"{_kind(value)} is not a string")
            size = len(value.encode("utf-8"))
            if size > limit:
                raise ValueError(f"string length {size} bytes exceeds the DDL length {limit}")
            return value

        return to_text
    if pg_type == "timestamp without time zone":

        def to_timestamp(value: Any) -> datetime:
            text = None
            if isinstance(value, str) and not _is_number(value):
                if timeformat_auto:
                    # Redshift ignores a time zone offset for TIMESTAMP (rule timestamp_auto).
                    text = rules.timestamp_auto(value)
                else:
                    match = _DEFAULT_TIMESTAMP.fullmatch(value)
                    text = f"{match.group(1)}T{match.group(2)}" if match else None
            if text is None:
                raise ValueError(f"{value!r} is not a timestamp this TIMEFORMAT accepts")
            # fromisoformat is exact and fast; the rule above already fixed the form.
            return datetime.fromisoformat(text)

        return to_timestamp
    raise CopyError(f"the strict adapter cannot load a {pg_type} column")


def _csv_field(value: Any) -> str:
    if value is None:
        return ""  # unquoted empty: NULL in PostgreSQL's CSV format
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return '"' + str(value).replace('"', '""') + '"'


# ---------------------------------------------------------------------------
# The executor
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementResult:
    statement: str
    rowcount: int
    columns: tuple[str, ...] | None  # None for statements that return no rows
    rows: list[tuple[Any, ...]] | None
    elapsed_s: float


StatementHook = Callable[[int, str], None]


class StrictCopyExecutor:
    """Runs statement lists as single transactions on one psycopg2 connection.

    ``after_statement(index, statement)`` runs after each statement succeeded and
    before the next one starts (fault injection, tracing). An exception from any
    statement or hook rolls the transaction back and propagates; nothing is committed
    unless every statement succeeded.
    """

    def __init__(self, connection: Any, s3_client: Any, *, after_statement: StatementHook | None = None):
        if connection.autocommit:
            raise ValueError("the connection must not be in autocommit mode: a load is one transaction")
        self.connection = connection
        self.s3 = s3_client
        self.after_statement = after_statement

    def run_transaction(self, statements: Sequence[str]) -> list[StatementResult]:
        results: list[StatementResult] = []
        try:
            with self.connection.cursor() as cursor:
                for index, statement in enumerate(statements):
                    started = time.perf_counter()
                    if is_copy(statement):
                        count = self.copy(cursor, parse_copy(statement))
                        results.append(
                            StatementResult(statement, count, None, None, time.perf_counter() - started)
                        )
                    else:
                        cursor.execute(statement)
                        columns = tuple(d[0] for d in cursor.description) if cursor.description else None
                        rows = cursor.fetchall() if columns is not None else None
                        results.append(
                            StatementResult(
                                statement, cursor.rowcount, columns, rows, time.perf_counter() - started
                            )
                        )
                    if self.after_statement is not None:
                        self.after_statement(index, statement)
            self.connection.commit()
        except BaseException:
            self._rollback()
            raise
        return results

    def _rollback(self) -> None:
        # If the connection is gone, the server has rolled the transaction back itself.
        with contextlib.suppress(Exception):
            self.connection.rollback()

    def _table_columns(self, cursor: Any, command: CopyCommand) -> list[tuple[str, str, bool]]:
        relation = pgsql.Identifier(*(part for part in (command.schema, command.table) if part)).as_string(
            cursor
        )
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (relation,),
        )
        return [(str(name), str(kind), bool(not_null)) for name, kind, not_null in cursor.fetchall()]

    def copy(self, cursor: Any, command: CopyCommand) -> int:
        """One COPY on ``cursor``, inside the caller's transaction (also the sandbox Data API's COPY step).
        Returns the rows loaded; raises :class:`CopyError` naming the file and line."""
        columns = self._table_columns(cursor, command)
        converters = [_converter(kind, command.timeformat_auto) for _name, kind, _nn in columns]
        # Rows go in as PostgreSQL CSV (fields quoted by _csv_field): one COPY FROM STDIN
        # per file set is far faster than row-by-row inserts.
        buffer = io.StringIO()
        count = 0
        for url, mandatory in _read_manifest(self.s3, command.source):
            body = _get_object(self.s3, url)
            if body is None:
                if mandatory:
                    raise CopyError("the object does not exist (mandatory manifest entry)", url=url)
                continue
            try:
                raw = gzip.decompress(body)
            except (OSError, EOFError, zlib.error) as exc:
                raise CopyError(f"not a valid gzip file: {exc}", url=url) from None
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw.count(b"\n", 0, exc.start) + 1
                raise CopyError("invalid UTF-8", url=url, line=line) from None
            for line, obj in _objects(text, url):
                fields = []
                for (name, _kind, not_null), convert in zip(columns, converters, strict=True):
                    value = obj.get(name)
                    if value is None:
                        if not_null:
                            raise CopyError(
                                "missing data for a NOT NULL column", url=url, line=line, column=name
                            )
                        fields.append("")
                        continue
                    try:
                        fields.append(_csv_field(convert(value)))
                    except ValueError as exc:
                        raise CopyError(str(exc), url=url, line=line, column=name) from None
                buffer.write(",".join(fields) + "\n")
                count += 1
        buffer.seek(0)
        relation = pgsql.Identifier(*(part for part in (command.schema, command.table) if part))
        column_list = pgsql.SQL(", ").join(pgsql.Identifier(name) for name, _kind, _nn in columns)
        copy_sql = pgsql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(relation, column_list)
        cursor.copy_expert(copy_sql.as_string(cursor), buffer)
        return count
