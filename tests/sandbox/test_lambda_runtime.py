"""The local Lambda runtime runs deployed zips as Lambda would, driven by what is configured in moto."""

from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from tests.sandbox.lambda_runtime import LocalLambdaRuntime

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sandbox-test"

HANDLERS = '''
import json, os, sys, time
import ddb_cdc

_seen = set()


def _log(name, value):
    with open(os.path.join(os.environ["OUT_DIR"], name + ".jsonl"), "a") as out:
        out.write(json.dumps(value) + "\\n")


def echo(event, context):
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(event["sleep"])
    print("echo", json.dumps(event))
    _log(context.function_name, event)
    return {
        "module_file": __file__,
        "sys_path0": sys.path[0],
        "ddb_cdc_file": ddb_cdc.__file__,
        "marker": getattr(ddb_cdc, "SANDBOX_ZIP_MARKER", None),
        "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_ENDPOINT_URL", "LAMBDA_TASK_ROOT", "GREETING")},
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }


def stream(event, context):
    """Keeps every record before the first 'retry' key it has not seen yet; reports that one as failed."""
    records = event["Records"]
    _log(context.function_name + "-batches", len(records))
    for record in records:
        key = record["dynamodb"]["Keys"]["pk"]["S"]
        if key.startswith("retry") and key not in _seen:
            _seen.add(key)
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        _log(context.function_name, {"key": key, "seq": record["dynamodb"]["SequenceNumber"], "event": record["eventName"]})
    return {"batchItemFailures": []}


def poison(event, context):
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
    _log(context.function_name + "-batches", keys)
    if "poison" in keys:
        raise ValueError("poison record")
    for key in keys:
        _log(context.function_name, key)


def sqs(event, context):
    for record in event["Records"]:
        _log(context.function_name, {"body": record["body"], "count": record["attributes"]["ApproximateReceiveCount"]})
        if record["body"] == "bad":
            raise RuntimeError("bad message")


def failing(event, context):
    raise RuntimeError("always fails")


def noop(event, context):
    return None
'''


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        moto_api_backend.reset()
        werkzeug_log.setLevel(level)


@pytest.fixture
def aws(endpoint: str, monkeypatch: pytest.MonkeyPatch):
    moto_api_backend.reset()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    config = Config(retries={"max_attempts": 1})

    def client(service: str):
        return boto3.client(service, region_name=REGION, endpoint_url=endpoint, config=config)

    client("iam").create_role(
        RoleName=ROLE.rsplit("/", 1)[1],
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    return client


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    return out


@pytest.fixture
def runtime_factory(endpoint: str, tmp_path: Path) -> Iterator:
    started: list[LocalLambdaRuntime] = []

    def start(clock_factor: float = 60.0, **options) -> LocalLambdaRuntime:
        runtime = LocalLambdaRuntime(
            endpoint,
            region=REGION,
            clock_factor=clock_factor,
            work_dir=tmp_path / "work",
            log_dir=tmp_path / "logs",
            **options,
        )
        started.append(runtime.start())
        return runtime

    yield start
    for runtime in started:
        runtime.stop()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sbx_handlers.py", HANDLERS)
        # A stand-in package that shadows the repository's editable install: the worker must import this one.
        archive.writestr("ddb_cdc/__init__.py", "SANDBOX_ZIP_MARKER = 'from-the-zip'\n")
    return buffer.getvalue()


def _function(
    aws, name: str, handler: str, out_dir: Path, *, timeout: int = 10, env: dict | None = None
) -> str:
    response = aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler=f"sbx_handlers.{handler}",
        Code={"ZipFile": _zip()},
        Timeout=timeout,
        MemorySize=256,
        Environment={"Variables": {"OUT_DIR": str(out_dir), **(env or {})}},
    )
    return response["FunctionArn"]


def _lines(out_dir: Path, name: str) -> list:
    path = out_dir / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _table(aws, name: str) -> str:
    response = aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return response["TableDescription"]["LatestStreamArn"]


def _queue(aws, name: str, **attributes: str) -> tuple[str, str]:
    url = aws("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _put(aws, table: str, keys: list[str]) -> None:
    for key in keys:
        aws("dynamodb").put_item(TableName=table, Item={"pk": {"S": key}, "blob": {"B": b"\x00\x01"}})


def test_worker_imports_the_deployed_zip_with_lambda_environment_and_context(aws, out_dir, runtime_factory):
    _function(aws, "echo", "echo", out_dir, env={"GREETING": "hi"})
    runtime = runtime_factory()

    response = aws("lambda").invoke(FunctionName="echo", Payload=json.dumps({"n": 1}))
    body = json.loads(response["Payload"].read())

    assert "FunctionError" not in response
    task_root = runtime.functions["echo"].code_dir
    assert body["module_file"].startswith(str(task_root))
    assert body["ddb_cdc_file"].startswith(str(task_root))
    assert body["marker"] == "from-the-zip"
    assert body["sys_path0"] == str(task_root)
    assert body["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "echo",
        "AWS_ENDPOINT_URL": runtime.endpoint_url,
        "LAMBDA_TASK_ROOT": str(task_root),
        "GREETING": "hi",
    }
    assert body["context"]["memory_limit_in_mb"] == 256
    assert body["context"]["invoked_function_arn"].endswith(":function:echo")
    assert 9000 < body["context"]["remaining_ms"] <= 10000
    assert 'echo {"n": 1}' in (runtime.log_dir / "echo.log").read_text()


def test_timeout_kills_the_worker_and_the_next_invocation_gets_a_fresh_one(aws, out_dir, runtime_factory):
    _function(aws, "slow", "echo", out_dir, timeout=1)
    runtime = runtime_factory()
    lam = aws("lambda")

    started = time.monotonic()
    response = lam.invoke(FunctionName="slow", Payload=json.dumps({"sleep": 5}))
    error = json.loads(response["Payload"].read())

    assert time.monotonic() - started < 3
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    again = lam.invoke(FunctionName="slow", Payload=json.dumps({"n": 2}))
    assert "FunctionError" not in again
    assert runtime.stats()["functions"]["slow"]["timeouts"] == 1


def test_handler_error_comes_back_in_lambda_shape(aws, out_dir, runtime_factory):
    _function(aws, "failing", "failing", out_dir)
    runtime_factory()

    response = aws("lambda").invoke(FunctionName="failing", Payload=b"{}")
    error = json.loads(response["Payload"].read())

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "always fails"
    assert any("raise RuntimeError" in line for line in error["stackTrace"])


def test_stream_mapping_never_exceeds_batch_size_and_resumes_at_the_failed_record(
    aws, out_dir, runtime_factory
):
    stream_arn = _table(aws, "items")
    _function(aws, "writer", "stream", out_dir)
    aws("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName="writer",
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    runtime = runtime_factory()
    keys = [f"k{i:02d}" for i in range(10)] + ["retry-a"] + [f"m{i:02d}" for i in range(5)] + ["retry-b", "z"]
    _put(aws, "items", keys)

    assert runtime.wait_idle(15)

    processed = _lines(out_dir, "writer")
    assert [p["key"] for p in processed] == keys  # in order, none lost, none twice
    sequence_numbers = [int(p["seq"]) for p in processed]
    assert sequence_numbers == sorted(sequence_numbers)
    assert max(_lines(out_dir, "writer-batches")) <= 4
    mapping = runtime.stats()["mappings"][0]
    assert mapping["batch_size"] == 4
    assert mapping["max_batch"] == 4
    assert mapping["retries"] == 2
    # Every invocation (retries too) is timed: the poller's in-flight seconds that calibration.py takes out.
    assert 0 < mapping["in_flight_seconds"] < 15


@pytest.mark.parametrize("over_http", [False, True], ids=["in-process-get-records", "http-get-records"])
def test_stream_record_has_the_lambda_event_shape(aws, out_dir, runtime_factory, over_http):
    stream_arn = _table(aws, "shape")
    _function(aws, "shape", "echo", out_dir)
    aws("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName="shape", StartingPosition="LATEST", BatchSize=10
    )
    runtime = runtime_factory(get_records_over_http=over_http)
    _put(aws, "shape", ["a"])
    aws("dynamodb").delete_item(TableName="shape", Key={"pk": {"S": "a"}})

    assert runtime.wait_idle(10)

    records = [r for event in _lines(out_dir, "shape") for r in event["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    insert = records[0]
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["eventSourceARN"] == stream_arn
    assert insert["awsRegion"] == REGION
    assert isinstance(insert["dynamodb"]["ApproximateCreationDateTime"], int | float)
    assert abs(insert["dynamodb"]["ApproximateCreationDateTime"] - time.time()) < 120
    assert insert["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}
    assert insert["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
    assert insert["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert "OldImage" in records[1]["dynamodb"]


def test_bisect_isolates_the_poison_record_and_sends_it_to_the_failure_destination(
    aws, out_dir, runtime_factory
):
    stream_arn = _table(aws, "poisoned")
    _function(aws, "poison", "poison", out_dir)
    dlq_url, dlq_arn = _queue(aws, "stream-failures")
    aws("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName="poison",
        StartingPosition="TRIM_HORIZON",
        BatchSize=8,
        MaximumBatchingWindowInSeconds=1,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    runtime = runtime_factory()
    keys = ["a", "b", "c", "poison", "d", "e", "f", "g"]
    _put(aws, "poisoned", keys)

    assert runtime.wait_idle(15)

    assert _lines(out_dir, "poison") == [k for k in keys if k != "poison"]
    messages = aws("sqs").receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    record = json.loads(messages[0]["Body"])
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["streamArn"] == stream_arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    mapping = runtime.stats()["mappings"][0]
    assert mapping["bisections"] == 3
    assert mapping["on_failure_sent"] == 1


def test_sqs_mapping_deletes_on_success_and_redelivers_failures_until_the_dlq(aws, out_dir, runtime_factory):
    _function(aws, "consumer", "sqs", out_dir)
    dlq_url, dlq_arn = _queue(aws, "load-dlq")
    url, arn = _queue(
        aws,
        "load",
        VisibilityTimeout="30",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    )
    aws("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer", BatchSize=1)
    runtime = runtime_factory(clock_factor=30.0)  # the 30 s visibility timeout lasts 1 s
    sqs = aws("sqs")
    sqs.send_message(
        QueueUrl=url, MessageBody="good", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
    )
    sqs.send_message(QueueUrl=url, MessageBody="bad")

    dead = _wait(lambda: sqs.receive_message(QueueUrl=dlq_url).get("Messages"), timeout=15)

    assert dead[0]["Body"] == "bad"
    assert runtime.wait_idle(10)
    seen = _lines(out_dir, "consumer")
    assert [s for s in seen if s["body"] == "good"] == [{"body": "good", "count": "1"}]
    assert [s["count"] for s in seen if s["body"] == "bad"] == ["1", "2"]


def test_sqs_event_shape(aws, out_dir, runtime_factory):
    _function(aws, "sqs-echo", "echo", out_dir)
    url, arn = _queue(aws, "shape-queue")
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="sqs-echo", BatchSize=5, MaximumBatchingWindowInSeconds=1
    )
    runtime = runtime_factory()
    for body in ("one", "two", "three"):
        aws("sqs").send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"k": {"DataType": "String", "StringValue": body}},
        )

    assert runtime.wait_idle(10)

    records = [r for event in _lines(out_dir, "sqs-echo") for r in event["Records"]]
    assert sorted(r["body"] for r in records) == ["one", "three", "two"]
    record = records[0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == REGION
    assert {"ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"]["k"]["stringValue"] == record["body"]
    assert record["messageAttributes"]["k"]["dataType"] == "String"
    assert {"messageId", "receiptHandle", "md5OfBody"} <= set(record)


def test_schedule_fires_on_the_fast_clock_as_an_async_invocation(aws, out_dir, runtime_factory):
    arn = _function(aws, "scheduled", "echo", out_dir)
    aws("scheduler").create_schedule(
        Name="every-minute",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": json.dumps({"trigger": "schedule"})},
    )
    runtime = runtime_factory(clock_factor=60.0)  # one minute lasts one second

    events = _wait(lambda: len(_lines(out_dir, "scheduled")) >= 2 and _lines(out_dir, "scheduled"), timeout=5)

    assert events[:2] == [{"trigger": "schedule"}, {"trigger": "schedule"}]
    assert runtime.stats()["schedules"][0]["fires"] >= 2


def test_eventbridge_rule_delivers_put_events_to_a_lambda_target(aws, out_dir, runtime_factory):
    arn = _function(aws, "completion", "echo", out_dir)
    events = aws("events")
    events.put_rule(
        Name="status",
        EventPattern=json.dumps(
            {"source": ["aws.redshift-data"], "detail-type": ["Redshift Data Statement Status Change"]}
        ),
    )
    events.put_targets(Rule="status", Targets=[{"Id": "fn", "Arn": arn}])
    runtime_factory()

    result = events.put_events(
        Entries=[
            {
                "Source": "aws.redshift-data",
                "DetailType": "Redshift Data Statement Status Change",
                "Detail": json.dumps({"statementId": "s-1", "state": "FINISHED"}),
            },
            {"Source": "other", "DetailType": "Ignored", "Detail": "{}"},
        ]
    )

    assert result["FailedEntryCount"] == 0
    delivered = _wait(lambda: _lines(out_dir, "completion"))
    assert len(delivered) == 1
    assert delivered[0]["detail"] == {"statementId": "s-1", "state": "FINISHED"}
    assert delivered[0]["source"] == "aws.redshift-data"
    assert delivered[0]["time"].endswith("Z")


def test_async_failures_retry_then_reach_the_on_failure_destination(aws, out_dir, runtime_factory):
    _function(aws, "async-failing", "failing", out_dir)
    dlq_url, dlq_arn = _queue(aws, "invoke-dlq")
    aws("lambda").put_function_event_invoke_config(
        FunctionName="async-failing",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    runtime = runtime_factory(clock_factor=120.0)  # the one-minute retry delay lasts 0.5 s

    response = aws("lambda").invoke(FunctionName="async-failing", InvocationType="Event", Payload=b'{"x": 1}')

    assert response["StatusCode"] == 202
    messages = _wait(lambda: aws("sqs").receive_message(QueueUrl=dlq_url).get("Messages"))
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"x": 1}
    assert record["responsePayload"]["errorMessage"] == "always fails"
    assert runtime.stats()["functions"]["async-failing"]["invocations"] == 2


def test_patches_are_reverted_on_stop(aws, out_dir, runtime_factory):
    from moto.awslambda.models import LambdaBackend
    from moto.events.models import Rule

    before = (LambdaBackend.invoke, Rule.send_to_targets)
    runtime = runtime_factory()
    assert (LambdaBackend.invoke, Rule.send_to_targets) != before
    runtime.stop()
    assert (LambdaBackend.invoke, Rule.send_to_targets) == before


def test_filter_criteria_drop_records_that_match_no_pattern(aws, out_dir, runtime_factory):
    stream_arn = _table(aws, "filtered")
    _function(aws, "inserts", "echo", out_dir)
    aws("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName="inserts",
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]},
    )
    runtime = runtime_factory()
    _put(aws, "filtered", ["a", "b"])
    aws("dynamodb").delete_item(TableName="filtered", Key={"pk": {"S": "a"}})

    assert runtime.wait_idle(10)

    records = [r for event in _lines(out_dir, "inserts") for r in event["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT"]
    assert runtime.stats()["mappings"][0]["filtered_out"] == 1


def test_cron_schedule_fires_at_the_matching_sandbox_minutes(endpoint, tmp_path):
    from tests.sandbox.eventbridge_scheduler import Schedule

    runtime = LocalLambdaRuntime(endpoint, clock_factor=60.0, work_dir=tmp_path / "w", log_dir=tmp_path / "l")
    config = {"Name": "c", "ScheduleExpression": "cron(0/15 * ? * MON-FRI *)", "Target": {"Arn": "arn"}}
    schedule = Schedule(runtime, config)
    # 2026-11-27 is a Friday; the next quarter hour after 10:07 UTC is 10:15, and after Friday 23:50 comes Monday.
    friday = datetime(2026, 11, 27, 10, 7, tzinfo=UTC).timestamp()
    assert schedule._next_after(friday) == datetime(2026, 11, 27, 10, 15, tzinfo=UTC).timestamp()
    late = datetime(2026, 11, 27, 23, 50, tzinfo=UTC).timestamp()
    assert schedule._next_after(late) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC).timestamp()
