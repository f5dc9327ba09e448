"""Where the verification runs: a real AWS account, or the sandbox. Everything else in the driver is shared.

An :class:`Environment` answers four questions: how to build an SDK client, what environment a child process
(``ddb_cdc.cli``, the generator) needs, how to run Terraform (binary, environment, extra configuration files),
and what runs the Lambda handlers. On AWS: the caller's profile and region, ``terraform`` on PATH with normal
provider installation, and Lambda itself. In the sandbox: an in-process moto server over TLS with the named patches
(``tests/sandbox/patches``), the offline Terraform toolchain with an override file pointing every endpoint at moto,
the Data API on a throwaway PostgreSQL and the local Lambda runtime.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3

from tests.aws.cost import PriceTable, prices_for

REPO: Final = Path(__file__).resolve().parents[2]
SANDBOX_ACCOUNT_ID: Final = "123456789012"  # moto's default account
SANDBOX_REGION: Final = "us-east-1"

# Every service examples/complete (with warehouse.create) calls, pointed at the emulator.
_SANDBOX_ENDPOINTS: Final = (
    "cloudwatch",
    "dynamodb",
    "events",
    "firehose",
    "iam",
    "kms",
    "lambda",
    "logs",
    "redshift",
    "redshiftserverless",
    "s3",
    "scheduler",
    "secretsmanager",
    "sns",
    "sqs",
    "sts",
)


@dataclass(frozen=True, slots=True)
class TerraformSetup:
    """How this environment runs Terraform on a scratch copy of examples/complete."""

    argv: list[str]  # the Terraform binary (and arguments before the command)
    env: dict[str, str]
    extra_files: dict[str, str] = field(default_factory=dict)  # written next to the example's .tf files
    share_provider: bool = False  # one hashicorp/aws process for every command (sandbox: saves its starts)
    refresh_before_destroy: bool = True


class Environment:
    """The differences between a real account and the sandbox, and nothing else."""

    name: str
    region: str
    # Real Redshift has database users (IAM:<user>, IAMR:<role>) that need grants; the emulator has none.
    database_users: bool
    # A freshly created workgroup on AWS takes minutes to serve its first query; the sandbox is at once ready.
    default_settle_timeout: float

    def client(self, service: str) -> Any:
        raise NotImplementedError

    def process_env(self) -> dict[str, str]:
        """Environment for ``python -m ddb_cdc.cli`` and ``python -m ddb_cdc.generator``."""
        raise NotImplementedError

    def terraform(self, work_dir: Path) -> TerraformSetup:
        raise NotImplementedError

    @contextlib.contextmanager
    def lambda_runtime(self, work_dir: Path) -> Iterator[None]:
        """Whatever runs the deployed handlers while the verification runs (AWS: Lambda itself)."""
        yield

    def idle(self) -> bool:
        """Nothing in flight that this environment can see beyond the load queue (AWS: nothing more to ask)."""
        return True

    def stats(self) -> dict[str, Any]:
        """Counters the environment measured (the sandbox's runtime and Data API); empty on AWS."""
        return {}

    @property
    def prices(self) -> PriceTable:
        return prices_for(self.region)

    def _base_process_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "lambda_src"), str(REPO)])
        return env


class RealAws(Environment):
    """The caller's account: their profile (or the standard credential chain) and the region they named."""

    name = "aws"
    database_users = True
    default_settle_timeout = 900.0

    def __init__(self, region: str, profile: str | None = None) -> None:
        self.region = region
        self.profile = profile
        self.session = boto3.Session(profile_name=profile, region_name=region)

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def _aws_variables(self) -> dict[str, str]:
        variables = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self.profile:
            variables["AWS_PROFILE"] = self.profile
        return variables

    def process_env(self) -> dict[str, str]:
        return {**self._base_process_env(), **self._aws_variables()}

    def terraform(self, work_dir: Path) -> TerraformSetup:
        binary = shutil.which("terraform")
        if binary is None:
            raise RuntimeError("terraform is not on PATH: install Terraform >= 1.9 first")
        env = {key: value for key, value in os.environ.items() if not key.startswith("TF_VAR_")}
        env.update(self._aws_variables(), TF_IN_AUTOMATION="1", TF_INPUT="0")
        return TerraformSetup(argv=[binary], env=env)


class Sandbox(Environment):
    """moto on 127.0.0.1 with the sandbox's patches, the Data API on PostgreSQL, the local Lambda runtime.

    Use as a context manager: it starts PostgreSQL, moto (HTTPS, a certificate made for the run) and the patches,
    and stops them on exit. ``work_dir`` holds the certificate, logs and the Terraform toolchain.
    """

    name = "sandbox"
    database_users = False
    default_settle_timeout = 120.0

    def __init__(self, work_dir: Path, region: str = SANDBOX_REGION, clock_factor: float = 30.0) -> None:
        self.work_dir = work_dir
        self.region = region
        self.clock_factor = clock_factor
        self.endpoint = ""
        self.patches: Any = None
        self.runtime: Any = None
        self._stack = contextlib.ExitStack()
        self._ca_bundle: Path | None = None

    def __enter__(self) -> Sandbox:
        from tests.rig.postgres import running_server
        from tests.sandbox.demo import _environment_variable
        from tests.sandbox.moto_server import CA_BUNDLE_NAME, running_moto
        from tests.sandbox.patches import installed_patches

        try:
            pg = self._stack.enter_context(running_server())
            self.endpoint = self._stack.enter_context(running_moto(tls_dir=self.work_dir / "tls"))
            self._ca_bundle = self.work_dir / "tls" / CA_BUNDLE_NAME
            # Every SDK client of this process and its children trusts the emulator's certificate.
            self._stack.enter_context(_environment_variable("AWS_CA_BUNDLE", str(self._ca_bundle)))
            self.patches = self._stack.enter_context(
                installed_patches(pg_dsn=pg.dsn(), endpoint_url=self.endpoint)
            )
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def client(self, service: str) -> Any:
        from tests.sandbox.demo import client

        return client(service, self.endpoint)

    def process_env(self) -> dict[str, str]:
        from tests.sandbox.demo import aws_environment

        env = {key: value for key, value in self._base_process_env().items() if not key.startswith("AWS_")}
        return {**env, **aws_environment(self.endpoint)}

    def terraform(self, work_dir: Path) -> TerraformSetup:
        from tests.sandbox.terraform_stack import _DROPPED_ENV, _ISOLATION_ENV
        from tests.tfharness.harness import OfflineTerraform

        toolchain = OfflineTerraform.create(home=work_dir / "toolchain")
        env = toolchain.env({**_ISOLATION_ENV, "SSL_CERT_FILE": str(self._ca_bundle)})
        for name in _DROPPED_ENV:
            env.pop(name, None)
        return TerraformSetup(
            argv=list(toolchain.terraform),
            env=env,
            extra_files={"sandbox_override.tf": self.provider_override()},
            share_provider=True,
            # The state is what apply just wrote; re-reading every resource first only costs time.
            refresh_before_destroy=False,
        )

    def provider_override(self) -> str:
        """A Terraform override file (merged into examples/complete's provider block): moto, dummy keys."""
        endpoints = "\n".join(f'    {service} = "{self.endpoint}"' for service in _SANDBOX_ENDPOINTS)
        return (
            "# Written by tests/aws/environments.py for a sandbox run: every call goes to the local moto server.\n"
            'provider "aws" {\n'
            '  access_key                  = "testing"\n'
            '  secret_key                  = "testing"\n'
            "  skip_credentials_validation = true\n"
            "  skip_metadata_api_check     = true\n"
            "  skip_requesting_account_id  = true\n"
            "  skip_region_validation      = true\n"
            "  s3_use_path_style           = true\n\n"
            f"  endpoints {{\n{endpoints}\n  }}\n"
            "}\n"
        )

    @contextlib.contextmanager
    def lambda_runtime(self, work_dir: Path) -> Iterator[None]:
        from tests.sandbox.lambda_runtime import LocalLambdaRuntime

        runtime = LocalLambdaRuntime(
            self.endpoint,
            region=self.region,
            clock_factor=self.clock_factor,
            work_dir=work_dir / "lambda",
            log_dir=work_dir / "logs",
        )
        with runtime:
            self.runtime = runtime
            try:
                yield
            finally:
                self.runtime = None

    def idle(self) -> bool:
        # The runtime first: an invocation that submits an async statement and returns leaves the Data API busy.
        return bool((self.runtime is None or self.runtime.idle()) and self.patches.idle())

    def stats(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime.stats() if self.runtime is not None else {},
            "data_api": self.patches.data_api.stats(),
        }
