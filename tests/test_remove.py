"""Removing a dataset: all of its tables or rows, nothing of the others, in one step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.datasets.registry import import_path
from faceexplorer.datasets.remove import remove_dataset
from faceexplorer.samples.affectnet import write_affectnet
from faceexplorer.samples.affectnet_c25 import write_c25
from faceexplorer.samples.depth import write_affectnet_d, write_rafd_d


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("remove")
    rng = np.random.default_rng(4)
    affectnet = write_affectnet(root, "small", rng, images=False)
    write_c25(root, affectnet, rng)
    write_affectnet_d(root, affectnet, "small", rng)
    write_rafd_d(root, "small", rng, images=False)
    return root


def _index(sample: Path, db: Path, kinds: list[str]) -> Path:
    folders = {"affectnet": "AffectNet", "affectnet-c25": "AffectNetC25",
               "affectnet-d": "AffectNet-D", "rafd-d": "RaFD-D"}
    for kind in kinds:
        import_path(db, sample / folders[kind], kind)
    return db


def _tables(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables"
                                           ).fetchall()]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def test_removing_c25_leaves_affectnet_and_rebuilds_the_browser(sample, tmp_path) -> None:
    db = _index(sample, tmp_path / "i.duckdb", ["affectnet", "affectnet-c25"])
    before = _tables(db)
    removed = remove_dataset(db, "affectnet-c25")
    after = _tables(db)
    assert removed == {t: before[t] for t in ("c25_votes", "c25_images", "c25_image_stats")}
    assert not {"c25_votes", "c25_images", "c25_image_stats", "c25_set_views"} & set(after)
    assert after["affectnet_images"] == before["affectnet_images"]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT dataset FROM datasets").fetchall() == [("affectnet",)]
    assert con.execute("SELECT count(*), count(c25_set) FROM faces_browse").fetchone() == (
        before["affectnet_images"], 0)
    assert con.execute("SELECT count(*) FROM skipped_rows WHERE dataset = 'affectnet-c25'"
                       ).fetchone()[0] == 0
    con.close()


def test_a_shared_table_loses_only_the_kinds_rows(sample, tmp_path) -> None:
    db = _index(sample, tmp_path / "i.duckdb", ["affectnet", "affectnet-d", "rafd-d"])
    con = duckdb.connect(str(db), read_only=True)
    by_kind = dict(con.execute("SELECT dataset, count(*) FROM depth_maps GROUP BY 1").fetchall())
    con.close()
    removed = remove_dataset(db, "rafd-d")
    assert removed["depth_maps"] == by_kind["rafd-d"]
    after = _tables(db)
    assert "rafd_images" not in after and after["depth_maps"] == by_kind["affectnet-d"]


def test_a_kind_not_in_the_index_is_refused_and_changes_nothing(sample, tmp_path) -> None:
    db = _index(sample, tmp_path / "i.duckdb", ["affectnet"])
    before = _tables(db)
    with pytest.raises(FaceExplorerError, match="no AffectNetC25"):
        remove_dataset(db, "affectnet-c25")
    with pytest.raises(FaceExplorerError, match="unknown dataset kind"):
        remove_dataset(db, "imagenet")
    assert _tables(db) == before


def test_the_command_line(sample, tmp_path) -> None:
    db = _index(sample, tmp_path / "i.duckdb", ["affectnet"])
    run = [sys.executable, "-m", "faceexplorer", "index", "remove", "affectnet", "--db", str(db)]
    done = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "removed affectnet: 2,691 rows from 1 table;" in done.stdout
    again = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "no AffectNet (affectnet) in this index" in again.stderr
    assert "Traceback" not in again.stderr and len(again.stderr.strip().splitlines()) == 1
