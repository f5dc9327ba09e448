"""The load transaction, executed on a real PostgreSQL, behaves as contract 3 says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from ddb_cdc.envelope import apply_exact_numbers
from ddb_cdc.warehouse import (
    ColumnSpec,
    KeyAttribute,
    LedgerStatus,
    TargetSpec,
    render_ddl,
    render_ledgered_files,
    render_newest_change,
    render_status,
    target_column_names,
)
from ddb_cdc.warehouse.sql import raw_prefix

from tests.rig.cdc_files import ChangeFiles, stream_record
from tests.rig.loads import LocalWarehouse

from .conftest import PREFIX, TABLE
from .support import exact_json, read_history, read_ledger, read_target, read_view

Make = Callable[[TargetSpec], LocalWarehouse]
T0 = 1_795_000_000


def change(
    event: str, key: str, seq: int, image: dict[str, Any] | None = None, *, at: int = 0
) -> dict[str, Any]:
    """A stream record for key ``id``; ``image`` is given in DynamoDB JSON without the key."""
    full = None if image is None else {"id": {"S": key}, **image}
    return stream_record(
        event,
        {"id": {"S": key}},
        full,
        sequence_number=str(seq),
        created_s=T0 + at,
        event_id=f"e{seq}",
        table=TABLE,
    )


def doc(key: str, **values: Any) -> dict[str, Any]:
    return {
        "id": key,
        **{name: Decimal(value) if isinstance(value, int) else value for name, value in values.items()},
    }


def key_string(key: str) -> str:
    return f'[["id","S","{key}"]]'


def document_spec(schema: str, *, history: bool = False) -> TargetSpec:
    return TargetSpec(schema, TABLE, (KeyAttribute("id", "S"),), history=history)


# ---------------------------------------------------------------------------
# DDL
# ---------------------------------------------------------------------------


def test_ddl_is_idempotent_and_keeps_loaded_rows(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema, history=True))
    warehouse.load([change_files.write_stream_batch([change("INSERT", "a", 10, {"n": {"N": "1"}})])])
    warehouse.create()
    warehouse.create()
    assert read_view(warehouse) == {key_string("a"): doc("a", n=1)}
    relations = warehouse.query(
        "SELECT relname, relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE nspname = %s AND relkind IN ('r', 'v') ORDER BY relname",
        [pg_schema],
    )
    assert relations == [
        ("cdc_ledger", "r"),
        ("orders", "r"),
        ("orders_current", "v"),
        ("orders_history", "r"),
    ]
    for table in ("orders", "orders_history"):
        columns = warehouse.query(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
            [f'"{pg_schema}"."{table}"'],
        )
        assert [name for (name,) in columns] == target_column_names(warehouse.spec)


def test_ddl_renders_the_same_statements_every_time() -> None:
    spec = document_spec("cdc", history=True)
    assert render_ddl(spec, "postgresql") == render_ddl(spec, "postgresql")
    assert all(
        "IF NOT EXISTS" in s or s.startswith("CREATE OR REPLACE VIEW") for s in render_ddl(spec, "redshift")
    )


# ---------------------------------------------------------------------------
# Upserts, tombstones and the "only if newer" rule
# ---------------------------------------------------------------------------


def test_remove_after_insert_leaves_a_tombstone_that_the_view_hides(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema))
    batch = [change("INSERT", "a", 10, {"n": {"N": "1"}}), change("REMOVE", "a", 11, at=5)]
    warehouse.load([change_files.write_stream_batch(batch)])
    row = read_target(warehouse)[key_string("a")]
    assert (row.seq, row.op, row.deleted, row.doc) == ("0" * 38 + "11", "REMOVE", True, None)
    assert read_view(warehouse) == {}


def test_an_insert_after_a_remove_brings_the_key_back(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema))
    warehouse.load(
        [
            change_files.write_stream_batch(
                [change("INSERT", "a", 10, {"n": {"N": "1"}}), change("REMOVE", "a", 11)]
            )
        ]
    )
    warehouse.load([change_files.write_stream_batch([change("INSERT", "a", 12, {"n": {"N": "2"}})])])
    assert read_view(warehouse) == {key_string("a"): doc("a", n=2)}


def test_the_latest_change_per_key_wins_within_one_load_whatever_the_file_order(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema))
    newer = change_files.write_stream_batch([change("MODIFY", "a", 30, {"n": {"N": "3"}})])
    older = change_files.write_stream_batch([change("INSERT", "a", 20, {"n": {"N": "2"}})])
    warehouse.load([newer, older])
    assert read_view(warehouse) == {key_string("a"): doc("a", n=3)}


def test_an_older_file_loaded_late_changes_nothing(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema))
    older = change_files.write_stream_batch([change("INSERT", "a", 20, {"n": {"N": "2"}})])
    newer = change_files.write_stream_batch([change("MODIFY", "a", 30, {"n": {"N": "3"}})])
    warehouse.load([newer])
    before = warehouse.query(f'SELECT * FROM "{pg_schema}"."{TABLE}"')
    warehouse.load([older])
    assert warehouse.query(f'SELECT * FROM "{pg_schema}"."{TABLE}"') == before
    assert read_ledger(warehouse) == sorted([older, newer])


def test_sequence_numbers_of_different_lengths_order_numerically(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema))
    # As strings "99999999999999999999" > "100000000000000000000"; padded to 40 they order right.
    warehouse.load(
        [
            change_files.write_stream_batch([change("INSERT", "a", 10**20, {"n": {"N": "2"}})]),
            change_files.write_stream_batch([change("MODIFY", "a", 10**20 - 1, {"n": {"N": "1"}})]),
        ]
    )
    assert read_view(warehouse) == {key_string("a"): doc("a", n=2)}


# ---------------------------------------------------------------------------
# Backfill snapshots
# ---------------------------------------------------------------------------


def _snapshot(files: ChangeFiles, key: str, n: int, *, at_ms: int, name: str) -> str:
    item = {"id": {"S": key}, "n": {"N": str(n)}}
    return files.write_snapshot([item], ["id"], at_ms, name)


def test_a_snapshot_never_overwrites_a_newer_streamed_change(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema))
    warehouse.load([change_files.write_stream_batch([change("MODIFY", "a", 50, {"n": {"N": "5"}})])])
    warehouse.load([_snapshot(change_files, "a", 4, at_ms=(T0 + 99) * 1000, name="backfill")])
    assert read_view(warehouse) == {key_string("a"): doc("a", n=5)}


def test_a_snapshot_never_resurrects_a_deleted_key(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema))
    warehouse.load([change_files.write_stream_batch([change("REMOVE", "a", 50)])])
    snapshot = _snapshot(change_files, "a", 4, at_ms=T0 * 1000, name="backfill")
    warehouse.load([snapshot])
    assert read_view(warehouse) == {}
    assert read_target(warehouse)[key_string("a")].seq == "0" * 38 + "50"


def test_a_snapshot_fills_a_key_the_stream_never_saw_and_the_stream_then_wins(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema))
    warehouse.load([_snapshot(change_files, "old", 1, at_ms=T0 * 1000, name="backfill")])
    assert read_view(warehouse) == {key_string("old"): doc("old", n=1)}
    assert read_target(warehouse)[key_string("old")].op == "SNAPSHOT"
    warehouse.load([change_files.write_stream_batch([change("MODIFY", "old", 60, {"n": {"N": "6"}})])])
    assert read_view(warehouse) == {key_string("old"): doc("old", n=6)}


def test_between_two_snapshots_the_later_scan_wins_in_either_load_order(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    early = _snapshot(change_files, "a", 1, at_ms=T0 * 1000, name="early")
    late = _snapshot(change_files, "a", 2, at_ms=(T0 + 60) * 1000, name="late")
    for number, loads in enumerate(([[early], [late]], [[late], [early]], [[early, late]], [[late, early]])):
        warehouse = make_warehouse(TargetSpec(pg_schema, f"orders_{number}", (KeyAttribute("id", "S"),)))
        for files in loads:
            warehouse.load(files)
        assert read_view(warehouse) == {key_string("a"): doc("a", n=2)}, loads


# ---------------------------------------------------------------------------
# History and ledger
# ---------------------------------------------------------------------------


def test_history_records_every_distinct_change_once_however_often_it_is_loaded(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema, history=True))
    batch = [change("INSERT", "a", 10, {"n": {"N": "1"}}), change("MODIFY", "a", 11, {"n": {"N": "2"}})]
    first = change_files.write_stream_batch(batch)
    overlap = change_files.write_stream_batch(batch[1:])  # a bisected retry's smaller object
    warehouse.load([first, overlap], manifest_files=[first, overlap, first])
    warehouse.load([overlap])
    history = read_history(warehouse)
    assert [(seq[-2:], op) for _key, seq, _ts, op in history] == [("10", "INSERT"), ("11", "MODIFY")]
    docs = warehouse.query(f'SELECT "doc"::text FROM "{pg_schema}"."orders_history" ORDER BY "_cdc_seq"')
    assert [exact_json(text) for (text,) in docs] == [doc("a", n=1), doc("a", n=2)]


def test_ledger_queries_report_loaded_files_and_the_high_water_mark(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    spec = document_spec(pg_schema)
    warehouse = make_warehouse(spec)
    early = change_files.write_stream_batch([change("INSERT", "a", 10, {"n": {"N": "1"}}, at=0)])
    late = change_files.write_stream_batch([change("INSERT", "b", 11, {"n": {"N": "1"}}, at=7200)])
    warehouse.load([early, late])
    candidates = [early, late, "cdc/prod/raw/orders/2027/01/01/00/never.json.gz"]
    found = [
        row[0]
        for statement in render_ledgered_files(spec, "postgresql", candidates)
        for row in warehouse.query(statement)
    ]
    assert sorted(found) == sorted([early, late])

    status = LedgerStatus.from_row(
        warehouse.query(render_status(spec, "postgresql", key_prefix=raw_prefix(PREFIX, TABLE)))[0]
    )
    assert (status.files, status.max_file_key) == (2, late)
    assert status.high_water_hour_ms == (T0 + 7200) // 3600 * 3600 * 1000
    # The newest change loaded is the later one's DynamoDB time (UTC wall time, no zone).
    ((newest,),) = warehouse.query(render_newest_change(spec, "postgresql"))
    assert newest == datetime.fromtimestamp(T0 + 7200, UTC).replace(tzinfo=None)
    empty = LedgerStatus.from_row(warehouse.query(render_status(spec, "postgresql", key_prefix="other/"))[0])
    assert (empty.files, empty.max_file_key, empty.high_water_hour_ms) == (0, None, None)


def test_target_rows_and_ledger_rows_of_one_load_share_its_id_and_clock(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(document_spec(pg_schema))
    file_key = change_files.write_stream_batch([change("INSERT", "a", 10, {"n": {"N": "1"}})])
    warehouse.load([file_key], load_id="load-0001")
    [(target_id, target_at)] = warehouse.query(
        f'SELECT "_cdc_load_id", "_cdc_loaded_at" FROM "{pg_schema}"."{TABLE}"'
    )
    [(ledger_id, ledger_at)] = warehouse.query(
        f'SELECT "load_id", "loaded_at" FROM "{pg_schema}"."cdc_ledger"'
    )
    assert (target_id, target_at) == (ledger_id, ledger_at) == ("load-0001", target_at)


# ---------------------------------------------------------------------------
# Values and columns mode
# ---------------------------------------------------------------------------


def test_no_number_changes_silently_the_exact_text_rides_beside_the_document(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    """Redshift does not document what SUPER keeps of these numbers; the emulator assumes
    the worst (float8, rule super_number). The row still carries every exact text."""
    warehouse = make_warehouse(document_spec(pg_schema))
    tokens = {
        "big": "12345678901234567890123456789012345678",  # 38 digits
        "huge": "1E+125",
        "tiny": "1E-36",
        "trailing": "1.50",
        "frac": "0.10000000000000000000000000000000000001",
        "limit": "9.9999999999999999999999999999999999999E+125",
        "smallest": "1E-130",
    }
    image = {name: {"N": token} for name, token in tokens.items()}
    image["safe"] = {"N": "-12.25"}
    image["set"] = {"NS": ["3", "1.5", "12345678901234567890"]}
    image["nested"] = {"M": {"list": {"L": [{"N": "1"}, {"N": "1E+125"}]}}}
    warehouse.load([change_files.write_stream_batch([change("INSERT", "a", 10, image)])])
    [(doc, exact)] = warehouse.query(
        f'SELECT "doc"::text, "_cdc_exact_numbers"::text FROM "{pg_schema}"."{TABLE}"'
    )
    stored, mirror = exact_json(doc), exact_json(exact)
    # The emulated SUPER changed them (as Redshift may): the test would prove nothing otherwise.
    assert stored["big"] != Decimal(tokens["big"])
    assert str(stored["trailing"]) == "1.5"
    # ... and the exact text of each is in the row, under the same path.
    assert {name: mirror[name] for name in tokens} == tokens
    assert "safe" not in mirror
    assert mirror["set"] == {"2": "12345678901234567890"}
    assert mirror["nested"] == {"list": {"1": "1E+125"}}
    rebuilt = apply_exact_numbers(stored, mirror)
    for name, token in tokens.items():
        assert rebuilt[name] == Decimal(token)
        assert str(rebuilt[name]) == str(Decimal(token))
    assert rebuilt["safe"] == Decimal("-12.25")
    assert rebuilt["set"] == [Decimal("1.5"), Decimal(3), Decimal("12345678901234567890")]


@pytest.fixture
def columns_warehouse(make_warehouse: Make, pg_schema: str) -> LocalWarehouse:
    spec = TargetSpec(
        pg_schema,
        TABLE,
        (KeyAttribute("id", "S"),),
        mode="columns",
        columns=(
            ColumnSpec("total", "DECIMAL(12,2)", ("Order", "Total")),
            ColumnSpec("city", "VARCHAR(8)", ("ship to", "city's name")),
            ColumnSpec("paid", "BOOLEAN", ("paid",)),
            ColumnSpec("qty", "INTEGER", ("qty",)),
            ColumnSpec("placed", "TIMESTAMP", ("placedAt",)),
            ColumnSpec("lines", "SUPER", ("lines",)),
            ColumnSpec("absent", "BIGINT", ("does", "not", "exist")),
        ),
    )
    return make_warehouse(spec)


def test_columns_mode_extracts_typed_values_by_case_sensitive_path(
    columns_warehouse: LocalWarehouse, change_files: ChangeFiles
) -> None:
    image = {
        "Order": {"M": {"Total": {"N": "12.345"}, "total": {"N": "999"}}},
        "ship to": {"M": {"city's name": {"S": "Lyon"}}},
        "paid": {"BOOL": True},
        "qty": {"N": "3"},
        "placedAt": {"S": "2026-11-27T03:49:52Z"},
        "lines": {"L": [{"M": {"sku": {"S": "x"}}}]},
    }
    columns_warehouse.load([change_files.write_stream_batch([change("INSERT", "a", 10, image)])])
    [row] = columns_warehouse.query(
        f'SELECT "id", "total", "city", "paid", "qty", "placed", "lines"::text, "absent" '
        f'FROM "{columns_warehouse.spec.schema}"."{TABLE}"'
    )
    assert row[:5] == ("a", Decimal("12.35"), "Lyon", True, 3)
    assert row[5].isoformat() == "2026-11-27T03:49:52"
    assert exact_json(row[6]) == [{"sku": "x"}]
    # A path that does not exist in the data gives NULL, as Redshift's lax navigation does.
    assert row[7] is None


def test_columns_mode_flags_every_value_that_did_not_fit_instead_of_failing_the_load(
    columns_warehouse: LocalWarehouse, change_files: ChangeFiles
) -> None:
    """Redshift's lax casts give NULL for a value of the wrong type; the row names each
    such column in _cdc_unfit, so no value disappears without a trace."""
    image = {
        "Order": {"M": {"Total": {"S": "twelve"}}},
        "ship to": {"M": {"city's name": {"M": {"nested": {"S": "object"}}}}},
        "paid": {"S": "yes please"},
        "qty": {"N": "3.5"},
        "placedAt": {"S": "not a time"},
    }
    columns_warehouse.load([change_files.write_stream_batch([change("INSERT", "a", 10, image)])])
    [row] = columns_warehouse.query(
        f'SELECT "total", "city", "paid", "qty", "placed", "lines", "absent", "_cdc_unfit" '
        f'FROM "{columns_warehouse.spec.schema}"."{TABLE}"'
    )
    # A character column takes any JSON value as its text (here cut to VARCHAR(8)).
    assert row[:7] == (None, '{"nested', None, None, None, None, None)
    # A missing path (absent, lines) is no loss; everything else is named.
    assert row[7] == "total,city,paid,qty,placed,"


def test_columns_mode_keeps_numbers_and_booleans_as_text_in_character_columns(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    spec = TargetSpec(
        pg_schema,
        TABLE,
        (KeyAttribute("id", "S"),),
        mode="columns",
        columns=(
            ColumnSpec("n", "VARCHAR(64)", ("n",)),
            ColumnSpec("b", "VARCHAR(8)", ("b",)),
            ColumnSpec("s", "VARCHAR(8)", ("s",)),
            ColumnSpec("total", "DECIMAL(12,2)", ("total",)),
        ),
    )
    warehouse = make_warehouse(spec)
    image = {"n": {"N": "42"}, "b": {"BOOL": True}, "s": {"S": "exactly8"}, "total": {"N": "12.5"}}
    warehouse.load([change_files.write_stream_batch([change("INSERT", "a", 10, image)])])
    [row] = warehouse.query(f'SELECT "n", "b", "s", "total", "_cdc_unfit" FROM "{pg_schema}"."{TABLE}"')
    assert row == ("42", "true", "exactly8", Decimal("12.50"), None)


def test_typed_key_columns_for_number_and_binary_keys(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    spec = TargetSpec(
        pg_schema,
        TABLE,
        (KeyAttribute("pk", "B"), KeyAttribute("sk", "N")),
        key_column_types={"sk": "DECIMAL(38,2)"},
    )
    warehouse = make_warehouse(spec)
    record = stream_record(
        "INSERT",
        {"pk": {"B": "AAEC"}, "sk": {"N": "1.5"}},
        {"pk": {"B": "AAEC"}, "sk": {"N": "1.5"}, "v": {"S": "x"}},
        sequence_number="10",
        created_s=T0,
        event_id="e10",
        table=TABLE,
    )
    warehouse.load([change_files.write_stream_batch([record])])
    assert warehouse.query(f'SELECT "pk", "sk", "_cdc_key" FROM "{pg_schema}"."{TABLE}"') == [
        ("AAEC", Decimal("1.50"), '[["pk","B","AAEC"],["sk","N","1.5"]]')
    ]


def test_keys_that_round_to_the_same_typed_value_stay_separate_rows(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    # DECIMAL(38,0) rounds 1.4 and 1.2 to 1; identity is _cdc_key, so both rows remain.
    warehouse = make_warehouse(TargetSpec(pg_schema, TABLE, (KeyAttribute("n", "N"),)))
    records = [
        stream_record(
            "INSERT",
            {"n": {"N": value}},
            {"n": {"N": value}},
            sequence_number=seq,
            created_s=T0,
            event_id=seq,
            table=TABLE,
        )
        for value, seq in (("1.4", "10"), ("1.2", "11"))
    ]
    warehouse.load([change_files.write_stream_batch(records)])
    rows = warehouse.query(f'SELECT "n", "_cdc_key" FROM "{pg_schema}"."{TABLE}" ORDER BY "_cdc_key"')
    assert rows == [(Decimal(1), '[["n","N","1.2"]]'), (Decimal(1), '[["n","N","1.4"]]')]


def test_ledger_status_reads_the_data_apis_text_timestamp_like_a_datetime():
    from datetime import datetime

    from ddb_cdc.warehouse import LedgerStatus

    status = LedgerStatus.from_row(("3", "k", "2026-11-27 04:00:00.123456"))
    assert status.files == 3 and status.last_loaded_at == datetime(2026, 11, 27, 4, 0, 0, 123456)


def test_columns_mode_missing_values_huge_values_and_rounding_never_go_unnoticed(
    make_warehouse: Make, pg_schema: str, change_files: ChangeFiles
) -> None:
    """A missing attribute and a tombstone are NULL (JSON_SERIALIZE of NULL is the text
    'null' in Redshift); a map whose JSON is over 65,535 bytes is NULL and flagged instead
    of failing the load (JSON_SERIALIZE refuses it); a number rounded to the declared
    scale is flagged."""
    spec = TargetSpec(
        pg_schema,
        TABLE,
        (KeyAttribute("id", "S"),),
        mode="columns",
        columns=(
            ColumnSpec("note", "VARCHAR(16)", ("note",)),
            ColumnSpec("blob", "VARCHAR(65535)", ("blob",)),
            ColumnSpec("total", "DECIMAL(12,2)", ("total",)),
        ),
    )
    warehouse = make_warehouse(spec)
    huge = {"M": {f"k{index}": {"S": "x" * 1000} for index in range(70)}}
    records = [
        change("INSERT", "missing", 10, {"total": {"N": "2.5"}}),
        change("INSERT", "huge", 11, {"blob": huge, "total": {"N": "1.005"}}),
        change("INSERT", "gone", 12, {"note": {"S": "bye"}}),
        change("REMOVE", "gone", 13, None),
    ]
    warehouse.load([change_files.write_stream_batch(records)])
    rows = {
        row[0]: row[1:]
        for row in warehouse.query(
            f'SELECT "id", "note", "blob", "total", "_cdc_unfit" FROM "{pg_schema}"."{TABLE}" ORDER BY 1'
        )
    }
    assert rows["missing"] == (None, None, Decimal("2.50"), None)
    assert rows["huge"] == (None, None, Decimal("1.01"), "blob,total,")
    assert rows["gone"][:3] == (None, None, None)
