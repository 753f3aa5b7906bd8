"""A read-only table model over a pandas DataFrame that sorts itself.

Cells are formatted once per frame (text per column, numbers kept for sorting), so
scrolling 8,500 ranking rows costs nothing; sorting reorders row indices by the raw
values (missing values last in either direction) instead of going through a proxy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

_ROOT = QModelIndex()


@dataclass(frozen=True)
class Column:
    """One shown column: header, source column of the frame, text of one value."""

    header: str
    source: str
    text: Callable[[object], str] = str
    numeric: bool = False


def missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def fixed(digits: int) -> Callable[[object], str]:
    return lambda v: "" if missing(v) else f"{float(v):.{digits}f}"  # type: ignore[arg-type]


def general(v: object) -> str:
    return "" if missing(v) else f"{float(v):.3g}"  # type: ignore[arg-type]


def plain(v: object) -> str:
    return "" if missing(v) else str(v)


class FrameModel(QAbstractTableModel):
    """Rows of a DataFrame shown through :class:`Column` specs; sortable by any column."""

    def __init__(self, columns: Sequence[Column], parent=None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.frame = pd.DataFrame(columns=[c.source for c in self.columns])
        self._texts: list[list[str]] = [[] for _ in self.columns]
        self._order = np.arange(0)

    def set_frame(self, frame: pd.DataFrame) -> None:
        self.beginResetModel()
        self.frame = frame.reset_index(drop=True)
        self._texts = [[c.text(v) for v in self.frame[c.source].tolist()]
                       for c in self.columns]
        self._order = np.arange(len(self.frame))
        self.endResetModel()

    def row_of(self, view_row: int) -> int:
        """The frame row shown at ``view_row``."""
        return int(self._order[view_row])

    def text(self, view_row: int, column: int) -> str:
        return self._texts[column][self.row_of(view_row)]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.column()][int(self._order[index.row()])]
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section].header
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        values = self.frame[self.columns[column].source]
        ascending = order == Qt.SortOrder.AscendingOrder
        self.layoutAboutToBeChanged.emit()
        ranks = values.reset_index(drop=True).sort_values(
            ascending=ascending, na_position="last", kind="stable")
        self._order = ranks.index.to_numpy()
        self.layoutChanged.emit()
