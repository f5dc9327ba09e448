"""The planner's knobs default to what the submodules' variables.tf say: a changed default fails here."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import hcl2
import pytest
from ddb_cdc.plan.backfill import DEFAULT_SOURCES as BACKFILL_DEFAULT_SOURCES
from ddb_cdc.plan.backfill import BackfillKnobs
from ddb_cdc.plan.model import DEFAULT_SOURCES, Knobs

ROOT = Path(__file__).resolve().parents[2]


def _variables(module: str) -> dict:
    with open(ROOT / module / "variables.tf", encoding="utf-8") as handle:
        blocks = hcl2.load(handle)["variable"]
    return {name.strip('"'): body for block in blocks for name, body in block.items()}


def _optional_default(type_expression: str, field_name: str) -> str:
    match = re.search(rf"\b{field_name}\s*=\s*optional\(\w+,\s*([^)]+)\)", type_expression)
    assert match, f"{field_name} has no optional() default in {type_expression}"
    return match.group(1).strip()


def _as(value, like):
    if isinstance(value, str):
        value = value.strip('"')
    return type(like)(value)


def test_every_knob_names_where_its_default_lives():
    assert set(DEFAULT_SOURCES) == {f.name for f in fields(Knobs)}


@pytest.mark.parametrize("knob", sorted(DEFAULT_SOURCES))
def test_knob_default_matches_variables_tf(knob):
    module, variable, field_name = DEFAULT_SOURCES[knob]
    body = _variables(module)[variable]
    raw = body["default"] if field_name is None else _optional_default(body["type"], field_name)
    model = getattr(Knobs(), knob)
    assert _as(raw, model) == model, (
        f"{module}/variables.tf {variable}{'.' + field_name if field_name else ''}"
    )


def test_every_backfill_knob_names_where_its_default_lives():
    assert set(BACKFILL_DEFAULT_SOURCES) == {f.name for f in fields(BackfillKnobs)}


@pytest.mark.parametrize("knob", sorted(BACKFILL_DEFAULT_SOURCES))
def test_backfill_knob_default_matches_variables_tf(knob):
    module, variable, _ = BACKFILL_DEFAULT_SOURCES[knob]
    model = getattr(BackfillKnobs(), knob)
    assert _as(_variables(module)[variable]["default"], model) == model, f"{module}/variables.tf {variable}"
