"""The loader's S3 side: raw change files, manifests, failure counts and quarantine.

Layout under ``<prefix>/`` (contract 2 plus the loader's own areas):

* ``raw/<table>/YYYY/MM/DD/HH/<name>.json.gz``: change files (read, listed, moved).
* ``manifests/<table>/<load_id>.json``: one COPY manifest per load. The load id is a
  digest of the file set (``ddb_cdc.warehouse.load_id_for``), so the same files always
  give the same key. The completion handler reads it back to learn which files a
  finished or failed statement covered.
* ``load-failures/<table>/<relative key>.json``: one small JSON object per file that
  failed to load, ``{"key", "failures", "other_failures", "isolate", "last_kind",
  "last_error", "last_load_id", "updated_at"}``. ``failures`` counts only failures
  the warehouse blamed on the file's own content (its name in the load errors); it
  alone leads to quarantine. ``other_failures`` counts the rest (outages, timeouts,
  throttling, another file's error). Kept in S3, outside the warehouse transaction
  that failed, so a rollback cannot erase the count. Listing this prefix is also the
  retry list: the s3_event trigger adds these files to every load, because their SQS
  messages are gone. Deleted when the file loads.
* ``load-failures/<table>/_reconcile.json``: the reconciliation sweep's two cursors
  (see :mod:`ddb_cdc.loader.reconcile`). Kept beside the failure records because it
  is the same kind of bookkeeping and the loader's role may already write there.
* ``quarantine/<table>/files/<relative key>``: a file moved out of ``raw/`` after
  ``CDC_MAX_FILE_FAILURES`` failed loads. Moved, not marked, so that listing ``raw/``
  never sees it again and later loads go ahead; ``release`` moves it back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from botocore.exceptions import ClientError

from ddb_cdc.warehouse import load_id_for, manifest_body, manifest_key, s3_url
from ddb_cdc.warehouse.sql import raw_prefix

FAILURES: Final = "load-failures"
QUARANTINE_FILES: Final = "files"


@dataclass(frozen=True, slots=True)
class RawFile:
    key: str
    last_modified: datetime | None


# How a failed load involved a file (see LoaderService.on_failure):
# content: the load errors name this file; counts toward quarantine, loads alone next.
# unattributed: the warehouse refused the load but named no file; loads alone next.
# collateral: the load errors named another file of the batch.
# transient: the warehouse never judged the file (outage, timeout, throttling, abort).
FailureKind = Literal["content", "unattributed", "collateral", "transient"]
ISOLATING: Final = frozenset({"content", "unattributed"})
RECONCILE_STATE: Final = "_reconcile.json"
# The newest failure of any load of this table (what ``status`` reports as the last outcome when it is newer than
# the ledger's newest row): kept when the files' own records go (a success, a quarantine).
LAST_FAILURE: Final = "_last_failure.json"


@dataclass(frozen=True, slots=True)
class FailureRecord:
    key: str
    failures: int  # content failures only: the quarantine counter
    last_error: str
    last_load_id: str
    other_failures: int = 0
    isolate: bool = True  # load it on its own next time
    last_kind: str = "content"
    # The Data API statement whose failure was counted last: the same statement's event,
    # delivered again (EventBridge delivers at least once) or replayed, counts once.
    last_statement_id: str = ""
    # When the record was last written (its object's LastModified): the time of the last failure.
    recorded_at: datetime | None = None


def _join(prefix: str, *parts: str) -> str:
    return "/".join((prefix, *parts)) if prefix else "/".join(parts)


class CdcFiles:
    def __init__(
        self, s3_client: Any, bucket: str, prefix: str, table: str, *, clock: Any = time.time
    ) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self.prefix = prefix
        self.table = table
        self.raw_prefix = raw_prefix(prefix, table)
        self.failures_prefix = _join(prefix, FAILURES, table) + "/"
        self.quarantine_prefix = _join(prefix, "quarantine", table, QUARANTINE_FILES) + "/"
        self._clock = clock

    # -- listing ------------------------------------------------------------

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def list_raw_page(self, *, start_after: str, max_keys: int) -> tuple[list[RawFile], list[str], bool]:
        """One ListObjectsV2 page after ``start_after`` (key order is hour order): the raw
        change files, every key listed (for the cursor), and whether the listing ended."""
        response = self._s3.list_objects_v2(
            Bucket=self.bucket,
            Prefix=self.raw_prefix,
            MaxKeys=max_keys,
            **({"StartAfter": start_after} if start_after else {}),
        )
        contents = response.get("Contents", [])
        files = [
            RawFile(item["Key"], item.get("LastModified"))
            for item in contents
            if item["Key"].endswith(".json.gz")
        ]
        return files, [item["Key"] for item in contents], not response.get("IsTruncated")

    def list_raw(self, prefixes: Iterable[str] | None = None) -> list[RawFile]:
        """Raw change files under the given hour prefixes (default: all of the table's)."""
        found: dict[str, RawFile] = {}
        for prefix in prefixes if prefixes is not None else [self.raw_prefix]:
            for item in self._list(prefix):
                key = item["Key"]
                if key.endswith(".json.gz"):
                    found[key] = RawFile(key, item.get("LastModified"))
        return [found[key] for key in sorted(found)]

    def list_keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (a compaction run's output), sorted."""
        return sorted(item["Key"] for item in self._list(prefix))

    def read_bytes(self, key: str) -> bytes:
        return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def write_bytes(self, key: str, body: bytes, content_type: str) -> str:
        """Put one object; returns its ``s3://`` URL."""
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        return s3_url(self.bucket, key)

    def last_modified(self, key: str) -> datetime | None:
        try:
            return self._s3.head_object(Bucket=self.bucket, Key=key)["LastModified"]
        except ClientError:  # gone (quarantined, expired): no lag figure for this load
            return None

    def _relative(self, key: str) -> str:
        if not key.startswith(self.raw_prefix):
            raise ValueError(f"{key!r} is not under {self.raw_prefix!r}")
        return key[len(self.raw_prefix) :]

    # -- manifests ----------------------------------------------------------

    def write_manifest(self, files: Sequence[str]) -> tuple[str, str]:
        """Write the manifest of a load; returns ``(load_id, s3 url)``."""
        load_id = load_id_for(files)
        key = manifest_key(self.prefix, self.table, load_id)
        self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=manifest_body(self.bucket, files),
            ContentType="application/json",
        )
        return load_id, s3_url(self.bucket, key)

    def read_manifest(self, load_id: str) -> list[str]:
        """The object keys a load's manifest lists (for the completion handler)."""
        key = manifest_key(self.prefix, self.table, load_id)
        document = json.loads(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        start = f"s3://{self.bucket}/"
        return [entry["url"][len(start) :] for entry in document["entries"] if entry["url"].startswith(start)]

    # -- failure counts -----------------------------------------------------

    def _failure_key(self, key: str) -> str:
        return self.failures_prefix + self._relative(key) + ".json"

    def failure_records(self) -> dict[str, FailureRecord]:
        """Every file of this table with a failed load and no success since."""
        records: dict[str, FailureRecord] = {}
        own = {self.failures_prefix + RECONCILE_STATE, self.failures_prefix + LAST_FAILURE}
        for item in self._list(self.failures_prefix):
            if item["Key"] in own:
                continue
            body = self._s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
            document = json.loads(body)
            failures = int(document["failures"])
            records[document["key"]] = FailureRecord(
                document["key"],
                failures,
                str(document.get("last_error", "")),
                str(document.get("last_load_id", "")),
                other_failures=int(document.get("other_failures", 0)),
                # Records written before failures were classified: every failure isolated.
                isolate=bool(document.get("isolate", True)),
                last_kind=str(document.get("last_kind", "content")),
                last_statement_id=str(document.get("last_statement_id", "")),
                recorded_at=_parse_time(document.get("updated_at")) or item.get("LastModified"),
            )
        return records

    def record_failure(
        self,
        files: Sequence[str],
        *,
        error: str,
        load_id: str,
        kinds: Mapping[str, FailureKind] | None = None,
        known: dict[str, FailureRecord] | None = None,
        statement_id: str | None = None,
    ) -> dict[str, int]:
        """Add one failure of its kind (default ``content``) to each file; returns the
        content-failure counts (the quarantine counters). A failure of a statement
        already counted for a file (``statement_id``) is not counted again.

        Read-modify-write is safe because the loader runs with reserved concurrency 1
        and a completion handler only ever counts the files of its own statement.
        """
        records = known if known is not None else self.failure_records()
        counts: dict[str, int] = {}
        noted: tuple[str, str] | None = None
        for key in files:
            kind = (kinds or {}).get(key, "content")
            before = records.get(key)
            if statement_id and before is not None and before.last_statement_id == statement_id:
                counts[key] = before.failures
                continue
            count = (before.failures if before else 0) + (kind == "content")
            other = (before.other_failures if before else 0) + (kind != "content")
            document = {
                "key": key,
                "failures": count,
                "other_failures": other,
                # Once the warehouse blamed a file, it keeps loading alone until it loads.
                "isolate": kind in ISOLATING or bool(before and before.isolate and before.failures),
                "last_kind": kind,
                "last_error": error[:2000],
                "last_load_id": load_id,
                "last_statement_id": statement_id or "",
                "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock())),
            }
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self._failure_key(key),
                Body=json.dumps(document).encode("utf-8"),
                ContentType="application/json",
            )
            counts[key] = count
            noted = (kind, key)
        if noted is not None:
            self.note_failure(error=error, kind=noted[0], load_id=load_id, files=len(files))
        return counts

    def note_failure(self, *, error: str, kind: str, load_id: str, files: int) -> None:
        """Remember the newest failure of any load of this table (``status``'s last outcome)."""
        document = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock())),
            "kind": kind,
            "error": error[:2000],
            "load_id": load_id,
            "files": files,
        }
        self._s3.put_object(
            Bucket=self.bucket,
            Key=self.failures_prefix + LAST_FAILURE,
            Body=json.dumps(document).encode("utf-8"),
            ContentType="application/json",
        )

    def last_failure(self) -> dict[str, Any] | None:
        """The newest failure noted (``at`` as an aware UTC datetime), or None."""
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=self.failures_prefix + LAST_FAILURE)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        document = json.loads(body.read())
        document["at"] = _parse_time(document.get("at"))
        return document

    def clear_failures(self, files: Iterable[str]) -> None:
        keys = [{"Key": self._failure_key(key)} for key in files]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
            self._s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
            )

    # -- reconciliation state -----------------------------------------------

    def read_reconcile_state(self) -> dict[str, str]:
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=self.failures_prefix + RECONCILE_STATE)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return {}
            raise
        document = json.loads(body.read())
        return {name: str(value) for name, value in document.items() if isinstance(value, str)}

    def write_reconcile_state(self, state: Mapping[str, str]) -> None:
        self._s3.put_object(
            Bucket=self.bucket,
            Key=self.failures_prefix + RECONCILE_STATE,
            Body=json.dumps(dict(state), sort_keys=True).encode("utf-8"),
            ContentType="application/json",
        )

    # -- quarantine ---------------------------------------------------------

    def quarantine_key(self, key: str) -> str:
        return self.quarantine_prefix + self._relative(key)

    def quarantined(self) -> set[str]:
        """Raw keys of every quarantined file (their original place)."""
        return {
            self.raw_prefix + item["Key"][len(self.quarantine_prefix) :]
            for item in self._list(self.quarantine_prefix)
        }

    def quarantine(self, key: str) -> str:
        """Move a raw file into quarantine (copy, then delete); returns the new key."""
        target = self.quarantine_key(key)
        self._s3.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": key})
        self._s3.delete_object(Bucket=self.bucket, Key=key)
        self.clear_failures([key])
        return target

    def release(self, key: str) -> None:
        """Move a quarantined file back to its raw key and forget its failures."""
        source = self.quarantine_key(key)
        self._s3.copy_object(Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": source})
        self._s3.delete_object(Bucket=self.bucket, Key=source)
        self.clear_failures([key])


def _parse_time(text: Any) -> datetime | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` (what this module writes) as an aware UTC datetime; None otherwise."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
