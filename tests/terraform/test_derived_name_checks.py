"""checks.tf rebuilds, from the root's inputs, the names and descriptions the submodules derive from them, so that the
root can refuse at plan time what AWS would refuse at apply (a Lambda description over 256 characters, say). This
keeps the two in step: every description checks.tf measures must still be, word for word, what the submodule's
main.tf writes, once the submodule's names for things are replaced by the root's."""

from __future__ import annotations

import re

import pytest

from tests.tfharness.harness import REPO_ROOT

# A submodule expression -> the same value in checks.tf's terms ({name} stands for var.name).
RENAMES = [
    ("s3://${var.bucket_name}/${local.raw_prefix}", "${local.check_raw_uri}"),
    ("s3://${local.bucket_name}/${local.raw_prefix}", "${local.check_raw_uri}"),
    ("${var.target_spec.schema}.${var.target_spec.table}", "${local.check_target}"),
    ("${var.table_name}", "${var.table.name}"),
    ("${local.delivery_stream_name}", "{name}-raw-to-s3"),
    # stream_writer takes the delivery stream's name from the firehose module, which names it <name>-raw-to-s3.
    ("${var.delivery_stream.name}", "{name}-raw-to-s3"),
    ("${local.machine_name}", "{name}-compaction"),
    ("${local.compacted_prefix}", "${local.check_prefix_root}compacted/${var.table.name}/"),
    ("${local.quarantine_prefix}", "${local.check_prefix_root}quarantine/${var.table.name}/"),
    ("${var.mode}", '${try(var.backfill.mode, "none")}'),
]

# (module, the resource whose description checks.tf measures, the attribute)
MEASURED = [
    ("redshift_loader", 'resource "aws_lambda_function" "loader"', "description"),
    ("backfill", 'resource "aws_lambda_function" "backfill"', "description"),
    ("redshift_loader", 'resource "aws_iam_role" "loader"', "description"),
    ("redshift_loader", 'resource "aws_iam_role" "copy"', "description"),
    ("emr_compaction", 'resource "aws_iam_role" "instance"', "description"),
    ("backfill", 'resource "aws_cloudwatch_metric_alarm" "quarantined_items"', "alarm_description"),
]


# stream_writer's texts depend on its destination: one local per text, a conditional with the s3 text first and the
# firehose text second. (module, local, index of the branch, what the branch is)
MEASURED_BRANCHES = [
    ("stream_writer", "function_description", 0, "s3"),
    ("stream_writer", "function_description", 1, "firehose"),
]


def _branch(module: str, local: str, index: int) -> str:
    text = (REPO_ROOT / "modules" / module / "main.tf").read_text(encoding="utf-8")
    start = text.index(f"  {local} = (")
    block = text[start : text.index("\n  )\n", start)]
    branches = re.findall(r'^\s*[?:]\s*"((?:[^"\\]|\\.)*)"\s*$', block, re.M)
    assert len(branches) == 2, (
        f"{module}: local.{local} is no longer a two-branch conditional of quoted texts"
    )
    return branches[index]


def _attribute(module: str, resource: str, attribute: str) -> str:
    text = (REPO_ROOT / "modules" / module / "main.tf").read_text(encoding="utf-8")
    start = text.index(resource)
    block = text[start : text.index("\n}\n", start)]
    match = re.search(rf'^\s*{attribute}\s*=\s*"((?:[^"\\]|\\.)*)"\s*$', block, re.M)
    assert match, f"{module}: {resource} has no single-line {attribute}"
    return match.group(1)


@pytest.mark.parametrize(
    ("module", "resource", "attribute"), MEASURED, ids=[f"{m}:{r.split()[-1]}" for m, r, _ in MEASURED]
)
def test_checks_tf_measures_what_the_submodule_writes(module, resource, attribute):
    value = _attribute(module, resource, attribute)
    for submodule_form, root_form in RENAMES:
        value = value.replace(submodule_form, root_form)
    checks = (REPO_ROOT / "checks.tf").read_text(encoding="utf-8")
    assert f'value = "{value}"' in checks, (
        f"modules/{module}/main.tf's {resource} {attribute} changed; update checks.tf's entry to:\n  value = \"{value}\""
    )


@pytest.mark.parametrize(
    ("module", "local", "index", "destination"),
    MEASURED_BRANCHES,
    ids=[f"{m}:{loc}:{d}" for m, loc, _, d in MEASURED_BRANCHES],
)
def test_checks_tf_measures_each_destination_of_the_writer(module, local, index, destination):
    value = _branch(module, local, index)
    for submodule_form, root_form in RENAMES:
        value = value.replace(submodule_form, root_form)
    checks = (REPO_ROOT / "checks.tf").read_text(encoding="utf-8")
    assert f'value = "{value}"' in checks, (
        f"modules/{module}/main.tf's local.{local} ({destination}) changed; update checks.tf's entry to:\n"
        f'  value = "{value}"'
    )
