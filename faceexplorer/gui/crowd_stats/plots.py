"""Plot cards of the set statistics view: confusion heatmaps and the agreement histogram.

A card is a pyqtgraph plot (its title inside the plot, so a saved PNG explains itself),
a note that replaces the plot when there is nothing to draw (and says why), and a
"Save plot as PNG..." button. Cards get finished numbers: the heatmap colours each cell
by a share in [0, 1] with fixed levels and prints the given text in it; the histogram
draws given bar heights. The graphics items are made once and updated in place, and
the heatmap's numbers are one item painted in one pass, so a switch costs milliseconds.

A card makes its pyqtgraph plot (~12 ms each) only when it is first shown or asked for
(:meth:`PlotCard.make_plot`, or reading ``view`` / ``plot``): the view's hidden tabs
cost nothing on its first visit (issue 18, "set stats first"). Until then a card keeps
the last numbers it was given and draws them when the plot is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.gui.pg_setup import pg, plain_axes

# White to dark blue (ColorBrewer "Blues" ends): light cells take dark text, dark white.
_CMAP = pg.ColorMap([0.0, 0.5, 1.0], [(255, 255, 255), (107, 174, 214), (8, 48, 107)])
_DARK_FROM = 0.5


class PlotCard(QWidget):
    """A plot, or a note in its place, with a "Save plot as PNG..." button.

    Signals
    -------
    saved(str)
        The path a PNG was written to.
    """

    saved = Signal(str)

    def __init__(self, file_stem: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.file_stem = file_stem
        self._view: pg.GraphicsLayoutWidget | None = None
        self._plot: pg.PlotItem | None = None
        self._title: str | None = None      # the title to show (set before the plot)
        #: where the plot goes when it is made (a blank page until then)
        self.plot_page = QWidget(self)
        page_layout = QVBoxLayout(self.plot_page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel(self)
        self.note.setObjectName("plotNote")
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setStyleSheet("color: #555; font-size: 11pt; padding: 24px;")
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.plot_page)
        self.stack.addWidget(self.note)
        self.save_button = QPushButton("Save plot as PNG…", self)
        self.save_button.clicked.connect(self.ask_save_png)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)

    # --- the plot, made on first use ----------------------------------------------------
    @property
    def view(self) -> pg.GraphicsLayoutWidget:
        """The pyqtgraph view (made now if it was not yet)."""
        self.make_plot()
        assert self._view is not None
        return self._view

    @property
    def plot(self) -> pg.PlotItem:
        """The plot item (made now if it was not yet)."""
        self.make_plot()
        assert self._plot is not None
        return self._plot

    @property
    def plot_made(self) -> bool:
        return self._plot is not None

    def make_plot(self) -> None:
        """Make the pyqtgraph plot and draw the numbers given so far (once)."""
        if self._plot is not None:
            return
        view = pg.GraphicsLayoutWidget(self.plot_page)
        view.setBackground("w")
        # no context menu, made without one: its making was ~a third of the plot's
        plot = plain_axes(view.addPlot(enableMenu=False))
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        self._view, self._plot = view, plot
        self._make_items(plot)
        self._draw()
        if self._title is not None:
            plot.setTitle(self._title, size="10pt", color="#222")
        self.plot_page.layout().addWidget(view)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        self.make_plot()   # before the first paint: the tab shows its plot at once
        super().showEvent(event)

    def _make_items(self, plot: pg.PlotItem) -> None:
        """Add the card's graphics items to ``plot`` (subclasses)."""

    def _draw(self) -> None:
        """Put the numbers kept on the card into its items (subclasses; plot made)."""

    def set_title(self, html: str) -> None:
        # Short lines (<br>): a title wider than the view would widen the plot past it.
        if html == self._title:
            return  # the same title: setting it again lays out its rich text ~3 times
        self._title = html
        if self._plot is not None:
            self._plot.setTitle(html, size="10pt", color="#222")

    def title_text(self) -> str:
        """The plot's title as given (rich text), '' before any."""
        return self._title or ""

    def show_plot(self) -> None:
        self.stack.setCurrentWidget(self.plot_page)
        self.save_button.setEnabled(True)

    def show_note(self, text: str) -> None:
        """Replace the plot by ``text`` (why there is nothing to draw)."""
        self.note.setText(text)
        self.stack.setCurrentWidget(self.note)
        self.save_button.setEnabled(False)

    @property
    def showing_plot(self) -> bool:
        return self.stack.currentWidget() is self.plot_page

    def ask_save_png(self) -> None:
        """Ask where to save the plot, then save it (the "ask" half of the command)."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Save plot as PNG", f"{self.file_stem}.png", "PNG image (*.png)")
        if path:
            self.save_png(Path(path))

    def save_png(self, path: Path) -> Path:
        """Write the plot as it is shown to ``path`` (``.png`` added when missing).

        Raises
        ------
        OSError
            The file could not be written.
        """
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_name(path.name + ".png")
        if not self.view.grab().save(str(path), "PNG"):
            raise OSError(f"{path}: could not write the PNG (is the folder writable?)")
        self.saved.emit(str(path))
        return path


class CellTexts(pg.GraphicsObject):
    """The numbers of an n x n grid of unit cells, drawn by one item in one pass.

    One item instead of n^2 ``TextItem``s: each of those repaints on its own with its
    own transform, which made the heatmap's paint several times slower.
    """

    def __init__(self, n: int, font: QFont) -> None:
        super().__init__()
        self.n, self.font = n, font
        self.texts: list[list[str]] = [[""] * n for _ in range(n)]
        self.dark = np.zeros((n, n), dtype=bool)

    def set_cells(self, texts: Sequence[Sequence[str]], dark: np.ndarray) -> None:
        """Show ``texts`` (row by row); white text where ``dark`` (a dark cell colour)."""
        self.texts = [list(row) for row in texts]
        self.dark = np.asarray(dark, dtype=bool)
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.n, self.n)

    def paint(self, painter: QPainter, *args) -> None:
        # Draw in device pixels so the text keeps its point size at any zoom.
        to_device = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setFont(self.font)
        pens = (QPen(QColor("black")), QPen(QColor("white")))
        for r, row in enumerate(self.texts):
            for c, text in enumerate(row):
                a = to_device.map(QPointF(c, r))
                b = to_device.map(QPointF(c + 1, r + 1))
                painter.setPen(pens[int(self.dark[r, c])])
                painter.drawText(QRectF(a, b).normalized(), Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class HeatmapCard(PlotCard):
    """An n x n confusion heatmap with labels on both axes and a number in every cell."""

    def __init__(self, file_stem: str, labels: Sequence[str], row_title: str,
                 column_title: str, parent: QWidget | None = None) -> None:
        super().__init__(file_stem, parent)
        self.labels = list(labels)
        self._titles = (row_title, column_title)
        n = len(self.labels)
        self.image: pg.ImageItem | None = None
        self.cells: CellTexts | None = None
        #: what the cells show: colours (RGBA), texts, dark cells (None: nothing yet)
        self._rgba: np.ndarray | None = None
        self._texts: list[list[str]] = [[""] * n for _ in range(n)]
        self._dark = np.zeros((n, n), dtype=bool)
        # eight readable rows (~30 px), and room for a laptop's Model runs tab: at 460 px
        # the window could not be shorter than 750 px, taller than a 768 px screen's room
        self.setMinimumSize(520, 380)

    def _make_items(self, plot: pg.PlotItem) -> None:
        n = len(self.labels)
        self.image = pg.ImageItem()
        plot.addItem(self.image)
        plot.invertY(True)  # row 0 (first label) at the top, as a table reads
        plot.setRange(xRange=(0, n), yRange=(0, n), padding=0)
        plot.disableAutoRange()
        ticks = [[(k + 0.5, name) for k, name in enumerate(self.labels)]]
        font = QFont()
        font.setPointSize(9)
        for side, title in zip(("left", "bottom"), self._titles, strict=True):
            axis = plot.getAxis(side)
            axis.setTicks(ticks)
            axis.setStyle(tickFont=font, tickLength=0, hideOverlappingLabels=False)
            axis.setTextPen("k")
            axis.setPen("k")
            plot.setLabel(side, title, color="#222")
        # A fixed width: sized from the first labels drawn, the axis dropped the widest.
        plot.getAxis("left").setWidth(90)
        self.cells = CellTexts(n, font)
        plot.addItem(self.cells)

    def _draw(self) -> None:
        if self._rgba is None or self.image is None or self.cells is None:
            return
        n = len(self.labels)
        self.image.setImage(self._rgba, autoLevels=False, levels=(0, 255))
        self.image.setRect(0, 0, n, n)
        self.cells.set_cells(self._texts, self._dark)

    def set_matrix(self, shares: np.ndarray, texts: Sequence[Sequence[str]],
                   title: str) -> None:
        """Colour cells by ``shares`` (0..1, NaN = empty) and print ``texts`` in them."""
        shares = np.asarray(shares, dtype=float)
        clean = np.nan_to_num(np.clip(shares, 0.0, 1.0))
        rgba = _CMAP.map(clean, mode=pg.ColorMap.BYTE)
        self._rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
        self._texts = [list(row) for row in texts]
        self._dark = clean >= _DARK_FROM
        if self.plot_made:
            self._draw()
        self.set_title(title)
        self.show_plot()

    def cell_texts(self) -> list[list[str]]:
        """The numbers printed in the cells, row by row (what the user reads)."""
        return [list(row) for row in self._texts]


class HistogramCard(PlotCard):
    """Bars of how many images have each agreement score, with the mean marked."""

    def __init__(self, file_stem: str, parent: QWidget | None = None) -> None:
        super().__init__(file_stem, parent)
        self.bars: pg.BarGraphItem | None = None
        self.mean_line: pg.InfiniteLine | None = None
        self.heights = np.zeros(0)
        self._scores = np.zeros(0)
        self._mean = 0.0
        self._x_title = ""

    def _make_items(self, plot: pg.PlotItem) -> None:
        self.bars = pg.BarGraphItem(x=[0], height=[0], width=0.8,
                                    brush=pg.mkBrush(70, 110, 170), pen=pg.mkPen(None))
        plot.addItem(self.bars)
        self.mean_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#c0392b", width=2,
                                                                style=Qt.PenStyle.DashLine))
        plot.addItem(self.mean_line)
        plot.setLabel("left", "images", color="#222")
        plot.showGrid(y=True, alpha=0.25)
        for side in ("left", "bottom"):
            plot.getAxis(side).setTextPen("k")
            plot.getAxis(side).setPen("k")

    def _draw(self) -> None:
        plot = self._plot
        if plot is None or self.bars is None or self.mean_line is None \
                or not self._scores.size:
            return
        x = self._scores
        self.bars.setOpts(x=x, height=self.heights, width=0.8)
        self.mean_line.setValue(self._mean)
        if plot.getAxis("bottom").labelText != self._x_title:  # it changes with the task
            plot.setLabel("bottom", self._x_title, color="#222")
        top = float(self.heights.max()) if self.heights.size else 1.0
        plot.setRange(xRange=(x.min() - 0.6, x.max() + 0.6), yRange=(0, top * 1.08),
                      padding=0)

    def set_histogram(self, scores: Sequence[int], counts: Sequence[int], mean: float,
                      x_title: str, title: str) -> None:
        """Draw ``counts[i]`` images at agreement ``scores[i]``; a dashed line at ``mean``."""
        self._scores = np.asarray(scores, dtype=float)
        self.heights = np.asarray(counts, dtype=float)
        self._mean, self._x_title = float(mean), x_title
        if self.plot_made:
            self._draw()
        self.set_title(title)
        self.show_plot()
