"""Every-frame analysis (issue 13): rows, faceless frames, image folders, resume, index."""

from __future__ import annotations

from pathlib import Path

import cv2
import duckdb
import numpy as np
import pandas as pd
import pytest

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference import analyze as analyze_mod
from faceexplorer.inference.analyze import DetectorSettings, run_analysis
from faceexplorer.inference.analyze_input import FrameRange
from faceexplorer.inference.analyze_table import parts_root
from faceexplorer.inference.detect import HaarFaceDetector
from faceexplorer.inference.pipeline import Pipeline
from faceexplorer.inference.session import open_model
from faceexplorer.inference.sources import Frame
from tests.inference.videos import (
    astronaut_bgr,
    blank_frame,
    face_video,
    faces_frame,
    overstate_frame_count,
    write_video,
)

N = 30
FACELESS = (4, 5, 17)
EXPR = ["expr_anger", "expr_contempt", "expr_disgust", "expr_fear", "expr_happy",
        "expr_neutral", "expr_sad", "expr_surprise"]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return face_video(tmp_path_factory.mktemp("v") / "face.avi", n=N, faceless_at=FACELESS)


def _table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return duckdb.sql(f"SELECT * FROM read_parquet('{path}')").df()
    return pd.read_csv(path)


def test_every_frame_has_a_row_faceless_ones_too(models: dict[str, Path], video: Path,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "faces.csv"
    result = run_analysis(models["va"], [video], out, db_path=None)
    assert result.status == "finished"
    t = _table(out)
    assert list(t.columns[:13]) == ["source", "file", "frame_index", "timestamp_s",
                                    "face_index", "face_found", "box_x", "box_y", "box_w",
                                    "box_h", "detector_score", "valid", "message"]
    assert list(t.columns[13:]) == EXPR + ["valence", "arousal"]
    assert sorted(set(t.frame_index)) == list(range(N))
    faceless = t[~t.face_found]
    assert sorted(faceless.frame_index) == list(FACELESS)
    assert faceless[EXPR + ["valence", "box_x", "face_index"]].isna().all().all()
    found = t[t.face_found]
    assert np.allclose(found[EXPR].sum(axis=1), 1.0)
    assert (found.detector_score > 0).all() and (found.box_w > 20).all()
    assert np.allclose(t.timestamp_s, t.frame_index / 25.0)
    summary = result.inputs[0]
    assert summary.sentence() == f"face found in {N - len(FACELESS)} of {N} frames"
    assert summary.end_reason == f"end of video ({N} frames)"
    assert not parts_root(out).exists()


def test_outputs_match_the_pipeline_frame_by_frame(models: dict[str, Path], video: Path,
                                                   tmp_path: Path) -> None:
    """Batching faces of several frames gives each face what it gets alone."""
    out = tmp_path / "faces.parquet"
    run_analysis(models["va"], [video], out, detector=DetectorSettings("haar"), batch=4)
    t = _table(out).set_index("frame_index")
    model = open_model(models["va"])
    pipeline = Pipeline(model, DetectorSettings("haar").build())
    cap = cv2.VideoCapture(str(video))
    for i in range(N):
        ok, image = cap.read()
        assert ok
        preds = pipeline.process(Frame(i, i / 25.0, image))
        if i in FACELESS:
            assert not preds
            continue
        row = t.loc[i]
        assert row.box_x == pytest.approx(preds[0].box[0])
        assert row.valence == pytest.approx(preds[0].valence, rel=1e-5)
        assert row.expr_sad == pytest.approx(preds[0].expression["sad"], rel=1e-5)
    cap.release()


def test_faceless_video_says_so(models: dict[str, Path], tmp_path: Path) -> None:
    video = write_video(tmp_path / "empty.avi", [blank_frame(i) for i in range(9)])
    result = run_analysis(models["logits8"], [video], tmp_path / "o.csv")
    assert result.inputs[0].sentence() == "no face found in any of the 9 frames"
    t = _table(tmp_path / "o.csv")
    assert len(t) == 9 and not t.face_found.any()


def test_image_folder_resets_tracking_and_names_files(models: dict[str, Path],
                                                      tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "1_left.png"), faces_frame(left=True, right=False))
    cv2.imwrite(str(folder / "2_both.png"), faces_frame())
    cv2.imwrite(str(folder / "3_astronaut.jpg"), astronaut_bgr())
    cv2.imwrite(str(folder / "4_blank.png"), blank_frame())
    (folder / "5_broken.jpg").write_bytes(b"not a jpeg")
    (folder / "notes.txt").write_text("not an image")
    result = run_analysis(models["logits8"], [folder], tmp_path / "o.csv")
    t = _table(tmp_path / "o.csv")
    per_file = t.groupby("file").face_found.sum().to_dict()
    # A tracker carried over from the first image would follow its one face only.
    assert per_file == {"1_left.png": 1, "2_both.png": 2, "3_astronaut.jpg": 1,
                        "4_blank.png": 0, "5_broken.jpg": 0}
    broken = t[t.file == "5_broken.jpg"].iloc[0]
    assert not broken.valid and "not a readable image" in broken.message
    assert t.timestamp_s.isna().all()
    assert result.inputs[0].sentence() == "face found in 3 of 5 images"


def test_single_image_and_two_inputs(models: dict[str, Path], video: Path,
                                     tmp_path: Path) -> None:
    image = tmp_path / "astronaut.png"
    cv2.imwrite(str(image), astronaut_bgr())
    result = run_analysis(models["logits8"], [image, video], tmp_path / "o.parquet")
    t = _table(tmp_path / "o.parquet")
    assert list(t.source.drop_duplicates()) == [str(image.resolve()), str(video.resolve())]
    assert [s.frames for s in result.inputs] == [1, N]


def test_frame_and_time_ranges_with_stride(models: dict[str, Path], video: Path,
                                           tmp_path: Path) -> None:
    run_analysis(models["logits8"], [video], tmp_path / "a.csv",
                 frames=FrameRange(10, 20, 3))
    assert sorted(set(_table(tmp_path / "a.csv").frame_index)) == [10, 13, 16, 19]
    run_analysis(models["logits8"], [video], tmp_path / "b.csv", seconds=(0.4, 0.6))
    assert sorted(set(_table(tmp_path / "b.csv").frame_index)) == list(range(10, 15))
    image = tmp_path / "astronaut.png"
    cv2.imwrite(str(image), astronaut_bgr())
    with pytest.raises(FaceExplorerError, match="time range needs a video"):
        run_analysis(models["logits8"], [image], tmp_path / "c.csv", seconds=(0, 1))


def test_interrupted_run_resumes_to_the_same_table(models: dict[str, Path], video: Path,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze_mod, "PART_FRAMES", 4)
    other = tmp_path / "other.avi"
    other.write_bytes(video.read_bytes())  # same frames, another source
    whole = tmp_path / "whole.csv"
    run_analysis(models["va"], [video, other], whole)
    out = tmp_path / "resumed.csv"
    seen = {"n": 0}

    def stop_after_11() -> bool:
        seen["n"] += 1
        return seen["n"] >= 11

    first = run_analysis(models["va"], [video, other], out, should_stop=stop_after_11)
    assert first.status == "stopped" and not out.exists()
    # Two whole parts of 4 frames were written; the third, unfinished, is redone.
    assert first.inputs[0].frames == 8 and not first.inputs[0].complete
    assert parts_root(out).is_dir()
    second = run_analysis(models["va"], [other, video], out)  # order changed: still resumes
    assert second.status == "finished"
    assert [s.frames_before for s in second.inputs] == [0, 8]
    assert second.frames_this_run == 2 * N - 8
    both = _table(whole)
    swapped = pd.concat([both[both.source == str(other.resolve())],
                         both[both.source == str(video.resolve())]], ignore_index=True)
    pd.testing.assert_frame_equal(_table(out), swapped)
    assert not parts_root(out).exists()


def test_other_settings_do_not_reuse_old_parts(models: dict[str, Path], video: Path,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze_mod, "PART_FRAMES", 4)
    out = tmp_path / "o.csv"
    calls = iter(range(100))
    stop = run_analysis(models["va"], [video], out, should_stop=lambda: next(calls) >= 5)
    assert stop.status == "stopped" and stop.inputs[0].frames == 4
    again = run_analysis(models["va"], [video], out, frames=FrameRange(stride=2))
    assert again.inputs[0].frames_before == 0
    assert sorted(set(_table(out).frame_index)) == list(range(0, N, 2))
    assert any("earlier run with other settings" in w for w in again.warnings)


def test_overstated_header_ends_normally(models: dict[str, Path], tmp_path: Path) -> None:
    video = overstate_frame_count(face_video(tmp_path / "v.avi", n=20), 23)
    result = run_analysis(models["logits8"], [video], tmp_path / "o.csv")
    s = result.inputs[0]
    assert s.frames == 20 and s.frames_in_source == 20
    assert s.end_reason == "end of video (20 frames; its header announced 23)"


def test_stored_in_the_index(models: dict[str, Path], video: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.duckdb"
    out = tmp_path / "o.parquet"
    for _ in range(2):  # storing the same analysis again replaces it
        result = run_analysis(models["au22"], [video], out, db_path=db)
    assert result.stored_rows == result.rows == N
    con = duckdb.connect(str(db), read_only=True)
    a = con.execute("SELECT model_sha256, frames, frames_with_face, rows, detector->>'kind', "
                    "card->>'name' FROM analyses").fetchall()
    assert len(a) == 1 and a[0][1:5] == (N, N - len(FACELESS), N, "haar")
    src = con.execute("SELECT source_sha256, kind, frames_in_source, end_reason "
                      "FROM analysis_sources").fetchall()
    assert src[0][1:3] == ("video", N) and len(src[0][0]) == 64
    aus = con.execute("SELECT aus, expression, face_found FROM analysis_rows "
                      "ORDER BY frame_index").fetchall()
    assert len(aus[0][0]) == 22 and aus[0][1] is None and aus[0][2]
    assert aus[FACELESS[0]][0] is None
    con.close()
    table = _table(out)
    assert [c for c in table.columns if c.startswith("au_")][:3] == ["au_AU1", "au_AU2",
                                                                      "au_AU4"]


def test_refusals_before_any_work(models: dict[str, Path], video: Path,
                                  tmp_path: Path) -> None:
    with pytest.raises(FaceExplorerError, match=r"\.csv or \.parquet"):
        run_analysis(models["va"], [video], tmp_path / "o.xlsx")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(FaceExplorerError, match="cannot write the table here"):
        run_analysis(models["va"], [video], blocker / "o.csv")
    with pytest.raises(FaceExplorerError, match="no such file or folder"):
        run_analysis(models["va"], [tmp_path / "missing.mp4"], tmp_path / "o.csv")
    with pytest.raises(FaceExplorerError, match="no such YuNet model file"):
        DetectorSettings.from_choice(tmp_path / "yunet.onnx")
    assert HaarFaceDetector  # the default detector is available in the test environment


def test_a_busy_index_keeps_the_table_and_a_window_can_lend_its_connection(
        models: dict[str, Path], video: Path, tmp_path: Path) -> None:
    db, out = tmp_path / "index.duckdb", tmp_path / "o.csv"
    duckdb.connect(str(db)).close()
    holder = duckdb.connect(str(db), read_only=True)  # as the window holds it
    try:
        busy = run_analysis(models["logits8"], [video], out, db_path=db)
    finally:
        holder.close()
    # DuckDB refuses a read-write connection beside a read-only one of the same file.
    assert busy.stored_rows is None and "not stored in the index" in busy.index_message
    assert out.exists() and parts_root(out).is_dir()  # kept: the rerun stores them
    lent = []

    class Lend:
        def __enter__(self) -> None:
            lent.append("closed")

        def __exit__(self, *exc: object) -> None:
            lent.append("reopened")

    again = run_analysis(models["logits8"], [video], out, db_path=db, index_access=Lend)
    assert again.stored_rows == N and lent == ["closed", "reopened"]
    assert not parts_root(out).exists()
