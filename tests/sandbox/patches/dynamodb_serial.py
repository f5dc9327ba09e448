"""A DynamoDB Scan that runs while other requests write the table returns a page, never an internal error.

moto 5.2.5 keeps a table's items in plain dicts and its server answers requests on several threads, so a Scan
that iterates the table while a BatchWriteItem adds or removes a key fails with ``RuntimeError: dictionary
changed size during iteration`` (HTTP 500). A backfill scanning while the generator writes (the race the
backfill must survive) meets it every few pages. DynamoDB serves a Scan concurrently with writes: each item is
returned as it was at some moment during the scan, and the Scan does not fail because the table changed
("Scan", Amazon DynamoDB Developer Guide: "Read consistency for scans"). This patch serializes moto's DynamoDB
requests on one lock, which gives exactly that: every request sees the table between two writes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any, Final

NAME: Final = "dynamodb-serialized-requests"
FOLLOWS: Final = (
    "Amazon DynamoDB Developer Guide, 'Scan', 'Read consistency for scans' "
    "(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.ReadConsistency): a Scan "
    "running while the table is written returns items as they were at some moment; it does not fail. moto's "
    "in-memory table raises 'dictionary changed size during iteration' (HTTP 500) instead."
)

_LOCK = threading.RLock()


@contextlib.contextmanager
def installed() -> Iterator[None]:
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]
