"""The expression votes of one image as horizontal bars in canonical order.

Bars are coloured by role: the crowd majority dark blue, expressions tied with it
lighter blue with a dashed outline (a tie is shown as a tie, not hidden behind the
winner the pandas rule picks), the rest grey. The official AffectNet label gets an
orange outline and an orange marker beside its bar. Every bar carries its vote count.
The bar item, count labels and marker are created once and updated in place.

Model predictions (one series per stored run) are thin coloured bars over the vote bars,
each run at its own offset inside the row: probability x the number of votes, so a model
that agrees with the crowd lines up with the vote counts. Their items are pooled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.gui.detail import plotting

BAR_WIDTH = 0.72
#: Thickness of one model series' bars (rows of the plot).
MODEL_BAR = 0.16
#: Colours of the model series, by run (cycled).
MODEL_COLOURS = ("#c2185b", "#2e7d32", "#6a1b9a", "#00838f")


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
            label = plotting.PlotLabel(plotting.TEXT, anchor=(0.0, 0.5), shift_px=4)
            label.setPos(0, k)
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
        self.model_legend = plotting.legend_label([], self)
        self.model_legend.hide()
        layout.addWidget(self.model_legend)
        self._model_bars: list[pg.BarGraphItem] = []
        #: Drawn lengths of each model series (probability x votes), canonical order.
        self.model_heights: list[tuple[float, ...]] = []

        self.heights: tuple[int, ...] = (0,) * len(EXPRESSIONS)
        self.majority_index: int | None = None
        self.tied_indices: tuple[int, ...] = ()
        self.affectnet_index: int | None = None
        self._x_top = 0.0
        self._brushes = {"majority": pg.mkBrush(plotting.MAJORITY),
                         "tied": pg.mkBrush(plotting.TIED),
                         "other": pg.mkBrush(plotting.OTHER_BAR)}
        self._pens = {"affectnet": pg.mkPen(plotting.AFFECTNET, width=3),
                      "tied": pg.mkPen("#0d3a6e", width=2, style=Qt.PenStyle.DashLine),
                      "other": pg.mkPen("#6d7f94", width=1)}

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
        # Pens and brushes are made once (mkPen/mkBrush per bar per image cost ~1 ms).
        brushes = [self._brushes["majority" if k == self.majority_index else
                                 "tied" if k in self.tied_indices else "other"]
                   for k in range(len(EXPRESSIONS))]
        pens = [self._pens["affectnet" if k == self.affectnet_index else
                           "tied" if k in self.tied_indices else "other"]
                for k in range(len(EXPRESSIONS))]
        self.bars.setOpts(width=list(heights), brushes=brushes, pens=pens)
        top = max(max(heights), 1)
        for k, label in enumerate(self.count_labels):
            text = str(heights[k]) if heights[k] else ""
            if k in self.tied_indices:
                text += " tie"
            # Only what changed (each call re-measures or moves the label).
            if label.text() != text:
                label.setText(text)
            if (label.pos().x(), label.pos().y()) != (heights[k] + 0.01 * top, k):
                label.setPos(heights[k] + 0.01 * top, k)
        # Room right of the longest possible bar (all the votes) for its count and the
        # AffectNet marker. The range depends on the number of votes only, so it stays
        # put from image to image (25 per C25 image): the axes keep their drawing and the
        # view its transform, and bar lengths compare across images at a glance.
        votes = 5 * math.ceil(max(sum(heights), 1) / 5)   # 21..25 votes: one range
        x_top = max(5.0 * math.ceil(votes * 1.3 / 5.0), 10.0)
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
        # An empty scatter still costs its Python paint: hidden instead.
        self.affectnet_marker.setVisible(self.affectnet_index is not None)

    def set_models(self, series: list[tuple[str, dict[str, float]]], n_votes: int) -> None:
        """Draw each ``(model name, probabilities by expression)`` as thin bars.

        A bar's length is probability x ``n_votes`` (the crowd's votes), on the votes axis.
        Expressions a model lacks get no bar. Call after :meth:`set_votes`.
        """
        item = self.plot.getPlotItem()
        while len(self._model_bars) < len(series):
            bars = pg.BarGraphItem(x0=0, y=[0], width=[0], height=MODEL_BAR)
            bars.setZValue(5)
            item.addItem(bars)
            self._model_bars.append(bars)
        self.model_heights = []
        n = len(series)
        for r, bars in enumerate(self._model_bars):
            if r >= n:
                bars.hide()
                continue
            name, probs = series[r]
            lengths = tuple(float(probs.get(e, float("nan"))) * n_votes for e in EXPRESSIONS)
            self.model_heights.append(lengths)
            # runs side by side inside the row, centred on the vote bar
            offset = (r - (n - 1) / 2) * MODEL_BAR * 1.15
            rows = [k + offset for k, v in enumerate(lengths) if math.isfinite(v)]
            colour = MODEL_COLOURS[r % len(MODEL_COLOURS)]
            bars.setOpts(y=rows, width=[v for v in lengths if math.isfinite(v)],
                         height=MODEL_BAR, brush=pg.mkBrush(colour),
                         pen=pg.mkPen("w", width=1))
            bars.show()
        longest = max((v for h in self.model_heights for v in h if math.isfinite(v)),
                      default=0.0)
        if longest > self._x_top:  # a confident model may outgrow the votes' range
            self._x_top = 5.0 * math.ceil(longest * 1.05 / 5.0)
            item.setRange(xRange=(0, self._x_top),
                          yRange=(-0.6, len(EXPRESSIONS) - 0.4), padding=0)
        self.model_legend.setText("&nbsp;&nbsp;&nbsp;".join(
            f"<span style='color:{MODEL_COLOURS[r % len(MODEL_COLOURS)]}; font-size:13pt'>"
            f"▬</span>&nbsp;{escape(name)}" for r, (name, _) in enumerate(series))
            + f"&nbsp;&nbsp;<span style='color:gray'>(probability × {n_votes} votes)</span>")
        self.model_legend.setVisible(bool(series))
