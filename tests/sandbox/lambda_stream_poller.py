"""DynamoDB Streams event source mappings of the local Lambda service (AWS Lambda Developer Guide, "Using AWS Lambda
with Amazon DynamoDB" and "Implementing partial batch responses").

Each shard is polled with GetRecords about four times a second from the mapping's starting position (TRIM_HORIZON
or LATEST); batches respect BatchSize, MaximumBatchingWindowInSeconds and the 6 MB invocation payload limit;
failures honour ReportBatchItemFailures, BisectBatchOnFunctionError (splitting does not consume retries),
MaximumRetryAttempts, MaximumRecordAgeInSeconds and the on-failure destination, which receives the invocation record
with ``DDBStreamBatchInfo`` ("Retaining discarded records for a DynamoDB event source"). Records are handed to the
function in the shape Lambda uses (:func:`dynamodb_lambda_record`).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from tests.sandbox.lambda_destinations import _response_context
from tests.sandbox.lambda_function import PAYLOAD_LIMIT_BYTES, InvokeResult, SandboxUnsupported, _now_iso
from tests.sandbox.lambda_mapping import RecordFilter, _failed_identifiers, _Mapping

if TYPE_CHECKING:
    from tests.sandbox.lambda_runtime import LocalLambdaRuntime


STREAM_POLLS_PER_SECOND = 4
GET_RECORDS_LIMIT = 1000


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
