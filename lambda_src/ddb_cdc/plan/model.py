"""The planner's model: usage, monthly cost and freshness of every aggregation x load_strategy. No I/O.

How each strategy batches is read from the code, not guessed:

* ``lambda`` aggregation: the writer puts **one object per stream batch** (handlers/stream_to_s3.py,
  capture.plan_s3_batch). A batch closes when it holds ``batch_size`` records, when the batching window ends, or at
  Lambda's 6 MB invocation payload.
* ``firehose`` aggregation: the writer still runs once per stream batch and puts **one Firehose record per change**
  (capture.plan_firehose_batch); Firehose writes one object per buffer flush (buffering_size_mb or
  buffering_interval_seconds, whichever comes first).
* Every load is **one COPY of one manifest** of at most 1,000 files (loader/selection.MAX_FILES_PER_LOAD) in one
  transaction; a scheduled run starts at most 10 such loads (MAX_CLEAN_LOADS_PER_RUN); an SQS batch loads all its
  files in as many capped loads as it needs. Every loader run also takes one step of the reconciliation sweep
  (loader/reconcile.py: two LIST pages and a state object).
* ``s3_event``: one S3 notification (one SQS message) per object; one loader invocation per SQS batch
  (batch_size, maximum_batching_window_in_seconds), plus the reconciliation schedule. Objects from one source arrive
  periodically (Firehose's flushes, one shard's writer: :func:`periodic_batch_items`), from several shards' writers
  at random (:func:`batch_cycle_seconds`). The loader is reserved at
  concurrency 1 (modules/redshift_loader), so a batch is never loaded sooner than one loader run after the last
  (:func:`loader_invocation_seconds`).
* ``schedule`` / ``ec2_cron``: one run per rate_minutes (EventBridge Scheduler, or the host's systemd timer); a
  run lists the hour prefixes from the ledger's high-water mark minus schedule_lookback_hours.
* ``emr_compaction``: once an hour at grace_minutes, a transient cluster merges the previous hour into files of
  target_size_mb, then one load of the compacted files; the reconciliation schedule runs alongside.

What is not in the code (durations, compression, envelope size) is an :class:`Assumptions` field, printed with
every plan. The batching arithmetic (objects and COPYs per hour) of s3_event, both aggregations, is checked against
the sandbox by tests/sandbox/test_calibration.py, with the loader's run time measured there; the assumptions are not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final

AGGREGATIONS: Final = ("lambda", "firehose")
LOAD_STRATEGIES: Final = ("s3_event", "schedule", "ec2_cron", "emr_compaction")
HOURS_PER_MONTH: Final = 730.0  # AWS's pricing convention (365 x 24 / 12)
MB: Final = 1024 * 1024
GB: Final = 1024**3
# From the loader's code (lambda_src/ddb_cdc/loader/selection.py); a test pins them to it.
MAX_FILES_PER_LOAD: Final = 1000
MAX_CLEAN_LOADS_PER_RUN: Final = 10
# Lambda's invocation payload limit, which also closes stream and SQS batches (Lambda quotas: 6 MB).
LAMBDA_MAX_PAYLOAD_BYTES: Final = 6 * MB


class PlanError(ValueError):
    """An input the planner cannot price (unknown region, an impossible share, ...)."""


@dataclass(frozen=True, slots=True)
class Knobs:
    """The module inputs that change cost or freshness. Defaults equal the submodules' variables.tf defaults
    (the root leaves them null); tests/plan/test_defaults_drift.py fails when one drifts."""

    batch_size: int = 1000
    batching_window_seconds: float = 5
    parallelization_factor: int = 1
    firehose_buffering_size_mb: int = 64
    firehose_buffering_interval_seconds: int = 300
    s3_event_batch_size: int = 10000
    s3_event_batching_window_seconds: int = 300
    s3_event_reconcile_rate_minutes: int = 60
    schedule_rate_minutes: int = 15
    schedule_lookback_hours: int = 24
    ec2_cron_rate_minutes: int = 5
    ec2_cron_instance_type: str = "t4g.nano"
    ec2_cron_root_volume_size_gb: int = 8
    emr_master_instance_type: str = "m5.xlarge"
    emr_core_instance_type: str = "m5.xlarge"
    emr_core_instance_count: int = 1
    emr_grace_minutes: int = 15
    emr_target_size_mb: int = 64
    emr_reconcile_rate_minutes: int = 60
    writer_memory_size: int = 512
    loader_memory_size: int = 512
    completion_memory_size: int = 256
    raw_expiration_days: int = 30
    compaction_expiration_days: int = 30
    data_api_mode: str = "async"


# Knob -> (module directory, variable, field of an object variable or None): where its default lives.
DEFAULT_SOURCES: Final[Mapping[str, tuple[str, str, str | None]]] = {
    "batch_size": ("modules/ddb_stream", "stream_mapping", "batch_size"),
    "batching_window_seconds": ("modules/ddb_stream", "stream_mapping", "maximum_batching_window_in_seconds"),
    "parallelization_factor": ("modules/ddb_stream", "stream_mapping", "parallelization_factor"),
    "firehose_buffering_size_mb": ("modules/firehose", "buffering_size", None),
    "firehose_buffering_interval_seconds": ("modules/firehose", "buffering_interval", None),
    "s3_event_batch_size": ("modules/redshift_loader", "s3_event", "batch_size"),
    "s3_event_batching_window_seconds": (
        "modules/redshift_loader",
        "s3_event",
        "maximum_batching_window_in_seconds",
    ),
    "s3_event_reconcile_rate_minutes": ("modules/redshift_loader", "s3_event", "reconcile_rate_minutes"),
    "schedule_rate_minutes": ("modules/redshift_loader", "schedule", "rate_minutes"),
    "schedule_lookback_hours": ("modules/redshift_loader", "schedule_lookback_hours", None),
    "ec2_cron_rate_minutes": ("modules/ec2_cron", "rate_minutes", None),
    "ec2_cron_instance_type": ("modules/ec2_cron", "instance_type", None),
    "ec2_cron_root_volume_size_gb": ("modules/ec2_cron", "root_volume_size_gb", None),
    "emr_master_instance_type": ("modules/emr_compaction", "master_instance_type", None),
    "emr_core_instance_type": ("modules/emr_compaction", "core_instance_type", None),
    "emr_core_instance_count": ("modules/emr_compaction", "core_instance_count", None),
    "emr_grace_minutes": ("modules/emr_compaction", "grace_minutes", None),
    "emr_target_size_mb": ("modules/redshift_loader", "emr_compaction", "target_size_mb"),
    "emr_reconcile_rate_minutes": ("modules/redshift_loader", "emr_compaction", "reconcile_rate_minutes"),
    "writer_memory_size": ("modules/stream_writer", "memory_size", None),
    "loader_memory_size": ("modules/redshift_loader", "loader_memory_size", None),
    "completion_memory_size": ("modules/redshift_loader", "completion_memory_size", None),
    "raw_expiration_days": ("modules/s3_sink", "raw_expiration_days", None),
    "compaction_expiration_days": ("modules/s3_sink", "compaction_expiration_days", None),
    "data_api_mode": ("modules/redshift_loader", "data_api_mode", None),
}


@dataclass(frozen=True, slots=True)
class Assumptions:
    """What the code does not decide. None of these is calibrated: tests/sandbox/test_calibration.py checks only the
    batching arithmetic (objects and COPYs per hour of s3_event, both aggregations) against the sandbox."""

    envelope_overhead_bytes: int = 350  # op, typed and canonical key, 40-digit token, time, table name
    gzip_ratio: float = 0.25  # compressed / uncompressed NDJSON
    stream_poll_seconds: float = 0.25  # Lambda's stream poll cadence when the batching window is 0
    s3_notification_bytes: int = 1400  # one S3 event notification in an SQS message
    sqs_pollers: int = 5  # long-polling connections an SQS event source mapping keeps open
    sqs_long_poll_seconds: int = 20
    writer_base_ms: float = 60.0
    writer_ms_per_kb: float = 0.05  # JSON conversion and gzip, at 512 MB
    loader_run_seconds: float = 3.0  # an asynchronous (Data API) run: list, ledger look-up, submit
    loader_seconds_per_load: float = 1.0
    completion_seconds: float = 1.0
    load_seconds: float = 60.0  # COPY, dedupe and MERGE on the warehouse, submit to commit
    commit_seconds: float = 1.0  # time one load's commit holds Redshift's commit queue
    emr_fixed_minutes: float = 12.0  # provisioning, bootstrap and termination of the transient cluster
    emr_mb_per_second: float = 50.0  # s3-dist-cp throughput over compressed input
    emr_transitions_per_run: int = 12  # Step Functions state transitions of one compaction run


@dataclass(frozen=True, slots=True)
class Workload:
    """Changes per second for each hour of a day (one value: the same every hour)."""

    hourly_rates: tuple[float, ...]
    item_bytes: int = 1024
    update_share: float = 0.5
    delete_share: float = 0.1
    shards: int = 1

    def __post_init__(self) -> None:
        if len(self.hourly_rates) not in (1, 24):
            raise PlanError(f"a daily profile has 24 hourly rates (got {len(self.hourly_rates)})")
        if any(rate < 0 or not math.isfinite(rate) for rate in self.hourly_rates):
            raise PlanError("rates must be finite numbers of changes per second, 0 or more")
        if not (0 <= self.update_share <= 1 and 0 <= self.delete_share <= 1):
            raise PlanError("update and delete shares must be between 0 and 1")
        if self.update_share + self.delete_share > 1:
            raise PlanError(
                f"update share {self.update_share} + delete share {self.delete_share} exceeds 1 (the rest are inserts)"
            )
        if self.item_bytes <= 0 or self.shards < 1:
            raise PlanError("item size must be positive and shards at least 1")

    @property
    def rates(self) -> tuple[float, ...]:
        return self.hourly_rates * 24 if len(self.hourly_rates) == 1 else self.hourly_rates

    @property
    def mean_rate(self) -> float:
        return sum(self.rates) / 24

    @property
    def peak_rate(self) -> float:
        return max(self.rates)

    def scaled_to(self, mean_rate: float) -> Workload:
        """The same daily shape at another mean rate (the plot's x axis)."""
        mean = self.mean_rate
        rates = (
            tuple(mean_rate for _ in self.rates)
            if mean == 0
            else tuple(r * mean_rate / mean for r in self.rates)
        )
        return replace(self, hourly_rates=rates)


def envelope_bytes(workload: Workload, assumptions: Assumptions) -> float:
    """Mean envelope line (uncompressed): a remove carries no new image."""
    return assumptions.envelope_overhead_bytes + (1 - workload.delete_share) * workload.item_bytes


def stream_record_bytes(workload: Workload, assumptions: Assumptions) -> float:
    """Mean stream record the writer receives (NEW_AND_OLD_IMAGES): inserts carry the new image, modifies both,
    removes the old one."""
    inserts = 1 - workload.update_share - workload.delete_share
    images = inserts + 2 * workload.update_share + workload.delete_share
    return assumptions.envelope_overhead_bytes + images * workload.item_bytes


def firehose_billed_bytes(record_bytes: float, rounding: int = 5120) -> int:
    """Firehose bills each record rounded up to the next 5 KB: 1 KB -> 5 KB, 6 KB -> 10 KB."""
    return max(1, math.ceil(record_bytes / rounding)) * rounding


def batch_cycle_seconds(rate: float, cap: float, window: float) -> float:
    """Seconds from one batch's close to the next's, for items arriving at ``rate`` per second.

    A batch opens with its first item (on average 1/rate after the last close) and closes when it holds ``cap``
    items or ``window`` seconds after it opened: cycle = 1/rate + min(window, (cap - 1)/rate). Full batches give
    cap/rate; a window-bound batch holds 1 + rate x window items.
    """
    if rate <= 0:
        return math.inf
    return 1 / rate + min(window, (cap - 1) / rate)


def batch_span_seconds(rate: float, cap: float, window: float) -> float:
    """How long the first item of a batch waits for the batch to close (the worst wait)."""
    if rate <= 0:
        return window
    return min(window, (cap - 1) / rate)


def periodic_batch_items(period: float, cap: float, window: float) -> int:
    """Items in one batch when they arrive every ``period`` seconds (one writer or one Firehose stream at a steady
    rate): the batch opens with an item and takes every item due before its ``window`` ends, up to ``cap``.

    An item due exactly at the window's end is counted out: Firehose flushes once its interval has passed, so with the
    defaults (300 s buffer interval, 300 s SQS window) each object is its own load, 12 an hour; a run whose flushes
    come a little early makes 6. Near such a ratio a little jitter moves the count by a whole item.
    """
    if period <= 0 or not math.isfinite(period):
        return 1
    due_before_close = max(0, math.ceil(window / period - 1e-9) - 1)
    return int(max(1, min(cap, 1 + due_before_close)))


def periodic_batch_cycle_seconds(period: float, cap: float, window: float) -> float:
    """Seconds from one batch's close to the next's for items arriving every ``period`` seconds: the next batch
    opens with the first item after the close, so a cycle spans exactly the batch's items."""
    if not math.isfinite(period):
        return math.inf
    return period * periodic_batch_items(period, cap, window)


def periodic_batch_mean_wait_seconds(period: float, cap: float, window: float) -> float:
    """How long a periodic batch's items wait for it to close, on average: items at 0, P, ... (n - 1)P of a batch that
    closes when its window ends wait W - P(n - 1)/2; closed by the cap with its last item, P(n - 1)/2."""
    if not math.isfinite(period):
        return window
    items = periodic_batch_items(period, cap, window)
    return window - period * (items - 1) / 2 if items < cap else period * (items - 1) / 2


def periodic_batch_span_seconds(period: float, cap: float, window: float) -> float:
    """How long a periodic batch's first item waits for the batch to close: the whole window, unless the cap closes
    the batch with its last item first."""
    if not math.isfinite(period):
        return window
    items = periodic_batch_items(period, cap, window)
    return window if items < cap else period * (items - 1)


def loader_invocation_seconds(loads: float, knobs: Knobs, assumptions: Assumptions) -> float:
    """One loader run with ``loads`` loads: list and ledger look-up, then each load's submit; with
    ``data_api_mode = "poll"`` the run also waits for each load to commit."""
    per_load = assumptions.loader_seconds_per_load + (
        assumptions.load_seconds if knobs.data_api_mode == "poll" else 0.0
    )
    return assumptions.loader_run_seconds + per_load * loads


@dataclass(slots=True)
class HourUsage:
    """Billable usage and load of one hour at one rate."""

    records: float = 0.0
    writer_invocations: float = 0.0
    writer_gb_seconds: float = 0.0
    objects_per_hour: float = 0.0  # objects landing under raw/
    firehose_billed_gb: float = 0.0
    raw_gb: float = 0.0  # compressed bytes written under raw/
    compacted_gb: float = 0.0  # compressed bytes written under compacted/ (emr_compaction)
    s3_put_requests: float = 0.0  # PUT, COPY, POST and LIST
    s3_get_requests: float = 0.0
    sqs_requests: float = 0.0
    scheduler_invocations: float = 0.0
    loader_invocations: float = 0.0
    loader_gb_seconds: float = 0.0
    loader_runs: float = 0.0  # Lambda invocations or host runs
    copies_per_hour: float = 0.0
    completion_invocations: float = 0.0
    completion_gb_seconds: float = 0.0
    emr_instance_hours: dict[str, float] = field(default_factory=dict)
    ec2_instance_hours: dict[str, float] = field(default_factory=dict)
    ebs_gb_hours: float = 0.0
    sfn_transitions: float = 0.0
    freshness_p50_seconds: float = 0.0
    freshness_worst_seconds: float = 0.0

    def add(self, other: HourUsage, weight: float = 1.0) -> None:
        for name in self.__slots__:  # type: ignore[attr-defined]
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, dict):
                for key, value in theirs.items():
                    mine[key] = mine.get(key, 0.0) + value * weight
            elif not name.startswith("freshness"):
                setattr(self, name, mine + theirs * weight)


def hour_usage(
    aggregation: str, load: str, rate: float, workload: Workload, knobs: Knobs, assumptions: Assumptions
) -> HourUsage:
    """Usage of one hour at ``rate`` changes per second."""
    if aggregation not in AGGREGATIONS or load not in LOAD_STRATEGIES:
        raise PlanError(f"unknown combination {aggregation} x {load}")
    a, k = assumptions, knobs
    u = HourUsage(records=rate * 3600)
    env = envelope_bytes(workload, a)
    rec = stream_record_bytes(workload, a)

    # -- writer: one invocation per stream batch, per shard and parallelization slot --------------------------
    batchers = workload.shards * k.parallelization_factor
    per_batcher = rate / batchers
    stream_cap = min(k.batch_size, max(1, math.floor(LAMBDA_MAX_PAYLOAD_BYTES / rec)))
    window = k.batching_window_seconds if k.batching_window_seconds > 0 else a.stream_poll_seconds
    cycle = batch_cycle_seconds(per_batcher, stream_cap, window)
    u.writer_invocations = 0.0 if rate <= 0 else batchers * 3600 / cycle
    records_per_invocation = u.records / u.writer_invocations if u.writer_invocations else 0.0
    writer_seconds = (a.writer_base_ms + a.writer_ms_per_kb * records_per_invocation * rec / 1024) / 1000
    u.writer_gb_seconds = u.writer_invocations * writer_seconds * k.writer_memory_size / 1024
    writer_wait = batch_span_seconds(per_batcher, stream_cap, window) + writer_seconds
    u.raw_gb = u.records * env * a.gzip_ratio / GB

    if aggregation == "lambda":
        u.objects_per_hour = u.writer_invocations
        capture_p50, capture_worst = writer_wait / 2, writer_wait
    else:
        ingest_bytes_per_second = rate * env  # Firehose's buffer size applies before compression
        interval = k.firehose_buffering_interval_seconds
        by_size = k.firehose_buffering_size_mb * MB / ingest_bytes_per_second if rate > 0 else math.inf
        flush = min(by_size, interval) if interval > 0 else min(by_size, cycle)
        u.objects_per_hour = 0.0 if rate <= 0 else min(u.writer_invocations, 3600 / flush)
        u.firehose_billed_gb = u.records * firehose_billed_bytes(env) / GB
        capture_p50, capture_worst = writer_wait / 2 + flush / 2, writer_wait + flush
    u.s3_put_requests += u.objects_per_hour

    # -- loader ----------------------------------------------------------------------------------------------
    objects = u.objects_per_hour
    gb_per_s_loader = k.loader_memory_size / 1024
    if load == "s3_event":
        per_second = objects / 3600
        sqs_cap = min(
            k.s3_event_batch_size, max(1, math.floor(LAMBDA_MAX_PAYLOAD_BYTES / a.s3_notification_bytes))
        )
        sqs_window = k.s3_event_batching_window_seconds or a.stream_poll_seconds
        # One source at a steady rate sends its objects periodically: Firehose's one delivery stream (one per flush),
        # or the writer of a single shard (one per stream batch). A periodic object either joins the open SQS batch or
        # opens the next one, so with a period longer than the SQS window every object is its own load (the sandbox
        # measured this, tests/sandbox/test_calibration.py). Several shards' writers interleave: random arrivals.
        if objects > 0 and (aggregation == "firehose" or batchers == 1):
            gather = periodic_batch_cycle_seconds(1 / per_second, sqs_cap, sqs_window)
            span = periodic_batch_span_seconds(1 / per_second, sqs_cap, sqs_window)
            mean_wait = periodic_batch_mean_wait_seconds(1 / per_second, sqs_cap, sqs_window)
        else:
            gather = batch_cycle_seconds(per_second, sqs_cap, sqs_window)
            span = batch_span_seconds(per_second, sqs_cap, sqs_window)
            mean_wait = span / 2
        # The module reserves the loader at concurrency 1: the mapping gathers the next batch while a load runs, but
        # invokes it only when that run has ended (a throttled batch is retried, AWS Lambda Developer Guide, "Handling
        # errors for an SQS event source"). So a cycle lasts at least one loader invocation, whose length depends on
        # the files it gets (at most the SQS batch size), which depend on the cycle: iterate to the fixed point. Where
        # there is none (each run's loads bring in more files than the batch holds, or than the next run can load),
        # the queue grows without end: the loader is saturated.
        busy, loads_per_invocation, cycle, saturated = 0.0, 0, gather, False
        for _ in range(50):
            files = per_second * cycle
            if files > sqs_cap * (1 + 1e-9):
                saturated = True
                break
            loads_per_invocation = math.ceil(files / MAX_FILES_PER_LOAD) if files > 0 else 0
            busy = loader_invocation_seconds(loads_per_invocation, k, a)
            previous, cycle = cycle, max(gather, busy)
            if abs(cycle - previous) <= 1e-9 * previous:
                break
        else:
            saturated = True
        if saturated:
            loads_per_invocation = math.ceil(sqs_cap / MAX_FILES_PER_LOAD)
            busy = cycle = loader_invocation_seconds(loads_per_invocation, k, a)
        loader_bound = objects > 0 and busy > gather
        invocations = 0.0 if objects <= 0 else 3600 / cycle
        loads = invocations * loads_per_invocation
        reconcile_runs = 60 / k.s3_event_reconcile_rate_minutes
        u.sqs_requests = (
            objects  # S3 delivers each notification with a SendMessage
            + 2 * math.ceil(objects / 10)  # ReceiveMessage and DeleteMessageBatch, 10 messages each
            + a.sqs_pollers * 3600 / a.sqs_long_poll_seconds  # the pollers' empty long polls
        )
        u.scheduler_invocations = reconcile_runs
        u.loader_invocations = invocations + reconcile_runs
        u.loader_runs = u.loader_invocations
        u.copies_per_hour = loads
        # Loader-bound, a closed batch also waits for the run before it to end; saturated, the wait never ends.
        queue_wait = math.inf if saturated else busy if loader_bound else 0.0
        trigger_p50, trigger_worst = mean_wait + queue_wait / 2, span + queue_wait
        u.s3_get_requests += objects + loads  # COPY reads every file and its manifest
    elif load in ("schedule", "ec2_cron"):
        minutes = k.schedule_rate_minutes if load == "schedule" else k.ec2_cron_rate_minutes
        runs = 60 / minutes
        files = objects / runs
        per_run = (files if files < 1 else math.ceil(files / MAX_FILES_PER_LOAD)) if files > 0 else 0.0
        loads = runs * min(per_run, MAX_CLEAN_LOADS_PER_RUN)
        u.loader_runs = runs
        u.copies_per_hour = loads
        if load == "schedule":
            u.scheduler_invocations = runs
            u.loader_invocations = runs
        else:
            u.ec2_instance_hours[k.ec2_cron_instance_type] = 1.0
            u.ebs_gb_hours = k.ec2_cron_root_volume_size_gb
        # A run lists every hour prefix from the high-water mark minus the lookback to one hour past now.
        window_objects = objects * (k.schedule_lookback_hours + 1)
        u.s3_put_requests += runs * (k.schedule_lookback_hours + 2 + window_objects / 1000)
        trigger_p50, trigger_worst = minutes * 30, minutes * 60
        u.s3_get_requests += objects + loads
    else:  # emr_compaction
        reconcile_runs = 60 / k.emr_reconcile_rate_minutes
        compacted_files = math.ceil(u.raw_gb * 1024 / k.emr_target_size_mb) if u.raw_gb > 0 else 0
        loads = math.ceil(compacted_files / MAX_FILES_PER_LOAD) if compacted_files else 0
        run_minutes = a.emr_fixed_minutes + u.raw_gb * 1024 / a.emr_mb_per_second / 60
        instances = {k.emr_master_instance_type: 1.0}
        instances[k.emr_core_instance_type] = (
            instances.get(k.emr_core_instance_type, 0.0) + k.emr_core_instance_count
        )
        for itype, count in instances.items():
            u.emr_instance_hours[itype] = count * run_minutes / 60
            u.ec2_instance_hours[itype] = count * run_minutes / 60
        u.sfn_transitions = a.emr_transitions_per_run
        u.scheduler_invocations = reconcile_runs + 1  # the reconciliation and the hourly compaction schedule
        u.loader_invocations = reconcile_runs + 2  # plan the compaction, load its output
        u.loader_runs = u.loader_invocations
        u.copies_per_hour = loads
        # s3-dist-cp reads every raw object and writes the compacted files plus its input list; COPY reads those.
        u.s3_get_requests += objects + compacted_files + loads
        u.s3_put_requests += compacted_files + 1 + 2  # compacted files, input list, listing the hour
        u.compacted_gb = u.raw_gb  # the compacted copy, kept compaction_expiration_days
        run_seconds = run_minutes * 60
        trigger_p50 = 1800 + k.emr_grace_minutes * 60 + run_seconds - capture_p50
        trigger_worst = 3600 + k.emr_grace_minutes * 60 + run_seconds - capture_worst
        trigger_p50, trigger_worst = max(trigger_p50, 0.0), max(trigger_worst, 0.0)

    u.s3_put_requests += u.copies_per_hour  # one manifest per load
    # Every run takes one reconciliation step: state GET, two LIST pages, the failure and quarantine LISTs, a state PUT.
    u.s3_put_requests += u.loader_runs * 5
    u.s3_get_requests += u.loader_runs
    run_seconds = loader_invocation_seconds(u.copies_per_hour / u.loader_runs if u.loader_runs else 0, k, a)
    if load == "emr_compaction":
        # The compacted load waits for its result in every mode.
        u.loader_gb_seconds = (u.loader_invocations * a.loader_run_seconds + a.load_seconds) * gb_per_s_loader
    else:
        u.loader_gb_seconds = u.loader_invocations * run_seconds * gb_per_s_loader
    if k.data_api_mode == "async" and load != "emr_compaction":
        u.completion_invocations = u.copies_per_hour
        u.completion_gb_seconds = (
            u.completion_invocations * a.completion_seconds * k.completion_memory_size / 1024
        )

    u.freshness_p50_seconds = capture_p50 + trigger_p50 + a.load_seconds
    u.freshness_worst_seconds = capture_worst + trigger_worst + a.load_seconds
    return u


@dataclass(frozen=True, slots=True)
class Prices:
    region: str
    read_on: str
    items: Mapping[str, Any]

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Prices:
        return cls(region=document["region"], read_on=document["read_on"], items=document["items"])

    def usd(self, name: str) -> float:
        return float(self.items[name]["usd"])

    def per_instance(self, name: str, instance_type: str) -> float:
        table = self.items[name]["usd_by_instance_type"]
        if instance_type not in table:
            raise PlanError(
                f"prices.json has no {name} price for instance type {instance_type!r} "
                f"(it has {', '.join(sorted(table))}); add it with its source"
            )
        return float(table[instance_type])

    def check_region(self, region: str | None) -> None:
        if region is not None and region != self.region:
            raise PlanError(
                f"region {region!r} cannot be priced: prices.json holds {self.region} prices only "
                f"(read on {self.read_on}). Plan in {self.region} (--region {self.region}), or add a price file for {region}."
            )


SERVICES: Final = ("lambda", "firehose", "s3", "sqs", "scheduler", "emr", "ec2", "step_functions")


@dataclass(frozen=True, slots=True)
class Combination:
    aggregation: str
    load_strategy: str
    monthly_usd: float
    by_service: Mapping[str, float]
    objects_per_hour: float
    copies_per_hour: float
    peak_objects_per_hour: float
    peak_copies_per_hour: float
    commit_queue_seconds_per_hour: float
    freshness_p50_seconds: float
    freshness_worst_seconds: float
    meets_target: bool
    knobs: Mapping[str, Any]

    @property
    def name(self) -> str:
        return f"{self.aggregation} + {self.load_strategy}"


def knobs_that_matter(aggregation: str, load: str, knobs: Knobs) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "stream_mapping.batch_size": knobs.batch_size,
        "stream_mapping.maximum_batching_window_in_seconds": knobs.batching_window_seconds,
    }
    if aggregation == "firehose":
        shown["firehose.buffering_size_mb"] = knobs.firehose_buffering_size_mb
        shown["firehose.buffering_interval_seconds"] = knobs.firehose_buffering_interval_seconds
    if load == "s3_event":
        shown["loader.s3_event.batch_size"] = knobs.s3_event_batch_size
        shown["loader.s3_event.maximum_batching_window_in_seconds"] = knobs.s3_event_batching_window_seconds
    elif load == "schedule":
        shown["loader.schedule.rate_minutes"] = knobs.schedule_rate_minutes
    elif load == "ec2_cron":
        shown["ec2_cron.rate_minutes"] = knobs.ec2_cron_rate_minutes
        shown["ec2_cron.instance_type"] = knobs.ec2_cron_instance_type
    else:
        shown["emr_compaction.grace_minutes"] = knobs.emr_grace_minutes
        shown["emr_compaction.core_instance_count"] = knobs.emr_core_instance_count
        shown["emr_compaction.target_size_mb"] = knobs.emr_target_size_mb
    return shown


def monthly_cost(usage: HourUsage, prices: Prices, storage_gb_month: float) -> dict[str, float]:
    """Monthly USD per service for ``usage`` summed over one month."""
    lambda_requests = usage.writer_invocations + usage.loader_invocations + usage.completion_invocations
    lambda_gb_s = usage.writer_gb_seconds + usage.loader_gb_seconds + usage.completion_gb_seconds
    return {
        "lambda": lambda_requests * prices.usd("lambda_request")
        + lambda_gb_s * prices.usd("lambda_gb_second_x86"),
        "firehose": usage.firehose_billed_gb * prices.usd("firehose_ingest_gb"),
        "s3": usage.s3_put_requests * prices.usd("s3_put_request")
        + usage.s3_get_requests * prices.usd("s3_get_request")
        + storage_gb_month * prices.usd("s3_standard_gb_month"),
        "sqs": usage.sqs_requests * prices.usd("sqs_request"),
        "scheduler": usage.scheduler_invocations * prices.usd("scheduler_invocation"),
        "emr": sum(h * prices.per_instance("emr_fee_hour", t) for t, h in usage.emr_instance_hours.items()),
        "ec2": sum(h * prices.per_instance("ec2_hour", t) for t, h in usage.ec2_instance_hours.items())
        + usage.ebs_gb_hours / HOURS_PER_MONTH * prices.usd("ebs_gp3_gb_month"),
        "step_functions": usage.sfn_transitions * prices.usd("step_functions_transition"),
    }


def backlog_waits(load: str, objects_per_hour: Sequence[float], knobs: Knobs) -> list[float]:
    """Seconds a file waits behind the backlog at the end of each hour of the day (inf: the backlog never drains).

    A ``schedule`` or ``ec2_cron`` run loads at most MAX_CLEAN_LOADS_PER_RUN loads of MAX_FILES_PER_LOAD files (the
    loader's code); in an hour with more files than its runs can take the rest waits for later runs. Two days of the
    profile are played: a backlog left at the end of the second day that is larger than at the end of the first
    grows without end.
    """
    if load not in ("schedule", "ec2_cron"):
        return [0.0] * len(objects_per_hour)
    minutes = knobs.schedule_rate_minutes if load == "schedule" else knobs.ec2_cron_rate_minutes
    capacity = 60 / minutes * MAX_CLEAN_LOADS_PER_RUN * MAX_FILES_PER_LOAD  # files an hour
    queue, ends, waits = 0.0, [], [0.0] * len(objects_per_hour)
    for _day in range(2):
        for hour, files in enumerate(objects_per_hour):
            queue = max(0.0, queue + files - capacity)
            waits[hour] = queue / capacity * 3600
        ends.append(queue)
    if ends[1] > ends[0] * (1 + 1e-9) + 1e-9:
        return [math.inf] * len(objects_per_hour)
    return waits


def evaluate(
    aggregation: str,
    load: str,
    workload: Workload,
    knobs: Knobs,
    prices: Prices,
    freshness_target_seconds: float,
    assumptions: Assumptions | None = None,
) -> Combination:
    """One combination over a month: each hour of the daily profile happens 730/24 times."""
    a = assumptions or Assumptions()
    month = HourUsage()
    hours = [hour_usage(aggregation, load, rate, workload, knobs, a) for rate in workload.rates]
    repeat = HOURS_PER_MONTH / 24
    for usage in hours:
        month.add(usage, repeat)
    # Stored: each day's raw objects for raw_expiration_days (0, never expire: a year is priced), and emr_compaction's
    # compacted copies for compaction_expiration_days (its working prefixes' lifecycle, emr_compaction.log_retention_days).
    retention_days = knobs.raw_expiration_days if knobs.raw_expiration_days > 0 else 365
    stored_gb = (
        sum(h.raw_gb for h in hours) * retention_days
        + sum(h.compacted_gb for h in hours) * knobs.compaction_expiration_days
    )
    by_service = monthly_cost(month, prices, stored_gb)
    total_records = sum(h.records for h in hours)
    # p50: the median change's wait, weighted by how many changes each hour carries; worst: the worst hour.
    p50 = (
        sum(h.freshness_p50_seconds * h.records for h in hours) / total_records
        if total_records
        else max(h.freshness_p50_seconds for h in hours)
    )
    worst = max(h.freshness_worst_seconds for h in hours)
    waits = backlog_waits(load, [h.objects_per_hour for h in hours], knobs)
    if any(math.isinf(w) for w in waits):
        p50 = worst = math.inf  # the files outgrow what the runs can load: the backlog grows every day
    elif any(waits):
        p50 += (
            sum(w * h.records for w, h in zip(waits, hours, strict=True)) / total_records
            if total_records
            else 0
        )
        worst = max(h.freshness_worst_seconds + w for w, h in zip(waits, hours, strict=True))
    copies = sum(h.copies_per_hour for h in hours) / 24
    return Combination(
        aggregation=aggregation,
        load_strategy=load,
        monthly_usd=sum(by_service.values()),
        by_service=by_service,
        objects_per_hour=sum(h.objects_per_hour for h in hours) / 24,
        copies_per_hour=copies,
        peak_objects_per_hour=max(h.objects_per_hour for h in hours),
        peak_copies_per_hour=max(h.copies_per_hour for h in hours),
        commit_queue_seconds_per_hour=copies * a.commit_seconds,
        freshness_p50_seconds=p50,
        freshness_worst_seconds=worst,
        meets_target=worst <= freshness_target_seconds,
        knobs=knobs_that_matter(aggregation, load, knobs),
    )


def objects_per_hour(
    aggregation: str,
    load: str,
    rate: float,
    workload: Workload,
    knobs: Knobs,
    assumptions: Assumptions | None = None,
) -> float:
    """Objects landing under raw/ in one hour at a steady ``rate`` (for calibration against the sandbox)."""
    return hour_usage(aggregation, load, rate, workload, knobs, assumptions or Assumptions()).objects_per_hour


def copies_per_hour(
    aggregation: str,
    load: str,
    rate: float,
    workload: Workload,
    knobs: Knobs,
    assumptions: Assumptions | None = None,
) -> float:
    """COPY statements (loads) in one hour at a steady ``rate`` (for calibration against the sandbox, which passes
    the loader's measured run time as ``loader_run_seconds``)."""
    return hour_usage(aggregation, load, rate, workload, knobs, assumptions or Assumptions()).copies_per_hour


@dataclass(frozen=True, slots=True)
class Plan:
    combinations: tuple[Combination, ...]
    recommended: Combination | None
    freshest: Combination
    freshness_target_seconds: float
    workload: Workload
    knobs: Knobs
    assumptions: Assumptions
    region: str
    prices_read_on: str

    def as_dict(self) -> dict[str, Any]:
        def finite(value: Any) -> Any:  # JSON has no infinity: a backlog that never drains is null
            return None if isinstance(value, float) and math.isinf(value) else value

        def combo(c: Combination) -> dict[str, Any]:
            fields = {key: finite(value) for key, value in asdict(c).items()}
            return {"name": c.name, **fields, "by_service": dict(c.by_service), "knobs": dict(c.knobs)}

        return {
            "region": self.region,
            "prices_read_on": self.prices_read_on,
            "freshness_target_seconds": self.freshness_target_seconds,
            "workload": {
                "hourly_rates": list(self.workload.rates),
                "mean_rate": self.workload.mean_rate,
                "peak_rate": self.workload.peak_rate,
                "item_bytes": self.workload.item_bytes,
                "update_share": self.workload.update_share,
                "delete_share": self.workload.delete_share,
                "shards": self.workload.shards,
            },
            "knobs": asdict(self.knobs),
            "assumptions": asdict(self.assumptions),
            "combinations": [combo(c) for c in self.combinations],
            "recommended": self.recommended.name if self.recommended else None,
            "redshift": (
                "Redshift compute is your existing warehouse and is not priced: the plan reports COPYs per hour and "
                "commit-queue seconds (COPYs x assumptions.commit_seconds). Serverless RPU-seconds per COPY depend "
                "on the warehouse's size and concurrent work and cannot be honestly estimated here."
            ),
        }


def plan(
    workload: Workload,
    knobs: Knobs,
    prices: Prices,
    freshness_target_seconds: float,
    *,
    region: str | None = None,
    assumptions: Assumptions | None = None,
    combinations: Sequence[tuple[str, str]] | None = None,
) -> Plan:
    """Every aggregation x load_strategy, and the cheapest whose worst-case freshness meets the target."""
    prices.check_region(region)
    if freshness_target_seconds <= 0:
        raise PlanError("the freshness target must be a positive number of seconds")
    a = assumptions or Assumptions()
    pairs = combinations or [(agg, load) for agg in AGGREGATIONS for load in LOAD_STRATEGIES]
    results = tuple(
        evaluate(agg, load, workload, knobs, prices, freshness_target_seconds, a) for agg, load in pairs
    )
    meeting = [c for c in results if c.meets_target]
    recommended = min(meeting, key=lambda c: (c.monthly_usd, c.freshness_worst_seconds)) if meeting else None
    freshest = min(results, key=lambda c: (c.freshness_worst_seconds, c.monthly_usd))
    return Plan(
        combinations=results,
        recommended=recommended,
        freshest=freshest,
        freshness_target_seconds=freshness_target_seconds,
        workload=workload,
        knobs=knobs,
        assumptions=a,
        region=prices.region,
        prices_read_on=prices.read_on,
    )
