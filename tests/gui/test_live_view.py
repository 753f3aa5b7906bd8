"""The live view driven with a drawn-face video and tiny models: what it shows and saves.

The window-level path (empty index, pickers, every frame, no camera) is in
``test_live_window.py``."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("onnx", reason="the tiny test models are built with `onnx`")

from faceexplorer.gui.live.view import LiveView  # noqa: E402
from faceexplorer.inference.overlay import BOX, draw_overlay  # noqa: E402
from tests.inference.conftest import build_model  # noqa: E402
from tests.inference.test_live import write_face_video  # noqa: E402


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("live_gui")
    return {"video": write_face_video(d / "face.avi", n=60),
            "va": build_model(d / "enet_b0_8_va_mtl.onnx", widths=(10,)),
            "au": build_model(d / "hrm_fmae_fold1.onnx", widths=(22,)),
            "broken": d / "broken.onnx"}


@pytest.fixture
def view(qtbot, tmp_path: Path) -> LiveView:
    w = LiveView(window_s=5.0)
    w.output_dir = tmp_path / "out"
    w.resize(900, 640)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.stop()


def test_video_with_boxes_bars_va_recording_and_snapshot(qtbot, view: LiveView,
                                                        assets: dict[str, Path],
                                                        shoot) -> None:
    finished: list[str] = []
    view.recording_finished.connect(finished.append)
    with qtbot.waitSignal(view.started, timeout=10_000):
        assert view.start(str(assets["video"]), assets["va"], "haar")
    view.record_button.click()
    assert view.session is not None and view.session.recording
    qtbot.waitUntil(lambda: view.last_prediction is not None
                    and bool(view.last_prediction.predictions), timeout=10_000)
    qtbot.waitUntil(lambda: view.frames_painted > 10 and len(view.curves) == 4,
                    timeout=10_000)
    shoot(view, "live_view_running")
    with qtbot.waitSignal(view.stopped, timeout=20_000) as ended:
        pass
    assert ended.args[0] == "end of video (60 frames)"
    session = view.session
    # The canvas shows the frame with the newest prediction drawn on it.
    assert view.shown is not None and view.canvas.rgb is view.shown.overlay
    shown, pred = view.shown.overlay, view.shown.prediction.predictions[0]
    assert view.shown.frame.index == 59 and shown.shape[:2] == (256, 296)
    assert np.array_equal(shown, draw_overlay(view.shown.frame.image, [pred]))
    x, y, w, h = (int(round(v)) for v in pred.box)
    assert tuple(shown[y + h // 2, x]) == BOX
    # Over the face only its box: the bars and V-A are in the panel beside the video.
    inside = (slice(y + 3, y + h - 2), slice(x + 3, x + w - 2))
    assert np.array_equal(shown[inside], view.shown.frame.image[inside])
    # The panel shows the prediction whose boxes are on the frame on show.
    panel, last = view.panel, view.shown.prediction.predictions[0]
    assert panel.shown is view.shown.prediction
    assert panel.values == last.expression and panel.va == (last.valence, last.arousal)
    assert panel.heading.text() == f"{last.top_expression} " \
        f"{100 * last.expression[last.top_expression]:.0f}%"
    assert panel.bars.isVisible() and panel.va_plot.isVisible() and not panel.au_plot.isVisible()
    widths = panel.bar_item.opts["width"]
    assert np.allclose(widths, [last.expression[k] for k in last.expression])
    # Every frame of the video was shown; the status line says so.
    assert session.stats.frames_read == 60
    assert "frames 60" in view.status.text() and "ended: end of video" in view.status.text()
    # The timeline plots the session's own top-4 series.
    t, series = session.timeline(5.0)
    assert set(view.curves) == set(series)
    for label, values in series.items():
        xs, ys = view.curves[label].getData()
        assert np.allclose(xs, t) and np.allclose(ys, values)
    # The recording ended with the video: its CSV holds every recorded prediction.
    assert len(finished) == 1 and not view.record_button.isChecked()
    with open(finished[0]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(session.recorded) > 0
    snap = view.snapshot()
    assert snap is not None and snap.is_file()
    assert np.array_equal(cv2.imread(str(snap)), shown)
    assert "Snapshot saved" in view.message.text()
    shoot(view, "live_view_ended")


def test_au_model_strip_and_timeline(qtbot, view: LiveView, assets: dict[str, Path],
                                     shoot) -> None:
    view.kind_box.setCurrentIndex(1)
    assert view.start(str(assets["video"]), assets["au"], "haar", lockstep=True)
    qtbot.waitUntil(lambda: len(view.curves) == 4 and view.frames_painted > 5, timeout=10_000)
    assert all(label.startswith("AU") for label in view.curves)
    shoot(view, "live_view_aus")
    view.stop()
    qtbot.waitUntil(lambda: not view.stop_button.isEnabled(), timeout=5_000)
    assert "stopped by the user" in view.status.text()
    shown = view.session._last_display
    expected = draw_overlay(shown.frame.image, shown.prediction.predictions)
    assert np.array_equal(shown.overlay, expected)
    qtbot.waitUntil(lambda: view.shown is view.session._last_display, timeout=5_000)
    panel, last = view.panel, view.shown.prediction.predictions[0]
    assert panel.aus == last.aus and panel.au_plot.isVisible()
    assert not panel.bars.isVisible() and not panel.va_plot.isVisible()
    present = [k for k in last.aus if last.aus_present.get(k)]
    assert panel.heading.text() == f"{len(present)} of {len(last.aus)} AUs present"
    assert np.allclose(panel.au_item.opts["width"], list(last.aus.values()))


def test_bad_inputs_are_messages(qtbot, view: LiveView, assets: dict[str, Path],
                                 tmp_path: Path, shoot) -> None:
    assets["broken"].write_bytes(b"not an onnx file" * 10)
    assert not view.start(str(assets["video"]), assets["broken"])
    assert "onnxruntime cannot load this file" in view.message.text()
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 50)
    assert not view.start(str(junk), assets["va"])
    assert "OpenCV cannot open this file as a video" in view.message.text()
    probe = cv2.VideoCapture(3)
    present = probe.isOpened()
    probe.release()
    if not present:
        assert not view.start("3", assets["va"])
        assert view.message.text().startswith("No camera at index 3: ")
    assert not view.start("0", "")
    assert "Choose a model file" in view.message.text()
    assert not view.start("3", assets["va"], every_frame=True)
    assert "cannot be read frame by frame" in view.message.text()
    assert view.start_button.isEnabled() and not view.stop_button.isEnabled()
    shoot(view, "live_view_error")


def test_folder_picker_every_frame_and_camera(qtbot, view: LiveView, assets: dict[str, Path],
                                              tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    from faceexplorer.gui.live.pickers import FOLDER

    photos = tmp_path / "photos"
    photos.mkdir()
    cap = cv2.VideoCapture(str(assets["video"]))
    for i in range(5):
        ok, image = cap.read()
        assert ok
        cv2.imwrite(str(photos / f"{i}.png"), image)
    cap.release()
    answer = {"folder": str(photos)}
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *_a, **_k: answer["folder"]))

    def pick(data: str) -> None:
        index = view.source_box.findData(data)
        view.source_box.setCurrentIndex(index)
        view.source_box.activated.emit(index)

    pick(FOLDER)
    assert view.source_box.currentText() == "Folder: photos"
    assert view.every_frame.isEnabled()
    answer["folder"] = ""          # the dialog cancelled: the folder stays chosen
    pick(FOLDER)
    assert view.source_box.value() == str(photos)
    pick("1")                      # a camera: no lockstep, and the box says why
    assert not view.every_frame.isEnabled() and not view.every_frame.isChecked()
    assert "cannot wait for the model" in view.every_frame.toolTip()
    pick(str(photos))
    view.every_frame.setChecked(True)
    view.model_box.select_model(str(assets["va"]))
    with qtbot.waitSignal(view.stopped, timeout=20_000) as ended:
        view.start_button.click()
    assert ended.args[0] == "end of images (5 read)"
    assert view.source_label.text() == "Folder: photos (5 images) · every frame, recorded"
    assert view.session.stats.frames_modelled == 5 and view.session.stats.dropped == 0


def test_a_frame_without_a_face_empties_the_panel(qtbot) -> None:
    """Under "No face found" the panel kept the last face's bars and point (an image
    folder showed 'No face found' beside 'surprise' highlighted at 22 %)."""
    from faceexplorer.gui.live.panel import PredictionPanel
    from faceexplorer.inference.live import LatestPrediction
    from faceexplorer.inference.postprocess import Prediction

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.show()
    face = Prediction(3, 0.12, (1.0, 2.0, 30.0, 30.0), {"happy": 0.7, "sad": 0.3}, 0.5, 0.2,
                      {"AU12": 0.9}, {"AU12": True})
    panel.show_prediction(LatestPrediction(3, 0.12, (face,), 1.0))
    assert panel.values == {"happy": 0.7, "sad": 0.3} and panel.va == (0.5, 0.2)
    assert max(panel.bar_item.opts["width"]) == 0.7
    panel.show_prediction(LatestPrediction(4, 0.16, (), 1.0))
    assert panel.heading.text() == "No face found" and panel.detail.text() == "frame 4"
    assert panel.values == {} and panel.aus == {} and panel.va is None
    assert list(panel.bar_item.opts["width"]) == [0.0, 0.0]
    assert list(panel.au_item.opts["width"]) == [0.0]
    assert len(panel.va_point.data) == 0 and "-" in panel.va_text.text()
    assert panel.bars.isVisible()                       # the panel does not jump
    panel.show_prediction(LatestPrediction(5, 0.2, (face,), 1.0))
    assert panel.values == face.expression and panel.heading.text() == "happy 70%"
