"""Destinations of the local Lambda service: where invocation records of asynchronous invocations and discarded
stream batches go.

Only SQS queues and SNS topics are emulated (:meth:`Destinations.check` refuses other destination types at start).
The records themselves are built by the callers (:mod:`tests.sandbox.lambda_async` for asynchronous invocations,
:mod:`tests.sandbox.lambda_stream_poller` for "Retaining discarded records for a DynamoDB event source"); the
``responseContext`` they share is :func:`_response_context`.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from tests.sandbox.lambda_function import InvokeResult, SandboxUnsupported


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
