"""DynamoDB stream batch -> Firehose, one envelope line per record (the ``firehose`` aggregation).

Entries Firehose rejects are retried with backoff inside the invocation's time. What
still fails is reported through ``batchItemFailures`` at the first unfinished record,
so the shard resumes exactly there and nothing after it is sent out of turn.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ddb_cdc import adapters, capture, obs
from ddb_cdc.config import StreamToFirehoseConfig


@dataclass(frozen=True, slots=True)
class Runtime:
    config: StreamToFirehoseConfig
    stream: adapters.DeliveryStream
    dlq: adapters.MessageQueue
    spill: adapters.ObjectStore | None
    logger: logging.Logger
    policy: capture.RetryPolicy = capture.DEFAULT_RETRY


@functools.cache
def _runtime() -> Runtime:
    config = StreamToFirehoseConfig.from_env(os.environ)
    spill = adapters.ObjectStore(adapters.client("s3"), config.spill_bucket) if config.spill_bucket else None
    return Runtime(
        config=config,
        stream=adapters.DeliveryStream(adapters.client("firehose"), config.delivery_stream),
        dlq=adapters.MessageQueue(adapters.client("sqs"), config.dlq_url),
        spill=spill,
        logger=obs.configure(config.log_level),
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    return process(event, context, _runtime())


def process(
    event: dict[str, Any],
    context: Any,
    runtime: Runtime,
    *,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> dict[str, list[dict[str, str]]]:
    config, log = runtime.config, runtime.logger
    request_id = getattr(context, "aws_request_id", None)
    # With the bucket known, an envelope too big for Firehose is written to S3 on its own.
    prefix = config.prefix if runtime.spill is not None else None
    plan = capture.plan_firehose_batch(event, table=config.table_name, prefix=prefix)
    # Quarantine first: a DLQ failure then raises before anything reached Firehose,
    # and the whole batch is retried cleanly.
    adapters.quarantine_records(
        plan.quarantined,
        source_table=config.table_name,
        bucket=config.spill_bucket,
        prefix=config.prefix,
        fallback_ms=plan.fallback_ms,
        dlq=runtime.dlq,
        spill=runtime.spill,
        log=log,
        request_id=request_id,
    )
    # Before Firehose: a failed put raises and the whole batch is retried; the keys are
    # deterministic, so a retry overwrites its own objects.
    for item in plan.direct:
        assert runtime.spill is not None  # plan.direct is empty without a bucket
        runtime.spill.put(
            item.key, item.body, content_type="application/gzip", metadata={"writer": "firehose-oversize"}
        )
    chunks = capture.firehose_chunks(plan.records)
    outcome = capture.deliver(
        chunks,
        runtime.stream.put_batch,
        remaining_ms=context.get_remaining_time_in_millis,
        sleep=sleep,
        jitter=jitter,
        policy=runtime.policy,
    )
    fields = {
        "records_delivered": outcome.delivered,
        "records_quarantined": len(plan.quarantined),
        "records_written_directly": len(plan.direct),
        "put_calls": outcome.calls,
        "entries_retried": outcome.retried_entries,
        "bytes": sum(len(record.data) for record in plan.records),
        "delivery_stream": config.delivery_stream,
        "request_id": request_id,
    }
    if outcome.first_unfinished is None:
        obs.log(log, logging.INFO, "batch captured", **fields)
        return {"batchItemFailures": []}
    resume_at = outcome.first_unfinished.sequence_number
    obs.log(log, logging.WARNING, "batch partly delivered", resume_at=resume_at, **fields)
    return {"batchItemFailures": [{"itemIdentifier": resume_at}]}
