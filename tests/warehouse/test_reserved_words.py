"""One list of reserved words, read by the loader at import and by Terraform at plan time.

lambda_src/ddb_cdc/warehouse/reserved_words.json is the only copy: identifiers.py loads it, the root module's
checks.tf reads it with jsondecode(file(...)), and the handlers' zip (archive_file over lambda_src/) carries it.
These tests keep the three readers pointed at the same file, so the plan refuses exactly what a load would.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest
from ddb_cdc.warehouse import ConfigError, KeyAttribute
from ddb_cdc.warehouse.identifiers import RESERVED_WORDS, RESERVED_WORDS_FILE, identifier

REPO = Path(__file__).resolve().parents[2]
WORDS_FILE = REPO / "lambda_src" / "ddb_cdc" / "warehouse" / RESERVED_WORDS_FILE


def _words() -> list[str]:
    return json.loads(WORDS_FILE.read_text(encoding="utf-8"))["words"]


def test_the_file_is_a_sorted_list_of_distinct_lower_case_sql_names() -> None:
    words = _words()
    assert words == sorted(set(words)), "keep reserved_words.json sorted and free of duplicates"
    assert all(re.fullmatch(r"[a-z_][a-z0-9_]*", word) for word in words)
    assert {"user", "timestamp", "order", "select", "table"} <= set(words)


def test_the_loader_refuses_exactly_the_words_of_the_file() -> None:
    assert frozenset(_words()) == RESERVED_WORDS


@pytest.mark.parametrize("word", ["user", "Timestamp", "ORDER"])
def test_a_word_of_the_file_is_refused_as_a_column(word: str) -> None:
    with pytest.raises(ConfigError, match="reserved SQL word"):
        identifier(word, "column name")
    with pytest.raises(ConfigError, match="reserved"):
        KeyAttribute(word, "S")


def test_terraform_reads_the_same_file() -> None:
    # The plan-time checks (checks.tf) must decode this very file, not a copy of its words.
    checks = (REPO / "checks.tf").read_text(encoding="utf-8")
    assert (
        'jsondecode(file("${path.module}/lambda_src/ddb_cdc/warehouse/reserved_words.json")).words' in checks
    )


def test_the_lambda_package_carries_the_file() -> None:
    # archive_file zips lambda_src/ minus its excludes (main.tf); none of them may drop the word list.
    main = (REPO / "main.tf").read_text(encoding="utf-8")
    excludes = re.search(r"excludes\s*=\s*\[([^\]]*)\]", main)
    assert excludes is not None
    relative = WORDS_FILE.relative_to(REPO / "lambda_src").as_posix()
    for pattern in re.findall(r'"([^"]+)"', excludes.group(1)):
        assert not fnmatch.fnmatch(relative, pattern), f"archive_file's exclude {pattern!r} drops {relative}"
