"""The emulator refuses what Redshift refuses, and answers as Redshift does where PostgreSQL differs.

Each test names the rule (tests/sandbox/redshift_rules.py) and its documentation page.
The statements run on the throwaway PostgreSQL through ``RedshiftOnPostgres``, the same
path the rig's warehouse and the property tests use.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ddb_cdc.warehouse import KeyAttribute, TargetSpec
from moto import mock_aws

from tests.rig.cdc_files import REGION, ChangeFiles, stream_record
from tests.rig.loads import LocalWarehouse
from tests.rig.postgres import PostgresServer
from tests.sandbox import redshift_rules as rules
from tests.sandbox.redshift_sql import RedshiftOnPostgres, Translator

# The MERGE the loader rendered before this rule existed (document mode, key "id"): it
# navigates SUPER columns of its source inside the MERGE.
OLD_MERGE = (
    'MERGE INTO "cdc"."orders" USING "cdc_latest" AS "l" ON "_cdc_key" = "l"."key_string" '
    'WHEN MATCHED THEN UPDATE SET "doc" = "l"."image", "_cdc_seq" = "l"."seq" '
    'WHEN NOT MATCHED THEN INSERT ("id", "doc", "_cdc_key", "_cdc_seq") '
    'VALUES (CAST("l"."keys"."id" AS VARCHAR(2048)), "l"."image", "l"."key_string", "l"."seq")'
)


def _catalog(schema: str | None, table: str) -> frozenset[str] | None:
    known = {
        ("cdc", "orders"): frozenset({"doc"}),
        (None, "cdc_latest"): frozenset({"keys", "image"}),
        (None, "src"): frozenset({"value"}),
        ("cdc", "plain"): frozenset(),
    }
    return known.get((schema, table))


def _refused(statement: str, match: str) -> rules.RedshiftRefuses:
    with pytest.raises(rules.RedshiftRefuses, match=match) as caught:
        Translator(_catalog, cache=False).translate(statement)
    assert caught.value.page.startswith("https://docs.aws.amazon.com/redshift/")
    return caught.value


def test_the_old_merge_with_partial_super_references_is_refused() -> None:
    refusal = _refused(OLD_MERGE, "Partial reference of SUPER column is not supported in MERGE statement")
    assert refusal.page == rules.MERGE_PAGE


@pytest.mark.parametrize(
    ("statement", "match"),
    [
        (
            'WITH "c" AS (SELECT 1 AS "k") MERGE INTO "cdc"."plain" USING "c" ON "plain"."k" = "c"."k" '
            'WHEN MATCHED THEN UPDATE SET "k" = "c"."k" WHEN NOT MATCHED THEN INSERT ("k") VALUES ("c"."k")',
            "WITH clause",
        ),
        (
            'MERGE INTO "cdc"."plain" AS "t" USING "src" ON "t"."k" = "src"."k" '
            'WHEN MATCHED THEN UPDATE SET "k" = "src"."k" WHEN NOT MATCHED THEN INSERT ("k") VALUES ("src"."k")',
            "without an alias",
        ),
        (
            'MERGE INTO "cdc"."plain" USING "src" ON "plain"."k" = "src"."k" '
            'WHEN MATCHED AND "src"."k" > 1 THEN UPDATE SET "k" = "src"."k" '
            'WHEN NOT MATCHED THEN INSERT ("k") VALUES ("src"."k")',
            "no AND condition",
        ),
        (
            'MERGE INTO "cdc"."plain" USING "src" ON "plain"."k" = "src"."k" '
            'WHEN NOT MATCHED THEN INSERT ("k") VALUES ("src"."k")',
            "one WHEN MATCHED",
        ),
        (
            'MERGE INTO "cdc"."plain" USING "src" ON "plain"."k" = "src"."k" '
            'WHEN MATCHED THEN UPDATE SET "plain"."k" = "src"."k" WHEN NOT MATCHED THEN INSERT ("k") VALUES ("src"."k")',
            "table name",
        ),
        (
            'MERGE INTO "cdc"."plain" USING "src" ON "plain"."k" = "src"."k" '
            'WHEN MATCHED THEN UPDATE SET "v" = "src"."value"[0] '
            'WHEN NOT MATCHED THEN INSERT ("k") VALUES ("src"."k")',
            "Partial reference of SUPER column",
        ),
        (
            'MERGE INTO "cdc"."plain" USING (SELECT "k" FROM "cdc"."plain") AS "s" ON "plain"."k" = "s"."k" '
            'WHEN MATCHED THEN UPDATE SET "k" = "s"."k" WHEN NOT MATCHED THEN INSERT ("k") VALUES ("s"."k")',
            "must be a table",
        ),
    ],
    ids=[
        "with",
        "target-alias",
        "condition",
        "insert-only",
        "qualified-set",
        "subscript",
        "subquery-source",
    ],
)
def test_merge_shapes_redshift_refuses_are_refused(statement: str, match: str) -> None:
    _refused(statement, match)


def test_a_merge_reading_whole_super_columns_is_accepted() -> None:
    statement = (
        'MERGE INTO "cdc"."orders" USING "cdc_latest" ON "orders"."_cdc_key" = "cdc_latest"."_cdc_key" '
        'WHEN MATCHED THEN UPDATE SET "doc" = "cdc_latest"."image" '
        'WHEN NOT MATCHED THEN INSERT ("doc") VALUES ("cdc_latest"."image")'
    )
    assert Translator(_catalog, cache=False).translate(statement).kind == "sql"


def test_one_statement_per_sql_element() -> None:
    _refused("SELECT 1; SELECT 2", "several statements")
    _refused("SET statement_timeout TO 5; DROP TABLE x", "several statements")
    # A ';' inside a literal, an identifier or a comment ends nothing; a trailing one is fine.
    translator = Translator(_catalog, cache=False)
    assert translator.translate("SELECT 'a;b' AS \"c;d\" -- e;f\n;").kind == "sql"


def test_data_api_batch_limits() -> None:
    rules.check_batch(["SELECT 1"] * 40)
    with pytest.raises(rules.RedshiftRefuses, match="takes 1 to 40"):
        rules.check_batch(["SELECT 1"] * 41)
    with pytest.raises(rules.RedshiftRefuses, match="takes 1 to 40"):
        rules.check_batch([])
    long = "SELECT '" + "x" * (rules.MAX_STATEMENT_BYTES - 9) + "'"
    rules.check_batch([long])
    with pytest.raises(rules.RedshiftRefuses, match="statement 2 is 100001 bytes"):
        rules.check_batch(["SELECT 1", long + " "])


# ---------------------------------------------------------------------------
# Rules that need the database
# ---------------------------------------------------------------------------


@pytest.fixture
def run(pg_server: PostgresServer, pg_schema: str) -> Iterator[Any]:
    connection = pg_server.connect()
    executor = RedshiftOnPostgres(connection, s3_client=None)
    executor.run_transaction(
        [f'CREATE SCHEMA "{pg_schema}"', f'CREATE TABLE "{pg_schema}"."t" ("k" VARCHAR(10), "d" SUPER)']
    )

    def run_one(statement: str) -> list[tuple[Any, ...]]:
        [result] = executor.run_transaction([statement.replace("{s}", f'"{pg_schema}"')])
        return result.rows or []

    yield run_one
    connection.close()


def test_lax_casts_give_null_for_the_wrong_dynamic_type(run: Any) -> None:
    run(
        'INSERT INTO {s}."t" SELECT \'a\', JSON_PARSE(\'{"o": {"x": 1}, "a": [1], "n": 5, "f": 5.0, '
        '"s": "12", "b": true, "big": 70000, "day": "2026-11-29"}\')'
    )
    casts = {
        "object to VARCHAR": 'CAST("t"."d"."o" AS VARCHAR(20))',
        "array to VARCHAR": 'CAST("t"."d"."a" AS VARCHAR(20))',
        "number to VARCHAR": 'CAST("t"."d"."n" AS VARCHAR(20))',
        "boolean to VARCHAR": 'CAST("t"."d"."b" AS VARCHAR(20))',
        "string to INTEGER": 'CAST("t"."d"."s" AS INTEGER)',
        "string to DECIMAL": 'CAST("t"."d"."s" AS DECIMAL(10,2))',
        "overflow to SMALLINT": 'CAST("t"."d"."big" AS SMALLINT)',
        "scale 1 to BOOLEAN": 'CAST("t"."d"."f" AS BOOLEAN)',
        "missing path": 'CAST("t"."d"."nope" AS INTEGER)',
    }
    select = ", ".join(casts.values())
    [row] = run(f'SELECT {select} FROM {{s}}."t"')
    assert dict(zip(casts, row, strict=True)) == dict.fromkeys(casts)
    [row] = run(
        'SELECT CAST("t"."d"."n" AS INTEGER), CAST("t"."d"."n" AS BOOLEAN), CAST("t"."d"."b" AS BOOLEAN), '
        'CAST("t"."d"."s" AS VARCHAR(5)), CAST("t"."d"."day" AS DATE) FROM {s}."t"'
    )
    assert [str(value) for value in row] == ["5", "True", "True", "12", "2026-11-29"]


def test_varchar_comparisons_ignore_trailing_spaces(run: Any) -> None:
    run('INSERT INTO {s}."t" ("k") VALUES (\'a  \')')
    assert run('SELECT COUNT(*) FROM {s}."t" WHERE "k" = \'a\'') == [(1,)]
    assert run("SELECT COUNT(*) FROM {s}.\"t\" WHERE \"k\" IN ('a', 'b')") == [(1,)]
    assert run('SELECT COUNT(*) FROM {s}."t" WHERE "k" <> \'a\'') == [(0,)]


def test_a_merge_whose_target_row_matches_two_source_rows_fails_as_in_redshift(
    run: Any, pg_schema: str
) -> None:
    run('INSERT INTO {s}."t" ("k") VALUES (\'a\')')
    run('CREATE TABLE {s}."src" ("k" VARCHAR(10))')
    run("INSERT INTO {s}.\"src\" VALUES ('a'), ('a')")
    with pytest.raises(rules.RedshiftRefuses, match="Found multiple matches to update the same tuple"):
        run(
            'MERGE INTO {s}."t" USING {s}."src" ON "t"."k" = "src"."k" WHEN MATCHED THEN UPDATE SET "k" = "src"."k" '
            'WHEN NOT MATCHED THEN INSERT ("k") VALUES ("src"."k")'
        )


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="rules-bucket")
        yield client


def test_keys_that_differ_only_by_trailing_spaces_stay_two_rows(
    pg_server: PostgresServer, pg_schema: str, s3: Any
) -> None:
    """Redshift would match 'a' and 'a ' as equal VARCHARs; the canonical key string ends
    with ']', never with the key's own spaces, so two keys never merge into one row."""
    spec = TargetSpec(pg_schema, "orders", (KeyAttribute("id", "S"),))
    connection = pg_server.connect()
    try:
        warehouse = LocalWarehouse(spec, connection, s3, "rules-bucket", "cdc")
        warehouse.create()
        files = ChangeFiles(s3, "rules-bucket", "cdc", "orders")
        batch = files.write_stream_batch(
            [
                stream_record(
                    "INSERT",
                    {"id": {"S": key}},
                    {"id": {"S": key}},
                    sequence_number=str(seq),
                    created_s=1_795_000_000,
                    event_id=f"e{seq}",
                    table="orders",
                )
                for seq, key in enumerate(["a", "a ", "a  "], start=1)
            ]
        )
        warehouse.load([batch])
        rows = warehouse.query(f'SELECT "id" FROM "{pg_schema}"."orders_current" ORDER BY LENGTH("id")')
        assert [row[0] for row in rows] == ["a", "a ", "a  "]
    finally:
        connection.close()


def test_json_serialize_of_null_is_the_text_null_and_too_long_json_fails(run: Any) -> None:
    run("INSERT INTO {s}.\"t\" SELECT 'a', JSON_PARSE('{\"small\": [1, 2]}')")
    assert run('SELECT JSON_SERIALIZE("t"."d"."missing"), JSON_SERIALIZE("t"."d"."small") FROM {s}."t"') == [
        ("null", "[1, 2]")
    ]
    big = '{"big": "' + "x" * 40_000 + '", "more": "' + "y" * 40_000 + '"}'
    run(f"INSERT INTO {{s}}.\"t\" SELECT 'b', JSON_PARSE('{big}')")
    assert run('SELECT JSON_SIZE("t"."d") > 65535 FROM {s}."t" WHERE "k" = \'b\'') == [(True,)]
    with pytest.raises(Exception, match="exceeds the VARCHAR limit"):
        run('SELECT JSON_SERIALIZE("t"."d") FROM {s}."t" WHERE "k" = \'b\'')
