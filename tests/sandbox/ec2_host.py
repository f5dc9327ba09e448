"""The ``ec2_cron`` loader host in the sandbox: the deployed user data, checked, then its timer run on the sandbox clock.

moto keeps an Auto Scaling group's launch template and starts an InService instance with its user data, but nothing
runs on it (and it does not propagate the template's instance profile). This module is that instance:

1. **What Terraform deployed.** The group (by name) -> the launch template version it launches -> the base64 user
   data, the instance profile and the metadata options (:func:`read_deployment`).
2. **The user data, checked** (:func:`check_user_data`), as cloud-init and systemd would read it, so that a user data
   that would fail on an instance fails here with a message that names the part: a ``#cloud-config`` first line; YAML
   (duplicate keys refused); exactly ``write_files`` and ``runcmd``; every ``write_files`` entry with path, octal
   permissions, owner and content (cloud-init's ``write_files`` schema); ``bash -n`` on the install script; the
   ``.service`` and ``.timer`` units parsed strictly (one ``KEY=VALUE`` per line, no duplicate key or section) with
   the keys the loader needs; ``loader.env`` in systemd's ``EnvironmentFile=`` syntax; the CloudWatch agent config
   collecting the service's log file; and the cross references (runcmd runs the install script, the unit reads the
   ``loader.env`` that is written, the install script creates the venv and the app directory the unit uses, fetches
   the artifact and enables the timer).
3. **The timer, run** (:class:`TimerSchedule`, :class:`LoaderHost`): the service's ``ExecStart`` first ``OnBootSec``
   after the host starts, then ``OnUnitActiveSec`` after each run started (a run that outlasts the period is followed
   at once by the next, never overlapped: systemd.timer(5), a unit that is still active is not started twice), on the
   sandbox clock. The command runs with the interpreter mapped to this Python, ``PYTHONPATH`` mapped to the package
   zip downloaded from the emulator's S3 at the artifact URI (with the instance role, so the artifact is what runs and
   the role may read it), and the environment systemd gives it: ``Environment=``, then ``loader.env``, plus the
   instance profile role's session (what the SDK would read from IMDS) and the emulator's endpoint and CA settings.
   Output is appended to one log file per host, as ``StandardOutput=append:`` does.

Several hosts may run the same user data at once (an instance refresh overlaps two instances); the loader's own lock
serialises their loads. Differences from EC2 are in :data:`DIFFERENCES_FROM_EC2`.
"""

from __future__ import annotations

import base64
import configparser
import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

import yaml

LOADER_ENV: Final = "/etc/ddb-cdc/loader.env"
ARTIFACT: Final = "/etc/ddb-cdc/artifact"
SERVICE: Final = "/etc/systemd/system/ddb-cdc-load.service"
TIMER: Final = "/etc/systemd/system/ddb-cdc-load.timer"
AGENT_CONFIG: Final = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
INSTALL: Final = "/opt/ddb-cdc/install.sh"
# Every file the user data must write -> the permissions it must have (None: any octal mode).
REQUIRED_FILES: Final[dict[str, str | None]] = {
    LOADER_ENV: "0600",
    ARTIFACT: "0644",
    SERVICE: None,
    TIMER: None,
    AGENT_CONFIG: None,
    INSTALL: "0755",
}
CLOUD_CONFIG_KEYS: Final = frozenset({"write_files", "runcmd"})
# cloud-init's write_files schema (cc_write_files): required and optional keys of one entry.
WRITE_FILES_REQUIRED: Final = ("path", "permissions", "owner", "content")
WRITE_FILES_OPTIONAL: Final = frozenset({"encoding", "append", "defer"})
_ENCODINGS: Final = {
    "text/plain": (),
    "b64": ("b64",),
    "base64": ("b64",),
    "gz": ("gz",),
    "gzip": ("gz",),
    "gz+b64": ("b64", "gz"),
    "gz+base64": ("b64", "gz"),
    "gzip+b64": ("b64", "gz"),
    "gzip+base64": ("b64", "gz"),
}
ARTIFACT_URI: Final = re.compile(
    r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>\S*ddb_cdc-(?P<digest>[0-9a-f]{16})\.zip)"
)
ENV_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Credentials come from the instance profile, never from the file (the loader reads its secrets at run time).
FORBIDDEN_ENV_KEYS: Final = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})
INSTANCE_PRINCIPAL: Final = "ec2.amazonaws.com"
KILL_GRACE_S: Final = (
    5.0  # systemd's SIGTERM -> SIGKILL wait (TimeoutStopSec) is 90 s; the sandbox does not wait that long
)

DIFFERENCES_FROM_EC2 = (
    "Nothing boots: the install script is checked (bash -n, and what it must reference) but not run; the host uses this "
    "Python and its packages instead of the venv the script builds, and the package zip the script would fetch is "
    "downloaded with the instance role's session and extracted to a temporary directory.",
    "The instance role's session reaches the command as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN "
    "(on EC2 the SDK reads it from IMDSv2); it is made once per host and lasts 12 hours.",
    "User= is not applied (the command runs as the sandbox's user); systemd's default environment is reduced to PATH "
    "and LANG; AccuracySec and Persistent have no effect (the timer fires as soon as it is due and the host never "
    "sleeps); OnBootSec counts from the host's start.",
    "TimeoutStartSec counts real seconds, like the Lambda runtime's function timeout; OnBootSec and OnUnitActiveSec "
    "count sandbox seconds (real seconds times the clock factor).",
    "The CloudWatch agent does not run: its configuration is checked to collect the service's log file into the "
    "module's log group, and the log stays a local file.",
    "Several hosts from one group are started by the caller (an instance refresh's overlap); the group itself keeps "
    "its one moto instance.",
)


class UserDataError(ValueError):
    """The user data would not configure a working loader host; the message names the part and the reason."""


# -- parsing ---------------------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)

_TIME_UNITS: Final = {
    "us": 1e-6,
    "usec": 1e-6,
    "ms": 1e-3,
    "msec": 1e-3,
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}


def parse_timespan(text: str, what: str) -> float:
    """A systemd time span ("1min", "5min 30s", "900", "10s") in seconds (systemd.time(7); a bare number is seconds)."""
    parts = re.findall(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)", text)
    if not text.strip() or "".join(number + unit for number, unit in parts) != re.sub(r"\s+", "", text):
        raise UserDataError(f"{what}: {text!r} is not a systemd time span (e.g. 1min, 5min, 900)")
    total = 0.0
    for number, unit in parts:
        if unit and unit not in _TIME_UNITS:
            raise UserDataError(f"{what}: unknown time unit {unit!r} in {text!r}")
        total += float(number) * _TIME_UNITS.get(unit, 1)
    return total


def parse_environment_file(text: str, what: str = LOADER_ENV) -> dict[str, str]:
    """``KEY=VALUE`` lines as systemd's ``EnvironmentFile=`` reads them (systemd.exec(5)): blank lines and lines that
    start with ``#`` or ``;`` are ignored, a value may be single-quoted (literal) or double-quoted (``\\``, ``"``,
    ``$`` and backquote escaped), an unquoted value is trimmed, its quotes kept and each backslash escaping the next
    character. A line without ``=`` (which systemd
    would skip with a warning), an invalid or repeated name and a line continuation are refused here."""
    environment: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        key, equals, value = stripped.partition("=")
        key, value = key.strip(), value.strip()
        where = f"{what} line {number}"
        if not equals:
            raise UserDataError(f"{where}: {_shorten(stripped)!r} is not KEY=VALUE")
        if not ENV_KEY.fullmatch(key):
            raise UserDataError(f"{where}: {key!r} is not a valid variable name")
        if key in environment:
            raise UserDataError(f"{where}: {key} is set twice")
        if value.endswith("\\") and not value.endswith("\\\\"):
            raise UserDataError(f"{where}: {key} continues on the next line; write one line per variable")
        environment[key] = _environment_value(value, where)
    return environment


def _environment_value(value: str, where: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r'\\([\\"$`])', r"\1", value[1:-1])
    if value[:1] in ("'", '"'):
        raise UserDataError(f"{where}: the quote that opens the value is not closed on the same line")
    return re.sub(
        r"\\(.)", r"\1", value
    )  # unquoted: a backslash escapes the next character, quotes are literal


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_unit(text: str, what: str, sections: Mapping[str, tuple[str, ...]]) -> dict[str, dict[str, str]]:
    """A systemd unit file parsed strictly (one ``KEY=VALUE`` per line, no key or section twice, only the sections
    named in ``sections``, each with its required keys); returns {section: {key: value}}."""
    parser = configparser.ConfigParser(
        strict=True,
        interpolation=None,
        delimiters=("=",),
        comment_prefixes=("#", ";"),
        inline_comment_prefixes=None,
        empty_lines_in_values=False,
        default_section="\x00 no default section",
    )
    parser.optionxform = str  # systemd keys are case-sensitive
    try:
        parser.read_string(text, source=what)
    except configparser.Error as exc:
        raise UserDataError(f"{what} does not parse as a unit file: {' '.join(str(exc).split())}") from None
    unknown = sorted(set(parser.sections()) - set(sections))
    if unknown:
        raise UserDataError(f"{what}: unexpected section(s) {unknown} (expected {sorted(sections)})")
    unit: dict[str, dict[str, str]] = {}
    for section, required in sections.items():
        if not parser.has_section(section):
            if required:
                raise UserDataError(f"{what}: no [{section}] section")
            continue
        values = dict(parser.items(section))
        missing = [key for key in required if not values.get(key, "").strip()]
        if missing:
            raise UserDataError(f"{what}: [{section}] has no {', '.join(f'{key}=' for key in missing)}")
        unit[section] = values
    return unit


# -- the checked user data ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostPlan:
    """What a host does, read from checked user data."""

    files: dict[str, str]  # path -> content, as cloud-init writes them
    loader_environment: dict[str, str]  # /etc/ddb-cdc/loader.env
    unit_environment: dict[str, str]  # the service's Environment=
    artifact_uri: str
    artifact_bucket: str
    artifact_key: str
    artifact_digest: str  # the first 16 hex of the zip's sha256, from its key
    exec_start: tuple[str, ...]  # interpreter first
    venv: str  # the interpreter's virtualenv, which the install script creates
    app_dir: str  # PYTHONPATH on the host, where the install script unzips the package
    log_file: str  # StandardOutput=append:<path>
    log_group: str  # where the CloudWatch agent sends that file
    timeout_s: float  # TimeoutStartSec
    on_boot_s: float  # OnBootSec
    period_s: float  # OnUnitActiveSec

    def describe(self) -> dict[str, Any]:
        return {
            "files": sorted(self.files),
            "artifact": self.artifact_uri,
            "exec_start": " ".join(self.exec_start),
            "on_boot_s": self.on_boot_s,
            "period_s": self.period_s,
            "timeout_s": self.timeout_s,
            "log_group": self.log_group,
            "loader_environment": sorted(self.loader_environment),
        }


def check_user_data(user_data: str | bytes) -> HostPlan:
    """The user data checked as cloud-init and systemd read it (module doc, step 2). Raises UserDataError."""
    text = user_data.decode("utf-8") if isinstance(user_data, bytes) else user_data
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if first_line.rstrip() != "#cloud-config":
        raise UserDataError(
            f"user data: the first line is {_shorten(first_line)!r}; cloud-init reads a cloud-config only after "
            "a first line '#cloud-config'"
        )
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise UserDataError(f"user data is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(document, dict):
        raise UserDataError(f"user data: the cloud-config is a {type(document).__name__}, not a mapping")
    unknown = sorted(str(key) for key in set(document) - CLOUD_CONFIG_KEYS)
    if unknown:
        raise UserDataError(
            f"user data: unknown cloud-config key(s) {unknown}; allowed: {', '.join(sorted(CLOUD_CONFIG_KEYS))}"
        )
    missing = sorted(CLOUD_CONFIG_KEYS - set(document))
    if missing:
        raise UserDataError(f"user data: no {', '.join(missing)}")
    files = _write_files(document["write_files"])
    _check_runcmd(document["runcmd"])
    return _plan(files)


def _write_files(entries: Any) -> dict[str, str]:
    if not isinstance(entries, list) or not entries:
        raise UserDataError("write_files: not a non-empty list")
    files: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = f"write_files[{index}]"
        if not isinstance(entry, dict):
            raise UserDataError(f"{where}: not a mapping")
        path = entry.get("path")
        where = f"write_files[{index}] ({path})" if isinstance(path, str) else where
        unknown = sorted(set(entry) - set(WRITE_FILES_REQUIRED) - WRITE_FILES_OPTIONAL)
        if unknown:
            raise UserDataError(f"{where}: unknown key(s) {unknown}")
        absent = [key for key in WRITE_FILES_REQUIRED if key not in entry]
        if absent:
            raise UserDataError(f"{where}: no {', '.join(absent)}")
        if not isinstance(path, str) or not path.startswith("/"):
            raise UserDataError(f"{where}: path must be an absolute path")
        if path in files:
            raise UserDataError(f"{where}: {path} is written twice")
        permissions = entry["permissions"]
        if not isinstance(permissions, str) or not re.fullmatch(r"0[0-7]{3}", permissions):
            raise UserDataError(
                f"{where}: permissions {permissions!r} must be a quoted octal string such as '0644' (an unquoted "
                "YAML number is read as decimal or octal depending on its digits)"
            )
        expected = REQUIRED_FILES.get(path)
        if expected is not None and permissions != expected:
            raise UserDataError(f"{where}: permissions {permissions} where {expected} is required")
        if entry["owner"] != "root:root":
            raise UserDataError(f"{where}: owner {entry['owner']!r} where root:root is required")
        if entry.get("append") or entry.get("defer"):
            raise UserDataError(f"{where}: append and defer are not used by the loader host")
        files[path] = _decoded(entry["content"], entry.get("encoding", "text/plain"), where)
    absent_files = [path for path in REQUIRED_FILES if path not in files]
    if absent_files:
        raise UserDataError(f"write_files: no entry for {', '.join(absent_files)}")
    return files


def _decoded(content: Any, encoding: Any, where: str) -> str:
    if not isinstance(content, str):
        raise UserDataError(f"{where}: content is a {type(content).__name__}, not a string")
    steps = _ENCODINGS.get(str(encoding).lower())
    if steps is None:
        raise UserDataError(
            f"{where}: unknown encoding {encoding!r} (cloud-init knows {', '.join(_ENCODINGS)})"
        )
    data: bytes = content.encode("utf-8")
    try:
        for step in steps:
            data = base64.b64decode(data, validate=False) if step == "b64" else gzip.decompress(data)
        return data.decode("utf-8")
    except (ValueError, OSError) as exc:
        raise UserDataError(f"{where}: content does not decode as {encoding}: {exc}") from None


def _check_runcmd(runcmd: Any) -> None:
    commands = runcmd if isinstance(runcmd, list) else None
    if not commands:
        raise UserDataError("runcmd: not a non-empty list")
    argvs = [shlex.split(command) if isinstance(command, str) else command for command in commands]
    if not any(isinstance(argv, list) and argv == ["bash", INSTALL] for argv in argvs):
        raise UserDataError(f"runcmd: no command runs the install script (expected ['bash', '{INSTALL}'])")


def check_install_script(script: str, references: Mapping[str, str]) -> None:
    """``bash -n`` (bash's own syntax check), ``set -euo pipefail``, and every path the host relies on is named.

    ``references`` maps each string the script must contain to why it must."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run(["bash", "-n", handle.name], capture_output=True, text=True, check=False)
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        detail = " ".join(done.stderr.replace(handle.name, "install.sh").split())
        raise UserDataError(f"{INSTALL}: bash -n refuses it: {detail}")
    if not re.search(r"^\s*set -euo pipefail\s*$", script, re.MULTILINE):
        raise UserDataError(f"{INSTALL}: no 'set -euo pipefail' line (a failed step must fail the boot)")
    for needed, why in references.items():
        if needed not in script:
            raise UserDataError(f"{INSTALL}: never mentions {needed} ({why})")


def _plan(files: dict[str, str]) -> HostPlan:
    service = parse_unit(
        files[SERVICE],
        SERVICE,
        {
            "Unit": ("Description", "After"),
            "Service": (
                "Type",
                "User",
                "EnvironmentFile",
                "Environment",
                "ExecStart",
                "TimeoutStartSec",
                "StandardOutput",
                "StandardError",
            ),
            "Install": (),
        },
    )
    timer = parse_unit(
        files[TIMER],
        TIMER,
        {
            "Unit": (),
            "Timer": ("OnBootSec", "OnUnitActiveSec", "AccuracySec", "Persistent"),
            "Install": ("WantedBy",),
        },
    )
    unit, body = service["Unit"], service["Service"]
    if "network-online.target" not in unit["After"].split():
        raise UserDataError(
            f"{SERVICE}: After= must name network-online.target (the loader needs the network)"
        )
    if body["Type"] != "oneshot":
        raise UserDataError(
            f"{SERVICE}: Type={body['Type']} where oneshot is required (one load per timer run)"
        )
    if body["EnvironmentFile"] != LOADER_ENV:
        raise UserDataError(
            f"{SERVICE}: EnvironmentFile={body['EnvironmentFile']} is not the written {LOADER_ENV}"
        )
    try:
        assignments = shlex.split(body["Environment"])
    except ValueError as exc:
        raise UserDataError(f"{SERVICE}: Environment= does not parse: {exc}") from None
    unit_environment: dict[str, str] = {}
    for assignment in assignments:
        key, equals, value = assignment.partition("=")
        if not equals or not ENV_KEY.fullmatch(key):
            raise UserDataError(f"{SERVICE}: Environment= item {assignment!r} is not KEY=VALUE")
        unit_environment[key] = value
    if "PYTHONPATH" not in unit_environment:
        raise UserDataError(
            f"{SERVICE}: Environment= does not set PYTHONPATH (where the package is unzipped)"
        )
    exec_start = _exec_start(body["ExecStart"])
    outputs = {body["StandardOutput"], body["StandardError"]}
    if len(outputs) != 1 or not body["StandardOutput"].startswith("append:/"):
        raise UserDataError(
            f"{SERVICE}: StandardOutput= and StandardError= must both be append:<the same absolute path>"
        )
    log_file = body["StandardOutput"].removeprefix("append:")
    timeout_s = parse_timespan(body["TimeoutStartSec"], f"{SERVICE} TimeoutStartSec")
    timer_section = timer["Timer"]
    triggered = timer_section.get("Unit", PurePosixPath(SERVICE).name)
    if triggered != PurePosixPath(SERVICE).name:
        raise UserDataError(f"{TIMER}: Unit={triggered} is not {PurePosixPath(SERVICE).name}")
    on_boot_s = parse_timespan(timer_section["OnBootSec"], f"{TIMER} OnBootSec")
    period_s = parse_timespan(timer_section["OnUnitActiveSec"], f"{TIMER} OnUnitActiveSec")
    parse_timespan(timer_section["AccuracySec"], f"{TIMER} AccuracySec")
    if period_s <= 0 or timeout_s <= 0:
        raise UserDataError(f"{TIMER}: OnUnitActiveSec and the service's TimeoutStartSec must be positive")
    if timer_section["Persistent"].lower() not in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        raise UserDataError(f"{TIMER}: Persistent={timer_section['Persistent']} is not a boolean")
    if "timers.target" not in timer["Install"]["WantedBy"].split():
        raise UserDataError(f"{TIMER}: WantedBy= must name timers.target (or the timer never starts at boot)")

    loader_environment = parse_environment_file(files[LOADER_ENV])
    forbidden = sorted(FORBIDDEN_ENV_KEYS & set(loader_environment))
    if forbidden:
        raise UserDataError(
            f"{LOADER_ENV}: {', '.join(forbidden)} must not be in it (the instance profile supplies credentials)"
        )
    for region_key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if not loader_environment.get(region_key):
            raise UserDataError(f"{LOADER_ENV}: no {region_key} (the host has no Lambda to set it)")

    artifact_lines = [line for line in files[ARTIFACT].splitlines() if line.strip()]
    artifact = ARTIFACT_URI.fullmatch(artifact_lines[0].strip()) if len(artifact_lines) == 1 else None
    if artifact is None:
        raise UserDataError(
            f"{ARTIFACT}: expected one line s3://<bucket>/<prefix>/artifacts/ddb_cdc-<16 hex>.zip, "
            f"got {_shorten(files[ARTIFACT].strip())!r}"
        )
    log_group = _agent_log_group(files[AGENT_CONFIG], log_file)

    venv = str(PurePosixPath(exec_start[0]).parent.parent)
    app_dir = unit_environment["PYTHONPATH"]
    check_install_script(
        files[INSTALL],
        {
            ARTIFACT: "the script fetches the package named there",
            venv: f"the venv whose interpreter ExecStart runs ({exec_start[0]})",
            app_dir: "the directory PYTHONPATH names, where the package is unzipped",
            PurePosixPath(TIMER).name: "the timer must be enabled",
            AGENT_CONFIG: "the CloudWatch agent starts with that configuration",
        },
    )
    return HostPlan(
        files=files,
        loader_environment=loader_environment,
        unit_environment=unit_environment,
        artifact_uri=artifact.group(0),
        artifact_bucket=artifact.group("bucket"),
        artifact_key=artifact.group("key"),
        artifact_digest=artifact.group("digest"),
        exec_start=exec_start,
        venv=venv,
        app_dir=app_dir,
        log_file=log_file,
        log_group=log_group,
        timeout_s=timeout_s,
        on_boot_s=on_boot_s,
        period_s=period_s,
    )


def _exec_start(command: str) -> tuple[str, ...]:
    if command[:1] in "-@+!:":
        raise UserDataError(f"{SERVICE}: ExecStart= prefix {command[0]!r} is not used by the loader host")
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:
        raise UserDataError(f"{SERVICE}: ExecStart= does not parse: {exc}") from None
    interpreter = PurePosixPath(argv[0]) if argv else PurePosixPath()
    if not interpreter.is_absolute() or not re.fullmatch(r"python3?(\.\d+)?", interpreter.name):
        raise UserDataError(
            f"{SERVICE}: ExecStart= must start with the venv's absolute python path, got {command!r}"
        )
    if interpreter.parent.name != "bin":
        raise UserDataError(f"{SERVICE}: ExecStart= interpreter {argv[0]} is not in a venv's bin/")
    if argv[1:4] != ("-m", "ddb_cdc.cli", "load"):
        raise UserDataError(f"{SERVICE}: ExecStart= must run '-m ddb_cdc.cli load', got {command!r}")
    return argv


def _agent_log_group(config_text: str, log_file: str) -> str:
    try:
        config = json.loads(config_text)
        collected = config["logs"]["logs_collected"]["files"]["collect_list"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UserDataError(f"{AGENT_CONFIG}: no logs.logs_collected.files.collect_list ({exc!r})") from None
    for entry in collected if isinstance(collected, list) else []:
        if isinstance(entry, dict) and entry.get("file_path") == log_file:
            if not entry.get("log_group_name") or entry.get("log_stream_name") != "{instance_id}":
                raise UserDataError(
                    f"{AGENT_CONFIG}: {log_file} needs a log_group_name and log_stream_name '{{instance_id}}'"
                )
            return str(entry["log_group_name"])
    raise UserDataError(f"{AGENT_CONFIG}: collect_list does not collect the service's log {log_file}")


# -- the deployment --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deployment:
    """What the Auto Scaling group launches."""

    group_name: str
    instance_ids: tuple[str, ...]
    launch_template_id: str
    launch_template_version: int
    user_data: str
    role_arn: str
    http_tokens: str | None


def read_deployment(autoscaling: Any, ec2: Any, iam: Any, group_name: str) -> Deployment:
    """The group -> the launch template version it launches -> user data, instance profile role, metadata options.

    The instance profile is read from the launch template, which is what an instance of the group gets (moto does not
    copy it onto the instance)."""
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group_name])["AutoScalingGroups"]
    if not groups:
        raise UserDataError(f"no Auto Scaling group {group_name}")
    group = groups[0]
    sizes = (group["MinSize"], group["MaxSize"], group["DesiredCapacity"])
    if sizes != (1, 1, 1):
        raise UserDataError(
            f"group {group_name}: min/max/desired {sizes}, where exactly one instance is the design"
        )
    spec = group.get("LaunchTemplate") or (
        (group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate", {}).get("LaunchTemplateSpecification")
    )
    if not spec:
        raise UserDataError(f"group {group_name}: no launch template")
    selector = (
        {"LaunchTemplateId": spec["LaunchTemplateId"]}
        if spec.get("LaunchTemplateId")
        else {"LaunchTemplateName": spec["LaunchTemplateName"]}
    )
    (version,) = ec2.describe_launch_template_versions(
        **selector, Versions=[str(spec.get("Version") or "$Default")]
    )["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    if not data.get("UserData"):
        raise UserDataError(f"launch template {version['LaunchTemplateId']} has no user data")
    profile_ref = data.get("IamInstanceProfile") or {}
    if profile_ref.get("Arn"):
        profile_name = profile_ref["Arn"].rsplit("/", 1)[-1]
    elif profile_ref.get("Name"):
        profile_name = profile_ref["Name"]
    else:
        raise UserDataError(f"launch template {version['LaunchTemplateId']} has no instance profile")
    roles = iam.get_instance_profile(InstanceProfileName=profile_name)["InstanceProfile"]["Roles"]
    if len(roles) != 1:
        raise UserDataError(f"instance profile {profile_name} has {len(roles)} roles; EC2 needs exactly one")
    return Deployment(
        group_name=group_name,
        instance_ids=tuple(instance["InstanceId"] for instance in group.get("Instances", [])),
        launch_template_id=version["LaunchTemplateId"],
        launch_template_version=int(version["VersionNumber"]),
        user_data=base64.b64decode(data["UserData"]).decode("utf-8"),
        role_arn=roles[0]["Arn"],
        http_tokens=(data.get("MetadataOptions") or {}).get("HttpTokens"),
    )


# -- the timer -------------------------------------------------------------------------------------------------------


@dataclass
class TimerSchedule:
    """``OnBootSec`` then ``OnUnitActiveSec`` after each activation, on a given clock (systemd.timer(5)).

    ``due(now)`` says whether the service should start; ``started(now)`` records an activation. A run that ends after
    the next elapse is followed at once by the next one (the timer elapsed while the unit was active)."""

    booted_at: float
    on_boot_s: float
    period_s: float
    last_activation: float | None = None

    @property
    def next_due(self) -> float:
        if self.last_activation is None:
            return self.booted_at + self.on_boot_s
        return self.last_activation + self.period_s

    def due(self, now: float) -> bool:
        return now >= self.next_due

    def started(self, now: float) -> None:
        self.last_activation = now


@dataclass
class HostStats:
    runs: int = 0
    failures: int = 0
    timeouts: int = 0
    last_exit: int | None = None
    run_seconds: float = 0.0


class LoaderHost:
    """One instance of the group: its timer and its service, on the sandbox clock (module doc, step 3).

    ``run`` replaces the service's command (tests); by default :meth:`run_service` runs it."""

    def __init__(
        self,
        plan: HostPlan,
        *,
        name: str,
        clock: Callable[[], float],
        work_dir: Path,
        log_path: Path,
        environment: Mapping[str, str] | None = None,
        run: Callable[[], int] | None = None,
        poll_s: float = 0.05,
    ) -> None:
        self.plan = plan
        self.name = name
        self.clock = clock
        self.work_dir = Path(work_dir)
        self.log_path = Path(log_path)
        self.environment = dict(environment or {})
        self.stats = HostStats()
        self.timer = TimerSchedule(clock(), plan.on_boot_s, plan.period_s)
        self.app_dir: Path | None = None
        self.crashed: str | None = None
        self._run = run or self.run_service
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._kill = threading.Event()
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what install.sh would do -----------------------------------------------------------------------------------

    def install(self, s3: Any) -> Path:
        """Download the artifact with ``s3`` (a client of the instance role) and extract it; its sha256 must start
        with the 16 hex digits in its key (Terraform names the key after the zip's content)."""
        body = s3.get_object(Bucket=self.plan.artifact_bucket, Key=self.plan.artifact_key)["Body"].read()
        digest = hashlib.sha256(body).hexdigest()
        if not digest.startswith(self.plan.artifact_digest):
            raise UserDataError(
                f"{self.plan.artifact_uri}: the object's sha256 starts {digest[:16]}, not as its key says"
            )
        app_dir = self.work_dir / "app"
        app_dir.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            archive.extractall(app_dir)
        if not (app_dir / "ddb_cdc" / "cli.py").is_file():
            raise UserDataError(f"{self.plan.artifact_uri}: the package has no ddb_cdc/cli.py")
        self.app_dir = app_dir
        return app_dir

    def command(self) -> list[str]:
        """ExecStart with the venv's interpreter mapped to this Python."""
        return [sys.executable, *self.plan.exec_start[1:]]

    def service_environment(self) -> dict[str, str]:
        """What systemd gives the service: PATH and LANG, ``Environment=`` (paths on the host mapped), then
        ``EnvironmentFile=``, plus the emulator settings and the role session passed in ``environment``."""
        if self.app_dir is None:
            raise RuntimeError(f"{self.name}: install() first")
        unit = {
            key: str(self.app_dir) if key == "PYTHONPATH" else value
            for key, value in self.plan.unit_environment.items()
        }
        return {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            **unit,
            **self.plan.loader_environment,
            **self.environment,
        }

    def run_service(self) -> int:
        """One run of the service: its exit status; killed after TimeoutStartSec (or when stop() gives up)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(
                f"--- {self.name} {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} start\n".encode()
            )
            log.flush()
            process = subprocess.Popen(
                self.command(),
                env=self.service_environment(),
                cwd=self.work_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            deadline = time.monotonic() + self.plan.timeout_s
            while True:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    return process.wait(timeout=0.1)
                if time.monotonic() >= deadline or self._kill.is_set():
                    self.stats.timeouts += time.monotonic() >= deadline
                    return _terminate(process)

    # -- the timer loop ---------------------------------------------------------------------------------------------

    def tick(self) -> bool:
        """Start the service if the timer is due (and wait for it); True if it ran."""
        now = self.clock()
        if not self.timer.due(now):
            return False
        self.timer.started(now)
        self._running.set()
        started = time.monotonic()
        try:
            code = self._run()
        finally:
            self._running.clear()
        self.stats.runs += 1
        self.stats.last_exit = code
        self.stats.failures += code != 0
        self.stats.run_seconds = round(self.stats.run_seconds + time.monotonic() - started, 2)
        return True

    def start(self) -> LoaderHost:
        self._thread = threading.Thread(target=self._loop, name=f"ec2-host-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self._poll_s):
                self.tick()
        except Exception as exc:  # reported through idle()
            self.crashed = f"{type(exc).__name__}: {exc}"

    def idle(self) -> bool:
        """No run of the service in progress. Raises RuntimeError if the timer loop died."""
        if self.crashed:
            raise RuntimeError(f"loader host {self.name} crashed: {self.crashed}")
        return not self._running.is_set()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Stop the timer; a run in progress may finish within ``timeout_s``, then it is killed (a failure)."""
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._kill.set()
            self._thread.join()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **self.stats.__dict__, "log": str(self.log_path)}


def _terminate(process: subprocess.Popen) -> int:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return process.returncode if process.returncode not in (None, 0) else -signal.SIGTERM


# -- the group's hosts -----------------------------------------------------------------------------------------------


@dataclass
class LoaderHosts:
    """``count`` hosts running the group's user data side by side: the first is the group's instance, the others
    stand for instances an instance refresh overlaps with it."""

    deployment: Deployment
    plan: HostPlan
    hosts: list[LoaderHost] = field(default_factory=list)

    def idle(self) -> bool:
        return all(host.idle() for host in self.hosts)

    def stop(self, timeout_s: float = 60.0) -> None:
        for host in self.hosts:
            host._stop.set()  # every timer stops before any run is awaited
        for host in self.hosts:
            host.stop(timeout_s)

    def stats(self) -> dict[str, Any]:
        return {
            "hosts": len(self.hosts),
            "runs": sum(host.stats.runs for host in self.hosts),
            "failures": sum(host.stats.failures for host in self.hosts),
            "timeouts": sum(host.stats.timeouts for host in self.hosts),
            "group": self.deployment.group_name,
            "instances": list(self.deployment.instance_ids),
            "launch_template": f"{self.deployment.launch_template_id} v{self.deployment.launch_template_version}",
            "user_data": self.plan.describe(),
            "per_host": [host.describe() for host in self.hosts],
        }


_EMULATOR_KEYS: Final = (
    "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@contextlib.contextmanager
def running_hosts(
    *,
    group_name: str,
    count: int,
    session: Any,
    endpoint_url: str,
    emulator_environment: Mapping[str, str],
    clock: Callable[[], float],
    work_dir: Path,
    log_dir: Path,
) -> Iterator[LoaderHosts]:
    """Read and check what the group launches, start ``count`` hosts on ``clock``; stop them on exit.

    ``session`` is a boto3 session of the sandbox's admin (it reads the deployment, as EC2 does);
    ``emulator_environment`` holds the endpoint and CA settings every sandbox process gets (only those keys are
    taken: credentials come from the instance role, the region from loader.env)."""
    from tests.sandbox.service_roles import service_role_session

    if count < 1:
        raise ValueError("count must be at least 1")
    deployment = read_deployment(
        session.client("autoscaling", endpoint_url=endpoint_url),
        session.client("ec2", endpoint_url=endpoint_url),
        session.client("iam", endpoint_url=endpoint_url),
        group_name,
    )
    if deployment.http_tokens != "required":
        raise UserDataError(
            f"launch template {deployment.launch_template_id}: HttpTokens={deployment.http_tokens}, IMDSv2 must be required"
        )
    plan = check_user_data(deployment.user_data)
    settings = {key: emulator_environment[key] for key in _EMULATOR_KEYS if emulator_environment.get(key)}
    region = plan.loader_environment["AWS_REGION"]
    fleet = LoaderHosts(deployment, plan)
    try:
        for index in range(count):
            instance = (
                deployment.instance_ids[index] if index < len(deployment.instance_ids) else f"overlap-{index}"
            )
            credentials = service_role_session(deployment.role_arn, INSTANCE_PRINCIPAL, instance, region)
            host = LoaderHost(
                plan,
                name=f"{index}-{instance}",
                clock=clock,
                work_dir=Path(work_dir) / f"host-{index}",
                log_path=Path(log_dir) / f"ec2-host-{index}-{PurePosixPath(plan.log_file).name}",
                environment={**settings, **credentials},
            )
            role_s3 = session.client(
                "s3",
                endpoint_url=endpoint_url,
                aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=credentials["AWS_SESSION_TOKEN"],
            )
            host.install(role_s3)
            fleet.hosts.append(host.start())
        yield fleet
    finally:
        fleet.stop()


__all__ = [
    "DIFFERENCES_FROM_EC2",
    "HostPlan",
    "LoaderHost",
    "LoaderHosts",
    "TimerSchedule",
    "UserDataError",
    "check_user_data",
    "parse_environment_file",
    "parse_timespan",
    "parse_unit",
    "read_deployment",
    "running_hosts",
]
