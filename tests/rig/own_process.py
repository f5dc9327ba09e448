"""Slow test modules that run in a pytest process of their own, beside the suite instead of in its one thread.

A module that sets ``RUN_IN_OWN_PROCESS = True`` (its time is mostly Terraform and the AWS provider waiting on moto,
not this process's CPU) is handed, as soon as the tests are collected, to a child ``pytest`` run with its selected
tests; the session's items for it are replaced by :class:`OwnProcessItem`, each reporting its test's outcome from the
child's JUnit XML. So its minutes overlap the rest of the suite, as the demos do (tests/sandbox/conftest.py), and a
failure still fails ``make test`` with the child's message. The child gets its own ``--basetemp`` and PostgreSQL
(tests/rig/pytest_plugin.py), and none of the parent's fixtures run for these items.

A session that selected nothing but such modules (a developer running one of them) runs them in process, as usual.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

ATTRIBUTE: Final = "RUN_IN_OWN_PROCESS"
CHILD_ENV: Final = "CDC_OWN_PROCESS_CHILD"
TIMEOUT_S: Final = 1200.0
STOP_TIMEOUT_S: Final = 60.0


@dataclass(frozen=True)
class Outcome:
    status: str  # passed, failed, skipped
    message: str


class ModuleRun:
    """One child pytest over one module's selected tests; its outcomes are read once it has ended."""

    def __init__(self, module: Path, nodeids: list[str], directory: Path, rootdir: Path) -> None:
        self.module = module
        self.xml = directory / "junit.xml"
        self.log = directory / "output.log"
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={self.xml}",
            f"--basetemp={directory / 'tmp'}",
            *nodeids,
        ]
        env = {**os.environ, CHILD_ENV: "1"}
        with self.log.open("wb") as log:  # a file, not a pipe: nobody reads it while the run goes on
            self.process = subprocess.Popen(argv, cwd=rootdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        self._outcomes: dict[str, Outcome] | None = None
        self._note = ""

    def outcomes(self) -> dict[str, Outcome]:
        if self._outcomes is None:
            try:
                self.process.wait(timeout=max(0.0, self.started + TIMEOUT_S - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stop()
                self._note = f"the child pytest timed out after {TIMEOUT_S:.0f} s and was stopped"
            self._outcomes = read_junit(self.xml) if self.xml.exists() else {}
        return self._outcomes

    def output_tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"exit {self.process.returncode}; {self._note}\n{text[-6000:]}"

    def stop(self) -> None:
        stop_process(self.process, STOP_TIMEOUT_S)


def stop_process(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, so the process can clean up (destroy its stack, stop its servers); SIGKILL after ``timeout``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def junit_key(nodeid: str) -> str:
    """The ``classname::name`` JUnit gives a test: ``tests/a/test_b.py::C::test_d[x]`` -> ``tests.a.test_b.C::test_d[x]``."""
    path, *parts = nodeid.split("::")
    dotted = path[: -len(".py")].replace("/", ".") if path.endswith(".py") else path.replace("/", ".")
    return ".".join([dotted, *parts[:-1]]) + "::" + parts[-1]


def read_junit(path: Path) -> dict[str, Outcome]:
    """Each test's outcome; an error in its set-up or tear-down fails it too."""
    outcomes: dict[str, Outcome] = {}
    for case in ET.parse(path).getroot().iter("testcase"):  # noqa: S314 - the child pytest's own file
        key = f"{case.get('classname')}::{case.get('name')}"
        status, messages = "passed", []
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
                messages.append(f"{child.get('message', '')}\n{child.text or ''}".strip())
            elif child.tag == "skipped" and status == "passed":
                status = "skipped"
                messages.append(child.get("message", ""))
        previous = outcomes.get(key)
        if previous is not None and previous.status == "failed":
            continue
        outcomes[key] = Outcome(status, "\n".join(messages))
    return outcomes


class ChildFailed(Exception):
    pass


class OwnProcessItem(pytest.Item):
    """Stands for one test run by its module's child pytest: it waits for the child and reports its outcome."""

    # No fixture of this process runs for it (plugins such as pytest-terraform read the names of every item's).
    fixturenames: tuple[str, ...] = ()

    def __init__(self, *, run: ModuleRun, original: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.original = original

    def runtest(self) -> None:
        outcome = self.run.outcomes().get(junit_key(self.original))
        if outcome is None:
            raise ChildFailed(
                f"{self.original}: no result from its own pytest process\n{self.run.output_tail()}"
            )
        if outcome.status == "skipped":
            pytest.skip(outcome.message or "skipped in its own process")
        if outcome.status == "failed":
            raise ChildFailed(f"{self.original} failed in its own pytest process:\n{outcome.message}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ChildFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.original} (own process)"


_RUNS: list[ModuleRun] = []


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if os.environ.get(CHILD_ENV) or config.option.collectonly:
        return
    own = [item for item in items if getattr(getattr(item, "module", None), ATTRIBUTE, False)]
    if not own or len(own) == len(items):
        return
    by_module: dict[Path, list[pytest.Item]] = {}
    for item in own:
        by_module.setdefault(item.path, []).append(item)
    factory = config._tmp_path_factory  # type: ignore[attr-defined]
    replaced: dict[str, OwnProcessItem] = {}
    for module, module_items in by_module.items():
        directory = factory.mktemp(f"own-process-{module.stem}")
        run = ModuleRun(module, [item.nodeid for item in module_items], directory, config.rootpath)
        _RUNS.append(run)
        for item in module_items:
            replaced[item.nodeid] = OwnProcessItem.from_parent(
                item.parent, name=item.name, run=run, original=item.nodeid
            )
    # Their results come last, when the suite has done its own work meanwhile.
    kept = [item for item in items if item.nodeid not in replaced]
    items[:] = kept + [replaced[item.nodeid] for item in own]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    while _RUNS:
        _RUNS.pop().stop()
