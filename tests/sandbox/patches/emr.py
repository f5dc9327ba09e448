"""EMR: clusters that start, run their steps in order and terminate, and an s3-dist-cp that really copies.

moto 5.2.5 stores EMR clusters and steps but runs nothing: RunJobFlow answers a cluster already WAITING, the first
step added stays RUNNING forever and the others PENDING, and TerminateJobFlows jumps straight to TERMINATED. This
patch gives moto's clusters the lifecycle AWS documents and runs their steps, on the sandbox clock:

- A new cluster is STARTING, then BOOTSTRAPPING, then WAITING (``Timings``). Its steps run one at a time, in the
  order they were added (StepConcurrencyLevel 1): PENDING -> RUNNING -> COMPLETED or FAILED; the cluster is RUNNING
  while a step runs and WAITING again after its last one.
- A failed step's ActionOnFailure applies: CONTINUE runs the next step; CANCEL_AND_WAIT cancels the pending steps;
  TERMINATE_CLUSTER / TERMINATE_JOB_FLOW terminates the cluster (TERMINATED_WITH_ERRORS, code STEP_FAILURE).
- A cluster created with KeepJobFlowAliveWhenNoSteps false terminates once it has no step left to run
  (code ALL_STEPS_COMPLETED); with true it waits.
- TerminateJobFlows: TERMINATING, then TERMINATED (code USER_REQUEST); every step not yet completed is CANCELLED
  (a step already copying finishes its copy, then is CANCELLED: its output stays). AddJobFlowSteps on a terminating
  or terminated cluster is refused with ValidationException.
- A step is ``command-runner.jar`` with ``s3-dist-cp`` as its first argument (:func:`run_s3_dist_cp`); any other jar
  or command FAILS the step ("not supported by the sandbox"). Failed steps carry ``Status.FailureDetails``.
- s3-dist-cp reads and writes moto's S3 as the cluster's EC2 instance profile role would: the role inside the
  JobFlowRole instance profile must trust ``ec2.amazonaws.com``, and its identity policies must allow s3:ListBucket
  on the bucket (with ``s3:prefix`` the listed prefix), s3:GetObject on every object read (the --srcPrefixesFile
  included) and s3:PutObject on every object written, evaluated by the iam-request-context patch's policy logic
  (:func:`tests.sandbox.patches.iam_request_context.decide`). A refusal FAILS the step.

Fault hooks (module level, for tests and the demo): :func:`fail_next_steps` makes the next N s3-dist-cp steps FAIL
after writing part of their output (S3DistCp "does not clean up partially copied files"); :func:`fail_next_clusters`
makes the next N clusters fail while bootstrapping (TERMINATED_WITH_ERRORS, code BOOTSTRAP_FAILURE).

Not modelled: idle auto-termination (AutoTerminationPolicy.IdleTimeout is stored, never applied: a WAITING cluster
waits until terminated), StepConcurrencyLevel above 1, instance groups/fleets and Spot interruptions, step logs
under LogUri, bucket policies and KMS permissions of the cluster's S3 access (identity policies only), EMRFS
consistency. Timestamps in DescribeCluster/DescribeStep come from the sandbox clock.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

NAME: Final = "emr-steps"
FOLLOWS: Final = (
    "EMR API Reference: ClusterStatus (https://docs.aws.amazon.com/emr/latest/APIReference/API_ClusterStatus.html: "
    "STARTING | BOOTSTRAPPING | RUNNING | WAITING | TERMINATING | TERMINATED | TERMINATED_WITH_ERRORS), "
    "EMR API Reference: StepStatus (PENDING | RUNNING | COMPLETED | CANCELLED | FAILED | INTERRUPTED, FailureDetails), "
    "StepConfig.ActionOnFailure (TERMINATE_CLUSTER | CANCEL_AND_WAIT | CONTINUE), TerminateJobFlows "
    "(https://docs.aws.amazon.com/emr/latest/APIReference/API_TerminateJobFlows.html: asynchronous; any step not yet "
    "completed is canceled), RunJobFlow (KeepJobFlowAliveWhenNoSteps false: the cluster stops after its steps); "
    "Amazon EMR Release Guide 'S3DistCp (s3-dist-cp)' "
    "(https://docs.aws.amazon.com/emr/latest/ReleaseGuide/UsingEMR_s3distcp.html): --src, --dest, --srcPattern, "
    "--srcPrefixesFile, --groupBy, --targetSize, --outputCodec; a failed step does not clean up partially copied "
    "files; 'Run commands and scripts on an Amazon EMR cluster' (command-runner.jar)."
)
ASSUMPTIONS: Final = (
    "Durations (Timings) are the sandbox's: AWS documents none for STARTING/BOOTSTRAPPING or a step.",
    "--srcPattern and --groupBy must match the whole path 's3://bucket/key' (Java Pattern.matches); the group "
    "name is the concatenation of every capture group's value (a group that did not take part adds nothing).",
    "The order of the files inside a --groupBy group is not specified by AWS: the sandbox shuffles it.",
    "--targetSize: a group is cut into parts in that shuffled order, a part closing once the stored (input) bytes "
    "of its files reach the target; with more than one part they are named <group><index><ext> from index 0, a "
    "single part keeps <group><ext> (the Release Guide's myfile.gz -> myfile0.gz, myfile1.gz).",
    "Output paths: without --groupBy each file keeps its path relative to --src; a group is written into the "
    "directory (relative to --src) its files share; files of one group in different directories fail the step.",
    "--outputCodec gz/gzip: inputs ending in .gz are decompressed, the output is gzip with '.gz' appended (a single "
    "file's own '.gz' is replaced); none: decompressed, no extension; keep or no --outputCodec: bytes copied as "
    "they are. lzo and snappy fail the step (not supported by the sandbox).",
    "A prefix listed in --srcPrefixesFile is listed as an S3 prefix (so 'a.gz' also lists 'a.gz.tmp'); every listed "
    "object must lie under --src (its path relative to --src names its output), otherwise the step fails.",
    "No input file at all (nothing listed, or nothing matching --srcPattern/--groupBy) fails the step.",
    "An injected step failure writes the first ceil(n/2) of its n output files, then fails.",
    "Documented options the sandbox does not model (--deleteOnSuccess, --s3ServerSideEncryption, --numberFiles, "
    "--outputManifest, ...) fail the step, as unknown options do.",
)

MIB = 1024 * 1024
S3_DIST_CP = "s3-dist-cp"
COMMAND_RUNNER = "command-runner.jar"
TERMINAL_CLUSTER_STATES = frozenset({"TERMINATED", "TERMINATED_WITH_ERRORS"})
_ENDING_STATES = TERMINAL_CLUSTER_STATES | {"TERMINATING"}
_VALUE_OPTIONS = frozenset(
    {"src", "dest", "srcPattern", "srcPrefixesFile", "groupBy", "targetSize", "outputCodec"}
)
_DOCUMENTED_UNMODELLED = frozenset(
    {
        "appendToLastFile",
        "s3ServerSideEncryption",
        "deleteOnSuccess",
        "disableMultipartUpload",
        "multipartUploadChunkSize",
        "numberFiles",
        "startingIndex",
        "outputManifest",
        "previousManifest",
        "requirePreviousManifest",
        "copyFromManifest",
        "s3Endpoint",
        "storageClass",
    }
)
_CODEC_EXTENSION = {"gz": ".gz", "gzip": ".gz", "none": "", "keep": ""}


@dataclass(frozen=True)
class Timings:
    """How long each transition takes, in sandbox seconds."""

    starting_s: float = 120.0
    bootstrapping_s: float = 60.0
    step_s: float = 30.0  # the least time a step stays RUNNING (its copy itself may take longer)
    terminating_s: float = 60.0


# ---------------------------------------------------------------------------------------------------------
# Fault hooks
# ---------------------------------------------------------------------------------------------------------

_faults_lock = threading.Lock()
_faults = {"steps": 0, "clusters": 0}


def fail_next_steps(count: int = 1) -> None:
    """The next ``count`` s3-dist-cp steps FAIL after writing part of their output (see ASSUMPTIONS)."""
    with _faults_lock:
        _faults["steps"] += count


def fail_next_clusters(count: int = 1) -> None:
    """The next ``count`` clusters fail while bootstrapping: TERMINATED_WITH_ERRORS (BOOTSTRAP_FAILURE)."""
    with _faults_lock:
        _faults["clusters"] += count


def reset_faults() -> None:
    with _faults_lock:
        _faults.update(steps=0, clusters=0)


def _take_fault(kind: str) -> bool:
    with _faults_lock:
        if _faults[kind] > 0:
            _faults[kind] -= 1
            return True
        return False


# ---------------------------------------------------------------------------------------------------------
# s3-dist-cp
# ---------------------------------------------------------------------------------------------------------


class StepFailed(Exception):
    """The step fails: ``reason`` and ``message`` become its FailureDetails."""

    def __init__(self, message: str, reason: str = "Step failed") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class DistCpOptions:
    src: str
    dest: str
    src_pattern: re.Pattern[str] | None = None
    src_prefixes_file: str | None = None
    group_by: re.Pattern[str] | None = None
    target_size_mib: int | None = None
    output_codec: str = "keep"


def parse_args(args: list[str]) -> DistCpOptions:
    """s3-dist-cp's argv (``--opt=value`` or ``--opt value``); raises StepFailed for anything not understood."""
    if not args or args[0] != S3_DIST_CP:
        raise StepFailed(
            f"command {args[:1]} is not supported by the sandbox (only {S3_DIST_CP} runs)",
            "Unsupported command",
        )
    values: dict[str, str] = {}
    index = 1
    while index < len(args):
        argument = str(args[index])
        if not argument.startswith("--"):
            raise StepFailed(f"s3-dist-cp: unexpected argument {argument!r}", "Invalid arguments")
        name, equals, value = argument[2:].partition("=")
        if name in _DOCUMENTED_UNMODELLED:
            raise StepFailed(
                f"s3-dist-cp: option --{name} is not supported by the sandbox", "Unsupported option"
            )
        if name not in _VALUE_OPTIONS:
            raise StepFailed(f"s3-dist-cp: unknown option --{name}", "Invalid arguments")
        if not equals:
            if index + 1 >= len(args):
                raise StepFailed(f"s3-dist-cp: option --{name} needs a value", "Invalid arguments")
            index += 1
            value = str(args[index])
        if name in values:
            raise StepFailed(f"s3-dist-cp: option --{name} given twice", "Invalid arguments")
        values[name] = value
        index += 1
    for required in ("src", "dest"):
        if not values.get(required):
            raise StepFailed(f"s3-dist-cp: --{required} is required", "Invalid arguments")
    options = DistCpOptions(src=values["src"], dest=values["dest"])
    options.src_prefixes_file = values.get("srcPrefixesFile")
    for key, attribute in (("srcPattern", "src_pattern"), ("groupBy", "group_by")):
        if key in values:
            try:
                setattr(options, attribute, re.compile(values[key]))
            except re.error as exc:
                raise StepFailed(f"s3-dist-cp: --{key} is not a valid regular expression: {exc}") from None
    if options.group_by is not None and options.group_by.groups == 0:
        raise StepFailed(
            "s3-dist-cp: --groupBy must contain a parenthetical statement (a capture group)",
            "Invalid arguments",
        )
    if "targetSize" in values:
        if not re.fullmatch(r"[0-9]+", values["targetSize"]) or int(values["targetSize"]) <= 0:
            raise StepFailed("s3-dist-cp: --targetSize must be a positive integer (MiB)", "Invalid arguments")
        options.target_size_mib = int(values["targetSize"])
    if "outputCodec" in values:
        codec = values["outputCodec"].lower()
        if codec in ("lzo", "lzop", "snappy"):
            raise StepFailed(f"s3-dist-cp: --outputCodec={codec} is not supported by the sandbox")
        if codec not in _CODEC_EXTENSION:
            raise StepFailed(
                f"s3-dist-cp: unknown --outputCodec {values['outputCodec']!r}", "Invalid arguments"
            )
        options.output_codec = codec
    return options


def split_s3_url(url: str, option: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3n?a?://([^/]+)/?(.*)", url)
    if not match:
        raise StepFailed(
            f"s3-dist-cp: {option} {url!r} is not an s3:// location (the sandbox copies S3 only)"
        )
    return match.group(1), match.group(2)


class S3Access:
    """Object storage as s3-dist-cp sees it. :class:`MotoS3AsRole` is the sandbox's; tests may give their own."""

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """(key, size) of every object under ``prefix``."""
        raise NotImplementedError

    def get(self, bucket: str, key: str) -> bytes:
        raise NotImplementedError

    def put(self, bucket: str, key: str, body: bytes) -> None:
        raise NotImplementedError


@dataclass
class _Source:
    path: str  # s3://bucket/key
    bucket: str
    key: str
    size: int
    relative: str  # relative to --src


def run_s3_dist_cp(
    args: list[str],
    s3: S3Access,
    *,
    rng: random.Random | None = None,
    fail: bool = False,
    written: list[str] | None = None,
) -> list[str]:
    """Run s3-dist-cp's documented semantics; returns the s3:// paths written, raises StepFailed.

    ``written`` (if given) receives each path as it is written, also when the copy then fails. With ``fail`` the
    copy writes the first ceil(n/2) of its n outputs and then fails (the fault hook).
    """
    written = [] if written is None else written
    rng = rng or random.Random()
    options = parse_args(args)
    src_bucket, src_prefix = split_s3_url(options.src, "--src")
    dest_bucket, dest_prefix = split_s3_url(options.dest, "--dest")
    src_dir = src_prefix.rstrip("/") + "/" if src_prefix.strip("/") else ""
    dest_dir = dest_prefix.rstrip("/") + "/" if dest_prefix.strip("/") else ""

    if options.src_prefixes_file:
        bucket, key = split_s3_url(options.src_prefixes_file, "--srcPrefixesFile")
        text = s3.get(bucket, key).decode("utf-8", errors="replace")
        listings = [
            split_s3_url(line.strip(), "--srcPrefixesFile entry")
            for line in text.splitlines()
            if line.strip()
        ]
    else:
        listings = [(src_bucket, src_dir)]
    seen: dict[str, _Source] = {}
    for bucket, prefix in listings:
        for key, size in s3.list(bucket, prefix):
            path = f"s3://{bucket}/{key}"
            if bucket != src_bucket or not key.startswith(src_dir):
                raise StepFailed(f"s3-dist-cp: {path} is not under --src {options.src}")
            seen[path] = _Source(path, bucket, key, size, key[len(src_dir) :])
    sources = [s for s in seen.values() if not s.key.endswith("/")]
    if options.src_pattern is not None:
        sources = [s for s in sources if options.src_pattern.fullmatch(s.path)]
    outputs: list[tuple[str, list[_Source]]] = []  # (dest key, its sources in order)
    extension = _CODEC_EXTENSION[options.output_codec]
    if options.group_by is None:
        for source in sorted(sources, key=lambda s: s.path):
            name = source.relative
            if options.output_codec != "keep":
                name = (name[:-3] if name.endswith(".gz") else name) + extension
            outputs.append((dest_dir + name, [source]))
    else:
        groups: dict[str, list[_Source]] = {}
        for source in sorted(sources, key=lambda s: s.path):
            match = options.group_by.fullmatch(source.path)
            if match:
                groups.setdefault("".join(g or "" for g in match.groups()), []).append(source)
        for name, members in sorted(groups.items()):
            directories = {m.relative.rpartition("/")[0] for m in members}
            if len(directories) != 1:
                raise StepFailed(
                    f"s3-dist-cp: group {name!r} spans directories {sorted(directories)}; "
                    "where its output goes is not specified (not supported by the sandbox)"
                )
            (directory,) = directories
            base = dest_dir + (directory + "/" if directory else "") + name
            rng.shuffle(members)
            parts = _parts(members, options.target_size_mib)
            for index, part in enumerate(parts):
                outputs.append((_part_name(base, index if len(parts) > 1 else None, extension), part))
    if not outputs:
        raise StepFailed("s3-dist-cp: no input file to copy (nothing listed, or nothing matched)")
    limit = (len(outputs) + 1) // 2 if fail else len(outputs)
    for key, part in outputs[:limit]:
        s3.put(dest_bucket, key, _concatenate(s3, part, options.output_codec))
        written.append(f"s3://{dest_bucket}/{key}")
    if fail:
        raise StepFailed(
            f"s3-dist-cp: injected failure after writing {len(written)} of {len(outputs)} files "
            "(partially copied files are not cleaned up)",
            "Injected failure",
        )
    return written


def _parts(members: list[_Source], target_mib: int | None) -> list[list[_Source]]:
    if target_mib is None:
        return [members]
    parts: list[list[_Source]] = [[]]
    size = 0
    for member in members:
        if size >= target_mib * MIB:
            parts.append([])
            size = 0
        parts[-1].append(member)
        size += member.size
    return parts


def _part_name(base: str, index: int | None, extension: str) -> str:
    suffix = "" if index is None else str(index)
    if extension or not suffix:
        return base + suffix + extension
    directory, _, name = base.rpartition("/")
    stem, dot, own = name.rpartition(".")
    name = f"{stem}{suffix}.{own}" if dot and stem else name + suffix
    return f"{directory}/{name}" if directory else name


def _concatenate(s3: S3Access, part: list[_Source], codec: str) -> bytes:
    chunks = []
    for source in part:
        body = s3.get(source.bucket, source.key)
        if codec != "keep" and source.key.endswith(".gz"):
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError) as exc:
                raise StepFailed(f"s3-dist-cp: {source.path} is not valid gzip: {exc}") from None
        chunks.append(body)
    data = b"".join(chunks)
    if codec in ("gz", "gzip"):
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed:
            compressed.write(data)
        return buffer.getvalue()
    return data


class MotoS3AsRole(S3Access):
    """moto's S3 backend, each call authorized against an IAM role's identity policies first."""

    def __init__(self, account: str, region: str, role_arn: str, documents: list[dict]) -> None:
        self.account, self.region, self.role_arn, self.documents = account, region, role_arn, documents

    def _authorize(self, action: str, resource: str, context: dict[str, list[str]] | None = None) -> None:
        from tests.sandbox.patches.iam_request_context import Check, decide

        base = {
            "aws:PrincipalArn": [self.role_arn],
            "aws:PrincipalAccount": [self.account],
            "aws:RequestedRegion": [self.region],
            "aws:SecureTransport": ["true"],  # EMRFS talks HTTPS
        }
        if not decide(self.documents, Check(action, (resource,), {**base, **(context or {})})):
            raise StepFailed(
                f"User: {self.role_arn} is not authorized to perform: {action} on resource: {resource} "
                "(Service: Amazon S3; Status Code: 403; Error Code: AccessDenied)",
                "Access denied",
            )

    @staticmethod
    def _backend() -> Any:
        from moto.s3.models import s3_backends

        return s3_backends

    def _s3(self) -> Any:
        return self._backend()[self.account]["aws"]

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        self._authorize("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": [prefix]})
        try:
            fake_bucket = self._s3().get_bucket(bucket)
        except Exception as exc:  # MissingBucket
            raise StepFailed(f"s3-dist-cp: bucket {bucket} cannot be listed: {exc}") from None
        found, token = [], None
        while True:
            keys, truncated, token = self._s3().list_objects_v2(fake_bucket, prefix, None, token, None, 1000)
            found += [(k.name, int(k.size)) for k in keys if not isinstance(k, str)]
            if not truncated:
                return found

    def get(self, bucket: str, key: str) -> bytes:
        self._authorize("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}")
        try:
            found = self._s3().get_object(bucket, key)
        except Exception as exc:
            raise StepFailed(f"s3-dist-cp: s3://{bucket}/{key} cannot be read: {exc}") from None
        if found is None or not hasattr(found, "value"):
            raise StepFailed(f"s3-dist-cp: s3://{bucket}/{key} does not exist")
        return bytes(found.value)

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self._authorize("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}")
        try:
            self._s3().put_object(bucket, key, body)
        except Exception as exc:
            raise StepFailed(f"s3-dist-cp: s3://{bucket}/{key} cannot be written: {exc}") from None


def instance_profile_access(cluster: Any) -> S3Access:
    """S3 as the role in the cluster's JobFlowRole instance profile; raises StepFailed if there is none usable."""
    from moto.iam.models import iam_backends

    from tests.sandbox.patches.stepfunctions import _role_documents

    account, region = cluster.emr_backend.account_id, cluster.emr_backend.region_name
    iam = iam_backends[account]["aws"]
    name = str(cluster.role or "")
    try:
        profile = (
            iam.get_instance_profile_by_arn(name)
            if name.startswith("arn:")
            else iam.get_instance_profile(name)
        )
    except Exception:
        raise StepFailed(
            f"the instance profile {name!r} (JobFlowRole) does not exist", "Invalid instance profile"
        ) from None
    if not profile.roles:
        raise StepFailed(f"the instance profile {name!r} holds no role", "Invalid instance profile")
    role = profile.roles[0]
    trust, documents = _role_documents(role.arn)
    if not _trusts(trust, "ec2.amazonaws.com"):
        raise StepFailed(
            f"the role {role.arn} cannot be assumed by ec2.amazonaws.com", "Invalid instance profile"
        )
    return MotoS3AsRole(account, region, role.arn, documents)


def _trusts(trust: dict, service: str) -> bool:
    def as_list(value: Any) -> list:
        return value if isinstance(value, list) else [value]

    return any(
        statement.get("Effect") == "Allow"
        and "sts:AssumeRole" in as_list(statement.get("Action"))
        and service in as_list((statement.get("Principal") or {}).get("Service"))
        for statement in as_list(trust.get("Statement"))
    )


# ---------------------------------------------------------------------------------------------------------
# The cluster lifecycle
# ---------------------------------------------------------------------------------------------------------


@dataclass
class _Tracked:
    cluster: Any
    since: float  # sandbox time the current cluster state was entered
    step_since: float = 0.0
    running: Any = None  # the RUNNING step
    outcome: StepFailed | None = None  # of the running step's copy (None: succeeded)
    end_state: str = "TERMINATED"
    written: dict[str, list[str]] = field(default_factory=dict)  # step id -> paths written


def _naive(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


class Clusters:
    """Drives every EMR cluster moto creates while installed, on ``clock`` (sandbox epoch seconds)."""

    def __init__(self, clock: Callable[[], float], timings: Timings, rng: random.Random) -> None:
        self.clock = clock
        self.timings = timings
        self.rng = rng
        self.lock = threading.RLock()
        self._tracked: dict[str, _Tracked] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.crashed: list[str] = []
        self.history: list[str] = []  # "<cluster or step id> <state>" in the order they happened

    # -- hooks called from moto's models (under the server's request threads) -----------------------------

    def register(self, cluster: Any) -> None:
        with self.lock:
            cluster.state = "STARTING"
            cluster._sandbox_reason = {}
            cluster.start_datetime = _naive(self.clock())
            cluster.ready_datetime = None
            for step in cluster.steps:
                step.state, step.start_date_time = "PENDING", None
            self._tracked[cluster.id] = _Tracked(cluster, self.clock())
            self._note(cluster.id, "STARTING")

    def terminate(
        self, cluster: Any, code: str = "USER_REQUEST", message: str = "Terminated by user request"
    ) -> None:
        with self.lock:
            if cluster.state in _ENDING_STATES:
                return
            self._enter(cluster, "TERMINATING", code, message)
            for step in cluster.steps:
                if step.state in ("PENDING", "RUNNING"):
                    self._finish_step(cluster, step, "CANCELLED", "Cancelled: the cluster is terminating")

    # -- the driver ------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="emr-clusters", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.tick()
            except Exception as exc:  # reported through idle()
                self.crashed.append(f"emr-clusters: {type(exc).__name__}: {exc}")
                return

    def tick(self) -> None:
        """Advance every cluster once (the driver thread calls this; tests may too)."""
        with self.lock:
            tracked = list(self._tracked.values())
        for entry in tracked:
            cluster = entry.cluster
            if cluster.emr_backend.clusters.get(cluster.id) is not cluster:  # moto was reset
                with self.lock:
                    self._tracked.pop(cluster.id, None)
                continue
            self._advance(entry)

    def _advance(self, entry: _Tracked) -> None:
        cluster, now, timings = entry.cluster, self.clock(), self.timings
        start_step = None
        with self.lock:
            running = entry.running
            if running is not None and (
                running.state != "RUNNING" or now - entry.step_since >= timings.step_s
            ):
                self._complete(entry)
            state = cluster.state
            if state == "STARTING" and now - entry.since >= timings.starting_s:
                self._enter(cluster, "BOOTSTRAPPING")
                if _take_fault("clusters"):
                    entry.end_state = "TERMINATED_WITH_ERRORS"
                    self.terminate(
                        cluster, "BOOTSTRAP_FAILURE", "Master instance failed a bootstrap action (injected)"
                    )
            elif state == "BOOTSTRAPPING" and now - entry.since >= timings.bootstrapping_s:
                cluster.ready_datetime = _naive(now)
                self._enter(cluster, "WAITING", "", "Cluster ready to run steps.")
                self._after_steps(entry)
            elif (
                state == "TERMINATING"
                and entry.running is None
                and now - entry.since >= timings.terminating_s
            ):
                cluster.end_datetime = _naive(now)
                reason = cluster._sandbox_reason
                self._enter(cluster, entry.end_state, reason.get("Code"), reason.get("Message"))
            elif state in ("WAITING", "RUNNING") and entry.running is None:
                pending = next((s for s in cluster.steps if s.state == "PENDING"), None)
                if pending is not None:
                    pending.state, pending.start_date_time = "RUNNING", _naive(now)
                    self._note(pending.id, "RUNNING")
                    if state == "WAITING":
                        self._enter(cluster, "RUNNING", "", "Running step")
                    entry.running, entry.step_since, start_step = pending, now, pending
        if start_step is not None:  # the copy runs outside the lock: moto keeps answering meanwhile
            entry.outcome = self._execute(cluster, start_step, entry)

    def _execute(self, cluster: Any, step: Any, entry: _Tracked) -> StepFailed | None:
        if step.jar != COMMAND_RUNNER:
            return StepFailed(f"jar {step.jar!r} is not supported by the sandbox (only {COMMAND_RUNNER})")
        args = [str(a) for a in step.args or []]
        if not args or args[0] != S3_DIST_CP:
            return StepFailed(f"command {args[:1]} is not supported by the sandbox (only {S3_DIST_CP})")
        written = entry.written.setdefault(step.id, [])
        try:
            access = instance_profile_access(cluster)
            run_s3_dist_cp(args, access, rng=self.rng, fail=_take_fault("steps"), written=written)
        except StepFailed as exc:
            return exc
        return None

    def _complete(self, entry: _Tracked) -> None:
        cluster, step, outcome = entry.cluster, entry.running, entry.outcome
        entry.running, entry.outcome = None, None
        if step.state != "RUNNING":  # cancelled by TerminateJobFlows meanwhile (its output stays)
            return
        if outcome is None:
            self._finish_step(cluster, step, "COMPLETED")
        else:
            self._finish_step(cluster, step, "FAILED", outcome.message, outcome.reason)
            action = step.action_on_failure
            if action in ("TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW"):
                entry.end_state = "TERMINATED_WITH_ERRORS"
                self.terminate(cluster, "STEP_FAILURE", f"Shut down as step failed: {step.name}")
                return
            if action == "CANCEL_AND_WAIT":
                for pending in cluster.steps:
                    if pending.state == "PENDING":
                        self._finish_step(cluster, pending, "CANCELLED", "Cancelled after a failed step")
        if cluster.state == "RUNNING" and not any(s.state == "PENDING" for s in cluster.steps):
            self._enter(cluster, "WAITING", "", "Cluster ready after last step completed.")
        self._after_steps(entry)

    def _after_steps(self, entry: _Tracked) -> None:
        cluster = entry.cluster
        pending = any(s.state in ("PENDING", "RUNNING") for s in cluster.steps)
        if cluster.state == "WAITING" and not pending and not cluster.keep_job_flow_alive_when_no_steps:
            self.terminate(cluster, "ALL_STEPS_COMPLETED", "Steps completed")

    def _finish_step(self, cluster: Any, step: Any, state: str, message: str = "", reason: str = "") -> None:
        step.state = state
        step.end_date_time = _naive(self.clock())
        step.last_state_change_reason = message or None
        if state == "FAILED":
            details = {"Reason": reason or "Step failed", "Message": message}
            if cluster.log_uri:
                details["LogFile"] = f"{cluster.log_uri.rstrip('/')}/{cluster.id}/steps/{step.id}/stderr.gz"
            step._sandbox_failure = details
        self._note(step.id, state)

    def _enter(self, cluster: Any, state: str, code: str | None = None, message: str | None = None) -> None:
        cluster.state = state
        cluster._sandbox_reason = {k: v for k, v in (("Code", code), ("Message", message)) if v}
        cluster.last_state_change_reason = message or None
        tracked = self._tracked.get(cluster.id)
        if tracked is not None:
            tracked.since = self.clock()
        self._note(cluster.id, state)

    def _note(self, what: str, state: str) -> None:
        self.history.append(f"{what} {state}")

    # -- observation -----------------------------------------------------------------------------------------

    def idle(self) -> bool:
        """No cluster starting, running a step or terminating (a WAITING cluster is idle).

        Raises RuntimeError if the driver thread died."""
        if self.crashed:
            raise RuntimeError(f"EMR cluster driver crashed: {self.crashed}")
        with self.lock:
            return all(
                t.cluster.state in ("WAITING", *TERMINAL_CLUSTER_STATES)
                and not any(s.state in ("PENDING", "RUNNING") for s in t.cluster.steps)
                for t in self._tracked.values()
            )

    def written(self, step_id: str) -> list[str]:
        """The s3:// paths an s3-dist-cp step wrote (also when it failed after writing some)."""
        with self.lock:
            for entry in self._tracked.values():
                if step_id in entry.written:
                    return list(entry.written[step_id])
        return []


def _cluster_status(self: Any) -> dict[str, Any]:
    reason = dict(getattr(self, "_sandbox_reason", None) or {})
    return {
        "State": self.state,
        "StateChangeReason": reason,
        "Timeline": {
            "CreationDateTime": self.creation_datetime,
            "EndDateTime": self.end_datetime,
            "ReadyDateTime": self.ready_datetime,
        },
    }


def _step_status(self: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "State": self.state,
        "StateChangeReason": (
            {"Message": self.last_state_change_reason}
            if getattr(self, "last_state_change_reason", None)
            else {}
        ),
        "Timeline": {
            "CreationDateTime": self.creation_date_time,
            "EndDateTime": self.end_date_time,
            "StartDateTime": self.start_date_time,
        },
    }
    failure = getattr(self, "_sandbox_failure", None)
    if failure:
        status["FailureDetails"] = failure
    return status


_current: Clusters | None = None


def current() -> Clusters | None:
    """The installed driver, if any (the stepfunctions patch gives it the runtime's sandbox clock)."""
    return _current


@contextlib.contextmanager
def installed(
    *,
    clock: Callable[[], float] | None = None,
    timings: Timings | None = None,
    seed: int | None = None,
) -> Iterator[Clusters]:
    """Drive moto's EMR clusters while in the block. ``clock`` defaults to real time; the ``stepfunctions``
    patch switches it to the Lambda runtime's sandbox clock when the runtime starts (see :func:`current`)."""
    global _current
    from moto.emr.exceptions import ValidationException
    from moto.emr.models import Cluster, Step

    clusters = Clusters(clock or time.time, timings or Timings(), random.Random(seed))
    originals = {
        (Cluster, name): Cluster.__dict__[name]
        for name in ("run_bootstrap_actions", "terminate", "add_steps", "status")
    }
    originals[(Step, "status")] = Step.__dict__["status"]
    originals[(Step, "start")] = Step.__dict__["start"]
    original_add_steps = originals[(Cluster, "add_steps")]

    def run_bootstrap_actions(self: Any) -> None:
        clusters.register(self)  # STARTING; the driver moves it on

    def terminate(self: Any) -> None:
        clusters.terminate(self)

    def add_steps(self: Any, steps: list[dict[str, Any]]) -> list[Any]:
        with clusters.lock:
            if getattr(self, "state", None) in _ENDING_STATES:
                raise ValidationException(
                    "A job flow that is shutting down, terminated, or finished may not be modified."
                )
            state = getattr(self, "state", None)
            added = original_add_steps(self, steps)
            for step in added:
                step.state, step.start_date_time = "PENDING", None
            self.state = state  # the driver moves the cluster to RUNNING when a step starts
            return added

    Cluster.run_bootstrap_actions = run_bootstrap_actions  # type: ignore[method-assign]
    Cluster.terminate = terminate  # type: ignore[method-assign]
    Cluster.add_steps = add_steps  # type: ignore[method-assign]
    Cluster.status = property(_cluster_status)  # type: ignore[assignment,method-assign]
    Step.status = property(_step_status)  # type: ignore[assignment,method-assign]
    Step.start = lambda self: None  # type: ignore[method-assign]
    previous, _current = _current, clusters
    clusters.start()
    try:
        yield clusters
    finally:
        clusters.stop()
        _current = previous
        for (owner, name), value in originals.items():
            setattr(owner, name, value)
        reset_faults()
