"""Batch runs over the index: stored rows, resume without duplicates, missing files, NaN, CLI."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pytest

from faceexplorer.datasets.registry import import_path
from faceexplorer.index import predictions as P
from faceexplorer.index.store import connect
from faceexplorer.inference.batch import dataset_items, five_points, run_batch
from faceexplorer.inference.run_cli import add_run_parser
from faceexplorer.reports.model_report import model_report
from faceexplorer.samples.affectnet import write_affectnet
from faceexplorer.samples.affectnet_c25 import write_c25

IMAGE_ROWS = 12


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small AffectNet (images for the first rows only) and C25, imported."""
    root = tmp_path_factory.mktemp("samples")
    rng = np.random.default_rng(7)
    sample = write_affectnet(root, "small", rng, images=True, image_rows=IMAGE_ROWS)
    write_c25(root, sample, rng)
    db = tmp_path_factory.mktemp("db") / "index.duckdb"
    import_path(db, root / "AffectNet", "affectnet")
    import_path(db, root / "AffectNetC25", "affectnet-c25")
    return db


def _fresh(index: Path, tmp_path: Path) -> Path:
    db = tmp_path / "index.duckdb"
    db.write_bytes(index.read_bytes())
    return db


def _stored(db: Path) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute("SELECT item, valid, message FROM predictions ORDER BY item"
                           ).fetchall()
    finally:
        con.close()


def _missing_expected(db: Path, n: int, dataset: str = "affectnet") -> int:
    con = connect(db, read_only=True)
    try:
        items = dataset_items(con, dataset)[:n]
    finally:
        con.close()
    return sum(not Path(it.image).is_file() for it in items)


def test_rows_equal_items_and_missing_counted(index: Path, tmp_path: Path,
                                              models: dict[str, Path]) -> None:
    db = _fresh(index, tmp_path)
    result = run_batch(db, models["va"], "affectnet", limit=30, chunk=8)
    assert result.status == "finished"
    rows = _stored(db)
    assert len(rows) == 30 == result.items_written
    missing = _missing_expected(db, 30)
    assert missing > 0 and result.items_missing == missing
    assert sum("image file missing" in (m or "") for _, _, m in rows) == missing
    (run,) = P.runs(connect(db, read_only=True))
    assert run.items_done == 30 and run.items_missing == missing and run.status == "finished"
    con = connect(db, read_only=True)
    preds = P.predictions_of_image(con, "train", 0)
    assert len(preds) == 1 and preds[0].valid
    assert abs(sum(preds[0].expression.values()) - 1) < 1e-6
    assert preds[0].valence is not None
    con.close()


def test_cancel_then_resume_no_duplicates(index: Path, tmp_path: Path,
                                          models: dict[str, Path]) -> None:
    db = _fresh(index, tmp_path)
    seen = []

    def stop_after_13() -> bool:
        return len(seen) >= 13

    first = run_batch(db, models["logits8"], "affectnet", limit=40, chunk=10,
                      should_stop=stop_after_13, progress=lambda d, t, r: seen.append(d))
    assert first.status == "stopped"
    assert 0 < len(_stored(db)) < 40

    def ctrl_c(done: int, total: int, rate: float) -> None:
        if done == 25:
            raise KeyboardInterrupt

    second = run_batch(db, models["logits8"], "affectnet", limit=40, chunk=10, progress=ctrl_c)
    assert second.status == "stopped" and "Ctrl-C" in second.message
    third = run_batch(db, models["logits8"], "affectnet", limit=40, chunk=10)
    assert third.status == "finished" and third.items_before + third.items_written == 40
    items = [r[0] for r in _stored(db)]
    assert len(items) == len(set(items)) == 40
    (run,) = P.runs(connect(db, read_only=True))
    assert run.items_done == 40


def test_c25_run_and_report(index: Path, tmp_path: Path, models: dict[str, Path]) -> None:
    db = _fresh(index, tmp_path)
    result = run_batch(db, models["va"], "affectnet-c25", limit=50)
    assert result.items_written == 50
    con = connect(db, read_only=True)
    report = model_report(con, result.run_id)
    con.close()
    e = report["expression"]
    assert e["valid_items"] == 50 - result.items_failed
    if e["valid_items"]:
        assert e["vs_crowd_majority"]["n"] == e["valid_items"]
        assert 0 <= e["vs_crowd_votes"]["js_divergence_mean"] <= 1


def test_nan_rows_flagged_invalid(index: Path, tmp_path: Path, models: dict[str, Path]) -> None:
    db = _fresh(index, tmp_path)
    result = run_batch(db, models["nan"], "affectnet", limit=IMAGE_ROWS)
    rows = _stored(db)
    with_image = IMAGE_ROWS - _missing_expected(db, IMAGE_ROWS)
    nan_rows = [r for r in rows if "NaN" in (r[2] or "")]
    assert len(nan_rows) >= with_image - 2  # rows without a face box say so instead
    assert not any(v for _, v, _ in rows)
    assert result.items_failed == IMAGE_ROWS


def test_five_points_from_68() -> None:
    pts = np.arange(136, dtype=float)
    five = five_points(pts)
    p = pts.reshape(68, 2)
    assert np.allclose(five[0], p[36:42].mean(0)) and np.allclose(five[4], p[54])


def test_cli_end_to_end(index: Path, tmp_path: Path, models: dict[str, Path],
                        capsys: pytest.CaptureFixture[str]) -> None:
    db = _fresh(index, tmp_path)
    parser = argparse.ArgumentParser()
    add_run_parser(parser.add_subparsers())
    args = parser.parse_args(["run", str(models["va"]), "--dataset", "affectnet",
                              "--limit", "20", "--db", str(db)])
    assert args.func(args) == 0
    out = capsys.readouterr()
    assert "vs AffectNet label" in out.out and "20 items written" in out.err
    # piped (not a terminal): each progress line on its own, no carriage returns (issue 14)
    assert "\r" not in out.err
    lines = out.err.splitlines()
    assert any(re.fullmatch(r"\d+/\d+ items, [\d.]+ items/s", line) for line in lines)
    assert all(line.count("items/s") <= 1 for line in lines)
    assert "20/20 items stored" in lines
    assert len(_stored(db)) == 20
    # The same command again resumes: nothing new, nothing duplicated.
    assert args.func(args) == 0
    assert len(_stored(db)) == 20


def test_unknown_dataset_and_bad_model(index: Path, tmp_path: Path,
                                       models: dict[str, Path]) -> None:
    from faceexplorer.core.errors import FaceExplorerError
    db = _fresh(index, tmp_path)
    with pytest.raises(FaceExplorerError, match="expected one of"):
        run_batch(db, models["va"], "faces")
    with pytest.raises(FaceExplorerError, match="cannot load"):
        run_batch(db, models["broken"], "affectnet")
    with pytest.raises(FaceExplorerError, match="no HRM"):
        run_batch(db, models["au22"], "hrm")
