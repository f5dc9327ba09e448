"""A local AWS Lambda service for the sandbox, driven only by what Terraform deployed into the emulator.

:class:`LocalLambdaRuntime` reads the deployed functions, event source mappings, asynchronous invocation
configurations and EventBridge Scheduler schedules from the moto endpoint at :meth:`~LocalLambdaRuntime.start`,
installs the patches that route Invoke, EventBridge rule targets and Step Functions Lambda tasks to it
(``tests/sandbox/patches/``), then does what the Lambda service does. This module composes the parts; each lives in
its own module, whose docstring names the AWS documentation it follows:

- :mod:`tests.sandbox.lambda_function`: execution environments (one warm ``lambda_worker.py`` process per
  function), synchronous invocation, payload limit, init and handler timeouts.
- :mod:`tests.sandbox.lambda_stream_poller`: DynamoDB Streams event source mappings.
- :mod:`tests.sandbox.lambda_queue_poller`: SQS event source mappings.
- :mod:`tests.sandbox.lambda_mapping`: what both mappings share (batching, FilterCriteria, partial batch responses).
- :mod:`tests.sandbox.lambda_async`: asynchronous invocations (internal queue, retries, event age).
- :mod:`tests.sandbox.lambda_destinations`: SQS and SNS destinations for invocation records.
- :mod:`tests.sandbox.eventbridge_scheduler`: rate(), cron() and at() schedules on the sandbox clock.
- :mod:`tests.sandbox.service_roles`: sessions of the roles the services assume (execution role, scheduler role).

Differences from AWS are listed in :data:`DIFFERENCES_FROM_AWS`.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.sandbox import client_credentials
from tests.sandbox.eventbridge_scheduler import Schedule
from tests.sandbox.lambda_async import AsyncQueue
from tests.sandbox.lambda_destinations import Destinations
from tests.sandbox.lambda_function import InvokeResult, LocalFunction, SandboxUnsupported, _now_iso
from tests.sandbox.lambda_queue_poller import QueueMapping
from tests.sandbox.lambda_stream_poller import StreamMapping
from tests.sandbox.service_roles import service_role_session


def wait_stable(condition: Any, timeout_s: float, *, settle_s: float, poll_s: float = 0.1) -> bool:
    """True once ``condition()`` held for ``settle_s`` without a break; False when ``timeout_s`` passed first."""
    deadline = time.monotonic() + timeout_s
    held_since: float | None = None
    while time.monotonic() < deadline:
        if condition():
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since >= settle_s:
                return True
        else:
            held_since = None
        time.sleep(poll_s)
    return False


DIFFERENCES_FROM_AWS = (
    "Concurrency: one warm worker per function, so invocations of a function run one at a time (AWS scales out "
    "to the reserved or account concurrency; only the loader, reserved at 1, behaves identically). A synchronous "
    "invoke that would be throttled in AWS waits for the worker instead of failing with TooManyRequestsException.",
    "DynamoDB Streams ParallelizationFactor above 1 is processed as 1 (records of a shard stay in order, but "
    "there is no per-key concurrency). Shard lineage (parent before child) is not tracked; moto has one shard.",
    "Stream pollers call DescribeStream and GetShardIterator over HTTP but, by default, GetRecords through "
    "moto's own implementation in-process (same records, same iterators; get_records_over_http=True uses the "
    "HTTP API): moto's HTTP serialization costs about 0.8 ms per record and would throttle the demo to about "
    "1,000 records/s.",
    "Stream retries back off between 0.1 s and 1 s; AWS's stream retry delays are undocumented.",
    "Asynchronous retry delays (1 and 2 minutes), MaximumEventAgeInSeconds, schedule periods and cron times run "
    "on the sandbox clock: real seconds times clock_factor. Stream MaximumRecordAgeInSeconds uses real time.",
    "Failed SQS messages are made visible again after VisibilityTimeout / clock_factor (ChangeMessageVisibility "
    "on the sandbox clock); AWS simply waits out the queue's visibility timeout.",
    "SQS ScalingConfig.MaximumConcurrency is not applied beyond the one-worker-per-function model.",
    "Destinations: SQS and SNS only (S3, Lambda and EventBridge destinations raise SandboxUnsupported at start). "
    "The function-level DeadLetterConfig is used if the emulator reports it; moto 5.2.5 drops it, so a function "
    "DLQ configured by Terraform is never used by the sandbox.",
    "EventBridge Scheduler: RetryPolicy and DeadLetterConfig of the schedule target are not exercised (handing an "
    "event to the asynchronous queue never fails); FlexibleTimeWindow is treated as OFF; StartDate/EndDate are "
    "ignored; schedules and mappings are discovered once at start() (and functions lazily on first invoke).",
    "Handler logs go to one file per function (no CloudWatch Logs streams, no LogType=Tail result).",
    "The worker runs the sandbox's Python interpreter and virtualenv packages, not the function's Runtime image; "
    "Layers are not mounted; MemorySize is reported in the context but not enforced; /tmp is shared.",
    "Kinesis, Kafka, MQ and DocumentDB mappings, TumblingWindowInSeconds and AT_TIMESTAMP starting positions "
    "raise SandboxUnsupported at start. SQS FIFO sources get no special handling (no per-group blocking after "
    "a failure).",
    "FilterCriteria use moto's EventBridge pattern matcher on the Lambda record (for SQS, on the JSON body); "
    "matching details can differ from Lambda's filter engine for exotic operators.",
    "Partial batch responses: a valid batchItemFailures resumes at the lowest failed record and consumes one "
    "retry; an invalid one fails the whole batch (bisected if enabled). approximateInvokeCount counts the "
    "invocations of the failed range only.",
    "Stream records come from moto: eventVersion 1.0, SizeBytes overestimated, no userIdentity for TTL deletes, "
    "ApproximateCreationDateTime with sub-second precision (Lambda events carry whole or fractional seconds).",
    "A synchronous Invoke of a function from inside the same function's handler deadlocks until the timeout "
    "(one worker per function).",
    "Handlers run with a session of their execution role, but the runtime's own calls (stream and queue "
    "polling, destinations) use the sandbox's admin identity; in AWS Lambda makes them with the execution role.",
)


def _function_name(ref: str) -> str:
    """Function name from a name, full ARN or partial ARN, without a qualifier."""
    if ref.startswith("arn:"):
        return ref.split(":")[6]
    if ":function:" in ref:  # partial ARN 123456789012:function:name[:qualifier]
        return ref.split(":")[2]
    return ref.split(":")[0]


class LocalLambdaRuntime:
    """Runs what Terraform deployed into the moto endpoint as the Lambda service would. See the module doc."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        region: str = "us-east-1",
        clock_factor: float = 30.0,
        work_dir: Path,
        log_dir: Path,
        get_records_over_http: bool = False,
    ) -> None:
        if clock_factor <= 0:
            raise ValueError("clock_factor must be positive")
        self.endpoint_url = endpoint_url
        self.region = region
        self.clock_factor = float(clock_factor)
        self.work_dir = Path(work_dir)
        self.log_dir = Path(log_dir)
        self.get_records_over_http = get_records_over_http
        self._session = boto3.Session(**client_credentials(), region_name=region)
        self._config = Config(
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=32,
            account_id_endpoint_mode="disabled",
        )
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._destinations = Destinations(self._session, endpoint_url, self._config)
        self.functions: dict[str, LocalFunction] = {}
        self.async_queues: dict[str, AsyncQueue] = {}
        self.mappings: list[StreamMapping | QueueMapping] = []
        self.schedules: list[Schedule] = []
        self.notes: list[str] = []
        self.crashed: list[str] = []
        self._sync_in_flight = 0
        self._exit = contextlib.ExitStack()
        self._scheduler_thread: threading.Thread | None = None
        self.executions: Any = None  # tests.sandbox.patches.stepfunctions.Executions, once started
        self._started_real = time.time()
        self._started = False

    # -- clocks ---------------------------------------------------------------------------------------

    def sandbox_time(self) -> float:
        """Epoch seconds on the sandbox clock: it started at start() and runs clock_factor times faster."""
        return self._started_real + (time.time() - self._started_real) * self.clock_factor

    # -- plumbing -------------------------------------------------------------------------------------

    def _client(self, service: str):
        return self._session.client(service, endpoint_url=self.endpoint_url, config=self._config)

    def _note(self, text: str) -> None:
        self.notes.append(f"{_now_iso()} {text}")

    def _guard(self, target: Any, *args: Any) -> Any:
        """Thread body that records a crash, so idle() fails loudly instead of waiting forever."""

        def run() -> None:
            try:
                target(*args)
            except Exception as exc:  # reported through idle()
                self.crashed.append(f"{threading.current_thread().name}: {type(exc).__name__}: {exc}")

        return run

    def _load_function(self, name: str) -> LocalFunction:
        from moto.awslambda.utils import get_backend

        lam = self._client("lambda")
        config = lam.get_function_configuration(FunctionName=name)
        if config.get("PackageType", "Zip") != "Zip":
            raise SandboxUnsupported(f"function {name}: container images are not supported by the sandbox")
        try:
            reserved = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        except ClientError:
            reserved = None
        config["ReservedConcurrentExecutions"] = reserved
        account = config["FunctionArn"].split(":")[4]
        code = get_backend(account, self.region).get_function(name).code_bytes
        code_dir = self.work_dir / "functions" / name
        shutil.rmtree(code_dir, ignore_errors=True)
        code_dir.mkdir(parents=True)
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(code_dir)
        function = LocalFunction(
            config,
            code_dir,
            self.log_dir / f"{name}.log",
            endpoint_url=self.endpoint_url,
            region=self.region,
            credentials=self._execution_role_credentials(config),
        )
        try:
            invoke_config = lam.get_function_event_invoke_config(FunctionName=name)
        except ClientError:
            invoke_config = {}
        queue = AsyncQueue(self, function, invoke_config)
        self.functions[name] = function
        self.async_queues[name] = queue
        if self._started:
            queue.start()
        return function

    def _execution_role_credentials(self, config: dict) -> dict[str, str]:
        """A session of the function's execution role, as the variables Lambda sets (Developer Guide, "Defining
        Lambda function permissions with an execution role"; "Using Lambda environment variables").

        Lambda assumes the role as the service principal ``lambda.amazonaws.com``, so the role's trust policy must
        name it (CreateFunction refuses a role Lambda cannot assume).
        """
        name = config["FunctionName"]
        try:
            return service_role_session(config["Role"], "lambda.amazonaws.com", name, self.region)
        except PermissionError as exc:
            raise SandboxUnsupported(f"function {name}: {exc}") from None

    def _resolve(self, ref: str) -> LocalFunction:
        name = _function_name(ref)
        with self._lock:
            function = self.functions.get(name)
            if function is None:
                function = self._load_function(name)
            return function

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> LocalLambdaRuntime:
        """Discover what is deployed, install the invoke patches and start every worker thread (idempotent)."""
        from tests.sandbox.patches import events_lambda, lambda_invoke, stepfunctions

        if self._started:
            return self
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._started_real = time.time()
        try:
            # Detach moto's push delivery first, so no record is consumed before the pollers start.
            self._exit.enter_context(lambda_invoke.installed(runtime=self))
            self._exit.enter_context(events_lambda.installed(runtime=self))
            self._discover()
            # Step Functions executions (started before or after this point) run on this runtime.
            self.executions = self._exit.enter_context(stepfunctions.installed(runtime=self))
        except BaseException:
            self._exit.close()
            raise
        self._started = True
        for queue in list(self.async_queues.values()):
            queue.start()
        for mapping in self.mappings:
            mapping.start()
        self._scheduler_thread = threading.Thread(
            target=self._guard(self._run_schedules), name="scheduler", daemon=True
        )
        self._scheduler_thread.start()
        return self

    def _discover(self) -> None:
        lam = self._client("lambda")
        for page in lam.get_paginator("list_functions").paginate():
            for function in page["Functions"]:
                self._resolve(function["FunctionName"])
        for page in lam.get_paginator("list_event_source_mappings").paginate():
            for config in page["EventSourceMappings"]:
                if config.get("State", "Enabled") not in ("Enabled", "Enabling", "Creating"):
                    continue
                service = config["EventSourceArn"].split(":")[2]
                if service == "dynamodb":
                    self.mappings.append(StreamMapping(self, config))
                elif service == "sqs":
                    self.mappings.append(QueueMapping(self, config))
                else:
                    raise SandboxUnsupported(f"mapping {config['UUID']}: {service} sources are not supported")
                if int(config.get("ParallelizationFactor") or 1) > 1:
                    self._note(f"mapping {config['UUID']}: ParallelizationFactor > 1 is processed as 1")
        scheduler = self._client("scheduler")
        for page in scheduler.get_paginator("list_schedules").paginate():
            for summary in page["Schedules"]:
                config = scheduler.get_schedule(
                    Name=summary["Name"], GroupName=summary.get("GroupName", "default")
                )
                service = config["Target"]["Arn"].split(":")[2]
                if config.get("State") != "ENABLED" or service not in Schedule.TARGET_SERVICES:
                    continue
                if service == "lambda":
                    self._resolve(config["Target"]["Arn"])
                self.schedules.append(Schedule(self, config))

    def stop(self) -> None:
        """Stop pollers and queues, kill the workers and revert the patches (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self.executions is not None:
            self.executions.close()  # before the workers stop: a running Task finishes first
        for mapping in self.mappings:
            mapping.join()
        for queue in self.async_queues.values():
            queue.join()
        if self._scheduler_thread is not None:
            self._scheduler_thread.join(timeout=5)
        for function in self.functions.values():
            function.stop()
        self._exit.close()

    def __enter__(self) -> LocalLambdaRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run_schedules(self) -> None:
        while not self._stop.wait(0.05):
            now = self.sandbox_time()
            for schedule in self.schedules:
                schedule.tick(now)

    # -- invocation entry points (used by the patches) --------------------------------------------------

    def invoke(self, function_ref: str, payload: bytes) -> InvokeResult:
        """A synchronous (RequestResponse) invocation."""
        function = self._resolve(function_ref)
        with self._lock:
            self._sync_in_flight += 1
        try:
            return function.invoke(payload)
        finally:
            with self._lock:
                self._sync_in_flight -= 1

    def invoke_async(self, function_ref: str, payload: bytes) -> str:
        """An asynchronous (Event) invocation: queued, retried and sent to destinations like Lambda does."""
        self._resolve(function_ref)
        return self.async_queues[_function_name(function_ref)].put(payload)

    def in_flight(self, function_ref: str) -> int:
        """Invocations of the function running or waiting for its execution environment."""
        return self._resolve(function_ref).in_flight

    def kill_worker(self, function_ref: str) -> int | None:
        """SIGKILL the function's worker process (fault injection: its execution environment crashes).

        The invocation it was running fails with ``Runtime.ExitError`` and its source retries it, as in
        Lambda; the next invocation starts a new worker. Returns the killed pid, or None if none ran."""
        process = self._resolve(function_ref)._proc
        if process is None or process.poll() is not None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.pid

    # -- observation ----------------------------------------------------------------------------------

    def idle(self) -> bool:
        """No invocation in flight or queued, every shard read to its end and every source queue empty.

        Raises RuntimeError if a poller, queue or scheduler thread died: the pipeline would never drain.
        """
        if self.crashed:
            raise RuntimeError(f"local Lambda runtime thread crashed: {self.crashed}")
        with self._lock:
            if self._sync_in_flight:
                return False
        if not all(queue.idle() for queue in self.async_queues.values()):
            return False
        if self.executions is not None and not self.executions.idle():
            return False
        return all(mapping.idle() for mapping in self.mappings)

    def sources_idle(self) -> bool:
        """Every stream shard read to its end, every source queue empty and no Step Functions execution
        running (invocations that schedules start are not counted: on a slow machine a frequent schedule is never idle).

        Raises RuntimeError if a poller, queue or scheduler thread died: the pipeline would never drain.
        """
        if self.crashed:
            raise RuntimeError(f"local Lambda runtime thread crashed: {self.crashed}")
        if self.executions is not None and not self.executions.idle():
            return False  # a running Step Functions execution (a backfill) still has work
        return all(mapping.idle() for mapping in self.mappings)

    def wait_idle(self, timeout_s: float, *, settle_s: float = 0.5) -> bool:
        """True once idle() held for settle_s; False when timeout_s passed first."""
        return wait_stable(self.idle, timeout_s, settle_s=settle_s, poll_s=0.05)

    def stats(self) -> dict:
        return {
            "functions": {
                name: {
                    **f.stats.__dict__,
                    "timeout_s": f.timeout_s,
                    "memory_mb": f.memory_mb,
                    "reserved_concurrency": f.config.get("ReservedConcurrentExecutions"),
                    "async_dropped": self.async_queues[name].dropped,
                }
                for name, f in self.functions.items()
            },
            "mappings": [m.describe() for m in self.mappings],
            "schedules": [s.describe() for s in self.schedules],
            "clock_factor": self.clock_factor,
            "notes": list(self.notes),
        }


__all__ = [
    "DIFFERENCES_FROM_AWS",
    "InvokeResult",
    "LocalLambdaRuntime",
    "SandboxUnsupported",
    "wait_stable",
]
