"""Backfill, ``export`` mode: a point-in-time export to S3, converted into snapshot objects.

DynamoDB exports the table as of one instant (``exportTime``) without reading
capacity. Its output is documented in "DynamoDB table export output format"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html):
under ``<S3Prefix>/AWSDynamoDB/<ExportId>/``, ``manifest-summary.json`` (``exportTime``,
``manifestFilesS3Key``, ``itemCount``, ...), ``manifest-files.json`` (one JSON line per
data file: ``itemCount``, ``md5Checksum``, ``etag``, ``dataFileS3Key``) and
``data/<name>.json.gz``: gzip, one ``{"Item": {...DynamoDB JSON...}}`` per line.

Every item becomes a snapshot envelope stamped with the export time (that is when it
was read) in a raw object of the export time's hour, a part of at most
:data:`PART_ITEMS` lines of one data file. Data files never change, so converting a
file again (a retry, a resumed execution) rewrites the same objects with the same
bytes. The export is only correct if the stream was captured from before the export
time, hence the same mapping check as a scan.
"""

from __future__ import annotations

import calendar
import gzip
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from ddb_cdc import layout, obs
from ddb_cdc.backfill import pages, scan
from ddb_cdc.backfill.config import BackfillConfig

PART_ITEMS: Final = 10_000
PART_BYTES: Final = 32 * 1024 * 1024  # of export text per part: bounds the converter's memory
EXPORT_DIR: Final = "AWSDynamoDB/"
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:Z|[+-]00:?00)?")


class PointInTimeRecoveryOff(Exception):  # the class name is the Step Functions error name
    """ExportTableToPointInTime needs point-in-time recovery on the source table."""


class ExportFailed(Exception):
    """The export's own files are missing or malformed."""


def export_id(export_arn: str) -> str:
    """The ``ExportId`` of an export ARN (``…:table/<t>/export/<id>``), which names its directory."""
    tail = export_arn.rsplit("/export/", 1)
    if len(tail) != 2 or not tail[1]:
        raise ExportFailed("not a DynamoDB export ARN")
    return tail[1]


def iso_ms(text: Any) -> int:
    """``2020-11-04T07:28:34.028Z`` (the manifests' time format) as epoch milliseconds."""
    match = _ISO.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ExportFailed("exportTime is not an ISO 8601 UTC time")
    seconds = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + int((match.group(2) or "0").ljust(3, "0")[:3])


def batches(file_count: int, most: int) -> list[dict[str, int]]:
    """Contiguous, near-equal ranges of file indexes, at most ``most`` of them."""
    count = min(file_count, most)
    out: list[dict[str, int]] = []
    first = 0
    for number in range(count):
        size = file_count // count + (1 if number < file_count % count else 0)
        out.append({"first": first, "last": first + size - 1})
        first += size
    return out


def _read(s3: Any, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]


def manifest_entries(text: bytes | str) -> list[dict[str, Any]]:
    """The lines of ``manifest-files.json``, in order; each names one data file."""
    entries = []
    for line in (text.decode("utf-8") if isinstance(text, bytes) else text).splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        if not isinstance(entry, dict) or not isinstance(entry.get("dataFileS3Key"), str):
            raise ExportFailed("a manifest-files.json line has no dataFileS3Key")
        entries.append(entry)
    return entries


def data_file_key(manifest_key: str, data_key: str) -> str:
    """The S3 key of a data file; ``dataFileS3Key`` is read as a full key, or as one
    relative to the export prefix when it starts at ``AWSDynamoDB/``."""
    base = manifest_key[: manifest_key.find(EXPORT_DIR)] if EXPORT_DIR in manifest_key else ""
    if base and data_key.startswith(EXPORT_DIR):
        return base + data_key
    return data_key


def file_stem(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    for suffix in (".json.gz", ".gz", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# ---------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------


def start(event: Mapping[str, Any], *, config: BackfillConfig, services: scan.Services) -> dict[str, Any]:
    """Check the mapping and PITR, then request the export (idempotent: ClientToken = scan_id)."""
    scan_id = layout.check_scan_id(event.get("scan_id"))
    scan.require_capturing(services.lambda_client, config.mapping_uuid)
    backups = services.dynamodb.describe_continuous_backups(TableName=config.table_name)
    pitr = (
        backups.get("ContinuousBackupsDescription", {})
        .get("PointInTimeRecoveryDescription", {})
        .get("PointInTimeRecoveryStatus")
    )
    if pitr != "ENABLED":
        raise PointInTimeRecoveryOff(
            f"point-in-time recovery of {config.table_name} is {pitr or 'DISABLED'}; an export needs it on: "
            f"aws dynamodb update-continuous-backups --table-name {config.table_name} "
            "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true "
            "(or set the module's point-in-time recovery input), or use the step_functions backfill mode"
        )
    table_arn = services.dynamodb.describe_table(TableName=config.table_name)["Table"]["TableArn"]
    response = services.dynamodb.export_table_to_point_in_time(
        TableArn=table_arn,
        S3Bucket=config.bucket,
        S3Prefix=layout.export_prefix(config.prefix, config.table_name, scan_id),
        ExportFormat="DYNAMODB_JSON",
        ExportType="FULL_EXPORT",
        ClientToken=scan_id,
    )
    return {"scan_id": scan_id, "export_arn": response["ExportDescription"]["ExportArn"]}


def status(event: Mapping[str, Any], *, config: BackfillConfig, services: scan.Services) -> dict[str, Any]:
    """Where the export stands; once COMPLETED, its export time, manifest and file batches.

    ``manifest_key`` is the key of ``manifest-files.json`` (what ``convert`` reads).
    """
    scan_id = layout.check_scan_id(event.get("scan_id"))
    arn = event.get("export_arn")
    if not isinstance(arn, str):
        raise ValueError("export_arn is required")
    description = services.dynamodb.describe_export(ExportArn=arn)["ExportDescription"]
    state = description.get("ExportStatus")
    out: dict[str, Any] = {
        "scan_id": scan_id,
        "export_arn": arn,
        "status": state,
        "export_time_ms": None,
        "manifest_key": None,
        "file_count": 0,
        "batches": [],
    }
    if state == "FAILED":
        out["failure"] = f"{description.get('FailureCode', '')}: {description.get('FailureMessage', '')}"[
            :1000
        ]
    if state != "COMPLETED":
        return out
    summary_key = description.get("ExportManifest") or (
        f"{layout.export_prefix(config.prefix, config.table_name, scan_id)}/{EXPORT_DIR}{export_id(arn)}/manifest-summary.json"
    )
    summary = json.loads(_read(services.s3, config.bucket, summary_key))
    files_key = summary.get("manifestFilesS3Key") or summary_key.rsplit("/", 1)[0] + "/manifest-files.json"
    if "exportTime" in summary:
        export_ms = iso_ms(summary["exportTime"])
    elif description.get("ExportTime") is not None:
        export_ms = int(description["ExportTime"].timestamp() * 1000)
    else:
        raise ExportFailed("neither the manifest summary nor the export description has an export time")
    files_key = data_file_key(summary_key, files_key)
    count = len(manifest_entries(_read(services.s3, config.bucket, files_key)))
    out.update(
        export_time_ms=export_ms,
        manifest_key=files_key,
        file_count=count,
        batches=batches(count, config.segments),
    )
    return out


def _parts(body: Any, skip_parts: int) -> Iterator[tuple[int, list[Any]]]:
    """``(part number, items)`` of a gzip data file, from part ``skip_parts`` on; streamed.

    A part ends after ``PART_ITEMS`` lines or before the line that would take it past
    ``PART_BYTES`` of export text, whichever comes first: both depend on the file alone,
    so converting it again gives the same parts and the same objects, and a part of
    400 KB items stays within a function's memory (10,000 of them would be 4 GB).
    """
    current, lines_in_part, size, chunk = 0, 0, 0, []
    with gzip.GzipFile(fileobj=body, mode="rb") as lines:
        for raw in lines:
            if lines_in_part == PART_ITEMS or (lines_in_part and size + len(raw) > PART_BYTES):
                if chunk and current >= skip_parts:
                    yield current, chunk
                current, lines_in_part, size, chunk = current + 1, 0, 0, []
            lines_in_part += 1
            size += len(raw)
            if current < skip_parts or not raw.strip():
                continue
            try:
                doc = json.loads(raw)
                item = doc["Item"] if isinstance(doc, dict) else doc
            except (ValueError, KeyError):
                # A line that is not an export item is set aside alone by plan_page
                # (it is not an object), instead of failing the file.
                item = raw.decode("utf-8", "replace")
            chunk.append(item)
    if chunk and current >= skip_parts:
        yield current, chunk


def convert(
    event: Mapping[str, Any],
    *,
    config: BackfillConfig,
    services: scan.Services,
    remaining_ms: Callable[[], int],
    clock: scan.Clock,
    log: logging.Logger,
) -> dict[str, Any]:
    """Convert data files ``next..last`` (manifest order) part by part until the time budget.

    Returns the event with ``next`` (and ``next_part``, the parts of file ``next`` already
    written, so a huge file also makes progress across invocations) advanced, counters
    ``items``/``bytes`` accumulated, and ``done`` once ``next > last``.
    """
    scan_id = layout.check_scan_id(event.get("scan_id"))
    state = dict(event)
    first, last = int(state["first"]), int(state["last"])
    state.setdefault("next", first)
    state.setdefault("next_part", 0)
    state.setdefault("items", 0)
    state.setdefault("bytes", 0)
    export_ms = int(state["export_time_ms"])
    manifest_key = str(state["manifest_key"])
    entries = manifest_entries(_read(services.s3, config.bucket, manifest_key))
    if last >= len(entries):
        raise ExportFailed(f"batch {first}..{last} is beyond the manifest's {len(entries)} files")
    ident = export_id(str(state["export_arn"]))
    slowest_ms = 0.0
    parts_done = 0
    while state["next"] <= last:
        key = data_file_key(manifest_key, entries[state["next"]]["dataFileS3Key"])
        body = services.s3.get_object(Bucket=config.bucket, Key=key)["Body"]
        stopped = False
        for part, items in _parts(body, state["next_part"]):
            if parts_done and remaining_ms() < scan.margin_ms(slowest_ms):
                stopped = True
                break
            started = clock.monotonic()
            plan = pages.plan_page(
                items,
                key_names=config.key_names,
                table=config.table_name,
                prefix=config.prefix,
                name=layout.export_object_name(ident, file_stem(key), part),
                hour_ms=export_ms,
                read_ms=export_ms,
            )
            scan.write_plan(plan, services.store, log, scan_id=scan_id, data_file=state["next"], part=part)
            if plan.object is not None:
                state["items"] += plan.object.items
                state["bytes"] += plan.object.ndjson_bytes
            state["next_part"] = part + 1
            parts_done += 1
            slowest_ms = max(slowest_ms, (clock.monotonic() - started) * 1000)
        if stopped:
            break
        state["next"] += 1
        state["next_part"] = 0
    state["done"] = state["next"] > last
    obs.log(
        log,
        logging.INFO,
        "export batch invocation finished",
        scan_id=scan_id,
        first=first,
        last=last,
        next=state["next"],
        parts=parts_done,
        items=state["items"],
        done=state["done"],
    )
    return state
