"""The layers run one way, checked on every test run.

The order lives in ``pyproject.toml`` as import-linter contracts (entry points > gui >
importers, inference > reports > index, stats, media, samples > core; Qt only in
``faceexplorer.gui``; no DuckDB in ``stats``). :func:`test_import_contracts_hold` runs
``lint-imports`` on the package as it is; :func:`test_a_broken_layer_is_caught` runs it
on a copy of the package with one forbidden import added, so the check is known to bite.
SQL text is not an import, so "no SQL in gui" is an AST scan of the views.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "faceexplorer"
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))

pytestmark = pytest.mark.skipif(not Path(LINT).exists(),
                                reason="import-linter is not installed (pip install -e '.[test]')")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with ``root``'s pyproject.toml, ``root`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([LINT, "--no-cache", str(root / "pyproject.toml")], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)


def test_import_contracts_hold() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_layer_is_caught(tmp_path: Path) -> None:
    # A copy of the package where stats (pure maths) imports the index: lint must fail.
    shutil.copytree(PACKAGE, tmp_path / "faceexplorer",
                    ignore=shutil.ignore_patterns("__pycache__", "resources"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    agreement = tmp_path / "faceexplorer" / "stats" / "agreement.py"
    agreement.write_text(agreement.read_text() + "\nfrom faceexplorer.index import store\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "faceexplorer.stats is not allowed to import faceexplorer.index" in result.stdout
    assert "faceexplorer.stats.agreement -> faceexplorer.index.store" in result.stdout


def _sql_calls(path: Path) -> list[str]:
    """``x.execute(...)``, ``x.executemany(...)`` and ``x.sql(...)`` calls in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"execute", "executemany", "sql"}):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_sql_in_gui() -> None:
    # Views ask index/ or reports/ functions; a query written in a view is a layer skipped.
    calls = [c for p in sorted((PACKAGE / "gui").rglob("*.py")) for c in _sql_calls(p)]
    assert calls == []
