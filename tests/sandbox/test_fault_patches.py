"""The fault-injection pieces on their own, over HTTP against an in-process moto server: the
warehouse outage of the Data API emulator, S3's SlowDown, and the delete-marker correction that
lets a faulted run's bucket be destroyed."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from tests.rig.postgres import PostgresServer
from tests.sandbox.data_api import CONNECTION_LOST
from tests.sandbox.patches import redshift_data, s3_delete_markers, s3_slowdown

REGION = "us-east-1"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


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


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, config=NO_RETRIES)


def _wait(client: Any, statement_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described = client.describe_statement(Id=statement_id)
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED") or time.monotonic() > deadline:
            return described
        time.sleep(0.02)


def test_outage_fails_the_load_in_flight_refuses_new_statements_then_recovers(
    server, pg_server: PostgresServer
):
    data = _client("redshift-data", server)
    target = {"WorkgroupName": "wg-outage", "Database": "dev"}
    with redshift_data.installed(pg_server.dsn(), server, workgroups=("wg-outage",)) as engine:
        engine.arm_outage(1.5)
        submitted = data.batch_execute_statement(Sqls=["SELECT 1", "SELECT 2"], **target)
        described = _wait(data, submitted["Id"])  # still describable: the Data API keeps it
        assert described["Status"] == "FAILED" and described["Error"] == CONNECTION_LOST
        with pytest.raises(ClientError) as refused:
            data.execute_statement(Sql="SELECT 1", **target)
        error = refused.value.response
        assert error["Error"]["Code"] == "DatabaseConnectionException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 500  # botocore retries it as a 5xx
        time.sleep(1.6)
        assert _wait(data, data.execute_statement(Sql="SELECT 1", **target)["Id"])["Status"] == "FINISHED"
        stats = engine.stats()
    assert stats["outages"] == 1
    assert stats["outage_refused_calls"] == 1 and stats["outage_failed_statements"] == 1


def test_slowdown_refuses_every_nth_put_of_one_bucket_with_s3s_503(server):
    s3 = _client("s3", server)
    for bucket in ("throttled", "other"):
        s3.create_bucket(Bucket=bucket)
    seen: list[str] = []
    with s3_slowdown.installed("throttled", every=2, on_put=lambda _bucket, key: seen.append(key)) as state:
        s3.put_object(Bucket="throttled", Key="a", Body=b"1")
        with pytest.raises(ClientError) as slowed:
            s3.put_object(Bucket="throttled", Key="b", Body=b"2")
        s3.put_object(Bucket="throttled", Key="b", Body=b"2")  # the retry goes through
        s3.put_object(Bucket="other", Key="c", Body=b"3")
        s3.put_object(Bucket="other", Key="d", Body=b"4")
    assert slowed.value.response["Error"]["Code"] == "SlowDown"
    assert slowed.value.response["Error"]["Message"] == "Please reduce your request rate."
    assert slowed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert seen == ["a", "b", "b"]
    assert state.stats() == {"bucket": "throttled", "every": 2, "put_calls": 3, "slowdowns": 1}
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket="throttled")["Contents"]) == ["a", "b"]


def test_a_key_with_a_delete_marker_can_be_deleted_once_versioning_is_suspended(server):
    s3 = _client("s3", server)
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="versioned", Key="failure-record", Body=b"{}")
    s3.delete_object(Bucket="versioned", Key="failure-record")  # leaves a delete marker
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Suspended"})
    with s3_delete_markers.installed():
        s3.delete_object(Bucket="versioned", Key="failure-record")
    assert "Versions" not in s3.list_object_versions(Bucket="versioned")
