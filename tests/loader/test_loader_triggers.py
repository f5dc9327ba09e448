"""The loader's two triggers and its failure handling, on moto and an in-memory warehouse."""

from __future__ import annotations

import json

import pytest
from ddb_cdc.handlers import load_completion
from ddb_cdc.handlers import loader as loader_handler
from ddb_cdc.loader.service import LoadsFailed
from ddb_cdc.warehouse import load_id_for

from .conftest import (
    BUCKET,
    HOUR_MS,
    PREFIX,
    T0_MS,
    TABLE,
    FakeContext,
    load_event,
    raw_key,
    sqs_event,
)

# -- s3_event -----------------------------------------------------------------


def test_s3_event_url_decodes_keys_and_ignores_the_test_event(aws, warehouse, make_service):
    decoded = f"{PREFIX}/raw/{TABLE}/2026/11/27/04/firehose delivery-1-2026-11-27-04-01-02-ab=cd.json.gz"
    aws.put_raw(decoded)
    result = loader_handler.process(load_event("sqs_s3_notifications.json"), FakeContext(), make_service())

    assert result["candidates"] == 1
    assert [load["state"] for load in result["loads"]] == ["finished"]
    assert set(warehouse.ledger) == {decoded}


def test_duplicate_s3_event_runs_one_load_and_skips_ledgered_files(aws, warehouse, make_service):
    keys = [aws.put_raw(raw_key(T0_MS, f"f{i}")) for i in range(3)]
    service = make_service()
    event = sqs_event(keys + keys)  # S3 may deliver a notification twice

    first = service.run_s3_event(event)
    second = service.run_s3_event(event)

    assert len(first.loads) == 1 and first.loads[0]["files"] == 3
    assert second.loads == [] and second.skipped_ledgered == 3
    assert warehouse.copy_count() == 1


def test_many_files_in_one_invocation_run_one_copy(aws, warehouse, make_service):
    keys = [aws.put_raw(raw_key(T0_MS + (i % 2) * HOUR_MS, f"f{i:03d}")) for i in range(250)]
    make_service().run_s3_event(sqs_event(keys))

    assert warehouse.copy_count() == 1
    assert len(warehouse.ledger) == 250
    manifests = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/manifests/{TABLE}/")["Contents"]
    assert [item["Key"] for item in manifests] == [f"{PREFIX}/manifests/{TABLE}/{load_id_for(keys)}.json"]


def test_s3_event_ignores_other_tables_buckets_and_non_gzip_keys(aws, warehouse, make_service):
    wanted = aws.put_raw(raw_key(T0_MS, "mine"))
    event = sqs_event([wanted, f"{PREFIX}/raw/other_table/2026/11/27/04/x.json.gz", raw_key(T0_MS, "y")[:-3]])
    event["Records"] += sqs_event([wanted], bucket="someone-elses")["Records"]
    summary = make_service().run_s3_event(event)

    assert summary.candidates == 1
    assert set(warehouse.ledger) == {wanted}


def test_successful_load_publishes_files_loaded_and_lag(aws, make_service):
    make_service().run_s3_event(sqs_event([aws.put_raw(raw_key(T0_MS, "a"))]))
    assert {"FilesLoaded", "ReplicationLagSeconds"} <= aws.metric_names()


# -- schedule -----------------------------------------------------------------


def test_schedule_lists_from_high_water_mark_minus_lookback_and_skips_ledgered(
    aws, warehouse, make_service, clock
):
    old = aws.put_raw(raw_key(T0_MS - 5 * HOUR_MS, "too-old-to-list"))
    late = aws.put_raw(raw_key(T0_MS - 2 * HOUR_MS, "late-arrival"))
    loaded = aws.put_raw(raw_key(T0_MS, "already-loaded"))
    new = aws.put_raw(raw_key(T0_MS, "new"))
    warehouse.ledger[loaded] = "earlier"
    clock.now_ms = T0_MS + 10 * 60_000

    summary = make_service(CDC_SCHEDULE_LOOKBACK_HOURS="2").run_schedule()

    assert summary.skipped_ledgered == 1
    assert set(warehouse.ledger) == {loaded, late, new}
    # Before HWM - lookback: not in the window. The sweep loads it once it is older than its
    # grace period (moto stamps it with the real time, after this clock): not in this run.
    assert old not in warehouse.ledger


def test_schedule_with_empty_ledger_lists_everything(aws, warehouse, make_service):
    keys = {aws.put_raw(raw_key(T0_MS - h * HOUR_MS, f"h{h}")) for h in range(0, 48, 7)}
    make_service().run_schedule()
    assert set(warehouse.ledger) == keys


def test_a_missed_scheduled_run_leaves_no_gap(aws, warehouse, make_service, clock):
    service = make_service(CDC_SCHEDULE_LOOKBACK_HOURS="0")
    first = aws.put_raw(raw_key(T0_MS, "run-1"))
    service.run_schedule()
    # Three hours pass and two runs are missed; files keep arriving.
    later = [aws.put_raw(raw_key(T0_MS + h * HOUR_MS, f"hour-{h}")) for h in (1, 2, 3)]
    clock.now_ms = T0_MS + 3 * HOUR_MS + 60_000

    service.run_schedule()

    assert set(warehouse.ledger) == {first, *later}


def test_schedule_with_nothing_pending_reports_zero_lag(aws, make_service):
    summary = loader_handler.process(load_event("schedule.json"), FakeContext(), make_service())
    assert summary["loads"] == []
    assert "ReplicationLagSeconds" in aws.metric_names()


def test_schedule_caps_a_run_and_leaves_the_rest_for_the_next_run(aws, warehouse, make_service):
    keys = sorted(aws.put_raw(raw_key(T0_MS, f"f{i}")) for i in range(11))
    service = make_service()
    service.max_files_per_load = 4
    service.max_loads_per_run = 2
    summary = service.run_schedule()
    assert [load["files"] for load in summary.loads] == [4, 4]
    assert set(warehouse.ledger) == set(keys[:8])  # oldest first
    service.run_schedule()
    assert set(warehouse.ledger) == set(keys)


def test_a_scheduled_run_keeps_up_with_more_files_than_one_load_holds(aws, warehouse, make_service):
    # 100 files a minute and a run every 15 minutes: 1,500 files a run, more than one load's 1,000.
    keys = [aws.put_raw(raw_key(T0_MS, f"f{i:04d}")) for i in range(1500)]
    summary = make_service().run_schedule()
    assert [load["files"] for load in summary.loads] == [1000, 500]
    assert set(warehouse.ledger) == set(keys)


# -- failures -----------------------------------------------------------------


def test_sync_failure_raises_records_failures_and_leaves_ledger_untouched(aws, warehouse, make_service):
    keys = [aws.put_raw(raw_key(T0_MS, name)) for name in ("good", "bad")]
    warehouse.corrupt = {keys[1]}

    with pytest.raises(LoadsFailed):
        make_service().run_s3_event(sqs_event(keys))

    assert warehouse.ledger == {}
    records = make_service().files.failure_records()
    assert set(records) == set(keys)
    # Only the file the load errors name counts toward its quarantine.
    assert (records[keys[0]].failures, records[keys[0]].last_kind) == (0, "collateral")
    assert (records[keys[1]].failures, records[keys[1]].last_kind) == (1, "content")
    assert "LoadFailures" in aws.metric_names()
    [alert] = aws.alerts()
    assert alert["subject"] == f"DdbCdc load failed: {TABLE}"
    assert "stl_load_errors" in alert["message"]["error"]


def test_corrupt_file_is_quarantined_after_n_tries_and_later_files_still_load(aws, warehouse, make_service):
    service = make_service(CDC_MAX_FILE_FAILURES="3")
    good, bad, other = (aws.put_raw(raw_key(T0_MS, name)) for name in ("a-good", "b-corrupt", "c-good"))
    warehouse.corrupt = {bad}
    event = sqs_event([good, bad, other])

    with pytest.raises(LoadsFailed):  # 1: the batch fails, every file counts one failure
        service.run_s3_event(event)
    with pytest.raises(LoadsFailed):  # 2: split, the good files load, the corrupt one fails alone
        service.run_s3_event(event)
    assert set(warehouse.ledger) == {good, other}
    with pytest.raises(LoadsFailed):  # 3: third failure, moved to quarantine
        service.run_s3_event(sqs_event([]))

    quarantined = f"{PREFIX}/quarantine/{TABLE}/files/2026/11/27/04/b-corrupt.json.gz"
    assert aws.s3.head_object(Bucket=BUCKET, Key=quarantined)
    assert "Contents" not in aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=bad)
    subjects = [alert["subject"] for alert in aws.alerts()]
    assert subjects.count(f"DdbCdc file quarantined: {TABLE}") == 1

    later = aws.put_raw(raw_key(T0_MS + HOUR_MS, "d-later"))
    summary = service.run_s3_event(sqs_event([later, bad]))  # a stale event for the quarantined file too
    assert later in warehouse.ledger
    assert summary.skipped_quarantined == 1 and summary.failed_loads == 0


def test_a_good_file_that_shared_a_failed_batch_is_never_quarantined(aws, warehouse, make_service):
    service = make_service(CDC_MAX_FILE_FAILURES="1")
    good, bad = (aws.put_raw(raw_key(T0_MS, name)) for name in ("good", "bad"))
    warehouse.corrupt = {bad}
    with pytest.raises(LoadsFailed):
        service.run_s3_event(sqs_event([good, bad]))
    # One failure reached the limit, but in a batch: nothing is quarantined yet.
    assert aws.s3.head_object(Bucket=BUCKET, Key=good) and aws.s3.head_object(Bucket=BUCKET, Key=bad)
    with pytest.raises(LoadsFailed):
        service.run_s3_event(sqs_event([]))
    assert good in warehouse.ledger
    assert "Contents" not in aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=bad)


# -- Data API async mode and the completion handler ----------------------------


def _completion_event(load_id: str, statement_id: str, state: str) -> dict:
    event = load_event("statement_failed.json")
    event["detail"].update(statementName=f"ddb_cdc:{TABLE}:{load_id}", statementId=statement_id, state=state)
    return event


def test_async_submit_returns_without_waiting_and_names_the_statement(aws, warehouse, make_service):
    key = aws.put_raw(raw_key(T0_MS, "a"))
    service = make_service("async")
    summary = service.run_s3_event(sqs_event([key]))

    client = service.executor._client
    [(_call, request)] = [r for r in client.requests if r[0] == "batch_execute_statement"]
    assert request["WithEvent"] is True
    assert request["StatementName"] == f"ddb_cdc:{TABLE}:{load_id_for([key])}"
    assert summary.loads[0]["state"] == "submitted"
    assert "FilesLoaded" not in aws.metric_names()  # published on completion, not on submit


def test_async_failed_completion_records_failures_alerts_with_load_errors_and_keeps_ledger(
    aws, warehouse, make_service
):
    key = aws.put_raw(raw_key(T0_MS, "corrupt"))
    warehouse.corrupt = {key}
    warehouse.load_error_rows = [
        (f"s3://{BUCKET}/{key}", 3, "seq", 1216, "Missing data for not-null field", '{"op":"INSERT"}')
    ]
    service = make_service("async")
    summary = service.run_s3_event(sqs_event([key]))  # submitted: no exception, messages consumed
    statement_id = summary.loads[0]["statement_id"]

    result = load_completion.process(
        _completion_event(load_id_for([key]), statement_id, "FAILED"), FakeContext(), service
    )

    assert result["handled"] is True and result["state"] == "FAILED"
    assert key not in warehouse.ledger
    record = json.loads(
        aws.s3.get_object(
            Bucket=BUCKET, Key=f"{PREFIX}/load-failures/{TABLE}/2026/11/27/04/corrupt.json.gz.json"
        )["Body"].read()
    )
    assert record["failures"] == 1
    [alert] = aws.alerts()
    assert "stl_load_errors" in alert["message"]["error"]
    assert alert["message"]["load_errors"][0]["reason"] == "Missing data for not-null field"
    # Matched by the failed COPY's query id (provisioned cluster: STL_LOAD_ERRORS).
    assert "FROM stl_load_errors WHERE query = 4203" in warehouse.queries[-1]


def test_async_failed_file_is_retried_by_the_next_event_driven_load(aws, warehouse, make_service):
    key = aws.put_raw(raw_key(T0_MS, "flaky"))
    warehouse.corrupt = {key}
    service = make_service("async")
    statement_id = service.run_s3_event(sqs_event([key])).loads[0]["statement_id"]
    service.complete(_completion_event(load_id_for([key]), statement_id, "FAILED"))
    warehouse.corrupt = set()  # the cause was fixed (a permission, a full disk)

    other = aws.put_raw(raw_key(T0_MS, "next"))
    summary = service.run_s3_event(sqs_event([other]))  # the failed file has no message any more

    # The new file goes in a batch, the one that failed before on its own.
    assert sorted(load["load_id"] for load in summary.loads) == sorted(
        [load_id_for([other]), load_id_for([key])]
    )
    for load in summary.loads:
        service.complete(_completion_event(load["load_id"], load["statement_id"], "FINISHED"))
    assert {key, other} <= set(warehouse.ledger)
    assert service.files.failure_records() == {}
    assert "FilesLoaded" in aws.metric_names()


def test_completion_ignores_statements_of_other_tables_and_other_events(make_service):
    service = make_service("async")
    foreign = _completion_event("0" * 32, "id", "FAILED")
    foreign["detail"]["statementName"] = "ddb_cdc:customers:" + "0" * 32
    assert service.complete(foreign)["handled"] is False
    not_ours = {"source": "aws.s3", "detail-type": "Object Created", "detail": {}}
    assert load_completion.process(not_ours, FakeContext(), service)["handled"] is False


def test_loader_handler_rejects_an_unknown_trigger(make_service):
    with pytest.raises(loader_handler.UnknownTrigger):
        loader_handler.process({"foo": "bar"}, FakeContext(), make_service())


def test_an_sqs_batch_over_the_per_load_cap_is_loaded_in_capped_loads_not_dropped(
    aws, warehouse, make_service
):
    keys = [aws.put_raw(raw_key(T0_MS, f"f{i}")) for i in range(10)]
    service = make_service()
    service.max_files_per_load = 4
    summary = service.run_s3_event(sqs_event(keys))
    assert [load["files"] for load in summary.loads] == [4, 4, 2]
    assert set(warehouse.ledger) == set(keys)


def test_a_run_short_of_time_starts_no_further_load_but_still_sweeps_and_reports_lag(
    aws, warehouse, make_service
):
    keys = sorted(aws.put_raw(raw_key(T0_MS, f"f{i}")) for i in range(9))
    service = make_service()
    service.max_files_per_load = 4
    service.time_left = lambda: 45.0  # under one load's budget (30 s for a submission) plus the 30 s margin
    summary = service.run_schedule()
    assert [load["files"] for load in summary.loads] == [4]  # the first load always starts
    assert set(warehouse.ledger) == set(keys[:4])
    assert summary.lag_seconds is not None and len(summary.pending) == 5
    assert "ReplicationLagSeconds" in aws.metric_names()
    service.time_left = lambda: 900.0
    service.run_schedule()
    assert set(warehouse.ledger) == set(keys)
