"""A ``terraform.tfvars`` (the root module's inputs) as the planner's knobs. Unset fields keep the model's
defaults, which are the submodules' defaults (tests/plan/test_defaults_drift.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ddb_cdc.plan.backfill import MODES as BACKFILL_MODES
from ddb_cdc.plan.backfill import BackfillKnobs
from ddb_cdc.plan.model import AGGREGATIONS, LOAD_STRATEGIES, Knobs, PlanError

# Root input path -> Knobs field.
_PATHS: dict[tuple[str, ...], str] = {
    ("stream_mapping", "batch_size"): "batch_size",
    ("stream_mapping", "maximum_batching_window_in_seconds"): "batching_window_seconds",
    ("stream_mapping", "parallelization_factor"): "parallelization_factor",
    ("firehose", "buffering_size_mb"): "firehose_buffering_size_mb",
    ("firehose", "buffering_interval_seconds"): "firehose_buffering_interval_seconds",
    ("loader", "s3_event", "batch_size"): "s3_event_batch_size",
    ("loader", "s3_event", "maximum_batching_window_in_seconds"): "s3_event_batching_window_seconds",
    ("loader", "s3_event", "reconcile_rate_minutes"): "s3_event_reconcile_rate_minutes",
    ("loader", "schedule", "rate_minutes"): "schedule_rate_minutes",
    ("loader", "schedule_lookback_hours"): "schedule_lookback_hours",
    ("loader", "memory_size"): "loader_memory_size",
    ("loader", "completion_memory_size"): "completion_memory_size",
    ("ec2_cron", "rate_minutes"): "ec2_cron_rate_minutes",
    ("ec2_cron", "instance_type"): "ec2_cron_instance_type",
    ("ec2_cron", "root_volume_size_gb"): "ec2_cron_root_volume_size_gb",
    ("emr_compaction", "master_instance_type"): "emr_master_instance_type",
    ("emr_compaction", "core_instance_type"): "emr_core_instance_type",
    ("emr_compaction", "core_instance_count"): "emr_core_instance_count",
    ("emr_compaction", "grace_minutes"): "emr_grace_minutes",
    ("emr_compaction", "target_size_mb"): "emr_target_size_mb",
    ("emr_compaction", "reconcile_rate_minutes"): "emr_reconcile_rate_minutes",
    ("writer", "memory_size"): "writer_memory_size",
    ("bucket", "raw_expiration_days"): "raw_expiration_days",
    ("emr_compaction", "log_retention_days"): "compaction_expiration_days",
    ("redshift", "data_api_mode"): "data_api_mode",
}

# backfill.<field> -> BackfillKnobs field of the same name.
_BACKFILL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(BackfillKnobs))


@dataclass(frozen=True, slots=True)
class Configuration:
    knobs: Knobs
    aggregation: str
    load_strategy: str
    region: str | None
    backfill: BackfillKnobs = field(default_factory=BackfillKnobs)
    backfill_mode: str = "none"


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string values in their HCL quotes; numbers and booleans come as such."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _changes(values: dict[str, Any], paths: dict[tuple[str, ...], str], defaults: Any) -> dict[str, Any]:
    """The fields ``values`` sets at ``paths``, converted to the type of each default."""
    changes: dict[str, Any] = {}
    for path, name in paths.items():
        node: Any = values
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        node = unquote(node)
        if node is None:
            continue
        default = getattr(defaults, name)
        try:
            changes[name] = type(default)(node) if not isinstance(default, str) else str(node)
        except (TypeError, ValueError) as exc:
            raise PlanError(f"{'.'.join(path)} = {node!r} is not a {type(default).__name__}") from exc
    return changes


def from_mapping(values: dict[str, Any], base: Knobs | None = None) -> Configuration:
    knobs = base or Knobs()
    changes = _changes(values, _PATHS, knobs)
    backfill = BackfillKnobs()
    backfill_changes = _changes(values, {("backfill", name): name for name in _BACKFILL_FIELDS}, backfill)
    backfill_mode = unquote((values.get("backfill") or {}).get("mode")) or "none"
    if backfill_mode not in ("none", *BACKFILL_MODES):
        raise PlanError(
            f'backfill.mode = "{backfill_mode}" must be "none" or one of {", ".join(BACKFILL_MODES)}'
        )
    aggregation = unquote(values.get("aggregation")) or "lambda"
    load = unquote(values.get("load_strategy")) or "s3_event"
    if aggregation not in AGGREGATIONS:
        raise PlanError(f'aggregation = "{aggregation}" must be one of {", ".join(AGGREGATIONS)}')
    if load not in LOAD_STRATEGIES:
        raise PlanError(f'load_strategy = "{load}" must be one of {", ".join(LOAD_STRATEGIES)}')
    region = unquote(values.get("region"))
    return Configuration(
        replace(knobs, **changes),
        aggregation,
        load,
        region,
        replace(backfill, **backfill_changes),
        backfill_mode,
    )


def read(path: str | Path) -> Configuration:
    """Parse a tfvars file (HCL) with python-hcl2 (a dev dependency: pip install -e '.[dev]')."""
    try:
        import hcl2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise PlanError("reading --tfvars needs python-hcl2: pip install -e '.[dev]'") from exc
    with open(path, encoding="utf-8") as handle:
        try:
            values = hcl2.load(handle)
        except Exception as exc:
            raise PlanError(f"{path} is not valid HCL: {exc}") from exc
    return from_mapping(values)
