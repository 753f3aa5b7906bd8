"""The expression votes of one image as horizontal bars in canonical order.

Bars are coloured by role: the crowd majority dark blue, expressions tied with it
lighter blue with a dashed outline (a tie is shown as a tie, not hidden behind the
winner the pandas rule picks), the rest grey. The official AffectNet label gets an
orange outline and an orange marker beside its bar. Every bar carries its vote count.
The bar item, count labels and marker are created once and updated in place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.gui.detail import plotting

BAR_WIDTH = 0.72


class VoteHistogram(QWidget):
    """Bars of votes per expression with the majority, ties and AffectNet label marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plotting.plot_widget(self)
        item = self.plot.getPlotItem()
        item.setMouseEnabled(x=False, y=False)
        # Horizontal bars: the expression names stay readable however narrow the panel.
        item.invertY(True)
        item.getAxis("left").setTicks([list(enumerate(EXPRESSIONS)), []])
        item.getAxis("left").setStyle(tickTextOffset=4)
        item.setLabel("bottom", "votes")
        item.getAxis("bottom").setTickSpacing(5, 1)
        item.showGrid(x=True, alpha=0.15)
        rows = list(range(len(EXPRESSIONS)))
        self.bars = pg.BarGraphItem(x0=0, y=rows, width=[0] * len(rows), height=BAR_WIDTH,
                                    brush=plotting.OTHER_BAR)
        item.addItem(self.bars)
        self.count_labels = []
        for k in rows:
            label = pg.TextItem("", color=plotting.TEXT, anchor=(0.0, 0.5))
            label.setPos(k, 0)
            item.addItem(label)
            self.count_labels.append(label)
        self.affectnet_marker = pg.ScatterPlotItem(
            symbol="t3", size=13, pen=pg.mkPen("#8a3b00"), brush=pg.mkBrush(plotting.AFFECTNET))
        item.addItem(self.affectnet_marker)
        self.legend = plotting.legend_label([
            ("■", plotting.MAJORITY, "majority"),
            ("■", plotting.TIED, "tied (dashed)"),
            ("◀", plotting.AFFECTNET, "AffectNet label")], self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)

        self.heights: tuple[int, ...] = (0,) * len(EXPRESSIONS)
        self.majority_index: int | None = None
        self.tied_indices: tuple[int, ...] = ()
        self.affectnet_index: int | None = None
        self._x_top = 0.0

    def set_votes(self, counts: Mapping[str, int], majority: str | None,
                  tied_labels: tuple[str, ...] = (), affectnet_label: str | None = None) -> None:
        """Show ``counts`` (by expression); mark ``majority``, the ties and AffectNet's label.

        ``tied_labels`` are the expressions sharing the top count (the majority among them);
        with one entry there is no tie. An AffectNet label outside the 8 expressions (none,
        uncertain, no-face) has no bar and is not marked here.
        """
        heights = tuple(int(counts.get(e, 0)) for e in EXPRESSIONS)
        self.heights = heights
        self.majority_index = EXPRESSIONS.index(majority) if majority in EXPRESSIONS else None
        tied = tuple(EXPRESSIONS.index(t) for t in tied_labels if t in EXPRESSIONS)
        self.tied_indices = tuple(sorted(tied)) if len(tied) > 1 else ()
        self.affectnet_index = (EXPRESSIONS.index(affectnet_label)
                                if affectnet_label in EXPRESSIONS else None)
        brushes, pens = [], []
        for k in range(len(EXPRESSIONS)):
            if k == self.majority_index:
                brush = plotting.MAJORITY
            elif k in self.tied_indices:
                brush = plotting.TIED
            else:
                brush = plotting.OTHER_BAR
            if k == self.affectnet_index:
                pen = pg.mkPen(plotting.AFFECTNET, width=3)
            elif k in self.tied_indices:
                pen = pg.mkPen("#0d3a6e", width=2, style=Qt.PenStyle.DashLine)
            else:
                pen = pg.mkPen("#6d7f94", width=1)
            brushes.append(pg.mkBrush(brush))
            pens.append(pen)
        self.bars.setOpts(width=list(heights), brushes=brushes, pens=pens)
        top = max(max(heights), 1)
        for k, label in enumerate(self.count_labels):
            text = str(heights[k]) if heights[k] else ""
            if k in self.tied_indices:
                text += " tie"
            label.setText(text)
            label.setPos(heights[k] + 0.01 * top, k)
        # Room right of the longest bar for its count and the AffectNet marker; the range
        # is rounded so it (and the axes' cached drawing) rarely changes between images.
        x_top = max(5.0 * math.ceil((top * 1.35 + 2) / 5.0), 10.0)
        if x_top != self._x_top:
            self._x_top = x_top
            self.plot.getPlotItem().setRange(
                xRange=(0, x_top), yRange=(-0.6, len(EXPRESSIONS) - 0.4), padding=0)
        if self.affectnet_index is not None:
            # Right of the bar's count label ("12 tie" is about a sixth of the plot wide).
            k = self.affectnet_index
            self.affectnet_marker.setData(x=[heights[k] + 0.2 * self._x_top], y=[k])
        else:
            self.affectnet_marker.clear()
