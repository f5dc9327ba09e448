"""The checkpoint_table mode: the cursor item's state machine, driven by its own stream."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError
from ddb_cdc.backfill import checkpoint
from ddb_cdc.handlers import backfill_checkpoint

from .conftest import (
    CURSORS,
    HOUR_MS,
    REGION,
    SCAN_ID,
    create_table,
    cursor_table,
    make_rig,
    plain_items,
    put_items,
)


def start_segment(segment: int = 0, total: int = 1) -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=CURSORS,
        Item=checkpoint.initial_item(SCAN_ID, segment, total, HOUR_MS, HOUR_MS + 5),
        ConditionExpression="attribute_not_exists(scan_id)",
    )


def current(segment: int = 0) -> dict[str, Any]:
    return boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=CURSORS, Key=checkpoint.item_key(SCAN_ID, segment), ConsistentRead=True
    )["Item"]


def event_for(image: dict[str, Any], name: str = "MODIFY") -> dict[str, Any]:
    """A cursor-table stream record as Lambda delivers it (NEW_IMAGE, batch size 1)."""
    return {"Records": [{"eventName": name, "dynamodb": {"NewImage": image}}]}


def setup(items: int = 10, **overrides: str) -> Any:
    create_table()
    cursor_table()
    put_items(plain_items(items))
    start_segment()
    return make_rig(CDC_BACKFILL_MODE="checkpoint_table", **overrides)


def step(rig: Any, image: dict[str, Any], timeout_ms: int = 900_000) -> dict[str, list[Any]]:
    return backfill_checkpoint.process(event_for(image), rig.context(timeout_ms), rig.checkpoint_runtime())


def test_each_running_image_advances_the_segment_until_done(aws: None) -> None:
    rig = setup(items=20)
    rig.dynamodb.seconds_per_page = 10
    for _ in range(20):
        image = current()
        if image["state"]["S"] != "RUNNING":
            break
        assert step(rig, image, timeout_ms=60_000) == {"batchItemFailures": []}
    state, status, attempts, error = checkpoint.item_to_state(current())
    assert status == "DONE" and state["done"] is True and state["cursor"] is None
    assert state["items"] == 20 and attempts == 0 and error is None
    assert "cursor" not in current()
    pks = [env["keys"]["pk"] for key in rig.raw_keys() for env in rig.envelopes(key)]
    assert sorted(pks) == [f"k{n:04d}" for n in range(20)]


def test_a_running_segment_stores_its_cursor_as_a_json_string(aws: None) -> None:
    rig = setup(items=20)
    rig.dynamodb.seconds_per_page = 40
    step(rig, current(), timeout_ms=60_000)
    item = current()
    assert item["state"]["S"] == "RUNNING" and item["page"]["N"] == "1"
    assert item["cursor"]["S"].startswith('{"pk":{"S":')


def test_a_fresh_segment_refuses_to_start_when_the_stream_mapping_is_disabled(aws: None) -> None:
    rig = setup(CDC_BACKFILL_MAX_ATTEMPTS="1")
    rig.lambda_client.state = "Disabled"
    step(rig, current())
    _, status, attempts, error = checkpoint.item_to_state(current())
    assert status == "FAILED" and attempts == 1
    assert error is not None and error.startswith("StreamNotCapturing: ")
    assert rig.dynamodb.requests == []


def test_cancel_stops(aws: None) -> None:
    rig = setup(items=20)
    rig.dynamodb.seconds_per_page = 40
    running = current()
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=CURSORS,
        Key=checkpoint.item_key(SCAN_ID, 0),
        UpdateExpression="SET #s = :c",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":c": {"S": "CANCELLED"}},
    )
    # The image that was in flight when the operator cancelled is still delivered.
    assert step(rig, running, timeout_ms=60_000) == {"batchItemFailures": []}
    assert current()["state"]["S"] == "CANCELLED" and current()["page"]["N"] == "0"
    # And the CANCELLED image itself does nothing.
    rig.dynamodb.requests.clear()
    step(rig, current())
    assert rig.dynamodb.requests == []


def test_a_conditional_failure_stops_quietly(aws: None) -> None:
    rig = setup(items=20)
    rig.dynamodb.seconds_per_page = 40
    image = current()
    step(rig, image, timeout_ms=60_000)
    after_first = current()
    # A duplicate delivery of the same image: same pages rewritten, the item advances once.
    assert step(rig, image, timeout_ms=60_000) == {"batchItemFailures": []}
    assert current()["page"] == after_first["page"] == {"N": "1"}


def test_an_error_retries_with_backoff_then_fails(aws: None) -> None:
    rig = setup(CDC_BACKFILL_MAX_ATTEMPTS="3")
    rig.dynamodb.fail_with = ClientError(
        {"Error": {"Code": "InternalServerError", "Message": "try again"}}, "Scan"
    )
    for expected in (1, 2):
        step(rig, current())
        _, status, attempts, error = checkpoint.item_to_state(current())
        assert (status, attempts) == ("RUNNING", expected)
        assert error is not None and error.startswith("ClientError: ")
    assert rig.clock.sleeps == [2, 4]
    step(rig, current())
    _, status, attempts, error = checkpoint.item_to_state(current())
    assert (status, attempts) == ("FAILED", 3)
    assert rig.clock.sleeps == [2, 4]  # no sleep before giving up
    # A FAILED image starts nothing.
    rig.dynamodb.requests.clear()
    step(rig, current())
    assert rig.dynamodb.requests == []


def test_a_success_after_errors_resets_the_attempts(aws: None) -> None:
    rig = setup(items=2)
    rig.dynamodb.fail_with = ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "Scan")
    step(rig, current())
    rig.dynamodb.fail_with = None
    step(rig, current())
    item = current()
    assert item["state"]["S"] == "DONE" and item["attempts"]["N"] == "0" and "error" not in item


def test_backoff_is_capped_at_30_seconds(aws: None) -> None:
    rig = setup(CDC_BACKFILL_MAX_ATTEMPTS="10")
    rig.dynamodb.fail_with = ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "Scan")
    for _ in range(7):
        step(rig, current())
    assert rig.clock.sleeps == [2, 4, 8, 16, 30, 30, 30]


def test_removes_and_inserts_of_other_states_are_ignored(aws: None) -> None:
    rig = setup()
    image = current()
    backfill_checkpoint.process(
        {"Records": [{"eventName": "REMOVE", "dynamodb": {"OldImage": image}}]},
        rig.context(),
        rig.checkpoint_runtime(),
    )
    assert rig.dynamodb.requests == []


def test_the_initial_item_reads_back_as_a_fresh_segment() -> None:
    state, status, attempts, error = checkpoint.item_to_state(
        checkpoint.initial_item(SCAN_ID, 2, 4, HOUR_MS, 7)
    )
    assert state == {
        "scan_id": SCAN_ID,
        "segment": 2,
        "total_segments": 4,
        "page": 0,
        "cursor": None,
        "hour_ms": HOUR_MS,
        "items": 0,
        "bytes": 0,
        "started_ms": 7,
        "updated_ms": 7,
        "done": False,
    }
    assert (status, attempts, error) == ("RUNNING", 0, None)


def _set_state(state: str) -> None:
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=CURSORS,
        Key=checkpoint.item_key(SCAN_ID, 0),
        UpdateExpression="SET #s = :c",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":c": {"S": state}},
    )


def test_a_cancel_during_an_invocation_stops_it_within_a_page_and_a_resume_goes_on_from_there(
    aws: None,
) -> None:
    rig = setup(items=20)  # three items a page
    scan_page = rig.dynamodb.scan

    def scan_then_cancel(**request: Any) -> Any:
        response = scan_page(**request)
        if len(rig.dynamodb.requests) == 2:
            _set_state("CANCELLED")  # the operator's cancel lands while page 2 is being read
        return response

    rig.dynamodb.scan = scan_then_cancel
    step(rig, current())
    state, status, _, _ = checkpoint.item_to_state(current())
    assert status == "CANCELLED" and state["page"] == 2 and state["cursor"] is not None
    assert len(rig.dynamodb.requests) == 2  # no page after the cancel was read

    rig.dynamodb.scan = scan_page
    rig.dynamodb.requests.clear()
    _set_state("RUNNING")  # backfill resume
    step(rig, current())
    assert rig.dynamodb.requests[0]["ExclusiveStartKey"] == {"pk": state["cursor"]["pk"]}


def test_a_stale_record_of_a_segment_that_moved_on_starts_nothing(aws: None) -> None:
    rig = setup(items=20)
    rig.dynamodb.seconds_per_page = 40
    old = current()
    step(rig, old, timeout_ms=60_000)
    _set_state("RUNNING")
    rig.dynamodb.requests.clear()
    step(rig, old, timeout_ms=60_000)  # delivered again after the item advanced
    assert rig.dynamodb.requests == [] and current()["page"] == {"N": "1"}


def test_a_cancel_that_lands_while_the_last_page_is_read_keeps_the_segment_done(aws: None) -> None:
    """The segment ends on the page the cancel interrupts: the stopped progress must say so.

    Before, the stopped invocation stored the end (no cursor) without ``done``, so a resume read the
    whole segment again from its first item and counted every item twice (CI: 2,285 items "written"
    for 1,920 that ever existed).
    """
    rig = setup(items=5)  # pages of three: the second page is the last
    scan_page = rig.dynamodb.scan

    def scan_then_cancel(**request: Any) -> Any:
        response = scan_page(**request)
        if "LastEvaluatedKey" not in response:
            _set_state("CANCELLED")  # the operator's cancel lands while the last page is being read
        return response

    rig.dynamodb.scan = scan_then_cancel
    step(rig, current())
    state, status, _, _ = checkpoint.item_to_state(current())
    assert status == "CANCELLED" and state["done"] is True and state["cursor"] is None
    assert state["items"] == 5

    rig.dynamodb.scan = scan_page
    rig.dynamodb.requests.clear()
    _set_state("RUNNING")  # backfill resume
    step(rig, current())
    state, status, _, _ = checkpoint.item_to_state(current())
    assert rig.dynamodb.requests == []  # nothing is read again
    assert status == "DONE" and state["items"] == 5
