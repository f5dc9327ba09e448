"""Backfill, ``step_functions`` mode: one invocation scans one segment for one time budget.

The state machine's Map runs this once per segment in a loop until the returned state
says ``done``; ``{"action": "summarize", ...}`` folds the Map's results at the end.
Every failure raises: its class name is the Step Functions error name, and the
machine's Retry calls again with the same input, which rebuilds the same keys.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from ddb_cdc import adapters, layout, obs
from ddb_cdc.backfill import scan
from ddb_cdc.backfill.config import BackfillConfig


@dataclass(frozen=True, slots=True)
class Runtime:
    config: BackfillConfig
    services: scan.Services
    clock: scan.Clock
    logger: logging.Logger


def system_clock() -> scan.Clock:
    return scan.Clock(now_ms=lambda: time.time_ns() // 1_000_000, monotonic=time.monotonic, sleep=time.sleep)


def services(config: BackfillConfig) -> scan.Services:
    s3 = adapters.client("s3")
    return scan.Services(
        s3=s3,
        store=adapters.ObjectStore(s3, config.bucket),
        dynamodb=adapters.client("dynamodb"),
        lambda_client=adapters.client("lambda"),
    )


@functools.cache
def _runtime() -> Runtime:
    # Built on the first invocation and kept for the container's life.
    config = BackfillConfig.from_env(os.environ)
    return Runtime(config, services(config), system_clock(), obs.configure(config.log_level))


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
