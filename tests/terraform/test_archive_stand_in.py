"""The offline archive provider builds real, deterministic zips through Terraform core."""

import base64
import hashlib
import json
import zipfile

import pytest

from tests.tfharness.harness import describe

pytestmark = pytest.mark.terraform


def _apply(offline_tf, directory, output_path):
    result = offline_tf.run(["apply", "-auto-approve", "-var", f"output_path={output_path}"], directory)
    assert result.returncode == 0, describe(result)
    outputs = offline_tf.run(["output", "-json"], directory)
    assert outputs.returncode == 0, describe(outputs)
    return {name: value["value"] for name, value in json.loads(outputs.stdout).items()}


@pytest.fixture
def package_dir(offline_tf, fixture_copy):
    directory = fixture_copy("archive_roundtrip")
    # Caches are made here, not committed: .gitignore keeps them out of the repository on purpose.
    cache = directory / "src/pkg/__pycache__"
    cache.mkdir()
    (cache / "handler.cpython-312.pyc").write_bytes(b"compiled")
    (directory / "src/pkg/stale.pyc").write_bytes(b"compiled")
    result = offline_tf.run(["init", "-backend=false", "-input=false"], directory)
    assert result.returncode == 0, describe(result)
    return directory


def test_apply_writes_zip_whose_checksums_terraform_reports(offline_tf, package_dir, tmp_path):
    out = tmp_path / "out/package.zip"
    outputs = _apply(offline_tf, package_dir, out)
    data = out.read_bytes()
    assert outputs["base64sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert outputs["sha256"] == hashlib.sha256(data).hexdigest()
    assert outputs["md5"] == hashlib.md5(data).hexdigest()  # noqa: S324 - comparing a published checksum
    assert outputs["id"] == hashlib.sha1(data).hexdigest()  # noqa: S324 - comparing a published checksum
    assert outputs["size"] == len(data)


def test_excludes_drop_caches_and_named_files(offline_tf, package_dir, tmp_path):
    out = tmp_path / "package.zip"
    _apply(offline_tf, package_dir, out)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in archive.infolist()}
    assert names == ["pkg/__init__.py", "pkg/handler.py"]
    assert set(modes.values()) == {0o644}


def test_same_sources_give_identical_bytes(offline_tf, package_dir, tmp_path):
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    _apply(offline_tf, package_dir, first)
    (package_dir / "src/pkg/handler.py").touch()  # a newer mtime must not change the archive
    _apply(offline_tf, package_dir, second)
    assert first.read_bytes() == second.read_bytes()


def test_terraform_test_runs_against_the_stand_in(offline_tf, package_dir):
    result = offline_tf.run(["test"], package_dir)
    assert result.returncode == 0, describe(result)
    assert "1 passed, 0 failed" in result.stdout


def test_conflicting_sources_are_rejected(offline_tf, package_dir):
    (package_dir / "conflict.tf").write_text(
        'data "archive_file" "conflict" {\n'
        '  type        = "zip"\n'
        '  source_file = "main.tf"\n'
        '  source_dir  = "src"\n'
        '  output_path = "conflict.zip"\n'
        "}\n"
    )
    result = offline_tf.run(["validate"], package_dir)
    assert result.returncode != 0
    assert "Invalid Attribute Combination" in result.stderr
