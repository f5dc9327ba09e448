"""Fault injection for the demo: ``--faults outage,slowdown,kill-writer,odd-values``.

Contract 4 (nothing is lost, whatever fails) made checkable: each fault happens in the middle of
a run, and the run must still end with the warehouse equal to the table, with nobody stepping in.

* ``outage``: the warehouse goes away for :data:`OUTAGE_SANDBOX_MINUTES` (on the runtime's clock),
  and on until the loader met it, then comes back by itself. It begins at the first load submitted
  after the first load committed: that statement, already running, FAILS with a lost connection,
  and for the rest of the outage the Data API answers every ExecuteStatement and
  BatchExecuteStatement with ``DatabaseConnectionException`` (``DataApiEngine.begin_outage``).
  The second half of the changes is written into it.
* ``slowdown``: S3 answers every :data:`SLOWDOWN_EVERY`-th PutObject into the bucket with
  ``503 SlowDown`` (the ``s3-slowdown`` patch): the writer's objects, manifests, failure records.
* ``kill-writer``: the writer's worker process is SIGKILLed while its batch is in flight, at its
  :data:`KILL_AT_RAW_PUT`-th change file (the object still lands; the invocation fails, and the
  stream mapping retries and bisects it, as Lambda does after a crashed execution environment).
* ``odd-values``: items whose strings hold NUL or exceed SUPER's 65,535 bytes, at the top level
  and nested, inserted, updated and deleted among the generator's changes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Any, Final

from tests.sandbox.patches import s3_slowdown

FAULTS: Final = ("outage", "slowdown", "kill-writer", "odd-values")
OUTAGE_SANDBOX_MINUTES: Final = 5.0
# It lasts on until it refused a call (the loader met it), but never past this.
OUTAGE_MAX_SANDBOX_MINUTES: Final = 60.0
SLOWDOWN_EVERY: Final = 4
KILL_AT_RAW_PUT: Final = 2
LONG_TEXT_BYTES: Final = 70_000  # over SUPER's 65,535-byte string limit, under DynamoDB's 400 KB item


def parse_faults(text: str) -> frozenset[str]:
    """``outage,slowdown`` -> the set; ``all`` -> every fault; raises ValueError naming an unknown one."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return frozenset(FAULTS)
    unknown = [name for name in names if name not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r}: choose from {', '.join(FAULTS)}, all")
    return frozenset(names)


def _text(size_bytes: int, marker: str) -> str:
    """Text of ``size_bytes`` UTF-8 bytes, multi-byte characters included (the limit is in bytes)."""
    unit = f"{marker}:é€-"  # 1, 2 and 3-byte characters
    repeated = unit * (size_bytes // len(unit.encode()) + 1)
    return repeated.encode()[:size_bytes].decode(errors="ignore")


def odd_items(timestamp: int) -> list[dict[str, Any]]:
    """Items a warehouse cannot store as they are: NUL in strings, strings over 65,535 bytes."""
    nul = "before\x00after"
    return [
        {"id": {"S": "odd-nul"}, "timestamp": {"N": str(timestamp)}, "note": {"S": nul}},
        {
            "id": {"S": "odd-long"},
            "timestamp": {"N": str(timestamp)},
            "text": {"S": _text(LONG_TEXT_BYTES, "L")},
        },
        {
            "id": {"S": "odd-nested"},
            "timestamp": {"N": str(timestamp)},
            "doc": {
                "M": {
                    "list": {"L": [{"S": "\x00"}, {"S": _text(LONG_TEXT_BYTES, "N")}, {"N": "1"}]},
                    "inner": {"M": {"nul": {"S": "a\x00b\x00\x00c"}}},
                }
            },
        },
        {"id": {"S": "odd-deleted"}, "timestamp": {"N": str(timestamp)}, "note": {"S": nul + "deleted"}},
    ]


class FaultInjector:
    """Injects the chosen faults into one demo run and counts what they did."""

    def __init__(
        self,
        faults: frozenset[str],
        *,
        clock_factor: float,
        runtime: Any,
        data_api: Any,
        outputs: dict[str, Any],
    ) -> None:
        self.faults = faults
        self._runtime = runtime
        self._data_api = data_api
        self._outputs = outputs
        self._outage_seconds = OUTAGE_SANDBOX_MINUTES * 60.0 / clock_factor
        self._outage_max_seconds = OUTAGE_MAX_SANDBOX_MINUTES * 60.0 / clock_factor
        self._lock = threading.Lock()
        self._raw_puts = 0
        self._killed: list[dict[str, Any]] = []
        self._slowdown: s3_slowdown.SlowDown | None = None
        self._odd: dict[str, Any] = {}
        self._outage: dict[str, Any] = {}

    def install(self, stack: contextlib.ExitStack) -> list[dict[str, str]]:
        """Install what must be in place before the first change; returns the patches it added."""
        if not {"slowdown", "kill-writer"} & self.faults:
            return []
        every = SLOWDOWN_EVERY if "slowdown" in self.faults else 0
        self._slowdown = stack.enter_context(
            s3_slowdown.installed(self._outputs["bucket_name"], every=every, on_put=self._on_put)
        )
        return [{"name": s3_slowdown.NAME, "follows": s3_slowdown.FOLLOWS}]

    def _on_put(self, _bucket: str, key: str) -> None:
        if "kill-writer" not in self.faults or not key.startswith(self._outputs["raw_prefix"]):
            return
        with self._lock:
            self._raw_puts += 1
            due = self._raw_puts == KILL_AT_RAW_PUT
        if due:
            # In the moto server's thread, while the writer waits for this PutObject's answer.
            writer = self._outputs["writer_function_name"]
            pid = self._runtime.kill_worker(writer)
            with self._lock:
                self._killed.append({"function": writer, "pid": pid, "while_putting": key})

    def arm_outage(self, *, first_load_timeout: float) -> None:
        """Wait for the first committed load, then arm the outage for the next submitted load."""
        if "outage" not in self.faults:
            return
        deadline = time.monotonic() + first_load_timeout
        while self._data_api.stats()["copy_statements_committed"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        self._data_api.arm_outage(self._outage_seconds, at_most=self._outage_max_seconds)
        self._outage = {"sandbox_minutes": OUTAGE_SANDBOX_MINUTES, "seconds": round(self._outage_seconds, 2)}

    def wait_outage_begun(self, timeout: float) -> None:
        """Until the armed outage began (a load arrived), so what follows is written into it."""
        if "outage" not in self.faults:
            return
        deadline = time.monotonic() + timeout
        while self._data_api.stats()["outages"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)

    def write_odd_values(self, dynamodb: Any, table: str) -> None:
        """Insert the odd items, update two of them, delete one: INSERT, MODIFY and REMOVE records."""
        if "odd-values" not in self.faults:
            return
        timestamp = int(time.time() * 1000)
        items = odd_items(timestamp)
        for item in items:
            dynamodb.put_item(TableName=table, Item=item)
        updated = [
            dict(items[0], note={"S": "\x00updated\x00"}),
            dict(items[1], text={"S": _text(66_000, "U")}),
        ]
        for item in updated:
            dynamodb.put_item(TableName=table, Item=item)
        deleted = items[-1]
        dynamodb.delete_item(TableName=table, Key={"id": deleted["id"], "timestamp": deleted["timestamp"]})
        self._odd = {"inserts": len(items), "updates": len(updated), "deletes": 1}

    def summary(self) -> dict[str, Any]:
        """What was injected, per fault, with the counts that show it happened."""
        stats = self._data_api.stats()
        done: dict[str, Any] = {}
        if "outage" in self.faults:
            done["outage"] = {
                **self._outage,
                "outages": stats.get("outages", 0),
                "refused_calls": stats.get("outage_refused_calls", 0),
                "failed_statements": stats.get("outage_failed_statements", 0),
            }
        if "slowdown" in self.faults and self._slowdown is not None:
            done["slowdown"] = self._slowdown.stats()
        if "kill-writer" in self.faults:
            writer = self._runtime.stats()["functions"].get(self._outputs["writer_function_name"], {})
            done["kill-writer"] = {
                "killed": list(self._killed),
                "writer_invocations": writer.get("invocations", 0),
                "writer_errors": writer.get("errors", 0),
            }
        if "odd-values" in self.faults:
            done["odd-values"] = {
                **self._odd,
                "nul_strings": True,
                "long_string_bytes": LONG_TEXT_BYTES,
            }
        return done


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


def queue_depth(sqs: Any, queue_url: str | None) -> int:
    """Messages in a queue (visible, in flight and delayed): what a person would have to look at."""
    if not queue_url:
        return 0
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


__all__: Sequence[str] = ("FAULTS", "FaultInjector", "list_keys", "parse_faults", "queue_depth")
