"""The loader CLI and the pure selection rules."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from ddb_cdc import cli
from ddb_cdc.loader import reconcile, selection

from .conftest import BUCKET, HOUR_MS, PREFIX, T0_MS, TABLE, raw_key

# -- CLI ----------------------------------------------------------------------------


def _run(capsys, service, *argv: str) -> tuple[int, dict]:
    code = cli.main(list(argv), service=service)
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


def test_cli_status_reports_high_water_mark_pending_files_and_lag(
    aws, warehouse, make_service, clock, capsys
):
    loaded = aws.put_raw(raw_key(T0_MS, "loaded"))
    aws.put_raw(raw_key(T0_MS, "pending"))
    warehouse.ledger[loaded] = "x"
    clock.now_ms = T0_MS + 10 * 3_600_000  # long after the files were written (moto uses the real clock)

    code, status = _run(capsys, make_service(), "status")

    assert code == 0
    assert status["high_water_hour"] == "2026-11-27T04"
    assert status["ledger_files"] == 1 and status["pending_files"] == 1
    assert status["lag_seconds"] >= 0


def test_cli_status_lists_failing_and_quarantined_files_and_the_last_outcome(
    aws, warehouse, make_service, clock, capsys
):
    loaded = aws.put_raw(raw_key(T0_MS, "loaded"))
    failing = aws.put_raw(raw_key(T0_MS, "failing"))
    set_aside = aws.put_raw(raw_key(T0_MS, "set-aside"))
    service = make_service()
    warehouse.ledger[loaded] = "x"
    service.files.record_failure([failing], error="Invalid digit, Value 'secret-42', Pos 0", load_id="l1")
    service.files.record_failure([failing], error="again", load_id="l2")
    service.files.quarantine(set_aside)

    code, status = _run(capsys, service, "status")

    assert code == 0
    assert status["files_with_failures"] == 1
    (record,) = status["failing_files"]
    assert (record["key"], record["failures"], record["last_kind"]) == (failing, 2, "content")
    assert record["last_error"] == "again" and record["last_failed_at"] is not None
    assert status["quarantined_files"] == 1 and status["quarantined"] == [set_aside]
    # The fake ledger has no load time: the failure recorded afterwards is the last outcome.
    assert status["last_load"]["outcome"] == "failed" and status["last_load"]["kind"] == "content"
    assert status["lag_threshold_seconds"] is None and status["lag_exceeded"] is False


@pytest.mark.parametrize(
    ("loaded_minutes_after_failure", "outcome"),
    [(5, "succeeded"), (-5, "failed")],
    ids=["then-loaded", "loaded-before"],
)
def test_cli_status_last_load_is_the_newer_of_the_ledger_and_the_last_failure(
    aws, warehouse, make_service, clock, capsys, loaded_minutes_after_failure, outcome
):
    failing = aws.put_raw(raw_key(T0_MS, "failing"))
    service = make_service()
    clock.now_ms = T0_MS + 3_600_000
    service.files.record_failure([failing], error="boom", load_id="l1")
    # The ledger's time is UTC wall time without a zone (SYSDATE); the failure's carries one.
    failed_at = datetime.fromtimestamp(clock.now_ms / 1000, UTC)
    warehouse.last_loaded_at = (failed_at + timedelta(minutes=loaded_minutes_after_failure)).replace(
        tzinfo=None
    )
    warehouse.newest_change_at = datetime(2026, 11, 27, 4, 59, 58, 250000)

    code, status = _run(capsys, service, "status")

    assert code == 0 and status["last_load"]["outcome"] == outcome
    assert status["newest_change_loaded"] == "2026-11-27T04:59:58.250000+00:00"
    if outcome == "failed":
        assert status["last_load"] == {
            "outcome": "failed",
            "at": failed_at.isoformat(),
            "kind": "content",
            "files": 1,
            "error": "boom",
        }


def test_cli_status_keeps_the_last_failure_after_a_quarantine_and_a_repeated_outage(
    aws, warehouse, make_service, clock, capsys
):
    key = aws.put_raw(raw_key(T0_MS, "bad"))
    service = make_service()
    service.files.record_failure([key], error="Invalid JSON", load_id="l1")
    service.files.quarantine(key)  # its failure record goes with it
    code, status = _run(capsys, service, "status")
    assert status["failing_files"] == [] and status["last_load"]["error"] == "Invalid JSON"

    # An outage on a file already on the retry list writes no new record, but it is the last outcome.
    other = aws.put_raw(raw_key(T0_MS, "other"))
    service.files.record_failure([other], error="first", load_id="", kinds={other: "transient"})
    clock.now_ms += 60_000
    service._record_transient([other], service.files.failure_records(), "connection reset")
    code, status = _run(capsys, service, "status")
    assert code == 0 and status["failing_files"][0]["last_error"] == "first"
    assert (status["last_load"]["kind"], status["last_load"]["error"]) == ("transient", "connection reset")


def test_cli_status_shows_a_scheduled_run_that_could_not_read_the_ledger(
    aws, warehouse, make_service, clock, capsys
):
    loaded = aws.put_raw(raw_key(T0_MS, "loaded"))
    service = make_service(CDC_LOAD_STRATEGY="schedule")
    service.run_schedule()
    assert loaded in warehouse.ledger
    warehouse.last_loaded_at = datetime.fromtimestamp(clock.now_ms / 1000, UTC).replace(tzinfo=None)
    clock.now_ms += 60_000
    warehouse.down = True  # the next run fails at its first statement, the ledger's high-water mark
    with pytest.raises(Exception, match="could not connect"):
        service.run_schedule()
    warehouse.down = False
    code, status = _run(capsys, service, "status")
    assert code == 0 and status["last_load"]["outcome"] == "failed", status
    assert status["last_load"]["kind"] == "transient" and "ledger read failed" in status["last_load"]["error"]


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_cli_status_refuses_a_threshold_that_is_not_a_positive_number(make_service, capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["status", "--max-lag-seconds", value], service=make_service())
    assert exit_info.value.code == 2 and "--max-lag-seconds" in capsys.readouterr().err


def test_cli_status_never_prints_the_value_an_error_quoted(aws, make_service, capsys):
    failing = aws.put_raw(raw_key(T0_MS, "failing"))
    service = make_service()
    service.files.record_failure([failing], error="Invalid digit, Value 'secret-42', Pos 0", load_id="l1")
    code, status = _run(capsys, service, "status")
    assert code == 0 and "secret-42" not in json.dumps(status)
    assert status["failing_files"][0]["last_error"] == "Invalid digit, Value '<value>', Pos 0"


@pytest.mark.parametrize(
    ("argv", "env", "code"),
    [
        (["status"], {}, 0),  # no threshold deployed, none given: report only
        (["status"], {"CDC_LAG_ALARM_SECONDS": "60"}, 3),  # the deployed alarm's threshold
        (["status"], {"CDC_LAG_ALARM_SECONDS": "999999"}, 0),
        (["status", "--max-lag-seconds", "60"], {"CDC_LAG_ALARM_SECONDS": "999999"}, 3),  # the flag wins
    ],
)
def test_cli_status_exits_3_when_the_lag_is_over_the_threshold(
    aws, make_service, clock, capsys, argv, env, code
):
    aws.put_raw(raw_key(T0_MS, "pending"))
    clock.now_ms = int(time.time() * 1000) + 3_600_000  # an hour after moto stamped the file (real clock)
    assert cli.main(argv, service=make_service(**env)) == code
    captured = capsys.readouterr()
    status = json.loads(captured.out)
    assert status["lag_exceeded"] is (code == 3) and status["pending_files"] == 1
    assert ("is over the threshold" in captured.err) is (code == 3)


def test_cli_load_loads_pending_files(aws, warehouse, make_service, capsys):
    key = aws.put_raw(raw_key(T0_MS, "a"))
    code, summary = _run(capsys, make_service(), "load")
    assert code == 0 and summary["loads"][0]["files"] == 1
    assert key in warehouse.ledger


def test_cli_replay_reloads_ledgered_files_in_the_range_only(aws, warehouse, make_service, capsys):
    inside = [aws.put_raw(raw_key(T0_MS + h * HOUR_MS, f"in{h}")) for h in (0, 1)]
    aws.put_raw(raw_key(T0_MS + 3 * HOUR_MS, "outside"))
    for key in inside:
        warehouse.ledger[key] = "earlier"

    code, summary = _run(capsys, make_service(), "replay", "--from", "2026-11-27T04", "--to", "2026-11-27T05")

    assert code == 0 and summary["candidates"] == 2
    assert warehouse.copy_count() == 1


def test_cli_quarantine_and_release_move_the_file_and_reset_its_failures(
    aws, warehouse, make_service, capsys
):
    key = aws.put_raw(raw_key(T0_MS, "suspicious"))
    service = make_service()
    service.files.record_failure([key], error="boom", load_id="x")

    code, result = _run(capsys, service, "quarantine", key)
    assert code == 0 and result["to"] == f"{PREFIX}/quarantine/{TABLE}/files/2026/11/27/04/suspicious.json.gz"
    service.run_schedule()
    assert key not in warehouse.ledger

    service.files.record_failure([key], error="boom", load_id="x")
    code, _ = _run(capsys, service, "release", key)
    assert code == 0
    assert service.files.failure_records() == {}
    service.run_schedule()
    assert key in warehouse.ledger
    assert aws.s3.head_object(Bucket=BUCKET, Key=key)


def test_cli_rejects_a_key_outside_the_tables_raw_prefix(make_service, capsys):
    assert cli.main(["quarantine", "elsewhere/file.json.gz"], service=make_service()) == 2


def test_cli_reports_a_configuration_error_with_exit_status_2(capsys):
    assert cli.main(["status"], env={"CDC_BUCKET": BUCKET}) == 2
    assert "configuration error" in capsys.readouterr().err


def test_cli_exits_1_when_a_load_fails(aws, warehouse, make_service, capsys):
    key = aws.put_raw(raw_key(T0_MS, "bad"))
    warehouse.corrupt = {key}
    assert cli.main(["load"], service=make_service()) == 1


def test_cli_init_waits_for_the_ddl_even_when_the_loader_runs_async():
    args = cli.parser().parse_args(["init"])
    assert cli._environment(args, {"CDC_DATA_API_MODE": "async"})["CDC_DATA_API_MODE"] == "poll"
    load = cli.parser().parse_args(["load"])
    assert cli._environment(load, {"CDC_DATA_API_MODE": "async"})["CDC_DATA_API_MODE"] == "async"


def test_cli_init_runs_the_ddl_as_one_transaction(warehouse, make_service, capsys):
    code = cli.main(["init"], service=make_service())
    assert code == 0 and json.loads(capsys.readouterr().out)["state"] == "finished"
    assert len(warehouse.transactions) == 1
    assert warehouse.transactions[0][0].startswith("CREATE SCHEMA IF NOT EXISTS")


def test_cli_rejects_a_malformed_hour():
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["replay", "--from", "2026-11-27", "--to", "2026-11-27T05"])


# -- selection ------------------------------------------------------------------------


def test_hour_prefixes_cover_every_hour_across_a_day_boundary():
    start = T0_MS - 5 * HOUR_MS  # 2026-11-26T23
    prefixes = selection.hour_prefixes(PREFIX, TABLE, start + 123, start + 2 * HOUR_MS)
    assert prefixes == [
        f"{PREFIX}/raw/{TABLE}/2026/11/26/23/",
        f"{PREFIX}/raw/{TABLE}/2026/11/27/00/",
        f"{PREFIX}/raw/{TABLE}/2026/11/27/01/",
    ]


def test_schedule_window_starts_at_high_water_mark_minus_lookback_or_lists_everything():
    assert selection.schedule_window_start(T0_MS, 2) == T0_MS - 2 * HOUR_MS
    assert selection.schedule_window_start(None, 2) is None


def test_plan_loads_batches_clean_files_and_isolates_files_that_failed_before():
    loads = selection.plan_loads(["c", "a", "b", "d"], {"b": 1, "d": 2}, max_files=10)
    assert loads == [("a", "c"), ("b",), ("d",)]


def test_firehose_names_are_selected_by_prefix_and_suffix_only():
    name = f"{PREFIX}/raw/{TABLE}/2026/11/27/04/cdc-stream-1-2026-11-27-04-01-02-0f1e2d3c.json.gz"
    assert selection.is_raw_file(name, PREFIX, TABLE)
    assert not selection.is_raw_file(name[:-3], PREFIX, TABLE)
    assert not selection.is_raw_file(f"{PREFIX}/raw/{TABLE}x/2026/11/27/04/a.json.gz", PREFIX, TABLE)


def test_sns_wrapped_notifications_and_garbage_bodies_are_handled():
    inner = {
        "Records": [
            {
                "eventName": "ObjectCreated:CompleteMultipartUpload",
                "s3": {
                    "bucket": {"name": BUCKET},
                    "object": {"key": f"{PREFIX}/raw/{TABLE}/2026/11/27/04/a%2Bb.json.gz"},
                },
            }
        ]
    }
    event = {
        "Records": [
            {
                "eventSource": "aws:sqs",
                "body": json.dumps({"Type": "Notification", "Message": json.dumps(inner)}),
            },
            {"eventSource": "aws:sqs", "body": "not json"},
        ]
    }
    found = selection.keys_from_sqs_event(event, bucket=BUCKET, prefix=PREFIX, table=TABLE)
    assert found.keys == (f"{PREFIX}/raw/{TABLE}/2026/11/27/04/a+b.json.gz",)
    assert "message body is not JSON" in found.ignored


def test_sweep_cursors_wrap_at_the_window_and_at_the_end():
    window = reconcile.window_start(f"{PREFIX}/raw/{TABLE}/", T0_MS / 1000, 24)
    assert window == f"{PREFIX}/raw/{TABLE}/2026/11/26/04/"
    older, newer = raw_key(T0_MS - 30 * HOUR_MS, "a"), raw_key(T0_MS, "b")
    assert reconcile.next_history([older], reached_end=False, window=window) == older
    assert reconcile.next_history([older, newer], reached_end=False, window=window) == ""
    assert reconcile.next_history([older], reached_end=True, window=window) == ""
    assert reconcile.recent_start(reconcile.Cursors(recent=older), window) == window
    assert reconcile.next_recent([newer], reached_end=True) == ""
