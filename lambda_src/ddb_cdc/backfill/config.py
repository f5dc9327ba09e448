"""The backfill function's environment, parsed once into :class:`BackfillConfig`.

One function serves every mode; ``CDC_BACKFILL_MODE`` says which handler Terraform
pointed it at, and which of the optional variables must then be present. A value out
of range raises :class:`ConfigError` on the first invocation (and in the CLI before
anything starts), never a quietly clamped setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ddb_cdc.config import _TABLE_NAME, ConfigError, _log_level, _prefix, _required, _table

MODES: Final = ("step_functions", "checkpoint_table", "export")
_ATTRIBUTE_NAME = re.compile(r"[^,\s][^,]*")
_STATE_MACHINE_ARN = re.compile(
    r"arn:[a-z0-9-]+:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}"
)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ConfigError(f"{name} must be {bounds}")
    return value


def _rate(env: Mapping[str, str]) -> float:
    name = "CDC_BACKFILL_READ_UNITS_PER_SECOND"
    text = env.get(name, "").strip()
    if not text:
        return 200.0
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None
    if not value >= 1 or value == float("inf"):  # also refuses NaN
        raise ConfigError(f"{name} must be a finite number >= 1")
    return value


def _key_names(env: Mapping[str, str]) -> tuple[str, ...]:
    # Hash key first, then the range key if the table has one: the order DynamoDB's
    # KeySchema lists them in, so the CLI can pass it straight through.
    names = tuple(part.strip() for part in _required(env, "CDC_KEY_NAMES").split(","))
    if not 1 <= len(names) <= 2 or not all(_ATTRIBUTE_NAME.fullmatch(name) for name in names):
        raise ConfigError('CDC_KEY_NAMES must be "<hash key>" or "<hash key>,<range key>"')
    if len(set(names)) != len(names):
        raise ConfigError("CDC_KEY_NAMES names one attribute twice")
    return names


@dataclass(frozen=True, slots=True)
class BackfillConfig:
    table_name: str
    bucket: str
    prefix: str
    log_level: str
    key_names: tuple[str, ...]  # hash key first
    mode: str  # one of MODES
    # The stream mapping that must be capturing before a segment may start: without
    # it a snapshot could miss changes made during the scan (DESIGN.md, backfill).
    mapping_uuid: str
    segments: int  # default TotalSegments, 1..1000
    page_size: int  # Scan Limit, 1..10000
    read_units_per_second: float  # per segment
    state_machine_arn: str | None  # what the CLI starts; the handlers never need it
    cursor_table: str | None  # checkpoint_table mode
    max_attempts: int  # checkpoint_table mode: failed invocations in a row before FAILED

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BackfillConfig:
        mode = env.get("CDC_BACKFILL_MODE", "").strip()
        if mode not in MODES:
            raise ConfigError(f"CDC_BACKFILL_MODE must be one of {', '.join(MODES)}")
        state_machine = env.get("CDC_BACKFILL_STATE_MACHINE_ARN", "").strip() or None
        if state_machine is not None and not _STATE_MACHINE_ARN.fullmatch(state_machine):
            raise ConfigError("CDC_BACKFILL_STATE_MACHINE_ARN is not a Step Functions state machine ARN")
        cursor_table = env.get("CDC_BACKFILL_CURSOR_TABLE", "").strip() or None
        if mode == "checkpoint_table":
            cursor_table = _required(env, "CDC_BACKFILL_CURSOR_TABLE")
        if cursor_table is not None and not _TABLE_NAME.fullmatch(cursor_table):
            raise ConfigError("CDC_BACKFILL_CURSOR_TABLE is not a valid DynamoDB table name")
        return cls(
            table_name=_table(env),
            bucket=_required(env, "CDC_BUCKET"),
            prefix=_prefix(env),
            log_level=_log_level(env),
            key_names=_key_names(env),
            mode=mode,
            mapping_uuid=_required(env, "CDC_STREAM_MAPPING_UUID"),
            segments=_int(env, "CDC_BACKFILL_SEGMENTS", 4, 1, 1000),
            page_size=_int(env, "CDC_BACKFILL_PAGE_SIZE", 1000, 1, 10_000),
            read_units_per_second=_rate(env),
            state_machine_arn=state_machine,
            cursor_table=cursor_table,
            max_attempts=_int(env, "CDC_BACKFILL_MAX_ATTEMPTS", 5, 1, None),
        )
