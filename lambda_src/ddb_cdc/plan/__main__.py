"""python -m ddb_cdc.plan: monthly cost and freshness of every aggregation x load_strategy, and the cheapest that
meets a freshness target.

    python -m ddb_cdc.plan --rate 50 --item-kb 1 --update-share 0.6 --delete-share 0.1 --freshness 900 \\
        [--profile 24 comma-separated rates | profile.json | profile.csv] [--tfvars terraform.tfvars] \\
        [--region us-east-1] [--shards 1] [--backfill-items 100000000] [--json] [--plot out.png|out.svg]

With ``--backfill-items`` it also prices the one-off backfill of a table of that many items in each ``backfill.mode``
(:mod:`ddb_cdc.plan.backfill`).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from ddb_cdc.plan import backfill, load_prices, tfvars
from ddb_cdc.plan.model import SERVICES, Knobs, Plan, PlanError, Workload, plan


def parse_profile(text: str) -> tuple[float, ...]:
    """24 hourly rates: a JSON list (file or inline), a CSV file (one rate per row, or one row of 24), or a
    comma-separated list."""
    path = Path(text)
    raw = path.read_text(encoding="utf-8") if path.is_file() else text
    if path.suffix.lower() == ".csv":
        cells = [cell for row in csv.reader(raw.splitlines()) for cell in row if cell.strip()]
        values = [float(cell) for cell in cells if _is_number(cell)]
    else:
        try:
            loaded = json.loads(raw)
            values = [float(v) for v in (loaded["hourly_rates"] if isinstance(loaded, dict) else loaded)]
        except (json.JSONDecodeError, TypeError, KeyError):
            values = [float(cell) for cell in raw.replace("\n", ",").split(",") if cell.strip()]
    if len(values) != 24:
        raise PlanError(f"--profile needs 24 hourly rates (changes per second), got {len(values)}")
    return tuple(values)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def duration(seconds: float) -> str:
    if math.isinf(seconds):
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def render_table(result: Plan, configured: tuple[str, str] | None = None) -> str:
    w = result.workload
    lines = [
        f"Plan for {w.mean_rate:g} changes/s mean ({w.peak_rate:g} peak), {w.item_bytes} B items, "
        f"{w.update_share:.0%} updates, {w.delete_share:.0%} deletes, {w.shards} shard(s); "
        f"freshness target {duration(result.freshness_target_seconds)}; prices {result.region}, read {result.prices_read_on}.",
        "",
    ]
    header = [
        "combination",
        "USD/month",
        *SERVICES,
        "objects/h",
        "COPYs/h",
        "commit s/h",
        "fresh p50",
        "worst",
        "meets",
    ]
    short = {"step_functions": "sfn", "scheduler": "sched"}
    header = [short.get(h, h) for h in header]
    rows = []
    for c in result.combinations:
        mark = " *" if configured == (c.aggregation, c.load_strategy) else ""
        rows.append(
            [
                c.name + mark,
                f"{c.monthly_usd:,.2f}",
                *(f"{c.by_service[s]:,.2f}" for s in SERVICES),
                f"{c.objects_per_hour:,.0f}",
                f"{c.copies_per_hour:,.1f}",
                f"{c.commit_queue_seconds_per_hour:,.0f}",
                duration(c.freshness_p50_seconds),
                duration(c.freshness_worst_seconds),
                "yes" if c.meets_target else "no",
            ]
        )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(  # noqa: E731
        str(v).ljust(widths[i]) if i == 0 else str(v).rjust(widths[i]) for i, v in enumerate(r)
    )
    lines += [fmt(header), fmt(["-" * n for n in widths]), *(fmt(r) for r in rows), ""]
    if configured:
        lines.append("* the combination your tfvars configures.")
    if result.recommended:
        r = result.recommended
        lines.append(
            f"Recommended: {r.name}, {r.monthly_usd:,.2f} USD/month, worst-case freshness "
            f"{duration(r.freshness_worst_seconds)} (p50 {duration(r.freshness_p50_seconds)}); knobs: "
            + ", ".join(f"{k} = {v}" for k, v in r.knobs.items())
        )
    else:
        f = result.freshest
        lines.append(
            f"No combination meets {duration(result.freshness_target_seconds)} at these knobs. The freshest is "
            f"{f.name} ({duration(f.freshness_worst_seconds)} worst case, {f.monthly_usd:,.2f} USD/month): "
            "lower stream_mapping.maximum_batching_window_in_seconds or loader.s3_event.maximum_batching_window_in_seconds."
        )
    lines += [
        "",
        "Redshift compute is your existing warehouse and is not priced; COPYs/h and commit s/h (COPYs x "
        f"{result.assumptions.commit_seconds:g} s assumed per commit) show its load. Serverless RPU-seconds per COPY "
        "cannot be honestly estimated without your warehouse.",
        "Free tiers (Lambda, SQS, Scheduler, Step Functions) are account-wide and not deducted. DynamoDB Streams reads by "
        "Lambda triggers are free. Prices and their sources: lambda_src/ddb_cdc/plan/prices.json; --json prints the assumptions.",
    ]
    return "\n".join(lines)


def render_backfill(
    results: list[backfill.BackfillEstimate], knobs: backfill.BackfillKnobs, configured: str
) -> str:
    first = results[0]
    lines = [
        f"Backfill (one-off) of {first.items:,.0f} items, {first.table_gb:,.1f} GB: total_segments "
        f"{knobs.total_segments}, max_concurrency {knobs.max_concurrency}, read_units_per_second "
        f"{knobs.read_units_per_second} per segment, page_size {knobs.page_size}, {knobs.memory_size} MB.",
        "",
    ]
    header = [
        "backfill.mode",
        "USD",
        "dynamodb",
        "lambda",
        "s3",
        "sfn",
        "time",
        "bound by",
        "at once",
        "objects",
        "COPYs",
    ]
    rows = []
    for r in results:
        mark = " *" if r.mode == configured else ""
        rows.append(
            [
                r.mode + mark,
                f"{r.total_usd:,.2f}",
                *(f"{r.by_service[name]:,.2f}" for name in ("dynamodb", "lambda", "s3", "step_functions")),
                duration(r.seconds) if r.seconds is not None else "n/a",
                r.bound,
                str(r.concurrent_segments),
                f"{r.objects:,.0f}",
                f"{r.copies:,.0f}",
            ]
        )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(  # noqa: E731
        str(v).ljust(widths[i]) if i in (0, 7) else str(v).rjust(widths[i]) for i, v in enumerate(r)
    )
    lines += [fmt(header), fmt(["-" * n for n in widths]), *(fmt(r) for r in rows), ""]
    if configured in backfill.MODES:
        lines.append("* the backfill.mode your tfvars configures.")
    lines.append(
        "Reads are on-demand read units (eventually consistent Scan); a provisioned table pays in capacity instead. "
        "The export reads none, and AWS publishes no export duration. The snapshots' COPYs add to the load above once."
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ddb_cdc.plan", description=__doc__.split("\n\n")[0])
    rate = parser.add_mutually_exclusive_group(required=True)
    rate.add_argument("--rate", type=float, help="changes per second, the same every hour")
    rate.add_argument("--profile", help="24 hourly rates: comma-separated, or a JSON or CSV file")
    parser.add_argument("--item-kb", type=float, default=1.0, help="average item size in KB (default 1)")
    parser.add_argument("--update-share", type=float, default=0.5, help="share of changes that are updates")
    parser.add_argument("--delete-share", type=float, default=0.1, help="share of changes that are deletes")
    parser.add_argument(
        "--freshness", type=float, default=900, help="freshness target in seconds (default 900)"
    )
    parser.add_argument("--shards", type=int, default=1, help="open stream shards (default 1)")
    parser.add_argument("--tfvars", help="your terraform.tfvars: its knobs replace the module defaults")
    parser.add_argument("--region", help="AWS region (default: the tfvars' region, else the price file's)")
    parser.add_argument("--prices", help="another price file of prices.json's shape")
    parser.add_argument(
        "--backfill-items",
        type=float,
        help="also price a one-off backfill of this many items (of --item-kb each) in every backfill.mode",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--plot", help="also draw cost and freshness against write rate (.png or .svg)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        prices = load_prices(args.prices)
        knobs, configured, region = Knobs(), None, None
        backfill_knobs, backfill_mode = backfill.BackfillKnobs(), "none"
        if args.tfvars:
            config = tfvars.read(args.tfvars)
            knobs, configured, region = (
                config.knobs,
                (config.aggregation, config.load_strategy),
                config.region,
            )
            backfill_knobs, backfill_mode = config.backfill, config.backfill_mode
        region = args.region or region
        rates = (args.rate,) if args.rate is not None else parse_profile(args.profile)
        workload = Workload(
            hourly_rates=rates,
            item_bytes=round(args.item_kb * 1024),
            update_share=args.update_share,
            delete_share=args.delete_share,
            shards=args.shards,
        )
        result = plan(workload, knobs, prices, args.freshness, region=region)
        backfills = (
            backfill.estimates(args.backfill_items, workload.item_bytes, backfill_knobs, prices)
            if args.backfill_items is not None
            else None
        )
    except (PlanError, OSError) as exc:
        print(f"plan: {exc}", file=sys.stderr)
        return 2
    if args.json:
        document = result.as_dict()
        document["configured"] = " + ".join(configured) if configured else None
        if backfills is not None:
            document["backfill"] = {
                "configured": backfill_mode,
                **backfill.as_dict(backfills, backfill_knobs, backfill.BackfillAssumptions()),
            }
        print(json.dumps(document, indent=2))
    else:
        print(render_table(result, configured))
        if backfills is not None:
            print("\n" + render_backfill(backfills, backfill_knobs, backfill_mode))
    if args.plot:
        from ddb_cdc.plan import plot

        try:
            plot.draw(result, prices, args.plot)
        except ImportError:
            print("plan: --plot needs matplotlib: pip install -e '.[dev]'", file=sys.stderr)
            return 2
        print(f"\nPlot written to {args.plot}", file=sys.stderr if args.json else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
