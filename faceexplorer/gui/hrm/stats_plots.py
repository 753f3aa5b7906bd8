"""Plot cards of the HRM statistics view: AU prevalence, co-occurrence, AU vs atypicality.

Each card is a :class:`~faceexplorer.gui.crowd_stats.plots.PlotCard` (title inside the
plot so a saved PNG explains itself, a note in place of an empty plot, "Save plot as
PNG..."). Cards take finished numbers from ``reports.hrm_report`` and only place them:

- :class:`PrevalenceCard`: one row per AU, a dot per group (ASD, TD, and the chosen child)
  with a horizontal whisker for the interval the caller picked;
- :class:`CooccurrenceCard`: the AU x AU heatmap (the crowd view's heatmap with short
  column labels, because 22 "AUxx" labels do not fit under 22 narrow cells);
- :class:`CorrelationCard`: horizontal bars of the point-biserial r, signed colours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from faceexplorer.gui.crowd_stats.plots import HeatmapCard, PlotCard
from faceexplorer.gui.pg_setup import pg

#: Marker colour per series: ASD orange, TD blue (Okabe-Ito), a chosen child black.
SERIES_COLOURS = {"ASD": (213, 94, 0), "TD": (0, 114, 178), "child": (30, 30, 30)}
#: Vertical offset of each series inside an AU's row, so whiskers never overlap.
SERIES_OFFSETS = {"ASD": -0.22, "TD": 0.0, "child": 0.22}


def _axis_style(plot: pg.PlotItem, font: QFont) -> None:
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setStyle(tickFont=font)
        axis.setTextPen("k")
        axis.setPen("k")
        # r = 0.35 must read as 0.35, not "350 (x0.001)"
        axis.enableAutoSIPrefix(False)


def _au_ticks(aus: Sequence[str]) -> list[list[tuple[float, str]]]:
    return [[(float(i), au) for i, au in enumerate(aus)]]


class PrevalenceCard(PlotCard):
    """Share of frames per AU (x, %) for each series, with interval whiskers.

    ``series`` maps a name ("ASD", "TD", "child") to arrays ``share, low, high`` (0..1,
    NaN = undefined) in AU order; rows top to bottom in AU order.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("hrm_au_prevalence", parent)
        font = QFont()
        font.setPointSize(9)
        _axis_style(self.plot, font)
        self.plot.invertY(True)
        self.plot.showGrid(x=True, alpha=0.25)
        self.plot.setLabel("bottom", "% of frames with the AU active", color="#222")
        self.plot.getAxis("left").setWidth(52)
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextColor="#222",
                                          brush=pg.mkBrush(255, 255, 255, 220))
        self.dots: dict[str, pg.ScatterPlotItem] = {}
        self.whiskers: dict[str, pg.ErrorBarItem] = {}
        for name, colour in SERIES_COLOURS.items():
            whisker = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), beam=0.12,
                                      pen=pg.mkPen(colour, width=1.6))
            dots = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(colour),
                                      pen=pg.mkPen("w", width=0.8))
            self.plot.addItem(whisker)
            self.plot.addItem(dots)
            self.whiskers[name], self.dots[name] = whisker, dots
        self.shown: dict[str, dict[str, np.ndarray]] = {}
        self.setMinimumSize(420, 420)

    def set_prevalence(self, aus: Sequence[str], series: dict[str, dict[str, np.ndarray]],
                       labels: dict[str, str], title: str) -> None:
        """Draw ``series`` (see the class doc); ``labels`` name them in the legend."""
        self.legend.clear()
        self.shown = {}
        top = 0.0
        for name in SERIES_COLOURS:
            dots, whisker = self.dots[name], self.whiskers[name]
            data = series.get(name)
            if data is None:
                dots.setData(x=[], y=[])
                # setData merges options: clear left/right too, or old arrays linger
                empty = np.zeros(0)
                whisker.setData(x=empty, y=empty, left=empty, right=empty)
                dots.hide()
                whisker.hide()
                continue
            share, low, high = (100 * np.asarray(data[k], float) for k in ("share", "low",
                                                                             "high"))
            y = np.arange(len(aus), dtype=float) + SERIES_OFFSETS[name]
            ok = np.isfinite(share)
            dots.setData(x=share[ok], y=y[ok])
            # A missing interval draws no whisker (zero length), never a misleading one.
            has = ok & np.isfinite(low) & np.isfinite(high)
            left = np.where(has, share - np.where(has, low, 0), 0)
            right = np.where(has, np.where(has, high, 0) - share, 0)
            whisker.setData(x=share[ok], y=y[ok], left=np.maximum(left[ok], 0),
                            right=np.maximum(right[ok], 0))
            dots.show()
            whisker.show()
            self.legend.addItem(dots, labels.get(name, name))
            self.shown[name] = {"share": share / 100, "low": low / 100, "high": high / 100}
            top = max(top, float(np.nanmax(np.where(has, high, share), initial=0.0)))
        self.plot.getAxis("left").setTicks(_au_ticks(aus))
        self.plot.setRange(xRange=(-1.0, max(top * 1.05, 1.0)),  # dots at 0 clear the axis
                           yRange=(-0.6, len(aus) - 0.4), padding=0)
        self.set_title(title)
        self.show_plot()


class CooccurrenceCard(HeatmapCard):
    """AU x AU heatmap; row AU A (full names), column AU B (the number after "AU")."""

    def __init__(self, aus: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__("hrm_au_cooccurrence", aus, "AU A (row)", "AU B (column)", parent)
        short = [[(k + 0.5, au.removeprefix("AU").removeprefix("AD"))
                  for k, au in enumerate(self.labels)]]
        self.plot.getAxis("bottom").setTicks(short)
        self.plot.getAxis("left").setWidth(60)
        small = QFont()
        small.setPointSize(7)
        self.cells.font = small
        self.setMinimumSize(560, 520)


def compact_count(n: float) -> str:
    """A frame count in at most four characters: 987, 1.2k, 12k, 131k."""
    if not np.isfinite(n):
        return ""
    n = int(n)
    if n < 1000:
        return str(n)
    if n < 10_000:
        return f"{n / 1000:.1f}k"
    return f"{n // 1000}k"


class CorrelationCard(PlotCard):
    """Horizontal bars of one signed coefficient per AU (the point-biserial r)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("hrm_au_vs_atypicality", parent)
        font = QFont()
        font.setPointSize(9)
        _axis_style(self.plot, font)
        self.plot.invertY(True)
        self.plot.showGrid(x=True, alpha=0.25)
        self.plot.getAxis("left").setWidth(52)
        self.plot.setLabel("bottom", "point-biserial r (AU active vs the raters' mean)",
                           color="#222")
        self.bars = pg.BarGraphItem(x0=[0], y=[0], width=[0], height=0.6)
        self.plot.addItem(self.bars)
        self.plot.addItem(pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("k", width=1)))
        self.values = np.zeros(0)
        self.setMinimumSize(420, 420)

    def set_values(self, aus: Sequence[str], values: Sequence[float | None],
                   title: str) -> None:
        """One bar per AU (None/NaN: no bar); positive orange, negative blue."""
        self.values = np.array([np.nan if v is None else v for v in values], dtype=float)
        r = np.nan_to_num(self.values)
        brushes = [pg.mkBrush(SERIES_COLOURS["ASD"] if v >= 0 else SERIES_COLOURS["TD"])
                   for v in r]
        self.bars.setOpts(x0=np.zeros(len(r)), y=np.arange(len(r), dtype=float), width=r,
                          height=0.6, brushes=brushes, pen=pg.mkPen(None))
        self.plot.getAxis("left").setTicks(_au_ticks(aus))
        reach = max(float(np.abs(r).max(initial=0.0)) * 1.15, 0.1)
        self.plot.setRange(xRange=(-reach, reach), yRange=(-0.6, len(aus) - 0.4), padding=0)
        self.set_title(title)
        self.show_plot()
