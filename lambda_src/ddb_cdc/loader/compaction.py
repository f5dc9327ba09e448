"""Pure rules of ``load_strategy = "emr_compaction"``: which hour a run compacts, the
s3-dist-cp command line, and the two lists a run keeps in S3.

One run (modules/emr_compaction's state machine, hourly at ``grace_minutes`` past the
hour) handles the hour before:

1. **plan** (the loader, ``{"trigger": "compaction_plan"}``): list the hour's raw files
   and write them, one ``s3://bucket/key`` per line, to the run's ``inputs.txt``. The
   s3-dist-cp step reads exactly that list (``--srcPrefixesFile``: the source path is
   then not listed, and every line is a whole key, so it names only itself) and
   concatenates it per hour (``--groupBy``) into gzip files of about ``--targetSize``
   MiB under ``compacted/<table>/YYYY/MM/DD/HH/<run>/``. An hour with no raw file
   starts no cluster.
2. **load** (the loader, ``{"trigger": "compacted"}``): one COPY of the compacted files
   and, in the same transaction, the ledger rows of every raw file in ``inputs.txt``
   (COPYed from a gzip list, so any number of them fits the Data API's limits). Then
   the raw files of the lookback window that are still not in the ledger are loaded
   as they are: a file that landed after the listing (a late Firehose buffer, a
   retried batch, a backfill page) is in no compacted file and is loaded here, by the
   next run, or by the reconciliation sweep, whose grace the module sets past the
   compaction's longest run.

Nothing depends on compaction succeeding: a run whose step or cluster failed loads the
hour's raw files uncompacted (``"compacted": false``), and the raw files stay where
they were (``replay`` reloads them; compacted copies hold the same envelopes, so
loading both is harmless).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from ddb_cdc import layout
from ddb_cdc.warehouse.manifest import s3_url

HOUR_MS: Final = 3_600_000
# What s3-dist-cp writes with --outputCodec=gz: the group's name plus ".gz" (or a part
# number and ".gz"). Hadoop's marker files ("_SUCCESS") and anything else are not data.
COMPACTED_SUFFIX: Final = ".gz"


class CompactionError(ValueError):
    """A compaction request or a run's files that the loader refuses to act on."""


def requested_hour(request: object) -> int:
    """The start (epoch ms) of the hour a run compacts.

    ``{"hour": "2026-12-07T03"}`` names it (a manual run); ``{"scheduled_time":
    "2026-12-07T04:15:00Z"}`` (the schedule's ``<aws.scheduler.scheduled-time>``) means
    the hour before the one it was scheduled in.
    """
    if not isinstance(request, Mapping):
        raise CompactionError(
            'a compaction request is {"hour": "YYYY-MM-DDTHH"} or {"scheduled_time": ISO 8601}'
        )
    if request.get("hour") is not None:
        try:
            return layout.parse_hour_label(request["hour"])
        except layout.LayoutError as exc:
            raise CompactionError(str(exc)) from None
    scheduled = request.get("scheduled_time")
    if not isinstance(scheduled, str):
        raise CompactionError(
            'a compaction request needs "hour" (YYYY-MM-DDTHH) or "scheduled_time" (ISO 8601)'
        )
    try:
        moment = datetime.fromisoformat(scheduled)
    except ValueError:
        raise CompactionError(f"scheduled_time {scheduled!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    return ms - ms % HOUR_MS - HOUR_MS


def group_by_pattern(table: str) -> str:
    """``--groupBy``: one group per hour, named by the hour's digits (``2026120703``).

    It matches the whole source path (s3-dist-cp matches full paths), so only raw change
    files of this table are concatenated; a file it does not match is not copied.
    """
    return (
        r".*/"
        + layout.RAW
        + "/"
        + re.escape(table)
        + r"/([0-9]{4})/([0-9]{2})/([0-9]{2})/([0-9]{2})/[^/]*\.json\.gz"
    )


def s3_dist_cp_args(
    bucket: str, prefix: str, table: str, hour_ms: int, run_id: str, target_size_mb: int
) -> list[str]:
    """The EMR step's argv (``command-runner.jar`` runs it)."""
    if not 1 <= target_size_mb <= 1024:
        raise CompactionError("target size must be 1 to 1024 MiB")
    return [
        "s3-dist-cp",
        f"--src={s3_url(bucket, layout.raw_hour_prefix(prefix, table, hour_ms))}",
        f"--dest={s3_url(bucket, layout.compacted_prefix(prefix, table, hour_ms, run_id))}",
        f"--srcPrefixesFile={s3_url(bucket, layout.compaction_inputs_key(prefix, table, hour_ms, run_id))}",
        f"--groupBy={group_by_pattern(table)}",
        f"--targetSize={target_size_mb}",
        "--outputCodec=gz",
    ]


def inputs_body(bucket: str, keys: Iterable[str]) -> bytes:
    """``inputs.txt``: one ``s3://bucket/key`` per line, sorted."""
    return "".join(s3_url(bucket, key) + "\n" for key in sorted(set(keys))).encode("utf-8")


def parse_inputs(body: bytes, bucket: str, hour_prefix: str) -> list[str]:
    """The raw keys ``inputs.txt`` lists; each must be a raw change file of the run's hour."""
    start = s3_url(bucket, "")
    keys: list[str] = []
    for number, line in enumerate(body.decode("utf-8").splitlines(), start=1):
        if not line:
            continue
        key = line[len(start) :] if line.startswith(start) else ""
        if (
            not key.startswith(hour_prefix)
            or not key.endswith(layout.RAW_SUFFIX)
            or "/" in key[len(hour_prefix) :]
        ):
            raise CompactionError(f"inputs line {number} is not a raw change file of {hour_prefix}")
        keys.append(key)
    return sorted(set(keys))


def compacted_files(keys: Iterable[str]) -> list[str]:
    """The data files among the keys listed under a run's ``--dest``."""
    return sorted(
        key
        for key in keys
        if key.endswith(COMPACTED_SUFFIX) and not key.rsplit("/", 1)[-1].startswith(("_", "."))
    )


def ledger_list_body(keys: Sequence[str]) -> bytes:
    """The gzip NDJSON the load COPYs into its ledger list: ``{"file_key": key}`` per line."""
    text = "".join(json.dumps({"file_key": key}) + "\n" for key in keys)
    return gzip.compress(text.encode("utf-8"), mtime=0)


def plan_result(hour_ms: int, run_id: str, inputs: int, args: Sequence[str]) -> dict[str, Any]:
    """What the plan step returns to the state machine (see modules/emr_compaction)."""
    return {"hour": layout.hour_label(hour_ms), "run": run_id, "inputs": inputs, "args": list(args)}
