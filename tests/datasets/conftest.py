"""Fixtures shared by the importer tests: a fresh index path, the real data, and a check
that a failed import leaves the index exactly as it was."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.datasets.registry import import_path

Snapshot = dict[str, list[tuple[Any, ...]]]


def shared_data() -> Path:
    """``../shared/data`` beside the checkout, else the workplace copy."""
    beside = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    return beside if beside.is_dir() else Path("/work/shared/data")


def index_snapshot(db_path: Path) -> Snapshot:
    """Every table of the index with its rows in a stable order (empty if no index)."""
    if not Path(db_path).exists():
        return {}
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}
    finally:
        con.close()


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]],
              newline: str = "\n") -> Path:
    """Write a plain CSV (no quoting) with the given line ending; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's index lives (not created yet)."""
    return tmp_path / "index.duckdb"


@pytest.fixture(scope="session")
def c25_real_dir() -> Path:
    """The real AffectNetC25 CSVs, or a skip saying where they were expected."""
    folder = shared_data() / "affectnetc25"
    if not (folder / "expression_set1_C25.csv").is_file():
        pytest.skip(f"real AffectNetC25 files not found in {folder}")
    return folder


def expect_failed_import(db_path: Path, path: Path, kind: str) -> DatasetFormatError:
    """Import ``path``, expect a DatasetFormatError, and check the index did not change."""
    before = index_snapshot(db_path)
    with pytest.raises(DatasetFormatError) as info:
        import_path(db_path, path, kind)
    assert index_snapshot(db_path) == before, "a failed import changed the index"
    return info.value


@pytest.fixture(scope="session")
def failed_import() -> Callable[[Path, Path, str], DatasetFormatError]:
    """``failed_import(db_path, path, kind)``: see :func:`expect_failed_import`."""
    return expect_failed_import
