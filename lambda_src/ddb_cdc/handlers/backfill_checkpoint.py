"""Backfill, ``checkpoint_table`` mode: invoked by the cursor table's stream, one record a batch.

Each RUNNING image is one step of a segment (see :mod:`ddb_cdc.backfill.checkpoint`).
Failures of the step itself are written to the item (retry, then FAILED), so the
response never reports a batch item failure; only an error while recording the outcome
raises, and then the mapping delivers the record again.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from ddb_cdc import obs
from ddb_cdc.backfill import checkpoint
from ddb_cdc.backfill.runtime import Runtime, build

_runtime = functools.cache(build)  # once per container


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    return process(event, context, _runtime())


def process(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, list[dict[str, str]]]:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise ValueError("event has no Records list")
    for record in records:
        outcome = checkpoint.process_record(
            record,
            config=runtime.config,
            services=runtime.services,
            remaining_ms=context.get_remaining_time_in_millis,
            clock=runtime.clock,
            log=runtime.logger,
        )
        obs.log(
            runtime.logger,
            logging.DEBUG,
            "cursor record handled",
            outcome=outcome,
            request_id=getattr(context, "aws_request_id", None),
        )
    return {"batchItemFailures": []}
