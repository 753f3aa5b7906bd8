"""The DASS-21 pane: which rule stored totals follow, counts per band, score histograms.

Numbers come from ``faces_stats.dass_distributions`` and ``faces_stats.stored_totals``
(worded by ``faces_views.stored_totals_lines``). Each histogram has one bar per possible
doubled score (0, 2, ..., 42) over its severity bands shaded in fixed colours; a band
edge sits on the odd number between the last even score of one band and the first of the
next, so no bar straddles it. The verdict box is amber unless every subscale's stored
totals match the standard doubled scores, so a reader notices an undoubled file.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.vocab import DASS_BANDS
from faceexplorer.gui.crowd_stats.plots import PlotCard
from faceexplorer.gui.pg_setup import pg
from faceexplorer.stats.dass21 import SUBSCALES
from faceexplorer.stats.faces_views import MAX_SCORE, band_intervals, stored_totals_lines

#: Band shades, light green to light red (ColorBrewer RdYlGn, lightened).
BAND_COLOURS = ("#d9f0d3", "#f7f7c6", "#fde0b2", "#f9c4a8", "#f4a6a6")


def _edge(low: int) -> float:
    """x of the edge below the first even score >= ``low``."""
    return low + low % 2 - 1.0


class DassHistogram(PlotCard):
    """Counts per doubled score of one subscale over its shaded bands."""

    def __init__(self, subscale: str, parent: QWidget | None = None) -> None:
        super().__init__(f"dass21_{subscale}_histogram", parent)
        self.subscale = subscale
        self.plot.setLabel("bottom", f"{subscale} score (items sum × 2)")
        self.plot.setLabel("left", "subjects")
        self.regions = []
        self.band_texts = []
        for (_band, low, high), colour in zip(band_intervals(subscale), BAND_COLOURS,
                                             strict=True):
            top = MAX_SCORE + 1.0 if high == MAX_SCORE else _edge(high + 1)
            region = pg.LinearRegionItem((_edge(low), top), movable=False,
                                         brush=pg.mkBrush(QColor(colour)),
                                         pen=pg.mkPen(None))
            region.setZValue(-10)
            self.plot.addItem(region)
            self.regions.append(region)
            text = pg.TextItem("", color="#333", anchor=(0.5, 0))
            self.plot.addItem(text)
            self.band_texts.append((text, (_edge(low) + top) / 2))
        self.bars = pg.BarGraphItem(x=np.arange(0, 43, 2), height=np.zeros(22), width=1.6,
                                    brush="#4a6fa5", pen=pg.mkPen("#2d4a75"))
        self.plot.addItem(self.bars)
        self.plot.setXRange(-1, MAX_SCORE + 1, padding=0)

    def show_distribution(self, dist: dict) -> None:
        if not dist["n"]:
            self.show_note(f"No subject has all seven {self.subscale} items.")
            return
        counts = np.asarray(dist["histogram"]["counts"], dtype=float)
        self.bars.setOpts(x=np.asarray(dist["histogram"]["scores"], dtype=float),
                          height=counts)
        top = max(counts.max(), 1.0) * 1.18
        self.plot.setYRange(0, top, padding=0)
        for (text, x), entry in zip(self.band_texts, dist["bands"], strict=True):
            text.setText(f"{entry['count']}")
            text.setPos(x, top)
        self.set_title(f"<b>{self.subscale.capitalize()}</b>: n = {dist['n']:,}, "
                       f"mean {dist['mean']:.1f}, median {dist['median']:g}")
        self.show_plot()


class DassPane(QWidget):
    """Verdict box on stored totals, band count table, and one histogram per subscale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.verdict = QLabel(self)
        self.verdict.setObjectName("storedTotalsVerdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.band_table = QTableWidget(len(DASS_BANDS) + 1, len(SUBSCALES), self)
        self.band_table.setObjectName("bandCounts")
        self.band_table.setHorizontalHeaderLabels([s.capitalize() for s in SUBSCALES])
        self.band_table.setVerticalHeaderLabels([*DASS_BANDS, "Not scored"])
        self.band_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch)
        self.band_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.band_table.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.band_table.setMinimumHeight(6 * 26 + 30)
        self.band_table.setMaximumHeight(6 * 30 + 34)
        self.histograms = {s: DassHistogram(s, self) for s in SUBSCALES}
        legend = QLabel("Shaded bands, left to right: " + ", ".join(
            f"<span style='background:{c}'>&nbsp;{b}&nbsp;</span>"
            for b, c in zip(DASS_BANDS, BAND_COLOURS, strict=True))
            + " (counts per band at the top of each plot)", self)
        top = QHBoxLayout()
        top.addWidget(self.verdict, 3)
        top.addWidget(self.band_table, 2)
        plots = QHBoxLayout()
        for card in self.histograms.values():
            plots.addWidget(card, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(legend)
        layout.addLayout(plots, 1)

    def show_dass(self, distributions: dict[str, dict], stored: dict[str, dict]) -> None:
        """Lay out ``dass_distributions`` and ``stored_totals`` results."""
        for j, s in enumerate(SUBSCALES):
            dist = distributions[s]
            for i, entry in enumerate(dist["bands"]):
                share = "" if entry["share"] is None else f" ({entry['share']:.0%})"
                self.band_table.setItem(i, j, QTableWidgetItem(f"{entry['count']:,}{share}"))
            self.band_table.setItem(len(DASS_BANDS), j,
                                    QTableWidgetItem(f"{dist['unscored']:,}"))
            self.histograms[s].show_distribution(dist)
        verdicts = {entry["verdict"] for entry in stored.values()}
        colour = "#e6f4e1" if verdicts == {"doubled"} else "#fff1cc"
        lines = "".join(f"<li>{line}</li>" for line in stored_totals_lines(stored))
        self.verdict.setText(
            "<b>Stored totals in baseinfo.csv</b> (Depression, Anxiety, Stress columns). "
            "Scores shown here are always computed from the 21 items and doubled."
            f"<ul style='margin:2px'>{lines}</ul>")
        self.verdict.setStyleSheet(f"background: {colour}; border: 1px solid #b8a45c; "
                                   "padding: 6px;")
