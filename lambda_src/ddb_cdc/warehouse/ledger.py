"""Reading the ledger's status row (see :func:`ddb_cdc.warehouse.sql.render_status`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ddb_cdc import layout


@dataclass(frozen=True, slots=True)
class LedgerStatus:
    files: int
    max_file_key: str | None
    last_loaded_at: datetime | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> LedgerStatus:
        files, max_file_key, last_loaded_at = row
        return cls(int(files or 0), max_file_key, _timestamp(last_loaded_at))

    @property
    def high_water_hour_ms(self) -> int | None:
        """Start of the newest loaded hour (epoch ms), read from the highest raw file key.

        None when nothing is loaded yet or the key is not a raw layout key. A scheduled
        loader lists from this hour minus its safety margin.
        """
        if self.max_file_key is None:
            return None
        try:
            return layout.parse_object_key(self.max_file_key).hour_ms
        except layout.LayoutError:
            return None


def _timestamp(value: Any) -> datetime | None:
    """The Data API returns TIMESTAMP columns as text ("2026-11-27 04:00:00.123456"); psycopg2
    returns a datetime. Both are UTC wall time without a zone."""
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
