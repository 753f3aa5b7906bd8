"""The valence-arousal votes of one image on the circumplex plane.

Valence on x, arousal on y, both in [-1, 1], with the unit circle and the two axes. C25
votes sit on a 0.25 grid, so many coincide: each distinct point is drawn once, its area
proportional to the number of annotators who chose it, and the count is written on it.
The crowd mean is a red cross, the official AffectNet point an orange diamond. Items are
created once; the count labels come from a pool that only grows. Model predictions are
stars, one colour per run (the histogram's), named in a second legend line.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QVBoxLayout, QWidget

from faceexplorer.gui.detail import plotting

LIMIT = 1.18
#: Marker diameter (px) of a point chosen by one annotator; area grows with the count.
BASE_SIZE = 9.0


def marker_size(count: int | np.ndarray) -> np.ndarray:
    """Diameter of a point chosen by ``count`` annotators: area proportional to count."""
    return BASE_SIZE * np.sqrt(np.asarray(count, dtype=float)) + 3.0


def coincident_votes(valence: Sequence[float | None], arousal: Sequence[float | None]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (valence, arousal) points and how many annotators chose each.

    Votes missing either value are left out. Returns x, y, counts (sorted by x, y).
    """
    v = np.array([np.nan if x is None else x for x in valence], dtype=float)
    a = np.array([np.nan if x is None else x for x in arousal], dtype=float)
    ok = ~(np.isnan(v) | np.isnan(a))
    if not ok.any():
        empty = np.empty(0)
        return empty, empty, np.empty(0, dtype=int)
    points, counts = np.unique(np.column_stack([v[ok], a[ok]]), axis=0, return_counts=True)
    return points[:, 0], points[:, 1], counts


class VAPlane(QWidget):
    """Votes (size = count), their mean and the AffectNet point on the V-A plane."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plotting.plot_widget(self)
        item = self.plot.getPlotItem()
        item.setAspectLocked(True)
        item.setMouseEnabled(x=False, y=False)
        item.setLabel("bottom", "valence")
        item.setLabel("left", "arousal")
        ticks = [[(t, f"{t:g}") for t in (-1, -0.5, 0, 0.5, 1)], []]
        for name in ("bottom", "left"):
            item.getAxis(name).setTicks(ticks)
        t = np.linspace(0, 2 * np.pi, 241)
        item.addItem(pg.PlotCurveItem(np.cos(t), np.sin(t), pen=pg.mkPen("#9e9e9e", width=1)))
        for angle in (0, 90):
            item.addItem(pg.InfiniteLine(0, angle=angle, pen=pg.mkPen("#bdbdbd", width=1)))
        self.votes = pg.ScatterPlotItem(pen=pg.mkPen("#0d3a6e", width=1),
                                        brush=pg.mkBrush(plotting.VOTE), pxMode=True)
        item.addItem(self.votes)
        self.mean = pg.ScatterPlotItem(symbol="x", size=18, pen=pg.mkPen("w", width=1.5),
                                       brush=pg.mkBrush(plotting.MEAN))
        item.addItem(self.mean)
        self.affectnet = pg.ScatterPlotItem(symbol="d", size=15, pen=pg.mkPen("#8a3b00"),
                                            brush=pg.mkBrush(plotting.AFFECTNET))
        item.addItem(self.affectnet)
        self._labels: list[plotting.PlotLabel] = []
        self._font = QFont()
        self._font.setPointSizeF(7.5)
        self._font.setBold(True)
        self.legend = plotting.legend_label([
            ("●", plotting.VOTE, "votes (size, number: annotators)"),
            ("✖", plotting.MEAN, "mean"),
            ("◆", plotting.AFFECTNET, "AffectNet")], self)
        item.setRange(xRange=(-LIMIT, LIMIT), yRange=(-LIMIT, LIMIT), padding=0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)
        self.models = pg.ScatterPlotItem(symbol="star", size=17, pen=pg.mkPen("w", width=1))
        self.models.setZValue(10)
        item.addItem(self.models)
        self.model_legend = plotting.legend_label([], self)
        self.model_legend.hide()
        layout.addWidget(self.model_legend)
        #: The models' (name, valence, arousal) as drawn.
        self.model_points: tuple[tuple[str, float, float], ...] = ()

        self.points: tuple[tuple[float, float, int], ...] = ()
        self.mean_point: tuple[float, float] | None = None
        self.affectnet_point: tuple[float, float] | None = None

    @property
    def sizes(self) -> np.ndarray:
        """Marker diameters as drawn, in the order of :attr:`points`."""
        return np.asarray(self.votes.data["size"], dtype=float)

    @property
    def count_texts(self) -> list[str]:
        """The count written on each point (empty for single votes), as shown."""
        return [lab.text() for lab in self._labels[:len(self.points)]]

    def set_votes(self, valence: Sequence[float | None], arousal: Sequence[float | None],
                  mean: tuple[float | None, float | None],
                  affectnet: tuple[float | None, float | None] | None) -> None:
        """Show the annotators' votes, their ``mean`` and the ``affectnet`` point (or None)."""
        x, y, counts = coincident_votes(valence, arousal)
        self.points = tuple((float(a), float(b), int(c)) for a, b, c in zip(x, y, counts,
                                                                            strict=True))
        self.votes.setData(x=x, y=y, size=marker_size(counts))
        while len(self._labels) < len(x):
            label = plotting.PlotLabel("w", anchor=(0.5, 0.5), font=self._font)
            label.setZValue(20)   # over the markers (TextItems came after them)
            self.plot.getPlotItem().addItem(label)
            self._labels.append(label)
        for k, label in enumerate(self._labels):
            shown = bool(k < len(x) and counts[k] > 1)
            text = str(counts[k]) if shown else ""
            # Only what changed: most labels of the pool stay hidden.
            if label.isVisible() != shown:
                label.setVisible(shown)
            if label.text() != text:
                label.setText(text)
            if shown and (label.pos().x(), label.pos().y()) != (float(x[k]), float(y[k])):
                label.setPos(float(x[k]), float(y[k]))
        self.mean_point = _point(mean)
        self._set_single(self.mean, self.mean_point)
        self.affectnet_point = _point(affectnet) if affectnet is not None else None
        self._set_single(self.affectnet, self.affectnet_point)

    def set_models(self, points: Sequence[tuple[str, float | None, float | None]],
                   colours: Sequence[str]) -> None:
        """Draw each model's predicted ``(name, valence, arousal)`` as a star.

        ``colours`` are the runs' colours (cycled); models without V/A are left out.
        """
        shown = [(name, float(v), float(a), colours[r % len(colours)])
                 for r, (name, v, a) in enumerate(points) if v is not None and a is not None]
        self.model_points = tuple((n, v, a) for n, v, a, _ in shown)
        self.models.setData(x=[s[1] for s in shown], y=[s[2] for s in shown],
                            brush=[pg.mkBrush(s[3]) for s in shown])
        # An empty scatter still costs its Python paint (~0.5 ms): hide it instead.
        self.models.setVisible(bool(shown))
        self.model_legend.setText("&nbsp;&nbsp;&nbsp;".join(
            f"<span style='color:{c}; font-size:13pt'>★</span>&nbsp;{escape(n)} "
            f"({_signed(v)}, {_signed(a)})" for n, v, a, c in shown))
        self.model_legend.setVisible(bool(shown))

    @staticmethod
    def _set_single(item: pg.ScatterPlotItem, point: tuple[float, float] | None) -> None:
        if point is None:
            item.clear()
        else:
            item.setData(x=[point[0]], y=[point[1]])
        item.setVisible(point is not None)   # an empty scatter still paints


def _point(p: tuple[float | None, float | None]) -> tuple[float, float] | None:
    return None if p[0] is None or p[1] is None else (float(p[0]), float(p[1]))


def _signed(x: float) -> str:
    return f"{x:+.2f}".replace("-", "−")
