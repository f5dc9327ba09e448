"""The sandbox's Step Functions: the ASL interpreter, executions run by the Lambda runtime, and the export patch."""

from __future__ import annotations

import gzip
import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.sandbox import client_credentials
from tests.sandbox.lambda_runtime import LocalLambdaRuntime, SandboxUnsupported
from tests.sandbox.moto_server import running_moto
from tests.sandbox.patches import dynamodb_export, stepfunctions
from tests.sandbox.step_functions import Execution, StatesError, load

REGION = "us-east-1"
ACCOUNT = "123456789012"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"


# ---------------------------------------------------------------------------------------------------------
# The interpreter, with fake functions and a fake clock
# ---------------------------------------------------------------------------------------------------------


class FakeClock:
    """Sleeping advances the clock at once and is recorded."""

    def __init__(self) -> None:
        self.t = 1_764_460_800.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def run(
    definition: dict, value: Any, functions: dict[str, Callable[[Any], Any]], clock: FakeClock | None = None
):
    calls: list[tuple[str, Any]] = []

    def invoke(arn: str, payload: Any) -> Any:
        calls.append((arn.rsplit(":", 1)[-1], payload))
        return functions[arn.rsplit(":", 1)[-1]](payload)

    execution = Execution(
        load(definition), value, invoke=invoke, clock=clock or FakeClock(), execution_arn="arn:x"
    )
    return execution.run(), calls


def task(name: str, **fields: Any) -> dict:
    return {"Type": "Task", "Resource": FN + name, **fields}


def test_map_keeps_the_items_order_and_runs_at_most_max_concurrency_iterations():
    running, peak, lock = [0], [0], threading.Lock()

    def segment(event: dict) -> dict:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02 * (5 - event["segment"] % 5))  # later items finish first
        with lock:
            running[0] -= 1
        return {"segment": event["segment"], "index": event["index"], "scan_id": event["scan_id"]}

    definition = {
        "StartAt": "Segments",
        "States": {
            "Segments": {
                "Type": "Map",
                "ItemsPath": "$.segments",
                "MaxConcurrency": 3,
                "ItemSelector": {
                    "scan_id.$": "$.scan_id",
                    "segment.$": "$$.Map.Item.Value",
                    "index.$": "$$.Map.Item.Index",
                },
                "ItemProcessor": {"StartAt": "Scan", "States": {"Scan": task("scan", End=True)}},
                "ResultPath": "$.results",
                "End": True,
            }
        },
    }
    outcome, _ = run(definition, {"scan_id": "s1", "segments": [7, 3, 9, 0, 4, 1, 8]}, {"scan": segment})
    assert outcome.status == "SUCCEEDED"
    assert [r["segment"] for r in outcome.output["results"]] == [7, 3, 9, 0, 4, 1, 8]
    assert [r["index"] for r in outcome.output["results"]] == list(range(7))
    assert {r["scan_id"] for r in outcome.output["results"]} == {"s1"}
    assert peak[0] == 3


def test_a_failed_iteration_fails_the_map_with_its_error():
    def segment(event: int) -> int:
        if event == 2:
            raise StatesError("StreamNotCapturing", "mapping disabled")
        return event

    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "T", "States": {"T": task("t", End=True)}},
                "End": True,
            }
        },
    }
    outcome, _ = run(definition, [1, 2, 3], {"t": segment})
    assert (outcome.status, outcome.error, outcome.cause) == (
        "FAILED",
        "StreamNotCapturing",
        "mapping disabled",
    )


def test_retry_backs_off_on_the_sandbox_clock_and_matches_retriers_in_order():
    failures = iter(["Throttled", "Throttled", "Throttled", "Other"])

    def flaky(event: dict) -> dict:
        error = next(failures, None)
        if error:
            raise StatesError(error, "try again")
        return {"ok": True}

    clock = FakeClock()
    definition = {
        "StartAt": "T",
        "States": {
            "T": task(
                "flaky",
                Retry=[
                    {"ErrorEquals": ["Other"], "IntervalSeconds": 7, "MaxAttempts": 1},
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": 2,
                        "BackoffRate": 3,
                        "MaxDelaySeconds": 10,
                        "MaxAttempts": 5,
                    },
                ],
                End=True,
            )
        },
    }
    outcome, calls = run(definition, {}, {"flaky": flaky}, clock)
    assert outcome.status == "SUCCEEDED" and outcome.output == {"ok": True}
    assert clock.sleeps == [2, 6, 10, 7]  # 2 x 3^n capped at 10; "Other" uses its own retrier
    assert len(calls) == 5


def test_exhausted_retries_go_to_catch_with_the_error_at_its_result_path():
    def failing(event: dict) -> dict:
        raise StatesError("SegmentError", '{"errorType": "SegmentError"}')

    definition = {
        "StartAt": "Scan",
        "States": {
            "Scan": task(
                "scan",
                Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "SegmentFailed"}],
                End=True,
            ),
            "SegmentFailed": {
                "Type": "Pass",
                "Parameters": {"segment.$": "$.segment", "failed": True, "error.$": "$.error"},
                "End": True,
            },
        },
    }
    clock = FakeClock()
    outcome, calls = run(definition, {"segment": 4}, {"scan": failing}, clock)
    assert outcome.output == {
        "segment": 4,
        "failed": True,
        "error": {"Error": "SegmentError", "Cause": '{"errorType": "SegmentError"}'},
    }
    assert len(calls) == 3 and clock.sleeps == [1, 2]


def test_a_choice_loop_runs_until_the_segment_is_done():
    def scan(state: dict) -> dict:
        page = state.get("page", 0) + 1
        return {**state, "page": page, "done": page == 3}

    definition = {
        "StartAt": "Scan",
        "States": {
            "Scan": task("scan", Next="SegmentDone?"),
            "SegmentDone?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.done", "BooleanEquals": True},
                            {"Not": {"Variable": "$.page", "NumericLessThan": 3}},
                        ],
                        "Next": "Segment finished",
                    }
                ],
                "Default": "Scan",
            },
            "Segment finished": {"Type": "Succeed"},
        },
    }
    outcome, calls = run(definition, {"segment": 1}, {"scan": scan})
    assert outcome.output == {"segment": 1, "page": 3, "done": True}
    assert len(calls) == 3


def test_the_summary_choice_fails_with_the_cause_from_the_path():
    definition = {
        "StartAt": "Failed?",
        "States": {
            "Failed?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.failed[0]", "IsPresent": True, "Next": "Fail"}],
                "Default": "Done",
            },
            "Fail": {"Type": "Fail", "Error": "SegmentsFailed", "CausePath": "$.cause"},
            "Done": {"Type": "Succeed"},
        },
    }
    outcome, _ = run(definition, {"failed": [3], "cause": "segment 3 at page 7"}, {})
    assert (outcome.status, outcome.error, outcome.cause) == (
        "FAILED",
        "SegmentsFailed",
        "segment 3 at page 7",
    )
    outcome, _ = run(definition, {"failed": [], "cause": ""}, {})
    assert outcome.status == "SUCCEEDED"


def test_input_and_output_processing_follow_the_spec():
    definition = {
        "StartAt": "Invoke",
        "States": {
            "Invoke": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "InputPath": "$.job",
                "Parameters": {
                    "FunctionName": FN + "echo",
                    "Payload": {"id.$": "$.id", "exec.$": "$$.Execution.Id"},
                },
                "ResultSelector": {"body.$": "$.Payload", "code.$": "$.StatusCode"},
                "ResultPath": "$.job.result",
                "OutputPath": "$.job",
                "Next": "Discard",
            },
            "Discard": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": None, "Next": "Wait"},
            "Wait": {"Type": "Wait", "SecondsPath": "$.id", "End": True},
        },
    }
    clock = FakeClock()
    outcome, calls = run(definition, {"job": {"id": 5}}, {"echo": lambda p: {"seen": p}}, clock)
    assert calls == [("echo", {"id": 5, "exec": "arn:x"})]
    assert outcome.output == {"id": 5, "result": {"body": {"seen": {"id": 5, "exec": "arn:x"}}, "code": 200}}
    assert clock.sleeps == [5]


def test_a_runtime_error_is_not_caught_by_states_all():
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Parameters": {"v.$": "$.missing"}, "End": True},
        },
    }
    outcome, _ = run(definition, {}, {})
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime")


def test_a_task_past_its_timeout_fails_with_states_timeout():
    definition = {
        "StartAt": "T",
        "States": {
            "T": task(
                "slow",
                TimeoutSeconds=0.05,
                Catch=[
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                    {"ErrorEquals": ["States.Timeout"], "Next": "Timed"},
                ],
                End=True,
            ),
            "Wrong": {"Type": "Fail", "Error": "Wrong"},
            "Timed": {"Type": "Pass", "End": True},
        },
    }
    outcome, _ = run(definition, {}, {"slow": lambda p: time.sleep(0.5)})
    assert outcome.output == {"Error": "States.Timeout", "Cause": "T: the Task ran longer than 0.05 seconds"}


def test_stop_aborts_before_the_next_state_and_lets_the_running_task_finish():
    entered, release, finished = threading.Event(), threading.Event(), []

    def blocking(payload: Any) -> Any:
        entered.set()
        release.wait(5)
        finished.append(True)
        return payload

    definition = {"StartAt": "A", "States": {"A": task("block", Next="B"), "B": task("never", End=True)}}
    calls: list[str] = []
    functions = {"block": blocking, "never": lambda p: calls.append("never")}
    execution = Execution(
        load(definition), {}, invoke=lambda arn, p: functions[arn.rsplit(":", 1)[-1]](p), clock=FakeClock()
    )
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(execution.run()))
    thread.start()
    assert entered.wait(5)
    execution.stop()
    release.set()
    thread.join(5)
    assert outcome[0].status == "ABORTED" and finished == [True] and calls == []


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [], "End": True}}}, "Parallel"),
        (
            {"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            "QueryLanguage",
        ),
        (
            {
                "StartAt": "P",
                "States": {
                    "P": {"Type": "Pass", "Parameters": {"a.$": "States.Format('{}', $.x)"}, "End": True}
                },
            },
            "intrinsic",
        ),
        (
            {
                "StartAt": "T",
                "States": {
                    "T": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync", "End": True}
                },
            },
            "glue",
        ),
        (
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.items[*]", "End": True}}},
            "JSONPath",
        ),
        (
            {
                "StartAt": "C",
                "States": {
                    "C": {
                        "Type": "Choice",
                        "Choices": [
                            {"Variable": "$.t", "TimestampEquals": "2026-01-01T00:00:00Z", "Next": "E"}
                        ],
                    },
                    "E": {"Type": "Succeed"},
                },
            },
            "TimestampEquals",
        ),
        (
            {"TimeoutSeconds": 60, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            "TimeoutSeconds",
        ),
        ({"StartAt": "P", "States": {"P": {"Type": "Pass", "Assign": {"a": 1}, "End": True}}}, "Assign"),
    ],
)
def test_features_outside_the_subset_are_refused_at_load(definition, message):
    with pytest.raises(SandboxUnsupported, match=message):
        load(definition)


def test_an_unknown_next_is_invalid():
    with pytest.raises(ValueError, match="Nowhere"):
        load({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Nowhere"}}})


def test_the_patches_are_reverted_on_exit():
    from moto.dynamodb.responses import DynamoHandler
    from moto.stepfunctions.responses import StepFunctionResponse

    original_export = DynamoHandler.__dict__["export_table_to_point_in_time"]
    with stepfunctions.installed(), dynamodb_export.installed():
        assert hasattr(StepFunctionResponse, "validate_state_machine_definition")
        assert DynamoHandler.__dict__["export_table_to_point_in_time"] is not original_export
    assert not hasattr(StepFunctionResponse, "validate_state_machine_definition")
    assert not hasattr(StepFunctionResponse, "list_state_machine_versions")
    assert DynamoHandler.__dict__["export_table_to_point_in_time"] is original_export


# ---------------------------------------------------------------------------------------------------------
# moto: the two provider calls, executions through the runtime, the export patch, least privilege
# ---------------------------------------------------------------------------------------------------------

HANDLER = """
import json, os


def scan(event, context):
    if event.get("fail"):
        raise RuntimeError("boom")
    page = event.get("page", 0) + 1
    return {**event, "page": page, "done": page >= 2}


def probe(event, context):
    import boto3
    from botocore.exceptions import ClientError
    results = {}
    for name, (service, operation, params) in event.items():
        try:
            getattr(boto3.client(service), operation)(**params)
            results[name] = "ok"
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            results[name] = "denied" if code.startswith("AccessDenied") else code
    return results
"""

MACHINE = {
    "StartAt": "Segments",
    "States": {
        "Segments": {
            "Type": "Map",
            "ItemsPath": "$.segments",
            "MaxConcurrency": 2,
            "ItemSelector": {"scan_id.$": "$.scan_id", "segment.$": "$$.Map.Item.Value"},
            "ItemProcessor": {
                "StartAt": "Scan",
                "States": {
                    "Scan": {"Type": "Task", "Resource": FN + "scanner", "Next": "Done?"},
                    "Done?": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "Finished"}],
                        "Default": "Scan",
                    },
                    "Finished": {"Type": "Succeed"},
                },
            },
            "ResultPath": "$.results",
            "End": True,
        }
    },
}


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(service: str) -> str:
    return _policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalLambdaRuntime, Callable]]:
    work = tmp_path_factory.mktemp("sfn")
    with running_moto() as endpoint, dynamodb_export.installed(), stepfunctions.installed():

        def admin(service: str):
            config = Config(retries={"max_attempts": 1})
            return boto3.client(
                service, region_name=REGION, endpoint_url=endpoint, config=config, **client_credentials()
            )

        iam = admin("iam")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as package:
            package.writestr("fn.py", HANDLER)
        for name, handler in (("scanner", "fn.scan"), ("probe", "fn.probe")):
            role = iam.create_role(
                RoleName=f"{name}-role", AssumeRolePolicyDocument=_trust("lambda.amazonaws.com")
            )
            admin("lambda").create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role["Role"]["Arn"],
                Handler=handler,
                Code={"ZipFile": archive.getvalue()},
                Timeout=30,
            )
        iam.create_role(RoleName="sfn-allowed", AssumeRolePolicyDocument=_trust("states.amazonaws.com"))
        iam.put_role_policy(
            RoleName="sfn-allowed",
            PolicyName="invoke",
            PolicyDocument=_policy(
                {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FN + "scanner"}
            ),
        )
        iam.create_role(RoleName="sfn-denied", AssumeRolePolicyDocument=_trust("states.amazonaws.com"))
        with LocalLambdaRuntime(
            endpoint, region=REGION, clock_factor=1000, work_dir=work / "w", log_dir=work / "l"
        ) as runtime:
            yield runtime, admin


def _machine(admin: Callable, name: str, role: str, definition: dict = MACHINE) -> str:
    return admin("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}"
    )["stateMachineArn"]


def _finished(admin: Callable, execution_arn: str, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described = admin("stepfunctions").describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} still RUNNING after {timeout_s} s")


def test_validate_and_list_versions_answer_the_provider(sandbox):
    _, admin = sandbox
    sfn = admin("stepfunctions")
    assert sfn.validate_state_machine_definition(definition=json.dumps(MACHINE))["result"] == "OK"
    bad = sfn.validate_state_machine_definition(
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
    )
    assert bad["result"] == "FAIL"
    assert bad["diagnostics"][0]["code"] == "MISSING_TRANSITION_TARGET"
    assert sfn.validate_state_machine_definition(definition="{not json")["result"] == "FAIL"
    arn = sfn.create_state_machine(
        name="versioned",
        definition=json.dumps(MACHINE),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn-allowed",
        publish=True,
    )["stateMachineArn"]
    versions = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [f"{arn}:1"]


def test_an_execution_runs_the_deployed_handler_and_reports_its_output(sandbox):
    runtime, admin = sandbox
    arn = _machine(admin, "scan-ok", "sfn-allowed")
    started = admin("stepfunctions").start_execution(
        stateMachineArn=arn, name="run1", input=json.dumps({"scan_id": "s1", "segments": [0, 3, 7]})
    )
    described = _finished(admin, started["executionArn"])
    assert described["status"] == "SUCCEEDED" and "stopDate" in described
    results = json.loads(described["output"])["results"]
    assert [(r["segment"], r["page"], r["done"]) for r in results] == [
        (0, 2, True),
        (3, 2, True),
        (7, 2, True),
    ]
    listed = admin("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    assert [e["status"] for e in listed] == ["SUCCEEDED"]
    assert runtime.executions.idle() and runtime.sources_idle()
    events = admin("stepfunctions").get_execution_history(executionArn=started["executionArn"])["events"]
    assert [e["type"] for e in events] == ["ExecutionStarted", "ExecutionSucceeded"]


def test_a_role_without_invoke_permission_fails_the_task(sandbox):
    _, admin = sandbox
    arn = _machine(admin, "scan-denied", "sfn-denied")
    started = admin("stepfunctions").start_execution(
        stateMachineArn=arn, name="run1", input='{"scan_id": "s", "segments": [1]}'
    )
    described = _finished(admin, started["executionArn"])
    assert (described["status"], described["error"]) == ("FAILED", "Lambda.AWSLambdaException")
    assert "lambda:InvokeFunction" in described["cause"]


def test_a_function_error_is_named_by_its_error_type(sandbox):
    _, admin = sandbox
    arn = _machine(admin, "scan-fails", "sfn-allowed")
    started = admin("stepfunctions").start_execution(
        stateMachineArn=arn, name="run1", input=json.dumps({"scan_id": "s", "segments": [1], "fail": True})
    )
    # ItemSelector drops "fail"; send it through a machine that passes the whole item instead.
    assert _finished(admin, started["executionArn"])["status"] == "SUCCEEDED"
    direct = _machine(
        admin,
        "direct",
        "sfn-allowed",
        {"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": FN + "scanner", "End": True}}},
    )
    started = admin("stepfunctions").start_execution(
        stateMachineArn=direct, name="run1", input='{"fail": true}'
    )
    described = _finished(admin, started["executionArn"])
    assert (described["status"], described["error"]) == ("FAILED", "RuntimeError")
    assert json.loads(described["cause"])["errorMessage"] == "boom"


def test_stop_execution_aborts_a_waiting_execution(sandbox):
    runtime, admin = sandbox
    waiting = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 10_000_000, "Next": "S"}, "S": {"Type": "Succeed"}},
    }
    arn = _machine(admin, "waits", "sfn-allowed", waiting)
    started = admin("stepfunctions").start_execution(stateMachineArn=arn, name="run1", input="{}")
    assert not runtime.executions.idle() and not runtime.sources_idle()
    admin("stepfunctions").stop_execution(executionArn=started["executionArn"])
    assert _finished(admin, started["executionArn"])["status"] == "ABORTED"
    deadline = time.monotonic() + 5
    while not runtime.executions.idle() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runtime.executions.idle()
    assert (
        admin("stepfunctions").describe_execution(executionArn=started["executionArn"])["status"] == "ABORTED"
    )


def _table(admin: Callable, name: str, items: int, *, pitr: bool = True) -> str:
    ddb = admin("dynamodb")
    arn = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    if pitr:
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    for start in range(0, items, 25):
        requests = [
            {"PutRequest": {"Item": {"id": {"S": f"k{i:05d}"}, "n": {"N": str(i)}}}}
            for i in range(start, min(items, start + 25))
        ]
        ddb.batch_write_item(RequestItems={name: requests})
    return arn


def test_an_export_writes_the_documented_manifests_and_data_files(sandbox):
    _, admin = sandbox
    ddb, s3 = admin("dynamodb"), admin("s3")
    s3.create_bucket(Bucket="exports")
    table_arn = _table(admin, "big", 2500)
    request = {
        "TableArn": table_arn,
        "S3Bucket": "exports",
        "S3Prefix": "cdc/backfill/big/s1/export",
        "ExportFormat": "DYNAMODB_JSON",
        "ClientToken": "s1",
    }
    created = ddb.export_table_to_point_in_time(**request)["ExportDescription"]
    export_arn = created["ExportArn"]
    assert re.fullmatch(
        rf"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/big/export/\d{{14}}-[0-9a-f]{{8}}", export_arn
    )
    assert created["ExportStatus"] == "IN_PROGRESS" and "ExportTime" in created
    assert ddb.export_table_to_point_in_time(**request)["ExportDescription"]["ExportArn"] == export_arn
    with pytest.raises(ClientError, match="IdempotentParameterMismatch"):
        ddb.export_table_to_point_in_time(**{**request, "S3Prefix": "elsewhere"})

    assert ddb.describe_export(ExportArn=export_arn)["ExportDescription"]["ExportStatus"] == "IN_PROGRESS"
    done = ddb.describe_export(ExportArn=export_arn)["ExportDescription"]
    assert (done["ExportStatus"], done["ItemCount"]) == ("COMPLETED", 2500)

    base = f"cdc/backfill/big/s1/export/AWSDynamoDB/{export_arn.rsplit('/', 1)[1]}"
    assert done["ExportManifest"] == f"{base}/manifest-summary.json"
    summary = json.loads(s3.get_object(Bucket="exports", Key=done["ExportManifest"])["Body"].read())
    assert summary["exportArn"] == export_arn and summary["itemCount"] == 2500
    assert (
        summary["outputFormat"] == "DYNAMODB_JSON"
        and summary["manifestFilesS3Key"] == f"{base}/manifest-files.json"
    )
    lines = (
        s3.get_object(Bucket="exports", Key=summary["manifestFilesS3Key"])["Body"]
        .read()
        .decode()
        .splitlines()
    )
    files = [json.loads(line) for line in lines]
    assert [f["itemCount"] for f in files] == [1000, 1000, 500]
    ids = set()
    for entry in files:
        assert re.fullmatch(rf"{base}/data/[a-z0-9]{{26}}\.json\.gz", entry["dataFileS3Key"])
        body = s3.get_object(Bucket="exports", Key=entry["dataFileS3Key"])["Body"].read()
        for line in gzip.decompress(body).decode().splitlines():
            ids.add(json.loads(line)["Item"]["id"]["S"])
    assert len(ids) == 2500
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="exports", Prefix=base)["Contents"]}
    assert {
        f"{base}/_started",
        f"{base}/manifest-summary.checksum",
        f"{base}/manifest-files.checksum",
    } <= keys


def test_an_export_needs_point_in_time_recovery(sandbox):
    _, admin = sandbox
    admin("s3").create_bucket(Bucket="exports-nopitr")
    table_arn = _table(admin, "nopitr", 1, pitr=False)
    with pytest.raises(ClientError, match="PointInTimeRecoveryUnavailable"):
        admin("dynamodb").export_table_to_point_in_time(
            TableArn=table_arn, S3Bucket="exports-nopitr", S3Prefix="p"
        )


def test_backfill_calls_are_authorized_against_their_own_resources(sandbox):
    runtime, admin = sandbox
    s3 = admin("s3")
    s3.create_bucket(Bucket="probe-exports")
    table_arn = _table(admin, "probed", 1)
    allowed_machine = _machine(
        admin, "probe-allowed", "sfn-allowed", {"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}
    )
    other_machine = _machine(
        admin, "probe-other", "sfn-allowed", {"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}
    )
    mapping = admin("lambda").create_event_source_mapping(
        EventSourceArn=admin("sqs").get_queue_attributes(
            QueueUrl=admin("sqs").create_queue(QueueName="probe-q")["QueueUrl"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"],
        FunctionName="scanner",
        Enabled=False,
    )["UUID"]
    admin("iam").put_role_policy(
        RoleName="probe-role",
        PolicyName="backfill",
        PolicyDocument=_policy(
            {
                "Effect": "Allow",
                "Action": ["dynamodb:DescribeContinuousBackups", "dynamodb:ExportTableToPointInTime"],
                "Resource": table_arn,
            },
            {"Effect": "Allow", "Action": "dynamodb:DescribeExport", "Resource": f"{table_arn}/export/*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::probe-exports/allowed/*"},
            {
                "Effect": "Allow",
                "Action": "lambda:GetEventSourceMapping",
                "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{mapping}",
            },
            {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": allowed_machine},
            {
                "Effect": "Allow",
                "Action": ["states:DescribeExecution", "states:StopExecution"],
                "Resource": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:probe-allowed:*",
            },
        ),
    )
    runtime.functions.pop("probe").stop()  # a fresh worker, so the new policy's session is used as in AWS
    export = {"TableArn": table_arn, "S3Bucket": "probe-exports", "ClientToken": "p1"}
    calls = {
        "pitr": ("dynamodb", "describe_continuous_backups", {"TableName": "probed"}),
        "export": ("dynamodb", "export_table_to_point_in_time", {**export, "S3Prefix": "allowed"}),
        "export_elsewhere": (
            "dynamodb",
            "export_table_to_point_in_time",
            {**export, "S3Prefix": "other", "ClientToken": "p2"},
        ),
        "mapping": ("lambda", "get_event_source_mapping", {"UUID": mapping}),
        "start": ("stepfunctions", "start_execution", {"stateMachineArn": allowed_machine, "name": "p1"}),
        "start_other": ("stepfunctions", "start_execution", {"stateMachineArn": other_machine, "name": "p1"}),
        "describe": (
            "stepfunctions",
            "describe_execution",
            {"executionArn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:probe-allowed:p1"},
        ),
        "describe_other": (
            "stepfunctions",
            "describe_execution",
            {"executionArn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:probe-other:x"},
        ),
    }
    result = runtime.invoke("probe", json.dumps(calls).encode())
    assert result.ok, result.payload
    assert result.json() == {
        "pitr": "ok",
        "export": "ok",
        "export_elsewhere": "denied",
        "mapping": "ok",
        "start": "ok",
        "start_other": "denied",
        "describe": "ok",
        "describe_other": "denied",
    }
