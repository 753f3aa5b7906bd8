"""The Analyses tab driven as a user would: pick a video and a model, Run, read the timeline.

A face video the tests write (30 frames, faces missing at frames 4, 5 and 17) and a tiny
model named like HSEmotion's (its shipped card applies) run from the tab on a real index
session. What the timeline and the frame label SHOW is compared with the analysis's own
table (the Parquet file ``faceexplorer analyze`` writes), read with DuckDB.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from faceexplorer.gui.analyses import AnalysesView
from faceexplorer.index.store import connect
from tests.inference.conftest import build_model
from tests.inference.videos import face_video

N = 30
FACELESS = (4, 5, 17)
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("analyses")
    return {"video": face_video(root / "face.avi", n=N, faceless_at=FACELESS),
            "model": build_model(root / "enet_b0_8_va_mtl.onnx", widths=(10,))}


@pytest.fixture
def view(qtbot, tmp_path: Path, sessions):
    db = tmp_path / "data" / "index.duckdb"
    connect(db).close()
    v = AnalysesView()
    qtbot.addWidget(v)
    v.resize(1366, 700)
    v.attach(sessions(db))
    v.show()
    qtbot.waitExposed(v)
    yield v
    v.close_workers()


def test_run_a_video_and_read_its_timeline(qtbot, view: AnalysesView, inputs, shoot) -> None:
    assert view.list.count() == 0 and "No analysis stored yet" in view.status.text()
    qtbot.keyClicks(view.input_edit, str(inputs["video"]))
    qtbot.keyClicks(view.model_edit, str(inputs["model"]))
    with qtbot.waitSignal(view.analysis_finished, timeout=TIMEOUT_MS) as got:
        qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
        assert view.running and not view.run_button.isEnabled()
    result = got.args[0]
    assert result.status == "finished"
    assert f"face found in {N - len(FACELESS)} of {N} frames" in view.status.text()
    # stored in the index and listed, chosen
    assert view.list.count() == 1 and view.current_analysis() == result.analysis_id
    series = view.series
    assert series is not None and len(series.frames) == N
    table = duckdb.sql(f"SELECT frame_index, face_found, valence FROM "
                       f"read_parquet('{result.output}') ORDER BY frame_index").fetchall()
    assert [bool(r[1]) for r in table] == series.face_found.tolist()
    np.testing.assert_allclose([np.nan if r[2] is None else r[2] for r in table],
                               series.valence, equal_nan=True)
    assert f"face in {N - len(FACELESS)}/{N}" in view.timeline.tracks[0].label.text
    strip = next(i for i in view.timeline.face_plot.items if hasattr(i, "image")).image[0]
    assert (strip[:, :3] == (60, 170, 90)).all(axis=1).tolist() == series.face_found.tolist()
    # the cursor follows a frame chosen on the slider; the frame is decoded and shown
    with qtbot.waitSignal(view.frame_shown, timeout=10_000):
        view.slider.setValue(FACELESS[0])
    assert view.timeline.cursor == FACELESS[0]
    assert "no face" in view.frame_label.text() and view.canvas.box is None
    with qtbot.waitSignal(view.frame_shown, timeout=10_000):
        view.slider.setValue(10)
    assert view.canvas.box is not None and view.canvas.rgb is not None
    top = series.labels[int(series.top[10])]
    assert top in view.frame_label.text()
    shoot(view, "analyses_view")


def test_export_table_equals_the_stored_rows(qtbot, view: AnalysesView, inputs,
                                             tmp_path: Path) -> None:
    view.input_edit.setText(str(inputs["video"]))
    view.model_edit.setText(str(inputs["model"]))
    view.stride_spin.setValue(3)
    assert "one frame in 3 is analysed" in view.detection_note.text()
    with qtbot.waitSignal(view.analysis_finished, timeout=TIMEOUT_MS) as got:
        view.start_run()
    assert len(view.series.frames) == N // 3
    out = tmp_path / "table.csv"
    rows = view.export_table(out)
    assert rows == N // 3
    text = out.read_text().splitlines()
    assert text[0].startswith("source,file,frame_index") and len(text) == rows + 1
    # the columns and values of the command line's table (they were MAPs as JSON text)
    own = pd.read_parquet(got.args[0].output)
    assert view.export_table(tmp_path / "t.parquet") == rows
    for exported in (pd.read_csv(out), pd.read_parquet(tmp_path / "t.parquet")):
        assert list(exported.columns) == list(own.columns)
        assert "expr_happy" in exported.columns and "valence" in exported.columns
        numbers = [c for c in own.columns if c.startswith(("expr_", "box_", "valence"))]
        np.testing.assert_allclose(exported[numbers].to_numpy(float),
                                   own[numbers].to_numpy(float), rtol=1e-6)
        assert exported["face_found"].tolist() == own["face_found"].tolist()


def test_refusals_say_what_to_do(qtbot, view: AnalysesView, inputs, tmp_path: Path) -> None:
    qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    assert "Choose a video file or a folder" in view.status.text()
    view.input_edit.setText(str(tmp_path / "nowhere.mp4"))
    qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    assert "no such file or folder" in view.status.text()
    broken = tmp_path / "enet_b0_8_best_afew.onnx"
    broken.write_bytes(b"not a model")
    view.input_edit.setText(str(tmp_path))           # a folder without images
    view.model_edit.setText(str(inputs["model"]))
    with qtbot.waitSignal(view.analysis_failed, timeout=TIMEOUT_MS) as got:
        view.start_run()
    assert "no images" in got.args[0] and "Traceback" not in got.args[0]
    view.input_edit.setText(str(inputs["video"]))
    view.model_edit.setText(str(broken))
    with qtbot.waitSignal(view.analysis_failed, timeout=TIMEOUT_MS) as got:
        view.start_run()
    assert "Traceback" not in got.args[0] and str(broken) in got.args[0]
    assert view.run_button.isEnabled()


def test_index_info_lists_the_analysis(qtbot, view: AnalysesView, inputs) -> None:
    from faceexplorer.datasets.info import format_info, index_info

    view.input_edit.setText(str(inputs["video"]))
    view.model_edit.setText(str(inputs["model"]))
    with qtbot.waitSignal(view.analysis_finished, timeout=TIMEOUT_MS):
        view.start_run()
    view.session.wait_until_idle(30)
    info = index_info(view.session.db_path)
    assert len(info["analyses"]) == 1
    text = format_info(info)
    assert "Every-frame analyses (1)" in text
    assert f"face in {N - len(FACELESS)} of {N} frames" in text and "face.avi" in text


def test_preferences_choose_the_detector_and_model(qtbot, view: AnalysesView,
                                                    tmp_path: Path) -> None:
    from faceexplorer.gui.preferences import Preferences

    yunet = tmp_path / "face_detection_yunet_2023mar.onnx"
    yunet.write_bytes(b"x")
    view.use_preferences(Preferences(detector="yunet", yunet_model=str(yunet)), "/m/a.onnx")
    assert view.detector_box.currentData() == "yunet" and yunet.name in \
        view.detector_box.currentText()
    assert view.model_edit.text() == "/m/a.onnx"
    note = view.detection_note.text()
    assert note.startswith("Detection as in Live") and "tracking restarts" not in note
    view.use_preferences(Preferences(), "/m/b.onnx")        # a chosen model is kept
    assert view.detector_box.currentData() == "haar" and view.model_edit.text() == "/m/a.onnx"


def test_live_recordings_are_listed_and_reopen(qtbot, view: AnalysesView, inputs,
                                               tmp_path: Path) -> None:
    from faceexplorer.inference.detect import HaarFaceDetector
    from faceexplorer.inference.live import LiveSession
    from faceexplorer.inference.pipeline import Pipeline
    from faceexplorer.inference.recording import import_recording
    from faceexplorer.inference.session import open_model
    from faceexplorer.inference.sources import VideoFileSource

    session = LiveSession(VideoFileSource(inputs["video"]),
                          Pipeline(open_model(inputs["model"]), HaarFaceDetector()),
                          lockstep=True, pace=False)
    csv_path = session.start_recording(tmp_path / "rec" / "take1.csv")
    session.start()
    assert session.join(timeout=60)
    recorded = len(session.recorded)
    db = view.session.db_path

    def store(_ctx, db_path):
        return import_recording(db_path, csv_path)

    from faceexplorer.gui.core.session import DatasetChange

    view.session.write(store, name="store the recording",
                       change=DatasetChange(frozenset({"live"}), "recording"))
    view.session.wait_until_idle(60)
    ids = [view.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(view.list.count())]
    assert "live:take1" in ids
    view.list.setCurrentRow(ids.index("live:take1"))
    series = view.series
    frames = {p.frame_index for p in session.recorded}
    assert not set(FACELESS) & frames
    # every frame the model saw has its row, a faceless one too (it was missing)
    no_face = [i for i in range(N) if i not in frames]
    assert series is not None and series.frames.tolist() == list(range(N))
    assert (~series.face_found).nonzero()[0].tolist() == no_face
    assert set(FACELESS) <= set(no_face) and np.isnan(series.probabilities[:, no_face]).all()
    item = view.list.item(ids.index("live:take1")).text()
    assert f"face in {len(frames)} of {N} frames" in item
    # the live mode stores the video's path: the values reopen with the video's frames
    assert view.inputs[0].kind == "video"
    assert view.inputs[0].source == str(Path(inputs["video"]).resolve())
    with qtbot.waitSignal(view.frame_shown, timeout=10_000):
        view.slider.setValue(3)
    assert view.timeline.cursor == series.frames[3]
    assert "frames not kept" not in view.frame_label.text()
    out = tmp_path / "take1.csv"
    assert view.export_table(out) == recorded + len(no_face)
    exported = duckdb.sql(f"SELECT frame_index, face_index, face_found FROM "
                          f"read_csv('{out}') WHERE NOT face_found").fetchall()
    assert exported == [(f, None, False) for f in no_face]
    assert db.exists()


def test_a_cluster_run_from_the_tab_gives_the_local_table(qtbot, view: AnalysesView, inputs,
                                                         tmp_path: Path) -> None:
    """Engine "Ray cluster" (its workers run in this process here: the real Ray engine is
    compared with the local one in tests/inference/test_cluster_ray.py)."""
    view.input_edit.setText(str(inputs["video"]))
    view.model_edit.setText(str(inputs["model"]))
    with qtbot.waitSignal(view.analysis_finished, timeout=TIMEOUT_MS) as local:
        view.start_run()
    local_rows = duckdb.sql(f"SELECT * EXCLUDE (source) FROM read_parquet('"
                            f"{local.args[0].output}') ORDER BY frame_index").fetchall()
    view.session.wait_until_idle(30)
    # the same analysis again on the cluster engine, into a fresh table
    local.args[0].output.unlink()
    import shutil

    from faceexplorer.inference.analyze_table import parts_root
    shutil.rmtree(parts_root(local.args[0].output), ignore_errors=True)
    view.engine_box.setCurrentIndex(view.engine_box.findData("ray"))
    view.ray_pool = "inline"
    with qtbot.waitSignal(view.analysis_finished, timeout=TIMEOUT_MS) as ray:
        view.start_run()
    result = ray.args[0]
    assert result.engine["name"] == "inline" and "engine: inline" in view.status.text()
    rows = duckdb.sql(f"SELECT * EXCLUDE (source) FROM read_parquet('{result.output}') "
                      "ORDER BY frame_index").fetchall()
    assert rows == local_rows


def test_a_stopped_run_says_which_frames_are_analysed_again(qtbot, view: AnalysesView,
                                                            tmp_path: Path) -> None:
    """Cancel keeps whole blocks of frames only: the bar said 61 / 472 and the status
    'no frame analysed. Run again to resume', so the 61 looked kept. Now the bar shows
    what is kept and the status says what the next run does again."""
    from faceexplorer.inference.analyze import AnalysisResult, InputSummary
    from faceexplorer.inference.analyze_table import PART_FRAMES

    def stop(frames: int, before: int, this_run: int) -> None:
        view._run_progress(before + this_run, 472, "scene.avi")
        view._run_done(AnalysisResult("x", tmp_path / "o.parquet", "stopped", "", [
            InputSummary(tmp_path / "scene.avi", "video", "s", frames=frames,
                         frames_before=before)], frames_this_run=this_run))

    stop(0, 0, 61)
    assert view.status.text() == (
        "Stopped: scene.avi: no frame analysed. Run again to resume; the 61 frame(s) "
        f"analysed since the last kept block (frames are kept {PART_FRAMES} at a time) "
        "are analysed again.")
    assert (view.progress.value(), view.progress.maximum()) == (0, 472)
    stop(PART_FRAMES, 0, PART_FRAMES + 10)          # one block kept, 10 frames to redo
    assert "the 10 frame(s) analysed since" in view.status.text()
    assert view.progress.value() == PART_FRAMES
    stop(PART_FRAMES, PART_FRAMES, 0)               # stopped before a new frame
    assert view.status.text().endswith("Run again to resume.")


def test_an_image_folder_is_listed_in_images(qtbot, view: AnalysesView, inputs,
                                             tmp_path: Path) -> None:
    """A folder's analysis was listed as 'face in 2 of 3 frames' (the command line and the
    status say images); a video's stays in frames."""
    import cv2

    from tests.inference.videos import blank_frame, face_frame

    folder = tmp_path / "photos"
    folder.mkdir()
    for i, img in enumerate((face_frame(0), blank_frame(), face_frame(20))):
        cv2.imwrite(str(folder / f"p{i}.png"), img)
    view.input_edit.setText(str(folder))
    view.model_edit.setText(str(inputs["model"]))
    with qtbot.waitSignal(view.analysis_finished, timeout=TIMEOUT_MS):
        view.start_run()
    assert "face found in 2 of 3 images" in view.status.text()
    assert " · face in 2 of 3 images · " in view.list.item(0).text()
    view.input_edit.setText(str(inputs["video"]))
    with qtbot.waitSignal(view.analysis_finished, timeout=TIMEOUT_MS):
        view.start_run()
    texts = [view.list.item(i).text() for i in range(view.list.count())]
    assert any(f"face in {N - len(FACELESS)} of {N} frames" in t for t in texts)


def test_a_header_that_overcounts_is_named_in_the_status(qtbot, view: AnalysesView,
                                                         tmp_path: Path) -> None:
    """The command line says why a video gave fewer frames than its header announced; the
    tab said only 'face found in 40 of 40 frames'."""
    from faceexplorer.inference.analyze import AnalysisResult, InputSummary

    view._run_done(AnalysisResult("x", tmp_path / "o.parquet", "finished", "", [
        InputSummary(tmp_path / "short.avi", "video", "s", frames=40, frames_with_face=40,
                     end_reason="end of video (40 frames; its header announced 45)",
                     complete=True)], frames_this_run=40))
    assert "short.avi: face found in 40 of 40 frames (end of video (40 frames; its header " \
           "announced 45))" in view.status.text()
