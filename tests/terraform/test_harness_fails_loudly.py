"""The harness is only worth something if it can fail: each broken fixture must be reported with
Terraform's own words."""

import pytest

from tests.tfharness.harness import describe

pytestmark = pytest.mark.terraform


def _init(offline_tf, directory):
    result = offline_tf.run(["init", "-backend=false", "-input=false"], directory)
    assert result.returncode == 0, describe(result)


@pytest.mark.parametrize(
    ("fixture", "messages"),
    [
        (
            "unknown_argument",
            ["Unsupported argument", 'An argument named "not_an_option" is not expected here'],
        ),
        (
            "missing_required_argument",
            ["Missing required argument", 'The argument "assume_role_policy" is required'],
        ),
        (
            "undeclared_variable",
            [
                "Reference to undeclared input variable",
                'An input variable with the name "queue_name" has not been declared',
            ],
        ),
        (
            "wrong_type",
            [
                "Incorrect attribute value type",
                'Inappropriate value for attribute "visibility_timeout_seconds"',
            ],
        ),
    ],
)
def test_validate_reports_broken_module(offline_tf, fixture_copy, fixture, messages):
    directory = fixture_copy(f"broken/{fixture}")
    _init(offline_tf, directory)
    result = offline_tf.run(["validate"], directory)
    assert result.returncode != 0, describe(result)
    for message in messages:
        assert message in " ".join(result.stderr.split()), f"missing {message!r}:\n{describe(result)}"


def test_plan_reports_failed_validation_rule(offline_tf, fixture_copy):
    directory = fixture_copy("broken/failed_validation")
    _init(offline_tf, directory)
    result = offline_tf.run(["plan", "-var", "load_strategy=hourly"], directory)
    assert result.returncode != 0, describe(result)
    text = " ".join(result.stderr.split())
    assert "Invalid value for variable" in text
    assert "load_strategy must be one of s3_event, schedule." in text


def test_terraform_test_reports_failed_assert(offline_tf, fixture_copy):
    directory = fixture_copy("broken/failed_assert")
    _init(offline_tf, directory)
    result = offline_tf.run(["test"], directory)
    assert result.returncode != 0, describe(result)
    text = " ".join((result.stdout + result.stderr).split())
    assert "raw_prefix must not end with a slash." in text
    assert "0 passed, 1 failed" in text
