"""python -m ddb_cdc.plan: the table, --json, tfvars and refusals."""

from __future__ import annotations

import json
from pathlib import Path

from ddb_cdc.plan import tfvars
from ddb_cdc.plan.__main__ import main, parse_profile
from ddb_cdc.plan.model import AGGREGATIONS, LOAD_STRATEGIES, Knobs

EXAMPLE = Path(__file__).with_name("example.tfvars")


def test_table_lists_every_combination_and_a_recommendation(capsys):
    assert main(["--rate", "10", "--freshness", "900"]) == 0
    out = capsys.readouterr().out
    for aggregation in AGGREGATIONS:
        for load in LOAD_STRATEGIES:
            assert f"{aggregation} + {load}" in out
    assert "Recommended: " in out
    assert "Redshift compute is your existing warehouse" in out


def test_json_carries_costs_counts_and_assumptions(capsys):
    assert main(["--rate", "10", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["combinations"]) == 8
    first = document["combinations"][0]
    assert {
        "monthly_usd",
        "by_service",
        "objects_per_hour",
        "copies_per_hour",
        "freshness_worst_seconds",
    } <= set(first)
    assert document["assumptions"]["gzip_ratio"] == 0.25


def test_unknown_region_is_refused_clearly(capsys):
    assert main(["--rate", "10", "--region", "eu-west-1"]) == 2
    assert "us-east-1 prices only" in capsys.readouterr().err


def test_tfvars_knobs_replace_the_defaults():
    config = tfvars.read(EXAMPLE)
    assert (config.aggregation, config.load_strategy, config.region) == ("firehose", "schedule", "us-east-1")
    assert config.knobs.batch_size == 500
    assert config.knobs.batching_window_seconds == 20
    assert config.knobs.firehose_buffering_size_mb == 32
    assert config.knobs.firehose_buffering_interval_seconds == 120
    assert config.knobs.schedule_rate_minutes == 10
    assert config.knobs.s3_event_batching_window_seconds == Knobs().s3_event_batching_window_seconds


def test_tfvars_marks_the_configured_combination(capsys):
    assert main(["--rate", "10", "--tfvars", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "firehose + schedule *" in out


def test_tfvars_region_outside_the_price_file_is_refused(tmp_path, capsys):
    path = tmp_path / "terraform.tfvars"
    path.write_text('region = "eu-west-1"\naggregation = "lambda"\n')
    assert main(["--rate", "1", "--tfvars", str(path)]) == 2
    assert "'eu-west-1' cannot be priced" in capsys.readouterr().err


def test_profile_from_list_json_and_csv(tmp_path):
    rates = [float(h) for h in range(24)]
    assert parse_profile(",".join(map(str, rates))) == tuple(rates)
    (tmp_path / "p.json").write_text(json.dumps({"hourly_rates": rates}))
    assert parse_profile(str(tmp_path / "p.json")) == tuple(rates)
    (tmp_path / "q.csv").write_text("\n".join(str(r) for r in rates))
    assert parse_profile(str(tmp_path / "q.csv")) == tuple(rates)
