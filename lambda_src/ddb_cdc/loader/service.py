"""The loader's core: choose files, run loads, count failures, quarantine, report.

Every trigger ends in :meth:`LoaderService.load`: write one manifest, render one load
transaction (``ddb_cdc.warehouse.sql.render_load``), hand it to the executor. What
happens next depends on whether the executor waits:

* waiting (psycopg2, Data API ``poll``): success clears the files' failure records and
  publishes metrics; failure records one failure per file, alerts, quarantines a file
  that failed alone ``CDC_MAX_FILE_FAILURES`` times, and then raises, so SQS redelivers
  the batch (its DLQ catches poison after ``maxReceiveCount``) or the scheduled
  invocation is retried by Lambda.
* not waiting (Data API ``async``): the statement is submitted with ``WithEvent`` and
  a StatementName ``ddb_cdc:<table>:<load_id>``; :meth:`LoaderService.complete` later
  receives the EventBridge event, finds the manifest by the load id in that name and
  does the same success or failure steps. The SQS messages are consumed on submit; a
  failed file stays out of the ledger and in ``load-failures/``, which every later
  invocation adds to its candidates, so nothing depends on a message coming back.

Concurrency: the load SQL takes ``LOCK target, ledger`` first, so two loads of one
table serialise in the warehouse; the loader Lambda also runs with reserved
concurrency 1, which keeps the S3 failure counts free of lost updates. Two async
statements for the same files are harmless: the second one finds the changes not
newer and the files already ledgered.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from ddb_cdc.loader import selection
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import (
    STATEMENT_NAME_PREFIX,
    Executor,
    LoadFailed,
    parse_statement_name,
    statement_name,
)
from ddb_cdc.loader.files import CdcFiles
from ddb_cdc.obs import log
from ddb_cdc.warehouse import LedgerStatus, render_ddl, render_ledgered_files, render_load, render_status
from ddb_cdc.warehouse.identifiers import Dialect, literal
from ddb_cdc.warehouse.manifest import s3_url

MAX_ERROR_LINES: Final = 20
SNS_SUBJECT_LIMIT: Final = 100
SNS_MESSAGE_LIMIT: Final = 200_000  # under SNS's 256 KB
# (columns, relation, time column) of the two load-error views, same column order.
_STL_LOAD_ERRORS: Final = (
    "TRIM(filename), line_number, TRIM(colname), err_code, TRIM(err_reason), TRIM(raw_line)",
    "stl_load_errors",
    "starttime",
)
_SYS_LOAD_ERROR_DETAIL: Final = (
    "TRIM(file_name), line_number, TRIM(column_name), error_code, TRIM(error_message), ''",
    "sys_load_error_detail",
    "start_time",
)


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "candidates": self.candidates,
            "skipped_ledgered": self.skipped_ledgered,
            "skipped_quarantined": self.skipped_quarantined,
            "loads": self.loads,
            "failed_loads": self.failed_loads,
            "quarantined": self.quarantined,
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
    ) -> None:
        self.config = config
        self.max_files_per_load = max_files_per_load
        self.executor = executor
        self.files = files
        self.alerts = alerts
        self.metrics = metrics
        self.logger = logger
        # "postgresql" only for the local stand-in (tests, demo): production is Redshift.
        self.dialect = dialect
        self._clock = clock

    # -- triggers -------------------------------------------------------------

    def run_s3_event(self, event: Mapping[str, Any]) -> RunSummary:
        """SQS batch of S3 notifications: load the named files plus pending retries."""
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
        failures = self.files.failure_records()
        # Failed files have no SQS message any more (async mode consumed it on submit);
        # the failure store is their retry list.
        candidates = set(named.keys) | set(failures)
        return self._load_candidates("s3_event", candidates, failures, load_all=True)

    def run_schedule(self) -> RunSummary:
        """Everything not yet in the ledger, from the high-water mark minus the margin.

        The ledger, not the clock, decides where to start: after a missed run the
        high-water mark has not moved, so the next run lists the same hours and more.
        """
        listed = self.files.list_raw(self._schedule_prefixes(self.ledger_status()))
        failures = self.files.failure_records()
        summary = self._load_candidates("schedule", {item.key for item in listed} | set(failures), failures)
        if not summary.loads:
            # Nothing waiting: the warehouse holds every change written so far.
            self.metrics.put({"ReplicationLagSeconds": (0.0, "Seconds")})
        return summary

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
        errors: list[LoadFailed] = []
        for batch in selection.chunked(keys, self.max_files_per_load):
            self._run_load(batch, summary, {}, errors)
        self._raise_if_failed(errors)
        return summary

    # -- the load -------------------------------------------------------------

    def _load_candidates(
        self, trigger: str, candidates: set[str], failures: Mapping[str, Any], *, load_all: bool = False
    ) -> RunSummary:
        summary = RunSummary(trigger, candidates=len(candidates))
        if not candidates:
            log(self.logger, logging.INFO, "nothing to load", trigger=trigger)
            return summary
        quarantined = self.files.quarantined() & candidates
        summary.skipped_quarantined = len(quarantined)
        # Oldest first, and only as far as one run can load: after a long outage (or on
        # an empty ledger) there may be far more files than one invocation should look
        # up, and the rest is found again by the next run.
        pending: set[str] = set()
        ledgered: set[str] = set()
        for chunk in selection.chunked(candidates - quarantined, self.max_files_per_load):
            found = self.ledgered(set(chunk))
            ledgered |= found
            pending.update(key for key in chunk if key not in found)
            if not load_all and len(pending) >= self.max_files_per_load + selection.MAX_SINGLE_FILE_LOADS:
                break
        summary.skipped_ledgered = len(ledgered)
        # A file loaded since it last failed (a replay, a late async success) needs no retry.
        stale = [key for key in failures if key in ledgered or key in quarantined]
        if stale:
            self.files.clear_failures(stale)
        counts = {key: record.failures for key, record in failures.items() if key in pending}
        errors: list[LoadFailed] = []
        for batch in selection.plan_loads(
            pending, counts, max_files=self.max_files_per_load, load_all_clean=load_all
        ):
            self._run_load(batch, summary, failures, errors)
        self._raise_if_failed(errors)
        return summary

    def _run_load(
        self, batch: Sequence[str], summary: RunSummary, failures: Mapping[str, Any], errors: list[LoadFailed]
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
        except LoadFailed as exc:
            entry["state"] = "failed"
            summary.failed_loads += 1
            summary.quarantined += self.on_failure(batch, load_id, str(exc), statement_id=exc.statement_id)
            errors.append(exc)
            return
        entry["state"] = submission.state
        entry["statement_id"] = submission.statement_id
        log(self.logger, logging.INFO, "load " + submission.state, **entry)
        if submission.state == "finished":
            self.on_success(batch, load_id, had_failures=[key for key in batch if key in failures])

    def _raise_if_failed(self, errors: Sequence[LoadFailed]) -> None:
        if errors:
            raise LoadsFailed(f"{len(errors)} load(s) failed; first: {errors[0]}")

    # -- outcomes -------------------------------------------------------------

    def on_success(
        self, files: Sequence[str], load_id: str, *, had_failures: Sequence[str] | None = None
    ) -> None:
        if had_failures is None:
            had_failures = [key for key in files if key in self.files.failure_records()]
        if had_failures:
            self.files.clear_failures(had_failures)
        newest = self.files.last_modified(max(files))
        values: dict[str, tuple[float, str]] = {"FilesLoaded": (float(len(files)), "Count")}
        if newest is not None:
            values["ReplicationLagSeconds"] = (max(0.0, self._clock() - newest.timestamp()), "Seconds")
        self.metrics.put(values)
        log(self.logger, logging.INFO, "load committed", load_id=load_id, files=len(files))

    def on_failure(
        self,
        files: Sequence[str],
        load_id: str,
        error: str,
        *,
        statement_id: str | None = None,
        query_id: int | None = None,
    ) -> list[str]:
        """Count one failure per file, alert, quarantine; returns the quarantined keys.

        The ledger is not touched (the failed transaction wrote nothing), so the files
        stay pending. A file is quarantined only when it failed ALONE at least
        ``CDC_MAX_FILE_FAILURES`` times in total: a good file that shared a batch with a
        corrupt one fails once, then loads on its own.
        """
        counts = self.files.record_failure(files, error=error, load_id=load_id)
        self.metrics.put({"LoadFailures": (1.0, "Count")})
        lines = self.load_error_lines(files, query_id)
        self.alerts.send(
            f"DdbCdc load failed: {self.config.table_name}",
            {
                "table": self.config.table_name,
                "target": self.config.target.target_name,
                "load_id": load_id,
                "statement_id": statement_id,
                "error": error,
                "load_errors": lines,
                "files": list(files)[:50],
                "file_count": len(files),
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
                    "release_with": f"python -m ddb_cdc.cli release {key}",
                },
            )
        return quarantined

    def load_error_lines(self, files: Sequence[str], query_id: int | None) -> list[dict[str, Any]]:
        """The warehouse's own account of a failed COPY, for the alert.

        Provisioned clusters over the Data API: STL_LOAD_ERRORS (has the raw line).
        Serverless and direct connections: SYS_LOAD_ERROR_DETAIL, which both kinds
        have (Serverless has no STL views). Matched by the COPY's query id when the
        Data API reported it, else by the load's file URLs.
        """
        if self.dialect != "redshift":
            return []
        redshift = self.config.redshift
        stl = redshift is not None and redshift.kind != "workgroup"
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
            return [{"unavailable": f"{type(exc).__name__}: {exc}"}]
        names = ("file", "line", "column", "code", "reason", "raw_line")
        return [dict(zip(names, row, strict=False)) for row in rows]

    # -- the completion event -------------------------------------------------

    def complete(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Handle a "Redshift Data Statement Status Change" event for one of our loads."""
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
        load_id = named[1]
        files = self.files.read_manifest(load_id)
        if state == "FINISHED":
            self.on_success(files, load_id)
            return {"handled": True, "state": state, "load_id": load_id, "files": len(files)}
        if state in ("FAILED", "ABORTED"):
            error, query_id = self._statement_error(statement_id)
            quarantined = self.on_failure(
                files, load_id, f"{state}: {error}", statement_id=statement_id, query_id=query_id
            )
            return {
                "handled": True,
                "state": state,
                "load_id": load_id,
                "files": len(files),
                "quarantined": quarantined,
            }
        return {"handled": False, "reason": f"state {state!r} is not final"}

    def _statement_error(self, statement_id: object) -> tuple[str, int | None]:
        """The batch's error text and, when known, the failed sub-statement's query id."""
        describe = getattr(self.executor, "describe", None)
        if not isinstance(statement_id, str) or describe is None:
            return "no statement details", None
        try:
            description = describe(statement_id)
        except Exception as exc:
            return f"describe_statement failed: {type(exc).__name__}", None
        error = str(description.get("Error") or "no error text")
        for sub in description.get("SubStatements") or []:
            if sub.get("Status") in ("FAILED", "ABORTED"):
                query_id = sub.get("RedshiftQueryId")
                error = str(sub.get("Error") or error)
                return error, int(query_id) if isinstance(query_id, int) and query_id > 0 else None
        return error, None

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

    def status(self) -> dict[str, Any]:
        """High-water mark, pending files and lag (age of the oldest pending file)."""
        ledger = self.ledger_status()
        now = self._clock()
        prefixes = self._schedule_prefixes(ledger)
        listed = {item.key: item for item in self.files.list_raw(prefixes)}
        pending = sorted(set(listed) - self.ledgered(set(listed)))
        oldest = min(
            (listed[key].last_modified for key in pending if listed[key].last_modified), default=None
        )
        hwm = ledger.high_water_hour_ms
        return {
            "table": self.config.table_name,
            "target": self.config.target.target_name,
            "ledger_files": ledger.files,
            "high_water_hour": None
            if hwm is None
            else time.strftime("%Y-%m-%dT%H", time.gmtime(hwm // 1000)),
            "last_loaded_at": _iso(ledger.last_loaded_at),
            "pending_files": len(pending),
            "lag_seconds": 0.0 if oldest is None else round(max(0.0, now - oldest.timestamp()), 3),
            "files_with_failures": len(self.files.failure_records()),
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


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
