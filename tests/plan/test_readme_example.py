"""The README's "Choosing a strategy" table is the planner's output for the Makefile's documented example."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ddb_cdc.plan.__main__ import main

REPO = Path(__file__).resolve().parents[2]


def _plan_args() -> list[str]:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    (line,) = re.findall(r"^PLAN_ARGS \?= (.*)$", makefile, flags=re.MULTILINE)
    args = shlex.split(line)
    plot = args.index("--plot")
    return args[:plot] + args[plot + 2 :]  # the table only; the plot is checked in test_plot.py


def _readme_block() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Choosing a strategy") :]
    block = section[section.index("```\n") + 4 :]
    return block[: block.index("```")].rstrip("\n").split("\n")


def test_the_readme_table_is_what_make_plan_prints(capsys) -> None:
    assert main(_plan_args()) == 0
    printed = capsys.readouterr().out.split("\n")
    readme = _readme_block()
    header = printed.index(readme[0])  # the column header line starts the table
    recommended = next(line for line in printed if line.startswith("Recommended:"))
    expected = [*printed[header : header + len(readme) - 2], "", recommended.split(";")[0]]
    assert readme == expected, "README.md's planner table is stale: run `make plan` and paste its table"
