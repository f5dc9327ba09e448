"""The sandbox's Redshift Data API, through boto3 against an in-process moto server.

moto runs as a ThreadedMotoServer in this process (as in the demo) with the
``redshift-data`` patch installed; every call goes over HTTP through botocore.
"""

from __future__ import annotations

import gzip
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from ddb_cdc.handlers import load_completion
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import DataApiExecutor, LoadFailed
from ddb_cdc.loader.runtime import build_service
from ddb_cdc.warehouse import render_load
from moto import mock_aws
from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse
from moto.server import ThreadedMotoServer

from tests.rig.cdc_files import ROLE_ARN, ChangeFiles, stream_record
from tests.rig.postgres import PostgresServer
from tests.sandbox.patches import redshift_data

REGION = "us-east-1"
CLUSTER = "cdc-cluster"
BUCKET = "cdc-bucket"
PREFIX = "cdc/prod"
TABLE = "orders"
CONNECT = {"ClusterIdentifier": CLUSTER, "Database": "dev", "DbUser": "loader"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    yield f"http://127.0.0.1:{port}"
    moto.stop()


@pytest.fixture
def clients(server: str) -> dict[str, Any]:
    """Clients of the moto server, with the cluster and the bucket in place.

    Created per test: a ``mock_aws`` block anywhere in the process resets moto's shared
    backends when it ends.
    """
    made = {
        name: boto3.client(name, region_name=REGION, endpoint_url=server)
        for name in ("redshift", "redshift-data", "s3", "sqs", "events")
    }
    if not made["redshift"].describe_clusters()["Clusters"]:
        made["redshift"].create_cluster(
            ClusterIdentifier=CLUSTER,
            NodeType="ra3.xlplus",
            MasterUsername="admin",
            MasterUserPassword="Passw0rd!x",
        )
    made["s3"].create_bucket(Bucket=BUCKET)
    return made


@pytest.fixture
def engine(server: str, pg_server: PostgresServer) -> Iterator[Any]:
    with redshift_data.installed(pg_server.dsn(), server, max_workers=2, page_rows=3) as engine:
        yield engine
    assert "batch_execute_statement" not in RedshiftDataAPIServiceResponse.__dict__  # reverted


def _wait(client: Any, statement_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = client.describe_statement(Id=statement_id)
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described
        time.sleep(0.01)
    raise AssertionError(f"{statement_id} did not end: {described}")


# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------


def test_batch_commits_as_one_transaction_and_describes_its_sub_statements(clients, engine, pg_schema):
    data = clients["redshift-data"]
    sqls = [
        f'CREATE SCHEMA "{pg_schema}"',
        f'CREATE TABLE "{pg_schema}"."t" ("k" VARCHAR(8) NOT NULL, "d" SUPER) DISTKEY("k") SORTKEY("k")',
        f"""INSERT INTO "{pg_schema}"."t" VALUES ('a', JSON_PARSE('{{"x": 1}}')), ('b', NULL)""",
        f'SELECT "k", CAST("t"."d"."x" AS INTEGER) AS "x" FROM "{pg_schema}"."t" ORDER BY 1',
    ]
    submitted = data.batch_execute_statement(Sqls=sqls, StatementName="ddb_cdc:orders:l1", **CONNECT)
    described = _wait(data, submitted["Id"])
    assert described["Status"] == "FINISHED", described.get("Error")
    assert [sub["Status"] for sub in described["SubStatements"]] == ["FINISHED"] * 4
    assert [sub["Id"] for sub in described["SubStatements"]] == [
        f"{submitted['Id']}:{i}" for i in (1, 2, 3, 4)
    ]
    assert described["SubStatements"][2]["ResultRows"] == 2
    assert described["SubStatements"][3]["HasResultSet"] is True
    assert (
        described["Duration"] > 0
        and described["ClusterIdentifier"] == CLUSTER
        and described["DbUser"] == "loader"
    )
    result = data.get_statement_result(Id=f"{submitted['Id']}:4")
    assert result["Records"] == [
        [{"stringValue": "a"}, {"longValue": 1}],
        [{"stringValue": "b"}, {"isNull": True}],
    ]
    listed = data.list_statements(StatementName="ddb_cdc:orders")["Statements"]
    assert listed[0]["Id"] == submitted["Id"] and listed[0]["IsBatchStatement"] is True
    assert engine.stats()["batches_committed"] >= 1


def test_failed_batch_rolls_back_everything_and_reports_a_redshift_shaped_error(clients, engine, pg_schema):
    data = clients["redshift-data"]
    submitted = data.batch_execute_statement(
        Sqls=[
            f'CREATE SCHEMA "{pg_schema}"',
            f'CREATE TABLE "{pg_schema}"."t" ("k" INTEGER)',
            f'INSERT INTO "{pg_schema}"."t" VALUES (1)',
            f'INSERT INTO "{pg_schema}"."missing" VALUES (1)',
            "SELECT 1",
        ],
        **CONNECT,
    )
    described = _wait(data, submitted["Id"])
    assert described["Status"] == "FAILED"
    assert described["Error"].startswith("ERROR: relation") and "does not exist" in described["Error"]
    assert [sub["Status"] for sub in described["SubStatements"]] == [
        "FINISHED",
        "FINISHED",
        "FINISHED",
        "FAILED",
        "ABORTED",
    ]
    check = data.execute_statement(Sql=f"SELECT to_regnamespace('{pg_schema}') IS NULL AS gone", **CONNECT)
    _wait(data, check["Id"])
    assert data.get_statement_result(Id=check["Id"])["Records"] == [[{"booleanValue": True}]]
    assert engine.stats()["batches_failed"] >= 1


def test_submitted_and_started_are_visible_and_cancel_aborts(clients, engine):
    data = clients["redshift-data"]
    # Two workers: two sleepers occupy them, so the third statement waits SUBMITTED.
    first = data.execute_statement(Sql="SELECT pg_sleep(5)", **CONNECT)["Id"]
    second = data.execute_statement(Sql="SELECT pg_sleep(5)", **CONNECT)["Id"]
    queued = data.execute_statement(Sql="SELECT 1", **CONNECT)["Id"]
    deadline = time.monotonic() + 5
    while data.describe_statement(Id=first)["Status"] != "STARTED" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert data.describe_statement(Id=first)["Status"] == "STARTED"
    assert data.describe_statement(Id=queued)["Status"] == "SUBMITTED"
    assert not engine.idle()
    for statement_id in (queued, first, second):
        assert data.cancel_statement(Id=statement_id)["Status"] is True
    assert [_wait(data, i)["Status"] for i in (first, second, queued)] == ["ABORTED"] * 3
    with pytest.raises(ClientError, match="already in ABORTED state"):
        data.cancel_statement(Id=first)
    assert engine.wait_idle(5)


def test_parameters_types_and_paging(clients, engine):
    data = clients["redshift-data"]
    submitted = data.execute_statement(
        Sql="SELECT g AS n, g * 1.5 AS d, (g % 2 = 0) AS even, :label || g AS s, CAST(g AS REAL) / 4 AS r, "
        "NULL AS nothing, CAST('2026-11-27 04:05:06' AS TIMESTAMP) AS ts FROM generate_series(1, :top) AS g",
        Parameters=[{"name": "label", "value": "row-"}, {"name": "top", "value": "7"}],
        **CONNECT,
    )
    described = _wait(data, submitted["Id"])
    assert described["Status"] == "FINISHED", described.get("Error")
    assert described["ResultRows"] == 7 and described["QueryParameters"][0]["name"] == "label"
    pages = [data.get_statement_result(Id=submitted["Id"])]
    while "NextToken" in pages[-1]:
        pages.append(data.get_statement_result(Id=submitted["Id"], NextToken=pages[-1]["NextToken"]))
    assert [len(page["Records"]) for page in pages] == [3, 3, 1]
    assert pages[0]["TotalNumRows"] == 7
    names = [(c["name"], c["typeName"]) for c in pages[0]["ColumnMetadata"]]
    assert names == [
        ("n", "int4"),
        ("d", "numeric"),
        ("even", "bool"),
        ("s", "varchar"),
        ("r", "float8"),
        ("nothing", "varchar"),
        ("ts", "timestamp"),
    ]
    assert pages[0]["Records"][1] == [
        {"longValue": 2},
        {"stringValue": "3.0"},
        {"booleanValue": True},
        {"stringValue": "row-2"},
        {"doubleValue": 0.5},
        {"isNull": True},
        {"stringValue": "2026-11-27 04:05:06"},
    ]


def test_validation_errors_follow_the_api(clients, engine):
    data = clients["redshift-data"]
    cases = [
        (
            {"Database": "dev", "DbUser": "u"},
            "Either ClusterIdentifier or WorkgroupName needs to be specified.",
        ),
        ({"ClusterIdentifier": "nope", "Database": "dev", "DbUser": "u"}, "Redshift endpoint doesn't exist"),
        ({"ClusterIdentifier": CLUSTER, "Database": "dev"}, "Either DbUser or SecretArn"),
        ({"ClusterIdentifier": CLUSTER, "WorkgroupName": "wg1", "Database": "dev"}, "Only one of"),
    ]
    for parameters, message in cases:
        with pytest.raises(ClientError) as raised:
            data.execute_statement(Sql="SELECT 1", **parameters)
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert message in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        data.describe_statement(Id="00000000-0000-0000-0000-000000000000")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    ok = data.execute_statement(Sql="CREATE TEMP TABLE x (a INT)", WorkgroupName="any-wg", Database="dev")
    assert _wait(data, ok["Id"])["Status"] == "FINISHED"
    with pytest.raises(ClientError, match="does not have result"):
        data.get_statement_result(Id=ok["Id"])


def test_unsupported_sql_fails_the_statement_with_a_clear_error(clients, engine):
    data = clients["redshift-data"]
    submitted = data.execute_statement(Sql="SET wlm_query_slot_count TO 2", **CONNECT)
    described = _wait(data, submitted["Id"])
    assert described["Status"] == "FAILED"
    assert "wlm_query_slot_count" in described["Error"] and "sandbox" in described["Error"]


# ---------------------------------------------------------------------------
# Events and the real loader
# ---------------------------------------------------------------------------


def _events_queue(clients: dict[str, Any], name: str) -> str:
    sqs, events = clients["sqs"], clients["events"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["aws.redshift-data"], "detail-type": ["Redshift Data Statement Status Change"]}
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def _receive(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(found) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_with_event_puts_the_status_change_on_the_default_bus(clients, engine):
    url = _events_queue(clients, "data-api-events")
    data = clients["redshift-data"]
    good = data.execute_statement(Sql="SELECT 1", WithEvent=True, StatementName="ddb_cdc:orders:x", **CONNECT)
    bad = data.batch_execute_statement(Sqls=["SELECT 1", "SELECT nope"], WithEvent=True, **CONNECT)
    silent = data.execute_statement(Sql="SELECT 1", **CONNECT)
    for statement_id in (good["Id"], bad["Id"], silent["Id"]):
        _wait(data, statement_id)
    assert engine.wait_idle(5)
    events = {event["detail"]["statementId"]: event for event in _receive(clients["sqs"], url, 2)}
    assert set(events) == {good["Id"], bad["Id"]}
    event = events[good["Id"]]
    assert (
        event["source"] == "aws.redshift-data"
        and event["detail-type"] == "Redshift Data Statement Status Change"
    )
    assert event["resources"] == [f"arn:aws:redshift:{REGION}:123456789012:cluster:{CLUSTER}"]
    assert event["detail"]["state"] == "FINISHED" and event["detail"]["statementName"] == "ddb_cdc:orders:x"
    assert set(event["detail"]) >= {
        "principal",
        "statementId",
        "redshiftQueryId",
        "state",
        "rows",
        "expireAt",
    }
    assert (
        events[bad["Id"]]["detail"]["state"] == "FAILED"
        and "statementName" not in events[bad["Id"]]["detail"]
    )


def _loader_env(schema: str, mode: str) -> dict[str, str]:
    return {
        "CDC_BUCKET": BUCKET,
        "CDC_PREFIX": f"{PREFIX}/{schema}",  # every test its own files
        "CDC_TABLE_NAME": TABLE,
        "CDC_TARGET_SPEC": json.dumps(
            {"schema": schema, "table": TABLE, "keys": [{"name": "id", "type": "S"}], "history": True}
        ),
        "CDC_COPY_ROLE_ARN": ROLE_ARN,
        "CDC_REDSHIFT_DATABASE": "dev",
        "CDC_REDSHIFT_CLUSTER_ID": CLUSTER,
        "CDC_REDSHIFT_DB_USER": "loader",
        "CDC_DATA_API_MODE": mode,
        "LOG_LEVEL": "WARNING",
    }


def _service(server: str, schema: str, mode: str) -> Any:
    config = LoaderConfig.from_env(_loader_env(schema, mode))

    def client(name: str) -> Any:
        return boto3.client(name, region_name=REGION, endpoint_url=server)

    executor = DataApiExecutor(
        client("redshift-data"),
        config.redshift,
        mode=mode,
        poll_budget_seconds=20,  # type: ignore[arg-type]
        sleep=lambda seconds: time.sleep(min(seconds, 0.02)),
    )
    return build_service(
        config, logging.getLogger("tests.sandbox.data_api"), client=client, executor=executor
    )


def _records(first: int, changes: list[tuple[str, str, int | None]]) -> list[dict[str, Any]]:
    return [
        stream_record(
            event,
            {"id": {"S": key}},
            None if qty is None else {"id": {"S": key}, "qty": {"N": str(qty)}},
            sequence_number=str(first + n),
            created_s=1_795_752_000 + first + n,
            event_id=f"e{first + n}",
            table=TABLE,
        )
        for n, (event, key, qty) in enumerate(changes)
    ]


def _view(clients: dict[str, Any], schema: str) -> dict[str, Any]:
    data = clients["redshift-data"]
    statement = data.execute_statement(
        Sql=f'SELECT "id", CAST("doc"."qty" AS INTEGER) FROM "{schema}"."{TABLE}_current" ORDER BY 1',
        **CONNECT,
    )
    assert _wait(data, statement["Id"])["Status"] == "FINISHED"
    records = data.get_statement_result(Id=statement["Id"])["Records"]
    return {row[0]["stringValue"]: row[1].get("longValue") for row in records}


def test_the_real_loader_in_poll_mode_loads_end_to_end(server, clients, engine, pg_schema):
    service = _service(server, pg_schema, "poll")
    service.init()
    files = ChangeFiles(clients["s3"], BUCKET, f"{PREFIX}/{pg_schema}", TABLE)
    first = files.write_stream_batch(_records(100, [("INSERT", "a", 1), ("INSERT", "b", 2)]))
    second = files.write_stream_batch(
        _records(200, [("MODIFY", "a", 10), ("REMOVE", "b", None), ("INSERT", "c", 3)])
    )

    summary = service.run_schedule()

    assert [load["state"] for load in summary.loads] == ["finished"]
    assert _view(clients, pg_schema) == {"a": 10, "c": 3}
    assert service.ledgered({first, second}) == {first, second}
    stats = engine.stats()
    assert stats["copy_statements_committed"] >= 1 and stats["rows_copied"] >= 5 and stats["rows_merged"] >= 3


def test_status_reads_the_ledger_over_the_data_api(server, clients, engine, pg_schema):
    # The Data API returns TIMESTAMP as text; status() once called .isoformat() on it.
    service = _service(server, pg_schema, "poll")
    service.init()
    files = ChangeFiles(clients["s3"], BUCKET, f"{PREFIX}/{pg_schema}", TABLE)
    files.write_stream_batch(_records(100, [("INSERT", "a", 1)]))
    service.run_schedule()
    status = service.status()
    assert status["pending_files"] == 0 and status["ledger_files"] == 1
    assert status["last_loaded_at"] is not None


def test_a_failed_copy_reports_load_errors_that_survive_the_rollback(server, clients, engine, pg_schema):
    service = _service(server, pg_schema, "poll")
    service.init()
    files = ChangeFiles(clients["s3"], BUCKET, f"{PREFIX}/{pg_schema}", TABLE)
    broken = f"{PREFIX}/{pg_schema}/raw/{TABLE}/2026/11/27/04/broken.json.gz"
    files.put_raw(broken, gzip.compress(b'{"op": "INSERT", "seq": \n'))
    executor = service.executor
    load_id, manifest_url = service.files.write_manifest([broken])
    with pytest.raises(
        LoadFailed, match=r"Load into table 'cdc_stage' failed\. Check 'stl_load_errors'"
    ) as failed:
        executor.run(
            render_load(
                service.config.target,
                "redshift",
                manifest_url=manifest_url,
                iam_role_arn=ROLE_ARN,
                files=[broken],
                load_id=load_id,
            )
        )
    _error, query_id = service._statement_error(failed.value.statement_id)
    lines = service.load_error_lines([broken], query_id)
    assert lines and lines[0]["file"] == f"s3://{BUCKET}/{broken}" and lines[0]["line"] == 1
    assert "invalid JSON" in lines[0]["reason"]


def test_async_load_completes_through_the_event_and_the_completion_handler(
    server, clients, engine, pg_schema
):
    url = _events_queue(clients, "completion-events")
    service = _service(server, pg_schema, "async")
    _service(server, pg_schema, "poll").init()
    files = ChangeFiles(clients["s3"], BUCKET, f"{PREFIX}/{pg_schema}", TABLE)
    files.write_stream_batch(_records(300, [("INSERT", "z", 5)]))

    summary = service.run_schedule()

    assert [load["state"] for load in summary.loads] == ["submitted"]
    [event] = _receive(clients["sqs"], url, 1)
    result = load_completion.process(event, None, service)
    assert result["handled"] is True and result["state"] == "FINISHED"
    assert _view(clients, pg_schema) == {"z": 5}


def test_the_patch_also_serves_mock_aws(pg_server):
    with mock_aws():
        boto3.client("redshift", region_name=REGION).create_cluster(
            ClusterIdentifier=CLUSTER,
            NodeType="ra3.xlplus",
            MasterUsername="admin",
            MasterUserPassword="Passw0rd!x",
        )
        with redshift_data.installed(pg_server.dsn(), None) as engine:
            data = boto3.client("redshift-data", region_name=REGION)
            statement = data.batch_execute_statement(Sqls=["SELECT 1", "SELECT 2 AS two"], **CONNECT)
            assert _wait(data, statement["Id"])["Status"] == "FINISHED"
            assert data.get_statement_result(Id=statement["Id"] + ":2")["Records"] == [[{"longValue": 2}]]
            assert engine.idle()


def test_two_concurrent_loads_of_one_table_are_serialized_by_the_lock_and_both_land(
    server, clients, engine, pg_schema
):
    service = _service(server, pg_schema, "poll")
    service.init()
    files = ChangeFiles(clients["s3"], BUCKET, f"{PREFIX}/{pg_schema}", TABLE)
    keys = [
        files.write_stream_batch(_records(400, [("INSERT", "p", 1)])),
        files.write_stream_batch(_records(500, [("INSERT", "q", 2)])),
    ]
    data = clients["redshift-data"]
    submitted = []
    for key in keys:
        load_id, manifest_url = service.files.write_manifest([key])
        statements = render_load(
            service.config.target,
            "redshift",
            manifest_url=manifest_url,
            iam_role_arn=ROLE_ARN,
            files=[key],
            load_id=load_id,
        )
        submitted.append(data.batch_execute_statement(Sqls=statements, **CONNECT)["Id"])
    assert [_wait(data, statement_id)["Status"] for statement_id in submitted] == ["FINISHED", "FINISHED"]
    assert _view(clients, pg_schema) == {"p": 1, "q": 2}
    assert service.ledgered(set(keys)) == set(keys)
