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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from botocore.exceptions import ClientError
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


class OperationalError(Exception):
    """Stands in for psycopg2.OperationalError (a lost connection), matched by name."""


@dataclass
class FakeWarehouse:
    s3: Any
    ledger: dict[str, str] = field(default_factory=dict)  # file key -> load id
    corrupt: set[str] = field(default_factory=set)
    transactions: list[list[str]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    # Rows the load-error views return, as given by a test; empty: built from `load_errors`.
    load_error_rows: list[tuple[Any, ...]] = field(default_factory=list)
    # What a failed COPY left in stl_load_errors: (query id or None, file URL, line).
    load_errors: list[tuple[int | None, str, int]] = field(default_factory=list)
    down: bool = False  # an outage: every call fails as a lost connection would
    # What the ledger row's last_loaded_at and the target's newest _cdc_source_ts read (UTC wall time, no zone).
    last_loaded_at: Any = None
    newest_change_at: Any = None

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

    def check_up(self) -> None:
        if self.down:
            raise LoadFailed("query failed: OperationalError: could not connect to server") from (
                OperationalError("could not connect to server")
            )

    def execute(self, statements: Sequence[str], query_id: int | None = None) -> None:
        """Run one load transaction: all or nothing."""
        self.check_up()
        self.transactions.append(list(statements))
        if not any(statement.startswith("COPY ") for statement in statements):
            return  # DDL (`cli init`): nothing to load
        files = self.manifest_files(statements)
        bad = sorted(set(files) & self.corrupt)
        if bad:
            # Like Redshift: the load error outlives the rollback, naming file and line.
            self.load_errors.append((query_id, f"s3://{BUCKET}/{bad[0]}", 1))
            raise LoadFailed(f"Load into table 'cdc_stage' failed. Check 'stl_load_errors': {bad[0]}")
        load_id = re.search(r"'([0-9a-f]{32})'", " ".join(statements))
        for key in files:
            self.ledger.setdefault(key, load_id.group(1) if load_id else "?")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        self.check_up()
        self.queries.append(sql)
        if sql.startswith('SELECT "file_key" FROM'):
            literals = {value.replace("''", "'") for value in _LITERAL.findall(sql)}
            return [(key,) for key in sorted(literals & set(self.ledger))]
        if 'COUNT(*) AS "files"' in sql:
            raw = [key for key in self.ledger if key.startswith(f"{PREFIX}/raw/{TABLE}/")]
            return [(len(raw), max(raw) if raw else None, self.last_loaded_at)]
        if '"newest_change_at"' in sql:
            return [(self.newest_change_at,)]
        if "load_error" in sql:
            if self.load_error_rows:
                return list(self.load_error_rows)
            by_query = re.search(r"query(?:_id)? = (\d+)", sql)
            urls = {value.replace("''", "'") for value in _LITERAL.findall(sql)}
            return [
                (url, line, "", 1216, "Invalid JSON object")
                for query_id, url, line in self.load_errors
                if (query_id == int(by_query.group(1)) if by_query else url in urls)
            ]
        if sql == "SELECT 1":
            return [(1,)]
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
        self.throttle = 0  # the next n calls fail with ThrottlingException

    def _new(self, description: dict[str, Any]) -> str:
        statement_id = str(uuid.uuid4())
        self.statements[statement_id] = {"Id": statement_id, **description}
        return statement_id

    def _check_up(self, operation: str) -> None:
        if self.warehouse.down:  # the Data API answers, but the warehouse cannot be reached
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Cluster is paused"}}, operation
            )
        if self.throttle:
            self.throttle -= 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation
            )

    def batch_execute_statement(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("batch_execute_statement", request))
        self._check_up("BatchExecuteStatement")
        sqls = request["Sqls"]
        copy_index = next((i for i, s in enumerate(sqls) if s.startswith("COPY ")), len(sqls))
        try:
            self.warehouse.execute(sqls, query_id=4200 + copy_index)
        except LoadFailed as exc:
            subs = [
                {
                    "Id": f"sub:{i + 1}",
                    "Status": "FINISHED" if i < copy_index else "FAILED",
                    "RedshiftQueryId": 4200 + i,
                    "QueryString": sqls[i],
                }
                | ({"Error": str(exc)} if i == copy_index else {})
                for i in range(copy_index + 1)
            ]
            return {"Id": self._new({"Status": "FAILED", "Error": str(exc), "SubStatements": subs})}
        subs = [
            {"Id": f"sub:{i + 1}", "Status": "FINISHED", "RedshiftQueryId": 4200 + i, "QueryString": sql}
            for i, sql in enumerate(sqls)
        ]
        return {"Id": self._new({"Status": "FINISHED", "HasResultSet": False, "SubStatements": subs})}

    def execute_statement(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("execute_statement", request))
        self._check_up("ExecuteStatement")
        rows = self.warehouse.query(request["Sql"])
        return {
            "Id": self._new(
                {"Status": "FINISHED", "HasResultSet": True, "rows": rows, "QueryString": request["Sql"]}
            )
        }

    def describe_statement(self, Id: str) -> dict[str, Any]:  # boto3's parameter name
        if self.describe_sequence:
            return {"Id": Id, "Status": self.describe_sequence.pop(0), "Error": "scripted"}
        if Id not in self.statements:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": f"Query {Id} does not exist."}},
                "DescribeStatement",
            )
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

    def metric_stats(self, name: str) -> tuple[int, float | None]:
        """(datapoints, largest value) of ``name`` with dimension Table, published so far."""
        now = datetime.now(UTC)
        points = self.cloudwatch.get_metric_statistics(
            Namespace="DdbCdc",
            MetricName=name,
            Dimensions=[{"Name": "Table", "Value": TABLE}],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(hours=1),
            Period=7200,
            Statistics=["SampleCount", "Maximum"],
        )["Datapoints"]
        count = int(sum(point["SampleCount"] for point in points))
        return count, max((point["Maximum"] for point in points), default=None)


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
