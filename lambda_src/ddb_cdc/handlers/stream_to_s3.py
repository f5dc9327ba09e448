"""DynamoDB stream batch -> one gzip NDJSON object in S3 (the ``lambda`` aggregation).

Any S3 or DLQ failure raises, so the event source mapping retries (and bisects) the
batch; a retry rebuilds the same key and the same bytes. Records that cannot be
converted are quarantined and the rest of the batch is still written.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from typing import Any

from ddb_cdc import adapters, capture, obs
from ddb_cdc.config import StreamToS3Config


@dataclass(frozen=True, slots=True)
class Runtime:
    config: StreamToS3Config
    store: adapters.ObjectStore
    dlq: adapters.MessageQueue
    logger: logging.Logger


@functools.cache
def _runtime() -> Runtime:
    # Built on the first invocation and kept for the container's life: clients reuse
    # their connections across invocations, and the environment cannot change.
    config = StreamToS3Config.from_env(os.environ)
    return Runtime(
        config=config,
        store=adapters.ObjectStore(adapters.client("s3"), config.bucket),
        dlq=adapters.MessageQueue(adapters.client("sqs"), config.dlq_url),
        logger=obs.configure(config.log_level),
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    return process(event, context, _runtime())


def process(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, list[dict[str, str]]]:
    config, log = runtime.config, runtime.logger
    request_id = getattr(context, "aws_request_id", None)
    plan = capture.plan_s3_batch(event, table=config.table_name, prefix=config.prefix)
    batch = plan.object
    # The object goes first: rewriting it on a retry is idempotent (same key, same
    # bytes), whereas a DLQ message sent before a failed put would be sent twice.
    if batch is not None:
        try:
            runtime.store.put(
                batch.key,
                batch.body,
                content_type="application/gzip",
                metadata={
                    "envelope-version": "1",
                    "record-count": str(batch.records),
                    "first-seq": batch.first_seq,
                    "last-seq": batch.last_seq,
                },
            )
        except Exception:
            obs.log(log, logging.ERROR, "batch object write failed", s3_key=batch.key, request_id=request_id)
            raise
    adapters.quarantine_records(
        plan.quarantined,
        source_table=config.table_name,
        bucket=config.bucket,
        prefix=config.prefix,
        fallback_ms=plan.fallback_ms,
        dlq=runtime.dlq,
        spill=runtime.store,
        log=log,
        request_id=request_id,
    )
    obs.log(
        log,
        logging.INFO,
        "batch captured",
        records_written=batch.records if batch else 0,
        records_quarantined=len(plan.quarantined),
        ndjson_bytes=batch.ndjson_bytes if batch else 0,
        object_bytes=len(batch.body) if batch else 0,
        s3_key=batch.key if batch else None,
        request_id=request_id,
    )
    return {"batchItemFailures": []}
