"""Environment parsed once per Lambda container into small frozen configs.

A missing or malformed variable raises :class:`ConfigError` on the first invocation,
so a wiring mistake shows up as a function error at once instead of as quietly
misplaced data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()=-]+(?:/[A-Za-z0-9!_.*'()=-]+)*")


class ConfigError(ValueError):
    """A required environment variable is missing or malformed."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required")
    return value


def _table(env: Mapping[str, str]) -> str:
    table = _required(env, "CDC_TABLE_NAME")
    if not _TABLE_NAME.fullmatch(table):
        raise ConfigError("CDC_TABLE_NAME is not a valid DynamoDB table name")
    return table


def _prefix(env: Mapping[str, str]) -> str:
    # S3's "safe characters" only, segments separated by single slashes: the prefix
    # becomes part of every key, and the loaders parse keys back.
    prefix = env.get("CDC_PREFIX", "").strip()
    if prefix and not _PREFIX.fullmatch(prefix):
        raise ConfigError(
            "CDC_PREFIX must be empty or safe S3 key characters, without leading, trailing or double slashes"
        )
    return prefix


def _log_level(env: Mapping[str, str]) -> str:
    level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    return level


@dataclass(frozen=True, slots=True)
class StreamToS3Config:
    bucket: str
    prefix: str
    table_name: str
    dlq_url: str
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StreamToS3Config:
        return cls(
            bucket=_required(env, "CDC_BUCKET"),
            prefix=_prefix(env),
            table_name=_table(env),
            dlq_url=_required(env, "CDC_DLQ_URL"),
            log_level=_log_level(env),
        )


@dataclass(frozen=True, slots=True)
class StreamToFirehoseConfig:
    delivery_stream: str
    table_name: str
    dlq_url: str
    log_level: str
    # Optional: where raw records too large for one SQS message are spilled. Without
    # it they travel to the DLQ split over several messages (see ddb_cdc.quarantine).
    spill_bucket: str | None
    prefix: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StreamToFirehoseConfig:
        return cls(
            delivery_stream=_required(env, "CDC_DELIVERY_STREAM"),
            table_name=_table(env),
            dlq_url=_required(env, "CDC_DLQ_URL"),
            log_level=_log_level(env),
            spill_bucket=env.get("CDC_BUCKET", "").strip() or None,
            prefix=_prefix(env),
        )
