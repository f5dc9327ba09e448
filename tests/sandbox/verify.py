"""The demo's proof: a full scan of the DynamoDB table equals the warehouse's current view.

Both sides are reduced to ``{canonical key string: item}``, the item in DynamoDB's own terms
(``tests.capture.strategies.normal``: numbers as DynamoDB's canonical text, binary as bytes,
sets as sets). The warehouse side is rebuilt from each row as a consumer would
(``ddb_cdc.envelope.rebuild_item`` over ``doc``, ``_cdc_exact_numbers`` and
``_cdc_exact_types``), so the check covers every type and every digit, not only what plain
JSON shows. The warehouse side is read over a database connection (:func:`read_view`, the
sandbox's PostgreSQL) or through the Redshift Data API (:func:`read_view_data_api`, what
``make verify-aws`` uses against Redshift).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ddb_cdc.envelope import key_string, rebuild_item
from ddb_cdc.warehouse.identifiers import quote
from ddb_cdc.warehouse.model import DOCUMENT_COLUMN, EXACT_NUMBERS_COLUMN, EXACT_TYPES_COLUMN

from tests.capture.strategies import normal


def _parse(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


@dataclass(frozen=True, slots=True)
class Comparison:
    table_items: int
    view_rows: int
    missing: list[str] = field(default_factory=list)  # in the table, not in the view
    extra: list[str] = field(default_factory=list)  # in the view, not in the table (lost delete)
    different: list[str] = field(default_factory=list)  # in both, with other contents

    @property
    def mismatches(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.different)

    def sample(self, limit: int = 5) -> dict[str, list[str]]:
        return {
            "missing": self.missing[:limit],
            "extra": self.extra[:limit],
            "different": self.different[:limit],
        }


def scan_table(dynamodb: Any, table: str) -> dict[str, Any]:
    """Every item of ``table`` (a consistent scan, all pages) keyed by its canonical key string."""
    schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
    key_names = [element["AttributeName"] for element in schema]
    items: dict[str, Any] = {}
    paginator = dynamodb.get_paginator("scan")
    for page in paginator.paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items[key_string({name: item[name] for name in key_names})] = normal({"M": item})
    return items


def _item(document: str | None, exact_numbers: str | None, exact_types: str | None) -> Any:
    """The exact DynamoDB item a row stands for, as a consumer rebuilds it
    (``ddb_cdc.envelope.rebuild_item``): the document, the exact text of every number SUPER
    may have changed (``_cdc_exact_numbers``) and the types plain JSON cannot tell
    (``_cdc_exact_types``: B, sets, strings stored in pieces)."""
    if document is None:
        return None
    parsed = [None if text is None else _parse(text) for text in (document, exact_numbers, exact_types)]
    return normal({"M": rebuild_item(*parsed)})


def read_view(connection: Any, schema: str, view: str) -> dict[str, Any]:
    """The warehouse side: ``_cdc_key`` -> item, from the view that hides tombstones."""
    sql = (
        f'SELECT "_cdc_key", CAST({quote(DOCUMENT_COLUMN)} AS TEXT), CAST({quote(EXACT_NUMBERS_COLUMN)} AS TEXT), '
        f"CAST({quote(EXACT_TYPES_COLUMN)} AS TEXT) FROM {quote(schema)}.{quote(view)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    connection.commit()
    return {key: _item(document, numbers, types) for key, document, numbers, types in rows}


class DataApiFailed(RuntimeError):
    """A Data API statement failed, was aborted, or did not finish in time."""


def data_api_statement(
    data_api: Any,
    target: Mapping[str, str],
    sqls: list[str],
    *,
    timeout: float = 120.0,
    poll_seconds: float = 0.25,
) -> dict[str, Any]:
    """Run ``sqls`` through the Data API (one statement, or one transaction for several) and wait, on its
    status, until it finished; returns DescribeStatement's answer. ``target`` names the warehouse as the Data
    API does (``WorkgroupName`` or ``ClusterIdentifier`` with ``DbUser``/``SecretArn``, and ``Database``)."""
    if len(sqls) == 1:
        statement_id = data_api.execute_statement(Sql=sqls[0], **target)["Id"]
    else:
        statement_id = data_api.batch_execute_statement(Sqls=sqls, **target)["Id"]
    deadline = time.monotonic() + timeout
    while True:
        described = data_api.describe_statement(Id=statement_id)
        status = described["Status"]
        if status == "FINISHED":
            return described
        if status in ("FAILED", "ABORTED"):
            raise DataApiFailed(f"{status}: {described.get('Error', '')} (in {sqls[0][:80]!r}...)")
        if time.monotonic() > deadline:
            data_api.cancel_statement(Id=statement_id)
            raise DataApiFailed(f"still {status} after {timeout:.0f} s (in {sqls[0][:80]!r}...)")
        time.sleep(poll_seconds)


def data_api_rows(
    data_api: Any, target: Mapping[str, str], sql: str, *, timeout: float = 120.0
) -> list[list[Any]]:
    """Every row of one query through the Data API, each as a list of plain values (all result pages)."""
    described = data_api_statement(data_api, target, [sql], timeout=timeout)
    rows: list[list[Any]] = []
    if not described.get("HasResultSet", True):
        return rows
    token = None
    while True:
        page = data_api.get_statement_result(Id=described["Id"], **({"NextToken": token} if token else {}))
        rows += [
            [None if value.get("isNull") else next(iter(value.values())) for value in r]
            for r in page["Records"]
        ]
        token = page.get("NextToken")
        if not token:
            return rows


def read_view_data_api(
    data_api: Any, target: Mapping[str, str], schema: str, view: str, *, timeout: float = 120.0
) -> dict[str, Any]:
    """The warehouse side read as a user of the Data API reads it: ``_cdc_key`` -> document.

    ``JSON_SERIALIZE`` is how Redshift turns a SUPER value into text (a CAST of an object to VARCHAR is not).
    """
    sql = (
        f'SELECT "_cdc_key", JSON_SERIALIZE({quote(DOCUMENT_COLUMN)}), JSON_SERIALIZE({quote(EXACT_NUMBERS_COLUMN)}), '
        f"JSON_SERIALIZE({quote(EXACT_TYPES_COLUMN)}) FROM {quote(schema)}.{quote(view)}"
    )
    return {
        key: _item(document, numbers, types)
        for key, document, numbers, types in data_api_rows(data_api, target, sql, timeout=timeout)
    }


def compare(table: Mapping[str, Any], view: Mapping[str, Any]) -> Comparison:
    missing = sorted(set(table) - set(view))
    extra = sorted(set(view) - set(table))
    different = sorted(key for key in set(table) & set(view) if table[key] != view[key])
    return Comparison(len(table), len(view), missing, extra, different)
