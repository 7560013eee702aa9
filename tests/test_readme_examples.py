"""The README's trainer set-ups are the files under examples/ that the trainer tier loads: each file
appears in the README verbatim, in a fenced block, so the two cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (REPO_ROOT / "examples").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
FENCED = re.compile(r"^```[a-z]*\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def test_there_are_examples():
    assert {p.parent.name for p in EXAMPLES} >= {"trl", "verl", "swift", "openrlhf", "easyr1"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(REPO_ROOT)) for p in EXAMPLES])
def test_readme_quotes_the_example_verbatim(path):
    blocks = FENCED.findall((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    assert path.read_text(encoding="utf-8") in blocks, f"README.md does not quote {path.relative_to(REPO_ROOT)}"
