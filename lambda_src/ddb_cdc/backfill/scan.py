"""The segment loop: one parallel-Scan segment, page by page, until the time budget ends.

Every mode that scans (``step_functions`` and ``checkpoint_table``) drives this loop
with the same segment state (see the spec shared with the CLI and Terraform)::

    {"scan_id", "segment", "total_segments", "page", "cursor", "hour_ms",
     "items", "bytes", "started_ms", "updated_ms", "done"}

``page`` counts the Scan pages done (an empty page writes no object, but still counts,
so every invocation that makes progress changes it); ``cursor`` is the
``LastEvaluatedKey`` to continue from, as DynamoDB JSON with binary values as base64
text so that the state stays plain JSON; ``hour_ms`` places the objects the *next*
invocation writes (an invocation uses the value it was given, so a retried invocation
rebuilds the same keys, and returns the time it ended as the next one's).

Correctness rests on one precondition (DESIGN.md, backfill semantics): the stream
mapping was capturing before the segment read its first page. A fresh segment checks
that and refuses with :class:`StreamNotCapturing`; a resumed one was checked when it
started. A segment resumes from its cursor, never from zero.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from botocore import exceptions as botocore_errors

from ddb_cdc import adapters, layout, obs
from ddb_cdc.backfill import pages, rate
from ddb_cdc.backfill.config import BackfillConfig

MIN_MARGIN_MS: Final = 30_000
SLOW_PAGE_FACTOR: Final = 3
STATE_FIELDS: Final = (
    "scan_id",
    "segment",
    "total_segments",
    "page",
    "cursor",
    "hour_ms",
    "items",
    "bytes",
    "started_ms",
    "updated_ms",
    "done",
)
MAX_CAUSE_CHARS: Final = 30_000
_MAX_ERROR_CHARS: Final = 400
_MAX_CURSOR_CHARS: Final = 600


class StreamNotCapturing(Exception):  # the class name is the Step Functions error name
    """The stream mapping is missing or not Enabled, so a snapshot could miss concurrent changes."""


class BadSegmentState(ValueError):
    """An event or progress record that is not a segment state of this scan."""


# ---------------------------------------------------------------------------
# State and cursors
# ---------------------------------------------------------------------------


def cursor_to_json(last_evaluated_key: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A ``LastEvaluatedKey`` as plain JSON: binary key values become base64 text."""
    if not last_evaluated_key:
        return None
    out: dict[str, Any] = {}
    for name, attr in last_evaluated_key.items():
        ((tag, value),) = attr.items()
        if tag == "B" and isinstance(value, bytes | bytearray):
            value = base64.b64encode(bytes(value)).decode("ascii")
        out[name] = {tag: value}
    return out


def cursor_to_request(cursor: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A JSON cursor as boto3's ``ExclusiveStartKey``: binary values back to bytes.

    boto3 base64-encodes a blob itself, so base64 text passed through would be
    encoded twice and name a key that does not exist.
    """
    if not cursor:
        return None
    out: dict[str, Any] = {}
    for name, attr in cursor.items():
        ((tag, value),) = attr.items()
        out[name] = {tag: base64.b64decode(value) if tag == "B" and isinstance(value, str) else value}
    return out


def _int_field(state: Mapping[str, Any], name: str, low: int = 0) -> int:
    value = state.get(name)
    if type(value) is not int or value < low:
        raise BadSegmentState(f"segment state field {name} must be an integer >= {low}")
    return value


def fresh_state(scan_id: str, segment: int, total_segments: int, hour_ms: int) -> dict[str, Any]:
    """What the state machine's Map hands a segment's first invocation."""
    return {"scan_id": scan_id, "segment": segment, "total_segments": total_segments, "hour_ms": hour_ms}


def check_state(event: Mapping[str, Any]) -> dict[str, Any]:
    """The segment state fields of ``event``, validated; a fresh state gets its defaults.

    Anything else in the event (``action``, an error from a Catch) is dropped.
    """
    scan_id = layout.check_scan_id(event.get("scan_id"))
    total = _int_field(event, "total_segments", 1)
    segment = _int_field(event, "segment")
    if segment >= total or total > 1_000_000:
        raise BadSegmentState("segment must be below total_segments")
    state: dict[str, Any] = {
        "scan_id": scan_id,
        "segment": segment,
        "total_segments": total,
        "page": _int_field(event, "page") if "page" in event else 0,
        "cursor": event.get("cursor"),
        "hour_ms": _int_field(event, "hour_ms"),
        "items": _int_field(event, "items") if "items" in event else 0,
        "bytes": _int_field(event, "bytes") if "bytes" in event else 0,
        "started_ms": event.get("started_ms"),
        "updated_ms": event.get("updated_ms"),
        "done": event.get("done") is True,
    }
    cursor = state["cursor"]
    if cursor is not None and not (
        isinstance(cursor, dict)
        and cursor
        and all(
            isinstance(v, dict) and len(v) == 1 and next(iter(v)) in ("S", "N", "B") for v in cursor.values()
        )
    ):
        raise BadSegmentState("cursor must be null or a DynamoDB JSON key")
    if state["done"] and cursor is not None:
        raise BadSegmentState("a done segment has no cursor")
    return state


def is_fresh(state: Mapping[str, Any]) -> bool:
    """Page 0 and no cursor: nothing read yet, so the mapping check is due."""
    return state.get("page", 0) == 0 and state.get("cursor") is None


# ---------------------------------------------------------------------------
# I/O around the loop
# ---------------------------------------------------------------------------


def require_capturing(lambda_client: Any, mapping_uuid: str) -> None:
    """Raise :class:`StreamNotCapturing` unless the stream mapping's State is ``Enabled``."""
    try:
        state = lambda_client.get_event_source_mapping(UUID=mapping_uuid).get("State")
    except botocore_errors.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise StreamNotCapturing(
                f"stream mapping {mapping_uuid} does not exist; apply the module's capture path first"
            ) from None
        raise
    if state != "Enabled":
        raise StreamNotCapturing(
            f"stream mapping {mapping_uuid} is {state}, not Enabled: changes made during the scan could be "
            "missed; enable the mapping, then start or resume the backfill"
        )


def read_progress(s3_client: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """A JSON control record under ``backfill/`` (a segment's progress, or the scan record the
    CLI writes), or None when there is none yet."""
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore_errors.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    record = json.loads(body)
    if not isinstance(record, dict):
        raise BadSegmentState(f"control record {key} is not a JSON object")
    return record


def read_progress_records(
    s3_client: Any, bucket: str, prefix: str, table: str, scan_id: str, total_segments: int
) -> dict[int, dict[str, Any] | None]:
    """Every segment's progress record (None where a segment has not returned yet); for status and resume."""
    return {
        segment: read_progress(s3_client, bucket, layout.progress_key(prefix, table, scan_id, segment))
        for segment in range(total_segments)
    }


def progress_body(state: Mapping[str, Any]) -> bytes:
    return json.dumps({name: state.get(name) for name in STATE_FIELDS}, separators=(",", ":")).encode("ascii")


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clock:
    """Time as the loop sees it; tests pass fakes so that nothing really sleeps."""

    now_ms: Callable[[], int]  # wall clock, epoch milliseconds: envelope stamps and hour_ms
    monotonic: Callable[[], float]  # seconds: page durations and the rate limit
    sleep: Callable[[float], None]


def margin_ms(slowest_page_ms: float) -> float:
    """Time kept back at the end of an invocation: max(30 s, 3 x the slowest page so far)."""
    return max(MIN_MARGIN_MS, SLOW_PAGE_FACTOR * slowest_page_ms)


def run_segment(
    state: Mapping[str, Any],
    *,
    config: BackfillConfig,
    dynamodb: Any,
    store: adapters.ObjectStore,
    remaining_ms: Callable[[], int],
    clock: Clock,
    log: logging.Logger,
    after_page: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """Scan pages from ``state`` until the segment ends or the time budget does; the new state.

    At least one page is read per call, so every invocation makes progress; after that a
    page starts only if the time left, less any wait the rate limit imposes, still
    exceeds :func:`margin_ms`. Each page becomes one object (written before the state
    moves past it), so whatever happens next, the returned cursor never skips an item.
    ``after_page`` sees the state after each page (to record it, or to learn of a
    cancel): returning False ends the invocation there.
    """
    current = check_state(state)
    if current["done"]:
        return current
    now = clock.now_ms()
    if current["started_ms"] is None:
        current["started_ms"] = now
    limiter = rate.ReadLimiter(config.read_units_per_second, clock=clock.monotonic, sleep=clock.sleep)
    slowest_ms = 0.0
    pages_read = 0
    while not current["done"]:
        if pages_read and remaining_ms() - limiter.delay() * 1000 < margin_ms(slowest_ms):
            break
        limiter.wait()
        started = clock.monotonic()
        request: dict[str, Any] = {
            "TableName": config.table_name,
            "Limit": config.page_size,
            "Segment": current["segment"],
            "TotalSegments": current["total_segments"],
            "ConsistentRead": False,
            "ReturnConsumedCapacity": "TOTAL",
        }
        start_cursor = current["cursor"]
        if start_cursor is not None:
            request["ExclusiveStartKey"] = cursor_to_request(start_cursor)
        response = dynamodb.scan(**request)
        read_ms = clock.now_ms()
        limiter.spend(rate.page_units(response))
        end_cursor = cursor_to_json(response.get("LastEvaluatedKey"))
        name = layout.snapshot_object_name(
            current["scan_id"], current["segment"], current["page"], start_cursor, end_cursor
        )
        plan = pages.plan_page(
            response.get("Items") or [],
            key_names=config.key_names,
            table=config.table_name,
            prefix=config.prefix,
            name=name,
            hour_ms=current["hour_ms"],
            read_ms=read_ms,
        )
        write_plan(
            plan, store, log, scan_id=current["scan_id"], segment=current["segment"], page=current["page"]
        )
        current["page"] += 1
        current["cursor"] = end_cursor
        current["done"] = end_cursor is None
        if plan.object is not None:
            current["items"] += plan.object.items
            current["bytes"] += plan.object.ndjson_bytes
        pages_read += 1
        slowest_ms = max(slowest_ms, (clock.monotonic() - started) * 1000)
        current["updated_ms"] = clock.now_ms()
        if after_page is not None and not after_page(current):
            break
    current["updated_ms"] = current["hour_ms"] = clock.now_ms()
    obs.log(
        log,
        logging.INFO,
        "segment invocation finished",
        scan_id=current["scan_id"],
        segment=current["segment"],
        pages=pages_read,
        page=current["page"],
        items=current["items"],
        bytes=current["bytes"],
        done=current["done"],
        read_units=limiter.spent,
        throttled_seconds=round(limiter.slept, 3),
        slowest_page_ms=round(slowest_ms),
    )
    return current


def write_plan(plan: pages.PagePlan, store: adapters.ObjectStore, log: logging.Logger, **where: Any) -> None:
    """Write a page's object, then its quarantined items (each logged by reason, never by content)."""
    if plan.object is not None:
        store.put(
            plan.object.key,
            plan.object.body,
            content_type="application/gzip",
            metadata={"envelope-version": "1", "record-count": str(plan.object.items)},
        )
    for item in plan.quarantined:
        store.put(item.key, item.body, content_type="application/json", metadata={})
        obs.log(
            log, logging.WARNING, "backfill item quarantined", reason=item.reason, s3_key=item.key, **where
        )


# ---------------------------------------------------------------------------
# Summarize (the scan and export machines' last step)
# ---------------------------------------------------------------------------


def _error_text(error: Any) -> str:
    """``Error: message`` from a Catch's error object, the Lambda cause JSON unwrapped; the
    state machines pass only the error's name (a string), to keep the Map's results small."""
    if isinstance(error, str) and error:
        return error[:_MAX_ERROR_CHARS]
    if not isinstance(error, Mapping):
        return "unknown error"
    name = str(error.get("Error") or "Error")
    cause = error.get("Cause")
    message = cause
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except ValueError:
            parsed = None
        if isinstance(parsed, Mapping) and "errorMessage" in parsed:
            message = parsed.get("errorMessage")
    text = f"{name}: {message}" if message else name
    return text[:_MAX_ERROR_CHARS]


def _unit(result: Mapping[str, Any]) -> Any:
    """What a result is about: its segment (scan) or its first data file (export batch)."""
    return result.get("segment", result.get("first"))


def summarize(
    scan_id: str,
    results: Iterable[Any],
    *,
    resume_command: str,
    progress: Callable[[int], Mapping[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """Fold the Map's results into ``{"scan_id", "failed", "cause", "items", "bytes"}``.

    A result is a returned state (counted) or a Catch's failure record
    ``{"segment", "failed": true, "error": {...}}``, which no longer carries the
    segment's page and cursor; ``progress`` looks them up (the S3 progress record) so
    that the cause says where each failed segment stands.
    """
    failed: list[Any] = []
    lines: list[str] = []
    items = size = total = 0
    for result in results:
        total += 1
        if not isinstance(result, Mapping):
            failed.append(None)
            lines.append("a result that is not an object")
            continue
        if result.get("failed") is not True and result.get("done") is True:
            items += int(result.get("items") or 0)
            size += int(result.get("bytes") or 0)
            continue
        unit = _unit(result)
        failed.append(unit)
        where: Mapping[str, Any] = result
        if progress is not None and type(unit) is int and "page" not in result:
            where = progress(unit) or {}
            items += int(where.get("items") or 0)
            size += int(where.get("bytes") or 0)
        why = _error_text(result.get("error")) if result.get("failed") is True else "returned without done"
        label = "segment" if "segment" in result else "batch from file"
        page = where.get("page", where.get("next"))
        cursor = json.dumps(where.get("cursor"), separators=(",", ":"))[:_MAX_CURSOR_CHARS]
        lines.append(f"{label} {unit}: {why}; page {page}, cursor {cursor}")
    if not failed:
        cause = f"all {total} done"
    else:
        head = f"{len(failed)} of {total} failed (scan {scan_id}). Resume with: {resume_command}"
        cause = head
        for shown, line in enumerate(lines):
            more = f"\n... and {len(lines) - shown} more"
            if len(cause) + 1 + len(line) + len(more) > MAX_CAUSE_CHARS:
                cause += more
                break
            cause += "\n" + line
    return {
        "scan_id": scan_id,
        "failed": failed,
        "cause": cause[:MAX_CAUSE_CHARS],
        "items": items,
        "bytes": size,
    }


def resume_command(scan_id: str, function_name: str | None) -> str:
    command = f"python -m ddb_cdc.cli backfill resume --scan-id {scan_id}"
    return f"{command} --function {function_name}" if function_name else command


# ---------------------------------------------------------------------------
# One step_functions invocation
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Services:
    """The clients a backfill invocation uses, built by the handler."""

    s3: Any
    store: adapters.ObjectStore
    dynamodb: Any
    lambda_client: Any


def scan_step(
    event: Mapping[str, Any],
    *,
    config: BackfillConfig,
    services: Services,
    remaining_ms: Callable[[], int],
    clock: Clock,
    log: logging.Logger,
) -> dict[str, Any]:
    """One invocation of the step_functions mode: resume, refuse or start, scan, record progress.

    An event without ``page`` is a segment's first invocation in this execution: its
    S3 progress record decides (continue from it, return it if done); without one the
    segment is fresh and starts only if the stream mapping is capturing. The progress
    record is written after every page, after the page's object, so it never claims
    more than S3 holds and a crashed, timed-out or cancelled invocation loses at most
    the page it was reading: a retry (the state machine's Retry passes the same input
    again) or a resume continues from the record whenever it is ahead of the input.
    """
    state = dict(event)
    state.pop("action", None)
    key = layout.progress_key(
        config.prefix,
        config.table_name,
        layout.check_scan_id(state.get("scan_id")),
        _int_field(state, "segment"),
    )
    record = read_progress(services.s3, config.bucket, key)
    if "page" in state and record is not None and _ahead(check_state(record), check_state(state)):
        obs.log(log, logging.INFO, "segment continues from its progress record", page=record["page"])
        state = record
    elif "page" not in state:
        if record is not None:
            record = check_state(record)
            if (record["scan_id"], record["segment"], record["total_segments"]) != (
                state.get("scan_id"),
                state.get("segment"),
                state.get("total_segments"),
            ):
                raise BadSegmentState(f"progress record {key} belongs to another scan or segment count")
            if record["done"]:
                return record
            state = record
            obs.log(
                log,
                logging.INFO,
                "segment resumed",
                scan_id=record["scan_id"],
                segment=record["segment"],
                page=record["page"],
            )
        else:
            require_capturing(services.lambda_client, config.mapping_uuid)

    def record(current: dict[str, Any]) -> bool:
        services.store.put(key, progress_body(current), content_type="application/json", metadata={})
        return True

    new_state = run_segment(
        state,
        config=config,
        dynamodb=services.dynamodb,
        store=services.store,
        remaining_ms=remaining_ms,
        clock=clock,
        log=log,
        after_page=record,
    )
    record(new_state)  # with the next invocation's hour_ms
    return new_state


def _ahead(record: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    """The progress record is the same segment further on than ``state`` (or finished)."""
    same = all(record[name] == state[name] for name in ("scan_id", "segment", "total_segments"))
    return same and (record["done"] or record["page"] > state["page"])
