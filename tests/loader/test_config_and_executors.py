"""Configuration errors, executor selection, the Data API request shapes, poll mode."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from ddb_cdc.config import ConfigError
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import (
    DataApiExecutor,
    DbCredentials,
    LoadFailed,
    Psycopg2Executor,
    parse_statement_name,
    statement_name,
)
from ddb_cdc.loader.runtime import build_executor
from ddb_cdc.warehouse import render_ledgered_files

from .conftest import REGION, FakeRedshiftData, FakeWarehouse, base_env

# -- configuration --------------------------------------------------------------


def test_defaults_are_data_api_async_with_documented_limits():
    config = LoaderConfig.from_env(base_env())
    assert (config.executor, config.data_api_mode, config.poll_budget_seconds) == ("data_api", "async", 600)
    assert (config.max_file_failures, config.schedule_lookback_hours, config.metric_namespace) == (
        3,
        24,
        "DdbCdc",
    )
    assert config.redshift is not None and config.redshift.kind == "cluster_db_user"
    assert config.target.target_name == "cdc.orders"
    assert not config.waits_for_result


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"CDC_BUCKET": "<unset>"}, "CDC_BUCKET is required"),
        ({"CDC_TARGET_SPEC": "{not json"}, "CDC_TARGET_SPEC is not valid JSON"),
        (
            {"CDC_TARGET_SPEC": json.dumps({"schema": "cdc", "table": "x; drop table y", "keys": []})},
            "CDC_TARGET_SPEC",
        ),
        ({"CDC_EXECUTOR": "jdbc"}, "CDC_EXECUTOR must be one of data_api, psycopg2"),
        ({"CDC_DATA_API_MODE": "sync"}, "CDC_DATA_API_MODE must be one of async, poll"),
        ({"CDC_REDSHIFT_WORKGROUP": "wg"}, "exactly one target"),
        (
            {"CDC_REDSHIFT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"},
            "exactly one target",
        ),
        ({"CDC_REDSHIFT_CLUSTER_ID": "<unset>", "CDC_REDSHIFT_DB_USER": "<unset>"}, "exactly one target"),
        ({"CDC_REDSHIFT_DATABASE": "<unset>"}, "CDC_REDSHIFT_DATABASE is required"),
        ({"CDC_MAX_FILE_FAILURES": "three"}, "CDC_MAX_FILE_FAILURES must be a whole number"),
        ({"CDC_POLL_BUDGET_SECONDS": "0"}, "CDC_POLL_BUDGET_SECONDS must be between"),
        ({"CDC_COPY_ROLE_ARN": "arn:aws:iam::123:user/x"}, "CDC_COPY_ROLE_ARN is not an IAM role ARN"),
        ({"CDC_ALERT_TOPIC_ARN": "my-topic"}, "CDC_ALERT_TOPIC_ARN is not an ARN"),
        ({"CDC_METRIC_NAMESPACE": "AWS/Lambda"}, "CDC_METRIC_NAMESPACE"),
        ({"CDC_EXECUTOR": "psycopg2"}, "exactly one of CDC_DB_SECRET_ARN or CDC_DB_SSM_PARAMETER"),
        ({"CDC_PREFIX": "/bad//prefix"}, "CDC_PREFIX"),
    ],
)
def test_bad_configuration_is_rejected_with_the_variable_named(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        LoaderConfig.from_env(base_env(**overrides))


def test_psycopg2_config_needs_no_redshift_target():
    config = LoaderConfig.from_env(
        base_env(
            CDC_EXECUTOR="psycopg2",
            CDC_DB_SSM_PARAMETER="/cdc/db",
            CDC_REDSHIFT_DATABASE="<unset>",
            CDC_REDSHIFT_CLUSTER_ID="<unset>",
            CDC_REDSHIFT_DB_USER="<unset>",
        )
    )
    assert config.redshift is None and config.waits_for_result
    executor = build_executor(config, lambda _name: object())
    assert isinstance(executor, Psycopg2Executor)
    assert (executor._sslmode, executor._sslrootcert) == ("verify-full", None)


def test_psycopg2_tls_settings_reach_the_connection():
    config = LoaderConfig.from_env(
        base_env(
            CDC_EXECUTOR="psycopg2",
            CDC_DB_SSM_PARAMETER="/cdc/db",
            CDC_DB_SSLMODE="verify-ca",
            CDC_DB_SSLROOTCERT="/opt/certs/redshift-ca-bundle.crt",
            CDC_REDSHIFT_DATABASE="<unset>",
            CDC_REDSHIFT_CLUSTER_ID="<unset>",
            CDC_REDSHIFT_DB_USER="<unset>",
        )
    )
    executor = build_executor(config, lambda _name: object())
    assert (executor._sslmode, executor._sslrootcert) == ("verify-ca", "/opt/certs/redshift-ca-bundle.crt")


# -- Data API target kinds --------------------------------------------------------


TARGETS = {
    "workgroup": (
        {
            "CDC_REDSHIFT_CLUSTER_ID": "<unset>",
            "CDC_REDSHIFT_DB_USER": "<unset>",
            "CDC_REDSHIFT_WORKGROUP": "cdc-wg",
        },
        {"Database": "dev", "WorkgroupName": "cdc-wg"},
    ),
    "cluster_db_user": ({}, {"Database": "dev", "ClusterIdentifier": "cdc-cluster", "DbUser": "loader"}),
    "cluster_secret": (
        {
            "CDC_REDSHIFT_DB_USER": "<unset>",
            "CDC_REDSHIFT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:cdc-AbCdEf",
        },
        {
            "Database": "dev",
            "ClusterIdentifier": "cdc-cluster",
            "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:cdc-AbCdEf",
        },
    ),
}


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_each_data_api_target_kind_sends_its_own_batch_parameters(kind):
    overrides, expected = TARGETS[kind]
    config = LoaderConfig.from_env(base_env(**overrides))
    # moto 5.2.5 has no BatchExecuteStatement; botocore's Stubber checks the request
    # against the real API model instead, and answers with a statement id.
    client = boto3.client("redshift-data", region_name=REGION)
    name = statement_name("orders", "a" * 32)
    with Stubber(client) as stubber:
        stubber.add_response(
            "batch_execute_statement",
            {"Id": "d9b6c0c9-0747-4bf4-b142-e8883122f766"},
            {**expected, "Sqls": ["SELECT 1", "SELECT 2"], "StatementName": name, "WithEvent": True},
        )
        executor = build_executor(config, lambda _name: client)
        assert isinstance(executor, DataApiExecutor)
        submission = executor.run(["SELECT 1", "SELECT 2"], name=name)
        stubber.assert_no_pending_responses()
    assert submission.state == "submitted" and submission.statement_id


def test_async_batch_request_carries_with_event_and_the_statement_name(aws):
    config = LoaderConfig.from_env(base_env())
    stub = FakeRedshiftData(FakeWarehouse(aws.s3))
    executor = DataApiExecutor(stub, config.redshift, mode="async", poll_budget_seconds=1)
    stub.warehouse.execute = lambda statements, **_: None  # type: ignore[method-assign]
    executor.run(["SELECT 1"], name="ddb_cdc:orders:abc")
    [(_call, request)] = stub.requests
    assert request == {
        "Database": "dev",
        "ClusterIdentifier": "cdc-cluster",
        "DbUser": "loader",
        "Sqls": ["SELECT 1"],
        "StatementName": "ddb_cdc:orders:abc",
        "WithEvent": True,
    }


def test_statement_names_round_trip_and_foreign_names_are_ignored():
    assert parse_statement_name(statement_name("orders", "f" * 32)) == ("orders", "f" * 32)
    assert parse_statement_name("test.testtable") is None
    assert parse_statement_name(None) is None


# -- poll mode ----------------------------------------------------------------------


def _poll_executor(aws, states, budget=5.0):
    config = LoaderConfig.from_env(base_env(CDC_DATA_API_MODE="poll"))
    stub = FakeRedshiftData(FakeWarehouse(aws.s3))
    stub.warehouse.execute = lambda statements, **_: None  # type: ignore[method-assign]
    stub.describe_sequence = list(states)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    return DataApiExecutor(
        stub, config.redshift, mode="poll", poll_budget_seconds=budget, sleep=sleep, clock=lambda: now[0]
    )


def test_poll_mode_waits_until_finished(aws):
    executor = _poll_executor(aws, ["SUBMITTED", "PICKED", "STARTED", "FINISHED"])
    assert executor.run(["SELECT 1"]).state == "finished"


@pytest.mark.parametrize("state", ["FAILED", "ABORTED"])
def test_poll_mode_raises_on_failed_or_aborted(aws, state):
    with pytest.raises(LoadFailed, match=state) as caught:
        _poll_executor(aws, ["STARTED", state]).run(["SELECT 1"])
    assert caught.value.state == state


def test_poll_mode_gives_up_after_its_time_budget(aws):
    with pytest.raises(LoadFailed, match="still STARTED") as caught:
        _poll_executor(aws, ["STARTED"] * 100, budget=3).run(["SELECT 1"])
    assert caught.value.state == "TIMEOUT"


def test_data_api_query_reads_every_result_page(aws):
    config = LoaderConfig.from_env(base_env())
    warehouse = FakeWarehouse(aws.s3)
    warehouse.ledger = {f"k{i}": "x" for i in range(5)}
    executor = DataApiExecutor(
        FakeRedshiftData(warehouse), config.redshift, mode="async", poll_budget_seconds=5
    )
    [sql] = render_ledgered_files(config.target, "redshift", [f"k{i}" for i in range(5)])
    assert executor.query(sql) == [(f"k{i}",) for i in range(5)]


# -- psycopg2 credentials -------------------------------------------------------------


def test_db_credentials_accept_both_spellings_and_never_show_the_password():
    creds = DbCredentials.from_json(
        json.dumps({"host": "h", "port": "5439", "database": "dev", "user": "u", "password": "s3cr3t"}),
        "secret",
    )
    assert (creds.host, creds.port, creds.dbname, creds.user) == ("h", 5439, "dev", "u")
    assert "s3cr3t" not in repr(creds)
    with pytest.raises(LoadFailed, match="lacks password"):
        DbCredentials.from_json(json.dumps({"host": "h", "dbname": "d", "username": "u"}), "secret")


# -- handler wiring -------------------------------------------------------------------


def test_handler_builds_its_service_from_the_environment_and_bounds_every_wait(aws, monkeypatch):
    from ddb_cdc.handlers import loader as loader_handler

    for name, value in base_env(CDC_POLL_BUDGET_SECONDS="1").items():
        monkeypatch.setenv(name, value)
    loader_handler._service.cache_clear()
    try:
        # moto's Data API leaves every statement STARTED: the ledger query gives up
        # after the budget instead of hanging the Lambda.
        with pytest.raises(LoadFailed, match="still STARTED after 1 s"):
            loader_handler.handler({"trigger": "schedule"}, None)
        service = loader_handler._service()
        assert isinstance(service.executor, DataApiExecutor)
        assert service.config.table_name == "orders"
    finally:
        loader_handler._service.cache_clear()
