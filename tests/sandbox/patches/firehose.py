"""Firehose delivery to S3 the way the service does it: buffered, compressed, under evaluated prefixes.

moto 5.2.5 writes one uncompressed object per PutRecord/PutRecordBatch call, always under
``<Prefix>YYYY/MM/DD/HH/`` with the ``!{...}`` expressions left as literal text. The Firehose
aggregation depends on the real behaviour (Amazon Data Firehose Developer Guide):

- *Buffering hints* (buffering-hints.html; API_BufferingHints): records are buffered per stream and
  destination and delivered when the buffer reaches ``SizeInMBs`` MiB or ``IntervalInSeconds`` have passed,
  "the first buffer condition that is satisfied triggers" delivery; defaults 5 MiB and 300 s; an interval
  of 0 delivers within seconds. The hints buffer "incoming data", so size counts record bytes as received,
  before compression.
- *Data delivery format* (basic-deliver.html): the records of one object are concatenated as received,
  with no delimiter added.
- *Custom prefixes* (s3-prefixes.html): ``!{timestamp:<Java DateTimeFormatter pattern>}`` evaluates to the
  approximate arrival time of the oldest record in the object (UTC unless ``CustomTimeZone``), every
  occurrence in one prefix to the same instant; ``!{firehose:random-string}`` to 11 random characters;
  ``!{firehose:error-output-type}`` to the failure kind (error prefixes only). Its *semantic rules*: a prefix
  with no timestamp expression gets ``!{timestamp:yyyy/MM/dd/HH/}`` appended (so no prefix means the default
  ``YYYY/MM/dd/HH/``); quoted text in a pattern is literal; ErrorOutputPrefix can't be null when Prefix has
  expressions and must then contain ``!{firehose:error-output-type}``, which Prefix can't contain. Those rules
  are checked at CreateDeliveryStream/UpdateDestination, so a misconfigured module fails at apply.
- *S3 object name format* (s3-object-name.html): ``<evaluated prefix><stream name>-<stream version>-
  <yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid><file extension>``; compression GZIP without a ``FileExtension``
  appends ``.gz``.
- *PutRecordBatch* (API_PutRecordBatch): at most 500 records and 4 MiB per call, 1,000 KiB per record;
  one ``RequestResponses`` entry with a ``RecordId`` per record, in order; ``Encrypted`` tells whether
  server-side encryption is on.

A failed S3 write keeps the records and is retried (the service retries for up to 24 hours). The patch
replaces the backend methods (not the HTTP layer), so it acts the same under ``moto.mock_aws``
and under a ``ThreadedMotoServer`` running in this process. Objects are written through moto's S3
backend ``put_object``, so bucket notifications fire as they would for Firehose's own PUTs.
"""

from __future__ import annotations

import gzip
import inspect
import logging
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from moto.firehose import models as firehose_models
from moto.firehose.exceptions import InvalidArgumentException, ResourceNotFoundException, ValidationException
from moto.s3.models import s3_backends

NAME = "firehose-buffered-s3-delivery"
FOLLOWS = (
    "Amazon Data Firehose Developer Guide: 'Understand buffering hints' "
    "(https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html), "
    "'Understand data delivery in Amazon Data Firehose' (https://docs.aws.amazon.com/firehose/latest/dev/basic-deliver.html), "
    "'Understand custom prefixes for Amazon S3 objects' (https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html), "
    "including its semantic rules, "
    "'Configure Amazon S3 object name format' (https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html); "
    "API reference: BufferingHints, PutRecordBatch."
)

MIB = 1024 * 1024
DEFAULT_SIZE_MB = 5
DEFAULT_INTERVAL_SECONDS = 300
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * MIB
MAX_RECORD_BYTES = 1000 * 1024
DEFAULT_TIME_PREFIX = "yyyy/MM/dd/HH/"
RANDOM_STRING_LENGTH = 11
# How long a failed S3 write waits before the next attempt (Firehose itself retries for up to 24 h).
RETRY_SECONDS = 1.0

_EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
_DEFAULT_EXTENSIONS = {"GZIP": ".gz", "ZIP": ".zip", "Snappy": ".snappy", "HADOOP_SNAPPY": ".hsnappy"}

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Prefix evaluation (pure)
# ---------------------------------------------------------------------------


def format_java_datetime(pattern: str, instant: datetime) -> str:
    """Render ``instant`` with a Java DateTimeFormatter pattern (the subset prefixes use).

    Letters: y/u (year; ``yy`` = two digits), M (month; MMM/MMMM = names), d, D (day of year), H, k,
    h, K, m, s, S (fraction), a (AM/PM), E (day name). Text in single quotes is literal, ``''`` is a quote;
    other non-letters are literal. An unsupported letter raises ``ValueError`` rather than guessing.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = i + 1
            literal: list[str] = []
            while end < len(pattern):
                if pattern[end] == "'":
                    if end + 1 < len(pattern) and pattern[end + 1] == "'":
                        literal.append("'")
                        end += 2
                        continue
                    break
                literal.append(pattern[end])
                end += 1
            else:
                raise ValueError(f"unterminated quote in DateTimeFormatter pattern {pattern!r}")
            out.append("".join(literal) if end > i + 1 else "'")
            i = end + 1
            continue
        if not char.isalpha():
            out.append(char)
            i += 1
            continue
        run = 1
        while i + run < len(pattern) and pattern[i + run] == char:
            run += 1
        out.append(_field(char, run, instant, pattern))
        i += run
    return "".join(out)


def _field(letter: str, width: int, instant: datetime, pattern: str) -> str:
    numbers = {
        "d": instant.day,
        "D": instant.timetuple().tm_yday,
        "H": instant.hour,
        "k": instant.hour or 24,
        "h": instant.hour % 12 or 12,
        "K": instant.hour % 12,
        "m": instant.minute,
        "s": instant.second,
    }
    if letter in ("y", "u"):
        return f"{instant.year % 100:02d}" if width == 2 else f"{instant.year:0{width}d}"
    if letter == "M":
        if width >= 4:
            return instant.strftime("%B")
        if width == 3:
            return instant.strftime("%b")
        return f"{instant.month:0{width}d}"
    if letter in numbers:
        return f"{numbers[letter]:0{width}d}"
    if letter == "S":
        return f"{instant.microsecond:06d}{'0' * 3}"[:width]
    if letter == "a":
        return "AM" if instant.hour < 12 else "PM"
    if letter == "E":
        return instant.strftime("%A" if width >= 4 else "%a")
    raise ValueError(f"DateTimeFormatter letter {letter!r} in {pattern!r} is not supported by the sandbox")


def random_string() -> str:
    """``!{firehose:random-string}``: 11 random lowercase letters and digits."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(RANDOM_STRING_LENGTH))


def expand_prefix(
    template: str | None,
    instant: datetime,
    *,
    error_output_type: str | None = None,
    random: Callable[[], str] = random_string,
) -> str:
    """Evaluate a Prefix or ErrorOutputPrefix at ``instant`` (already in the stream's time zone).

    A prefix without a ``!{timestamp:...}`` expression gets the default ``yyyy/MM/dd/HH/`` appended.
    ``!{firehose:error-output-type}`` is only valid when evaluating an error prefix.
    """
    template = template or ""
    if "!{timestamp:" not in template:
        template = template + "!{timestamp:" + DEFAULT_TIME_PREFIX + "}"

    def evaluate(match: re.Match[str]) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return format_java_datetime(value, instant)
        if namespace == "firehose" and value == "random-string":
            return random()
        if namespace == "firehose" and value == "error-output-type":
            if error_output_type is None:
                raise ValueError("!{firehose:error-output-type} is only valid in ErrorOutputPrefix")
            return error_output_type
        raise ValueError(f"prefix expression {match.group(0)!r} is not supported by the sandbox")

    return _EXPRESSION.sub(evaluate, template)


def validate_prefixes(destination: dict[str, Any]) -> None:
    """The documented semantic rules for Prefix and ErrorOutputPrefix, checked when a stream is configured.

    Raises ``ValueError`` for: ``!{firehose:error-output-type}`` in Prefix; expressions in Prefix without an
    ErrorOutputPrefix; an ErrorOutputPrefix with expressions but no error-output-type; ``!{`` outside an
    expression; a namespace or DateTimeFormatter letter the sandbox does not evaluate.
    """
    prefix = destination.get("Prefix") or ""
    error_prefix = destination.get("ErrorOutputPrefix") or ""
    error_type = "!{firehose:error-output-type}"
    if error_type in prefix:
        raise ValueError("Prefix can't contain !{firehose:error-output-type}")
    if _EXPRESSION.search(prefix) and not error_prefix:
        raise ValueError("ErrorOutputPrefix can't be null when Prefix contains expressions")
    if _EXPRESSION.search(error_prefix) and error_type not in error_prefix:
        raise ValueError("ErrorOutputPrefix with expressions must contain !{firehose:error-output-type}")
    for template in (prefix, error_prefix):
        if "!{" in _EXPRESSION.sub("", template):
            raise ValueError(f"'!{{' may only start a !{{namespace:value}} expression: {template!r}")
    probe = datetime(2018, 8, 27, 10, 30, tzinfo=UTC)
    expand_prefix(prefix, probe)
    expand_prefix(error_prefix, probe, error_output_type="processing-failed")


def object_key(
    destination: dict[str, Any],
    stream_name: str,
    version_id: str,
    oldest_arrival: datetime,
    *,
    random: Callable[[], str] = random_string,
    object_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> str:
    """``<evaluated prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`` for one object."""
    zone = destination.get("CustomTimeZone")
    local = oldest_arrival.astimezone(ZoneInfo(zone) if zone else UTC)
    prefix = expand_prefix(destination.get("Prefix"), local, random=random)
    compression = destination.get("CompressionFormat") or "UNCOMPRESSED"
    extension = destination.get("FileExtension")
    if extension is None:
        extension = _DEFAULT_EXTENSIONS.get(compression, "")
    return f"{prefix}{stream_name}-{version_id}-{local:%Y-%m-%d-%H-%M-%S}-{object_id()}{extension}"


def encode_object(destination: dict[str, Any], records: list[bytes]) -> bytes:
    """Concatenate the records as received (no delimiter) and compress as configured."""
    body = b"".join(records)
    compression = destination.get("CompressionFormat") or "UNCOMPRESSED"
    if compression == "UNCOMPRESSED":
        return body
    if compression == "GZIP":
        return gzip.compress(body, mtime=0)
    raise ValueError(f"CompressionFormat {compression!r} is not supported by the sandbox")


def buffering_hints(destination: dict[str, Any]) -> tuple[int, float]:
    """(size limit in bytes, interval in seconds), with the service defaults 5 MiB and 300 s."""
    hints = destination.get("BufferingHints") or {}
    size_mb = int(hints.get("SizeInMBs", DEFAULT_SIZE_MB))
    interval = float(hints.get("IntervalInSeconds", DEFAULT_INTERVAL_SECONDS))
    return size_mb * MIB, interval


def s3_destination(stream: Any) -> tuple[str, dict[str, Any]] | None:
    """(destination id, config) of the stream's S3 destination; ExtendedS3 wins over the S3 copy moto adds."""
    for destination in stream.destinations:
        for kind in ("ExtendedS3", "S3"):
            if kind in destination:
                return destination["destination_id"], destination[kind]
    return None


# ---------------------------------------------------------------------------
# Buffers and the delivery thread
# ---------------------------------------------------------------------------

BufferKey = tuple[str, str, str, str]  # account, region, delivery stream name, destination id


@dataclass
class _Buffer:
    records: list[bytes] = field(default_factory=list)
    size: int = 0
    oldest_arrival: datetime | None = None
    opened_at: float = 0.0  # monotonic time the first record entered the buffer
    retry_at: float = 0.0  # monotonic time before which a failed delivery is not retried


class FirehoseDelivery:
    """Handle of the installed patch: the buffers, the delivery thread and the counters."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        interval_scale: float,
    ) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._interval_scale = interval_scale
        self._lock = threading.Condition(threading.Lock())
        self._in_flight = 0
        self._buffers: dict[BufferKey, _Buffer] = {}
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []
        self._stats = {
            "records": 0,
            "record_bytes": 0,
            "objects": 0,
            "bytes": 0,
            "flushes_by_size": 0,
            "flushes_by_interval": 0,
            "flushes_forced": 0,
            "records_dropped": 0,
        }

    # -- public -----------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Totals since install: records accepted and their bytes (``record_bytes``, before compression),
        objects written and their bytes (``bytes``, as stored), flushes by trigger, records dropped
        because their stream was deleted first, and failed S3 writes (retried, see ``errors``)."""
        with self._lock:
            return {**self._stats, "delivery_errors": len(self.errors)}

    def idle(self) -> bool:
        """True when no record waits in any buffer (every accepted record is in S3 or was dropped)."""
        with self._lock:
            return not self._buffers and self._in_flight == 0

    def flush(self) -> int:
        """Deliver every buffer now (not something the service offers; for shutdown). Returns objects written."""
        with self._lock:
            written = 0
            for key in list(self._buffers):
                if key in self._buffers:
                    written += self._deliver(key, "flushes_forced")
            return written

    # -- called by the patched backend -------------------------------------

    def accept(self, backend: Any, stream: Any, data: list[bytes]) -> None:
        found = s3_destination(stream)
        assert found is not None
        destination_id, destination = found
        size_limit, _ = buffering_hints(destination)
        key = (backend.account_id, backend.region_name, stream.delivery_stream_name, destination_id)
        with self._lock:
            for record in data:
                buffer = self._buffers.get(key)
                if buffer is None:
                    buffer = self._buffers[key] = _Buffer(
                        oldest_arrival=self._clock(), opened_at=self._monotonic()
                    )
                buffer.records.append(record)
                buffer.size += len(record)
                self._stats["records"] += 1
                self._stats["record_bytes"] += len(record)
                if buffer.size >= size_limit and buffer.retry_at <= self._monotonic():
                    self._deliver(key, "flushes_by_size")
            self._lock.notify_all()

    def discard(self, account_id: str, region: str, stream_name: str) -> None:
        with self._lock:
            for key in [k for k in self._buffers if k[:3] == (account_id, region, stream_name)]:
                self._stats["records_dropped"] += len(self._buffers.pop(key).records)

    # -- delivery ----------------------------------------------------------

    def _deliver(self, key: BufferKey, reason: str) -> int:
        """Write one buffer as one object. Called and returns with the lock held, but releases it while
        writing, so an S3 notification that loops back into Firehose cannot deadlock; ``_in_flight`` keeps
        ``idle()`` false until the object is stored."""
        buffer = self._buffers.pop(key)
        account_id, region, stream_name, destination_id = key
        backend = firehose_models.firehose_backends[account_id][region]
        stream = backend.delivery_streams.get(stream_name)
        found = s3_destination(stream) if stream is not None else None
        if found is None or found[0] != destination_id:
            self._stats["records_dropped"] += len(buffer.records)
            return 0
        destination = found[1]
        assert buffer.oldest_arrival is not None
        self._in_flight += 1
        self._lock.release()
        try:
            body = encode_object(destination, buffer.records)
            name = object_key(destination, stream_name, stream.version_id, buffer.oldest_arrival)
            bucket = destination["BucketARN"].split(":::", 1)[-1]
            s3_backends[account_id][backend.partition].put_object(bucket, name, body)
        except Exception as exc:  # Firehose keeps the data and retries; so does the sandbox
            failure: Exception | None = exc
        else:
            failure = None
        finally:
            self._lock.acquire()
            self._in_flight -= 1
        if failure is not None:
            message = f"{stream_name}: delivery to S3 failed: {failure!r}"
            if message not in self.errors[-1:]:
                log.warning(message)
            self.errors.append(message)
            newer = self._buffers.get(key)
            if newer is not None:  # records that arrived meanwhile go after the failed ones
                buffer.records.extend(newer.records)
                buffer.size += newer.size
            buffer.retry_at = self._monotonic() + RETRY_SECONDS
            self._buffers[key] = buffer
            self._lock.notify_all()
            return 0
        self._stats["objects"] += 1
        self._stats["bytes"] += len(body)
        self._stats[reason] += 1
        return 1

    def _due_at(self, key: BufferKey, buffer: _Buffer) -> tuple[float, str]:
        """When the buffer must go, and which trigger that is (a full buffer waiting for a retry is size)."""
        backend = firehose_models.firehose_backends[key[0]][key[1]]
        stream = backend.delivery_streams.get(key[2])
        found = s3_destination(stream) if stream is not None else None
        if found is None:
            return 0.0, "flushes_by_interval"  # the stream is gone: _deliver drops the records
        size_limit, interval = buffering_hints(found[1])
        if buffer.size >= size_limit:
            return buffer.retry_at, "flushes_by_size"
        return max(buffer.opened_at + interval * self._interval_scale, buffer.retry_at), "flushes_by_interval"

    def _run(self) -> None:
        with self._lock:
            while not self._stopping:
                for key in list(self._buffers):
                    buffer = self._buffers.get(key)
                    if buffer is not None:
                        due, reason = self._due_at(key, buffer)
                        if due <= self._monotonic():
                            self._deliver(key, reason)
                dues = [self._due_at(key, buffer)[0] for key, buffer in self._buffers.items()]
                # Wake at the next deadline, and at least every second to notice UpdateDestination.
                self._lock.wait(min([1.0, *(max(0.0, due - self._monotonic()) for due in dues)]))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="firehose-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)


# ---------------------------------------------------------------------------
# The backend patch
# ---------------------------------------------------------------------------


def _validate_batch(records: list[dict[str, Any]]) -> list[bytes]:
    if not records:
        raise ValidationException(
            "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1"
        )
    if len(records) > MAX_BATCH_RECORDS:
        raise ValidationException(
            f"1 validation error detected: Value at 'records' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_BATCH_RECORDS}"
        )
    data: list[bytes] = []
    for record in records:
        value = record["Data"]
        chunk = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        if len(chunk) > MAX_RECORD_BYTES:
            raise ValidationException(
                f"1 validation error detected: Value at 'record.data' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_RECORD_BYTES}"
            )
        data.append(chunk)
    if sum(len(chunk) for chunk in data) > MAX_BATCH_BYTES:
        raise InvalidArgumentException(f"Records size exceeds {MAX_BATCH_BYTES // MIB} MB limit")
    return data


def _check_destination(destination: dict[str, Any] | None) -> None:
    if not destination:
        return
    if (destination.get("DynamicPartitioningConfiguration") or {}).get("Enabled"):
        raise InvalidArgumentException("The sandbox does not emulate Firehose dynamic partitioning")
    if (destination.get("ProcessingConfiguration") or {}).get("Enabled"):
        raise InvalidArgumentException("The sandbox does not emulate Firehose record transformation")
    if (destination.get("DataFormatConversionConfiguration") or {}).get("Enabled"):
        raise InvalidArgumentException("The sandbox does not emulate Firehose data format conversion")
    if (destination.get("CompressionFormat") or "UNCOMPRESSED") not in ("UNCOMPRESSED", "GZIP"):
        raise InvalidArgumentException(
            f"The sandbox emulates GZIP and UNCOMPRESSED only, not {destination['CompressionFormat']}"
        )
    try:
        validate_prefixes(destination)
    except ValueError as exc:
        raise InvalidArgumentException(str(exc)) from exc


@contextmanager
def installed(
    *,
    clock: Callable[[], datetime] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    interval_scale: float = 1.0,
    flush_on_exit: bool = False,
) -> Iterator[FirehoseDelivery]:
    """Buffer Firehose S3 deliveries in this process until exit; yields the ``FirehoseDelivery`` handle.

    ``clock`` gives the arrival time used in prefixes and object names (default: now, UTC).
    ``interval_scale`` multiplies every ``IntervalInSeconds`` (a sandbox speed-up; 1.0 is the service).
    ``flush_on_exit`` delivers what is still buffered before reverting; otherwise it is dropped.
    """
    backend_class = firehose_models.FirehoseBackend
    original_put_record = backend_class.put_record
    original_put_record_batch = backend_class.put_record_batch
    original_delete = backend_class.delete_delivery_stream
    original_create = backend_class.create_delivery_stream
    original_update = backend_class.update_destination
    delivery = FirehoseDelivery(
        clock=clock or (lambda: datetime.now(UTC)), monotonic=monotonic, interval_scale=interval_scale
    )

    def put_record_batch(
        self: Any, delivery_stream_name: str, records: list[dict[str, Any]]
    ) -> dict[str, Any]:
        stream = self.delivery_streams.get(delivery_stream_name)
        if stream is None:
            raise ResourceNotFoundException(
                f"Firehose {delivery_stream_name} under account {self.account_id} not found."
            )
        if s3_destination(stream) is None:  # HTTP endpoint, OpenSearch, ...: moto's own handling
            return original_put_record_batch(self, delivery_stream_name, records)
        data = _validate_batch(records)
        delivery.accept(self, stream, data)
        # moto keeps the creation input (KeyType, no Status); the service reports ENABLED for it.
        encryption = stream.delivery_stream_encryption_configuration or {}
        return {
            "FailedPutCount": 0,
            "Encrypted": encryption.get("Status", "ENABLED" if encryption else "DISABLED") == "ENABLED",
            "RequestResponses": [{"RecordId": uuid.uuid4().hex + uuid.uuid4().hex} for _ in data],
        }

    def put_record(self: Any, delivery_stream_name: str, record: dict[str, Any]) -> dict[str, Any]:
        result = self.put_record_batch(delivery_stream_name, [record])
        return {"RecordId": result["RequestResponses"][0]["RecordId"], "Encrypted": result["Encrypted"]}

    def create_delivery_stream(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = inspect.signature(original_create).bind(self, *args, **kwargs).arguments
        for name in ("extended_s3_destination_configuration", "s3_destination_configuration"):
            _check_destination(arguments.get(name))
        return original_create(self, *args, **kwargs)

    def update_destination(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = inspect.signature(original_update).bind(self, *args, **kwargs).arguments
        stream = self.delivery_streams.get(arguments["delivery_stream_name"])
        current = s3_destination(stream) if stream is not None else None
        for name in ("extended_s3_destination_update", "s3_destination_update"):
            update = arguments.get(name)
            if update:
                _check_destination({**(current[1] if current else {}), **update})
        return original_update(self, *args, **kwargs)

    def delete_delivery_stream(self: Any, delivery_stream_name: str, *args: Any, **kwargs: Any) -> Any:
        result = original_delete(self, delivery_stream_name, *args, **kwargs)
        delivery.discard(self.account_id, self.region_name, delivery_stream_name)
        return result

    backend_class.create_delivery_stream = create_delivery_stream  # type: ignore[method-assign]
    backend_class.update_destination = update_destination  # type: ignore[method-assign]
    backend_class.put_record = put_record  # type: ignore[method-assign]
    backend_class.put_record_batch = put_record_batch  # type: ignore[method-assign]
    backend_class.delete_delivery_stream = delete_delivery_stream  # type: ignore[method-assign]
    delivery.start()
    try:
        yield delivery
    finally:
        try:
            if flush_on_exit:
                delivery.flush()
        finally:
            delivery.stop()
            backend_class.create_delivery_stream = original_create  # type: ignore[method-assign]
            backend_class.update_destination = original_update  # type: ignore[method-assign]
            backend_class.put_record = original_put_record  # type: ignore[method-assign]
            backend_class.put_record_batch = original_put_record_batch  # type: ignore[method-assign]
            backend_class.delete_delivery_stream = original_delete  # type: ignore[method-assign]
