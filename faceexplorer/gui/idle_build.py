"""Views built ahead, while the window is idle after start-up.

Views are built when their tab is first shown (:mod:`~faceexplorer.gui.lazy_tab`). For
a tab that is opened early in most sessions and whose first visit costs most, that is
late: the Crowd statistics tab's first visit imported pyqtgraph (~0.35 s of CPU: the
AffectNet tab draws with QPainter and never loads it) and built its panel and first plot
(~50 ms), 90-270 ms in all (issue 18, "set stats first"). :class:`IdleBuilder` builds
such a page ahead: once the window has run no background work for ``IDLE_MS`` (the first
page's thumbnails and read-aheads; checked again until so), it imports the view's module
on the task runner (an import makes no Qt object; it holds the GIL only in slices, so the
window keeps answering), then builds the page on the GUI thread (~30-50 ms, what a click
on the tab would pay), one page per idle moment. A click on the tab before that builds
it as before; the builder then has nothing left to do.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from faceexplorer.gui.core.tasks import TaskRunner
from faceexplorer.gui.lazy_tab import LazyTab

#: How long the window must have run no background work before a page is built (ms).
IDLE_MS = 1000


class IdleBuilder(QObject):
    """Builds the scheduled tab pages when the window is idle, one at a time.

    Signals
    -------
    built(object)
        The :class:`LazyTab` page just built ahead.
    """

    built = Signal(object)

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self._queue: list[tuple[LazyTab, str, Callable[[], bool]]] = []
        self._importing = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(IDLE_MS)
        self._timer.timeout.connect(self._step)

    def schedule(self, page: LazyTab, module: str,
                 wanted: Callable[[], bool] = lambda: True) -> None:
        """Build ``page`` when idle, after importing ``module`` off the GUI thread;
        skipped if ``wanted()`` says no by then."""
        if page.built or any(p is page for p, _m, _w in self._queue):
            return
        self._queue.append((page, module, wanted))
        if not self._importing and not self._timer.isActive():
            self._timer.start()

    def cancel(self) -> None:
        """Build nothing more ahead (an import under way still ends)."""
        self._queue.clear()
        self._timer.stop()

    def pending(self) -> bool:
        """Something is still to be imported or built (benchmarks wait for this)."""
        return bool(self._queue) or self._importing

    def _step(self) -> None:
        self._queue = [(p, m, w) for p, m, w in self._queue if not p.built and w()]
        if not self._queue:
            return
        if self.tasks.busy:               # not idle yet: look again later
            self._timer.start()
            return
        page, module, _wanted = self._queue[0]
        if module in sys.modules:
            self._queue.pop(0)
            page.view()
            self.built.emit(page)
            if self._queue:
                self._timer.start()
            return
        self._importing = True
        try:
            self.tasks.submit(lambda _ctx: importlib.import_module(module),
                              name="import ahead", on_done=self._imported,
                              on_error=self._import_failed, on_cancelled=self._imported)
        except RuntimeError:              # the runner is shut down: the window closes
            self._importing = False
            self._queue.clear()

    def _imported(self, _result: object = None) -> None:
        self._importing = False
        if self._queue:
            self._timer.start()           # built at the next idle moment

    def _import_failed(self, _message: str) -> None:
        # the tab's own click then reports the failure as it always did
        if self._queue:
            self._queue.pop(0)
        self._imported()
