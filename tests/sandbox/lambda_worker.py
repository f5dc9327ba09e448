"""One warm Lambda execution environment: imports the handler from the deployed code and serves invocations.

Started by :mod:`tests.sandbox.lambda_function` as ``python lambda_worker.py <task root> <handler> <in fd> <out fd>``
with the function's environment. Like the Lambda Python runtime it puts the task root (the extracted deployment
package) first on ``sys.path``, imports ``module.function`` once (the init phase) and then runs one invocation at a
time. Requests and responses are JSON lines on two inherited pipes; stdout and stderr belong to the handler and go
to the function's log file, as they go to CloudWatch Logs in Lambda.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field


@dataclass
class LambdaContext:
    """The attributes and method of the Python runtime's context object."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: int
    identity: None = None
    client_context: None = None
    tenant_id: None = field(default=None)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException) -> dict:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


def _load(task_root: str, handler: str):
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name)
    origin = os.path.realpath(getattr(module, "__file__", "") or "")
    if not origin.startswith(os.path.realpath(task_root) + os.sep):
        raise ImportError(
            f"{module_name} was imported from {origin}, not from the deployment package at {task_root}"
        )
    return getattr(module, function_name)


def main() -> None:
    task_root, handler_name, in_fd, out_fd = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    # Like the Lambda runtime: the task root first, and not this script's directory (python puts it first).
    here = os.path.dirname(os.path.realpath(__file__))
    sys.path[:] = [task_root, *(p for p in sys.path if os.path.realpath(p or ".") != here)]
    requests = os.fdopen(in_fd, "r", encoding="utf-8")
    responses = os.fdopen(out_fd, "w", encoding="utf-8")

    def reply(message: dict) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        responses.write(json.dumps(message) + "\n")
        responses.flush()

    try:
        handler = _load(task_root, handler_name)
    except Exception as exc:  # an init error fails every invocation, as in Lambda
        print(f"INIT_REPORT Init Error: {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc()
        reply(
            {"init_error": {**_error(exc), "errorType": f"Runtime.ImportModuleError: {type(exc).__name__}"}}
        )
        return
    reply({"ready": True})

    version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    for line in requests:
        request = json.loads(line)
        request_id = request["request_id"]
        context = LambdaContext(
            function_name=os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            function_version=version,
            invoked_function_arn=request["invoked_function_arn"],
            memory_limit_in_mb=int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
            aws_request_id=request_id,
            log_group_name=os.environ["AWS_LAMBDA_LOG_GROUP_NAME"],
            log_stream_name=os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
            deadline_ms=request["deadline_ms"],
        )
        print(f"START RequestId: {request_id} Version: {version}", flush=True)
        started = time.monotonic()
        try:
            result = handler(json.loads(request["payload"]), context)
        except Exception as exc:
            traceback.print_exc()
            message = {"error": _error(exc)}
        else:
            try:
                message = {"result": json.dumps(result)}
            except (TypeError, ValueError) as exc:
                message = {"error": {**_error(exc), "errorType": "Runtime.MarshalError"}}
        elapsed_ms = (time.monotonic() - started) * 1000
        print(f"END RequestId: {request_id}", flush=True)
        print(f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms", flush=True)
        reply(message)


if __name__ == "__main__":
    main()
