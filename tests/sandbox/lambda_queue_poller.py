"""SQS event source mappings of the local Lambda service (AWS Lambda Developer Guide, "Using Lambda with Amazon SQS").

Per mapping, a long-polling thread gathers batches (BatchSize and batching window, the SQS event shape of
:func:`sqs_lambda_record`, FilterCriteria on the JSON body: non-matching messages are deleted) and a second thread
invokes the function with them, one at a time: deletion on success, ReportBatchItemFailures, and redelivery after the
visibility timeout (moto moves a message to the queue's dead-letter queue once it was received more than
maxReceiveCount times).

The poller keeps gathering while the function runs, as Lambda's SQS pollers do (they process batches concurrently, up
to the mapping's maximum concurrency, and retry a batch the function's reserved concurrency throttles: Developer
Guide, "Configuring scaling behavior for SQS event source mappings" and "Handling errors for an SQS event source").
Every function the module maps to a queue is reserved at concurrency 1 with ``maximum_concurrency = 2``, the least
SQS accepts, so the sandbox holds at most :data:`BATCHES_IN_HAND` batches: one in the function, the next gathered
and waiting for it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import queue
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from tests.sandbox.lambda_function import PAYLOAD_LIMIT_BYTES
from tests.sandbox.lambda_mapping import RecordFilter, _failed_identifiers, _Mapping

if TYPE_CHECKING:
    from tests.sandbox.lambda_runtime import LocalLambdaRuntime

# One batch in the function (reserved concurrency 1) and one gathered meanwhile (the mapping's maximum concurrency, 2).
BATCHES_IN_HAND: Final = 2


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
        self._holding = 0  # messages of the batch being gathered
        self._in_hand = 0  # batches gathered and not yet finished by the function
        self._count_lock = threading.Lock()
        self._slots = threading.Semaphore(BATCHES_IN_HAND)
        self._ready: queue.Queue[list[dict]] = queue.Queue()
        self._threads = [
            threading.Thread(target=runtime._guard(self._poll), name=f"sqs-{self.uuid[:8]}", daemon=True),
            threading.Thread(
                target=runtime._guard(self._invoke_ready), name=f"sqs-invoke-{self.uuid[:8]}", daemon=True
            ),
        ]

    def idle(self) -> bool:
        if self._holding or self._in_hand:
            return False
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return not self._holding and not self._in_hand and all(int(v) == 0 for v in attributes.values())

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
            # A new batch is gathered only while fewer than BATCHES_IN_HAND are gathered or in the function.
            if not self._slots.acquire(timeout=0.25):
                continue
            batch = self._gather()
            if not batch:
                self._slots.release()
                continue
            with self._count_lock:
                self._in_hand += 1
            self._holding = 0
            self._ready.put(batch)

    def _invoke_ready(self) -> None:
        """Invoke the function with each gathered batch in turn (it is reserved at concurrency 1)."""
        while not self._stop.is_set():
            try:
                batch = self._ready.get(timeout=0.25)
            except queue.Empty:
                continue
            try:
                self._deliver(batch)
            finally:
                with self._count_lock:
                    self._in_hand -= 1
                self._slots.release()

    def _gather(self) -> list[dict]:
        """One batch: messages until BatchSize, the payload limit, or the batching window after the first."""
        batch: list[dict] = []
        size = 0
        started: float | None = None
        while not self._stop.is_set():
            if batch:
                left = self.window_s - (time.monotonic() - (started or 0))
                if left <= 0:
                    break
                wait = 1
                if left < 1:
                    # WaitTimeSeconds is whole seconds: a long poll would close the window up to a second late
                    # (Lambda closes it on time), so the last second is short polls a tenth of a second apart.
                    self._stop.wait(min(left, 0.1))
                    wait = 0
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
        return batch

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
