"""A small interpreter of the Amazon States Language (JSONPath), for the sandbox's Step Functions executions.

It runs the subset the module's state machines use, as the ASL specification and the Step Functions
Developer Guide define it, and refuses everything else when the definition is loaded
(:class:`SandboxUnsupported`), so an execution in the sandbox never silently differs from one in AWS.

Followed:
- Amazon States Language, https://states-language.net/spec.html: states, transitions, paths ("Reference
  Paths", "Payload Template"), "Input and Output Processing" (InputPath, Parameters, ResultSelector,
  ResultPath, OutputPath; a null InputPath/OutputPath is ``{}``, a null ResultPath discards the result),
  "Errors" (States.ALL, States.TaskFailed, States.Timeout, States.Runtime, States.NoChoiceMatched),
  "Retrying after error" (IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0 by default; MaxDelaySeconds caps
  the interval; retriers are tried in order and States.ALL must stand alone in the last one), "Fallback
  states" (Catch; the error output ``{"Error", "Cause"}`` is placed at the catcher's ResultPath),
  Choice rules (And/Or/Not, the String*, Numeric*, Boolean* comparisons and their *Path forms, Is* tests),
  Wait, Succeed, Fail (Error/Cause, ErrorPath/CausePath), Map (ItemsPath, ItemSelector, MaxConcurrency).
- Step Functions Developer Guide: "Map state in inline mode"
  (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html: results keep the items' order,
  a failed iteration fails the Map and stops the other iterations; MaxConcurrency 0 means no limit, inline
  Map runs at most 40 iterations at once), "Accessing execution data from the Context object"
  (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html: ``$$.Execution.Id``,
  ``$$.Map.Item.Value``/``Index``), "Invoke a Lambda function" (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html:
  a direct function ARN returns the function's result; ``arn:aws:states:::lambda:invoke`` returns
  ``{"ExecutedVersion", "Payload", "StatusCode", ...}``; a function error fails the Task with the function's
  ``errorType`` as the error name and the error payload as the cause), "Handling errors in Step Functions
  workflows" (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html: States.ALL
  does not catch States.Runtime or States.DataLimitExceeded), "Quotas" (256 KiB of state input or output),
  StopExecution (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html: the
  execution stops; a Task already running finishes, a ``.sync`` Task stops waiting).
- "Create and manage Amazon EMR clusters with Step Functions"
  (https://docs.aws.amazon.com/step-functions/latest/dg/connect-emr.html): ``elasticmapreduce:createCluster.sync``
  takes RunJobFlow's request (``Instances.KeepJobFlowAliveWhenNoSteps`` must be true, ``Steps`` is not allowed),
  answers ``{"ClusterId", ...}`` where EMR answers ``JobFlowId``, and waits for the cluster to be WAITING;
  ``addStep.sync`` takes ``ClusterId`` and one ``Step``, answers ``{"StepId"}`` and waits for the step to finish;
  ``terminateCluster`` takes ``ClusterId`` (``.sync`` waits for the cluster to terminate). Step Functions polls EMR
  every 60 seconds for the first 10 minutes, then every 300 seconds. "Publish messages to an Amazon SNS topic with
  Step Functions" (https://docs.aws.amazon.com/step-functions/latest/dg/connect-sns.html): ``sns:publish`` takes
  Publish's parameters (its example passes a JSON object as ``Message``). "Learning to use AWS service SDK
  integrations" (supported-services-awssdk.html): service errors are named ``<Service>.<ErrorName>`` and always carry
  the ``Exception`` suffix. The API calls themselves are made by :class:`ServiceApi` (the sandbox's, with the
  state machine role's permissions, is in :mod:`tests.sandbox.patches.stepfunctions`).

Refused at load (:func:`load`): Parallel and any state type not listed; JSONata (``QueryLanguage``), variables
(``Assign``), intrinsic functions (``States.Format(...)``), JSONPath beyond plain member and index steps
(wildcards, filters, ``..``); Task resources other than a Lambda function ARN, ``lambda:invoke`` and the five
service integrations above (so no other ``.sync``, no ``.waitForTaskToken``, no ``aws-sdk:*``), HeartbeatSeconds,
TimeoutSecondsPath, Credentials; Distributed Map
(ItemReader, ResultWriter, ItemBatcher, tolerated failures, MaxConcurrencyPath); Timestamp comparisons;
Wait with Timestamp/TimestampPath; execution-level TimeoutSeconds; any field the ASL does not define for
the state type.

A Task without TimeoutSeconds has no timeout (the Step Functions default, 99999999 seconds; the ASL spec's own
default of 60 seconds is not what AWS applies).

Differences from AWS: waits, retry intervals and the polling of ``.sync`` Tasks run on the sandbox clock (real
seconds times the runtime's clock factor), and so does the TimeoutSeconds of a ``.sync`` Task, while a Lambda
Task's TimeoutSeconds uses real seconds (the Lambda function's own timeout is real time too); the execution
history holds only the start and end events (see :mod:`tests.sandbox.patches.stepfunctions`).

Assumptions where the Developer Guide is silent: a ``.sync`` EMR Task whose cluster ends TERMINATED or
TERMINATED_WITH_ERRORS before WAITING, or whose step ends FAILED, CANCELLED or INTERRUPTED, fails with
``States.TaskFailed`` and the DescribeCluster/DescribeStep response (JSON) as its cause; ``createCluster.sync``
answers ``{"ClusterId", "ClusterArn"}``, ``terminateCluster`` answers ``{}``, ``sns:publish`` answers
``{"MessageId"}`` (each with ``SdkHttpMetadata``/``SdkResponseMetadata`` as AWS adds them); a ``Message`` that is
not a string is sent as compact JSON text; a request the integration refuses (KeepJobFlowAliveWhenNoSteps not
true, Steps given, a missing ClusterId/Step/TopicArn/Message) fails with ``States.Runtime``.
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from tests.sandbox.lambda_runtime import SandboxUnsupported

PAYLOAD_LIMIT_BYTES = 256 * 1024  # state input/output quota
INLINE_MAP_MAX_CONCURRENCY = 40
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
EMR_CREATE_CLUSTER_SYNC = "arn:aws:states:::elasticmapreduce:createCluster.sync"
EMR_ADD_STEP_SYNC = "arn:aws:states:::elasticmapreduce:addStep.sync"
EMR_TERMINATE_CLUSTER = "arn:aws:states:::elasticmapreduce:terminateCluster"
EMR_TERMINATE_CLUSTER_SYNC = "arn:aws:states:::elasticmapreduce:terminateCluster.sync"
SNS_PUBLISH = "arn:aws:states:::sns:publish"
SERVICE_RESOURCES = frozenset(
    {
        EMR_CREATE_CLUSTER_SYNC,
        EMR_ADD_STEP_SYNC,
        EMR_TERMINATE_CLUSTER,
        EMR_TERMINATE_CLUSTER_SYNC,
        SNS_PUBLISH,
    }
)
# Step Functions polls EMR every 60 s for the first 10 minutes of a .sync Task, every 300 s after (connect-emr).
EMR_POLL_SECONDS = ((600.0, 60.0), (float("inf"), 300.0))
EMR_TERMINATED = frozenset({"TERMINATED", "TERMINATED_WITH_ERRORS"})
EMR_STEP_FAILED = frozenset({"FAILED", "CANCELLED", "INTERRUPTED"})
_LAMBDA_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?"
)
_INTRINSIC = re.compile(r"^States\.[A-Za-z]+\(")


class StatesError(Exception):
    """A Step Functions error: ``error`` is its name (what Retry and Catch match), ``cause`` its text."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class _Aborted(Exception):
    """StopExecution was called."""


# ---------------------------------------------------------------------------------------------------------
# Clocks and Lambda
# ---------------------------------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds."""

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait ``seconds`` on this clock, returning early once ``stop`` is set."""


@dataclass
class ScaledClock:
    """A clock that runs ``factor`` times faster than real time (the Lambda runtime's sandbox clock)."""

    now_fn: Callable[[], float]
    factor: float = 1.0

    def now(self) -> float:
        return self.now_fn()

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        target = self.now() + seconds
        while not stop.is_set() and (left := target - self.now()) > 0:
            stop.wait(left / self.factor)


# (function ARN, payload) -> the function's result; raises StatesError(errorType, cause) on a function error.
LambdaInvoker = Callable[[str, Any], Any]


class ServiceApi(Protocol):
    """The AWS calls behind the service integrations, made with the state machine role's permissions.

    Every method raises :class:`StatesError` named as Step Functions names the service's error (for example
    ``ElasticMapReduce.AmazonElasticMapReduceException`` or ``SNS.AuthorizationErrorException``)."""

    def emr_run_job_flow(self, request: dict) -> dict:
        """RunJobFlow; returns ``{"ClusterId", "ClusterArn"}``."""

    def emr_describe_cluster(self, cluster_id: str) -> dict:
        """DescribeCluster's response (``{"Cluster": {...}}``)."""

    def emr_add_step(self, cluster_id: str, step: dict) -> str:
        """AddJobFlowSteps with one step; returns its id."""

    def emr_describe_step(self, cluster_id: str, step_id: str) -> dict:
        """DescribeStep's response (``{"Step": {...}}``)."""

    def emr_terminate(self, cluster_id: str) -> None:
        """TerminateJobFlows of one cluster."""

    def sns_publish(self, request: dict) -> str:
        """Publish; returns the MessageId."""


# ---------------------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------------------

_STEP = re.compile(r"\.([A-Za-z_$@][\w$@-]*)|\['([^'\]]+)'\]|\[(\d+)\]")


def parse_path(path: str, *, where: str) -> tuple[bool, list[str | int]]:
    """A reference path as (is_context, steps); only member and index steps, as reference paths allow."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise SandboxUnsupported(f"{where}: {path!r} is not a JSONPath")
    context = path.startswith("$$")
    rest, steps, position = path[2 if context else 1 :], [], 0
    while position < len(rest):
        match = _STEP.match(rest, position)
        if not match:
            raise SandboxUnsupported(f"{where}: JSONPath {path!r} uses more than member and index steps")
        name, quoted, index = match.groups()
        steps.append(int(index) if index is not None else (name if name is not None else quoted))
        position = match.end()
    return context, steps


def _walk(value: Any, steps: list[str | int]) -> tuple[bool, Any]:
    for step in steps:
        in_list = isinstance(step, int) and isinstance(value, list) and step < len(value)
        in_object = isinstance(step, str) and isinstance(value, dict) and step in value
        if not (in_list or in_object):
            return False, None
        value = value[step]
    return True, value


@dataclass
class _Scope:
    """What paths read: the state's input and the Context object."""

    data: Any
    context: dict


def read_path(path: str, scope: _Scope, *, where: str) -> Any:
    context, steps = parse_path(path, where=where)
    found, value = _walk(scope.context if context else scope.data, steps)
    if not found:
        raise StatesError("States.Runtime", f"{where}: the JSONPath {path!r} could not be found in the input")
    return value


def _present(path: str, scope: _Scope, where: str) -> bool:
    context, steps = parse_path(path, where=where)
    return _walk(scope.context if context else scope.data, steps)[0]


def apply_template(template: Any, scope: _Scope, *, where: str) -> Any:
    """A payload template (Parameters, ItemSelector, ResultSelector): ``"key.$"`` values are paths."""
    if isinstance(template, dict):
        result = {}
        for key, value in template.items():
            if key.endswith(".$"):
                result[key[:-2]] = copy.deepcopy(read_path(value, scope, where=f"{where}.{key}"))
            else:
                result[key] = apply_template(value, scope, where=f"{where}.{key}")
        return result
    if isinstance(template, list):
        return [apply_template(value, scope, where=where) for value in template]
    return copy.deepcopy(template)


def set_result(data: Any, path: str | None, result: Any, *, where: str) -> Any:
    """ResultPath: the result placed into a copy of the state input (``None`` keeps the input unchanged)."""
    if path is None:
        return data
    _, steps = parse_path(path, where=where)
    if not steps:
        return result
    root = copy.deepcopy(data)
    node = root
    for step in steps[:-1]:
        if not isinstance(node, dict):
            raise StatesError("States.Runtime", f"{where}: ResultPath {path!r} needs an object at {step!r}")
        node = node.setdefault(step, {})
    if not isinstance(node, dict) or isinstance(steps[-1], int):
        raise StatesError("States.Runtime", f"{where}: ResultPath {path!r} cannot be applied to the input")
    node[steps[-1]] = result
    return root


# ---------------------------------------------------------------------------------------------------------
# Loading: everything outside the subset is refused here
# ---------------------------------------------------------------------------------------------------------

_COMMON = {"Type", "Comment", "Next", "End", "InputPath", "OutputPath"}
_FIELDS = {
    "Task": _COMMON
    | {"Resource", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "TimeoutSeconds"},
    "Pass": _COMMON | {"Result", "Parameters", "ResultPath"},
    "Choice": {"Type", "Comment", "InputPath", "OutputPath", "Choices", "Default"},
    "Wait": _COMMON | {"Seconds", "SecondsPath"},
    "Map": _COMMON
    | {
        "ItemsPath",
        "ItemSelector",
        "Parameters",
        "ItemProcessor",
        "Iterator",
        "MaxConcurrency",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
    },
    "Succeed": {"Type", "Comment", "InputPath", "OutputPath"},
    "Fail": {"Type", "Comment", "Error", "Cause", "ErrorPath", "CausePath"},
}
_STRING_OPS = ("StringEquals", "StringLessThan", "StringGreaterThan", "StringLessThanEquals")
_COMPARISONS = {
    **dict.fromkeys((*_STRING_OPS, "StringGreaterThanEquals", "StringMatches"), "string"),
    **dict.fromkeys(
        (
            "NumericEquals",
            "NumericLessThan",
            "NumericGreaterThan",
            "NumericLessThanEquals",
            "NumericGreaterThanEquals",
        ),
        "number",
    ),
    "BooleanEquals": "boolean",
    **dict.fromkeys(("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean"), "test"),
}


@dataclass
class StateMachine:
    """A validated definition (top level, or a Map's ItemProcessor)."""

    start_at: str
    states: dict[str, dict]
    children: dict[str, StateMachine] = field(default_factory=dict)  # Map state name -> its processor


def load(definition: str | dict, *, where: str = "") -> StateMachine:
    """Parse and validate a definition; raises SandboxUnsupported or ValueError (invalid ASL)."""
    spec = json.loads(definition) if isinstance(definition, str) else definition
    if not isinstance(spec, dict) or "StartAt" not in spec or not isinstance(spec.get("States"), dict):
        raise ValueError(f"{where or 'definition'}: needs StartAt and States")
    for key, value in spec.items():
        if key not in ("StartAt", "States", "Comment", "Version") and (key, value) != (
            "QueryLanguage",
            "JSONPath",
        ):
            raise SandboxUnsupported(
                f"{where or 'definition'}: top-level {key} is not supported by the sandbox"
            )
    if spec["StartAt"] not in spec["States"]:
        raise ValueError(f"{where or 'definition'}: StartAt {spec['StartAt']!r} is not a state")
    machine = StateMachine(spec["StartAt"], spec["States"])
    for name, state in spec["States"].items():
        here = f"{where}/States/{name}"
        _check_state(name, state, spec["States"], here)
        if state["Type"] == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor is None:
                raise ValueError(f"{here}: a Map needs ItemProcessor")
            mode = (processor.get("ProcessorConfig") or {}).get("Mode", "INLINE")
            if mode != "INLINE":
                raise SandboxUnsupported(f"{here}: only inline Map is supported by the sandbox")
            machine.children[name] = load(
                {k: v for k, v in processor.items() if k != "ProcessorConfig"}, where=f"{here}/ItemProcessor"
            )
    return machine


def _check_state(name: str, state: dict, states: dict, here: str) -> None:
    kind = state.get("Type")
    if kind not in _FIELDS:
        raise SandboxUnsupported(f"{here}: state type {kind!r} is not supported by the sandbox")
    extra = set(state) - _FIELDS[kind]
    if extra:
        raise SandboxUnsupported(f"{here}: {kind} field(s) {sorted(extra)} are not supported by the sandbox")
    targets = [state["Next"]] if "Next" in state else []
    if kind == "Choice":
        if not state.get("Choices"):
            raise ValueError(f"{here}: a Choice needs Choices")
        for index, rule in enumerate(state["Choices"]):
            _check_rule(rule, f"{here}/Choices/{index}", top=True)
            targets.append(rule.get("Next"))
        if "Default" in state:
            targets.append(state["Default"])
    elif kind not in ("Succeed", "Fail") and ("Next" in state) == bool(state.get("End")):
        raise ValueError(f"{here}: exactly one of Next and End")
    for catcher in state.get("Catch", []):
        targets.append(catcher.get("Next"))
    for target in targets:
        if target not in states:
            raise ValueError(f"{here}: Next {target!r} is not a state")
    for key in (
        "InputPath",
        "OutputPath",
        "ResultPath",
        "ItemsPath",
        "SecondsPath",
        "ErrorPath",
        "CausePath",
    ):
        if state.get(key) is not None:
            parse_path(state[key], where=f"{here}/{key}")
    for key in ("Parameters", "ItemSelector", "ResultSelector"):
        if key in state:
            _check_template(state[key], f"{here}/{key}")
    if kind == "Task":
        resource = state.get("Resource", "")
        if resource == LAMBDA_INVOKE:
            if not {"FunctionName", "FunctionName.$"} & set(state.get("Parameters") or {}):
                raise ValueError(f"{here}: lambda:invoke needs Parameters.FunctionName")
        elif resource in SERVICE_RESOURCES:
            if not isinstance(state.get("Parameters"), dict):
                raise ValueError(f"{here}: {resource} needs Parameters")
            _check_service_parameters(resource, state["Parameters"], here)
        elif not _LAMBDA_ARN.fullmatch(resource):
            raise SandboxUnsupported(
                f"{here}: Task resource {resource!r} is not supported by the sandbox (a Lambda function ARN, "
                f"arn:aws:states:::lambda:invoke or one of {sorted(SERVICE_RESOURCES)} only)"
            )
    if kind == "Map" and not isinstance(state.get("MaxConcurrency", 0), int):
        raise ValueError(f"{here}: MaxConcurrency must be an integer")
    if kind == "Wait" and ("Seconds" in state) == ("SecondsPath" in state):
        raise SandboxUnsupported(f"{here}: Wait needs exactly one of Seconds and SecondsPath in the sandbox")
    for key in ("Retry", "Catch"):
        handlers = state.get(key, [])
        for index, handler in enumerate(handlers):
            errors = handler.get("ErrorEquals") or []
            if not errors:
                raise ValueError(f"{here}/{key}/{index}: ErrorEquals must not be empty")
            if "States.ALL" in errors and (len(errors) > 1 or index != len(handlers) - 1):
                raise ValueError(f"{here}/{key}/{index}: States.ALL must appear alone, in the last {key}")
            allowed = (
                {
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                }
                if key == "Retry"
                else {"ErrorEquals", "Next", "ResultPath", "Comment"}
            )
            if set(handler) - allowed:
                raise SandboxUnsupported(f"{here}/{key}/{index}: fields {sorted(set(handler) - allowed)}")
            if handler.get("ResultPath") is not None:
                parse_path(handler["ResultPath"], where=f"{here}/{key}/{index}/ResultPath")


_SERVICE_REQUIRED = {
    EMR_ADD_STEP_SYNC: ("ClusterId", "Step"),
    EMR_TERMINATE_CLUSTER: ("ClusterId",),
    EMR_TERMINATE_CLUSTER_SYNC: ("ClusterId",),
    SNS_PUBLISH: ("Message",),
}


def _check_service_parameters(resource: str, parameters: dict, here: str) -> None:
    """What the integration refuses and the definition already shows (the rest is checked when the Task runs)."""
    given = {key.removesuffix(".$") for key in parameters}
    missing = [key for key in _SERVICE_REQUIRED.get(resource, ()) if key not in given]
    if missing:
        raise ValueError(f"{here}: {resource} needs Parameters {missing}")
    if resource == SNS_PUBLISH and given & {"TargetArn", "PhoneNumber"}:
        raise SandboxUnsupported(
            f"{here}: sns:publish to a TargetArn or PhoneNumber is not supported by the sandbox"
        )
    if resource == SNS_PUBLISH and "TopicArn" not in given:
        raise ValueError(f"{here}: sns:publish needs Parameters.TopicArn")
    if resource == EMR_CREATE_CLUSTER_SYNC:
        if "Steps" in given:
            raise ValueError(f"{here}: createCluster does not allow Steps")
        instances = parameters.get("Instances")
        if isinstance(instances, dict) and instances.get("KeepJobFlowAliveWhenNoSteps", True) is not True:
            raise ValueError(f"{here}: createCluster needs Instances.KeepJobFlowAliveWhenNoSteps true")


def _check_template(template: Any, here: str) -> None:
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                if isinstance(value, str) and _INTRINSIC.match(value):
                    raise SandboxUnsupported(
                        f"{here}.{key}: intrinsic functions are not supported by the sandbox"
                    )
                parse_path(value, where=f"{here}.{key}")
            else:
                _check_template(value, f"{here}.{key}")
    elif isinstance(template, list):
        for value in template:
            _check_template(value, here)


def _check_rule(rule: dict, here: str, *, top: bool) -> None:
    if top and "Next" not in rule:
        raise ValueError(f"{here}: a top-level Choice rule needs Next")
    keys = set(rule) - {"Next", "Comment"}
    if keys & {"And", "Or"}:
        (op,) = keys
        for index, sub in enumerate(rule[op]):
            _check_rule(sub, f"{here}/{op}/{index}", top=False)
        return
    if keys == {"Not"}:
        _check_rule(rule["Not"], f"{here}/Not", top=False)
        return
    operators = keys - {"Variable"}
    if "Variable" not in keys or len(operators) != 1:
        raise SandboxUnsupported(f"{here}: Choice rule {sorted(keys)} is not supported by the sandbox")
    (op,) = operators
    parse_path(rule["Variable"], where=f"{here}/Variable")
    base = op.removesuffix("Path")
    if base not in _COMPARISONS or (op.endswith("Path") and _COMPARISONS[base] == "test"):
        raise SandboxUnsupported(f"{here}: Choice operator {op} is not supported by the sandbox")
    if op.endswith("Path"):
        parse_path(rule[op], where=f"{here}/{op}")


# ---------------------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str  # SUCCEEDED | FAILED | ABORTED
    output: Any = None
    error: str | None = None
    cause: str | None = None


def _matches(name: str, error: str) -> bool:
    if error in ("States.Runtime", "States.DataLimitExceeded"):
        return name == error  # terminal: States.ALL does not catch them
    if name == "States.ALL":
        return True
    if name == "States.TaskFailed":
        return error != "States.Timeout" and (error == name or not error.startswith("States."))
    return name == error


def _check_size(value: Any, where: str) -> None:
    if len(json.dumps(value)) > PAYLOAD_LIMIT_BYTES:
        raise StatesError("States.DataLimitExceeded", f"{where}: the state output exceeds 256 KiB")


def _compare(op: str, actual: Any, expected: Any) -> bool:
    kind = _COMPARISONS[op]
    if kind == "string":
        if not isinstance(actual, str) or not isinstance(expected, str):
            return False
        if op == "StringMatches":
            return re.fullmatch(re.escape(expected).replace(r"\*", ".*"), actual, re.DOTALL) is not None
        return {
            "StringEquals": actual == expected,
            "StringLessThan": actual < expected,
            "StringGreaterThan": actual > expected,
            "StringLessThanEquals": actual <= expected,
            "StringGreaterThanEquals": actual >= expected,
        }[op]
    if kind == "number":
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (actual, expected))
        if not numbers:
            return False
        return {
            "NumericEquals": actual == expected,
            "NumericLessThan": actual < expected,
            "NumericGreaterThan": actual > expected,
            "NumericLessThanEquals": actual <= expected,
            "NumericGreaterThanEquals": actual >= expected,
        }[op]
    return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected


class Execution:
    """One execution of a state machine; :meth:`run` returns its :class:`Outcome`, :meth:`stop` aborts it."""

    def __init__(
        self,
        machine: StateMachine,
        input_value: Any,
        *,
        invoke: LambdaInvoker,
        clock: Clock,
        execution_arn: str = "",
        name: str = "",
        state_machine_arn: str = "",
        role_arn: str = "",
        rng: random.Random | None = None,
        services: ServiceApi | None = None,
    ) -> None:
        self.machine = machine
        self.input = input_value
        self.invoke = invoke
        self.services = services
        self.clock = clock
        self.stopped = threading.Event()
        self.rng = rng or random.Random()
        self.context = {
            "Execution": {
                "Id": execution_arn
                or f"arn:aws:states:us-east-1:000000000000:execution:sandbox:{uuid.uuid4()}",
                "Input": input_value,
                "Name": name,
                "RoleArn": role_arn,
                "StartTime": _iso(clock.now()),
            },
            "StateMachine": {"Id": state_machine_arn, "Name": state_machine_arn.rsplit(":", 1)[-1]},
        }

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> Outcome:
        try:
            output = self._run_machine(self.machine, self.input, self.context, self.stopped)
        except _Aborted:
            return Outcome("ABORTED")
        except StatesError as exc:
            if self.stopped.is_set():
                return Outcome("ABORTED")
            return Outcome("FAILED", error=exc.error, cause=exc.cause)
        if self.stopped.is_set():
            return Outcome("ABORTED")
        return Outcome("SUCCEEDED", output=output)

    # -- the state loop ---------------------------------------------------------------------------------

    def _run_machine(self, machine: StateMachine, data: Any, context: dict, stop: threading.Event) -> Any:
        name = machine.start_at
        while True:
            if stop.is_set():
                raise _Aborted()
            state = machine.states[name]
            state_context = {
                **context,
                "State": {"Name": name, "EnteredTime": _iso(self.clock.now()), "RetryCount": 0},
            }
            kind = state["Type"]
            if kind == "Succeed":
                return self._output(state, self._input(state, data, state_context), state_context)
            if kind == "Fail":
                scope = _Scope(data, state_context)
                error = (
                    read_path(state["ErrorPath"], scope, where=name)
                    if "ErrorPath" in state
                    else state.get("Error")
                )
                cause = (
                    read_path(state["CausePath"], scope, where=name)
                    if "CausePath" in state
                    else state.get("Cause")
                )
                raise StatesError("" if error is None else str(error), "" if cause is None else str(cause))
            if kind == "Choice":
                scope = _Scope(self._input(state, data, state_context), state_context)
                target = next((r["Next"] for r in state["Choices"] if self._rule(r, scope, name)), None)
                target = target or state.get("Default")
                if target is None:
                    raise StatesError(
                        "States.NoChoiceMatched", f"{name}: no Choice rule matched and no Default"
                    )
                data, name = self._output(state, scope.data, state_context), target
                continue
            data, next_name = self._with_handlers(machine, name, state, data, state_context, stop)
            _check_size(data, name)
            if next_name is None:
                return data
            name = next_name

    def _input(self, state: dict, data: Any, context: dict) -> Any:
        if "InputPath" in state and state["InputPath"] is None:
            return {}
        return read_path(state.get("InputPath", "$"), _Scope(data, context), where="InputPath")

    def _output(self, state: dict, data: Any, context: dict) -> Any:
        if "OutputPath" in state and state["OutputPath"] is None:
            return {}
        return read_path(state.get("OutputPath", "$"), _Scope(data, context), where="OutputPath")

    def _with_handlers(
        self, machine: StateMachine, name: str, state: dict, data: Any, context: dict, stop: threading.Event
    ) -> tuple[Any, str | None]:
        attempts: dict[int, int] = {}
        while True:
            if stop.is_set():
                raise _Aborted()
            try:
                output = self._execute(machine, name, state, data, context, stop)
                return output, state.get("Next")
            except StatesError as exc:
                if stop.is_set():
                    raise _Aborted() from exc
                delay = self._retry_delay(state.get("Retry", []), attempts, exc.error)
                if delay is not None:
                    context = {**context, "State": {**context["State"], "RetryCount": sum(attempts.values())}}
                    self.clock.sleep(delay, stop)
                    continue
                for catcher in state.get("Catch", []):
                    if any(_matches(e, exc.error) for e in catcher["ErrorEquals"]):
                        result = {"Error": exc.error, "Cause": exc.cause}
                        path = catcher.get("ResultPath", "$")
                        return set_result(data, path, result, where=f"{name}/Catch"), catcher["Next"]
                raise

    def _retry_delay(self, retriers: list[dict], attempts: dict[int, int], error: str) -> float | None:
        for index, retrier in enumerate(retriers):
            if not any(_matches(e, error) for e in retrier["ErrorEquals"]):
                continue
            done = attempts.get(index, 0)
            if done >= retrier.get("MaxAttempts", 3):
                return None
            attempts[index] = done + 1
            delay = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** done
            if "MaxDelaySeconds" in retrier:
                delay = min(delay, retrier["MaxDelaySeconds"])
            if retrier.get("JitterStrategy", "NONE") == "FULL":
                delay = self.rng.uniform(0, delay)
            return float(delay)
        return None

    def _execute(
        self, machine: StateMachine, name: str, state: dict, data: Any, context: dict, stop: threading.Event
    ) -> Any:
        kind = state["Type"]
        effective = self._input(state, data, context)
        scope = _Scope(effective, context)
        if kind == "Wait":
            seconds = (
                state["Seconds"] if "Seconds" in state else read_path(state["SecondsPath"], scope, where=name)
            )
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                raise StatesError(
                    "States.Runtime", f"{name}: Wait seconds {seconds!r} is not a non-negative number"
                )
            self.clock.sleep(float(seconds), stop)
            if stop.is_set():
                raise _Aborted()
            return self._output(state, effective, context)
        if kind == "Pass":
            if "Result" in state:
                result = copy.deepcopy(state["Result"])
            elif "Parameters" in state:
                result = apply_template(state["Parameters"], scope, where=f"{name}.Parameters")
            else:
                result = effective
        elif kind == "Task":
            payload = (
                apply_template(state["Parameters"], scope, where=f"{name}.Parameters")
                if "Parameters" in state
                else effective
            )
            result = self._task(name, state, payload, stop)
        else:  # Map
            result = self._map(machine.children[name], name, state, scope, stop)
        if "ResultSelector" in state:
            result = apply_template(
                state["ResultSelector"], _Scope(result, context), where=f"{name}.ResultSelector"
            )
        output = set_result(data, state.get("ResultPath", "$"), result, where=f"{name}.ResultPath")
        return self._output(state, output, context)

    def _task(self, name: str, state: dict, payload: Any, stop: threading.Event) -> Any:
        if state["Resource"] in SERVICE_RESOURCES:
            return self._service_task(name, state, payload, stop)
        if state["Resource"] == LAMBDA_INVOKE:
            if not isinstance(payload, dict) or "FunctionName" not in payload:
                raise StatesError("States.Runtime", f"{name}: lambda:invoke needs FunctionName")
            function, body = payload["FunctionName"], payload.get("Payload", {})
        else:
            function, body = state["Resource"], payload
        _check_size(body, name)
        timeout = state.get("TimeoutSeconds")
        if timeout is None:
            result = self.invoke(function, body)
        else:
            result = self._invoke_with_timeout(function, body, float(timeout), name)
        if state["Resource"] == LAMBDA_INVOKE:
            return {"ExecutedVersion": "$LATEST", "Payload": result, "StatusCode": 200}
        return result

    # -- service integrations ------------------------------------------------------------------------------

    def _service_task(self, name: str, state: dict, payload: Any, stop: threading.Event) -> Any:
        resource = state["Resource"]
        if self.services is None:
            raise StatesError("States.Runtime", f"{name}: no service API for {resource} in this execution")
        if not isinstance(payload, dict):
            raise StatesError("States.Runtime", f"{name}: {resource} needs an object of parameters")
        _check_size(payload, name)
        started = self.clock.now()
        timeout = state.get("TimeoutSeconds")
        deadline = None if timeout is None else started + float(timeout)
        api = self.services
        if resource == SNS_PUBLISH:
            request = dict(payload)
            for key in ("TopicArn", "Message"):
                if key not in request:
                    raise StatesError("States.Runtime", f"{name}: sns:publish needs {key}")
            if not isinstance(request["Message"], str):
                request["Message"] = json.dumps(request["Message"], separators=(",", ":"))
            return {"MessageId": api.sns_publish(request), **_sdk_metadata()}
        if resource == EMR_CREATE_CLUSTER_SYNC:
            instances = payload.get("Instances")
            if "Steps" in payload:
                raise StatesError("States.Runtime", f"{name}: createCluster does not allow Steps")
            if not isinstance(instances, dict) or instances.get("KeepJobFlowAliveWhenNoSteps") is not True:
                raise StatesError(
                    "States.Runtime",
                    f"{name}: createCluster needs Instances.KeepJobFlowAliveWhenNoSteps true",
                )
            created = api.emr_run_job_flow(payload)
            cluster_id = created["ClusterId"]
            self._wait(
                name,
                started,
                deadline,
                stop,
                lambda: api.emr_describe_cluster(cluster_id),
                lambda d: d["Cluster"]["Status"]["State"] in ("WAITING", "RUNNING"),
                lambda d: d["Cluster"]["Status"]["State"] in EMR_TERMINATED,
            )
            return {"ClusterId": cluster_id, "ClusterArn": created.get("ClusterArn"), **_sdk_metadata()}
        cluster_id = payload.get("ClusterId")
        if not isinstance(cluster_id, str) or not cluster_id:
            raise StatesError("States.Runtime", f"{name}: {resource} needs a ClusterId string")
        if resource == EMR_ADD_STEP_SYNC:
            step = payload.get("Step")
            if not isinstance(step, dict):
                raise StatesError("States.Runtime", f"{name}: addStep needs one Step object")
            step_id = api.emr_add_step(cluster_id, step)
            self._wait(
                name,
                started,
                deadline,
                stop,
                lambda: api.emr_describe_step(cluster_id, step_id),
                lambda d: d["Step"]["Status"]["State"] == "COMPLETED",
                lambda d: d["Step"]["Status"]["State"] in EMR_STEP_FAILED,
            )
            return {"StepId": step_id, **_sdk_metadata()}
        api.emr_terminate(cluster_id)
        if resource == EMR_TERMINATE_CLUSTER_SYNC:
            self._wait(
                name,
                started,
                deadline,
                stop,
                lambda: api.emr_describe_cluster(cluster_id),
                lambda d: d["Cluster"]["Status"]["State"] in EMR_TERMINATED,
                lambda d: False,
            )
        return _sdk_metadata()

    def _wait(
        self,
        name: str,
        started: float,
        deadline: float | None,
        stop: threading.Event,
        describe: Callable[[], dict],
        done: Callable[[dict], bool],
        failed: Callable[[dict], bool],
    ) -> dict:
        """Poll ``describe`` as Step Functions polls EMR (on the sandbox clock) until done, failed or timed out."""
        while True:
            now = self.clock.now()
            interval = next(every for until, every in EMR_POLL_SECONDS if now - started < until)
            if deadline is not None:
                interval = min(interval, max(0.0, deadline - now))
            self.clock.sleep(interval, stop)
            if stop.is_set():
                raise _Aborted()
            described = describe()
            if done(described):
                return described
            if failed(described):
                raise StatesError("States.TaskFailed", json.dumps(described, default=_json_default))
            if deadline is not None and self.clock.now() >= deadline:
                raise StatesError(
                    "States.Timeout", f"{name}: the Task ran longer than {deadline - started:g} seconds"
                )

    def _invoke_with_timeout(self, function: str, body: Any, timeout_s: float, name: str) -> Any:
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["result"] = self.invoke(function, body)
            except BaseException as exc:  # handed to the state below
                box["error"] = exc

        # The invocation keeps running after States.Timeout, as a Lambda function does in AWS.
        worker = threading.Thread(target=call, name=f"sfn-task-{name}", daemon=True)
        worker.start()
        worker.join(timeout_s)
        if worker.is_alive():
            raise StatesError("States.Timeout", f"{name}: the Task ran longer than {timeout_s:g} seconds")
        if "error" in box:
            raise box["error"]
        return box["result"]

    def _map(
        self, processor: StateMachine, name: str, state: dict, scope: _Scope, stop: threading.Event
    ) -> list:
        items = read_path(state.get("ItemsPath", "$"), scope, where=f"{name}.ItemsPath")
        if not isinstance(items, list):
            raise StatesError(
                "States.Runtime", f"{name}: ItemsPath must select an array, got {type(items).__name__}"
            )
        selector = state.get("ItemSelector", state.get("Parameters"))
        limit = state.get("MaxConcurrency", 0) or INLINE_MAP_MAX_CONCURRENCY
        map_stop = threading.Event()  # set when an iteration failed or the execution stopped

        def linked() -> None:
            while not map_stop.wait(0.05):
                if stop.is_set():
                    map_stop.set()

        watcher = threading.Thread(target=linked, name=f"sfn-map-{name}", daemon=True)
        watcher.start()

        def iteration(index: int, item: Any) -> Any:
            if map_stop.is_set():
                raise _Aborted()
            context = {**scope.context, "Map": {"Item": {"Index": index, "Value": item}}}
            value = (
                apply_template(selector, _Scope(scope.data, context), where=f"{name}.ItemSelector")
                if selector is not None
                else item
            )
            try:
                return self._run_machine(
                    processor, value, {k: v for k, v in context.items() if k != "State"}, map_stop
                )
            except StatesError:
                map_stop.set()
                raise

        try:
            with ThreadPoolExecutor(
                max_workers=max(1, min(limit, len(items) or 1)), thread_name_prefix=f"sfn-{name}"
            ) as pool:
                futures = [pool.submit(iteration, index, item) for index, item in enumerate(items)]
                first_error: StatesError | None = None
                for future in futures:
                    try:
                        future.result()
                    except StatesError as exc:
                        first_error = first_error or exc
                    except _Aborted:
                        pass
        finally:
            map_stop.set()
            watcher.join()
        if stop.is_set():
            raise _Aborted()
        if first_error is not None:
            raise first_error
        return [future.result() for future in futures]

    def _rule(self, rule: dict, scope: _Scope, where: str) -> bool:
        if "And" in rule:
            return all(self._rule(sub, scope, where) for sub in rule["And"])
        if "Or" in rule:
            return any(self._rule(sub, scope, where) for sub in rule["Or"])
        if "Not" in rule:
            return not self._rule(rule["Not"], scope, where)
        (op,) = set(rule) - {"Variable", "Next", "Comment"}
        variable = rule["Variable"]
        if op == "IsPresent":
            return _present(variable, scope, where) == rule[op]
        actual = read_path(variable, scope, where=f"{where}.Variable")
        if _COMPARISONS.get(op) == "test":
            test = {
                "IsNull": actual is None,
                "IsNumeric": isinstance(actual, int | float) and not isinstance(actual, bool),
                "IsString": isinstance(actual, str),
                "IsBoolean": isinstance(actual, bool),
            }[op]
            return test == rule[op]
        if op.endswith("Path"):
            return _compare(
                op.removesuffix("Path"), actual, read_path(rule[op], scope, where=f"{where}.{op}")
            )
        return _compare(op, actual, rule[op])


def _sdk_metadata() -> dict:
    """What optimized integrations add to an API's response (the Java SDK's metadata; headers left out)."""
    return {
        "SdkHttpMetadata": {"HttpStatusCode": 200},
        "SdkResponseMetadata": {"RequestId": str(uuid.uuid4())},
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):  # the Java SDK writes timestamps as epoch milliseconds
        return int(value.timestamp() * 1000)
    return str(value)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


__all__ = [
    "Clock",
    "Execution",
    "LambdaInvoker",
    "Outcome",
    "SandboxUnsupported",
    "ScaledClock",
    "ServiceApi",
    "StateMachine",
    "StatesError",
    "load",
]
