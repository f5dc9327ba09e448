"""The loader's core: choose files, run loads, count failures, quarantine, report.

Every trigger ends in :meth:`LoaderService._run_load`: write one manifest, render one
load transaction (``ddb_cdc.warehouse.sql.render_load``), hand it to the executor. What
happens next depends on whether the executor waits:

* waiting (psycopg2, Data API ``poll``): success clears the files' failure records and
  publishes metrics; failure records one failure per file, of its kind, alerts,
  quarantines a file that failed alone ``CDC_MAX_FILE_FAILURES`` times because of its
  own content, and then raises, so SQS redelivers the batch or the scheduled
  invocation is retried by Lambda.
* not waiting (Data API ``async``): the statement is submitted with ``WithEvent`` and
  a StatementName ``ddb_cdc:<table>:<load_id>``; :meth:`LoaderService.complete` later
  receives the EventBridge event, checks it against ``DescribeStatement`` (anyone in
  the account can put an event on the bus; only the Data API can describe our
  statement), finds the manifest by the load id and does the same success or failure
  steps.

Only the warehouse's own verdict on a file counts toward its quarantine: a COPY error
whose load-error row (``stl_load_errors`` / ``sys_load_error_detail``) names the file.
An outage, a timeout, throttling, an abort or another file's error is recorded, and
the file is retried, but its quarantine count does not move.

Nothing depends on a trigger coming back: a failed file stays out of the ledger and in
``load-failures/``, which every later run adds to its candidates; a file whose run
failed before anything could be recorded (the ledger look-up itself failed) is found
by the reconciliation sweep that every run advances (:mod:`ddb_cdc.loader.reconcile`).
Every run, even one that loads nothing or fails, publishes ``ReplicationLagSeconds``:
the age of the oldest file it knows is not in the ledger.

Concurrency: the load SQL takes ``LOCK target, ledger`` first, so two loads of one
table serialise in the warehouse; the loader Lambda also runs with reserved
concurrency 1, which keeps the S3 failure counts free of lost updates. Two async
statements for the same files are harmless: the second one finds the changes not
newer and the files already ledgered.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from ddb_cdc import layout
from ddb_cdc.loader import compaction, reconcile, selection
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import (
    STATEMENT_NAME_PREFIX,
    Executor,
    LoadFailed,
    is_transient,
    parse_statement_name,
    statement_name,
)
from ddb_cdc.loader.files import CdcFiles, FailureKind, FailureRecord
from ddb_cdc.obs import log
from ddb_cdc.warehouse import (
    LedgerStatus,
    render_ddl,
    render_ledgered_files,
    render_load,
    render_newest_change,
    render_status,
)
from ddb_cdc.warehouse.identifiers import Dialect, literal
from ddb_cdc.warehouse.manifest import manifest_body, manifest_key, s3_url

MAX_ERROR_LINES: Final = 20
SNS_SUBJECT_LIMIT: Final = 100
SNS_MESSAGE_LIMIT: Final = 200_000  # under SNS's 256 KB
# `status`: files listed by name (failing, quarantined) and error text kept per file.
STATUS_LIST_LIMIT: Final = 50
STATUS_ERROR_CHARS: Final = 300
# (columns, relation, time column) of the two load-error views, same column order.
# Never raw_line or raw_field_value: they hold the row's contents, which no log or
# alert may carry. The alert points at the view, the file and the line instead.
_STL_LOAD_ERRORS: Final = (
    "TRIM(filename), line_number, TRIM(colname), err_code, TRIM(err_reason)",
    "stl_load_errors",
    "starttime",
)
_SYS_LOAD_ERROR_DETAIL: Final = (
    "TRIM(file_name), line_number, TRIM(column_name), error_code, TRIM(error_message)",
    "sys_load_error_detail",
    "start_time",
)
# An error text may quote the value it choked on ("Invalid digit, Value 'x'", or
# PostgreSQL's 'invalid input syntax for type numeric: "x"'): keep the words, not the value.
_QUOTED_VALUE: Final = re.compile(r"""(?i)(value\s*|:\s*)('[^']*'|"[^"]*")""")
# Where a failed statement's error text tells that a COPY rejected rows.
_LOAD_ERROR_HINT: Final = re.compile(r"stl_load_errors|sys_load_error_detail|load_error", re.IGNORECASE)
# Statements the completion handler may not find: gone, never ours, not describable by us.
_NOT_DESCRIBABLE: Final = frozenset(
    {"ResourceNotFoundException", "ValidationException", "AccessDeniedException"}
)


def redact(text: str) -> str:
    """An error text without the quoted values in it."""
    return _QUOTED_VALUE.sub(lambda match: match.group(1) + "'<value>'", text)


class Alerts:
    """SNS alerts; without a topic they only go to the log (local runs, the CLI)."""

    def __init__(self, sns_client: Any, topic_arn: str | None, logger: logging.Logger) -> None:
        self._sns = sns_client
        self._topic = topic_arn
        self._logger = logger

    def send(self, subject: str, message: Mapping[str, Any]) -> None:
        body = json.dumps(message, indent=2, default=str)[:SNS_MESSAGE_LIMIT]
        log(self._logger, logging.ERROR, subject, alert=message)
        if self._topic:
            self._sns.publish(TopicArn=self._topic, Subject=subject[:SNS_SUBJECT_LIMIT], Message=body)


class Metrics:
    """CloudWatch metrics through PutMetricData.

    Chosen over EMF log lines because the same loader runs as a CLI on EC2
    (``ec2_cron``), where stdout does not reach CloudWatch Logs' EMF extraction, and
    because tests can read the datapoints back from moto. One call per load.
    """

    def __init__(self, cloudwatch_client: Any, namespace: str, table: str) -> None:
        self._cw = cloudwatch_client
        self._namespace = namespace
        self._dimensions = [{"Name": "Table", "Value": table}]

    def put(self, values: Mapping[str, tuple[float, str]]) -> None:
        if not values:
            return
        self._cw.put_metric_data(
            Namespace=self._namespace,
            MetricData=[
                {"MetricName": name, "Dimensions": self._dimensions, "Value": float(value), "Unit": unit}
                for name, (value, unit) in values.items()
            ],
        )


@dataclass
class RunSummary:
    """What one invocation did; returned by the handlers and printed by the CLI."""

    trigger: str
    candidates: int = 0
    skipped_ledgered: int = 0
    skipped_quarantined: int = 0
    loads: list[dict[str, Any]] = field(default_factory=list)
    failed_loads: int = 0
    quarantined: list[str] = field(default_factory=list)
    reconciled: int = 0  # files the sweep found unloaded and loaded (or submitted)
    lag_seconds: float | None = None
    # Files known not to be in the ledger when the run ends -> LastModified when listed.
    pending: dict[str, datetime | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "candidates": self.candidates,
            "skipped_ledgered": self.skipped_ledgered,
            "skipped_quarantined": self.skipped_quarantined,
            "loads": self.loads,
            "failed_loads": self.failed_loads,
            "quarantined": self.quarantined,
            "reconciled": self.reconciled,
            "pending_files": len(self.pending),
            "lag_seconds": self.lag_seconds,
        }


class LoadsFailed(RuntimeError):
    """Raised after a waiting executor's load(s) failed and were recorded."""


class LoaderService:
    def __init__(
        self,
        config: LoaderConfig,
        *,
        executor: Executor,
        files: CdcFiles,
        alerts: Alerts,
        metrics: Metrics,
        logger: logging.Logger,
        dialect: Dialect = "redshift",
        clock: Callable[[], float] = time.time,
        max_files_per_load: int = selection.MAX_FILES_PER_LOAD,
        max_loads_per_run: int = selection.MAX_CLEAN_LOADS_PER_RUN,
        reconcile_page_keys: int = reconcile.PAGE_KEYS,
        reconcile_grace_seconds: float = reconcile.GRACE_SECONDS,
    ) -> None:
        self.config = config
        self.max_files_per_load = max_files_per_load
        self.max_loads_per_run = max_loads_per_run
        self.reconcile_page_keys = reconcile_page_keys
        self.reconcile_grace_seconds = reconcile_grace_seconds
        self.executor = executor
        self.files = files
        self.alerts = alerts
        self.metrics = metrics
        self.logger = logger
        # "postgresql" only for the local stand-in (tests, demo): production is Redshift.
        self.dialect = dialect
        self._clock = clock
        # Seconds left in this invocation (the Lambda handler sets it from its context); None: no limit (the CLI).
        self.time_left: Callable[[], float] | None = None

    # -- triggers -------------------------------------------------------------

    def run_s3_event(self, event: Mapping[str, Any]) -> RunSummary:
        """SQS batch of S3 notifications: load the named files plus pending retries,
        then one step of the reconciliation sweep."""
        named = selection.keys_from_sqs_event(
            event, bucket=self.config.bucket, prefix=self.config.prefix, table=self.config.table_name
        )
        if named.ignored or named.test_events:
            log(
                self.logger,
                logging.INFO,
                "ignored part of the event",
                test_events=named.test_events,
                ignored=sorted(set(named.ignored)),
            )
        return self._run("s3_event", dict.fromkeys(named.keys), load_all=True)

    def run_schedule(self) -> RunSummary:
        """Everything not yet in the ledger, from the high-water mark minus the margin,
        then one step of the reconciliation sweep (which covers the hours before).

        The ledger, not the clock, decides where to start: after a missed run the
        high-water mark has not moved, so the next run lists the same hours and more.
        """
        summary = RunSummary("schedule")
        try:
            prefixes = self._schedule_prefixes(self.ledger_status())
        except Exception as exc:
            # The warehouse could not say where to start (paused, unreachable): no file was judged, but the run
            # failed, and status's last outcome must say so rather than show the last success.
            self._publish_lag(summary, failing=True)
            with contextlib.suppress(Exception):  # S3 may be the outage: keep the first error
                self.files.note_failure(
                    error=f"ledger read failed: {_describe(exc)}", kind="transient", load_id="", files=0
                )
            raise
        listed = {item.key: item.last_modified for item in self.files.list_raw(prefixes)}
        return self._run("schedule", listed, summary=summary)

    def run_reconcile(self) -> RunSummary:
        """Only the pending retries and one step of the sweep (``cli reconcile``)."""
        return self._run("reconcile", {})

    def _schedule_prefixes(self, ledger: LedgerStatus) -> list[str] | None:
        """Hour prefixes from the high-water mark minus the margin to one hour past now
        (a writer's clock may run slightly ahead), or None for the whole table."""
        hwm = ledger.high_water_hour_ms
        start = selection.schedule_window_start(hwm, self.config.schedule_lookback_hours)
        if start is None:
            return None
        end = max(int(self._clock() * 1000), hwm or 0) + selection.HOUR_MS
        return selection.hour_prefixes(self.config.prefix, self.config.table_name, start, end)

    def replay(self, start_ms: int, end_ms: int) -> RunSummary:
        """Re-load every raw file of the hours in [start, end], ledger or not.

        Harmless by design: a change not newer than the target's is dropped by the
        load SQL, and the ledger insert skips files already recorded.
        """
        prefixes = selection.hour_prefixes(self.config.prefix, self.config.table_name, start_ms, end_ms)
        keys = [item.key for item in self.files.list_raw(prefixes)]
        summary = RunSummary("replay", candidates=len(keys))
        errors: list[Exception] = []
        for batch in selection.chunked(keys, self.max_files_per_load):
            self._run_load(batch, summary, {}, errors)
        self._raise_if_failed(errors)
        return summary

    # -- emr_compaction -------------------------------------------------------

    def plan_compaction(self, request: object) -> dict[str, Any]:
        """The state machine's first step: list the hour's raw files into the run's
        ``inputs.txt`` and return the s3-dist-cp argv (see :mod:`ddb_cdc.loader.compaction`).

        ``inputs`` 0 means there is nothing to compact: no list is written and the
        machine starts no cluster.
        """
        if self.config.load_strategy != "emr_compaction":
            raise compaction.CompactionError(
                f"compaction_plan needs CDC_LOAD_STRATEGY=emr_compaction, not {self.config.load_strategy}"
            )
        hour_ms = compaction.requested_hour(request)
        prefix, table = self.config.prefix, self.config.table_name
        hour_prefix = layout.raw_hour_prefix(prefix, table, hour_ms)
        # Only the hour's own change files: one in a sub-folder (not a layout key) is not compacted (the groupBy
        # pattern would not match it, and the load would refuse the list); it is loaded raw like any other file.
        keys = [
            item.key for item in self.files.list_raw([hour_prefix]) if "/" not in item.key[len(hour_prefix) :]
        ]
        run_id = layout.new_scan_id(int(self._clock() * 1000))
        if keys:
            self.files.write_bytes(
                layout.compaction_inputs_key(prefix, table, hour_ms, run_id),
                compaction.inputs_body(self.config.bucket, keys),
                "text/plain",
            )
        args = compaction.s3_dist_cp_args(
            self.config.bucket, prefix, table, hour_ms, run_id, self.config.compaction_target_size_mb
        )
        result = compaction.plan_result(hour_ms, run_id, len(keys), args)
        log(
            self.logger, logging.INFO, "compaction planned", hour=result["hour"], run=run_id, inputs=len(keys)
        )
        return result

    def run_compacted(self, hour_ms: int, run_id: str, *, compacted: bool) -> RunSummary:
        """The state machine's load step for one hour.

        With ``compacted`` (the step succeeded): one transaction loads the run's
        compacted files and records them and every raw file in its ``inputs.txt`` in the
        ledger. Then, whatever happened to that load, every raw file of the lookback
        window up to this hour that is still not in the ledger is loaded as it is (the
        ordinary retry, isolation and quarantine rules apply to them): late files after
        a good compaction, and the whole hour after a failed one (``compacted`` false, or
        a compacted load the warehouse refused). Raises when anything failed, so the
        machine alerts.
        """
        summary = RunSummary("compacted")
        compacted_error: Exception | None = None
        recorded: set[str] = set()
        if compacted:
            try:
                recorded = self._load_compacted(hour_ms, run_id, summary)
            except Exception as exc:  # the raw files are loaded below instead
                compacted_error = exc
                summary.failed_loads += 1
                self.metrics.put({"LoadFailures": (1.0, "Count")})
                log(
                    self.logger,
                    logging.ERROR,
                    "compacted load failed; loading the hour's raw files instead",
                    hour=layout.hour_label(hour_ms),
                    run=run_id,
                    error=_describe(exc),
                )
        start = hour_ms - self.config.schedule_lookback_hours * selection.HOUR_MS
        prefixes = selection.hour_prefixes(self.config.prefix, self.config.table_name, start, hour_ms)
        # The raw files the compacted load just recorded need no second look in the ledger.
        listed = {
            item.key: item.last_modified for item in self.files.list_raw(prefixes) if item.key not in recorded
        }
        self._run("compacted", listed, load_all=True, summary=summary)
        if compacted_error is not None:
            raise LoadsFailed(
                f"the compacted load of {layout.hour_label(hour_ms)} failed ({_describe(compacted_error)}); "
                "its raw files were loaded instead"
            )
        return summary

    def _load_compacted(self, hour_ms: int, run_id: str, summary: RunSummary) -> set[str]:
        """Load the run's compacted files; returns the raw keys now recorded in the ledger."""
        prefix, table, bucket = self.config.prefix, self.config.table_name, self.config.bucket
        inputs = compaction.parse_inputs(
            self.files.read_bytes(layout.compaction_inputs_key(prefix, table, hour_ms, run_id)),
            bucket,
            layout.raw_hour_prefix(prefix, table, hour_ms),
        )
        files = compaction.compacted_files(
            self.files.list_keys(layout.compacted_prefix(prefix, table, hour_ms, run_id))
        )
        if not files:
            raise compaction.CompactionError(
                f"the run {run_id} left no compacted file for its {len(inputs)} raw files"
            )
        if self.ledgered(set(files)) == set(files):
            log(self.logger, logging.INFO, "compacted files already loaded", run=run_id, files=len(files))
            return set(inputs)
        ledger_list = layout.compaction_ledger_key(prefix, table, hour_ms, run_id)
        self.files.write_bytes(ledger_list, compaction.ledger_list_body(inputs), "application/gzip")
        ledger_manifest = self.files.write_bytes(
            layout.compaction_ledger_manifest_key(prefix, table, hour_ms, run_id),
            manifest_body(bucket, [ledger_list]),
            "application/json",
        )
        load_id, manifest_url = self.files.write_manifest(files)
        statements = render_load(
            self.config.target,
            self.dialect,
            manifest_url=manifest_url,
            iam_role_arn=self.config.copy_role_arn,
            files=files,
            load_id=load_id,
            ledger_manifest_url=ledger_manifest,
        )
        # Named so that the completion handler never takes it for a load of raw files; it
        # waits, because the machine must know the outcome (no failure records: a failed
        # compacted load leaves the raw files to the ordinary path).
        submission = self.executor.run(
            statements, name=f"{STATEMENT_NAME_PREFIX}-compacted:{table}:{load_id}", wait=True
        )
        summary.loads.append(
            {
                "load_id": load_id,
                "files": len(files),
                "compacted_from": len(inputs),
                "state": submission.state,
                "statement_id": submission.statement_id,
            }
        )
        self.metrics.put({"FilesLoaded": (float(len(inputs)), "Count")})
        log(
            self.logger,
            logging.INFO,
            "compacted load committed",
            load_id=load_id,
            run=run_id,
            files=len(files),
            raw_files=len(inputs),
        )
        return set(inputs)

    # -- one run --------------------------------------------------------------

    def _run(
        self,
        trigger: str,
        candidates: Mapping[str, datetime | None],
        *,
        load_all: bool = False,
        summary: RunSummary | None = None,
    ) -> RunSummary:
        summary = summary or RunSummary(trigger)
        errors: list[Exception] = []
        try:
            failures = self.files.failure_records()
            # Failed files have no SQS message any more (async mode consumed it on
            # submit); the failure store is their retry list.
            everything = {**dict.fromkeys(failures), **candidates}
            summary.candidates = len(everything)
            self._load_candidates(summary, everything, failures, errors, load_all=load_all)
            self._reconcile(summary, failures, errors, handled=set(everything))
        except Exception:
            self._publish_lag(summary, failing=True)
            raise
        self._publish_lag(summary)
        if not summary.loads:
            log(self.logger, logging.INFO, "nothing to load", trigger=trigger)
        self._raise_if_failed(errors)
        return summary

    def _load_candidates(
        self,
        summary: RunSummary,
        candidates: Mapping[str, datetime | None],
        failures: Mapping[str, FailureRecord],
        errors: list[Exception],
        *,
        load_all: bool = False,
    ) -> None:
        if not candidates:
            return
        quarantined = self.files.quarantined() & set(candidates)
        summary.skipped_quarantined = len(quarantined)
        # Oldest first, and only as far as one run can load: after a long outage (or on
        # an empty ledger) there may be far more files than one invocation should look
        # up, and the rest is found again by the next run.
        pending: set[str] = set()
        ledgered: set[str] = set()
        unchecked = set(candidates) - quarantined
        try:
            for chunk in selection.chunked(unchecked, self.max_files_per_load):
                found = self.ledgered(set(chunk))
                ledgered |= found
                pending.update(key for key in chunk if key not in found)
                unchecked -= set(chunk)
                bound = self.max_files_per_load * self.max_loads_per_run + selection.MAX_SINGLE_FILE_LOADS
                if not load_all and len(pending) >= bound:
                    break
        except Exception as exc:
            # The warehouse cannot even say what it holds (paused, unreachable, throttled).
            # Nothing was judged, so nothing counts toward quarantine; the files are kept
            # on the retry list so that they outlive this trigger (an SQS message that
            # ends in its DLQ), and the sweep finds any beyond the bound.
            unknown = sorted(pending | unchecked)
            summary.pending.update({key: candidates.get(key) for key in unknown})
            self._record_transient(unknown, failures, f"ledger look-up failed: {_describe(exc)}")
            raise
        summary.skipped_ledgered = len(ledgered)
        summary.pending.update({key: candidates.get(key) for key in pending | unchecked})
        # A file loaded since it last failed (a replay, a late async success) needs no retry.
        stale = [key for key in failures if key in ledgered or key in quarantined]
        if stale:
            self.files.clear_failures(stale)
        for batch in selection.plan_loads(
            pending,
            _isolation(failures, pending),
            max_files=self.max_files_per_load,
            max_clean_loads=self.max_loads_per_run,
            load_all_clean=load_all,
        ):
            if not self._time_for_another_load(summary):
                break
            self._run_load(batch, summary, failures, errors)

    def _reconcile(
        self,
        summary: RunSummary,
        failures: Mapping[str, FailureRecord],
        errors: list[Exception],
        *,
        handled: set[str],
    ) -> None:
        """One bounded step of the sweep (see :mod:`ddb_cdc.loader.reconcile`)."""
        now = self._clock()
        cursors = reconcile.Cursors.from_state(self.files.read_reconcile_state())
        window = reconcile.window_start(self.files.raw_prefix, now, self.config.schedule_lookback_hours)
        page = self.reconcile_page_keys
        recent, recent_keys, recent_end = self.files.list_raw_page(
            start_after=reconcile.recent_start(cursors, window), max_keys=page
        )
        history, history_keys, history_end = self.files.list_raw_page(
            start_after=cursors.history, max_keys=page
        )
        seen = {item.key: item.last_modified for item in recent}
        seen.update((item.key, item.last_modified) for item in history if item.key < window)
        due = {
            key: modified
            for key, modified in seen.items()
            if key not in handled and reconcile.old_enough(modified, now, self.reconcile_grace_seconds)
        }
        found = self.ledgered(set(due)) if due else set()
        missing = {key: modified for key, modified in due.items() if key not in found}
        advanced = reconcile.Cursors(
            reconcile.next_recent(recent_keys, recent_end),
            reconcile.next_history(history_keys, history_end, window),
        )
        if advanced != cursors:
            self.files.write_reconcile_state(advanced.as_state())
        if not missing:
            return
        log(
            self.logger,
            logging.WARNING,
            "reconciliation found files not in the ledger",
            files=len(missing),
            oldest=min(missing),
        )
        summary.reconciled += len(missing)
        summary.pending.update(missing)
        for batch in selection.plan_loads(
            missing, _isolation(failures, missing), max_files=self.max_files_per_load, load_all_clean=True
        ):
            if not self._time_for_another_load(summary):
                break
            self._run_load(batch, summary, failures, errors)

    def _run_load(
        self,
        batch: Sequence[str],
        summary: RunSummary,
        failures: Mapping[str, Any],
        errors: list[Exception],
    ) -> None:
        load_id, manifest_url = self.files.write_manifest(batch)
        statements = render_load(
            self.config.target,
            self.dialect,
            manifest_url=manifest_url,
            iam_role_arn=self.config.copy_role_arn,
            files=batch,
            load_id=load_id,
        )
        entry: dict[str, Any] = {"load_id": load_id, "files": len(batch)}
        summary.loads.append(entry)
        try:
            submission = self.executor.run(statements, name=statement_name(self.config.table_name, load_id))
        except (LoadFailed, ClientError, BotoCoreError, OSError) as exc:
            transient = is_transient(exc)
            statement_id = exc.statement_id if isinstance(exc, LoadFailed) else None
            query_id = None
            if not transient and statement_id:
                _error, query_id = self._statement_error(statement_id)
            entry["state"] = "failed"
            summary.failed_loads += 1
            summary.quarantined += self.on_failure(
                batch,
                load_id,
                _describe(exc),
                statement_id=statement_id,
                query_id=query_id,
                transient=transient,
            )
            errors.append(exc)
            return
        entry["state"] = submission.state
        entry["statement_id"] = submission.statement_id
        log(self.logger, logging.INFO, "load " + submission.state, **entry)
        if submission.state == "finished":
            self.on_success(batch, load_id, had_failures=[key for key in batch if key in failures])
            for key in batch:
                summary.pending.pop(key, None)

    def _time_for_another_load(self, summary: RunSummary) -> bool:
        """Whether one more load can end before the invocation does.

        A waiting load (psycopg2, Data API poll mode, a compacted load) may take its whole
        budget; a submission takes seconds. The first load of a run always starts. When
        time runs short the rest waits, pending, for the next run (the ledger remembers
        it, the lag shows it), and this run still takes its sweep step and publishes its
        lag instead of being cut off by the timeout.
        """
        if self.time_left is None or not summary.loads:
            return True
        if self.config.executor == "psycopg2":
            budget = self.config.statement_timeout_ms / 1000
        elif self.config.waits_for_result:
            budget = self.config.poll_budget_seconds
        else:
            budget = 30.0
        if self.time_left() > budget + 30:
            return True
        log(
            self.logger,
            logging.WARNING,
            "not enough time left for another load; the rest waits for the next run",
            loads_done=len(summary.loads),
        )
        return False

    def _raise_if_failed(self, errors: Sequence[Exception]) -> None:
        if errors:
            raise LoadsFailed(f"{len(errors)} load(s) failed; first: {_describe(errors[0])}")

    def _record_transient(
        self, keys: Sequence[str], failures: Mapping[str, FailureRecord], error: str
    ) -> None:
        # Files already on the retry list stay there; new ones are added, at most one
        # load's worth per run (the sweep finds the rest).
        new = [key for key in keys if key not in failures][: self.max_files_per_load]
        with contextlib.suppress(Exception):  # S3 may be the outage: keep the first error
            if new:
                self.files.record_failure(
                    new, error=error, load_id="", kinds=dict.fromkeys(new, "transient"), known=dict(failures)
                )
            else:  # nothing new to list for retry, but this run failed too: status's last outcome says so
                self.files.note_failure(error=error, kind="transient", load_id="", files=len(keys))
        with contextlib.suppress(Exception):
            self.metrics.put({"TransientLoadFailures": (1.0, "Count")})
        log(
            self.logger,
            logging.WARNING,
            "ledger look-up failed; files kept for retry",
            files=len(keys),
            error=error,
        )

    # -- lag ------------------------------------------------------------------

    def _publish_lag(self, summary: RunSummary, *, failing: bool = False) -> None:
        """``ReplicationLagSeconds``: the age of the oldest file this run knows is not in
        the ledger (0 when there is none), published on every run so that a loader that
        stops running or keeps failing shows as missing data or a growing lag.

        A failed run that learned of no pending file (the ledger could not be read)
        publishes nothing rather than a 0 it does not know: missing data is breaching.
        """
        if failing and not summary.pending:
            return
        try:
            summary.lag_seconds = self.oldest_pending_age(summary.pending)
            self.metrics.put({"ReplicationLagSeconds": (summary.lag_seconds, "Seconds")})
        except Exception as exc:
            if not failing:
                raise
            log(self.logger, logging.WARNING, "could not publish the lag", error=_describe(exc))

    def oldest_pending_age(self, pending: Mapping[str, datetime | None]) -> float:
        """Seconds since the oldest pending file was written: its LastModified when
        listed, else (keys from events or the retry list) the oldest such key's, read
        with one HeadObject, else the start of the hour in its key."""
        if not pending:
            return 0.0
        now = self._clock()
        stamps = [modified.timestamp() for modified in pending.values() if modified is not None]
        unknown = sorted(key for key, modified in pending.items() if modified is None)
        if unknown:
            modified = self.files.last_modified(unknown[0])
            if modified is not None:
                stamps.append(modified.timestamp())
            else:
                with contextlib.suppress(layout.LayoutError):
                    stamps.append(layout.parse_object_key(unknown[0]).hour_ms / 1000)
        return round(max(0.0, now - min(stamps)), 3) if stamps else 0.0

    # -- outcomes -------------------------------------------------------------

    def on_success(
        self, files: Sequence[str], load_id: str, *, had_failures: Sequence[str] | None = None
    ) -> None:
        if had_failures is None:
            had_failures = [key for key in files if key in self.files.failure_records()]
        if had_failures:
            self.files.clear_failures(had_failures)
        self.metrics.put({"FilesLoaded": (float(len(files)), "Count")})
        log(self.logger, logging.INFO, "load committed", load_id=load_id, files=len(files))

    def on_failure(
        self,
        files: Sequence[str],
        load_id: str,
        error: str,
        *,
        statement_id: str | None = None,
        query_id: int | None = None,
        transient: bool = False,
    ) -> list[str]:
        """Record one failure per file, of its kind; alert; quarantine. Returns the
        quarantined keys.

        The ledger is not touched (the failed transaction wrote nothing), so the files
        stay pending. Only a ``content`` failure (the warehouse's load errors name the
        file) counts toward ``CDC_MAX_FILE_FAILURES``, and a file is quarantined only
        when it failed ALONE and reached that count: an outage, a timeout or a
        neighbour's corrupt line never quarantines a good file.
        """
        error = redact(error)
        if statement_id:
            # EventBridge delivers at least once and a real FAILED event can be replayed:
            # a statement already counted for every one of its files changes nothing.
            known = self.files.failure_records()
            if files and all(key in known and known[key].last_statement_id == statement_id for key in files):
                log(
                    self.logger,
                    logging.INFO,
                    "failure of this statement already counted; event ignored",
                    load_id=load_id,
                    statement_id=statement_id,
                    files=len(files),
                )
                return []
        lines: list[dict[str, Any]] = []
        kinds: dict[str, FailureKind]
        if transient:
            kinds = dict.fromkeys(files, "transient")
        else:
            if query_id is not None or _LOAD_ERROR_HINT.search(error):
                lines = self.load_error_lines(files, query_id)
            urls = {line.get("file") for line in lines}
            blamed = {key for key in files if s3_url(self.files.bucket, key) in urls}
            kinds = {
                key: "content" if key in blamed else "collateral" if blamed else "unattributed"
                for key in files
            }
        counts = self.files.record_failure(
            files, error=error, load_id=load_id, kinds=kinds, statement_id=statement_id
        )
        if transient:
            self.metrics.put({"TransientLoadFailures": (1.0, "Count")})
            log(
                self.logger,
                logging.WARNING,
                "load failed for a transient reason; retried, not counted toward quarantine",
                load_id=load_id,
                statement_id=statement_id,
                files=len(files),
                error=error,
            )
            return []
        self.metrics.put({"LoadFailures": (1.0, "Count")})
        self.alerts.send(
            f"DdbCdc load failed: {self.config.table_name}",
            {
                "table": self.config.table_name,
                "target": self.config.target.target_name,
                "load_id": load_id,
                "statement_id": statement_id,
                "error": error,
                "load_errors": lines,
                "load_errors_view": self._load_errors_view(),
                "files": list(files)[:50],
                "file_count": len(files),
                "failure_kinds": {key: kinds[key] for key in list(files)[:50]},
                "failure_counts": {key: counts[key] for key in list(files)[:50]},
            },
        )
        quarantined: list[str] = []
        if len(files) == 1 and counts[files[0]] >= self.config.max_file_failures:
            key = files[0]
            target = self.files.quarantine(key)
            quarantined.append(key)
            self.alerts.send(
                f"DdbCdc file quarantined: {self.config.table_name}",
                {
                    "table": self.config.table_name,
                    "file": key,
                    "quarantined_to": f"s3://{self.files.bucket}/{target}",
                    "failures": counts[key],
                    "last_error": error,
                    "load_errors": lines,
                    "load_errors_view": self._load_errors_view(),
                    "release_with": f"python -m ddb_cdc.cli release {key}",
                },
            )
        return quarantined

    def _load_errors_view(self) -> str:
        redshift = self.config.redshift
        return (
            "stl_load_errors"
            if redshift is not None and redshift.kind != "workgroup"
            else "sys_load_error_detail"
        )

    def load_error_lines(self, files: Sequence[str], query_id: int | None) -> list[dict[str, Any]]:
        """The warehouse's own account of a failed COPY: file, line, column, error code
        and reason (its quoted values removed), never the row itself.

        Provisioned clusters over the Data API: STL_LOAD_ERRORS. Serverless and direct
        connections: SYS_LOAD_ERROR_DETAIL, which both kinds have (Serverless has no
        STL views). Matched by the COPY's query id when the Data API reported it, else
        by the load's file URLs.
        """
        if self.dialect != "redshift":
            return []
        stl = self._load_errors_view() == "stl_load_errors"
        if query_id is not None:
            where = f"query = {int(query_id)}" if stl else f"query_id = {int(query_id)}"
        else:
            urls = ", ".join(literal(s3_url(self.files.bucket, key)) for key in list(files)[:50])
            where = f"TRIM(filename) IN ({urls})" if stl else f"TRIM(file_name) IN ({urls})"
        source = _STL_LOAD_ERRORS if stl else _SYS_LOAD_ERROR_DETAIL
        # Every value in the query is an int() or a literal() of validated text.
        sql = f"SELECT {source[0]} FROM {source[1]} WHERE {where} ORDER BY {source[2]} DESC LIMIT {MAX_ERROR_LINES}"  # noqa: S608
        try:
            rows = self.executor.query(sql)
        except Exception as exc:  # the alert matters more than its details
            return [{"unavailable": _describe(exc)}]
        names = ("file", "line", "column", "code", "reason")
        lines = [dict(zip(names, row[: len(names)], strict=False)) for row in rows]
        for line in lines:
            if isinstance(line.get("reason"), str):
                line["reason"] = redact(line["reason"])
        return lines

    # -- the completion event -------------------------------------------------

    def complete(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Handle a "Redshift Data Statement Status Change" event for one of our loads.

        The event is a claim, not a fact: anyone allowed ``events:PutEvents`` on the
        default bus can send one. It is acted on only when ``DescribeStatement`` (which
        answers only for statements the Data API ran, and only to their caller's role)
        confirms the same statement id, the same final status, and SQL that is this
        load's: its COPY reads this load id's manifest.
        """
        detail = event.get("detail") or {}
        named = parse_statement_name(detail.get("statementName"))
        state = detail.get("state")
        statement_id = detail.get("statementId")
        if named is None or named[0] != self.config.table_name:
            log(
                self.logger,
                logging.INFO,
                "not a load of this table",
                statement_name=detail.get("statementName"),
            )
            return {"handled": False, "reason": "not a load of this table"}
        if state not in ("FINISHED", "FAILED", "ABORTED"):
            return {"handled": False, "reason": f"state {state!r} is not final"}
        load_id = named[1]
        description, problem = self._verified_statement(statement_id, state, load_id)
        if description is None:
            self.metrics.put({"RejectedCompletionEvents": (1.0, "Count")})
            log(
                self.logger,
                logging.WARNING,
                "completion event rejected: it does not match its statement",
                statement_id=statement_id if isinstance(statement_id, str) else None,
                load_id=load_id,
                claimed_state=state,
                problem=problem,
            )
            return {"handled": False, "reason": f"statement not verified: {problem}"}
        files = self.files.read_manifest(load_id)
        if state == "FINISHED":
            self.on_success(files, load_id)
            return {"handled": True, "state": state, "load_id": load_id, "files": len(files)}
        error, query_id = _failed_sub_statement(description)
        quarantined = self.on_failure(
            files,
            load_id,
            f"{state}: {error}",
            statement_id=str(statement_id),
            query_id=query_id,
            # An aborted statement was cancelled (by a person, WLM or a timeout); the
            # warehouse did not judge its files.
            transient=state == "ABORTED",
        )
        return {
            "handled": True,
            "state": state,
            "load_id": load_id,
            "files": len(files),
            "quarantined": quarantined,
        }

    def _verified_statement(
        self, statement_id: object, state: str, load_id: str
    ) -> tuple[Mapping[str, Any] | None, str]:
        """(DescribeStatement's answer, "") when it confirms the event, else (None, why)."""
        describe = getattr(self.executor, "describe", None)
        if describe is None:
            return None, "this executor does not submit statements that send events"
        if not isinstance(statement_id, str) or not statement_id:
            return None, "no statement id"
        try:
            description = describe(statement_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _NOT_DESCRIBABLE:
                return None, f"DescribeStatement: {code}"
            raise  # throttling or an outage: let Lambda retry the event
        if description.get("Id") != statement_id:
            return None, "DescribeStatement names another statement"
        if description.get("Status") != state:
            return None, f"the statement is {description.get('Status')!r}, not {state!r}"
        manifest = s3_url(
            self.files.bucket, manifest_key(self.config.prefix, self.config.table_name, load_id)
        )
        sqls = [sub.get("QueryString") or "" for sub in description.get("SubStatements") or []]
        sqls.append(description.get("QueryString") or "")
        if not any(sql.lstrip().upper().startswith("COPY ") and f"'{manifest}'" in sql for sql in sqls):
            return None, "the statement does not COPY this load's manifest"
        return description, ""

    def _statement_error(self, statement_id: object) -> tuple[str, int | None]:
        """The batch's error text and, when known, the failed sub-statement's query id."""
        describe = getattr(self.executor, "describe", None)
        if not isinstance(statement_id, str) or describe is None:
            return "no statement details", None
        try:
            description = describe(statement_id)
        except Exception as exc:
            return f"describe_statement failed: {type(exc).__name__}", None
        return _failed_sub_statement(description)

    # -- ledger ---------------------------------------------------------------

    def ledgered(self, candidates: set[str]) -> set[str]:
        if not candidates:
            return set()
        found: set[str] = set()
        for sql in render_ledgered_files(self.config.target, self.dialect, sorted(candidates)):
            found.update(str(row[0]) for row in self.executor.query(sql))
        return found

    def ledger_status(self) -> LedgerStatus:
        sql = render_status(self.config.target, self.dialect, key_prefix=self.files.raw_prefix)
        rows = self.executor.query(sql)
        return LedgerStatus.from_row(rows[0] if rows else (0, None, None))

    def newest_change_at(self) -> datetime | None:
        """The DynamoDB time of the newest change in the target (``status`` only: it reads a whole column)."""
        rows = self.executor.query(render_newest_change(self.config.target, self.dialect))
        return _utc_or_none(rows[0][0] if rows else None)

    def status(self, *, window_only: bool = False, max_lag_seconds: float | None = None) -> dict[str, Any]:
        """The on-call view of one table: what is loaded, what waits, what fails, what is set aside.

        ``lag_seconds`` is the age of the oldest pending file, the figure the loader publishes as
        ReplicationLagSeconds and the lag alarm watches; ``lag_exceeded`` compares it with
        ``max_lag_seconds`` (default: the deployed alarm's threshold, CDC_LAG_ALARM_SECONDS).
        Lists the whole raw prefix, so that a file outside the scheduled window (a late file, a
        released one) counts as pending; ``window_only`` lists only the hours a scheduled run
        lists (cheaper on a long history).
        """
        ledger = self.ledger_status()
        newest_change = self.newest_change_at()
        prefixes = self._schedule_prefixes(ledger) if window_only else None
        listed = {item.key: item.last_modified for item in self.files.list_raw(prefixes)}
        found = self.ledgered(set(listed))
        pending = {key: modified for key, modified in listed.items() if key not in found}
        hwm = ledger.high_water_hour_ms
        lag = self.oldest_pending_age(pending)
        threshold = max_lag_seconds if max_lag_seconds is not None else self.config.lag_alarm_seconds
        failures = sorted(
            self.files.failure_records().values(), key=lambda r: (-r.failures, -r.other_failures, r.key)
        )
        quarantined = sorted(self.files.quarantined())
        return {
            "table": self.config.table_name,
            "target": self.config.target.target_name,
            "ledger_files": ledger.files,
            "high_water_hour": None
            if hwm is None
            else time.strftime("%Y-%m-%dT%H", time.gmtime(hwm // 1000)),
            "newest_change_loaded": _iso(newest_change),
            "last_loaded_at": _iso(ledger.last_loaded_at),
            "last_load": _last_load(ledger.last_loaded_at, self.files.last_failure()),
            "listed": "lookback window" if window_only else "whole raw prefix",
            "pending_files": len(pending),
            "oldest_pending_file": min(pending) if pending else None,
            "lag_seconds": lag,
            "lag_threshold_seconds": threshold,
            "lag_exceeded": threshold is not None and lag > threshold,
            "files_with_failures": len(failures),
            "failing_files": [
                {
                    "key": record.key,
                    "failures": record.failures,
                    "other_failures": record.other_failures,
                    "last_kind": record.last_kind,
                    "last_failed_at": _iso(record.recorded_at),
                    "last_error": redact(record.last_error)[:STATUS_ERROR_CHARS],
                }
                for record in failures[:STATUS_LIST_LIMIT]
            ],
            "quarantined_files": len(quarantined),
            "quarantined": quarantined[:STATUS_LIST_LIMIT],
        }

    # -- operator actions -----------------------------------------------------

    def init(self) -> dict[str, Any]:
        """Create what the loads write to, if missing: the schema, the target, the ledger,
        the history table (when enabled) and the ``<table>_current`` view (render_ddl).

        One transaction; running it again changes nothing. The executor must wait (the
        CLI runs ``init`` in poll mode), so an error surfaces here as :class:`LoadFailed`.
        """
        statements = render_ddl(self.config.target, self.dialect)
        # Not a load's name (no ddb_cdc:<table>:<load id>), so a completion event is ignored.
        submission = self.executor.run(
            statements, name=f"{STATEMENT_NAME_PREFIX}-init:{self.config.table_name}"
        )
        log(self.logger, logging.INFO, "warehouse objects ready", target=self.config.target.target_name)
        return {
            "target": self.config.target.target_name,
            "statements": len(statements),
            "state": submission.state,
            "statement_id": submission.statement_id,
        }

    def quarantine(self, key: str) -> str:
        target = self.files.quarantine(key)
        log(self.logger, logging.WARNING, "file quarantined by operator", file=key, to=target)
        return target

    def release(self, key: str) -> None:
        self.files.release(key)
        log(self.logger, logging.INFO, "file released from quarantine", file=key)


def _isolation(failures: Mapping[str, FailureRecord], keys: Iterable[str]) -> dict[str, int]:
    """plan_loads' input: 1 for a file that must load alone (the warehouse blamed it or
    could not say which file it refused), 0 for one that only met an outage."""
    return {key: 1 for key in keys if key in failures and failures[key].isolate}


def _failed_sub_statement(description: Mapping[str, Any]) -> tuple[str, int | None]:
    error = str(description.get("Error") or "no error text")
    for sub in description.get("SubStatements") or []:
        if sub.get("Status") in ("FAILED", "ABORTED"):
            query_id = sub.get("RedshiftQueryId")
            error = str(sub.get("Error") or error)
            return error, int(query_id) if isinstance(query_id, int) and query_id > 0 else None
    return error, None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return redact(text if isinstance(exc, LoadFailed) else f"{type(exc).__name__}: {text}".strip())


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _utc(value: datetime) -> datetime:
    """The ledger's timestamps are UTC wall time without a zone; S3's carry one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _last_load(last_loaded_at: datetime | None, failure: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The newest load outcome: the ledger's newest row (a success), or the newest failure noted
    (``CdcFiles.note_failure``) when it is later."""
    failed_at = failure.get("at") if failure else None
    if (
        failure is not None
        and failed_at is not None
        and (last_loaded_at is None or failed_at > _utc(last_loaded_at))
    ):
        return {
            "outcome": "failed",
            "at": _iso(failed_at),
            "kind": failure.get("kind"),
            "files": failure.get("files"),
            "error": redact(str(failure.get("error") or ""))[:STATUS_ERROR_CHARS],
        }
    if last_loaded_at is not None:
        return {"outcome": "succeeded", "at": _iso(_utc(last_loaded_at))}
    return None


def _utc_or_none(value: Any) -> datetime | None:
    """A TIMESTAMP from either executor (the Data API's text or psycopg2's datetime) as aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return None if value is None else _utc(value)
