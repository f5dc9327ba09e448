"""Step Functions: the two calls Terraform's provider makes, and executions that actually run.

moto 5.2.5 lacks ValidateStateMachineDefinition and ListStateMachineVersions (the hashicorp/aws provider calls
both for ``aws_sfn_state_machine``; over HTTP they answer 500), and without its ``execute_state_machine`` switch
StartExecution stores an execution RUNNING forever. This patch adds the two operations to moto's Step Functions
API and, when given the sandbox's Lambda runtime, runs every started execution with the sandbox's interpreter
(:mod:`tests.sandbox.step_functions`) in a thread, writing the outcome (SUCCEEDED/FAILED/ABORTED, output, error,
cause, stopDate) into moto's execution so DescribeExecution and ListExecutions tell the truth, and
GetExecutionHistory answers the execution's start and end events instead of moto's canned history (state-level
events are not recorded). StopExecution of a finished execution changes nothing (moto would mark it ABORTED).

Lambda tasks invoke the deployed handler through the runtime, as the state machine's role would: the role must
trust ``states.amazonaws.com`` and its identity policies (inline and attached) must allow
``lambda:InvokeFunction`` on the function's ARN, evaluated with the same policy logic as the
``iam-request-context`` patch (:func:`tests.sandbox.patches.iam_request_context.decide`; the function's
resource-based policy is not consulted, so the role itself must grant the invocation). A refused invocation
fails the Task with ``Lambda.AWSLambdaException``, as in AWS. A definition outside the interpreter's subset, or a
role Step Functions could not assume, fails the execution and is reported through the runtime's ``crashed`` list,
so the demo's idle check fails loudly instead of waiting.

The EMR and SNS integrations (:class:`RoleServices`) are authorized the same way, with the actions the Developer
Guide's "IAM policies for Amazon EMR" and the Service Authorization Reference name: createCluster needs
``elasticmapreduce:RunJobFlow`` (checked on ``arn:aws:elasticmapreduce:<region>:<account>:cluster/*``, the resource
AWS names when it refuses RunJobFlow) and ``iam:PassRole`` on the ServiceRole (``iam:PassedToService``
``elasticmapreduce.amazonaws.com``) and on the role inside the JobFlowRole instance profile (``ec2.amazonaws.com``,
as AmazonEMRFullAccessPolicy_v2 scopes them), with the request's Tags as ``aws:RequestTag/<key>`` and
``aws:TagKeys`` (the managed policy's RunJobFlow condition); AddTags and PutAutoTerminationPolicy are not checked; addStep needs ``AddJobFlowSteps`` and, to wait, ``DescribeStep`` on
``arn:aws:elasticmapreduce:<region>:<account>:cluster/<id>``; terminateCluster needs ``TerminateJobFlows`` there and,
to wait (as does createCluster.sync), ``DescribeCluster``; sns:publish needs ``sns:Publish`` on the topic (and
``kms:GenerateDataKey``/``kms:Decrypt`` on its customer key, with ``kms:ViaService``). The current "IAM policies for
Amazon EMR" page no longer lists the ``events:PutRule/PutTargets/DescribeRule`` on
``rule/StepFunctionsGetEventForEMR*Rule`` that older versions did, so they are not required. A refusal fails the
Task with ``ElasticMapReduce.AmazonElasticMapReduceException`` (the Java SDK's class for EMR's unmodelled
AccessDeniedException) or ``SNS.AuthorizationErrorException`` (``SNS.KMSAccessDeniedException`` for the key). The
calls themselves then go to moto over HTTP with the sandbox's admin identity; the EMR patch
(:mod:`tests.sandbox.patches.emr`) makes the clusters progress, on the runtime's sandbox clock once it runs.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tests.sandbox.step_functions import (
    Execution,
    SandboxUnsupported,
    ScaledClock,
    StatesError,
    load,
)

EMR_PASSED_TO = "elasticmapreduce.amazonaws.com"
EC2_PASSED_TO = "ec2.amazonaws.com"
_EMR_MODELLED_ERRORS = frozenset({"InvalidRequestException", "InternalServerException"})

if TYPE_CHECKING:
    from tests.sandbox.lambda_runtime import LocalLambdaRuntime

NAME = "stepfunctions"
FOLLOWS = (
    "AWS Step Functions API Reference: ValidateStateMachineDefinition "
    "(https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html: "
    "result OK or FAIL with diagnostics), ListStateMachineVersions (API_ListStateMachineVersions.html), "
    "StartExecution, DescribeExecution and StopExecution (API_StopExecution.html: a running execution becomes "
    "ABORTED; a Task already running finishes, no further state starts); the Amazon States Language "
    "(https://states-language.net/spec.html) for how an execution runs; Developer Guide 'Invoke a Lambda function' "
    "and 'How Step Functions works with IAM' (the state machine's role is assumed by states.amazonaws.com and "
    "needs lambda:InvokeFunction on the function); 'IAM policies for Amazon EMR' "
    "(https://docs.aws.amazon.com/step-functions/latest/dg/emr-iam.html) and 'Create and manage Amazon EMR clusters "
    "with Step Functions' (connect-emr.html) for the EMR integration's actions and resources; 'Learning to use AWS "
    "service SDK integrations' (supported-services-awssdk.html) for error names '<Service>.<Name>Exception'."
)
ROLE_PRINCIPAL = "states.amazonaws.com"


# ---------------------------------------------------------------------------------------------------------
# ValidateStateMachineDefinition
# ---------------------------------------------------------------------------------------------------------


def validate_definition(text: str) -> list[dict[str, str]]:
    """Diagnostics for a definition (empty when valid): JSON, StartAt/States, and every transition's target."""
    try:
        spec = json.loads(text)
    except (TypeError, ValueError) as exc:
        return [_diagnostic("INVALID_JSON_DESCRIPTION", f"The definition is not valid JSON: {exc}", "/")]
    return _validate_machine(spec, "")


def _diagnostic(code: str, message: str, location: str) -> dict[str, str]:
    return {"severity": "ERROR", "code": code, "message": message, "location": location}


def _validate_machine(spec: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(spec, dict) or not isinstance(spec.get("States"), dict) or "StartAt" not in spec:
        return [
            _diagnostic("SCHEMA_VALIDATION_FAILED", "The definition needs StartAt and States", where or "/")
        ]
    states = spec["States"]
    found = []
    if spec["StartAt"] not in states:
        found.append(
            _diagnostic(
                "MISSING_TRANSITION_TARGET", f"StartAt {spec['StartAt']!r} is not a state", f"{where}/StartAt"
            )
        )
    for name, state in states.items():
        here = f"{where}/States/{name}"
        if not isinstance(state, dict) or "Type" not in state:
            found.append(_diagnostic("SCHEMA_VALIDATION_FAILED", "A state needs a Type", here))
            continue
        targets = [("Next", state.get("Next")), ("Default", state.get("Default"))]
        targets += [
            (f"Choices/{i}/Next", rule.get("Next")) for i, rule in enumerate(state.get("Choices") or [])
        ]
        targets += [
            (f"Catch/{i}/Next", catcher.get("Next")) for i, catcher in enumerate(state.get("Catch") or [])
        ]
        for key, target in targets:
            if target is not None and target not in states:
                found.append(
                    _diagnostic(
                        "MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {target}", f"{here}/{key}"
                    )
                )
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if state["Type"] == "Map" and processor is not None:
            found += _validate_machine(processor, f"{here}/ItemProcessor")
        for index, branch in enumerate(state.get("Branches") or []):
            found += _validate_machine(branch, f"{here}/Branches/{index}")
    return found


def _validate_state_machine_definition(self: Any) -> Any:
    from moto.core.responses import ActionResult

    diagnostics = validate_definition(self._get_param("definition"))
    return ActionResult(
        {"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False}
    )


def _list_state_machine_versions(self: Any) -> Any:
    from moto.core.responses import ActionResult

    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    versions = sorted(machine.versions.values(), key=lambda v: v.version, reverse=True)
    return ActionResult(
        {
            "stateMachineVersions": [
                {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions
            ]
        }
    )


# ---------------------------------------------------------------------------------------------------------
# Executions
# ---------------------------------------------------------------------------------------------------------


def _role_documents(role_arn: str) -> tuple[dict, list[dict]]:
    """(trust policy, identity policy documents) of an IAM role in moto."""
    from moto.iam.access_control import IAMPolicy
    from moto.iam.models import iam_backends

    role = iam_backends[role_arn.split(":")[4]]["aws"].get_role_by_arn(role_arn)
    policies = list(role.policies.values()) + list(role.managed_policies.values())
    return json.loads(role.assume_role_policy_document), [IAMPolicy(p)._policy_json for p in policies]


def _trusts_states(trust: dict) -> bool:
    def as_list(value: Any) -> list:
        return value if isinstance(value, list) else [value]

    return any(
        statement.get("Effect") == "Allow"
        and "sts:AssumeRole" in as_list(statement.get("Action"))
        and any(
            service == ROLE_PRINCIPAL
            or (service.startswith("states.") and service.endswith(".amazonaws.com"))
            for service in as_list((statement.get("Principal") or {}).get("Service"))
        )
        for statement in as_list(trust.get("Statement"))
    )


class Executions:
    """Runs moto's started executions with the sandbox interpreter; one thread per execution."""

    def __init__(self, runtime: LocalLambdaRuntime) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()
        self._running: dict[str, tuple[Execution, threading.Thread]] = {}
        self._seen: set[str] = set()
        self.finished: list[str] = []  # "<execution ARN> <status>"

    def submit(self, machine: Any, execution: Any) -> None:
        """Start running ``execution`` (moto's model) of ``machine`` (moto's StateMachine), once."""
        with self._lock:
            if execution.execution_arn in self._seen or execution.status != "RUNNING":
                return
            self._seen.add(execution.execution_arn)
        try:
            trust, documents = _role_documents(machine.roleArn)
            if not _trusts_states(trust):
                raise PermissionError(f"the role {machine.roleArn} cannot be assumed by {ROLE_PRINCIPAL}")
            interpreted = Execution(
                load(machine.definition),
                json.loads(execution.execution_input or "{}"),
                invoke=self._invoker(documents, machine.roleArn),
                services=RoleServices(
                    self.runtime.endpoint_url, self.runtime.region, documents, machine.roleArn
                ),
                clock=ScaledClock(self.runtime.sandbox_time, self.runtime.clock_factor),
                execution_arn=execution.execution_arn,
                name=execution.name,
                state_machine_arn=machine.arn,
                role_arn=machine.roleArn,
            )
        except (SandboxUnsupported, ValueError, PermissionError, KeyError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
            self.runtime.crashed.append(f"state machine {machine.arn}: {problem}")
            self._write(execution, "FAILED", error="Sandbox.Unsupported", cause=problem)
            return
        thread = threading.Thread(
            target=self._run, args=(interpreted, execution), name=f"sfn-{execution.name}", daemon=True
        )
        with self._lock:
            self._running[execution.execution_arn] = (interpreted, thread)
        thread.start()

    def _invoker(self, documents: list[dict], role_arn: str):
        from tests.sandbox.patches.iam_request_context import Check, decide

        runtime = self.runtime

        def invoke(function_ref: str, payload: Any) -> Any:
            arn = function_ref
            if not arn.startswith("arn:"):
                arn = f"arn:aws:lambda:{runtime.region}:{role_arn.split(':')[4]}:function:{function_ref}"
            if not decide(documents, Check("lambda:InvokeFunction", (arn,))):
                raise StatesError(
                    "Lambda.AWSLambdaException",
                    f"User: {role_arn} is not authorized to perform: lambda:InvokeFunction on resource: {arn} "
                    "(Service: Lambda, Status Code: 403, Error Code: AccessDeniedException)",
                )
            result = runtime.invoke(arn, json.dumps(payload).encode())
            if result.function_error:
                body = result.json()
                error = body.get("errorType") if isinstance(body, dict) else None
                raise StatesError(error or "States.TaskFailed", result.payload.decode(errors="replace"))
            return result.json()

        return invoke

    def _run(self, interpreted: Execution, execution: Any) -> None:
        try:
            outcome = interpreted.run()
            self._write(execution, outcome.status, outcome.output, outcome.error, outcome.cause)
        except Exception as exc:  # an interpreter bug: reported through the runtime's idle()
            self.runtime.crashed.append(f"execution {execution.execution_arn}: {type(exc).__name__}: {exc}")
            self._write(execution, "FAILED", error="Sandbox.InternalError", cause=str(exc))
        finally:
            with self._lock:
                self._running.pop(execution.execution_arn, None)
                self.finished.append(f"{execution.execution_arn} {execution.status}")

    @staticmethod
    def _write(
        execution: Any, status: str, output: Any = None, error: str | None = None, cause: str | None = None
    ) -> None:
        from moto.core.utils import utcnow

        if execution.status != "RUNNING":  # StopExecution got there first: it stays ABORTED
            return
        if status == "SUCCEEDED":
            execution.output = json.dumps(output)
            execution.output_details = {"included": True}
        execution.error, execution.cause = error or None, cause or None
        execution.stop_date = utcnow()
        execution.status = status

    def stop(self, execution_arn: str) -> None:
        with self._lock:
            running = self._running.get(execution_arn)
        if running is not None:
            running[0].stop()

    def ran(self, execution_arn: str) -> bool:
        with self._lock:
            return execution_arn in self._seen

    def idle(self) -> bool:
        """No execution running."""
        with self._lock:
            return not self._running

    def close(self, timeout_s: float = 60.0) -> None:
        """Stop every execution (as StopExecution would) and wait for their threads."""
        with self._lock:
            running = list(self._running.values())
        for interpreted, _ in running:
            interpreted.stop()
        for _, thread in running:
            thread.join(timeout_s)


class RoleServices:
    """The service integrations' API calls (:class:`tests.sandbox.step_functions.ServiceApi`), each authorized
    against the state machine role's identity policies first, then made to moto as the sandbox's admin."""

    def __init__(self, endpoint_url: str, region: str, documents: list[dict], role_arn: str) -> None:
        self.endpoint_url, self.region, self.documents, self.role_arn = (
            endpoint_url,
            region,
            documents,
            role_arn,
        )
        self.account = role_arn.split(":")[4]
        self._clients: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            from tests.sandbox import client_credentials

            self._clients[service] = boto3.Session(**client_credentials(), region_name=self.region).client(
                service,
                endpoint_url=self.endpoint_url,
                config=Config(
                    retries={"max_attempts": 3, "mode": "standard"}, account_id_endpoint_mode="disabled"
                ),
            )
        return self._clients[service]

    # -- authorization ---------------------------------------------------------------------------------------

    def _refusal(self, action: str, resource: str, context: dict[str, list[str]] | None = None) -> str | None:
        """None when the role may; else AWS's message."""
        from tests.sandbox.patches.iam_request_context import Check, decide

        base = {
            "aws:PrincipalArn": [self.role_arn],
            "aws:PrincipalAccount": [self.account],
            "aws:RequestedRegion": [self.region],
            "aws:SecureTransport": ["true"],
        }
        if decide(self.documents, Check(action, (resource,), {**base, **(context or {})})):
            return None
        return f"User: {self.role_arn} is not authorized to perform: {action} on resource: {resource}"

    def _emr_allow(self, action: str, resource: str, context: dict[str, list[str]] | None = None) -> None:
        refusal = self._refusal(action, resource, context)
        if refusal:
            raise StatesError(
                "ElasticMapReduce.AmazonElasticMapReduceException",
                f"{refusal} (Service: AmazonElasticMapReduce; Status Code: 400; Error Code: AccessDeniedException)",
            )

    def _cluster_arn(self, cluster_id: str) -> str:
        return f"arn:aws:elasticmapreduce:{self.region}:{self.account}:cluster/{cluster_id}"

    def _cluster_tags(self, cluster_id: str) -> dict[str, list[str]]:
        """``elasticmapreduce:ResourceTag/<key>`` of a cluster, the condition key EMR's cluster actions carry
        (Service Authorization Reference, "Actions defined by Amazon EMR")."""
        from moto.emr.models import emr_backends

        cluster = emr_backends[self.account][self.region].clusters.get(cluster_id)
        tags = {tag["Key"]: tag["Value"] for tag in cluster.tags} if cluster is not None else {}
        return {f"elasticmapreduce:ResourceTag/{key}": [value] for key, value in tags.items()}

    def _emr(self, operation: str, **kwargs: Any) -> dict:
        from botocore.exceptions import ClientError, ParamValidationError

        try:
            response = getattr(self._client("emr"), operation)(**kwargs)
        except ParamValidationError as exc:
            raise StatesError("States.Runtime", f"{operation}: {exc}") from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            name = code if code in _EMR_MODELLED_ERRORS else "AmazonElasticMapReduceException"
            message = exc.response.get("Error", {}).get("Message", str(exc))
            raise StatesError(
                f"ElasticMapReduce.{name}",
                f"{message} (Service: AmazonElasticMapReduce; Status Code: "
                f"{exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode', 400)}; Error Code: {code})",
            ) from None
        response.pop("ResponseMetadata", None)
        return json.loads(json.dumps(response, default=_epoch_millis))

    # -- ServiceApi --------------------------------------------------------------------------------------------

    def emr_run_job_flow(self, request: dict) -> dict:
        from moto.iam.models import iam_backends

        iam = iam_backends[self.account]["aws"]
        tags = {
            str(t.get("Key")): str(t.get("Value", ""))
            for t in request.get("Tags") or []
            if isinstance(t, dict)
        }
        tag_context = {f"aws:RequestTag/{key}": [value] for key, value in tags.items()}
        if tags:
            tag_context["aws:TagKeys"] = sorted(tags)
        self._emr_allow("elasticmapreduce:RunJobFlow", self._cluster_arn("*"), tag_context)
        passed: list[tuple[str, str]] = []
        for key, service in (("ServiceRole", EMR_PASSED_TO), ("AutoScalingRole", EMR_PASSED_TO)):
            name = request.get(key)
            if name is None:
                continue
            try:
                role = iam.get_role_by_arn(name) if str(name).startswith("arn:") else iam.get_role(str(name))
            except Exception:
                raise StatesError(
                    "ElasticMapReduce.AmazonElasticMapReduceException",
                    f"Invalid {key}: the role {name} does not exist",
                ) from None
            passed.append((role.arn, service))
        profile_name = str(request.get("JobFlowRole") or "")
        try:
            profile = (
                iam.get_instance_profile_by_arn(profile_name)
                if profile_name.startswith("arn:")
                else iam.get_instance_profile(profile_name)
            )
        except Exception:
            raise StatesError(
                "ElasticMapReduce.AmazonElasticMapReduceException",
                f"Invalid InstanceProfile: {profile_name!r} (JobFlowRole) does not exist",
            ) from None
        passed += [(role.arn, EC2_PASSED_TO) for role in profile.roles]
        for arn, service in passed:
            self._emr_allow("iam:PassRole", arn, {"iam:PassedToService": [service]})
        created = self._emr("run_job_flow", **request)
        return {"ClusterId": created["JobFlowId"], "ClusterArn": created.get("ClusterArn")}

    def emr_describe_cluster(self, cluster_id: str) -> dict:
        self._emr_allow(
            "elasticmapreduce:DescribeCluster", self._cluster_arn(cluster_id), self._cluster_tags(cluster_id)
        )
        return self._emr("describe_cluster", ClusterId=cluster_id)

    def emr_add_step(self, cluster_id: str, step: dict) -> str:
        self._emr_allow(
            "elasticmapreduce:AddJobFlowSteps", self._cluster_arn(cluster_id), self._cluster_tags(cluster_id)
        )
        return self._emr("add_job_flow_steps", JobFlowId=cluster_id, Steps=[step])["StepIds"][0]

    def emr_describe_step(self, cluster_id: str, step_id: str) -> dict:
        self._emr_allow(
            "elasticmapreduce:DescribeStep", self._cluster_arn(cluster_id), self._cluster_tags(cluster_id)
        )
        return self._emr("describe_step", ClusterId=cluster_id, StepId=step_id)

    def emr_terminate(self, cluster_id: str) -> None:
        self._emr_allow(
            "elasticmapreduce:TerminateJobFlows",
            self._cluster_arn(cluster_id),
            self._cluster_tags(cluster_id),
        )
        self._emr("terminate_job_flows", JobFlowIds=[cluster_id])

    def sns_publish(self, request: dict) -> str:
        from botocore.exceptions import ClientError, ParamValidationError

        from tests.sandbox.patches.iam_request_context import _topic_key_arn

        topic = str(request["TopicArn"])
        refusal = self._refusal("sns:Publish", topic)
        if refusal:
            raise StatesError(
                "SNS.AuthorizationErrorException",
                f"{refusal} (Service: AmazonSNS; Status Code: 403; Error Code: AuthorizationError)",
            )
        key = _topic_key_arn(topic, self.region, self.account)
        if key:
            via = {"kms:ViaService": [f"sns.{self.region}.amazonaws.com"]}
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                refusal = self._refusal(action, key, via)
                if refusal:
                    raise StatesError(
                        "SNS.KMSAccessDeniedException",
                        f"{refusal} (Service: AmazonSNS; Status Code: 400; Error Code: KMSAccessDenied)",
                    )
        try:
            return str(self._client("sns").publish(**request)["MessageId"])
        except ParamValidationError as exc:
            raise StatesError("States.Runtime", f"Publish: {exc}") from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "InternalError")
            name = code if code.endswith("Exception") else f"{code}Exception"
            raise StatesError(f"SNS.{name}", exc.response.get("Error", {}).get("Message", str(exc))) from None


def _epoch_millis(value: Any) -> Any:
    from datetime import datetime

    if isinstance(value, datetime):  # as the Java SDK serializes timestamps
        return int(value.timestamp() * 1000)
    return str(value)


def _history(execution: Any, role_arn: str) -> list[dict[str, Any]]:
    """ExecutionStarted and, once it ended, the terminal event (state-level events are not recorded)."""
    events: list[dict[str, Any]] = [
        {
            "timestamp": execution.start_date,
            "type": "ExecutionStarted",
            "id": 1,
            "previousEventId": 0,
            "executionStartedEventDetails": {
                "input": execution.execution_input,
                "inputDetails": {"truncated": False},
                "roleArn": role_arn,
            },
        }
    ]
    end = {"timestamp": execution.stop_date, "id": 2, "previousEventId": 1}
    if execution.status == "SUCCEEDED":
        details = {"output": execution.output, "outputDetails": {"truncated": False}}
        events.append({**end, "type": "ExecutionSucceeded", "executionSucceededEventDetails": details})
    elif execution.status in ("FAILED", "ABORTED"):
        kind = "Failed" if execution.status == "FAILED" else "Aborted"
        details = {k: v for k, v in (("error", execution.error), ("cause", execution.cause)) if v}
        events.append({**end, "type": f"Execution{kind}", f"execution{kind}EventDetails": details})
    return events


def _all_machines() -> Iterator[Any]:
    from moto.stepfunctions.models import stepfunctions_backends

    for account in list(stepfunctions_backends.values()):
        for backend in list(account.values()):
            yield from list(backend.state_machines)


@contextlib.contextmanager
def installed(*, runtime: LocalLambdaRuntime | None = None) -> Iterator[Executions | None]:
    """Add the two provider calls; with ``runtime``, also run executions (those already RUNNING included).

    Without a runtime (the provider patch Terraform needs) executions behave as in moto: stored RUNNING.
    """
    from moto.stepfunctions.models import Execution as MotoExecution
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.responses import StepFunctionResponse

    saved: list[tuple[type, str, Any]] = [
        (StepFunctionResponse, name, StepFunctionResponse.__dict__.get(name))
        for name in ("validate_state_machine_definition", "list_state_machine_versions")
    ]
    StepFunctionResponse.validate_state_machine_definition = _validate_state_machine_definition  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = _list_state_machine_versions  # type: ignore[attr-defined]
    executions = Executions(runtime) if runtime is not None else None
    restore_clock: tuple[Any, Any] | None = None
    if executions is not None:
        from tests.sandbox.patches import emr

        clusters = emr.current()
        if clusters is not None:  # EMR clusters progress on the same sandbox clock as the executions
            restore_clock = (clusters, clusters.clock)
            clusters.clock = runtime.sandbox_time
        original_start = StateMachine.__dict__["start_execution"]
        original_stop = StateMachine.__dict__["stop_execution"]
        saved += [
            (StateMachine, "start_execution", original_start),
            (StateMachine, "stop_execution", original_stop),
        ]

        def start_execution(self: Any, *args: Any, **kwargs: Any) -> Any:
            execution = original_start(self, *args, **kwargs)
            executions.submit(self, execution)
            return execution

        def stop_execution(self: Any, execution_arn: str) -> Any:
            execution = next((x for x in self.executions if x.execution_arn == execution_arn), None)
            if execution is not None and execution.status != "RUNNING":
                return execution  # stopping a finished execution changes nothing
            execution = original_stop(self, execution_arn)
            executions.stop(execution_arn)
            return execution

        original_history = MotoExecution.__dict__["get_execution_history"]
        saved.append((MotoExecution, "get_execution_history", original_history))

        def get_execution_history(self: Any, roleArn: str) -> list[dict[str, Any]]:
            # moto answers a canned history ("A State") for every execution; ours tell what happened.
            if executions.ran(self.execution_arn):
                return _history(self, roleArn)
            return original_history(self, roleArn)

        MotoExecution.get_execution_history = get_execution_history  # type: ignore[method-assign]
        StateMachine.start_execution = start_execution  # type: ignore[method-assign]
        StateMachine.stop_execution = stop_execution  # type: ignore[method-assign]
        for machine in _all_machines():
            for execution in list(machine.executions):
                executions.submit(machine, execution)
    try:
        yield executions
    finally:
        if executions is not None:
            executions.close()
        if restore_clock is not None:
            restore_clock[0].clock = restore_clock[1]
        for owner, name, value in reversed(saved):
            if value is None:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
