"""Small widgets of the HRM tab whose changes repaint without re-laying the tab out.

Opening a child changes texts and swaps a message for the plots. Done with plain Qt
widgets, each change asks the layouts for new geometry, and the requests climb to widgets
that answer by repainting everything under them (a QTabWidget repaints the whole
navigator) or by laying out for the first time what was hidden (the timeline's plots,
~25 ms and a second paint inside the first child's open). These widgets keep their
geometry fixed across such changes, so a change costs only its own paint.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


class TextLine(QWidget):
    """One line of text whose changes repaint only itself.

    A QLabel asks its layout for new geometry on every ``setText``; the request climbs
    to the tab widget, which then repaints the whole navigator (tree, table, tab bar:
    ~8 ms a child opened). This line's height is fixed by its font, its width comes
    from the layout, so a new text needs only a paint.
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name)
        if text != self._text:
            self._text = text
            self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(self.fontMetrics().horizontalAdvance(self._text),
                     self.fontMetrics().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(0, self.fontMetrics().height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        self.style().drawItemText(painter, self.contentsRect(),
                                  Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                  self.palette(), self.isEnabled(), self._text,
                                  QPalette.ColorRole.WindowText)
        painter.end()


class Cover(QWidget):
    """``back`` (the timeline's plots) with ``front`` (a message) over it, both always
    shown and laid out; the pair is sized as ``front`` alone, as when the message replaced
    the plots, so the splitter around the timeline shares out the same heights. Children
    are placed by hand: a layout would add its own size hints to the message's."""

    def __init__(self, back: QWidget, front: QWidget, parent: QWidget) -> None:
        super().__init__(parent)
        self._back, self._front = back, front
        back.setParent(self)
        front.setParent(self)
        self.setSizePolicy(front.sizePolicy())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return self._front.sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return self._front.minimumSizeHint()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return self._front.hasHeightForWidth()

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        return self._front.heightForWidth(width)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        for w in (self._back, self._front):
            w.setGeometry(self.rect())
