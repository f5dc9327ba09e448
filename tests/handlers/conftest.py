"""pytest-terraform on the handlers: one small stack applied to an in-process moto server for this package.

``capture_sink`` (tests/handlers/terraform/capture_sink, declared in test_capture_stack.py, since pytest-terraform
is configured only after this conftest is imported) is a pytest-terraform fixture: it runs ``terraform init``,
``plan`` and ``apply`` once, hands the tests the stack's outputs and resources, and destroys the stack after the last
test that uses it. pytest-terraform takes no ``-var`` and runs Terraform with this process's environment, so
:func:`stack_environment` starts moto on 127.0.0.1 first and exports the inputs as ``TF_VAR_*`` together with the
offline toolchain's CLI configuration (provider mirror, archive stand-in). Both fixtures are package-scoped and the
environment one is autouse, so the server is up before the stack is applied and stops after it is destroyed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox import DUMMY_CREDENTIALS
from tests.sandbox.moto_server import CA_BUNDLE_NAME, running_moto
from tests.sandbox.patches import s3_secure_transport
from tests.sandbox.terraform_stack import provider_patches_installed
from tests.tfharness.harness import OfflineTerraform

REGION = "us-east-1"


@pytest.fixture(scope="package", autouse=True)
def stack_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("handlers-stack")
    # pytest-terraform runs `terraform init` in the fixture directory itself, which leaves a lock file there. The
    # archive stand-in's checksum depends on this checkout's path and interpreter, so a lock from another checkout
    # or virtualenv would fail init: start from none.
    for stack in (Path(__file__).parent / "terraform").iterdir():
        (stack / ".terraform.lock.hcl").unlink(missing_ok=True)
    toolchain = OfflineTerraform.create(home=home / "terraform")
    # The moto gaps that break `terraform apply` are patched as for `make demo` (tests/sandbox/terraform_stack.py),
    # and so is moto's reading of the bucket policy's aws:SecureTransport condition (patches/s3_secure_transport.py).
    # HTTPS, because the module's bucket policy denies every request without TLS (aws:SecureTransport), as in AWS;
    # the certificate is made for this run and trusted through SSL_CERT_FILE (Terraform) and AWS_CA_BUNDLE (boto3).
    tls_dir = home / "tls"
    with (
        provider_patches_installed(),
        s3_secure_transport.installed(),
        running_moto(tls_dir=tls_dir, enforce_iam=True) as endpoint,
    ):
        wanted = {
            **{name: value for name, value in toolchain.env().items() if os.environ.get(name) != value},
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "SSL_CERT_FILE": str(tls_dir / CA_BUNDLE_NAME),
            "AWS_CA_BUNDLE": str(tls_dir / CA_BUNDLE_NAME),
            "TF_VAR_endpoint": endpoint,
            "TF_VAR_zip_path": str(home / "lambda.zip"),
        }
        saved = {
            name: os.environ.pop(name)
            for name in list(os.environ)
            if name.startswith("TF_") or name in wanted
        }
        os.environ.update(wanted)
        try:
            yield endpoint
        finally:
            for name in wanted:
                os.environ.pop(name, None)
            os.environ.update(saved)
