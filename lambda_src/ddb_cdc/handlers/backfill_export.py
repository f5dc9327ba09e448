"""Backfill, ``export`` mode: start, poll and convert a point-in-time export (Step Functions tasks).

Actions: ``start``, ``status``, ``convert`` and ``summarize`` (see
:mod:`ddb_cdc.backfill.export`). Every failure raises; its class name is the Step
Functions error name.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from ddb_cdc import layout, obs
from ddb_cdc.backfill import export, scan
from ddb_cdc.backfill.runtime import Runtime, build

_runtime = functools.cache(build)  # once per container


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process(event, context, _runtime())


def process(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    config, log = runtime.config, runtime.logger
    action = event.get("action")
    if action == "start":
        result = export.start(event, config=config, services=runtime.services)
        obs.log(
            log, logging.INFO, "export started", scan_id=result["scan_id"], export_arn=result["export_arn"]
        )
        return result
    if action == "status":
        result = export.status(event, config=config, services=runtime.services)
        obs.log(
            log,
            logging.INFO,
            "export status",
            scan_id=result["scan_id"],
            status=result["status"],
            file_count=result["file_count"],
        )
        return result
    if action == "convert":
        return export.convert(
            event,
            config=config,
            services=runtime.services,
            remaining_ms=context.get_remaining_time_in_millis,
            clock=runtime.clock,
            log=log,
        )
    if action == "summarize":
        scan_id = layout.check_scan_id(event.get("scan_id"))
        results = event.get("results")
        summary = scan.summarize(
            scan_id,
            results if isinstance(results, list) else [],
            resume_command=scan.resume_command(scan_id, getattr(context, "function_name", None)),
        )
        obs.log(
            log,
            logging.INFO if not summary["failed"] else logging.ERROR,
            "backfill summarized",
            scan_id=scan_id,
            failed_batches=summary["failed"],
            items=summary["items"],
            bytes=summary["bytes"],
        )
        return summary
    raise ValueError("action must be start, status, convert or summarize")
