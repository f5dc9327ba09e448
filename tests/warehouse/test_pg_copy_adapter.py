"""The strict COPY adapter refuses what it does not understand and loads the rest faithfully."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from ddb_cdc.warehouse import manifest_body

from tests.rig.pg_copy import CopyError, StrictCopyExecutor, parse_copy
from tests.rig.postgres import PostgresServer

from .conftest import BUCKET

ROLE = "arn:aws:iam::123456789012:role/cdc-copy"
GOOD = (
    f"COPY \"s\".\"stage\" FROM 's3://{BUCKET}/m.json' IAM_ROLE '{ROLE}' FORMAT AS JSON 'auto' GZIP MANIFEST"
)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (GOOD + " REGION 'us-east-1'", "REGION is not supported"),
        (GOOD + " MAXERROR 10", "MAXERROR is not supported"),
        (GOOD + " ACCEPTINVCHARS", "ACCEPTINVCHARS is not supported"),
        (GOOD + " TRUNCATECOLUMNS", "TRUNCATECOLUMNS is not supported"),
        (GOOD + " TIMEFORMAT 'YYYY-MM-DD'", "only 'auto'"),
        (GOOD + " GZIP", "GZIP given twice"),
        (GOOD.replace("'auto'", "'auto ignorecase'"), "only 'auto'"),
        (GOOD.replace("FORMAT AS JSON 'auto'", "FORMAT AS CSV"), "FORMAT CSV is not supported"),
        (GOOD.replace(" MANIFEST", ""), "without MANIFEST"),
        (GOOD.replace(" GZIP", ""), "without GZIP"),
        (GOOD.replace(f"IAM_ROLE '{ROLE}'", "CREDENTIALS 'aws_iam_role=x'"), "CREDENTIALS is not supported"),
        (GOOD.replace(f"'{ROLE}'", "default"), "expected a string literal"),
        (GOOD.replace(f"'{ROLE}'", "'not-an-arn'"), "not a role ARN"),
        (GOOD.replace('"stage"', '"stage" ("a", "b")'), "column lists are not supported"),
        (GOOD.replace(" FROM ", " TO "), "only COPY ... FROM"),
        (GOOD.replace("m.json", "m\\'.json"), "backslash"),
        ('COPY "s"."stage" FROM', "ends too early"),
    ],
)
def test_any_copy_option_it_does_not_understand_is_an_error(statement: str, message: str) -> None:
    with pytest.raises(CopyError, match=message):
        parse_copy(statement)


def test_the_loaders_copy_form_is_accepted_with_optional_as_and_semicolon() -> None:
    command = parse_copy(GOOD.replace("FORMAT AS JSON", "FORMAT JSON") + " TIMEFORMAT AS 'auto';")
    assert (command.schema, command.table, command.timeformat_auto) == ("s", "stage", True)
    assert parse_copy(GOOD).timeformat_auto is False


# ---------------------------------------------------------------------------
# Executing COPY against PostgreSQL
# ---------------------------------------------------------------------------


@pytest.fixture
def stage(pg_server: PostgresServer, pg_schema: str) -> Iterator[Any]:
    """A table shaped like a small staging table, and a connection for the executor."""
    setup = pg_server.connect(autocommit=True)
    with setup.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{pg_schema}"')
        cursor.execute(
            f'CREATE TABLE "{pg_schema}"."stage" ("op" VARCHAR(5) NOT NULL, "n" INTEGER, "amount" DECIMAL(6,2), '
            f'"flag" BOOLEAN, "at" TIMESTAMP, "doc" JSONB)'
        )
    setup.close()
    connection = pg_server.connect()
    yield connection
    connection.close()


def _copy(pg_schema: str, *, timeformat: bool = True) -> str:
    text = f"COPY \"{pg_schema}\".\"stage\" FROM 's3://{BUCKET}/m.json' IAM_ROLE '{ROLE}' FORMAT AS JSON 'auto' GZIP MANIFEST"
    return text + (" TIMEFORMAT 'auto'" if timeformat else "")


def _put(s3: Any, key: str, text: str | bytes, *, compress: bool = True) -> None:
    body = text.encode("utf-8") if isinstance(text, str) else text
    s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(body) if compress else body)


def _manifest(s3: Any, *keys: str, entries: list[dict[str, Any]] | None = None) -> None:
    body = json.dumps({"entries": entries}).encode() if entries is not None else manifest_body(BUCKET, keys)
    s3.put_object(Bucket=BUCKET, Key="m.json", Body=body)


def _rows(connection: Any, schema: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "op", "n", "amount", "flag", "at", "doc"::text FROM "{schema}"."stage" ORDER BY 1, 2'
        )
        rows = cursor.fetchall()
    connection.commit()
    return rows


def test_json_auto_maps_keys_to_columns_exactly_and_loads_nulls_for_absent_keys(
    stage: Any, s3: Any, pg_schema: str
) -> None:
    _put(
        s3,
        "a.json.gz",
        '{"op":"A","n":1,"amount":1.005,"flag":true,"at":"2026-11-27T03:49:52.276Z","doc":{"x":[1,2.50]},"extra":1}\n'
        '{"op":"B", "N": 7}\n'  # "N" is not "n": JSON 'auto' matches names exactly
        '{\n  "op": "C",\n  "doc": "text"\n}\n',  # an object may span lines
    )
    _manifest(s3, "a.json.gz")
    [result] = StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema)])
    assert result.rowcount == 3
    rows = _rows(stage, pg_schema)
    assert rows[0][:5] == ("A", 1, Decimal("1.01"), True, datetime(2026, 11, 27, 3, 49, 52, 276000))
    # SUPER as the emulator assumes the worst (rule super_number): 2.50 reads back as 2.5.
    assert rows[0][5] == '{"x": [1, 2.5]}'
    assert rows[1] == ("B", None, None, None, None, None)
    assert rows[2] == ("C", None, None, None, None, '"text"')


@pytest.mark.parametrize(
    ("lines", "column", "message"),
    [
        ('{"n":1}', "op", "missing data for a NOT NULL column"),
        ('{"op":null}', "op", "missing data for a NOT NULL column"),
        ('{"op":"éèà"}', "op", "6 bytes exceeds the DDL length 5"),
        ('{"op":"A","n":"1"}', "n", "a string is not an integer"),
        ('{"op":"A","n":1.5}', "n", "a number is not an integer"),
        ('{"op":"A","amount":"1.5"}', "amount", "a string is not a number"),
        ('{"op":1.5}', "op", "a number is not a string"),
        ('{"op":"A","n":99999999999}', "n", "overflows integer"),
        ('{"op":"A","amount":123456.7}', "amount", "overflows numeric"),
        ('{"op":"A","flag":1}', "flag", "a number is not a boolean"),
        ('{"op":"A","at":"27/11/2026"}', "at", "not a timestamp"),
        ('{"op":"A","doc":"' + "x" * 65_536 + '"}', "doc", "over SUPER's 65535 bytes"),
        ('{"op":"A","doc":{"deep":["' + "x" * 65_535 + '"]}}', "doc", None),
        ('{"op":"A","doc":"nul\\u0000"}', None, "holds a NUL character"),
        ('{"op":"A","doc":"not nul \\\\u0000"}', "doc", None),
        ('{"op":"A",\n"op":"B"}', None, "duplicate attribute 'op'"),
        ('{"op":"A","n":NaN}', None, "NaN is not valid JSON"),
        ('["A", 1]', None, "needs an object per row"),
        ('{"op":"A"', None, "invalid JSON"),
    ],
)
def test_a_value_that_redshift_would_reject_fails_the_copy_naming_file_line_and_column(
    stage: Any, s3: Any, pg_schema: str, lines: str, column: str | None, message: str | None
) -> None:
    _put(s3, "ok.json.gz", '{"op":"A"}\n')
    _put(s3, "bad.json.gz", '{"op":"X"}\n' + lines + "\n")
    _manifest(s3, "ok.json.gz", "bad.json.gz")
    if message is None:  # a control case that must load
        StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema)])
        assert len(_rows(stage, pg_schema)) == 3
        return
    with pytest.raises(CopyError, match=message) as caught:
        StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema)])
    assert caught.value.url == f"s3://{BUCKET}/bad.json.gz"
    assert caught.value.line == 2
    assert caught.value.column == column
    assert _rows(stage, pg_schema) == []


def test_timeformat_auto_ignores_the_time_zone_offset_of_a_timestamp(
    stage: Any, s3: Any, pg_schema: str
) -> None:
    """TIMESTAMP: "Time zone values in input strings are ignored" (r_Datetime_types)."""
    _put(
        s3,
        "a.json.gz",
        '{"op":"A","at":"2026-11-27T03:49:52+02:00"}\n{"op":"B","at":"2026-11-27 03:49:52.5-0800"}\n',
    )
    _manifest(s3, "a.json.gz")
    StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema)])
    assert [row[4] for row in _rows(stage, pg_schema)] == [
        datetime(2026, 11, 27, 3, 49, 52),
        datetime(2026, 11, 27, 3, 49, 52, 500000),
    ]


def test_without_timeformat_only_redshifts_default_timestamp_format_loads(
    stage: Any, s3: Any, pg_schema: str
) -> None:
    _put(s3, "a.json.gz", '{"op":"A","at":"2026-11-27 03:49:52"}\n')
    _manifest(s3, "a.json.gz")
    StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema, timeformat=False)])
    _put(s3, "b.json.gz", '{"op":"B","at":"2026-11-27T03:49:52Z"}\n')
    _manifest(s3, "b.json.gz")
    with pytest.raises(CopyError, match="not a timestamp this TIMEFORMAT accepts"):
        StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema, timeformat=False)])


def test_a_row_over_redshifts_4_mb_limit_fails(stage: Any, s3: Any, pg_schema: str) -> None:
    _put(s3, "big.json.gz", json.dumps({"op": "A", "doc": "x" * (4 * 1024 * 1024)}) + "\n")
    _manifest(s3, "big.json.gz")
    with pytest.raises(CopyError, match="larger than 4 MB"):
        StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema)])


@pytest.mark.parametrize(
    ("body", "compress", "message"),
    [
        (b"this is not gzip", False, "not a valid gzip file"),
        (gzip.compress(b'{"op":"A"}\n')[:-6], False, "not a valid gzip file"),
        (b'{"op":"A"}\n{"op":"\xff"}\n', True, "invalid UTF-8"),
    ],
)
def test_a_corrupt_object_fails_the_copy_naming_it(
    stage: Any, s3: Any, pg_schema: str, body: bytes, compress: bool, message: str
) -> None:
    _put(s3, "corrupt.json.gz", body, compress=compress)
    _manifest(s3, "corrupt.json.gz")
    with pytest.raises(CopyError, match=message) as caught:
        StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema)])
    assert caught.value.url == f"s3://{BUCKET}/corrupt.json.gz"


def test_a_missing_mandatory_object_fails_and_an_optional_one_is_skipped(
    stage: Any, s3: Any, pg_schema: str
) -> None:
    _put(s3, "here.json.gz", '{"op":"A"}\n')
    _manifest(s3, "here.json.gz", "gone.json.gz")
    with pytest.raises(CopyError, match=r"gone.json.gz: the object does not exist \(mandatory"):
        StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema)])
    _manifest(
        s3,
        entries=[
            {"url": f"s3://{BUCKET}/here.json.gz", "mandatory": True},
            {"url": f"s3://{BUCKET}/gone.json.gz", "mandatory": False},
        ],
    )
    [result] = StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema)])
    assert result.rowcount == 1


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, "the manifest does not exist"),
        (b"{not json", "not valid JSON"),
        (b'{"entries": []}', "non-empty"),
        (b'{"files": ["x"]}', "non-empty"),
        (
            json.dumps({"entries": [{"url": f"s3://{BUCKET}/a", "mandatory": "yes"}]}).encode(),
            "boolean mandatory",
        ),
        (
            json.dumps({"entries": [{"url": f"s3://{BUCKET}/a", "region": "x"}]}).encode(),
            "only url, mandatory",
        ),
        (json.dumps({"entries": [{"url": "https://example.com/a"}]}).encode(), "not an s3://bucket/key"),
    ],
)
def test_a_bad_manifest_fails_the_copy(
    stage: Any, s3: Any, pg_schema: str, manifest: bytes | None, message: str
) -> None:
    if manifest is not None:
        s3.put_object(Bucket=BUCKET, Key="m.json", Body=manifest)
    with pytest.raises(CopyError, match=message):
        StrictCopyExecutor(stage, s3).run_transaction([_copy(pg_schema)])


def test_a_failed_copy_rolls_back_the_statements_before_it(stage: Any, s3: Any, pg_schema: str) -> None:
    _manifest(s3, "gone.json.gz")
    calls: list[int] = []
    executor = StrictCopyExecutor(stage, s3, after_statement=lambda index, _sql: calls.append(index))
    with pytest.raises(CopyError):
        executor.run_transaction(
            [f'INSERT INTO "{pg_schema}"."stage" ("op") VALUES (\'pre\')', _copy(pg_schema)]
        )
    assert calls == [0]
    assert _rows(stage, pg_schema) == []


def test_statements_return_rows_for_the_data_api_emulator(stage: Any, s3: Any, pg_schema: str) -> None:
    results = StrictCopyExecutor(stage, s3).run_transaction(
        ["SELECT 1 AS one, 'x' AS two", "SET timezone TO 'UTC'"]
    )
    assert (results[0].columns, results[0].rows) == (("one", "two"), [(1, "x")])
    assert (results[1].columns, results[1].rows) == (None, None)


def test_the_executor_insists_on_a_transaction(pg_server: PostgresServer, s3: Any) -> None:
    connection = pg_server.connect(autocommit=True)
    try:
        with pytest.raises(ValueError, match="autocommit"):
            StrictCopyExecutor(connection, s3)
    finally:
        connection.close()
