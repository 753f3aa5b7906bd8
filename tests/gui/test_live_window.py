"""The Live tab in the real main window, from an empty index, as a user drives it.

A drawn-face video stands in for the camera; the source and the models are chosen
through the pickers (``QFileDialog``'s static calls patched), and the demo model is the
one FaceExplorer ships. Screenshots at 1366x768 go to /tmp/shots.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QPushButton

pytest.importorskip("onnx", reason="the tiny test models are built with `onnx`")

from faceexplorer.gui.live.pickers import BROWSE, VIDEO, demo_model  # noqa: E402
from faceexplorer.gui.live.view import LiveView  # noqa: E402
from faceexplorer.gui.main_window import MainWindow  # noqa: E402
from tests.gui.windows import show_window
from tests.inference.conftest import build_model  # noqa: E402
from tests.inference.test_live import write_face_video  # noqa: E402

FRAMES = 60
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("live_window")
    return {"video": write_face_video(d / "face.avi", n=FRAMES),
            "va": build_model(d / "enet_b0_8_va_mtl.onnx", widths=(10,))}


def _open(qtbot, db: Path) -> MainWindow:
    return show_window(qtbot, db, (1366, 768), testing=True)


def _live_tab(qtbot, window: MainWindow) -> LiveView:
    """Live models from the empty page's button (the index has no dataset)."""
    assert window.state == "empty"
    button = window.empty_page.findChild(QPushButton, "emptyLive")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    window.session.wait_until_idle(30)
    qtbot.waitUntil(lambda: window._pages["live_view"].built_view() is not None,
                    timeout=TIMEOUT_MS)
    view = window.live_view
    assert window.views.currentWidget() is window._pages["live_view"]
    return view


def _pick(qtbot, box, action: str) -> None:
    """Choose an action item of a picker as a user does (its dialog is patched)."""
    index = box.findData(action)
    box.setCurrentIndex(index)
    box.activated.emit(index)


def test_live_tab_pickers_panel_every_frame_and_no_camera(qtbot, assets, tmp_path,
                                                          monkeypatch, shoot) -> None:
    db = tmp_path / "data" / "index.duckdb"
    window = _open(qtbot, db)
    view = _live_tab(qtbot, window)
    view.output_dir = tmp_path / "live"

    # --- a camera: no camera here, a clear message; it cannot be read frame by frame ----
    assert view.source_box.currentText() == "Camera 0" and view.source_box.is_camera()
    assert not view.every_frame.isEnabled()
    assert "camera delivers frames at its own rate" in view.every_frame.toolTip()
    assert view.model_box.value() == str(demo_model())
    # how detection differs from the Analyses tab's, in one line
    qtbot.waitUntil(lambda: view.detection_note.text().startswith(
        "Detection as in Analyses (same detector and settings)"), timeout=5_000)
    assert "skips the rest unless it records every frame" in view.detection_note.text()
    probe = cv2.VideoCapture(0)
    present = probe.isOpened()
    probe.release()
    if not present:
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
        assert view.message.text().startswith("No camera at index 0: ")
        assert "open a video file instead" in view.message.text()
        assert view.session is None and view.start_button.isEnabled()
        assert window.statusBar().currentMessage().startswith("No camera at index 0")
        shoot(window, "live_tab_no_camera_1366x768")

    # --- the pickers: a video file and a model file -------------------------------------
    picked = {"file": str(assets["video"])}
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *_a, **_k: (picked["file"], "")))
    _pick(qtbot, view.source_box, VIDEO)
    assert view.source_box.currentText() == "Video: face.avi"
    assert view.source_box.value() == str(assets["video"])
    assert view.every_frame.isEnabled() and "every frame" in view.every_frame.toolTip()
    picked["file"] = str(assets["va"])
    _pick(qtbot, view.model_box, BROWSE)
    assert view.model_box.currentText() == "enet_b0_8_va_mtl.onnx"
    # A cancelled dialog keeps the choice.
    picked["file"] = ""
    _pick(qtbot, view.model_box, BROWSE)
    assert view.model_box.value() == str(assets["va"])

    # --- paced to the video: the predictions beside it, the source named ----------------
    with qtbot.waitSignal(view.started, timeout=TIMEOUT_MS):
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    assert view.source_label.text() == "Video: face.avi (25.0 fps) · paced to its rate"
    assert window.statusBar().currentMessage() == ""      # the camera's failure is stale
    qtbot.waitUntil(lambda: bool(view.panel.values) and view.frames_painted > 8,
                    timeout=TIMEOUT_MS)
    panel = view.panel
    assert len(panel.values) == 8 and sum(panel.values.values()) == pytest.approx(1, abs=1e-4)
    assert panel.va is not None and panel.bars.isVisible() and panel.va_plot.isVisible()
    assert panel.heading.text().endswith("%")
    assert view.status.text().startswith("Read ")
    shoot(window, "live_tab_running_1366x768")
    view.stop()
    qtbot.waitUntil(lambda: view.start_button.isEnabled(), timeout=TIMEOUT_MS)

    # --- every frame with the demo model: lockstep, recorded from the first frame -------
    view.model_box.setCurrentIndex(view.model_box.findData(str(demo_model())))
    view.every_frame.setChecked(True)
    finished: list[str] = []
    view.recording_finished.connect(finished.append)
    with qtbot.waitSignal(view.stopped, timeout=60_000) as ended:
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
        assert view.record_button.isChecked()
        assert view.source_label.text() == \
            "Video: face.avi (25.0 fps) · every frame, recorded"
    assert ended.args[0] == f"end of video ({FRAMES} frames)"
    stats = view.session.stats
    assert stats.frames_read == stats.frames_modelled == FRAMES and stats.dropped == 0
    assert len(finished) == 1 and not view.record_button.isChecked()
    with open(finished[0]) as f:
        rows = list(csv.DictReader(f))
    assert sorted({int(r["frame_index"]) for r in rows}) == list(range(FRAMES))
    meta = json.loads(Path(finished[0]).with_suffix(".json").read_text())
    assert meta["source"] == str(assets["video"].resolve()) and meta["every_frame"]
    assert meta["source_label"] == "Video: face.avi (25.0 fps)"
    assert meta["model_path"] == str(demo_model())
    assert set(view.panel.values) == {k.removeprefix("expr_") for k in rows[0]
                                      if k.startswith("expr_")}
    # The frame left on show is the last one, with its own box (as the panel says).
    qtbot.waitUntil(lambda: view.shown.prediction.frame_index == FRAMES - 1, timeout=5_000)
    assert view.shown.frame.index == FRAMES - 1
    assert view.panel.detail.text().startswith(f"frame {FRAMES - 1} ")
    shoot(window, "live_tab_every_frame_ended_1366x768")
    # The recording goes into the index (a write of the window's session).
    window.session.wait_until_idle(60)
    assert f"Recording stored in the index ({len(rows)} predictions)" in \
        window.statusBar().currentMessage()

    # --- remembered: a new window offers the same source and model ----------------------
    assert window.app_state.get("live_source") == str(assets["video"])
    assert window.app_state.get("live_model") == str(demo_model())
    window.close()
    again = _open(qtbot, db)
    again.browse_without_data("live_view")
    qtbot.waitUntil(lambda: again._pages["live_view"].built_view() is not None,
                    timeout=TIMEOUT_MS)
    view2 = again.live_view
    qtbot.waitUntil(lambda: view2.source_box.value() == str(assets["video"]),
                    timeout=TIMEOUT_MS)
    assert view2.source_box.currentText() == "Video: face.avi"
    assert view2.model_box.value() == str(demo_model())
    assert view2.every_frame.isEnabled()
    again.close()
