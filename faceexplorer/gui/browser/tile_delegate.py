"""The grid's tiles: the selected face framed, never tinted.

Qt's item views draw a selected item's icon in its "selected" mode, which blends the
picture with the highlight colour: the selected face turned blue over the skin, the
very thing a rater wants to look at. :class:`TileDelegate` draws every tile as it is and
marks the selected one with a frame in the highlight colour around its picture.

The grid shares the table's model (``models.BrowserPageModel``), whose display text is
the table's first column: the delegate takes a tile's picture and label line from the
model's grid roles (``TILE_ROLE``, ``LABEL_ROLE``) instead.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QIcon, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from faceexplorer.gui.browser.models import LABEL_ROLE, TILE_ROLE

#: Width of the selection frame (px).
FRAME = 3


class TileDelegate(QStyledItemDelegate):
    """Tiles drawn untinted; the selected one framed."""

    def initStyleOption(self, option: QStyleOptionViewItem,  # noqa: N802
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        label = index.data(LABEL_ROLE)
        if label is not None:
            option.text = label
        tile = index.data(TILE_ROLE)
        if tile is not None:
            option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
            option.icon = QIcon(tile)
            option.decorationSize = tile.size()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        if not option.state & QStyle.StateFlag.State_Selected:
            super().paint(painter, option, index)
            return
        plain = QStyleOptionViewItem(option)
        plain.state &= ~QStyle.StateFlag.State_Selected
        super().paint(painter, plain, index)
        self.initStyleOption(plain, index)
        widget = option.widget
        style = widget.style() if widget is not None else None
        picture = (style.subElementRect(QStyle.SubElement.SE_ItemViewItemDecoration, plain,
                                        widget) if style is not None else option.rect)
        painter.save()
        pen = QPen(option.palette.color(QPalette.ColorRole.Highlight), FRAME)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        # just outside the picture: the face itself stays as it is
        grow = FRAME // 2 + 1
        painter.drawRect(picture.adjusted(-grow, -grow, grow - 1, grow - 1))
        painter.restore()
