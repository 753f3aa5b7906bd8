"""The window writes its index without closing: File > Add dataset and a model run.

Driven as a user would on a fresh data folder: the window opens on a missing index (the
empty page), the Add dataset button opens the dialog, the folder is typed and Import
pressed. While the import runs on the task runner the window keeps handling events (a
timer keeps ticking and a tab click is served), and when it commits the dataset list, the
tabs and the browser show the new data without a reload. A model run started from Model
runs writes its predictions while the AffectNet tab keeps paging. Meanwhile the command
line is refused with one sentence, and reads work again once the window is idle.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QPushButton

from faceexplorer.gui.add_dataset import AddDatasetDialog
from faceexplorer.gui.core.session import DatasetChange
from faceexplorer.gui.main_window import MainWindow
from faceexplorer.samples.affectnet import write_affectnet
from faceexplorer.samples.affectnet_c25 import write_c25
from tests.gui.windows import show_window
from tests.inference.conftest import build_model

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    rng = np.random.default_rng(5)
    affectnet = write_affectnet(root, "small", rng, images=True, image_rows=40)
    write_c25(root, affectnet, rng)
    return root


class Ticks:
    """Counts the event loop's turns (a 5 ms timer) between two moments."""

    def __init__(self) -> None:
        self.count = 0
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.count += 1


def _fill_dialog_and_import(folder: Path) -> None:
    """Type ``folder`` into the open Add dataset dialog and press Import."""
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, AddDatasetDialog), dialog
    edit = dialog.findChild(QLineEdit)
    edit.setText(str(folder))
    button = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Import")
    button.click()


def _window(qtbot, db: Path, size: tuple[int, int] | None = None) -> MainWindow:
    """A shown window on ``db`` whose results go to the status bar (no modal box)."""
    return show_window(qtbot, db, size, testing=True)


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "FACEEXPLORER_DB": str(db)}
    return subprocess.run([sys.executable, "-m", "faceexplorer", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_import_and_run_from_the_window(qtbot, sample: Path, tmp_path: Path, shoot) -> None:
    db = tmp_path / "data" / "index.duckdb"
    window = _window(qtbot, db, (1366, 768))
    qtbot.waitExposed(window)
    assert window.state == "empty" and not db.exists()
    shoot(window, "window_writes_empty")

    # --- File > Add dataset, from the empty page's button ------------------------------
    ticks = Ticks()
    seen: dict[str, int] = {}
    window.session.write_started.connect(lambda _name: seen.setdefault("start", ticks.count))
    window.session.write_ended.connect(lambda _name, _msg: seen.setdefault("end", ticks.count))
    QTimer.singleShot(0, lambda: _fill_dialog_and_import(sample / "AffectNet"))
    qtbot.mouseClick(window.empty_page.button, Qt.MouseButton.LeftButton)
    assert window.session.writing
    # The window answers a click while the import runs.
    qtbot.mouseClick(window.menuBar(), Qt.MouseButton.LeftButton)
    window.session.wait_until_idle(TIMEOUT_MS / 1000)
    assert seen["end"] > seen["start"], "the event loop did not turn during the import"
    assert window.last_import is not None and not isinstance(window.last_import, str), \
        window.last_import
    report = window.last_import
    assert report.dataset == "affectnet" and report.counts
    # The views updated from the session: no reload, no reopen by hand.
    assert window.state == "browse"
    assert [d.kind for d in window.datasets] == ["affectnet"]
    assert window.views.isTabVisible(window.views.indexOf(window._pages["faces_view"]))
    browser = window.faces_view.browser
    qtbot.waitUntil(lambda: browser.total > 0, timeout=TIMEOUT_MS)
    assert browser.total == window.session.connection.execute(
        "SELECT count(*) FROM affectnet_images").fetchone()[0]
    assert window.session.state.value == "read-only"       # back to read-only
    assert "read-only" in window.path_label.text()
    assert "Imported affectnet" in window.statusBar().currentMessage()
    # ... with a link to the result, which brings its view up from another tab
    assert window.result_link.isVisible() and "affectnet imported" in window.result_link.text()
    shoot(window, "window_writes_imported")
    window.views.setCurrentWidget(window._pages["live_view"])
    window.result_link.linkActivated.emit("dataset:affectnet")
    assert window.views.currentWidget() is window._pages["faces_view"]
    assert not window.result_link.isVisible()

    # The command line reads the index while the window is idle ...
    info = _cli("index", "info", db=db)
    assert info.returncode == 0, info.stderr
    assert "AffectNet" in info.stdout

    # --- a second import (C25) while the AffectNet tab keeps paging ---------------------
    window.import_dataset(AddDatasetDialog(str(sample / "AffectNetC25")).request())
    browser.next_page()
    browser.first_page()
    window.session.wait_until_idle(TIMEOUT_MS / 1000)
    assert {d.kind for d in window.datasets} == {"affectnet", "affectnet-c25"}
    assert window.views.isTabVisible(window.views.indexOf(window._pages["crowd_panel"]))

    # --- a model run from Model runs, written while the window stays usable --------------
    model = build_model(tmp_path / "enet_b0_8_va_mtl.onnx", widths=(10,))
    window.show_view(window.models_view)
    view = window.models_view
    assert window.views.currentWidget() is window._pages["models_view"]
    view.model_edit.setText(str(model))
    view.dataset_box.setCurrentText("affectnet")
    view.limit_spin.setValue(25)
    modes: list[str] = []
    window.session.state_changed.connect(lambda s: modes.append(s.value))
    with qtbot.waitSignal(view.run_finished, timeout=TIMEOUT_MS) as got:
        qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
        # ... and is refused (one sentence, no traceback) while the window writes
        refused = _cli("index", "add", "affectnet", str(sample / "AffectNet"), db=db)
    assert got.args[0].status == "finished" and got.args[0].items_written == 25
    window.session.wait_until_idle(TIMEOUT_MS / 1000)
    assert modes[:1] == ["writable"] and modes[-1] == "read-only"
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "in use" in refused.stderr and "File menu" in refused.stderr
    assert view.runs_table.rowCount() == 1
    assert view.runs_table.item(0, 3).text() == "finished"
    assert "Model run finished" in window.result_link.text()
    # The window never changed tab by itself.
    assert window.views.currentWidget() is window._pages["models_view"]
    shoot(window, "window_writes_model_run")


def test_a_failed_import_leaves_the_index_and_says_why(qtbot, sample: Path,
                                                        tmp_path: Path) -> None:
    db = tmp_path / "index.duckdb"
    window = _window(qtbot, db)
    window.import_dataset(AddDatasetDialog(str(sample / "AffectNet")).request())
    window.session.wait_until_idle(TIMEOUT_MS / 1000)
    broken = tmp_path / "Broken" / "AffectNet"
    (broken / "Manually_Annotated_file_lists").mkdir(parents=True)
    (broken / "Manually_Annotated_file_lists" / "training.csv").write_text(
        "subDirectory_filePath,face_x\n")
    dialog = AddDatasetDialog(str(broken))
    dialog.kind_box.setCurrentIndex(dialog.kind_box.findData("affectnet"))
    window.import_dataset(dialog.request())
    window.session.wait_until_idle(TIMEOUT_MS / 1000)
    assert isinstance(window.last_import, str) and "Traceback" not in window.last_import
    assert "index is as it was" in window.statusBar().currentMessage()
    assert [d.kind for d in window.datasets] == ["affectnet"]
    assert window.faces_view.browser.total > 0


def test_dialog_refuses_an_unknown_folder(qtbot, tmp_path: Path) -> None:
    dialog = AddDatasetDialog(str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.import_button.click()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "not recognised" in dialog.problem.text()


def test_live_and_analyses_reachable_with_an_empty_index(qtbot, tmp_path: Path,
                                                         shoot) -> None:
    db = tmp_path / "fresh" / "index.duckdb"
    window = _window(qtbot, db, (1366, 768))
    assert window.state == "empty"
    button = window.empty_page.findChild(QPushButton, "emptyAnalyses")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state == "browse", timeout=TIMEOUT_MS)
    assert db.exists()                  # created, empty, so an analysis has a home
    current = window.views.currentWidget()
    assert current is window._pages["analyses_view"]
    visible = {window._tabs[w][0] for w in window._tabs
               if window.views.isTabVisible(window.views.indexOf(w))}
    assert visible == {"Model runs", "Live models", "Analyses", "Records"}
    # a write that adds no dataset (here: reopening) keeps the user where they are
    window.session.changed.emit(DatasetChange(frozenset({"analyses"}), "analysis"))
    assert window.state == "browse" and window.views.currentWidget() is current
    window.views.setCurrentWidget(window._pages["live_view"])
    shoot(window, "window_empty_index_live")


def test_cancel_an_import_and_the_index_is_as_it_was(qtbot, sample: Path, tmp_path: Path,
                                                     monkeypatch) -> None:
    """Cancel interrupts the import's query (here an importer stuck in a long one)."""
    from faceexplorer.datasets import affectnet

    db = tmp_path / "index.duckdb"
    window = _window(qtbot, db)
    window.import_dataset(AddDatasetDialog(str(sample / "AffectNet")).request())
    window.session.wait_until_idle(TIMEOUT_MS / 1000)
    before = window.session.connection.execute(
        "SELECT count(*), max(imported_at) FROM datasets").fetchone()
    started = []

    def slow_load(con, path, report, **options):
        con.execute("DELETE FROM affectnet_images")     # half-way through a replacement
        started.append(True)
        con.execute("SELECT count(*) FROM range(10000000000) a")   # minutes of work

    monkeypatch.setattr(affectnet, "load", slow_load)
    window.import_dataset(AddDatasetDialog(str(sample / "AffectNet")).request())
    assert window.cancel_import_button.isVisible()
    qtbot.waitUntil(lambda: bool(started), timeout=TIMEOUT_MS)
    qtbot.mouseClick(window.cancel_import_button, Qt.MouseButton.LeftButton)
    assert window.session.wait_until_idle(60), "the import did not stop"
    assert window.last_import == "cancelled"
    assert "Import cancelled: the index is as it was" in window.statusBar().currentMessage()
    assert not window.cancel_import_button.isVisible()
    con = window.session.connection
    assert con.execute("SELECT count(*), max(imported_at) FROM datasets").fetchone() == before
    assert con.execute("SELECT count(*) FROM affectnet_images").fetchone()[0] > 0
    assert window.faces_view.browser.total > 0


def test_remove_a_dataset_from_the_window(qtbot, sample: Path, tmp_path: Path,
                                          monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog, QMessageBox

    window = _window(qtbot, tmp_path / "index.duckdb")
    for folder in ("AffectNet", "AffectNetC25"):
        window.import_dataset(AddDatasetDialog(str(sample / folder)).request())
    window.session.wait_until_idle(TIMEOUT_MS / 1000)
    assert {d.kind for d in window.datasets} == {"affectnet", "affectnet-c25"}
    crowd_tab = window.views.indexOf(window._pages["crowd_panel"])
    assert window.views.isTabVisible(crowd_tab)
    chosen = next(f"{d.title} ({d.kind})" for d in window.datasets
                  if d.kind == "affectnet-c25")
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: (chosen, True)))
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    window.remove_dataset_action.trigger()
    window.session.wait_until_idle(TIMEOUT_MS / 1000)
    assert [d.kind for d in window.datasets] == ["affectnet"]
    assert not window.views.isTabVisible(crowd_tab)
    assert "Removed affectnet-c25 from the index" in window.statusBar().currentMessage()
    browser = window.faces_view.browser
    qtbot.waitUntil(lambda: browser.total > 0, timeout=TIMEOUT_MS)
    assert not browser.src.c25
    # the last one: the window shows the empty index's page
    window.remove_dataset("affectnet")
    window.session.wait_until_idle(TIMEOUT_MS / 1000)
    assert window.state == "empty" and window.datasets == []


def test_a_stopped_analysis_is_not_reported_done(qtbot, tmp_path: Path) -> None:
    """Stop ends an analysis's write normally (what was analysed is kept), so the status
    bar said 'Analysis of scene.avi: done' beside 'Analysis stopped'."""
    from faceexplorer.inference.analyze import AnalysisResult, InputSummary

    window = _window(qtbot, tmp_path / "index.duckdb")
    view = window.analyses_view
    window._write_ended("Analysis of scene.avi", "")          # the write's own end
    assert window.statusBar().currentMessage() == "Analysis of scene.avi: done"
    view.analysis_finished.emit(AnalysisResult(
        "x", tmp_path / "o.parquet", "stopped", "", [
            InputSummary(tmp_path / "scene.avi", "video", "s", frames=256)]))
    assert window.statusBar().currentMessage() == (
        "Analysis of scene.avi: stopped; run it again to resume")
    assert "Analysis stopped" in window.result_link.text()
