"""S3 answers a deterministic share of PutObject calls with ``503 SlowDown`` (fault injection).

moto never throttles. Amazon S3 does: past a prefix's request rate (at least 3,500
PUT/COPY/POST/DELETE a second, scaled up over time) it answers ``503 Slow Down`` until it has
scaled, and the SDKs retry it as a throttling error. While :func:`installed` is active, every
``every``-th PutObject into ``bucket`` gets that answer (S3's error document, code ``SlowDown``,
"Please reduce your request rate.") and stores nothing, so the caller's retries are what keeps
the change. The count is per process and in arrival order, so a run is deterministic for a given
sequence of calls, and a retry (the next call) goes through unless ``every`` is 1.

``on_put(bucket, key)`` sees every PutObject into ``bucket`` before it is answered: the demo uses
it to kill the writer while its batch is in flight (``--faults kill-writer``).

Multipart uploads, copies and the ACL, tagging, retention and legal-hold sub-resources are not
throttled here.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

NAME: Final = "s3-slowdown"
FOLLOWS: Final = (
    "Amazon S3 API Reference, 'Error responses' (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html): "
    "SlowDown, 'Please reduce your request rate.', HTTP 503 Slow Down, in S3's <Error> XML document; Amazon S3 "
    "User Guide, 'Best practices design patterns: optimizing Amazon S3 performance' "
    "(https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html): 503 Slow Down while "
    "S3 scales for a prefix's request rate. Injected on every Nth PutObject into one bucket (fault injection)."
)
_SUB_RESOURCES: Final = ("uploadId", "partNumber", "acl", "tagging", "retention", "legal-hold")


@dataclass(slots=True)
class SlowDown:
    """What the patch did: PutObject calls seen and answered with SlowDown."""

    bucket: str
    every: int
    on_put: Callable[[str, str], None] | None = None
    puts: int = 0
    slowdowns: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self, key: str) -> bool:
        """Count one PutObject of ``key``; True when this one is to be refused."""
        with self._lock:
            self.puts += 1
            refuse = self.every > 0 and self.puts % self.every == 0
            self.slowdowns += refuse
        return refuse

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "bucket": self.bucket,
                "every": self.every,
                "put_calls": self.puts,
                "slowdowns": self.slowdowns,
            }


def error_response() -> tuple[int, dict[str, str], bytes]:
    """S3's 503 SlowDown, as the service sends it."""
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>sandbox</HostId></Error>"
    ).encode()
    return 503, {"content-type": "application/xml", "x-amz-request-id": request_id}, body


@contextlib.contextmanager
def installed(
    bucket: str, *, every: int, on_put: Callable[[str, str], None] | None = None
) -> Iterator[SlowDown]:
    """Throttle every ``every``-th PutObject into ``bucket`` (0: none, only ``on_put``); yields the counts."""
    from moto.s3.responses import S3Response

    state = SlowDown(bucket, every, on_put)
    original = S3Response.__dict__["_key_response_put"]

    def _key_response_put(self: Any, query: dict[str, Any], key_name: str) -> Any:
        plain_put = (
            self.bucket_name == bucket
            and "x-amz-copy-source" not in self.headers
            and not any(name in query for name in _SUB_RESOURCES)
        )
        if plain_put:
            if state.on_put is not None:
                state.on_put(bucket, key_name)
            if state.decide(key_name):
                return error_response()
        return original(self, query, key_name)

    S3Response._key_response_put = _key_response_put  # type: ignore[method-assign]
    try:
        yield state
    finally:
        S3Response._key_response_put = original  # type: ignore[method-assign]
