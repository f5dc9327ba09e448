"""The emr patch: s3-dist-cp's documented semantics, and clusters and steps that progress as in AWS."""

from __future__ import annotations

import gzip
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.sandbox import client_credentials
from tests.sandbox.moto_server import running_moto
from tests.sandbox.patches import emr
from tests.sandbox.patches.emr import S3Access, StepFailed, run_s3_dist_cp

REGION = "us-east-1"
ACCOUNT = "123456789012"
HOUR = "raw/orders/2026/12/07/03/"
GROUP_BY = r"--groupBy=.*/raw/orders/([0-9]{4})/([0-9]{2})/([0-9]{2})/([0-9]{2})/[^/]*\.json\.gz"


# ---------------------------------------------------------------------------------------------------------
# s3-dist-cp against an in-memory store
# ---------------------------------------------------------------------------------------------------------


class MemoryS3(S3Access):
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.listed: list[tuple[str, str]] = []

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        self.listed.append((bucket, prefix))
        return sorted(
            (k, len(v)) for (b, k), v in self.objects.items() if b == bucket and k.startswith(prefix)
        )

    def get(self, bucket: str, key: str) -> bytes:
        if (bucket, key) not in self.objects:
            raise StepFailed(f"s3://{bucket}/{key} does not exist")
        return self.objects[(bucket, key)]

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.objects[(bucket, key)] = body

    def under(self, prefix: str) -> dict[str, bytes]:
        return {k: v for (_, k), v in self.objects.items() if k.startswith(prefix)}


def _raw(s3: MemoryS3, key: str, *lines: str) -> None:
    s3.put("cdc", key, gzip.compress("".join(f"{line}\n" for line in lines).encode()))


def _lines(body: bytes) -> list[str]:
    return gzip.decompress(body).decode().splitlines()


def _args(*extra: str, src: str = HOUR, dest: str = "compacted/orders/run1/") -> list[str]:
    return ["s3-dist-cp", f"--src=s3://cdc/{src}", f"--dest=s3://cdc/{dest}", *extra]


def test_group_by_concatenates_each_group_into_a_file_named_by_its_capture_groups():
    s3 = MemoryS3()
    _raw(s3, HOUR + "a.json.gz", "a1", "a2")
    _raw(s3, HOUR + "b.json.gz", "b1")
    _raw(s3, HOUR + "c.json", "not gzip, does not match")  # no .json.gz: not copied
    written = run_s3_dist_cp(_args(GROUP_BY, "--outputCodec=gz"), s3, rng=random.Random(1))
    assert written == ["s3://cdc/compacted/orders/run1/2026120703.gz"]
    output = s3.under("compacted/")
    assert list(output) == ["compacted/orders/run1/2026120703.gz"]
    assert sorted(_lines(output["compacted/orders/run1/2026120703.gz"])) == ["a1", "a2", "b1"]


def test_the_order_inside_a_group_is_shuffled():
    orders = set()
    for seed in range(8):
        s3 = MemoryS3()
        for name in "abcdef":
            _raw(s3, HOUR + f"{name}.json.gz", name)
        run_s3_dist_cp(_args(GROUP_BY, "--outputCodec=gz"), s3, rng=random.Random(seed))
        orders.add(tuple(_lines(s3.under("compacted/")["compacted/orders/run1/2026120703.gz"])))
    assert len(orders) > 1 and all(sorted(o) == list("abcdef") for o in orders)


def test_target_size_splits_a_group_into_numbered_parts():
    s3 = MemoryS3()
    rng = random.Random(7)
    for name in "abc":  # incompressible, about 0.6 MiB each once gzip-compressed
        s3.put("cdc", HOUR + f"{name}.json.gz", gzip.compress(rng.randbytes(600 * 1024)))
    run_s3_dist_cp(_args(GROUP_BY, "--targetSize=1", "--outputCodec=none"), s3, rng=random.Random(2))
    output = s3.under("compacted/")
    assert sorted(output) == ["compacted/orders/run1/20261207030", "compacted/orders/run1/20261207031"]
    sizes = sorted(len(v) for v in output.values())
    assert sizes == [600 * 1024, 1200 * 1024]  # a part closes once its input reaches 1 MiB


def test_a_group_within_target_size_keeps_its_plain_name():
    s3 = MemoryS3()
    _raw(s3, HOUR + "a.json.gz", "a")
    run_s3_dist_cp(_args(GROUP_BY, "--targetSize", "64", "--outputCodec", "gzip"), s3)
    assert list(s3.under("compacted/")) == ["compacted/orders/run1/2026120703.gz"]


def test_output_codecs_decompress_gz_inputs_and_name_the_output():
    for codec, name, decode in (
        ("gz", "2026120703.gz", lambda b: gzip.decompress(b)),
        ("none", "2026120703", lambda b: b),
    ):
        s3 = MemoryS3()
        _raw(s3, HOUR + "a.json.gz", "x")
        run_s3_dist_cp(_args(GROUP_BY, f"--outputCodec={codec}"), s3)
        (key,) = s3.under("compacted/")
        assert key == f"compacted/orders/run1/{name}"
        assert decode(s3.under("compacted/")[key]) == b"x\n"
    s3 = MemoryS3()  # no codec: the bytes are copied as they are (a concatenation of gzip members)
    _raw(s3, HOUR + "a.json.gz", "x")
    _raw(s3, HOUR + "b.json.gz", "y")
    run_s3_dist_cp(_args(GROUP_BY), s3)
    body = s3.under("compacted/")["compacted/orders/run1/2026120703"]
    assert sorted(gzip.decompress(body).decode().splitlines()) == ["x", "y"]


def test_without_group_by_each_file_keeps_its_relative_path():
    s3 = MemoryS3()
    _raw(s3, HOUR + "a.json.gz", "a")
    _raw(s3, HOUR + "sub/b.json.gz", "b")
    run_s3_dist_cp(_args("--outputCodec=gz"), s3)
    assert sorted(s3.under("compacted/")) == [
        "compacted/orders/run1/a.json.gz",
        "compacted/orders/run1/sub/b.json.gz",
    ]


def test_src_prefixes_file_copies_only_what_it_lists():
    s3 = MemoryS3()
    for name in ("a", "b", "c"):
        _raw(s3, HOUR + f"{name}.json.gz", name)
    listing = "".join(f"s3://cdc/{HOUR}{name}.json.gz\n" for name in ("a", "c"))
    s3.put("cdc", "compaction/orders/inputs.txt", listing.encode())
    run_s3_dist_cp(
        _args(GROUP_BY, "--outputCodec=gz", "--srcPrefixesFile=s3://cdc/compaction/orders/inputs.txt"), s3
    )
    assert sorted(_lines(s3.under("compacted/")["compacted/orders/run1/2026120703.gz"])) == ["a", "c"]
    # the src path itself is not listed, only the prefixes
    assert s3.listed == [("cdc", HOUR + "a.json.gz"), ("cdc", HOUR + "c.json.gz")]


def test_a_listed_prefix_outside_src_fails_the_step():
    s3 = MemoryS3()
    _raw(s3, "raw/orders/2026/12/07/04/x.json.gz", "x")
    s3.put("cdc", "inputs.txt", b"s3://cdc/raw/orders/2026/12/07/04/x.json.gz\n")
    with pytest.raises(StepFailed, match="not under --src"):
        run_s3_dist_cp(_args(GROUP_BY, "--srcPrefixesFile=s3://cdc/inputs.txt"), s3)


def test_src_pattern_filters_on_the_full_path():
    s3 = MemoryS3()
    _raw(s3, HOUR + "keep-1.json.gz", "k")
    _raw(s3, HOUR + "drop-1.json.gz", "d")
    run_s3_dist_cp(_args(r"--srcPattern=s3://cdc/.*/keep-[0-9]+\.json\.gz", "--outputCodec=gz"), s3)
    assert list(s3.under("compacted/")) == ["compacted/orders/run1/keep-1.json.gz"]
    s3 = MemoryS3()
    _raw(s3, HOUR + "keep-1.json.gz", "k")
    with pytest.raises(StepFailed, match="no input file"):  # a pattern on the key alone matches nothing
        run_s3_dist_cp(_args(r"--srcPattern=keep-[0-9]+\.json\.gz"), s3)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((r"--groupBy=.*\.json\.gz",), "parenthetical"),
        (("--frobnicate=1",), "unknown option --frobnicate"),
        (("--deleteOnSuccess",), "not supported by the sandbox"),
        (("--outputCodec=lzo",), "not supported by the sandbox"),
        (("--outputCodec=zip",), "unknown --outputCodec"),
        (("--targetSize=0.5",), "positive integer"),
        (("--groupBy",), "needs a value"),
        (("stray",), "unexpected argument"),
    ],
)
def test_arguments_it_does_not_understand_fail_the_step(extra, message):
    s3 = MemoryS3()
    _raw(s3, HOUR + "a.json.gz", "a")
    with pytest.raises(StepFailed, match=message):
        run_s3_dist_cp(_args(*extra), s3)
    assert not s3.under("compacted/")


def test_only_s3_dist_cp_runs():
    with pytest.raises(StepFailed, match="not supported by the sandbox"):
        run_s3_dist_cp(["hadoop-streaming", "--src=s3://cdc/a/"], MemoryS3())


def test_an_injected_failure_leaves_part_of_the_output():
    s3 = MemoryS3()
    for hour in ("03", "04", "05"):
        _raw(s3, f"raw/orders/2026/12/07/{hour}/a.json.gz", hour)
    with pytest.raises(StepFailed, match="injected failure after writing 2 of 3"):
        run_s3_dist_cp(_args(GROUP_BY, "--outputCodec=gz", src="raw/orders/"), s3, fail=True)
    assert len(s3.under("compacted/")) == 2


# ---------------------------------------------------------------------------------------------------------
# Clusters and steps in moto, on a clock the test moves
# ---------------------------------------------------------------------------------------------------------


class ManualClock:
    def __init__(self) -> None:
        self.t = 1_796_612_400.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.t

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(service: str) -> str:
    return _policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


@pytest.fixture(scope="module")
def moto_emr() -> Iterator[tuple[Callable[[str], Any], ManualClock, emr.Clusters]]:
    clock = ManualClock()
    with running_moto() as endpoint, emr.installed(clock=clock, seed=3) as clusters:

        def client(service: str) -> Any:
            return boto3.client(
                service,
                region_name=REGION,
                endpoint_url=endpoint,
                config=Config(retries={"max_attempts": 1}),
                **client_credentials(),
            )

        iam = client("iam")
        iam.create_role(
            RoleName="emr-service", AssumeRolePolicyDocument=_trust("elasticmapreduce.amazonaws.com")
        )
        for profile, statements in (
            (
                "compactor",
                [
                    {
                        "Effect": "Allow",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::cdc/raw/orders/*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": "arn:aws:s3:::cdc/compacted/orders/*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": "s3:ListBucket",
                        "Resource": "arn:aws:s3:::cdc",
                        "Condition": {"StringLike": {"s3:prefix": ["raw/orders/*"]}},
                    },
                ],
            ),
            (
                "reader-only",
                [
                    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"},
                ],
            ),
        ):
            iam.create_role(RoleName=profile, AssumeRolePolicyDocument=_trust("ec2.amazonaws.com"))
            iam.put_role_policy(RoleName=profile, PolicyName="s3", PolicyDocument=_policy(*statements))
            iam.create_instance_profile(InstanceProfileName=profile)
            iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=profile)
        client("s3").create_bucket(Bucket="cdc")
        for name in ("a", "b"):
            client("s3").put_object(
                Bucket="cdc", Key=f"{HOUR}{name}.json.gz", Body=gzip.compress(f"{name}\n".encode())
            )
        yield client, clock, clusters


def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        time.sleep(0.02)


def _cluster(client: Callable[[str], Any], *, profile: str = "compactor", keep_alive: bool = True) -> str:
    return client("emr").run_job_flow(
        Name="compaction",
        ReleaseLabel="emr-7.2.0",
        ServiceRole="emr-service",
        JobFlowRole=profile,
        LogUri="s3://cdc/emr-logs/orders/",
        Instances={
            "KeepJobFlowAliveWhenNoSteps": keep_alive,
            "InstanceGroups": [
                {
                    "InstanceRole": "MASTER",
                    "InstanceType": "m5.xlarge",
                    "InstanceCount": 1,
                    "Market": "ON_DEMAND",
                }
            ],
        },
    )["JobFlowId"]


def _state(client: Callable[[str], Any], cluster_id: str) -> str:
    return client("emr").describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]


def _step(client: Callable[[str], Any], cluster_id: str, step_id: str) -> dict:
    return client("emr").describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]["Status"]


def _wait_state(client: Callable[[str], Any], cluster_id: str, state: str) -> None:
    _until(lambda: _state(client, cluster_id) == state)


def _ready(client: Callable[[str], Any], clock: ManualClock, **kwargs: Any) -> str:
    cluster_id = _cluster(client, **kwargs)
    clock.advance(120)
    _wait_state(client, cluster_id, "BOOTSTRAPPING")
    clock.advance(60)
    _wait_state(client, cluster_id, "WAITING")
    return cluster_id


def _steps(client: Callable[[str], Any], cluster_id: str, *steps: tuple[list[str], str]) -> list[str]:
    return client("emr").add_job_flow_steps(
        JobFlowId=cluster_id,
        Steps=[
            {
                "Name": f"step {i}",
                "ActionOnFailure": action,
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
            }
            for i, (args, action) in enumerate(steps)
        ],
    )["StepIds"]


COPY = [
    "s3-dist-cp",
    f"--src=s3://cdc/{HOUR}",
    "--dest=s3://cdc/compacted/orders/r1/",
    GROUP_BY,
    "--outputCodec=gz",
]


def test_a_cluster_starts_runs_its_steps_in_order_and_terminates(moto_emr):
    client, clock, _ = moto_emr
    cluster_id = _cluster(client)
    assert _state(client, cluster_id) == "STARTING"
    clock.advance(120)
    _wait_state(client, cluster_id, "BOOTSTRAPPING")
    clock.advance(60)
    _wait_state(client, cluster_id, "WAITING")
    first, second = _steps(client, cluster_id, (COPY, "CONTINUE"), (["s3-dist-cp", "--bogus"], "CONTINUE"))
    _until(lambda: _step(client, cluster_id, first)["State"] == "RUNNING")
    assert _step(client, cluster_id, second)["State"] == "PENDING"
    assert _state(client, cluster_id) == "RUNNING"
    clock.advance(30)
    _until(lambda: _step(client, cluster_id, second)["State"] == "RUNNING")
    assert _step(client, cluster_id, first)["State"] == "COMPLETED"
    body = client("s3").get_object(Bucket="cdc", Key="compacted/orders/r1/2026120703.gz")["Body"].read()
    assert sorted(gzip.decompress(body).decode().splitlines()) == ["a", "b"]
    clock.advance(30)
    _until(lambda: _step(client, cluster_id, second)["State"] == "FAILED")
    failure = _step(client, cluster_id, second)["FailureDetails"]
    assert "unknown option --bogus" in failure["Message"]
    assert failure["LogFile"].startswith(f"s3://cdc/emr-logs/orders/{cluster_id}/steps/{second}/")
    _wait_state(client, cluster_id, "WAITING")  # CONTINUE: the cluster waits for more work
    client("emr").terminate_job_flows(JobFlowIds=[cluster_id])
    assert _state(client, cluster_id) == "TERMINATING"
    with pytest.raises(ClientError, match="may not be modified"):
        _steps(client, cluster_id, (COPY, "CONTINUE"))
    clock.advance(60)
    _wait_state(client, cluster_id, "TERMINATED")
    reason = client("emr").describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["StateChangeReason"]
    assert reason["Code"] == "USER_REQUEST"


def test_terminating_cancels_the_steps_not_yet_completed(moto_emr):
    client, clock, _ = moto_emr
    cluster_id = _ready(client, clock)
    running, pending = _steps(client, cluster_id, (COPY, "CONTINUE"), (COPY, "CONTINUE"))
    _until(lambda: _step(client, cluster_id, running)["State"] == "RUNNING")
    client("emr").terminate_job_flows(JobFlowIds=[cluster_id])
    assert [_step(client, cluster_id, s)["State"] for s in (running, pending)] == ["CANCELLED", "CANCELLED"]
    clock.advance(60)
    _wait_state(client, cluster_id, "TERMINATED")


def test_a_failed_step_with_terminate_cluster_ends_the_cluster_with_errors(moto_emr):
    client, clock, _ = moto_emr
    cluster_id = _ready(client, clock)
    failing, never = _steps(
        client, cluster_id, (["hive-script", "x"], "TERMINATE_CLUSTER"), (COPY, "CONTINUE")
    )
    _until(lambda: _step(client, cluster_id, failing)["State"] == "RUNNING")
    clock.advance(30)
    _wait_state(client, cluster_id, "TERMINATING")
    assert _step(client, cluster_id, failing)["State"] == "FAILED"
    assert _step(client, cluster_id, never)["State"] == "CANCELLED"
    clock.advance(60)
    _wait_state(client, cluster_id, "TERMINATED_WITH_ERRORS")
    reason = client("emr").describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["StateChangeReason"]
    assert reason["Code"] == "STEP_FAILURE"


def test_a_cluster_not_kept_alive_terminates_after_its_last_step(moto_emr):
    client, clock, _ = moto_emr
    cluster_id = _cluster(client, keep_alive=False)
    clock.advance(120)
    _wait_state(client, cluster_id, "BOOTSTRAPPING")
    clock.advance(60)
    _wait_state(client, cluster_id, "TERMINATING")  # no step at all: it does not wait
    clock.advance(60)
    _wait_state(client, cluster_id, "TERMINATED")
    reason = client("emr").describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["StateChangeReason"]
    assert reason["Code"] == "ALL_STEPS_COMPLETED"


def test_the_instance_profile_role_must_be_allowed_to_write(moto_emr):
    client, clock, _ = moto_emr
    cluster_id = _ready(client, clock, profile="reader-only")
    (step,) = _steps(client, cluster_id, (COPY, "CONTINUE"))
    _until(lambda: _step(client, cluster_id, step)["State"] == "RUNNING")
    clock.advance(30)
    _until(lambda: _step(client, cluster_id, step)["State"] == "FAILED")
    message = _step(client, cluster_id, step)["FailureDetails"]["Message"]
    assert "s3:PutObject" in message and "role/reader-only" in message


def test_the_instance_profile_role_must_be_allowed_to_list_what_it_reads(moto_emr):
    client, clock, _ = moto_emr
    cluster_id = _ready(client, clock)
    copy_all = ["s3-dist-cp", "--src=s3://cdc/raw/", "--dest=s3://cdc/compacted/orders/r2/"]
    (step,) = _steps(client, cluster_id, (copy_all, "CONTINUE"))
    _until(lambda: _step(client, cluster_id, step)["State"] == "RUNNING")
    clock.advance(30)
    _until(lambda: _step(client, cluster_id, step)["State"] == "FAILED")
    assert "s3:ListBucket" in _step(client, cluster_id, step)["FailureDetails"]["Message"]


def test_fault_hooks_fail_the_next_step_and_the_next_cluster(moto_emr):
    client, clock, clusters = moto_emr
    cluster_id = _ready(client, clock)
    emr.fail_next_steps(1)
    failed, succeeded = _steps(
        client,
        cluster_id,
        ([*COPY[:2], "--dest=s3://cdc/compacted/orders/r3/", *COPY[3:]], "CONTINUE"),
        ([*COPY[:2], "--dest=s3://cdc/compacted/orders/r4/", *COPY[3:]], "CONTINUE"),
    )
    _until(lambda: _step(client, cluster_id, failed)["State"] == "RUNNING")
    clock.advance(30)
    _until(lambda: _step(client, cluster_id, succeeded)["State"] == "RUNNING")
    assert _step(client, cluster_id, failed)["State"] == "FAILED"
    assert clusters.written(failed) == ["s3://cdc/compacted/orders/r3/2026120703.gz"]  # left behind
    clock.advance(30)
    _until(lambda: _step(client, cluster_id, succeeded)["State"] == "COMPLETED")
    emr.fail_next_clusters(1)
    broken = _cluster(client)
    clock.advance(120)
    _wait_state(client, broken, "TERMINATING")
    clock.advance(60)
    _wait_state(client, broken, "TERMINATED_WITH_ERRORS")
    reason = client("emr").describe_cluster(ClusterId=broken)["Cluster"]["Status"]["StateChangeReason"]
    assert reason["Code"] == "BOOTSTRAP_FAILURE"
    client("emr").terminate_job_flows(JobFlowIds=[cluster_id])
    clock.advance(60)
    _until(clusters.idle)


def test_the_patch_is_reverted_on_exit():
    from moto.emr.models import Cluster, Step

    names = ("run_bootstrap_actions", "terminate", "add_steps", "status")
    before, step_status, outer = (
        {n: Cluster.__dict__[n] for n in names},
        Step.__dict__["status"],
        emr.current(),
    )
    with emr.installed() as inner:
        assert emr.current() is inner
        assert Cluster.__dict__["terminate"] is not before["terminate"]
    assert emr.current() is outer
    assert {n: Cluster.__dict__[n] for n in names} == before and Step.__dict__["status"] is step_status
