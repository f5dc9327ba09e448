"""Write a controlled mix of puts, updates and deletes into a DynamoDB table.

``python -m ddb_cdc.generator --table sensors --items 10000 --update-share 0.2
--delete-share 0.1`` writes 10,000 operations: 20% replace an existing item, 10%
delete one, the rest insert new keys, so the table's stream carries INSERT, MODIFY and
REMOVE records in those shares. It reads the table's key schema, so it works for any
hash or hash+range table whose keys are S, N or B.

Updates go through ``BatchWriteItem`` as full puts of an existing key. Every item
carries a ``rev`` counter that an update increments: DynamoDB writes no stream
record for a put that changes nothing, and ``rev`` guarantees every update changes
something.

Progress goes to stderr; the summary is one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, TextIO

MAX_BATCH: Final = 25  # BatchWriteItem's limit
MAX_UNPROCESSED_ROUNDS: Final = 10
PROFILES: Final = ("iot", "mixed")

Item = dict[str, dict[str, Any]]
KeyId = tuple[tuple[str, Any], ...]  # hashable identity of one item's key
Change = tuple[str, KeyId, Item, int]  # (operation, key id, key attributes, rev after it)


@dataclass(frozen=True, slots=True)
class Options:
    table: str
    items: int | None = None
    duration: float | None = None
    rate: float = 0.0  # operations per second; 0 means as fast as the table takes them
    batch_size: int = MAX_BATCH
    profile: str = "iot"
    update_share: float = 0.0
    delete_share: float = 0.0
    seed: int | None = None
    endpoint_url: str | None = None
    region: str | None = None
    # Updates and deletes may also pick the keys already in the table (read with one Scan
    # at start), not only the keys this run wrote: what a backfill racing live traffic meets.
    existing_keys: bool = False


@dataclass(slots=True)
class Summary:
    puts: int = 0
    updates: int = 0
    deletes: int = 0
    unprocessed_retries: int = 0
    batches: int = 0
    elapsed_s: float = 0.0
    rate: float = 0.0  # operations per second achieved

    @property
    def operations(self) -> int:
        return self.puts + self.updates + self.deletes

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "operations": self.operations}


# ---------------------------------------------------------------------------
# Item profiles
# ---------------------------------------------------------------------------

_WORDS: Final = (
    "alpha", "beta", "gamma", "delta", "epsilon", "sensor", "north", "south", "east", "west",
    "temperature", "humidity", "reading", "nominal", "warning", "critical", "pump", "valve",
    "gateway", "firmware",
)  # fmt: skip


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def iot_item(rng: random.Random, now_ms: int) -> Item:
    """The lab's sensor reading: id, timestamp, temperature, moisture, threshold."""
    return {
        "id": {"S": _uuid(rng)},
        "timestamp": {"N": str(now_ms)},
        "temp": {"N": f"{rng.uniform(-10.0, 45.0):.2f}"},
        "mois": {"N": f"{rng.uniform(0.0, 100.0):.1f}"},
        "thre": {"N": str(rng.choice((25, 30, 35, 40)))},
    }


def mixed_item(rng: random.Random, now_ms: int) -> Item:
    """About 1 KB exercising every DynamoDB type, nesting and the number extremes."""

    def words(count: int) -> str:
        return " ".join(rng.choice(_WORDS) for _ in range(count))

    def decimal() -> str:
        return f"{rng.uniform(-1000.0, 1000.0):.{rng.randint(0, 4)}f}"

    return {
        "id": {"S": _uuid(rng)},
        "timestamp": {"N": str(now_ms)},
        "name": {"S": words(3)},
        "note": {"S": 'naïve café ☃ 𝄞 "quoted" back\\slash\ttab'},
        "empty": {"S": ""},
        "description": {"S": words(22)},
        "price": {"N": decimal()},
        "big": {"N": str(rng.randrange(10**37, 10**38))},
        "tiny": {"N": "-1E-130"},
        "huge": {"N": "9.9999999999999999999999999999999999999E+125"},
        "exp": {"N": "1E+125"},
        "active": {"BOOL": rng.random() < 0.5},
        "nothing": {"NULL": True},
        "payload": {"B": rng.randbytes(32)},
        "tags": {"SS": rng.sample(_WORDS, 3)},
        "scores": {"NS": [decimal(), "12345678901234567890123456789012345678", "-0.5"]},
        "blobs": {"BS": [rng.randbytes(6) for _ in range(3)]},
        "address": {
            "M": {
                "street": {"S": words(2)},
                "zip": {"S": f"{rng.randrange(100000):05d}"},
                "geo": {"M": {"lat": {"N": decimal()}, "lon": {"N": decimal()}}},
                "none": {"M": {}},
            }
        },
        "history": {
            "L": [
                {"M": {"at": {"N": str(now_ms - rng.randrange(10**6))}, "status": {"S": rng.choice(_WORDS)}}}
                for _ in range(3)
            ]
        },
        "matrix": {"L": [{"L": [{"N": decimal()}, {"BOOL": True}]}, {"L": []}]},
    }


_PROFILE_ITEMS: Final[dict[str, Callable[[random.Random, int], Item]]] = {
    "iot": iot_item,
    "mixed": mixed_item,
}


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


def read_key_schema(client: Any, table: str) -> list[tuple[str, str]]:
    """``[(name, type), …]`` with the hash key first, from DescribeTable."""
    description = client.describe_table(TableName=table)["Table"]
    types = {d["AttributeName"]: d["AttributeType"] for d in description["AttributeDefinitions"]}
    schema = sorted(description["KeySchema"], key=lambda element: element["KeyType"] != "HASH")
    return [(element["AttributeName"], types[element["AttributeName"]]) for element in schema]


def _dispersed_value(rng: random.Random, key_type: str) -> dict[str, Any]:
    if key_type == "S":
        return {"S": _uuid(rng)}
    if key_type == "N":
        return {"N": str(rng.randrange(10**15, 10**16))}
    return {"B": rng.randbytes(16)}


def _key_id(key: Item) -> KeyId:
    return tuple((name, next(iter(value.values()))) for name, value in sorted(key.items()))


class _LiveKeys:
    """Keys that exist in the table, with O(1) random pick and removal."""

    def __init__(self) -> None:
        self._order: list[KeyId] = []
        self._slot: dict[KeyId, int] = {}
        self.keys: dict[KeyId, tuple[Item, int]] = {}  # key -> (key attributes, rev)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key_id: KeyId) -> bool:
        return key_id in self._slot

    def add(self, key_id: KeyId, key: Item, rev: int) -> None:
        if key_id not in self._slot:
            self._slot[key_id] = len(self._order)
            self._order.append(key_id)
        self.keys[key_id] = (key, rev)

    def remove(self, key_id: KeyId) -> None:
        slot = self._slot.pop(key_id)
        last = self._order.pop()
        if last != key_id:
            self._order[slot] = last
            self._slot[last] = slot
        del self.keys[key_id]

    def pick(self, rng: random.Random, busy: set[KeyId]) -> KeyId | None:
        """A random live key not in ``busy`` (BatchWriteItem rejects a key twice per call)."""
        if len(self._order) <= len(busy):
            return None
        for _ in range(8):
            key_id = self._order[rng.randrange(len(self._order))]
            if key_id not in busy:
                return key_id
        return next((key_id for key_id in self._order if key_id not in busy), None)


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def _write_batch(
    client: Any,
    table: str,
    requests: list[dict[str, Any]],
    summary: Summary,
    sleep: Callable[[float], None],
    backoff_rng: random.Random,
) -> None:
    pending: dict[str, Any] = {table: requests}
    for round_number in range(MAX_UNPROCESSED_ROUNDS + 1):
        response = client.batch_write_item(RequestItems=pending)
        pending = response.get("UnprocessedItems") or {}
        left = sum(len(entries) for entries in pending.values())
        if not left:
            return
        summary.unprocessed_retries += left
        # Exponential backoff with jitter, as DynamoDB asks for UnprocessedItems.
        sleep(min(5.0, 0.05 * 2**round_number) * (0.5 + backoff_rng.random() / 2))
    raise RuntimeError(f"BatchWriteItem left items unprocessed after {MAX_UNPROCESSED_ROUNDS} retries")


def run(
    client: Any,
    options: Options,
    *,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    progress: TextIO | None = None,
) -> Summary:
    """Write the requested operations and return what was written."""
    _validate(options)
    rng = random.Random(options.seed)  # noqa: S311 - test data must be reproducible from --seed
    # A separate generator for backoff jitter, so that throttling never changes the data.
    backoff_rng = random.Random(rng.getrandbits(64))  # noqa: S311 - jitter, not security
    make_item = _PROFILE_ITEMS[options.profile]
    schema = read_key_schema(client, options.table)
    if any(name == "rev" for name, _ in schema):
        raise ValueError("the generator's rev counter cannot be a key attribute")
    live = _LiveKeys()
    if options.existing_keys:
        _add_existing_keys(client, options.table, schema, live)
    summary = Summary()
    started = last_report = clock()
    final_updates = quota(options.items, options.update_share) if options.items is not None else None
    final_deletes = quota(options.items, options.delete_share) if options.items is not None else None
    base_ms = int(wall_clock() * 1000)

    def more() -> bool:
        if options.items is not None:
            return summary.operations < options.items
        assert options.duration is not None
        return clock() - started < options.duration

    while more():
        requests: list[dict[str, Any]] = []
        busy: set[KeyId] = set()
        applied: list[Change] = []
        while len(requests) < options.batch_size and _more_in_batch(options, summary, len(requests)):
            done = summary.operations + len(requests)
            # Deficit scheduling: each share's running target is rounded up, so a missed
            # turn (no live key yet, or all of them busy in this batch) is made up a few
            # operations later and never piles up at the end; capped at the final quota,
            # the counts of an --items run are exactly quota(items, share).
            planned = Counter(op for op, *_ in applied)
            key_id = None
            op = "put"
            if summary.updates + planned["update"] < _target(done + 1, options.update_share, final_updates):
                key_id = live.pick(rng, busy)
                op = "update" if key_id is not None else "put"
            if key_id is None and summary.deletes + planned["delete"] < _target(
                done + 1, options.delete_share, final_deletes
            ):
                key_id = live.pick(rng, busy)
                op = "delete" if key_id is not None else "put"
            request, change = _operation(op, key_id, rng, make_item, schema, live, busy, base_ms + done)
            requests.append(request)
            applied.append(change)
            busy.add(change[1])
        if not requests:
            break
        _write_batch(client, options.table, requests, summary, sleep, backoff_rng)
        summary.batches += 1
        for op, key_id, key, rev in applied:
            if op == "delete":
                live.remove(key_id)
                summary.deletes += 1
            else:
                live.add(key_id, key, rev)
                if op == "put":
                    summary.puts += 1
                else:
                    summary.updates += 1
        now = clock()
        if options.rate > 0:
            ahead = summary.operations / options.rate - (now - started)
            if ahead > 0:
                sleep(ahead)
                now = clock()
        if progress is not None and now - last_report >= 1.0:
            last_report = now
            _report(progress, summary, now - started)
    summary.elapsed_s = round(clock() - started, 3)
    summary.rate = round(summary.operations / summary.elapsed_s, 1) if summary.elapsed_s > 0 else 0.0
    if progress is not None:
        _report(progress, summary, summary.elapsed_s)
    return summary


def _operation(
    op: str,
    key_id: KeyId | None,
    rng: random.Random,
    make_item: Callable[[random.Random, int], Item],
    schema: Sequence[tuple[str, str]],
    live: _LiveKeys,
    busy: set[KeyId],
    now_ms: int,
) -> tuple[dict[str, Any], Change]:
    """The BatchWriteItem request for one operation, and what it changes once written."""
    if op == "delete":
        assert key_id is not None
        key, _ = live.keys[key_id]
        return {"DeleteRequest": {"Key": key}}, (op, key_id, key, 0)
    item = make_item(rng, now_ms)
    if op == "update":
        assert key_id is not None
        key, rev = live.keys[key_id]
        rev += 1
    else:
        key = _new_key(rng, schema, item, live, busy)
        key_id, rev = _key_id(key), 0
    item.update(key)
    item["rev"] = {"N": str(rev)}
    return {"PutRequest": {"Item": item}}, (op, key_id, key, rev)


def quota(operations: int, share: float) -> int:
    """How many of ``operations`` a share asks for: floor, forgiving float error (0.29 * 100)."""
    return math.floor(operations * share + 1e-9)


def _target(operations: int, share: float, cap: int | None) -> int:
    target = math.ceil(operations * share - 1e-9)
    return target if cap is None else min(target, cap)


def _more_in_batch(options: Options, summary: Summary, queued: int) -> bool:
    if options.items is None:
        return True
    return summary.operations + queued < options.items


def _new_key(
    rng: random.Random, schema: Sequence[tuple[str, str]], item: Item, live: _LiveKeys, busy: set[KeyId]
) -> Item:
    # Profile attributes that already have the key's name and type (iot's id and
    # timestamp) become the key; anything else gets a dispersed value. A clash with a
    # live key (rare) is resolved by drawing a new hash key, never by overwriting.
    key = {}
    for name, key_type in schema:
        value = item.get(name)
        key[name] = value if value is not None and key_type in value else _dispersed_value(rng, key_type)
    while (key_id := _key_id(key)) in live or key_id in busy:
        hash_name, hash_type = schema[0]
        key[hash_name] = _dispersed_value(rng, hash_type)
    return key


def _add_existing_keys(client: Any, table: str, schema: Sequence[tuple[str, str]], live: _LiveKeys) -> None:
    names = {f"#k{index}": name for index, (name, _) in enumerate(schema)}
    projection = ", ".join([*names, "#rev"])
    for page in client.get_paginator("scan").paginate(
        TableName=table, ProjectionExpression=projection, ExpressionAttributeNames={**names, "#rev": "rev"}
    ):
        for item in page.get("Items") or []:
            key = {name: item[name] for _, name in names.items()}
            rev = int(item.get("rev", {}).get("N", "0"))
            live.add(_key_id(key), key, rev)


def _report(stream: TextIO, summary: Summary, elapsed: float) -> None:
    rate = summary.operations / elapsed if elapsed > 0 else 0.0
    stream.write(
        f"generator: {summary.operations} ops (puts {summary.puts}, updates {summary.updates}, "
        f"deletes {summary.deletes}, unprocessed retries {summary.unprocessed_retries}) "
        f"in {elapsed:.1f}s, {rate:.1f} ops/s\n"
    )
    stream.flush()


def _validate(options: Options) -> None:
    if (options.items is None) == (options.duration is None):
        raise ValueError("give exactly one of items or duration")
    if options.items is not None and options.items < 0:
        raise ValueError("items must be >= 0")
    if options.duration is not None and options.duration <= 0:
        raise ValueError("duration must be > 0")
    if not 1 <= options.batch_size <= MAX_BATCH:
        raise ValueError(f"batch size must be 1 to {MAX_BATCH}")
    if options.profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
    if options.rate < 0:
        raise ValueError("rate must be >= 0")
    shares = (options.update_share, options.delete_share)
    if any(not 0 <= share <= 1 for share in shares) or sum(shares) > 1:
        raise ValueError("update and delete shares must be within 0..1 and sum to at most 1")
    if options.delete_share > 1 - sum(shares) and not options.existing_keys:
        raise ValueError("delete share cannot exceed the put share: only existing keys can be deleted")


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m ddb_cdc.generator",
        description="Write puts, updates and deletes into a DynamoDB table to drive its stream.",
    )
    parser.add_argument(
        "--table", required=True, help="table name (its key schema is read with DescribeTable)"
    )
    amount = parser.add_mutually_exclusive_group(required=True)
    amount.add_argument("--items", type=int, help="number of operations to write")
    amount.add_argument("--duration", type=float, help="seconds to keep writing")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="target operations per second (0 = unthrottled)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=MAX_BATCH, help=f"items per BatchWriteItem (<= {MAX_BATCH})"
    )
    parser.add_argument("--profile", choices=PROFILES, default="iot", help="item shape")
    parser.add_argument(
        "--update-share", type=float, default=0.0, help="share of operations replacing an existing key"
    )
    parser.add_argument(
        "--delete-share", type=float, default=0.0, help="share of operations deleting an existing key"
    )
    parser.add_argument("--seed", type=int, help="random seed for reproducible keys and values")
    parser.add_argument(
        "--existing-keys",
        action="store_true",
        help="let updates and deletes also pick keys already in the table (one Scan at start)",
    )
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint, e.g. a local moto server")
    parser.add_argument("--region", help="AWS region (default: from the environment)")
    args = parser.parse_args(argv)
    options = Options(
        table=args.table,
        items=args.items,
        duration=args.duration,
        rate=args.rate,
        batch_size=args.batch_size,
        profile=args.profile,
        update_share=args.update_share,
        delete_share=args.delete_share,
        seed=args.seed,
        existing_keys=args.existing_keys,
        endpoint_url=args.endpoint_url,
        region=args.region,
    )
    try:
        _validate(options)
    except ValueError as exc:
        parser.error(str(exc))
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    import boto3  # deferred so that --help and argument errors need no AWS setup

    client = boto3.client("dynamodb", endpoint_url=options.endpoint_url, region_name=options.region)
    summary = run(client, options, progress=sys.stderr)
    sys.stdout.write(json.dumps(summary.as_dict()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
