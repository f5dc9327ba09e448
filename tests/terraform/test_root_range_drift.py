"""The root's whole-number ranges (checks.tf, ``input_ranges``) are the submodules' own limits, restated so that the
error names the user's input: a limit changed on one side only fails here.

Each root field maps to the submodule variable the root wires it to (main.tf); the submodule's validation must hold
the same bounds: ``<expr> >= min`` and, for a bounded field, ``<expr> <= max`` (or the whole list in ``contains``).
"""

from __future__ import annotations

import re

import hcl2
import pytest

from tests.tfharness.harness import REPO_ROOT

# root table and field -> (submodule, the expression its validation constrains)
WIRED = {
    ("firehose", "buffering_size_mb"): ("firehose", "var.buffering_size"),
    ("firehose", "buffering_interval_seconds"): ("firehose", "var.buffering_interval"),
    ("writer", "memory_size"): ("stream_writer", "var.memory_size"),
    ("writer", "timeout"): ("stream_writer", "var.timeout"),
    ("writer", "reserved_concurrent_executions"): ("stream_writer", "var.reserved_concurrent_executions"),
    ("loader", "max_file_failures"): ("redshift_loader", "var.max_file_failures"),
    ("loader", "schedule_lookback_hours"): ("redshift_loader", "var.schedule_lookback_hours"),
    ("loader", "lag_alarm_threshold_seconds"): ("redshift_loader", "var.lag_alarm_threshold_seconds"),
    ("loader", "memory_size"): ("redshift_loader", "var.loader_memory_size"),
    ("loader", "timeout"): ("redshift_loader", "var.loader_timeout"),
    ("loader", "completion_memory_size"): ("redshift_loader", "var.completion_memory_size"),
    ("loader", "completion_timeout"): ("redshift_loader", "var.completion_timeout"),
    ("loader", "connect_timeout_seconds"): ("redshift_loader", "var.connect_timeout_seconds"),
    ("loader", "statement_timeout_ms"): ("redshift_loader", "var.statement_timeout_ms"),
    ("loader.s3_event", "batch_size"): ("redshift_loader", "var.s3_event.batch_size"),
    ("loader.s3_event", "maximum_batching_window_in_seconds"): (
        "redshift_loader",
        "var.s3_event.maximum_batching_window_in_seconds",
    ),
    ("loader.s3_event", "max_receive_count"): ("redshift_loader", "var.s3_event.max_receive_count"),
    ("loader.schedule", "rate_minutes"): ("redshift_loader", "var.schedule.rate_minutes"),
    ("loader.schedule", "maximum_retry_attempts"): ("redshift_loader", "var.schedule.maximum_retry_attempts"),
    ("loader.schedule", "maximum_event_age_in_seconds"): (
        "redshift_loader",
        "var.schedule.maximum_event_age_in_seconds",
    ),
    ("loader.async_invocation", "maximum_retry_attempts"): (
        "redshift_loader",
        "var.async_invocation.maximum_retry_attempts",
    ),
    ("loader.async_invocation", "maximum_event_age_in_seconds"): (
        "redshift_loader",
        "var.async_invocation.maximum_event_age_in_seconds",
    ),
}


def _root_ranges() -> dict[tuple[str, str], tuple[int, int | None]]:
    with open(REPO_ROOT / "checks.tf", encoding="utf-8") as handle:
        locals_ = {k: v for block in hcl2.load(handle)["locals"] for k, v in block.items()}
    return {
        (table.strip('"'), field): (int(limits["min"]), None if limits["max"] is None else int(limits["max"]))
        for table, fields in locals_["input_ranges"].items()
        for field, limits in fields.items()
    }


def _conditions(module: str) -> list[str]:
    with open(REPO_ROOT / "modules" / module / "variables.tf", encoding="utf-8") as handle:
        blocks = hcl2.load(handle)["variable"]
    return [
        str(validation["condition"])
        for block in blocks
        for body in block.values()
        for validation in body.get("validation", [])
    ]


def test_every_root_range_is_wired_to_a_submodule_rule() -> None:
    assert set(_root_ranges()) == set(WIRED)


@pytest.mark.parametrize(("table", "field"), sorted(WIRED), ids=[".".join(k) for k in sorted(WIRED)])
def test_the_root_range_is_the_submodules(table: str, field: str) -> None:
    low, high = _root_ranges()[(table, field)]
    module, expression = WIRED[(table, field)]
    mine = [c for c in _conditions(module) if expression in c]
    assert mine, f"modules/{module}/variables.tf has no rule on {expression}"
    e = re.escape(expression)
    listed = [
        sorted(int(n) for n in m.group(1).split(","))
        for c in mine
        if (m := re.search(rf"contains\(\[([0-9, ]+)\], {e}\)", c))
    ]
    if listed:
        assert listed[0] == list(range(low, (high if high is not None else low) + 1)), (table, field, listed)
        return
    assert any(re.search(rf"{e} >= {low}\b", c) for c in mine), (
        f"{table}.{field}: the root's minimum {low} is not modules/{module}'s: {mine}"
    )
    if high is None:
        assert not any(re.search(rf"{e} <= \d", c) for c in mine), (
            f"{table}.{field}: modules/{module} has a maximum"
        )
    else:
        assert any(re.search(rf"{e} <= {high}\b", c) for c in mine), (
            f"{table}.{field}: the root's maximum {high} is not modules/{module}'s: {mine}"
        )
