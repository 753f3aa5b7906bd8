"""What every plot of the detail panel shares: colours, legends, a titled card.

The colours give each role one meaning across plots: the crowd majority is blue, the
official AffectNet label orange, the crowd mean red. A :class:`PlotCard` frames a plot
with a title line and a "Save PNG..." button; the dialog (the "ask") is separate from
:func:`save_png` (the "do"), which tests call directly.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

MAJORITY = QColor("#1f5fa8")
TIED = QColor("#5b8fd1")
OTHER_BAR = QColor("#b9c6d6")
AFFECTNET = QColor("#e8710a")
MEAN = QColor("#c62828")
VOTE = QColor(31, 95, 168, 150)
LANDMARK = QColor("#00e5ff")
BOX = QColor("#ffd600")
WARNING = QColor("#b35900")
TEXT = QColor("#222222")


#: Between two legend entries: the only place a legend's line may break (inside an
#: entry the spaces are non-breaking: "tied" and "(dashed)" were split over two lines).
ENTRY_GAP = "&nbsp;&nbsp; "


def legend_label(entries: list[tuple[str, QColor, str]], parent: QWidget | None = None) -> QLabel:
    """A one-line legend under a plot: ``(symbol, colour, text)`` per entry.

    Kept outside the plot area so it never hides a bar or a vote; it is part of the
    widget a "Save PNG..." grabs, so saved plots keep their legend. In a narrow card it
    wraps between entries, never inside one.
    """
    html = ENTRY_GAP.join(
        f"<span style='color:{c.name()}; font-size:13pt'>{sym}</span>&nbsp;"
        f"{escape(text).replace(' ', '&nbsp;')}" for sym, c, text in entries)
    label = QLabel(html, parent)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setStyleSheet("background: white; color: #222222; padding: 0 6px 3px 6px;")
    label.setWordWrap(True)
    return label


def save_png(widget: QWidget, path: Path | str) -> Path:
    """Save what ``widget`` shows, as displayed, to a PNG file; return the path.

    Raises
    ------
    OSError
        The file could not be written (the message names it).
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_suffix(path.suffix + ".png") if path.suffix else path.with_suffix(".png")
    # A scrolling view (the statistics text) saves all of its content, not its viewport.
    full = getattr(widget, "export_pixmap", None)
    pixmap = full() if callable(full) else widget.grab()
    if pixmap.isNull():
        raise OSError(f"{path}: nothing to save, the plot is not shown")
    if not pixmap.save(str(path), "PNG"):
        raise OSError(f"{path}: could not write the PNG (is the folder writable?)")
    return path


class _CardTitle(QLabel):
    """A word-wrapped title whose height, at a given width, never shrinks.

    The titles carry per-image state ("majority anger (15 of 25)", a tie...), so their
    line count changes from image to image in a narrow card. Each change re-sized the
    plot below: a full re-layout of its scene and new axis drawings (pyqtgraph redraws
    its axes at every resize), ~5 ms per image. Keeping the tallest height seen for the
    width (a blank line at worst) keeps the plot's size, so only the text changes.
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._heights: dict[int, int] = {}

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        height = max(super().heightForWidth(width), self._heights.get(width, 0))
        self._heights[width] = height
        return height


class PlotCard(QFrame):
    """A plot (or any view) under a title line with a "Save PNG..." button.

    ``export`` is the part saved to PNG (default: all of ``body``), e.g. a plot without
    the toggles below it.
    """

    def __init__(self, title: str, body: QWidget, file_stem: str,
                 parent: QWidget | None = None, export: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.body = body
        self.export = export if export is not None else body
        self.file_stem = file_stem
        self.title = _CardTitle(title, self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setStyleSheet("font-weight: bold;")
        # A long title wraps instead of pushing the button out of the card.
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.save_button = QToolButton(self)
        self.save_button.setText("Save PNG…")
        self.save_button.setToolTip("Save this plot as it is shown to a PNG file")
        self.save_button.setAutoRaise(True)
        self.save_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.save_button.clicked.connect(self.ask_save)
        head = QHBoxLayout()
        head.setContentsMargins(6, 4, 4, 0)
        head.addWidget(self.title, 1)
        head.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(body, 1)

    def set_title(self, html: str) -> None:
        self.title.setText(html)

    def ask_save(self) -> None:
        """Ask for a file name, then save the plot there."""
        name, _ = QFileDialog.getSaveFileName(
            self, "Save plot as PNG", f"{self.file_stem}.png", "PNG image (*.png)")
        if not name:
            return
        try:
            save_png(self.export, name)
        except OSError as exc:
            QMessageBox.warning(self, "Save plot as PNG", str(exc))
