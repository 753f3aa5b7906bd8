"""page_details: a page's details in a few queries equal image_detail's, field by field.

The reference is :func:`image_detail` itself (checked against the raw files in
test_image_detail.py): every key of a page must come back with the same AffectNet row,
crowd set, votes, statistics and predictions, on the sample index (with two model runs
added), on the real AffectNetC25 votes (all 1,600 images, ties included) and on an
index without C25 data. Unknown keys are left out, as is a C25 image whose votes are
missing from the batch (the single-image path then explains it).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from faceexplorer.index.store import connect
from faceexplorer.reports.image_detail import (
    ImageDetail,
    c25_image_names,
    image_detail,
    index_tables,
)
from faceexplorer.reports.page_details import page_details
from tests.reports.test_image_detail import add_expression_run, sample_indexes


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return sample_indexes(tmp_path_factory)


def _plain(value: object) -> object:
    """A dataclass tree as comparable Python values (arrays as lists, NaN as a marker)."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return "NaN"
    return value


def assert_same(batch: ImageDetail, one: ImageDetail) -> None:
    assert _plain(batch) == _plain(one)


def check_page(db: Path, keys: list[tuple[str, int]]) -> dict:
    con = connect(db, read_only=True)
    try:
        tables = index_tables(con)
        names = c25_image_names(con) if "c25_images" in tables else {}
        got = page_details(con, keys, tables, names)
        for key in keys:
            try:
                one = image_detail(con, *key)
            except Exception:  # noqa: BLE001 - unknown keys: the batch leaves them out
                assert key not in got
                continue
            assert key in got, key
            assert_same(got[key], one)
        return got
    finally:
        con.close()


def test_a_page_of_the_sample_equals_image_detail(indexes, tmp_path) -> None:
    db = tmp_path / "runs.duckdb"
    shutil.copy(indexes["sample"], db)
    con = connect(db, read_only=True)
    c25 = [int(r[0]) for r in con.execute(
        "SELECT DISTINCT image_index FROM c25_images ORDER BY 1 LIMIT 40").fetchall()]
    keys = [(s, int(r)) for s, r in con.execute(
        "SELECT split, row_index FROM affectnet_images ORDER BY split, row_index "
        "LIMIT 150").fetchall()]
    con.close()
    # two runs predict the same images (their order is the runs' start order)
    for name, seed in (("tiny-expr", 3), ("other-net", 11)):
        for row in (c25[0], c25[1], keys[-1][1]):
            add_expression_run(db, "train", row, name, seed + row)
    page = keys + [("train", r) for r in c25] + [("train", 9_999_999), ("val", -5)]
    got = check_page(db, page)
    assert len(got) == len(set(page)) - 2          # only the unknown keys are left out
    assert len(got[("train", c25[0])].predictions) == 2
    assert sum(d.crowd is not None for d in got.values()) >= 40


def test_real_c25_votes_every_image(indexes) -> None:
    if "real_c25" not in indexes:
        pytest.skip("the real AffectNetC25 files are not beside the checkout")
    con = connect(indexes["real_c25"], read_only=True)
    keys = [("train", int(r[0])) for r in con.execute(
        "SELECT DISTINCT image_index FROM c25_images ORDER BY 1").fetchall()]
    con.close()
    got = check_page(indexes["real_c25"], keys)
    assert len(got) == len(keys) == 1600
    assert any(d.crowd.tie for d in got.values())   # ties compared too
    assert all(d.affectnet is None for d in got.values())   # no AffectNet rows here


def test_index_without_c25_and_empty_page(indexes) -> None:
    con = connect(indexes["no_c25"], read_only=True)
    keys = [(s, int(r)) for s, r in con.execute(
        "SELECT split, row_index FROM affectnet_images USING SAMPLE 60 ROWS").fetchall()]
    tables = index_tables(con)
    assert page_details(con, [], tables, {}) == {}
    con.close()
    got = check_page(indexes["no_c25"], keys)
    assert all(d.crowd is None for d in got.values()) and len(got) == len(keys)
