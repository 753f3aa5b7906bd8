"""The selftest's window step: open the main window offscreen and show every view.

Called by :func:`faceexplorer.selftest.show_window` (the core selftest stays free of Qt).
Any Qt warning that a real display would not explain fails the step.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from faceexplorer.gui.main_window import MainWindow
from faceexplorer.selftest import QT_IGNORED, process_age_s


def show_every_view(db: Path, screenshots: Path | None, timing: bool, settle_s: float = 0.4
                ) -> str:
    """Open the main window offscreen, show each view; raise on any problem."""
    problems: list[str] = []

    def on_message(kind: QtMsgType, _context: object, text: str) -> None:
        if kind != QtMsgType.QtDebugMsg and kind != QtMsgType.QtInfoMsg \
                and not any(ignored in text for ignored in QT_IGNORED):
            problems.append(f"Qt {kind.name}: {text}")

    def settle(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    previous = qInstallMessageHandler(on_message)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("FaceExplorer")
    try:
        window = MainWindow(db)
        window.show()
        while not (window.windowHandle() and window.windowHandle().isExposed()):
            app.processEvents()
        if timing:
            age, since = process_age_s()
            print(f"timing: window shown {age:.3f} s after {since} (epoch {time.time():.3f})",
                  flush=True)
        if window.state != "browse":
            page = window.error_page if window.state == "error" else window.empty_page
            raise RuntimeError(f"the window shows its {window.state} page, not the index: "
                               f"{page.title.text()}")
        shown, hidden = [], []
        for i in range(window.views.count()):
            title = window.views.tabText(i)
            if not window.views.isTabVisible(i):
                hidden.append(title)
                continue
            window.views.setCurrentIndex(i)
            settle(settle_s)
            picture = window.views.widget(i).grab()
            if picture.isNull() or not window.views.widget(i).isVisible():
                raise RuntimeError(f"the {title} view did not show")
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                window.grab().save(str(screenshots / f"view{i}_{title.replace(' ', '_')}.png"))
            shown.append(title)
        window.close()
        settle(0.1)
    finally:
        qInstallMessageHandler(previous)
    if problems:
        raise RuntimeError("; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""))
    if not shown:
        raise RuntimeError("no view was shown")
    return f"showed {', '.join(shown)}" + (f" (hidden, no data: {', '.join(hidden)})"
                                           if hidden else "")
