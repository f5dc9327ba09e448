"""The backfill's control plane: start, status, resume and cancel, for every mode.

``python -m ddb_cdc.cli backfill ...`` calls these. They read the same configuration as the
backfill function (its ``CDC_*`` environment, or the deployed function's, with ``--function``)
and act only through the mode's own state:

* ``step_functions``: one execution per start or resume (named ``<scan_id>`` and
  ``<scan_id>-r<n>``), and a progress record per segment in S3 that the scan function writes
  after every invocation. A resume starts a new execution for the segments whose record is not
  done; each continues from its record's cursor, never from zero.
* ``checkpoint_table``: one cursor item per segment; a start writes them (their stream starts
  the scan function), a cancel marks the running ones CANCELLED, a resume marks the failed and
  cancelled ones RUNNING again.
* ``export``: one execution that exports the table and converts the export. A resume runs it
  again under the same client token: DynamoDB returns the same export and the converter
  rewrites the same deterministic objects.

The one precondition of a correct backfill (the stream mapping captures every change before the
scan starts) is checked here before anything starts, and again by the scan function before a
fresh segment reads its first page.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import ClientError

from ddb_cdc import layout
from ddb_cdc.backfill import checkpoint, scan
from ddb_cdc.backfill.config import BackfillConfig

MAX_SEGMENTS: Final = 1000
# Longer than any invocation can last (Lambda's 15-minute maximum plus a minute): a RUNNING
# cursor item this old has no invocation working on it.
STUCK_MS: Final = 16 * 60 * 1000
RUNNING_EXECUTION: Final = "RUNNING"


class ControlError(ValueError):
    """A request the backfill cannot honour; the message names the fix (printed as one line)."""


@dataclass(frozen=True, slots=True)
class Clients:
    """The AWS clients a control action may use, built lazily by the caller."""

    dynamodb: Any
    s3: Any
    lambda_: Any
    stepfunctions: Any


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# -- preconditions ------------------------------------------------------------------------------


def check_segments(segments: int) -> int:
    if not 1 <= segments <= MAX_SEGMENTS:
        raise ControlError(
            f"--segments {segments} is out of range: use 1 to {MAX_SEGMENTS} (one execution's results "
            "must fit Step Functions' 256 KB state; more segments than that never make a scan faster)"
        )
    return segments


def check_capturing(config: BackfillConfig, clients: Clients, *, allow_filtered: bool = False) -> None:
    """Refuse unless the table has a stream and the module's mapping is enabled on it."""
    table = config.table_name
    try:
        description = clients.dynamodb.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            raise ControlError(
                f"table {table} does not exist: check backfill --table or CDC_TABLE_NAME"
            ) from None
        raise
    stream = description.get("StreamSpecification") or {}
    if not stream.get("StreamEnabled") or not description.get("LatestStreamArn"):
        raise ControlError(
            f"table {table} has no stream, so changes made during the backfill would be lost: "
            f"aws dynamodb update-table --table-name {table} "
            "--stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES, then terraform apply"
        )
    uuid = config.mapping_uuid
    try:
        scan.require_capturing(clients.lambda_, uuid)
    except scan.StreamNotCapturing as exc:
        fix = (
            ""
            if "does not exist" in str(exc)
            else f" (aws lambda update-event-source-mapping --uuid {uuid} --enabled)"
        )
        raise ControlError(f"{exc}{fix}") from None
    mapping = clients.lambda_.get_event_source_mapping(UUID=uuid)
    if (mapping.get("FilterCriteria") or {}).get("Filters") and not allow_filtered:
        raise ControlError(
            f"stream mapping {uuid} filters the stream, so a change it drops (a delete, say) could leave a "
            "snapshot standing forever: remove stream_mapping.filter_patterns, or pass --allow-filtered-stream "
            "if the filter drops nothing the warehouse must see"
        )
    source = mapping.get("EventSourceArn")
    if source != description.get("LatestStreamArn"):
        raise ControlError(
            f"stream mapping {uuid} reads {source}, not the table's current stream "
            f"{description.get('LatestStreamArn')}: terraform apply again so the mapping follows the stream"
        )


# -- scans --------------------------------------------------------------------------------------


def _put_json(clients: Clients, config: BackfillConfig, key: str, document: Mapping[str, Any]) -> None:
    clients.s3.put_object(
        Bucket=config.bucket,
        Key=key,
        Body=json.dumps(document, sort_keys=True).encode(),
        ContentType="application/json",
    )


def latest_scan_id(config: BackfillConfig, clients: Clients) -> str:
    """The newest scan of this table (scan ids sort by their start time)."""
    base = layout.backfill_prefix(config.prefix, config.table_name, "")
    newest = ""
    for page in clients.s3.get_paginator("list_objects_v2").paginate(
        Bucket=config.bucket, Prefix=base, Delimiter="/"
    ):
        for common in page.get("CommonPrefixes") or []:
            scan_id = common["Prefix"][len(base) :].rstrip("/")
            if layout.is_scan_id(scan_id) and scan_id > newest:
                newest = scan_id
    if not newest:
        raise ControlError(f"no backfill of table {config.table_name} was started: run backfill start")
    return newest


def scan_record(config: BackfillConfig, clients: Clients, scan_id: str) -> dict[str, Any]:
    if not layout.is_scan_id(scan_id):
        raise ControlError(f"--scan-id {scan_id!r} is not a scan id (like 20261130T010203Za1b2c3)")
    record = scan.read_progress(
        clients.s3, config.bucket, layout.scan_record_key(config.prefix, config.table_name, scan_id)
    )
    if record is None:
        raise ControlError(f"scan {scan_id} of table {config.table_name} does not exist: run backfill status")
    return record


def start(
    config: BackfillConfig,
    clients: Clients,
    *,
    segments: int | None = None,
    now_ms: Callable[[], int] = _now_ms,
    rng: random.Random | None = None,
    allow_filtered: bool = False,
) -> dict[str, Any]:
    total = check_segments(segments if segments is not None else config.segments)
    check_capturing(config, clients, allow_filtered=allow_filtered)
    started = now_ms()
    scan_id = layout.new_scan_id(started, rng or random.SystemRandom())
    record = {
        "scan_id": scan_id,
        "mode": config.mode,
        "table": config.table_name,
        "total_segments": total,
        "started_ms": started,
        "hour_ms": started,
    }
    _put_json(clients, config, layout.scan_record_key(config.prefix, config.table_name, scan_id), record)
    result = {"scan_id": scan_id, "mode": config.mode, "total_segments": total}
    if config.mode == "checkpoint_table":
        # Each new item's stream record starts its segment.
        for segment in range(total):
            clients.dynamodb.put_item(
                TableName=config.cursor_table,
                Item=checkpoint.initial_item(scan_id, segment, total, started, started),
                ConditionExpression="attribute_not_exists(scan_id)",
            )
        return result
    execution_input = _execution_input(record, list(range(total)))
    result["execution_arn"] = _start_execution(config, clients, scan_id, execution_input)
    return result


def _execution_input(record: Mapping[str, Any], segments: list[int]) -> dict[str, Any]:
    if record["mode"] == "export":
        return {"scan_id": record["scan_id"], "hour_ms": record["hour_ms"]}
    return {
        "scan_id": record["scan_id"],
        "total_segments": record["total_segments"],
        "hour_ms": record["hour_ms"],
        "segments": segments,
    }


def _start_execution(config: BackfillConfig, clients: Clients, name: str, document: Mapping[str, Any]) -> str:
    response = clients.stepfunctions.start_execution(
        stateMachineArn=config.state_machine_arn, name=name, input=json.dumps(document)
    )
    return str(response["executionArn"])


# -- executions of one scan ---------------------------------------------------------------------


def _executions(config: BackfillConfig, clients: Clients, scan_id: str) -> list[dict[str, Any]]:
    """This scan's executions, oldest first (the start's, then each resume's)."""
    found = []
    for page in clients.stepfunctions.get_paginator("list_executions").paginate(
        stateMachineArn=config.state_machine_arn
    ):
        for execution in page.get("executions") or []:
            name = execution.get("name", "")
            if name == scan_id or name.startswith(scan_id + "-r"):
                found.append(execution)
    return sorted(found, key=lambda e: (len(e["name"]), e["name"]))


def _segment_records(
    config: BackfillConfig, clients: Clients, record: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One state per segment: the progress record, or a fresh state where none was written yet."""
    scan_id, total = record["scan_id"], int(record["total_segments"])
    if config.mode == "checkpoint_table":
        items: list[dict[str, Any]] = []
        for page in clients.dynamodb.get_paginator("query").paginate(
            TableName=config.cursor_table,
            KeyConditionExpression="scan_id = :s",
            ExpressionAttributeValues={":s": {"S": scan_id}},
            ConsistentRead=True,
        ):
            for item in page.get("Items") or []:
                state, status, attempts, error = checkpoint.item_to_state(item)
                items.append({**state, "state": status, "attempts": attempts, "error": error})
        return sorted(items, key=lambda s: s["segment"])
    progress = scan.read_progress_records(
        clients.s3, config.bucket, config.prefix, config.table_name, scan_id, total
    )
    return [
        state or scan.fresh_state(scan_id, segment, total, int(record["hour_ms"]))
        for segment, state in sorted(progress.items())
    ]


def status(
    config: BackfillConfig,
    clients: Clients,
    *,
    scan_id: str | None = None,
    now_ms: Callable[[], int] = _now_ms,
) -> dict[str, Any]:
    scan_id = scan_id or latest_scan_id(config, clients)
    record = scan_record(config, clients, scan_id)
    now = now_ms()
    result: dict[str, Any] = {
        "scan_id": scan_id,
        "mode": record.get("mode", config.mode),
        "table": config.table_name,
    }
    executions = [] if config.mode == "checkpoint_table" else _executions(config, clients, scan_id)
    if executions:
        last = executions[-1]
        result["execution"] = {"name": last["name"], "status": last["status"], "arn": last["executionArn"]}
    if config.mode == "export":
        result["state"] = _export_state(executions)
        result.update(_export_counts(config, clients, executions))
        return result
    segments = _segment_records(config, clients, record)
    total = int(record["total_segments"])
    done = sum(1 for s in segments if s.get("done"))
    if config.mode == "checkpoint_table":
        failed = [s["segment"] for s in segments if s.get("state") == "FAILED"]
    elif executions and executions[-1]["status"] in ("FAILED", "TIMED_OUT"):
        failed = [s["segment"] for s in segments if not s.get("done")]  # left unfinished by the failed run
    else:
        failed = []
    items = sum(int(s.get("items", 0)) for s in segments)
    written = sum(int(s.get("bytes", 0)) for s in segments)
    elapsed_s = max((now - int(record["started_ms"])) / 1000, 0.001)
    rate = items / elapsed_s
    estimate = _item_estimate(config, clients)
    eta_s = None
    if done < total and rate > 0 and estimate is not None:
        eta_s = max(estimate - items, 0) / rate
    result.update(
        {
            "state": _scan_state(config.mode, segments, total, executions),
            "segments_total": total,
            "segments_done": done,
            "segments_failed": failed,
            "items_written": items,
            "bytes_written": written,
            "items_per_second": round(rate, 1),
            "table_item_estimate": estimate,
            "eta_seconds": None if eta_s is None else round(eta_s),
            "elapsed_seconds": round(elapsed_s),
            # Pages each segment has recorded as written (its cursor's position), for scripts.
            "segment_pages": {str(s["segment"]): int(s.get("page", 0)) for s in segments},
        }
    )
    return result


def _scan_state(
    mode: str, segments: list[dict[str, Any]], total: int, executions: list[dict[str, Any]]
) -> str:
    if sum(1 for s in segments if s.get("done")) == total:
        return "DONE"
    if mode == "checkpoint_table":
        states = {s.get("state") for s in segments}
        for state in ("RUNNING", "FAILED", "CANCELLED"):
            if state in states:
                return state
        return "RUNNING"
    if not executions:
        return "STARTING"
    return {"SUCCEEDED": "DONE", "ABORTED": "CANCELLED"}.get(
        executions[-1]["status"], executions[-1]["status"]
    )


def _export_state(executions: list[dict[str, Any]]) -> str:
    if not executions:
        return "STARTING"
    return {"SUCCEEDED": "DONE", "ABORTED": "CANCELLED"}.get(
        executions[-1]["status"], executions[-1]["status"]
    )


def _export_counts(
    config: BackfillConfig, clients: Clients, executions: list[dict[str, Any]]
) -> dict[str, Any]:
    if not executions or executions[-1]["status"] != "SUCCEEDED":
        return {}
    described = clients.stepfunctions.describe_execution(executionArn=executions[-1]["executionArn"])
    try:
        output = json.loads(described.get("output") or "{}")
    except json.JSONDecodeError:
        return {}
    return {"items_written": output.get("items"), "bytes_written": output.get("bytes")}


def _item_estimate(config: BackfillConfig, clients: Clients) -> int | None:
    # DescribeTable's ItemCount is refreshed about every six hours: good enough for an ETA.
    try:
        count = clients.dynamodb.describe_table(TableName=config.table_name)["Table"].get("ItemCount")
    except ClientError:
        return None
    return int(count) if count is not None else None


def resume(
    config: BackfillConfig, clients: Clients, *, scan_id: str | None = None, allow_filtered: bool = False
) -> dict[str, Any]:
    scan_id = scan_id or latest_scan_id(config, clients)
    record = scan_record(config, clients, scan_id)
    check_capturing(config, clients, allow_filtered=allow_filtered)
    if config.mode == "checkpoint_table":
        resumed = []
        now = _now_ms()
        for state in _segment_records(config, clients, record):
            # A RUNNING item that has not moved for longer than any invocation can last lost its
            # trigger (its record went to the DLQ after the mapping's retries): write it again.
            stuck = state.get("state") == "RUNNING" and now - int(state.get("updated_ms") or 0) > STUCK_MS
            if state.get("state") not in ("FAILED", "CANCELLED") and not stuck:
                continue
            if _set_cursor_state(config, clients, scan_id, state, to="RUNNING", reset_attempts=True):
                resumed.append(state["segment"])
        return {"scan_id": scan_id, "mode": config.mode, "resumed_segments": resumed}
    executions = _executions(config, clients, scan_id)
    if any(e["status"] == RUNNING_EXECUTION for e in executions):
        raise ControlError(f"scan {scan_id} is still running: wait, or backfill cancel first")
    if config.mode == "export":
        pending: list[int] = []
    else:
        pending = [s["segment"] for s in _segment_records(config, clients, record) if not s.get("done")]
        if not pending:
            return {"scan_id": scan_id, "mode": config.mode, "resumed_segments": [], "state": "DONE"}
    name = f"{scan_id}-r{len(executions)}"
    arn = _start_execution(config, clients, name, _execution_input(record, pending))
    return {"scan_id": scan_id, "mode": config.mode, "resumed_segments": pending, "execution_arn": arn}


def cancel(config: BackfillConfig, clients: Clients, *, scan_id: str | None = None) -> dict[str, Any]:
    scan_id = scan_id or latest_scan_id(config, clients)
    record = scan_record(config, clients, scan_id)
    if config.mode == "checkpoint_table":
        cancelled = [
            state["segment"]
            for state in _segment_records(config, clients, record)
            if state.get("state") == "RUNNING"
            and _set_cursor_state(config, clients, scan_id, state, to="CANCELLED", reset_attempts=False)
        ]
        return {"scan_id": scan_id, "mode": config.mode, "cancelled_segments": cancelled}
    stopped = []
    for execution in _executions(config, clients, scan_id):
        if execution["status"] == RUNNING_EXECUTION:
            clients.stepfunctions.stop_execution(
                executionArn=execution["executionArn"], error="Cancelled", cause="backfill cancel"
            )
            stopped.append(execution["name"])
    return {"scan_id": scan_id, "mode": config.mode, "stopped_executions": stopped}


def _set_cursor_state(
    config: BackfillConfig,
    clients: Clients,
    scan_id: str,
    state: Mapping[str, Any],
    *,
    to: str,
    reset_attempts: bool,
) -> bool:
    """Move one cursor item from its current state to ``to``; False if it changed meanwhile."""
    update = "SET #state = :to, updated_ms = :now"
    values: dict[str, Any] = {
        ":to": {"S": to},
        ":from": {"S": str(state.get("state"))},
        ":now": {"N": str(_now_ms())},
        ":seen": {"N": str(int(state.get("updated_ms") or 0))},
    }
    if reset_attempts:
        update += ", attempts = :zero REMOVE #error"
        values[":zero"] = {"N": "0"}
    names = {"#state": "state"}
    if reset_attempts:
        names["#error"] = "error"
    try:
        clients.dynamodb.update_item(
            TableName=config.cursor_table,
            Key=checkpoint.item_key(scan_id, int(state["segment"])),
            UpdateExpression=update,
            # Unchanged since it was read: a segment that moved meanwhile is left alone.
            ConditionExpression="#state = :from AND updated_ms = :seen",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if _error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


# -- rendering for a terminal -------------------------------------------------------------------


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1024 or unit == "TB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.1f} TB"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def render(result: Mapping[str, Any]) -> str:
    """A few human lines for a terminal; scripts get the JSON document instead."""
    lines = [
        f"backfill {result.get('scan_id')} of {result.get('table', '')} ({result.get('mode')}): {result.get('state', 'started')}"
    ]
    if "segments_total" in result:
        failed = result.get("segments_failed") or []
        lines.append(
            f"  segments  {result['segments_done']}/{result['segments_total']} done"
            + (f", failed: {', '.join(map(str, failed))}" if failed else "")
        )
    if result.get("items_written") is not None:
        lines.append(
            f"  written   {result['items_written']:,} items, {_size(float(result.get('bytes_written') or 0))}"
        )
    if "items_per_second" in result:
        lines.append(
            f"  rate      {result['items_per_second']:,} items/s over {_duration(result.get('elapsed_seconds'))}"
        )
        estimate = result.get("table_item_estimate")
        lines.append(
            f"  eta       {_duration(result.get('eta_seconds'))}"
            + (f" (table holds about {estimate:,} items)" if estimate is not None else "")
        )
    if "execution" in result:
        lines.append(f"  execution {result['execution']['name']}: {result['execution']['status']}")
    for key in ("resumed_segments", "cancelled_segments", "stopped_executions", "execution_arn"):
        if key in result:
            lines.append(f"  {key.replace('_', ' ')}: {result[key]}")
    return "\n".join(lines)
