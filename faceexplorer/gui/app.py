"""Entry point of the desktop app: create the QApplication and show the main window.

The index is opened READ-ONLY. DuckDB lets several processes read one file but only one
write it, and never both at once: while the window is open an import in another
process (``faceexplorer index add``) is refused with "the index is in use"; while an
import runs, the window shows that the index is busy and offers Retry. Close the
window to import, then reopen it (or press F5 after the import).

Startup stays fast: only QtWidgets and the window are imported here; importers (and
anything heavy they use) load when the dataset list is first read.

Once the window is up, what startup made (modules, classes, the first tab: ~130k objects
of PySide6, pandas, numpy and DuckDB) is frozen out of Python's cycle collector. They live
as long as the app, but each full collection walked them all: pauses of up to ~75 ms that
landed inside random clicks (a select's p95). Frozen, the same collections take ~10 ms.
What a tab built ahead while idle makes (``gui/idle_build``: pyqtgraph's modules and the
Crowd statistics view, ~31k objects, +7.5 ms per full collection) is frozen too, once built.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path


def freeze_startup_objects() -> None:
    """Collect once, then keep every object alive now out of later full collections."""
    gc.collect()
    gc.freeze()


def run(db_path: Path, argv: list[str] | None = None) -> int:
    """Show the main window on the index at ``db_path`` until it is closed.

    Parameters
    ----------
    db_path
        The index file; if it cannot be opened the window explains why.
    argv
        Arguments for Qt (``sys.argv`` when None).

    Returns
    -------
    int
        The application's exit code.
    """
    from faceexplorer.qt_platform import require_qt_libraries

    require_qt_libraries()      # one message naming every missing library, not Qt's abort
    from PySide6.QtWidgets import QApplication

    from faceexplorer.gui.main_window import MainWindow

    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(list(sys.argv if argv is None else argv))
    app.setApplicationName("FaceExplorer")
    app.setOrganizationName("FaceExplorer")
    window = MainWindow(Path(db_path))
    window.show()
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, freeze_startup_objects)   # after the first tab is built
    window.idle_builds.built.connect(lambda _page: freeze_startup_objects())
    code = app.exec()
    window.close()
    return int(code)
