"""`ddb-cdc --from-lambda FUNCTION`: the deployed loader's environment is the configuration (moto's Lambda)."""

from __future__ import annotations

import io
import json
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from ddb_cdc import cli
from ddb_cdc.loader.config import LoaderConfig
from moto import mock_aws

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
SECRET_VALUE = "s3cr3t-value-that-must-never-be-printed"
LOADER_ENV = {
    "CDC_BUCKET": "acme-orders-cdc",
    "CDC_PREFIX": "cdc",
    "CDC_TABLE_NAME": "orders",
    "CDC_TARGET_SPEC": json.dumps(
        {"schema": "cdc", "table": "orders", "keys": [{"name": "id", "type": "S"}]}
    ),
    "CDC_COPY_ROLE_ARN": "arn:aws:iam::123456789012:role/cdc-copy",
    "CDC_EXECUTOR": "data_api",
    "CDC_REDSHIFT_DATABASE": "dev",
    "CDC_REDSHIFT_WORKGROUP": "analytics",
    "CDC_DATA_API_MODE": "async",
    "CDC_LOAD_STRATEGY": "s3_event",
    "LOG_LEVEL": "INFO",
    # Not the loader's, but a deployed environment may hold anything: it must never reach the output.
    "UNRELATED_TOKEN": SECRET_VALUE,
}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


@pytest.fixture
def lambda_client() -> Any:
    with mock_aws():
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="loader",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        client = boto3.client("lambda", region_name=REGION)
        for name, variables in (
            ("orders-cdc-loader", LOADER_ENV),
            ("orders-cdc-backfill", {"CDC_BACKFILL_MODE": "step_functions", "CDC_BUCKET": "acme-orders-cdc"}),
            ("unrelated", {"GREETING": "hello"}),
        ):
            client.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="handler.handler",
                Code={"ZipFile": _zip()},
                Environment={"Variables": variables},
            )
        yield client


class Recorder:
    """Stands in for build_service: keeps the configuration and answers `status`."""

    def __init__(self) -> None:
        self.config: LoaderConfig | None = None

    def __call__(self, config: LoaderConfig, logger: Any) -> Recorder:
        self.config = config
        return self

    def status(self, window_only: bool, max_lag_seconds: float | None = None) -> dict[str, Any]:
        assert self.config is not None
        return {"table": self.config.table_name, "bucket": self.config.bucket, "window_only": window_only}


def test_status_reads_the_deployed_loaders_environment(lambda_client: Any, capsys) -> None:
    recorder = Recorder()
    # A shell set up for another pipeline: its CDC_* variables must not mix in.
    local = {"CDC_BUCKET": "someone-elses-bucket", "CDC_TABLE_NAME": "other", "HOME": "/root"}
    code = cli.main(
        ["--from-lambda", "orders-cdc-loader", "status"],
        env=local,
        lambda_client=lambda_client,
        build=recorder,
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out) == {"table": "orders", "bucket": "acme-orders-cdc", "window_only": False}
    config = recorder.config
    assert config is not None
    assert config.prefix == "cdc" and config.copy_role_arn == LOADER_ENV["CDC_COPY_ROLE_ARN"]
    assert SECRET_VALUE not in captured.out + captured.err


def test_flags_still_override_the_deployed_environment(lambda_client: Any, capsys) -> None:
    recorder = Recorder()
    code = cli.main(
        ["--from-lambda", "orders-cdc-loader", "--prefix", "cdc-v2", "status"],
        env={},
        lambda_client=lambda_client,
        build=recorder,
    )
    assert code == 0, capsys.readouterr().err
    assert recorder.config is not None and recorder.config.prefix == "cdc-v2"


def test_init_from_lambda_still_waits_for_the_ddl(lambda_client: Any) -> None:
    args = cli.parser().parse_args(["--from-lambda", "orders-cdc-loader", "init"])
    env = cli.deployed_environment("orders-cdc-loader", lambda_client, {})
    assert env["CDC_DATA_API_MODE"] == "async"
    assert cli._environment(args, env)["CDC_DATA_API_MODE"] == "poll"


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("missing-loader", "cannot read function missing-loader: ResourceNotFoundException"),
        (
            "orders-cdc-backfill",
            "is the backfill function: use `backfill ... --function orders-cdc-backfill`",
        ),
        ("unrelated", "function unrelated is not a loader function"),
    ],
)
def test_a_wrong_function_is_refused_with_the_fix(
    lambda_client: Any, capsys, function: str, expected: str
) -> None:
    code = cli.main(
        ["--from-lambda", function, "status"], env={}, lambda_client=lambda_client, build=Recorder()
    )
    captured = capsys.readouterr()
    assert code == 2
    assert expected in captured.err
    assert captured.out == ""


def test_an_environment_lambda_cannot_decrypt_names_the_permission(capsys) -> None:
    class Undecryptable:
        def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
            return {
                "FunctionName": FunctionName,
                "Environment": {"Error": {"ErrorCode": "AccessDeniedException", "Message": "KMS ..."}},
            }

    code = cli.main(["--from-lambda", "orders-cdc-loader", "status"], env={}, lambda_client=Undecryptable())
    assert code == 2
    assert "kms:Decrypt on the function's key" in capsys.readouterr().err


def test_a_bad_deployed_configuration_is_reported_without_values(lambda_client: Any, capsys) -> None:
    lambda_client.update_function_configuration(
        FunctionName="orders-cdc-loader",
        Environment={"Variables": {**LOADER_ENV, "CDC_TARGET_SPEC": f'{{"schema": "{SECRET_VALUE}"'}},
    )
    code = cli.main(
        ["--from-lambda", "orders-cdc-loader", "status"],
        env={},
        lambda_client=lambda_client,
        build=Recorder(),
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "configuration error (from function orders-cdc-loader)" in err
    assert SECRET_VALUE not in err


def test_backfill_takes_from_lambda_as_its_function() -> None:
    args = cli.parser().parse_args(["--from-lambda", "orders-cdc-backfill", "backfill", "status"])
    assert args.from_lambda == "orders-cdc-backfill" and args.function is None  # main() maps it


def test_arn_region_is_the_functions_region() -> None:
    assert cli._arn_region("arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader") == "eu-west-1"
    assert cli._arn_region("orders-cdc-loader") is None


def test_the_console_script_is_ddb_cdc() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"ddb-cdc": "ddb_cdc.cli:main"}
    installed = Path(sys.executable).parent / "ddb-cdc"
    if installed.exists():  # an editable install made after the entry point was added
        import subprocess

        result = subprocess.run([str(installed), "--help"], capture_output=True, text=True, check=True)
        assert result.stdout.startswith("usage: ddb-cdc ")
        assert "--from-lambda FUNCTION" in result.stdout


def test_a_function_name_without_a_region_is_refused_with_the_fix(monkeypatch, capsys) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    code = cli.main(["--from-lambda", "orders-cdc-loader", "status"], env={}, build=Recorder())
    captured = capsys.readouterr()
    assert code == 2
    assert "give the function's ARN or set AWS_REGION" in captured.err
    assert "Traceback" not in captured.err
