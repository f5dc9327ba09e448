"""``make verify-aws``'s driver: its refusals (no account or region, the wrong account, no confirmation), and the
whole run, apply -> proof through the Data API -> destroy, against the sandbox with the same code."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.aws import cost, verify_aws
from tests.aws.conftest import CHANGES


def test_refuses_without_region_and_account(capsys, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert verify_aws.main([]) == 2
    message = capsys.readouterr().err
    assert "refusing to run without --region (or AWS_REGION) and --account-id" in message


def test_refuses_without_account_even_with_a_region_in_the_environment():
    with pytest.raises(verify_aws.Refused, match="without --account-id"):
        verify_aws.parse_args([], environ={"AWS_REGION": "eu-west-1", "AWS_PROFILE": "dev"})


def test_takes_region_and_profile_from_the_environment():
    options = verify_aws.parse_args(["--account-id", "123456789012"], environ={"AWS_REGION": "eu-west-1"})
    assert (options.region, options.account_id, options.changes) == ("eu-west-1", "123456789012", 2000)


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--account-id", "12345", "--region", "eu-west-1"], "not a 12-digit AWS account id"),
        (["--account-id", "123456789012", "--region", "Europe"], "not an AWS region name"),
    ],
)
def test_refuses_malformed_account_or_region(argv, reason):
    with pytest.raises(verify_aws.Refused, match=reason):
        verify_aws.parse_args(argv, environ={})


def _environment_of_account(account: str) -> SimpleNamespace:
    sts = SimpleNamespace(
        get_caller_identity=lambda: {"Account": account, "Arn": f"arn:aws:iam::{account}:user/a"}
    )
    return SimpleNamespace(client=lambda service: sts)


def test_refuses_credentials_of_another_account():
    with pytest.raises(verify_aws.Refused, match="belong to account 210987654321, not 123456789012"):
        verify_aws.check_account(_environment_of_account("210987654321"), "123456789012")


def test_asks_for_a_typed_yes():
    options = verify_aws.parse_args(["--account-id", "123456789012", "--region", "eu-west-1"], environ={})
    with pytest.raises(verify_aws.Refused, match="not confirmed"):
        verify_aws.confirm(options, "arn:aws:iam::123456789012:user/a", ask=lambda _prompt: "y")
    verify_aws.confirm(options, "arn:aws:iam::123456789012:user/a", ask=lambda _prompt: "yes")


@pytest.mark.parametrize(
    ("arn", "user"),
    [
        ("arn:aws:iam::123456789012:user/ops/alice", "IAM:alice"),
        ("arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com", "IAMR:Admin"),
        ("arn:aws:iam::123456789012:role/service/cdc-loader", "IAMR:cdc-loader"),
    ],
)
def test_database_user_of_an_iam_identity(arn, user):
    assert verify_aws.database_user(arn) == user


def test_cost_bills_at_least_a_minute_of_warehouse():
    usage = cost.Usage(4, 5.0, 0, 0, 0, 256, 1.0, 0, 0.0)
    assert cost.estimate(usage).lines["redshift_serverless"] == pytest.approx(4 * 60 / 3600 * 0.375)


@pytest.mark.sandbox
def test_verify_aws_proves_and_destroys_on_the_sandbox(sandbox_verification):
    # Started when the tests were collected (tests/aws/conftest.py); here only its outcome is read.
    returncode, log = sandbox_verification.wait()
    output = f"exit {returncode}\n{log[-8000:]}"
    assert returncode == 0, output
    report_path, stdout = sandbox_verification.report_path, log
    report = json.loads(report_path.read_text())
    changes = report["changes"]
    assert report["environment"] == "sandbox"
    assert report["mismatches"] == 0, output
    assert report["drained"], output
    assert changes["puts"] + changes["updates"] + changes["deletes"] == CHANGES
    assert report["table_items"] == report["view_rows"] == changes["puts"] - changes["deletes"]
    assert report["tombstones"] == changes["deletes"] > 0
    assert report["resources_left_after_destroy"] == []
    # The warehouse the example created is what the loader used: a workgroup, through the Data API.
    outputs = report["deployed"]["outputs"]
    assert outputs["warehouse_workgroup_name"] and outputs["warehouse_admin_secret_arn"].startswith(
        "arn:aws:"
    )
    assert report["copy_statements"] >= 1 and report["loads_failed"] == 0
    assert (
        report["cost"]["total_usd"] > 0
        and report["cost"]["note"] == "an estimate from list prices, not a bill"
    )
    assert "estimated cost" in stdout
