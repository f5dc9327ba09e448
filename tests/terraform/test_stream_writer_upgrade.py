"""The upgrade to modules/stream_writer plans with no replacement from the old layout's state.

Before modules/stream_writer, the writer (function, role, inline policy, log group, DLQ, two alarms) lived in
modules/s3_sink (aggregation = "lambda") or modules/firehose (aggregation = "firehose"); moved.tf carries those objects
over. The fixtures are the states that ``terraform apply`` of examples/local at commit ``bd326f1`` (the last commit of
the old layout) wrote against the sandbox's moto, one per aggregation (how they were recorded: the fixtures' README).
The test plans today's examples/local from each of them, ``-refresh=false`` so that the recorded state is the prior
state and no object has to exist, against a moto server that only answers the data sources (STS for
aws_caller_identity). It asserts that nothing is deleted or replaced (resources added to the stack since the fixture's
commit may be created), and that every writer object of the old layout moved to module.stream_writer["<aggregation>"]
with no change but new code.

Cost: one ``terraform init`` and two plans sharing one provider process (about 25 s of CPU on two cores).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.sandbox.moto_server import running_moto
from tests.sandbox.terraform_stack import LocalStack, provider_patches_installed
from tests.tfharness.harness import OfflineTerraform

# Two Terraform plans on moto, mostly the provider's waiting: beside the suite (tests/rig/own_process.py).
RUN_IN_OWN_PROCESS = True

FIXTURES = Path(__file__).parent / "fixtures" / "stream_writer_upgrade"
OLD_LAYOUT_COMMIT = "bd326f1"

# The variables each fixture state was applied with (examples/local's inputs besides endpoint).
RECORDED = {
    "lambda": {"name": "up-lamb", "aggregation": "lambda", "load_strategy": "schedule"},
    "firehose": {"name": "up-fire", "aggregation": "firehose", "load_strategy": "schedule"},
}

# Old address (under module.cdc) -> new address, per aggregation: what moved.tf must do.
_WRITER = [
    ("aws_sqs_queue.dlq", "aws_sqs_queue.dlq"),
    ("aws_cloudwatch_log_group.writer", "aws_cloudwatch_log_group.this"),
    ("aws_iam_role.writer", "aws_iam_role.this"),
    ("aws_iam_role_policy.writer", "aws_iam_role_policy.this"),
    ("aws_lambda_function.writer", "aws_lambda_function.this"),
    ("aws_cloudwatch_metric_alarm.writer_errors", "aws_cloudwatch_metric_alarm.errors"),
    ("aws_cloudwatch_metric_alarm.dlq_depth", "aws_cloudwatch_metric_alarm.dlq_depth"),
]
EXPECTED_MOVES = {
    "lambda": {
        f'module.cdc.module.stream_writer["lambda"].{new}': f"module.cdc.module.s3_sink.{old}[0]"
        for old, new in _WRITER
    },
    "firehose": {
        f'module.cdc.module.stream_writer["firehose"].{new}': f"module.cdc.module.firehose[0].{old}"
        for old, new in _WRITER
    },
}


@pytest.fixture(scope="module")
def upgrade_plans(tmp_path_factory) -> dict[str, dict]:
    """``terraform show -json`` of the plan from each recorded state, by aggregation."""
    home = tmp_path_factory.mktemp("stream-writer-upgrade")
    toolchain = OfflineTerraform.create(home=home / "tf")
    plans = {}
    with provider_patches_installed(), running_moto() as endpoint:
        stack = LocalStack(endpoint, RECORDED["lambda"], toolchain=toolchain, log_path=home / "terraform.log")
        try:
            workdir = stack.init()
            for aggregation, variables in RECORDED.items():
                tfvars = {"endpoint": endpoint, **variables}
                (workdir / "sandbox.auto.tfvars.json").write_text(json.dumps(tfvars))
                shutil.copy(FIXTURES / f"{aggregation}.state.json", workdir / "terraform.tfstate")
                stack._run(
                    "plan", ["plan", "-input=false", "-refresh=false", "-lock=false", "-out=upgrade.tfplan"]
                )
                shown = stack._run("show", ["show", "-json", "upgrade.tfplan"], capture=True)
                plans[aggregation] = json.loads(shown.stdout)
        finally:
            stack.close()
    return plans


@pytest.mark.terraform
@pytest.mark.parametrize("aggregation", sorted(RECORDED))
def test_the_upgrade_deletes_and_replaces_nothing(upgrade_plans, aggregation):
    changes = upgrade_plans[aggregation]["resource_changes"]
    assert changes, "the plan has no resource changes at all: was the state fixture read?"
    # A delete (alone, or as half of a replacement) destroys an object the old layout made: refused everywhere. A create
    # is refused for the writer, whose objects all exist; elsewhere it is a resource added since the fixture's commit.
    refused = {
        change["address"]: change["change"]["actions"]
        for change in changes
        if "delete" in change["change"]["actions"]
        or (
            "create" in change["change"]["actions"]
            and change["address"].startswith("module.cdc.module.stream_writer[")
        )
    }
    assert not refused, (
        f"upgrading the aggregation = {aggregation!r} layout of {OLD_LAYOUT_COMMIT} would delete, replace or re-create "
        f"(a moved block missing from moved.tf?): {json.dumps(refused, indent=1)}"
    )


# The one change an upgrade may bring the writer: new code, when lambda_src/ changed since the fixture was recorded
# (every function of the stack takes the same zip). Attributes the provider recomputes then (last_modified, version)
# are unknown in the plan and not compared.
CODE_ONLY = {"source_code_hash"}


def _changed_attributes(change: dict) -> set[str]:
    before, after = change["before"] or {}, change["after"] or {}
    unknown = {name for name, value in (change.get("after_unknown") or {}).items() if value is True}
    return {
        name
        for name in set(before) | set(after)
        if name not in unknown and before.get(name) != after.get(name)
    }


@pytest.mark.terraform
@pytest.mark.parametrize("aggregation", sorted(RECORDED))
def test_every_writer_object_moves_to_stream_writer_unchanged(upgrade_plans, aggregation):
    moved = {
        change["address"]: (change.get("previous_address"), _changed_attributes(change["change"]))
        for change in upgrade_plans[aggregation]["resource_changes"]
        if change["address"].startswith("module.cdc.module.stream_writer[")
    }
    assert {address: previous for address, (previous, _) in moved.items()} == EXPECTED_MOVES[aggregation], (
        f"every writer object must move from its old address: {json.dumps(moved, indent=1, default=sorted)}"
    )
    changed = {address: sorted(names) for address, (_, names) in moved.items() if names - CODE_ONLY}
    assert not changed, (
        "a moved writer object would change on AWS (its names, statements and texts must stay the old modules'): "
        f"{json.dumps(changed, indent=1)}"
    )


# What else an upgrade from the fixtures' commit may change, outside the writer, and why. Anything not listed fails the
# test, so a refactor that quietly updates another object (the delivery stream, the bucket) is caught.
ALLOWED_ELSEWHERE = {
    # Added since the fixtures' commit: created.
    "module.cdc.aws_cloudwatch_dashboard.this[0]": {"create": {"dashboard_body", "dashboard_name"}},
    # Every function takes the one zip (new code since the fixtures' commit); the loader and completion functions
    # share an environment, which gained CDC_LAG_ALARM_SECONDS. moto's GetFunction leaves out the completion
    # function's DeadLetterConfig, so the recorded state lacks it.
    "module.cdc.module.redshift_loader.aws_lambda_function.loader": {
        "update": {"environment", "source_code_hash"}
    },
    "module.cdc.module.redshift_loader.aws_lambda_function.completion[0]": {
        "update": {"environment", "source_code_hash", "dead_letter_config"}
    },
    # Grants invoke on the functions above; its document is only known after their update.
    "module.cdc.module.redshift_loader.aws_iam_role_policy.scheduler[0]": {"update": set()},
    # examples/local's own cluster (not the module's): moto's defaults differ from the configuration's.
    "aws_redshift_cluster.warehouse": {
        "update": {
            "maintenance_track_name",
            "manual_snapshot_retention_period",
            "preferred_maintenance_window",
        }
    },
}


@pytest.mark.terraform
@pytest.mark.parametrize("aggregation", sorted(RECORDED))
def test_nothing_outside_the_writer_changes_but_what_is_listed(upgrade_plans, aggregation):
    unexpected = {}
    for change in upgrade_plans[aggregation]["resource_changes"]:
        address, actions = change["address"], change["change"]["actions"]
        if address.startswith("module.cdc.module.stream_writer[") or actions in (["no-op"], ["read"]):
            continue
        allowed = ALLOWED_ELSEWHERE.get(address, {})
        changed = _changed_attributes(change["change"])
        if len(actions) != 1 or actions[0] not in allowed or not changed <= allowed[actions[0]]:
            unexpected[address] = {"actions": actions, "attributes": sorted(changed)}
    assert not unexpected, (
        f"upgrading the aggregation = {aggregation!r} layout of {OLD_LAYOUT_COMMIT} would also change: "
        f"{json.dumps(unexpected, indent=1)}"
    )
