"""Faults during a load leave nothing half-done, and the retry lands exactly once."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg2
import pytest
from ddb_cdc.warehouse import KeyAttribute, TargetSpec

from tests.rig.cdc_files import ChangeFiles, stream_record
from tests.rig.loads import LocalWarehouse
from tests.rig.pg_copy import CopyError
from tests.rig.postgres import PostgresServer

from .conftest import BUCKET, PREFIX, TABLE
from .support import expected_rows, read_ledger, read_target, visible

Make = Callable[[TargetSpec], LocalWarehouse]
T0 = 1_795_000_000


class Crash(Exception):
    """Stands for the process dying between two statements."""


def _changes(files: ChangeFiles, first_seq: int, keys: str, *, value: str = "1") -> str:
    records = [
        stream_record(
            "INSERT" if value == "1" else "MODIFY",
            {"id": {"S": key}},
            {"id": {"S": key}, "v": {"N": value}},
            sequence_number=str(first_seq + offset),
            created_s=T0 + first_seq + offset,
            event_id=f"e{first_seq + offset}",
            table=TABLE,
        )
        for offset, key in enumerate(keys)
    ]
    return files.write_stream_batch(records)


def _snapshot(warehouse: LocalWarehouse) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every column of every target and ledger row: what "nothing changed" compares."""
    spec = warehouse.spec
    target = warehouse.query(f'SELECT * FROM "{spec.schema}"."{spec.table}" ORDER BY "_cdc_key"')
    ledger = warehouse.query(f'SELECT * FROM "{spec.schema}"."{spec.ledger_table}" ORDER BY "file_key"')
    return target, ledger


def _expected(files: ChangeFiles, keys: list[str]) -> dict[str, Any]:
    return visible(expected_rows(change for key in keys for change in files.read_envelopes(key)))


def _view(warehouse: LocalWarehouse) -> dict[str, Any]:
    return visible(read_target(warehouse))


@pytest.fixture
def spec(pg_schema: str) -> TargetSpec:
    return TargetSpec(pg_schema, TABLE, (KeyAttribute("id", "S"),))


def test_copy_failing_on_a_missing_file_leaves_nothing_and_the_retry_loads_once(
    make_warehouse: Make, spec: TargetSpec, change_files: ChangeFiles, s3: Any
) -> None:
    warehouse = make_warehouse(spec)
    first = _changes(change_files, 10, "ab")
    warehouse.load([first])
    before = _snapshot(warehouse)
    late = _changes(change_files, 20, "bc", value="2")
    body = s3.get_object(Bucket=BUCKET, Key=late)["Body"].read()
    s3.delete_object(Bucket=BUCKET, Key=late)  # listed in the manifest, not (yet) in S3

    with pytest.raises(CopyError, match="does not exist"):
        warehouse.load([first, late])
    assert _snapshot(warehouse) == before

    s3.put_object(Bucket=BUCKET, Key=late, Body=body)
    warehouse.load([first, late])
    warehouse.load([first, late])  # the retry of the retry: a duplicate delivery
    assert read_ledger(warehouse) == sorted([first, late])
    assert _view(warehouse) == _expected(change_files, [first, late])


@pytest.mark.parametrize("after", ["COPY", "MERGE", "INSERT INTO"])
def test_a_crash_between_statements_before_commit_leaves_nothing_visible(
    make_warehouse: Make, spec: TargetSpec, change_files: ChangeFiles, after: str
) -> None:
    warehouse = make_warehouse(spec)
    file_key = _changes(change_files, 10, "abc")

    def crash(_index: int, statement: str) -> None:
        if statement.startswith(after):
            raise Crash(after)

    with pytest.raises(Crash):
        warehouse.load([file_key], after_statement=crash)
    assert _snapshot(warehouse) == ([], [])
    warehouse.load([file_key])
    assert _view(warehouse) == _expected(change_files, [file_key])
    assert read_ledger(warehouse) == [file_key]


def test_a_connection_killed_after_copy_leaves_nothing_and_a_new_connection_retries(
    make_warehouse: Make, spec: TargetSpec, change_files: ChangeFiles, pg_server: PostgresServer, s3: Any
) -> None:
    warehouse = make_warehouse(spec)
    file_key = _changes(change_files, 10, "abc")
    victim = pg_server.connect()
    doomed = LocalWarehouse(spec, victim, s3, BUCKET, PREFIX)

    def kill(_index: int, statement: str) -> None:
        if statement.startswith("COPY"):
            admin = pg_server.connect(autocommit=True)
            with admin.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", (victim.get_backend_pid(),))
            admin.close()

    with pytest.raises(psycopg2.OperationalError):
        doomed.load([file_key], after_statement=kill)
    assert victim.closed
    assert _snapshot(warehouse) == ([], [])
    warehouse.load([file_key])
    assert read_ledger(warehouse) == [file_key]


def test_a_duplicate_load_of_the_same_files_changes_nothing_at_all(
    make_warehouse: Make, spec: TargetSpec, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(TargetSpec(spec.schema, spec.table, spec.keys, history=True))
    files = [_changes(change_files, 10, "abc"), _changes(change_files, 20, "cd", value="2")]
    warehouse.load(files)
    before = _snapshot(warehouse)
    history = warehouse.query(f'SELECT * FROM "{spec.schema}"."{spec.table}_history" ORDER BY 1, 2, 3, 4, 5')
    time.sleep(0.01)  # a later load would stamp a later _cdc_loaded_at if it wrote anything
    warehouse.load(files, load_id="duplicate-delivery")
    warehouse.load(list(reversed(files)), load_id="reordered")
    assert _snapshot(warehouse) == before
    assert (
        warehouse.query(f'SELECT * FROM "{spec.schema}"."{spec.table}_history" ORDER BY 1, 2, 3, 4, 5')
        == history
    )


@pytest.mark.parametrize("isolation", ["READ COMMITTED", "REPEATABLE READ"])
def test_two_concurrent_loaders_are_serialized_by_the_lock_and_both_land(
    make_warehouse: Make,
    spec: TargetSpec,
    change_files: ChangeFiles,
    pg_server: PostgresServer,
    s3: Any,
    isolation: str,
) -> None:
    """REPEATABLE READ stands in for Redshift's snapshot isolation: taking the lock
    first means each loader's snapshot starts after the other one committed."""
    make_warehouse(spec)  # DDL
    first = _changes(change_files, 10, "abcd")
    second = _changes(change_files, 20, "cdef", value="2")
    shared = [first, second]
    events: dict[str, float] = {}
    a_holds_lock = threading.Event()
    errors: list[BaseException] = []

    def loader(name: str, files: list[str]) -> None:
        connection = pg_server.connect()
        connection.set_session(isolation_level=isolation)
        warehouse = LocalWarehouse(spec, connection, s3, BUCKET, PREFIX)

        def hook(index: int, statement: str) -> None:
            if statement.startswith("LOCK"):
                events[f"{name}_locked"] = time.monotonic()
                if name == "a":
                    a_holds_lock.set()
                    time.sleep(0.4)  # hold the lock while the other loader arrives
            # The last statement has run; only the commit, which releases the lock, follows.
            events[f"{name}_last_statement"] = time.monotonic()

        try:
            warehouse.load(files, after_statement=hook)
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    a = threading.Thread(target=loader, args=("a", [first, second]))
    b = threading.Thread(target=loader, args=("b", [second, first]))
    a.start()
    assert a_holds_lock.wait(10)
    b.start()
    a.join(30)
    b.join(30)
    assert errors == []
    assert events["b_locked"] > events["a_last_statement"], (
        "the second loader must wait for the first to commit"
    )

    checker = LocalWarehouse(spec, pg_server.connect(), s3, BUCKET, PREFIX)
    try:
        assert read_ledger(checker) == sorted(shared)
        assert _view(checker) == _expected(change_files, shared)
    finally:
        checker.connection.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not gzip at all", "not a valid gzip file"),
        (gzip.compress(b'{"envelope_version":1,"op":"INSERT",\n'), "invalid JSON"),
    ],
)
def test_a_corrupt_file_fails_the_whole_load_with_an_error_naming_it_and_later_files_still_load(
    make_warehouse: Make, spec: TargetSpec, change_files: ChangeFiles, body: bytes, message: str
) -> None:
    warehouse = make_warehouse(spec)
    good = _changes(change_files, 10, "ab")
    corrupt = f"{PREFIX}/raw/{TABLE}/2026/11/27/03/corrupt.json.gz"
    change_files.put_raw(corrupt, body)
    with pytest.raises(CopyError, match=message) as caught:
        warehouse.load([good, corrupt])
    assert caught.value.url == f"s3://{BUCKET}/{corrupt}"
    assert _snapshot(warehouse) == ([], [])
    # The loader's quarantine takes the bad file out of later batches; the rest loads.
    later = _changes(change_files, 30, "bc", value="3")
    warehouse.load([good, later])
    assert _view(warehouse) == _expected(change_files, [good, later])


def test_an_envelope_without_its_ordering_token_fails_the_load_at_copy(
    make_warehouse: Make, spec: TargetSpec, change_files: ChangeFiles
) -> None:
    warehouse = make_warehouse(spec)
    broken = f"{PREFIX}/raw/{TABLE}/2026/11/27/03/no-seq.json.gz"
    line = b'{"envelope_version":1,"op":"INSERT","keys":{"id":"a"},"key_string":"[]","approx_created_at":"2026-11-27T03:00:00.000Z"}\n'
    change_files.put_raw(broken, gzip.compress(line))
    with pytest.raises(CopyError, match="NOT NULL") as caught:
        warehouse.load([broken])
    assert (caught.value.line, caught.value.column) == (1, "seq")
