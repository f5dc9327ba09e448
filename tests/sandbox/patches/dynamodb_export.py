"""ExportTableToPointInTime writes what DynamoDB writes: manifests, checksums and ``.json.gz`` data files.

moto 5.2.5 writes one ``<prefix>/AWSDynamoDB/<uuid>/data/<uuid>.gz`` object and nothing else, returns a malformed
export ARN (``table/<table ARN>/import/...``), no ExportTime, ignores ClientToken and answers an unknown export ARN
with a 500. This patch follows the documented output instead:

- ``<S3Prefix>/AWSDynamoDB/<ExportId>/_started`` (empty) when the export starts;
- ``data/<26 random characters>.json.gz``: gzip NDJSON lines ``{"Item": {...DynamoDB JSON...}}``, one file per
  :data:`ITEMS_PER_DATA_FILE` items (DynamoDB writes at least one file per partition, an empty one for an empty
  partition), so consumers meet several files;
- once COMPLETED: ``manifest-files.json`` (one JSON line per data file: itemCount, md5Checksum, etag,
  dataFileS3Key), ``manifest-summary.json`` (version, exportArn, startTime, endTime, tableArn, tableId, exportTime,
  s3Bucket, s3Prefix, s3SseAlgorithm, s3SseKmsKeyId, manifestFilesS3Key, billedSizeBytes, itemCount,
  outputFormat, exportType) and their ``.checksum`` files.

The export ARN is ``arn:aws:dynamodb:<region>:<account>:table/<table>/export/<ExportId>`` with an ExportId like
``01764460000000-1a2b3c4d`` (epoch milliseconds, 14 digits, and 8 hex). The export is IN_PROGRESS in the
CreateExport response and for the first :data:`DESCRIBES_BEFORE_COMPLETED` DescribeExport calls, then COMPLETED,
so a caller's wait loop runs at least once. The same ClientToken with the same parameters returns the same
export; with other parameters it is refused (IdempotentParameterMismatchException). PITR must be enabled.

S3 keys in the manifests include the S3Prefix, so ``dataFileS3Key`` and ``manifestFilesS3Key`` are object keys
in the bucket. The objects are written through moto's S3 backend (not over HTTP): in AWS the service writes them
with the caller's permissions, which the ``iam-request-context`` patch checks at the request (``s3:PutObject``
under the prefix); bucket policies are not evaluated for these writes (the service writes over TLS, so the
module's ``aws:SecureTransport`` deny would not apply anyway). Only ``DYNAMODB_JSON`` full exports of the current
table contents are supported: ExportFormat ``ION``, ``INCREMENTAL_EXPORT`` and an ExportTime in the past are
refused with a ValidationException that says so.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import secrets
import string
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

NAME = "dynamodb-export"
FOLLOWS = (
    "Amazon DynamoDB Developer Guide, 'DynamoDB table export output format' "
    "(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html: _started, "
    'manifest-summary.json, manifest-files.json, their .checksum files, data/*.json.gz with one {"Item": ...} '
    "per line) and 'Requesting a table export' (S3DataExport_Requesting.html: PITR required, the caller needs "
    "s3:PutObject on the destination); DynamoDB API Reference ExportTableToPointInTime and DescribeExport "
    "(ClientToken idempotency, ExportArn, ExportTime, ExportManifest, IN_PROGRESS then COMPLETED)."
)
ITEMS_PER_DATA_FILE = 1000
DESCRIBES_BEFORE_COMPLETED = 1
_NAME_ALPHABET = string.ascii_lowercase + string.digits


def _iso(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _table_id(table: Any) -> str:
    # moto keeps no table id; a stable UUID per table ARN stands in for it.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, table.table_arn))


def _md5(data: bytes) -> tuple[str, str]:
    digest = hashlib.md5(data, usedforsecurity=False)
    return base64.b64encode(digest.digest()).decode(), digest.hexdigest()


@dataclass
class SandboxExport:
    """One export, with the attributes moto's ListExports reads (arn, status, export_type, table)."""

    arn: str
    export_id: str
    table: Any  # moto's Table
    account_id: str
    s3_bucket: str
    s3_prefix: str
    export_format: str
    export_type: str
    client_token: str
    started: float
    status: str = "IN_PROGRESS"
    ended: float | None = None
    item_count: int = 0
    billed_bytes: int = 0
    describes: int = 0
    failure_code: str | None = None
    failure_message: str | None = None
    data_files: list[dict] = field(default_factory=list)

    @property
    def base_key(self) -> str:
        return (
            f"{self.s3_prefix.rstrip('/')}/AWSDynamoDB/{self.export_id}"
            if self.s3_prefix
            else f"AWSDynamoDB/{self.export_id}"
        )

    @property
    def manifest_key(self) -> str:
        return f"{self.base_key}/manifest-summary.json"

    def request(self) -> tuple:
        return (self.table.table_arn, self.s3_bucket, self.s3_prefix, self.export_format, self.export_type)

    def response(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ExportArn": self.arn,
            "ExportStatus": self.status,
            "StartTime": datetime.fromtimestamp(self.started, UTC),
            "TableArn": self.table.table_arn,
            "TableId": _table_id(self.table),
            "ExportTime": datetime.fromtimestamp(self.started, UTC),
            "ClientToken": self.client_token,
            "S3Bucket": self.s3_bucket,
            "S3BucketOwner": self.account_id,
            "S3Prefix": self.s3_prefix,
            "S3SseAlgorithm": "AES256",
            "ExportFormat": self.export_format,
            "ExportType": self.export_type,
        }
        if self.status == "COMPLETED":
            body.update(
                EndTime=datetime.fromtimestamp(self.ended or self.started, UTC),
                ExportManifest=self.manifest_key,
                ItemCount=self.item_count,
                BilledSizeBytes=self.billed_bytes,
            )
        if self.status == "FAILED":
            body.update(FailureCode=self.failure_code, FailureMessage=self.failure_message)
        return body


class ExportService:
    """Creates exports, writes their files and completes them; state lives in moto's backend.table_exports."""

    def __init__(
        self,
        *,
        items_per_file: int = ITEMS_PER_DATA_FILE,
        describes_before_completed: int = DESCRIBES_BEFORE_COMPLETED,
    ) -> None:
        self.items_per_file = items_per_file
        self.describes_before_completed = describes_before_completed
        self._lock = threading.Lock()

    def _s3(self, account_id: str) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[account_id]["aws"]

    def create(self, backend: Any, body: dict[str, Any]) -> SandboxExport:
        from moto.dynamodb.exceptions import (
            MockValidationException,
            PointInTimeRecoveryUnavailable,
            TableNotFoundException,
        )

        table_arn = body["TableArn"]
        export_format = body.get("ExportFormat", "DYNAMODB_JSON")
        export_type = body.get("ExportType", "FULL_EXPORT")
        if export_format != "DYNAMODB_JSON" or export_type != "FULL_EXPORT":
            raise MockValidationException(
                f"The sandbox exports DYNAMODB_JSON full exports only (got {export_format}, {export_type})"
            )
        export_time = body.get("ExportTime")
        if isinstance(export_time, datetime):
            export_time = export_time.timestamp()
        if export_time is not None and abs(float(export_time) - time.time()) > 60:
            raise MockValidationException(
                "The sandbox exports the table as it is now; ExportTime in the past is not supported"
            )
        table = next((t for t in backend.tables.values() if t.table_arn == table_arn), None)
        if table is None:
            raise TableNotFoundException(name=table_arn)
        if (
            table.continuous_backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
            != "ENABLED"
        ):
            raise PointInTimeRecoveryUnavailable(name=table.name)
        token = body.get("ClientToken") or secrets.token_hex(16)
        owner = body.get("S3BucketOwner") or backend.account_id
        with self._lock:
            for existing in backend.table_exports.values():
                if (
                    isinstance(existing, SandboxExport)
                    and existing.client_token == token
                    and existing.table.table_arn == table_arn
                ):
                    same = (table_arn, body["S3Bucket"], body.get("S3Prefix", ""), export_format, export_type)
                    if existing.request() != same:
                        raise _idempotent_mismatch()
                    return existing
            started = time.time()
            export_id = f"{int(started * 1000):014d}-{secrets.token_hex(4)}"
            export = SandboxExport(
                arn=f"arn:aws:dynamodb:{backend.region_name}:{backend.account_id}:table/{table.name}/export/{export_id}",
                export_id=export_id,
                table=table,
                account_id=owner,
                s3_bucket=body["S3Bucket"],
                s3_prefix=body.get("S3Prefix", ""),
                export_format=export_format,
                export_type=export_type,
                client_token=token,
                started=started,
            )
            backend.table_exports[export.arn] = export
        self._write_data(export)
        return export

    def _write_data(self, export: SandboxExport) -> None:
        from moto.dynamodb.models.utilities import dynamo_json_dump

        s3 = self._s3(export.account_id)
        if export.s3_bucket not in s3.buckets:
            export.status, export.failure_code = "FAILED", "S3NoSuchBucket"
            export.failure_message = "The specified bucket does not exist"
            return
        s3.put_object(export.s3_bucket, f"{export.base_key}/_started", b"")
        items = list(export.table.all_items())  # the point in time: now
        chunks = [items[i : i + self.items_per_file] for i in range(0, len(items), self.items_per_file)] or [
            []
        ]
        for chunk in chunks:
            lines = [dynamo_json_dump(item.to_json(root_attr_name="Item")) + "\n" for item in chunk]
            raw = "".join(lines).encode()
            data = gzip.compress(raw)
            name = "".join(secrets.choice(_NAME_ALPHABET) for _ in range(26))
            key = f"{export.base_key}/data/{name}.json.gz"
            s3.put_object(export.s3_bucket, key, data)
            md5_b64, md5_hex = _md5(data)
            export.data_files.append(
                {"itemCount": len(chunk), "md5Checksum": md5_b64, "etag": md5_hex, "dataFileS3Key": key}
            )
            export.item_count += len(chunk)
            export.billed_bytes += len(raw)

    def describe(self, backend: Any, export_arn: str) -> SandboxExport:
        export = backend.table_exports.get(export_arn)
        if not isinstance(export, SandboxExport):
            raise _export_not_found(export_arn)
        with self._lock:
            export.describes += 1
            if export.status == "IN_PROGRESS" and export.describes > self.describes_before_completed:
                self._complete(export)
        return export

    def _complete(self, export: SandboxExport) -> None:
        s3 = self._s3(export.account_id)
        export.ended = time.time()
        files_key = f"{export.base_key}/manifest-files.json"
        files_body = "".join(json.dumps(entry) + "\n" for entry in export.data_files).encode()
        summary = {
            "version": "2020-06-30",
            "exportArn": export.arn,
            "startTime": _iso(export.started),
            "endTime": _iso(export.ended),
            "tableArn": export.table.table_arn,
            "tableId": _table_id(export.table),
            "exportTime": _iso(export.started),
            "s3Bucket": export.s3_bucket,
            "s3Prefix": export.s3_prefix,
            "s3SseAlgorithm": "AES256",
            "s3SseKmsKeyId": None,
            "manifestFilesS3Key": files_key,
            "billedSizeBytes": export.billed_bytes,
            "itemCount": export.item_count,
            "outputFormat": export.export_format,
            "exportType": export.export_type,
        }
        summary_body = json.dumps(summary).encode()
        for key, body in ((files_key, files_body), (export.manifest_key, summary_body)):
            s3.put_object(export.s3_bucket, key, body)
            s3.put_object(export.s3_bucket, key.removesuffix(".json") + ".checksum", _md5(body)[1].encode())
        export.status = "COMPLETED"


def _idempotent_mismatch() -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(
        "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
        "The ClientToken was already used with other parameters",
    )


def _export_not_found(arn: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(
        "com.amazonaws.dynamodb.v20120810#ExportNotFoundException", f"Export not found: {arn}"
    )


@contextlib.contextmanager
def installed(**options: Any) -> Iterator[ExportService]:
    """Route ExportTableToPointInTime and DescribeExport through :class:`ExportService` (``options`` go to it)."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler

    service = ExportService(**options)
    saved = {
        name: DynamoHandler.__dict__[name] for name in ("export_table_to_point_in_time", "describe_export")
    }

    def export_table_to_point_in_time(self: Any) -> Any:
        export = service.create(self.dynamodb_backend, self.body)
        return ActionResult({"ExportDescription": export.response()})

    def describe_export(self: Any) -> Any:
        export = service.describe(self.dynamodb_backend, self.body["ExportArn"])
        return ActionResult({"ExportDescription": export.response()})

    DynamoHandler.export_table_to_point_in_time = export_table_to_point_in_time  # type: ignore[method-assign]
    DynamoHandler.describe_export = describe_export  # type: ignore[method-assign]
    try:
        yield service
    finally:
        for name, method in saved.items():
            setattr(DynamoHandler, name, method)
