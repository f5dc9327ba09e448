"""Every Terraform directory in the repository, checked by real Terraform core and real provider schemas."""

import re
from pathlib import Path

import pytest

from tests.tfharness.harness import REPO_ROOT, describe

pytestmark = pytest.mark.terraform


def _terraform_dirs() -> list[Path]:
    dirs = [REPO_ROOT]
    for parent in ("modules", "examples"):
        base = REPO_ROOT / parent
        if base.is_dir():
            dirs += sorted(d for d in base.iterdir() if d.is_dir() and any(d.glob("*.tf")))
    # The consumer configuration that adopts existing infrastructure and calls the module by relative path (issue 13).
    consumer = REPO_ROOT / "tests" / "consumer"
    if any(consumer.glob("*.tf")):
        dirs.append(consumer)
    return dirs


def _has_tests(module_dir: Path) -> bool:
    return any(module_dir.glob("*.tftest.hcl")) or any(module_dir.glob("tests/*.tftest.hcl"))


def _name(path: Path) -> str:
    return "root" if path == REPO_ROOT else path.relative_to(REPO_ROOT).as_posix()


TERRAFORM_DIRS = _terraform_dirs()
TESTED_DIRS = [d for d in TERRAFORM_DIRS if _has_tests(d)]


def test_every_file_is_formatted(offline_tf, tmp_path):
    scratch = offline_tf.scratch_copy(REPO_ROOT)
    result = offline_tf.run(["fmt", "-check", "-recursive", "-diff"], scratch)
    assert result.returncode == 0, f"terraform fmt found unformatted files:\n{describe(result)}"


@pytest.mark.parametrize("module_dir", TERRAFORM_DIRS, ids=_name)
def test_module_validates(initialized, offline_tf, module_dir):
    result = offline_tf.run(["validate"], initialized(module_dir))
    assert result.returncode == 0, describe(result)
    assert "The configuration is valid" in result.stdout


@pytest.mark.parametrize("module_dir", TESTED_DIRS, ids=_name)
def test_module_tests_pass(terraform_test_files, module_dir):
    # The files were started when the tests were collected (tests/terraform/conftest.py) and have run meanwhile.
    results = terraform_test_files.results(module_dir)
    assert results, f"{module_dir} has no test file"
    passed = 0
    for name, result in results.items():
        assert result.returncode == 0, f"{name}:\n{describe(result)}"
        summary = re.search(r"Success! (\d+) passed, (\d+) failed", result.stdout)
        assert summary and int(summary.group(1)) > 0, (
            f"terraform test ran no test in {name}:\n{describe(result)}"
        )
        passed += int(summary.group(1))
    assert passed > 0


def test_every_module_is_checked():
    # A module directory without .tf files, or a renamed folder, must not silently drop out of the checks.
    names = {_name(d) for d in TERRAFORM_DIRS}
    for parent in ("modules", "examples"):
        for d in (REPO_ROOT / parent).iterdir() if (REPO_ROOT / parent).is_dir() else ():
            if d.is_dir():
                assert d.relative_to(REPO_ROOT).as_posix() in names, f"{d} holds no .tf file"
