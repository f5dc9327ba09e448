"""Backfill, ``step_functions`` mode: one invocation scans one segment for one time budget.

The state machine's Map runs this once per segment in a loop until the returned state
says ``done``; ``{"action": "summarize", ...}`` folds the Map's results at the end.
Every failure raises: its class name is the Step Functions error name, and the
machine's Retry calls again with the same input, which goes on from the segment's
progress record (written after every page) wherever that is ahead.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from ddb_cdc import layout, obs
from ddb_cdc.backfill import scan
from ddb_cdc.backfill.runtime import Runtime, build

_runtime = functools.cache(build)  # once per container


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process(event, context, _runtime())


def process(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    config = runtime.config
    if event.get("action") == "summarize":
        scan_id = layout.check_scan_id(event.get("scan_id"))
        results = event.get("results")

        def progress(segment: int) -> dict[str, Any] | None:
            key = layout.progress_key(config.prefix, config.table_name, scan_id, segment)
            return scan.read_progress(runtime.services.s3, config.bucket, key)

        summary = scan.summarize(
            scan_id,
            results if isinstance(results, list) else [],
            resume_command=scan.resume_command(scan_id, getattr(context, "function_name", None)),
            progress=progress,
        )
        obs.log(
            runtime.logger,
            logging.INFO if not summary["failed"] else logging.ERROR,
            "backfill summarized",
            scan_id=scan_id,
            failed_segments=summary["failed"],
            items=summary["items"],
            bytes=summary["bytes"],
        )
        return summary
    if event.get("action", "scan") != "scan":
        raise ValueError("action must be scan or summarize")
    return scan.scan_step(
        event,
        config=config,
        services=runtime.services,
        remaining_ms=context.get_remaining_time_in_millis,
        clock=runtime.clock,
        log=runtime.logger,
    )
