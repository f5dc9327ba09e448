"""examples/local/ applied to in-process moto by the real Terraform, and the moto fixes that needs."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from tests.sandbox.moto_server import running_moto
from tests.sandbox.patches import redshift_cluster
from tests.sandbox.terraform_stack import (
    LocalStack,
    TerraformStackError,
    provider_patches_installed,
)
from tests.tfharness.harness import OfflineTerraform

# A Terraform apply and destroy on moto, mostly the provider's waiting: beside the suite (tests/rig/own_process.py).
RUN_IN_OWN_PROCESS = True


def _client(service: str, endpoint: str | None = None):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _create_cluster(redshift) -> dict:
    redshift.create_cluster(
        ClusterIdentifier="warehouse",
        NodeType="ra3.xlplus",
        ClusterType="single-node",
        MasterUsername="admin_user",
        MasterUserPassword="Sandbox-only-1",
    )
    return redshift.describe_clusters(ClusterIdentifier="warehouse")["Clusters"][0]


# ---------------------------------------------------------------------------
# patches
# ---------------------------------------------------------------------------


def test_redshift_cluster_patch_reports_availability_and_relocation_status():
    with mock_aws(), redshift_cluster.installed():
        cluster = _create_cluster(_client("redshift"))
    assert cluster["ClusterAvailabilityStatus"] == "Available"
    assert cluster["AvailabilityZoneRelocationStatus"] == "disabled"


def test_redshift_cluster_patch_is_reverted_on_exit():
    with redshift_cluster.installed():
        pass
    with mock_aws():
        cluster = _create_cluster(_client("redshift"))
    assert "ClusterAvailabilityStatus" not in cluster
    assert "AvailabilityZoneRelocationStatus" not in cluster


def test_redshift_cluster_patch_names_what_it_follows():
    assert redshift_cluster.NAME == "redshift-cluster-status-fields"
    assert "API_Cluster.html" in redshift_cluster.FOLLOWS


# ---------------------------------------------------------------------------
# moto server
# ---------------------------------------------------------------------------


def test_running_moto_serves_on_loopback_and_forgets_everything_on_exit():
    with running_moto() as endpoint:
        assert endpoint.startswith("http://127.0.0.1:")
        _client("s3", endpoint).create_bucket(Bucket="left-behind")
        assert [b["Name"] for b in _client("s3", endpoint).list_buckets()["Buckets"]] == ["left-behind"]
    with running_moto() as endpoint:
        assert _client("s3", endpoint).list_buckets()["Buckets"] == []


def test_running_moto_stops_when_the_body_raises():
    with pytest.raises(RuntimeError), running_moto() as endpoint:
        raise RuntimeError(endpoint)
    with pytest.raises(Exception):  # noqa: B017 - connection refused, whatever botocore calls it
        _client("s3", endpoint).list_buckets()


def test_local_stack_rejects_a_variable_the_example_does_not_have(tmp_path):
    toolchain = OfflineTerraform.create(home=tmp_path)
    with pytest.raises(ValueError, match="load"):
        LocalStack("http://127.0.0.1:1", {"load": "schedule"}, toolchain=toolchain)


# ---------------------------------------------------------------------------
# apply and destroy (real Terraform, real provider, moto)
# ---------------------------------------------------------------------------


@pytest.mark.terraform
def test_apply_deploys_the_settings_the_example_declares_and_destroy_removes_them(tmp_path):
    # firehose + schedule: the combination whose apply the provider's own waits slow least (no load queue and
    # its policy, ~25 s each); the s3_event wiring is exercised by the end-to-end demo tests.
    toolchain = OfflineTerraform.create(home=tmp_path / "tf")
    with provider_patches_installed(), running_moto() as endpoint:
        stack = LocalStack(
            endpoint,
            {"name": "tf-check", "aggregation": "firehose", "load_strategy": "schedule"},
            toolchain=toolchain,
            log_path=tmp_path / "terraform.log",
        )
        try:
            out = stack.apply()
            _assert_deployed(endpoint, out)
        finally:
            stack.destroy()
        assert stack.state_resources() == []
        _assert_gone(endpoint)
    assert set(stack.timings) == {"init", "apply", "destroy"}


def _queue_arn(endpoint: str, url: str) -> str:
    attributes = _client("sqs", endpoint).get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


def _assert_deployed(endpoint: str, out: dict) -> None:
    lam = _client("lambda", endpoint)
    assert (out["aggregation"], out["load_strategy"], out["data_api_mode"]) == (
        "firehose",
        "schedule",
        "async",
    )

    writer = lam.get_function_configuration(FunctionName=out["writer_function_name"])
    assert writer["Handler"] == "ddb_cdc.handlers.stream_to_firehose.handler"
    assert writer["Environment"]["Variables"] == {
        "CDC_DELIVERY_STREAM": out["delivery_stream_name"],
        "CDC_TABLE_NAME": out["table_name"],
        "CDC_DLQ_URL": out["dlq_url"],
        "CDC_BUCKET": out["bucket_name"],
        "CDC_PREFIX": "cdc",
        "LOG_LEVEL": "INFO",
    }

    (mapping,) = lam.list_event_source_mappings(FunctionName=out["writer_function_name"])[
        "EventSourceMappings"
    ]
    assert mapping["EventSourceArn"] == out["table_stream_arn"]
    assert mapping["BatchSize"] == 1000
    assert mapping["MaximumBatchingWindowInSeconds"] == 1
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 3
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == _queue_arn(endpoint, out["dlq_url"])

    stream = _client("firehose", endpoint).describe_delivery_stream(
        DeliveryStreamName=out["delivery_stream_name"]
    )
    (destination,) = stream["DeliveryStreamDescription"]["Destinations"]
    s3 = destination["ExtendedS3DestinationDescription"]
    assert s3["BucketARN"] == f"arn:aws:s3:::{out['bucket_name']}"
    assert s3["BufferingHints"] == {"SizeInMBs": 1, "IntervalInSeconds": 5}
    assert s3["CompressionFormat"] == "GZIP"
    assert s3["Prefix"].startswith(out["raw_prefix"])

    loader = lam.get_function_configuration(FunctionName=out["loader_function_name"])
    assert loader["Handler"] == "ddb_cdc.handlers.loader.handler"
    env = loader["Environment"]["Variables"]
    assert env["CDC_EXECUTOR"] == "data_api"
    assert env["CDC_DATA_API_MODE"] == "async"
    assert env["CDC_REDSHIFT_CLUSTER_ID"] == out["cluster_identifier"]
    assert env["CDC_REDSHIFT_DB_USER"] == out["db_user"]
    assert env["CDC_REDSHIFT_DATABASE"] == out["database"]
    assert env["CDC_COPY_ROLE_ARN"] == out["copy_role_arn"]
    assert json.loads(env["CDC_TARGET_SPEC"])["table"] == out["target_table"]
    completion = lam.get_function_configuration(FunctionName=out["load_completion_function_name"])
    assert completion["Handler"] == "ddb_cdc.handlers.load_completion.handler"

    assert out["load_queue_url"] is None
    schedule_name = out["load_schedule_arn"].rsplit("/", 1)[-1]
    schedule = _client("scheduler", endpoint).get_schedule(Name=schedule_name)
    assert schedule["ScheduleExpression"] == "rate(1 minute)"
    assert schedule["Target"]["Arn"] == loader["FunctionArn"]
    assert "QueueConfigurations" not in _client("s3", endpoint).get_bucket_notification_configuration(
        Bucket=out["bucket_name"]
    )

    (cluster,) = _client("redshift", endpoint).describe_clusters()["Clusters"]
    assert cluster["ClusterIdentifier"] == out["cluster_identifier"]
    assert [role["IamRoleArn"] for role in cluster["IamRoles"]] == [out["copy_role_arn"]]


def _assert_gone(endpoint: str) -> None:
    assert _client("dynamodb", endpoint).list_tables()["TableNames"] == []
    assert _client("lambda", endpoint).list_functions()["Functions"] == []
    assert _client("lambda", endpoint).list_event_source_mappings()["EventSourceMappings"] == []
    assert _client("sqs", endpoint).list_queues().get("QueueUrls", []) == []
    assert _client("s3", endpoint).list_buckets()["Buckets"] == []
    assert _client("firehose", endpoint).list_delivery_streams()["DeliveryStreamNames"] == []
    assert _client("scheduler", endpoint).list_schedules()["Schedules"] == []
    assert _client("redshift", endpoint).describe_clusters()["Clusters"] == []
    assert _client("iam", endpoint).list_roles()["Roles"] == []


@pytest.mark.terraform
def test_a_failing_phase_raises_with_the_log_tail(tmp_path):
    toolchain = OfflineTerraform.create(home=tmp_path / "tf")
    stack = LocalStack("not-a-url", toolchain=toolchain, log_path=tmp_path / "terraform.log")
    try:
        with pytest.raises(TerraformStackError, match="endpoint must be an http"):
            stack.apply()
    finally:
        stack.close()
    assert stack.provider.process is None
