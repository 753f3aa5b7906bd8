"""C25 set statistics stored at import equal a fresh computation, and only then are used."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from faceexplorer.datasets.registry import import_path
from faceexplorer.reports import c25_set_views
from faceexplorer.reports.crowd_views import set_view
from faceexplorer.samples.generate import write_samples


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("set-views")
    write_samples(root, "small", seed=2, only=["affectnet-c25"], images=False)
    db = root / "index.duckdb"
    import_path(db, root / "AffectNetC25", "affectnet-c25")   # C25 first, then AffectNet:
    import_path(db, root / "AffectNet", "affectnet")           # its labels change the views
    return db


def _same(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


def test_the_stored_view_is_the_computed_one(index: Path) -> None:
    con = duckdb.connect(str(index), read_only=True)
    try:
        sets = [r[0] for r in con.execute(
            f"SELECT c25_set FROM {c25_set_views.TABLE} ORDER BY 1").fetchall()]
        assert sets == [1, 2]
        for s in sets:
            stored, fresh = c25_set_views.stored_view(con, s), set_view(con, s)
            assert stored is not None and stored.c25_set == fresh.c25_set
            assert _same(stored.report, fresh.report)
            assert stored.annotators.keys() == fresh.annotators.keys()
            for task, frame in fresh.annotators.items():
                pd.testing.assert_frame_equal(stored.annotators[task], frame)
            assert stored.ds_confusions.keys() == fresh.ds_confusions.keys()
            for who, matrix in fresh.ds_confusions.items():
                assert np.array_equal(stored.ds_confusions[who], matrix, equal_nan=True)
        assert c25_set_views.stored_view(con, 99) is None
    finally:
        con.close()


def test_a_view_from_other_statistics_code_is_not_used(index: Path, tmp_path: Path) -> None:
    db = tmp_path / "stale.duckdb"
    shutil.copyfile(index, db)
    con = duckdb.connect(str(db))
    con.execute(f"UPDATE {c25_set_views.TABLE} SET fingerprint = 'older code'")
    con.close()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert c25_set_views.stored_view(con, 1) is None
    finally:
        con.close()


def test_only_affectnet_and_c25_imports_touch_them() -> None:
    con = duckdb.connect(":memory:")
    try:
        assert c25_set_views.refresh(con, "faces") == -1
        assert c25_set_views.refresh(con, "affectnet") == 0   # no votes: no table
    finally:
        con.close()
