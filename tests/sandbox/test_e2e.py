"""End to end, per strategy combination: exactly what ``make demo`` runs, with fewer changes.

Each case runs the demo as its own process (as ``make demo`` does), so moto's global
state, the patches and the Lambda workers never touch the rest of the test session,
and asserts on its JSON report: zero mismatches, and that what the runtime did is what
Terraform deployed (the mapping's batch size bounds every event the writer received).

Three of the combinations also backfill a table seeded before the apply, one mode
each, while the generator updates and deletes the seeded keys (one apply serves both
proofs): the view must still equal the table. The two scan modes are cancelled mid-scan
and resumed, and no page recorded before the cancel may be written again.

The ec2_cron combinations load only from the loader host(s) the Auto Scaling group launches
(tests/sandbox/ec2_host.py); one of them runs two hosts at once, as an instance refresh overlaps
them, which the load's lock must make harmless.
"""

from __future__ import annotations

import os

import pytest

from tests.sandbox import demo

CHANGES = 600
SEED_ITEMS = 1500
# Which combination also proves which backfill mode; the others keep the plain path.
BACKFILLS = {
    ("lambda", "s3_event"): "step_functions",
    ("firehose", "s3_event"): "checkpoint_table",
    ("lambda", "schedule"): "export",
}
# ec2_cron combination -> loader hosts at once (2: two instances alive during a replacement).
EC2_HOSTS = {("lambda", "ec2_cron"): 2, ("firehose", "ec2_cron"): 1}
# emr_compaction combination whose first s3-dist-cp step fails (its cluster must still be terminated).
FAIL_COMPACTION = {("firehose", "emr_compaction")}


def test_unknown_strategy_gets_a_clear_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args(["--aggregation", "kinesis"])
    assert exit_info.value.code == 2
    assert "unknown AGGREGATION 'kinesis': choose one of lambda, firehose, all" in capsys.readouterr().err


def test_all_expands_to_every_combination():
    runs, _ = demo.parse_args(["--aggregation", "all", "--load", "all"])
    assert {(run.aggregation, run.load_strategy) for run in runs} == {
        ("lambda", "s3_event"),
        ("lambda", "schedule"),
        ("firehose", "s3_event"),
        ("firehose", "schedule"),
        ("lambda", "ec2_cron"),
        ("firehose", "ec2_cron"),
        ("lambda", "emr_compaction"),
        ("firehose", "emr_compaction"),
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--load", "ec2_cron", "--ec2-hosts", "0"], "--ec2-hosts must be at least 1"),
        (["--load", "schedule", "--ec2-hosts", "2"], "--ec2-hosts needs LOAD=ec2_cron (or all)"),
        (["--load", "schedule", "--fail-compaction"], "--fail-compaction needs LOAD=emr_compaction (or all)"),
    ],
)
def test_ec2_hosts_is_checked(arguments: list[str], message: str, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args(arguments)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_ec2_hosts_reaches_the_run():
    runs, _ = demo.parse_args(["--load", "ec2_cron", "--ec2-hosts", "2"])
    assert [(run.load_strategy, run.ec2_hosts) for run in runs] == [("ec2_cron", 2)]


# Run by the session's demo_runs fixture (tests/sandbox/conftest.py), side by side with every other
# module's demos: most of a run is the AWS provider's own waiting (terraform apply/destroy).
def _arguments(aggregation: str, load: str) -> list[str]:
    arguments = [
        f"--aggregation={aggregation}",
        f"--load={load}",
        f"--changes={CHANGES}",
        # Several demos share two cores here: give the pipeline room before calling it stuck.
        "--settle-timeout=300",
    ]
    mode = BACKFILLS.get((aggregation, load))
    if mode:
        arguments += [f"--backfill={mode}", f"--seed-items={SEED_ITEMS}"]
        if mode != "export":
            arguments.append("--interrupt-backfill")
    if (aggregation, load) in EC2_HOSTS:
        arguments.append(f"--ec2-hosts={EC2_HOSTS[(aggregation, load)]}")
    if (aggregation, load) in FAIL_COMPACTION:
        arguments.append("--fail-compaction")
    return arguments


# `make test` runs the combinations that each prove something of their own, and every aggregation and every
# load strategy at least once. The two left out add nothing the others do not prove (firehose + schedule: no
# backfill, no fault; firehose + ec2_cron: one host, where lambda + ec2_cron runs two) and cost about four
# minutes of the CI's 25 on two cores. CDC_DEMO_MATRIX=full runs all eight.
LEFT_OUT_OF_MAKE_TEST = {("firehose", "schedule"), ("firehose", "ec2_cron")}
COMBINATIONS = [
    (aggregation, load)
    for aggregation in demo.AGGREGATIONS
    for load in demo.LOAD_STRATEGIES
    if os.environ.get("CDC_DEMO_MATRIX") == "full" or (aggregation, load) not in LEFT_OUT_OF_MAKE_TEST
]
DEMO_RUNS = {f"{aggregation}-{load}": _arguments(aggregation, load) for aggregation, load in COMBINATIONS}


@pytest.mark.sandbox
@pytest.mark.parametrize(("aggregation", "load"), COMBINATIONS)
def test_demo_loads_every_change_exactly_once(aggregation: str, load: str, demo_runs):
    report, output = demo_runs.result(f"{aggregation}-{load}")
    assert report is not None, output
    assert report["mismatches"] == 0, output
    assert output.startswith("exit 0"), output

    changes = report["changes"]
    late = sum(
        (report["compaction"] or {}).get("late_changes", {}).get(k, 0) for k in ("puts", "updates", "deletes")
    )
    assert (load == "emr_compaction") == (late > 0)
    assert changes["puts"] + changes["updates"] + changes["deletes"] == CHANGES + late
    mode = BACKFILLS.get((aggregation, load))
    seeded = report["backfill"]["seeded"]["puts"] if mode else 0
    assert seeded == (SEED_ITEMS if mode else 0)
    assert report["table_items"] == report["view_rows"] == seeded + changes["puts"] - changes["deletes"]
    assert report["tombstones"] == changes["deletes"]
    assert report["copy_statements"] >= 1 and report["loads_failed"] == 0
    assert report["resources_left_after_destroy"] == []
    assert report["dashboard"]["widgets"] >= 6 and report["dashboard"]["unknown_metrics"] == [], output

    # The runtime used what Terraform deployed: the stream mapping's batch size bounds
    # every event, and every stream record reached the writer.
    assert report["configured_batch_size"] >= 1
    assert 1 <= report["max_records_per_batch"] <= report["configured_batch_size"]
    fewest_batches = -(-(CHANGES + late) // report["configured_batch_size"])
    assert report["stream_batches"] >= fewest_batches
    # Change objects only: a backfill's snapshot objects share the raw prefix.
    change_objects = report["s3_objects"] - (report["backfill"] or {}).get("snapshot_objects", 0)
    if aggregation == "lambda":
        # One object per batch; a retried invocation rewrites the same key (same name, same bytes).
        assert fewest_batches <= change_objects <= report["stream_batches"]
        assert report["firehose"] is None
    else:
        assert report["firehose"]["records"] >= CHANGES  # a retried batch is put again
        assert change_objects == report["firehose"]["objects"]
    schedules = report["runtime"]["schedules"]
    if load == "ec2_cron":
        # The host's timer is the only trigger: no load queue, no schedule; every run of every host succeeded
        # (two at once included: the load's lock serialises them) and used the loader function's environment.
        assert schedules == [], output
        assert not any(":sqs:" in str(m["source_arn"]) for m in report["runtime"]["mappings"]), output
        hosts = report["ec2_hosts"]
        assert hosts["hosts"] == EC2_HOSTS[(aggregation, load)], output
        assert all(host["runs"] >= 1 for host in hosts["per_host"]), output
        assert hosts["failures"] == 0 and hosts["timeouts"] == 0, output
        assert hosts["environment_differs_from_loader_function"] == [], output
    elif load == "emr_compaction":
        # The compaction schedule is deployed disabled and the loader's own schedule a day apart: the demo names
        # the hours itself (tests/sandbox/compaction_run.py), so what is loaded is the compaction runs' doing.
        assert [s["expression"] for s in schedules] == ["rate(1440 minutes)"] and schedules[0][
            "fires"
        ] == 0, output
        assert not any(":sqs:" in str(m["source_arn"]) for m in report["runtime"]["mappings"]), output
    elif load == "schedule":
        assert [s["expression"] for s in schedules] == ["rate(1 minute)"] and schedules[0]["fires"] >= 1
    else:
        # s3_event: the notifications load; one slow schedule only reconciles (strands nothing).
        assert [s["expression"] for s in schedules] == ["rate(60 minutes)"]
        assert any(":sqs:" in str(m["source_arn"]) for m in report["runtime"]["mappings"])


@pytest.mark.sandbox
@pytest.mark.parametrize(("aggregation", "load"), sorted(BACKFILLS))
def test_backfill_brings_the_items_the_stream_never_saw_while_the_table_changes(
    aggregation: str, load: str, demo_runs
):
    report, output = demo_runs.result(f"{aggregation}-{load}")
    assert report is not None, output
    backfill = report["backfill"]
    assert backfill["mode"] == BACKFILLS[(aggregation, load)], output
    assert backfill["state"] == "DONE", output
    # Live updates and deletes hit seeded keys during the scan, and the view still equals the table
    # (asserted above): no stale snapshot overwrote a change and no deleted key came back.
    assert report["changes"]["updates"] > 0 and report["changes"]["deletes"] > 0
    assert report["mismatches"] == 0, output
    # Every item present when its page was read is in a snapshot object; the scan saw at most the
    # seeded items plus the new ones, and at least the seeded items the generator left alone.
    assert SEED_ITEMS - report["changes"]["deletes"] <= backfill["items_written"]
    assert backfill["items_written"] <= SEED_ITEMS + report["changes"]["puts"]
    assert backfill["snapshot_objects"] >= 1
    if backfill["mode"] != "export":
        assert backfill["segments_done"] == backfill["segments"]
        # Cancelled mid-scan and resumed: every segment went on from its cursor, never from zero.
        assert backfill["segments_with_pages_before_resume"] >= 1, output
        assert backfill["resumed_mid_segment"] >= 1, output
        assert backfill["pages_rewritten_after_resume"] == 0, output


@pytest.mark.sandbox
@pytest.mark.parametrize("aggregation", demo.AGGREGATIONS)
def test_compaction_runs_leave_no_cluster_and_load_late_files(aggregation: str, demo_runs):
    report, output = demo_runs.result(f"{aggregation}-emr_compaction")
    assert report is not None, output
    compaction = report["compaction"]
    *hours, after = compaction["runs"]
    assert hours, output
    failing = (aggregation, "emr_compaction") in FAIL_COMPACTION
    for index, run in enumerate(hours):
        # Each hour with raw files: one transient cluster, terminated whatever the step did.
        assert run["inputs"] is None or run["inputs"] >= 1, output
        assert list(run["clusters"].values()) == ["TERMINATED"], output
        # Every raw file of the hour is in the ledger when the run ends: its compacted load, or its raw fallback.
        assert run["raw_unloaded_after"] == 0, output
        if failing and index == 0:
            # The s3-dist-cp step failed: the run fails (and alerts), the hour's raw files are loaded anyway.
            assert run["status"] == "FAILED" and run["error"] == "CompactionFailed", output
        else:
            assert run["status"] == "SUCCEEDED" and run["compacted_objects"] >= 1, output
    # The late changes landed in an hour already compacted; the next hour's run had nothing to compact,
    # started no cluster, and its load step loaded them (the view equals the table: asserted above).
    assert after["status"] == "SUCCEEDED" and after["inputs"] == 0 and after["clusters"] == {}, output
    assert after["raw_unloaded_after"] == 0 and after["raw_unloaded_in_table_after"] == 0, output
    assert compaction["clusters_left_running"] == 0, output
    assert report["mismatches"] == 0, output
