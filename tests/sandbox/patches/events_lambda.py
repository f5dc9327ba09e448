"""EventBridge rules deliver matching events to Lambda targets, as asynchronous invocations.

moto 5.2.5 delivers rule targets of type CloudWatch Logs, SQS, archives, event buses and API destinations;
a Lambda target makes ``Rule.send_to_targets`` raise ``NotImplementedError`` (so PutEvents fails). This patch
hands the event for each Lambda target to the sandbox's local Lambda runtime as an Event (asynchronous)
invocation and lets moto deliver the other targets as before.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.sandbox.lambda_runtime import LocalLambdaRuntime

NAME = "events-lambda-target"
FOLLOWS = (
    "EventBridge invokes a Lambda target asynchronously with the matched event, or with the target's Input, "
    "InputPath or InputTransformer result (Amazon EventBridge User Guide, 'Event bus targets', "
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html; AWS Lambda Developer Guide, "
    "'Invoking a Lambda function on a schedule or from EventBridge' and 'Asynchronous invocation'). "
    "The event's time is an ISO-8601 UTC string ('EventBridge events', "
    "https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html)."
)


def _is_lambda(target: dict) -> bool:
    parts = target.get("Arn", "").split(":")
    return len(parts) > 2 and parts[2] == "lambda"


def _iso_time(value: Any) -> Any:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def target_input(target: dict, event: dict) -> Any:
    """What EventBridge sends to the target for this event."""
    from moto.events.utils import EventTemplateParser

    if target.get("Input") is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    if target.get("InputTransformer"):
        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
    return event


@contextlib.contextmanager
def installed(*, runtime: LocalLambdaRuntime) -> Iterator[LocalLambdaRuntime]:
    from moto.events.models import Rule

    original = Rule.__dict__["send_to_targets"]

    def send_to_targets(self: Any, original_event: dict, transform_input: bool = True) -> None:
        lambda_targets = [t for t in self.targets if _is_lambda(t)]
        if not lambda_targets:
            return original(self, original_event, transform_input)
        if self.event_pattern.matches_event(original_event):
            event = {**original_event, "time": _iso_time(original_event.get("time"))}
            event.pop("ingestion-time", None)
            for target in lambda_targets:
                payload = target_input(target, event) if transform_input else event
                runtime.invoke_async(target["Arn"], json.dumps(payload).encode())
        others = [t for t in self.targets if not _is_lambda(t)]
        if others:
            # A shallow copy with the other targets, so the shared rule is never mutated.
            clone = copy.copy(self)
            clone.targets = others
            original(clone, original_event, transform_input)
        return None

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
    try:
        yield runtime
    finally:
        Rule.send_to_targets = original  # type: ignore[method-assign]
