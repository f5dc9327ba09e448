"""A local AWS Lambda service for the sandbox, driven only by what Terraform deployed into the emulator.

:class:`LocalLambdaRuntime` reads the deployed functions, event source mappings, asynchronous invocation
configurations and EventBridge Scheduler schedules from the moto endpoint, then does what the Lambda service does:

- **Execution environments.** Each function gets one warm worker process (``lambda_worker.py``) that imports the
  handler from the deployment package moto stored (never from the repository) with the function's environment plus
  the variables Lambda sets, and receives a context object with the configured timeout and memory size. A handler
  that runs past its timeout is killed and reported as ``Sandbox.Timedout``; the next invocation starts a new worker.
- **DynamoDB Streams mappings** (AWS Lambda Developer Guide, "Using AWS Lambda with Amazon DynamoDB" and
  "Implementing partial batch responses"): each shard is polled with GetRecords about four times a second from
  the mapping's starting position; batches respect BatchSize, MaximumBatchingWindowInSeconds and the 6 MB
  invocation payload limit; failures honour ReportBatchItemFailures, BisectBatchOnFunctionError (splitting does not
  consume retries), MaximumRetryAttempts, MaximumRecordAgeInSeconds and the on-failure destination, which receives
  the invocation record with ``DDBStreamBatchInfo`` ("Retaining discarded records for a DynamoDB event source").
- **SQS mappings** ("Using Lambda with Amazon SQS"): long polling, BatchSize and batching window, the SQS event
  shape, deletion on success, ReportBatchItemFailures, and redelivery after the visibility timeout (moto moves a
  message to the queue's dead-letter queue once it was received more than maxReceiveCount times).
- **Asynchronous invocations** ("How Lambda handles errors and retries with asynchronous invocation"): an
  internal queue per function, MaximumRetryAttempts (default 2) with one and two minutes between attempts,
  MaximumEventAgeInSeconds, and the on-success/on-failure destinations with Lambda's invocation record.
- **EventBridge Scheduler** rate(), cron() and at() schedules in state ENABLED fire on a faster clock
  (``clock_factor``): a Lambda target is invoked asynchronously with the target's Input, a Step Functions
  state machine target gets StartExecution as the target's role (see :class:`Schedule`); context attributes
  such as ``<aws.scheduler.scheduled-time>`` are replaced in the Input.

Differences from AWS are listed in :data:`DIFFERENCES_FROM_AWS`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.sandbox import client_credentials

WORKER = Path(__file__).with_name("lambda_worker.py")
PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024  # synchronous invocation payload quota
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase of an on-demand function
STREAM_POLLS_PER_SECOND = 4
GET_RECORDS_LIMIT = 1000
ASYNC_RETRY_DELAYS_S = (60.0, 120.0)  # Lambda waits 1 minute, then 2 minutes, between asynchronous attempts
ASYNC_DEFAULT_RETRIES = 2
ASYNC_DEFAULT_MAX_AGE_S = 21600


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


class SandboxUnsupported(RuntimeError):
    """The deployed configuration uses a Lambda feature the sandbox does not emulate."""


def _now_iso(ts: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _function_name(ref: str) -> str:
    """Function name from a name, full ARN or partial ARN, without a qualifier."""
    if ref.startswith("arn:"):
        return ref.split(":")[6]
    if ":function:" in ref:  # partial ARN 123456789012:function:name[:qualifier]
        return ref.split(":")[2]
    return ref.split(":")[0]


@dataclass
class InvokeResult:
    payload: bytes
    function_error: str | None = None  # "Unhandled" when the handler raised or timed out
    timed_out: bool = False
    request_id: str = ""

    @property
    def ok(self) -> bool:
        return self.function_error is None

    def json(self) -> Any:
        try:
            return json.loads(self.payload or b"null")
        except ValueError:
            return None


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0
    timeouts: int = 0
    max_records_per_event: int = 0
    records: int = 0


class LocalFunction:
    """One deployed function and its warm worker process."""

    def __init__(
        self,
        config: dict,
        code_dir: Path,
        log_path: Path,
        *,
        endpoint_url: str,
        region: str,
        credentials: dict[str, str],
    ) -> None:
        self.config = config
        self.name: str = config["FunctionName"]
        self.arn: str = config["FunctionArn"]
        self.timeout_s = float(config.get("Timeout") or 3)
        self.memory_mb = int(config.get("MemorySize") or 128)
        self.code_dir = code_dir
        self.log_path = log_path
        self.stats = FunctionStats()
        self.in_flight = 0  # invocations running or waiting for the execution environment
        self._endpoint_url = endpoint_url
        self._region = region
        self._credentials = credentials  # the execution role's session, as AWS_ACCESS_KEY_ID etc.
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._requests = None
        self._responses_fd: int | None = None
        self._buffer = b""
        self._log = open(log_path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the function

    def environment(self) -> dict[str, str]:
        stamp = datetime.now(UTC).strftime("%Y/%m/%d")
        env = dict((self.config.get("Environment") or {}).get("Variables") or {})
        # Reserved variables Lambda sets; a function's own variables cannot override them.
        env.update(
            {
                "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                "LANG": "en_US.UTF-8",
                "TZ": ":UTC",
                "_HANDLER": self.config["Handler"],
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.config.get('Runtime', 'python3.12')}",
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_LAMBDA_FUNCTION_VERSION": self.config.get("Version", "$LATEST"),
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"{stamp}/[$LATEST]{uuid.uuid4().hex}",
                "AWS_REGION": self._region,
                "AWS_DEFAULT_REGION": self._region,
                "LAMBDA_TASK_ROOT": str(self.code_dir),
                **self._credentials,
                # The standard SDK settings that point every client at the emulator.
                "AWS_ENDPOINT_URL": self._endpoint_url,
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            }
        )
        if os.environ.get("AWS_CA_BUNDLE"):
            # The emulator's own certificate when it serves TLS (the demo does: the bucket is TLS-only).
            env["AWS_CA_BUNDLE"] = os.environ["AWS_CA_BUNDLE"]
        return env

    # -- worker lifecycle ---------------------------------------------------------------------------------

    def _start_worker(self) -> dict | None:
        """Start the worker and wait for its init phase; returns the init error, if any."""
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        self._proc = subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                str(self.code_dir),
                self.config["Handler"],
                str(req_r),
                str(resp_w),
            ],
            env=self.environment(),
            cwd=self.code_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=(req_r, resp_w),
            start_new_session=True,
        )
        os.close(req_r)
        os.close(resp_w)
        self._requests = os.fdopen(req_w, "w", encoding="utf-8")
        self._responses_fd = resp_r
        self._buffer = b""
        message = self._read(time.monotonic() + INIT_TIMEOUT_S)
        if message is None:
            self._kill()
            return {"errorType": "Runtime.InitError", "errorMessage": "Init phase ended without a response"}
        if "init_error" in message:
            self._kill()
            return message["init_error"]
        return None

    def _read(self, deadline: float) -> dict | None:
        assert self._responses_fd is not None
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._responses_fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self._responses_fd, 1 << 20)
            if not chunk:
                return {"exited": True}
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def _kill(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        if self._requests is not None:
            with contextlib.suppress(OSError):
                self._requests.close()
        if self._responses_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._responses_fd)
        self._proc, self._requests, self._responses_fd = None, None, None

    def stop(self) -> None:
        with self._lock:
            self._kill()
        self._log.close()

    # -- invocation ---------------------------------------------------------------------------------------

    def invoke(self, payload: bytes, *, records: int = 0) -> InvokeResult:
        """Run one invocation (serialized: one execution environment per function)."""
        request_id = str(uuid.uuid4())
        with self._count_lock:
            self.in_flight += 1
        try:
            with self._lock:
                self.stats.invocations += 1
                self.stats.records += records
                self.stats.max_records_per_event = max(self.stats.max_records_per_event, records)
                result = self._invoke_locked(payload, request_id)
                if not result.ok:
                    self.stats.errors += 1
                if result.timed_out:
                    self.stats.timeouts += 1
                return result
        finally:
            with self._count_lock:
                self.in_flight -= 1

    def _error(self, request_id: str, error: dict, *, timed_out: bool = False) -> InvokeResult:
        body = {"errorMessage": error.get("errorMessage", ""), "errorType": error.get("errorType", "")}
        body["requestId"] = request_id
        if error.get("stackTrace"):
            body["stackTrace"] = error["stackTrace"]
        return InvokeResult(json.dumps(body).encode(), "Unhandled", timed_out, request_id)

    def _invoke_locked(self, payload: bytes, request_id: str) -> InvokeResult:
        if len(payload) > PAYLOAD_LIMIT_BYTES:
            raise ValueError(f"Request payload of {len(payload)} bytes exceeds the 6 MB Lambda limit")
        started = time.time()
        if self._proc is None or self._proc.poll() is not None:
            init_error = self._start_worker()
            if init_error is not None:
                return self._error(request_id, init_error)
        deadline_ms = int(started * 1000 + self.timeout_s * 1000)
        request = {
            "request_id": request_id,
            "invoked_function_arn": self.arn,
            "deadline_ms": deadline_ms,
            "payload": payload.decode("utf-8") if payload else "{}",
        }
        assert self._requests is not None
        try:
            self._requests.write(json.dumps(request) + "\n")
            self._requests.flush()
        except BrokenPipeError:
            self._kill()
            return self._error(
                request_id, {"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited"}
            )
        message = self._read(time.monotonic() + self.timeout_s - (time.time() - started))
        if message is None:
            self._kill()
            text = f"{_now_iso()} {request_id} Task timed out after {self.timeout_s:.2f} seconds"
            self._log.write((text + "\n").encode())
            return self._error(
                request_id,
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: Task timed out after {self.timeout_s:.2f} seconds",
                },
                timed_out=True,
            )
        if message.get("exited"):
            code = self._proc.wait() if self._proc else -1
            self._kill()
            return self._error(
                request_id,
                {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}",
                },
            )
        if "error" in message:
            return self._error(request_id, message["error"])
        return InvokeResult(message["result"].encode(), None, False, request_id)


# ---------------------------------------------------------------------------------------------------------
# Destinations and invocation records
# ---------------------------------------------------------------------------------------------------------


class Destinations:
    """Sends invocation records to SQS or SNS destinations through the emulator's API."""

    def __init__(self, session: boto3.Session, endpoint_url: str, config: Config) -> None:
        self._sqs = session.client("sqs", endpoint_url=endpoint_url, config=config)
        self._sns = session.client("sns", endpoint_url=endpoint_url, config=config)
        self._urls: dict[str, str] = {}

    @staticmethod
    def check(arn: str | None, what: str) -> None:
        if arn and arn.split(":")[2] not in ("sqs", "sns"):
            raise SandboxUnsupported(
                f"{what}: destination {arn} is not supported by the sandbox (SQS and SNS only)"
            )

    def queue_url(self, arn: str) -> str:
        if arn not in self._urls:
            _, _, _, _, account, name = arn.split(":", 5)
            self._urls[arn] = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                "QueueUrl"
            ]
        return self._urls[arn]

    def send(self, arn: str, body: str, attributes: dict | None = None) -> None:
        if arn.split(":")[2] == "sns":
            self._sns.publish(TopicArn=arn, Message=body)
            return
        kwargs: dict[str, Any] = {"QueueUrl": self.queue_url(arn), "MessageBody": body}
        if attributes:
            kwargs["MessageAttributes"] = attributes
        self._sqs.send_message(**kwargs)


def _response_context(result: InvokeResult | None) -> dict:
    context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if result is not None and result.function_error:
        context["functionError"] = result.function_error
    return context


# ---------------------------------------------------------------------------------------------------------
# Filter criteria (event patterns applied to the Lambda record)
# ---------------------------------------------------------------------------------------------------------


class RecordFilter:
    """FilterCriteria: a record reaches the function if any pattern matches (moto's EventBridge matcher)."""

    def __init__(self, criteria: dict | None, *, sqs: bool) -> None:
        from moto.events.models import EventPattern

        self._patterns = [EventPattern.load(f["Pattern"]) for f in (criteria or {}).get("Filters", [])]
        self._sqs = sqs

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def matches(self, record: dict) -> bool:
        if not self._patterns:
            return True
        subject = record
        if self._sqs:
            # Lambda matches a JSON body as an object, and any other body only by plain string patterns.
            with contextlib.suppress(ValueError):
                subject = {**record, "body": json.loads(record["body"])}
        return any(p.matches_event(subject) for p in self._patterns)


# ---------------------------------------------------------------------------------------------------------
# Conversions back to the wire format of Lambda events
# ---------------------------------------------------------------------------------------------------------


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _b64(value: bytes | str) -> str:
    """moto keeps binary values as the base64 text it received; boto3 hands out the decoded bytes."""
    return value if isinstance(value, str) else base64.b64encode(value).decode()


def _attribute_value_to_wire(value: dict) -> dict:
    """boto3 parsed B/BS into bytes; Lambda events carry them as base64 strings, as the wire JSON does."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if kind == "M":
        return {"M": {k: _attribute_value_to_wire(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_attribute_value_to_wire(v) for v in inner]}
    return {kind: inner}


def dynamodb_lambda_record(record: dict, *, stream_arn: str, region: str) -> dict:
    """A GetRecords record (as boto3 parsed it) in the shape Lambda passes to the function."""
    data = dict(record["dynamodb"])
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        seconds = (created if created.tzinfo else created.replace(tzinfo=UTC)).timestamp()
        data["ApproximateCreationDateTime"] = int(seconds) if seconds == int(seconds) else seconds
    for image in ("Keys", "NewImage", "OldImage"):
        if image in data:
            data[image] = {k: _attribute_value_to_wire(v) for k, v in data[image].items()}
    out = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "dynamodb": data,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:
        out["userIdentity"] = record["userIdentity"]
    return out


def sqs_lambda_record(message: dict, *, queue_arn: str, region: str) -> dict:
    attributes = {
        k: v
        for k, v in message.get("Attributes", {}).items()
        if k
        in (
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
            "SequenceNumber",
            "MessageGroupId",
            "MessageDeduplicationId",
            "AWSTraceHeader",
            "DeadLetterQueueSourceArn",
        )
    }
    message_attributes = {}
    for name, attr in message.get("MessageAttributes", {}).items():
        converted: dict[str, Any] = {
            "stringListValues": attr.get("StringListValues", []),
            "binaryListValues": [base64.b64encode(b).decode() for b in attr.get("BinaryListValues", [])],
            "dataType": attr["DataType"],
        }
        if "StringValue" in attr:
            converted["stringValue"] = attr["StringValue"]
        if "BinaryValue" in attr:
            converted["binaryValue"] = base64.b64encode(attr["BinaryValue"]).decode()
        message_attributes[name] = converted
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _failed_identifiers(response: Any, valid: list[str]) -> list[str] | None:
    """Partial batch response: None = whole batch succeeded, [] = response invalid (whole batch failed)."""
    if not isinstance(response, dict) or response.get("batchItemFailures") is None:
        return None
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return []
    if not failures:
        return None
    identifiers = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in valid:
            return []
        identifiers.append(identifier)
    return identifiers


# ---------------------------------------------------------------------------------------------------------
# Event source mappings
# ---------------------------------------------------------------------------------------------------------


@dataclass
class MappingStats:
    batches: int = 0
    max_batch: int = 0
    retries: int = 0
    bisections: int = 0
    on_failure_sent: int = 0
    filtered_out: int = 0


class _Mapping:
    def __init__(self, runtime: LocalLambdaRuntime, config: dict) -> None:
        self.runtime = runtime
        self.config = config
        self.uuid: str = config["UUID"]
        self.source_arn: str = config["EventSourceArn"]
        self.function = runtime._resolve(config["FunctionArn"])
        self.batch_size = int(config.get("BatchSize") or 100)
        self.window_s = float(config.get("MaximumBatchingWindowInSeconds") or 0)
        self.report_item_failures = "ReportBatchItemFailures" in (config.get("FunctionResponseTypes") or [])
        self.on_failure: str | None = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        Destinations.check(self.on_failure, f"mapping {self.uuid}")
        if config.get("TumblingWindowInSeconds"):
            raise SandboxUnsupported(
                f"mapping {self.uuid}: TumblingWindowInSeconds is not supported by the sandbox"
            )
        self.stats = MappingStats()
        self._stop = runtime._stop
        self._threads: list[threading.Thread] = []

    def _invoke(self, records: list[dict]) -> InvokeResult:
        payload = json.dumps({"Records": records}).encode()
        self.stats.batches += 1
        self.stats.max_batch = max(self.stats.max_batch, len(records))
        return self.function.invoke(payload, records=len(records))

    def describe(self) -> dict:
        return {
            "uuid": self.uuid,
            "source_arn": self.source_arn,
            "function": self.function.name,
            "batch_size": self.batch_size,
            "batching_window_s": self.window_s,
            "starting_position": self.config.get("StartingPosition"),
            **self.stats.__dict__,
        }

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=10)


class StreamMapping(_Mapping):
    """A DynamoDB Streams event source mapping: one poller thread per shard."""

    def __init__(self, runtime: LocalLambdaRuntime, config: dict) -> None:
        super().__init__(runtime, config)
        position = config.get("StartingPosition") or "TRIM_HORIZON"
        if position not in ("TRIM_HORIZON", "LATEST"):
            raise SandboxUnsupported(f"mapping {self.uuid}: StartingPosition {position} is not supported")
        self.starting_position = position
        self.max_retries = (
            int(config["MaximumRetryAttempts"]) if config.get("MaximumRetryAttempts") is not None else -1
        )
        age = config.get("MaximumRecordAgeInSeconds")
        self.max_record_age_s = -1 if age is None else int(age)
        self.bisect = bool(config.get("BisectBatchOnFunctionError"))
        self.filter = RecordFilter(config.get("FilterCriteria"), sqs=False)
        self.parallelization_factor = int(config.get("ParallelizationFactor") or 1)
        self._streams = runtime._client("dynamodbstreams")
        shards = self._streams.describe_stream(StreamArn=self.source_arn)["StreamDescription"]["Shards"]
        self._shards = {s["ShardId"]: _ShardState() for s in shards}
        self._threads = [
            threading.Thread(
                target=runtime._guard(self._poll_shard, sid), name=f"ddb-{sid[-8:]}", daemon=True
            )
            for sid in self._shards
        ]
        # LATEST is resolved here, at start(): records written before are skipped, as Lambda skips records
        # written before a mapping starts polling.
        bounds = _shard_bounds(self.source_arn, runtime.region)
        for state in self._shards.values():
            state.start_latest = bounds[1] if bounds else -1
        self._iterators = {
            sid: self._streams.get_shard_iterator(
                StreamArn=self.source_arn, ShardId=sid, ShardIteratorType=position
            )["ShardIterator"]
            for sid in self._shards
        }

    def idle(self) -> bool:
        return all(self._caught_up(state) for state in self._shards.values())

    def _caught_up(self, state: _ShardState) -> bool:
        if state.buffer or state.delivering:
            return False
        bounds = _shard_bounds(self.source_arn, self.runtime.region)
        if bounds is None:  # not moto's in-process stream: trust the poller's last empty read
            return state.empty_poll
        first, last = bounds
        read_to = state.last_read_seq
        if read_to is None:
            read_to = state.start_latest if self.starting_position == "LATEST" else first - 1
        return read_to >= last

    def _poll_shard(self, shard_id: str) -> None:
        state = self._shards[shard_id]
        iterator = self._iterators[shard_id]
        next_poll = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if iterator and len(state.buffer) < self.batch_size and now >= next_poll:
                try:
                    response = self._get_records(iterator)
                except (ClientError, KeyError) as exc:
                    self.runtime._note(f"GetRecords on {shard_id} failed: {exc}")
                    next_poll = now + 1.0
                    continue
                iterator = response.get("NextShardIterator")
                records = response.get("Records", [])
                next_poll = now if len(records) >= GET_RECORDS_LIMIT else now + 1.0 / STREAM_POLLS_PER_SECOND
                state.empty_poll = not records
                for record in records:
                    converted = dynamodb_lambda_record(
                        record, stream_arn=self.source_arn, region=self.runtime.region
                    )
                    if self.filter and not self.filter.matches(converted):
                        self.stats.filtered_out += 1
                        continue
                    state.buffer.append((converted, len(json.dumps(converted)) + 1))
                    if state.first_buffered_at is None:
                        state.first_buffered_at = now
                if records:  # after buffering, so idle() never sees a read record in neither place
                    state.last_read_seq = int(records[-1]["dynamodb"]["SequenceNumber"])
            if state.buffer and (
                len(state.buffer) >= self.batch_size
                or self.window_s == 0
                or now - (state.first_buffered_at or now) >= self.window_s
                or sum(size for _, size in itertools.islice(state.buffer, self.batch_size))
                >= PAYLOAD_LIMIT_BYTES
            ):
                state.delivering = True
                batch = self._take(state)
                try:
                    self._deliver(shard_id, batch)
                finally:
                    state.delivering = False
                    state.first_buffered_at = time.monotonic() if state.buffer else None
                continue
            wake = next_poll if iterator else now + 0.25
            if state.buffer and self.window_s:
                wake = min(wake, (state.first_buffered_at or now) + self.window_s)
            self._stop.wait(max(0.0, min(wake - time.monotonic(), 0.25)))

    def _get_records(self, iterator: str) -> dict:
        if self.runtime.get_records_over_http:
            return self._streams.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
        # moto's own GetRecords (the method its HTTP handler calls), minus ~0.8 ms per record of serialization.
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        account = self.source_arn.split(":")[4]
        return dynamodbstreams_backends[account][self.runtime.region].get_records(iterator, GET_RECORDS_LIMIT)

    def _take(self, state: _ShardState) -> list[dict]:
        batch, size = [], len('{"Records": []}')
        while state.buffer and len(batch) < self.batch_size:
            record, record_size = state.buffer[0]
            if batch and size + record_size > PAYLOAD_LIMIT_BYTES:
                break
            batch.append(record)
            size += record_size
            state.buffer.popleft()
        return batch

    def _deliver(self, shard_id: str, records: list[dict]) -> None:
        work: deque[tuple[list[dict], int]] = deque([(records, 0)])
        while work and not self._stop.is_set():
            batch, retries = work.popleft()
            invocations = 0
            while batch and not self._stop.is_set():
                if self.max_record_age_s >= 0:
                    cutoff = time.time() - self.max_record_age_s
                    expired = [r for r in batch if r["dynamodb"]["ApproximateCreationDateTime"] < cutoff]
                    if expired:
                        self._discard(shard_id, expired, "RecordAgeExceeded", invocations, None)
                        batch = [r for r in batch if r["dynamodb"]["ApproximateCreationDateTime"] >= cutoff]
                        if not batch:
                            break
                result = self._invoke(batch)
                invocations += 1
                if result.ok:
                    failed = (
                        _failed_identifiers(result.json(), [r["dynamodb"]["SequenceNumber"] for r in batch])
                        if self.report_item_failures
                        else None
                    )
                    if failed is None:
                        break
                    if failed:
                        # Resume at the lowest failed sequence number; everything before it is checkpointed.
                        lowest = min(failed, key=int)
                        batch = batch[[r["dynamodb"]["SequenceNumber"] for r in batch].index(lowest) :]
                    elif self.bisect and len(batch) > 1:
                        work.appendleft((batch[len(batch) // 2 :], retries))
                        batch = batch[: len(batch) // 2]
                        self.stats.bisections += 1
                        continue
                elif self.bisect and len(batch) > 1:
                    # Splitting a batch does not consume the retry quota.
                    work.appendleft((batch[len(batch) // 2 :], retries))
                    batch = batch[: len(batch) // 2]
                    self.stats.bisections += 1
                    continue
                if 0 <= self.max_retries <= retries:
                    self._discard(shard_id, batch, "RetryAttemptsExhausted", invocations, result)
                    break
                retries += 1
                self.stats.retries += 1
                self._stop.wait(min(0.1 * 2 ** (retries - 1), 1.0))

    def _discard(
        self, shard_id: str, batch: list[dict], condition: str, invocations: int, result: InvokeResult | None
    ) -> None:
        if not self.on_failure:
            return
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        record = {
            "requestContext": {
                "requestId": result.request_id if result else str(uuid.uuid4()),
                "functionArn": self.function.arn,
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "responseContext": _response_context(result),
            "version": "1.0",
            "timestamp": _now_iso(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _now_iso(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _now_iso(last["ApproximateCreationDateTime"]),
                "batchSize": len(batch),
                "streamArn": self.source_arn,
            },
        }
        self.runtime._destinations.send(self.on_failure, json.dumps(record))
        self.stats.on_failure_sent += 1


@dataclass
class _ShardState:
    buffer: deque = field(default_factory=deque)
    first_buffered_at: float | None = None
    delivering: bool = False
    last_read_seq: int | None = None
    empty_poll: bool = False
    start_latest: int = -1


def _shard_bounds(stream_arn: str, region: str) -> tuple[int, int] | None:
    """First and newest sequence numbers of the (single) shard of moto's stream, read in-process for idle()."""
    try:
        from moto.dynamodb.models import dynamodb_backends

        account = stream_arn.split(":")[4]
        table_name = stream_arn.split(":table/")[1].split("/stream/")[0]
        shard = dynamodb_backends[account][region].get_table(table_name).stream_shard
    except Exception:
        return None
    if shard is None:
        return None
    return shard.starting_sequence_number, shard.starting_sequence_number + len(shard.items) - 1


class QueueMapping(_Mapping):
    """An SQS event source mapping: one long-polling thread."""

    def __init__(self, runtime: LocalLambdaRuntime, config: dict) -> None:
        super().__init__(runtime, config)
        self.filter = RecordFilter(config.get("FilterCriteria"), sqs=True)
        self._sqs = runtime._client("sqs")
        self.queue_url = runtime._destinations.queue_url(self.source_arn)
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"]
        )
        self.visibility_timeout_s = int(attributes["Attributes"].get("VisibilityTimeout", 30))
        self._holding = 0
        self._threads = [
            threading.Thread(target=runtime._guard(self._poll), name=f"sqs-{self.uuid[:8]}", daemon=True)
        ]

    def idle(self) -> bool:
        if self._holding:
            return False
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return not self._holding and all(int(v) == 0 for v in attributes.values())

    def _receive(self, max_messages: int, wait_s: int) -> list[dict]:
        try:
            return self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max(1, min(10, max_messages)),
                WaitTimeSeconds=wait_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        except ClientError as exc:
            self.runtime._note(f"ReceiveMessage on {self.source_arn} failed: {exc}")
            self._stop.wait(1.0)
            return []

    def _poll(self) -> None:
        while not self._stop.is_set():
            batch: list[dict] = []
            size = 0
            started: float | None = None
            while not self._stop.is_set():
                if batch:
                    left = self.window_s - (time.monotonic() - (started or 0))
                    if left <= 0:
                        break
                    wait = max(0, min(1, math.ceil(left)))
                else:
                    wait = 1
                messages = self._receive(self.batch_size - len(batch), wait)
                for message in messages:
                    record = sqs_lambda_record(message, queue_arn=self.source_arn, region=self.runtime.region)
                    if self.filter and not self.filter.matches(record):
                        # Lambda deletes messages that match no filter.
                        self.stats.filtered_out += 1
                        self._delete([record])
                        continue
                    batch.append(record)
                    self._holding = len(batch)
                    size += len(json.dumps(record)) + 1
                    if started is None:
                        started = time.monotonic()
                if len(batch) >= self.batch_size or size >= PAYLOAD_LIMIT_BYTES - 300 * 1024:
                    break
                if batch and self.window_s == 0:
                    break
            if batch:
                try:
                    self._deliver(batch)
                finally:
                    self._holding = 0

    def _deliver(self, batch: list[dict]) -> None:
        result = self._invoke(batch)
        if not result.ok:
            self._release(batch)
            return
        failed = (
            _failed_identifiers(result.json(), [r["messageId"] for r in batch])
            if self.report_item_failures
            else None
        )
        if failed is None:
            self._delete(batch)
        elif not failed:
            self._release(batch)
        else:
            self._delete([r for r in batch if r["messageId"] not in failed])
            self._release([r for r in batch if r["messageId"] in failed])

    def _delete(self, records: list[dict]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )

    def _release(self, records: list[dict]) -> None:
        """Failed messages reappear after the visibility timeout, measured on the sandbox clock."""
        self.stats.retries += len(records)
        if self.runtime.clock_factor == 1:
            return
        timeout = math.ceil(self.visibility_timeout_s / self.runtime.clock_factor)
        for record in records:
            with contextlib.suppress(ClientError):
                self._sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=timeout
                )


# ---------------------------------------------------------------------------------------------------------
# Asynchronous invocation
# ---------------------------------------------------------------------------------------------------------


@dataclass
class _AsyncEvent:
    payload: bytes
    request_id: str
    enqueued_sandbox: float
    attempts: int = 0
    due: float = 0.0


class AsyncQueue:
    """Lambda's internal queue for one function's asynchronous invocations."""

    def __init__(self, runtime: LocalLambdaRuntime, function: LocalFunction, config: dict) -> None:
        self.runtime = runtime
        self.function = function
        self.max_retries = int(config.get("MaximumRetryAttempts", ASYNC_DEFAULT_RETRIES))
        self.max_age_s = float(config.get("MaximumEventAgeInSeconds", ASYNC_DEFAULT_MAX_AGE_S))
        destinations = config.get("DestinationConfig") or {}
        self.on_failure = (destinations.get("OnFailure") or {}).get("Destination")
        self.on_success = (destinations.get("OnSuccess") or {}).get("Destination")
        self.dead_letter = (function.config.get("DeadLetterConfig") or {}).get("TargetArn")
        for arn in (self.on_failure, self.on_success, self.dead_letter):
            Destinations.check(arn, f"function {function.name}")
        self._events: list[_AsyncEvent] = []
        self._cv = threading.Condition()
        self.busy = False
        self.dropped = 0
        self._thread = threading.Thread(
            target=runtime._guard(self._run), name=f"async-{function.name}", daemon=True
        )

    def put(self, payload: bytes) -> str:
        event = _AsyncEvent(payload, str(uuid.uuid4()), self.runtime.sandbox_time())
        with self._cv:
            self._events.append(event)
            self._cv.notify()
        return event.request_id

    def idle(self) -> bool:
        with self._cv:
            return not self._events and not self.busy

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        with self._cv:
            self._cv.notify_all()
        self._thread.join(timeout=10)

    def _next(self) -> _AsyncEvent | None:
        with self._cv:
            while not self.runtime._stop.is_set():
                now = time.monotonic()
                ready = [e for e in self._events if e.due <= now]
                if ready:
                    event = min(ready, key=lambda e: e.due)
                    self._events.remove(event)
                    self.busy = True
                    return event
                wait = min((e.due for e in self._events), default=now + 0.5) - now
                self._cv.wait(timeout=max(0.01, min(wait, 0.5)))
        return None

    def _run(self) -> None:
        while (event := self._next()) is not None:
            try:
                self._attempt(event)
            finally:
                with self._cv:
                    self.busy = False

    def _attempt(self, event: _AsyncEvent) -> None:
        if self.runtime.sandbox_time() - event.enqueued_sandbox > self.max_age_s:
            self._fail(event, "EventAgeExceeded", None)
            return
        result = self.function.invoke(event.payload)
        event.attempts += 1
        if result.ok:
            if self.on_success:
                self._record(self.on_success, event, "Success", result)
            return
        if event.attempts <= self.max_retries:
            delay = ASYNC_RETRY_DELAYS_S[min(event.attempts - 1, len(ASYNC_RETRY_DELAYS_S) - 1)]
            event.due = time.monotonic() + delay / self.runtime.clock_factor
            with self._cv:
                self._events.append(event)
            return
        self._fail(event, "RetriesExhausted", result)

    def _fail(self, event: _AsyncEvent, condition: str, result: InvokeResult | None) -> None:
        if self.on_failure:
            self._record(self.on_failure, event, condition, result)
        elif self.dead_letter:
            error = (result.json() if result else None) or {}
            attributes = {
                "RequestID": {"DataType": "String", "StringValue": event.request_id},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {
                    "DataType": "String",
                    "StringValue": str(error.get("errorMessage", condition)),
                },
            }
            self.runtime._destinations.send(self.dead_letter, event.payload.decode(), attributes)
        else:
            self.dropped += 1

    def _record(self, arn: str, event: _AsyncEvent, condition: str, result: InvokeResult | None) -> None:
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": _now_iso(),
            "requestContext": {
                "requestId": event.request_id,
                "functionArn": f"{self.function.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": event.attempts,
            },
            "requestPayload": json.loads(event.payload or b"{}"),
            "responseContext": _response_context(result),
        }
        if result is not None:
            record["responsePayload"] = result.json()
        self.runtime._destinations.send(arn, json.dumps(record))


# ---------------------------------------------------------------------------------------------------------
# EventBridge Scheduler
# ---------------------------------------------------------------------------------------------------------

_UNIT_SECONDS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}


def _cron_field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows; None for * and ? (any)."""
    if text in ("*", "?"):
        return None
    if re.search(r"[LW#]", text):
        raise SandboxUnsupported(f"cron field {text!r}: L, W and # are not supported by the sandbox")
    values: set[int] = set()
    for part in text.split(","):
        part_range, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if part_range == "*":
            start, end = low, high
        else:
            bounds = [
                int(names[b.upper()]) if names and b.upper() in names else int(b)
                for b in part_range.split("-")
            ]
            start, end = bounds[0], bounds[-1] if len(bounds) > 1 else (high if step_text else bounds[0])
        values.update(range(start, end + 1, step))
    return values


class Schedule:
    """One EventBridge Scheduler schedule, fired on the sandbox clock.

    Targets (EventBridge Scheduler User Guide, "Using templated targets"): a Lambda function is invoked
    asynchronously with the target's Input; a Step Functions state machine gets a StartExecution with the Input,
    made as the target's RoleArn would make it ("Set up the execution role": the role must trust
    ``scheduler.amazonaws.com`` and allow ``states:StartExecution`` on the machine): the request goes to the
    emulator over HTTP signed with a session of that role, so the ``iam-request-context`` patch decides. A refused
    or failed delivery is recorded in :attr:`failed_deliveries` and the runtime's notes (RetryPolicy and
    DeadLetterConfig are not exercised).

    Context attributes ("Adding context attributes in EventBridge Scheduler",
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html) are replaced in
    the Input of every target: ``<aws.scheduler.scheduled-time>`` by the time the schedule was due (for example
    ``2022-03-22T18:59:43Z``), ``<aws.scheduler.schedule-arn>``, ``<aws.scheduler.execution-id>`` (16 hex digits,
    new for each invocation) and ``<aws.scheduler.attempt-number>`` (always 1: no retries). Assumption: the
    execution started for a state machine is named after the execution id.
    """

    TARGET_SERVICES = ("lambda", "states")

    def __init__(self, runtime: LocalLambdaRuntime, config: dict) -> None:
        self.runtime = runtime
        self.name: str = config["Name"]
        self.arn: str = config.get("Arn") or ""
        self.expression: str = config["ScheduleExpression"]
        self.target_arn: str = config["Target"]["Arn"]
        self.role_arn: str = config["Target"].get("RoleArn") or ""
        self.input: str = config["Target"].get("Input") or "{}"
        parts = self.target_arn.split(":")
        self.service = parts[2] if len(parts) > 2 else ""
        if self.service == "states" and ":stateMachine:" not in self.target_arn:
            raise SandboxUnsupported(f"schedule {self.name}: target {self.target_arn} is not a state machine")
        self.zone = ZoneInfo(config.get("ScheduleExpressionTimezone") or "UTC")
        self.fires = 0
        self.started: list[str] = []  # execution ARNs started for a state machine target
        self.failed_deliveries: list[str] = []
        self._done = False
        rate = re.fullmatch(r"rate\((\d+)\s+(\w+)\)", self.expression)
        cron = re.fullmatch(r"cron\((.+)\)", self.expression)
        at = re.fullmatch(r"at\((.+)\)", self.expression)
        if rate:
            unit = rate.group(2).lower()
            if unit not in _UNIT_SECONDS:
                raise SandboxUnsupported(f"schedule {self.name}: unknown rate unit {unit}")
            self.period_s = int(rate.group(1)) * _UNIT_SECONDS[unit]
            self.kind = "rate"
        elif cron:
            fields = cron.group(1).split()
            if len(fields) != 6:
                raise SandboxUnsupported(f"schedule {self.name}: cron() needs six fields")
            self.cron = (
                _cron_field(fields[0], 0, 59),
                _cron_field(fields[1], 0, 23),
                _cron_field(fields[2], 1, 31),
                _cron_field(fields[3], 1, 12, _MONTHS),
                _cron_field(fields[4], 1, 7, _DAYS),
                _cron_field(fields[5], 1970, 2199),
            )
            self.kind = "cron"
        elif at:
            self.at = datetime.fromisoformat(at.group(1)).replace(tzinfo=self.zone).timestamp()
            self.kind = "at"
        else:
            raise SandboxUnsupported(f"schedule {self.name}: expression {self.expression} is not supported")
        self.next_due = self._next_after(runtime.sandbox_time())

    def _next_after(self, sandbox_now: float) -> float | None:
        if self.kind == "rate":
            return sandbox_now + self.period_s
        if self.kind == "at":
            return None if self._done else self.at
        minute, hour, dom, month, dow, year = self.cron
        moment = datetime.fromtimestamp(sandbox_now, self.zone).replace(second=0, microsecond=0)
        for _ in range(366 * 24 * 60):
            moment += timedelta(minutes=1)
            cron_dow = (moment.isoweekday() % 7) + 1  # SUN=1 .. SAT=7
            if (
                (minute is None or moment.minute in minute)
                and (hour is None or moment.hour in hour)
                and (dom is None or moment.day in dom)
                and (month is None or moment.month in month)
                and (dow is None or cron_dow in dow)
                and (year is None or moment.year in year)
            ):
                return moment.timestamp()
        return None

    def payload(self, scheduled: float, execution_id: str, attempt: int = 1) -> str:
        """The target's Input with the context attributes replaced."""
        values = {
            "<aws.scheduler.scheduled-time>": datetime.fromtimestamp(scheduled, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "<aws.scheduler.schedule-arn>": self.arn,
            "<aws.scheduler.execution-id>": execution_id,
            "<aws.scheduler.attempt-number>": str(attempt),
        }
        text = self.input
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    def tick(self, sandbox_now: float) -> None:
        if self.next_due is None or sandbox_now < self.next_due:
            return
        self.fires += 1
        execution_id = uuid.uuid4().hex[:16]
        payload = self.payload(self.next_due, execution_id)
        if self.service == "states":
            self._start_execution(payload, execution_id)
        else:
            self.runtime.invoke_async(self.target_arn, payload.encode())
        if self.kind == "at":
            self._done = True
            self.next_due = None
        elif self.kind == "rate":
            self.next_due += self.period_s
        else:
            self.next_due = self._next_after(sandbox_now)

    def _start_execution(self, payload: str, execution_id: str) -> None:
        region = self.target_arn.split(":")[3]
        try:
            session = service_role_session(self.role_arn, "scheduler.amazonaws.com", self.name[:64], region)
            client = boto3.client(
                "stepfunctions",
                region_name=region,
                endpoint_url=self.runtime.endpoint_url,
                aws_access_key_id=session["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=session["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=session["AWS_SESSION_TOKEN"],
                config=Config(retries={"max_attempts": 1}, account_id_endpoint_mode="disabled"),
            )
            started = client.start_execution(
                stateMachineArn=self.target_arn, name=execution_id, input=payload
            )
            self.started.append(started["executionArn"])
        except (PermissionError, ClientError, KeyError, ValueError) as exc:
            problem = f"schedule {self.name}: StartExecution of {self.target_arn} failed: {type(exc).__name__}: {exc}"
            self.failed_deliveries.append(problem)
            self.runtime._note(problem)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "expression": self.expression,
            "target": self.target_arn,
            "fires": self.fires,
            "failed_deliveries": len(self.failed_deliveries),
        }


def service_role_session(role_arn: str, service: str, session_name: str, region: str) -> dict[str, str]:
    """A session of ``role_arn`` as an AWS service assumes it for its compute (Lambda for a function, EC2 for an
    instance profile), as the standard variables ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
    ``AWS_SESSION_TOKEN``. Raises PermissionError when the role's trust policy does not let ``service`` assume it.

    The emulator's STS creates the session directly: an AssumeRole over HTTP would be signed by the admin user,
    whom the trust policy rightly refuses.
    """
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    account = role_arn.split(":")[4]
    role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    trust = json.loads(role.assume_role_policy_document)
    if not any(
        statement.get("Effect") == "Allow"
        and "sts:AssumeRole" in _as_list(statement.get("Action"))
        and service in _as_list((statement.get("Principal") or {}).get("Service"))
        for statement in _as_list(trust.get("Statement"))
    ):
        raise PermissionError(f"the role {role_arn} cannot be assumed by {service}")
    session = sts_backends[account]["aws"].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,
        duration=43200,
        external_id=None,
    )
    return {
        "AWS_ACCESS_KEY_ID": session.access_key_id,
        "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
        "AWS_SESSION_TOKEN": session.session_token,
    }


# ---------------------------------------------------------------------------------------------------------
# The runtime
# ---------------------------------------------------------------------------------------------------------


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
    "service_role_session",
]
