"""The demo's emr_compaction runs: the deployed state machine, started for each hour, as an operator would.

``make demo LOAD=emr_compaction``: after the changes are written and every raw file has landed, the demo
starts the state machine Terraform deployed once per hour that holds raw files, with the input an
operator's manual run uses (``{"hour": "YYYY-MM-DDTHH"}``; the schedule sends ``{"scheduled_time": …}``,
which the sandbox's scheduler exercises in tests/sandbox/test_step_functions.py). Each run creates a
cluster (moto's EMR, driven by the ``emr`` patch), runs s3-dist-cp on the sandbox's S3, terminates the
cluster and invokes the loader. Then it writes a few late changes, whose files land in an hour already
compacted, and runs the next (empty) hour: that run starts no cluster and its load step loads the late
files raw. ``--fail-compaction`` makes the first s3-dist-cp step fail: that run must end FAILED with its
cluster terminated, an alert on the topic, and the hour's raw files loaded anyway.

The demo's schedules run on the sandbox clock, but the raw keys' hours are the writers' real time, so
the demo names the hours instead of waiting for the hourly schedule.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from ddb_cdc import layout
from ddb_cdc.warehouse.sql import raw_prefix

RUNNING_CLUSTER_STATES: Final = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"]
HOUR_MS: Final = 3_600_000


@dataclass
class CompactionRuns:
    sfn: Any
    emr: Any
    s3: Any
    state_machine_arn: str
    bucket: str
    prefix: str
    table: str
    # Raw files of an hour (its prefix) not in the ledger; the loads of a run may finish just after it (async Data API).
    unloaded: Callable[[str], int] | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)

    def _keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def raw_hours(self) -> list[int]:
        """Start (epoch ms) of every hour that holds a raw change file."""
        keys = self._keys(raw_prefix(self.prefix, self.table))
        return sorted(
            {layout.parse_object_key(key).hour_ms for key in keys if key.endswith(layout.RAW_SUFFIX)}
        )

    def clusters(self, states: list[str] | None = None) -> list[str]:
        ids: list[str] = []
        for page in self.emr.get_paginator("list_clusters").paginate(
            **({"ClusterStates": states} if states else {})
        ):
            ids.extend(cluster["Id"] for cluster in page.get("Clusters", []))
        return ids

    def run(self, hour_ms: int, timeout_s: float, *, whole_table: bool = False) -> dict[str, Any]:
        """One execution for one hour, waited for; what it did. ``whole_table``: also wait for, and count, the raw
        files of every hour not in the ledger (a run's load step loads the late files of the hours before)."""
        label = layout.hour_label(hour_ms)
        before = set(self.clusters())
        arn = self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=f"demo-{label.replace(':', '')}-{len(self.runs)}",
            input=json.dumps({"hour": label}),
        )["executionArn"]
        deadline = time.monotonic() + timeout_s
        while True:
            description = self.sfn.describe_execution(executionArn=arn)
            if description["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        created = sorted(set(self.clusters()) - before)
        states = {
            cluster: self.emr.describe_cluster(ClusterId=cluster)["Cluster"]["Status"]["State"]
            for cluster in created
        }
        plan = json.loads(description.get("output") or "{}").get("plan") or {}
        run_id = plan.get("run")
        outcome = {
            "hour": label,
            "status": description["status"],
            "error": description.get("error"),
            "inputs": plan.get("inputs"),
            "clusters": states,
            "compacted_objects": len(
                self._keys(layout.compacted_prefix(self.prefix, self.table, hour_ms, run_id))
            )
            if run_id
            else None,
        }
        if self.unloaded is not None:
            # Loaded by this run (its compacted load, or its raw fallback), before any other run starts.
            hour_prefix = layout.raw_hour_prefix(self.prefix, self.table, hour_ms)
            outcome["raw_unloaded_after"] = _settled(lambda: self.unloaded(hour_prefix), timeout_s)
            if whole_table:
                whole = raw_prefix(self.prefix, self.table)
                outcome["raw_unloaded_in_table_after"] = _settled(lambda: self.unloaded(whole), timeout_s)
        self.runs.append(outcome)
        return outcome

    def summary(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "clusters_created": sum(len(run["clusters"]) for run in self.runs),
            "clusters_left_running": len(self.clusters(RUNNING_CLUSTER_STATES)),
        }


def _settled(count: Callable[[], int], timeout_s: float) -> int:
    """``count()`` once it reached 0 (loads submitted by the run may commit after it ended), or at the deadline."""
    deadline = time.monotonic() + timeout_s
    value = count()
    while value and time.monotonic() < deadline:
        time.sleep(0.25)
        value = count()
    return value
