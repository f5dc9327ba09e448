"""Issue 14 item 3: the planner's objects and COPYs per hour are calibrated against the sandbox, not guessed.

Two demos (``s3_event`` with ``--calibrate``), one per aggregation, each apply ``examples/local`` once and write at
given rates, each for a measuring window (``calibration.measure_seconds``: 20 cycles of the slowest batcher, at least 8
times the longest configured window, at most 90 s). They count the raw objects that appeared and time the COPY
statements the loader submitted in the window, and the tests ask that ``ddb_cdc.plan.model`` predicts both within 20 %
for the rate the generator achieved, with the knobs read from what Terraform applied (``examples/local/main.tf`` with
the demo's tfvars, checked against the event source mappings the runtime polls) and the loader's run time measured in
the window (the planner's default is an assumption about AWS's Data API, not what the sandbox does).

Time base: the windows that shape these counts (the stream mapping's 1 s batching window, Firehose's 5 s buffer
interval, the loader's 2 s SQS batching window) run on real time in the sandbox, as in AWS; ``--clock-factor`` (30)
compresses only schedules, retry delays and visibility timeouts. So a count over ``s`` wall seconds is
``count * 3600 / s`` per hour; the one accelerated schedule of ``s3_event``, the hourly reconciliation, never loads a
file younger than 15 minutes and so adds no COPY.

The cases: lambda at 8 and 24 changes/s (one shard, so the writer's objects come about every 1.1 s, periodically, and
a 2 s SQS window takes two of them), and firehose at 8/s (an object every 5 s buffer interval, longer than the window,
so each is its own load; the random-arrival model the planner had predicted 514 COPYs/h there, and 680-700 were
measured). Measured on this 2-core machine, alone (2026-12-07, measured / predicted - 1): lambda at 8 and 40/s,
objects +5.0 % and -2.5 %, COPYs +5.2 % and -3.6 % (by spacing); firehose objects -5.6 %, COPYs -3.1 %. The top rate
was 40/s until make test, beside the suite, held the generator to 31-35/s; at 24/s it reached 16-20 there. The test
asks for half the rate at least (the best of up to three windows), which keeps the 8/s and the window-bound case apart.

They measure rates, so each measures alone among the demos (``DEMO_RUNS_ALONE``, tests/sandbox/conftest.py: the
stack is applied beside them, the changes written after): beside six demos on two cores the sandbox once reached 12.7
of 40 changes/s. A window where the generator reached under half
of its rate (``calibration.FED_SHARE``) is measured again (at most three times). Not calibrated here: batch-size-bound
batches (the generator reaches about 650 changes/s through moto on two cores, where examples/local's
``batch_size = 1000`` needs more; the full-batch case is worked by hand in tests/plan/test_model.py), several shards
(the sandbox's stream has one), the schedule, ec2_cron and emr_compaction loads (their runs are on the compressed
sandbox clock), and the model's durations, sizes
and prices.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandbox import calibration, demo

RATES = (8.0, 24.0)
TOLERANCE = 0.20
RUN = "calibration-lambda-s3_event"
# Firehose at one rate: its objects come one per 5 s buffer interval at any rate the sandbox reaches (the 1 MB buffer
# would need about 2,600 changes/s of these items), so a second rate would measure the same case.
FIREHOSE_RUN = "calibration-firehose-s3_event"
FIREHOSE_RATES = (8.0,)
CASES = [(RUN, rate) for rate in RATES] + [(FIREHOSE_RUN, rate) for rate in FIREHOSE_RATES]


def _arguments(aggregation: str, rates: tuple[float, ...]) -> list[str]:
    return [
        f"--aggregation={aggregation}",
        "--load=s3_event",
        f"--calibrate={','.join(f'{rate:g}' for rate in rates)}",
        "--settle-timeout=300",
    ]


# The measurement needs the machine to itself: in make test it shared two cores with six demos and the suite and
# starved (12.7 of 40 changes/s). So each run measures alone among the demos: it applies its stack beside them, but
# writes only once every other has ended and the other calibration run has written its changes (--wait-for,
# tests/sandbox/conftest.py); the suite's own tests still run meanwhile.
DEMO_RUNS = {RUN: _arguments("lambda", RATES), FIREHOSE_RUN: _arguments("firehose", FIREHOSE_RATES)}
DEMO_RUNS_ALONE = frozenset(DEMO_RUNS)


def test_calibrate_reaches_the_run():
    (run,), _ = demo.parse_args(["--calibrate", "8,40"])
    assert run.calibrate == (8.0, 40.0) and (run.aggregation, run.load_strategy) == ("lambda", "s3_event")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--calibrate", "0,5"], "--calibrate needs one or more positive, finite rates"),
        (["--calibrate", "inf"], "--calibrate needs one or more positive, finite rates"),
        (["--calibrate", "8,fast"], "--calibrate needs one or more positive, finite rates"),
        (["--calibrate", "5", "--load", "schedule"], "--calibrate needs LOAD=s3_event"),
        (["--calibrate", "5", "--faults", "outage"], "--calibrate runs without --faults and --backfill"),
    ],
)
def test_calibrate_is_checked(arguments: list[str], message: str, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args(arguments)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_knobs_are_read_from_the_applied_configuration(tmp_path: Path):
    # The example's own main.tf and variables.tf, with the tfvars the demo writes beside them.
    for name in ("main.tf", "variables.tf"):
        (tmp_path / name).write_text((demo.REPO / "examples" / "local" / name).read_text())
    (tmp_path / "sandbox.auto.tfvars.json").write_text(
        '{"endpoint": "https://127.0.0.1:1", "aggregation": "firehose", "load_strategy": "s3_event",'
        ' "data_api_mode": "poll", "ec2_cron_rate_minutes": 7}'
    )
    inputs = calibration.applied_inputs(tmp_path)
    configuration = calibration.applied_knobs(tmp_path)
    assert (configuration.aggregation, configuration.load_strategy) == ("firehose", "s3_event")
    knobs = configuration.knobs
    # var.* references resolve from the tfvars; literals are taken as written in main.tf.
    assert knobs.data_api_mode == "poll" and knobs.ec2_cron_rate_minutes == 7
    assert knobs.batch_size == inputs["stream_mapping"]["batch_size"]
    assert knobs.batching_window_seconds == inputs["stream_mapping"]["maximum_batching_window_in_seconds"]
    assert knobs.s3_event_batch_size == inputs["loader"]["s3_event"]["batch_size"]
    assert (
        knobs.s3_event_batching_window_seconds
        == inputs["loader"]["s3_event"]["maximum_batching_window_in_seconds"]
    )
    assert knobs.firehose_buffering_interval_seconds == inputs["firehose"]["buffering_interval_seconds"]


def test_deployed_mappings_must_match_the_knobs():
    configuration = calibration.applied_knobs(demo.REPO / "examples" / "local")
    knobs = configuration.knobs
    mappings = [
        {
            "source_arn": "arn:aws:dynamodb:us-east-1:1:table/t/stream/x",
            "batch_size": 1000,
            "batching_window_s": 1.0,
        },
        {"source_arn": "arn:aws:sqs:us-east-1:1:q", "batch_size": 1000, "batching_window_s": 2.0},
    ]
    expected = [knobs.batch_size, knobs.batching_window_seconds, knobs.s3_event_batch_size]
    assert expected == [1000, 1, 1000]  # examples/local as the mappings above were deployed from it
    assert calibration.check_deployed(knobs, mappings, "s3_event")["s3_event"] == {
        "batch_size": 1000,
        "window_s": 2.0,
    }
    mappings[1]["batching_window_s"] = 5.0
    with pytest.raises(RuntimeError, match="differ from the applied configuration"):
        calibration.check_deployed(knobs, mappings, "s3_event")


def test_counts_are_per_hour_of_wall_time_and_copies_come_from_the_statement_list():
    assert calibration.per_hour(30, 60.0) == 1800
    # 4 events 2 s apart: 3 intervals over 6 s, one every 2 s, whatever window they were counted in.
    assert calibration.interval_rate_per_hour([16.0, 10.0, 12.0, 14.0]) == 1800
    assert calibration.interval_rate_per_hour([10.0]) == calibration.interval_rate_per_hour([]) == 0.0
    statements = [
        {
            "CreatedAt": 10.0,
            "QueryStrings": ["CREATE TEMP TABLE s (LIKE t)", "COPY s FROM 's3://b/m'", "MERGE"],
        },
        {"CreatedAt": 11.0, "QueryString": "SELECT file_key FROM ledger"},
        {"CreatedAt": 20.0, "QueryStrings": ["  copy s FROM 's3://b/n'"]},
        {"CreatedAt": 30.0, "QueryStrings": ["COPY s FROM 's3://b/o'"]},
    ]
    assert calibration.copies_between(statements, 10.0, 30.0) == [10.0, 20.0]
    # 20 cycles of the slowest batcher (here 3.6 s), at least 8 x the longest window, at most 90 s.
    assert calibration.measure_seconds({"a": 1.0, "b": 2.0}, [3600.0, 1000.0]) == 72.0
    assert calibration.measure_seconds({"a": 1.0, "b": 2.0}, [36000.0, 36000.0]) == 16.0
    assert calibration.measure_seconds({"a": 1.0}, [10.0]) == calibration.MAX_MEASURE_SECONDS


@pytest.mark.sandbox
@pytest.mark.parametrize("run", [RUN, FIREHOSE_RUN])
def test_calibration_run_still_loads_every_change_exactly_once(run: str, demo_runs):
    report, output = demo_runs.result(run)
    assert report is not None, output
    assert output.startswith("exit 0"), output
    assert report["mismatches"] == 0 and report["drained"], output
    assert report["table_items"] == report["view_rows"], output
    assert report["resources_left_after_destroy"] == [], output


@pytest.mark.sandbox
@pytest.mark.parametrize(("run", "rate"), CASES)
@pytest.mark.parametrize("figure", ["objects", "copies"])
def test_planner_predicts_what_the_sandbox_measures(run: str, rate: float, figure: str, demo_runs):
    report, output = demo_runs.result(run)
    assert report is not None, output
    entry = next((c for c in report["calibration"] or [] if c["rate"] == rate), None)
    assert entry is not None, output
    # The prediction uses the rate achieved. A window where the generator reached less than half the rate is
    # measured again, up to three times, and the best fed window counts (calibration.FED_SHARE). Beside the suite in
    # make test the generator reached 16-21 of 24/s: the floor only keeps the two lambda cases apart (8/s, and over
    # 12/s, where the 1 s stream window alone sets the cycle), since a busy machine is not a model error.
    assert entry["achieved_rate"] >= calibration.FED_SHARE * rate, entry
    assert entry[figure] >= 10, entry  # enough events in the window for a 20 % comparison to mean something
    # COPYs from their spacing, not a count cut at both ends of the window; objects by count (calibration.py).
    measured = entry["copies_per_hour_by_spacing" if figure == "copies" else "objects_per_hour"]
    predicted = entry[f"predicted_{figure}_per_hour"]
    assert calibration.deviation(measured, predicted) <= TOLERANCE, entry
