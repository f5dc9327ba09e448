"""The demo's report: what happened, in numbers, as text for people and JSON for tests."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Report:
    aggregation: str
    load_strategy: str
    data_api_mode: str
    changes: dict[str, int] = field(default_factory=dict)  # generator summary: puts, updates, deletes
    stream_batches: int = 0  # writer invocations by the stream mapping
    max_records_per_batch: int = 0
    configured_batch_size: int | None = None
    s3_objects: int = 0  # change files under raw/<table>/
    s3_bytes: int = 0
    copy_statements: int = 0  # COPYs committed by the Data API emulator
    loads_failed: int = 0
    rows_copied: int = 0
    rows_merged: int = 0
    table_items: int = 0
    view_rows: int = 0
    tombstones: int = 0
    mismatches: int = -1
    mismatch_sample: dict[str, list[str]] = field(default_factory=dict)
    # Last acknowledged write -> view equals the table; an upper bound, as it includes the one full
    # scan of the table (about a second for 6,000 items) that the comparison needs first.
    freshness_seconds: float | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase
    wall_seconds: float = 0.0
    runtime: dict[str, Any] = field(default_factory=dict)  # the local Lambda runtime's stats
    data_api: dict[str, Any] = field(default_factory=dict)
    firehose: dict[str, Any] | None = None
    patches: list[dict[str, str]] = field(default_factory=list)
    deployed: dict[str, Any] = field(default_factory=dict)  # what Terraform deployed, as the runtime read it
    resources_left_after_destroy: list[str] | None = None  # `terraform state list` after destroy
    drained: bool = False  # runtime and patches idle together after the view matched
    environment: str = "sandbox"  # "sandbox" (make demo, make test) or "aws" (make verify-aws)
    # Fields this environment cannot count (on AWS: what only the local runtime and Data API emulator see).
    unmeasured: list[str] = field(default_factory=list)
    cost: dict[str, Any] | None = None  # tests.aws.cost.Estimate.as_dict(): an estimate, never a bill
    # Fault injection (demo --faults): fault name -> what was injected and the counts that show it happened.
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What would need a person: objects under the quarantine prefix (records and files), messages in the
    # writer's DLQ, stream batches the mapping gave up on. Only what truly cannot be stored belongs here.
    quarantined: list[str] = field(default_factory=list)
    writer_dlq_messages: int = 0
    stream_batches_discarded: int = 0
    # Backfill runs (demo --backfill): seeded items, the scan's figures (tests/sandbox/backfill_run.py).
    backfill: dict[str, Any] | None = None
    # ec2_cron: the loader hosts' timer runs (tests/sandbox/ec2_host.py): hosts, runs, failures, per host, user data.
    ec2_hosts: dict[str, Any] | None = None
    # emr_compaction: the state machine's runs (tests/sandbox/compaction_run.py): per hour, status, clusters.
    compaction: dict[str, Any] | None = None
    # The deployed CloudWatch dashboard checked against this run (demo.check_dashboard): widgets, and unknown_metrics,
    # the graphs of a custom metric never published here or of an AWS/* metric naming no deployed resource.
    dashboard: dict[str, Any] | None = None
    # demo --calibrate (tests/sandbox/calibration.py): per rate, the objects and COPYs counted in a measuring window,
    # per hour, beside the planner's prediction for the achieved rate and the applied knobs.
    calibration: list[dict[str, Any]] | None = None

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.drained and self.resources_left_after_destroy == []

    def as_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    def as_text(self) -> str:
        changes = self.changes
        total = changes.get("operations", sum(changes.get(k, 0) for k in ("puts", "updates", "deletes")))
        lines = [
            f"{self.environment} report: aggregation={self.aggregation} load={self.load_strategy} "
            f"data_api_mode={self.data_api_mode}",
            f"  changes generated     {total:>10,}  (puts {changes.get('puts', 0):,}, updates "
            f"{changes.get('updates', 0):,}, deletes {changes.get('deletes', 0):,})",
            f"  stream batches        {self.stream_batches:>10,}  (largest {self.max_records_per_batch:,} "
            f"records; mapping batch_size {self.configured_batch_size})",
            f"  S3 change objects     {self.s3_objects:>10,}  ({self.s3_bytes:,} bytes gzip)",
            f"  COPY statements       {self.copy_statements:>10,}  ({self.rows_copied:,} rows staged; "
            f"{self.loads_failed} failed loads)",
            f"  rows merged           {self.rows_merged:>10,}",
            f"  tombstones            {self.tombstones:>10,}",
            f"  table items / view    {self.table_items:>10,} / {self.view_rows:,}",
            f"  mismatches            {self.mismatches:>10,}" + ("" if self.ok else "   <-- FAILED"),
            "  freshness             "
            + (
                f"{self.freshness_seconds:>10.1f} s  (last acknowledged write -> view equals the table)"
                if self.freshness_seconds is not None
                else "       n/a  (the view never matched the table)"
            ),
            f"  wall time             {self.wall_seconds:>10.1f} s  ("
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.phases.items())
            + ")",
        ]
        if self.backfill is not None:
            b = self.backfill
            seeded = (b.get("seeded") or {}).get("puts", 0)
            lines += [
                f"  backfill              {b.get('mode', '?'):>10}  (scan {b.get('scan_id')}, "
                f"{b.get('segments_done')}/{b.get('segments')} segments, {b.get('state')})",
                f"  items seeded / read   {seeded:>10,} / {b.get('items_written') or 0:,}  "
                f"({b.get('bytes_written') or 0:,} bytes NDJSON in {b.get('snapshot_objects', 0):,} objects)",
                f"  backfill time         {b.get('seconds') or 0:>10.1f} s  ({b.get('items_per_second')} items/s, "
                "live writes racing it)",
            ]
            if "pages_rewritten_after_resume" in b:
                lines.append(
                    f"  cancel + resume       {b.get('resumed_segments', 0):>10,}  segments resumed "
                    f"({b.get('segments_with_pages_before_resume', 0)} had pages; "
                    f"{b['pages_rewritten_after_resume']} pages written again)"
                )
        if self.ec2_hosts is not None:
            h = self.ec2_hosts
            lines.append(
                f"  ec2 host runs         {h.get('runs', 0):>10,}  ({h.get('hosts', 0)} host{'' if h.get('hosts') == 1 else 's'}, {h.get('failures', 0)} "
                f"failed, {h.get('timeouts', 0)} timed out; timer every "
                f"{(h.get('user_data') or {}).get('period_s', 0):g} s on the sandbox clock)"
            )
        if self.compaction is not None:
            c = self.compaction
            statuses = ", ".join(
                f"{run['hour']} {run['status']} ({run['inputs']} in)" for run in c.get("runs", [])
            )
            lines.append(
                f"  compaction runs       {len(c.get('runs', [])):>10,}  ({statuses}; {c.get('clusters_created', 0)} "
                f"clusters created, {c.get('clusters_left_running', 0)} left running; "
                f"{sum((c.get('late_changes') or {}).get(k, 0) for k in ('puts', 'updates', 'deletes'))} late changes)"
            )
        if self.dashboard is not None:
            d = self.dashboard
            lines.append(
                f"  dashboard             {d.get('widgets', 0):>10,}  widgets ({d.get('metrics', 0)} metrics; unknown "
                f"{len(d.get('unknown_metrics', []))}; not published in "
                f"this run: {', '.join(d.get('not_published_in_run', [])) or 'none'})"
            )
        for c in self.calibration or []:
            lines.append(
                f"  calibration {c['achieved_rate']:>8g}/s  objects/h {c['objects_per_hour']:,.0f} "
                f"(planner {c['predicted_objects_per_hour']:,.0f}), COPYs/h {c['copies_per_hour_by_spacing']:,.0f} "
                f"(planner {c['predicted_copies_per_hour']:,.0f}, by spacing); {c['objects']} objects, "
                f"{c['copies']} COPYs in {c['seconds']:g} s; in flight: writer {c['writer_in_flight_seconds']:g} s, "
                f"loader {c['loader_in_flight_seconds']:g} s"
            )
        for name, done in self.faults.items():
            lines.append(f"  fault {name:<16}{json.dumps(done, sort_keys=True, default=str)}")
        if self.faults or self.quarantined or self.writer_dlq_messages or self.stream_batches_discarded:
            lines.append(
                f"  quarantined           {len(self.quarantined):>10,}  (writer DLQ messages "
                f"{self.writer_dlq_messages:,}; stream batches discarded {self.stream_batches_discarded:,})"
            )
            lines += [f"    {key}" for key in self.quarantined[:20]]
        if self.unmeasured:
            lines.append(f"  not measured here     {', '.join(self.unmeasured)} (shown as 0)")
        if self.cost is not None:
            lines.append(
                f"  estimated cost        {self.cost['total_usd']:>10.4f} USD  (an estimate from "
                f"{self.cost['region']} list prices read {self.cost['prices_read_on']}, not a bill: "
                + ", ".join(f"{name} {usd:.4f}" for name, usd in self.cost["usd"].items())
                + ")"
            )
        if not self.ok and self.mismatch_sample:
            lines.append(f"  sample of mismatching keys: {json.dumps(self.mismatch_sample)}")
        return "\n".join(lines)
