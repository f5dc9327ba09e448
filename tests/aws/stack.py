"""``terraform init/apply/output/destroy/state list`` of examples/complete in a scratch copy of the repository.

The copy keeps state, lock file and ``.terraform`` out of the work tree; the run's own folder holds them, and it is
kept (with the log) whenever the destroy did not leave an empty state, so nobody loses track of what still exists.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tests.aws.environments import REPO, TerraformSetup

EXAMPLE: Final = Path("examples/complete")
_IGNORED: Final = (
    ".git",
    ".venv*",
    ".terraform",
    "*.tfstate*",
    ".terraform.lock.hcl",
    "*.auto.tfvars*",
    "terraform.tfvars",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.egg-info",
    "node_modules",
    ".build",
)


class TerraformFailed(RuntimeError):
    """A Terraform command failed; the message holds the command and the log's tail."""


@dataclass
class ExampleStack:
    setup: TerraformSetup
    variables: dict[str, Any]
    work_dir: Path
    timeout: float = 3600
    workdir: Path | None = None  # examples/complete inside the scratch copy
    applied: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    _provider: Any = None

    @property
    def log_path(self) -> Path:
        return self.work_dir / "terraform.log"

    def init(self) -> None:
        copy = self.work_dir / "repo"
        shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(*_IGNORED), symlinks=True)
        self.workdir = copy / EXAMPLE
        for name, text in self.setup.extra_files.items():
            (self.workdir / name).write_text(text)
        (self.workdir / "verify.auto.tfvars.json").write_text(json.dumps(self.variables, indent=2) + "\n")
        self._run("init", ["init", "-input=false"])
        if self.setup.share_provider:
            self._start_shared_provider()

    def apply(self, targets: tuple[str, ...] = ()) -> dict[str, Any]:
        """``terraform apply``, of ``targets`` only when given; returns the outputs by name."""
        if self.workdir is None:
            self.init()
        self.applied = True  # a partly applied stack still needs destroying
        self._run("apply", ["apply", "-auto-approve", "-input=false", *(f"-target={t}" for t in targets)])
        result = self._run("output", ["output", "-json"], capture=True)
        return {name: entry["value"] for name, entry in json.loads(result.stdout).items()}

    def destroy(self) -> None:
        if self.workdir is None:
            return
        try:
            refresh = [] if self.setup.refresh_before_destroy else ["-refresh=false"]
            self._run("destroy", ["destroy", "-auto-approve", "-input=false", *refresh])
            self.applied = False
        finally:
            self.close()

    def state_resources(self) -> list[str]:
        """``terraform state list``: empty after a clean destroy."""
        if self.workdir is None:
            return []
        return self._run("state", ["state", "list"], capture=True).stdout.split()

    def close(self) -> None:
        if self._provider is not None:
            self._provider.stop()
            self._provider = None

    def _start_shared_provider(self) -> None:
        from tests.sandbox.terraform_stack import SharedProvider

        binaries = sorted(
            self.workdir.glob(
                ".terraform/providers/registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*"
            )
        )
        if binaries:
            self._provider = SharedProvider(
                binaries[-1], self.workdir, self.setup.env, self.work_dir / "terraform.provider.log"
            )
            self._provider.start()

    def _env(self) -> dict[str, str]:
        env = dict(self.setup.env)
        if self._provider is not None and self._provider.reattach:
            env["TF_REATTACH_PROVIDERS"] = self._provider.reattach
        return env

    def _run(self, phase: str, args: list[str], capture: bool = False) -> subprocess.CompletedProcess[str]:
        args = [args[0], "-no-color", *args[1:]] if args[0] != "state" else args
        started = time.monotonic()
        with self.log_path.open("a") as log:
            log.write(f"\n=== terraform {' '.join(args)} ({phase}) in {self.workdir}\n")
            log.flush()
            try:
                result = subprocess.run(
                    [*self.setup.argv, *args],
                    cwd=self.workdir,
                    env=self._env(),
                    stdout=subprocess.PIPE if capture else log,
                    stderr=log,
                    text=True,
                    timeout=self.timeout,
                    check=False,
                )
            finally:
                self.timings[phase] = self.timings.get(phase, 0.0) + time.monotonic() - started
        if result.returncode != 0:
            tail = "\n".join(self.log_path.read_text().splitlines()[-40:])
            raise TerraformFailed(
                f"terraform {phase} failed (exit {result.returncode}); log: {self.log_path}\n{tail}"
            )
        return result
