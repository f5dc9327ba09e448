"""``python -m ddb_cdc.cli backfill start|status|resume|cancel``: argument handling and output.

Exit status: 0 done, 1 the scan failed or an AWS call failed, 2 bad usage or configuration
(one line on stderr that names the fix).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from ddb_cdc.backfill import control
from ddb_cdc.backfill.config import BackfillConfig
from ddb_cdc.config import ConfigError

_OVERRIDES = (("table", "CDC_TABLE_NAME"), ("bucket", "CDC_BUCKET"), ("prefix", "CDC_PREFIX"))


def _clients() -> control.Clients:
    import boto3  # deferred: `--help` and bad usage need no AWS clients

    from ddb_cdc.adapters import CLIENT_CONFIG

    return control.Clients(
        dynamodb=boto3.client("dynamodb", config=CLIENT_CONFIG),
        s3=boto3.client("s3", config=CLIENT_CONFIG),
        lambda_=boto3.client("lambda", config=CLIENT_CONFIG),
        stepfunctions=boto3.client("stepfunctions", config=CLIENT_CONFIG),
    )


def environment(args: argparse.Namespace, env: Mapping[str, str], clients: control.Clients) -> dict[str, str]:
    """The backfill function's configuration: the deployed function's with --function, else ours."""
    merged = dict(env)
    if args.function:
        try:
            deployed = clients.lambda_.get_function_configuration(FunctionName=args.function)
        except ClientError as exc:
            raise control.ControlError(
                f"cannot read function {args.function}: {exc.response.get('Error', {}).get('Code')} "
                "(use the module output backfill_function_name)"
            ) from None
        merged = dict((deployed.get("Environment") or {}).get("Variables") or {})
        if "CDC_BACKFILL_MODE" not in merged:
            raise control.ControlError(
                f"function {args.function} is not a backfill function (no CDC_BACKFILL_MODE)"
            )
    for flag, name in _OVERRIDES:
        value = getattr(args, flag, None)
        if value is not None:
            merged[name] = value
    return merged


def _act(args: argparse.Namespace, config: BackfillConfig, clients: control.Clients) -> dict[str, Any]:
    if args.action == "start":
        return control.start(
            config, clients, segments=args.segments, allow_filtered=args.allow_filtered_stream
        )
    if args.segments is not None:
        raise control.ControlError("--segments applies to start only: a resume keeps the scan's segments")
    if args.action == "status":
        return control.status(config, clients, scan_id=args.scan_id)
    if args.action == "resume":
        return control.resume(
            config, clients, scan_id=args.scan_id, allow_filtered=args.allow_filtered_stream
        )
    return control.cancel(config, clients, scan_id=args.scan_id)


def main(
    args: argparse.Namespace,
    env: Mapping[str, str],
    *,
    clients: control.Clients | None = None,
    out: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    out = out or sys.stdout
    try:
        clients = clients or _clients()
        config = BackfillConfig.from_env(environment(args, env, clients))
        if args.watch is not None and (args.action != "status" or args.watch <= 0):
            raise control.ControlError(
                "--watch takes a positive number of seconds and applies to status only"
            )
        human = out.isatty() and not args.json
        while True:
            result = _act(args, config, clients)
            out.write((control.render(result) if human else json.dumps(result, indent=2, default=str)) + "\n")
            out.flush()
            if args.watch is None or result.get("state") not in ("RUNNING", "STARTING"):
                break
            sleep(args.watch)
    except (ConfigError, control.ControlError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(json.dumps({"error": str(exc)}), file=sys.stderr)
        return 1
    return 1 if result.get("state") in ("FAILED", "TIMED_OUT") else 0
