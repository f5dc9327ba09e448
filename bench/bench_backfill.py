"""Backfill throughput: one segment measured in the sandbox, and a model of a real 100-million-item run.

1. **Measured.** One scan segment (the real ``ddb_cdc.backfill`` core: Scan pages -> snapshot envelopes
   -> gzip NDJSON objects -> progress record) over a moto table of ``--items`` iot items (~100 bytes each),
   with the read-rate limit off, in-process. It prints items per second and the CPU time per item, which the
   model uses for the Lambda's own work (encoding and gzip; moto's Scan is slower than DynamoDB's, so the
   wall-clock rate is a floor).
2. **Model.** 100 million 1 KB items with 1, 8 and 64 segments, from DynamoDB's documented read rules and the
   list prices in ``tests/aws/cost.py`` (us-east-1, read on the date it names). The issue names no baseline to
   compare against; the export mode is the natural one, so the model prices it beside the scan.

    python bench/bench_backfill.py [--items 20000] [--segments 1,8,64] [--read-units 200]

Assumptions of the model (each printed with the result):
- Eventually consistent Scan: 0.5 read unit per 4 KB of the page's summed item sizes ("Capacity unit
  consumption for read operations", DynamoDB Developer Guide): 100 GB of items read is ~12.2 million RRU.
- A page holds at most 1 MB (Scan's limit), so 1 KB items give ~1,000 items a page and one S3 object each.
- Per segment, the slowest of: the read-rate limit (``--read-units`` RCU/s x 8 KB per eventually consistent
  RCU), the Lambda's CPU (the measured CPU time per item, scaled by the share of a vCPU a 1,024 MB function
  gets: 1,769 MB is one vCPU, Lambda Developer Guide "Memory and computing power") and one partition's
  3,000 RCU/s; the table's on-demand default of 40,000 RRU/s caps the total.
- Lambda 1,024 MB, x86, billed for the whole run of each segment; one Step Functions Standard transition
  ($0.025 per 1,000) per state per invocation, three per invocation; S3 PUT per page object and per progress record.
- Export: $0.10 per GB exported plus point-in-time recovery at $0.20 per GB-month for the day it is needed
  (DynamoDB pricing page, "Export to Amazon S3" and "Continuous backups"; both are assumptions here, not read
  from a price file), the converter's CPU as measured for the scan's encoding, one S3 GET per data file.
  AWS publishes no export duration, so the model gives none.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.aws.cost import US_EAST_1

ITEMS: float = 100_000_000
ITEM_BYTES: float = 1024
PAGE_BYTES: float = 1024 * 1024
MEMORY_MB: float = 1024
VCPU_MB: float = 1769
PARTITION_RCU: float = 3000
TABLE_RRU: float = 40_000
INVOCATION_S: float = 840  # a 900 s function stops starting pages ~60 s before its timeout
SFN_TRANSITION: float = 0.025 / 1000
EXPORT_PER_GB: float = 0.10
PITR_GB_MONTH: float = 0.20


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


def model(segments: int, read_units: float, measured: Measured) -> dict[str, float]:
    gigabytes = ITEMS * ITEM_BYTES / 1e9
    rru = ITEMS * ITEM_BYTES / 4096 * 0.5
    limit_items_s = read_units * 8192 / ITEM_BYTES
    cpu_items_s = (MEMORY_MB / VCPU_MB) / measured.cpu_per_item
    partition_items_s = PARTITION_RCU * 8192 / ITEM_BYTES
    per_segment = min(limit_items_s, cpu_items_s, partition_items_s)
    total_rate = min(per_segment * segments, TABLE_RRU * 8192 / ITEM_BYTES)
    seconds = ITEMS / total_rate
    invocations = segments * math.ceil(seconds / INVOCATION_S)
    pages = ITEMS * ITEM_BYTES / PAGE_BYTES
    cost = {
        "dynamodb_reads": rru * US_EAST_1.dynamodb_rru,
        "lambda": segments * seconds * MEMORY_MB / 1024 * US_EAST_1.lambda_gb_second
        + invocations * US_EAST_1.lambda_request,
        "s3_puts": (pages + invocations) * US_EAST_1.s3_put,
        "step_functions": invocations * 3 * SFN_TRANSITION,
    }
    bound = min(
        ("read-rate limit", limit_items_s),
        ("Lambda CPU", cpu_items_s),
        ("partition", partition_items_s),
        key=lambda pair: pair[1],
    )[0]
    if per_segment * segments > TABLE_RRU * 8192 / ITEM_BYTES:
        bound = "table throughput"
    return {"gigabytes": gigabytes, "rru": rru, "seconds": seconds, "per_segment": per_segment,
            "invocations": invocations, "cost": sum(cost.values()), "bound": bound, **cost}  # fmt: skip


def export_model(measured: Measured) -> dict[str, float]:
    gigabytes = ITEMS * ITEM_BYTES / 1e9
    convert_s = ITEMS * measured.cpu_per_item / (MEMORY_MB / VCPU_MB)
    files = gigabytes * 10  # AWS writes data files of roughly 100 MB (a guess: the count only moves GETs)
    cost = {
        "export": gigabytes * EXPORT_PER_GB,
        "pitr_one_day": gigabytes * PITR_GB_MONTH / 30,
        "lambda": convert_s * MEMORY_MB / 1024 * US_EAST_1.lambda_gb_second,
        "s3": files * US_EAST_1.s3_get + ITEMS * ITEM_BYTES / PAGE_BYTES * US_EAST_1.s3_put,
    }
    return {"cost": sum(cost.values()), "convert_lambda_seconds": convert_s, **cost}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--segments", default="1,8,64")
    parser.add_argument(
        "--read-units", type=float, default=200.0, help="the module's default read_units_per_second"
    )
    args = parser.parse_args(argv)
    measured = measure(args.items)
    print(f"measured: one segment in the sandbox, {measured.items:,} iot items in {measured.seconds:.2f} s "
          f"= {measured.items_per_second:,.0f} items/s (moto's Scan in the same process dominates); "
          f"encoding + gzip of 1 KB mixed-type items: {measured.cpu_per_item * 1e6:.0f} us CPU per item")  # fmt: skip
    print(f"model: 100,000,000 items x 1 KB = {ITEMS * ITEM_BYTES / 1e9:.0f} GB, eventually consistent Scan, "
          f"read limit {args.read_units:.0f} RCU/s per segment, Lambda {MEMORY_MB:.0f} MB, us-east-1 list prices read "
          f"{US_EAST_1.read_on}")  # fmt: skip
    print(f"{'segments':>8} {'items/s/seg':>12} {'bound by':>16} {'time':>10} {'invocations':>12} "
          f"{'reads $':>8} {'lambda $':>9} {'s3 $':>6} {'sfn $':>6} {'total $':>8}")  # fmt: skip
    for segments in (int(value) for value in args.segments.split(",")):
        result = model(segments, args.read_units, measured)
        hours = result["seconds"] / 3600
        print(f"{segments:>8} {result['per_segment']:>12,.0f} {result['bound']:>16} {hours:>9.1f}h "
              f"{result['invocations']:>12,.0f} {result['dynamodb_reads']:>8.2f} {result['lambda']:>9.2f} "
              f"{result['s3_puts']:>6.2f} {result['step_functions']:>6.2f} {result['cost']:>8.2f}")  # fmt: skip
    export = export_model(measured)
    scan8 = model(8, args.read_units, measured)
    print(f"export: ${export['cost']:.2f} (export ${export['export']:.2f}, PITR for a day ${export['pitr_one_day']:.2f}, "
          f"converter Lambda ${export['lambda']:.2f} for {export['convert_lambda_seconds'] / 3600:.1f} h, "
          f"S3 ${export['s3']:.2f}); ratio export / scan with 8 segments = {export['cost'] / scan8['cost']:.1f}x")  # fmt: skip
    cheaper = "cheaper" if export["cost"] < scan8["cost"] else "dearer"
    print(f"at these prices the export is {cheaper} in dollars; it reads no table capacity, so it wins where the "
          "scan's reads are the real cost: a provisioned table with no read headroom (raising capacity for hours, "
          "or throttling production), or a read limit so low that the scan would take days")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
