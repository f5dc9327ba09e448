"""The operator CLI: ``ddb-cdc {init,load,reconcile,replay,status,quarantine,release,backfill}``
(the console script; ``python -m ddb_cdc.cli`` is the same).

Reads the same ``CDC_*`` environment as the loader Lambda (flags override a few), so
the ``ec2_cron`` strategy and an operator at a terminal run exactly the Lambda's code.
``--from-lambda FUNCTION`` takes that environment from the deployed loader function instead
(``lambda:GetFunctionConfiguration``; the module output ``loader_function_name``), so
``ddb-cdc --from-lambda <name>-loader status`` needs nothing copied by hand.
Prints one JSON document on stdout; logs go to stdout as JSON lines too, so redirect
or filter as needed. Exit status: 0 done, 1 a load failed, 2 bad usage or configuration,
3 ``status`` found the lag over its threshold (so cron or CI can run it as a check).

``backfill start|status|resume|cancel`` reads the backfill function's ``CDC_*`` environment
instead (or the deployed function's, with ``--function``) and prints a few human lines on a
terminal, JSON otherwise (``--json`` forces it).
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ddb_cdc import obs
from ddb_cdc.config import ConfigError
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import LoadFailed
from ddb_cdc.loader.runtime import build_service
from ddb_cdc.loader.service import LoaderService, LoadsFailed

EXIT_LAG_EXCEEDED = 3


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return seconds


def _hour(value: str) -> int:
    """``YYYY-MM-DDTHH`` (UTC) to epoch milliseconds."""
    try:
        return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H")) * 1000
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not YYYY-MM-DDTHH") from None


def parser() -> argparse.ArgumentParser:
    prog = "ddb-cdc" if Path(sys.argv[0]).name == "ddb-cdc" else "python -m ddb_cdc.cli"
    root = argparse.ArgumentParser(prog=prog, description="DynamoDB CDC -> Redshift loader")
    root.add_argument(
        "--from-lambda",
        metavar="FUNCTION",
        help="read the configuration from this deployed loader function (name or ARN; output "
        "loader_function_name) instead of CDC_* variables; with backfill, the backfill function",
    )
    root.add_argument("--table", help="override CDC_TABLE_NAME (the DynamoDB source table)")
    root.add_argument("--bucket", help="override CDC_BUCKET")
    root.add_argument("--prefix", help="override CDC_PREFIX")
    root.add_argument(
        "--mode",
        choices=("async", "poll"),
        help="override CDC_DATA_API_MODE (a terminal usually wants poll, to see the outcome)",
    )
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "init",
        help="create the schema, target, ledger, history table and view if missing (run once before loads)",
    )
    commands.add_parser("load", help="load every pending file now (what a scheduled run does)")
    commands.add_parser(
        "reconcile",
        help="retry failed files and advance the reconciliation sweep by one step (every run does this too)",
    )
    replay = commands.add_parser("replay", help="re-load an hour range regardless of the ledger (harmless)")
    replay.add_argument("--from", dest="start", type=_hour, required=True, metavar="YYYY-MM-DDTHH")
    replay.add_argument("--to", dest="end", type=_hour, required=True, metavar="YYYY-MM-DDTHH")
    status = commands.add_parser(
        "status",
        help="the on-call view: newest change loaded, lag, pending, failing and quarantined files, last load;"
        f" exits {EXIT_LAG_EXCEEDED} when the lag is over the threshold",
    )
    status.add_argument(
        "--max-lag-seconds",
        type=_positive_seconds,
        help="exit non-zero above this lag (default: the deployed lag alarm's threshold, CDC_LAG_ALARM_SECONDS)",
    )
    status.add_argument(
        "--window",
        action="store_true",
        help="list only the hours a scheduled run lists (faster on a long history; may miss late files)",
    )
    quarantine = commands.add_parser("quarantine", help="move a raw file into quarantine")
    quarantine.add_argument("key", help="the raw object key")
    release = commands.add_parser("release", help="move a file back from quarantine and reset its failures")
    release.add_argument("key", help="the raw object key it had")
    backfill = commands.add_parser(
        "backfill", help="load the items that existed before the stream (start, status, resume, cancel)"
    )
    backfill.add_argument("action", choices=("start", "status", "resume", "cancel"))
    backfill.add_argument(
        "--function",
        help="read the configuration from this deployed backfill function (output backfill_function_name)",
    )
    backfill.add_argument("--segments", type=int, help="parallel scan segments (start only; 1-1000)")
    backfill.add_argument("--scan-id", help="the scan to act on (default: the newest)")
    backfill.add_argument("--json", action="store_true", help="print JSON even on a terminal")
    backfill.add_argument(
        "--allow-filtered-stream",
        action="store_true",
        help="start even though the stream mapping has filter criteria (only if they drop nothing the warehouse needs)",
    )
    backfill.add_argument(
        "--watch",
        type=float,
        metavar="SECONDS",
        help="status only: print again every SECONDS until the scan is no longer running",
    )
    return root


class DeployedConfigError(Exception):
    """The deployed function's configuration cannot be read or is not a loader's."""


def _lambda_client(function: str) -> Any:
    import boto3  # deferred: `--help` and bad usage need no AWS clients
    from botocore.exceptions import BotoCoreError

    from ddb_cdc.adapters import CLIENT_CONFIG

    region = _arn_region(function)
    if region:
        # Every client of this run talks to the function's region, as the function itself does.
        boto3.setup_default_session(region_name=region)
    try:
        return boto3.client("lambda", config=CLIENT_CONFIG)
    except BotoCoreError as exc:  # NoRegionError above all: a bare function name and no region configured
        raise DeployedConfigError(
            f"cannot reach Lambda for {function}: {exc}; give the function's ARN or set AWS_REGION"
        ) from None


def _arn_region(function: str) -> str | None:
    parts = function.split(":")
    return parts[3] if function.startswith("arn:") and len(parts) >= 7 and parts[3] else None


def deployed_environment(function: str, client: Any, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without its ``CDC_*`` variables, plus the deployed function's environment.

    The local ``CDC_*`` variables are dropped, so a shell set up for another pipeline cannot mix into
    this one. Values are never printed: errors name the function and the variable, not what it holds.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        deployed = client.get_function_configuration(FunctionName=function)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        hint = {
            "ResourceNotFoundException": "no such function in this region (use the output loader_function_name, "
            "or its ARN for another region)",
            "AccessDeniedException": "your credentials need lambda:GetFunctionConfiguration on it",
        }.get(code, "see the AWS error code")
        raise DeployedConfigError(f"cannot read function {function}: {code}: {hint}") from None
    except BotoCoreError as exc:
        raise DeployedConfigError(f"cannot read function {function}: {type(exc).__name__}") from None
    environment = deployed.get("Environment") or {}
    if environment.get("Error"):
        # Lambda could not decrypt the environment for this caller (its KMS key).
        code = environment["Error"].get("ErrorCode", "error")
        raise DeployedConfigError(
            f"cannot read the environment of function {function}: {code} "
            "(your credentials need kms:Decrypt on the function's key)"
        )
    variables = dict(environment.get("Variables") or {})
    if "CDC_BACKFILL_MODE" in variables:
        raise DeployedConfigError(
            f"function {function} is the backfill function: use `backfill ... --function {function}` "
            "or give the loader (output loader_function_name)"
        )
    if "CDC_TARGET_SPEC" not in variables or "CDC_BUCKET" not in variables:
        raise DeployedConfigError(
            f"function {function} is not a loader function (no CDC_TARGET_SPEC or CDC_BUCKET in its "
            "environment; use the output loader_function_name)"
        )
    merged = {name: value for name, value in env.items() if not name.startswith("CDC_")}
    merged.update(variables)
    return merged


def _environment(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, str]:
    merged = dict(env)
    for flag, name in (
        ("table", "CDC_TABLE_NAME"),
        ("bucket", "CDC_BUCKET"),
        ("prefix", "CDC_PREFIX"),
        ("mode", "CDC_DATA_API_MODE"),
    ):
        value = getattr(args, flag)
        if value is not None:
            merged[name] = value
    if args.command == "init":
        # The DDL's outcome is the whole point of the command: wait for it, whatever the
        # loader's own mode (async would return before anything was created).
        merged["CDC_DATA_API_MODE"] = "poll"
    return merged


def run(args: argparse.Namespace, service: LoaderService) -> dict[str, Any]:
    if args.command == "init":
        return service.init()
    if args.command == "load":
        return service.run_schedule().as_dict()
    if args.command == "reconcile":
        return service.run_reconcile().as_dict()
    if args.command == "replay":
        if args.end < args.start:
            raise ValueError("--to is before --from")
        return service.replay(args.start, args.end).as_dict()
    if args.command == "status":
        return service.status(window_only=args.window, max_lag_seconds=args.max_lag_seconds)
    if not args.key.startswith(service.files.raw_prefix) or not args.key.endswith(".json.gz"):
        raise ValueError(f"{args.key!r} is not a raw change file key under {service.files.raw_prefix!r}")
    if args.command == "quarantine":
        return {"quarantined": args.key, "to": service.quarantine(args.key)}
    service.release(args.key)
    return {"released": args.key}


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    service: LoaderService | None = None,
    lambda_client: Any = None,
    build: Any = build_service,
) -> int:
    args = parser().parse_args(argv)
    base = os.environ if env is None else env
    if args.command == "backfill":
        from ddb_cdc.backfill.cli import main as backfill_main

        if args.from_lambda and not args.function:
            args.function = args.from_lambda
        return backfill_main(args, base)
    if service is None:
        try:
            if args.from_lambda:
                client = lambda_client if lambda_client is not None else _lambda_client(args.from_lambda)
                base = deployed_environment(args.from_lambda, client, base)
            config = LoaderConfig.from_env(_environment(args, base))
        except DeployedConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except ConfigError as exc:
            source = f" (from function {args.from_lambda})" if args.from_lambda else ""
            print(f"configuration error{source}: {exc}", file=sys.stderr)
            return 2
        service = build(config, obs.configure(config.log_level))
    try:
        result = run(args, service)
    except (LoadsFailed, LoadFailed) as exc:
        print(json.dumps({"error": str(exc)}), file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str))
    if args.command == "status" and result.get("lag_exceeded"):
        print(
            f"lag {result['lag_seconds']} s is over the threshold of {result['lag_threshold_seconds']} s",
            file=sys.stderr,
        )
        return EXIT_LAG_EXCEEDED
    return 0


if __name__ == "__main__":
    sys.exit(main())
