"""Thin wrappers over boto3 clients: the only code in the writers that does I/O.

Clients are handed in, never built at import time, so moto (or a fake) can stand in.
Every failure raises, except Firehose throttling, which the delivery loop retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

from botocore import exceptions as botocore_errors
from botocore.config import Config

from ddb_cdc import obs, quarantine
from ddb_cdc.quarantine import PutObject, SendMessage

# Fail fast enough that the writer's own retry loop and the Lambda timeout stay in
# charge; botocore's standard mode still retries throttles and 5xx a few times.
CLIENT_CONFIG: Final = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "max_attempts": 3},
)

# Whole-call errors after which every entry counts as failed and is retried.
FIREHOSE_RETRYABLE: Final = frozenset(
    {
        "ServiceUnavailableException",
        "ThrottlingException",
        "LimitExceededException",
        "InternalFailure",
        "InternalFailureException",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def client(service: Literal["s3", "sqs", "firehose", "dynamodb", "lambda"]) -> Any:
    """A boto3 client with the writers' timeouts; region and credentials from the environment."""
    import boto3  # deferred: importing the package must not need (or build) AWS clients

    return boto3.client(service, config=CLIENT_CONFIG)


class ObjectStore:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._client = s3_client
        self.bucket = bucket

    def put(self, key: str, body: bytes, *, content_type: str, metadata: Mapping[str, str]) -> None:
        self._client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, Metadata=dict(metadata)
        )


class MessageQueue:
    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._client = sqs_client
        self.url = queue_url

    def send(self, body: str) -> None:
        self._client.send_message(QueueUrl=self.url, MessageBody=body)


class DeliveryStream:
    def __init__(self, firehose_client: Any, name: str) -> None:
        self._client = firehose_client
        self.name = name

    def put_batch(self, data: Sequence[bytes]) -> list[str | None]:
        """One PutRecordBatch call; one error code per entry (None when it was accepted)."""
        try:
            response = self._client.put_record_batch(
                DeliveryStreamName=self.name, Records=[{"Data": item} for item in data]
            )
        except botocore_errors.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in FIREHOSE_RETRYABLE:
                return [code] * len(data)
            raise
        except (botocore_errors.ConnectionError, botocore_errors.HTTPClientError) as exc:
            return [type(exc).__name__] * len(data)
        return [entry.get("ErrorCode") for entry in response["RequestResponses"]]


def send_quarantine(
    actions: Iterable[SendMessage | PutObject], dlq: MessageQueue, spill: ObjectStore | None
) -> None:
    """Carry out a quarantine plan in order (spill object before the message pointing at it)."""
    for action in actions:
        if isinstance(action, PutObject):
            if spill is None:
                raise RuntimeError("quarantine plan spills to S3 but no bucket is configured")
            spill.put(action.key, action.body, content_type="application/json", metadata={})
        else:
            dlq.send(action.body)


def quarantine_records(
    items: Iterable[quarantine.Quarantined],
    *,
    source_table: str,
    bucket: str | None,
    prefix: str,
    fallback_ms: int,
    dlq: MessageQueue,
    spill: ObjectStore | None,
    log: logging.Logger,
    request_id: str | None,
) -> None:
    """Quarantine every set-aside record of a batch (both writers), logging one line per record."""
    for item in items:
        actions = quarantine.plan(
            item, source_table=source_table, bucket=bucket, prefix=prefix, fallback_ms=fallback_ms
        )
        send_quarantine(actions, dlq, spill)
        obs.log(
            log,
            logging.WARNING,
            "record quarantined",
            reason=item.reason,
            event_id=item.event_id,
            seq=item.seq,
            dlq_messages=sum(isinstance(a, SendMessage) for a in actions),
            spilled_to=next((a.key for a in actions if isinstance(a, PutObject)), None),
            request_id=request_id,
        )
