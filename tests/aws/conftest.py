"""``make verify-aws --sandbox`` starts when the tests are collected, as the demos do (tests/sandbox/conftest.py): it is a
separate process that mostly waits on the AWS provider's own polling, so it runs while the rest of the suite does and
its test only collects the outcome."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.aws.environments import REPO, SANDBOX_ACCOUNT_ID, SANDBOX_REGION

CHANGES = 300
TIMEOUT_S = 900.0
TEST_NAME = "test_verify_aws_proves_and_destroys_on_the_sandbox"


@dataclass
class SandboxVerification:
    process: subprocess.Popen
    report_path: Path
    log_path: Path

    def wait(self) -> tuple[int, str]:
        try:
            self.process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.terminate()  # the driver destroys what it applied and stops moto and PostgreSQL
            self.process.wait(timeout=120)
        return self.process.returncode, self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()


_STARTED: dict[str, SandboxVerification] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly or not any(item.name == TEST_NAME for item in session.items):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    directory = (
        factory.mktemp("verify-aws") if factory is not None else Path(tempfile.mkdtemp(prefix="verify-aws-"))
    )
    report_path, log_path = directory / "report.json", directory / "output.log"
    argv = [
        sys.executable,
        "-m",
        "tests.aws.verify_aws",
        "--sandbox",
        "--yes",
        f"--region={SANDBOX_REGION}",
        f"--account-id={SANDBOX_ACCOUNT_ID}",
        f"--changes={CHANGES}",
        f"--report-json={report_path}",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True)
    _STARTED["run"] = SandboxVerification(process, report_path, log_path)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = _STARTED.pop("run", None)
    if run is not None:
        run.stop()


@pytest.fixture(scope="session")
def sandbox_verification() -> SandboxVerification:
    run = _STARTED.get("run")
    if run is None:
        pytest.fail("make verify-aws --sandbox was not started when the tests were collected")
    return run
