"""The consumer configuration (tests/consumer) makes each natural mistake once; the plan must fail with the message of
the root module's own validation, naming the input the consumer typed (bucket.create, target_spec.key_column_names).

`terraform test` cannot expect these failures from the consumer: expect_failures only names checkable objects of the
configuration under test, never module.cdc or module.cdc.var.bucket (Terraform 1.11). So each mistake is one run,
in its own file (a failed run skips the rest of its file), and this test reads the error Terraform prints. The same
mistakes are expect_failures runs at the root, in tests/plan_time_errors.tftest.hcl.
"""

from __future__ import annotations

import json

import pytest

from tests.tfharness.harness import REPO_ROOT, describe

CONSUMER = REPO_ROOT / "tests" / "consumer"
# Terraform plans of consumer configurations: beside the suite (tests/rig/own_process.py).
RUN_IN_OWN_PROCESS = True

ORDER_ID_TABLE = """
  override_data {
    target = module.cdc.module.ddb_stream.data.aws_dynamodb_table.adopted[0]
    values = {
      arn              = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_arn       = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
      stream_enabled   = true
      stream_view_type = "NEW_AND_OLD_IMAGES"
      hash_key         = "order-id"
      range_key        = null
      attribute        = [{ name = "order-id", type = "S" }]
    }
  }
"""

COLUMNS = 'schema = "cdc", table = "orders", mode = "columns"'

# (run name, what the run changes, phrases the error must hold)
MISTAKES = [
    (
        "bucket_create_forgotten",
        'variables {\n    bucket = { name = "acme-shop-cdc", prefix = "cdc" }\n  }',
        ["bucket.create must be set", 'adopts your existing bucket "acme-shop-cdc"'],
    ),
    (
        "s3_event_on_the_adopted_bucket",
        'variables {\n    load_strategy = "s3_event"\n  }',
        ['load_strategy = "s3_event"', "bucket.create = false", "replace_bucket_notifications = true"],
    ),
    (
        "key_attribute_order_id_without_key_column_names",
        ORDER_ID_TABLE,
        ['Key attribute "order-id"', 'key_column_names = { "order-id" = "order_id" }'],
    ),
    (
        "reserved_word_as_a_column",
        f'variables {{\n    target_spec = {{ {COLUMNS}, columns = [{{ name = "user", type = "VARCHAR(64)", path = ["user"] }}] }}\n  }}',
        ['Column "user" (target_spec.columns[0].name) is a reserved SQL word'],
    ),
    (
        "column_named_like_a_key_column",
        f'variables {{\n    target_spec = {{ {COLUMNS}, columns = [{{ name = "ORDER_ID", type = "VARCHAR(64)", path = ["id"] }}] }}\n  }}',
        ['Column "order_id" is used 2 times: key attribute "order_id", target_spec.columns[0].name'],
    ),
    (
        # Two out of range at once: both named, from one table (checks.tf, input_ranges).
        "loader_timeout_and_failures_out_of_range",
        'variables {\n    loader = { sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:shop-alerts", timeout = 5,'
        " max_file_failures = 0 }\n  }",
        [
            "loader.max_file_failures must be a whole number from 1 to 100 (got 0).",
            "loader.timeout must be a whole number from 30 to 900 (got 5).",
        ],
    ),
    (
        "schedule_rate_out_of_range",
        'variables {\n    loader = { sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:shop-alerts",'
        " schedule = { rate_minutes = 0 } }\n  }",
        ["loader.schedule.rate_minutes must be a whole number from 1 to 1440 (got 0)."],
    ),
    (
        "bucket_name_that_s3_refuses",
        'variables {\n    bucket = { name = "Acme_Shop", create = false }\n  }',
        ["bucket.name must be an S3 bucket name"],
    ),
]


def _header() -> str:
    text = (CONSUMER / "tests" / "consumer.tftest.hcl").read_text(encoding="utf-8")
    return text[: text.index('\nrun "') + 1]


@pytest.fixture(scope="module")
def consumer_mistakes(offline_tf):
    scratch = offline_tf.scratch_copy(CONSUMER)
    mistakes_dir = scratch / "mistakes"
    mistakes_dir.mkdir()
    header = _header()
    for name, change, _ in MISTAKES:
        (mistakes_dir / f"{name}.tftest.hcl").write_text(
            f'{header}\nrun "{name}" {{\n  command = plan\n\n  {change}\n}}\n'
        )
    init = offline_tf.run(["init", "-backend=false", "-input=false"], scratch)
    assert init.returncode == 0, describe(init)
    # -json: every diagnostic carries the run it belongs to.
    result = offline_tf.run(["test", "-json", "-test-directory=mistakes"], scratch, None, 1800)
    runs: dict[str, dict[str, object]] = {}
    for line in result.stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        run = message.get("@testrun")
        if not run:
            continue
        entry = runs.setdefault(run, {"status": None, "errors": []})
        if message.get("type") == "test_run" and message.get("test_run", {}).get("progress") == "complete":
            entry["status"] = message["test_run"].get("status")
        if message.get("type") == "diagnostic" and message["diagnostic"].get("severity") == "error":
            entry["errors"].append(message["diagnostic"])
    assert runs, describe(result)
    return runs


@pytest.mark.parametrize(("name", "change", "phrases"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_the_mistake_fails_the_plan_in_the_consumers_words(consumer_mistakes, name, change, phrases):
    run = consumer_mistakes.get(name)
    assert run and run["status"] in ("fail", "error"), f"{name} did not fail: {run}"
    errors = run["errors"]
    assert len(errors) == 1, f"{name}: one error expected, the root's: {errors}"
    error = errors[0]
    for phrase in phrases:
        assert phrase in error["detail"], f"{name}: {phrase!r} not in the error: {error['detail']}"
    # The rule that fired is the root module's (../../variables.tf), not a submodule's (modules/*/variables.tf), and
    # Terraform points at the consumer's own line: main.tf, in module "cdc".
    assert "This was checked by the validation rule at ../../variables.tf:" in error["detail"], error
    assert error["range"]["filename"] == "main.tf" and error["snippet"]["context"] == 'module "cdc"', error
