"""index.video_tracks and analysis_query's series, against the files read independently.

Analyses are stored as ``run_analysis`` stores them (``index.analyses.store_analysis``
over Parquet parts) with hand-made rows, so every value is known: two models of one
video (one with AUs, one every 2nd frame), a copy of the video elsewhere (same sha256),
an unrelated video. The HRM labels and OpenFace CSVs are the small samples.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from faceexplorer.datasets.registry import import_path
from faceexplorer.index import analysis_query as aq
from faceexplorer.index import video_tracks as vt
from faceexplorer.index.analyses import AnalysisSource, store_analysis
from faceexplorer.samples.hrm import write_hrm
from faceexplorer.samples.openface import write_openface

N = 40


def _rows(source: str, stride: int, aus: bool, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = np.arange(0, N, stride)
    found = (frames % 7) != 3
    table = pd.DataFrame({
        "source": source, "file": None, "frame_index": frames, "timestamp_s": frames / 25,
        "face_index": pd.array(np.where(found, 0, -1), dtype="Int32"), "face_found": found,
        "box_x": 1.0, "box_y": 2.0, "box_w": 3.0, "box_h": 4.0, "detector_score": 9.0,
        "valid": found, "message": None})
    table.loc[~found, "face_index"] = pd.NA
    for k in ("happy", "sad", "neutral"):       # the model's own order, not alphabetical
        table[f"expr_{k}"] = np.where(found, rng.random(len(frames)), np.nan)
    if aus:
        for k in ("AU12", "AU1"):
            table[f"au_{k}"] = np.where(found, rng.random(len(frames)), np.nan)
    return table


def _store(con, folder: Path, name: str, source: str, sha: str, stride: int = 1,
           aus: bool = False, seed: int = 0, kind: str = "video") -> pd.DataFrame:
    table = _rows(source, stride, aus, seed)
    part = folder / f"{name}.parquet"
    table.to_parquet(part)
    meta = {"model_path": f"/m/{name}.onnx", "model_name": name, "model_sha256": name,
            "card": {}, "detector": {"kind": "haar"},
            "settings": {"frames": {"start": 0, "stop": None, "stride": stride}},
            "output": str(part), "started_at": None}
    store_analysis(con, name, meta, [AnalysisSource(source, sha, kind, len(table),
                                                    int(table.face_found.sum()), N, "")],
                   [part], list(table.columns))
    return table


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("video_tracks")
    sample = write_hrm(root, "small", np.random.default_rng(7), images=False)
    import cv2

    video = sample.root / "videos" / "S1.mp4"
    video.parent.mkdir(parents=True)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25, (16, 16))
    for k in range(N):                          # the importer counts its frames
        writer.write(np.full((16, 16, 3), k, dtype=np.uint8))
    writer.release()
    openface = write_openface(root, sample, "small", np.random.default_rng(8))
    db = root / "index.duckdb"
    import_path(db, sample.root, "hrm")
    import_path(db, openface.root, "openface")
    con = duckdb.connect(str(db))
    stored = con.execute("SELECT video_path FROM hrm_children WHERE child = 'S1'").fetchone()
    s1 = str(stored[0])
    tables = {
        "a": _store(con, root, "a", s1, "sha1", aus=True, seed=1),
        "b": _store(con, root, "b", s1, "sha1", stride=2, seed=2),
        "copy": _store(con, root, "copy", "/elsewhere/S1.mp4", "sha1", seed=3),
        "other": _store(con, root, "other", "/elsewhere/other.mp4", "sha2", seed=4),
        "folder": _store(con, root, "folder", str(root / "HRM" / "origin" / "S1"), "sha3",
                         seed=5, kind="images")}
    yield con, s1, tables, sample, openface
    con.close()


def test_series_are_the_stored_rows(index) -> None:
    con, s1, tables, *_ = index
    series = aq.input_series(con, "a", s1)
    table = tables["a"]
    assert series.labels == ("happy", "sad", "neutral") and series.aus == ("AU12", "AU1")
    np.testing.assert_array_equal(series.frames, table.frame_index)
    np.testing.assert_array_equal(series.probabilities[0], table.expr_happy)
    np.testing.assert_array_equal(series.au_probabilities[1], table.au_AU1)
    assert series.face_found.tolist() == table.face_found.tolist()
    assert np.isnan(series.boxes[~table.face_found.to_numpy()]).all()
    assert (series.boxes[table.face_found.to_numpy()] == [1, 2, 3, 4]).all()
    assert series.files == (None,) * N
    plain = aq.input_series(con, "b", s1)
    assert plain.aus == () and plain.au_probabilities.shape == (0, N // 2)


def test_analyses_of_the_same_file_by_hash_or_path(index) -> None:
    con, s1, *_ = index
    found = vt.covering_analyses(con, "b", s1)
    assert [c.analysis_id for c in found][0] == "b"          # the opened one first
    assert {c.analysis_id for c in found} == {"a", "b", "copy"}
    copy = next(c for c in found if c.analysis_id == "copy")
    assert copy.source == "/elsewhere/S1.mp4"                # its own stored path
    assert next(c for c in found if c.analysis_id == "b").title == "b · Haar · every 2 frames"
    assert [c.analysis_id for c in vt.covering_analyses(con, "other",
                                                         "/elsewhere/other.mp4")] == ["other"]


def test_openface_and_human_labels_of_the_child(index) -> None:
    con, s1, _tables, sample, openface = index
    assert vt.hrm_child_of(con, s1) == "S1"
    assert vt.hrm_child_of(con, "/moved/S1.mp4") == "S1"      # by its file name
    frames = con.execute("SELECT video_frames FROM hrm_children WHERE child = 'S1'"
                         ).fetchone()[0]
    assert frames == N        # a name match needs the same frame count when both known
    assert vt.hrm_child_of(con, "/moved/S1.mp4", N) == "S1"
    assert vt.hrm_child_of(con, "/moved/S1.mp4", N + 1) is None
    assert vt.hrm_child_of(con, s1, N + 1) == "S1"            # its own path: no check
    assert vt.hrm_child_of(con, "/elsewhere/other.mp4") is None
    tracks = vt.input_tracks(con, "copy", "/elsewhere/S1.mp4")
    assert tracks.child == "S1" and tracks.human is not None
    labels = pd.read_csv(sample.child("S1").csv).sort_values("frame")
    np.testing.assert_array_equal(tracks.human.frames, labels.frame)
    np.testing.assert_array_equal(tracks.human.rows(["AU12"])[0], labels.AU12)
    of = tracks.openface
    csv = pd.read_csv(next(f.path for f in openface.files if f.child == "S1"),
                      skipinitialspace=True)
    np.testing.assert_array_equal(of.frames, csv.frame - 1)  # OpenFace counts from 1
    ok = csv.success.to_numpy() == 1
    i = of.aus.index("AU12")
    np.testing.assert_allclose(of.intensity[i][ok], csv.AU12_r[ok])
    assert np.isnan(of.intensity[i][~ok]).all()
    np.testing.assert_allclose(of.confidence, csv.confidence)
    assert set(tracks.series) == {"a", "b"}          # the opened one's is read apart
    nothing = vt.input_tracks(con, "other", "/elsewhere/other.mp4")
    assert nothing.openface is None and nothing.human is None and nothing.child is None
    # a folder of S1's frames: images in order, not frame numbers; nothing aligned to it
    folder = vt.input_tracks(con, "folder", str(tracks_root(con) / "origin" / "S1"))
    assert folder.openface is None and folder.human is None
    assert [c.analysis_id for c in folder.analyses] == ["folder"]


def tracks_root(con) -> Path:
    return Path(con.execute("SELECT video_path FROM hrm_children WHERE child = 'S1'"
                            ).fetchone()[0]).parents[1]


def test_one_model_run_twice_gets_told_apart_by_when(index, tmp_path: Path) -> None:
    """The same model over the same video twice (window and command line): equal titles
    would list and label two rows alike; each gets when it finished."""
    con, *_ = index
    for name, at in (("twin1", "2026-01-02 10:00:05"), ("twin2", "2026-01-02 11:30:00"),
                     ("twin3", "2026-01-02 11:30:40")):
        _store(con, tmp_path, name, "/elsewhere/twin.mp4", "sha9", seed=6)
        con.execute("UPDATE analyses SET model_name = 'twin', finished_at = ? "
                    "WHERE analysis_id = ?", [at, name])
    _store(con, tmp_path, "lone", "/elsewhere/twin.mp4", "sha9", stride=3, seed=7)
    titles = [c.title for c in vt.covering_analyses(con, "twin1", "/elsewhere/twin.mp4")]
    assert titles[0] == "twin · Haar · 2026-01-02 10:00:05"
    assert sorted(titles[1:]) == ["lone · Haar · every 3 frames",
                                  "twin · Haar · 2026-01-02 11:30:00",
                                  "twin · Haar · 2026-01-02 11:30:40"]
    con.execute("UPDATE analyses SET finished_at = '2026-01-02 11:30:00' "
                "WHERE analysis_id = 'twin3'")
    titles = [c.title for c in vt.covering_analyses(con, "twin1", "/elsewhere/twin.mp4")]
    assert sorted(titles) == ["lone · Haar · every 3 frames",
                              "twin · Haar · 2026-01-02 10:00:05 (twin1)",
                              "twin · Haar · 2026-01-02 11:30:00 (twin2)",
                              "twin · Haar · 2026-01-02 11:30:00 (twin3)"]


def test_live_recordings_of_the_video_stack_with_its_analyses(index) -> None:
    """A live recording of the video sat alone (opened, nothing else; an analysis of the
    video did not offer it): it now stacks both ways, by its stored path."""
    from faceexplorer.inference.recording import LIVE_SCHEMA

    con, s1, *_ = index
    con.execute(LIVE_SCHEMA)
    con.execute("INSERT INTO live_sessions VALUES ('take', '/r/take.csv', '/m/demo.onnx', "
                "'demo', 'x', '{}', ?, 'Haar cascade (OpenCV), tracking', "
                "'2026-01-01 09:00', '2026-01-01 09:01', 'end of video', 2)", [s1])
    con.executemany("INSERT INTO live_predictions VALUES ('take', ?, ?, 0, ?, 1, 1, 5, 5, "
                    "?, '', MAP {'happy': 0.9}, NULL, NULL, NULL)",
                    [[0, 0.0, 0, True], [1, 0.04, -1, False], [2, 0.08, 0, True]])
    found = vt.covering_analyses(con, "a", s1)
    assert [c.analysis_id for c in found][0] == "a" and "live:take" in \
        [c.analysis_id for c in found]
    live = next(c for c in found if c.analysis_id == "live:take")
    assert live.title == "live: demo · Haar cascade (OpenCV), tracking"
    opened = vt.covering_analyses(con, "live:take", s1)
    assert opened[0].analysis_id == "live:take"
    assert {c.analysis_id for c in opened} == {"live:take", "a", "b", "copy"}
    tracks = vt.input_tracks(con, "a", s1)
    series = tracks.series["live:take"]
    assert series.frames.tolist() == [0, 1, 2]
    assert series.face_found.tolist() == [True, False, True]
