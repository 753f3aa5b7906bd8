"""The real main window as the GUI tests open it."""

from __future__ import annotations

from pathlib import Path

from faceexplorer.gui.main_window import MainWindow


def show_window(qtbot, db: Path, size: tuple[int, int] | None = None,
                testing: bool = False) -> MainWindow:
    """A shown, exposed ``MainWindow`` on ``db`` (closed by qtbot after the test).

    ``size``: resize first (e.g. 1366x768); ``testing``: results go to the status bar
    only, no modal box (``MainWindow.testing``).
    """
    window = MainWindow(db)
    window.testing = testing
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window
