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
from typing import Any, Final

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.sandbox import client_credentials
from tests.sandbox.lambda_runtime import LocalLambdaRuntime, SandboxUnsupported
from tests.sandbox.moto_server import running_moto
from tests.sandbox.patches import dynamodb_export, emr, stepfunctions
from tests.sandbox.step_functions import (
    EMR_ADD_STEP_SYNC,
    EMR_CREATE_CLUSTER_SYNC,
    EMR_TERMINATE_CLUSTER,
    EMR_TERMINATE_CLUSTER_SYNC,
    LAMBDA_INVOKE,
    SNS_PUBLISH,
    Execution,
    StatesError,
    load,
)

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


# ---------------------------------------------------------------------------------------------------------
# Service integrations (EMR, SNS) with a fake service API
# ---------------------------------------------------------------------------------------------------------


class FakeServices:
    """A ServiceApi whose cluster and step states follow scripts, one state per describe."""

    def __init__(self, cluster_states: list[str], step_states: list[str] | None = None) -> None:
        self.cluster_states, self.step_states = list(cluster_states), list(step_states or [])
        self.calls: list[tuple[str, Any]] = []

    def emr_run_job_flow(self, request: dict) -> dict:
        self.calls.append(("RunJobFlow", request))
        return {"ClusterId": "j-1", "ClusterArn": "arn:aws:elasticmapreduce:us-east-1:1:cluster/j-1"}

    def emr_describe_cluster(self, cluster_id: str) -> dict:
        state = self.cluster_states.pop(0) if len(self.cluster_states) > 1 else self.cluster_states[0]
        self.calls.append(("DescribeCluster", state))
        return {"Cluster": {"Id": cluster_id, "Status": {"State": state}}}

    def emr_add_step(self, cluster_id: str, step: dict) -> str:
        self.calls.append(("AddJobFlowSteps", step))
        return "s-1"

    def emr_describe_step(self, cluster_id: str, step_id: str) -> dict:
        state = self.step_states.pop(0) if len(self.step_states) > 1 else self.step_states[0]
        self.calls.append(("DescribeStep", state))
        return {"Step": {"Id": step_id, "Status": {"State": state, "FailureDetails": {"Message": "boom"}}}}

    def emr_terminate(self, cluster_id: str) -> None:
        self.calls.append(("TerminateJobFlows", cluster_id))

    def sns_publish(self, request: dict) -> str:
        self.calls.append(("Publish", request))
        return "m-1"


CREATE = {
    "Name": "c",
    "ServiceRole": "emr",
    "JobFlowRole": "ec2",
    "Instances": {"KeepJobFlowAliveWhenNoSteps": True},
}


def _one_task(resource: str, parameters: dict, **fields: Any) -> dict:
    return {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": resource, "Parameters": parameters, **fields, "End": True}
        },
    }


def _run_services(
    definition: dict, services: FakeServices, value: Any = None, clock: FakeClock | None = None
):
    execution = Execution(
        load(definition),
        {} if value is None else value,
        invoke=lambda arn, payload: {},
        clock=clock or FakeClock(),
        services=services,
    )
    return execution.run()


def test_create_cluster_sync_polls_until_waiting_and_answers_the_cluster_id():
    clock = FakeClock()
    services = FakeServices(["STARTING", "BOOTSTRAPPING", "WAITING"])
    outcome = _run_services(_one_task(EMR_CREATE_CLUSTER_SYNC, CREATE), services, clock=clock)
    assert outcome.status == "SUCCEEDED"
    assert outcome.output["ClusterId"] == "j-1" and outcome.output["ClusterArn"].endswith("cluster/j-1")
    assert [c[0] for c in services.calls] == ["RunJobFlow"] + ["DescribeCluster"] * 3
    assert clock.sleeps == [60, 60, 60]


def test_sync_polling_slows_to_300_seconds_after_ten_minutes():
    clock = FakeClock()
    services = FakeServices(["COMPLETED"], ["PENDING"] * 9 + ["RUNNING"] * 3 + ["COMPLETED"])
    outcome = _run_services(
        _one_task(EMR_ADD_STEP_SYNC, {"ClusterId": "j-1", "Step": {"Name": "s"}}), services, clock=clock
    )
    assert outcome.status == "SUCCEEDED" and outcome.output["StepId"] == "s-1"
    assert clock.sleeps == [60] * 10 + [300] * 3


def test_a_failed_step_fails_the_task_with_states_task_failed_and_the_step_as_cause():
    for state in ("FAILED", "CANCELLED", "INTERRUPTED"):
        services = FakeServices(["WAITING"], ["RUNNING", state])
        outcome = _run_services(_one_task(EMR_ADD_STEP_SYNC, {"ClusterId": "j-1", "Step": {}}), services)
        assert (outcome.status, outcome.error) == ("FAILED", "States.TaskFailed")
        assert json.loads(outcome.cause)["Step"]["Status"]["State"] == state


def test_a_cluster_that_terminates_while_starting_fails_create_cluster():
    services = FakeServices(["STARTING", "TERMINATED_WITH_ERRORS"])
    outcome = _run_services(_one_task(EMR_CREATE_CLUSTER_SYNC, CREATE), services)
    assert (outcome.status, outcome.error) == ("FAILED", "States.TaskFailed")
    assert json.loads(outcome.cause)["Cluster"]["Status"]["State"] == "TERMINATED_WITH_ERRORS"


def test_terminate_cluster_sync_waits_and_terminate_cluster_does_not():
    clock = FakeClock()
    services = FakeServices(["TERMINATING", "TERMINATED"])
    outcome = _run_services(
        _one_task(EMR_TERMINATE_CLUSTER_SYNC, {"ClusterId": "j-1"}), services, clock=clock
    )
    assert outcome.status == "SUCCEEDED" and clock.sleeps == [60, 60]
    clock = FakeClock()
    outcome = _run_services(
        _one_task(EMR_TERMINATE_CLUSTER, {"ClusterId": "j-1"}), FakeServices(["X"]), clock=clock
    )
    assert outcome.status == "SUCCEEDED" and clock.sleeps == []
    assert set(outcome.output) == {"SdkHttpMetadata", "SdkResponseMetadata"}


def test_a_sync_task_times_out_on_the_sandbox_clock():
    clock = FakeClock()
    services = FakeServices(["STARTING"])
    definition = _one_task(EMR_CREATE_CLUSTER_SYNC, CREATE, TimeoutSeconds=150)
    outcome = _run_services(definition, services, clock=clock)
    assert (outcome.status, outcome.error) == ("FAILED", "States.Timeout")
    assert clock.sleeps == [60, 60, 30]


def test_sns_publish_sends_a_json_message_as_its_text():
    services = FakeServices(["X"])
    definition = _one_task(SNS_PUBLISH, {"TopicArn": "arn:t", "Subject": "s", "Message.$": "$"})
    outcome = _run_services(definition, services, value={"error": {"Error": "E", "Cause": "c"}})
    assert outcome.output["MessageId"] == "m-1"
    ((_, request),) = services.calls
    assert request == {"TopicArn": "arn:t", "Subject": "s", "Message": '{"error":{"Error":"E","Cause":"c"}}'}


@pytest.mark.parametrize(
    ("definition", "error", "message"),
    [
        (_one_task(EMR_CREATE_CLUSTER_SYNC, {**CREATE, "Steps": []}), ValueError, "Steps"),
        (
            _one_task(
                EMR_CREATE_CLUSTER_SYNC, {**CREATE, "Instances": {"KeepJobFlowAliveWhenNoSteps": False}}
            ),
            ValueError,
            "KeepJobFlowAliveWhenNoSteps",
        ),
        (_one_task(EMR_ADD_STEP_SYNC, {"ClusterId": "j-1"}), ValueError, "Step"),
        (_one_task(SNS_PUBLISH, {"Message": "m"}), ValueError, "TopicArn"),
        (_one_task(SNS_PUBLISH, {"TargetArn": "arn:x", "Message": "m"}), SandboxUnsupported, "TargetArn"),
        (
            _one_task("arn:aws:states:::elasticmapreduce:addStep", {"ClusterId": "j", "Step": {}}),
            SandboxUnsupported,
            "addStep",
        ),
        (
            _one_task("arn:aws:states:::sns:publish.waitForTaskToken", {"Message": "m"}),
            SandboxUnsupported,
            "waitForTaskToken",
        ),
    ],
)
def test_service_tasks_the_integration_refuses_are_refused_at_load(definition, error, message):
    with pytest.raises(error, match=message):
        load(definition)


def test_create_cluster_without_keep_alive_at_run_time_is_a_runtime_error():
    definition = _one_task(EMR_CREATE_CLUSTER_SYNC, {"Name": "c", "Instances.$": "$.instances"})
    outcome = _run_services(definition, FakeServices(["WAITING"]), value={"instances": {}})
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime")


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


def compaction(event, context):
    # A stand-in for the loader's compaction triggers: the plan comes from the execution input.
    if event["trigger"] == "compaction_plan":
        return event["request"]["plan"]
    with open(os.path.join(os.environ["LOG_DIR"], event["run"] + ".log"), "a") as log:
        print(json.dumps(event), file=log)
    return {"loads": 0}
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
    with (
        running_moto() as endpoint,
        dynamodb_export.installed(),
        stepfunctions.installed(),
        emr.installed(seed=11),
    ):

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


# ---------------------------------------------------------------------------------------------------------
# emr_compaction: a machine shaped like the module's, run by the runtime against moto's EMR, S3 and SNS
# ---------------------------------------------------------------------------------------------------------

BUCKET = "cdc-compaction"
HOUR_PREFIX = "raw/orders/2026/12/07/03/"
LAMBDA_RETRY = [
    {
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 3,
        "BackoffRate": 2,
    }
]


# The module's cluster and step timeouts (1,800 and 3,600 s) last 1.8 and 3.6 real seconds on this module's 1000x
# clock: a busy CI machine once stalled the run that long, StartCluster timed out and its cluster was left WAITING
# (CI at 93105c6). Here the timeouts are a day (86 real seconds, past _finished's 60 s), so only a real hang ends a
# run that way; the timeout itself is tested on a FakeClock (test_a_sync_task_times_out_on_the_sandbox_clock).
TASK_TIMEOUT_S: Final = 86_400


def compaction_definition(loader: str, topic: str) -> dict:
    """The state machine of the shared emr_compaction contract (Plan ... Failed)."""

    def catch(path: str, target: str = "Notify") -> list[dict]:
        return [{"ErrorEquals": ["States.ALL"], "ResultPath": path, "Next": target}]

    def load_task(compacted: bool, catch_path: str, after: str) -> dict:
        payload = {
            "trigger": "compacted",
            "hour.$": "$.plan.hour",
            "run.$": "$.plan.run",
            "compacted": compacted,
        }
        return {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": loader, "Payload": payload},
            "ResultPath": None,
            "Retry": LAMBDA_RETRY,
            "Catch": catch(catch_path),
            "Next": after,
        }

    terminate = {
        "Type": "Task",
        "Resource": EMR_TERMINATE_CLUSTER_SYNC,
        "Parameters": {"ClusterId.$": "$.cluster.id"},
    }
    return {
        "StartAt": "Plan",
        "States": {
            "Plan": {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {
                    "FunctionName": loader,
                    "Payload": {"trigger": "compaction_plan", "request.$": "$"},
                },
                "ResultSelector": {
                    "hour.$": "$.Payload.hour",
                    "run.$": "$.Payload.run",
                    "inputs.$": "$.Payload.inputs",
                    "args.$": "$.Payload.args",
                },
                "ResultPath": "$.plan",
                "Retry": LAMBDA_RETRY,
                "Catch": catch("$.error"),
                "Next": "AnyInputs",
            },
            "AnyInputs": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.plan.inputs", "NumericGreaterThan": 0, "Next": "StartCluster"}],
                "Default": "NothingToCompact",
            },
            "NothingToCompact": {"Type": "Succeed"},
            "StartCluster": {
                "Type": "Task",
                "Resource": EMR_CREATE_CLUSTER_SYNC,
                "Parameters": {
                    "Name": "ddbcdc-compaction-orders",
                    "ReleaseLabel": "emr-7.2.0",
                    "Applications": [{"Name": "Hadoop"}],
                    "ServiceRole": "compaction-emr-service",
                    "JobFlowRole": "compaction-ec2",
                    "LogUri": f"s3://{BUCKET}/emr-logs/orders/",
                    "VisibleToAllUsers": True,
                    "AutoTerminationPolicy": {"IdleTimeout": 900},
                    "Tags": [
                        {"Key": "table", "Value": "orders"},
                        {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"},
                        {"Key": "ddb-cdc:compaction", "Value": "compaction"},
                    ],
                    "Instances": {
                        "KeepJobFlowAliveWhenNoSteps": True,
                        "TerminationProtected": False,
                        "Ec2SubnetId": "subnet-12345678",
                        "InstanceGroups": [
                            {
                                "Name": "master",
                                "InstanceRole": "MASTER",
                                "InstanceType": "m5.xlarge",
                                "InstanceCount": 1,
                                "Market": "ON_DEMAND",
                            },
                            {
                                "Name": "core",
                                "InstanceRole": "CORE",
                                "InstanceType": "m5.xlarge",
                                "InstanceCount": 1,
                                "Market": "SPOT",
                            },
                        ],
                    },
                },
                "ResultSelector": {"id.$": "$.ClusterId"},
                "ResultPath": "$.cluster",
                "TimeoutSeconds": TASK_TIMEOUT_S,
                "Catch": catch("$.error"),
                "Next": "Compact",
            },
            "Compact": {
                "Type": "Task",
                "Resource": EMR_ADD_STEP_SYNC,
                "Parameters": {
                    "ClusterId.$": "$.cluster.id",
                    "Step": {
                        "Name": "s3-dist-cp",
                        "ActionOnFailure": "CONTINUE",
                        "HadoopJarStep": {"Jar": "command-runner.jar", "Args.$": "$.plan.args"},
                    },
                },
                "ResultPath": None,
                "TimeoutSeconds": TASK_TIMEOUT_S,
                "Catch": catch("$.error", "TerminateAfterFailure"),
                "Next": "Terminate",
            },
            "Terminate": {
                **terminate,
                "ResultPath": None,
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": catch("$.error"),
                "Next": "Load",
            },
            "Load": load_task(True, "$.error", "Done"),
            "Done": {"Type": "Succeed"},
            "TerminateAfterFailure": {
                **terminate,
                "ResultPath": None,
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": catch("$.terminate_error"),
                "Next": "LoadRaw",
            },
            "LoadRaw": load_task(False, "$.load_error", "Notify"),
            "Notify": {
                "Type": "Task",
                "Resource": SNS_PUBLISH,
                "Parameters": {
                    "TopicArn": topic,
                    "Subject": "DdbCdc compaction failed: orders",
                    "Message.$": "$",
                },
                "ResultPath": None,
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "Next": "Failed",
            },
            "Failed": {
                "Type": "Fail",
                "Error": "CompactionFailed",
                "Cause": "The hour's raw files are loaded by the loader's fallback and by the next runs.",
            },
        },
    }


@pytest.fixture(scope="module")
def compaction(sandbox, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The loader stand-in, the EMR roles, the bucket with one hour of raw files, the alert topic, and state
    machine roles with and without the permissions the machine needs."""
    runtime, admin = sandbox
    iam, s3 = admin("iam"), admin("s3")
    log_dir = tmp_path_factory.mktemp("loader-log")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("fn.py", HANDLER)
    role = iam.create_role(RoleName="loader-role", AssumeRolePolicyDocument=_trust("lambda.amazonaws.com"))
    loader = admin("lambda").create_function(
        FunctionName="loader",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="fn.compaction",
        Code={"ZipFile": archive.getvalue()},
        Timeout=30,
        Environment={"Variables": {"LOG_DIR": str(log_dir)}},
    )["FunctionArn"]
    topic = admin("sns").create_topic(Name="compaction-alerts")["TopicArn"]
    service = iam.create_role(
        RoleName="compaction-emr-service", AssumeRolePolicyDocument=_trust("elasticmapreduce.amazonaws.com")
    )["Role"]["Arn"]
    ec2 = iam.create_role(RoleName="compaction-ec2", AssumeRolePolicyDocument=_trust("ec2.amazonaws.com"))[
        "Role"
    ]["Arn"]
    iam.put_role_policy(
        RoleName="compaction-ec2",
        PolicyName="s3",
        PolicyDocument=_policy(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [
                    f"arn:aws:s3:::{BUCKET}/raw/orders/*",
                    f"arn:aws:s3:::{BUCKET}/compaction/orders/*",
                ],
            },
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/compacted/orders/*",
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{BUCKET}",
                "Condition": {"StringLike": {"s3:prefix": ["raw/orders/*", "compaction/orders/*"]}},
            },
        ),
    )
    iam.create_instance_profile(InstanceProfileName="compaction-ec2")
    iam.add_role_to_instance_profile(InstanceProfileName="compaction-ec2", RoleName="compaction-ec2")
    cluster = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}:cluster/*"
    statements = {
        "invoke": {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": loader},
        "run": {
            "Effect": "Allow",
            "Action": "elasticmapreduce:RunJobFlow",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:RequestTag/for-use-with-amazon-emr-managed-policies": "true"}
            },
        },
        "emr": {
            "Effect": "Allow",
            "Action": [
                "elasticmapreduce:DescribeCluster",
                "elasticmapreduce:TerminateJobFlows",
                "elasticmapreduce:AddJobFlowSteps",
                "elasticmapreduce:DescribeStep",
            ],
            "Resource": cluster,
            # Only the machine's own clusters, as modules/emr_compaction scopes them: the tag is read from the cluster.
            "Condition": {"StringEquals": {"elasticmapreduce:ResourceTag/ddb-cdc:compaction": "compaction"}},
        },
        "pass-service": {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": service,
            "Condition": {"StringEquals": {"iam:PassedToService": "elasticmapreduce.amazonaws.com"}},
        },
        "pass-ec2": {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": ec2,
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        },
        "publish": {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic},
    }
    for name, left_out in (
        ("compaction-sfn", None),
        ("compaction-no-pass", "pass-ec2"),
        ("compaction-no-sns", "publish"),
    ):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust("states.amazonaws.com"))
        iam.put_role_policy(
            RoleName=name,
            PolicyName="machine",
            PolicyDocument=_policy(*(v for k, v in statements.items() if k != left_out)),
        )
    s3.create_bucket(Bucket=BUCKET)
    for name in "abcd":
        s3.put_object(
            Bucket=BUCKET,
            Key=f"{HOUR_PREFIX}shard-{name}.json.gz",
            Body=gzip.compress(f'{{"file": "{name}"}}\n'.encode()),
        )
    definition = compaction_definition(loader, topic)
    machines = {
        name: _machine(admin, f"{name}-machine", name, definition)
        for name in ("compaction-sfn", "compaction-no-pass")
    }
    return {"runtime": runtime, "admin": admin, "topic": topic, "log_dir": log_dir, "machines": machines}


def _plan(run: str, inputs: int = 3) -> dict:
    """What the loader's plan answers: s3-dist-cp's argv for three of the hour's four raw files."""
    listed = f"compaction/orders/2026/12/07/03/{run}/inputs.txt"
    return {
        "hour": "2026-12-07T03",
        "run": run,
        "inputs": inputs,
        "args": [
            "s3-dist-cp",
            f"--src=s3://{BUCKET}/{HOUR_PREFIX}",
            f"--dest=s3://{BUCKET}/compacted/orders/2026/12/07/03/{run}/",
            f"--srcPrefixesFile=s3://{BUCKET}/{listed}",
            r"--groupBy=.*/raw/orders/([0-9]{4})/([0-9]{2})/([0-9]{2})/([0-9]{2})/[^/]*\.json\.gz",
            "--targetSize=64",
            "--outputCodec=gz",
        ],
    }


def _compaction_run(
    setup: dict, run: str, machine: str = "compaction-sfn", inputs: int = 3
) -> tuple[dict, set[str]]:
    admin = setup["admin"]
    listing = "".join(f"s3://{BUCKET}/{HOUR_PREFIX}shard-{n}.json.gz\n" for n in "abc")
    admin("s3").put_object(
        Bucket=BUCKET, Key=f"compaction/orders/2026/12/07/03/{run}/inputs.txt", Body=listing.encode()
    )
    before = {c["Id"] for c in admin("emr").list_clusters()["Clusters"]}
    started = admin("stepfunctions").start_execution(
        stateMachineArn=setup["machines"][machine],
        name=run,
        input=json.dumps({"hour": "2026-12-07T03", "plan": _plan(run, inputs)}),
    )
    described = _finished(admin, started["executionArn"], timeout_s=60)
    created = {c["Id"] for c in admin("emr").list_clusters()["Clusters"]} - before
    return described, created


def _loads(setup: dict, run: str) -> list[dict]:
    path = setup["log_dir"] / f"{run}.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _alerts(setup: dict) -> list[tuple[str, str]]:
    from moto.sns.models import sns_backends

    topic = sns_backends[ACCOUNT][REGION].topics[setup["topic"]]
    return [(subject, message) for _, message, subject, *_ in topic.sent_notifications]


def test_emr_clusters_run_on_the_runtimes_sandbox_clock(sandbox):
    runtime, _ = sandbox
    assert emr.current().clock == runtime.sandbox_time


def test_a_compaction_run_merges_the_listed_files_terminates_its_cluster_and_loads(compaction):
    admin = compaction["admin"]
    described, created = _compaction_run(compaction, "run-ok")
    assert described["status"] == "SUCCEEDED", described
    (cluster,) = created
    assert admin("emr").describe_cluster(ClusterId=cluster)["Cluster"]["Status"]["State"] == "TERMINATED"
    keys = [o["Key"] for o in admin("s3").list_objects_v2(Bucket=BUCKET, Prefix="compacted/")["Contents"]]
    assert keys == ["compacted/orders/2026/12/07/03/run-ok/2026120703.gz"]
    body = admin("s3").get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert sorted(json.loads(line)["file"] for line in gzip.decompress(body).decode().splitlines()) == list(
        "abc"
    )
    assert [(e["trigger"], e["compacted"], e["hour"]) for e in _loads(compaction, "run-ok")] == [
        ("compacted", True, "2026-12-07T03")
    ]
    assert not [a for a in _alerts(compaction) if "run-ok" in a[1]]


def test_a_failed_compaction_step_terminates_the_cluster_loads_raw_and_alerts(compaction):
    admin = compaction["admin"]
    emr.fail_next_steps(1)
    described, created = _compaction_run(compaction, "run-fail")
    assert (described["status"], described["error"]) == ("FAILED", "CompactionFailed")
    (cluster,) = created
    assert admin("emr").describe_cluster(ClusterId=cluster)["Cluster"]["Status"]["State"] == "TERMINATED"
    assert [e["compacted"] for e in _loads(compaction, "run-fail")] == [False]
    ((subject, message),) = [a for a in _alerts(compaction) if "run-fail" in a[1]]
    assert subject == "DdbCdc compaction failed: orders"
    alert = json.loads(message)
    assert alert["error"]["Error"] == "States.TaskFailed"
    assert json.loads(alert["error"]["Cause"])["Step"]["Status"]["State"] == "FAILED"
    leftovers = admin("s3").list_objects_v2(Bucket=BUCKET, Prefix="compacted/orders/2026/12/07/03/run-fail/")
    assert leftovers["KeyCount"] == 1  # s3-dist-cp does not clean up what it copied before failing


def test_an_hour_without_raw_files_starts_no_cluster(compaction):
    described, created = _compaction_run(compaction, "run-empty", inputs=0)
    assert described["status"] == "SUCCEEDED" and created == set()
    assert _loads(compaction, "run-empty") == []


def test_a_role_that_cannot_pass_the_instance_profile_role_starts_no_cluster(compaction):
    described, created = _compaction_run(compaction, "run-no-pass", machine="compaction-no-pass")
    assert (described["status"], described["error"]) == ("FAILED", "CompactionFailed")
    assert created == set()
    ((_, message),) = [a for a in _alerts(compaction) if "run-no-pass" in a[1]]
    error = json.loads(message)["error"]
    assert error["Error"] == "ElasticMapReduce.AmazonElasticMapReduceException"
    assert "iam:PassRole" in error["Cause"] and "role/compaction-ec2" in error["Cause"]


def test_publishing_needs_sns_publish_on_the_topic(compaction):
    admin, topic = compaction["admin"], compaction["topic"]
    definition = _one_task(SNS_PUBLISH, {"TopicArn": topic, "Message.$": "$"})
    for role, expected in (("compaction-no-sns", "FAILED"), ("compaction-sfn", "SUCCEEDED")):
        arn = _machine(admin, f"publish-{role}", role, definition)
        started = admin("stepfunctions").start_execution(stateMachineArn=arn, name="p1", input='{"probe": 1}')
        described = _finished(admin, started["executionArn"])
        assert described["status"] == expected
        if expected == "FAILED":
            assert described["error"] == "SNS.AuthorizationErrorException"
            assert "sns:Publish" in described["cause"]
    assert ("", '{"probe":1}') in [(s or "", m) for s, m in _alerts(compaction)]


# ---------------------------------------------------------------------------------------------------------
# EventBridge Scheduler starting a state machine
# ---------------------------------------------------------------------------------------------------------


def test_a_schedule_starts_the_state_machine_with_the_scheduled_time(sandbox):
    from tests.sandbox.eventbridge_scheduler import Schedule

    runtime, admin = sandbox
    echo = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
    machine = _machine(admin, "scheduled", "sfn-allowed", echo)
    iam = admin("iam")
    for role, statements in (
        ("scheduler-ok", [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine}]),
        (
            "scheduler-wrong",
            [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine + "-x"}],
        ),
    ):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust("scheduler.amazonaws.com"))
        iam.put_role_policy(RoleName=role, PolicyName="start", PolicyDocument=_policy(*statements))
    scheduler = admin("scheduler")
    for role in ("scheduler-ok", "scheduler-wrong"):
        scheduler.create_schedule(
            Name=f"compaction-{role}",
            ScheduleExpression="at(2026-12-07T04:15:00)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": machine,
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "Input": json.dumps(
                    {
                        "scheduled_time": "<aws.scheduler.scheduled-time>",
                        "schedule": "<aws.scheduler.schedule-arn>",
                        "attempt": "<aws.scheduler.attempt-number>",
                        "execution": "<aws.scheduler.execution-id>",
                    }
                ),
            },
        )
    ok = Schedule(runtime, scheduler.get_schedule(Name="compaction-scheduler-ok"))
    ok.tick(ok.next_due)
    (execution,) = ok.started
    described = _finished(admin, execution)
    output = json.loads(described["output"])
    assert output["scheduled_time"] == "2026-12-07T04:15:00Z"
    assert (
        output["schedule"] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/compaction-scheduler-ok"
    )
    assert output["attempt"] == "1" and re.fullmatch(r"[0-9a-f]{16}", output["execution"])
    assert execution.endswith(":" + output["execution"]) and ok.failed_deliveries == []
    wrong = Schedule(runtime, scheduler.get_schedule(Name="compaction-scheduler-wrong"))
    wrong.tick(wrong.next_due)
    assert wrong.started == [] and wrong.fires == 1
    (failure,) = wrong.failed_deliveries
    assert "AccessDenied" in failure and any("compaction-scheduler-wrong" in note for note in runtime.notes)
    assert len(admin("stepfunctions").list_executions(stateMachineArn=machine)["executions"]) == 1


def test_run_job_flow_is_authorized_with_the_request_tags(compaction):
    from tests.sandbox.patches.stepfunctions import RoleServices, _role_documents

    role = f"arn:aws:iam::{ACCOUNT}:role/compaction-sfn"
    _, documents = _role_documents(role)
    services = RoleServices(compaction["runtime"].endpoint_url, REGION, documents, role)
    request = {
        "Name": "untagged",
        "ServiceRole": "compaction-emr-service",
        "JobFlowRole": "compaction-ec2",
        "Instances": {"KeepJobFlowAliveWhenNoSteps": True},
    }
    with pytest.raises(StatesError, match="elasticmapreduce:RunJobFlow") as denied:
        services.emr_run_job_flow(request)
    assert denied.value.error == "ElasticMapReduce.AmazonElasticMapReduceException"
    with pytest.raises(StatesError, match="does not exist") as missing:
        services.emr_run_job_flow(
            {
                **request,
                "JobFlowRole": "nope",
                "Tags": [{"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"}],
            }
        )
    assert missing.value.error == "ElasticMapReduce.AmazonElasticMapReduceException"
