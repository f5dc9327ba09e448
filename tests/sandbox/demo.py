"""``make demo``: the whole pipeline on one machine, with no AWS account, and its proof.

``python -m tests.sandbox.demo --aggregation lambda --load s3_event --changes 10000``

1. a throwaway PostgreSQL (the tests' own) and an in-process moto server on 127.0.0.1,
   with the named moto patches of ``tests/sandbox/patches`` installed;
2. ``terraform apply`` of ``examples/local`` (the real root module, endpoints -> moto);
3. ``python -m ddb_cdc.cli init`` with the loader function's deployed environment;
4. the local Lambda runtime, which runs the deployed handlers from the deployed zip as
   the deployed mappings, schedules and rules say;
5. the generator writes the changes into the table Terraform created;
6. wait until every component is idle and the table's scan equals the target view;
7. the report, then ``terraform destroy`` and everything stopped.

``--backfill step_functions|checkpoint_table|export`` seeds the table with ``--seed-items`` items
before the apply, adopts it, and runs the backfill while the generator writes (see
``tests/sandbox/backfill_run.py``); ``--interrupt-backfill`` cancels and resumes it mid-scan.

``--load ec2_cron`` runs the loader host(s) the Auto Scaling group launches: its user data is checked and its
systemd timer runs ``python -m ddb_cdc.cli load`` from the uploaded package on the sandbox clock
(``tests/sandbox/ec2_host.py``); ``--ec2-hosts 2`` runs two at once, as an instance refresh overlaps them.

``--faults outage,slowdown,kill-writer,odd-values`` (or ``all``) injects faults in the middle
of the run (``tests/sandbox/faults.py``): the changes are then written in two halves, the
warehouse outage is armed once the first half's first load committed, and the odd values and
the second half are written into it. The report says what was injected and what was quarantined.

``--calibrate 8,24`` (LOAD=s3_event) writes at each rate for a measuring window instead of ``--changes`` and reports
the raw objects and COPYs per hour it counted beside what ``ddb_cdc.plan.model`` predicts for the configuration
Terraform applied (``tests/sandbox/calibration.py`` explains the windows and the time base); the view is then checked
against the table as in every run.

Exit status: 0 when every run had 0 mismatches, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import boto3

from tests.rig.postgres import running_server
from tests.sandbox import DUMMY_CREDENTIALS, calibration, client_credentials, verify
from tests.sandbox.backfill_run import Backfill, seed_table
from tests.sandbox.compaction_run import HOUR_MS, CompactionRuns
from tests.sandbox.ec2_host import LoaderHosts, running_hosts
from tests.sandbox.faults import FAULTS, FaultInjector, list_keys, parse_faults, queue_depth
from tests.sandbox.lambda_runtime import wait_stable
from tests.sandbox.report import Report
from tests.sandbox.terraform_stack import AGGREGATIONS, DATA_API_MODES, LOAD_STRATEGIES, LocalStack

REPO: Final = Path(__file__).resolve().parents[2]
REGION: Final = "us-east-1"
DEMO_NAME: Final = "cdc-demo"  # examples/local's default name
BACKFILL_MODES: Final = ("none", "step_functions", "checkpoint_table", "export")
# --wait-for gives up after this long: the runs it holds are released as the demos beside them end.
WAIT_FOR_TIMEOUT_S: Final = 1800.0


@dataclass(frozen=True, slots=True)
class Options:
    aggregation: str = "lambda"
    load_strategy: str = "s3_event"
    data_api_mode: str = "async"
    changes: int = 10_000
    update_share: float = 0.2
    delete_share: float = 0.1
    seed: int = 7
    clock_factor: float = 30.0
    settle_timeout: float = 120.0
    work_dir: Path | None = None
    faults: frozenset[str] = frozenset()  # tests.sandbox.faults.FAULTS
    backfill: str = "none"  # BACKFILL_MODES
    seed_items: int = 20_000  # items in the table before the pipeline exists (with a backfill)
    interrupt_backfill: bool = False  # cancel and resume the backfill mid-scan
    ec2_hosts: int = 1  # ec2_cron: loader hosts running the group's user data at once
    fail_compaction: bool = False  # emr_compaction: the first s3-dist-cp step fails
    calibrate: tuple[float, ...] = ()  # changes/s: objects and COPYs per hour at each rate (calibration.py)
    wait_for: Path | None = None  # write no change before this file exists; then write <file>.done after them


def _log(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def aws_environment(endpoint: str) -> dict[str, str]:
    """What a process needs to talk to the emulator: the standard AWS variables only."""
    return {
        **DUMMY_CREDENTIALS,
        "AWS_CA_BUNDLE": os.environ["AWS_CA_BUNDLE"],
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


@contextlib.contextmanager
def _environment_variable(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def client(service: str, endpoint: str) -> Any:
    """A boto3 client for the emulator, with its dummy keys (never the caller's real ones)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        **client_credentials(),
    )


class Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        _log(f"{name} ...")
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - started, 2)
            _log(f"{name} done in {self.seconds[name]:.1f} s")


def _python_env(endpoint: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(aws_environment(endpoint))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "lambda_src"), str(REPO)])
    return env


def run_init(endpoint: str, loader_environment: dict[str, str]) -> dict[str, Any]:
    """What an operator runs once: the CLI with the loader function's own environment."""
    env = {**_python_env(endpoint), **loader_environment}
    done = subprocess.run(
        [sys.executable, "-m", "ddb_cdc.cli", "init"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"cli init failed ({done.returncode}): {done.stderr[-2000:]}")
    return _last_json_document(done.stdout)


def _last_json_document(text: str) -> dict[str, Any]:
    """The CLI prints its JSON log lines and then its (indented) result on stdout: take the last."""
    decoder, position, last = json.JSONDecoder(), 0, None
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        last, position = decoder.raw_decode(text, position)
    if not isinstance(last, dict):
        raise RuntimeError(f"no JSON result in: {text[-500:]!r}")
    return last


def run_generator(endpoint: str, table: str, options: Options) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "ddb_cdc.generator",
        "--table",
        table,
        "--items",
        str(options.changes),
        "--profile",
        "iot",
        "--update-share",
        str(options.update_share),
        "--delete-share",
        str(options.delete_share),
        "--seed",
        str(options.seed),
        "--region",
        REGION,
    ]
    if options.backfill != "none":
        argv.append("--existing-keys")  # the race that matters: live writes to the keys being scanned
    done = subprocess.run(argv, env=_python_env(endpoint), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"generator failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _count_objects(s3: Any, bucket: str, prefix: str) -> tuple[int, int]:
    count = size = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".json.gz"):
                count += 1
                size += item["Size"]
    return count, size


def _unloaded_files(s3: Any, bucket: str, raw_prefix: str, connection: Any, spec: dict[str, Any]) -> set[str]:
    """Raw change files that are not (yet) in the target's ledger."""
    from ddb_cdc.warehouse.identifiers import quote

    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=raw_prefix):
        keys.update(item["Key"] for item in page.get("Contents", []))
    if not keys:
        return keys
    ledger = f"{quote(spec['schema'])}.{quote(spec.get('ledger_table', 'cdc_ledger'))}"
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "file_key" FROM {ledger} WHERE "target_table" = %s',
            (f"{spec['schema']}.{spec['table']}",),
        )
        loaded = {row[0] for row in cursor.fetchall()}
    connection.commit()
    return keys - loaded


def _tombstones(connection: Any, schema: str, table: str) -> int:
    from ddb_cdc.warehouse.identifiers import quote

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM {quote(schema)}.{quote(table)} WHERE "_cdc_deleted"')
        (count,) = cursor.fetchone()
    connection.commit()
    return int(count)


def run_demo(options: Options) -> Report:
    """One combination, start to finish. Everything started here is stopped here."""
    from tests.sandbox.lambda_runtime import LocalLambdaRuntime
    from tests.sandbox.moto_server import CA_BUNDLE_NAME, running_moto
    from tests.sandbox.patches import installed_patches
    from tests.tfharness.harness import OfflineTerraform

    report = Report(options.aggregation, options.load_strategy, options.data_api_mode)
    report.faults = {name: {} for name in sorted(options.faults)}
    phases = Phases()
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        work_dir = options.work_dir or Path(tempfile.mkdtemp(prefix="cdc-demo-"))
        stack.callback(_keep_or_remove, work_dir, report)
        with phases.timed("start postgres + moto"):
            pg = stack.enter_context(running_server())
            endpoint = stack.enter_context(running_moto(tls_dir=work_dir / "tls"))
            # Every SDK client of this process and its children trusts the emulator's certificate.
            ca_bundle = str(work_dir / "tls" / CA_BUNDLE_NAME)
            stack.enter_context(_environment_variable("AWS_CA_BUNDLE", ca_bundle))
            patches = stack.enter_context(installed_patches(pg_dsn=pg.dsn(), endpoint_url=endpoint))
        report.patches = patches.describe()

        variables: dict[str, Any] = {
            "aggregation": options.aggregation,
            "load_strategy": options.load_strategy,
            "data_api_mode": options.data_api_mode,
        }
        if options.load_strategy == "emr_compaction":
            # The demo names the hours it compacts (tests/sandbox/compaction_run.py).
            variables["compaction_schedule_enabled"] = False
            # With the compaction paused the loader's schedule would load every raw file itself; a day apart, it
            # leaves the demo's runs to prove what they load (their raw fallback included).
            variables["compaction_reconcile_rate_minutes"] = 1440
        backfilling = options.backfill != "none"
        if backfilling:
            # A table that held items before the pipeline: created and seeded here, adopted by the module.
            variables.update(backfill_mode=options.backfill, adopt_table=True)
            if options.interrupt_backfill:
                # Many small pages, read slowly, so that the cancel lands in the middle of a segment.
                variables.update(backfill_page_size=30, backfill_read_units_per_second=1)
            table_name = f"{DEMO_NAME}-readings"
            dynamodb_admin = client("dynamodb", endpoint)
            with phases.timed("seed table"):
                report.backfill = {
                    "seeded": seed_table(
                        dynamodb_admin,
                        table_name,
                        options.seed_items,
                        pitr=options.backfill == "export",
                        write=lambda n: run_generator(
                            endpoint,
                            table_name,
                            replace(
                                options,
                                changes=n,
                                update_share=0.0,
                                delete_share=0.0,
                                seed=options.seed + 1000,
                            ),
                        ),
                    )
                }
            # Runs after terraform destroy (callbacks unwind in reverse): the module never owned it.
            stack.callback(dynamodb_admin.delete_table, TableName=table_name)
        terraform = LocalStack(
            endpoint=endpoint,
            variables=variables,
            ca_bundle=Path(ca_bundle),
            log_path=work_dir / "terraform.log",
            # Its scratch copy of the repository lives in the run's folder and goes with it.
            toolchain=OfflineTerraform.create(home=work_dir / "terraform"),
        )
        # Destroyed even when a later step fails, before moto and PostgreSQL stop.
        stack.callback(phases_destroy, phases, terraform, report)
        with phases.timed("terraform apply"):
            outputs = terraform.apply()

        lambda_client = client("lambda", endpoint)
        loader_env = lambda_client.get_function_configuration(FunctionName=outputs["loader_function_name"])[
            "Environment"
        ]["Variables"]
        spec = json.loads(loader_env["CDC_TARGET_SPEC"])
        # Before anything can produce events: the runtime owns Lambda invoke and EventBridge's Lambda targets.
        runtime = LocalLambdaRuntime(
            endpoint,
            region=REGION,
            clock_factor=options.clock_factor,
            work_dir=work_dir / "lambda",
            log_dir=work_dir / "logs",
        )
        stack.enter_context(runtime)
        with phases.timed("cli init"):
            run_init(endpoint, loader_env)
        hosts: LoaderHosts | None = None
        if outputs.get("ec2_cron_autoscaling_group_name"):
            with phases.timed("start ec2 hosts"):
                hosts = stack.enter_context(_loader_hosts(endpoint, outputs, options, runtime, work_dir))
                report.ec2_hosts = _check_host_configuration(hosts, outputs, loader_env)

        dynamodb = client("dynamodb", endpoint)
        s3 = client("s3", endpoint)
        injector = FaultInjector(
            options.faults,
            clock_factor=options.clock_factor,
            runtime=runtime,
            data_api=patches.data_api,
            outputs=outputs,
        )
        report.patches += injector.install(stack)
        if options.wait_for is not None:
            with phases.timed("wait for the machine"):
                _wait_for_file(options.wait_for, WAIT_FOR_TIMEOUT_S)
        with phases.timed("generate changes"):
            if options.calibrate:
                report.calibration, report.changes = _calibrate(
                    endpoint, outputs, options, runtime, patches, s3, terraform.workdir
                )
            elif backfilling:
                report.changes = _generate_during_backfill(endpoint, outputs, options, runtime, s3, report)
            elif not options.faults:
                report.changes = run_generator(endpoint, outputs["table_name"], options)
            else:
                report.changes = _generate_with_faults(
                    endpoint, outputs["table_name"], options, injector, dynamodb
                )
        if options.wait_for is not None:
            done_marker(options.wait_for).touch()
        connection = stack.enter_context(contextlib.closing(pg.connect()))
        if outputs.get("compaction_state_machine_arn"):
            with phases.timed("compaction runs"):
                report.compaction = _run_compactions(
                    endpoint,
                    outputs,
                    loader_env.get("CDC_PREFIX", ""),
                    options,
                    runtime,
                    patches,
                    s3,
                    unloaded=lambda prefix: len(
                        _unloaded_files(s3, outputs["bucket_name"], prefix, connection, spec)
                    ),
                )
                for name, value in report.compaction["late_changes"].items():
                    if not isinstance(value, bool):
                        report.changes[name] = report.changes.get(name, 0) + value
        last_write = time.monotonic()

        view = f"{spec['table']}_current"
        with phases.timed("settle"):
            expected = verify.scan_table(dynamodb, outputs["table_name"])
            comparison = verify.compare(expected, verify.read_view(connection, spec["schema"], view))
            deadline = time.monotonic() + options.settle_timeout
            while comparison.mismatches and time.monotonic() < deadline:
                time.sleep(0.25)
                comparison = verify.compare(expected, verify.read_view(connection, spec["schema"], view))
            if not comparison.mismatches:
                report.freshness_seconds = round(time.monotonic() - last_write, 2)

            # Then wait until no work is left, and check again. "No work" is measured by what is
            # still to do, never by activity: a schedule that fires every few (sandbox) seconds keeps
            # the loader busy with no-op runs, and on a slow machine such a run never ends before
            # the next one starts. Left to do: stream records not yet read, messages in a source
            # queue, records in a Firehose buffer, raw files not in the ledger.
            def no_work_left() -> bool:
                return (
                    runtime.sources_idle()
                    and patches.firehose.idle()
                    and not _unloaded_files(
                        s3, outputs["bucket_name"], outputs["raw_prefix"], connection, spec
                    )
                )

            report.drained = wait_stable(no_work_left, options.settle_timeout, settle_s=1.0, poll_s=0.5)
            if not report.drained:
                _log("work still left at the deadline (stream, queue, Firehose buffer or unloaded files)")
            comparison = verify.compare(
                verify.scan_table(dynamodb, outputs["table_name"]),
                verify.read_view(connection, spec["schema"], view),
            )

        report.table_items, report.view_rows = comparison.table_items, comparison.view_rows
        report.mismatches = comparison.mismatches
        report.mismatch_sample = comparison.sample()
        report.tombstones = _tombstones(connection, spec["schema"], spec["table"])
        report.s3_objects, report.s3_bytes = _count_objects(s3, outputs["bucket_name"], outputs["raw_prefix"])
        if hosts is not None:
            hosts.stop()  # a run in progress finishes first: its outcome is counted, not cut off
            report.ec2_hosts.update(hosts.stats())
        report.runtime = runtime.stats()
        report.data_api = patches.data_api.stats()
        report.firehose = patches.firehose.stats() if options.aggregation == "firehose" else None
        stream_mapping = next(
            (m for m in report.runtime.get("mappings", []) if ":dynamodb:" in str(m.get("source_arn"))), {}
        )
        report.stream_batches = int(stream_mapping.get("batches", 0))
        report.max_records_per_batch = int(stream_mapping.get("max_batch", 0))
        report.configured_batch_size = stream_mapping.get("batch_size")
        report.copy_statements = int(report.data_api.get("copy_statements_committed", 0))
        report.rows_copied = int(report.data_api.get("rows_copied", 0))
        report.rows_merged = int(report.data_api.get("rows_merged", 0))
        report.loads_failed = int(report.data_api.get("batches_failed", 0))
        report.deployed = {"outputs": outputs, "loader_environment": sorted(loader_env)}
        if options.faults:
            report.faults = injector.summary()
        # What a person would have to look at: quarantined records and files, the writer's DLQ.
        report.quarantined = list_keys(s3, outputs["bucket_name"], outputs["quarantine_prefix"])
        report.writer_dlq_messages = queue_depth(client("sqs", endpoint), outputs.get("dlq_url"))
        report.stream_batches_discarded = int(stream_mapping.get("on_failure_sent", 0))
        # Before destroy: the deployed dashboard against the metrics and resources this run really had.
        report.dashboard = check_dashboard(endpoint, outputs["dashboard_name"])
    report.phases = phases.seconds
    report.wall_seconds = round(time.monotonic() - started, 2)
    return report


# The loader publishes these only when a load fails (ddb_cdc.loader.service); a clean run has none to list, a --faults
# run does. Any other graphed metric of the loader's namespace must have been published during the run.
LOAD_FAILURE_METRICS: Final = frozenset({"LoadFailures", "TransientLoadFailures"})


def check_dashboard(endpoint: str, name: str) -> dict[str, Any]:
    """The deployed dashboard (create_dashboard's default) validated against the sandbox.

    The loader publishes its metrics with PutMetricData, which moto stores and ListMetrics returns: every graph of a
    custom namespace must name a metric published during this run with exactly its dimensions (failure-only metrics
    excepted, see LOAD_FAILURE_METRICS). moto publishes no AWS/* metrics, so those are checked by their dimension
    value: it must name a resource deployed here (function, queue, delivery stream, group, state machine).
    """
    cloudwatch = client("cloudwatch", endpoint)
    entries = cloudwatch.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]
    if [entry["DashboardName"] for entry in entries] != [name]:
        return {
            "dashboards": [entry["DashboardName"] for entry in entries],
            "widgets": 0,
            "unknown_metrics": ["no dashboard"],
        }
    body = json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    rows = [row for widget in body["widgets"] for row in widget["properties"]["metrics"]]

    def deployed(dimension: str) -> set[str]:
        if dimension == "FunctionName":
            pages = client("lambda", endpoint).get_paginator("list_functions").paginate()
            return {f["FunctionName"] for page in pages for f in page["Functions"]}
        if dimension == "QueueName":
            return {
                url.rsplit("/", 1)[-1] for url in client("sqs", endpoint).list_queues().get("QueueUrls", [])
            }
        if dimension == "DeliveryStreamName":
            return set(client("firehose", endpoint).list_delivery_streams()["DeliveryStreamNames"])
        if dimension == "AutoScalingGroupName":
            groups = client("autoscaling", endpoint).describe_auto_scaling_groups()["AutoScalingGroups"]
            return {g["AutoScalingGroupName"] for g in groups}
        if dimension == "StateMachineArn":
            return {
                m["stateMachineArn"]
                for m in client("stepfunctions", endpoint).list_state_machines()["stateMachines"]
            }
        return set()

    published: dict[str, set[tuple[str, tuple[tuple[str, str], ...]]]] = {}
    resources: dict[str, set[str]] = {}
    unknown_metrics: list[str] = []
    not_published: list[str] = []
    for row in rows:
        namespace, metric = row[0], row[1]
        pairs = [item for item in row[2:] if isinstance(item, str)]
        dimensions = tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True)))
        shown = f"{namespace} {metric} " + " ".join(f"{k}={v}" for k, v in dimensions)
        if namespace.startswith("AWS/"):
            for dimension, value in dimensions:
                if dimension not in resources:
                    resources[dimension] = deployed(dimension)
                if value not in resources[dimension]:
                    unknown_metrics.append(f"{shown} (no such resource here)")
            continue
        if namespace not in published:
            pages = cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace)
            published[namespace] = {
                (m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
                for page in pages
                for m in page["Metrics"]
            }
        if (metric, dimensions) in published[namespace]:
            continue
        if metric in LOAD_FAILURE_METRICS and metric not in {name for name, _ in published[namespace]}:
            not_published.append(shown)
        else:
            unknown_metrics.append(f"{shown} (never published here)")
    return {
        "name": name,
        "widgets": len(body["widgets"]),
        "metrics": len(rows),
        "regions": sorted({widget["properties"].get("region") for widget in body["widgets"]}),
        "published": sorted(f"{ns} {metric}" for ns, metrics in published.items() for metric, _ in metrics),
        "not_published_in_run": not_published,
        "unknown_metrics": unknown_metrics,
    }


def _loader_hosts(
    endpoint: str, outputs: dict[str, Any], options: Options, runtime: Any, work_dir: Path
) -> contextlib.AbstractContextManager[LoaderHosts]:
    """The ec2_cron group's instance (and ``--ec2-hosts`` - 1 overlapping ones), on the runtime's sandbox clock."""
    return running_hosts(
        group_name=outputs["ec2_cron_autoscaling_group_name"],
        count=options.ec2_hosts,
        session=boto3.Session(region_name=REGION, **client_credentials()),
        endpoint_url=endpoint,
        emulator_environment=aws_environment(endpoint),
        clock=runtime.sandbox_time,
        work_dir=work_dir / "ec2",
        log_dir=work_dir / "logs",
    )


# Set by Lambda itself on a function (so absent from its configured environment), written into loader.env for the host.
_HOST_ONLY_VARIABLES: Final = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION"})


def _check_host_configuration(
    hosts: LoaderHosts, outputs: dict[str, Any], loader_env: dict[str, str]
) -> dict[str, Any]:
    """The host runs with the loader function's environment and logs where the module's log group is."""
    host_env = hosts.plan.loader_environment
    differing = sorted(
        name
        for name in (set(host_env) | set(loader_env)) - _HOST_ONLY_VARIABLES
        if host_env.get(name) != loader_env.get(name)
    )
    expected_group = outputs.get("ec2_cron_log_group_name")
    if expected_group and hosts.plan.log_group != expected_group:
        raise RuntimeError(
            f"the CloudWatch agent sends the loader's log to {hosts.plan.log_group}, not the module's {expected_group}"
        )
    return {"environment_differs_from_loader_function": differing}


def _run_compactions(
    endpoint: str,
    outputs: dict[str, Any],
    prefix: str,
    options: Options,
    runtime: Any,
    patches: Any,
    s3: Any,
    *,
    unloaded: Any,
) -> dict[str, Any]:
    """Every hour with raw files compacted by the deployed machine, then late changes and the next hour's run
    (see tests/sandbox/compaction_run.py)."""
    from tests.sandbox.patches import emr as emr_patch

    def landed() -> bool:  # every change the generator wrote is in a raw file
        return runtime.sources_idle() and patches.firehose.idle()

    runs = CompactionRuns(
        client("stepfunctions", endpoint),
        client("emr", endpoint),
        s3,
        outputs["compaction_state_machine_arn"],
        outputs["bucket_name"],
        prefix,
        outputs["table_name"],
        unloaded=unloaded,
    )
    if not wait_stable(landed, options.settle_timeout, settle_s=1.0, poll_s=0.25):
        raise RuntimeError("the stream and Firehose never went idle before compaction")
    if options.fail_compaction:
        emr_patch.fail_next_steps(1)
    hours = runs.raw_hours()
    for hour_ms in hours:
        runs.run(hour_ms, options.settle_timeout)
    # Late changes: their files land in an hour that was already compacted (the current one).
    late = run_generator(
        endpoint,
        outputs["table_name"],
        replace(options, changes=max(10, options.changes // 50), seed=options.seed + 2000),
    )
    if not wait_stable(landed, options.settle_timeout, settle_s=1.0, poll_s=0.25):
        raise RuntimeError("the stream and Firehose never went idle after the late changes")
    runs.run(max(runs.raw_hours()) + HOUR_MS, options.settle_timeout, whole_table=True)
    summary = runs.summary()
    summary["late_changes"] = {name: value for name, value in late.items() if isinstance(value, int)}
    return summary


def done_marker(wait_for: Path) -> Path:
    """Where a run started with ``--wait-for FILE`` says it has written its changes."""
    return wait_for.with_name(wait_for.name + ".done")


def _wait_for_file(path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"--wait-for: {path} did not appear within {timeout_s:.0f} s")
        time.sleep(0.5)


def _calibrate(
    endpoint: str,
    outputs: dict[str, Any],
    options: Options,
    runtime: Any,
    patches: Any,
    s3: Any,
    config_dir: Path,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """``--calibrate``: each rate for a measuring window on this one stack (tests/sandbox/calibration.py); the
    settle phase then checks the view against the table as for any run."""
    streams = client("dynamodbstreams", endpoint)
    stream_arn = client("dynamodb", endpoint).describe_table(TableName=outputs["table_name"])["Table"][
        "LatestStreamArn"
    ]
    shards = len(streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"])
    return calibration.run(
        rates=options.calibrate,
        aggregation=options.aggregation,
        load=options.load_strategy,
        config_dir=config_dir,
        env=_python_env(endpoint),
        table=outputs["table_name"],
        bucket=outputs["bucket_name"],
        raw_prefix=outputs["raw_prefix"],
        s3=s3,
        runtime=runtime,
        statements=patches.data_api.list,
        shards=max(1, shards),
        seed=options.seed,
        update_share=options.update_share,
        delete_share=options.delete_share,
        idle_timeout=options.settle_timeout,
        log=_log,
    )


def _generate_during_backfill(
    endpoint: str, outputs: dict[str, Any], options: Options, runtime: Any, s3: Any, report: Report
) -> dict[str, Any]:
    """The operator starts the backfill; the generator updates and deletes seeded keys while it scans."""
    backfill = Backfill(
        function_name=outputs["backfill_function_name"],
        env=_python_env(endpoint),
        s3=s3,
        bucket=outputs["bucket_name"],
        raw_prefix=outputs["raw_prefix"],
    )
    backfill.start()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        changes = pool.submit(run_generator, endpoint, outputs["table_name"], options)
        if options.interrupt_backfill:
            function = outputs["backfill_function_name"]
            backfill.interrupt_and_resume(
                options.settle_timeout,
                quiet=lambda: runtime.in_flight(function) == 0,
                kill=(lambda: runtime.kill_worker(function))
                if options.backfill == "step_functions"
                else None,
            )
        summary = changes.result()
    status = backfill.finish(options.settle_timeout * 4)
    report.backfill.update(backfill.figures)
    if status.get("state") != "DONE":
        raise RuntimeError(f"the backfill ended {status.get('state')}: {json.dumps(status)[:2000]}")
    return summary


def _generate_with_faults(
    endpoint: str, table: str, options: Options, injector: FaultInjector, dynamodb: Any
) -> dict[str, int]:
    """Half the changes; the outage armed once they began to load; the odd values and the other
    half (another seed: new keys) written into it. Returns the generators' summaries added up."""
    first = options.changes // 2
    summaries = [run_generator(endpoint, table, replace(options, changes=first))] if first else []
    injector.arm_outage(first_load_timeout=options.settle_timeout)
    injector.write_odd_values(dynamodb, table)  # their load is the one the outage interrupts
    injector.wait_outage_begun(timeout=60.0)
    summaries.append(
        run_generator(
            endpoint, table, replace(options, changes=options.changes - first, seed=options.seed + 1)
        )
    )
    totals: dict[str, int] = {}
    for summary in summaries:
        for name, value in summary.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[name] = totals.get(name, 0) + value
    return totals


def _keep_or_remove(work_dir: Path, report: Report) -> None:
    """Logs (Terraform, each function, the provider) stay for a run that failed or did not finish."""
    if report.ok:
        shutil.rmtree(work_dir, ignore_errors=True)
    else:
        _log(f"logs kept in {work_dir} (terraform.log, logs/<function>.log)")


def phases_destroy(phases: Phases, terraform: Any, report: Report) -> None:
    with phases.timed("terraform destroy"):
        terraform.destroy()
    report.resources_left_after_destroy = terraform.state_resources()


def parse_args(argv: Sequence[str] | None = None) -> tuple[list[Options], Path | None]:
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--aggregation", default="lambda", help=f"{' | '.join(AGGREGATIONS)} | all")
    parser.add_argument("--load", default="s3_event", help=f"{' | '.join(LOAD_STRATEGIES)} | all")
    parser.add_argument("--data-api-mode", default="async", help=" | ".join(DATA_API_MODES))
    parser.add_argument("--changes", type=int, default=10_000, help="changes the generator writes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clock-factor", type=float, default=30.0, help="schedules run this much faster")
    parser.add_argument("--settle-timeout", type=float, default=120.0, help="seconds to wait for the view")
    parser.add_argument("--report-json", type=Path, help="also write the report(s) here as JSON")
    parser.add_argument("--backfill", default="none", help=" | ".join(BACKFILL_MODES))
    parser.add_argument(
        "--seed-items", type=int, default=20_000, help="items in the table before apply (backfill)"
    )
    parser.add_argument(
        "--interrupt-backfill", action="store_true", help="cancel the backfill mid-scan, then resume it"
    )
    parser.add_argument(
        "--ec2-hosts",
        type=int,
        default=1,
        help="LOAD=ec2_cron: loader hosts running the group's user data at once (2 = an instance refresh's overlap)",
    )
    parser.add_argument(
        "--faults",
        default="",
        help=f"inject faults mid-run, comma-separated: {', '.join(FAULTS)} | all (see tests/sandbox/faults.py)",
    )
    parser.add_argument(
        "--calibrate",
        default="",
        metavar="RATE[,RATE...]",
        help="LOAD=s3_event: instead of --changes, write at each rate (changes/s) for a measuring window and report "
        "objects and COPYs per hour beside the planner's prediction (see tests/sandbox/calibration.py)",
    )
    parser.add_argument(
        "--fail-compaction",
        action="store_true",
        help="LOAD=emr_compaction: the first s3-dist-cp step fails (its cluster must still be terminated)",
    )
    parser.add_argument(
        "--wait-for",
        type=Path,
        metavar="FILE",
        help="after apply, write no change until FILE exists, then write FILE.done once the changes are written "
        "(make test applies the calibration stacks beside other demos and measures one at a time)",
    )
    args = parser.parse_args(argv)

    def pick(name: str, value: str, allowed: tuple[str, ...], all_ok: bool = True) -> tuple[str, ...]:
        if all_ok and value == "all":
            return allowed
        if value not in allowed:
            parser.error(
                f"unknown {name} {value!r}: choose one of {', '.join(allowed)}" + (", all" if all_ok else "")
            )
        return (value,)

    aggregations = pick("AGGREGATION", args.aggregation, AGGREGATIONS)
    loads = pick("LOAD", args.load, LOAD_STRATEGIES)
    (mode,) = pick("DATA_API_MODE", args.data_api_mode, DATA_API_MODES, all_ok=False)
    if args.changes < 1:
        parser.error("--changes must be at least 1")
    (backfill,) = pick("BACKFILL", args.backfill, BACKFILL_MODES, all_ok=False)
    if args.ec2_hosts < 1:
        parser.error("--ec2-hosts must be at least 1")
    if args.ec2_hosts != 1 and "ec2_cron" not in loads:
        parser.error("--ec2-hosts needs LOAD=ec2_cron (or all): only that strategy runs loader hosts")
    if args.fail_compaction and "emr_compaction" not in loads:
        parser.error("--fail-compaction needs LOAD=emr_compaction (or all)")
    if args.seed_items < 0:
        parser.error("--seed-items must be at least 0")
    if args.interrupt_backfill and backfill not in ("step_functions", "checkpoint_table"):
        parser.error("--interrupt-backfill needs BACKFILL=step_functions or checkpoint_table")
    try:
        faults = parse_faults(args.faults)
    except ValueError as exc:
        parser.error(str(exc))
    rates: tuple[float, ...] = ()
    if args.calibrate:
        try:
            rates = calibration.parse_rates(args.calibrate)
        except ValueError as exc:
            parser.error(str(exc))
        if set(loads) - set(calibration.SUPPORTED_LOADS):
            parser.error(
                f"--calibrate needs LOAD={' or '.join(calibration.SUPPORTED_LOADS)}: its counts and windows share "
                "one time base (see tests/sandbox/calibration.py)"
            )
        if faults or backfill != "none":
            parser.error(
                "--calibrate runs without --faults and --backfill: they would change what it measures"
            )
    runs = [
        Options(
            aggregation=aggregation,
            load_strategy=load,
            data_api_mode=mode,
            changes=args.changes,
            seed=args.seed,
            clock_factor=args.clock_factor,
            settle_timeout=args.settle_timeout,
            faults=faults,
            backfill=backfill,
            seed_items=args.seed_items,
            interrupt_backfill=args.interrupt_backfill,
            ec2_hosts=args.ec2_hosts,
            fail_compaction=args.fail_compaction and load == "emr_compaction",
            calibrate=rates,
            wait_for=args.wait_for,
        )
        for aggregation in aggregations
        for load in loads
    ]
    if args.wait_for is not None and len(runs) > 1:
        parser.error("--wait-for holds one run: choose one AGGREGATION and one LOAD")
    return runs, args.report_json


def _terminated(signum: int, _frame: Any) -> None:
    # SIGTERM (a CI cancel, a test timeout) unwinds like Ctrl-C: destroy, stop moto, PostgreSQL, workers.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    runs, report_json = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    reports, failures = [], 0
    for options in runs:
        try:
            report = run_demo(options)
        except Exception as exc:  # one broken combination must not hide the others' results
            failures += 1
            _log(f"{options.aggregation}/{options.load_strategy} failed: {exc!r}")
            continue
        print(report.as_text(), flush=True)
        reports.append(report)
    if report_json:
        report_json.write_text("[" + ",\n".join(report.as_json() for report in reports) + "]\n")
    return 0 if not failures and all(report.ok for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
