"""The README's inputs and outputs tables cannot drift from variables.tf and outputs.tf.

Root: the tables between the markers in README.md are exactly what `make docs` renders (python-hcl2).
Submodules: each README's Inputs and Outputs sections name every variable and output, and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import readme_tables

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(path.name for path in (REPO / "modules").iterdir() if (path / "variables.tf").exists())


def test_root_readme_tables_are_rendered_from_the_module() -> None:
    assert readme_tables.current(REPO / "README.md") == readme_tables.render(REPO), (
        "README.md's inputs/outputs tables differ from variables.tf/outputs.tf: run `make docs`"
    )


@pytest.mark.parametrize("module", MODULES)
def test_submodule_readme_names_every_input_and_output(module: str) -> None:
    directory = REPO / "modules" / module
    readme = directory / "README.md"
    for heading, path, kind in (("Inputs", "variables.tf", "variable"), ("Outputs", "outputs.tf", "output")):
        declared = readme_tables.declared_names(directory / path, kind)
        documented = readme_tables.documented_names(readme, heading)
        assert declared - documented == set(), f"modules/{module}/README.md, {heading}: undocumented {kind}s"
        assert documented - declared == set(), f"modules/{module}/README.md, {heading}: no such {kind}"


@pytest.mark.parametrize(
    ("expression", "rendered"),
    [
        ("string", "string"),
        ("${list(string)}", "list(string)"),
        (
            "${object({name = string, create = optional(bool, false), key = optional(object({a = string}))})}",
            "object({ name, create, key })",
        ),
        ("${list(object({name = string, path = list(string)}))}", "list(object)"),
        (None, "any"),
    ],
)
def test_types_render_compactly(expression: str | None, rendered: str) -> None:
    assert readme_tables.render_type(expression) == rendered


@pytest.mark.parametrize(
    ("block", "rendered"),
    [
        ({}, "required"),
        ({"default": None}, "`null`"),
        ({"default": '"lambda"'}, '`"lambda"`'),
        ({"default": {}}, "`{}`"),
        ({"default": []}, "`[]`"),
        ({"default": 30}, "`30`"),
        ({"default": False}, "`false`"),
        ({"default": {'"a"': 1}}, "`{ a = 1 }`"),
    ],
)
def test_defaults_render_as_hcl(block: dict, rendered: str) -> None:
    assert readme_tables.render_default(block) == rendered


def test_descriptions_become_one_line() -> None:
    assert readme_tables._unquote('"say \\"hi\\" twice"') == 'say "hi" twice'
    assert readme_tables._unquote('"<<-EOT\n    two\n    lines\n  EOT"') == "two lines"
    assert readme_tables._cell("a | <b>") == "a \\| &lt;b&gt;"
