"""The packages import one way only (docs/ARCHITECTURE.md): schemas ← rewards ← curate ← pipelines.

Every import statement is read from the source (top-level and inside functions alike), so a lazy import
against the arrows fails here too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# what each package may import from the project's own packages (besides itself)
ALLOWED = {
    "schemas": set(),
    "rewards": {"schemas"},
    "curate": {"schemas", "rewards"},
    "pipelines": {"schemas", "rewards", "curate"},
}


def own_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of one of the project's packages in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in ALLOWED]
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_layers(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, package
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for path in files
        for line, imported in own_imports(path)
        if imported != package and imported not in ALLOWED[package]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_lazy_import(tmp_path):
    """The AST walk finds an import inside a function body (what the layering check relies on)."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from pipelines.reader import iter_samples\n", encoding="utf-8")
    assert own_imports(module) == [(2, "pipelines")]
