"""A Qt table model over one :class:`~faceexplorer.index.browse.Page` of an index table.

The model holds only the page it is given (a few hundred rows); paging is the
caller's job. Cells are formatted for reading, not for round-tripping: floats to six
significant digits, lists shortened to their first values and their length, NULL as a
faint dash. The full value of a shortened cell is in its tooltip. Numbers are
right-aligned by column type so that a column's digits line up even where some cells
are NULL.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from faceexplorer.index.browse import Column, Page

NULL_TEXT = "—"
#: How many items of a list cell are shown before the ellipsis.
LIST_HEAD = 4
#: Longest text shown in a cell / in a tooltip, in characters.
CELL_CHARS = 120
TIP_CHARS = 1200

_Index = QModelIndex | QPersistentModelIndex


def format_cell(value: Any) -> str:
    """Short, single-line text for one cell value as DuckDB returns it."""
    if value is None:
        return NULL_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        head = ", ".join(_format_item(v) for v in value[:LIST_HEAD])
        more = ", …" if len(value) > LIST_HEAD else ""
        return f"[{head}{more}] ({len(value)})" if more else f"[{head}]"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value)):,} bytes>"
    if isinstance(value, dict):
        return _clip("{" + ", ".join(f"{k}: {_format_item(v)}" for k, v in value.items()) + "}",
                     CELL_CHARS)
    return _clip(" ".join(str(value).split()), CELL_CHARS)


def full_text(value: Any) -> str:
    """The whole value for a tooltip (clipped only when very long)."""
    if isinstance(value, list | tuple):
        return _clip(f"{len(value)} values: " + ", ".join(_format_item(v) for v in value),
                     TIP_CHARS)
    return _clip(str(value), TIP_CHARS)


def _format_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return format(value, ".6g")


def _format_item(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, list | tuple):
        return f"[{len(value)} values]"
    return str(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class PageTableModel(QAbstractTableModel):
    """Read-only model of one page; row headers are 1-based row numbers in the table."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._columns: tuple[Column, ...] = ()
        self._rows: tuple[tuple[Any, ...], ...] = ()
        self._offset = 0
        # Display strings are made on first request and kept for the page: a view asks for
        # each visible cell many times, and most cells of a page are never visible.
        self._text: list[list[str | None]] = []

    def set_page(self, page: Page | None) -> None:
        """Show ``page`` (or nothing)."""
        self.beginResetModel()
        if page is None:
            self._columns, self._rows, self._offset = (), (), 0
        else:
            self._columns, self._rows, self._offset = page.columns, page.rows, page.offset
        self._text = [[None] * len(self._columns) for _ in self._rows]
        self.endResetModel()

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def text(self, row: int, column: int) -> str:
        """The display string of one cell."""
        text = self._text[row][column]
        if text is None:
            text = self._text[row][column] = format_cell(self._rows[row][column])
        return text

    def column_text(self, column: int, rows: int | None = None) -> list[str]:
        """The display strings of one column (of its first ``rows`` rows), for sizing it."""
        n = len(self._rows) if rows is None else min(rows, len(self._rows))
        return [self.text(r, column) for r in range(n)]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(r, c)
        value = self._rows[r][c]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (Qt.AlignmentFlag.AlignRight if self._columns[c].is_numeric
                          else Qt.AlignmentFlag.AlignLeft)
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and value is None:
            return _faint()
        if role == Qt.ItemDataRole.ToolTipRole:
            if value is None:
                return "NULL (missing)"
            text = self.text(r, c)
            full = full_text(value)
            return full if full != text else None
        if role == Qt.ItemDataRole.UserRole:
            return value
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and not 0 <= section < len(self._columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section].name if horizontal else f"{self._offset + section + 1:,}"
        if role == Qt.ItemDataRole.ToolTipRole and horizontal:
            col = self._columns[section]
            return f"{col.name}  ({col.type})"
        if role == Qt.ItemDataRole.TextAlignmentRole and not horizontal:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _faint() -> QColor:
    # Derived from the palette so NULLs stay faint in dark themes too.
    app = QApplication.instance()
    palette = app.palette() if isinstance(app, QApplication) else QPalette()
    return palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.PlaceholderText)
