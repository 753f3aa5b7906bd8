"""Help menu as a user meets it: About, the user guide, the keyboard shortcuts."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QPainter, QPixmap

from faceexplorer import __version__
from faceexplorer.gui.help import GUIDE_FILE, guide_path, guide_sections
from faceexplorer.gui.main_window import MainWindow
from faceexplorer.paths import user_data_dir
from tests.gui.windows import show_window

SCREEN = (1366, 768)


def _open(qtbot, db: Path) -> MainWindow:
    return show_window(qtbot, db, SCREEN, testing=True)


def _menu_action(window: MainWindow, menu_title: str, text: str) -> QAction:
    """The action ``text`` of the menu bar's ``menu_title`` menu, as a user finds it."""
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == menu_title:
            for action in top.menu().actions():
                if action.text().replace("&", "").rstrip("…") == text:
                    return action
    raise AssertionError(f"no {menu_title} > {text} in the menu bar")


def _shot_on_screen(window: MainWindow, dialog, shoot, name: str) -> None:
    """The dialog over the window at 1366x768, as the user sees it, in /tmp/shots."""
    assert dialog.width() <= SCREEN[0] and dialog.height() <= SCREEN[1] - 40
    canvas = QPixmap(*SCREEN)
    canvas.fill(Qt.GlobalColor.darkGray)
    painter = QPainter(canvas)
    painter.drawPixmap(0, 0, window.grab())
    painter.drawPixmap((SCREEN[0] - dialog.width()) // 2, (SCREEN[1] - dialog.height()) // 2,
                       dialog.grab())
    painter.end()
    from faceexplorer.gui.help import AboutDialog  # noqa: F401  (keeps Qt loaded)

    path = Path("/tmp/shots") / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    assert canvas.save(str(path))
    shoot(dialog, name + "_dialog")


def test_help_menu_is_last_and_holds_guide_shortcuts_about(qtbot, toy_index):
    window = _open(qtbot, toy_index)
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles[-1] == "Help" and titles.index("Edit") < titles.index("View")
    for text in ("User guide", "Keyboard shortcuts", "About FaceExplorer"):
        _menu_action(window, "Help", text)
    window.close()


def test_about_shows_version_folders_and_licences(qtbot, toy_index, shoot):
    window = _open(qtbot, toy_index)
    _menu_action(window, "Help", "About FaceExplorer").trigger()
    dialog = window.help_menu.dialog
    qtbot.waitExposed(dialog)
    text = dialog.text.text()
    assert f"FaceExplorer {__version__}" in text
    assert str(user_data_dir()) in text and str(toy_index) in text
    assert str(window.settings.path) in text
    for licence in ("LGPL-3.0", "MIT", "BSD-3-Clause", "Apache-2.0"):
        assert licence in text
    for library in ("PySide6", "pyqtgraph", "NumPy", "pandas", "OpenCV", "ONNX Runtime",
                    "DuckDB"):
        assert library in text
    # where the full texts are: files of this installation (or, for Qt, the licence's URL)
    assert "LICENSE" in text and "gnu.org/licenses/lgpl-3.0" in text
    _shot_on_screen(window, dialog, shoot, "help_about_1366x768")
    dialog.close()
    window.close()


def test_the_guide_opens_with_f1_and_explains_every_view(qtbot, toy_index, shoot):
    window = _open(qtbot, toy_index)
    window.activateWindow()
    qtbot.waitActive(window)
    qtbot.wait(50)          # the offscreen platform settles the active window first
    qtbot.keyClick(window, Qt.Key.Key_F1)
    dialog = window.help_menu.dialog
    assert dialog is not None and dialog.objectName() == "guideDialog"
    qtbot.waitExposed(dialog)
    titles = [dialog.contents.item(i).text().strip() for i in range(dialog.contents.count())]
    # one section per tab of the window
    for title, _kinds in window._tabs.values():
        assert title in titles, f"the guide has no section on the {title} tab"
    shown = dialog.browser.toPlainText()
    for term in ("Fleiss' kappa", "Krippendorff's alpha", "Dawid-Skene", "ICC(2,1)",
                 "child-level bootstrap", "Wilson", "point-biserial", "Mean depth per "
                 "expression", "Spearman's rho", "Benjamini-Hochberg", "DASS-21",
                 "Jensen-Shannon", "CCC", "macro F1"):
        assert term.lower() in shown.lower(), term
    assert "**" not in shown and "\n# " not in shown           # rendered, not raw Markdown
    _shot_on_screen(window, dialog, shoot, "help_guide_1366x768")

    # choosing a section brings its heading up
    row = titles.index("HRM statistics")
    dialog.contents.setCurrentRow(row)
    assert dialog.browser.textCursor().block().text() == "HRM statistics"
    top = dialog.browser.cursorRect().top()
    assert 0 <= top < dialog.browser.viewport().height() // 3
    shoot(dialog, "help_guide_hrm_section")
    dialog.close()
    window.close()


def test_the_guide_ships_with_the_resources():
    from faceexplorer.paths import resource_dir

    path = guide_path()
    assert path.is_file() and path.name == GUIDE_FILE
    assert path.parent.parent == resource_dir()      # found as the model cards are found
    # resources/ goes into the wheel (setup.py) and the frozen app (pyinstaller.spec) whole
    root = Path(__file__).resolve().parents[2]
    if (root / "resources" / "guide" / GUIDE_FILE).is_file():
        assert 'package_dir={"faceexplorer.resources": "resources"}' in \
            (root / "setup.py").read_text()
        assert 'os.path.join(REPO, "resources")' in \
            (root / "packaging" / "pyinstaller.spec").read_text()
    sections = [t for _level, t in guide_sections(path.read_text(encoding="utf-8"))]
    assert sections[0] == "FaceExplorer user guide" and len(sections) == len(set(sections))


def test_a_missing_guide_says_so(qtbot, tmp_path):
    from faceexplorer.gui.help import GuideDialog

    dialog = GuideDialog(path=tmp_path / "nope.md")
    qtbot.addWidget(dialog)
    assert "The user guide is missing" in dialog.browser.toPlainText()
    assert str(tmp_path / "nope.md") in dialog.browser.toPlainText()


def test_shortcuts_are_read_from_the_window(qtbot, toy_index, shoot):
    window = _open(qtbot, toy_index)
    # an action added at run time is listed too: nothing is typed twice
    extra = QAction("Frobnicate the faces", window)
    extra.setShortcut(QKeySequence("Ctrl+Shift+F"))
    window.addAction(extra)
    _menu_action(window, "Help", "Keyboard shortcuts").trigger()
    dialog = window.help_menu.dialog
    qtbot.waitExposed(dialog)
    rows = {(dialog.table.item(r, 1).text(), dialog.table.item(r, 0).text())
            for r in range(dialog.table.rowCount())}
    native = QKeySequence.SequenceFormat.NativeText
    assert ("Add dataset", window.add_dataset_action.shortcut().toString(native)) in rows
    assert ("Preferences", window.preferences.action.shortcut().toString(native)) in rows
    assert ("User guide", "F1") in rows
    assert ("Quit", "Ctrl+Q") in rows     # offscreen, like Windows, defines no Quit key
    assert ("Frobnicate the faces", "Ctrl+Shift+F") in rows
    wheres = {dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())}
    assert "File menu" in wheres and "Records tab" in wheres   # the Records paging buttons
    assert ("Next page", "Ctrl+PgDown") in rows
    assert "PgUp/PgDn" in dialog.note.text()                   # the browser's keys
    _shot_on_screen(window, dialog, shoot, "help_shortcuts_1366x768")
    dialog.close()
    window.close()


@pytest.mark.parametrize("name", ["user_guide.md"])
def test_guide_names_no_view_that_does_not_exist(name):
    text = (guide_path().parent / name).read_text(encoding="utf-8")
    assert "TODO" not in text and "lorem" not in text.lower()
