"""Helpers shared by the warehouse tests: the table model, the oracle, readers.

The oracle (``expected_rows``) states contract 3 as plainly as possible: after any set of
files has been loaded, in any order and any number of times, the target holds for each
key the change with the highest ordering ``(seq, approx_created_at)`` among all
envelopes of those files; the row is a tombstone when that change is a REMOVE, and the
view shows exactly the non-tombstones. ``approx_created_at`` only matters between
backfill snapshots (all ``seq`` 0): stream changes never share a ``seq``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any

from ddb_cdc.envelope import rebuild_item
from hypothesis import HealthCheck, settings

from tests.rig.cdc_files import stream_record
from tests.rig.loads import LocalWarehouse

# The normal run and the documented long run (HYPOTHESIS_PROFILE=thorough).
THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"


def property_settings(normal: int, thorough: int) -> settings:
    return settings(
        max_examples=thorough if THOROUGH else normal,
        deadline=None,  # a load is a few database round trips; their time varies
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def exact_json(text: str) -> Any:
    return normalize(json.loads(text, parse_float=Decimal))


# Decimal.normalize() rounds to the context's precision (28 digits by default); DynamoDB
# numbers have up to 38 significant digits and exponents to 125, so compare exactly.
_EXACT = Context(prec=400, Emin=-999, Emax=999)


def exact_decimal(value: Any) -> Decimal:
    return _EXACT.normalize(Decimal(str(value)))


def normalize(value: Any) -> Any:
    """Numbers as exact Decimal (1, 1.0 and 1.00 compare equal), containers recursively."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return exact_decimal(value)
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    raise TypeError(f"not JSON: {value!r}")


def plain(attribute: Mapping[str, Any]) -> Any:
    """A DynamoDB JSON value as the plain JSON the envelope carries (S/N/M/L/BOOL/NULL)."""
    ((tag, value),) = attribute.items()
    if tag == "S":
        return value
    if tag == "N":
        return exact_decimal(value)
    if tag == "BOOL":
        return value
    if tag == "NULL":
        return None
    if tag == "M":
        return {name: plain(inner) for name, inner in value.items()}
    if tag == "L":
        return [plain(inner) for inner in value]
    raise AssertionError(f"the model does not use {tag}")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Row:
    """What the test compares of one target row."""

    seq: str
    op: str
    deleted: bool
    doc: Any
    source_ts: datetime


def expected_rows(envelopes: Iterable[Mapping[str, Any]]) -> dict[str, Row]:
    best: dict[str, Mapping[str, Any]] = {}
    for change in envelopes:
        key = change["key_string"]
        order = (change["seq"], change["approx_created_at"])
        current = best.get(key)
        if current is None or order > (current["seq"], current["approx_created_at"]):
            best[key] = change
    return {
        key: Row(
            change["seq"],
            change["op"],
            change["op"] == "REMOVE",
            # The item the change carries, rebuilt from the envelope (a string holding NUL
            # is stored in pieces): what the warehouse must give back.
            None
            if change["op"] == "REMOVE"
            else plain(
                {"M": rebuild_item(change["image"], change.get("exact_numbers"), change.get("exact_types"))}
            ),
            parse_time(change["approx_created_at"]),
        )
        for key, change in best.items()
    }


def visible(rows: Mapping[str, Row]) -> dict[str, Any]:
    return {key: row.doc for key, row in rows.items() if not row.deleted}


def _document(doc: str | None, exact_numbers: str | None, exact_types: str | None) -> Any:
    """The item as a consumer rebuilds it (``rebuild_item``: every digit SUPER may have
    changed, strings stored in pieces), in the oracle's plain form."""
    if doc is None:
        return None
    parsed = [
        None if text is None else json.loads(text, parse_float=Decimal)
        for text in (doc, exact_numbers, exact_types)
    ]
    return plain({"M": rebuild_item(*parsed)})


def read_target(warehouse: LocalWarehouse) -> dict[str, Row]:
    spec = warehouse.spec
    rows = warehouse.query(
        'SELECT "_cdc_key", "_cdc_seq", "_cdc_op", "_cdc_deleted", "doc"::text, "_cdc_exact_numbers"::text, '
        f'"_cdc_exact_types"::text, "_cdc_source_ts" FROM "{spec.schema}"."{spec.table}"'
    )
    return {
        key: Row(seq, op, deleted, _document(doc, numbers, types), source_ts)
        for key, seq, op, deleted, doc, numbers, types, source_ts in rows
    }


def read_view(warehouse: LocalWarehouse) -> dict[str, Any]:
    spec = warehouse.spec
    rows = warehouse.query(
        f'SELECT "_cdc_key", "doc"::text, "_cdc_exact_numbers"::text, "_cdc_exact_types"::text '
        f'FROM "{spec.schema}"."{spec.current_view}"'
    )
    return {key: _document(doc, numbers, types) for key, doc, numbers, types in rows}


def read_ledger(warehouse: LocalWarehouse) -> list[str]:
    spec = warehouse.spec
    rows = warehouse.query(
        f'SELECT "file_key" FROM "{spec.schema}"."{spec.ledger_table}" WHERE "target_table" = %s',
        [spec.target_name],
    )
    return sorted(key for (key,) in rows)


def read_history(warehouse: LocalWarehouse) -> list[tuple[str, str, datetime, str]]:
    spec = warehouse.spec
    rows = warehouse.query(
        'SELECT "_cdc_key", "_cdc_seq", "_cdc_source_ts", "_cdc_op" '
        f'FROM "{spec.schema}"."{spec.history_table}"'
    )
    return sorted(rows)


def distinct_changes(envelopes: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, datetime, str]]:
    return sorted(
        {(e["key_string"], e["seq"], parse_time(e["approx_created_at"]), e["op"]) for e in envelopes}
    )


# ---------------------------------------------------------------------------
# A tiny DynamoDB table model that emits Lambda-shaped stream records
# ---------------------------------------------------------------------------


BASE_SECONDS = 1_795_000_000  # late 2026; records are 10 minutes apart, so hours roll over


class TableModel:
    """Applies puts and deletes like DynamoDB and records the stream they produce.

    A put of an existing key is a MODIFY, of a new key an INSERT; a delete of a missing
    key produces no record (as in DynamoDB). Every put increments ``rev``, so no put is
    a no-op (DynamoDB writes no record for an unchanged item).
    """

    def __init__(self, table: str, first_sequence: int, initial: Mapping[str, dict[str, Any]] | None = None):
        self.table = table
        self.items: dict[str, dict[str, Any]] = {key: dict(item) for key, item in (initial or {}).items()}
        self.records: list[dict[str, Any]] = []
        self.states: list[dict[str, dict[str, Any]]] = [self._copy()]  # state before record i
        self._next_sequence = first_sequence
        self._rev = 0

    def _copy(self) -> dict[str, dict[str, Any]]:
        return {key: dict(item) for key, item in self.items.items()}

    def _record(self, event_name: str, key: str, image: dict[str, Any] | None) -> None:
        index = len(self.records)
        self.records.append(
            stream_record(
                event_name,
                {"id": {"S": key}},
                image,
                sequence_number=str(self._next_sequence),
                created_s=BASE_SECONDS + index * 600,
                event_id=f"{index:032x}",
                table=self.table,
            )
        )
        self._next_sequence += 1 + index % 3
        self.states.append(self._copy())

    def put(self, key: str, value: dict[str, Any], nested: bool) -> None:
        self._rev += 1
        item: dict[str, Any] = {"id": {"S": key}, "rev": {"N": str(self._rev)}, "v": value}
        if nested:
            item["nested"] = {"M": {"deep": value, "list": {"L": [value, {"NULL": True}]}}}
        event_name = "MODIFY" if key in self.items else "INSERT"
        self.items[key] = item
        self._record(event_name, key, item)

    def delete(self, key: str) -> None:
        if key in self.items:
            del self.items[key]
            self._record("REMOVE", key, None)


def snapshot_time_ms(position: int) -> int:
    """A backfill at stream position p scans later than one at p-1: later snapshots win."""
    return (BASE_SECONDS + position * 600) * 1000 + 1


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
