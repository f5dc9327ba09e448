"""The planner's formulas against cases worked out by hand."""

from __future__ import annotations

import math

import pytest
from ddb_cdc.loader import selection
from ddb_cdc.plan import load_prices
from ddb_cdc.plan.model import (
    MAX_CLEAN_LOADS_PER_RUN,
    MAX_FILES_PER_LOAD,
    Assumptions,
    Knobs,
    PlanError,
    Workload,
    backlog_waits,
    batch_cycle_seconds,
    copies_per_hour,
    envelope_bytes,
    firehose_billed_bytes,
    hour_usage,
    loader_invocation_seconds,
    objects_per_hour,
    periodic_batch_cycle_seconds,
    periodic_batch_items,
    periodic_batch_mean_wait_seconds,
    periodic_batch_span_seconds,
    plan,
)

PRICES = load_prices()
ONE_KB = Workload(hourly_rates=(10.0,), item_bytes=1024, update_share=0.0, delete_share=0.0)


def test_loader_caps_match_the_loader_code():
    assert MAX_FILES_PER_LOAD == selection.MAX_FILES_PER_LOAD
    assert MAX_CLEAN_LOADS_PER_RUN == selection.MAX_CLEAN_LOADS_PER_RUN


def test_full_batches_give_one_object_per_batch_size_records():
    # 10 changes/s, 100-record batches, a 20 s window that never closes first: a batch fills in 10 s,
    # so 36,000 records an hour make 36,000 / 100 = 360 objects.
    knobs = Knobs(batch_size=100, batching_window_seconds=20)
    assert objects_per_hour("lambda", "s3_event", 10, ONE_KB, knobs) == pytest.approx(360)


def test_window_bound_batches_hold_one_plus_rate_times_window_records():
    # 10 changes/s, batch 1000, window 5 s: a batch opens with a record (0.1 s after the last closed) and
    # closes 5 s later holding 51 records; cycle 5.1 s -> 3600 / 5.1 = 705.88 objects an hour.
    assert batch_cycle_seconds(10, 1000, 5) == pytest.approx(5.1)
    assert objects_per_hour("lambda", "s3_event", 10, ONE_KB, Knobs()) == pytest.approx(3600 / 5.1)


def test_a_slow_table_writes_about_one_object_per_change():
    # 0.01 changes/s: cycle = 100 s + 5 s, 34.3 objects for 36 changes.
    assert objects_per_hour("lambda", "s3_event", 0.01, ONE_KB, Knobs()) == pytest.approx(3600 / 105)


def test_firehose_rounds_each_record_up_to_5_kb():
    assert firehose_billed_bytes(1024) == 5 * 1024
    assert firehose_billed_bytes(5 * 1024) == 5 * 1024
    assert firehose_billed_bytes(6 * 1024) == 10 * 1024


def test_firehose_bills_rounded_records_per_gb():
    # 10 changes/s of 1 KB items (+350 B envelope) -> 36,000 records of 5 KB billed = 0.1717 GB an hour.
    usage = hour_usage("firehose", "s3_event", 10, ONE_KB, Knobs(), Assumptions())
    assert usage.firehose_billed_gb == pytest.approx(36_000 * 5120 / 1024**3)


def test_firehose_flushes_on_its_interval_when_the_buffer_does_not_fill():
    # 10 x 1,374 B/s fills 64 MB in ~81 minutes, so the 300 s interval flushes: 12 objects an hour.
    assert objects_per_hour("firehose", "schedule", 10, ONE_KB, Knobs()) == pytest.approx(12)


def test_firehose_flushes_on_size_when_busy():
    # 10,000 changes/s x 1,374 B = 13.1 MB/s fills 64 MB in 4.88 s: 3600 / 4.88 = 737 objects an hour.
    fill = 64 * 1024 * 1024 / (10_000 * envelope_bytes(ONE_KB, Assumptions()))
    assert objects_per_hour("firehose", "schedule", 10_000, ONE_KB, Knobs()) == pytest.approx(3600 / fill)


def test_s3_event_runs_one_copy_per_batching_window():
    # One shard: its writer puts an object every 5.1 s. A 300 s SQS window opened by one takes the next 58 (due at
    # 5.1 ... 295.8 s); the 60th (306 s) opens the next batch: a cycle of 59 x 5.1 = 300.9 s, 11.96 COPYs an hour.
    assert copies_per_hour("lambda", "s3_event", 10, ONE_KB, Knobs()) == pytest.approx(3600 / (59 * 5.1))
    # Four shards at 2.5 changes/s each: 4 x 3600 / (0.4 + 5) = 2,666.7 objects/h, interleaved (random), 0.741/s; a
    # batch opens 1/0.741 = 1.35 s after the last closed and closes 300 s later: 3600 / 301.35 = 11.95 COPYs an hour.
    four = Workload(hourly_rates=(10.0,), item_bytes=1024, update_share=0.0, delete_share=0.0, shards=4)
    per_second = 4 / 5.4
    assert copies_per_hour("lambda", "s3_event", 10, four, Knobs()) == pytest.approx(
        3600 / (1 / per_second + 300)
    )


def test_periodic_arrivals_fill_a_batch_with_every_item_due_inside_the_window():
    # One item every 5 s, a 2 s window: nothing else is due before it closes, each item is its own batch.
    assert periodic_batch_items(5, 10_000, 2) == 1
    assert periodic_batch_cycle_seconds(5, 10_000, 2) == 5
    # Every 5 s, a 12 s window: items at 0, 5 and 10 s; the next (15 s) opens the next batch, a cycle of 15 s.
    assert periodic_batch_items(5, 10_000, 12) == 3
    assert periodic_batch_cycle_seconds(5, 10_000, 12) == 15
    assert periodic_batch_span_seconds(5, 10_000, 12) == 12  # the window closes the batch, not its last item
    # An item due exactly at the window's end is counted out (300 s flushes, 300 s window: one per batch), as
    # Firehose flushes once its interval has passed; one due just before is in.
    assert periodic_batch_items(300, 10_000, 300) == 1
    assert periodic_batch_items(299, 10_000, 300) == 2
    # The cap closes a batch first: every second, cap 3, window 60 s -> 3 items, a 3 s cycle.
    assert periodic_batch_cycle_seconds(1, 3, 60) == 3
    assert periodic_batch_span_seconds(1, 3, 60) == 2


def test_firehose_objects_are_periodic_so_a_short_window_loads_each_alone():
    # The sandbox's firehose + s3_event: 5 s buffer (interval-bound at 8 changes/s), 2 s SQS window. Measured there:
    # objects 680/h and COPYs 677-684/h, where random arrivals gave 3600 / (5 + 2) = 514.
    knobs = Knobs(
        batching_window_seconds=1,
        firehose_buffering_interval_seconds=5,
        s3_event_batch_size=1000,
        s3_event_batching_window_seconds=2,
    )
    fast = Assumptions(loader_run_seconds=0.4, loader_seconds_per_load=0.0)
    objects = objects_per_hour("firehose", "s3_event", 8, ONE_KB, knobs, fast)
    assert objects == pytest.approx(720)
    assert copies_per_hour("firehose", "s3_event", 8, ONE_KB, knobs, fast) == pytest.approx(720)
    # The defaults: 12 objects an hour, 300 s apart, a 300 s window: each its own load, 12 COPYs.
    assert copies_per_hour("firehose", "s3_event", 10, ONE_KB, Knobs()) == pytest.approx(12)


def test_a_loader_run_longer_than_the_window_spaces_the_loads():
    # lambda aggregation at 10/s on one shard: an object every 5.1 s, longer than a 2 s window, so each is its own
    # batch, every 5.1 s. The loader (reserved at concurrency 1) runs 3 s + 1 s per load, which fits; in poll mode it
    # also waits 60 s for the load to commit: a 64 s run spaces the loads 64 s apart, each with 64 / 5.1 = 12.5 files.
    knobs = Knobs(s3_event_batching_window_seconds=2)
    a = Assumptions()
    assert loader_invocation_seconds(1, knobs, a) == 4
    gather = 5.1
    assert copies_per_hour("lambda", "s3_event", 10, ONE_KB, knobs, a) == pytest.approx(3600 / gather)
    poll = Knobs(s3_event_batching_window_seconds=2, data_api_mode="poll")
    assert loader_invocation_seconds(1, poll, a) == 64
    assert copies_per_hour("lambda", "s3_event", 10, ONE_KB, poll, a) == pytest.approx(3600 / 64)
    usage = hour_usage("lambda", "s3_event", 10, ONE_KB, poll, a)
    async_usage = hour_usage("lambda", "s3_event", 10, ONE_KB, knobs, a)
    # The batch also waits for the run before it: the worst case holds one more run.
    assert usage.freshness_worst_seconds - async_usage.freshness_worst_seconds == pytest.approx(64)
    # Poll mode pays for the waiting in GB-seconds: (3 + 61) s per load run at 0.5 GB, plus the reconciliation's.
    loader_runs = 3600 / 64 + 1
    assert usage.loader_gb_seconds == pytest.approx(loader_runs * (3 + 61 * (3600 / 64) / loader_runs) * 0.5)


def test_schedule_runs_one_copy_per_run_under_1000_files():
    assert copies_per_hour("lambda", "schedule", 10, ONE_KB, Knobs()) == pytest.approx(4)  # every 15 minutes
    assert copies_per_hour("lambda", "ec2_cron", 10, ONE_KB, Knobs()) == pytest.approx(12)  # every 5 minutes


def test_schedule_splits_a_run_into_loads_of_1000_files():
    # batch_size 1 at 1,000 changes/s: 3.6 M objects an hour, 900,000 a run -> capped at 10 loads per run.
    knobs = Knobs(batch_size=1, batching_window_seconds=0)
    assert copies_per_hour("lambda", "schedule", 1000, ONE_KB, knobs) == pytest.approx(
        4 * MAX_CLEAN_LOADS_PER_RUN
    )
    # 20 objects/s: 18,000 a run of 15 minutes... still capped; 1 object/s: 900 a run -> 1 load.
    assert copies_per_hour("lambda", "schedule", 1, ONE_KB, knobs) == pytest.approx(4)


def test_emr_compaction_loads_once_an_hour():
    assert copies_per_hour("lambda", "emr_compaction", 10, ONE_KB, Knobs()) == 1
    usage = hour_usage("lambda", "emr_compaction", 10, ONE_KB, Knobs(), Assumptions())
    # A 12-minute run of one m5.xlarge master and one core node: 0.4 instance-hours of m5.xlarge.
    assert usage.ec2_instance_hours == pytest.approx(
        {"m5.xlarge": 2 * (12 + usage.raw_gb * 1024 / 50 / 60) / 60}
    )


def test_freshness_adds_the_waits_of_each_stage():
    a = Assumptions()
    usage = hour_usage("lambda", "schedule", 10, ONE_KB, Knobs(), a)
    writer_seconds = (
        a.writer_base_ms + a.writer_ms_per_kb * 51 * (a.envelope_overhead_bytes + 1024) / 1024
    ) / 1000
    assert usage.freshness_worst_seconds == pytest.approx(5 + writer_seconds + 15 * 60 + a.load_seconds)
    assert usage.freshness_p50_seconds == pytest.approx((5 + writer_seconds) / 2 + 15 * 30 + a.load_seconds)


def test_monthly_cost_of_ec2_cron_includes_the_host_all_month():
    result = plan(ONE_KB, Knobs(), PRICES, 3600)
    cron = next(c for c in result.combinations if (c.aggregation, c.load_strategy) == ("lambda", "ec2_cron"))
    assert cron.by_service["ec2"] == pytest.approx(730 * 0.0042 + 8 * 0.08)


def test_recommendation_is_the_cheapest_meeting_the_target():
    result = plan(ONE_KB, Knobs(), PRICES, 900)
    meeting = [c for c in result.combinations if c.freshness_worst_seconds <= 900]
    assert result.recommended is not None
    assert result.recommended.monthly_usd == min(c.monthly_usd for c in meeting)
    assert all(c.meets_target == (c in meeting) for c in result.combinations)
    # A cheaper one exists that misses the target, so the target changed the answer.
    assert min(c.monthly_usd for c in result.combinations) < result.recommended.monthly_usd


def test_no_recommendation_when_nothing_meets_the_target():
    result = plan(ONE_KB, Knobs(), PRICES, 1)
    assert result.recommended is None
    assert result.freshest.freshness_worst_seconds == min(
        c.freshness_worst_seconds for c in result.combinations
    )


def test_a_daily_profile_costs_each_hour_730_over_24_times():
    flat = plan(ONE_KB, Knobs(), PRICES, 3600)
    profile = Workload(hourly_rates=(10.0,) * 24, item_bytes=1024, update_share=0.0, delete_share=0.0)
    same = plan(profile, Knobs(), PRICES, 3600)
    assert [c.monthly_usd for c in same.combinations] == pytest.approx(
        [c.monthly_usd for c in flat.combinations]
    )
    peaky = Workload(
        hourly_rates=(0.0,) * 12 + (20.0,) * 12, item_bytes=1024, update_share=0.0, delete_share=0.0
    )
    peak = plan(peaky, Knobs(), PRICES, 3600).combinations[0]
    assert peak.peak_objects_per_hour == pytest.approx(3600 / (0.05 + 5))
    assert peak.objects_per_hour == pytest.approx(peak.peak_objects_per_hour / 2)


def test_an_unknown_region_is_refused_by_name():
    with pytest.raises(PlanError, match=r"eu-west-1.*us-east-1 prices only"):
        plan(ONE_KB, Knobs(), PRICES, 900, region="eu-west-1")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hourly_rates": (1.0,) * 23},
        {"hourly_rates": (-1.0,)},
        {"hourly_rates": (1.0,), "update_share": 0.7, "delete_share": 0.4},
    ],
)
def test_impossible_workloads_are_refused(kwargs):
    with pytest.raises(PlanError):
        Workload(**kwargs)


def test_every_price_names_its_source():
    for name, item in PRICES.items.items():
        assert item.get("source"), name
    assert PRICES.region == "us-east-1"
    assert math.isclose(PRICES.usd("lambda_request"), 0.2 / 1e6)


def test_a_peak_over_what_the_runs_can_load_waits_for_later_runs():
    # schedule every 15 minutes: 4 runs x 10 loads x 1,000 files = 40,000 files an hour at most.
    assert backlog_waits("schedule", [30_000.0] * 24, Knobs()) == [0.0] * 24
    # One hour of 50,000 files leaves 10,000 behind: a quarter of an hour's capacity, 900 s, drained in the next hour.
    profile = [30_000.0] * 24
    profile[5] = 50_000.0
    waits = backlog_waits("schedule", profile, Knobs())
    assert waits[5] == pytest.approx(900) and waits[6] == 0 and sum(waits) == pytest.approx(900)
    # More files every day than the runs can load: the backlog never drains.
    assert all(math.isinf(w) for w in backlog_waits("ec2_cron", [130_000.0] * 24, Knobs()))  # 120,000 an hour
    assert backlog_waits("s3_event", [1e9] * 24, Knobs()) == [0.0] * 24  # an SQS batch loads all its files


def test_a_backlog_that_never_drains_fails_the_target_and_stays_valid_json():
    # batch_size 1 at 40 changes/s on one shard: 144,000 objects an hour against 40,000 a schedule can load.
    knobs = Knobs(batch_size=1, batching_window_seconds=0)
    result = plan(Workload(hourly_rates=(40.0,)), knobs, PRICES, 3600, combinations=[("lambda", "schedule")])
    (combination,) = result.combinations
    assert math.isinf(combination.freshness_worst_seconds) and not combination.meets_target
    assert result.as_dict()["combinations"][0]["freshness_worst_seconds"] is None


def test_compacted_copies_are_stored_as_long_as_their_lifecycle_keeps_them():
    # emr_compaction keeps raw objects raw_expiration_days and compacted ones compaction_expiration_days.
    def storage(knobs: Knobs) -> float:
        result = plan(ONE_KB, knobs, PRICES, 1e9, combinations=[("lambda", "emr_compaction")])
        return result.combinations[0].by_service["s3"]

    daily_gb = 24 * hour_usage("lambda", "emr_compaction", 10, ONE_KB, Knobs(), Assumptions()).raw_gb
    gb_month = PRICES.usd("s3_standard_gb_month")
    longer = Knobs(compaction_expiration_days=90)
    assert storage(longer) - storage(Knobs()) == pytest.approx(daily_gb * 60 * gb_month)
    raw_longer = Knobs(raw_expiration_days=90)
    assert storage(raw_longer) - storage(Knobs()) == pytest.approx(daily_gb * 60 * gb_month)


def test_periodic_items_wait_the_window_less_half_their_spread():
    # Items every 5 s into a 12 s window: at 0, 5 and 10 s, closed at 12 s: they wait 12, 7 and 2 s, 7 s on average.
    assert periodic_batch_mean_wait_seconds(5, 10_000, 12) == pytest.approx(7)
    # Closed by the cap (3 items a second apart) with its last item: 2, 1 and 0 s, 1 s on average.
    assert periodic_batch_mean_wait_seconds(1, 3, 60) == pytest.approx(1)
    # firehose + s3_event at the defaults: each 300 s object waits the whole 300 s window (not half of it).
    fh = hour_usage("firehose", "s3_event", 10, ONE_KB, Knobs(), Assumptions())
    fs = hour_usage("firehose", "schedule", 10, ONE_KB, Knobs(), Assumptions())
    assert fh.freshness_p50_seconds - (fs.freshness_p50_seconds - 15 * 30) == pytest.approx(300)


@pytest.mark.parametrize(
    "knobs",
    [
        # Each 64 s poll-mode run lets 12.5 files in, more than an SQS batch of 10 holds.
        Knobs(s3_event_batching_window_seconds=2, s3_event_batch_size=10, data_api_mode="poll"),
        # 20 objects/s in poll mode: each load brings 61 s more, in which 1,220 more files arrive: no fixed point.
        Knobs(
            batch_size=1, batching_window_seconds=0, s3_event_batching_window_seconds=2, data_api_mode="poll"
        ),
    ],
)
def test_a_loader_that_cannot_keep_up_is_saturated(knobs):
    rate = 20 if knobs.batch_size == 1 else 10
    usage = hour_usage("lambda", "s3_event", rate, ONE_KB, knobs, Assumptions())
    assert math.isinf(usage.freshness_worst_seconds) and math.isinf(usage.freshness_p50_seconds)
    # It loads at its capacity: one run of the batch's files after another.
    assert usage.copies_per_hour > 0
