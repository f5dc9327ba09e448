"""`terraform apply` and `destroy` of examples/local/ against the sandbox's emulator.

The stack runs real Terraform core with the same offline provider setup as the Terraform checks
(tests/tfharness/harness.py: hashicorp/aws from the filesystem mirror, our archive stand-in that builds
the real handler zip), in a scratch copy of the repository, so nothing lands in the work tree.
Everything Terraform prints goes to one log file; a failing phase raises with that log's tail.
Nothing can reach real AWS: the provider is pointed at the emulator with dummy keys and every
credential and metadata lookup is switched off (see ``_ISOLATION_ENV``).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.sandbox.patches import (
    iam_aws_managed_policies,
    redshift_cluster,
    sqs_redrive_allow_policy,
    stepfunctions,
)
from tests.tfharness.harness import REPO_ROOT, OfflineTerraform

EXAMPLE_DIR = REPO_ROOT / "examples" / "local"
AGGREGATIONS = ("lambda", "firehose")
LOAD_STRATEGIES = ("s3_event", "schedule", "ec2_cron", "emr_compaction")
DATA_API_MODES = ("async", "poll")

# The provider never looks for credentials or a region outside its own block, and never asks IMDS.
_ISOLATION_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SDK_LOAD_CONFIG": "0",
}
_DROPPED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    # A custom CA bundle is useless against an http endpoint, and hashicorp/aws refuses to be configured a
    # second time in one process with it ("unable to add custom RootCAs HTTPClient"), see SharedProvider.
    "AWS_CA_BUNDLE",
)

# Above Terraform's default of 10 so the first wave of independent resources (a dozen) starts at once;
# the provider mostly waits on its own polling intervals, not on CPU.
DEFAULT_PARALLELISM = 32
LOG_TAIL_LINES = 60


# moto gaps that break `terraform apply` or `destroy` of examples/local/ (provider calls only).
PROVIDER_PATCHES = (redshift_cluster, stepfunctions, iam_aws_managed_policies, sqs_redrive_allow_policy)


@contextmanager
def provider_patches_installed() -> Iterator[None]:
    """Install every patch in PROVIDER_PATCHES into this process's moto; revert them on exit."""
    with ExitStack() as stack:
        for patch in PROVIDER_PATCHES:
            stack.enter_context(patch.installed())
        yield


class TerraformStackError(RuntimeError):
    """A Terraform phase failed; the message holds the command and the log's tail."""


_REATTACH = re.compile(r"TF_REATTACH_PROVIDERS='(\{.*\})'")


class SharedProvider:
    """One hashicorp/aws process that every Terraform command of a stack attaches to.

    Terraform normally starts the 700 MB provider binary afresh for each graph walk (schemas, plan, apply),
    several seconds each on two cores. Started once with its ``-debug`` flag, the provider serves until
    stopped and Terraform reattaches to it through ``TF_REATTACH_PROVIDERS`` (Terraform's documented
    debugging interface), which saves those starts in every apply and destroy.
    """

    def __init__(self, binary: Path, cwd: Path, env: dict[str, str], log_path: Path) -> None:
        self.binary = binary
        self.cwd = cwd  # relative paths in the configuration (the handler zip) resolve against it
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.reattach: str | None = None

    def start(self, timeout: float = 60) -> str:
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "-debug"],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        atexit.register(self.stop)  # never outlive this process, even if the caller forgets close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = _REATTACH.search(self.log_path.read_text())
            if found:
                self.reattach = found.group(1)
                return self.reattach
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise TerraformStackError(f"hashicorp/aws did not start in debug mode; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.reattach = None
        atexit.unregister(self.stop)


@dataclass
class LocalStack:
    """examples/local/ applied to the emulator at ``endpoint``.

    ``variables`` are the example's inputs besides ``endpoint`` (name, aggregation, load_strategy,
    data_api_mode, and the backfill's: backfill_mode, adopt_table, backfill_page_size,
    backfill_read_units_per_second; ec2_cron's ec2_cron_rate_minutes). ``timings`` maps each phase that ran (init, apply, destroy) to its wall time in seconds.
    """

    endpoint: str
    variables: dict[str, Any] = field(default_factory=dict)
    toolchain: OfflineTerraform | None = None
    log_path: Path | None = None
    parallelism: int = DEFAULT_PARALLELISM
    timeout: float = 600
    timings: dict[str, float] = field(default_factory=dict)
    workdir: Path | None = None
    outputs: dict[str, Any] | None = None
    applied: bool = False
    share_provider: bool = True
    ca_bundle: Path | None = None  # the certificate of an HTTPS emulator endpoint
    provider: SharedProvider | None = None

    def __post_init__(self) -> None:
        unknown = set(self.variables) - {
            "name",
            "aggregation",
            "load_strategy",
            "data_api_mode",
            "backfill_mode",
            "adopt_table",
            "backfill_page_size",
            "backfill_read_units_per_second",
            "ec2_cron_rate_minutes",
            "compaction_schedule_enabled",
            "compaction_reconcile_rate_minutes",
        }
        if unknown:
            raise ValueError(f"examples/local/ has no variable(s) {sorted(unknown)}")
        if self.toolchain is None:
            self.toolchain = OfflineTerraform.create()
        if self.log_path is None:
            self.log_path = self.toolchain.home / "terraform.log"

    # -- phases ---------------------------------------------------------------------------------------

    def init(self) -> Path:
        """Copy the repository to scratch, write the variables, ``terraform init``. Returns the working dir."""
        started = time.monotonic()
        self.workdir = self.toolchain.scratch_copy(EXAMPLE_DIR)
        tfvars = {"endpoint": self.endpoint, **self.variables}
        (self.workdir / "sandbox.auto.tfvars.json").write_text(json.dumps(tfvars, indent=2) + "\n")
        self._run("init", ["init", "-input=false", "-backend=false"])
        binaries = sorted(
            self.workdir.glob(
                ".terraform/providers/registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*"
            )
        )
        if self.share_provider and binaries:
            self.provider = SharedProvider(
                binaries[-1], self.workdir, self.env(), self.log_path.with_suffix(".provider.log")
            )
            self.provider.start()
        self.timings["init"] = time.monotonic() - started
        return self.workdir

    def apply(self) -> dict[str, Any]:
        """``terraform apply -auto-approve``; returns ``terraform output -json`` as {name: value}."""
        if self.workdir is None:
            self.init()
        started = time.monotonic()
        self.applied = True  # a partly applied stack still needs destroying
        self._run("apply", ["apply", "-auto-approve", "-input=false", f"-parallelism={self.parallelism}"])
        self.timings["apply"] = time.monotonic() - started
        self.outputs = self.read_outputs()
        return self.outputs

    def read_outputs(self) -> dict[str, Any]:
        """Every output of examples/local/ by name. ``terraform output -json`` leaves out outputs whose value
        is null (e.g. load_queue_url under the schedule strategy); they are present here as None."""
        result = self._run("output", ["output", "-json"], capture=True)
        values = {name: entry["value"] for name, entry in json.loads(result.stdout).items()}
        declared = re.findall(r'^output "([^"]+)"', (self.workdir / "outputs.tf").read_text(), re.MULTILINE)
        return {name: values.get(name) for name in declared} | values

    def destroy(self) -> None:
        """``terraform destroy -auto-approve`` of everything apply made."""
        if self.workdir is None:
            return
        started = time.monotonic()
        try:
            # -refresh=false: the state is what apply just wrote; re-reading 40-odd resources first cost ~20 s.
            self._run(
                "destroy",
                [
                    "destroy",
                    "-auto-approve",
                    "-input=false",
                    "-refresh=false",
                    f"-parallelism={self.parallelism}",
                ],
            )
        finally:
            self.close()
        self.timings["destroy"] = time.monotonic() - started
        self.applied = False

    def close(self) -> None:
        """Stop the shared provider process, if one runs (destroy does this itself)."""
        if self.provider is not None:
            self.provider.stop()

    def state_resources(self) -> list[str]:
        """Addresses Terraform still tracks (``terraform state list``); empty after a clean destroy."""
        result = self._run("state", ["state", "list"], capture=True)
        return result.stdout.split()

    def __enter__(self) -> LocalStack:
        try:
            self.apply()
        except BaseException:
            self._destroy_quietly()
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if exc_info[0] is None:
                self.destroy()
            else:
                self._destroy_quietly()
        finally:
            self.close()

    # -- plumbing -------------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Terraform's environment: the offline CLI config, dummy credentials, no profile, no IMDS."""
        extra = dict(_ISOLATION_ENV)
        if self.ca_bundle is not None:
            # Go's standard root-CA override, read once per process. The provider's own custom_ca_bundle
            # cannot be used with the shared provider: aws-sdk-go-base refuses to wrap its HTTP client a
            # second time ("unable to add custom RootCAs HTTPClient, has no WithTransportOptions").
            extra["SSL_CERT_FILE"] = str(self.ca_bundle)
        if self.provider is not None and self.provider.reattach:
            extra["TF_REATTACH_PROVIDERS"] = self.provider.reattach
        env = self.toolchain.env(extra)
        for name in _DROPPED_ENV:
            env.pop(name, None)
        return env

    def _destroy_quietly(self) -> None:
        if self.applied:
            # The original error matters more; the log holds the destroy's output.
            with suppress(TerraformStackError):
                self.destroy()

    def _run(
        self, phase: str, args: list[str], capture: bool = False, check: bool = True
    ) -> subprocess.CompletedProcess:
        """Run one Terraform command; its output goes to the log, each line stamped with the seconds since
        the command started (that is how the slow resources in a phase are found)."""
        args = [args[0], "-no-color", *args[1:]] if args[0] != "state" else args
        started = time.monotonic()
        with self.log_path.open("a") as log:
            log.write(f"\n=== terraform {' '.join(args)} ({phase}) in {self.workdir}\n")
            log.flush()
            process = subprocess.Popen(
                [*self.toolchain.terraform, *args],
                cwd=self.workdir,
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if not capture else log,
                text=True,
            )
            stdout_lines = []
            try:
                for line in process.stdout:
                    if capture:
                        stdout_lines.append(line)
                    else:
                        log.write(f"[{time.monotonic() - started:6.1f}s] {line}")
                returncode = process.wait(timeout=max(1.0, self.timeout - (time.monotonic() - started)))
            except BaseException:
                process.kill()
                process.wait()
                raise
        result = subprocess.CompletedProcess(process.args, returncode, "".join(stdout_lines), None)
        if check and returncode != 0:
            raise TerraformStackError(
                f"terraform {phase} failed (exit {returncode}); log: {self.log_path}\n{self.log_tail()}"
            )
        return result

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        text = self.log_path.read_text() if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
