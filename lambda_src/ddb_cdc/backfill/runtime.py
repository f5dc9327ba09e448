"""What every backfill handler builds once per container: its config, clients, clock and logger."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

from ddb_cdc import adapters, obs
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


def build() -> Runtime:
    """From the environment; handlers cache it for the container's life (clients keep their connections)."""
    config = BackfillConfig.from_env(os.environ)
    return Runtime(config, services(config), system_clock(), obs.configure(config.log_level))
