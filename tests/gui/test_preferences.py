"""Edit > Preferences as a user meets it: saved, restored after a restart, applied."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from faceexplorer.gui.core import settings as keys
from faceexplorer.gui.main_window import MainWindow
from faceexplorer.gui.preferences import Preferences, PreferencesDialog
from tests.gui.windows import show_window

SCREEN = (1366, 768)


def _open(qtbot, db: Path) -> MainWindow:
    return show_window(qtbot, db, SCREEN, testing=True)


def _open_preferences(qtbot, window: MainWindow) -> PreferencesDialog:
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == "Edit":
            action = next(a for a in top.menu().actions()
                          if a.text().replace("&", "").rstrip("…") == "Preferences")
            action.trigger()
            break
    else:
        raise AssertionError("no Edit menu")
    dialog = window.preferences.dialog
    qtbot.waitExposed(dialog)
    return dialog


def _ok(qtbot, dialog: PreferencesDialog) -> None:
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)


def _shot_on_screen(window: MainWindow, dialog: PreferencesDialog) -> None:
    """The dialog over the window at 1366x768 in /tmp/shots, as the user sees it."""
    from PySide6.QtGui import QPainter, QPixmap

    assert dialog.width() <= SCREEN[0] and dialog.height() <= SCREEN[1] - 40
    canvas = QPixmap(*SCREEN)
    painter = QPainter(canvas)
    painter.drawPixmap(0, 0, window.grab())
    painter.drawPixmap((SCREEN[0] - dialog.width()) // 2, (SCREEN[1] - dialog.height()) // 2,
                       dialog.grab())
    painter.end()
    Path("/tmp/shots").mkdir(exist_ok=True)
    assert canvas.save("/tmp/shots/preferences_1366x768.png")


def _folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    data, models = tmp_path / "datasets", tmp_path / "my models"
    data.mkdir()
    models.mkdir()
    yunet = tmp_path / "face_detection_yunet_2023mar.onnx"
    yunet.write_bytes(b"not read by the dialog")
    return data, models, yunet


def test_saved_and_restored_after_reopening_the_window(qtbot, toy_index, tmp_path, shoot):
    data, models, yunet = _folders(tmp_path)
    window = _open(qtbot, toy_index)
    dialog = _open_preferences(qtbot, window)
    assert dialog.preferences() == Preferences()             # the defaults on a first start
    dialog.datasets.edit.setText(str(data))
    dialog.detector.setCurrentIndex(dialog.detector.findData("yunet"))
    assert dialog.yunet.isEnabled()
    dialog.yunet.edit.setText(str(yunet))
    dialog.models.edit.setText(str(models))
    shoot(dialog, "preferences_dialog")
    _shot_on_screen(window, dialog)
    _ok(qtbot, dialog)
    assert not dialog.isVisible()
    window.close()

    again = _open(qtbot, toy_index)
    restored = _open_preferences(qtbot, again)
    assert restored.preferences() == Preferences(str(data), "yunet", str(yunet), str(models))
    assert restored.datasets.text() == str(data) and restored.yunet.text() == str(yunet)
    # File > Add dataset starts in the datasets folder
    assert again.settings.get(keys.LAST_IMPORT_FOLDER) == str(data)
    restored.reject()
    again.close()


def test_values_that_cannot_work_are_refused_with_the_reason(qtbot, toy_index, tmp_path):
    window = _open(qtbot, toy_index)
    dialog = _open_preferences(qtbot, window)
    dialog.detector.setCurrentIndex(dialog.detector.findData("yunet"))
    _ok(qtbot, dialog)
    assert dialog.isVisible() and "YuNet needs its model file" in dialog.message.text()
    dialog.yunet.edit.setText(str(tmp_path / "missing.onnx"))
    dialog.models.edit.setText(str(tmp_path / "nowhere"))
    _ok(qtbot, dialog)
    assert dialog.isVisible()
    assert "missing.onnx does not exist" in dialog.message.text()
    assert "models folder" in dialog.message.text()
    dialog.detector.setCurrentIndex(dialog.detector.findData("haar"))
    dialog.models.edit.clear()
    _ok(qtbot, dialog)
    assert not dialog.isVisible()
    assert window.settings.get(keys.DEFAULT_DETECTOR) == "haar"
    window.close()


def test_model_runs_and_live_start_from_the_preferences(qtbot, toy_index, tmp_path,
                                                         monkeypatch, shoot):
    data, models, yunet = _folders(tmp_path)
    model = models / "fer_small.onnx"
    model.write_bytes(b"a model file")
    window = _open(qtbot, toy_index)
    dialog = _open_preferences(qtbot, window)
    dialog.models.edit.setText(str(models))
    dialog.detector.setCurrentIndex(dialog.detector.findData("yunet"))
    dialog.yunet.edit.setText(str(yunet))
    _ok(qtbot, dialog)

    window.views.setCurrentWidget(window._pages["models_view"])      # the user opens the tab
    runs = window.models_view
    qtbot.waitUntil(lambda: runs.model_edit.text() == str(model), timeout=3000)
    asked: list[str] = []
    monkeypatch.setattr("faceexplorer.gui.models.view.QFileDialog.getOpenFileName",
                        lambda _parent, _title, start, _filter: (asked.append(start), ("", ""))[1])
    runs.model_edit.clear()
    qtbot.mouseClick(runs.browse_button, Qt.MouseButton.LeftButton)
    assert asked == [str(models)]                        # Browse… starts in the models folder
    shoot(window, "preferences_model_runs")

    window.views.setCurrentWidget(window._pages["live_view"])
    live = window.live_view
    qtbot.waitUntil(lambda: live.model_box.value() == str(model), timeout=3000)
    assert live.detector_box.currentIndex() == 2 and live.yunet_model == str(yunet)
    # back to Haar in Preferences: the Live tab follows
    dialog = _open_preferences(qtbot, window)
    dialog.detector.setCurrentIndex(dialog.detector.findData("haar"))
    _ok(qtbot, dialog)
    qtbot.waitUntil(lambda: live.detector_box.currentIndex() == 0, timeout=3000)
    window.close()


def test_the_demo_model_beside_the_index_fills_the_model_fields(qtbot, toy_index):
    from faceexplorer.demo import demo_model_path, install_demo_model

    folder = toy_index.parent                           # the demo's layout: models/ beside
    installed = install_demo_model(folder)
    assert installed == demo_model_path(folder) and installed.with_suffix(".json").is_file()
    window = _open(qtbot, toy_index)
    window.views.setCurrentWidget(window._pages["live_view"])
    qtbot.waitUntil(lambda: window.live_view.model_box.value() == str(installed),
                    timeout=3000)
    window.views.setCurrentWidget(window._pages["models_view"])
    qtbot.waitUntil(lambda: window.models_view.model_edit.text() == str(installed),
                    timeout=3000)
    window.close()
