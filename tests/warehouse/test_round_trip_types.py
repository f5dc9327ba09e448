"""Item -> envelope -> warehouse -> item, for every DynamoDB type.

The capture tests prove the envelope can be rebuilt; this proves the warehouse keeps
enough to rebuild it: the items go through the real stream writer, the COPY and the
load transaction (the Redshift dialect, held to the emulator's Redshift rules, whose
SUPER keeps numbers the worst plausible way), and each row's ``doc``,
``_cdc_exact_numbers`` and ``_cdc_exact_types`` give back the exact item with
``ddb_cdc.envelope.rebuild_item``. Strategy and exclusions: tests/capture/strategies.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from ddb_cdc.envelope import rebuild_item
from ddb_cdc.warehouse import KeyAttribute, TargetSpec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.capture.strategies import items, normal
from tests.rig.cdc_files import REGION, ChangeFiles, stream_record
from tests.rig.loads import LocalWarehouse
from tests.rig.postgres import PostgresServer

BUCKET = "round-trip"
TABLE = "things"


class Rig:
    def __init__(self, pg_server: PostgresServer, s3: Any) -> None:
        self.connection = pg_server.connect()
        self.schema = "rt_" + uuid.uuid4().hex[:8]
        self.warehouse = LocalWarehouse(
            TargetSpec(self.schema, TABLE, (KeyAttribute("pk", "S"),)), self.connection, s3, BUCKET, "cdc"
        )
        self.warehouse.create()
        self.files = ChangeFiles(s3, BUCKET, "cdc", TABLE)
        self.sequence = 0

    def load(self, batch: list[dict[str, Any]]) -> None:
        records = []
        for item in batch:
            self.sequence += 1
            records.append(
                stream_record(
                    "INSERT",
                    {"pk": item["pk"]},
                    item,
                    sequence_number=str(self.sequence),
                    created_s=1_795_000_000,
                    event_id=f"e{self.sequence}",
                    table=TABLE,
                )
            )
        self.warehouse.load([self.files.write_stream_batch(records)])

    def rebuilt(self, key: str) -> dict[str, Any] | None:
        [(doc, exact_numbers, exact_types)] = self.warehouse.query(
            'SELECT CAST("doc" AS TEXT), CAST("_cdc_exact_numbers" AS TEXT), CAST("_cdc_exact_types" AS TEXT) '
            f'FROM "{self.schema}"."{TABLE}_current" WHERE "pk" = %s',
            [key],
        )

        def parse(text: str | None) -> Any:
            return None if text is None else json.loads(text, parse_float=Decimal)

        return rebuild_item(parse(doc), parse(exact_numbers), parse(exact_types))


@pytest.fixture(scope="module")
def rig(pg_server: PostgresServer) -> Iterator[Rig]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        rig = Rig(pg_server, s3)
        yield rig
        rig.connection.close()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(st.lists(items, min_size=1, max_size=4))
@example(
    [
        {
            "pk": {"S": "x"},
            "nul": {"S": "a\x00\x00b"},
            "big": {"N": "12345678901234567890123456789012345678"},
            "huge": {"N": "1E+125"},
            "tiny": {"N": "1E-36"},
            "trailing": {"N": "1.50"},
            "b": {"B": "aGk="},
            "s": {"S": "aGk="},
            "ss": {"SS": ["a", "b"]},
            "l": {"L": [{"S": "a"}, {"S": "b"}]},
            "ns": {"NS": ["1", "2.5"]},
            "bs": {"BS": ["AA==", "AQ=="]},
            "long": {"S": "é" * 40_000},
        }
    ]
)
def test_every_dynamodb_type_comes_back_from_the_warehouse_exactly(
    rig: Rig, batch: list[dict[str, Any]]
) -> None:
    # Unique string keys, so that every item of every example is its own row.
    batch = [{**item, "pk": {"S": f"{uuid.uuid4().hex}"}} for item in batch]
    rig.load(batch)
    for item in batch:
        assert normal({"M": rig.rebuilt(item["pk"]["S"])}) == normal({"M": item})
