"""The loader Lambda: one handler for both triggers.

* SQS (``load_strategy = "s3_event"``): ``Records[*].eventSource == "aws:sqs"``, each
  body an S3 event notification (or S3's ``s3:TestEvent``). One load (one COPY) per
  invocation; more only past 1,000 files, or for files that failed before and are
  retried one at a time.
* EventBridge Scheduler: the schedule's input, ``{"trigger": "schedule"}``: the load
  of ``load_strategy = "schedule"``, and the periodic reconciliation run of
  ``s3_event`` (it lists the lookback window like a scheduled load). ``{"trigger":
  "reconcile"}`` runs only the retries and one sweep step, the cheapest periodic run.

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

from ddb_cdc import obs
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
        if event.get("trigger") in ("schedule", "reconcile"):
            return str(event["trigger"])
    raise UnknownTrigger(
        'expected an SQS batch event or the scheduler input {"trigger": "schedule"} or {"trigger": "reconcile"}'
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process(event, context, _service())


def process(event: dict[str, Any], context: Any, service: LoaderService) -> dict[str, Any]:
    trigger = trigger_of(event)
    request_id = getattr(context, "aws_request_id", None)
    try:
        if trigger == "s3_event":
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
