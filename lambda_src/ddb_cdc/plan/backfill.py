"""The planner's model of a backfill: one-off cost and duration of each ``backfill.mode`` for a table. No I/O.

What each mode does is read from the code (lambda_src/ddb_cdc/backfill, modules/backfill):

* ``step_functions``: a Map over ``total_segments`` parallel-scan segments, ``max_concurrency`` at once; per segment the
  scan function reads pages until about a minute before its timeout and returns its cursor, and the state machine
  invokes it again. After every page it writes the page's object and an S3 progress record.
* ``checkpoint_table``: one cursor item per segment in an on-demand table; its stream (batch size 1, parallelization
  factor ``min(10, total_segments)``) invokes the function, which reads pages until its time budget ends, reading its
  item (consistently) after every page, and writes the cursor back once per invocation, which invokes it again.
* ``export``: ``ExportTableToPointInTime`` (needs point-in-time recovery), then converter invocations over the data
  files, which write parts of at most 10,000 items (backfill/export.PART_ITEMS). Reads no table capacity; AWS
  publishes no export duration, so the model gives none.

The scan modes read with eventually consistent Scan: half a read unit per 4 KB (DynamoDB Developer Guide, "Read
consumption"), at most ``read_units_per_second`` per segment, one partition's 3,000 read units per second, and the
table's on-demand default of 40,000 per second in all. Every mode writes gzip NDJSON objects the ordinary loader loads
(at most 1,000 files per COPY). What the code does not decide is a :class:`BackfillAssumptions` field, printed with
the estimate; the function's CPU per KB was measured by ``bench/bench_backfill.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from ddb_cdc.plan.model import MAX_FILES_PER_LOAD, PlanError, Prices

MODES: Final = ("step_functions", "checkpoint_table", "export")
SCAN_PAGE_BYTES: Final = 1024 * 1024  # Scan returns at most 1 MB a page
EXPORT_PART_ITEMS: Final = 10_000  # backfill/export.PART_ITEMS; a test pins it to the code
EXPORT_PART_BYTES: Final = 32 * 1024 * 1024  # backfill/export.PART_BYTES
CURSOR_STREAM_PARALLELISM: Final = 10  # the cursor mapping's parallelization_factor cap (modules/backfill)


@dataclass(frozen=True, slots=True)
class BackfillKnobs:
    """``backfill`` inputs that change cost or time. Defaults equal modules/backfill's (test_defaults_drift.py)."""

    total_segments: int = 8
    max_concurrency: int = 8
    page_size: int = 1000
    read_units_per_second: int = 200
    memory_size: int = 1024
    timeout: int = 900


DEFAULT_SOURCES: Final[Mapping[str, tuple[str, str, str | None]]] = {
    name: ("modules/backfill", name, None)
    for name in (
        "total_segments",
        "max_concurrency",
        "page_size",
        "read_units_per_second",
        "memory_size",
        "timeout",
    )
}


@dataclass(frozen=True, slots=True)
class BackfillAssumptions:
    # Envelopes and gzip: bench/bench_backfill.py measured 185-212 us per KB on 2026-12-07 (91 us on 2026-11-30).
    encode_cpu_seconds_per_kb: float = 190e-6
    vcpu_mb: float = (
        1769  # memory that buys one full vCPU (Lambda Developer Guide, "Memory and computing power")
    )
    partition_read_units: float = 3000  # one partition's reads per second
    table_read_units: float = 40_000  # an on-demand table's default read throughput per second
    # A run stops starting pages max(30 s, 3 x its slowest page) before its timeout (backfill/scan.margin_ms).
    budget_margin_seconds: float = 30
    transitions_per_invocation: int = 2  # Step Functions: the Scan Task and its SegmentDone? Choice
    transitions_per_segment: int = 2  # the segment's last Choice and its "Segment finished" Pass
    export_file_bytes: float = (
        100 * 1024 * 1024
    )  # DynamoDB's export data files (a guess: moves only the GETs)
    pitr_days: float = 1.0  # days of point-in-time recovery paid for an export, if it is not on anyway


@dataclass(frozen=True, slots=True)
class BackfillEstimate:
    mode: str
    items: float
    table_gb: float
    seconds: float | None  # None: the export's duration is not published
    bound: str
    concurrent_segments: int
    invocations: float
    objects: float
    copies: float
    read_units: float
    by_service: Mapping[str, float]

    @property
    def total_usd(self) -> float:
        return sum(self.by_service.values())


def _scan(
    mode: str, items: float, item_bytes: int, k: BackfillKnobs, a: BackfillAssumptions, prices: Prices
) -> BackfillEstimate:
    table_bytes = items * item_bytes
    read_units = table_bytes / 4096 * 0.5  # eventually consistent Scan
    per_segment = {
        "read-rate limit": k.read_units_per_second * 8192 / item_bytes,
        "Lambda CPU": (k.memory_size / a.vcpu_mb) / (a.encode_cpu_seconds_per_kb * item_bytes / 1024),
        "partition": a.partition_read_units * 8192 / item_bytes,
    }
    bound = min(per_segment, key=per_segment.__getitem__)
    concurrent = min(
        k.total_segments,
        k.max_concurrency if mode == "step_functions" else CURSOR_STREAM_PARALLELISM,
    )
    table_cap = a.table_read_units * 8192 / item_bytes
    rate = per_segment[bound] * concurrent
    if rate > table_cap:
        rate, bound = table_cap, "table throughput"
    # Each segment holds items / total_segments and reads at rate / concurrent. The Map runs segments to the end,
    # max_concurrency at a time, so step_functions takes whole waves; the cursor stream's records interleave the
    # segments' steps on its 10 slots, so checkpoint_table shares them out. A run lasts the timeout less the margin.
    segment_seconds = items / k.total_segments / (rate / concurrent) if items else 0.0
    if mode == "step_functions":
        seconds = math.ceil(k.total_segments / concurrent) * segment_seconds
    else:
        seconds = segment_seconds * k.total_segments / concurrent
    run_seconds = max(1.0, k.timeout - a.budget_margin_seconds)
    invocations = k.total_segments * max(1, math.ceil(segment_seconds / run_seconds)) if items else 0.0
    lambda_seconds = k.total_segments * segment_seconds
    pages = math.ceil(items / max(1, min(k.page_size, SCAN_PAGE_BYTES // item_bytes))) if items else 0
    copies = math.ceil(pages / MAX_FILES_PER_LOAD) if pages else 0
    by_service = {
        "dynamodb": read_units * prices.usd("dynamodb_read_request_unit"),
        "lambda": invocations * prices.usd("lambda_request")
        + lambda_seconds * k.memory_size / 1024 * prices.usd("lambda_gb_second_x86"),
        # Each page's object; the loader's COPY reads it and a manifest per load.
        "s3": pages * prices.usd("s3_put_request") + (pages + copies) * prices.usd("s3_get_request"),
        "step_functions": 0.0,
    }
    if mode == "step_functions":
        by_service["s3"] += pages * prices.usd("s3_put_request")  # the progress record after every page
        by_service["step_functions"] = (
            invocations * a.transitions_per_invocation + k.total_segments * a.transitions_per_segment
        ) * prices.usd("step_functions_transition")
    else:
        # The cursor table: a consistent read of the item after every page, one write per invocation.
        by_service["dynamodb"] += pages * prices.usd("dynamodb_read_request_unit") + invocations * prices.usd(
            "dynamodb_write_request_unit"
        )
    return BackfillEstimate(
        mode,
        items,
        table_bytes / 1e9,
        seconds,
        bound,
        concurrent,
        invocations,
        pages,
        copies,
        read_units,
        by_service,
    )


def _export(
    items: float, item_bytes: int, k: BackfillKnobs, a: BackfillAssumptions, prices: Prices
) -> BackfillEstimate:
    table_bytes = items * item_bytes
    gigabytes = table_bytes / 1e9
    files = math.ceil(table_bytes / a.export_file_bytes) if items else 0
    # Each data file is cut into its own parts of at most EXPORT_PART_ITEMS lines and EXPORT_PART_BYTES of export text
    # (an item's DynamoDB JSON line is taken as its size).
    per_part = max(1, min(EXPORT_PART_ITEMS, EXPORT_PART_BYTES // item_bytes))
    parts = files * math.ceil(items / files / per_part) if files else 0
    copies = math.ceil(parts / MAX_FILES_PER_LOAD) if parts else 0
    # The data files are split into min(files, total_segments) batches (backfill/export.batches), max_concurrency at
    # once; each batch's converter runs until its time budget and is invoked again until its files are done.
    batches = min(files, k.total_segments)
    convert_seconds = items * a.encode_cpu_seconds_per_kb * item_bytes / 1024 / (k.memory_size / a.vcpu_mb)
    run_seconds = max(1.0, k.timeout - a.budget_margin_seconds)
    invocations = batches * max(1, math.ceil(convert_seconds / batches / run_seconds)) if batches else 0
    by_service = {
        "dynamodb": gigabytes * prices.usd("dynamodb_export_gb")
        + gigabytes * prices.usd("dynamodb_pitr_gb_month") * a.pitr_days / 30,
        "lambda": invocations * prices.usd("lambda_request")
        + convert_seconds * k.memory_size / 1024 * prices.usd("lambda_gb_second_x86"),
        # The converter reads each data file and writes each part; COPY reads the parts and a manifest per load.
        "s3": parts * prices.usd("s3_put_request") + (files + parts + copies) * prices.usd("s3_get_request"),
        "step_functions": invocations
        * a.transitions_per_invocation
        * prices.usd("step_functions_transition"),
    }
    return BackfillEstimate(
        "export", items, gigabytes, None, "export (not published)", min(batches, k.max_concurrency),
        invocations, parts, copies, 0.0, by_service,
    )  # fmt: skip


def estimate(
    mode: str,
    items: float,
    item_bytes: int,
    knobs: BackfillKnobs,
    prices: Prices,
    assumptions: BackfillAssumptions | None = None,
) -> BackfillEstimate:
    """One backfill of ``items`` items of ``item_bytes`` each (the table's size as DynamoDB bills its reads)."""
    if mode not in MODES:
        raise PlanError(f"unknown backfill mode {mode!r}: choose one of {', '.join(MODES)}")
    if items < 0 or not math.isfinite(items) or item_bytes <= 0:
        raise PlanError("a backfill needs a finite, non-negative item count and a positive item size")
    for name in DEFAULT_SOURCES:
        if getattr(knobs, name) < 1:
            raise PlanError(f"backfill.{name} = {getattr(knobs, name)} must be at least 1")
    a = assumptions or BackfillAssumptions()
    if mode == "export":
        return _export(items, item_bytes, knobs, a, prices)
    return _scan(mode, items, item_bytes, knobs, a, prices)


def estimates(
    items: float,
    item_bytes: int,
    knobs: BackfillKnobs,
    prices: Prices,
    assumptions: BackfillAssumptions | None = None,
) -> list[BackfillEstimate]:
    return [estimate(mode, items, item_bytes, knobs, prices, assumptions) for mode in MODES]


def as_dict(
    results: list[BackfillEstimate], knobs: BackfillKnobs, assumptions: BackfillAssumptions
) -> dict[str, Any]:
    return {
        "knobs": asdict(knobs),
        "assumptions": asdict(assumptions),
        "modes": [
            {**{k: v for k, v in asdict(r).items() if k != "by_service"}, "by_service": dict(r.by_service),
             "total_usd": r.total_usd}
            for r in results
        ],
    }  # fmt: skip
