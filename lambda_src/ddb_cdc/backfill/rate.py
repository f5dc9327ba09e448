"""A per-segment read-unit limiter, so a backfill cannot starve the table's own traffic.

Each Scan page is charged what DynamoDB says it cost (``ConsumedCapacity`` with
``ReturnConsumedCapacity=TOTAL``) or, when the response carries none, an estimate by
DynamoDB's own rule for an eventually consistent Scan: 0.5 read units per started 4 KB
of the items read (the page's total size, rounded up). The limiter then holds the next
page back until the units spent so far fit the configured rate, so over any stretch of
an invocation a segment reads at most ``rate x seconds`` plus one page.

The clock and the sleep are injected: tests run whole scans without sleeping.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

UNIT_BYTES: Final = 4096
UNITS_PER_STARTED_BLOCK: Final = 0.5  # eventually consistent reads (ConsistentRead false)


def _binary_size(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    try:
        return len(base64.b64decode(value))
    except (TypeError, ValueError):
        return len(str(value))


def _number_size(text: Any) -> int:
    # DynamoDB stores numbers as variable-length decimal: about one byte per two
    # significant digits, plus one.
    digits = sum(ch.isdigit() for ch in str(text).split("e")[0].split("E")[0])
    return (digits + 1) // 2 + 1


def value_size(attr: Mapping[str, Any]) -> int:
    """Approximate stored size of one typed value, by DynamoDB's documented item size rules."""
    ((tag, value),) = attr.items() if len(attr) == 1 else (("NULL", True),)
    if tag == "S":
        return len(str(value).encode("utf-8", "surrogatepass"))
    if tag == "N":
        return _number_size(value)
    if tag == "B":
        return _binary_size(value)
    if tag in ("BOOL", "NULL"):
        return 1
    if tag == "SS":
        return sum(len(str(member).encode("utf-8", "surrogatepass")) for member in value)
    if tag == "NS":
        return sum(_number_size(member) for member in value)
    if tag == "BS":
        return sum(_binary_size(member) for member in value)
    if tag == "L":
        return 3 + sum(1 + value_size(member) for member in value)
    if tag == "M":
        return 3 + sum(1 + item_size({name: inner}) for name, inner in value.items())
    return 0


def item_size(item: Mapping[str, Any]) -> int:
    """Approximate item size: attribute names plus values, as DynamoDB bills it."""
    return sum(len(name.encode("utf-8", "surrogatepass")) + value_size(attr) for name, attr in item.items())


def estimate_units(items: Iterable[Mapping[str, Any]]) -> float:
    """Read units of an eventually consistent Scan page that returned ``items``."""
    total = sum(item_size(item) for item in items)
    return UNITS_PER_STARTED_BLOCK * math.ceil(total / UNIT_BYTES)


def page_units(response: Mapping[str, Any]) -> float:
    """What one Scan page cost: DynamoDB's own figure when returned, else the estimate."""
    consumed = response.get("ConsumedCapacity")
    if isinstance(consumed, Mapping):
        units = consumed.get("CapacityUnits")
        if isinstance(units, int | float) and not isinstance(units, bool) and units >= 0:
            return float(units)
    return estimate_units(response.get("Items") or [])


class ReadLimiter:
    """Holds a segment to ``units_per_second``; call :meth:`wait` before and :meth:`spend` after a page."""

    def __init__(
        self, units_per_second: float, *, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        if not units_per_second > 0:
            raise ValueError("units_per_second must be positive")
        self.rate = units_per_second
        self._clock = clock
        self._sleep = sleep
        self._free_at: float | None = None  # clock time at which the units spent are paid off
        self._page_started: float | None = None
        self.spent = 0.0
        self.slept = 0.0

    def delay(self) -> float:
        """Seconds the next page must wait."""
        if self._free_at is None:
            return 0.0
        return max(0.0, self._free_at - self._clock())

    def wait(self) -> None:
        seconds = self.delay()
        if seconds > 0:
            self._sleep(seconds)
            self.slept += seconds
        self._page_started = self._clock()

    def spend(self, units: float) -> None:
        # The page's units are paid from the moment it started (the read happened then),
        # so a slow page does not make the segment wait twice for the same units.
        started = self._page_started if self._page_started is not None else self._clock()
        start = started if self._free_at is None else max(self._free_at, started)
        self._free_at = start + units / self.rate
        self._page_started = None
        self.spent += units
