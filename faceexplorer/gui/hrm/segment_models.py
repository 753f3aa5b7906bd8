"""Table models of HRM segments for the navigator: one child's segments, and search hits.

Both show the same cells (formatted by :func:`segment_texts`) and sort the same way
(:func:`sort_rows`: children by number, S2 before S10; segments without ratings last);
both keep ``segments`` in displayed order, so a clicked row is ``segments[row]``.

They differ in where the cells live, for speed. A view asks a model about ten roles per
cell and paint; through the Python binding each answer costs microseconds, and the
child's table is repainted on every child opened (a 36-row table took ~25 ms to paint from
a Python model, ~6 ms from Qt's own items). So :class:`ChildSegmentModel` copies its few
rows into ``QStandardItem``s once, and the search's :class:`SegmentModel` (up to every
segment of the dataset, 1,535, of which a screenful is ever painted) stays a Python model
that formats a row on first use only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel

from faceexplorer.index.hrm_query import SegmentRow

_Index = QModelIndex | QPersistentModelIndex
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
_RIGHT_FLAGS = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_RIGHT = int(_RIGHT_FLAGS.value)
SEGMENT_COLUMNS = ("Segment", "Start", "End", "Frames", "Mean atypicality")
CHILD_COLUMNS = ("Child", "Group")


def atypicality_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def segment_values(s: SegmentRow, with_child: bool) -> tuple[Any, ...]:
    """The row's values in column order (child and group first when ``with_child``)."""
    own = (s.segment, s.start_frame, s.end_frame, s.n_frames, s.mean_atypicality)
    return ((s.child, s.grp or "–") if with_child else ()) + own


def segment_texts(s: SegmentRow, with_child: bool) -> tuple[str, ...]:
    """The row's cells as displayed: counts with thousands separators, 2-decimal means."""
    *rest, atyp = segment_values(s, with_child)
    return tuple(f"{v:,}" if isinstance(v, int) else str(v) for v in rest) + (
        atypicality_text(atyp),)


def sort_rows(segments: Sequence[SegmentRow], with_child: bool, column: int,
              descending: bool) -> list[int]:
    """Row order sorted by ``column``: children by number, no rating last (ascending)."""
    def key(i: int) -> tuple:
        value = segment_values(segments[i], with_child)[column]
        if column == 0 and with_child:
            return (len(value), value)
        return (value is None, value if value is not None else 0)

    return sorted(range(len(segments)), key=key, reverse=descending)


class SegmentModel(QAbstractTableModel):
    """Segments as table rows (the search's hits); ``with_child`` adds child and group."""

    def __init__(self, with_child: bool, parent: Any = None) -> None:
        super().__init__(parent)
        self.with_child = with_child
        self.segments: list[SegmentRow] = []
        self._texts: list[tuple[str, ...] | None] = []
        self.columns = (CHILD_COLUMNS if with_child else ()) + SEGMENT_COLUMNS
        first_number = len(CHILD_COLUMNS) if with_child else 0
        self._align = tuple(_RIGHT if c >= first_number else None
                            for c in range(len(self.columns)))

    def set_segments(self, segments: Sequence[SegmentRow]) -> None:
        self.beginResetModel()
        self.segments = list(segments)
        self._texts = [None] * len(self.segments)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.segments)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None

    def values(self, row: int) -> tuple[Any, ...]:
        return segment_values(self.segments[row], self.with_child)

    def texts(self, row: int) -> tuple[str, ...]:
        """The row's cells as displayed (formatted once, then kept)."""
        texts = self._texts[row]
        if texts is None:
            texts = self._texts[row] = segment_texts(self.segments[row], self.with_child)
        return texts

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # plain ints first: the roles asked for but never answered are the common case
        if role == _DISPLAY:
            return self.texts(index.row())[index.column()] if index.isValid() else None
        if role == _ALIGNMENT:
            return self._align[index.column()] if index.isValid() else None
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column``: children by number (S2 before S10), no rating last."""
        self.layoutAboutToBeChanged.emit()
        rows = sort_rows(self.segments, self.with_child, column,
                         order == Qt.SortOrder.DescendingOrder)
        self.segments = [self.segments[i] for i in rows]
        self._texts = [self._texts[i] for i in rows]
        self.layoutChanged.emit()


class ChildSegmentModel(QStandardItemModel):
    """One child's segments (tens of rows), held in Qt's own items for cheap paints."""

    with_child = False

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, len(SEGMENT_COLUMNS), parent)
        self.columns = SEGMENT_COLUMNS
        self.setHorizontalHeaderLabels(list(SEGMENT_COLUMNS))
        self.segments: list[SegmentRow] = []

    def set_segments(self, segments: Sequence[SegmentRow]) -> None:
        self.segments = list(segments)
        self._fill()

    def _fill(self) -> None:
        self.setRowCount(0)
        for s in self.segments:
            row = [QStandardItem(text) for text in segment_texts(s, False)]
            for item in row:
                item.setTextAlignment(_RIGHT_FLAGS)
                item.setEditable(False)
            self.appendRow(row)

    def values(self, row: int) -> tuple[Any, ...]:
        return segment_values(self.segments[row], False)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column`` (as :class:`SegmentModel` does); -1 keeps the order."""
        if not 0 <= column < len(self.columns):
            return
        rows = sort_rows(self.segments, False, column, order == Qt.SortOrder.DescendingOrder)
        self.segments = [self.segments[i] for i in rows]
        self._fill()
