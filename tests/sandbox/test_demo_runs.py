"""The demo slots of tests/sandbox/conftest.py: a held run (DEMO_RUNS_ALONE) writes its changes only when no other
demo runs and no other held run is still writing; held runs are released one at a time, in order.

A stand-in demo records when it started writing and when it ended, so the order is read from what the runs did."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from tests.sandbox.conftest import DemoRuns

# Stand-in for `python -m tests.sandbox.demo NAME SECONDS [AFTER] --report-json=... [--wait-for=FILE]`: waits for
# FILE, "writes" for SECONDS, touches FILE.done, then "settles and destroys" for SECONDS more, and (with AFTER) until
# the run AFTER has started writing, giving up after 60 s.
FAKE_DEMO = textwrap.dedent(
    """
    import json, pathlib, sys, time
    name, seconds = sys.argv[1], float(sys.argv[2])
    after = [a for a in sys.argv[3:] if not a.startswith("--")]
    options = dict(a[2:].split("=", 1) for a in sys.argv[3:] if a.startswith("--"))
    log = pathlib.Path(options["report-json"]).with_suffix(".events")
    def note(event):
        with log.open("a") as f:
            f.write(json.dumps([time.time(), name, event]) + "\\n")
    hold = options.get("wait-for")
    if hold:
        while not pathlib.Path(hold).exists():
            time.sleep(0.05)
    note("writing")
    log.with_suffix(".writing").touch()
    time.sleep(seconds)
    if hold:
        pathlib.Path(hold + ".done").touch()
    note("written")
    time.sleep(seconds)
    if after:
        other = log.with_name(after[0] + ".writing")
        deadline = time.monotonic() + 60
        while not other.exists():
            if time.monotonic() > deadline:
                note("gave up waiting for " + after[0])
                break
            time.sleep(0.05)
    pathlib.Path(options["report-json"]).write_text("[]")
    note("ended")
    """
)


def _events(directory: Path) -> list[tuple[float, str, str]]:
    lines = [line for path in directory.glob("*.events") for line in path.read_text().splitlines()]
    return sorted(tuple(json.loads(line)) for line in lines)


def test_held_runs_write_one_at_a_time_after_every_other_demo_has_ended(tmp_path: Path):
    script = tmp_path / "fake_demo.py"
    script.write_text(FAKE_DEMO)
    runs = DemoRuns(tmp_path, command=(sys.executable, str(script)))
    try:
        runs.start("demo-a", ["demo-a", "1.0"])
        runs.start("demo-b", ["demo-b", "0.3"])
        runs.start("held-1", ["held-1", "2.5", "held-2"], alone=True)  # writes longer than a filler tick
        runs.start("held-2", ["held-2", "0.5"], alone=True)
        for name in ("demo-a", "demo-b", "held-1", "held-2"):
            runs.result(name)
    finally:
        runs.stop()
    events = _events(tmp_path)
    at = {(name, event): t for t, name, event in events}
    # Both held runs were started beside the demos (their apply overlaps them) ...
    assert {name for _, name, event in events if event == "writing"} == {
        "demo-a",
        "demo-b",
        "held-1",
        "held-2",
    }
    # ... but wrote nothing until both demos had ended, and the second only after the first had written its changes.
    assert at[("held-1", "writing")] >= max(at[("demo-a", "ended")], at[("demo-b", "ended")])
    assert at[("held-2", "writing")] >= at[("held-1", "written")]
    # The second writes while the first settles: held-1 ends only once held-2 has started writing.
    assert not [event for _, _, event in events if event.startswith("gave up")]
    assert at[("held-2", "writing")] < at[("held-1", "ended")]
    assert "released +" in "\n".join(runs.timeline(0.0))
