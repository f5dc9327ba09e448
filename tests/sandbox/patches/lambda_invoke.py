"""Lambda Invoke runs the deployed handler in the sandbox's local Lambda runtime, and only pollers feed mappings.

moto 5.2.5 runs an invoked function in Docker (or answers with a canned string), and it *pushes* stream
records and SQS messages to mapped functions from inside PutItem/SendMessage: it receives the SQS messages
itself and, for DynamoDB, empties the stream shard once its (Docker) invocation "succeeds". In AWS the Lambda
service polls both sources; the stream keeps its records for 24 hours whoever reads them. This patch routes
Invoke to :class:`tests.sandbox.lambda_runtime.LocalLambdaRuntime` and detaches moto's push delivery, so the
runtime's pollers are the only consumers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.sandbox.lambda_runtime import LocalLambdaRuntime

NAME = "lambda-invoke"
FOLLOWS = (
    "Invoke with InvocationType RequestResponse runs the function and returns its result, with "
    "X-Amz-Function-Error: Unhandled when it failed; InvocationType Event queues the event and answers 202; "
    "DryRun only checks (AWS Lambda API Reference, 'Invoke', "
    "https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). Event source mappings are pollers owned by "
    "Lambda that read the stream or queue ('Lambda event source mappings', "
    "https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html); reading a DynamoDB stream "
    "does not remove its records ('DynamoDB Streams', data retention 24 hours)."
)


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return value
    return None


def _detach(mapping: Any, saved: list[tuple[dict, str, Any]]) -> None:
    """Remove one mapping from the table or queue that moto would push to."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    arn = mapping.event_source_arn
    service, account = arn.split(":")[2], arn.split(":")[4]
    holders: list[dict] = []
    if service == "sqs":
        for queue in sqs_backends[account][mapping.region].queues.values():
            if queue.queue_arn == arn:
                holders.append(queue.lambda_event_source_mappings)
    elif service == "dynamodb":
        table_name = arn.split(":table/")[1].split("/")[0]
        with contextlib.suppress(Exception):
            holders.append(
                dynamodb_backends[account][mapping.region].get_table(table_name).lambda_event_source_mappings
            )
    for holder in holders:
        for key, value in list(holder.items()):
            if value is mapping:
                saved.append((holder, key, holder.pop(key)))


def _all_mappings() -> Iterator[Any]:
    from moto.awslambda.models import lambda_backends
    from moto.awslambda_simple.models import lambda_simple_backends

    for backends in (lambda_backends, lambda_simple_backends):
        for account in list(backends.values()):
            for backend in list(account.values()):
                yield from list(backend._event_source_mappings.values())


@contextlib.contextmanager
def installed(*, runtime: LocalLambdaRuntime | None = None) -> Iterator[LocalLambdaRuntime | None]:
    """Route Invoke to ``runtime`` and detach moto's push delivery from every mapping.

    With ``runtime=None`` only the push delivery is detached (Invoke keeps moto's behaviour): install it that
    way when the moto server starts, so writes made before the runtime starts stay in the stream and queue.
    """
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda_simple.models import LambdaSimpleBackend

    saved_methods = [
        (LambdaBackend, "invoke", LambdaBackend.__dict__["invoke"]),
        (LambdaSimpleBackend, "invoke", LambdaSimpleBackend.__dict__["invoke"]),
        (LambdaBackend, "create_event_source_mapping", LambdaBackend.__dict__["create_event_source_mapping"]),
    ]
    original_create = LambdaBackend.create_event_source_mapping
    detached: list[tuple[dict, str, Any]] = []

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ):
        function = self.get_function(function_name, qualifier)  # moto's 404 for an unknown function
        if isinstance(body, str):
            body = body.encode()
        payload = body or b"{}"
        invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
        response_headers["x-amz-executed-version"] = "$LATEST"
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            assert runtime is not None
            runtime.invoke_async(function.function_arn, payload)
            return b""
        assert runtime is not None
        result = runtime.invoke(function.function_arn, payload)
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        response_headers["Content-Length"] = str(len(result.payload))
        return result.payload

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        mapping = original_create(self, spec)
        _detach(mapping, detached)
        return mapping

    if runtime is not None:
        LambdaBackend.invoke = invoke  # type: ignore[method-assign]
        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]
    try:
        for mapping in _all_mappings():
            _detach(mapping, detached)
        yield runtime
    finally:
        for owner, name, method in saved_methods:
            setattr(owner, name, method)
        for holder, key, value in detached:
            holder.setdefault(key, value)
