"""IAM is enforced in the sandbox: a handler runs as its execution role, and what the role's policies do not allow
fails with AccessDenied, as in AWS. The module's own policies are proven by the end-to-end demos (test_e2e.py), which
run every handler under the role Terraform gave it."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from tests.sandbox import client_credentials
from tests.sandbox.lambda_runtime import LocalLambdaRuntime
from tests.sandbox.moto_server import running_moto
from tests.sandbox.patches.iam_request_context import Check, decide

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "iam-changes"

# Each call the probe makes is named by the test; it reports the error code per call, or "ok".
PROBE = """
import boto3
from botocore.exceptions import ClientError


def handler(event, context):
    results = {}
    for name, (service, operation, params) in event.items():
        try:
            results[name] = getattr(boto3.client(service), operation)(**params)
            results[name] = "ok" if operation != "get_caller_identity" else results[name]["Arn"]
        except ClientError as exc:
            results[name] = exc.response["Error"]["Code"]
    return results
"""


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


WRITER_POLICY = _policy(
    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/raw/*"},
    {
        "Effect": "Allow",
        "Action": "firehose:PutRecordBatch",
        "Resource": f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/allowed",
    },
    {
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": "CdcLoader"}},
    },
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalLambdaRuntime, object]]:
    """moto with IAM enforced, one probe function whose role holds WRITER_POLICY, and the runtime serving it."""
    work = tmp_path_factory.mktemp("iam")
    with running_moto() as endpoint:

        def admin(service: str):
            return boto3.client(
                service,
                region_name=REGION,
                endpoint_url=endpoint,
                config=Config(retries={"max_attempts": 1}),
                **client_credentials(),
            )

        admin("s3").create_bucket(Bucket=BUCKET)
        admin("s3").create_bucket(Bucket="someone-elses")
        for stream in ("allowed", "other"):
            admin("firehose").create_delivery_stream(
                DeliveryStreamName=stream,
                ExtendedS3DestinationConfiguration={
                    "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
                    "BucketARN": f"arn:aws:s3:::{BUCKET}",
                },
            )
        role = admin("iam").create_role(
            RoleName="probe-writer",
            AssumeRolePolicyDocument=_policy(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ),
        )["Role"]
        admin("iam").put_role_policy(
            RoleName="probe-writer", PolicyName="writer", PolicyDocument=WRITER_POLICY
        )
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as package:
            package.writestr("probe.py", PROBE)
        admin("lambda").create_function(
            FunctionName="probe",
            Runtime="python3.12",
            Role=role["Arn"],
            Handler="probe.handler",
            Code={"ZipFile": archive.getvalue()},
            Timeout=30,
        )
        runtime = LocalLambdaRuntime(endpoint, region=REGION, work_dir=work / "work", log_dir=work / "logs")
        with runtime:
            yield runtime, admin


def _probe(runtime: LocalLambdaRuntime, **calls: tuple[str, str, dict]) -> dict[str, str]:
    result = runtime.invoke("probe", json.dumps(calls).encode())
    assert result.ok, result.payload
    return result.json()


def test_the_handler_runs_as_a_session_of_its_execution_role(sandbox):
    runtime, _ = sandbox
    assert _probe(runtime, me=("sts", "get_caller_identity", {})) == {
        "me": f"arn:aws:sts::{ACCOUNT}:assumed-role/probe-writer/probe"
    }


def test_an_action_the_role_does_not_allow_is_denied(sandbox):
    runtime, admin = sandbox
    queue_url = admin("sqs").create_queue(QueueName="iam-dlq")["QueueUrl"]
    outcome = _probe(
        runtime,
        allowed=("s3", "put_object", {"Bucket": BUCKET, "Key": "raw/t/1.json.gz", "Body": "x"}),
        missing=("sqs", "send_message", {"QueueUrl": queue_url, "MessageBody": "record"}),
    )
    assert outcome == {"allowed": "ok", "missing": "AccessDenied"}


def test_a_resource_outside_the_policy_scope_is_denied(sandbox):
    runtime, _ = sandbox
    records = [{"Data": "{}"}]
    outcome = _probe(
        runtime,
        other_prefix=("s3", "put_object", {"Bucket": BUCKET, "Key": "manifests/t/1.json", "Body": "x"}),
        other_bucket=("s3", "put_object", {"Bucket": "someone-elses", "Key": "raw/t/1.json.gz", "Body": "x"}),
        own_stream=("firehose", "put_record_batch", {"DeliveryStreamName": "allowed", "Records": records}),
        other_stream=("firehose", "put_record_batch", {"DeliveryStreamName": "other", "Records": records}),
    )
    assert outcome == {
        "other_prefix": "AccessDenied",
        "other_bucket": "AccessDenied",
        "own_stream": "ok",
        "other_stream": "AccessDeniedException",  # Firehose speaks JSON: its own error name
    }


def test_a_condition_key_scopes_an_action_without_a_resource(sandbox):
    runtime, _ = sandbox
    datum = [{"MetricName": "ReplicationLagSeconds", "Value": 1.0}]
    outcome = _probe(
        runtime,
        own=("cloudwatch", "put_metric_data", {"Namespace": "CdcLoader", "MetricData": datum}),
        other=("cloudwatch", "put_metric_data", {"Namespace": "Elsewhere", "MetricData": datum}),
    )
    assert outcome == {"own": "ok", "other": "AccessDenied"}


@pytest.mark.parametrize(
    ("statement", "context", "allowed"),
    [
        ({"StringLike": {"redshift-data:statement-owner-iam-userid": "AROA1:*"}}, {"AROA1:loader"}, True),
        ({"StringLike": {"redshift-data:statement-owner-iam-userid": "AROA1:*"}}, {"AROA2:loader"}, False),
        ({"StringLike": {"redshift-data:statement-owner-iam-userid": "AROA1:*"}}, set(), False),
        (
            {"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}},
            {"sns.us-east-1.amazonaws.com"},
            True,
        ),
        ({"StringEqualsIfExists": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}}, set(), True),
        ({"NumericLessThan": {"kms:ViaService": "1"}}, {"0"}, False),  # not modelled: fails closed
    ],
)
def test_conditions_are_evaluated_against_the_request_context(statement, context, allowed):
    key = next(iter(next(iter(statement.values()))))
    policy = {"Statement": [{"Effect": "Allow", "Action": "x:Do", "Resource": "*", "Condition": statement}]}
    check = Check("x:Do", ("*",), {key: sorted(context)} if context else {})
    assert decide([policy], check) is allowed


def test_an_explicit_deny_wins_over_an_allow():
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/raw/*"},
        ]
    }
    assert decide([policy], Check("s3:DeleteObject", ("arn:aws:s3:::b/manifests/1",)))
    assert not decide([policy], Check("s3:DeleteObject", ("arn:aws:s3:::b/raw/1",)))
