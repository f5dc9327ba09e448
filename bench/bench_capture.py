"""Throughput of the stream writer's transform: Lambda batch -> gzip NDJSON object bytes.

    python bench/bench_capture.py [--records 10000] [--repeat 5]

Three ways to turn the same 10,000-record DynamoDB stream batch (mixed-type items of
about 1 KB of DynamoDB JSON, shaped exactly as Lambda delivers them) into gzip NDJSON:

* ours:  ddb_cdc.capture.plan_s3_batch, the real writer core (convert, envelope,
         serialize, gzip), lossless;
* naive: what handlers usually do: boto3's TypeDeserializer, json.dumps(default=str),
         gzip. It is lossy (every number that is not an int becomes a string, sets lose
         their order). It needs two patches to run at all: base64-decoding B before
         boto3's Binary (which rejects Lambda's text), and a default that turns Binary
         and sets into JSON where str() breaks;
* floor: json.dumps + gzip of the already-plain dicts, i.e. only the serializing and
         compressing that any writer has to do.

All three gzip at the same level, the writer's unless --gzip-level says otherwise.
Prints records/s, the ratios, and gzip bytes per record. Timing is this process's CPU
time, the variants interleaved, best of --repeat runs, so that other processes on the
machine skew no single variant.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer
from ddb_cdc import capture, envelope, generator

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/bench/stream/2026-11-27T03:49:52.276"


def build_event(count: int, seed: int, profile: str = "mixed") -> dict[str, Any]:
    rng = random.Random(seed)
    make_item = generator.mixed_item if profile == "mixed" else generator.iot_item
    base_ms = 1_764_215_392_000
    records = []
    for number in range(count):
        image = make_item(rng, base_ms + number)
        records.append(
            {
                "eventID": f"{rng.getrandbits(128):032x}",
                "eventName": "MODIFY" if number % 3 else "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": (base_ms + number * 10) // 1000,
                    "Keys": {"id": image["id"]},
                    "NewImage": image,
                    "SequenceNumber": str(4421584500000000017450439091 + number),
                    "SizeBytes": 1400,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": STREAM_ARN,
            }
        )

    def lambda_json(value: Any) -> Any:
        return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value

    # Through JSON text and back, exactly as the Lambda runtime hands the event over.
    return json.loads(json.dumps({"Records": records}, default=lambda_json))


def ours(event: dict[str, Any], level: int) -> bytes:
    plan = capture.plan_s3_batch(event, table="bench", prefix="cdc", compresslevel=level)
    assert plan.object is not None and not plan.quarantined
    return plan.object.body


class LambdaTypeDeserializer(TypeDeserializer):
    """TypeDeserializer wants bytes for B; Lambda delivers base64 text, so decode it first.

    This is the smallest fix a handler needs before TypeDeserializer works on a stream
    event at all (BS members go through this method too).
    """

    def _deserialize_b(self, value: str) -> Binary:
        return Binary(base64.b64decode(value))


def naive_default(value: Any) -> Any:
    """json.dumps(default=str), patched where str() breaks: boto3 Binary and sets."""
    if isinstance(value, Binary):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set):
        return list(value)
    return str(value)


def naive(event: dict[str, Any], level: int) -> bytes:
    deserializer = LambdaTypeDeserializer()
    lines = []
    for record in event["Records"]:
        data = record["dynamodb"]
        lines.append(
            json.dumps(
                {
                    "op": record["eventName"],
                    "seq": data["SequenceNumber"],
                    "keys": {k: deserializer.deserialize(v) for k, v in data["Keys"].items()},
                    "image": {k: deserializer.deserialize(v) for k, v in data["NewImage"].items()},
                },
                default=naive_default,
            )
        )
    return gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=level, mtime=0)


def floor(plain: list[dict[str, Any]], level: int) -> bytes:
    text = "\n".join([json.dumps(doc) for doc in plain]) + "\n"
    return gzip.compress(text.encode(), compresslevel=level, mtime=0)


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    # CPU time of this process: on a shared machine, time spent descheduled while
    # other processes run would otherwise count against whichever variant it hit.
    started = time.process_time()
    output = run()
    return time.process_time() - started, output


def measure(variants: dict[str, Callable[[], Any]], repeat: int) -> dict[str, tuple[float, float, Any]]:
    """Best and median CPU seconds per variant, the variants interleaved run by run."""
    timings: dict[str, list[float]] = {name: [] for name in variants}
    outputs: dict[str, Any] = {}
    for _ in range(repeat):
        for name, run in variants.items():
            seconds, outputs[name] = timed(run)
            timings[name].append(seconds)
    return {name: (min(t), statistics.median(t), outputs[name]) for name, t in timings.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile", choices=generator.PROFILES, default="mixed", help="item shape (default: mixed, ~1 KB)"
    )
    parser.add_argument(
        "--gzip-level", type=int, default=capture.GZIP_LEVEL, help="default: the writer's level"
    )
    args = parser.parse_args(argv)

    event = build_event(args.records, args.seed, args.profile)
    level = args.gzip_level
    # The floor serializes the very documents ours produces, already as plain dicts.
    plain = [json.loads(line) for line in gzip.decompress(ours(event, level)).splitlines()]
    image_bytes = statistics.mean(len(json.dumps(r["dynamodb"]["NewImage"])) for r in event["Records"])
    table_json = envelope.table_json("bench")

    results = measure(
        {
            "ours": lambda: ours(event, level),
            "naive": lambda: naive(event, level),
            "floor": lambda: floor(plain, level),
            # Without gzip, to show what the converter itself costs next to json.dumps.
            "convert": lambda: [envelope.encode_stream_record(r, table_json).line for r in event["Records"]],
            "dumps": lambda: [json.dumps(doc) for doc in plain],
        },
        args.repeat,
    )
    converter, dumps_only = results.pop("convert"), results.pop("dumps")

    print(
        f"python {sys.version.split()[0]}, {args.records} records, "
        f"{args.profile} NewImage {image_bytes:.0f} B of DynamoDB JSON"
    )
    print(f"gzip level {level}, CPU time, best of {args.repeat} interleaved runs (median in parentheses)\n")
    print(f"{'':8}{'records/s':>12}{'(median)':>12}{'gzip B/record':>15}")
    rates = {}
    for name, (best, median, body) in results.items():
        rates[name] = args.records / best
        print(f"{name:8}{rates[name]:12,.0f}{args.records / median:12,.0f}{len(body) / args.records:15.1f}")
    print()
    print(f"ours / naive           {rates['ours'] / rates['naive']:6.2f}x   (target >= 3)")
    print(f"floor / ours           {rates['floor'] / rates['ours']:6.2f}x   (target <= 1.5)")
    print(
        f"without gzip: converter {args.records / converter[0]:,.0f} records/s, "
        f"json.dumps {args.records / dumps_only[0]:,.0f} records/s "
        f"(the converter takes {converter[0] / dumps_only[0]:.2f}x the time)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
