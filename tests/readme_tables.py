"""The README's inputs and outputs tables, rendered from the module's own variables.tf and outputs.tf.

    python -m tests.readme_tables --write     # or `make docs`: rewrite the tables between the markers
    python -m tests.readme_tables --check     # exit 1 when the README differs (tests/test_readme_tables.py)

Terraform has no offline JSON view of a module's variables, so python-hcl2 parses the files: name, type, default
(none: required), description, sensitive. The tables sit in README.md between BEGIN and END markers; everything else
in the README is written by hand. Submodule READMEs keep their hand-written tables; the test checks that they
name every variable and output, and nothing else.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[1]
BEGIN = "<!-- BEGIN_TF_TABLES: generated from variables.tf and outputs.tf by `make docs`; edit those files, not this table -->"
END = "<!-- END_TF_TABLES -->"


def _unquote(text: str) -> str:
    """An hcl2 string value (kept in its HCL quotes, or a heredoc) as plain text on one line."""
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    heredoc = re.match(r"^<<-?(\w+)\n(.*)\n\s*\1$", text, re.S)
    if heredoc:
        text = textwrap.dedent(heredoc.group(2))
    else:
        text = re.sub(r"\\(.)", lambda m: {"n": "\n", "t": " "}.get(m.group(1), m.group(1)), text)
    return " ".join(text.split())


def _split_top(body: str) -> list[str]:
    """``a = x, b = f(y, z)`` -> [``a = x``, ``b = f(y, z)``]: commas at depth 0 only."""
    parts, depth, start, quoted = [], 0, 0, False
    for i, char in enumerate(body):
        if char == '"' and body[i - 1] != "\\":
            quoted = not quoted
        elif not quoted and char in "([{":
            depth += 1
        elif not quoted and char in ")]}":
            depth -= 1
        elif not quoted and char == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
    if body[start:].strip():
        parts.append(body[start:].strip())
    return parts


def render_type(expression: str | None) -> str:
    """A type constraint, compact: objects list their attribute names, nested objects are ``object``."""
    if expression is None:
        return "any"
    text = expression
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    top = re.match(r"^object\(\{(.*)\}\)$", text, re.S)
    if top:
        names = [part.split("=", 1)[0].strip() for part in _split_top(top.group(1))]
        return "object({ " + ", ".join(names) + " })" if names else "object({})"
    # Nested objects inside a collection: their attributes are in the description.
    while True:
        start = text.find("object({")
        if start < 0:
            break
        depth, end = 0, start + len("object")
        for end in range(start + len("object"), len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        text = text[:start] + "object" + text[end + 1 :]
    return " ".join(text.split())


def render_default(block: dict[str, Any]) -> str:
    if "default" not in block:
        return "required"
    return f"`{_hcl_value(block['default'])}`"


def _hcl_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value.startswith('"') else f'"{value}"'
    if isinstance(value, dict):
        items = [
            f"{key.strip(chr(34))} = {_hcl_value(item)}"
            for key, item in value.items()
            if key != "__is_block__"
        ]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_hcl_value(item) for item in value) + "]"
    return str(value)


def _cell(text: str) -> str:
    # A table cell: `|` would end it, and `<prefix>` would render as an (invisible) HTML tag.
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _blocks(path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    with path.open() as handle:
        parsed = hcl2.load(handle)
    found = []
    for entry in parsed.get(kind, []):
        for name, block in entry.items():
            found.append((name.strip('"'), block))
    return found


def render(module: Path = REPO) -> str:
    """The Markdown between the markers for the module in directory ``module``."""
    lines = [
        BEGIN,
        "",
        "### Inputs",
        "",
        "| input | type | default | description |",
        "| --- | --- | --- | --- |",
    ]
    for name, block in _blocks(module / "variables.tf", "variable"):
        description = _unquote(block.get("description", '""'))
        if block.get("sensitive") is True:
            description += " (sensitive)"
        lines.append(
            f"| `{name}` | `{_cell(render_type(block.get('type')))}` | {_cell(render_default(block))} "
            f"| {_cell(description)} |"
        )
    lines += ["", "### Outputs", "", "| output | description |", "| --- | --- |"]
    for name, block in _blocks(module / "outputs.tf", "output"):
        description = _unquote(block.get("description", '""'))
        if block.get("sensitive") is True:
            description += " (sensitive)"
        lines.append(f"| `{name}` | {_cell(description)} |")
    lines += ["", END]
    return "\n".join(lines)


def current(readme: Path) -> str:
    text = readme.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme}: no {BEGIN!r} ... {END!r} markers")
    return text[start : end + len(END)]


def write(readme: Path, module: Path) -> bool:
    """Rewrite the tables; True when something changed."""
    old = current(readme)
    new = render(module)
    if old == new:
        return False
    readme.write_text(readme.read_text().replace(old, new, 1))
    return True


def documented_names(readme: Path, heading: str) -> set[str]:
    """Backticked names in the first column of the table under ``## <heading>`` of a submodule README
    (or anywhere in that section when it is a prose list)."""
    text = readme.read_text()
    section = re.search(rf"^## {heading}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if section is None:
        return set()
    names: set[str] = set()
    for line in section.group(1).splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2 and not set(cells[1].strip()) <= {"-", " "}:
            names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cells[1]))
    if not names:  # a prose list: `a`, `b` (what it is), `c`
        names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", section.group(1)))
    return names


def declared_names(path: Path, kind: str) -> set[str]:
    """Names of the ``variable`` or ``output`` blocks of a file (a regex: names only, fast)."""
    return set(re.findall(rf'^{kind}\s+"([^"]+)"', path.read_text(), re.M))


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = options.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite README.md's tables")
    action.add_argument("--check", action="store_true", help="exit 1 when README.md's tables differ")
    args = options.parse_args(argv)
    readme = REPO / "README.md"
    if args.write:
        print(f"{readme.relative_to(REPO)}: {'rewritten' if write(readme, REPO) else 'already up to date'}")
        return 0
    if current(readme) != render(REPO):
        print(
            f"{readme.relative_to(REPO)}: the inputs/outputs tables are stale: run `make docs`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
