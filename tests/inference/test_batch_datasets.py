"""Batch runs over HRM and RaFD-D end to end: sample files -> import -> run -> stored rows
-> model AU rows and per-AU F1 / kappa (HRM), confusion against the RaFD labels (RaFD-D).

The small synthetic HRM and RaFD-D samples are written with their images and imported
once per module; a few frame / image files are then deleted so missing files must be
counted and reported. Runs use ``children=`` / ``--limit`` to stay small. Agreement is
checked against a hand computation (F1) and statsmodels' ``cohens_kappa`` (kappa).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest

from faceexplorer import cli
from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.datasets.registry import import_path
from faceexplorer.index import predictions as P
from faceexplorer.index.store import connect
from faceexplorer.inference.batch import run_batch
from faceexplorer.inference.session import open_model
from faceexplorer.reports.model_aus import au_runs_of_child, child_model_aus
from faceexplorer.reports.model_report import format_report, model_report
from faceexplorer.samples.generate import write_samples

inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")

S1_LIMIT = 40
S1_DELETED = (3, 7)          # positions (in frame order) of S1 frames whose files go
RAFD_DELETED = 1             # RaFD images deleted after the import


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """HRM and RaFD-D samples (with images) imported; some files then deleted."""
    root = tmp_path_factory.mktemp("samples")
    write_samples(root, "small", seed=5, only=["hrm", "rafd-d"])
    db = tmp_path_factory.mktemp("db") / "index.duckdb"
    import_path(db, root / "HRM", "hrm")
    import_path(db, root / "RaFD-D", "rafd-d")
    con = connect(db, read_only=True)
    s1 = con.execute("SELECT f.frame, c.frames_dir FROM hrm_frames f JOIN hrm_children c "
                     "USING (child) WHERE child = 'S1' ORDER BY frame").fetchall()
    rafd = con.execute("SELECT stem, path FROM rafd_images ORDER BY stem").fetchall()
    con.close()
    gone = {"hrm": [], "rafd": []}
    for k in S1_DELETED:
        frame, frames_dir = s1[k]
        (Path(frames_dir) / f"{frame}_0.jpg").unlink()
        gone["hrm"].append(f"S1/{frame}")
    for stem, path in rafd[10:10 + RAFD_DELETED]:
        Path(path).unlink()
        gone["rafd"].append(stem)
    return db, gone


def _copy(index: tuple[Path, dict], tmp_path: Path) -> Path:
    db = tmp_path / "index.duckdb"
    shutil.copyfile(index[0], db)
    return db


def _rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def s1_run(index: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory,
           models: dict[str, Path]) -> tuple[Path, object]:
    """The 22-AU model over the first S1_LIMIT frames of child S1."""
    db = tmp_path_factory.mktemp("s1") / "index.duckdb"
    shutil.copyfile(index[0], db)
    result = run_batch(db, models["au22"], "hrm", children=["S1"], limit=S1_LIMIT, chunk=16)
    return db, result


def test_hrm_rows_per_frame_with_hash_card_and_missing(index: tuple[Path, dict],
                                                        s1_run: tuple[Path, object],
                                                        models: dict[str, Path]) -> None:
    db, result = s1_run
    assert result.status == "finished" and result.items_written == S1_LIMIT
    frames = [f for (f,) in _rows(db, "SELECT frame FROM hrm_frames WHERE child = 'S1' "
                                  "ORDER BY frame")][:S1_LIMIT]
    stored = _rows(db, "SELECT item, child, frame, valid, message, aus FROM predictions "
                   "ORDER BY frame")
    assert [r[0] for r in stored] == [f"S1/{f}" for f in frames]
    assert all(r[1] == "S1" for r in stored) and [r[2] for r in stored] == frames
    # Missing frame files: stored as invalid rows saying so, and counted.
    missing = [r[0] for r in stored if "image file missing" in (r[4] or "")]
    assert missing == index[1]["hrm"] == [f"S1/{frames[k]}" for k in S1_DELETED]
    assert result.items_missing == len(S1_DELETED)
    assert all(r[4] for r in stored if not r[3])  # every invalid row says why
    assert result.items_failed == sum(not r[3] for r in stored)
    valid = [r for r in stored if r[3]]
    assert len(valid) >= S1_LIMIT // 2
    aus = np.array([r[5] for r in valid])
    assert aus.shape == (len(valid), 22) and ((aus >= 0) & (aus <= 1)).all()
    # The run is keyed by the model's sha256 and keeps its card.
    sha = hashlib.sha256(models["au22"].read_bytes()).hexdigest()
    (run,) = P.runs(connect(db, read_only=True))
    assert run.model_sha256 == sha and run.run_id == P.run_id_for(sha, "hrm")
    assert (run.items_done, run.items_missing, run.items_failed) == (
        S1_LIMIT, len(S1_DELETED), result.items_failed)
    card = json.loads(_rows(db, "SELECT card FROM model_runs")[0][0])
    assert card == open_model(models["au22"]).card.to_dict()
    assert run.au_labels == tuple(card["outputs"][0]["labels"][0])


def _hand_agreement(human: np.ndarray, probs: np.ndarray, threshold: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """F1 by hand and Cohen's kappa from statsmodels, per column."""
    f1, kappa = [], []
    for j in range(human.shape[1]):
        h, m = human[:, j] != 0, probs[:, j] >= threshold
        tp, fp, fn, tn = (h & m).sum(), (~h & m).sum(), (h & ~m).sum(), (~h & ~m).sum()
        f1.append(2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else np.nan)
        p_e = ((tp + fn) * (tp + fp) + (tn + fp) * (tn + fn)) / len(h) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):  # its z-test when kappa is 0
            kappa.append(np.nan if p_e == 1 else
                         inter_rater.cohens_kappa(np.array([[tp, fn], [fp, tn]])).kappa)
    return np.array(f1, dtype=float), np.array(kappa, dtype=float)


def test_hrm_model_rows_and_agreement_match_independent_computation(
        s1_run: tuple[Path, object]) -> None:
    db, result = s1_run
    con = connect(db, read_only=True)
    try:
        (run,) = au_runs_of_child(con, "S1")
        assert au_runs_of_child(con, "S2") == []
        rows = child_model_aus(con, run, "S1")
        report = model_report(con, result.run_id)
        all_frames = [f for (f,) in con.execute(
            "SELECT frame FROM hrm_frames WHERE child = 'S1' ORDER BY frame").fetchall()]
        aus = [a for a in run.au_labels]
        cols = ", ".join(f'f."{a}"' for a in aus)
        got = con.execute(f"SELECT p.aus, {cols} FROM predictions p JOIN hrm_frames f "
                          "ON f.child = p.child AND f.frame = p.frame WHERE p.valid "
                          "ORDER BY p.frame").fetchall()
    finally:
        con.close()
    # The timeline's rows cover every labelled frame of the child, NaN where unpredicted.
    assert rows.aus == tuple(aus) and list(rows.frames) == all_frames
    assert rows.probabilities.shape == (22, len(all_frames))
    predicted = np.isfinite(rows.probabilities).all(axis=0)
    assert predicted.sum() == len(got) == rows.frames_compared
    probs = np.array([r[0] for r in got], dtype=float)
    human = np.array([r[1:] for r in got], dtype=float)
    np.testing.assert_array_equal(rows.probabilities[:, predicted].T, probs)
    f1, kappa = _hand_agreement(human, probs, rows.threshold)
    assert rows.threshold == 0.5
    np.testing.assert_allclose(rows.f1, f1, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(rows.kappa, kappa, rtol=1e-12, atol=1e-15, equal_nan=True)
    assert np.isfinite(f1).sum() >= 5  # the comparison is not all NaN
    # The run's report (all its frames: here S1's) says the same.
    per_au = report["aus"]["per_au"]
    assert report["aus"]["frames"] == len(got) and [r["au"] for r in per_au] == aus
    np.testing.assert_allclose([np.nan if r["f1"] is None else r["f1"] for r in per_au], f1,
                               rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose([np.nan if r["kappa"] is None else r["kappa"] for r in per_au],
                               kappa, rtol=1e-12, atol=1e-15, equal_nan=True)
    assert "AU12" in format_report(report)


def test_hrm_interrupted_then_resumed_without_duplicates(index: tuple[Path, dict],
                                                         tmp_path: Path,
                                                         models: dict[str, Path]) -> None:
    db = _copy(index, tmp_path)
    seen: list[int] = []
    first = run_batch(db, models["au17"], "hrm", children=["S2"], limit=24, chunk=4,
                      should_stop=lambda: len(seen) >= 7,
                      progress=lambda d, t, r: seen.append(d))
    assert first.status == "stopped" and 0 < first.items_written < 24

    def ctrl_c(done: int, total: int, rate: float) -> None:
        if done == 17:
            raise KeyboardInterrupt

    second = run_batch(db, models["au17"], "hrm", children=["S2"], limit=24, chunk=4,
                       progress=ctrl_c)
    assert second.status == "stopped" and "Ctrl-C" in second.message
    assert second.items_before == first.items_written
    third = run_batch(db, models["au17"], "hrm", children=["S2"], limit=24, chunk=4)
    assert third.status == "finished" and third.items_before + third.items_written == 24
    items = [r[0] for r in _rows(db, "SELECT item FROM predictions")]
    assert len(items) == len(set(items)) == 24
    assert _rows(db, "SELECT status, items_done FROM model_runs") == [("finished", 24)]
    # Another child continues the same run (one run per model and dataset).
    more = run_batch(db, models["au17"], "hrm", children=["S3"], limit=5)
    assert more.run_id == third.run_id and more.items_written == 5
    assert _rows(db, "SELECT status, items_done FROM model_runs") == [("finished", 29)]


def test_hrm_video_frames_truncated_video_and_no_media(index: tuple[Path, dict],
                                                       tmp_path: Path,
                                                       models: dict[str, Path]) -> None:
    db = _copy(index, tmp_path)
    con = duckdb.connect(str(db))
    # S4's video ends before its last labelled frames: read S4 from the video only, and
    # keep its last 30 frames so the run reaches the end cheaply.
    con.execute("UPDATE hrm_children SET frames_dir = NULL WHERE child = 'S4'")
    con.execute("DELETE FROM hrm_frames WHERE child = 'S4' AND frame < (SELECT max(frame) "
                "- 29 FROM hrm_frames WHERE child = 'S4')")
    video_frames, beyond, video = con.execute(
        "SELECT video_frames, frames_beyond_video, video_path FROM hrm_children "
        "WHERE child = 'S4'").fetchone()
    no_media = con.execute("SELECT frames_dir, video_path FROM hrm_children "
                           "WHERE child = 'S68'").fetchone()
    con.close()
    assert beyond > 0 and no_media == (None, None)
    result = run_batch(db, models["au22"], "hrm", children=["S4", "S68"], limit=35)
    rows = _rows(db, "SELECT child, frame, image, valid, message FROM predictions "
                 "ORDER BY child, frame")
    s4 = [r for r in rows if r[0] == "S4"]
    assert len(s4) == 30 and all(r[2] == video for r in s4)
    cut = [r for r in s4 if r[1] >= video_frames]
    assert len(cut) == beyond
    assert all(not r[3] and "truncated video" in r[4] for r in cut)
    assert any(r[3] for r in s4 if r[1] < video_frames)
    s68 = [r for r in rows if r[0] == "S68"]
    assert len(s68) == 5 and all("no image or video" in r[4] for r in s68)
    assert result.items_missing == 5  # the cut frames failed, but no file is missing
    assert result.items_failed >= beyond + 5


def test_cli_runs_one_child_with_limit_and_resumes(index: tuple[Path, dict], tmp_path: Path,
                                                   models: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = _copy(index, tmp_path)
    argv = ["run", str(models["au22"]), "--dataset", "hrm", "--child", "S67", "--limit",
            "15", "--db", str(db)]
    assert cli.main(argv) == 0
    out = capsys.readouterr()
    assert "15 items written" in out.err and "on hrm" in out.out
    valid = _rows(db, "SELECT count(*) FROM predictions WHERE valid")[0][0]
    # The report compares the valid frames with the coders, or says there are none.
    assert ("AU25" in out.out) if valid else ("nothing to compare" in out.out)
    assert {r[0] for r in _rows(db, "SELECT child FROM predictions")} == {"S67"}
    assert cli.main(argv) == 0
    assert "0 items written this time (15 were already stored)" in capsys.readouterr().err
    assert len(_rows(db, "SELECT 1 FROM predictions")) == 15


def test_cli_errors_read_well(index: tuple[Path, dict], tmp_path: Path,
                              models: dict[str, Path],
                              capsys: pytest.CaptureFixture[str]) -> None:
    db = _copy(index, tmp_path)
    model = str(models["au22"])
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", model, "--dataset", "faces", "--db", str(db)])
    assert exc.value.code == 2
    assert "invalid choice: 'faces' (choose from" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["run", model, "--dataset", "hrm", "--limit", "-1", "--db", str(db)])
    assert "expected 0 or more items" in capsys.readouterr().err
    assert cli.main(["run", model, "--dataset", "hrm", "--child", "S999", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "no HRM child 'S999'" in err and "S1, S2, S3, S4, S67, S68" in err
    assert cli.main(["run", model, "--dataset", "rafd-d", "--child", "S1", "--db",
                     str(db)]) == 1
    assert "only HRM runs" in capsys.readouterr().err
    nowhere = tmp_path / "none.duckdb"
    assert cli.main(["run", model, "--dataset", "hrm", "--db", str(nowhere)]) == 1
    assert "no index at" in capsys.readouterr().err and not nowhere.exists()
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--help"])
    assert exc.value.code == 0
    helptext = capsys.readouterr().out
    assert "rafd-d = RaFD RGB images" in helptext and "--child ID" in helptext
    with pytest.raises(FaceExplorerError, match="0 or more"):
        run_batch(db, models["au22"], "hrm", limit=-3)


def test_rafd_expression_run_and_confusion_against_rafd_labels(
        index: tuple[Path, dict], tmp_path: Path, models: dict[str, Path]) -> None:
    db = _copy(index, tmp_path)
    result = run_batch(db, models["logits8"], "rafd-d", chunk=32)
    labels = dict(_rows(db, "SELECT stem, emotion FROM rafd_images"))
    stored = _rows(db, "SELECT item, valid, message, predicted, " + ", ".join(P.P_COLUMNS)
                   + " FROM predictions ORDER BY item")
    assert result.status == "finished" and [r[0] for r in stored] == sorted(labels)
    missing = [r[0] for r in stored if "image file missing" in (r[2] or "")]
    assert missing == index[1]["rafd"] and result.items_missing == RAFD_DELETED
    assert all(r[2] for r in stored if not r[1])
    valid = [r for r in stored if r[1]]
    assert len(valid) >= 15  # the frontal views at least
    for r in valid:
        p = np.array(r[4:], dtype=float)
        assert abs(p.sum() - 1) < 1e-6 and r[3] == P.P_COLUMNS[int(p.argmax())][2:]
    con = connect(db, read_only=True)
    report = model_report(con, result.run_id)
    con.close()
    block = report["expression"]["vs_rafd_label"]
    codes = {e[2:]: i for i, e in enumerate(P.P_COLUMNS)}
    hand = np.zeros((8, 8), dtype=int)
    for r in valid:
        hand[codes[labels[r[0]]], codes[r[3]]] += 1
    assert block["confusion"] == hand.tolist() and block["n"] == len(valid)
    assert block["accuracy"] == pytest.approx(np.trace(hand) / len(valid))
    by_yaw = report["expression"]["by_yaw"]
    assert [y["yaw"] for y in by_yaw] == [-90, -45, 0, 45, 90]
    assert sum(y["n"] for y in by_yaw) == len(valid)
    assert sum(y["images"] for y in by_yaw) == len(labels)
    text = format_report(report)
    assert "vs RaFD label" in text and "yaw   +0" in text
