"""emr_compaction: objects and COPY statements per hour before and after compaction, and the cost per day of
every load strategy (issue 12, item 4: numbers in a benchmark, never timed asserts in tests).

    python bench/bench_compaction.py [--files-per-minute 100] [--records-per-file 100] [--rates 10,100,1000]
                                     [--exact-gzip] [--workers N]

How it measures. Raw change files land in an in-memory S3 (:class:`BenchS3`) that pages listings at 1,000 keys,
keeps LastModified and counts every request by who made it (loader, Redshift COPY, the EMR step, the writer).
Their bodies and sizes come from the real writer core (``capture.plan_s3_batch`` over the generator's ``mixed``
items, ~1.4 KB of DynamoDB JSON each), so file size and gzip ratio are measured, not assumed. The real
``LoaderService`` then runs each strategy on its module default cadence: ``run_s3_event`` on SQS batches grouped as
the event source mapping groups them (``bench_copy_count.batches``, 300 s window) plus the hourly reconciliation
run, ``run_schedule`` every 15 minutes (schedule) or 5 minutes (ec2_cron: the host runs the same code), and for
emr_compaction ``plan_compaction`` at minute 15 of every hour, the EMR step emulated by :func:`s3_dist_cp` on the
argv the plan returned, ``run_compacted`` and the hourly ``run_reconcile``. The warehouse is :class:`Warehouse`: it
counts statements and keeps the ledger (including the ledger list a compacted load COPYs), so every run sees what
the runs before it loaded. Before the reported hour, the bucket and the ledger already hold 24 hours of the same
traffic (the loader's default lookback), so listings and ledger look-ups cost what they cost in a steady state.

(a) One hour of the issue's traffic (100 files a minute of 100 changes): objects and COPY statements per hour
    before (s3_event, schedule, ec2_cron, and the seed lab's one COPY per file) and after compaction.
(b) The cost per day of each strategy at 10, 100 and 1,000 changes/s, for both aggregations (files per hour from
    the writer's defaults): 24 times the simulated hour's counts, times list prices. The writer costs the same
    under every load strategy and is shown once, separately.
(c) The cheapest strategy per rate, and the COPY statements per hour of each.

Not modelled: Redshift compute per COPY/commit (the COPY, transaction and ledger-query counts are printed instead,
and, as a bound, what Redshift Serverless's 60-second minimum would add if the warehouse were otherwise idle), data
transfer (same region), CloudWatch (logs, metrics, alarms: alike for every strategy), KMS requests, NAT or VPC
endpoints for the EC2 host and the EMR subnet, the EBS volumes EMR attaches to its nodes, free tiers, taxes,
failures and retries. Every assumption is a named constant below and is printed with the results. The simulations
run on ``--workers`` forked processes (default: the CPU count); about 25 s of CPU in all on the 2-core CI machine.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import logging
import math
import multiprocessing
import os
import random
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_copy_count import BUCKET, PREFIX, START_S, TABLE, Sink, batches, notification
from botocore.exceptions import ClientError
from ddb_cdc import capture, generator, layout
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import Submission
from ddb_cdc.loader.files import CdcFiles
from ddb_cdc.loader.service import Alerts, LoaderService, Metrics
from ddb_cdc.warehouse.manifest import s3_url

from tests.aws.cost import MINIMUM_BILLED_SECONDS, US_EAST_1

# ---------------------------------------------------------------------------------------------------------------
# Prices: us-east-1 on-demand list prices, no free tier. From tests/aws/cost.py (US_EAST_1, read on its read_on
# date) where it has them; the others are added here, read on PRICES_READ_ON from the pages named in PRICE_SOURCES.
# ---------------------------------------------------------------------------------------------------------------
PRICES_READ_ON = "2026-12-07"
LAMBDA_REQUEST = US_EAST_1.lambda_request  # $0.20 per million
LAMBDA_GB_SECOND = US_EAST_1.lambda_gb_second  # x86
S3_PUT = US_EAST_1.s3_put  # PUT, COPY, POST and LIST: $0.005 per 1,000
S3_GET = US_EAST_1.s3_get  # GET (and HEAD, billed like GET): $0.0004 per 1,000
RPU_HOUR = US_EAST_1.rpu_hour  # Redshift Serverless, only for the idle-warehouse bound
EC2_M5_XLARGE_HOUR = 0.192
EMR_M5_XLARGE_HOUR = 0.048  # the EMR fee on top of EC2, per instance-hour, per second with a 1-minute minimum
EC2_T4G_NANO_HOUR = 0.0042
EBS_GP3_GB_MONTH = 0.08
SQS_REQUEST = 0.40 / 1_000_000  # standard queue, per 64 KB chunk
SCHEDULER_INVOCATION = 1.00 / 1_000_000
SFN_TRANSITION = 0.025 / 1_000  # Standard workflows
S3_STANDARD_GB_MONTH = 0.023
FIREHOSE_GB = 0.029  # ingestion, each record rounded up to 5 KB
PRICE_SOURCES = (
    ("Lambda, S3 requests, Redshift Serverless", "tests/aws/cost.py US_EAST_1 (" + US_EAST_1.read_on + ")"),
    ("EC2 m5.xlarge $0.192/h, t4g.nano $0.0042/h", "https://aws.amazon.com/ec2/pricing/on-demand/"),
    ("EMR fee m5.xlarge $0.048/h", "https://aws.amazon.com/emr/pricing/"),
    ("EBS gp3 $0.08/GB-month", "https://aws.amazon.com/ebs/pricing/"),
    ("SQS standard $0.40/million requests", "https://aws.amazon.com/sqs/pricing/"),
    ("EventBridge Scheduler $1.00/million invocations", "https://aws.amazon.com/eventbridge/pricing/"),
    ("Step Functions Standard $0.025/1,000 transitions", "https://aws.amazon.com/step-functions/pricing/"),
    ("S3 Standard $0.023/GB-month", "https://aws.amazon.com/s3/pricing/"),
    ("Firehose ingestion $0.029/GB, 5 KB rounding", "https://aws.amazon.com/firehose/pricing/"),
)
# How they were checked: the AWS pages themselves are not in the searchable corpus this was written with; each
# figure above matched several independent copies of them found with the search tool on PRICES_READ_ON (for
# m5.xlarge: EC2 $0.192 and EMR $0.048 an hour; Firehose's 5 KB rounding from the pricing page itself).
PRICES_CHECKED = "matched against independent copies of these pages"

# ---------------------------------------------------------------------------------------------------------------
# Module defaults (read from the .tf files named; change them here if the modules change).
# ---------------------------------------------------------------------------------------------------------------
WRITER_BATCH_SIZE = 1000  # modules/ddb_stream stream_mapping.batch_size
WRITER_WINDOW_S = 5  # modules/ddb_stream stream_mapping.maximum_batching_window_in_seconds
WRITER_MEMORY_MB = 512  # modules/s3_sink memory_size
FIREHOSE_BUFFER_MIB = 64  # modules/firehose buffering_size (applied before compression)
FIREHOSE_INTERVAL_S = 300  # modules/firehose buffering_interval
SQS_WINDOW_S = 300  # modules/redshift_loader s3_event.maximum_batching_window_in_seconds
SQS_BATCH_SIZE = 10_000  # modules/redshift_loader s3_event.batch_size
S3_EVENT_RECONCILE_MIN = 60  # modules/redshift_loader s3_event.reconcile_rate_minutes
SCHEDULE_RATE_MIN = 15  # modules/redshift_loader schedule.rate_minutes
EC2_CRON_RATE_MIN = 5  # modules/ec2_cron rate_minutes
EC2_CRON_ROOT_GB = 8  # modules/ec2_cron root_volume_size_gb (gp3); instance_type "t4g.nano"
LOADER_MEMORY_MB = 512  # modules/redshift_loader loader_memory_size
COMPLETION_MEMORY_MB = 256  # modules/redshift_loader completion_memory_size
EMR_GRACE_MIN = 15  # emr_compaction.grace_minutes
EMR_TARGET_MB = 64  # emr_compaction.target_size_mb
EMR_CORE_NODES = 1  # emr_compaction.core_instance_count (+ 1 master), both m5.xlarge, on demand
EMR_RECONCILE_MIN = 60  # emr_compaction.reconcile_rate_minutes
EMR_RETENTION_DAYS = 30  # emr_compaction.log_retention_days: lifecycle of compacted/ in a created bucket
# CDC_RECONCILE_GRACE_SECONDS in emr_compaction mode: 3600 + latest_finish_seconds (grace 900 + cluster timeout
# 1800 + step timeout 3600) + the loader's timeout (900), as modules/redshift_loader computes it.
EMR_RECONCILE_GRACE_S = 3600 + (EMR_GRACE_MIN * 60 + 1800 + 3600) + 900

# ---------------------------------------------------------------------------------------------------------------
# Model assumptions (not measured here).
# ---------------------------------------------------------------------------------------------------------------
WRITES_PER_SHARD = 1000  # one stream shard per ~1,000 writes/s (a partition takes 1,000 WCU/s)
EMR_PROVISION_S = 480  # cluster requested -> step can start (~8 min), billed on both nodes
EMR_STEP_START_S = 60  # YARN/MapReduce job start of s3-dist-cp
EMR_STEP_PER_INPUT_S = 0.02  # one S3 open per input file, sequential in the hour group's one task
EMR_TERMINATE_S = 60  # TerminateJobFlows -> instances gone
SFN_TRANSITIONS_PER_RUN = 7  # Plan, AnyInputs, StartCluster, Compact, Terminate, Load, Done
LOADER_RUN_S = 2.0  # Lambda duration of a run that lists, looks up the ledger and submits (Data API async)
COMPACTED_LOAD_S = 60.0  # the compacted load waits for its statement (COPY + MERGE of an hour)
COMPLETION_RUN_S = 1.0  # one Data API status event
WRITER_OVERHEAD_S = 0.05  # per writer invocation, on top of the measured encoding time
LAMBDA_VCPU_MB = 1769  # memory that buys one vCPU (Lambda Developer Guide): scales measured CPU time
SQS_POLLERS = 5  # Lambda's pollers on an SQS queue, each long polling 20 s when the queue is empty
SQS_LONG_POLL_S = 20
MIB = 1024 * 1024
HOUR = 3600
STREAM_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}/stream/2026-11-27T00:00:00.000"
STRATEGIES = ("s3_event", "schedule", "ec2_cron", "emr_compaction")
ARRIVAL_PHASE_S = 61  # files arrive on a grid from START_S + this (see arrival_keys)
HISTORY_HOURS = 24  # loaded before the simulation: what CDC_SCHEDULE_LOOKBACK_HOURS (24) makes runs re-check
# traffic and runs before the reported hour: one cadence (emr_compaction: up to its run at minute 15)
WARMUP_S = {"s3_event": 300, "schedule": 900, "ec2_cron": 300, "emr_compaction": 900}


# ---------------------------------------------------------------------------------------------------------------
# Test doubles: S3 and the warehouse
# ---------------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Obj:
    body: bytes | None  # None: only the sizes are simulated
    size: int  # bytes stored (gzip for change files)
    raw_size: int  # bytes of NDJSON inside (what s3-dist-cp decompresses and recompresses)
    modified: float
    listing: dict[str, Any] = field(default_factory=dict)  # its ListObjectsV2 entry, made once


class BenchS3:
    """The S3 calls the loader makes, in memory: listings paged at 1,000 keys like S3, every request counted
    as ``(actor, kind)``. ``actor`` is whoever is calling now: loader, warehouse (COPY), emr, writer."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.objects: dict[str, Obj] = {}
        self.keys: list[str] = []  # sorted
        self.clock = clock
        self.actor = "loader"
        self.requests: Counter[tuple[str, str]] = Counter()

    def count(self, kind: str, n: int = 1) -> None:
        self.requests[(self.actor, kind)] += n

    def store(self, key: str, obj: Obj) -> None:
        if key not in self.objects:
            self.keys.insert(_bisect(self.keys, key), key)
        obj.listing = {"Key": key, "LastModified": _dt(obj.modified), "Size": obj.size}
        self.objects[key] = obj

    def bulk_store(self, items: Sequence[tuple[str, Obj]]) -> None:
        """Objects that exist before the simulation starts (no request counted)."""
        for key, obj in items:
            obj.listing = {"Key": key, "LastModified": _dt(obj.modified), "Size": obj.size}
            self.objects[key] = obj
        self.keys = sorted(self.objects)

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.count("PUT")
        self.store(Key, Obj(Body, len(Body), len(Body), self.clock()))

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.count("GET")
        obj = self.objects.get(Key)
        if obj is None or obj.body is None:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "missing"}}, "GetObject")
        return {"Body": io.BytesIO(obj.body)}

    def head_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.count("GET")  # HEAD is billed like GET
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "404", "Message": "missing"}}, "HeadObject")
        return {"LastModified": _dt(self.objects[Key].modified)}

    def copy_object(self, *, Bucket: str, Key: str, CopySource: Mapping[str, str], **_: Any) -> None:
        self.count("PUT")
        self.store(Key, self.objects[CopySource["Key"]])

    def delete_object(self, *, Bucket: str, Key: str, **_: Any) -> None:
        self.count("DELETE")  # free
        if self.objects.pop(Key, None) is not None:
            self.keys.remove(Key)

    def list_objects_v2(
        self, *, Bucket: str, Prefix: str = "", MaxKeys: int = 1000, StartAfter: str = "", **_: Any
    ) -> dict[str, Any]:
        self.count("LIST")
        start = _bisect(self.keys, max(Prefix, StartAfter), after=bool(StartAfter) and StartAfter >= Prefix)
        end = _bisect(self.keys, Prefix + "\uffff")
        page = self.keys[start : min(end, start + min(MaxKeys, 1000))]
        return {
            "Contents": [self.objects[key].listing for key in page],
            "IsTruncated": start + len(page) < end,
        }

    def get_paginator(self, _name: str) -> BenchS3:
        return self

    def paginate(self, *, Bucket: str, Prefix: str) -> list[dict[str, Any]]:
        pages, after = [], ""
        while True:
            page = self.list_objects_v2(Bucket=Bucket, Prefix=Prefix, StartAfter=after)
            pages.append(page)
            if not page["IsTruncated"]:
                return pages
            after = page["Contents"][-1]["Key"]


def _bisect(keys: list[str], key: str, *, after: bool = False) -> int:
    low, high = 0, len(keys)
    while low < high:
        middle = (low + high) // 2
        if keys[middle] < key or (after and keys[middle] == key):
            low = middle + 1
        else:
            high = middle
    return low


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


_COPY_FROM = re.compile(r"^COPY \"(\w+)\" FROM 's3://[^/]+/([^']+)'")


class Warehouse:
    """The executor: counts statements and keeps the ledger, as Redshift would after each commit.

    Every COPY reads its manifest and each file it lists (the S3 GETs of the warehouse); a compacted load's
    ledger list (``COPY "cdc_ledger_files"``) is read for real, so its raw files are ledgered as in Redshift.
    """

    def __init__(self, s3: BenchS3, raw_prefix: str) -> None:
        self.s3 = s3
        self.raw_prefix = raw_prefix
        self.ledger: set[str] = set()
        self.transactions = 0
        self.waited = 0  # transactions the caller waited for (no completion event is handled)
        self.copies = 0
        # COPY into the staging table; the other kind loads a compacted run's ledger list
        self.data_copies = 0
        self.queries = 0
        self.raw_ledgered = 0
        self.loaded_up_to = ""  # see oldest_unloaded
        self.raw_max = ""

    def run(self, statements: Sequence[str], *, name: str | None = None, wait: bool = False) -> Submission:
        self.transactions += 1
        self.waited += int(wait)
        previous, self.s3.actor = self.s3.actor, "warehouse"
        try:
            for statement in statements:
                copy = _COPY_FROM.match(statement)
                if copy:
                    self.copies += 1
                    self.data_copies += int(copy.group(1) == "cdc_stage")
                    urls = self._manifest(copy.group(2))
                    self.s3.count("GET", len(urls))
                    if copy.group(1) == "cdc_ledger_files":
                        for url in urls:
                            self._ledger_list(url)
                elif statement.startswith('INSERT INTO "cdc"."cdc_ledger"'):
                    listed = statement.split(" FROM (", 1)[1].rsplit(') AS "f"', 1)[0]
                    if "cdc_ledger_files" not in listed:  # a compacted load's list arrives by its COPY
                        for key in listed.split("'")[1::2]:  # raw keys hold no quote
                            self.record(key)
        finally:
            self.s3.actor = previous
        return Submission("finished" if wait else "submitted", f"statement-{self.transactions}")

    def _manifest(self, key: str) -> list[str]:
        body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return [entry["url"] for entry in json.loads(body)["entries"]]

    def _ledger_list(self, url: str) -> None:
        key = url.split("/", 3)[3]
        body = self.s3.objects[key].body or b""
        for line in gzip.decompress(body).splitlines():
            self.record(json.loads(line)["file_key"])

    def record(self, key: str) -> None:
        if key not in self.ledger:
            self.ledger.add(key)
            if key.startswith(self.raw_prefix):
                self.raw_ledgered += 1
                self.raw_max = max(self.raw_max, key)

    def query(self, sql: str, params: Mapping[str, str] | None = None) -> list[tuple[Any, ...]]:
        self.queries += 1
        if 'COUNT(*) AS "files"' in sql:  # render_status: the high-water mark
            return [(self.raw_ledgered, self.raw_max or None, None)]
        listed = sql.split('"file_key" IN (', 1)[1] if '"file_key" IN (' in sql else ""
        return [(key,) for key in listed.split("'")[1::2] if key in self.ledger]  # raw keys hold no quote

    @property
    def calls(self) -> int:
        return self.transactions + self.queries


# ---------------------------------------------------------------------------------------------------------------
# s3-dist-cp, emulated
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class DistCp:
    inputs: int = 0
    outputs: int = 0
    input_bytes: int = 0
    output_bytes: int = 0
    raw_bytes: int = 0  # NDJSON decompressed and compressed again
    seconds: float = 0.0  # wall time of the emulation itself


def s3_dist_cp(s3: BenchS3, argv: Sequence[str], *, exact_gzip: bool = False) -> DistCp:
    """What the EMR step does with the argv ``plan_compaction`` returned, per the S3DistCp documentation
    (Amazon EMR Release Guide, "S3DistCp (s3-dist-cp)"):

    * ``--srcPrefixesFile``: read the file; each line is a prefix, listed (one LIST each); every object found is
      an input (the plan writes whole keys, so each line finds itself);
    * ``--groupBy``: inputs whose full path matches the pattern are concatenated per group, the group named by
      the pattern's capture groups joined; an input that does not match is not copied;
    * ``--targetSize`` (MiB): a group's inputs are cut into parts by their source (compressed) sizes, a part
      closed before an input would take it past the target ("Jobs are aggregated based on the size of the data
      file"), so a part is smaller than the target unless one input alone is larger;
    * ``--outputCodec=gz``: inputs are decompressed and the part is written gzip-compressed under ``--dest``.

    The part is written as one gzip member per input (each input's own member, as the writer compressed it at the
    same level), which is valid gzip of exactly the concatenated content. ``exact_gzip`` recompresses the whole
    part as one stream instead, as Hadoop's codec does: about 3 % smaller, and ~20 s slower here. Without bodies
    (sizes-only runs) only the sizes are computed. Output names are illustrative.
    """
    started = time.perf_counter()
    options = dict(arg[2:].split("=", 1) for arg in argv[1:])
    assert argv[0] == "s3-dist-cp" and options["outputCodec"] == "gz", argv
    previous, s3.actor = s3.actor, "emr"
    try:
        listing = s3.get_object(Bucket=BUCKET, Key=options["srcPrefixesFile"].split("/", 3)[3])["Body"].read()
        pattern = re.compile(options["groupBy"])
        target = int(options["targetSize"]) * MIB
        groups: dict[str, list[str]] = {}
        for line in listing.decode("utf-8").splitlines():
            for page in s3.paginate(Bucket=BUCKET, Prefix=line.split("/", 3)[3]):
                for item in page["Contents"]:
                    match = pattern.fullmatch(s3_url(BUCKET, item["Key"]))
                    if match:
                        groups.setdefault("".join(match.groups()), []).append(item["Key"])
        result = DistCp()
        dest = options["dest"].split("/", 3)[3]
        for name, keys in groups.items():
            parts: list[list[str]] = [[]]
            size = 0
            for key in sorted(set(keys)):
                obj = s3.objects[key]
                if parts[-1] and size + obj.size > target:
                    parts.append([])
                    size = 0
                parts[-1].append(key)
                size += obj.size
            for number, part in enumerate(parts):
                sources = [s3.objects[key] for key in part]
                s3.count("GET", len(part))
                raw_bytes = sum(source.raw_size for source in sources)
                if all(source.body is not None for source in sources):
                    if exact_gzip:
                        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
                        chunks = [compressor.compress(gzip.decompress(s.body or b"")) for s in sources]
                        body: bytes | None = b"".join([*chunks, compressor.flush()])
                    else:
                        body = b"".join(source.body or b"" for source in sources)
                    size = len(body or b"")
                else:
                    body, size = None, sum(source.size for source in sources)
                s3.count("PUT")
                s3.store(f"{dest}{name}-{number:05d}.gz", Obj(body, size, raw_bytes, s3.clock()))
                result.inputs += len(part)
                result.outputs += 1
                result.input_bytes += sum(source.size for source in sources)
                result.output_bytes += size
                result.raw_bytes += raw_bytes
    finally:
        s3.actor = previous
    result.seconds = time.perf_counter() - started
    return result


# ---------------------------------------------------------------------------------------------------------------
# Change files: measured with the real writer core
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileShape:
    records: int
    gzip_bytes: int  # one file of that many records
    raw_bytes: int  # its NDJSON


def stream_event(count: int, seed: int) -> dict[str, Any]:
    """A DynamoDB stream batch of ``count`` mixed-type items (~1.4 KB of DynamoDB JSON each), as Lambda sends it."""
    rng = random.Random(seed)
    base_ms = START_S * 1000
    records = []
    for number in range(count):
        image = generator.mixed_item(rng, base_ms + number)
        records.append(
            {
                "eventID": f"{rng.getrandbits(128):032x}",
                "eventName": "MODIFY" if number % 3 else "INSERT",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": START_S + number // 100,
                    "Keys": {"id": image["id"]},
                    "NewImage": image,
                    "SequenceNumber": str(4421584500000000017450439091 + seed * 100_000 + number),
                    "SizeBytes": 1400,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": STREAM_ARN,
            }
        )
    # Through JSON text and back, as the Lambda runtime hands the event over (binary as base64).
    return json.loads(json.dumps({"Records": records}, default=_base64))


def _base64(value: Any) -> Any:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def writer_file(records: int, seed: int) -> capture.BatchObject:
    plan = capture.plan_s3_batch(stream_event(records, seed), table=TABLE, prefix=PREFIX)
    assert plan.object is not None and not plan.quarantined
    return plan.object


@dataclass(frozen=True)
class Measured:
    pool: list[capture.BatchObject]  # distinct real files of --records-per-file records
    shapes: dict[int, FileShape]  # records per file -> sizes, measured
    gzip_mb_per_s: float  # NDJSON MB/s compressed at level 6, one thread (the s3-dist-cp step model)
    encode_records_per_s: float  # writer core, one vCPU (the writer Lambda model)

    def shape(self, records: int) -> FileShape:
        """Sizes of a file of ``records``: measured at the nearest size, scaled per record."""
        nearest = min(self.shapes, key=lambda n: abs(math.log(n / records)))
        base = self.shapes[nearest]
        return FileShape(
            records, round(base.gzip_bytes * records / nearest), round(base.raw_bytes * records / nearest)
        )

    @property
    def envelope_bytes(self) -> float:
        base = self.shapes[max(self.shapes)]
        return base.raw_bytes / base.records


def measure(records_per_file: int, pool_size: int = 10) -> Measured:
    pool = [writer_file(records_per_file, seed) for seed in range(pool_size)]
    shapes = {records_per_file: _shape(pool)}
    event = stream_event(1000, 99)
    timings = []
    for _ in range(3):  # best of three: other processes on the machine skew single runs
        cpu = time.process_time()
        thousand = capture.plan_s3_batch(event, table=TABLE, prefix=PREFIX).object
        timings.append(time.process_time() - cpu)
    encode_rate = 1000 / min(timings)
    assert thousand is not None
    shapes[1000] = _shape([thousand])
    for records in (50, 500):
        if records not in shapes:
            shapes[records] = _shape([writer_file(records, 7)])
    text = b"".join(gzip.decompress(item.body) for item in pool)
    cpu = time.process_time()
    gzip.compress(text, compresslevel=6, mtime=0)
    gzip_rate = len(text) / 1e6 / (time.process_time() - cpu)
    return Measured(pool, shapes, gzip_rate, encode_rate)


def _shape(files: Sequence[capture.BatchObject]) -> FileShape:
    return FileShape(
        round(sum(f.records for f in files) / len(files)),
        round(sum(len(f.body) for f in files) / len(files)),
        round(sum(f.ndjson_bytes for f in files) / len(files)),
    )


# ---------------------------------------------------------------------------------------------------------------
# The simulation
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    files_per_hour: float
    shape: FileShape
    bodies: Sequence[bytes] = ()  # real bodies, reused round-robin; empty: sizes only


@dataclass
class Hour:
    """What one strategy did in the reported hour."""

    strategy: str
    raw_objects: int = 0
    raw_loaded: int = 0  # raw files newly in the ledger
    lambda_runs: Counter[str] = field(default_factory=Counter)  # loader invocations by trigger
    host_runs: int = 0  # ec2_cron
    transactions: int = 0
    completions: int = 0  # async statements: one completion-function invocation each
    copies: int = 0
    data_copies: int = 0
    sessions: int = 0  # runs that used the warehouse at all
    queries: int = 0  # ledger look-ups and status queries (SELECTs)
    s3: Counter[tuple[str, str]] = field(default_factory=Counter)
    sqs_messages: int = 0
    sqs_batches: int = 0
    receives: int = 0
    scheduler: int = 0
    sfn_runs: int = 0
    distcp: DistCp = field(default_factory=DistCp)
    cluster_seconds: float = 0.0
    max_lag: float = 0.0  # seconds: the oldest raw file not yet loaded, at its worst in the hour
    lag_sampled_at_end: bool = False


class Clock:
    def __init__(self) -> None:
        self.now = float(START_S)

    def __call__(self) -> float:
        return self.now


def new_service(strategy: str, s3: BenchS3, warehouse: Warehouse, clock: Clock) -> LoaderService:
    config = LoaderConfig.from_env(
        {
            "CDC_BUCKET": BUCKET,
            "CDC_PREFIX": PREFIX,
            "CDC_TABLE_NAME": TABLE,
            "CDC_TARGET_SPEC": json.dumps(
                {"schema": "cdc", "table": TABLE, "keys": [{"name": "id", "type": "S"}]}
            ),
            "CDC_COPY_ROLE_ARN": "arn:aws:iam::123456789012:role/cdc-copy",
            "CDC_REDSHIFT_DATABASE": "dev",
            "CDC_REDSHIFT_WORKGROUP": "cdc",
            "CDC_LOAD_STRATEGY": strategy,
            "CDC_COMPACTION_TARGET_SIZE_MB": str(EMR_TARGET_MB),
            **(
                {"CDC_RECONCILE_GRACE_SECONDS": str(EMR_RECONCILE_GRACE_S)}
                if strategy == "emr_compaction"
                else {}
            ),
        }
    )
    logger = logging.getLogger("bench.compaction")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return LoaderService(
        config,
        executor=warehouse,
        files=CdcFiles(s3, BUCKET, PREFIX, TABLE, clock=clock),
        alerts=Alerts(Sink(), None, logger),
        metrics=Metrics(Sink(), config.metric_namespace, TABLE),
        logger=logger,
        clock=clock,
        reconcile_grace_seconds=config.reconcile_grace_seconds,
    )


def simulate(
    strategy: str,
    workload: Workload,
    *,
    gzip_mb_per_s: float,
    warmup_s: int | None = None,
    history_h: int = HISTORY_HOURS,
    exact_gzip: bool = False,
) -> Hour:
    """Run ``strategy`` on ``workload`` with the real loader and report one hour.

    Before the reported hour: ``history_h`` hours of the same traffic already in the bucket and the ledger (so
    listings, ledger look-ups and the reconciliation sweep meet what they meet in a steady state; under
    emr_compaction the files of the hour still waiting for its run are not loaded yet), then ``warmup_s``
    seconds of traffic and runs, so the hour starts in the middle of its cadences.
    """
    clock = Clock()
    s3 = BenchS3(clock)
    warehouse = Warehouse(s3, f"{PREFIX}/{layout.RAW}/{TABLE}/")
    first = START_S - (WARMUP_S[strategy] if warmup_s is None else warmup_s)
    history = [
        (key, Obj(None, workload.shape.gzip_bytes, workload.shape.raw_bytes, second))
        for key, second in arrival_keys(workload.files_per_hour, first - history_h * HOUR, first)
    ]
    s3.bulk_store(history)
    # emr_compaction: the last run before ``first`` (minute 15) compacted the hours before its previous hour.
    last_run = (first - EMR_GRACE_MIN * 60) // HOUR * HOUR + EMR_GRACE_MIN * 60
    loaded_before = last_run - EMR_GRACE_MIN * 60 if strategy == "emr_compaction" else first
    for key, obj in history:
        if obj.modified < loaded_before:
            warehouse.record(key)
    warehouse.raw_ledgered = 0
    service = new_service(strategy, s3, warehouse, clock)
    report_from, report_to = START_S, START_S + HOUR
    hour = Hour(strategy)

    def every(offset: int, period: int) -> list[int]:
        """Times ``offset + n * period`` (seconds into an hour grid) from ``first`` to the hour's end."""
        n = math.ceil((first - START_S - offset) / period)
        return list(range(START_S + offset + n * period, report_to, period))

    events: list[tuple[float, int, str, Any]] = []  # (time, order at the same time, kind, payload)
    arrivals: list[tuple[int, dict[str, Any]]] = []
    for index, (key, second) in enumerate(arrival_keys(workload.files_per_hour, first, report_to)):
        events.append((second, 0, "put", (index, key)))
        arrivals.append((int(second), notification(key, int(second))))
    if strategy == "s3_event":
        opened = {message["messageId"]: second for second, message in arrivals}
        for group in batches(arrivals, SQS_WINDOW_S, SQS_BATCH_SIZE):
            events.append((opened[group[0]["messageId"]] + SQS_WINDOW_S, 1, "sqs", group))
        # the reconciliation schedule, at a minute that does not coincide with a window's end
        events += [(t, 2, "schedule", None) for t in every(1830, S3_EVENT_RECONCILE_MIN * 60)]
    elif strategy in ("schedule", "ec2_cron"):
        rate = (SCHEDULE_RATE_MIN if strategy == "schedule" else EC2_CRON_RATE_MIN) * 60
        events += [(t, 2, "schedule", None) for t in every(60, rate)]
    else:
        events += [(t, 2, "compact", t - EMR_GRACE_MIN * 60 - HOUR) for t in every(EMR_GRACE_MIN * 60, HOUR)]
        events += [(t, 2, "reconcile", None) for t in every(2730, EMR_RECONCILE_MIN * 60)]
    events.sort(key=lambda event: (event[0], event[1]))

    for moment, _order, kind, payload in events:
        if moment >= report_to and not hour.lag_sampled_at_end:
            hour.max_lag = max(hour.max_lag, oldest_unloaded(s3, warehouse, report_to))
            hour.lag_sampled_at_end = True
        clock.now = moment
        reported = report_from <= moment < report_to
        if reported and kind != "put":
            hour.max_lag = max(hour.max_lag, oldest_unloaded(s3, warehouse, moment))
        if kind == "put":
            index, key = payload
            body = workload.bodies[index % len(workload.bodies)] if workload.bodies else None
            s3.actor = "writer"
            s3.count("PUT")
            s3.store(key, Obj(body, workload.shape.gzip_bytes, workload.shape.raw_bytes, moment))
            s3.actor = "loader"
            hour.raw_objects += int(reported)
            continue
        s3_before, calls_before = s3.requests.copy(), warehouse.calls
        before = (warehouse.transactions, warehouse.waited, warehouse.copies, warehouse.data_copies)
        raw_before = warehouse.raw_ledgered
        if kind == "sqs":
            service.run_s3_event({"Records": payload})
            if reported:
                hour.sqs_messages += len(payload)
                hour.sqs_batches += 1
                hour.receives += math.ceil(len(payload) / 10)
        elif kind == "schedule":
            service.run_schedule()
            hour.scheduler += int(reported and strategy != "ec2_cron")
        elif kind == "reconcile":
            service.run_reconcile()
            hour.scheduler += int(reported)
        else:
            hour_ms = int(payload) * 1000
            plan = service.plan_compaction({"hour": layout.hour_label(hour_ms)})
            if reported:
                hour.lambda_runs["compaction_plan"] += 1
                hour.scheduler += 1
                hour.sfn_runs += 1
            if plan["inputs"] == 0:  # the machine's AnyInputs choice: no cluster, nothing to load
                continue
            distcp = s3_dist_cp(s3, plan["args"], exact_gzip=exact_gzip)
            step = (
                EMR_STEP_START_S
                + distcp.inputs * EMR_STEP_PER_INPUT_S
                + distcp.raw_bytes / 1e6 / gzip_mb_per_s
            )
            clock.now = moment + EMR_PROVISION_S + step + EMR_TERMINATE_S
            if reported:
                hour.max_lag = max(hour.max_lag, oldest_unloaded(s3, warehouse, clock.now))
            service.run_compacted(hour_ms, plan["run"], compacted=True)
            if reported:
                hour.distcp = distcp
                hour.cluster_seconds += EMR_PROVISION_S + step + EMR_TERMINATE_S
            for key, obj in s3.objects.items():  # loaded: free the compacted bytes
                if f"/{layout.COMPACTED}/" in key:
                    obj.body = None
        if not reported:
            continue
        if strategy == "ec2_cron":
            hour.host_runs += 1
        else:
            hour.lambda_runs[{"sqs": "s3_event", "compact": "compacted"}.get(kind, kind)] += 1
        hour.s3 += s3.requests - s3_before
        after = (warehouse.transactions, warehouse.waited, warehouse.copies, warehouse.data_copies)
        transactions, waited, copies, data_copies = (
            now - then for now, then in zip(after, before, strict=True)
        )
        hour.transactions += transactions
        hour.completions += transactions - waited
        hour.copies += copies
        hour.data_copies += data_copies
        hour.sessions += int(warehouse.calls > calls_before)
        hour.queries += warehouse.calls - calls_before - transactions
        hour.raw_loaded += warehouse.raw_ledgered - raw_before
    if not hour.lag_sampled_at_end:
        hour.max_lag = max(hour.max_lag, oldest_unloaded(s3, warehouse, report_to))
    return hour


def arrival_keys(files_per_hour: float, start: float, end: float) -> list[tuple[str, float]]:
    """Raw keys and arrival times of files every ``3600 / files_per_hour`` seconds (one grid from START_S),
    from ``start`` to ``end``; keys sort in arrival order."""
    step = HOUR / files_per_hour
    # one second after the runs at minute x:01 (schedule, ec2_cron): the worst phase, so "max lag" is the bound
    phase = ARRIVAL_PHASE_S % step
    first, last = math.ceil((start - START_S - phase) / step), math.ceil((end - START_S - phase) / step)
    out = []
    for k in range(first, last):
        second = START_S + phase + k * step
        name = f"shard{k + 10**8:09d}"
        out.append((layout.raw_object_key(PREFIX, TABLE, int(second * 1000), name), second))
    return out


def oldest_unloaded(s3: BenchS3, warehouse: Warehouse, now: float) -> float:
    """Age of the oldest raw file not in the ledger (what the loader's ReplicationLagSeconds measures).

    ``warehouse.loaded_up_to`` remembers the last key before which every raw key is loaded (the ledger only
    grows and new raw keys sort after old ones), so each call walks only the keys since then.
    """
    start = _bisect(s3.keys, max(warehouse.raw_prefix, warehouse.loaded_up_to))
    for key in s3.keys[start:]:
        if not key.startswith(warehouse.raw_prefix):
            break
        if key not in warehouse.ledger:
            return now - s3.objects[key].modified
        warehouse.loaded_up_to = key
    return 0.0


# ---------------------------------------------------------------------------------------------------------------
# Workloads at a change rate, from the writer's defaults
# ---------------------------------------------------------------------------------------------------------------


def stream_batches(rate: float) -> tuple[int, float, float]:
    """(shards, stream batches an hour, changes per batch) with the mapping's default batch size and window."""
    shards = max(1, math.ceil(rate / WRITES_PER_SHARD))
    per_shard = rate / shards
    seconds = min(WRITER_WINDOW_S, WRITER_BATCH_SIZE / per_shard)  # the window closes, or the batch fills
    return shards, shards * HOUR / seconds, per_shard * seconds


def workload(rate: float, aggregation: str, measured: Measured) -> Workload:
    if aggregation == "lambda":  # one object per stream batch
        _shards, per_hour, records = stream_batches(rate)
    else:  # one object per Firehose buffer: the interval, or 64 MiB of NDJSON first
        seconds = min(FIREHOSE_INTERVAL_S, FIREHOSE_BUFFER_MIB * MIB / (rate * measured.envelope_bytes))
        per_hour, records = HOUR / seconds, rate * seconds
    return Workload(f"{rate:g}/s {aggregation}", per_hour, measured.shape(round(records)))


# ---------------------------------------------------------------------------------------------------------------
# Cost per day
# ---------------------------------------------------------------------------------------------------------------

COST_LINES = ("Lambda", "SQS", "Scheduler", "StepFn", "EMR", "EC2", "S3 req", "S3 store")


def day_cost(hour: Hour) -> dict[str, float]:
    """Dollars a day: 24 hours like the reported one."""
    runs = sum(hour.lambda_runs.values())
    run_seconds = sum(
        count * (COMPACTED_LOAD_S if trigger == "compacted" else LOADER_RUN_S)
        for trigger, count in hour.lambda_runs.items()
    )
    per_hour = {
        "Lambda": runs * LAMBDA_REQUEST
        + run_seconds * LOADER_MEMORY_MB / 1024 * LAMBDA_GB_SECOND
        + hour.completions
        * (LAMBDA_REQUEST + COMPLETION_RUN_S * COMPLETION_MEMORY_MB / 1024 * LAMBDA_GB_SECOND),
        "SQS": (hour.sqs_messages + 2 * hour.receives + SQS_POLLERS * HOUR / SQS_LONG_POLL_S) * SQS_REQUEST
        if hour.strategy == "s3_event"
        else 0.0,
        "Scheduler": hour.scheduler * SCHEDULER_INVOCATION,
        "StepFn": hour.sfn_runs * SFN_TRANSITIONS_PER_RUN * SFN_TRANSITION,
        "EMR": hour.cluster_seconds / HOUR * (1 + EMR_CORE_NODES) * (EC2_M5_XLARGE_HOUR + EMR_M5_XLARGE_HOUR),
        "EC2": EC2_T4G_NANO_HOUR + EC2_CRON_ROOT_GB * EBS_GP3_GB_MONTH * 12 / 365 / 24
        if hour.strategy == "ec2_cron"
        else 0.0,
        "S3 req": sum(
            count * {"PUT": S3_PUT, "LIST": S3_PUT, "GET": S3_GET}.get(kind, 0.0)
            for (actor, kind), count in hour.s3.items()
            if actor != "writer"
        ),
        # compacted/ copies kept EMR_RETENTION_DAYS by the lifecycle: in steady state that many days are stored
        "S3 store": hour.distcp.output_bytes / 1e9 * EMR_RETENTION_DAYS * S3_STANDARD_GB_MONTH * 12 / 365,
    }
    return {name: value * 24 for name, value in per_hour.items()}


def serverless_floor(hour: Hour) -> float:
    """Dollars a day if every run that touches the warehouse woke an otherwise idle Serverless workgroup at its
    4-RPU minimum for the 60-second minimum: a bound for scale, not part of the totals."""
    return hour.sessions * 24 * MINIMUM_BILLED_SECONDS / HOUR * 4 * RPU_HOUR


def writer_cost(rate: float, aggregation: str, measured: Measured) -> dict[str, float]:
    _shards, batches_per_hour, records = stream_batches(rate)
    seconds = WRITER_OVERHEAD_S + records / (
        measured.encode_records_per_s * WRITER_MEMORY_MB / LAMBDA_VCPU_MB
    )
    files = workload(rate, aggregation, measured).files_per_hour
    billed_record = math.ceil(measured.envelope_bytes / 5120) * 5120
    return {
        "batches/day": batches_per_hour * 24,
        "objects/day": files * 24,
        "Lambda": batches_per_hour
        * 24
        * (LAMBDA_REQUEST + seconds * WRITER_MEMORY_MB / 1024 * LAMBDA_GB_SECOND),
        "S3 PUT": files * 24 * S3_PUT,
        "Firehose": rate * 86_400 * billed_record / 1024**3 * FIREHOSE_GB
        if aggregation == "firehose"
        else 0.0,
    }


# ---------------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join("  " + line for line in lines)


def money(value: float) -> str:
    return f"{value:.4f}" if value < 0.1 else f"{value:.2f}"


def hour_workload(args: argparse.Namespace, measured: Measured, strategy: str) -> Workload:
    """Part (a): the issue's traffic, with real bodies where s3-dist-cp reads them."""
    bodies = [item.body for item in measured.pool] if strategy == "emr_compaction" else []
    return Workload("a", args.files_per_minute * 60, measured.shapes[args.records_per_file], bodies)


def report_hour(args: argparse.Namespace, measured: Measured, hours: Mapping[str, Hour]) -> None:
    shape = measured.shapes[args.records_per_file]
    files_per_hour = args.files_per_minute * 60
    print(
        f"(a) One hour of {args.files_per_minute} files a minute ({files_per_hour:,} raw files), measured with the real "
        "loader\n"
        f"    file: {shape.records} changes of a mixed-type item (~1.4 KB DynamoDB JSON) -> {shape.raw_bytes / shape.records:,.0f} B "
        f"of NDJSON per change, {shape.gzip_bytes / 1024:,.1f} KiB gzip per file (capture.plan_s3_batch, gzip level 6: "
        f"{shape.raw_bytes / shape.gzip_bytes:.1f}:1)"
    )
    emr = hours["emr_compaction"]
    rows: list[list[object]] = [
        ["seed lab: one COPY per file", f"{files_per_hour:,}", f"{files_per_hour:,}", f"{files_per_hour:,}",
         f"{files_per_hour:,}", f"{files_per_hour:,}", "-"],
    ]  # fmt: skip
    labels = {
        "s3_event": f"s3_event ({SQS_WINDOW_S} s window)",
        "schedule": f"schedule (every {SCHEDULE_RATE_MIN} min)",
        "ec2_cron": f"ec2_cron (every {EC2_CRON_RATE_MIN} min)",
        "emr_compaction": "emr_compaction (hourly)",
    }
    for strategy, hour in hours.items():
        objects = (
            f"{emr.distcp.outputs} compacted" if strategy == "emr_compaction" else f"{hour.raw_objects:,} raw"
        )
        rows.append(
            [labels[strategy], objects, hour.transactions, hour.copies, hour.data_copies, f"{hour.raw_loaded:,}",
             f"{hour.max_lag / 60:.0f}"]
        )  # fmt: skip
    print(
        table(
            ["loaded by", "objects COPY reads/h", "load txns/h", "COPY stmts/h", "data COPYs/h", "raw files loaded/h",
             "max lag (min)"],
            rows,
        )
    )  # fmt: skip
    d = emr.distcp
    print(
        f"    emr_compaction: s3-dist-cp (emulated) read {d.inputs:,} inputs ({d.input_bytes / MIB:,.1f} MiB gzip, "
        f"{d.raw_bytes / MIB:,.1f} MiB NDJSON) and wrote {d.outputs} objects ({d.output_bytes / MIB:,.1f} MiB, "
        f"--targetSize {EMR_TARGET_MB}) in {d.seconds:.1f} s here"
        + (" (one gzip stream per part, --exact-gzip)" if args.exact_gzip else " (one gzip member per input)")
    )
    print(
        f"    its load is ONE transaction with {emr.copies} COPY statements: the {d.outputs} compacted files (one "
        f"manifest) and the ledger list of the {d.inputs:,} raw keys; modelled cluster time "
        f"{emr.cluster_seconds / 60:.1f} min ({EMR_PROVISION_S / 60:.0f} min provisioning + step + "
        f"{EMR_TERMINATE_S / 60:.0f} min terminate) = ${day_cost(emr)['EMR'] / 24:.3f} for the run"
    )
    for name in ("s3_event", "schedule"):
        before = hours[name]
        print(
            f"    before -> after compaction, {name}: COPY statements/h {before.copies} -> {emr.copies} "
            f"({before.copies / emr.copies:.1f}x fewer), data COPYs/h {before.data_copies} -> {emr.data_copies} "
            f"({before.data_copies / emr.data_copies:.0f}x), load transactions/h {before.transactions} -> "
            f"{emr.transactions}, objects COPY reads/h {before.raw_loaded:,} -> {d.outputs}"
        )
    print(
        f"    before -> after compaction, seed lab: COPY statements/h {files_per_hour:,} -> {emr.copies} "
        f"({files_per_hour / emr.copies:,.0f}x fewer; {files_per_hour / emr.data_copies:,.0f}x in data COPYs)"
    )
    schedule = hours["schedule"]
    if schedule.raw_loaded < schedule.raw_objects:
        print(
            f"    NOTE schedule at its default rate falls behind here: a scheduled run loads at most 1,000 files "
            f"(selection.MAX_FILES_PER_LOAD), so {schedule.raw_loaded:,} of {schedule.raw_objects:,} files an hour, "
            f"and the backlog grows by {schedule.raw_objects - schedule.raw_loaded:,} an hour until the rate is "
            "raised (loader.schedule.rate_minutes)."
        )
    print(
        "    max lag = age of the oldest raw file not yet loaded, at its worst in the hour (ReplicationLagSeconds); "
        "emr_compaction's\n    includes the hour itself, the grace and the cluster time by design."
    )


def cost_workloads(measured: Measured, rates: Sequence[float]) -> dict[tuple[float, str], Workload]:
    return {(rate, agg): workload(rate, agg, measured) for agg in ("lambda", "firehose") for rate in rates}


def report_costs(
    measured: Measured,
    loads: Mapping[tuple[float, str], Workload],
    results: Mapping[tuple[float, str], Mapping[str, Hour]],
) -> None:
    print(
        "\n(b) Modelled cost per day, us-east-1 list prices (USD), loader side only; the writer is below.\n"
        f"    Files per hour from the writer defaults: lambda = one object per stream batch (batch {WRITER_BATCH_SIZE}, "
        f"window {WRITER_WINDOW_S} s, one shard per {WRITES_PER_SHARD:,} writes/s); firehose = one object per buffer "
        f"({FIREHOSE_BUFFER_MIB} MiB of NDJSON or {FIREHOSE_INTERVAL_S} s). Sizes scaled from the measured files.\n"
        f"    Each strategy ran one hour with the real loader after {HISTORY_HOURS} h of the same traffic already "
        "loaded (the default lookback)."
    )
    for aggregation in ("lambda", "firehose"):
        rows: list[list[object]] = []
        for (rate, agg), load in loads.items():
            if agg != aggregation:
                continue
            for strategy, hour in results[(rate, agg)].items():
                cost = day_cost(hour)
                rows.append(
                    [f"{rate:g}/s  {load.files_per_hour:,.0f} files/h  {strategy}",
                     *(money(cost[line]) if cost[line] else "-" for line in COST_LINES),
                     money(sum(cost.values())), hour.copies, hour.transactions, hour.queries,
                     f"{hour.max_lag / 60:.0f}", hour.sessions * 24, money(serverless_floor(hour))]
                )  # fmt: skip
        print(f"\n  aggregation = {aggregation}")
        print(
            table(
                ["rate, files, strategy", *COST_LINES, "total/day", "COPY/h", "txn/h", "ledger SELECT/h", "lag min",
                 "WH runs/day", "(RS floor/day)"],
                rows,
            )
        )  # fmt: skip
    print(
        "  Lambda = loader + completion functions; S3 req = the loader's LIST/PUT/GET, Redshift COPY's GETs, the EMR "
        "step's\n  LIST/GET/PUT (all counted in the simulation); S3 store = compacted/ copies kept "
        f"{EMR_RETENTION_DAYS} days by the lifecycle (a created bucket;\n  with your own bucket they stay until you "
        "expire them). WH runs/day = runs that touched the warehouse. (RS floor/day) = what\n  Redshift Serverless "
        f"would add at 4 RPU x {MINIMUM_BILLED_SECONDS} s minimum if every such run woke an idle workgroup: NOT in "
        "the total;\n  a provisioned cluster, or a workgroup kept busy by queries, adds nothing per run. "
        "lag min = the oldest raw file not yet loaded, at its\n  worst in the hour (after the file landed in S3)."
    )
    rows = []
    for rate in sorted({rate for rate, _agg in loads}):
        for aggregation in ("lambda", "firehose"):
            cost = writer_cost(rate, aggregation, measured)
            rows.append(
                [f"{rate:g}/s {aggregation}", f"{cost['batches/day']:,.0f}", f"{cost['objects/day']:,.0f}",
                 money(cost["Lambda"]), money(cost["S3 PUT"]), money(cost["Firehose"]) if cost["Firehose"] else "-",
                 money(cost["Lambda"] + cost["S3 PUT"] + cost["Firehose"])]
            )  # fmt: skip
    print("\n  The writer, the same under every load strategy:")
    print(
        table(
            [
                "rate, aggregation",
                "invocations/day",
                "raw objects/day",
                "Lambda",
                "S3 PUT",
                "Firehose",
                "total/day",
            ],
            rows,
        )
    )
    return results


def report_verdict(results: Mapping[tuple[float, str], Mapping[str, Hour]]) -> None:
    print(
        "\n(c) Verdict: the cheapest load strategy (modelled total above), and the COPY statements per hour of each"
    )
    rows = []
    for (rate, aggregation), hours in results.items():
        totals = {strategy: sum(day_cost(hour).values()) for strategy, hour in hours.items()}
        with_floor = {strategy: totals[strategy] + serverless_floor(hours[strategy]) for strategy in hours}
        cheapest = min(totals, key=totals.__getitem__)
        floor_cheapest = min(with_floor, key=with_floor.__getitem__)
        rows.append(
            [f"{rate:g}/s {aggregation}", f"{cheapest} ${money(totals[cheapest])}",
             *(hours[strategy].copies for strategy in STRATEGIES),
             f"{floor_cheapest} ${money(with_floor[floor_cheapest])}"]
        )  # fmt: skip
    print(
        table(
            ["rate, aggregation", "cheapest/day", *(f"COPY/h {s}" for s in STRATEGIES),
             "cheapest incl. RS floor"],
            rows,
        )
    )  # fmt: skip


def print_assumptions(measured: Measured) -> None:
    print(
        "\nAssumptions (constants at the top of bench/bench_compaction.py):\n"
        f"  EMR run: {EMR_PROVISION_S / 60:.0f} min provisioning + step ({EMR_STEP_START_S} s start + "
        f"{EMR_STEP_PER_INPUT_S} s per input + NDJSON / {measured.gzip_mb_per_s:.0f} MB/s, the gzip rate measured "
        f"here on one core, one task per hour group) + {EMR_TERMINATE_S / 60:.0f} min terminate; 1 master + "
        f"{EMR_CORE_NODES} core m5.xlarge on demand, ${EC2_M5_XLARGE_HOUR} EC2 + ${EMR_M5_XLARGE_HOUR} EMR per "
        "node-hour, per second\n"
        f"  Lambda: loader {LOADER_MEMORY_MB} MB, {LOADER_RUN_S:.0f} s a run, {COMPACTED_LOAD_S:.0f} s for the "
        f"compacted load (it waits); completion {COMPLETION_MEMORY_MB} MB, {COMPLETION_RUN_S:.0f} s per async "
        f"statement; writer {WRITER_MEMORY_MB} MB, {WRITER_OVERHEAD_S} s + the measured encoding time "
        f"({measured.encode_records_per_s:,.0f} changes/s per vCPU) x {LAMBDA_VCPU_MB}/{WRITER_MEMORY_MB}\n"
        f"  SQS: a message per file (S3 notification), receives and deletes in tens, plus {SQS_POLLERS} pollers x "
        f"one {SQS_LONG_POLL_S} s long poll (an upper bound for empty receives)\n"
        f"  Step Functions: {SFN_TRANSITIONS_PER_RUN} transitions per run; Scheduler: s3_event's reconcile every "
        f"{S3_EVENT_RECONCILE_MIN} min, schedule every {SCHEDULE_RATE_MIN} min, emr's compaction + reconcile hourly; "
        f"ec2_cron: t4g.nano + {EC2_CRON_ROOT_GB} GB gp3, no Scheduler\n"
        "  Not modelled: Redshift compute per COPY/commit (counts given; the Serverless floor is a bound), data "
        "transfer,\n  CloudWatch, KMS, NAT/VPC endpoints, EBS volumes of EMR nodes, free tiers, taxes, failures "
        "and retries."
    )
    print(
        f"Prices (us-east-1 on demand, no free tier; the ones added here read {PRICES_READ_ON}, {PRICES_CHECKED}):"
    )
    for what, where in PRICE_SOURCES:
        print(f"  {what}: {where}")


def _simulate_task(task: tuple[str, Workload, dict[str, Any]]) -> Hour:
    strategy, load, options = task
    return simulate(strategy, load, **options)


def run_all(tasks: Mapping[Any, tuple[str, Workload, dict[str, Any]]], workers: int) -> dict[Any, Hour]:
    """Every simulation, on ``workers`` processes (forked: they share the measured files)."""
    # the costliest first (files per hour x runs per hour), so that the workers finish together
    runs = {"s3_event": 2, "schedule": 4, "ec2_cron": 12, "emr_compaction": 2}
    keys = sorted(tasks, key=lambda key: -tasks[key][1].files_per_hour * runs[tasks[key][0]])
    if workers <= 1:
        return {key: _simulate_task(tasks[key]) for key in keys}
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return dict(zip(keys, pool.map(_simulate_task, [tasks[key] for key in keys]), strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files-per-minute", type=int, default=100)
    parser.add_argument("--records-per-file", type=int, default=100)
    parser.add_argument("--rates", default="10,100,1000", help="changes per second, comma-separated")
    parser.add_argument(
        "--exact-gzip", action="store_true", help="recompress each compacted part as one gzip stream (slow)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes for the simulations"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    measured = measure(args.records_per_file)
    rate = {"gzip_mb_per_s": measured.gzip_mb_per_s}
    # (a) counts statements, objects and lag: one hour of history is enough (not the 24 h lookback's listings).
    tasks: dict[Any, tuple[str, Workload, dict[str, Any]]] = {
        ("a", strategy): (
            strategy,
            hour_workload(args, measured, strategy),
            # emr_compaction's reported run compacts the hour before, whose files must all have bodies
            {**rate, "warmup_s": HOUR if strategy == "emr_compaction" else None, "history_h": 1}
            | ({"exact_gzip": args.exact_gzip} if strategy == "emr_compaction" else {}),
        )
        for strategy in STRATEGIES
    }
    loads = cost_workloads(measured, [float(value) for value in args.rates.split(",")])
    for (rate_s, aggregation), load in loads.items():
        for strategy in STRATEGIES:
            # Only s3-dist-cp sees file sizes: the other strategies depend on the file count alone.
            shared = strategy != "emr_compaction"
            key = ("b", strategy, load.files_per_hour) if shared else ("b", strategy, rate_s, aggregation)
            tasks.setdefault(key, (strategy, load, rate))
    hours = run_all(tasks, args.workers)
    results = {
        (rate_s, aggregation): {
            strategy: hours[
                ("b", strategy, load.files_per_hour)
                if strategy != "emr_compaction"
                else ("b", strategy, rate_s, aggregation)
            ]
            for strategy in STRATEGIES
        }
        for (rate_s, aggregation), load in loads.items()
    }
    report_hour(args, measured, {strategy: hours[("a", strategy)] for strategy in STRATEGIES})
    report_costs(measured, loads, results)
    report_verdict(results)
    print_assumptions(measured)
    print(f"\n({time.perf_counter() - started:.0f} s on {args.workers} processes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
