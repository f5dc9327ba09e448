"""What a load writes to: one target table, its key, its shape and its companions.

A :class:`TargetSpec` is validated when it is built, so every later step (DDL, load SQL,
status queries) can trust it. It is plain data: the loader builds it from its
configuration with :meth:`TargetSpec.from_dict`, tests build it directly.

Key columns are typed from the DynamoDB key schema: ``S`` becomes VARCHAR(2048) (the
largest partition key is 2048 bytes), ``B`` VARCHAR(2800) (base64 of 2048 bytes is 2732
characters) and ``N`` DECIMAL(38,0). DynamoDB numbers carry up to 38 significant digits
but may have a fractional part or an exponent; a table whose numeric keys are not
integers sets ``key_column_types`` (for example ``DECIMAL(38,6)`` or ``VARCHAR(64)``).
These typed columns are for people and joins only: the identity used by the merge is
always ``_cdc_key`` (the envelope's canonical ``key_string``), so a rounding or a
narrowing cast can never merge two different keys into one row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ddb_cdc.warehouse.identifiers import (
    CHARACTER_KINDS,
    MAX_IDENTIFIER,
    NUMERIC_KINDS,
    ColumnType,
    ConfigError,
    identifier,
    json_path,
    parse_column_type,
)

Mode = Literal["document", "columns"]
DynamoType = Literal["S", "N", "B"]

METADATA_PREFIX: Final = "_cdc_"
DOCUMENT_COLUMN: Final = "doc"
EXACT_NUMBERS_COLUMN: Final = "_cdc_exact_numbers"
EXACT_TYPES_COLUMN: Final = "_cdc_exact_types"
UNFIT_COLUMN: Final = "_cdc_unfit"  # columns mode: declared columns whose value did not fit
HISTORY_SUFFIX: Final = "_history"
CURRENT_VIEW_SUFFIX: Final = "_current"
# The load's temporary tables; a target with one of these names could not be told
# apart from them inside the load statements.
RESERVED_TABLE_NAMES: Final = frozenset({"cdc_stage", "cdc_latest"})

DEFAULT_KEY_TYPES: Final[dict[str, ColumnType]] = {
    "S": ColumnType("VARCHAR", 2048),
    "B": ColumnType("VARCHAR", 2800),
    "N": ColumnType("DECIMAL", 38, 0),
}


@dataclass(frozen=True, slots=True)
class KeyAttribute:
    """One attribute of the DynamoDB key schema.

    ``name`` is the DynamoDB attribute name, case-sensitive and free-form (it is read
    from the envelope's ``keys`` object). ``column`` is the SQL column that holds it; it
    defaults to ``name`` lower-cased, and must be given when ``name`` is not a valid SQL
    name (``user-id``) or is reserved (``user``).
    """

    name: str
    dynamo_type: DynamoType
    column: str = ""

    def __post_init__(self) -> None:
        # The name is read like a JSON path segment (Redshift: a quoted identifier in
        # SUPER navigation, so at most 127 bytes, although DynamoDB allows 255).
        json_path([self.name], "key attribute name")
        if self.dynamo_type not in DEFAULT_KEY_TYPES:
            raise ConfigError(f"key attribute {self.name!r} has type {self.dynamo_type!r}; use S, N or B")
        column = identifier(self.column or self.name, f"column for key attribute {self.name!r}")
        object.__setattr__(self, "column", column)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A columns-mode column: its name, SQL type and JSON path inside the new image."""

    name: str
    type: ColumnType
    path: tuple[str, ...]

    def __post_init__(self) -> None:
        name = identifier(self.name, "column name")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", parse_column_type(self.type, f"type of column {name!r}"))
        object.__setattr__(self, "path", json_path(self.path, f"path of column {name!r}"))


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A validated target: where changes of one DynamoDB table are merged."""

    schema: str
    table: str
    keys: tuple[KeyAttribute, ...]
    mode: Mode = "document"
    columns: tuple[ColumnSpec, ...] = ()
    history: bool = False
    ledger_table: str = "cdc_ledger"
    key_column_types: Mapping[str, ColumnType] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        schema = identifier(self.schema, "schema")
        if schema.startswith("pg_"):
            raise ConfigError(f"schema {self.schema!r}: names starting with pg_ are reserved by the database")
        set_(self, "schema", schema)
        table = identifier(self.table, "table")
        longest = max(len(HISTORY_SUFFIX), len(CURRENT_VIEW_SUFFIX))
        if len(table) > MAX_IDENTIFIER - longest:
            raise ConfigError(
                f"table {self.table!r} is too long: at most {MAX_IDENTIFIER - longest} characters leave room "
                f"for the {HISTORY_SUFFIX} table and the {CURRENT_VIEW_SUFFIX} view"
            )
        if table in RESERVED_TABLE_NAMES:
            raise ConfigError(f"table {self.table!r} is a name the load uses for its temporary tables")
        set_(self, "table", table)
        ledger = identifier(self.ledger_table, "ledger_table")
        if ledger in {table, table + HISTORY_SUFFIX, table + CURRENT_VIEW_SUFFIX} | RESERVED_TABLE_NAMES:
            raise ConfigError(f"ledger_table {self.ledger_table!r} collides with the target's own tables")
        set_(self, "ledger_table", ledger)
        if self.mode not in ("document", "columns"):
            raise ConfigError(f"mode {self.mode!r} must be 'document' or 'columns'")
        if not isinstance(self.history, bool):
            raise ConfigError("history must be true or false")

        keys = tuple(self.keys)
        if not 1 <= len(keys) <= 2 or not all(isinstance(key, KeyAttribute) for key in keys):
            raise ConfigError("keys must list the table's partition key and, if it has one, its sort key")
        if len({key.name for key in keys}) != len(keys):
            raise ConfigError("keys name the same attribute twice")
        set_(self, "keys", keys)

        columns = tuple(self.columns)
        if self.mode == "document" and columns:
            raise ConfigError("columns are only used in columns mode")
        if self.mode == "columns" and not columns:
            raise ConfigError("columns mode needs at least one column")
        if not all(isinstance(column, ColumnSpec) for column in columns):
            raise ConfigError("columns must be ColumnSpec values")
        set_(self, "columns", columns)

        names = [key.column for key in keys] + [column.name for column in columns]
        if self.mode == "document":
            names.append(DOCUMENT_COLUMN)
        for name in names:
            if name.startswith(METADATA_PREFIX):
                raise ConfigError(f"column {name!r}: names starting with {METADATA_PREFIX} are the loader's")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError(f"column names used twice: {', '.join(duplicates)}")

        overrides: dict[str, ColumnType] = {}
        by_name = {key.name: key for key in keys}
        for name, type_text in dict(self.key_column_types).items():
            key = by_name.get(name)
            if key is None:
                raise ConfigError(f"key_column_types names {name!r}, which is not a key attribute")
            parsed = parse_column_type(type_text, f"type of key column {key.column!r}")
            allowed = CHARACTER_KINDS | (NUMERIC_KINDS if key.dynamo_type == "N" else frozenset())
            if parsed.kind not in allowed:
                raise ConfigError(
                    f"type of key column {key.column!r} is {parsed}; a {key.dynamo_type} key can be "
                    + ("a numeric or a character type" if key.dynamo_type == "N" else "CHAR or VARCHAR")
                )
            overrides[name] = parsed
        set_(self, "key_column_types", overrides)

    # -- derived names ------------------------------------------------------

    @property
    def target_name(self) -> str:
        """``schema.table``, as recorded in the ledger's ``target_table`` column."""
        return f"{self.schema}.{self.table}"

    @property
    def history_table(self) -> str:
        return self.table + HISTORY_SUFFIX

    @property
    def current_view(self) -> str:
        return self.table + CURRENT_VIEW_SUFFIX

    def key_type(self, key: KeyAttribute) -> ColumnType:
        return self.key_column_types.get(key.name, DEFAULT_KEY_TYPES[key.dynamo_type])

    # -- construction from configuration -----------------------------------

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> TargetSpec:
        """Build from plain data (parsed JSON), rejecting unknown settings.

        ``{"schema": "cdc", "table": "orders", "keys": [{"name": "id", "type": "S"}],
        "mode": "columns", "columns": [{"name": "total", "type": "DECIMAL(12,2)",
        "path": ["total"]}], "history": true}``
        """
        if not isinstance(config, Mapping):
            raise ConfigError("target configuration must be an object")
        known = {"schema", "table", "keys", "mode", "columns", "history", "ledger_table", "key_column_types"}
        _reject_unknown(config, known, "target configuration")
        keys = [_key_from_dict(item, index) for index, item in enumerate(_list(config.get("keys"), "keys"))]
        columns = [
            _column_from_dict(item, index)
            for index, item in enumerate(_list(config.get("columns", []), "columns"))
        ]
        key_types = config.get("key_column_types", {})
        if not isinstance(key_types, Mapping):
            raise ConfigError("key_column_types must map key attribute names to SQL types")
        return cls(
            schema=config.get("schema"),  # type: ignore[arg-type]  # validated in __post_init__
            table=config.get("table"),  # type: ignore[arg-type]
            keys=tuple(keys),
            mode=config.get("mode", "document"),
            columns=tuple(columns),
            history=config.get("history", False),
            ledger_table=config.get("ledger_table", "cdc_ledger"),
            key_column_types={str(name): parse_column_type(value) for name, value in key_types.items()},
        )


def _reject_unknown(config: Mapping[str, Any], known: set[str], what: str) -> None:
    unknown = sorted(set(config) - known)
    if unknown:
        raise ConfigError(f"{what} has unknown settings: {', '.join(map(str, unknown))}")


def _list(value: Any, what: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{what} must be a list")
    return value


def _key_from_dict(item: Any, index: int) -> KeyAttribute:
    if not isinstance(item, Mapping):
        raise ConfigError(f"keys[{index}] must be an object with name and type")
    _reject_unknown(item, {"name", "type", "column"}, f"keys[{index}]")
    return KeyAttribute(item.get("name"), item.get("type"), item.get("column", ""))  # type: ignore[arg-type]


def _column_from_dict(item: Any, index: int) -> ColumnSpec:
    if not isinstance(item, Mapping):
        raise ConfigError(f"columns[{index}] must be an object with name, type and path")
    _reject_unknown(item, {"name", "type", "path"}, f"columns[{index}]")
    return ColumnSpec(item.get("name"), item.get("type"), item.get("path"))  # type: ignore[arg-type]
