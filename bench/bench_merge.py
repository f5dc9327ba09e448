"""Changes merged per second by the load transaction on the local PostgreSQL stand-in.

    python bench/bench_merge.py [--changes 100000] [--delete-share 0.1] [--files 10]

Builds a stream history of --changes changes over --keys keys (every tenth change a
REMOVE of a live key by default, the rest puts of ~1 KB mixed-type items, exactly as
``ddb_cdc.generator.mixed_item`` makes them), writes it through the real stream writer
into --files gzip NDJSON objects in moto S3, starts a throwaway PostgreSQL with the test
rig, and runs ONE load (the redshift rendering of ``ddb_cdc.warehouse.sql``, held to the
sandbox's Redshift rules and translated to PostgreSQL, as every test runs it) twice:

* ``initial``:     into an empty target;
* ``incremental``: a second history of the same size over the same keys, merged into
                   the now populated target (updates, tombstones, re-inserts).

Per run it prints the wall time of the whole transaction and of its two parts:
``copy`` is the stand-in's COPY (S3 reads, gunzip, JSON parsing in Python, COPY FROM
STDIN), which says nothing about Redshift; ``merge`` is every other statement (latest per
key resolved into the target's shape, the newer-than guard, MERGE, ledger, each with its
translation), the SQL this project renders, and the number
to compare over time. Numbers are for this machine (2 cores), PostgreSQL with fsync off.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script from the repository root: the rig lives in tests/, which is not an
# installed package, so its directory is put on the path explicitly.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

for _name, _value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(_name, _value)

import base64  # noqa: E402

import boto3  # noqa: E402
from ddb_cdc import generator  # noqa: E402
from ddb_cdc.warehouse import KeyAttribute, TargetSpec  # noqa: E402
from moto import mock_aws  # noqa: E402

from tests.rig.cdc_files import REGION, ChangeFiles, stream_record  # noqa: E402
from tests.rig.loads import LocalWarehouse  # noqa: E402
from tests.rig.postgres import running_server  # noqa: E402

BUCKET = "bench-bucket"
TABLE = "bench"
BASE_MS = 1_795_000_000_000


def _lambda_json(value: Any) -> Any:
    # Lambda delivers binary as base64 text; the generator's items hold bytes.
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def history(
    count: int, keys: int, delete_share: float, rng: random.Random, first_seq: int
) -> list[dict[str, Any]]:
    """``count`` stream records: deletes of live keys at ``delete_share``, puts otherwise."""
    live: dict[str, None] = {}
    names = [f"key-{number:07d}" for number in range(keys)]
    records = []
    every = round(1 / delete_share) if delete_share else 0
    for number in range(count):
        created_ms = BASE_MS + number * 10
        sequence = str(first_seq + number)
        if every and number % every == every - 1 and live:
            key = next(iter(live))  # the least recently written live key, as a TTL sweep would
            del live[key]
            records.append(
                stream_record(
                    "REMOVE", {"id": {"S": key}}, None, sequence_number=sequence,
                    created_s=created_ms // 1000, event_id=f"{number:032x}", table=TABLE,
                )
            )  # fmt: skip
            continue
        key = rng.choice(names)
        image = generator.mixed_item(rng, created_ms)
        image["id"] = {"S": key}
        event = "MODIFY" if live.pop(key, False) is None else "INSERT"
        live[key] = None  # re-inserted at the end: the dict is ordered by last write
        records.append(
            stream_record(
                event, {"id": {"S": key}}, image, sequence_number=sequence,
                created_s=created_ms // 1000, event_id=f"{number:032x}", table=TABLE,
            )
        )  # fmt: skip
    return json.loads(json.dumps(records, default=_lambda_json))


def write_files(files: ChangeFiles, records: list[dict[str, Any]], count: int) -> list[str]:
    size = -(-len(records) // count)
    return [files.write_stream_batch(records[start : start + size]) for start in range(0, len(records), size)]


_STEPS = (
    ("LOCK", "lock"),
    ('CREATE TEMP TABLE "cdc_stage"', "stage"),
    ("COPY", "copy"),
    ('CREATE TEMP TABLE "cdc_latest"', "latest"),
    ('INSERT INTO "cdc_latest"', "resolve"),
    ("DELETE", "newer-guard"),
    ("MERGE", "merge"),
    ('INSERT INTO "bench"."bench_history"', "history"),
    ("INSERT INTO", "ledger"),
    ("DROP", "drop"),
)


def _step(statement: str) -> str:
    return next(
        (label for prefix, label in _STEPS if statement.startswith(prefix)), statement.split()[0].lower()
    )


def run(warehouse: LocalWarehouse, keys: list[str], label: str, changes: int) -> None:
    started = time.perf_counter()
    results = warehouse.load(keys)
    total = time.perf_counter() - started
    copy = sum(result.elapsed_s for result in results if result.statement.startswith("COPY"))
    merge = sum(result.elapsed_s for result in results if not result.statement.startswith("COPY"))
    steps = ", ".join(f"{_step(result.statement)} {result.elapsed_s:.2f}s" for result in results)
    spec = warehouse.spec
    [(rows, tombstones)] = warehouse.query(
        f'SELECT COUNT(*), COUNT(*) FILTER (WHERE "_cdc_deleted") FROM "{spec.schema}"."{spec.table}"'
    )
    print(
        f"{label:<12} {changes:>8,} changes  total {total:6.2f}s ({changes / total:>9,.0f}/s)  "
        f"copy {copy:6.2f}s  merge {merge:6.2f}s ({changes / merge:>9,.0f}/s)  "
        f"target rows {rows:,} ({tombstones:,} tombstones)"
    )
    print(f"{'':<12} steps: {steps}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=60_000)
    parser.add_argument("--delete-share", type=float, default=0.1)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument(
        "--history", action="store_true", help="also append every change to the history table"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    print(
        f"building 2 x {args.changes:,} changes over {args.keys:,} keys, {args.delete_share:.0%} deletes ..."
    )
    first = history(args.changes, args.keys, args.delete_share, rng, 10**20)
    second = history(args.changes, args.keys, args.delete_share, rng, 10**20 + args.changes)

    with mock_aws(), running_server() as server:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        files = ChangeFiles(s3, BUCKET, "bench", TABLE)
        first_keys = write_files(files, first, args.files)
        second_keys = write_files(files, second, args.files)
        megabytes = sum(len(files.written[key]) for key in first_keys) / 1e6
        print(f"{len(first_keys)} files per load, {megabytes:.1f} MB gzip; PostgreSQL {server.version}")

        spec = TargetSpec("bench", TABLE, (KeyAttribute("id", "S"),), history=args.history)
        connection = server.connect()
        try:
            warehouse = LocalWarehouse(spec, connection, s3, BUCKET, "bench")
            warehouse.create()
            run(warehouse, first_keys, "initial", args.changes)
            run(warehouse, second_keys, "incremental", args.changes)
        finally:
            connection.close()


if __name__ == "__main__":
    main()
