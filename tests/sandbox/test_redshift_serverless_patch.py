"""The ``redshift-serverless`` patch over HTTP, as hashicorp/aws and the Data API's callers see it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from tests.sandbox.patches import redshift_data, redshift_serverless

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/cdc-redshift-copy"


@pytest.fixture
def endpoint(pg_server: Any) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        with (
            redshift_data.installed(pg_server.dsn(), url, workgroups=(), publish_events=False),
            redshift_serverless.installed(),
        ):
            yield url
    finally:
        server.stop()


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _finished(data: Any, statement_id: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = data.describe_statement(Id=statement_id)["Status"]
        if status in ("FINISHED", "FAILED", "ABORTED"):
            return status
        time.sleep(0.02)
    raise AssertionError(f"{statement_id} did not end")


def _error(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"]


def test_workgroup_lifecycle_as_the_provider_and_the_data_api_see_it(endpoint: str):
    serverless, data, secrets = (
        _client(s, endpoint) for s in ("redshift-serverless", "redshift-data", "secretsmanager")
    )
    query = {"Sql": "SELECT 1", "WorkgroupName": "cdc-wg", "Database": "dev"}
    assert _error(data.execute_statement, **query) == "ValidationException"  # no such workgroup yet

    namespace = serverless.create_namespace(
        namespaceName="cdc-ns",
        adminUsername="cdc_admin",
        manageAdminPassword=True,
        iamRoles=[ROLE],
        dbName="dev",
    )["namespace"]
    assert namespace["iamRoles"] == [f"IamRole(applyStatus=in-sync, iamRoleArn={ROLE})"]
    assert namespace["kmsKeyId"] == "AWS_OWNED_KMS_KEY"
    secret_arn = namespace["adminPasswordSecretArn"]
    assert secrets.describe_secret(SecretId=secret_arn)["ARN"] == secret_arn
    assert "adminUserPassword" not in serverless.get_namespace(namespaceName="cdc-ns")["namespace"]

    serverless.create_workgroup(
        workgroupName="cdc-wg", namespaceName="cdc-ns", baseCapacity=4, publiclyAccessible=False
    )
    workgroup = serverless.get_workgroup(workgroupName="cdc-wg")["workgroup"]
    assert workgroup["status"] == "AVAILABLE" and workgroup["baseCapacity"] == 4
    assert workgroup["workgroupArn"].endswith(f":workgroup/{workgroup['workgroupId']}")
    assert _finished(data, data.execute_statement(**query)["Id"]) == "FINISHED"

    assert _error(serverless.delete_namespace, namespaceName="cdc-ns") == "ConflictException"
    serverless.delete_workgroup(workgroupName="cdc-wg")
    assert _error(data.execute_statement, **query) == "ValidationException"
    serverless.delete_namespace(namespaceName="cdc-ns")
    assert _error(serverless.get_namespace, namespaceName="cdc-ns") == "ResourceNotFoundException"
    assert _error(serverless.get_workgroup, workgroupName="cdc-wg") == "ResourceNotFoundException"
    assert _error(secrets.describe_secret, SecretId=secret_arn) == "ResourceNotFoundException"
