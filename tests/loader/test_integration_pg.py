"""The loader end to end on a real database: the throwaway PostgreSQL of tests/rig.

Real change files from the real writer land in moto's S3; the loader selects them,
writes the manifest and renders the load in the ``postgresql`` dialect; the rig's strict
adapter runs it as one transaction, executing the COPY from the manifest. The
psycopg2 executor is checked against the same server with credentials read from
Secrets Manager and SSM (moto).
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
import pytest
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import (
    LoadFailed,
    Psycopg2Executor,
    Submission,
    credentials_from_secret,
    credentials_from_ssm,
)
from ddb_cdc.loader.files import CdcFiles
from ddb_cdc.loader.service import Alerts, LoaderService, LoadsFailed, Metrics

from tests.rig.cdc_files import ChangeFiles, stream_record
from tests.rig.pg_copy import CopyError, StrictCopyExecutor

from .conftest import BUCKET, PREFIX, REGION, TABLE, Aws, base_env, sqs_event

CREATED_S = 1_795_752_000  # 2026-11-27T04:00:00Z


class RigExecutor:
    """The loader's Executor protocol over the rig's strict COPY adapter."""

    def __init__(self, connection: Any, s3: Any) -> None:
        self._connection = connection
        self._strict = StrictCopyExecutor(connection, s3)
        self.transactions = 0

    def run(self, statements: Sequence[str], *, name: str | None = None) -> Submission:
        self.transactions += 1
        try:
            self._strict.run_transaction(statements)
        except CopyError as exc:
            raise LoadFailed(f"COPY failed: {exc}") from exc
        return Submission("finished")

    def query(self, sql: str, params: Mapping[str, str] | None = None) -> list[tuple[Any, ...]]:
        with self._connection.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall() if cursor.description else []
        self._connection.commit()
        return rows


@pytest.fixture
def pg_loader(aws: Aws, pg_server, pg_schema) -> Iterator[tuple[LoaderService, RigExecutor, Any]]:
    spec = {"schema": pg_schema, "table": TABLE, "keys": [{"name": "id", "type": "S"}]}
    config = LoaderConfig.from_env(
        base_env(CDC_TARGET_SPEC=json.dumps(spec), CDC_ALERT_TOPIC_ARN=aws.topic_arn)
    )
    connection = pg_server.connect()
    executor = RigExecutor(connection, aws.s3)
    logger = logging.getLogger("tests.loader.pg")
    service = LoaderService(
        config,
        executor=executor,
        files=CdcFiles(aws.s3, BUCKET, PREFIX, TABLE),
        alerts=Alerts(aws.sns, config.alert_topic_arn, logger),
        metrics=Metrics(aws.cloudwatch, config.metric_namespace, TABLE),
        logger=logger,
        dialect="postgresql",
    )
    service.init()  # what `python -m ddb_cdc.cli init` runs before the first load
    yield service, executor, connection
    connection.close()


def _batch(files: ChangeFiles, first_seq: int, changes: Sequence[tuple[str, str, int | None]]) -> str:
    records = []
    for offset, (event_name, key, value) in enumerate(changes):
        image = None if value is None else {"id": {"S": key}, "qty": {"N": str(value)}}
        records.append(
            stream_record(
                event_name,
                {"id": {"S": key}},
                image,
                sequence_number=str(first_seq + offset),
                created_s=CREATED_S + first_seq + offset,
                event_id=f"e{first_seq + offset}",
                table=TABLE,
            )
        )
    return files.write_stream_batch(records)


def _view(connection: Any, schema: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "id", "doc" FROM "{schema}"."{TABLE}_current" ORDER BY "id"')
        rows = {key: doc["qty"] for key, doc in cursor.fetchall()}
    connection.commit()
    return rows


def test_s3_event_loads_real_files_through_one_postgres_transaction(aws, pg_loader, pg_schema):
    service, executor, connection = pg_loader
    files = ChangeFiles(aws.s3, BUCKET, PREFIX, TABLE)
    first = _batch(files, 100, [("INSERT", "a", 1), ("INSERT", "b", 2)])
    second = _batch(files, 200, [("MODIFY", "a", 10), ("REMOVE", "b", None), ("INSERT", "c", 3)])

    summary = service.run_s3_event(sqs_event([second, first]))

    assert executor.transactions == 2  # the DDL, then exactly one load for both files
    assert summary.loads[0]["files"] == 2
    assert _view(connection, pg_schema) == {"a": 10, "c": 3}
    assert service.ledgered({first, second}) == {first, second}
    assert service.status()["pending_files"] == 0

    again = service.run_s3_event(sqs_event([first, second]))  # a duplicate delivery
    assert again.loads == [] and executor.transactions == 2


def test_corrupt_file_fails_the_real_copy_and_the_good_file_loads_on_the_split_retry(
    aws, pg_loader, pg_schema
):
    service, _executor, connection = pg_loader
    files = ChangeFiles(aws.s3, BUCKET, PREFIX, TABLE)
    good = _batch(files, 300, [("INSERT", "x", 7)])
    corrupt = f"{PREFIX}/raw/{TABLE}/2026/11/27/04/broken.json.gz"
    files.put_raw(corrupt, gzip.compress(b'{"op": "INSERT", "seq": \n'))

    with pytest.raises(LoadsFailed):
        service.run_s3_event(sqs_event([good, corrupt]))
    assert _view(connection, pg_schema) == {}
    assert service.ledgered({good, corrupt}) == set()

    with pytest.raises(LoadsFailed):
        service.run_s3_event(sqs_event([]))  # retried from the failure store, split
    assert _view(connection, pg_schema) == {"x": 7}
    assert set(service.files.failure_records()) == {corrupt}


@pytest.mark.parametrize("source", ["secretsmanager", "ssm"])
def test_psycopg2_executor_reads_its_credentials_and_runs_one_transaction(aws, pg_server, pg_schema, source):
    document = json.dumps(
        {
            "host": pg_server.host,
            "port": pg_server.port,
            "dbname": pg_server.dbname,
            "username": pg_server.user,
            "password": "unused-trust-auth",
        }
    )
    if source == "secretsmanager":
        client = boto3.client("secretsmanager", region_name=REGION)
        arn = client.create_secret(Name="cdc/db", SecretString=document)["ARN"]

        def credentials():
            return credentials_from_secret(client, arn)

    else:
        client = boto3.client("ssm", region_name=REGION)
        client.put_parameter(Name="/cdc/db", Value=document, Type="SecureString")

        def credentials():
            return credentials_from_ssm(client, "/cdc/db")

    # The rig's server has no TLS; production verifies it (verify-full by default: test_psycopg2_tls.py).
    executor = Psycopg2Executor(
        credentials, connect_timeout_seconds=5, statement_timeout_ms=1234, sslmode="disable"
    )
    try:
        table = f'"{pg_schema}"."t"'
        assert (
            executor.run([f'CREATE SCHEMA "{pg_schema}"', f"CREATE TABLE {table} (v INT)"]).state
            == "finished"
        )
        with pytest.raises(LoadFailed, match="rolled back"):
            executor.run([f"INSERT INTO {table} VALUES (1)", "SELECT 1 / 0"])
        executor.run([f"INSERT INTO {table} VALUES (2)"])
        assert executor.query(f"SELECT v FROM {table}") == [(2,)]
        assert executor.query("SHOW statement_timeout") == [("1234ms",)]
    finally:
        executor.close()


def test_init_creates_target_ledger_and_view_once_and_a_rerun_changes_nothing(aws, pg_loader, pg_schema):
    service, _executor, connection = pg_loader
    files = ChangeFiles(aws.s3, BUCKET, PREFIX, TABLE)
    service.run_s3_event(sqs_event([_batch(files, 100, [("INSERT", "a", 1)])]))

    result = service.init()  # again, after data arrived

    assert result["state"] == "finished" and result["target"] == f"{pg_schema}.{TABLE}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
            (pg_schema,),
        )
        names = [row[0] for row in cursor.fetchall()]
    connection.commit()
    assert names == ["cdc_ledger", TABLE, f"{TABLE}_current"]
    assert _view(connection, pg_schema) == {"a": 1}  # nothing dropped or emptied
