"""The right side of the window: one table of a dataset, read one page at a time.

Only the current page (``PAGE_ROWS`` rows) is ever fetched from DuckDB and held by the
model, so a 415k-row table costs the same as a small one. The page bar offers first /
previous / next / last, a page number box to jump, and says which rows are shown
("Rows 1,201–1,400 of 414,800"). Very wide tables (FACES: ~8,500 feature columns) are
read ``COLUMN_BLOCK`` columns at a time, the key column always first, because DuckDB's
cost grows with every column selected. Query failures (e.g. the index file vanished)
go to the status bar, never a traceback.

The chooser names each table readably ("Images · affectnet_images": the dataset's
prefix dropped, the table's own name kept for SQL users) and ends with the dataset's
rows skipped at import ("Skipped rows (232)": file, reason, how many, first line), as
``faceexplorer index info`` lists them.
"""

from __future__ import annotations

import duckdb
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.datasets.overview import DatasetOverview
from faceexplorer.gui.core.session import IndexView
from faceexplorer.gui.table_model import PageTableModel
from faceexplorer.index import browse
from faceexplorer.index.browse import Column, Page

PAGE_ROWS = 200
#: Columns read at a time: DuckDB's cost grows with the columns selected (~0.6 ms each),
#: so a FACES feature table (~8,500 columns) is shown a block of columns at a time.
COLUMN_BLOCK = 150
#: Columns sized to their contents after a table is opened; wider tables keep the default
#: width beyond these (sizing thousands of columns would stall the window).
FIT_COLUMNS = 40
MAX_COLUMN_PX = 280
MIN_COLUMN_PX = 40
#: The chooser's entry for the dataset's skipped rows (not a table of the index).
SKIPPED = "skipped rows"
SKIPPED_COLUMNS = (Column("file", "VARCHAR"), Column("reason", "VARCHAR"),
                   Column("rows", "BIGINT"), Column("first line", "BIGINT"))


def table_title(kind: str, table: str) -> str:
    """``'Images · affectnet_images'``: the table's name without its dataset's prefix,
    readable, then the name itself."""
    prefixes = (f"{kind.replace('-', '_')}_", f"{kind.split('-')[0]}_")
    short = next((table.removeprefix(p) for p in prefixes if table.startswith(p)), table)
    words = short.replace("_", " ").strip()
    return f"{words[:1].upper()}{words[1:]} · {table}" if words != table else table


def skipped_page(ds: DatasetOverview) -> Page:
    """The dataset's skipped rows as a page the table shows (file, reason, rows, line)."""
    rows = tuple((s.file, s.reason, s.rows, s.first_line) for s in ds.skipped)
    return Page(SKIPPED, SKIPPED_COLUMNS, rows, 0)


class TablePanel(QWidget, IndexView):
    """Table chooser, paged table view and page bar; emits ``message`` for the status bar."""

    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._table: str | None = None
        self._dataset: DatasetOverview | None = None
        self._total = 0
        self._offset = 0
        self._all_columns: list[str] = []
        self._col_start = 0

        self.table_combo = QComboBox(self)
        self.table_combo.setObjectName("tableCombo")
        self.table_combo.setMinimumContentsLength(18)
        self.table_combo.currentIndexChanged.connect(self._on_table_chosen)
        self.shape_label = QLabel(self)
        self.shape_label.setStyleSheet("color: gray;")
        self.col_prev_button = QPushButton("‹ Columns", self)
        self.col_next_button = QPushButton("Columns ›", self)
        self.columns_label = QLabel(self)
        self.columns_label.setObjectName("columnsLabel")
        self.col_prev_button.clicked.connect(lambda: self.show_columns(
            self._col_start - COLUMN_BLOCK))
        self.col_next_button.clicked.connect(lambda: self.show_columns(
            self._col_start + COLUMN_BLOCK))
        top = QHBoxLayout()
        top.addWidget(QLabel("Table:", self))
        top.addWidget(self.table_combo)
        top.addSpacing(8)
        top.addWidget(self.shape_label)
        top.addStretch(1)
        for w in (self.col_prev_button, self.columns_label, self.col_next_button):
            top.addWidget(w)

        self.model = PageTableModel(self)
        self.view = QTableView(self)
        self.view.setObjectName("recordTable")
        self.view.setModel(self.model)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        # Middle elision keeps both the start and the end (file name, list length) in view.
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.view.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        rows = self.view.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)

        self.first_button = self._button("« First", "Ctrl+Home", self.first_page)
        self.prev_button = self._button("‹ Previous", "Ctrl+PgUp", self.previous_page)
        self.next_button = self._button("Next ›", "Ctrl+PgDown", self.next_page)
        self.last_button = self._button("Last »", "Ctrl+End", self.last_page)
        self.page_box = QSpinBox(self)
        self.page_box.setObjectName("pageBox")
        self.page_box.setKeyboardTracking(False)
        self.page_box.setMinimum(1)
        self.page_box.setGroupSeparatorShown(True)
        self.page_box.valueChanged.connect(lambda n: self.go_to(int(n - 1) * PAGE_ROWS))
        self.pages_label = QLabel(self)
        self.rows_label = QLabel(self)
        self.rows_label.setObjectName("rowsLabel")
        bar = QHBoxLayout()
        for w in (self.first_button, self.prev_button):
            bar.addWidget(w)
        bar.addSpacing(6)
        bar.addWidget(QLabel("Page", self))
        bar.addWidget(self.page_box)
        bar.addWidget(self.pages_label)
        bar.addSpacing(6)
        for w in (self.next_button, self.last_button):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.rows_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(bar)
        self._update_bar()

    # --- public API -----------------------------------------------------------------
    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """The index closed (show nothing) or was written (the open table again)."""
        if con is None:
            self.show_dataset(None)
        elif self._table == SKIPPED:
            self.show_table(SKIPPED)
        elif self._table is not None and self._table in browse.table_names(con):
            self.show_table(self._table)

    #: the table to show when the panel is next shown (chosen while off screen)
    _pending_table: str | None = None

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        table, self._pending_table = self._pending_table, None
        if table is not None:
            self.show_table(table)

    def show_dataset(self, ds: DatasetOverview | None) -> None:
        """List ``ds``'s tables in the chooser and show the first page of its main table."""
        self._dataset = ds
        self.table_combo.blockSignals(True)
        self.table_combo.clear()
        if ds is not None:
            for table in ds.tables:
                self.table_combo.addItem(table_title(ds.kind, table), table)
            if ds.skipped:
                self.table_combo.addItem(f"Skipped rows ({ds.skipped_total:,})", SKIPPED)
        self.table_combo.blockSignals(False)
        if ds is not None and ds.tables:
            # on screen, or to be on screen when its window (not shown yet) shows
            if self.isVisible() or (not self.isWindow() and self.window().isHidden()
                                    and self.isVisibleTo(self.window())):
                self.show_table(ds.tables[0])
            else:       # the Records tab is not on screen: read the page when it is
                self._pending_table = ds.tables[0]
        else:
            self._table, self._total, self._offset = None, 0, 0
            self._all_columns, self._col_start = [], 0
            self.model.set_page(None)
            self.shape_label.setText("no tables of this dataset in the index" if ds else "")
            self._update_bar()

    def show_table(self, table: str) -> None:
        """Open ``table`` at its first page (now, even when off screen)."""
        self._pending_table = None
        self._show_table(table)

    def _show_table(self, table: str) -> None:
        """Open ``table`` (or :data:`SKIPPED`, the dataset's skipped rows) at its first
        page."""
        index = self.table_combo.findData(table)
        if index >= 0 and self.table_combo.currentIndex() != index:
            self.table_combo.blockSignals(True)
            self.table_combo.setCurrentIndex(index)
            self.table_combo.blockSignals(False)
        if table == SKIPPED and self._dataset is not None:
            self._show_skipped(self._dataset)
            return
        if self.con is None:
            return
        try:
            self._total = browse.row_count(self.con, table)
            self._all_columns = [c.name for c in browse.table_columns(self.con, table)]
        except (duckdb.Error, FaceExplorerError) as exc:
            self._fail(exc)
            return
        self._table = table
        # Row numbers grow to the table's size; fix the header width for the largest one
        # so numbers are never clipped and the columns do not shift while paging.
        rows = self.view.verticalHeader()
        rows.setFixedWidth(rows.fontMetrics().horizontalAdvance(f"{max(self._total, 1):,}") + 14)
        if self._load(0, 0):
            self.view.scrollToTop()
            self._fit_columns()

    def _show_skipped(self, ds: DatasetOverview) -> None:
        page = skipped_page(ds)
        self._table, self._total, self._offset = SKIPPED, len(page.rows), 0
        self._all_columns, self._col_start = [c.name for c in page.columns], 0
        self.model.set_page(page)
        self.shape_label.setText(f"{ds.skipped_total:,} rows skipped at import, "
                                 f"{len(page.rows):,} file and reason groups")
        self._update_bar()
        self.view.scrollToTop()
        self._fit_columns()

    def go_to(self, offset: int) -> None:
        """Show the page that holds 0-based row ``offset`` (clamped to the table)."""
        if self.con is None or self._table in (None, SKIPPED):
            return
        offset = max(0, min(offset, self._last_offset()))
        offset -= offset % PAGE_ROWS
        if offset == self._offset:
            return
        if not self._load(offset, self._col_start):
            return
        self.view.scrollToTop()
        self._fit_columns(grow_only=True)

    def show_columns(self, start: int) -> None:
        """Show the block of ``COLUMN_BLOCK`` columns that begins at column ``start``."""
        start = max(0, min(start, len(self._all_columns) - 1))
        start -= start % COLUMN_BLOCK
        if self._table is None or start == self._col_start:
            return
        if self._load(self.offset, start):
            self.view.scrollTo(self.model.index(0, 0))
            self._fit_columns()

    def first_page(self) -> None:
        self.go_to(0)

    def previous_page(self) -> None:
        self.go_to(self._offset - PAGE_ROWS)

    def next_page(self) -> None:
        self.go_to(self._offset + PAGE_ROWS)

    def last_page(self) -> None:
        self.go_to(self._last_offset())

    def _load(self, offset: int, col_start: int) -> bool:
        assert self.con is not None and self._table is not None
        wide = len(self._all_columns) > COLUMN_BLOCK
        columns = self._all_columns[col_start:col_start + COLUMN_BLOCK] if wide else None
        if columns is not None and col_start > 0:
            # Keep the first column (the record's key, e.g. FACES' ID) in every block.
            columns = [self._all_columns[0], *columns]
        try:
            page = browse.page(self.con, self._table, offset, PAGE_ROWS, columns=columns)
        except (duckdb.Error, FaceExplorerError) as exc:
            self._fail(exc)
            return False
        self._offset, self._col_start = offset, col_start
        self.model.set_page(page)
        self.shape_label.setText(
            f"{len(self._all_columns):,} columns · {self._total:,} rows")
        self._update_bar()
        return True

    @property
    def table(self) -> str | None:
        """The table shown (or to be shown as soon as the Records tab is on screen)."""
        return self._pending_table or self._table

    @property
    def offset(self) -> int:
        return max(self._offset, 0)

    @property
    def total(self) -> int:
        return self._total

    # --- internals ------------------------------------------------------------------
    def _button(self, text: str, keys: str, slot: object) -> QPushButton:
        button = QPushButton(text, self)
        button.setShortcut(QKeySequence(keys))
        button.setToolTip(f"{text.strip('«»‹› ')} page ({keys})")
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    def _last_offset(self) -> int:
        return max(self._total - 1, 0) // PAGE_ROWS * PAGE_ROWS

    def _on_table_chosen(self, index: int) -> None:
        table = self.table_combo.itemData(index)
        if table:
            self.show_table(table)

    def _update_bar(self) -> None:
        has_rows = self._table is not None and self._total > 0
        start = self.offset
        shown = self.model.rowCount()
        pages = max(1, -(-self._total // PAGE_ROWS))
        self.first_button.setEnabled(has_rows and start > 0)
        self.prev_button.setEnabled(has_rows and start > 0)
        self.next_button.setEnabled(has_rows and start + PAGE_ROWS < self._total)
        self.last_button.setEnabled(has_rows and start + PAGE_ROWS < self._total)
        self.page_box.blockSignals(True)
        self.page_box.setMaximum(pages)
        self.page_box.setValue(start // PAGE_ROWS + 1)
        self.page_box.blockSignals(False)
        self.page_box.setEnabled(has_rows and pages > 1)
        self.pages_label.setText(f"of {pages:,}")
        n_cols = len(self._all_columns) if self._table is not None else 0
        wide = n_cols > COLUMN_BLOCK
        for w in (self.col_prev_button, self.columns_label, self.col_next_button):
            w.setVisible(wide)
        if wide:
            end = min(self._col_start + COLUMN_BLOCK, n_cols)
            key = f"{self._all_columns[0]} + " if self._col_start > 0 else ""
            self.columns_label.setText(
                f"Columns {key}{self._col_start + 1:,}–{end:,} of {n_cols:,}")
            self.col_prev_button.setEnabled(self._col_start > 0)
            self.col_next_button.setEnabled(end < n_cols)
        if self._table is None:
            self.rows_label.setText("")
        elif not has_rows:
            self.rows_label.setText("No rows in this table")
        else:
            self.rows_label.setText(f"Rows {start + 1:,}–{start + shown:,} of {self._total:,}")

    def _fit_columns(self, grow_only: bool = False) -> None:
        # Measured from the page's display strings, only the few longest of each column:
        # QTableView.resizeColumnToContents asks the model and the style for every cell
        # (~75 ms a column on a 200-row page). After paging, columns only grow, so the
        # table does not jump about while the user pages through it.
        header = self.view.horizontalHeader()
        fm = self.view.fontMetrics()
        margin = self.view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin)
        pad = 2 * margin + 14
        for col in range(min(self.model.columnCount(), FIT_COLUMNS)):
            longest = sorted(self.model.column_text(col), key=len)[-3:]
            widest = max((fm.horizontalAdvance(t) for t in longest), default=0)
            width = min(max(widest + pad, header.sectionSizeHint(col), MIN_COLUMN_PX),
                        MAX_COLUMN_PX)
            if not grow_only or width > header.sectionSize(col):
                header.resizeSection(col, width)

    def _fail(self, exc: BaseException) -> None:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.message.emit(f"Could not read the table: {text}")
