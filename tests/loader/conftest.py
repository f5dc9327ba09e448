"""Fixtures for the loader: moto (S3, SNS, SQS, CloudWatch), an in-memory warehouse and
fake executors in front of it, and JSON event fixtures.

The in-memory warehouse stands in for the SQL: it reads each load's manifest from S3
(as COPY would), fails the load when a file is marked corrupt, and otherwise records
the files in its ledger. The real SQL against a real database is covered by
test_integration_pg.py through the PostgreSQL rig.
"""

from __future__ import annotations

import copy
import gzip
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from ddb_cdc import layout
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import DataApiExecutor, LoadFailed, Submission
from ddb_cdc.loader.files import CdcFiles
from ddb_cdc.loader.service import Alerts, LoaderService, Metrics
from moto import mock_aws

EVENTS = Path(__file__).parent / "events"
REGION = "us-east-1"
BUCKET = "cdc-bucket"
PREFIX = "cdc/prod"
TABLE = "orders"
ROLE_ARN = "arn:aws:iam::123456789012:role/cdc-copy"
SPEC = {"schema": "cdc", "table": "orders", "keys": [{"name": "id", "type": "S"}]}
HOUR_MS = 3_600_000
# 2026-11-27T04:00:00Z
T0_MS = 1_795_752_000_000


def base_env(**overrides: str) -> dict[str, str]:
    env = {
        "CDC_BUCKET": BUCKET,
        "CDC_PREFIX": PREFIX,
        "CDC_TABLE_NAME": TABLE,
        "CDC_TARGET_SPEC": json.dumps(SPEC),
        "CDC_COPY_ROLE_ARN": ROLE_ARN,
        "CDC_REDSHIFT_DATABASE": "dev",
        "CDC_REDSHIFT_CLUSTER_ID": "cdc-cluster",
        "CDC_REDSHIFT_DB_USER": "loader",
        "CDC_MAX_FILE_FAILURES": "3",
        "LOG_LEVEL": "DEBUG",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value != "<unset>"}


@dataclass
class FakeContext:
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"
    function_name: str = "cdc-loader"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def raw_key(hour_ms: int, name: str) -> str:
    return layout.raw_object_key(PREFIX, TABLE, hour_ms, name)


def sqs_event(keys: Sequence[str], bucket: str = BUCKET) -> dict[str, Any]:
    """An SQS batch with one S3 notification per key, keys form-encoded as S3 does."""
    template = load_event("sqs_s3_notifications.json")["Records"][1]
    records = []
    for key in keys:
        message = copy.deepcopy(template)
        body = json.loads(message["body"])
        body["Records"][0]["s3"]["object"]["key"] = quote_plus(key, safe="/")
        body["Records"][0]["s3"]["bucket"]["name"] = bucket
        message["body"] = json.dumps(body)
        message["messageId"] = str(uuid.uuid4())
        records.append(message)
    return {"Records": records}


# ---------------------------------------------------------------------------
# The in-memory warehouse and the executors in front of it
# ---------------------------------------------------------------------------

_MANIFEST_URL = re.compile(r"COPY \"cdc_stage\" FROM '(s3://[^']+)'")
_LITERAL = re.compile(r"'((?:[^']|'')*)'")


@dataclass
class FakeWarehouse:
    s3: Any
    ledger: dict[str, str] = field(default_factory=dict)  # file key -> load id
    corrupt: set[str] = field(default_factory=set)
    transactions: list[list[str]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    load_error_rows: list[tuple[Any, ...]] = field(default_factory=list)

    def copy_count(self) -> int:
        return sum(1 for statements in self.transactions for s in statements if s.startswith("COPY "))

    def manifest_files(self, statements: Sequence[str]) -> list[str]:
        copy_sql = next(s for s in statements if s.startswith("COPY "))
        match = _MANIFEST_URL.search(copy_sql)
        assert match, copy_sql
        bucket, key = match.group(1)[len("s3://") :].split("/", 1)
        document = json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        files = []
        for entry in document["entries"]:
            assert entry["mandatory"] is True
            file_bucket, file_key = entry["url"][len("s3://") :].split("/", 1)
            # Like a mandatory manifest entry in Redshift: a missing object fails the COPY.
            self.s3.head_object(Bucket=file_bucket, Key=file_key)
            files.append(file_key)
        return files

    def execute(self, statements: Sequence[str]) -> None:
        """Run one load transaction: all or nothing."""
        self.transactions.append(list(statements))
        if not any(statement.startswith("COPY ") for statement in statements):
            return  # DDL (`cli init`): nothing to load
        files = self.manifest_files(statements)
        bad = sorted(set(files) & self.corrupt)
        if bad:
            raise LoadFailed(f"Load into table 'cdc_stage' failed. Check 'stl_load_errors': {bad[0]}")
        load_id = re.search(r"'([0-9a-f]{32})'", " ".join(statements))
        for key in files:
            self.ledger.setdefault(key, load_id.group(1) if load_id else "?")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        self.queries.append(sql)
        if sql.startswith('SELECT "file_key" FROM'):
            literals = {value.replace("''", "'") for value in _LITERAL.findall(sql)}
            return [(key,) for key in sorted(literals & set(self.ledger))]
        if 'COUNT(*) AS "files"' in sql:
            raw = [key for key in self.ledger if key.startswith(f"{PREFIX}/raw/{TABLE}/")]
            return [(len(raw), max(raw) if raw else None, None)]
        if "load_error" in sql:
            return list(self.load_error_rows)
        raise AssertionError(f"unexpected query: {sql}")


class FakeSyncExecutor:
    """A waiting executor (like psycopg2 or Data API poll mode)."""

    def __init__(self, warehouse: FakeWarehouse) -> None:
        self.warehouse = warehouse

    def run(self, statements: Sequence[str], *, name: str | None = None) -> Submission:
        self.warehouse.execute(statements)
        return Submission("finished")

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self.warehouse.query(sql)


class FakeRedshiftData:
    """A boto3-shaped redshift-data client over the in-memory warehouse.

    moto's redshift-data returns canned results and leaves describe_statement STARTED
    forever, so the executor's poll and async paths are exercised against this stub.
    Batches run when submitted; describe_statement reports the outcome.
    """

    def __init__(self, warehouse: FakeWarehouse) -> None:
        self.warehouse = warehouse
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.statements: dict[str, dict[str, Any]] = {}
        self.describe_sequence: list[str] = []  # optional scripted states for polling tests

    def _new(self, description: dict[str, Any]) -> str:
        statement_id = str(uuid.uuid4())
        self.statements[statement_id] = {"Id": statement_id, **description}
        return statement_id

    def batch_execute_statement(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("batch_execute_statement", request))
        try:
            self.warehouse.execute(request["Sqls"])
        except LoadFailed as exc:
            copy_index = next(i for i, s in enumerate(request["Sqls"]) if s.startswith("COPY "))
            subs = [
                {
                    "Id": f"sub:{i + 1}",
                    "Status": "FINISHED" if i < copy_index else "FAILED",
                    "RedshiftQueryId": 4200 + i,
                }
                | ({"Error": str(exc)} if i == copy_index else {})
                for i in range(copy_index + 1)
            ]
            return {"Id": self._new({"Status": "FAILED", "Error": str(exc), "SubStatements": subs})}
        return {"Id": self._new({"Status": "FINISHED", "HasResultSet": False, "SubStatements": []})}

    def execute_statement(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("execute_statement", request))
        rows = self.warehouse.query(request["Sql"])
        return {"Id": self._new({"Status": "FINISHED", "HasResultSet": True, "rows": rows})}

    def describe_statement(self, Id: str) -> dict[str, Any]:  # boto3's parameter name
        if self.describe_sequence:
            return {"Id": Id, "Status": self.describe_sequence.pop(0), "Error": "scripted"}
        description = dict(self.statements[Id])
        description.pop("rows", None)
        return description

    def get_statement_result(self, Id: str, NextToken: str | None = None) -> dict[str, Any]:
        rows = self.statements[Id]["rows"]
        # Two rows per page, to exercise NextToken.
        start = int(NextToken or 0)
        page = rows[start : start + 2]
        records = [
            [
                {"isNull": True}
                if v is None
                else {"longValue": v}
                if isinstance(v, int)
                else {"stringValue": str(v)}
                for v in row
            ]
            for row in page
        ]
        result: dict[str, Any] = {"Records": records, "TotalNumRows": len(rows)}
        if start + 2 < len(rows):
            result["NextToken"] = str(start + 2)
        return result


# ---------------------------------------------------------------------------
# AWS and the service
# ---------------------------------------------------------------------------


@dataclass
class Aws:
    s3: Any
    sns: Any
    sqs: Any
    cloudwatch: Any
    topic_arn: str
    alert_queue_url: str

    def client(self, name: str) -> Any:
        return {"s3": self.s3, "sns": self.sns, "sqs": self.sqs, "cloudwatch": self.cloudwatch}[name]

    def put_raw(self, key: str, lines: Sequence[str] = ('{"op":"INSERT"}',)) -> str:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(("\n".join(lines) + "\n").encode()))
        return key

    def alerts(self) -> list[dict[str, Any]]:
        """SNS alerts delivered so far (through an SQS subscription), oldest first."""
        found = []
        while True:
            response = self.sqs.receive_message(QueueUrl=self.alert_queue_url, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                envelope = json.loads(message["Body"])
                found.append({"subject": envelope.get("Subject"), "message": json.loads(envelope["Message"])})
                self.sqs.delete_message(QueueUrl=self.alert_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def metric_names(self) -> set[str]:
        return {
            metric["MetricName"] for metric in self.cloudwatch.list_metrics(Namespace="DdbCdc")["Metrics"]
        }


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="cdc-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        yield Aws(s3, sns, sqs, boto3.client("cloudwatch", region_name=REGION), topic, queue_url)


@pytest.fixture
def warehouse(aws: Aws) -> FakeWarehouse:
    return FakeWarehouse(aws.s3)


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> float:
        return self.now_ms / 1000


@pytest.fixture
def clock() -> Clock:
    return Clock(T0_MS + 30 * 60_000)


@pytest.fixture
def make_service(aws: Aws, warehouse: FakeWarehouse, clock: Clock) -> Callable[..., LoaderService]:
    """A LoaderService on moto and the in-memory warehouse.

    ``executor="sync"`` (default) waits like psycopg2; ``"async"`` and ``"poll"`` use
    the real DataApiExecutor over :class:`FakeRedshiftData`.
    """

    def make(executor: str = "sync", **env: str) -> LoaderService:
        config = LoaderConfig.from_env(base_env(CDC_ALERT_TOPIC_ARN=aws.topic_arn, **env))
        logger = logging.getLogger("tests.loader")
        if executor == "sync":
            runner: Any = FakeSyncExecutor(warehouse)
        else:
            assert config.redshift is not None
            runner = DataApiExecutor(
                FakeRedshiftData(warehouse),
                config.redshift,
                mode=executor,
                poll_budget_seconds=5,
                sleep=lambda _s: None,  # type: ignore[arg-type]
            )
        return LoaderService(
            config,
            executor=runner,
            files=CdcFiles(aws.s3, BUCKET, PREFIX, TABLE, clock=clock),
            alerts=Alerts(aws.sns, config.alert_topic_arn, logger),
            metrics=Metrics(aws.cloudwatch, config.metric_namespace, TABLE),
            logger=logger,
            clock=clock,
        )

    return make
