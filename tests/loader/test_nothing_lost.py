"""Issue 10, loader half: nothing stranded, only a file's own content quarantines it,
one lookback everywhere, completion events verified, no row content, lag on every run.

moto stamps objects with the real time, so tests about a file's age move the service
clock past it (``_after``) instead of sleeping.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from ddb_cdc.handlers import load_completion
from ddb_cdc.handlers import loader as loader_handler
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import LoadFailed, Submission
from ddb_cdc.loader.service import LoadsFailed
from ddb_cdc.warehouse import load_id_for

from .conftest import (
    BUCKET,
    HOUR_MS,
    T0_MS,
    TABLE,
    FakeContext,
    OperationalError,
    base_env,
    load_event,
    raw_key,
    sqs_event,
)

ROOT = Path(__file__).resolve().parents[2]


def _after(clock, hours: float) -> int:
    """Move the service clock ``hours`` past the real time (moto's LastModified)."""
    clock.now_ms = int(time.time() * 1000 + hours * HOUR_MS)
    return clock.now_ms


def _hour(ms: int) -> int:
    return ms - ms % HOUR_MS


def _exists(aws, key: str) -> bool:
    return "Contents" in aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=key)


# -- item 2: a warehouse outage strands nothing ------------------------------------


def test_files_whose_ledger_lookup_failed_are_loaded_after_their_message_is_gone(
    aws, warehouse, make_service
):
    service = make_service()
    stranded = aws.put_raw(raw_key(T0_MS, "stranded"))
    warehouse.down = True  # cluster paused: even "which of these are loaded?" fails
    for _receive in range(3):  # SQS redelivers up to maxReceiveCount, then the DLQ keeps it
        with pytest.raises(LoadFailed):
            service.run_s3_event(sqs_event([stranded]))
    warehouse.down = False

    later = aws.put_raw(raw_key(T0_MS + HOUR_MS, "later"))
    service.run_s3_event(sqs_event([later]))  # a message for another file only

    assert {stranded, later} <= set(warehouse.ledger)
    assert service.files.failure_records() == {}


def test_a_file_whose_notification_never_came_is_loaded_by_the_sweep(aws, warehouse, make_service, clock):
    lost = aws.put_raw(raw_key(T0_MS, "notification-lost"))
    _after(clock, 1)  # past the sweep's grace period

    summary = make_service().run_s3_event(sqs_event([]))

    assert lost in warehouse.ledger
    assert summary.reconciled == 1


def test_a_young_file_is_left_to_its_own_trigger(aws, warehouse, make_service, clock):
    young = aws.put_raw(raw_key(T0_MS, "just-written"))
    _after(clock, 0)
    make_service().run_s3_event(sqs_event([]))
    assert young not in warehouse.ledger


def test_the_sweep_is_bounded_per_run_and_reaches_every_file(aws, warehouse, make_service, clock):
    now = _after(clock, 1)
    old = [aws.put_raw(raw_key(_hour(now) - (40 + h) * HOUR_MS, f"old{h:02d}")) for h in range(20)]
    recent = [aws.put_raw(raw_key(_hour(now) - (h % 3) * HOUR_MS, f"new{h:02d}")) for h in range(10)]
    service = make_service()
    service.reconcile_page_keys = 5
    lookups: list[int] = []
    for _run in range(10):
        before = len(warehouse.queries)
        service.run_s3_event(sqs_event([]))
        asked = [q for q in warehouse.queries[before:] if q.startswith('SELECT "file_key"')]
        lookups.append(sum(q.count("'") // 2 - 1 for q in asked))  # keys asked (minus the target literal)
        if set(old + recent) <= set(warehouse.ledger):
            break
    assert set(old + recent) <= set(warehouse.ledger)
    assert max(lookups) <= 2 * service.reconcile_page_keys
    assert len(lookups) <= 20 // 5 + 10 // 5 + 1  # one cycle per cursor, plus the run that wraps


# -- item 3: only a file's own content counts toward quarantine ---------------------


class FlakyExecutor:
    """The in-memory warehouse behind a connection that fails ``failures`` times first."""

    def __init__(self, inner: Any, make_error: Callable[[], Exception], failures: int) -> None:
        self.inner = inner
        self.make_error = make_error
        self.failures = failures

    def run(self, statements, *, name=None) -> Submission:
        if self.failures:
            self.failures -= 1
            raise self.make_error()
        return self.inner.run(statements, name=name)

    def query(self, sql, params=None):
        return self.inner.query(sql, params)


def _lost_connection() -> Exception:
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError as cause:
        try:
            raise LoadFailed("transaction rolled back: OperationalError") from cause
        except LoadFailed as exc:
            return exc


TRANSIENT = {
    "poll timeout": lambda: LoadFailed(
        "statement still STARTED after 600 s", statement_id="x", state="TIMEOUT"
    ),
    "aborted": lambda: LoadFailed("statement ABORTED: cancelled by WLM", statement_id="x", state="ABORTED"),
    "lost connection": _lost_connection,
    "throttling": lambda: ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "BatchExecuteStatement"
    ),
    "endpoint unreachable": lambda: EndpointConnectionError(endpoint_url="https://redshift-data"),
}


@pytest.mark.parametrize("kind", sorted(TRANSIENT))
def test_transient_failures_never_quarantine_a_good_file(aws, warehouse, make_service, kind):
    service = make_service(CDC_MAX_FILE_FAILURES="1")
    service.executor = FlakyExecutor(service.executor, TRANSIENT[kind], failures=4)
    key = aws.put_raw(raw_key(T0_MS, "healthy"))

    event = sqs_event([key])
    for _bad_minute in range(4):
        with pytest.raises(LoadsFailed):
            service.run_s3_event(event)
        event = sqs_event([])  # the message is gone (async submit, or DLQ)
        assert _exists(aws, key), "quarantined by a failure that was not its own"
        assert service.files.failure_records()[key].failures == 0

    service.run_s3_event(sqs_event([]))
    assert key in warehouse.ledger
    assert not [a for a in aws.alerts() if "quarantined" in a["subject"]]


def test_a_failure_the_warehouse_blames_on_no_file_isolates_but_never_quarantines(
    aws, warehouse, make_service
):
    service = make_service(CDC_MAX_FILE_FAILURES="1")
    service.executor = FlakyExecutor(
        service.executor, lambda: LoadFailed("ERROR: Numeric data overflow (result precision)"), failures=3
    )
    key = aws.put_raw(raw_key(T0_MS, "overflow"))
    event = sqs_event([key])
    for _run in range(3):
        with pytest.raises(LoadsFailed):
            service.run_s3_event(event)
        event = sqs_event([])
    record = service.files.failure_records()[key]
    assert (record.failures, record.other_failures, record.isolate) == (0, 3, True)
    service.run_s3_event(sqs_event([]))
    assert key in warehouse.ledger


def test_load_errors_naming_a_file_count_only_for_that_file(aws, warehouse, make_service):
    service = make_service("poll")
    good, bad = (aws.put_raw(raw_key(T0_MS, name)) for name in ("good", "bad"))
    warehouse.corrupt = {bad}
    with pytest.raises(LoadsFailed):
        service.run_s3_event(sqs_event([good, bad]))
    records = service.files.failure_records()
    assert (records[bad].failures, records[bad].last_kind) == (1, "content")
    assert (records[good].failures, records[good].last_kind, records[good].isolate) == (
        0,
        "collateral",
        False,
    )
    # Matched by the failed COPY's query id, reported by DescribeStatement in poll mode too.
    assert re.search(r"FROM stl_load_errors WHERE query = \d+", warehouse.queries[-1])


# -- item 5: one lookback, and late files are loaded and counted ---------------------


def test_the_python_lookback_default_is_terraforms():
    variables = (ROOT / "modules/redshift_loader/variables.tf").read_text()
    block = re.search(r'variable "schedule_lookback_hours" \{(.*?)\n\}', variables, re.S)
    assert block, "schedule_lookback_hours is no longer a variable of modules/redshift_loader"
    default = re.search(r"default\s*=\s*(\d+)", block.group(1))
    assert default
    assert LoaderConfig.from_env(base_env()).schedule_lookback_hours == int(default.group(1)) == 24


def test_a_file_older_than_the_lookback_is_reported_pending_and_then_loaded(
    aws, warehouse, make_service, clock
):
    now = _after(clock, 1)
    loaded = aws.put_raw(raw_key(_hour(now), "loaded"))
    warehouse.ledger[loaded] = "earlier"  # the high-water mark is this hour
    late = aws.put_raw(raw_key(_hour(now) - 30 * HOUR_MS, "late"))  # outside 24 h of lookback
    service = make_service()

    status = service.status()
    assert status["pending_files"] == 1 and status["oldest_pending_file"] == late
    assert status["lag_seconds"] >= 3000

    service.run_schedule()
    assert late in warehouse.ledger
    assert service.status()["pending_files"] == 0


# -- item 8: completion events are verified; no row content anywhere ------------------


def _completion_event(load_id: str, statement_id: str, state: str) -> dict:
    event = load_event("statement_failed.json")
    event["detail"].update(statementName=f"ddb_cdc:{TABLE}:{load_id}", statementId=statement_id, state=state)
    return event


def test_forged_completion_events_change_nothing(aws, warehouse, make_service):
    service = make_service("async")
    key = aws.put_raw(raw_key(T0_MS, "loaded"))
    other = aws.put_raw(raw_key(T0_MS, "other"))
    ours = service.run_s3_event(sqs_event([key])).loads[0]["statement_id"]  # FINISHED
    client = service.executor._client
    not_a_load = client.execute_statement(Sql="SELECT 1", Database="dev")["Id"]
    load_id = load_id_for([key])

    forged = {
        "status differs": _completion_event(load_id, ours, "FAILED"),
        "unknown statement": _completion_event(load_id, str(uuid.uuid4()), "FAILED"),
        "another load's statement": _completion_event(load_id_for([other]), ours, "FINISHED"),
        "not a load": _completion_event(load_id, not_a_load, "FINISHED"),
    }
    for name, event in forged.items():
        result = load_completion.process(event, FakeContext(), service)
        assert result["handled"] is False, name

    assert service.files.failure_records() == {}
    assert aws.alerts() == []
    assert "FilesLoaded" not in aws.metric_names()
    assert aws.metric_stats("RejectedCompletionEvents")[0] == len(forged)


def test_a_failed_statement_delivered_again_counts_once(aws, warehouse, make_service):
    """EventBridge delivers at least once, and a real FAILED event can be replayed: one
    failure of one statement must not quarantine a file that needs three (review finding)."""
    service = make_service("async")
    key = aws.put_raw(raw_key(T0_MS, "bad"))
    warehouse.corrupt = {key}
    statement_id = service.run_s3_event(sqs_event([key])).loads[0]["statement_id"]
    event = _completion_event(load_id_for([key]), statement_id, "FAILED")

    results = [load_completion.process(event, FakeContext(), service) for _ in range(3)]

    assert [result.get("quarantined") for result in results] == [[], [], []]
    assert service.files.failure_records()[key].failures == 1
    assert "Contents" in aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=key)
    assert len(aws.alerts()) == 1


def test_load_failure_alerts_and_logs_point_at_file_and_line_not_row_content(
    aws, warehouse, make_service, caplog
):
    key = aws.put_raw(raw_key(T0_MS, "corrupt"))
    url = f"s3://{BUCKET}/{key}"
    warehouse.corrupt = {key}
    warehouse.load_error_rows = [
        (url, 3, "doc", 1207, "Invalid digit, Value 'SECRET-42', Pos 0", '{"card":"SECRET-42"}')
    ]
    service = make_service("async")
    statement_id = service.run_s3_event(sqs_event([key])).loads[0]["statement_id"]
    caplog.set_level(logging.DEBUG, logger="tests.loader")

    result = load_completion.process(
        _completion_event(load_id_for([key]), statement_id, "FAILED"), FakeContext(), service
    )

    assert result["handled"] is True
    [alert] = aws.alerts()
    assert "SECRET" not in json.dumps(alert)
    assert alert["message"]["load_errors"][0]["file"] == url
    assert alert["message"]["load_errors"][0]["line"] == 3
    assert alert["message"]["load_errors_view"] == "stl_load_errors"
    assert "raw_line" not in warehouse.queries[-1] and "raw_field_value" not in warehouse.queries[-1]
    logged = json.dumps([getattr(record, "fields", {}) for record in caplog.records], default=str)
    assert "SECRET" not in logged and url in logged


# -- item 7 (Python half): lag from the oldest unloaded file, on every run ------------


def test_a_run_that_loads_nothing_still_publishes_the_lag(aws, make_service):
    make_service().run_s3_event(sqs_event([]))
    count, largest = aws.metric_stats("ReplicationLagSeconds")
    assert count == 1 and largest == 0.0


def test_the_lag_is_the_age_of_the_oldest_unloaded_file_even_when_the_run_fails(
    aws, warehouse, make_service, clock
):
    service = make_service()
    key = aws.put_raw(raw_key(T0_MS, "stuck"))
    warehouse.down = True
    _after(clock, 2)  # the file was written two hours ago

    with pytest.raises(LoadFailed):
        service.run_s3_event(sqs_event([key]))

    count, largest = aws.metric_stats("ReplicationLagSeconds")
    assert count == 1 and 7000 <= largest <= 7300

    warehouse.down = False
    warehouse.corrupt = {key}
    with pytest.raises(LoadsFailed):
        service.run_s3_event(sqs_event([]))
    count, largest = aws.metric_stats("ReplicationLagSeconds")
    assert count == 2 and largest >= 7000


def test_the_reconcile_trigger_runs_the_sweep_alone(aws, warehouse, make_service, clock):
    lost = aws.put_raw(raw_key(T0_MS, "lost"))
    _after(clock, 1)
    result = loader_handler.process({"trigger": "reconcile"}, FakeContext(), make_service())
    assert result["trigger"] == "reconcile" and result["reconciled"] == 1
    assert lost in warehouse.ledger


def test_a_scheduled_run_that_cannot_read_the_ledger_publishes_no_false_zero(aws, warehouse, make_service):
    warehouse.down = True
    with pytest.raises(LoadFailed):
        make_service().run_schedule()
    assert aws.metric_stats("ReplicationLagSeconds")[0] == 0  # missing data: the alarm treats it as breaching
