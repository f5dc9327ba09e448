"""Backfill throughput: one segment measured in the sandbox, and a model of a real 100-million-item run.

1. **Measured.** One scan segment (the real ``ddb_cdc.backfill`` core: Scan pages -> snapshot envelopes
   -> gzip NDJSON objects -> progress record) over a moto table of ``--items`` iot items (~100 bytes each),
   with the read-rate limit off, in-process. It prints items per second and the CPU time per item, which the
   model uses for the Lambda's own work (encoding and gzip; moto's Scan is slower than DynamoDB's, so the
   wall-clock rate is a floor).
2. **Model.** 100 million 1 KB items with 1, 8 and 64 segments in each ``backfill.mode``: the planner's own backfill
   model (``ddb_cdc.plan.backfill``, the one ``python -m ddb_cdc.plan --backfill-items`` prints, with prices.json),
   fed the CPU per KB measured here. The issue names no baseline to compare against; the export mode is the natural
   one, so the output sets it beside the scan.

    python bench/bench_backfill.py [--items 20000] [--segments 1,8,64] [--read-units 200]

The model's assumptions are ``BackfillAssumptions`` and its module docstring (eventually consistent Scan at half a
read unit per 4 KB; per segment the slowest of the read-rate limit, the Lambda's CPU and one partition; the table's
on-demand default of 40,000 read units/s in all; the export at $0.10 per GB plus a day of point-in-time recovery,
with no duration, as AWS publishes none).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ddb_cdc.plan import backfill, load_prices

ITEMS: float = 100_000_000
ITEM_BYTES: int = 1024


@dataclass(frozen=True)
class Measured:
    items: int
    seconds: float  # one segment over moto, wall clock
    encode_cpu_per_kb: float  # the Lambda's own work (envelopes + gzip), CPU seconds per KB of items

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds

    @property
    def cpu_per_item(self) -> float:
        """CPU seconds the function spends on one model item (ITEM_BYTES)."""
        return self.encode_cpu_per_kb * ITEM_BYTES / 1024


def measure_encoding(count: int = 10_000) -> float:
    """CPU seconds per KB of items to turn Scan pages of ~1 KB mixed-type items into a snapshot object."""
    import random
    import time

    from ddb_cdc import generator
    from ddb_cdc.backfill import pages, rate

    rng = random.Random(5)
    items = [{"pk": {"S": f"k{n}"}, **generator.mixed_item(rng, 1_796_000_000_000)} for n in range(count)]
    kilobytes = sum(rate.item_size(item) for item in items) / 1024
    cpu = time.process_time()
    for start in range(0, count, 1000):
        pages.plan_page(
            items[start : start + 1000], key_names=("pk",), table="t", prefix="cdc",
            name=f"snapshot_{start}", hour_ms=0, read_ms=0,
        )  # fmt: skip
    return (time.process_time() - cpu) / kilobytes


def measure(items: int) -> Measured:
    """One segment over a moto table of ``items`` iot items, the rate limit off, real clock."""
    import logging
    import os
    import time

    import boto3
    from ddb_cdc import adapters, generator
    from ddb_cdc.backfill import scan
    from ddb_cdc.backfill.config import BackfillConfig
    from moto import mock_aws

    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's dummy keys
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    )  # fmt: skip
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench")
        dynamodb.create_table(
            TableName="readings",
            KeySchema=[
                {"AttributeName": "id", "KeyType": "HASH"},
                {"AttributeName": "timestamp", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "timestamp", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        generator.run(dynamodb, generator.Options(table="readings", items=items, seed=1))
        config = BackfillConfig.from_env(
            {
                "CDC_TABLE_NAME": "readings", "CDC_BUCKET": "bench", "CDC_PREFIX": "cdc",
                "CDC_KEY_NAMES": "id,timestamp", "CDC_BACKFILL_MODE": "step_functions",
                "CDC_STREAM_MAPPING_UUID": "bench", "CDC_BACKFILL_READ_UNITS_PER_SECOND": "1000000",
            }
        )  # fmt: skip
        state = scan.fresh_state("20261130T000000Z000000", 0, 1, int(time.time() * 1000))
        clock = scan.Clock(now_ms=lambda: int(time.time() * 1000), monotonic=time.monotonic, sleep=time.sleep)
        started = time.perf_counter()
        final = scan.run_segment(
            state, config=config, dynamodb=dynamodb, store=adapters.ObjectStore(s3, "bench"),
            remaining_ms=lambda: 900_000, clock=clock, log=logging.getLogger("bench"),
        )  # fmt: skip
        seconds = time.perf_counter() - started
    if not final["done"] or final["items"] != items:
        raise SystemExit(f"the segment read {final['items']} of {items} items (done={final['done']})")
    # moto's Scan runs in this process and dominates that wall time; the model takes the function's own
    # CPU from measure_encoding instead.
    return Measured(items, seconds, measure_encoding())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--segments", default="1,8,64")
    parser.add_argument(
        "--read-units", type=float, default=200.0, help="the module's default read_units_per_second"
    )
    args = parser.parse_args(argv)
    measured = measure(args.items)
    prices = load_prices()
    assumptions = backfill.BackfillAssumptions(encode_cpu_seconds_per_kb=measured.encode_cpu_per_kb)
    print(f"measured: one segment in the sandbox, {measured.items:,} iot items in {measured.seconds:.2f} s "
          f"= {measured.items_per_second:,.0f} items/s (moto's Scan in the same process dominates); "
          f"encoding + gzip of 1 KB mixed-type items: {measured.cpu_per_item * 1e6:.0f} us CPU per item "
          f"(the planner assumes {backfill.BackfillAssumptions().encode_cpu_seconds_per_kb * 1e6:.0f})")  # fmt: skip
    print(f"model (ddb_cdc.plan.backfill): {ITEMS:,.0f} items x 1 KB = {ITEMS * ITEM_BYTES / 1e9:.1f} GB, read limit "
          f"{args.read_units:.0f} RCU/s per segment, Lambda 1,024 MB, {prices.region} prices read {prices.read_on}")  # fmt: skip
    print(f"{'mode':>16} {'segments':>8} {'bound by':>16} {'time':>8} {'invocations':>12} "
          f"{'dynamodb $':>10} {'lambda $':>9} {'s3 $':>6} {'sfn $':>6} {'total $':>8}")  # fmt: skip
    results = {}
    for segments in (int(value) for value in args.segments.split(",")):
        knobs = backfill.BackfillKnobs(
            total_segments=segments,
            max_concurrency=min(segments, 40),
            read_units_per_second=round(args.read_units),
        )
        for mode in backfill.MODES:
            r = backfill.estimate(mode, ITEMS, ITEM_BYTES, knobs, prices, assumptions)
            results[(mode, segments)] = r
            time_text = f"{r.seconds / 3600:.1f}h" if r.seconds is not None else "n/a"
            print(f"{mode:>16} {segments:>8} {r.bound:>16.16} {time_text:>8} {r.invocations:>12,.0f} "
                  f"{r.by_service['dynamodb']:>10.2f} {r.by_service['lambda']:>9.2f} {r.by_service['s3']:>6.2f} "
                  f"{r.by_service['step_functions']:>6.2f} {r.total_usd:>8.2f}")  # fmt: skip
    segments = 8 if ("step_functions", 8) in results else next(iter(results))[1]
    scan, export = results[("step_functions", segments)], results[("export", segments)]
    print(f"ratio export / step_functions scan with {segments} segments = {export.total_usd / scan.total_usd:.1f}x; "
          "the export reads no table capacity, so it wins where the scan's reads are the real cost: a provisioned "
          "table with no read headroom (raising capacity for hours, or throttling production), or a read limit so "
          "low that the scan would take days")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
