"""Backfill, ``checkpoint_table`` mode: a cursor table drives the segments, no Step Functions.

One item per segment (``scan_id`` S hash, ``segment`` N range) holds the segment state
plus ``state`` (RUNNING | DONE | FAILED | CANCELLED), ``attempts`` and ``error``; the
cursor is a JSON string attribute ``cursor``, absent when null. The table's stream
(NEW_IMAGE, batch size 1) invokes the function for every write, so writing RUNNING is
what schedules the next invocation::

    RUNNING --scan pages, time budget--> RUNNING (cursor moved) ... --> DONE
       |  error: attempts+1, sleep, RUNNING again (retriggers) ... attempts exhausted --> FAILED
       '-- the CLI writes CANCELLED; the running invocation's conditional write then fails

Every write is conditional on ``state = RUNNING AND page = <the page this invocation
started from>``: a cancelled segment is not brought back to life, and a duplicate
delivery of one image (two invocations of the same step) advances the segment once;
the loser stops quietly. Both wrote the same page objects under the same names.

An invocation first reads the item itself (consistently) and runs only if it is still
RUNNING at the page its record carries, so a stale or redelivered record starts nothing.
A cancel takes effect within a page: the loop reads the item's state after every page,
stops when it is no longer RUNNING, and records how far it got without changing the
state (CANCELLED stays CANCELLED), so a resume continues from there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from botocore import exceptions as botocore_errors

from ddb_cdc import obs
from ddb_cdc.backfill import scan
from ddb_cdc.backfill.config import BackfillConfig

RUNNING: Final = "RUNNING"
DONE: Final = "DONE"
FAILED: Final = "FAILED"
CANCELLED: Final = "CANCELLED"
STATES: Final = (RUNNING, DONE, FAILED, CANCELLED)
MAX_BACKOFF_S: Final = 30
_NUMBER_FIELDS: Final = (
    "segment",
    "total_segments",
    "page",
    "hour_ms",
    "items",
    "bytes",
    "started_ms",
    "updated_ms",
    "attempts",
)
_MAX_ERROR: Final = 500
_NAMES: Final = {
    "#state": "state",
    "#page": "page",
    "#items": "items",
    "#bytes": "bytes",
    "#cursor": "cursor",
    "#hour": "hour_ms",
    "#updated": "updated_ms",
    "#started": "started_ms",
    "#done": "done",
    "#attempts": "attempts",
    "#error": "error",
}


def item_key(scan_id: str, segment: int) -> dict[str, Any]:
    return {"scan_id": {"S": scan_id}, "segment": {"N": str(segment)}}


def initial_item(
    scan_id: str, segment: int, total_segments: int, hour_ms: int, now_ms: int
) -> dict[str, Any]:
    """The cursor item the CLI puts to start a segment (page 0, no cursor: the handler checks the mapping).

    Put it with ``ConditionExpression="attribute_not_exists(scan_id)"`` so a repeated
    start cannot reset a segment that already moved.
    """
    return {
        **item_key(scan_id, segment),
        "total_segments": {"N": str(total_segments)},
        "page": {"N": "0"},
        "hour_ms": {"N": str(hour_ms)},
        "items": {"N": "0"},
        "bytes": {"N": "0"},
        "started_ms": {"N": str(now_ms)},
        "updated_ms": {"N": str(now_ms)},
        "done": {"BOOL": False},
        "state": {"S": RUNNING},
        "attempts": {"N": "0"},
    }


def item_to_state(image: Mapping[str, Any]) -> tuple[dict[str, Any], str, int, str | None]:
    """A cursor item (DynamoDB JSON: a stream NewImage or a GetItem result) as
    ``(segment state, state, attempts, error)``."""
    try:
        fields: dict[str, Any] = {"scan_id": image["scan_id"]["S"]}
        for name in _NUMBER_FIELDS:
            if name in image:
                fields[name] = int(image[name]["N"])
        fields["done"] = bool(image.get("done", {}).get("BOOL", False))
        cursor_text = image.get("cursor", {}).get("S")
        fields["cursor"] = json.loads(cursor_text) if cursor_text else None
        status = image["state"]["S"]
        error = image.get("error", {}).get("S")
    except (KeyError, TypeError, ValueError, AttributeError):
        raise scan.BadSegmentState("cursor item is not a segment state") from None
    if status not in STATES:
        raise scan.BadSegmentState(f"cursor item state must be one of {', '.join(STATES)}")
    attempts = fields.pop("attempts", 0)
    return scan.check_state(fields), status, attempts, error


def _conditional_failed(exc: botocore_errors.ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _update(
    dynamodb: Any,
    table: str,
    state: Mapping[str, Any],
    page_read: int,
    sets: dict[str, Any],
    removes: list[str],
    expected: str = RUNNING,
) -> bool:
    """One conditional UpdateItem; False when the condition failed (cancelled or already advanced)."""
    values = {":running": {"S": expected}, ":page_read": {"N": str(page_read)}}
    assignments = []
    for number, (name, value) in enumerate(sets.items()):
        values[f":v{number}"] = value
        assignments.append(f"{name} = :v{number}")
    expression = "SET " + ", ".join(assignments)
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    used = {name: _NAMES[name] for name in _NAMES if name in expression or name in ("#state", "#page")}
    try:
        dynamodb.update_item(
            TableName=table,
            Key=item_key(state["scan_id"], state["segment"]),
            UpdateExpression=expression,
            ConditionExpression="#state = :running AND #page = :page_read",
            ExpressionAttributeNames=used,
            ExpressionAttributeValues=values,
        )
    except botocore_errors.ClientError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def _position(state: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The SET and REMOVE parts that store how far a segment got (cursor, page, counters, done).

    ``done`` travels with the cursor: a stopped invocation whose last page ended the segment stores
    no cursor, and without ``done`` a resume would read the segment again from its first item.
    """
    sets: dict[str, Any] = {
        "#done": {"BOOL": bool(state["done"])},
        "#page": {"N": str(state["page"])},
        "#items": {"N": str(state["items"])},
        "#bytes": {"N": str(state["bytes"])},
        "#hour": {"N": str(state["hour_ms"])},
        "#updated": {"N": str(state["updated_ms"])},
        "#started": {"N": str(state["started_ms"])},
    }
    removes: list[str] = []
    if state["cursor"] is None:
        removes.append("#cursor")
    else:
        sets["#cursor"] = {"S": json.dumps(state["cursor"], separators=(",", ":"))}
    return sets, removes


def record_progress(dynamodb: Any, table: str, state: Mapping[str, Any], page_read: int) -> bool:
    """Advance the item to ``state`` (RUNNING, or DONE at the end); resets attempts and error."""
    sets, removes = _position(state)
    sets["#state"] = {"S": DONE if state["done"] else RUNNING}
    sets["#attempts"] = {"N": "0"}
    return _update(dynamodb, table, state, page_read, sets, [*removes, "#error"])


def record_failure(
    dynamodb: Any,
    table: str,
    state: Mapping[str, Any],
    *,
    attempts: int,
    error: str,
    final: bool,
    now_ms: int,
) -> bool:
    """RUNNING with the attempt count (which retriggers), or FAILED when attempts are used up."""
    sets = {
        "#attempts": {"N": str(attempts)},
        "#error": {"S": error[:_MAX_ERROR]},
        "#updated": {"N": str(now_ms)},
        "#state": {"S": FAILED if final else RUNNING},
    }
    return _update(dynamodb, table, state, state["page"], sets, [])


def current_status(dynamodb: Any, table: str, scan_id: str, segment: int) -> tuple[str, int] | None:
    """(state, page) of the item as it is now, or None if it is gone."""
    item = dynamodb.get_item(
        TableName=table,
        Key=item_key(scan_id, segment),
        ConsistentRead=True,
        ProjectionExpression="#state, #page",
        ExpressionAttributeNames={"#state": "state", "#page": "page"},
    ).get("Item")
    if not item:
        return None
    return item["state"]["S"], int(item["page"]["N"])


def record_stopped_progress(dynamodb: Any, table: str, state: Mapping[str, Any], page_read: int) -> bool:
    """How far a cancelled invocation got, leaving the state CANCELLED."""
    sets, removes = _position(state)
    return _update(dynamodb, table, state, page_read, sets, removes, expected=CANCELLED)


def error_text(exc: BaseException) -> str:
    """Exception class and message; our messages and botocore's name no item contents."""
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]


def process_record(
    record: Mapping[str, Any],
    *,
    config: BackfillConfig,
    services: scan.Services,
    remaining_ms: Callable[[], int],
    clock: scan.Clock,
    log: logging.Logger,
) -> str:
    """Handle one stream record of the cursor table; returns what happened (for logs and tests)."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return "ignored"
    image = (record.get("dynamodb") or {}).get("NewImage")
    if not isinstance(image, Mapping):
        raise scan.BadSegmentState("cursor table stream record has no NewImage (stream view type NEW_IMAGE)")
    state, status, attempts, _ = item_to_state(image)
    if status != RUNNING:
        return "ignored"
    table = config.cursor_table
    if table is None:
        raise scan.BadSegmentState("CDC_BACKFILL_CURSOR_TABLE is not set")
    where = {"scan_id": state["scan_id"], "segment": state["segment"], "page": state["page"]}
    if current_status(services.dynamodb, table, state["scan_id"], state["segment"]) != (
        RUNNING,
        state["page"],
    ):
        obs.log(log, logging.INFO, "stale cursor record: the segment was cancelled or moved on", **where)
        return "ignored"

    def still_running(_: Mapping[str, Any]) -> bool:
        now = current_status(services.dynamodb, table, state["scan_id"], state["segment"])
        return now is not None and now[0] == RUNNING

    try:
        if scan.is_fresh(state):
            scan.require_capturing(services.lambda_client, config.mapping_uuid)
        new_state = scan.run_segment(
            state,
            config=config,
            dynamodb=services.dynamodb,
            store=services.store,
            remaining_ms=remaining_ms,
            clock=clock,
            log=log,
            after_page=still_running,
        )
    except Exception as exc:
        attempts += 1
        final = attempts >= config.max_attempts
        obs.log(
            log,
            logging.ERROR,
            "segment invocation failed",
            error=error_text(exc),
            attempts=attempts,
            gives_up=final,
            **where,
        )
        if not final:
            # Backing off inside the invocation: the retrigger is the write below, so
            # there is nothing else to delay it with.
            # Never so long that the failure could not be recorded before the timeout.
            room_s = max(0.0, (remaining_ms() - scan.MIN_MARGIN_MS) / 1000)
            clock.sleep(min(2**attempts, MAX_BACKOFF_S, room_s))
        written = record_failure(
            dynamodb=services.dynamodb,
            table=table,
            state=state,
            attempts=attempts,
            error=error_text(exc),
            final=final,
            now_ms=clock.now_ms(),
        )
        if not written:
            obs.log(log, logging.INFO, "segment was cancelled or moved on; stopping", **where)
            return "stopped"
        return "failed" if final else "retrying"
    if not record_progress(services.dynamodb, table, new_state, state["page"]):
        kept = record_stopped_progress(services.dynamodb, table, new_state, state["page"])
        obs.log(log, logging.INFO, "segment was cancelled or moved on; stopping", progress_kept=kept, **where)
        return "stopped"
    return "done" if new_state["done"] else "continued"
