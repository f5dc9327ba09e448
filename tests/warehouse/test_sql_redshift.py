"""Every statement the Redshift dialect can emit parses as Redshift SQL (sqlglot).

The statements cannot run here (no Redshift), so sqlglot's Redshift parser is the check:
each statement must parse into one real expression, not sqlglot's opaque ``Command``
fallback, with every identifier quoted. The single exception is ``LOCK``, which sqlglot
does not model; it is checked against an exact pattern instead. The MERGE is also held
to the only shape Redshift accepts.
"""

from __future__ import annotations

import logging
import re

import pytest
import sqlglot
from ddb_cdc.warehouse import (
    ColumnSpec,
    ConfigError,
    KeyAttribute,
    TargetSpec,
    render_ddl,
    render_ledgered_files,
    render_load,
    render_newest_change,
    render_status,
)
from ddb_cdc.warehouse.sql import MAX_STATEMENTS, render_copy
from sqlglot import exp

from tests.rig.pg_copy import parse_copy

ROLE = "arn:aws:iam::123456789012:role/cdc-copy"
MANIFEST = "s3://cdc-bucket/cdc/prod/manifests/orders/abc.json"

SHAPES = {
    "document": TargetSpec("cdc", "orders", (KeyAttribute("id", "S"),)),
    "document+history": TargetSpec("cdc", "orders", (KeyAttribute("id", "S"),), history=True),
    "columns": TargetSpec(
        "cdc",
        "orders",
        (KeyAttribute("customerId", "S"), KeyAttribute("orderNo", "N")),
        mode="columns",
        columns=(
            ColumnSpec("total", "DECIMAL(12,2)", ("Order", "Total")),
            ColumnSpec("city", "VARCHAR(64)", ("ship to", "city's name")),
            ColumnSpec("paid", "BOOLEAN", ("paid",)),
            ColumnSpec("placed", "TIMESTAMP", ("placedAt",)),
            ColumnSpec("lines", "SUPER", ("lines",)),
        ),
    ),
    "columns+history": TargetSpec(
        "cdc",
        "orders",
        (KeyAttribute("pk", "B"), KeyAttribute("sk", "N")),
        mode="columns",
        columns=(ColumnSpec("qty", "INTEGER", ("qty",)),),
        history=True,
        key_column_types={"sk": "VARCHAR(64)"},
        ledger_table="orders_ledger",
    ),
}


def _all_statements(spec: TargetSpec) -> list[str]:
    many_files = [
        f"cdc/prod/raw/orders/2026/11/27/03/{'x' * 200}_{number:05d}.json.gz" for number in range(700)
    ]
    return [
        *render_ddl(spec, "redshift"),
        *render_load(
            spec, "redshift", manifest_url=MANIFEST, iam_role_arn=ROLE, files=["a.json.gz"], load_id="abc"
        ),
        *render_load(
            spec, "redshift", manifest_url=MANIFEST, iam_role_arn=ROLE, files=many_files, load_id="big"
        ),
        *render_load(  # a compacted load (emr_compaction): the ledger list COPYed in too
            spec,
            "redshift",
            manifest_url=MANIFEST,
            iam_role_arn=ROLE,
            files=["c.gz"],
            load_id="compacted",
            ledger_manifest_url=MANIFEST.replace(".json", "-ledger.json"),
        ),
        *render_ledgered_files(spec, "redshift", many_files),
        render_status(spec, "redshift"),
        render_status(spec, "redshift", key_prefix="cdc/prod/raw/orders/"),
        render_newest_change(spec, "redshift"),
    ]


CASES = [
    pytest.param(spec, statement, id=f"{shape}-{index}")
    for shape, spec in SHAPES.items()
    for index, statement in enumerate(_all_statements(spec))
]
_QUALIFIED = r'"[a-z_][a-z0-9_]*"\."[a-z_][a-z0-9_]*"'
LOCK = re.compile(rf"LOCK {_QUALIFIED}(?:, {_QUALIFIED}){{1,2}}")


@pytest.mark.parametrize(("spec", "statement"), CASES)
def test_every_redshift_statement_parses_with_sqlglot(spec: TargetSpec, statement: str) -> None:
    if statement.startswith("LOCK "):
        # sqlglot has no LOCK model and would fall back to an opaque Command.
        assert LOCK.fullmatch(statement)
        return
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    parsed = sqlglot.parse(statement, read="redshift")
    assert len(parsed) == 1 and parsed[0] is not None
    tree = parsed[0]
    assert not isinstance(tree, exp.Command), f"sqlglot could not model: {statement[:120]}"
    unquoted = [node.this for node in tree.find_all(exp.Identifier) if not node.quoted]
    # A session parameter's name is not a database object and is never quoted.
    allowed = ["enable_case_sensitive_identifier"] if isinstance(tree, exp.Set) else []
    assert unquoted == allowed, f"unquoted identifiers {unquoted} in {statement[:120]}"


@pytest.mark.parametrize("spec", SHAPES.values(), ids=SHAPES.keys())
def test_merge_has_the_only_shape_redshift_accepts(spec: TargetSpec) -> None:
    statements = render_load(
        spec, "redshift", manifest_url=MANIFEST, iam_role_arn=ROLE, files=["a"], load_id="x"
    )
    [merge] = [sqlglot.parse_one(s, read="redshift") for s in statements if s.startswith("MERGE")]
    assert isinstance(merge, exp.Merge)
    assert isinstance(merge.args["using"], exp.Table), "the source must be a table, not a subquery"
    whens = merge.args["whens"].expressions
    assert [(when.args["matched"], type(when.args["then"])) for when in whens] == [
        (True, exp.Update),
        (False, exp.Insert),
    ]
    assert all(when.args.get("condition") is None for when in whens), "no AND conditions"


@pytest.mark.parametrize("dialect", ["redshift", "postgresql"])
def test_the_load_is_ordered_lock_copy_dedupe_guard_merge_history_ledger(dialect: str) -> None:
    spec = SHAPES["document+history"]
    statements = render_load(
        spec, dialect, manifest_url=MANIFEST, iam_role_arn=ROLE, files=["a"], load_id="x"
    )  # type: ignore[arg-type]
    expected = [
        # Every table the load writes, in one order: target, history, ledger.
        'LOCK "cdc"."orders", "cdc"."orders_history", "cdc"."cdc_ledger"'
        if dialect == "redshift"
        else 'LOCK TABLE "cdc"."orders", "cdc"."orders_history", "cdc"."cdc_ledger" IN EXCLUSIVE MODE',
        'CREATE TEMP TABLE "cdc_stage" (',
        'COPY "cdc_stage" FROM ',
        'CREATE TEMP TABLE "cdc_latest" (',
        'INSERT INTO "cdc_latest" (',
        'DELETE FROM "cdc_latest" USING "cdc"."orders" ',
        'MERGE INTO "cdc"."orders" USING "cdc_latest" ON "orders"."_cdc_key" = "cdc_latest"."_cdc_key" ',
        'INSERT INTO "cdc"."orders_history" ',
        'INSERT INTO "cdc"."cdc_ledger" ',
        'DROP TABLE "cdc_latest"',
        'DROP TABLE "cdc_stage"',
    ]
    if dialect == "redshift":
        expected.insert(0, "SET enable_case_sensitive_identifier TO true")
    assert len(statements) == len(expected)
    for statement, prefix in zip(statements, expected, strict=True):
        assert statement.startswith(prefix), (prefix, statement[:80])


def test_the_copy_is_the_same_text_in_both_dialects_and_the_strict_adapter_reads_it() -> None:
    spec = SHAPES["document"]
    copies = {
        dialect: [
            s
            for s in render_load(
                spec, dialect, manifest_url=MANIFEST, iam_role_arn=ROLE, files=["a"], load_id="x"
            )  # type: ignore[arg-type]
            if s.startswith("COPY")
        ]
        for dialect in ("redshift", "postgresql")
    }
    assert copies["redshift"] == copies["postgresql"] == [render_copy(MANIFEST, ROLE)]
    command = parse_copy(copies["redshift"][0])
    assert (command.table, command.source, command.iam_role, command.timeformat_auto) == (
        "cdc_stage",
        MANIFEST,
        ROLE,
        True,
    )


def test_mixed_case_attributes_are_navigated_case_sensitively_in_redshift() -> None:
    statements = render_load(
        SHAPES["columns"], "redshift", manifest_url=MANIFEST, iam_role_arn=ROLE, files=["a"], load_id="x"
    )
    assert statements[0] == "SET enable_case_sensitive_identifier TO true"
    resolve = next(s for s in statements if s.startswith('INSERT INTO "cdc_latest"'))
    assert 'CAST("s"."image"."Order"."Total" AS DECIMAL(12,2))' in resolve
    assert 'CAST("s"."keys"."customerId" AS VARCHAR(2048))' in resolve


def test_a_numeric_key_stored_as_text_is_serialized_not_cast() -> None:
    statements = render_load(
        SHAPES["columns+history"],
        "redshift",
        manifest_url=MANIFEST,
        iam_role_arn=ROLE,
        files=["a"],
        load_id="x",
    )
    resolve = next(s for s in statements if s.startswith('INSERT INTO "cdc_latest"'))
    assert 'CAST(JSON_SERIALIZE("s"."keys"."sk") AS VARCHAR(64))' in resolve
    assert 'CAST("s"."keys"."pk" AS VARCHAR(2800))' in resolve


def test_long_file_lists_are_split_into_statements_under_the_data_api_limits() -> None:
    spec = SHAPES["document"]
    files = [f"cdc/prod/raw/orders/2026/11/27/03/{'y' * 900}_{number:05d}.json.gz" for number in range(500)]
    statements = render_load(
        spec, "redshift", manifest_url=MANIFEST, iam_role_arn=ROLE, files=files, load_id="x"
    )
    ledger_inserts = [s for s in statements if s.startswith('INSERT INTO "cdc"."cdc_ledger"')]
    assert len(ledger_inserts) > 1
    assert all(len(s.encode()) < 100_000 for s in statements)
    assert sum(s.count(".json.gz'") for s in ledger_inserts) == len(files)
    assert len(statements) <= MAX_STATEMENTS


def test_a_load_that_needs_more_than_40_statements_is_refused() -> None:
    files = [f"{'z' * 1000}{number:05d}" for number in range(2000)]
    with pytest.raises(ConfigError, match="over the Data API's 40"):
        render_load(
            SHAPES["document"], "redshift", manifest_url=MANIFEST, iam_role_arn=ROLE, files=files, load_id="x"
        )


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("manifest_url", "https://bucket/key", "must be s3://bucket/key"),
        ("manifest_url", "s3://bucket/k'; drop table t;--", "must be s3://bucket/key"),
        ("iam_role_arn", "arn:aws:iam::123:role/x", "not an IAM role ARN"),
        ("iam_role_arn", ROLE + "' GZIP '", "not an IAM role ARN"),
        ("load_id", "x'; --", "load_id"),
        ("files", [], "at least one file"),
        ("files", "one/key.json.gz", "not one string"),
        ("files", ["a\\b"], "backslashes"),
    ],
)
def test_load_inputs_that_could_alter_the_sql_are_refused(argument: str, value: object, message: str) -> None:
    arguments: dict[str, object] = {
        "manifest_url": MANIFEST,
        "iam_role_arn": ROLE,
        "files": ["a"],
        "load_id": "x",
    }
    arguments[argument] = value
    with pytest.raises(ConfigError, match=message):
        render_load(SHAPES["document"], "redshift", **arguments)  # type: ignore[arg-type]


def test_role_chains_are_accepted() -> None:
    chain = f"{ROLE},arn:aws:iam::210987654321:role/target"
    statements = render_load(
        SHAPES["document"], "redshift", manifest_url=MANIFEST, iam_role_arn=chain, files=["a"], load_id="x"
    )
    assert f"IAM_ROLE '{chain}'" in next(s for s in statements if s.startswith("COPY"))


def test_unknown_dialects_are_refused() -> None:
    with pytest.raises(ConfigError, match="dialect 'mysql'"):
        render_ddl(SHAPES["document"], "mysql")  # type: ignore[arg-type]


def test_a_spec_whose_load_statement_would_exceed_100_kb_is_refused_with_the_reason() -> None:
    columns = tuple(
        ColumnSpec(f"c{number}", "DECIMAL(12,2)", ("level one", "level two", f"attribute {number}"))
        for number in range(400)
    )
    spec = TargetSpec("cdc", "orders", (KeyAttribute("id", "S"),), mode="columns", columns=columns)
    with pytest.raises(ConfigError, match="over the Data API's 100 KB per statement"):
        render_load(spec, "redshift", manifest_url=MANIFEST, iam_role_arn=ROLE, files=["a"], load_id="x")
