"""A word-wrapped message banner that re-lays out its window only when its height changes.

The face view tells why an image is not shown ("Image file not found: <path>"), and the
path differs from image to image. As a QLabel, every new text asked the layouts for a new
geometry and was painted twice: the label re-measures its wrapped text while painting and
queues another layout and paint of the whole detail panel after the first one (~3 ms and
a second paint per click on an index without image files). :class:`Banner` measures its
text once, when it is set, and calls ``updateGeometry`` only when the height for its
current width changes; otherwise only its own pixels are repainted.

Long paths wrap anywhere (they have no spaces), on at most ``max_lines`` lines (three: a
typical AffectNet image path fits whole even in a laptop's face card): a longer message
loses the middle of its text ("…"), which keeps the dataset root and the file name, and
the face below keeps its room. The whole text can be copied
from the context menu ("Copy message") and reads in full in the tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QGuiApplication, QPainter, QPaintEvent
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

BACKGROUND = QColor("#fff4e0")
BORDER = QColor("#e0b070")
TEXT = QColor("#6b3500")
PADDING = 6
#: Wrap at word boundaries, and inside a word (a path) when it does not fit.
FLAGS = int(Qt.TextFlag.TextWrapAnywhere) | int(Qt.AlignmentFlag.AlignLeft
                                                | Qt.AlignmentFlag.AlignTop)


class Banner(QWidget):
    """A warning message: wrapped text on a light orange card, copyable."""

    def __init__(self, parent: QWidget | None = None, max_lines: int = 3) -> None:
        super().__init__(parent)
        self._text = ""
        self.max_lines = max_lines
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        # A long path must not set the panel's minimum width (Ignored), and the banner is
        # as tall as its wrapped text (height for width).
        self.setSizePolicy(policy)
        self._measured: tuple[str, int, int] | None = None   # text, width, height

    def text(self) -> str:
        """The message shown (plain text)."""
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - the QLabel name callers know
        """Show ``text``; the window is re-laid out only when the banner's height changes."""
        if text == self._text:
            return
        width = self.width()
        before = self.heightForWidth(width)
        self._text = text
        self.setToolTip(text)
        if self.heightForWidth(width) != before or not self.isVisible():
            self.updateGeometry()
        self.update()

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def shown_text(self, width: int | None = None) -> str:
        """The text as drawn at ``width`` (default: the banner's): elided in the middle
        when it would need more than ``max_lines`` lines."""
        inner = max(1, (self.width() if width is None else width) - 2 * PADDING - 2)
        fm = self.fontMetrics()
        if self._lines(self._text, inner) <= self.max_lines:
            return self._text
        # a little under max_lines full lines: wrapping breaks before the edge
        room = int(self.max_lines * inner * 0.92)
        shown = fm.elidedText(self._text, Qt.TextElideMode.ElideMiddle, room)
        while self._lines(shown, inner) > self.max_lines and room > inner // 2:
            room -= inner // 10
            shown = fm.elidedText(self._text, Qt.TextElideMode.ElideMiddle, room)
        return shown

    def _lines(self, text: str, inner: int) -> int:
        fm = self.fontMetrics()
        rect = fm.boundingRect(QRect(0, 0, inner, 100_000), FLAGS, text or " ")
        return max(1, round(rect.height() / fm.lineSpacing()))

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        if self._measured is not None and self._measured[:2] == (self._text, width):
            return self._measured[2]
        inner = max(1, width - 2 * PADDING - 2)
        lines = min(self._lines(self._text, inner), self.max_lines)
        fm = self.fontMetrics()
        height = fm.height() + (lines - 1) * fm.lineSpacing() + 2 * PADDING + 2
        self._measured = (self._text, width, height)
        return height

    def sizeHint(self) -> QSize:  # noqa: N802
        width = max(self.width(), 200)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self.fontMetrics().height() + 2 * PADDING + 2)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setPen(BORDER)
        p.setBrush(BACKGROUND)
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.setPen(TEXT)
        p.drawText(self.rect().adjusted(PADDING + 1, PADDING + 1, -PADDING - 1, -PADDING - 1),
                   FLAGS, self.shown_text())
        p.end()

    def copy(self) -> None:
        """Put the whole message on the clipboard (the context menu's action)."""
        QGuiApplication.clipboard().setText(self._text)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        menu = QMenu(self)
        menu.addAction("Copy message", self.copy)
        menu.exec(event.globalPos())
