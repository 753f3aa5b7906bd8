"""The Qt model of one browser page, shown by the grid and the table alike.

It holds only the page on screen (``ImageRow`` tuples from ``faces_query``); the grid
tiles are QPixmaps composed once per image (thumbnail or placeholder, plus badges) and
kept while the image stays on the page. Placeholder tiles depend only on the word and the
badges, so they are composed once per kind and shared (QPixmap is implicitly shared):
text drawing is most of a tile's cost, and a page of missing files would compose 200.
Loaded thumbnails arrive in batches (:meth:`BrowserPageModel.set_thumbnails`), each one
``dataChanged`` over the rows it touches, so the grid repaints once per batch.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPixmap

from faceexplorer.index.faces_query import COLUMNS, ImageRow
from faceexplorer.media.images import MissingImage

TILE = 128
NULL_TEXT = "—"
_NUMERIC = {name for name, _, numeric in COLUMNS if numeric}
_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_ROOT = QModelIndex()
_DISPLAY, _ALIGN = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole
_FOREGROUND, _TOOLTIP = Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole
_GRAY = QColor("gray")
#: The grid's roles: a row's tile (QPixmap) and the line under it.
TILE_ROLE = int(Qt.ItemDataRole.UserRole) + 1
LABEL_ROLE = int(Qt.ItemDataRole.UserRole) + 2


def format_value(column: str, value: Any) -> str:
    """How a browser cell shows ``value``."""
    if value is None:
        return NULL_TEXT
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def row_tooltip(row: ImageRow, thumb: object | None = None) -> str:
    """Filename, key and where the image is (or why it is not shown)."""
    lines = [row.filename, f"key {row.key}"]
    if isinstance(thumb, MissingImage):
        lines.append(f"image {thumb.describe()}")
    elif row.image_path:
        lines.append(row.image_path)
    if not row.in_affectnet:
        lines.append("AffectNet row not in the index: import AffectNet to see the image")
    if row.c25_set is not None:
        lines.append(f"AffectNetC25 set {row.c25_set}: majority {row.majority or NULL_TEXT}"
                     + (" (tie)" if row.tie else ""))
    return "\n".join(lines)


class BrowserPageModel(QAbstractTableModel):
    """The page on screen, for the grid and the table alike.

    The table shows its ``columns`` (names from ``faces_query.COLUMNS``) as text; the grid
    (a ``QListView`` on column 0 with :class:`~faceexplorer.gui.browser.tile_delegate.
    TileDelegate`) shows each row's tile (:data:`TILE_ROLE`) and label line
    (:data:`LABEL_ROLE`). One model and one selection model serve both views, so the
    image selected in one is the image selected in the other, with nothing copied.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: tuple[ImageRow, ...] = ()
        self.columns: list[str] = [c[0] for c in COLUMNS]
        self._text: list[list[str] | None] = []
        self._align: list[int] = []
        self._titles = {name: title for name, title, _ in COLUMNS}
        self._tiles: dict[str, QPixmap] = {}
        self._thumbs: dict[str, object] = {}
        self._rows_by_key: dict[str, int] = {}
        self._waiting: QPixmap | None = None

    def set_page(self, rows: tuple[ImageRow, ...], columns: list[str],
                 cached: dict[str, object]) -> None:
        """Show ``rows`` in ``columns``; ``cached`` holds the thumbnails already loaded."""
        self.beginResetModel()
        self.rows, self.columns = rows, list(columns)
        # A row's cells are formatted once, when first shown: a paint asks data() for
        # ~10 roles per cell, and most of a page's rows are never scrolled to.
        self._text = [None] * len(rows)
        self._align = [_ALIGN_RIGHT if c in _NUMERIC else _ALIGN_LEFT for c in self.columns]
        self._rows_by_key = {r.key: i for i, r in enumerate(rows)}
        keep = self._rows_by_key
        self._tiles = {k: v for k, v in self._tiles.items() if k in keep}
        self._thumbs = {k: v for k, v in self._thumbs.items() if k in keep}
        for row in rows:
            if row.key in cached and row.key not in self._tiles:
                self._thumbs[row.key] = cached[row.key]
                self._tiles[row.key] = compose_tile(row, cached[row.key])
        self.endResetModel()

    def set_thumbnail(self, key: str, thumb: object) -> None:
        """Show the loaded thumbnail (QImage) or the missing placeholder of ``key``."""
        self.set_thumbnails({key: thumb})

    def set_thumbnails(self, thumbs: dict[str, object]) -> None:
        """Show several loaded thumbnails at once (keys not on the page are ignored)."""
        changed = []
        for key, thumb in thumbs.items():
            i = self._rows_by_key.get(key)
            if i is None:
                continue
            self._thumbs[key] = thumb
            self._tiles[key] = compose_tile(self.rows[i], thumb)
            changed.append(i)
        if changed:   # one signal per batch: the grid repaints once
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), 0),
                                  [TILE_ROLE, _TOOLTIP])

    def thumbnail_of(self, key: str) -> object | None:
        return self._thumbs.get(key)

    def rowCount(self, parent: QModelIndex = _ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = _ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == _DISPLAY:
            return self._cells(index.row())[index.column()]
        if role == _ALIGN:
            return self._align[index.column()]
        if role == _FOREGROUND:
            return _GRAY if self._cells(index.row())[index.column()] == NULL_TEXT else None
        if role == _TOOLTIP:
            row = self.rows[index.row()]
            return row_tooltip(row, self._thumbs.get(row.key))
        if role == TILE_ROLE:
            return self._tile(self.rows[index.row()])
        if role == LABEL_ROLE:
            return tile_label(self.rows[index.row()])
        return None

    def _cells(self, row: int) -> list[str]:
        cells = self._text[row]
        if cells is None:
            r = self.rows[row]
            cells = self._text[row] = [format_value(c, r.value(c)) for c in self.columns]
        return cells

    def _tile(self, row: ImageRow) -> QPixmap:
        tile = self._tiles.get(row.key)
        if tile is not None:
            return tile
        if not row.in_affectnet or row.image_path is None:
            tile = self._tiles[row.key] = compose_tile(
                row, MissingImage(None, "no image file known"))
            return tile
        if self._waiting is None:   # the thumbnail is on its way
            self._waiting = compose_tile(None, None)
        return self._waiting

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._titles[self.columns[section]]
        return None


def tile_label(row: ImageRow) -> str:
    """The line under a tile: the AffectNet label, else the crowd majority."""
    if row.expression is not None:
        return row.expression
    if row.majority is not None:
        return f"crowd: {row.majority}"
    return NULL_TEXT


def compose_tile(row: ImageRow | None, thumb: object | None) -> QPixmap:
    """A TILE x TILE pixmap: the thumbnail centred (or a placeholder), plus badges."""
    if isinstance(thumb, QImage):
        return _compose(row, thumb)
    badges = (row.c25_set, bool(row.majority_differs)) if row is not None else None
    kind = (_placeholder_word(thumb), badges)
    tile = _PLACEHOLDERS.get(kind)
    if tile is None:
        tile = _PLACEHOLDERS[kind] = _compose(row, thumb)
    return tile


#: Placeholder tiles by (word, badges): a few kinds, shared by every tile of that kind.
_PLACEHOLDERS: dict[tuple, QPixmap] = {}


def _placeholder_word(thumb: object | None) -> str:
    if isinstance(thumb, MissingImage):
        return "missing" if thumb.reason == "missing" else (
            "no image" if thumb.path is None else "unreadable")
    return "…"


def _compose(row: ImageRow | None, thumb: object | None) -> QPixmap:
    pix = QPixmap(TILE, TILE)
    pix.fill(QColor(48, 48, 52))
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if isinstance(thumb, QImage):
        x, y = (TILE - thumb.width()) // 2, (TILE - thumb.height()) // 2
        painter.drawImage(x, y, thumb)
    elif isinstance(thumb, MissingImage):
        painter.setPen(QColor(230, 120, 110))
        font = QFont()
        font.setPointSize(10)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRect(0, 0, TILE, TILE), Qt.AlignmentFlag.AlignCenter,
                         _placeholder_word(thumb))
    else:
        painter.setPen(QColor(140, 140, 140))
        painter.drawText(QRect(0, 0, TILE, TILE), Qt.AlignmentFlag.AlignCenter, "…")
    if row is not None:
        _badges(painter, row)
    painter.end()
    return pix


def _badges(painter: QPainter, row: ImageRow) -> None:
    font = QFont()
    font.setPointSize(7)
    font.setBold(True)
    painter.setFont(font)
    if row.c25_set is not None:
        rect = QRect(3, 3, 34, 15)
        painter.setBrush(QColor(40, 110, 200))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"C25·{row.c25_set}")
    if row.majority_differs:
        rect = QRect(TILE - 19, 3, 16, 15)
        painter.setBrush(QColor(210, 60, 50))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "≠")
