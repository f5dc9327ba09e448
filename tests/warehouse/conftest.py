"""Fixtures for the warehouse tests: the rig's PostgreSQL and moto's S3."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from ddb_cdc.warehouse import TargetSpec
from moto import mock_aws

from tests.rig.cdc_files import REGION, ChangeFiles
from tests.rig.loads import LocalWarehouse
from tests.rig.postgres import PostgresServer

BUCKET = "cdc-bucket"
PREFIX = "cdc/prod"
TABLE = "orders"


@pytest.fixture(scope="module")
def _moto_s3() -> Iterator[Any]:
    # Starting moto costs about half a second; once per module, not once per test.
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def s3(_moto_s3: Any) -> Any:
    """moto S3 with the change bucket created and empty."""
    listed = _moto_s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    while listed:
        _moto_s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": item["Key"]} for item in listed]})
        listed = _moto_s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return _moto_s3


@pytest.fixture
def change_files(s3: Any) -> ChangeFiles:
    return ChangeFiles(s3, BUCKET, PREFIX, TABLE)


@pytest.fixture
def make_warehouse(pg_server: PostgresServer, s3: Any) -> Iterator[Callable[[TargetSpec], LocalWarehouse]]:
    """Build a LocalWarehouse for a spec (DDL applied); connections close after the test."""
    connections: list[Any] = []

    def make(spec: TargetSpec) -> LocalWarehouse:
        connection = pg_server.connect()
        connections.append(connection)
        warehouse = LocalWarehouse(spec, connection, s3, BUCKET, PREFIX)
        warehouse.create()
        return warehouse

    yield make
    for connection in connections:
        connection.close()
