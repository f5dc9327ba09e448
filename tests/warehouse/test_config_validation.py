"""Bad configuration is refused before any SQL exists, with a message that says why."""

from __future__ import annotations

from typing import Any

import pytest
from ddb_cdc.warehouse import ColumnSpec, ColumnType, ConfigError, KeyAttribute, TargetSpec, parse_column_type
from ddb_cdc.warehouse.identifiers import RESERVED_WORDS, identifier, literal, quote, text

KEY = (KeyAttribute("id", "S"),)

HOSTILE_NAMES = [
    'x"; drop table t;--',
    "x; DROP TABLE t",
    "orders--",
    "a b",
    "",
    "1abc",
    "naïve",
    "tab\tle",
    "x" * 128,
    "t'",
    '"quoted"',
    "schema.table",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_schema_table_and_column_names_are_rejected(name: str) -> None:
    with pytest.raises(ConfigError, match="is not a valid name"):
        TargetSpec(name, "orders", KEY)
    with pytest.raises(ConfigError, match="is not a valid name"):
        TargetSpec("cdc", name, KEY)
    with pytest.raises(ConfigError, match="is not a valid name"):
        ColumnSpec(name, "INTEGER", ("a",))
    if name:  # an empty column means "derive it from the attribute name"
        with pytest.raises(ConfigError, match="is not a valid name"):
            KeyAttribute("id", "S", column=name)


def test_names_are_stored_lower_case_and_always_emitted_quoted() -> None:
    spec = TargetSpec("Cdc", "Orders", (KeyAttribute("userId", "S"),))
    assert (spec.schema, spec.table, spec.keys[0].column) == ("cdc", "orders", "userid")
    assert spec.keys[0].name == "userId"  # the DynamoDB attribute keeps its case
    assert quote("orders") == '"orders"'


@pytest.mark.parametrize("word", ["select", "User", "TABLE", "timestamp", "snapshot", "order"])
def test_reserved_words_are_rejected_with_a_hint(word: str) -> None:
    assert word.lower() in RESERVED_WORDS
    with pytest.raises(ConfigError, match="reserved SQL word"):
        identifier(word, "column name")


def test_a_key_named_like_a_reserved_word_gets_its_own_column_name() -> None:
    with pytest.raises(ConfigError, match="reserved"):
        KeyAttribute("user", "S")
    key = KeyAttribute("user", "S", column="user_name")
    assert (key.name, key.column) == ("user", "user_name")


def test_key_attribute_names_that_are_not_sql_names_need_a_column() -> None:
    with pytest.raises(ConfigError, match="column for key attribute 'order-id'"):
        KeyAttribute("order-id", "S")
    assert KeyAttribute("order-id", "S", column="order_id").column == "order_id"


@pytest.mark.parametrize(
    ("text_type", "expected"),
    [
        ("integer", ColumnType("INTEGER")),
        ("INT8", ColumnType("BIGINT")),
        ("numeric(12, 2)", ColumnType("DECIMAL", 12, 2)),
        ("DECIMAL", ColumnType("DECIMAL", 18, 0)),
        ("decimal(38)", ColumnType("DECIMAL", 38, 0)),
        ("varchar", ColumnType("VARCHAR", 256)),
        ("character varying(10)", ColumnType("VARCHAR", 10)),
        ("  double   precision ", ColumnType("DOUBLE PRECISION")),
        ("timestamp with time zone", ColumnType("TIMESTAMPTZ")),
        ("super", ColumnType("SUPER")),
    ],
)
def test_column_types_are_parsed_and_rendered_never_pasted(text_type: str, expected: ColumnType) -> None:
    assert parse_column_type(text_type) == expected


def test_types_render_per_dialect() -> None:
    assert parse_column_type("super").render("postgresql") == "JSONB"
    assert parse_column_type("super").render("redshift") == "SUPER"
    assert parse_column_type("numeric").render("postgresql") == "DECIMAL(18,0)"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("TEXT", "not supported"),
        ("JSONB", "not supported"),
        ("INTEGER; DROP TABLE t", "is not a type"),
        ("VARCHAR(70000)", "length must be 1 to 65535"),
        ("CHAR(5000)", "length must be 1 to 4096"),
        ("DECIMAL(39,2)", "precision must be 1 to 38"),
        ("DECIMAL(10,11)", "scale must be 0 to the precision"),
        ("INTEGER(4)", "takes no length"),
        ("VARCHAR(10,2)", "takes one length"),
        ("GEOMETRY", "not supported"),
        ("", "is not a type"),
    ],
)
def test_unknown_or_malformed_column_types_are_rejected(bad: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ColumnSpec("amount", bad, ("amount",))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("address.city", "non-empty list"),
        ([], "non-empty list"),
        (["a", 0], "not a string"),
        (["a", 'b"c'], "double quote"),
        (["a\\b"], "backslashes"),
        (["a\nb"], "control characters"),
        (["x" * 200], "longer than 127"),
        (["é" * 64], "longer than 127 bytes"),
        ([str(n) for n in range(17)], "deeper than 16"),
    ],
)
def test_bad_json_paths_are_rejected(path: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ColumnSpec("city", "VARCHAR(64)", path)


def test_path_segments_may_hold_spaces_quotes_and_unicode() -> None:
    column = ColumnSpec("city", "VARCHAR(64)", ("Adresse Postale", "ville d'été"))
    assert column.path == ("Adresse Postale", "ville d'été")


def test_literals_double_single_quotes_and_refuse_backslashes() -> None:
    assert literal("it's") == "'it''s'"
    with pytest.raises(ConfigError, match="backslashes"):
        text("a\\'; drop table t;--", "file key")
    with pytest.raises(ConfigError, match="refusing"):
        literal("a\\b")


def test_spec_rules_catch_collisions_and_mode_mistakes() -> None:
    with pytest.raises(ConfigError, match="names starting with _cdc_"):
        TargetSpec("cdc", "t", KEY, mode="columns", columns=(ColumnSpec("_cdc_seq", "INTEGER", ("a",)),))
    with pytest.raises(ConfigError, match="used twice: id"):
        TargetSpec("cdc", "t", KEY, mode="columns", columns=(ColumnSpec("id", "INTEGER", ("a",)),))
    with pytest.raises(ConfigError, match="used twice: doc"):
        TargetSpec("cdc", "t", (KeyAttribute("doc", "S"),))
    with pytest.raises(ConfigError, match="only used in columns mode"):
        TargetSpec("cdc", "t", KEY, columns=(ColumnSpec("a", "INTEGER", ("a",)),))
    with pytest.raises(ConfigError, match="at least one column"):
        TargetSpec("cdc", "t", KEY, mode="columns")
    with pytest.raises(ConfigError, match="'document' or 'columns'"):
        TargetSpec("cdc", "t", KEY, mode="wide")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="partition key"):
        TargetSpec("cdc", "t", ())
    with pytest.raises(ConfigError, match="temporary tables"):
        TargetSpec("cdc", "cdc_latest", KEY)
    with pytest.raises(ConfigError, match="reserved by the database"):
        TargetSpec("pg_catalog", "t", KEY)
    with pytest.raises(ConfigError, match="too long"):
        TargetSpec("cdc", "t" * 120, KEY)
    with pytest.raises(ConfigError, match="collides"):
        TargetSpec("cdc", "t", KEY, ledger_table="t_history")
    with pytest.raises(ConfigError, match="use S, N or B"):
        KeyAttribute("id", "BOOL")  # type: ignore[arg-type]


def test_key_column_types_follow_the_dynamodb_type() -> None:
    spec = TargetSpec("cdc", "t", (KeyAttribute("n", "N"),), key_column_types={"n": "DECIMAL(38,6)"})
    assert spec.key_type(spec.keys[0]) == ColumnType("DECIMAL", 38, 6)
    with pytest.raises(ConfigError, match="a S key can be CHAR or VARCHAR"):
        TargetSpec("cdc", "t", KEY, key_column_types={"id": "BIGINT"})
    with pytest.raises(ConfigError, match="not a key attribute"):
        TargetSpec("cdc", "t", KEY, key_column_types={"other": "BIGINT"})


def test_from_dict_builds_a_spec_and_names_unknown_settings() -> None:
    spec = TargetSpec.from_dict(
        {
            "schema": "cdc",
            "table": "orders",
            "keys": [{"name": "customerId", "type": "S"}, {"name": "orderNo", "type": "N"}],
            "mode": "columns",
            "columns": [{"name": "total", "type": "numeric(12,2)", "path": ["order", "total"]}],
            "history": True,
            "key_column_types": {"orderNo": "BIGINT"},
        }
    )
    assert spec.columns[0] == ColumnSpec("total", ColumnType("DECIMAL", 12, 2), ("order", "total"))
    assert spec.key_type(spec.keys[1]) == ColumnType("BIGINT")
    with pytest.raises(ConfigError, match="unknown settings: histroy"):
        TargetSpec.from_dict(
            {"schema": "cdc", "table": "t", "keys": [{"name": "id", "type": "S"}], "histroy": True}
        )
    with pytest.raises(ConfigError, match=r"keys\[0\] has unknown settings: kind"):
        TargetSpec.from_dict({"schema": "cdc", "table": "t", "keys": [{"name": "id", "kind": "S"}]})
    with pytest.raises(ConfigError, match="keys must be a list"):
        TargetSpec.from_dict({"schema": "cdc", "table": "t"})
