"""The loader Lambda: one handler for both triggers.

* SQS (``load_strategy = "s3_event"``): ``Records[*].eventSource == "aws:sqs"``, each
  body an S3 event notification (or S3's ``s3:TestEvent``). One load (one COPY) per
  invocation; more only past 1,000 files, or for files that failed before and are
  retried one at a time.
* EventBridge Scheduler: the schedule's input, ``{"trigger": "schedule"}``: the load
  of ``load_strategy = "schedule"``, and the periodic reconciliation run of
  ``s3_event`` (it lists the lookback window like a scheduled load). ``{"trigger":
  "reconcile"}`` runs only the retries and one sweep step, the cheapest periodic run.

* The emr_compaction state machine: ``{"trigger": "compaction_plan", "request": {...}}``
  lists an hour's raw files for s3-dist-cp and returns the step's argv;
  ``{"trigger": "compacted", "hour": "YYYY-MM-DDTHH", "run": <run id>, "compacted":
  true|false}`` loads the run's compacted files (when true) and then every raw file
  of the lookback window still missing (see :mod:`ddb_cdc.loader.compaction`).

Every run also advances the reconciliation sweep and publishes ReplicationLagSeconds,
so a file whose message ended in the DLQ is still loaded, and a loader that stops
running shows as missing data. A failure raises (never a 500-shaped return value), so
SQS redelivers the batch, or Lambda retries the scheduled invocation and then sends it
to its on-failure destination.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from ddb_cdc import layout, obs
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.runtime import build_service
from ddb_cdc.loader.service import LoaderService


class UnknownTrigger(ValueError):
    """The event is neither an SQS batch nor the scheduler's input."""


@functools.cache
def _service() -> LoaderService:
    # Built on the first invocation and kept for the container's life: clients (and a
    # psycopg2 connection) are reused, and the environment cannot change.
    config = LoaderConfig.from_env(os.environ)
    return build_service(config, obs.configure(config.log_level))


def trigger_of(event: Any) -> str:
    if isinstance(event, dict):
        records = event.get("Records")
        if (
            isinstance(records, list)
            and records
            and all(isinstance(record, dict) and record.get("eventSource") == "aws:sqs" for record in records)
        ):
            return "s3_event"
        if event.get("trigger") in ("schedule", "reconcile", "compaction_plan", "compacted"):
            return str(event["trigger"])
    raise UnknownTrigger(
        'expected an SQS batch event, the scheduler input {"trigger": "schedule"} or {"trigger": "reconcile"}, '
        'or the compaction machine\'s {"trigger": "compaction_plan"} or {"trigger": "compacted"}'
    )


def _compacted_run(event: dict[str, Any]) -> tuple[int, str, bool]:
    """(hour, run id, compacted) of a ``compacted`` event; UnknownTrigger when malformed."""
    try:
        hour_ms = layout.parse_hour_label(event.get("hour"))
        run_id = layout.check_scan_id(event.get("run"))
    except layout.LayoutError as exc:
        raise UnknownTrigger(f"compacted: {exc}") from None
    compacted = event.get("compacted")
    if not isinstance(compacted, bool):
        raise UnknownTrigger('compacted: "compacted" must be true or false')
    return hour_ms, run_id, compacted


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process(event, context, _service())


def process(event: dict[str, Any], context: Any, service: LoaderService) -> dict[str, Any]:
    trigger = trigger_of(event)
    request_id = getattr(context, "aws_request_id", None)
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    service.time_left = (lambda: remaining_ms() / 1000) if callable(remaining_ms) else None
    if trigger == "compaction_plan":
        return service.plan_compaction(event.get("request"))
    try:
        if trigger == "compacted":
            hour_ms, run_id, compacted = _compacted_run(event)
            summary = service.run_compacted(hour_ms, run_id, compacted=compacted)
        elif trigger == "s3_event":
            summary = service.run_s3_event(event)
        elif trigger == "schedule":
            summary = service.run_schedule()
        else:
            summary = service.run_reconcile()
    except Exception:
        obs.log(
            service.logger, logging.ERROR, "loader invocation failed", trigger=trigger, request_id=request_id
        )
        raise
    result = summary.as_dict()
    obs.log(service.logger, logging.INFO, "loader invocation done", request_id=request_id, **result)
    return result
