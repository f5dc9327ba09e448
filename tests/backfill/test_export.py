"""The export mode: start (PITR and mapping checks), status (AWS's manifests), convert (parts)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from ddb_cdc import layout
from ddb_cdc.backfill import export, scan
from ddb_cdc.handlers import backfill_export

from .conftest import BUCKET, PREFIX, REGION, SCAN_ID, TABLE, create_table, make_rig

EXPORT_ID = "01764464523000-a1b2c3d4"
EXPORT_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}/export/{EXPORT_ID}"
EXPORT_TIME = "2026-11-30T02:15:04.321Z"
EXPORT_MS = 1_796_004_904_321


class FakeExports:
    """describe_export as the real service answers it. moto 5.2.5 writes no manifests, no
    ExportTime and a malformed ARN (DESIGN.md, checked facts); the files the real service
    writes are laid out by :func:`write_export` from its documented format."""

    def __init__(self, client: Any, status: str = "COMPLETED") -> None:
        self._client = client
        self.status = status

    def describe_export(self, ExportArn: str) -> dict[str, Any]:
        assert ExportArn == EXPORT_ARN
        base = f"{layout.export_prefix(PREFIX, TABLE, SCAN_ID)}/AWSDynamoDB/{EXPORT_ID}"
        return {
            "ExportDescription": {
                "ExportArn": ExportArn,
                "ExportStatus": self.status,
                "ExportManifest": f"{base}/manifest-summary.json",
                "ExportTime": datetime(2026, 11, 30, 2, 15, 4, 321000, tzinfo=UTC),
                "FailureCode": "S3NoSuchBucket" if self.status == "FAILED" else None,
            }
        }

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def write_export(s3: Any, files: list[list[Any]]) -> None:
    """An export's output per "DynamoDB table export output format" (AWS docs)."""
    base = f"{layout.export_prefix(PREFIX, TABLE, SCAN_ID)}/AWSDynamoDB/{EXPORT_ID}"
    manifest_lines = []
    for number, lines in enumerate(files):
        key = f"{base}/data/file{number}abcdefghij.json.gz"
        text = "".join(
            (line if isinstance(line, str) else json.dumps({"Item": line})) + "\n" for line in lines
        )
        s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(text.encode()))
        manifest_lines.append(
            json.dumps({"itemCount": len(lines), "md5Checksum": "x", "etag": "y", "dataFileS3Key": key})
        )
    s3.put_object(Bucket=BUCKET, Key=f"{base}/manifest-files.json", Body="\n".join(manifest_lines) + "\n")
    summary = {
        "version": "2020-06-30",
        "exportArn": EXPORT_ARN,
        "startTime": EXPORT_TIME,
        "endTime": "2026-11-30T02:20:00.000Z",
        "tableArn": f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}",
        "exportTime": EXPORT_TIME,
        "s3Bucket": BUCKET,
        "s3Prefix": layout.export_prefix(PREFIX, TABLE, SCAN_ID),
        "manifestFilesS3Key": f"{base}/manifest-files.json",
        "billedSizeBytes": 0,
        "itemCount": sum(len(f) for f in files),
        "outputFormat": "DYNAMODB_JSON",
    }
    s3.put_object(Bucket=BUCKET, Key=f"{base}/manifest-summary.json", Body=json.dumps(summary))


def items(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"pk": {"S": f"k{n:04d}"}, "b": {"B": "AAEC"}, "n": {"N": "1E+2"}}
        for n in range(start, start + count)
    ]


def export_rig(**overrides: str) -> Any:
    rig = make_rig(CDC_BACKFILL_MODE="export", **overrides)
    rig.dynamodb._client = FakeExports(rig.dynamodb._client)
    return rig


def test_start_refuses_with_pitr_off(aws: None) -> None:
    create_table()
    rig = make_rig(CDC_BACKFILL_MODE="export")
    with pytest.raises(export.PointInTimeRecoveryOff, match="update-continuous-backups --table-name orders"):
        backfill_export.process({"action": "start", "scan_id": SCAN_ID}, rig.context(), rig.export_runtime())


def test_start_refuses_when_the_stream_mapping_is_disabled(aws: None) -> None:
    create_table()
    rig = make_rig(CDC_BACKFILL_MODE="export")
    rig.lambda_client.state = "Creating"
    with pytest.raises(scan.StreamNotCapturing):
        backfill_export.process({"action": "start", "scan_id": SCAN_ID}, rig.context(), rig.export_runtime())


def test_start_exports_under_the_scan_control_area_with_the_scan_id_as_token(aws: None) -> None:
    client = create_table()
    client.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    rig = make_rig(CDC_BACKFILL_MODE="export")
    calls: list[dict[str, Any]] = []
    real = rig.dynamodb._client.export_table_to_point_in_time

    def spy(**request: Any) -> Any:
        calls.append(request)
        return real(**request)

    rig.dynamodb._client.export_table_to_point_in_time = spy
    result = backfill_export.process(
        {"action": "start", "scan_id": SCAN_ID}, rig.context(), rig.export_runtime()
    )
    assert result["scan_id"] == SCAN_ID and result["export_arn"]
    (request,) = calls
    assert request["S3Prefix"] == f"{PREFIX}/backfill/{TABLE}/{SCAN_ID}/export"
    assert request["ClientToken"] == SCAN_ID and request["ExportFormat"] == "DYNAMODB_JSON"
    assert request["ExportType"] == "FULL_EXPORT" and request["TableArn"].endswith(f":table/{TABLE}")


def test_status_reads_the_manifests_and_batches_the_files(aws: None) -> None:
    rig = export_rig(CDC_BACKFILL_SEGMENTS="2")
    write_export(rig.s3, [items(1), items(1, 1), items(1, 2)])
    status = backfill_export.process(
        {"action": "status", "scan_id": SCAN_ID, "export_arn": EXPORT_ARN},
        rig.context(),
        rig.export_runtime(),
    )
    assert status["status"] == "COMPLETED" and status["export_time_ms"] == EXPORT_MS
    assert status["manifest_key"].endswith(f"/AWSDynamoDB/{EXPORT_ID}/manifest-files.json")
    assert status["file_count"] == 3
    assert status["batches"] == [{"first": 0, "last": 1}, {"first": 2, "last": 2}]


def test_status_in_progress_and_failed(aws: None) -> None:
    rig = export_rig()
    rig.dynamodb._client.status = "IN_PROGRESS"
    event = {"action": "status", "scan_id": SCAN_ID, "export_arn": EXPORT_ARN}
    status = backfill_export.process(event, rig.context(), rig.export_runtime())
    assert status["status"] == "IN_PROGRESS" and status["batches"] == [] and status["manifest_key"] is None
    rig.dynamodb._client.status = "FAILED"
    assert backfill_export.process(event, rig.context(), rig.export_runtime())["status"] == "FAILED"


def convert_event(first: int, last: int) -> dict[str, Any]:
    base = f"{layout.export_prefix(PREFIX, TABLE, SCAN_ID)}/AWSDynamoDB/{EXPORT_ID}"
    return {
        "action": "convert",
        "scan_id": SCAN_ID,
        "export_arn": EXPORT_ARN,
        "manifest_key": f"{base}/manifest-files.json",
        "export_time_ms": EXPORT_MS,
        "first": first,
        "last": last,
    }


def test_converts_a_data_file_into_parts_with_export_time_stamps(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "PART_ITEMS", 4)
    rig = export_rig()
    write_export(rig.s3, [items(10), items(0, 100)])
    result = backfill_export.process(convert_event(0, 1), rig.context(), rig.export_runtime())
    assert result["done"] is True and result["next"] == 2 and result["items"] == 10
    assert result["action"] == "convert"  # the loop feeds the result back as the next input
    keys = rig.raw_keys()
    ident = "01764464523000a1b2c3d4"
    assert keys == [
        f"{PREFIX}/raw/{TABLE}/2026/11/30/02/export_{ident}_file0abcdefghij_{part:04d}.json.gz"
        for part in range(3)
    ]
    envelopes = [env for key in keys for env in rig.envelopes(key)]
    assert [len(rig.envelopes(key)) for key in keys] == [4, 4, 2]
    assert {env["approx_created_at"] for env in envelopes} == {EXPORT_TIME}
    assert {env["op"] for env in envelopes} == {"SNAPSHOT"} and {env["seq"] for env in envelopes} == {
        "0" * 40
    }
    assert envelopes[0]["exact_types"] == {"b": "B"} and envelopes[0]["image"]["n"] == 100


def test_converting_again_rewrites_identical_objects(aws: None) -> None:
    rig = export_rig()
    write_export(rig.s3, [items(5)])
    backfill_export.process(convert_event(0, 0), rig.context(), rig.export_runtime())
    first = {key: rig.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in rig.raw_keys()}
    backfill_export.process(convert_event(0, 0), rig.context(), rig.export_runtime())
    assert {key: rig.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in rig.raw_keys()} == first


def test_convert_resumes_inside_a_file_when_time_runs_out(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "PART_ITEMS", 2)
    rig = export_rig()
    write_export(rig.s3, [items(5), items(2, 10)])
    event = convert_event(0, 1)
    state = backfill_export.process(event, rig.context(29_000), rig.export_runtime())
    assert (state["done"], state["next"], state["next_part"], state["items"]) == (False, 0, 1, 2)
    for _ in range(10):
        if state["done"]:
            break
        state = backfill_export.process(state, rig.context(29_000), rig.export_runtime())
    assert state["done"] is True and state["items"] == 7
    assert len(rig.raw_keys()) == 4  # parts 0..2 of the first file, part 0 of the second


def test_a_line_that_is_not_an_item_is_quarantined_alone(aws: None) -> None:
    rig = export_rig()
    write_export(rig.s3, [[*items(2), "not json", {"nokey": {"S": "x"}}]])
    result = backfill_export.process(convert_event(0, 0), rig.context(), rig.export_runtime())
    assert result["items"] == 2
    quarantined = rig.keys(f"{PREFIX}/quarantine/{TABLE}/2026/11/30/02/")
    assert len(quarantined) == 2
    reasons = sorted(rig.json(key)["reason"] for key in quarantined)
    assert reasons == ["item is not an object", "item lacks a key attribute"]


def test_summarize_reports_failed_batches() -> None:
    results = [
        {**convert_event(0, 1), "done": True, "next": 2, "items": 3, "bytes": 30},
        {"first": 2, "failed": True, "error": {"Error": "ExportFailed", "Cause": "boom"}},
    ]
    summary = scan.summarize(SCAN_ID, results, resume_command="resume it")
    assert summary["failed"] == [2] and summary["items"] == 3
    assert "batch from file 2: ExportFailed: boom" in summary["cause"]


def test_batches_split_files_evenly_and_never_exceed_the_segment_count() -> None:
    assert export.batches(0, 4) == []
    assert export.batches(2, 4) == [{"first": 0, "last": 0}, {"first": 1, "last": 1}]
    assert export.batches(10, 3) == [
        {"first": 0, "last": 3},
        {"first": 4, "last": 6},
        {"first": 7, "last": 9},
    ]


def test_export_times_parse_to_milliseconds() -> None:
    assert export.iso_ms(EXPORT_TIME) == EXPORT_MS
    assert export.iso_ms("2026-11-30T02:15:04Z") == EXPORT_MS - 321
    with pytest.raises(export.ExportFailed):
        export.iso_ms("yesterday")


def test_a_part_also_ends_before_it_passes_the_byte_limit(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ten lines of about 100 bytes with room for 250 bytes a part: two lines a part, whatever PART_ITEMS
    # allows, so a file of 400 KB items never needs 10,000 of them in memory at once.
    monkeypatch.setattr(export, "PART_BYTES", 250)
    rig = export_rig()
    write_export(rig.s3, [items(10)])
    result = backfill_export.process(convert_event(0, 0), rig.context(), rig.export_runtime())
    assert result["done"] is True and result["items"] == 10
    sizes = [len(rig.envelopes(key)) for key in rig.raw_keys()]
    assert sum(sizes) == 10 and max(sizes) < 10 and len(sizes) >= 3
    # Converting again from a middle part gives the same parts (the limits depend on the file alone).
    before = {key: rig.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in rig.raw_keys()}
    backfill_export.process({**convert_event(0, 0), "next_part": 2}, rig.context(), rig.export_runtime())
    assert {key: rig.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in rig.raw_keys()} == before
