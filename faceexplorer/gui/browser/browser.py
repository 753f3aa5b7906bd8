"""The image browser: filter bar, grid or table of one page, paging, keys, export.

It holds one page of rows (``faces_page.image_page``) and the selection's count, never
a dataset. Queries run on the GUI thread: each is a few milliseconds to tens of
milliseconds on the browse table the index stores (``index.browse_table``; an older
index gets a TEMP copy in ``show_index``), less than the time to hand work to a
thread and back. Two exceptions run on threads: the
thumbnails, and the page after the one shown, read ahead (``prefetch``) so that the
usual next click only paints. Both start after the page's paint: the thumbnail loader's
work is held until the view paints (``_spawn_after_paint``), the read-ahead waits a turn
of the event loop.

Keys (``keys.paging_key``): arrows move within the page (and across page ends),
PgUp/PgDn change page, Home/End go to the first/last image of the whole selection. The
next and previous pages are read by keyset from the page shown (``faces_page``), so
paging costs the same at any depth.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.newest_worker import Spawn, thread_spawn
from faceexplorer.gui.browser.column_widths import ColumnWidths
from faceexplorer.gui.browser.filter_bar import FilterBar
from faceexplorer.gui.browser.keys import paging_key
from faceexplorer.gui.browser.models import TILE, BrowserPageModel
from faceexplorer.gui.browser.prefetch import PagePrefetcher
from faceexplorer.gui.browser.tile_delegate import TileDelegate
from faceexplorer.gui.core.session import IndexView
from faceexplorer.gui.thumbnails import ReadyBatches, ThumbnailLoader
from faceexplorer.index import faces_export, faces_page
from faceexplorer.index import faces_query as fq
from faceexplorer.index.c25_query import c25_sets
from faceexplorer.index.faces_query import COLUMNS, CROWD_COLUMNS, ImageFilter, ImageSort

PAGE_SIZE = 200
#: Thumbnails that arrive within this many milliseconds are shown together.
THUMBNAIL_BATCH_MS = 40
#: Thumbnail decoding starts once the page is painted, or after this many ms when no
#: paint comes (a hidden view): decoding on other threads while the GUI thread built and
#: painted the tab took ~60 ms of the two cores' CPU from a tab's open (issue 18).
PAINT_FIRST_MS = 100
_TITLES = {name: title for name, title, _ in COLUMNS}


class ImageBrowser(QWidget, IndexView):
    """Browse AffectNet / AffectNetC25 images of the index.

    Signals
    -------
    image_selected(split, row_index)
        The current image changed (click, keys, paging).
    page_shown(list)
        A page was shown: the ``(split, row_index)`` keys of its images, in order (the
        detail panel reads their details ahead).
    view_painted()
        The visible view finished a paint (for benchmarks: action to painted view).
    message(str)
        A status line for the main window (export done, errors).
    """

    image_selected = Signal(str, int)
    page_shown = Signal(object)
    view_painted = Signal()
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.src = fq.Sources(False, False, False)
        self.filter = ImageFilter()
        self.sort = ImageSort()
        self.total = 0
        self.offset = 0
        self.columns: list[str] = [c[0] for c in COLUMNS]

        self.filters = FilterBar(self)
        self.filters.changed.connect(self._filters_changed)
        self.filters.search.returnPressed.connect(self.filters.flush)

        #: One model and one selection model for both views: the grid shows column 0
        #: of the table's model as tiles (``TileDelegate``).
        self.model = BrowserPageModel(self)
        self.grid = QListView(self)
        self.grid.setObjectName("grid")
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setUniformItemSizes(True)
        self.grid.setIconSize(QSize(TILE, TILE))
        self.grid.setGridSize(QSize(TILE + 16, TILE + 26))
        self.grid.setSpacing(4)
        self.grid.setModel(self.model)
        self.grid.setModelColumn(0)
        self.grid.setItemDelegate(TileDelegate(self.grid))   # the selected face untinted
        self.table = QTableView(self)
        self.table.setObjectName("table")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.sortIndicatorChanged.connect(self._header_sorted)
        self.widths = ColumnWidths(header, lambda: self.columns, lambda: (
            self.app_state.settings if self.app_state is not None else None))
        self.selection = QItemSelectionModel(self.model, self)
        for view in (self.grid, self.table):
            old = view.selectionModel()
            view.setSelectionModel(self.selection)
            old.deleteLater()
            view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            view.installEventFilter(self)
            view.viewport().installEventFilter(self)
        self.selection.currentChanged.connect(self._current_changed)
        self._emitted: tuple[str, int] | None = None
        #: The filter and order of the rows shown (keyset paging needs the same ones).
        self._shown_for: tuple[ImageFilter, ImageSort] | None = None

        self.empty = QLabel("No AffectNet or AffectNetC25 data in this index.\n"
                            "Import them with: faceexplorer index add affectnet PATH", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget(self)
        for w in (self.grid, self.table, self.empty):
            self.stack.addWidget(w)

        self.grid_button = QToolButton(self)
        self.grid_button.setText("Grid")
        self.table_button = QToolButton(self)
        self.table_button.setText("Table")
        modes = QButtonGroup(self)
        for b in (self.grid_button, self.table_button):
            b.setCheckable(True)
            modes.addButton(b)
        self.grid_button.setChecked(True)
        self.grid_button.clicked.connect(lambda: self.set_mode("grid"))
        self.table_button.clicked.connect(lambda: self.set_mode("table"))
        self.sort_combo = QComboBox(self)
        self.sort_combo.setObjectName("sortCombo")
        self.sort_order = QToolButton(self)
        self.sort_order.setCheckable(True)
        self.sort_order.setText("↑")
        self.sort_order.setToolTip("Descending")
        self.sort_combo.currentIndexChanged.connect(self._sort_controls_changed)
        self.sort_order.toggled.connect(self._sort_controls_changed)
        self.export_button = QPushButton("Export…", self)
        menu = QMenu(self)
        menu.addAction("CSV…", lambda: self._ask_export("csv"))
        menu.addAction("Parquet…", lambda: self._ask_export("parquet"))
        self.export_button.setMenu(menu)

        self.first_button, self.prev_button = QToolButton(self), QToolButton(self)
        self.next_button, self.last_button = QToolButton(self), QToolButton(self)
        for b, text, slot in ((self.first_button, "«", self.first_page),
                              (self.prev_button, "◀", self.previous_page),
                              (self.next_button, "▶", self.next_page),
                              (self.last_button, "»", self.last_page)):
            b.setText(text)
            b.clicked.connect(slot)
        self.page_label = QLabel(self)
        self.page_label.setObjectName("pageLabel")
        # A fixed width: a label sized by its text would change the browser's minimum
        # width at every page, and the Faces splitter would re-lay out the whole tab.
        self.page_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.page_label.setMinimumWidth(
            self.page_label.fontMetrics().horizontalAdvance("0,000,000–0,000,000 of 0,000,000"))
        self.page_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)

        # Two lines (view and sort; paging): one line set a minimum width that left the
        # detail panel too narrow in a laptop window.
        bar = QHBoxLayout()
        for w in (self.grid_button, self.table_button, QLabel("Sort", self), self.sort_combo,
                  self.sort_order):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.export_button)
        pager = QHBoxLayout()
        pager.addStretch(1)
        for w in (self.first_button, self.prev_button, self.page_label, self.next_button,
                  self.last_button):
            pager.addWidget(w)
        pager.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filters)
        layout.addLayout(bar)
        layout.addLayout(pager)
        layout.addWidget(self.stack, 1)

        #: Reads the next page ahead on its own cursor (None without a connection).
        self.prefetch: PagePrefetcher | None = None
        self._read_ahead: tuple[ImageFilter, ImageSort, int, int] | None = None
        self._read_ahead_timer = QTimer(self)
        self._read_ahead_timer.setSingleShot(True)
        self._read_ahead_timer.setInterval(0)
        self._read_ahead_timer.timeout.connect(self._start_read_ahead)
        self.thumbs = ThumbnailLoader(TILE, parent=self)
        self._spawn: Spawn = thread_spawn
        self._held: list[tuple[Callable[[], None], str]] = []
        self._paint_pending = False
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.setInterval(PAINT_FIRST_MS)
        self._release_timer.timeout.connect(self._release_held)
        self.thumbs.use(self._spawn_after_paint)
        # Thumbnails come one signal each; they are shown in batches (one grid repaint
        # per batch instead of one per tile, which slowed every action during a load).
        self.thumb_batches = ReadyBatches(self.thumbs, THUMBNAIL_BATCH_MS, self)
        self.thumb_batches.batch.connect(self.model.set_thumbnails)
        self._fill_sort_combo()
        self._show_state()

    # --- connection ---------------------------------------------------------------------
    def hold_cursors(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Give the page read-ahead a cursor of ``con`` (None: close it; the session is
        about to switch the connection's mode, see ``IndexSession.suspending``)."""
        if self.prefetch is not None:   # its cursor belongs to the old connection
            self.prefetch.close()
        spawn = self.session.tasks.spawn if self.session is not None else None
        self._spawn = spawn or thread_spawn
        self.thumbs.use(self._spawn_after_paint)
        self.prefetch = PagePrefetcher(con, spawn) if con is not None else None

    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Browse ``con`` (builds its browse table once), or nothing (None)."""
        self.hold_cursors(con)
        self.src = fq.prepare_browse(con) if con is not None else fq.Sources(False, False,
                                                                            False)
        crowd = self.src.c25
        sets = []
        if crowd and con is not None:
            sets = c25_sets(con)
        self.filters.set_crowd_available(crowd, sets)
        self.filters.set_affectnet_available(self.src.affectnet)
        self.columns = [c[0] for c in COLUMNS if crowd or c[0] not in CROWD_COLUMNS]
        if not self.src.affectnet:
            self.columns = [c for c in self.columns if c not in ("expression", "valence",
                                                                 "arousal", "majority_differs")]
        self._fill_sort_combo()
        self.sort = ImageSort()
        state = self.app_state
        offset, image = 0, None
        if state is not None and con is not None:   # as the user left it last time
            offset, image = state.get("image_offset"), state.get("image_key")
            self.filters.blockSignals(True)
            self.filters.set_filter(state.get("image_filter"))
            self.filters.blockSignals(False)
            self.set_mode(state.get("browse_mode"))
            sort = state.get("image_sort")
            if sort.column in self.columns:
                self.sort = sort
        self.apply(self.filters.current_filter(), self.sort, offset)
        if image is not None:
            self.select_key(tuple(image))
        if self.sort.column in self.columns:
            self.show_sort(self.sort)   # the table has its columns now: header too

    def show_sort(self, sort: ImageSort) -> None:
        """Put ``sort`` in the sort controls and the table header (applies nothing)."""
        self.sort = sort
        self.sort_combo.blockSignals(True)
        self.sort_combo.setCurrentIndex(max(0, self.sort_combo.findData(sort.column)))
        self.sort_combo.blockSignals(False)
        self.sort_order.blockSignals(True)
        self.sort_order.setChecked(sort.descending)
        self.sort_order.setText("↓" if sort.descending else "↑")
        self.sort_order.blockSignals(False)
        self._sync_header(sort.column, sort.descending)

    # --- actions (synchronous: the view is updated when they return) -----------------
    def apply(self, flt: ImageFilter | None = None, sort: ImageSort | None = None,
              offset: int = 0) -> None:
        """Show the first page (or the one at ``offset``) of ``flt`` in ``sort`` order
        (defaults: the current filter and order)."""
        self.filter = flt if flt is not None else self.filter
        self.sort = sort if sort is not None else self.sort
        if self.app_state is not None and self.src.any:   # not while the index closes
            self.app_state.set("image_filter", self.filter)
            self.app_state.set("image_sort", self.sort)
        self.total = fq.count_images(self.con, self.filter, self.src) if self.src.any else 0
        self.show_page(offset)

    def show_page(self, offset: int, select: str = "first") -> None:
        """Show the page starting at ``offset`` and select its first (or last) image."""
        self.thumbs.cancel_pending()
        offset = max(0, min(offset, max(0, self.total - 1)))
        offset -= offset % PAGE_SIZE
        # The next or previous page of the page shown is read from its edge row (keyset
        # paging: as fast at row 400,000 as at row 200); any other page by its offset.
        shown = self.model.rows
        same = self._shown_for == (self.filter, self.sort) and len(shown) == PAGE_SIZE
        after = shown[-1].pos if same and offset == self.offset + PAGE_SIZE else None
        before = shown[0].pos if same and offset == self.offset - PAGE_SIZE else None
        self.offset = offset
        page = None
        if after is not None and self.prefetch is not None:
            page = self.prefetch.take((self.filter, self.sort, after, offset))
        if page is None and self.src.any and self.total:
            page = faces_page.image_page(self.con, self.filter, self.sort, offset, PAGE_SIZE,
                                         total=self.total, src=self.src, after=after,
                                         before=before)
        rows = page.rows if page else ()
        self._shown_for = (self.filter, self.sort)
        self._emitted = None
        cached = {}
        self._paint_pending = bool(rows)   # the loader's work starts after this paint
        if rows:
            self._release_timer.start()    # in case no paint comes (a hidden view)
        for row in reversed(rows):  # the loader serves the newest first: top tiles first
            if row.image_path is not None:
                thumb = self.thumbs.request(row.key, row.image_path, row.face_box)
                if thumb is not None:
                    cached[row.key] = thumb
        self.model.set_page(rows, self.columns, cached)
        self.widths.apply()
        self._show_state()
        if self.app_state is not None and self.src.any:
            self.app_state.set("image_offset", offset)
        if rows:
            self.select_row(0 if select == "first" else len(rows) - 1)
            # The page picked that image, not a click: its faces are waited for as much
            # as its detail, so the decoders are not held for it (see thumbnails.py).
            self.thumbs.resume()
        self.page_shown.emit([(r.split, int(r.row_index)) for r in rows
                              if r.row_index is not None])
        self._read_ahead = None
        if self.prefetch is not None and len(rows) == PAGE_SIZE \
                and offset + PAGE_SIZE < self.total:
            # The ▶ click most likely comes next: read that page ahead (prefetch.py),
            # once this page is painted (a tab's first paint can come after a 0 ms
            # timer): the worker must not slow the paint it follows.
            self._read_ahead = (self.filter, self.sort, offset + PAGE_SIZE, rows[-1].pos)
            if not self._paint_pending:
                self._read_ahead_timer.start()

    def _start_read_ahead(self) -> None:
        if self._read_ahead is None or self.prefetch is None:
            return
        flt, sort, offset, after = self._read_ahead
        self._read_ahead = None
        self.prefetch.request((flt, sort, after, offset), flt, sort, offset, PAGE_SIZE,
                              self.total, after)

    def next_page(self) -> None:
        if self.offset + PAGE_SIZE < self.total:
            self.show_page(self.offset + PAGE_SIZE)

    def previous_page(self, select: str = "first") -> None:
        if self.offset > 0:
            self.show_page(self.offset - PAGE_SIZE, select)

    def first_page(self) -> None:
        self.show_page(0)

    def last_page(self) -> None:
        self.show_page(max(0, self.total - 1), select="last")

    def set_mode(self, mode: str) -> None:
        """``"grid"`` or ``"table"``; the current image stays selected."""
        row = self.current_row()
        view = self.grid if mode == "grid" else self.table
        (self.grid_button if mode == "grid" else self.table_button).setChecked(True)
        if self.app_state is not None:
            self.app_state.set("browse_mode", mode)
        if self.src.any:
            self.stack.setCurrentWidget(view)
        if row is not None:
            self.select_row(row)    # column 0: the grid shows that column only
        view.setFocus()

    @property
    def mode(self) -> str:
        return "table" if self.table_button.isChecked() else "grid"

    def current_view(self) -> QAbstractItemView:
        return self.table if self.mode == "table" else self.grid

    def current_row(self) -> int | None:
        index = self.current_view().currentIndex()
        return index.row() if index.isValid() else None

    def select_row(self, row: int) -> None:
        """Make ``row`` of the page the current image (both views show it)."""
        index = self.model.index(row, 0)
        self.selection.setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.current_view().scrollTo(index)   # the hidden view scrolls when shown

    def paint_now(self) -> None:
        """Paint the visible view synchronously (bench: action -> painted)."""
        self.current_view().viewport().repaint()

    def export(self, path: Path, fmt: str) -> int:
        """Write the current selection (filter and order) to ``path``; rows written."""
        if self.con is None:
            raise RuntimeError("no index open")
        n = faces_export.export_selection(self.con, self.filter, self.sort, Path(path), fmt)
        self.message.emit(f"Exported {n:,} images to {path}")
        return n

    def thumbnails_settled(self) -> bool:
        """Every requested thumbnail loaded and shown (for benchmarks and tests)."""
        return self.thumb_batches.settled()

    def close_loader(self) -> None:
        self._release_held()   # a held drain would make stop() wait for it
        self.thumbs.stop()
        if self.prefetch is not None:
            self.prefetch.close()
            self.prefetch = None

    def background_settled(self) -> bool:
        """Thumbnails shown and no page being read ahead (for benchmarks and tests)."""
        return (self.thumbnails_settled() and not self._paint_pending
                and not self._read_ahead_timer.isActive()
                and (self.prefetch is None or self.prefetch.idle()))

    def _spawn_after_paint(self, fn: Callable[[], None], name: str) -> object:
        """The thumbnail loader's spawn: held while the page waits for its paint."""
        if not self._paint_pending:
            return self._spawn(fn, name)
        self._held.append((fn, name))
        self._release_timer.start()
        return None

    def _release_held(self) -> None:
        self._paint_pending = False
        self._release_timer.stop()
        if self._read_ahead is not None:
            self._read_ahead_timer.start()
        held, self._held = self._held, []
        for fn, name in held:
            self._spawn(fn, name)

    # --- reactions ----------------------------------------------------------------------
    def _filters_changed(self) -> None:
        try:
            flt = self.filters.current_filter()
        except ValueError as exc:
            self.message.emit(str(exc))
            return
        self.apply(flt)

    def _fill_sort_combo(self) -> None:
        self.sort_combo.blockSignals(True)
        self.sort_combo.clear()
        for name in self.columns:
            self.sort_combo.addItem(_TITLES[name], name)
        self.sort_combo.setCurrentIndex(0)
        self.sort_combo.blockSignals(False)

    def _sort_controls_changed(self) -> None:
        name = self.sort_combo.currentData()
        if name is None:
            return
        descending = self.sort_order.isChecked()
        self.sort_order.setText("↓" if descending else "↑")
        self._sync_header(name, descending)
        self.apply(sort=ImageSort(name, descending))

    def _header_sorted(self, section: int, order: Qt.SortOrder) -> None:
        if section < 0 or section >= len(self.columns):
            return
        name = self.columns[section]
        descending = order == Qt.SortOrder.DescendingOrder
        for w, value in ((self.sort_combo, self.sort_combo.findData(name)),):
            w.blockSignals(True)
            w.setCurrentIndex(value)
            w.blockSignals(False)
        self.sort_order.blockSignals(True)
        self.sort_order.setChecked(descending)
        self.sort_order.setText("↓" if descending else "↑")
        self.sort_order.blockSignals(False)
        self.apply(sort=ImageSort(name, descending))

    def _sync_header(self, name: str, descending: bool) -> None:
        header = self.table.horizontalHeader()
        header.blockSignals(True)
        header.setSortIndicator(self.columns.index(name), Qt.SortOrder.DescendingOrder
                                if descending else Qt.SortOrder.AscendingOrder)
        header.blockSignals(False)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Announce each image once (moving across the table's cells of one row does not)."""
        if not current.isValid() or current.row() >= len(self.model.rows):
            return
        row = self.model.rows[current.row()]
        key = (row.split, int(row.row_index)) if row.row_index is not None else None
        if key is not None and key != self._emitted:
            self._emitted = key
            if self.app_state is not None:
                self.app_state.set("image_key", list(key))
            self.image_selected.emit(*key)

    def select_key(self, key: tuple[str, int]) -> bool:
        """Select the image ``(split, row_index)`` if it is on the page shown; whether it was."""
        for i, row in enumerate(self.model.rows):
            if (row.split, row.row_index) == tuple(key):
                self.select_row(i)
                return True
        return False

    def _show_state(self) -> None:
        if not self.src.any:
            self.stack.setCurrentWidget(self.empty)
        elif self.stack.currentWidget() is self.empty:
            self.stack.setCurrentWidget(self.grid if self.grid_button.isChecked()
                                        else self.table)
        for w in (self.filters, self.sort_combo, self.sort_order, self.export_button):
            w.setEnabled(self.src.any)
        if self.total:
            last = min(self.offset + PAGE_SIZE, self.total)
            self.page_label.setText(f"{self.offset + 1:,}–{last:,} of {self.total:,}")
        else:
            self.page_label.setText("no images" if self.src.any else "")
        self.prev_button.setEnabled(self.offset > 0)
        self.first_button.setEnabled(self.offset > 0)
        more = self.offset + PAGE_SIZE < self.total
        self.next_button.setEnabled(more)
        self.last_button.setEnabled(more)

    def _ask_export(self, fmt: str) -> None:
        suffix = "csv" if fmt == "csv" else "parquet"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the selection", f"selection.{suffix}", f"*.{suffix}")
        if path:
            self.export(Path(path), fmt)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint and watched is self.current_view().viewport():
            self.view_painted.emit()
            if self._paint_pending:   # decode and read ahead once this paint is done
                QTimer.singleShot(0, self._release_held)
            return False
        if event.type() == QEvent.Type.KeyPress and watched in (self.grid, self.table):
            return paging_key(self, watched, event)  # type: ignore[arg-type]
        return False
