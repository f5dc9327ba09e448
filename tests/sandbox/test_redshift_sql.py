"""The Redshift SQL translation: the redshift dialect, translated, equals the postgresql dialect.

Differential: the same change files are loaded twice on the same PostgreSQL, once with
the ``postgresql`` dialect run directly (the rig's LocalWarehouse) and once with the
``redshift`` dialect run through tests/sandbox/redshift_sql.py by the Data API engine.
Target, history, ledger and view must hold exactly the same rows.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import pytest
from ddb_cdc.loader import compaction
from ddb_cdc.warehouse import ColumnSpec, KeyAttribute, TargetSpec, render_ddl, render_load
from ddb_cdc.warehouse.manifest import manifest_body, manifest_key, s3_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.rig.cdc_files import REGION, ROLE_ARN, ChangeFiles, stream_record
from tests.rig.loads import LocalWarehouse
from tests.rig.postgres import PostgresServer
from tests.sandbox.data_api import FINISHED, DataApiEngine
from tests.sandbox.redshift_sql import Session, Translator, UnsupportedSql

BUCKET = "sandbox-sql"
PREFIX = "cdc/x"
TABLE = "devices"
T0 = 1_795_000_000

# ---------------------------------------------------------------------------
# Specs: document and columns mode, every column type, keys S / N / B, history on/off
# ---------------------------------------------------------------------------

COLUMNS = (
    ColumnSpec("temp", "DECIMAL(10,2)", ("reading", "Temp")),
    ColumnSpec("label", "VARCHAR(8)", ("Label",)),
    ColumnSpec("code", "CHAR(3)", ("code",)),
    ColumnSpec("is_on", "BOOLEAN", ("flags", "isOn")),
    ColumnSpec("n_small", "SMALLINT", ("n",)),
    ColumnSpec("n_int", "INTEGER", ("n",)),
    ColumnSpec("n_big", "BIGINT", ("n",)),
    ColumnSpec("ratio", "REAL", ("ratio",)),
    ColumnSpec("dbl", "DOUBLE PRECISION", ("ratio",)),
    ColumnSpec("seen_on", "DATE", ("when",)),
    ColumnSpec("seen_at", "TIMESTAMP", ("when",)),
    ColumnSpec("seen_tz", "TIMESTAMPTZ", ("when",)),
    ColumnSpec("reading", "SUPER", ("reading",)),
    ColumnSpec("deep", "INTEGER", ("a", "B", "c", "D")),
)


def specs(schema: str) -> dict[str, TargetSpec]:
    return {
        "document_history_s_key": TargetSpec(
            schema, TABLE, (KeyAttribute("deviceId", "S", "device_id"),), history=True
        ),
        "columns_n_and_s_keys": TargetSpec(
            schema,
            TABLE,
            (KeyAttribute("site", "N"), KeyAttribute("deviceId", "S", "device_id")),
            mode="columns",
            columns=COLUMNS,
            history=True,
        ),
        "columns_binary_key_no_history": TargetSpec(
            schema, TABLE, (KeyAttribute("blob", "B"),), mode="columns", columns=COLUMNS[:4] + COLUMNS[12:]
        ),
        "document_numeric_key_as_varchar": TargetSpec(
            schema, TABLE, (KeyAttribute("site", "N"),), key_column_types={"site": "VARCHAR(64)"}
        ),
    }


# Images in DynamoDB JSON: nested mixed-case maps, lists, sets, every scalar, values that
# fit and values that do not (lax casts give NULL), missing paths.
IMAGES: list[dict[str, Any]] = [
    {
        "reading": {"M": {"Temp": {"N": "21.456"}, "unit": {"S": "C"}}},
        "Label": {"S": "short"},
        "code": {"S": "abc"},
        "flags": {"M": {"isOn": {"BOOL": True}}},
        "n": {"N": "42"},
        "ratio": {"N": "0.125"},
        "when": {"S": "2026-11-27T04:05:06"},
        "a": {"M": {"B": {"M": {"c": {"M": {"D": {"N": "7"}}}}}}},
    },
    {
        "reading": {"M": {"Temp": {"S": "19.5"}}},
        "Label": {"S": "much too long for eight"},
        "code": {"N": "12"},
        "flags": {"M": {"isOn": {"S": "maybe"}}},
        "n": {"N": "70000"},
        "ratio": {"S": "not a number"},
        "when": {"S": "yesterday-ish"},
        "a": {"M": {"b": {"M": {"c": {"M": {"D": {"N": "8"}}}}}}},
    },
    {
        "reading": {"L": [{"N": "1"}, {"S": "two"}]},
        "Label": {"M": {"nested": {"S": "object"}}},
        "flags": {"M": {"isOn": {"BOOL": False}}},
        "n": {"N": "99999999999"},
        "ratio": {"N": "1E+2"},
        "when": {"S": "2026-01-02"},
        "tags": {"SS": ["b", "a"]},
        "nothing": {"NULL": True},
    },
    {"n": {"N": "-3.7"}, "reading": {"M": {"Temp": {"N": "123456789.999"}}}, "blobby": {"B": "AAEC"}},
    {},
]


def _keys(spec: TargetSpec, index: int) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for key in spec.keys:
        if key.dynamo_type == "S":
            keys[key.name] = {"S": f"dev-{index % 3}"}
        elif key.dynamo_type == "N":
            keys[key.name] = {"N": str(index % 4) if index % 5 else "12345678901234567890123"}
        else:
            keys[key.name] = {"B": ["AAE=", "/w==", "AA=="][index % 3]}
    return keys


def _record(spec: TargetSpec, index: int, seq: int, image: int | None) -> dict[str, Any]:
    keys = _keys(spec, index)
    new_image = None if image is None else {**IMAGES[image % len(IMAGES)], **keys}
    event = "REMOVE" if image is None else ("INSERT" if seq % 2 else "MODIFY")
    return stream_record(
        event, keys, new_image, sequence_number=str(seq), created_s=T0 + seq, event_id=f"e{seq}", table=TABLE
    )


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture(scope="module")
def engine(pg_server: PostgresServer, s3: Any) -> Iterator[DataApiEngine]:
    engine = DataApiEngine(pg_server.dsn(), s3, max_workers=2)
    yield engine
    engine.close()


class Pair:
    """One spec loaded both ways: directly (postgresql) and translated (redshift)."""

    def __init__(self, spec: TargetSpec, direct: LocalWarehouse, engine: DataApiEngine, s3: Any) -> None:
        self.spec, self.direct, self.engine, self.s3 = spec, direct, engine, s3
        self.translated = TargetSpec(
            f"{spec.schema}_rs",
            spec.table,
            spec.keys,
            mode=spec.mode,
            columns=spec.columns,
            history=spec.history,
            key_column_types=spec.key_column_types,
        )
        self.direct.create()
        self.run(render_ddl(self.translated, "redshift"))

    def run(self, statements: Sequence[str]) -> Any:
        statement = self.engine.submit(
            statements,
            batch=True,
            database="dev",
            account_id="123456789012",
            region=REGION,
            cluster_identifier="c",
            db_user="u",
        )
        assert statement.done.wait(30)
        assert statement.status == FINISHED, statement.error
        return statement

    def load(self, files: Sequence[str], load_id: str) -> None:
        self.direct.load(files, load_id=load_id)
        key = manifest_key(PREFIX, TABLE, f"{load_id}-rs")
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=manifest_body(BUCKET, files))
        self.run(
            render_load(
                self.translated,
                "redshift",
                manifest_url=s3_url(BUCKET, key),
                iam_role_arn=ROLE_ARN,
                files=files,
                load_id=load_id,
            )
        )

    def rows(self, spec: TargetSpec) -> dict[str, list[tuple[Any, ...]]]:
        schema = f'"{spec.schema}"'
        queries = {
            "target": f'SELECT * FROM {schema}."{TABLE}" ORDER BY "_cdc_key"',
            "view": f'SELECT * FROM {schema}."{TABLE}_current" ORDER BY "_cdc_key"',
            "ledger": f'SELECT "file_key", "load_id" FROM {schema}."cdc_ledger" ORDER BY 1',
        }
        if spec.history:
            queries["history"] = f'SELECT * FROM {schema}."{TABLE}_history" ORDER BY "_cdc_key", "_cdc_seq"'
        result = {}
        for name, sql in queries.items():
            with self.direct.connection.cursor() as cursor:
                cursor.execute(sql)
                drop = [i for i, d in enumerate(cursor.description) if d.name == "_cdc_loaded_at"]
                result[name] = [
                    tuple(v for i, v in enumerate(row) if i not in drop) for row in cursor.fetchall()
                ]
            self.direct.connection.commit()
        return result

    def assert_same(self) -> None:
        direct, translated = self.rows(self.spec), self.rows(self.translated)
        assert direct["target"], "the loads produced no rows: the test proves nothing"
        assert translated == direct


@pytest.fixture
def pair_for(pg_server: PostgresServer, pg_schema: str, s3: Any, engine: DataApiEngine) -> Iterator[Any]:
    connections = []

    def make(name: str) -> Pair:
        connection = pg_server.connect()
        connections.append(connection)
        spec = specs(pg_schema)[name]
        direct = LocalWarehouse(spec, connection, s3, BUCKET, PREFIX, dialect="postgresql")
        return Pair(spec, direct, engine, s3)

    yield make
    for connection in connections:
        connection.close()
    cleanup = pg_server.connect(autocommit=True)
    with cleanup.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{pg_schema}_rs" CASCADE')
    cleanup.close()


# ---------------------------------------------------------------------------
# Differential tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(specs("x")))
def test_translated_redshift_load_equals_the_postgresql_dialect(name: str, pair_for: Any, s3: Any) -> None:
    pair = pair_for(name)
    files = ChangeFiles(s3, BUCKET, PREFIX, TABLE)
    spec = pair.spec
    batches = [
        files.write_stream_batch([_record(spec, i, 100 + i, i) for i in range(6)]),
        files.write_stream_batch([_record(spec, i, 200 + i, None if i == 1 else i + 2) for i in range(5)]),
        files.write_stream_batch([_record(spec, i, 150 + i, 3) for i in range(4)]),  # older: mostly skipped
    ]
    pair.load(batches[:1], "load-1")
    pair.load(batches[1:], "load-2")
    pair.load(batches, "load-3")  # a replay of everything changes nothing
    pair.assert_same()


def test_a_compacted_load_through_the_data_api_records_its_raw_files_from_the_ledger_list(
    pair_for: Any, s3: Any
) -> None:
    """emr_compaction: the Redshift text of a compacted load (two COPYs, the ledger list
    COPYed into a temporary table) runs under the Data API emulator's rules and gives
    the rows and ledger the direct load of the raw files gives, plus the compacted key."""
    pair = pair_for("columns_n_and_s_keys")
    files = ChangeFiles(s3, BUCKET, PREFIX, TABLE)
    spec = pair.spec
    batches = [
        files.write_stream_batch([_record(spec, i, 100 + i, i) for i in range(6)]),
        files.write_stream_batch([_record(spec, i, 200 + i, None if i == 1 else i + 2) for i in range(5)]),
    ]
    pair.direct.load(batches, load_id="raw")
    compacted = f"{PREFIX}/compacted/{TABLE}/2026/11/27/04/run/2026112704.gz"
    body = b"".join(
        gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) for key in batches[::-1]
    )
    s3.put_object(Bucket=BUCKET, Key=compacted, Body=gzip.compress(body))
    ledger_list = f"{PREFIX}/compaction/{TABLE}/ledger.json.gz"
    s3.put_object(Bucket=BUCKET, Key=ledger_list, Body=compaction.ledger_list_body(batches))
    ledger_manifest = f"{PREFIX}/compaction/{TABLE}/ledger.manifest.json"
    s3.put_object(Bucket=BUCKET, Key=ledger_manifest, Body=manifest_body(BUCKET, [ledger_list]))
    manifest = manifest_key(PREFIX, TABLE, "compacted")
    s3.put_object(Bucket=BUCKET, Key=manifest, Body=manifest_body(BUCKET, [compacted]))
    pair.run(
        render_load(
            pair.translated,
            "redshift",
            manifest_url=s3_url(BUCKET, manifest),
            iam_role_arn=ROLE_ARN,
            files=[compacted],
            load_id="raw",
            ledger_manifest_url=s3_url(BUCKET, ledger_manifest),
        )
    )
    direct, translated = pair.rows(pair.spec), pair.rows(pair.translated)
    assert direct["target"] and translated["target"] == direct["target"]
    assert translated["ledger"] == sorted([*direct["ledger"], (compacted, "raw")])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.lists(
        st.tuples(st.integers(0, 5), st.one_of(st.none(), st.integers(0, len(IMAGES) - 1))),
        min_size=1,
        max_size=12,
    ),
    cut=st.integers(1, 11),
)
def test_random_change_sequences_give_the_same_rows_both_ways(
    changes: list[tuple[int, int | None]], cut: int, pg_server: PostgresServer, s3: Any, engine: DataApiEngine
) -> None:
    schema = "h_" + format(time.monotonic_ns() % 16**10, "x")
    connection = pg_server.connect()
    try:
        spec = specs(schema)["columns_n_and_s_keys"]
        pair = Pair(spec, LocalWarehouse(spec, connection, s3, BUCKET, PREFIX), engine, s3)
        files = ChangeFiles(s3, BUCKET, PREFIX, TABLE)
        records = [_record(spec, key, 1000 + n, image) for n, (key, image) in enumerate(changes)]
        first, second = records[:cut], records[cut:]
        keys = [files.write_stream_batch(part) for part in (first, second) if part]
        pair.load(keys[::-1], "h-1")  # newest file first: order inside a load must not matter
        pair.load(keys[:1], "h-2")
        pair.assert_same() if any(image is not None for _k, image in changes) else None
    finally:
        connection.close()
        cleanup = pg_server.connect(autocommit=True)
        with cleanup.cursor() as cursor:
            cursor.execute(
                f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; DROP SCHEMA IF EXISTS "{schema}_rs" CASCADE'
            )
        cleanup.close()


# ---------------------------------------------------------------------------
# The translation itself
# ---------------------------------------------------------------------------


def _catalog(schema: str | None, table: str) -> frozenset[str] | None:
    known = {(None, "t"): frozenset({"doc"}), ("s", "t"): frozenset({"doc"}), ("s", "u"): frozenset()}
    return known.get((schema, table))


def test_the_literal_cache_gives_exactly_the_uncached_translation() -> None:
    catalog = {
        (None, "cdc_stage"): frozenset({"keys", "image"}),
        (None, "cdc_latest"): frozenset({"keys", "image"}),
    }

    def lookup(schema: str | None, table: str) -> frozenset[str] | None:
        return catalog.get((schema, table), frozenset({"doc", "reading"}))

    for spec in specs("s").values():
        for load_id in ("first", "it's-2"):
            statements = render_ddl(spec, "redshift") + render_load(
                spec,
                "redshift",
                manifest_url=f"s3://bkt/{load_id.replace(chr(39), '')}.json",
                iam_role_arn=ROLE_ARN,
                files=[f"k/{load_id}/{n}.json.gz" for n in range(30)],
                load_id=load_id.replace("'", ""),
            )
            cached, uncached = Translator(lookup), Translator(lookup, cache=False)
            for statement in statements:
                assert cached.translate(statement) == uncached.translate(statement)


def test_lock_becomes_access_exclusive_and_distribution_clauses_disappear() -> None:
    translator = Translator(_catalog)
    assert (
        translator.translate('LOCK "s"."t", "s"."u"').sql
        == 'LOCK TABLE "s"."t", "s"."u" IN ACCESS EXCLUSIVE MODE'
    )
    ddl = translator.translate(
        'CREATE TABLE IF NOT EXISTS "s"."v" ("k" VARCHAR(10) NOT NULL, "d" SUPER) '
        'DISTSTYLE KEY DISTKEY("k") SORTKEY("k")'
    ).sql
    assert ddl == 'CREATE TABLE IF NOT EXISTS "s"."v" ("k" VARCHAR(10) NOT NULL, "d" JSONB)'


def test_case_sensitivity_setting_decides_how_navigation_reads_attribute_names() -> None:
    session = Session()
    translator = Translator(_catalog, session)
    folded = translator.translate('SELECT "x"."doc"."userId" FROM "s"."t" AS "x"').sql
    assert "ARRAY['userid']" in folded
    assert translator.translate("SET enable_case_sensitive_identifier TO true").kind == "noop"
    assert session.case_sensitive_identifiers
    assert "ARRAY['userId']" in translator.translate('SELECT "x"."doc"."userId" FROM "s"."t" AS "x"').sql


def test_system_tables_and_parameters_translate() -> None:
    translator = Translator(_catalog)
    sql = translator.translate("SELECT TRIM(filename) FROM stl_load_errors WHERE query = :q", {"q": "5'"}).sql
    assert sql == "SELECT TRIM(filename) FROM \"sandbox_redshift_system\".stl_load_errors WHERE query = '5'''"


@pytest.mark.parametrize(
    "statement",
    [
        'CREATE TABLE "s"."v" ("k" INT ENCODE zstd)',
        'CREATE TABLE "s"."v" ("k" INT) BACKUP NO',
        'SELECT "q"."w"."e" FROM "s"."t" AS "x"',  # neither a column nor navigation
        "SELECT JSON_TYPEOF(doc) FROM s.t",
        "SET wlm_query_slot_count TO 2",
        "BEGIN",
        "SELECT * FROM s.t WHERE k = :missing",
        "SELECT CAST('x' AS SUPER)",
        f'CREATE TABLE "s"."{"x" * 64}" ("k" INT)',  # PostgreSQL would cut the name at 63 bytes
        "COPY t FROM 's3://b/k' IAM_ROLE 'arn:aws:iam::123456789012:role/r' FORMAT AS CSV",
    ],
)
def test_unsupported_constructs_raise_instead_of_passing_through(statement: str) -> None:
    with pytest.raises(UnsupportedSql):
        Translator(_catalog).translate(statement)
