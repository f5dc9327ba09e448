"""The demo's backfill: a table that held items before the pipeline, and the backfill racing live writes.

``make demo BACKFILL=step_functions|checkpoint_table|export``:

1. before ``terraform apply``, :func:`seed_table` creates the table with **no** stream, writes the
   seed items (puts only), then turns the stream on (and point-in-time recovery for ``export``):
   exactly a production table the module is pointed at, whose old items the stream never saw;
2. examples/local adopts that table (``adopt_table``) and deploys the backfill (``backfill_mode``);
3. after apply, :class:`Backfill` starts the backfill with the operator's command
   (``python -m ddb_cdc.cli backfill start --function <backfill function>``) while the generator
   updates and deletes seeded keys and writes new ones; the demo then checks the view equals the table.

With ``interrupt`` (step_functions and checkpoint_table), the backfill is cancelled once a segment
has written pages, then resumed: every segment must continue from its cursor, which the run proves
by the snapshot objects' write times (no page written before the cancel is written again).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

SEED_KEYS: Final = [("id", "S", "HASH"), ("timestamp", "N", "RANGE")]
RUNNING: Final = ("RUNNING", "STARTING")
_BACKFILL_OBJECT = re.compile(r"/(snapshot|export)_[^/]+\.json\.gz$")
_SNAPSHOT = re.compile(
    r"snapshot_(?P<scan>[0-9A-Za-z]+)_(?P<segment>[0-9]{5})_(?P<page>[0-9]{8})_[0-9a-f]{12}\.json\.gz$"
)


def seed_table(
    dynamodb: Any, table: str, items: int, *, pitr: bool, write: Callable[[int], dict[str, Any]]
) -> dict[str, Any]:
    """Create ``table`` without a stream, write ``items`` puts through ``write``, then enable the stream."""
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": name, "KeyType": kind} for name, _, kind in SEED_KEYS],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": kind} for name, kind, _ in SEED_KEYS],
        BillingMode="PAY_PER_REQUEST",
    )
    summary = write(items)
    dynamodb.update_table(
        TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    if pitr:
        dynamodb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return summary


@dataclass
class Backfill:
    """The operator's CLI, run as a subprocess with the emulator's environment."""

    function_name: str
    env: dict[str, str]
    s3: Any
    bucket: str
    raw_prefix: str
    figures: dict[str, Any] = field(default_factory=dict)

    def cli(self, *arguments: str) -> dict[str, Any]:
        argv = [
            sys.executable,
            "-m",
            "ddb_cdc.cli",
            "backfill",
            *arguments,
            "--function",
            self.function_name,
            "--json",
        ]
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False)
        if done.returncode not in (0, 1) or not done.stdout.strip():
            raise RuntimeError(
                f"backfill {' '.join(arguments)} failed ({done.returncode}): {done.stderr[-2000:]}"
            )
        return json.loads(done.stdout)

    def start(self) -> dict[str, Any]:
        self._started = time.monotonic()
        started = self.cli("start")
        self.figures.update(
            scan_id=started["scan_id"], mode=started["mode"], segments=started.get("total_segments")
        )
        return started

    def wait(
        self, timeout_s: float, *, until: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        """Poll ``backfill status`` until ``until`` holds (default: the scan is no longer running)."""
        done = until or (lambda status: status.get("state") not in RUNNING)
        deadline = time.monotonic() + timeout_s
        status = self.cli("status")
        while not done(status) and time.monotonic() < deadline:
            time.sleep(0.5)
            status = self.cli("status")
        return status

    def interrupt_and_resume(
        self, timeout_s: float, *, quiet: Callable[[], bool], kill: Callable[[], object] | None = None
    ) -> None:
        """Cancel once a segment recorded pages, let nothing run, resume; count pages written twice.

        A cancel stops the execution (step_functions) or marks the cursor items (checkpoint_table).
        In checkpoint mode the running invocation notices within a page and records how far it
        got. An execution's invocations already running go on, as in AWS: ``kill`` crashes them
        (the sandbox's kill-worker fault) until none is left, which is also the "killed segment"
        case: each must later continue from its last recorded page. ``quiet`` says the backfill
        function has no invocation in flight.
        """
        self.wait(
            timeout_s,
            until=lambda s: (
                any(int(p) > 0 for p in s.get("segment_pages", {}).values()) or s.get("state") not in RUNNING
            ),
        )
        recorded = self.cli("status")
        # Pages 0..page-1 of each segment are recorded as done: none may be written again.
        before = {
            int(segment): set(range(int(page))) for segment, page in recorded.get("segment_pages", {}).items()
        }
        cut_at = time.time()
        self.cli("cancel")
        # At once, before the invocation the cancel did not stop reads its segment to the end.
        deadline = time.monotonic() + timeout_s
        kills = 0
        while not quiet() and time.monotonic() < deadline:
            if kill is not None and kill() is not None:
                kills += 1
            time.sleep(0.2)
        self.wait(timeout_s, until=lambda s: s.get("state") not in RUNNING)
        stopped = self.cli("status")
        resumed = self.cli("resume")
        self.figures.update(
            cancelled_state=stopped.get("state"),
            items_before_resume=stopped.get("items_written"),
            workers_killed=kills,
            resumed_segments=len(resumed.get("resumed_segments") or []),
            segments_with_pages_before_resume=sum(1 for pages in before.values() if pages),
            resumed_mid_segment=sum(
                1
                for segment in resumed.get("resumed_segments") or []
                if int(stopped.get("segment_pages", {}).get(str(segment), 0)) > 0
            ),
        )
        self._resume_check = (before, cut_at)

    def finish(self, timeout_s: float) -> dict[str, Any]:
        status = self.wait(timeout_s)
        seconds = time.monotonic() - self._started
        objects = self._snapshot_objects()
        written = 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.raw_prefix
        ):
            written += sum(1 for entry in page.get("Contents") or [] if _BACKFILL_OBJECT.search(entry["Key"]))
        self.figures.update(
            state=status.get("state"),
            items_written=status.get("items_written"),
            bytes_written=status.get("bytes_written"),
            segments_done=status.get("segments_done"),
            snapshot_objects=written,
            seconds=round(seconds, 2),
            items_per_second=round((status.get("items_written") or 0) / seconds, 1) if seconds else None,
        )
        if hasattr(self, "_resume_check"):
            before, resumed_at = self._resume_check
            rewritten = [
                key
                for key, (segment, page, modified) in objects.items()
                if page in before.get(segment, set()) and modified >= resumed_at
            ]
            self.figures["pages_rewritten_after_resume"] = len(rewritten)
        return status

    def _snapshot_objects(self) -> dict[str, tuple[int, int, float]]:
        """Snapshot object key -> (segment, page, LastModified epoch seconds)."""
        found = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.raw_prefix
        ):
            for entry in page.get("Contents") or []:
                match = _SNAPSHOT.search(entry["Key"])
                if match:
                    found[entry["Key"]] = (
                        int(match["segment"]),
                        int(match["page"]),
                        entry["LastModified"].timestamp(),
                    )
        return found
