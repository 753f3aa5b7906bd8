"""The Faces tab: the image browser beside the detail panel of the selected image.

Wiring, plus one layout rule. The browser's ``image_selected`` drives the detail panel;
both follow the window's index session through this widget (``attach``). The two sit in a
splitter that this widget places by hand instead of through a layout, so that it can
stop the layout requests the panels send at every image (a new title, a new vote count
re-lays out their labels) from climbing to the window: Qt's QTabWidget answers each one
by repainting the whole tab, which cost a full-window repaint (filter bar, grid, every
plot) per change, several per click. Only a change of the splitter's minimum size goes
up, and the minimum only grows (the widest an image has needed), so showing an image
with votes after one without does not re-share the window either.

Until the user drags the splitter, the browser gets the width of three grid columns and
the detail panel the rest (at 1366-1600 px windows the panel then has ~700-900 px,
enough for its statistics and votes to be read; see ``DetailPanel``'s compact layout).
"""

from __future__ import annotations

import duckdb
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QWidget

from faceexplorer.core.kinds import IMAGE_KINDS
from faceexplorer.gui.browser.browser import ImageBrowser
from faceexplorer.gui.browser.models import TILE
from faceexplorer.gui.core.session import DatasetChange, IndexSession, IndexView
from faceexplorer.gui.detail.panel import DetailPanel


class FacesView(QWidget, IndexView):
    """AffectNet / AffectNetC25 images: filter, sort and page on the left, detail on the right."""

    index_kinds = IMAGE_KINDS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("facesView")
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.browser = ImageBrowser(self.splitter)
        self.detail = DetailPanel(self.splitter)
        self.splitter.addWidget(self.browser)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self._minimum = QSize(0, 0)
        self._user_share = False  # the user dragged the splitter: keep their share
        self.splitter.splitterMoved.connect(self._dragged)
        self.browser.image_selected.connect(self.detail.show_image)
        # while the click's detail is read and painted, one thumbnail decoder only
        self.browser.image_selected.connect(lambda *_key: self.browser.thumbs.pause())
        self.detail.shown.connect(lambda _detail: self.browser.thumbs.resume())
        self.browser.page_shown.connect(self.detail.read_ahead_page)

    def attach(self, session: IndexSession | None) -> None:
        """Show ``session``'s images (None: none); the two panels read through it."""
        old = self.session
        if old is not None:
            old.suspending.disconnect(self._suspend)
            old.resumed.disconnect(self._resume)
        self.browser.session = self.detail.session = session
        self.browser.app_state = self.detail.app_state = self.app_state
        if session is not None:
            session.suspending.connect(self._suspend)
            session.resumed.connect(self._resume)
        IndexView.attach(self, session)

    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        # the detail panel's worker holds a cursor: release it before the browser's
        self.detail.show_index(con)
        self.browser.show_index(con)

    def index_written(self, change: DatasetChange) -> None:
        """Predictions of a model run: only the detail panel changes (the image shown is
        read again, the page stays); anything else reloads both panels."""
        if change.what != "predictions":
            IndexView.index_written(self, change)
            return
        self.detail.show_index(self.con)
        shown = self.browser._emitted
        if shown is not None:
            self.detail.show_image(*shown)

    def _suspend(self) -> None:
        self.detail.hold_cursors(None)
        self.browser.hold_cursors(None)

    def _resume(self) -> None:
        self.detail.hold_cursors(self.con)
        self.browser.hold_cursors(self.con)

    def close_workers(self) -> None:
        self.browser.close_loader()
        self.detail.close_workers()

    def sizes(self) -> list[int]:
        """The widths of the browser and the detail panel."""
        return self.splitter.sizes()

    # --- the layout barrier ---------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802
        return self.splitter.sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        self._minimum = self._minimum.expandedTo(self.splitter.minimumSizeHint())
        return self._minimum

    def _dragged(self) -> None:
        self._user_share = True

    def browser_width(self) -> int:
        """The browser's starting width: three grid columns (or its minimum, if wider)."""
        style = self.style()
        grid = (3 * (TILE + 16) + style.pixelMetric(style.PixelMetric.PM_ScrollBarExtent)
                + 2 * self.browser.grid.frameWidth() + 8 + 4)  # + the browser's margins
        return max(grid, self.browser.minimumSizeHint().width())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self.splitter.setGeometry(self.rect())
        if not self._user_share:
            width = event.size().width() - self.splitter.handleWidth()
            browser = min(self.browser_width(), width // 2)
            self.splitter.setSizes([browser, width - browser])
        super().resizeEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            # The splitter's hints changed (it has no layout above it to tell but ours):
            # pass it on only when our minimum grows.
            before = QSize(self._minimum)
            if self.minimumSizeHint() != before:
                self.updateGeometry()
            return True
        return super().event(event)
