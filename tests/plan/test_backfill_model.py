"""The backfill model against cases worked out by hand, its constants against the code, and its CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ddb_cdc.backfill import export
from ddb_cdc.plan import backfill, load_prices, tfvars
from ddb_cdc.plan.__main__ import main
from ddb_cdc.plan.backfill import BackfillKnobs, estimate
from ddb_cdc.plan.model import PlanError

PRICES = load_prices()
ROOT = Path(__file__).resolve().parents[2]
ITEMS = 100_000_000
KB = 1024


def test_constants_match_the_code():
    assert (backfill.EXPORT_PART_ITEMS, backfill.EXPORT_PART_BYTES) == (export.PART_ITEMS, export.PART_BYTES)
    main_tf = (ROOT / "modules" / "backfill" / "main.tf").read_text(encoding="utf-8")
    assert re.search(
        rf"parallelization_factor\s*=\s*min\({backfill.CURSOR_STREAM_PARALLELISM}, var\.total_segments\)",
        main_tf,
    )


def test_step_functions_reads_at_the_segments_read_limit():
    r = estimate("step_functions", ITEMS, KB, BackfillKnobs(), PRICES)
    # 102.4 GB read eventually consistent: 100e6 x 1 KB / 4 KB x 0.5 = 12.5 M read units, $1.5625.
    assert r.read_units == pytest.approx(12_500_000)
    assert r.by_service["dynamodb"] == pytest.approx(1.5625)
    # Per segment: 200 RCU/s x 8 KB / 1 KB = 1,600 items/s (CPU: 0.579 vCPU / 190 us = 3,047/s; partition 24,000/s);
    # 8 segments at once: 12,800/s, 7,812.5 s. Each segment runs 7,812.5 s in 870 s invocations (the timeout less a
    # 30 s margin): 9 each, 72 in all.
    assert r.bound == "read-rate limit" and r.concurrent_segments == 8
    assert r.seconds == pytest.approx(7812.5)
    assert r.invocations == 72
    assert r.by_service["lambda"] == pytest.approx(72 * 0.2e-6 + 8 * 7812.5 * 1.0 * 0.0000166667)
    # Pages of 1,000 items (under Scan's 1 MB): 100,000 objects, each with a progress record; 100 COPYs read them.
    assert (r.objects, r.copies) == (100_000, 100)
    assert r.by_service["s3"] == pytest.approx(2 * 100_000 * 5e-6 + (100_000 + 100) * 4e-7)
    # Two transitions per invocation (Scan, SegmentDone?) and two more as each segment finishes.
    assert r.by_service["step_functions"] == pytest.approx((72 * 2 + 8 * 2) * 25e-6)


def test_checkpoint_table_pays_its_cursor_table_instead_of_transitions():
    r = estimate("checkpoint_table", ITEMS, KB, BackfillKnobs(), PRICES)
    # The same scan, plus a consistent read of the cursor item per page and one write per invocation.
    assert r.by_service["dynamodb"] == pytest.approx(1.5625 + 100_000 * 0.125e-6 + 72 * 0.625e-6)
    assert r.by_service["step_functions"] == 0
    assert r.by_service["s3"] == pytest.approx(100_000 * 5e-6 + (100_000 + 100) * 4e-7)
    # The cursor stream runs at most 10 segments at once, whatever max_concurrency says.
    wide = estimate(
        "checkpoint_table", ITEMS, KB, BackfillKnobs(total_segments=32, max_concurrency=32), PRICES
    )
    assert wide.concurrent_segments == 10 and wide.seconds == pytest.approx(ITEMS / (10 * 1600))


def test_export_reads_no_capacity_and_bills_the_table_size():
    r = estimate("export", ITEMS, KB, BackfillKnobs(), PRICES)
    assert r.read_units == 0 and r.seconds is None
    # 102.4 GB x $0.10, plus a day of point-in-time recovery: 102.4 x $0.20 / 30.
    assert r.by_service["dynamodb"] == pytest.approx(10.24 + 102.4 * 0.20 / 30)
    # 977 data files of ~100 MB, 102,354 items each, cut into parts of at most 10,000: 11 a file, 10,747, 11 COPYs.
    assert (r.objects, r.copies) == (977 * 11, 11)
    # Items over 3,355 bytes fill a 32 MB part first: 4 KB items make parts of 8,192. A million of them fill 40 files
    # of 100 MB with 25,000 items each: 4 parts a file.
    big = estimate("export", 1_000_000, 4 * KB, BackfillKnobs(), PRICES)
    assert big.objects == 40 * 4


def test_the_table_throughput_caps_many_fast_segments():
    # 4 KB items, 2 vCPUs (3,538 MB), 3,000 RCU/s per segment: each segment does 2,632 items/s (CPU), 40 of them
    # 105,000/s, over the on-demand table's 40,000 RRU/s = 80,000 items/s of 4 KB read eventually consistent.
    knobs = BackfillKnobs(total_segments=40, max_concurrency=40, read_units_per_second=3000, memory_size=3538)
    r = estimate("step_functions", 1_000_000, 4 * KB, knobs, PRICES)
    assert r.bound == "table throughput"
    assert r.seconds == pytest.approx(1_000_000 / 80_000)


def test_more_segments_buy_time_not_reads():
    one = estimate("step_functions", ITEMS, KB, BackfillKnobs(total_segments=1, max_concurrency=1), PRICES)
    many = estimate("step_functions", ITEMS, KB, BackfillKnobs(total_segments=32, max_concurrency=32), PRICES)
    assert many.seconds == pytest.approx(one.seconds / 32)
    assert many.by_service["dynamodb"] == one.by_service["dynamodb"]


def test_step_functions_runs_its_segments_in_whole_waves():
    # 64 segments, 40 at once: each segment's 1,562,500 items take 976.6 s at 1,600/s, and the Map needs two waves
    # (40, then 24), 1,953 s; the cursor stream of checkpoint_table shares its 10 slots: 64 x 976.6 / 10 s.
    knobs = BackfillKnobs(total_segments=64, max_concurrency=40)
    segment = ITEMS / 64 / 1600
    assert estimate("step_functions", ITEMS, KB, knobs, PRICES).seconds == pytest.approx(2 * segment)
    assert estimate("checkpoint_table", ITEMS, KB, knobs, PRICES).seconds == pytest.approx(64 * segment / 10)


def test_a_cpu_bound_segment_is_named_so():
    # 128 MB of a 1,769 MB vCPU and 190 us per KB: 380 items/s per segment, under the read limit's 1,600.
    r = estimate("step_functions", 1_000_000, KB, BackfillKnobs(memory_size=128), PRICES)
    assert r.bound == "Lambda CPU"
    assert r.seconds == pytest.approx(1_000_000 / (8 * (128 / 1769) / 190e-6))


@pytest.mark.parametrize(("mode", "items"), [("scan", 10), ("export", -1), ("export", float("inf"))])
def test_bad_inputs_are_refused(mode, items):
    with pytest.raises(PlanError):
        estimate(mode, items, KB, BackfillKnobs(), PRICES)


@pytest.mark.parametrize("knob", ["total_segments", "read_units_per_second", "memory_size"])
def test_a_zero_knob_is_refused_in_words(knob):
    with pytest.raises(PlanError, match=rf"backfill\.{knob} = 0 must be at least 1"):
        estimate("step_functions", 10, KB, BackfillKnobs(**{knob: 0}), PRICES)


def test_tfvars_backfill_fields_reach_the_knobs():
    config = tfvars.from_mapping(
        {"backfill": {"mode": '"checkpoint_table"', "total_segments": 16, "read_units_per_second": 50}}
    )
    assert config.backfill_mode == "checkpoint_table"
    assert config.backfill == BackfillKnobs(total_segments=16, read_units_per_second=50)
    with pytest.raises(PlanError, match=r"backfill\.mode"):
        tfvars.from_mapping({"backfill": {"mode": "scan"}})


def test_cli_prints_every_mode_and_marks_the_configured_one(tmp_path, capsys):
    path = tmp_path / "terraform.tfvars"
    path.write_text('backfill = { mode = "export", total_segments = 4 }\n')
    assert main(["--rate", "10", "--tfvars", str(path), "--backfill-items", "1e6"]) == 0
    out = capsys.readouterr().out
    assert "Backfill (one-off) of 1,000,000 items" in out and "total_segments 4" in out
    assert re.search(r"^export \*\s", out, flags=re.MULTILINE)
    assert re.search(r"^step_functions\s", out, flags=re.MULTILINE)
    assert main(["--rate", "10", "--backfill-items", "1e6", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    modes = {m["mode"]: m for m in document["backfill"]["modes"]}
    assert set(modes) == set(backfill.MODES)
    expected = estimate("step_functions", 1e6, KB, BackfillKnobs(), PRICES).total_usd
    assert modes["step_functions"]["total_usd"] == pytest.approx(expected)
