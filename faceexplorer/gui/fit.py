"""Widgets that let a view shrink to a laptop screen without cutting what it shows.

A Qt window can never be narrower than the sum of its widgets' minimum widths, and a
QLabel's minimum width is its whole text on one line; a QPushButton's is at least 80 px
whatever its text; a QFormLayout puts every label beside its field. One long title or a
row of buttons is enough to make a window wider than a 1366 px screen (the HRM tab once
asked for 1719 px). The tools here keep each of those from setting the width:

- :class:`ElidedLabel`: a one-line plain-text label that ends in "…" when it is narrower
  than its text, the whole text in its tooltip (titles, readouts, file names);
- :func:`compact_buttons`: buttons that may shrink to their text (Qt's 80 px floor lifted);
- :func:`compact_combos`: combo boxes sized for a few characters when space is short (the
  list that drops down still shows each choice whole);
- :func:`wrap_form`: a form whose fields go under their labels when the form is narrow;
- :func:`wrap_labels`: word-wrapped rich text (notes, legends) instead of one long line.

Each keeps the widget's natural size when there is room: only the minimum changes.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QFormLayout,
    QLabel,
    QSizePolicy,
    QWidget,
)

#: Characters an elided label keeps at its narrowest, before the "…".
MIN_CHARS = 6


class ElidedLabel(QLabel):
    """A one-line plain-text label that elides instead of demanding its text's width.

    Its size hint is the whole text (so it gets it when there is room); its minimum is
    a few characters. When the text does not fit it ends in "…" and the whole text is
    the tooltip (an explicit :meth:`setToolTip` is kept instead).
    """

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(text, parent)
        self.mode = mode
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._own_tip = ""

    def setToolTip(self, tip: str) -> None:  # noqa: N802 (Qt's name)
        self._own_tip = tip
        super().setToolTip(tip)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        hint = super().minimumSizeHint()
        fm = self.fontMetrics()
        m = self.contentsMargins()
        narrow = fm.horizontalAdvance(self.text()[:MIN_CHARS] + "…") + m.left() + m.right()
        return QSize(min(hint.width(), narrow), hint.height())

    def shown_text(self) -> str:
        """The text as drawn at the label's width."""
        return self.fontMetrics().elidedText(self.text(), self.mode,
                                             self.contentsRect().width())

    def is_elided(self) -> bool:
        return self.shown_text() != self.text()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        shown = self.shown_text()
        tip = self._own_tip or (self.text() if shown != self.text() else "")
        if super().toolTip() != tip:
            super().setToolTip(tip)
        painter = QPainter(self)
        self.style().drawItemText(painter, self.contentsRect(), int(self.alignment()),
                                  self.palette(), self.isEnabled(), shown,
                                  self.foregroundRole())
        painter.end()


def compact_buttons(*buttons: QAbstractButton, padding: int = 14) -> None:
    """Let ``buttons`` shrink to their text plus ``padding`` (their hint stays natural)."""
    for b in buttons:
        fm = b.fontMetrics()
        icon = b.iconSize().width() + 4 if not b.icon().isNull() else 0
        b.setMinimumWidth(fm.horizontalAdvance(b.text().replace("&", "")) + padding + icon)


def compact_combos(*combos: QComboBox, chars: int = 12) -> None:
    """Let ``combos`` shrink to about ``chars`` characters when space is short; with
    room they keep their longest choice's width, and the drop-down list always does."""
    for combo in combos:
        fm = combo.fontMetrics()
        natural = combo.sizeHint().width()
        longest = max((fm.horizontalAdvance(combo.itemText(i)) for i in range(combo.count())),
                      default=0)
        narrow = natural - longest + fm.averageCharWidth() * chars
        if narrow < natural:
            combo.setMinimumWidth(narrow)
        combo.view().setMinimumWidth(natural)


def wrap_form(form: QFormLayout) -> QFormLayout:
    """Fields beside their labels when there is room, under them when not."""
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    return form


def wrap_labels(*labels: QLabel) -> None:
    """Word-wrap ``labels``: their minimum width becomes their longest word."""
    for label in labels:
        label.setWordWrap(True)


#: Laptop screens, this wide (px), get the window maximized (their whole free area).
LAPTOP_WIDTHS = range(1024, 1441)
#: Elsewhere, and when a laptop's window is restored from maximized, the window takes
#: this share of the free area, centred.
SCREEN_SHARE = 0.9


def opens_maximized(available: QRect) -> bool:
    """A laptop's screen is used whole: the window opens maximized there. Narrower
    "screens" are no laptop's (the window's minimum is wider): Qt's offscreen platform
    (800x800, the tests') gets the centred window, which a test can resize."""
    return available.width() in LAPTOP_WIDTHS


def window_geometry(available: QRect) -> QRect:
    """The window's normal geometry on a screen whose free area is ``available``:
    :data:`SCREEN_SHARE` of it, centred (the frame included, where known)."""
    size = QSize(round(available.width() * SCREEN_SHARE),
                 round(available.height() * SCREEN_SHARE))
    rect = QRect(QPoint(0, 0), size)
    rect.moveCenter(available.center())
    return rect


def fit_to_screen(window: QWidget, available: QRect) -> None:
    """Bring a (restored) ``window`` inside ``available``, its frame included: smaller
    if it is larger, moved in if it sticks out."""
    if window.isMaximized() or window.isFullScreen():
        return
    frame = window.frameGeometry()
    extra = frame.size() - window.size()
    size = window.size().boundedTo(available.size() - extra)
    if size != window.size():
        window.resize(size)
    rect = QRect(frame.topLeft(), size + extra)
    dx = min(0, available.right() - rect.right()) or max(0, available.left() - rect.left())
    dy = min(0, available.bottom() - rect.bottom()) or max(0, available.top() - rect.top())
    if dx or dy:
        window.move(frame.topLeft() + QPoint(dx, dy))
