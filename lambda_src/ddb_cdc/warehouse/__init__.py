"""The warehouse core: target model, identifier rules, and the one SQL renderer.

Pure code: no database driver, no AWS client. Executors (Data API, psycopg2) and the
loader handlers run what :mod:`ddb_cdc.warehouse.sql` renders.
"""

from ddb_cdc.warehouse.identifiers import DIALECTS, ColumnType, ConfigError, Dialect, parse_column_type
from ddb_cdc.warehouse.ledger import LedgerStatus
from ddb_cdc.warehouse.manifest import load_id_for, manifest_body, manifest_key, s3_url
from ddb_cdc.warehouse.model import ColumnSpec, KeyAttribute, TargetSpec
from ddb_cdc.warehouse.sql import (
    render_copy,
    render_ddl,
    render_ledgered_files,
    render_load,
    render_newest_change,
    render_status,
    target_column_names,
)

__all__ = [
    "DIALECTS",
    "ColumnSpec",
    "ColumnType",
    "ConfigError",
    "Dialect",
    "KeyAttribute",
    "LedgerStatus",
    "TargetSpec",
    "load_id_for",
    "manifest_body",
    "manifest_key",
    "parse_column_type",
    "render_copy",
    "render_ddl",
    "render_ledgered_files",
    "render_load",
    "render_newest_change",
    "render_status",
    "s3_url",
    "target_column_names",
]
