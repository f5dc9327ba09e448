"""The one SQL renderer: DDL, the load transaction and ledger queries, in two dialects.

``redshift`` is production. ``postgresql`` is the local stand-in used by the tests, the
benchmark and the sandbox; it differs only where PostgreSQL cannot run the Redshift text:

======================  =====================================  ==========================================
concern                 redshift                               postgresql
======================  =====================================  ==========================================
documents               SUPER                                  JSONB
distribution / keys     DISTKEY/SORTKEY on ``_cdc_key``        PRIMARY KEY (uniqueness is enforced, so a
                        (Redshift enforces no keys)            double insert fails the tests loudly)
serialising loads       ``LOCK t, [history,] ledger``          ``LOCK TABLE ... IN EXCLUSIVE MODE``
                        (ACCESS EXCLUSIVE: readers wait too)   (readers are not blocked)
JSON attribute access   ``s."image"."a"."b"`` navigation,      ``s."image" #> ARRAY['a','b']`` then a
                        ``CAST(... AS type)``; lax mode turns  cast guarded by the JSON type and
                        a missing path, a value of another     ``pg_input_is_valid``, so all give NULL
                        JSON type or a bad cast into NULL      the same way
mixed-case attributes   ``SET enable_case_sensitive_identifier  JSONB keys are always case-sensitive
                        TO true`` first, or ``"userId"`` would
                        be read as ``userid``
transaction clock       SYSDATE (start of the transaction)     CURRENT_TIMESTAMP AT TIME ZONE 'UTC'
COPY                    the same Redshift text in both; the test rig's strict adapter runs it on PostgreSQL
======================  =====================================  ==========================================

The load is one transaction (see :func:`render_load`). Its MERGE has the only shape
Redshift accepts: a table source, one unconditional WHEN MATCHED UPDATE and one WHEN NOT
MATCHED INSERT. The "only if newer" rule therefore cannot be a MERGE condition; it is a
DELETE from the source table before the MERGE. The MERGE reads whole columns only
(Redshift refuses partial SUPER references in MERGE): keys and declared columns are
navigated and cast into ``cdc_latest``, a temporary table shaped like the target.

Ordering: a change is newer than another when its ``seq`` is higher, or when the ``seq``
is equal and its ``approx_created_at`` is later. Stream changes never share a ``seq``, so
the second part only decides between backfill snapshots (all ``seq`` 0), where the later
scan wins whatever order the files are loaded in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from ddb_cdc import layout
from ddb_cdc.warehouse.identifiers import (
    CHARACTER_KINDS,
    DIALECTS,
    MAX_VARCHAR,
    NUMERIC_KINDS,
    ColumnType,
    ConfigError,
    Dialect,
    literal,
    quote,
    text,
)
from ddb_cdc.warehouse.model import (
    DOCUMENT_COLUMN,
    EXACT_NUMBERS_COLUMN,
    EXACT_TYPES_COLUMN,
    UNFIT_COLUMN,
    ColumnSpec,
    KeyAttribute,
    TargetSpec,
)

STAGING_TABLE: Final = "cdc_stage"
LATEST_TABLE: Final = "cdc_latest"
# The file keys a compacted load records besides its own files (the raw files the
# compacted ones were made of), COPYed from a list in S3: an hour can have more of them
# than literal lists in 40 statements of 100 KB could carry.
LEDGER_FILES_TABLE: Final = "cdc_ledger_files"

# The Redshift Data API's BatchExecuteStatement takes at most 40 statements (its API
# model), and documents a 100 KB limit per statement. Literal lists (ledger inserts,
# ledger look-ups) are cut into statements well under that.
MAX_STATEMENTS: Final = 40
MAX_STATEMENT_BYTES: Final = 100_000  # "100 KB", read strictly
MAX_LIST_CHARS: Final = 60_000
MAX_FILE_KEY: Final = 1024  # S3's key limit, in bytes; keys from the layout are ASCII

# _cdc_key holds the canonical key string. Its worst case (a 2048-byte partition key and
# a 1024-byte sort key made only of control characters, each escaped as \u00XX, plus
# two 255-byte names escaped the same way) is about 22 KB; VARCHAR(65535) is Redshift's
# maximum and leaves no case that fails a load.
KEY_STRING_TYPE: Final = "VARCHAR(65535)"
SEQ_TYPE: Final = "CHAR(40)"
LOAD_ID_TYPE: Final = "VARCHAR(64)"


@dataclass(frozen=True, slots=True)
class _StagingColumn:
    name: str
    redshift: str
    postgresql: str
    not_null: bool


# Named exactly like the envelope's keys (ddb_cdc.envelope), because COPY's JSON 'auto'
# matches object keys to column names. NOT NULL makes COPY itself reject an envelope
# without its identity or ordering fields, with the file and line in the load errors.
ENVELOPE_COLUMNS: Final = (
    _StagingColumn("envelope_version", "SMALLINT", "SMALLINT", True),
    _StagingColumn("op", "VARCHAR(16)", "VARCHAR(16)", True),
    _StagingColumn("source_table", "VARCHAR(255)", "VARCHAR(255)", False),
    _StagingColumn("event_id", "VARCHAR(256)", "VARCHAR(256)", False),
    _StagingColumn("seq", SEQ_TYPE, SEQ_TYPE, True),
    _StagingColumn("approx_created_at", "TIMESTAMP", "TIMESTAMP", True),
    _StagingColumn("keys", "SUPER", "JSONB", True),
    _StagingColumn("key_string", KEY_STRING_TYPE, KEY_STRING_TYPE, True),
    _StagingColumn("image", "SUPER", "JSONB", False),
    # The exact text of every number of the image that SUPER might alter, and the DynamoDB
    # types plain JSON cannot tell (B, sets, strings stored in pieces): envelope.py.
    _StagingColumn("exact_numbers", "SUPER", "JSONB", False),
    _StagingColumn("exact_types", "SUPER", "JSONB", False),
)


def _check_dialect(dialect: str) -> Dialect:
    if dialect not in DIALECTS:
        raise ConfigError(f"dialect {dialect!r} must be one of {', '.join(DIALECTS)}")
    return dialect  # type: ignore[return-value]


def _table(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def _now(dialect: Dialect) -> str:
    # One value for the whole transaction, so the target rows and the ledger agree.
    return "SYSDATE" if dialect == "redshift" else "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')"


# ---------------------------------------------------------------------------
# Target columns and the expressions that fill them
# ---------------------------------------------------------------------------

Expression = Callable[[str], str]  # source alias (quoted) -> SQL expression


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    sql_type: str
    not_null: bool
    value: Expression
    # Columns that identify the row never change once it exists, so the MERGE's UPDATE
    # leaves them alone (Redshift's MERGE joins on _cdc_key itself).
    is_key: bool = False


def _pg_scalar_cast(text_expr: str, column_type: ColumnType) -> str:
    target = column_type.render("postgresql")
    if column_type.kind in CHARACTER_KINDS:
        # Every text is valid input; an explicit cast shortens an over-long value.
        return f"CAST({text_expr} AS {target})"
    # Redshift's default lax mode turns a failed SUPER cast into NULL; so does this.
    return (
        f"CASE WHEN pg_input_is_valid({text_expr}, {literal(target)}) THEN CAST({text_expr} AS {target}) END"
    )


def _pg_path(path: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join(literal(segment) for segment in path) + "]"


def _key_value(spec: TargetSpec, key: KeyAttribute, dialect: Dialect) -> Expression:
    column_type = spec.key_type(key)

    def render(alias: str) -> str:
        if dialect == "redshift":
            source = f'{alias}."keys".{quote(key.name)}'
            if key.dynamo_type == "N" and column_type.kind in CHARACTER_KINDS:
                # A SUPER number has no VARCHAR cast; its JSON text is the number.
                source = f"JSON_SERIALIZE({source})"
            return f"CAST({source} AS {column_type.render(dialect)})"
        return _pg_scalar_cast(f'({alias}."keys" ->> {literal(key.name)})', column_type)

    return render


def _image_value(column: ColumnSpec, dialect: Dialect) -> Expression:
    """A declared column's value from the image.

    Character columns take a string as it is and any other JSON value as its JSON text
    (a number, a boolean, an object), instead of the NULL a lax cast would give. Other
    types follow Redshift's lax cast: a value of another JSON type, or one the type
    cannot hold, is NULL, and :func:`_unfit` names the column in ``_cdc_unfit``.
    """

    def render(alias: str) -> str:
        value = _image_path(column, dialect, alias)
        if column.type.kind == "SUPER":
            return value
        target = column.type.render(dialect)
        if column.type.kind in CHARACTER_KINDS:
            return f"CAST({_image_text(value, dialect)} AS {target})"
        if dialect == "redshift":
            return f"CAST({value} AS {target})"
        return _pg_lax_cast(value, column.type)

    return render


def _image_path(column: ColumnSpec, dialect: Dialect, alias: str) -> str:
    if dialect == "redshift":
        return f'{alias}."image".' + ".".join(quote(segment) for segment in column.path)
    return f'({alias}."image" #> {_pg_path(column.path)})'


def _image_text(value: str, dialect: Dialect) -> str:
    """The whole text of a JSON value: a string's own text, any other value's JSON.

    NULL for a missing path (JSON_SERIALIZE would give the text 'null') and for JSON
    text over VARCHAR's 65,535 bytes (JSON_SERIALIZE "returns an error when the JSON
    format exceeds the VARCHAR limit", which would fail every load of the file).
    """
    if dialect == "redshift":
        return (
            f"(CASE WHEN {value} IS NULL THEN NULL "
            f"WHEN IS_VARCHAR({value}) THEN CAST({value} AS VARCHAR({MAX_VARCHAR})) "
            f"WHEN JSON_SIZE({value}) <= {MAX_VARCHAR} THEN JSON_SERIALIZE({value}) END)"
        )
    return (
        f"(CASE WHEN jsonb_typeof({value}) = 'string' THEN {value} #>> '{{}}' "
        f"WHEN OCTET_LENGTH(CAST({value} AS TEXT)) <= {MAX_VARCHAR} THEN CAST({value} AS TEXT) END)"
    )


def _unfit(spec: TargetSpec, dialect: Dialect) -> Expression:
    """``_cdc_unfit``: the declared columns whose value the image holds but the column
    could not take whole (NULL after the cast, longer than a character column, or a
    number rounded to a DECIMAL's scale), as ``name,name,``; NULL when every value fit.
    A JSON null counts as a value here."""

    def render(alias: str) -> str:
        checks = []
        for column in spec.columns:
            if column.type.kind == "SUPER":
                continue
            value = _image_path(column, dialect, alias)
            cast = _image_value(column, dialect)(alias)
            lost = f"{cast} IS NULL"
            if column.type.kind in CHARACTER_KINDS:
                lost += f" OR OCTET_LENGTH({_image_text(value, dialect)}) > {column.type.size}"
            elif column.type.kind == "DECIMAL":
                # Rounded to the declared scale (1.005 in DECIMAL(12,2) is 1.01): compared
                # as DOUBLE PRECISION, where equal decimals are equal and a rounding at a
                # digit float8 still holds shows.
                double = ColumnType("DOUBLE PRECISION")
                unrounded = (
                    f"CAST({value} AS DOUBLE PRECISION)"
                    if dialect == "redshift"
                    else _pg_lax_cast(value, double)
                )
                lost += f" OR {unrounded} <> CAST({cast} AS DOUBLE PRECISION)"
            checks.append(
                f"CASE WHEN {value} IS NOT NULL AND ({lost}) THEN {literal(column.name + ',')} ELSE '' END"
            )
        if not checks:
            return "CAST(NULL AS VARCHAR(65535))"
        return f"CAST(NULLIF({' || '.join(checks)}, '') AS VARCHAR({MAX_VARCHAR}))"

    return render


def _pg_lax_cast(value: str, column_type: ColumnType) -> str:
    """Redshift's lax SUPER cast, for a JSONB value: the dynamic type must fit the target
    ("Casting a SUPER value to the wrong type returns null instead of an error"; an object
    or array cast to a string is NULL; a number becomes BOOLEAN only at scale 0), and a
    value the type cannot hold is NULL too."""
    text_value = f"({value} #>> '{{}}')"
    kind = column_type.kind
    if kind in CHARACTER_KINDS:
        json_type = "'string'"
    elif kind == "BOOLEAN":
        return (
            f"(CASE WHEN jsonb_typeof({value}) = 'boolean' THEN CAST({text_value} AS BOOLEAN) "
            f"WHEN jsonb_typeof({value}) = 'number' AND {text_value} ~ '^-?[0-9]+$' "
            f"THEN CAST({text_value} AS NUMERIC) <> 0 END)"
        )
    elif kind in NUMERIC_KINDS:
        json_type = "'number'"
    else:  # DATE, TIMESTAMP, TIMESTAMPTZ: from a string
        json_type = "'string'"
    return (
        f"(CASE WHEN jsonb_typeof({value}) = {json_type} THEN {_pg_scalar_cast(text_value, column_type)} END)"
    )


def _columns(spec: TargetSpec, dialect: Dialect, load_id_literal: str = "NULL") -> list[_Column]:
    """Target (and history) columns in table order, each with its value from a change row."""
    columns = [
        _Column(key.column, spec.key_type(key).render(dialect), False, _key_value(spec, key, dialect), True)
        for key in spec.keys
    ]
    document_type = "SUPER" if dialect == "redshift" else "JSONB"
    if spec.mode == "document":
        columns.append(_Column(DOCUMENT_COLUMN, document_type, False, lambda a: f'{a}."image"'))
    else:
        columns.extend(
            _Column(column.name, column.type.render(dialect), False, _image_value(column, dialect))
            for column in spec.columns
        )
    now = _now(dialect)
    columns += [
        _Column("_cdc_key", KEY_STRING_TYPE, True, lambda a: f'{a}."key_string"', True),
        _Column("_cdc_seq", SEQ_TYPE, True, lambda a: f'{a}."seq"'),
        _Column("_cdc_op", "VARCHAR(16)", True, lambda a: f'{a}."op"'),
        _Column(
            "_cdc_deleted",
            "BOOLEAN",
            True,
            lambda a: f"CASE WHEN {a}.\"op\" = 'REMOVE' THEN TRUE ELSE FALSE END",
        ),
        _Column("_cdc_source_ts", "TIMESTAMP", True, lambda a: f'{a}."approx_created_at"'),
        _Column("_cdc_loaded_at", "TIMESTAMP", True, lambda _a: now),
        _Column("_cdc_load_id", LOAD_ID_TYPE, True, lambda _a: load_id_literal),
        # Redshift does not document what SUPER keeps of a 38-digit integer, 1E+125 or
        # 1.50; the envelope's mirror of their exact text travels with the row, so no
        # number is ever changed without its original beside it.
        _Column(EXACT_NUMBERS_COLUMN, document_type, False, lambda a: f'{a}."exact_numbers"'),
        # With the document and the numbers, enough to rebuild the exact DynamoDB item
        # (ddb_cdc.envelope.rebuild_item): B versus S, sets versus lists, NUL and long strings.
        _Column(EXACT_TYPES_COLUMN, document_type, False, lambda a: f'{a}."exact_types"'),
    ]
    if spec.mode == "columns":
        columns.append(_Column(UNFIT_COLUMN, f"VARCHAR({MAX_VARCHAR})", False, _unfit(spec, dialect)))
    return columns


def target_column_names(spec: TargetSpec) -> list[str]:
    """The target's columns in table order (the history table has the same ones)."""
    return [column.name for column in _columns(spec, "postgresql")]


def _column_definitions(columns: Iterable[_Column]) -> str:
    return ", ".join(
        f"{quote(column.name)} {column.sql_type}" + (" NOT NULL" if column.not_null else "")
        for column in columns
    )


# ---------------------------------------------------------------------------
# DDL
# ---------------------------------------------------------------------------


def render_ddl(spec: TargetSpec, dialect: Dialect) -> list[str]:
    """Create, if missing: the schema, the target, the ledger, the history table (when
    enabled) and the ``<table>_current`` view that hides tombstones.

    Running it again changes nothing. It never alters an existing table: a spec whose
    columns changed needs a migration, which is out of this module's reach.
    """
    dialect = _check_dialect(dialect)
    columns = _columns(spec, dialect)
    target = _table(spec.schema, spec.table)
    ledger = _table(spec.schema, spec.ledger_table)
    statements = [f"CREATE SCHEMA IF NOT EXISTS {quote(spec.schema)}"]

    if dialect == "redshift":
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {target} ({_column_definitions(columns)}) "
            'DISTSTYLE KEY DISTKEY("_cdc_key") SORTKEY("_cdc_key")'
        )
    else:
        statements.append(
            f'CREATE TABLE IF NOT EXISTS {target} ({_column_definitions(columns)}, PRIMARY KEY ("_cdc_key"))'
        )

    ledger_columns = (
        f'"file_key" VARCHAR({MAX_FILE_KEY}) NOT NULL, "target_table" VARCHAR(255) NOT NULL, '
        f'"load_id" {LOAD_ID_TYPE} NOT NULL, "loaded_at" TIMESTAMP NOT NULL'
    )
    if dialect == "redshift":
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {ledger} ({ledger_columns}) "
            'DISTSTYLE KEY DISTKEY("file_key") SORTKEY("target_table", "file_key")'
        )
    else:
        statements.append(
            f'CREATE TABLE IF NOT EXISTS {ledger} ({ledger_columns}, PRIMARY KEY ("target_table", "file_key"))'
        )

    if spec.history:
        history = _table(spec.schema, spec.history_table)
        if dialect == "redshift":
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {history} ({_column_definitions(columns)}) "
                'DISTSTYLE KEY DISTKEY("_cdc_key") SORTKEY("_cdc_key", "_cdc_seq")'
            )
        else:
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {history} ({_column_definitions(columns)}, "
                'PRIMARY KEY ("_cdc_key", "_cdc_seq", "_cdc_source_ts"))'
            )

    visible = ", ".join(quote(column.name) for column in columns if column.name != "_cdc_deleted")
    statements.append(
        f"CREATE OR REPLACE VIEW {_table(spec.schema, spec.current_view)} AS "
        f'SELECT {visible} FROM {target} WHERE NOT "_cdc_deleted"'
    )
    _check_statement_sizes(statements)
    return statements


# ---------------------------------------------------------------------------
# The load transaction
# ---------------------------------------------------------------------------

_IAM_ROLE_ARN = r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}"


def _validate_load_inputs(manifest_url: str, iam_role_arn: str, load_id: str) -> None:
    text(manifest_url, "manifest_url")
    if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^'\s]+", manifest_url):
        raise ConfigError(f"manifest_url {manifest_url!r} must be s3://bucket/key")
    text(iam_role_arn, "iam_role_arn", max_length=4096)
    # Redshift accepts a comma-separated chain of roles for role chaining.
    if not re.fullmatch(f"{_IAM_ROLE_ARN}(?:,{_IAM_ROLE_ARN})*", iam_role_arn):
        raise ConfigError(f"iam_role_arn {iam_role_arn!r} is not an IAM role ARN (or a chain of them)")
    if not isinstance(load_id, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", load_id):
        raise ConfigError(f"load_id {load_id!r} must be 1 to 64 letters, digits, '_', '.' or '-'")


def _file_keys(files: Iterable[str]) -> list[str]:
    if isinstance(files, str):
        raise ConfigError("files must be a list of S3 object keys, not one string")
    unique = list(dict.fromkeys(text(key, "file key", max_length=MAX_FILE_KEY) for key in files))
    if not unique:
        raise ConfigError("a load needs at least one file")
    return unique


def _chunks(values: Sequence[str], render_one: Callable[[str], str], fixed: int) -> list[list[str]]:
    """Split values so that each statement's literal list stays under MAX_LIST_CHARS."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = fixed
    for value in values:
        piece = len(render_one(value)) + 12
        if current and size + piece > MAX_LIST_CHARS:
            chunks.append(current)
            current, size = [], fixed
        current.append(value)
        size += piece
    if current:
        chunks.append(current)
    return chunks


def render_copy(manifest_url: str, iam_role_arn: str, table: str = STAGING_TABLE) -> str:
    """The COPY of a manifest's gzip NDJSON files into a temporary table, identical in both dialects."""
    return (
        f"COPY {quote(table)} FROM {literal(manifest_url)} IAM_ROLE {literal(iam_role_arn)} "
        "FORMAT AS JSON 'auto' GZIP MANIFEST TIMEFORMAT 'auto'"
    )


def render_load(
    spec: TargetSpec,
    dialect: Dialect,
    *,
    manifest_url: str,
    iam_role_arn: str,
    files: Sequence[str],
    load_id: str,
    ledger_manifest_url: str | None = None,
) -> list[str]:
    """The statements of one load, to run in order as ONE transaction.

    ``files`` are the S3 object keys the manifest lists; they are recorded in the
    ledger. ``ledger_manifest_url``, for a load of compacted files, names a manifest of
    gzip NDJSON ``{"file_key": …}`` lines: those keys (the raw files the compacted ones
    were made of) are recorded in the ledger by the same transaction. Steps: (Redshift: case-sensitive SUPER attributes), lock, staging table,
    COPY, the latest change per key resolved into a table shaped like the target, drop
    what is not newer than the target, MERGE, history (optional), ledger, drop the
    temporary tables.

    Every SUPER navigation and cast happens in the INSERT that fills ``cdc_latest``:
    Redshift's MERGE refuses partial references to SUPER columns in its condition and
    expressions ("Partial reference of SUPER column is not supported in MERGE
    statement", MERGE usage notes), so the MERGE itself reads plain columns and whole
    SUPER columns only.
    """
    dialect = _check_dialect(dialect)
    _validate_load_inputs(manifest_url, iam_role_arn, load_id)
    if ledger_manifest_url is not None:
        _validate_load_inputs(ledger_manifest_url, iam_role_arn, load_id)
    file_keys = _file_keys(files)
    load_literal = f"CAST({literal(load_id)} AS {LOAD_ID_TYPE})"
    target_literal = literal(spec.target_name)
    columns = _columns(spec, dialect, load_literal)
    target = _table(spec.schema, spec.table)
    ledger = _table(spec.schema, spec.ledger_table)
    history = _table(spec.schema, spec.history_table) if spec.history else None
    stage, latest = quote(STAGING_TABLE), quote(LATEST_TABLE)
    now = _now(dialect)
    statements: list[str] = []

    # Every table the transaction writes, always in this order (target, history,
    # ledger), so two loads can never wait on each other in a cycle.
    locked = ", ".join(name for name in (target, history, ledger) if name is not None)
    if dialect == "redshift":
        # Without it Redshift folds quoted SUPER attribute names to lower case, and
        # DynamoDB attribute names are case-sensitive. It lasts for the session: the
        # Data API opens one per batch, and every identifier we emit is lower-case.
        statements.append("SET enable_case_sensitive_identifier TO true")
        # ACCESS EXCLUSIVE: a second load of this table waits here until the first
        # commits. The ledger is locked too, because loads of different tables share
        # it and Redshift would otherwise abort one of two concurrent writers
        # (serializable isolation); the history table because the load writes it.
        statements.append(f"LOCK {locked}")
    else:
        statements.append(f"LOCK TABLE {locked} IN EXCLUSIVE MODE")

    staging_columns = ", ".join(
        f"{quote(column.name)} {column.redshift if dialect == 'redshift' else column.postgresql}"
        + (" NOT NULL" if column.not_null else "")
        for column in ENVELOPE_COLUMNS
    )
    stage_distribution = ' DISTKEY("key_string")' if dialect == "redshift" else ""
    statements.append(f"CREATE TEMP TABLE {stage} ({staging_columns}){stage_distribution}")
    statements.append(render_copy(manifest_url, iam_role_arn))

    # The latest change per key, already in the target's shape: keys and declared
    # columns are navigated and cast here, where Redshift allows it.
    latest_distribution = ' DISTKEY("_cdc_key")' if dialect == "redshift" else ""
    statements.append(f"CREATE TEMP TABLE {latest} ({_column_definitions(columns)}){latest_distribution}")
    staged = ", ".join(quote(column.name) for column in ENVELOPE_COLUMNS)
    change = '"s"'
    names = ", ".join(quote(column.name) for column in columns)
    statements.append(
        f"INSERT INTO {latest} ({names}) SELECT {', '.join(column.value(change) for column in columns)} FROM ("
        f'SELECT {staged}, ROW_NUMBER() OVER (PARTITION BY "key_string" '
        f'ORDER BY "seq" DESC, "approx_created_at" DESC) AS "cdc_rank" FROM {stage}'
        f') AS {change} WHERE {change}."cdc_rank" = 1'
    )

    # "Only if newer": a change at or below the stored token is dropped before the
    # MERGE, so replays, older files and snapshots (seq 0) leave the target alone and a
    # tombstone, which keeps the delete's token, is never resurrected.
    bare = quote(spec.table)
    statements.append(
        f"DELETE FROM {latest} USING {target} "
        f'WHERE {bare}."_cdc_key" = {latest}."_cdc_key" AND ('
        f'{bare}."_cdc_seq" > {latest}."_cdc_seq" OR ({bare}."_cdc_seq" = {latest}."_cdc_seq" '
        f'AND {bare}."_cdc_source_ts" >= {latest}."_cdc_source_ts"))'
    )

    # The only MERGE shape Redshift accepts (a table source, one unconditional WHEN
    # MATCHED UPDATE, one WHEN NOT MATCHED INSERT), reading whole columns only. The
    # target is qualified by its bare name, which cannot be cdc_latest (model.py).
    updates = ", ".join(
        f"{quote(column.name)} = {latest}.{quote(column.name)}" for column in columns if not column.is_key
    )
    values = ", ".join(f"{latest}.{quote(column.name)}" for column in columns)
    statements.append(
        f'MERGE INTO {target} USING {latest} ON {bare}."_cdc_key" = {latest}."_cdc_key" '
        f"WHEN MATCHED THEN UPDATE SET {updates} "
        f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})"
    )

    if history is not None:
        # Every distinct change once: duplicates inside this load collapse to one row,
        # and a change some earlier load already recorded is skipped.
        statements.append(
            f"INSERT INTO {history} ({names}) "
            f"SELECT {', '.join(column.value(change) for column in columns)} FROM ("
            f'SELECT {staged}, ROW_NUMBER() OVER (PARTITION BY "key_string", "seq", "approx_created_at" '
            f'ORDER BY "event_id") AS "cdc_rank" FROM {stage}) AS {change} '
            f'WHERE {change}."cdc_rank" = 1 AND NOT EXISTS (SELECT 1 FROM {history} AS "h" '
            f'WHERE "h"."_cdc_key" = {change}."key_string" AND "h"."_cdc_seq" = {change}."seq" '
            f'AND "h"."_cdc_source_ts" = {change}."approx_created_at")'
        )

    # The ledger rows commit with the merge or not at all.
    for chunk in _chunks(file_keys, literal, 400):
        rows = f'SELECT CAST({literal(chunk[0])} AS VARCHAR({MAX_FILE_KEY})) AS "file_key"' + "".join(
            f" UNION ALL SELECT {literal(key)}" for key in chunk[1:]
        )
        statements.append(
            f'INSERT INTO {ledger} ("file_key", "target_table", "load_id", "loaded_at") '
            f'SELECT "f"."file_key", {target_literal}, {load_literal}, {now} FROM ({rows}) AS "f" '
            f'WHERE NOT EXISTS (SELECT 1 FROM {ledger} AS "g" WHERE "g"."target_table" = {target_literal} '
            f'AND "g"."file_key" = "f"."file_key")'
        )

    if ledger_manifest_url is not None:
        listed = quote(LEDGER_FILES_TABLE)
        statements.append(f'CREATE TEMP TABLE {listed} ("file_key" VARCHAR({MAX_FILE_KEY}) NOT NULL)')
        statements.append(render_copy(ledger_manifest_url, iam_role_arn, LEDGER_FILES_TABLE))
        statements.append(
            f'INSERT INTO {ledger} ("file_key", "target_table", "load_id", "loaded_at") '
            f'SELECT "f"."file_key", {target_literal}, {load_literal}, {now} '
            f'FROM (SELECT DISTINCT "file_key" FROM {listed}) AS "f" '
            f'WHERE NOT EXISTS (SELECT 1 FROM {ledger} AS "g" WHERE "g"."target_table" = {target_literal} '
            f'AND "g"."file_key" = "f"."file_key")'
        )
        statements.append(f"DROP TABLE {listed}")

    # Dropped inside the transaction: a session that runs several loads (the psycopg2
    # executor) starts each one clean, and a failed load rolls the CREATEs back anyway.
    statements.append(f"DROP TABLE {latest}")
    statements.append(f"DROP TABLE {stage}")

    if len(statements) > MAX_STATEMENTS:
        raise ConfigError(
            f"this load needs {len(statements)} statements, over the Data API's {MAX_STATEMENTS} per "
            "transaction; load fewer files at once"
        )
    _check_statement_sizes(statements)
    return statements


def _check_statement_sizes(statements: Sequence[str]) -> None:
    for statement in statements:
        size = len(statement.encode("utf-8"))
        if size > MAX_STATEMENT_BYTES:
            raise ConfigError(
                f"a load statement would be {size} bytes, over the Data API's 100 KB per statement "
                f"({statement[:40]}...); declare fewer or shallower columns"
            )


# ---------------------------------------------------------------------------
# Ledger queries
# ---------------------------------------------------------------------------


def render_ledgered_files(spec: TargetSpec, dialect: Dialect, candidates: Sequence[str]) -> list[str]:
    """Queries returning the ``file_key`` of each candidate already in the ledger.

    Run all of them and take the union; long candidate lists are split so that every
    statement stays small. An empty candidate list needs no query.
    """
    _check_dialect(dialect)
    if isinstance(candidates, str):
        raise ConfigError("candidates must be a list of S3 object keys, not one string")
    keys = list(dict.fromkeys(text(key, "file key", max_length=MAX_FILE_KEY) for key in candidates))
    ledger = _table(spec.schema, spec.ledger_table)
    return [
        f'SELECT "file_key" FROM {ledger} WHERE "target_table" = {literal(spec.target_name)} '
        f'AND "file_key" IN ({", ".join(literal(key) for key in chunk)})'
        for chunk in _chunks(keys, literal, 300)
    ]


def render_status(spec: TargetSpec, dialect: Dialect, *, key_prefix: str = "") -> str:
    """One row: ``files``, ``max_file_key``, ``last_loaded_at`` for this target.

    ``key_prefix`` (for example ``layout``'s ``<prefix>/raw/<table>/``) keeps raw and
    compacted files apart. Raw keys sort by hour, so ``max_file_key`` is the high-water
    mark; :class:`ddb_cdc.warehouse.ledger.LedgerStatus` reads the hour from it.
    """
    _check_dialect(dialect)
    ledger = _table(spec.schema, spec.ledger_table)
    where = f'"target_table" = {literal(spec.target_name)}'
    if key_prefix:
        text(key_prefix, "key_prefix", max_length=MAX_FILE_KEY)
        where += f' AND LEFT("file_key", {len(key_prefix)}) = {literal(key_prefix)}'
    return (
        f'SELECT COUNT(*) AS "files", MAX("file_key") AS "max_file_key", MAX("loaded_at") AS "last_loaded_at" '
        f"FROM {ledger} WHERE {where}"
    )


def render_newest_change(spec: TargetSpec, dialect: Dialect) -> str:
    """One row, one column: the newest ``_cdc_source_ts`` in the target (tombstones included), the
    DynamoDB time of the newest change loaded. It reads a whole column, so only ``status`` runs it."""
    _check_dialect(dialect)
    return f'SELECT MAX("_cdc_source_ts") AS "newest_change_at" FROM {_table(spec.schema, spec.table)}'


def raw_prefix(prefix: str, table: str) -> str:
    """``<prefix>/raw/<table>/``: the key prefix of a table's raw change files."""
    return f"{prefix}/{layout.RAW}/{table}/" if prefix else f"{layout.RAW}/{table}/"
