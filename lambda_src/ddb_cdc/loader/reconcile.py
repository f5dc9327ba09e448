"""Pure rules of the reconciliation sweep: which raw keys one run re-checks against the ledger.

Contract 4: every object under ``raw/<table>/`` that is not in the ledger is eventually
loaded, whatever failed in between (a warehouse outage that made the ledger look-up
fail, an SQS message that reached its DLQ, a lost completion event, a lost S3
notification, a file that landed late). The triggers alone cannot promise that: an
s3_event run sees only the files it was told about, and a scheduled run lists only
the hours from the ledger's high-water mark minus ``schedule_lookback_hours``.

So every run also takes one bounded step of a sweep over the whole prefix, with two
cursors kept in S3 (``load-failures/<table>/_reconcile.json``):

* ``recent`` walks the keys of the lookback window (hours from now minus
  ``schedule_lookback_hours``), one page per run, and wraps to the window's start at
  the end of the prefix. Files stranded by an outage are here.
* ``history`` walks the keys before the window from the very first one, one page per
  run, and wraps at the window. It finds what lands late in an old hour, or was
  released from quarantine, or predates the loader.

Proof sketch: a key K stays under the prefix until it is ledgered (or quarantined). S3
lists keys in order, so the cursor whose range holds K reaches it within one cycle of
that range (range size / page size runs); if K is then older than the grace period
and not ledgered, that run loads it. A key younger than the grace period is left to
its own trigger, and met again in the next cycle. One run does at most two LIST
calls and looks up at most ``2 * page`` keys in the ledger, whatever the backlog.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

HOUR_MS: Final = 3_600_000
# Keys examined per cursor and run: one ListObjectsV2 page and one ledger query
# (render_ledgered_files puts 300 keys in one statement).
PAGE_KEYS: Final = 300
# A file younger than this is its trigger's business (an s3_event load in its batching
# window, an async statement still running); the sweep looks at it on its next cycle.
GRACE_SECONDS: Final = 900


@dataclass(frozen=True, slots=True)
class Cursors:
    recent: str = ""
    history: str = ""

    @classmethod
    def from_state(cls, state: dict[str, str]) -> Cursors:
        return cls(state.get("recent", ""), state.get("history", ""))

    def as_state(self) -> dict[str, str]:
        return {"recent": self.recent, "history": self.history}


def window_start(raw_prefix: str, now_s: float, lookback_hours: int) -> str:
    """The first key position of the lookback window: ``<raw prefix>YYYY/MM/DD/HH/``
    of the hour ``lookback_hours`` before now. Every key of that hour or later sorts
    after it; every key of an earlier hour sorts before it."""
    start_ms = int(now_s * 1000) - lookback_hours * HOUR_MS
    return raw_prefix + time.strftime("%Y/%m/%d/%H/", time.gmtime(start_ms // 1000))


def recent_start(cursors: Cursors, window: str) -> str:
    """Where the ``recent`` cursor lists from: its position, or the window's start when
    the window has moved past it (or it wrapped)."""
    return max(cursors.recent, window)


def next_recent(listed: Sequence[str], reached_end: bool) -> str:
    """The ``recent`` cursor after a page: its last key, or empty (wrap) at the end."""
    return "" if reached_end or not listed else listed[-1]


def next_history(listed: Sequence[str], reached_end: bool, window: str) -> str:
    """The ``history`` cursor after a page: its last key, or empty (wrap to the first
    key) once the page reaches the window or the end of the prefix."""
    wrapped = reached_end or not listed or listed[-1] >= window
    return "" if wrapped else listed[-1]


def old_enough(last_modified: datetime | None, now_s: float, grace_seconds: float) -> bool:
    """A file the sweep may load: written at least the grace period ago (a file of
    unknown age is assumed old: loading it twice is harmless)."""
    return last_modified is None or now_s - last_modified.timestamp() >= grace_seconds
