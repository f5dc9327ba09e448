"""COPY manifests: where they live in S3, what they hold, and the load id they carry.

Contract 2 puts loader manifests under ``<prefix>/manifests/``. The full key is
``<prefix>/manifests/<table>/<load_id>.json``. The load id is derived from the files, so
a retried load writes the same manifest key with the same bytes instead of a new one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Final

from ddb_cdc.warehouse.identifiers import ConfigError, text

MANIFESTS: Final = "manifests"
MANIFEST_SUFFIX: Final = ".json"

# S3's bucket naming rules, without the rarely used dotted IP-address form.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _bucket(bucket: str) -> str:
    if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket):
        raise ConfigError(f"bucket {bucket!r} is not a valid S3 bucket name")
    return bucket


def load_id_for(file_keys: Iterable[str]) -> str:
    """A deterministic load id: the same set of files always gets the same id."""
    unique = sorted(set(file_keys))
    if not unique:
        raise ConfigError("a load needs at least one file")
    digest = hashlib.sha256("\n".join(unique).encode("utf-8")).hexdigest()
    return digest[:32]


def manifest_key(prefix: str, table: str, load_id: str) -> str:
    """``<prefix>/manifests/<table>/<load_id>.json``."""
    text(table, "table", max_length=255)
    if "/" in table:
        raise ConfigError(f"table {table!r} cannot contain a slash")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", load_id):
        raise ConfigError(f"load_id {load_id!r} must be 1 to 64 letters, digits, '_', '.' or '-'")
    parts = [prefix] if prefix else []
    return "/".join([*parts, MANIFESTS, table, load_id + MANIFEST_SUFFIX])


def s3_url(bucket: str, key: str) -> str:
    return f"s3://{_bucket(bucket)}/{key}"


def manifest_body(bucket: str, file_keys: Iterable[str]) -> bytes:
    """A Redshift COPY manifest listing every file as mandatory.

    Mandatory means a missing object fails the COPY (and so the whole load) instead
    of being skipped: a file that vanished must never be recorded in the ledger as
    loaded.
    """
    entries = [{"url": s3_url(bucket, text(key, "file key")), "mandatory": True} for key in file_keys]
    if not entries:
        raise ConfigError("a manifest needs at least one file")
    return json.dumps({"entries": entries}, separators=(",", ":")).encode("utf-8")
