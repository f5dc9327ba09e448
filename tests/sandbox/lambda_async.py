"""Asynchronous invocations of the local Lambda service (AWS Lambda Developer Guide, "How Lambda handles errors and
retries with asynchronous invocation").

An internal queue per function (:class:`AsyncQueue`): MaximumRetryAttempts (default 2) with one and two minutes
between attempts and MaximumEventAgeInSeconds (default 6 hours), both on the sandbox clock; the on-success and
on-failure destinations receive Lambda's invocation record, and without an on-failure destination a function
dead-letter queue receives the event.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.sandbox.lambda_destinations import Destinations, _response_context
from tests.sandbox.lambda_function import InvokeResult, LocalFunction, _now_iso

if TYPE_CHECKING:
    from tests.sandbox.lambda_runtime import LocalLambdaRuntime


ASYNC_RETRY_DELAYS_S = (60.0, 120.0)  # Lambda waits 1 minute, then 2 minutes, between asynchronous attempts
ASYNC_DEFAULT_RETRIES = 2
ASYNC_DEFAULT_MAX_AGE_S = 21600


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
