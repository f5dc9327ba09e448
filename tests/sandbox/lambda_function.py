"""Execution environments of the local Lambda service: one deployed function and its warm worker process.

Each function gets one warm worker process (``lambda_worker.py``) that imports the handler from the deployment
package moto stored (never from the repository) with the function's environment plus the variables Lambda sets
(Developer Guide, "Using Lambda environment variables": reserved variables a function cannot override), and receives
a context object with the configured timeout and memory size. Invocations are serialized (one execution environment
per function); a payload above the 6 MB synchronous quota is refused; the init phase gets Lambda's 10 seconds; a
handler that runs past its timeout is killed and reported as ``Sandbox.Timedout``, a worker that dies as
``Runtime.ExitError``, and the next invocation starts a new worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("lambda_worker.py")
PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024  # synchronous invocation payload quota
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase of an on-demand function


class SandboxUnsupported(RuntimeError):
    """The deployed configuration uses a Lambda feature the sandbox does not emulate."""


def _now_iso(ts: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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
