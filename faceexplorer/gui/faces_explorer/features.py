"""The Feature explorer pane: pick one OpenFace statistic, see it against DASS-21.

A search box completes over every feature name (substring, case-insensitive: typing
``AU12_r_me`` offers ``AU12_r_mean``); choosing a name asks the view for a
``faces_stats.FeatureView``. Left: the feature per band of the chosen subscale (box with
Tukey whiskers from ``faces_views.band_boxes`` over the jittered points). Right: one
scatter per subscale, titled with ``faces_views.correlation_title``. Jitter only spreads
points for the eye (scores are even integers); it never enters a number.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.vocab import DASS_BANDS
from faceexplorer.gui.crowd_stats.plots import PlotCard
from faceexplorer.gui.faces_explorer.dass import BAND_COLOURS
from faceexplorer.gui.pg_setup import pg
from faceexplorer.reports.faces_stats import FeatureView
from faceexplorer.stats.dass21 import SUBSCALES
from faceexplorer.stats.faces_views import band_boxes, correlation_title

_JITTER_SEED = 2023


class BandBoxCard(PlotCard):
    """Points and a box per DASS band of one subscale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("feature_by_band", parent)
        self.plot.setLabel("bottom", "DASS band")
        axis = self.plot.getAxis("bottom")
        axis.setTicks([[(i, b.replace("Extremely ", "Extr. ")) for i, b in
                        enumerate(DASS_BANDS)]])
        self.points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(60, 60, 60, 90))
        self.boxes = pg.BarGraphItem(x=[], height=[], width=0.5)
        self.whiskers = pg.PlotDataItem(pen=pg.mkPen("#333", width=1), connect="pairs")
        self.medians = pg.PlotDataItem(pen=pg.mkPen("#c0392b", width=3), connect="pairs")
        for item in (self.boxes, self.whiskers, self.medians, self.points):
            self.plot.addItem(item)
        self.summary: list[dict] = []

    def show_feature(self, view: FeatureView, subscale: str) -> None:
        self.summary = band_boxes(view.by_band[subscale])
        rng = np.random.default_rng(_JITTER_SEED)
        xs, ys = [], []
        for i, band in enumerate(DASS_BANDS):
            v = view.by_band[subscale][band]
            xs.append(i + rng.uniform(-0.18, 0.18, len(v)))
            ys.append(v)
        self.points.setData(np.concatenate(xs), np.concatenate(ys))
        full = [(i, b) for i, b in enumerate(self.summary) if b["n"]]
        self.boxes.setOpts(
            x=[i for i, _ in full], y0=[b["q1"] for _, b in full],
            height=[b["q3"] - b["q1"] for _, b in full], width=0.5,
            brushes=[pg.mkBrush(BAND_COLOURS[i]) for i, _ in full], pen=pg.mkPen("#333"))
        wx, wy, mx, my = [], [], [], []
        for i, b in full:
            wx += [i, i, i, i, i - 0.1, i + 0.1, i - 0.1, i + 0.1]
            wy += [b["low"], b["q1"], b["q3"], b["high"], b["low"], b["low"], b["high"],
                   b["high"]]
            mx += [i - 0.25, i + 0.25]
            my += [b["median"], b["median"]]
        self.whiskers.setData(wx, wy)
        self.medians.setData(mx, my)
        self.plot.setXRange(-0.6, len(DASS_BANDS) - 0.4, padding=0)
        self.plot.setLabel("left", view.feature)
        counts = ", ".join(f"{b['n']}" for b in self.summary)
        self.set_title(f"<b>{view.feature}</b> by {subscale} band<br>"
                       f"<span style='font-size:9pt'>n per band: {counts}</span>")
        self.show_plot()


class ScatterCard(PlotCard):
    """The feature against one subscale's doubled score."""

    def __init__(self, subscale: str, parent: QWidget | None = None) -> None:
        super().__init__(f"feature_vs_{subscale}", parent)
        self.subscale = subscale
        self.plot.setLabel("bottom", f"{subscale} score (×2)")
        self.points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(40, 90, 160, 110))
        self.plot.addItem(self.points)
        self.title_text = ""

    def show_feature(self, view: FeatureView) -> None:
        x, y = view.scatter(self.subscale)
        jitter = np.random.default_rng(_JITTER_SEED).uniform(-0.4, 0.4, len(x))
        self.points.setData(x + jitter, y)
        self.plot.setLabel("left", view.feature)
        self.title_text = correlation_title(view.correlation[self.subscale])
        head, _, tail = self.title_text.partition(", p")
        self.set_title(f"<b>{self.subscale.capitalize()}</b>: {head}<br>p{tail}")
        self.show_plot()


class FeaturePane(QWidget):
    """Search box, band subscale choice, box plot and three scatters.

    Signals
    -------
    feature_requested(str)
        The user chose this feature name (the view computes and calls ``show_feature``).
    """

    feature_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: list[str] = []
        self.view: FeatureView | None = None
        self.search = QLineEdit(self)
        self.search.setObjectName("featureSearch")
        self.search.setPlaceholderText("Feature name, e.g. AU12_r_mean (type part of it)")
        self.name_model = QStringListModel(self)
        self.completer = QCompleter(self.name_model, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setMaxVisibleItems(15)
        self.search.setCompleter(self.completer)
        self.show_button = QPushButton("Show", self)
        self.band_combo = QComboBox(self)
        self.band_combo.addItems([s.capitalize() for s in SUBSCALES])
        self.status = QLabel(self)
        self.status.setObjectName("featureStatus")
        self.box_card = BandBoxCard(self)
        self.scatter_cards = {s: ScatterCard(s, self) for s in SUBSCALES}
        for card in (self.box_card, *self.scatter_cards.values()):
            card.show_note("Choose a feature above.")

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Feature", self))
        bar.addWidget(self.search, 1)
        bar.addWidget(self.show_button)
        bar.addWidget(QLabel("Bands of", self))
        bar.addWidget(self.band_combo)
        grid = QGridLayout()
        grid.addWidget(self.box_card, 0, 0)
        for k, card in enumerate(self.scatter_cards.values(), start=1):
            grid.addWidget(card, k // 2, k % 2)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addLayout(grid, 1)

        self.completer.activated.connect(self.request)
        self.search.returnPressed.connect(lambda: self.request(self.search.text()))
        self.show_button.clicked.connect(lambda: self.request(self.search.text()))
        self.band_combo.currentIndexChanged.connect(self._redraw_boxes)

    def set_names(self, names: list[str]) -> None:
        """Every feature name, in file order (the completion list)."""
        self.names = names
        self.name_model.setStringList(names)
        self.status.setText(f"{len(names):,} features; type part of a name.")

    def completions(self, text: str) -> list[str]:
        """What the completer offers for ``text`` (as the popup would list it)."""
        self.completer.setCompletionPrefix(text)
        model = self.completer.completionModel()
        return [model.index(i, 0).data() for i in range(model.rowCount())]

    def request(self, name: str) -> None:
        name = name.strip()
        if not name:
            return
        if self.search.text() != name:
            self.search.setText(name)
        self.status.setText(f"Computing {name}…")
        self.feature_requested.emit(name)

    @property
    def band_subscale(self) -> str:
        return SUBSCALES[self.band_combo.currentIndex()]

    def show_feature(self, view: FeatureView) -> None:
        self.view = view
        self._redraw_boxes()
        for card in self.scatter_cards.values():
            card.show_feature(view)

    def show_error(self, message: str) -> None:
        self.status.setText(message)

    def _redraw_boxes(self) -> None:
        if self.view is not None:
            self.box_card.show_feature(self.view, self.band_subscale)
