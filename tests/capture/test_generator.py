"""The load generator: exact shares of puts, updates and deletes, safe batches, CLI."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from ddb_cdc import generator
from ddb_cdc.generator import Options

from .support import REGION, create_table, scan_all, stream_events


def test_generator_writes_n_operations_with_the_requested_update_and_delete_shares(aws: None) -> None:
    client = create_table("sensors", [("id", "S", "HASH")])
    summary = generator.run(
        client, Options(table="sensors", items=300, update_share=0.2, delete_share=0.1, seed=7)
    )
    assert (summary.puts, summary.updates, summary.deletes) == (210, 60, 30)
    assert summary.operations == 300 and summary.batches == 12

    items = scan_all(client, "sensors")
    assert len(items) == summary.puts - summary.deletes
    assert {frozenset(item) for item in items} == {
        frozenset({"id", "timestamp", "temp", "mois", "thre", "rev"})
    }
    assert sum(int(item["rev"]["N"]) for item in items) <= summary.updates
    assert Counter(r["eventName"] for r in stream_events(client, "sensors")) == {
        "INSERT": 210,
        "MODIFY": 60,
        "REMOVE": 30,
    }


def test_hash_and_range_tables_get_keys_of_the_declared_types(aws: None) -> None:
    client = create_table("readings", [("device", "B", "HASH"), ("timestamp", "N", "RANGE")])
    summary = generator.run(client, Options(table="readings", items=60, update_share=0.3, seed=1))
    items = scan_all(client, "readings")
    assert len(items) == summary.puts == 42
    assert all(isinstance(item["device"]["B"], bytes) and item["timestamp"]["N"].isdigit() for item in items)


def test_mixed_profile_writes_every_dynamodb_type(aws: None) -> None:
    client = create_table("mixed", [("pk", "S", "HASH")])
    generator.run(client, Options(table="mixed", items=5, profile="mixed", seed=2))
    (item, *_) = scan_all(client, "mixed")
    tags: set[str] = set()

    def walk(attr: dict[str, Any]) -> None:
        ((tag, value),) = attr.items()
        tags.add(tag)
        if tag == "M":
            for inner in value.values():
                walk(inner)
        elif tag == "L":
            for inner in value:
                walk(inner)

    walk({"M": item})
    assert tags == {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}
    assert item["big"]["N"] != str(float(item["big"]["N"]))  # 38 digits, more than a float holds


class FakeDynamo:
    """DescribeTable plus a BatchWriteItem that can leave items unprocessed."""

    def __init__(self, unprocessed_rounds: int = 0) -> None:
        self.unprocessed_rounds = unprocessed_rounds
        self.batches: list[list[dict[str, Any]]] = []
        self.items: dict[str, dict[str, Any]] = {}

    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {
            "Table": {
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            }
        }

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        keys = [
            (r["PutRequest"]["Item"] if "PutRequest" in r else r["DeleteRequest"]["Key"])["id"]["S"]
            for r in requests
        ]
        assert len(keys) == len(set(keys)), "a batch names the same key twice"
        self.batches.append(requests)
        done, left = requests, []
        if self.unprocessed_rounds:
            self.unprocessed_rounds -= 1
            done, left = requests[: len(requests) // 2], requests[len(requests) // 2 :]
        for request in done:
            if "PutRequest" in request:
                item = request["PutRequest"]["Item"]
                self.items[item["id"]["S"]] = item
            else:
                del self.items[request["DeleteRequest"]["Key"]["id"]["S"]]
        return {"UnprocessedItems": {table: left} if left else {}}


def test_unprocessed_items_are_retried_with_backoff_until_written() -> None:
    client = FakeDynamo(unprocessed_rounds=2)
    sleeps: list[float] = []
    summary = generator.run(client, Options(table="t", items=20, batch_size=20, seed=3), sleep=sleeps.append)
    assert summary.unprocessed_retries == 10 + 5
    assert len(client.items) == 20
    assert len(sleeps) == 2 and sleeps[0] < sleeps[1]


def test_no_batch_holds_two_operations_on_the_same_key() -> None:
    client = FakeDynamo()
    summary = generator.run(
        client, Options(table="t", items=500, update_share=0.45, delete_share=0.1, seed=4)
    )
    assert (summary.updates, summary.deletes) == (225, 50)
    assert len(client.items) == summary.puts - summary.deletes


def test_duration_mode_writes_until_the_time_is_up() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 0.01
        return now[0]

    summary = generator.run(FakeDynamo(), Options(table="t", duration=1.0, batch_size=10), clock=clock)
    assert summary.operations > 0 and summary.operations % 10 == 0
    assert summary.elapsed_s >= 1.0


def test_rate_limit_paces_the_writes() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    summary = generator.run(
        FakeDynamo(),
        Options(table="t", items=100, rate=50.0, batch_size=25),
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert sum(sleeps) == pytest.approx(2.0)
    assert summary.rate == pytest.approx(50.0)


def test_cli_prints_the_summary_on_stdout_and_progress_on_stderr(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    create_table("cli", [("id", "S", "HASH")], stream=False)
    exit_code = generator.main(
        ["--table", "cli", "--items", "40", "--update-share", "0.25", "--seed", "5", "--region", REGION]
    )
    out, err = capsys.readouterr()
    assert exit_code == 0
    summary = json.loads(out)
    assert {k: summary[k] for k in ("puts", "updates", "deletes", "operations")} == {
        "puts": 30,
        "updates": 10,
        "deletes": 0,
        "operations": 40,
    }
    assert {"unprocessed_retries", "elapsed_s", "rate"} <= summary.keys()
    assert err.startswith("generator: 40 ops")


@pytest.mark.parametrize(
    "argv",
    [
        ["--table", "t", "--items", "5", "--batch-size", "26"],
        ["--table", "t", "--items", "5", "--update-share", "0.7", "--delete-share", "0.4"],
        ["--table", "t", "--items", "5", "--update-share", "0.5", "--delete-share", "0.3"],
        ["--table", "t", "--items", "5", "--duration", "3"],
        ["--table", "t"],
        ["--table", "t", "--items", "5", "--profile", "other"],
    ],
)
def test_cli_rejects_arguments_it_cannot_honour(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        generator.parse_args(argv)
    assert raised.value.code == 2


def test_existing_keys_lets_updates_and_deletes_touch_items_the_run_did_not_write(aws: None) -> None:
    client = create_table("seeded", [("id", "S", "HASH"), ("timestamp", "N", "RANGE")])
    generator.run(client, Options(table="seeded", items=200, seed=3))
    seeded = {(i["id"]["S"], i["timestamp"]["N"]) for i in scan_all(client, "seeded")}
    summary = generator.run(
        client,
        Options(table="seeded", items=100, update_share=0.5, delete_share=0.3, seed=4, existing_keys=True),
    )
    after = {(i["id"]["S"], i["timestamp"]["N"]): i for i in scan_all(client, "seeded")}
    touched = {key for key in seeded if key not in after or after[key]["rev"]["N"] != "0"}
    # With 200 seeded keys and only 20 new ones, most updates and deletes land on seeded keys.
    assert len(touched) > (summary.updates + summary.deletes) // 2
    assert len(after) == 200 + summary.puts - summary.deletes
