"""The step_functions mode: one segment, page by page, resumable, never ahead of S3."""

from __future__ import annotations

import pytest
from ddb_cdc import layout
from ddb_cdc.backfill import scan
from ddb_cdc.handlers import backfill_scan

from .conftest import BUCKET, HOUR_MS, PREFIX, SCAN_ID, TABLE, create_table, make_rig, plain_items, put_items


def fresh(segment: int = 0, total: int = 1) -> dict[str, object]:
    return scan.fresh_state(SCAN_ID, segment, total, HOUR_MS)


def run_to_done(rig, event, timeout_ms=900_000, limit=100):  # type: ignore[no-untyped-def]
    states = []
    state = event
    for _ in range(limit):
        state = backfill_scan.process(dict(state), rig.context(timeout_ms), rig.scan_runtime())
        states.append(state)
        if state["done"]:
            return states
    raise AssertionError("segment never finished")


def test_a_segment_scans_to_done_writing_one_object_per_page_and_a_progress_record(aws: None) -> None:
    create_table()
    put_items(plain_items(10))
    rig = make_rig()
    (state,) = run_to_done(rig, fresh())
    assert state["done"] is True and state["cursor"] is None
    assert state["items"] == 10 and state["page"] == 4  # 3 + 3 + 3 + 1 (moto ends on the short page)
    keys = rig.raw_keys()
    assert len(keys) == 4
    assert all(f"/raw/{TABLE}/2026/11/30/01/snapshot_{SCAN_ID}_00000_" in key for key in keys)
    envelopes = [env for key in keys for env in rig.envelopes(key)]
    assert sorted(env["keys"]["pk"] for env in envelopes) == [f"k{n:04d}" for n in range(10)]
    assert {env["op"] for env in envelopes} == {"SNAPSHOT"}
    assert {env["seq"] for env in envelopes} == {"0" * 40}
    record = rig.json(layout.progress_key(PREFIX, TABLE, SCAN_ID, 0))
    assert record == state
    assert set(record) == set(scan.STATE_FIELDS)
    assert len(str(state)) < 1024


def test_every_request_is_an_eventually_consistent_segment_page(aws: None) -> None:
    create_table()
    put_items(plain_items(5))
    rig = make_rig()
    run_to_done(rig, fresh(segment=1, total=3))
    first = rig.dynamodb.requests[0]
    assert first["Segment"] == 1 and first["TotalSegments"] == 3
    assert first["Limit"] == 3 and first["ConsistentRead"] is False
    assert first["ReturnConsumedCapacity"] == "TOTAL" and "ExclusiveStartKey" not in first


def test_a_fresh_segment_refuses_to_start_when_the_stream_mapping_is_disabled(aws: None) -> None:
    create_table()
    put_items(plain_items(3))
    rig = make_rig()
    rig.lambda_client.state = "Disabled"
    with pytest.raises(scan.StreamNotCapturing, match="not Enabled"):
        backfill_scan.process(fresh(), rig.context(), rig.scan_runtime())
    assert rig.dynamodb.requests == []
    assert rig.keys(f"{PREFIX}/") == []


def test_a_missing_stream_mapping_also_refuses(aws: None) -> None:
    from botocore.exceptions import ClientError

    class Missing:
        def get_event_source_mapping(self, UUID: str) -> None:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "GetEventSourceMapping")

    with pytest.raises(scan.StreamNotCapturing, match="does not exist"):
        scan.require_capturing(Missing(), "uuid")


def test_a_segment_resumes_from_its_progress_record_never_from_zero(aws: None) -> None:
    create_table()
    put_items(plain_items(20))
    rig = make_rig()
    rig.dynamodb.seconds_per_page = 10  # with a 60 s budget, the first invocation stops after 4 pages
    first = backfill_scan.process(fresh(), rig.context(60_000), rig.scan_runtime())
    assert first["done"] is False and first["page"] == 4 and first["cursor"] is not None
    rig.dynamodb.requests.clear()
    rig.lambda_client.state = "Disabled"  # a resumed segment was checked when it started
    # A new execution (backfill resume) hands the segment its fresh Map input again.
    resumed = backfill_scan.process(fresh(), rig.context(), rig.scan_runtime())
    assert rig.dynamodb.requests[0]["ExclusiveStartKey"] == first["cursor"]
    assert resumed["done"] is True and resumed["items"] == 20
    assert rig.lambda_client.calls == 1
    pks = [env["keys"]["pk"] for key in rig.raw_keys() for env in rig.envelopes(key)]
    assert sorted(pks) == sorted(set(pks)) and len(pks) == 20


def test_a_done_segment_returns_its_record_without_scanning(aws: None) -> None:
    create_table()
    put_items(plain_items(2))
    rig = make_rig()
    (done,) = run_to_done(rig, fresh())
    rig.dynamodb.requests.clear()
    assert backfill_scan.process(fresh(), rig.context(), rig.scan_runtime()) == done
    assert rig.dynamodb.requests == []


def test_a_retried_invocation_continues_from_the_progress_record_never_rereading_a_page(aws: None) -> None:
    create_table()
    put_items(plain_items(40))
    rig = make_rig()
    rig.dynamodb.seconds_per_page = 10
    first = backfill_scan.process(fresh(), rig.context(60_000), rig.scan_runtime())
    assert not first["done"]
    # The state machine's Retry passes the same input again (say the invocation crashed after its
    # last page): the progress record is ahead of that input, so the scan goes on from it.
    rig.dynamodb.requests.clear()
    again = backfill_scan.process(fresh(), rig.context(60_000), rig.scan_runtime())
    assert again["page"] > first["page"]
    assert rig.dynamodb.requests[0]["ExclusiveStartKey"] == scan.cursor_to_request(first["cursor"])
    # The same holds for a mid-segment input that is behind its record.
    rig.dynamodb.requests.clear()
    backfill_scan.process(dict(first), rig.context(60_000), rig.scan_runtime())
    assert rig.dynamodb.requests[0]["ExclusiveStartKey"] == scan.cursor_to_request(again["cursor"])


def test_a_page_read_again_over_the_same_range_overwrites_its_own_object(aws: None) -> None:
    create_table()
    put_items(plain_items(40))
    rig = make_rig()
    rig.dynamodb.seconds_per_page = 10
    backfill_scan.process(fresh(), rig.context(60_000), rig.scan_runtime())
    keys = set(rig.raw_keys())
    # Without its progress record (never written: the invocation died first) the segment starts
    # again from zero; unchanged ranges rebuild the same names, so nothing is added.
    rig.s3.delete_object(Bucket=BUCKET, Key=layout.progress_key(PREFIX, TABLE, SCAN_ID, 0))
    backfill_scan.process(fresh(), rig.context(60_000), rig.scan_runtime())
    assert set(rig.raw_keys()) == keys


def test_a_retried_page_whose_range_changed_gets_a_new_name(aws: None) -> None:
    create_table()
    put_items(plain_items(9))
    rig = make_rig()
    rig.dynamodb.seconds_per_page = 40  # one page per invocation
    state = backfill_scan.process(fresh(), rig.context(60_000), rig.scan_runtime())
    backfill_scan.process(dict(state), rig.context(60_000), rig.scan_runtime())
    before = set(rig.raw_keys())
    (page_1,) = [key for key in before if "_00000001_" in key]
    # An item inside page 1 is deleted; a retry of that invocation ends its page one item later.
    rig.dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": rig.envelopes(page_1)[1]["keys"]["pk"]}})
    # (Its progress record is set back, as if that invocation had died before recording page 1.)
    rig.s3.put_object(
        Bucket=BUCKET, Key=layout.progress_key(PREFIX, TABLE, SCAN_ID, 0), Body=scan.progress_body(state)
    )
    backfill_scan.process(dict(state), rig.context(60_000), rig.scan_runtime())
    new = set(rig.raw_keys()) - before
    assert len(new) == 1 and "_00000001_" in next(iter(new))
    # The older object stays; the loader keeps the later read of a key, so the overlap is harmless.
    assert page_1 in rig.raw_keys()


def test_the_time_budget_stops_before_the_lambda_timeout(aws: None) -> None:
    create_table()
    put_items(plain_items(60))
    rig = make_rig()
    rig.dynamodb.seconds_per_page = 15  # margin = max(30 s, 3 x 15 s) = 45 s
    context = rig.context(120_000)
    state = backfill_scan.process(fresh(), context, rig.scan_runtime())
    assert state["done"] is False
    # 120 -> 105 -> 90 -> 75 -> 60 -> 45 s left: the sixth page would start with 45 s
    # left, which is not below the margin; the seventh would start with 30 s left.
    assert state["page"] == 6
    assert context.get_remaining_time_in_millis() >= 15_000
    assert scan.margin_ms(15_000) == 45_000 and scan.margin_ms(1_000) == 30_000


def test_every_invocation_reads_at_least_one_page(aws: None) -> None:
    create_table()
    put_items(plain_items(6))
    rig = make_rig()
    state = backfill_scan.process(fresh(), rig.context(10_000), rig.scan_runtime())
    assert state["page"] == 1


def test_the_rate_limit_holds_read_units_per_second_across_a_segment(aws: None) -> None:
    create_table()
    put_items(plain_items(30))
    rig = make_rig(CDC_BACKFILL_READ_UNITS_PER_SECOND="2")
    run_to_done(rig, fresh())
    # moto reports 1 read unit per Scan call: 10 pages at 2 units/s need >= 4.5 s of waiting
    # (every page but the first waits for the one before it).
    pages = len(rig.dynamodb.requests)
    assert pages == 10
    assert rig.clock.seconds >= (pages - 1) / 2 - 1e-9


def test_segments_together_cover_every_item_exactly_once(aws: None) -> None:
    create_table()
    put_items(plain_items(40))
    rig = make_rig()
    for segment in range(4):
        run_to_done(rig, fresh(segment, 4))
    pks = [env["keys"]["pk"] for key in rig.raw_keys() for env in rig.envelopes(key)]
    assert sorted(pks) == [f"k{n:04d}" for n in range(40)]
    assert len({key.split("_")[2] for key in rig.raw_keys()}) > 1  # moto spreads items over segments


def test_a_binary_key_cursor_round_trips_through_the_json_state(aws: None) -> None:
    create_table(key_type="B")
    put_items([{"pk": {"B": bytes([n, 0, 255])}, "v": {"N": str(n)}} for n in range(7)])
    rig = make_rig(CDC_BACKFILL_PAGE_SIZE="2")
    # moto 5.2.5 gap: its segment hash calls .encode on the hash key value, which fails for
    # a binary key (dynamo_type.py, is_within_segment); with one segment the parameters
    # change nothing, so the wrapper leaves them out for moto after recording them.
    rig.dynamodb.strip_segments = True
    rig.dynamodb.seconds_per_page = 2
    states = run_to_done(rig, fresh(), timeout_ms=31_000)  # one page per invocation
    assert len(states) >= 4 and states[-1]["items"] == 7
    assert isinstance(states[0]["cursor"]["pk"]["B"], str)  # base64 text in the state
    assert isinstance(rig.dynamodb.requests[1]["ExclusiveStartKey"]["pk"]["B"], bytes)


def test_an_item_without_its_key_is_quarantined_alone_and_the_page_still_written(aws: None) -> None:
    create_table()
    put_items(plain_items(3))
    rig = make_rig(CDC_KEY_NAMES="pk,missing")
    (state,) = run_to_done(rig, fresh())
    assert state["items"] == 0
    quarantined = rig.keys(f"{PREFIX}/quarantine/{TABLE}/")
    assert len(quarantined) == 3
    body = rig.json(quarantined[0])
    assert body["reason"] == "item lacks a key attribute" and "Item" in body["record"]


def test_summarize_names_failed_segments_with_their_progress_and_the_resume_command(aws: None) -> None:
    create_table()
    put_items(plain_items(12))
    rig = make_rig()
    rig.dynamodb.seconds_per_page = 20
    partial = backfill_scan.process(fresh(1, 2), rig.context(60_000), rig.scan_runtime())
    done = {**partial, "segment": 0, "done": True, "cursor": None, "items": 5, "bytes": 50}
    failure = {
        "segment": 1,
        "failed": True,
        "error": {"Error": "States.Timeout", "Cause": '{"errorMessage": "Task timed out"}'},
    }
    summary = backfill_scan.process(
        {"action": "summarize", "scan_id": SCAN_ID, "results": [done, failure]},
        rig.context(),
        rig.scan_runtime(),
    )
    assert summary["failed"] == [1]
    assert summary["items"] == 5 + partial["items"]
    assert f"segment 1: States.Timeout: Task timed out; page {partial['page']}" in summary["cause"]
    assert f"backfill resume --scan-id {SCAN_ID} --function orders-backfill" in summary["cause"]


def test_summarize_keeps_the_cause_under_the_step_functions_limit() -> None:
    failures = [
        {"segment": n, "failed": True, "error": {"Error": "Boom", "Cause": "x" * 5000}} for n in range(1000)
    ]
    summary = scan.summarize(SCAN_ID, failures, resume_command="resume")
    assert len(summary["failed"]) == 1000
    assert len(summary["cause"]) <= scan.MAX_CAUSE_CHARS
    assert summary["cause"].rstrip().endswith("more")


def test_summarize_of_a_clean_run_has_no_failures() -> None:
    results = [{"segment": n, "done": True, "items": 2, "bytes": 10} for n in range(3)]
    assert scan.summarize(SCAN_ID, results, resume_command="r") == {
        "scan_id": SCAN_ID,
        "failed": [],
        "cause": "all 3 done",
        "items": 6,
        "bytes": 30,
    }


def test_a_progress_record_of_another_scan_shape_is_refused(aws: None) -> None:
    create_table()
    rig = make_rig()
    key = layout.progress_key(PREFIX, TABLE, SCAN_ID, 0)
    body = scan.progress_body(
        {**fresh(0, 2), "page": 1, "cursor": None, "items": 0, "bytes": 0, "done": False}
    )
    rig.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    with pytest.raises(scan.BadSegmentState):
        backfill_scan.process(fresh(0, 3), rig.context(), rig.scan_runtime())
