"""Demo runs for the sandbox's end-to-end tests, all started together and each awaited by its own tests.

A test module lists the demos it needs in ``DEMO_RUNS`` (name -> demo arguments). As soon as the tests
are collected, the demos of every module that has a selected ``sandbox`` test start side by side, up to
``MAX_PARALLEL`` at once (the rest as slots free up), and run while the rest of the suite does: most of
a run is the AWS provider's own waiting (terraform apply and destroy), so five at once take little
longer than the slowest one. :func:`demo_runs` hands them to the tests, which wait for their own.

A run that measures rates (the planner's calibration) is named in the module's ``DEMO_RUNS_ALONE``: it takes a
slot like any other run (its apply goes on beside the demos), but it writes no change until it is released
(``--wait-for``, tests/sandbox/demo.py): once every other demo has ended and no other such run is still writing
(beside six demos on two cores the calibration starved). One at a time, in order; the next is released when the one
before has written its changes (``<file>.done``), while that one settles and destroys.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from tests.rig.own_process import stop_process
from tests.sandbox import demo

RUN_TIMEOUT_S: Final = 900.0
# Five demos at once share two cores well; more starve the in-process emulators (a response
# that arrives after the AWS provider's timeout makes it retry a create, which then conflicts).
MAX_PARALLEL: Final = 5
STOP_TIMEOUT_S: Final = 120.0


@dataclass
class DemoRun:
    name: str
    argv: list[str]
    report_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    started: float
    started_wall: float
    hold: Path | None = None  # a run that waits for this file before writing changes (DEMO_RUNS_ALONE)
    released_wall: float | None = None
    result: tuple[dict[str, Any] | None, str] | None = None

    def timeout_s(self) -> float:
        # A held run may wait for its release up to the demo's own --wait-for limit, then runs as any other.
        return RUN_TIMEOUT_S + (demo.WAIT_FOR_TIMEOUT_S if self.hold is not None else 0.0)

    def still_writing(self) -> bool:
        """A released run that has not yet written all its changes (nor ended)."""
        assert self.hold is not None
        return self.process.poll() is None and not demo.done_marker(self.hold).exists()

    def wait(self) -> tuple[dict[str, Any] | None, str]:
        """The run's JSON report (None if it wrote none) and its output, ``exit <code>`` first."""
        if self.result is None:
            note = ""
            try:
                self.process.wait(timeout=max(0.0, self.started + self.timeout_s() - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stop()
                note = f"\n[test] the demo timed out after {self.timeout_s():.0f} s and was terminated"
            output = self.log_path.read_text(errors="replace")
            text = f"exit {self.process.returncode}\n{output[-8000:]}{note}"
            # A run that failed writes an empty list: no report, and the output says why.
            reports = json.loads(self.report_path.read_text()) if self.report_path.exists() else []
            report = reports[0] if reports else None
            self.result = (report, text)
        return self.result

    def stop(self) -> None:
        """SIGTERM first: the demo then destroys its stack and stops moto, PostgreSQL and its workers."""
        stop_process(self.process, STOP_TIMEOUT_S)


class DemoRuns:
    """Demo processes, at most ``MAX_PARALLEL`` at once; the others start as soon as a slot frees up.

    A thread of its own fills the slots and releases the held runs: a demo must not wait until pytest's main thread
    asks for its result (in CI the last two waited 17 minutes for the suite to reach them, and then the suite waited
    for them)."""

    def __init__(
        self, directory: Path, command: Sequence[str] = (sys.executable, "-m", "tests.sandbox.demo")
    ) -> None:
        self._directory = directory
        self._command = list(command)
        self._runs: dict[str, DemoRun] = {}
        self._waiting: list[tuple[str, list[str]]] = []
        self._alone: set[str] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._filler: threading.Thread | None = None

    def start(self, name: str, arguments: Sequence[str], *, alone: bool = False) -> None:
        """Queue a run; an ``alone`` run writes its changes only once released (see the module's docstring)."""
        with self._lock:
            self._waiting.append((name, list(arguments)))
            if alone:
                self._alone.add(name)
            self._fill()
            self._release()
            if self._unfinished() and self._filler is None:
                self._filler = threading.Thread(target=self._fill_and_release, name="demo-slots", daemon=True)
                self._filler.start()

    def _fill_and_release(self) -> None:
        while not self._stopped.wait(1.0):
            with self._lock:
                self._fill()
                self._release()
                if not self._unfinished():
                    self._filler = None  # a later start() that must wait starts a new filler
                    return

    def _unfinished(self) -> bool:
        """Runs still to start, or held runs still to release (the caller holds the lock)."""
        return bool(self._waiting) or any(
            run.hold is not None and run.released_wall is None for run in self._runs.values()
        )

    def _running(self) -> list[str]:
        return [name for name, run in self._runs.items() if run.process.poll() is None]

    def _fill(self) -> None:
        """Start waiting runs, in order, while slots are free (the caller holds the lock)."""
        while self._waiting and len(self._running()) < MAX_PARALLEL:
            name, arguments = self._waiting.pop(0)
            report_path = self._directory / f"{name}.json"
            log_path = self._directory / f"{name}.log"
            hold = self._directory / f"{name}.go" if name in self._alone else None
            argv = [*self._command, *arguments, f"--report-json={report_path}"]
            if hold is not None:
                argv.append(f"--wait-for={hold}")
            with log_path.open("wb") as log:  # a file, not a pipe: nobody reads it while the runs go on
                process = subprocess.Popen(argv, cwd=demo.REPO, stdout=log, stderr=subprocess.STDOUT)
            self._runs[name] = DemoRun(
                name, argv, report_path, log_path, process, time.monotonic(), time.time(), hold
            )

    def _release(self) -> None:
        """Release the next held run once no other demo is waiting or running and no released run is still
        writing its changes (the caller holds the lock)."""
        if any(name not in self._alone for name, _ in self._waiting):
            return
        if any(name not in self._alone for name in self._running()):
            return
        held = [run for run in self._runs.values() if run.hold is not None]
        if any(run.released_wall is not None and run.still_writing() for run in held):
            return
        for run in held:  # in the order they started
            if run.released_wall is None:
                assert run.hold is not None
                run.hold.touch()
                run.released_wall = time.time()
                return

    def result(self, name: str) -> tuple[dict[str, Any] | None, str]:
        # A run still waiting for a slot is started by the filler thread once enough earlier runs have ended.
        while True:
            with self._lock:
                run = self._runs.get(name)
                if run is None and not any(waiting == name for waiting, _ in self._waiting):
                    raise KeyError(f"no demo run named {name!r} was started")
            if run is not None:
                return run.wait()
            time.sleep(1.0)

    def timeline(self, since: float) -> list[str]:
        """One line per run: when it started after ``since`` (epoch seconds), how long it ran, how it ended."""
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda r: r.started_wall)
        lines = []
        for run in runs:
            code = run.process.poll()
            # The log's last write is when the run ended (a demo writes to it until it exits).
            ended = run.log_path.stat().st_mtime if code is not None else time.time()
            state = f"exit {code}" if code is not None else "still running"
            released = "" if run.released_wall is None else f"  released +{run.released_wall - since:.0f} s"
            lines.append(
                f"{run.name:<32} start +{run.started_wall - since:6.0f} s  ran {ended - run.started_wall:5.0f} s  "
                f"{state}{released}"
            )
        return lines

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            self._waiting.clear()
            runs = list(self._runs.values())
        for run in runs:
            run.stop()


_STARTED: dict[str, DemoRuns] = {}
_SESSION_STARTED: Final = time.time()  # this conftest is imported at collection, before any demo starts


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the demos as soon as the tests are collected, so that they run while the rest of the suite does:
    most of a demo is waiting (the AWS provider's own polling), and its tests come late in the run."""
    if session.config.option.collectonly:
        return
    modules = {
        module
        for item in session.items
        if item.get_closest_marker("sandbox") and (module := getattr(item, "module", None)) is not None
    }
    wanted = [
        (name, arguments, name in getattr(module, "DEMO_RUNS_ALONE", ()))
        for module in sorted(modules, key=lambda m: m.__name__)
        for name, arguments in getattr(module, "DEMO_RUNS", {}).items()
    ]
    if not wanted:
        return
    # The longest runs (injected faults, backfills) take the first slots; the runs that need the machine come last.
    wanted.sort(key=lambda run: (run[2], not any(a.startswith(("--faults", "--backfill")) for a in run[1])))
    factory = getattr(session.config, "_tmp_path_factory", None)
    directory = (
        factory.mktemp("demo-runs") if factory is not None else Path(tempfile.mkdtemp(prefix="demo-runs-"))
    )
    runs = DemoRuns(directory)
    for name, arguments, alone in wanted:
        runs.start(name, arguments, alone=alone)
    _STARTED["runs"] = runs


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """When each demo ran, for reading a CI run's time (the demos share the machine with the suite)."""
    runs = _STARTED.get("runs")
    if runs is not None:
        terminalreporter.write_sep("=", "demo runs (seconds after collection began)")
        for line in runs.timeline(_SESSION_STARTED):
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    runs = _STARTED.get("runs")  # kept for pytest_terminal_summary, which pytest calls after this hook
    if runs is not None:
        runs.stop()


@pytest.fixture(scope="session")
def demo_runs() -> DemoRuns:
    runs = _STARTED.get("runs")
    if runs is None:
        pytest.fail("no demo runs were started: DEMO_RUNS of the selected sandbox tests is empty")
    return runs
