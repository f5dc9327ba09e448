"""What the local Lambda service's event source mappings share: the mapping settings, statistics and invocation of
:class:`_Mapping` (BatchSize, MaximumBatchingWindowInSeconds, FunctionResponseTypes, the on-failure destination;
TumblingWindowInSeconds is refused), FilterCriteria (:class:`RecordFilter`) and the partial batch response
(:func:`_failed_identifiers`, Developer Guide "Implementing partial batch responses").

The pollers are :mod:`tests.sandbox.lambda_stream_poller` (DynamoDB Streams) and
:mod:`tests.sandbox.lambda_queue_poller` (SQS).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.sandbox.lambda_destinations import Destinations
from tests.sandbox.lambda_function import InvokeResult, SandboxUnsupported

if TYPE_CHECKING:
    from tests.sandbox.lambda_runtime import LocalLambdaRuntime


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


@dataclass
class MappingStats:
    batches: int = 0
    max_batch: int = 0
    retries: int = 0
    bisections: int = 0
    on_failure_sent: int = 0
    filtered_out: int = 0
    # Wall seconds the mapping's function spent on its batches (a stream shard's poller reads nothing meanwhile; a
    # queue's gathers the next batch). tests/sandbox/calibration.py measures the loader's run time with it.
    in_flight_seconds: float = 0.0


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
        started = time.monotonic()
        try:
            return self.function.invoke(payload, records=len(records))
        finally:
            self.stats.in_flight_seconds += time.monotonic() - started

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
