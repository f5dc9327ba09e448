"""``make verify-aws``: apply examples/complete to a real AWS account, prove it, destroy it, in one command.

``python -m tests.aws.verify_aws --account-id 123456789012 --region eu-west-1 [--profile p] [--yes]``

1. refuse (exit 2) without an explicit region and account id, or when the credentials belong to another account;
   ask for a typed "yes" unless ``--yes``;
2. ``terraform apply`` of examples/complete at its smallest, with ``warehouse.create = true`` (Redshift Serverless at
   the minimum base capacity), a throwaway table (``table.create``) and a bucket with a unique name;
3. on Redshift, the database users the Data API maps IAM identities to, with the grants the loader needs;
4. ``python -m ddb_cdc.cli init`` with the loader function's deployed environment, then the generator;
5. wait (on conditions, up to a deadline) until a full scan of the table equals ``<table>_current`` read through
   the Redshift Data API, and until the load queue stays empty;
6. the report of ``make demo`` plus an estimated cost, then ``terraform destroy`` (also after a failure or Ctrl-C)
   and a check that ``terraform state list`` is empty.

``--sandbox`` runs exactly this against the local sandbox instead (what ``make test`` does).
Exit status: 0 proven and destroyed, 1 not proven or not destroyed, 2 refused or bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tests.aws import cost
from tests.aws.environments import SANDBOX_REGION, Environment, RealAws, Sandbox
from tests.aws.stack import ExampleStack
from tests.sandbox import verify
from tests.sandbox.demo import Phases, _count_objects, _last_json_document
from tests.sandbox.report import Report

_ACCOUNT_ID: Final = re.compile(r"^[0-9]{12}$")
_REGION: Final = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
WRITER_MEMORY_MB: Final = 256
SCHEMA: Final = "cdc"
TABLE: Final = "readings"
# What only the sandbox can count: its Lambda runtime and Data API emulator see every invocation and statement.
_UNMEASURED_ON_AWS: Final = ["stream batches", "COPY statements", "rows staged/merged"]


class Refused(Exception):
    """The run must not start (exit 2): the message says why and what to pass."""


@dataclass(frozen=True, slots=True)
class Options:
    region: str
    account_id: str
    profile: str | None = None
    assume_yes: bool = False
    sandbox: bool = False
    changes: int = 2000
    seed: int = 7
    base_capacity: int = 4
    settle_timeout: float | None = None  # None: the environment's default
    keep_work_dir: bool = False
    report_json: Path | None = None


def _log(message: str) -> None:
    print(f"[verify-aws {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Arguments, refusal, confirmation
# ---------------------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> Options:
    """Options from flags and the standard AWS variables; raises :class:`Refused` without account and region."""
    environ = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(
        prog="python -m tests.aws.verify_aws", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--account-id", help="the 12-digit account to deploy into (must match the credentials)"
    )
    parser.add_argument("--region", help="the region to deploy into (default: AWS_REGION)")
    parser.add_argument(
        "--profile", help="AWS profile (default: AWS_PROFILE, else the standard credential chain)"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--changes", type=int, default=2000, help="changes the generator writes (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--base-capacity", type=int, default=4, help="Redshift Serverless base RPUs (default 4)"
    )
    parser.add_argument(
        "--settle-timeout", type=float, help="seconds to wait for the view to equal the table"
    )
    parser.add_argument(
        "--keep-work-dir", action="store_true", help="keep Terraform's scratch folder and logs"
    )
    parser.add_argument("--report-json", type=Path, help="also write the report here as JSON")
    parser.add_argument("--sandbox", action="store_true", help="run against the local sandbox, not AWS")
    args = parser.parse_args(argv)
    if args.changes < 1:
        parser.error("--changes must be at least 1")
    region = args.region or environ.get("AWS_REGION")
    missing = [
        text
        for text, value in (("--region (or AWS_REGION)", region), ("--account-id", args.account_id))
        if not value
    ]
    if missing:
        raise Refused(
            f"refusing to run without {' and '.join(missing)}: name the account and region to deploy into "
            "explicitly, e.g. make verify-aws ARGS='--account-id 123456789012 --region eu-west-1'"
        )
    if not _ACCOUNT_ID.fullmatch(args.account_id):
        raise Refused(f"--account-id {args.account_id!r} is not a 12-digit AWS account id")
    if not _REGION.fullmatch(region):
        raise Refused(f"region {region!r} is not an AWS region name such as eu-west-1")
    return Options(
        region=region,
        account_id=args.account_id,
        profile=args.profile or environ.get("AWS_PROFILE"),
        assume_yes=args.yes,
        sandbox=args.sandbox,
        changes=args.changes,
        seed=args.seed,
        base_capacity=args.base_capacity,
        settle_timeout=args.settle_timeout,
        keep_work_dir=args.keep_work_dir,
        report_json=args.report_json,
    )


def check_account(environment: Environment, expected: str) -> str:
    """The caller's ARN, after checking that the credentials belong to ``expected``."""
    identity = environment.client("sts").get_caller_identity()
    if identity["Account"] != expected:
        raise Refused(
            f"the credentials belong to account {identity['Account']}, not {expected} (--account-id): "
            "nothing was created"
        )
    return str(identity["Arn"])


def confirm(options: Options, caller_arn: str, ask: Callable[[str], str] = input) -> None:
    if options.assume_yes:
        return
    answer = ask(
        f"This creates billable resources in account {options.account_id}, region {options.region}, as "
        f"{caller_arn}: a DynamoDB table, an S3 bucket, Lambda functions, an SQS queue, IAM roles and a Redshift "
        f"Serverless workgroup at {options.base_capacity} RPUs, and destroys them at the end. Type yes to go on: "
    )
    if answer.strip() != "yes":
        raise Refused("not confirmed: nothing was created")


# ---------------------------------------------------------------------------------------------------------------
# Redshift database users (real Redshift only)
# ---------------------------------------------------------------------------------------------------------------


def database_user(principal_arn: str) -> str:
    """The database user the Data API maps an IAM identity to on Redshift Serverless: ``IAM:<user>`` for an IAM
    user, ``IAMR:<role>`` for a role (assumed-role sessions included)."""
    kind, _, path = principal_arn.split(":", 5)[5].partition("/")
    if kind == "user":
        return f"IAM:{path.rsplit('/', 1)[-1]}"
    if kind in ("assumed-role", "role"):
        return f"IAMR:{(path.split('/')[0] if kind == 'assumed-role' else path.rsplit('/', 1)[-1])}"
    raise Refused(
        f"{principal_arn} is neither an IAM user nor a role: run as an IAM user or role, not as root"
    )


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def grant_before_init(
    data_api: Any, admin_target: dict[str, str], operator: str, loader: str, database: str
) -> None:
    """As the namespace's admin: users for the operator (who runs ``cli init``) and the loader's role, created before
    their first login so they can be granted to, and the right to create the target schema."""
    verify.data_api_statement(
        data_api,
        admin_target,
        [
            f"CREATE USER {_identifier(operator)} PASSWORD DISABLE",
            f"CREATE USER {_identifier(loader)} PASSWORD DISABLE",
            f"GRANT CREATE ON DATABASE {_identifier(database)} TO {_identifier(operator)}",
        ],
    )


def grant_after_init(data_api: Any, admin_target: dict[str, str], loader: str, schema: str) -> None:
    """What the module's loader_role_arn output asks for: the loader's user may load into the target schema."""
    verify.data_api_statement(
        data_api,
        admin_target,
        [
            f"GRANT ALL ON SCHEMA {_identifier(schema)} TO {_identifier(loader)}",
            f"GRANT ALL ON ALL TABLES IN SCHEMA {_identifier(schema)} TO {_identifier(loader)}",
        ],
    )


# ---------------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------------


def example_variables(options: Options, run_id: str) -> dict[str, Any]:
    """examples/complete at its smallest: a throwaway table and bucket, the warehouse it creates."""
    name = f"cdc-verify-{run_id}"
    return {
        "region": options.region,
        "name": name,
        "tags": {"purpose": "ddb-cdc make verify-aws", "verify-run": run_id},
        # The key schema of the generator's iot profile: id (S) and timestamp (N).
        "table": {
            "name": f"{name}-readings",
            "create": True,
            "hash_key": {"name": "id", "type": "S"},
            "range_key": {"name": "timestamp", "type": "N"},
            "point_in_time_recovery": False,
            "deletion_protection": False,
        },
        "stream_mapping": {"batch_size": 500, "maximum_batching_window_in_seconds": 1},
        # Unique per run and account; force_destroy empties it (every object version) on destroy.
        "bucket": {
            "name": f"{name}-{options.account_id}-{options.region}",
            "create": True,
            "prefix": "cdc",
            "force_destroy": True,
            "raw_expiration_days": 1,
            "noncurrent_version_expiration_days": 1,
        },
        "writer": {"memory_size": WRITER_MEMORY_MB, "log_retention_days": 1},
        "load_strategy": "s3_event",
        "redshift": None,
        "warehouse": {"create": True, "base_capacity": options.base_capacity, "data_api_mode": "async"},
        "target_spec": {"schema": SCHEMA, "table": TABLE, "key_column_names": {"timestamp": "ts"}},
        "loader": {
            "s3_event": {"maximum_batching_window_in_seconds": 5},
            "log_retention_days": 1,
        },
    }


def _queue_empty(sqs: Any, queue_url: str | None) -> bool:
    if not queue_url:
        return True
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(value) == 0 for value in attributes.values())


def run(environment: Environment, options: Options, caller_arn: str) -> Report:
    """Apply, prove, report and destroy. Everything created here is destroyed here, whatever happens."""
    from tests.sandbox.lambda_runtime import wait_stable

    run_id = secrets.token_hex(3)
    report = Report("lambda", "s3_event", "async", environment=environment.name)
    if environment.name == "aws":
        report.unmeasured = list(_UNMEASURED_ON_AWS)
    phases = Phases()
    settle_timeout = options.settle_timeout or environment.default_settle_timeout
    started = time.monotonic()
    work_dir = Path(tempfile.mkdtemp(prefix=f"cdc-verify-{run_id}-"))
    stack = ExampleStack(environment.terraform(work_dir), example_variables(options, run_id), work_dir)
    warehouse_started: float | None = None
    warehouse_seconds = 0.0
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(_keep_or_remove, work_dir, report, options.keep_work_dir)
        cleanup.callback(_destroy, phases, stack, report)
        with phases.timed("terraform apply (warehouse)"):
            # The loader module looks the workgroup up by name while planning: it must exist first.
            stack.apply(targets=("aws_redshiftserverless_workgroup.this[0]",))
        with phases.timed("terraform apply"):
            outputs = stack.apply()

        lambda_client = environment.client("lambda")
        loader = lambda_client.get_function_configuration(FunctionName=outputs["loader_function_name"])
        loader_env = loader["Environment"]["Variables"]
        spec = json.loads(loader_env["CDC_TARGET_SPEC"])
        target = {
            "WorkgroupName": outputs["warehouse_workgroup_name"],
            "Database": outputs["warehouse_database"],
        }
        data_api = environment.client("redshift-data")
        cleanup.enter_context(environment.lambda_runtime(work_dir))

        warehouse_started = time.monotonic()
        if environment.database_users:
            admin = {**target, "SecretArn": outputs["warehouse_admin_secret_arn"]}
            loader_user = database_user(loader["Role"])
            with phases.timed("database users"):
                grant_before_init(data_api, admin, database_user(caller_arn), loader_user, target["Database"])
        with phases.timed("cli init"):
            run_init_in(environment, loader_env)
        if environment.database_users:
            grant_after_init(data_api, admin, loader_user, spec["schema"])

        with phases.timed("generate changes"):
            report.changes = run_generator_in(environment, outputs["table_name"], options)
        last_write = time.monotonic()

        dynamodb = environment.client("dynamodb")
        sqs = environment.client("sqs")
        view = f"{spec['table']}_current"
        scans = 0

        def comparison() -> verify.Comparison:
            nonlocal scans
            scans += 1
            return verify.compare(
                verify.scan_table(dynamodb, outputs["table_name"]),
                verify.read_view_data_api(data_api, target, spec["schema"], view),
            )

        with phases.timed("settle"):
            result = comparison()
            deadline = time.monotonic() + settle_timeout
            while result.mismatches and time.monotonic() < deadline:
                time.sleep(1.0)
                result = comparison()
            if not result.mismatches:
                report.freshness_seconds = round(time.monotonic() - last_write, 2)
            # Then every component drains (late duplicates, completion events) and the proof is taken again.
            report.drained = wait_stable(
                lambda: environment.idle() and _queue_empty(sqs, outputs.get("load_queue_url")),
                settle_timeout,
                settle_s=5.0 if environment.name == "aws" else 1.0,
                poll_s=1.0 if environment.name == "aws" else 0.1,
            )
            if not report.drained:
                _log("the load queue or the runtime was still busy at the deadline")
            result = comparison()
        report.table_items, report.view_rows = result.table_items, result.view_rows
        report.mismatches, report.mismatch_sample = result.mismatches, result.sample()
        tombstones = verify.data_api_rows(
            data_api,
            target,
            f'SELECT COUNT(*) FROM "{spec["schema"]}"."{spec["table"]}" WHERE "_cdc_deleted"',
        )
        warehouse_seconds = time.monotonic() - warehouse_started
        report.tombstones = int(tombstones[0][0])
        report.s3_objects, report.s3_bytes = _count_objects(
            environment.client("s3"), outputs["bucket_name"], outputs["raw_prefix"]
        )
        _sandbox_counters(report, environment.stats())
        report.deployed = {"outputs": outputs, "loader_environment": sorted(loader_env)}
        report.cost = cost.estimate(
            cost.Usage(
                base_capacity_rpu=options.base_capacity,
                warehouse_active_seconds=warehouse_seconds,
                writes=options.changes,
                scanned_items=scans * max(result.table_items, 1),
                lambda_invocations=options.changes,
                lambda_memory_mb=WRITER_MEMORY_MB,
                lambda_seconds_per_invocation=1.0,
                s3_objects=report.s3_objects,
                wall_seconds=time.monotonic() - started,
            ),
            environment.prices,
        ).as_dict()
    report.phases = phases.seconds
    report.wall_seconds = round(time.monotonic() - started, 2)
    return report


def run_init_in(environment: Environment, loader_env: dict[str, str]) -> dict[str, Any]:
    """What an operator runs once: the CLI with the loader function's own environment."""
    done = subprocess.run(
        [sys.executable, "-m", "ddb_cdc.cli", "init"],
        env={**environment.process_env(), **loader_env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cli init failed ({done.returncode}): {done.stderr[-2000:]}")
    return _last_json_document(done.stdout)


def run_generator_in(environment: Environment, table: str, options: Options) -> dict[str, Any]:
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
        # Updates and deletes as in make demo: merges and tombstones are part of the proof.
        "--update-share",
        "0.2",
        "--delete-share",
        "0.1",
        "--seed",
        str(options.seed),
        "--region",
        options.region,
    ]
    done = subprocess.run(argv, env=environment.process_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"generator failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sandbox_counters(report: Report, stats: dict[str, Any]) -> None:
    runtime, data_api = stats.get("runtime") or {}, stats.get("data_api") or {}
    report.runtime, report.data_api = runtime, data_api
    mapping = next((m for m in runtime.get("mappings", []) if ":dynamodb:" in str(m.get("source_arn"))), {})
    report.stream_batches = int(mapping.get("batches", 0))
    report.max_records_per_batch = int(mapping.get("max_batch", 0))
    report.configured_batch_size = mapping.get("batch_size")
    report.copy_statements = int(data_api.get("copy_statements_committed", 0))
    report.rows_copied = int(data_api.get("rows_copied", 0))
    report.rows_merged = int(data_api.get("rows_merged", 0))
    report.loads_failed = int(data_api.get("batches_failed", 0))


def _destroy(phases: Phases, stack: ExampleStack, report: Report) -> None:
    try:
        with phases.timed("terraform destroy"):
            stack.destroy()
    finally:
        report.resources_left_after_destroy = stack.state_resources()
        if report.resources_left_after_destroy:
            _log(f"NOT DESTROYED: {report.resources_left_after_destroy}; state in {stack.workdir}")


def _keep_or_remove(work_dir: Path, report: Report, keep: bool) -> None:
    """The scratch folder holds the state: it goes only when the run passed and nothing is left."""
    if report.ok and not keep:
        shutil.rmtree(work_dir, ignore_errors=True)
    else:
        _log(f"kept {work_dir} (terraform.log, the state, logs/)")


def _terminated(signum: int, _frame: Any) -> None:
    # SIGTERM unwinds like Ctrl-C: the ExitStack destroys what was applied.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = parse_args(argv)
    except Refused as refused:
        print(f"verify-aws: {refused}", file=sys.stderr)
        return 2
    if options.sandbox and options.region != SANDBOX_REGION:
        print(f"verify-aws: the sandbox runs in {SANDBOX_REGION} only", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminated)
    with contextlib.ExitStack() as stack:
        if options.sandbox:
            sandbox_dir = Path(tempfile.mkdtemp(prefix="cdc-verify-sandbox-"))
            stack.callback(shutil.rmtree, sandbox_dir, True)
            environment: Environment = stack.enter_context(Sandbox(sandbox_dir, region=options.region))
        else:
            environment = RealAws(options.region, options.profile)
        try:
            caller_arn = check_account(environment, options.account_id)
            confirm(options, caller_arn)
        except Refused as refused:
            print(f"verify-aws: {refused}", file=sys.stderr)
            return 2
        try:
            report = run(environment, options, caller_arn)
        except Exception as exc:
            _log(f"failed: {exc!r}")
            return 1
    print(report.as_text(), flush=True)
    if options.report_json:
        options.report_json.write_text(report.as_json() + "\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
