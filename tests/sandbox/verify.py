"""The demo's proof: a full scan of the DynamoDB table equals the warehouse's current view.

Both sides are reduced to ``{canonical key string: item as JSON}``. The table side goes
through the envelope's own converter (``ddb_cdc.envelope``), so this checks the pipeline
(capture, files, COPY, merge, tombstones), not the converter, which has its own tests.
Numbers compare by value (``Decimal``), so ``1.50`` and ``1.5`` are equal on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ddb_cdc.envelope import item_to_json, key_string
from ddb_cdc.warehouse.identifiers import quote
from ddb_cdc.warehouse.model import DOCUMENT_COLUMN


def _parse(text: str) -> Any:
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


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
            items[key_string({name: item[name] for name in key_names})] = _parse(item_to_json(item))
    return items


def read_view(connection: Any, schema: str, view: str) -> dict[str, Any]:
    """The warehouse side: ``_cdc_key`` -> document, from the view that hides tombstones."""
    sql = f'SELECT "_cdc_key", CAST({quote(DOCUMENT_COLUMN)} AS TEXT) FROM {quote(schema)}.{quote(view)}'
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    connection.commit()
    return {key: _parse(document) for key, document in rows}


def compare(table: Mapping[str, Any], view: Mapping[str, Any]) -> Comparison:
    missing = sorted(set(table) - set(view))
    extra = sorted(set(view) - set(table))
    different = sorted(key for key in set(table) & set(view) if table[key] != view[key])
    return Comparison(len(table), len(view), missing, extra, different)
