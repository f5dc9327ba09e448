"""The dashboard (dashboard.tf) graphs the loader's own metrics by name; the loader names them in its calls to
``Metrics.put`` (ddb_cdc.loader.service), the one class that calls PutMetricData. This keeps the two in step: a metric
renamed or dropped in lambda_src, a dimension changed, or a second way of publishing metrics breaks this test, as does
a dashboard graph of a metric the loader does not publish. tests/dashboard.tftest.hcl checks the rest of the body."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.tfharness.harness import REPO_ROOT

PACKAGE = REPO_ROOT / "lambda_src" / "ddb_cdc"
DASHBOARD = REPO_ROOT / "dashboard.tf"

# Published but deliberately not graphed: a completion event the loader refused (not a statement of this stack).
# It is rare, alerted in the log, and says nothing about whether data flows.
NOT_GRAPHED = {"RejectedCompletionEvents"}

# [local.dashboard_namespace, "<metric>", "<dimension>", local.dashboard_table]
_CUSTOM_ROW = re.compile(
    r'\[\s*local\.dashboard_namespace\s*,\s*"([^"]+)"\s*,\s*"([^"]+)"\s*,\s*local\.dashboard_table\s*\]'
)


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in sorted(PACKAGE.rglob("*.py"))]


def emitted_metric_names() -> set[str]:
    """Every metric name passed to ``<...>.metrics.put({...})`` or ``Metrics.put``, as a dict literal's string keys."""
    names: set[str] = set()
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "put"
            ):
                continue
            target = node.func.value
            if not (isinstance(target, ast.Attribute) and target.attr == "metrics"):
                continue
            assert len(node.args) == 1 and isinstance(node.args[0], ast.Dict), (
                f"{path}:{node.lineno}: metrics.put takes a dict literal here, so that its names can be read"
            )
            for key in node.args[0].keys:
                assert isinstance(key, ast.Constant) and isinstance(key.value, str), (
                    f"{path}:{node.lineno}: metric names are string literals"
                )
                names.add(key.value)
    return names


def metrics_dimensions() -> list[str]:
    """The dimension names ``Metrics`` attaches to every datapoint (its ``_dimensions`` list of Name/Value dicts)."""
    tree = ast.parse((PACKAGE / "loader" / "service.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Metrics")
    for node in ast.walk(cls):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Attribute)
            and node.targets[0].attr == "_dimensions"
        ):
            return [
                value.value
                for item in node.value.elts  # type: ignore[attr-defined]
                for key, value in zip(item.keys, item.values, strict=True)
                if isinstance(key, ast.Constant) and key.value == "Name" and isinstance(value, ast.Constant)
            ]
    raise AssertionError("Metrics no longer sets _dimensions")


def dashboard_custom_metrics() -> set[tuple[str, str]]:
    return set(_CUSTOM_ROW.findall(DASHBOARD.read_text()))


def test_put_metric_data_is_called_in_one_place_only() -> None:
    callers = [
        f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "put_metric_data"
    ]
    assert len(callers) == 1 and callers[0].startswith("lambda_src/ddb_cdc/loader/service.py:"), (
        f"metrics are published outside Metrics.put, which this test cannot see: {callers}"
    )


def test_the_loader_tags_every_metric_with_the_table_only() -> None:
    assert metrics_dimensions() == ["Table"]


def test_every_custom_metric_on_the_dashboard_is_one_the_loader_publishes() -> None:
    graphed = dashboard_custom_metrics()
    assert graphed, "dashboard.tf graphs none of the loader's metrics (or the row pattern no longer matches)"
    dimensions = metrics_dimensions()
    unknown = {name for name, _ in graphed} - emitted_metric_names()
    assert not unknown, f"dashboard.tf graphs metrics the loader does not publish: {sorted(unknown)}"
    wrong = {(name, dim) for name, dim in graphed if [dim] != dimensions}
    assert not wrong, (
        f"dashboard.tf uses dimensions the loader does not attach ({dimensions}): {sorted(wrong)}"
    )


def test_every_metric_the_loader_publishes_is_graphed_or_deliberately_left_out() -> None:
    emitted = emitted_metric_names()
    assert {"FilesLoaded", "LoadFailures", "ReplicationLagSeconds"} <= emitted
    missing = emitted - {name for name, _ in dashboard_custom_metrics()} - NOT_GRAPHED
    assert not missing, (
        f"the loader publishes metrics the dashboard neither graphs nor lists in NOT_GRAPHED: {missing}"
    )


def test_the_namespace_defaults_agree() -> None:
    """The dashboard reads the namespace from the loader's environment (CDC_METRIC_NAMESPACE); the module's default
    and the loader's fallback for an unset variable must be the same namespace."""
    variables = (REPO_ROOT / "modules" / "redshift_loader" / "variables.tf").read_text()
    module_default = re.search(r'variable "metric_namespace" \{.*?default\s*=\s*"([^"]+)"', variables, re.S)
    config = (PACKAGE / "loader" / "config.py").read_text()
    code_default = re.search(r'env\.get\("CDC_METRIC_NAMESPACE", ""\)\.strip\(\) or "([^"]+)"', config)
    assert module_default and code_default
    assert module_default.group(1) == code_default.group(1)
    assert 'loader_environment["CDC_METRIC_NAMESPACE"]' in DASHBOARD.read_text()
    assert 'loader_environment["CDC_TABLE_NAME"]' in DASHBOARD.read_text()
