"""SQS returns a queue's ``RedriveAllowPolicy`` attribute, as AWS does.

moto 5.2.5 accepts ``RedriveAllowPolicy`` in CreateQueue and SetQueueAttributes (it keeps every attribute it is
given) but leaves it out of GetQueueAttributes. hashicorp/aws waits after creating or updating a queue until
GetQueueAttributes shows every attribute it set, so a queue with ``redrive_allow_policy`` (every dead-letter queue of
this stack) never settles and ``terraform apply`` times out.

The patch adds the attribute to what moto's ``Queue.attributes`` reports whenever the queue holds one (the provider
asks for ``All``). moto enforces no redrive-allow policy, nor does the sandbox need it to.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

NAME = "sqs-redrive-allow-policy"
FOLLOWS = (
    "Amazon SQS API Reference, GetQueueAttributes and SetQueueAttributes: RedriveAllowPolicy (redrivePermission "
    "allowAll, denyAll or byQueue with sourceQueueArns) "
    "(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html)."
)


@contextmanager
def installed() -> Iterator[None]:
    from moto.sqs.models import Queue

    original = Queue.__dict__["attributes"]

    def attributes(self: Any) -> dict[str, Any]:
        result = original.fget(self)
        value = getattr(self, "redrive_allow_policy", None)
        if value is not None:
            result["RedriveAllowPolicy"] = value
        return result

    Queue.attributes = property(attributes)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Queue.attributes = original  # type: ignore[method-assign]
