"""The writer's code, run with what Terraform deployed: its function's environment, handler and role.

The stack (modules/s3_sink with its writer, applied by pytest-terraform to moto with IAM enforced) is the only source
of configuration here: the tests read the deployed function back and run its handler in this process, signed as
the function's role. So a handler that needs a setting the module does not set, or a permission the role lacks,
fails here, and a role broader than its prefix is caught too.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from ddb_cdc.handlers import stream_to_s3
from pytest_terraform import terraform

from tests.capture.support import read_envelopes
from tests.handlers.conftest import REGION
from tests.sandbox import client_credentials
from tests.sandbox.service_roles import service_role_session

EVENTS = Path(__file__).parent.parent / "capture" / "events"
# A Terraform apply and destroy on moto, mostly the provider's waiting: beside the suite (tests/rig/own_process.py).
RUN_IN_OWN_PROCESS = True

# Applied once for this package (see conftest). Terraform writes its dependency lock file and pytest-terraform its
# tf_resources.json into the fixture directory, both ignored by git; its work directory (TF_DATA_DIR) and the state
# live under pytest's tmp path.
terraform("capture_sink", scope="package")


class Context:
    aws_request_id = "0c1d2e3f-0000-4000-8000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def admin(service: str, endpoint: str) -> Any:
    """A client signed by the sandbox's administrator, whatever credentials the environment holds."""
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, **client_credentials())


def output(stack: Any, name: str) -> str:
    return stack.outputs[name]["value"]


def event(name: str, table: str) -> dict[str, Any]:
    loaded = copy.deepcopy(json.loads((EVENTS / name).read_text(encoding="utf-8")))
    for record in loaded["Records"]:
        record["eventSourceARN"] = (
            f"arn:aws:dynamodb:{REGION}:123456789012:table/{table}/stream/2026-12-07T00:00:00.000"
        )
    return loaded


@pytest.fixture
def deployed_writer(
    capture_sink: Any, stack_environment: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The writer's handler, with the deployed function's environment and credentials of its role's session."""
    configuration = admin("lambda", stack_environment).get_function_configuration(
        FunctionName=output(capture_sink, "writer_function_name")
    )
    # As Lambda assumes it: refused unless the role's trust policy names lambda.amazonaws.com.
    session = service_role_session(configuration["Role"], "lambda.amazonaws.com", "handler-test", REGION)
    for name, value in {**configuration["Environment"]["Variables"], **session}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack_environment)
    # boto3's default session keeps the credentials it resolved first: a fresh one reads the role's.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    module_name, _, function = configuration["Handler"].rpartition(".")
    stream_to_s3._runtime.cache_clear()
    yield getattr(importlib.import_module(module_name), function)
    stream_to_s3._runtime.cache_clear()


def objects(endpoint: str, bucket: str, prefix: str) -> dict[str, dict[str, Any]]:
    s3 = admin("s3", endpoint)
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {entry["Key"]: s3.get_object(Bucket=bucket, Key=entry["Key"]) for entry in listing}


def test_the_deployed_function_runs_the_s3_writer(capture_sink: Any, stack_environment: str) -> None:
    configuration = admin("lambda", stack_environment).get_function_configuration(
        FunctionName=output(capture_sink, "writer_function_name")
    )
    assert configuration["Handler"] == "ddb_cdc.handlers.stream_to_s3.handler"
    assert configuration["Runtime"] == "python3.12"
    assert configuration["Environment"]["Variables"]["CDC_BUCKET"] == output(capture_sink, "bucket_name")


def test_a_batch_lands_under_the_raw_prefix_encrypted(
    capture_sink: Any, stack_environment: str, deployed_writer: Any
) -> None:
    table = output(capture_sink, "table_name")
    assert deployed_writer(event("insert_modify_remove.json", table), Context()) == {"batchItemFailures": []}

    written = objects(
        stack_environment, output(capture_sink, "bucket_name"), output(capture_sink, "raw_prefix")
    )
    assert len(written) == 1
    ((key, answer),) = written.items()
    assert key.endswith(".json.gz") and f"/{table}/" in key
    assert answer["ServerSideEncryption"] in {"AES256", "aws:kms"}
    assert [envelope["op"] for envelope in read_envelopes(answer["Body"].read())] == [
        "INSERT",
        "MODIFY",
        "REMOVE",
    ]


def test_unconvertible_records_reach_the_deployed_dlq(
    capture_sink: Any, stack_environment: str, deployed_writer: Any
) -> None:
    table = output(capture_sink, "table_name")
    assert deployed_writer(event("poison_batch.json", table), Context()) == {"batchItemFailures": []}

    sqs = admin("sqs", stack_environment)
    messages = sqs.receive_message(QueueUrl=output(capture_sink, "dlq_url"), MaxNumberOfMessages=10)
    assert messages.get("Messages"), "the writer quarantined nothing into the module's DLQ"


def test_the_writer_role_cannot_write_outside_its_prefix(capture_sink: Any, deployed_writer: Any) -> None:
    # deployed_writer has put the role's session credentials and the endpoint in the environment.
    s3 = boto3.client("s3", region_name=REGION)
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=output(capture_sink, "bucket_name"), Key="elsewhere/object.json", Body=b"{}")
    assert refused.value.response["Error"]["Code"] == "AccessDenied", refused.value.response["Error"]
