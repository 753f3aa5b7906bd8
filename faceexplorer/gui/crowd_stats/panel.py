"""The set statistics view: agreement of one AffectNetC25 set on one task.

A bar picks the set and the task and shows a busy indicator while a set is computed.
Left: the agreement summary and the annotator ranking (pick an annotator there to see
their Dawid-Skene confusion). Right, in tabs: that confusion heatmap, the crowd majority
against AffectNet's label, and the per-image agreement histogram. Every number comes
from ``reports.crowd_views.set_view`` (computed off the GUI thread and cached per set by
``SetStatsCache``); this module only lays the numbers out. A tab's plot is made when the
tab is first shown (``plots.PlotCard``), so the first visit pays for one plot, not three;
the window builds this view ahead while idle (``gui.idle_build``). Without a connection
or without C25 votes in the index, one page says so and how to import them.
"""

from __future__ import annotations

import time

import duckdb
import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.kinds import DatasetKind
from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.gui.core.session import IndexSession, IndexView
from faceexplorer.gui.crowd_stats.plots import HeatmapCard, HistogramCard, PlotCard
from faceexplorer.gui.crowd_stats.tables import (
    RankingTable,
    compact_rows,
    fill_summary,
    summary_rows,
)
from faceexplorer.gui.crowd_stats.worker import SetStatsCache
from faceexplorer.reports.crowd_report import TASKS, c25_sets
from faceexplorer.reports.crowd_views import CrowdSetView

NO_C25_TEXT = ("<b>No AffectNetC25 votes in this index</b><br><br>Import them with<br>"
               "<code>faceexplorer index add affectnet-c25 PATH</code><br>"
               "(PATH: the folder holding expression_set1_C25.csv and its siblings).")
NO_INDEX_TEXT = "<b>No index is open</b>"


LEGEND = "Tinted rows: low agreement (hover for the rule)."
LEGEND_DS = " Click an annotator to see their Dawid-Skene confusion."


class CrowdStatsPanel(QWidget, IndexView):
    """Agreement statistics of the AffectNetC25 sets, standalone and connection-driven.

    Signals
    -------
    annotator_selected(str)
        The annotator picked in the ranking table (e.g. ``"set1/participant3"``).
    statistics_shown(int, str)
        The view now shows this set and task (after a switch or a computation ended).
    message(str)
        A line for the status bar (timings, saved files, errors).
    """

    index_kinds = frozenset({DatasetKind.AFFECTNET_C25})

    annotator_selected = Signal(str)
    statistics_shown = Signal(int, str)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache = SetStatsCache(self)
        self.cache.ready.connect(self._on_ready)
        self.cache.failed.connect(self._on_failed)
        self.cache.busy_changed.connect(self._on_busy)
        self.shown: tuple[int, str] | None = None
        self.last_show_ms = 0.0

        self.set_combo = QComboBox(self)
        self.set_combo.setObjectName("setCombo")
        self.task_combo = QComboBox(self)
        self.task_combo.setObjectName("taskCombo")
        self.task_combo.addItems(list(TASKS))
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)  # indeterminate: the computation reports no progress
        self.busy.setMaximumWidth(140)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.status = QLabel(self)
        self.status.setObjectName("statsStatus")
        bar = QHBoxLayout()
        for text, combo in (("AffectNetC25 set", self.set_combo), ("Task", self.task_combo)):
            bar.addWidget(QLabel(text, self))
            bar.addWidget(combo)
            bar.addSpacing(12)
        bar.addWidget(self.busy)
        bar.addWidget(self.status, 1)

        self.summary = QTableWidget(0, 2, self)
        self.summary.setObjectName("agreementSummary")
        self.summary.setHorizontalHeaderLabels(["Statistic", "Value"])
        self.summary.verticalHeader().hide()
        self.summary.horizontalHeader().setStretchLastSection(True)
        self.summary.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch)
        compact_rows(self.summary)
        self.summary.setFixedHeight(self.summary.horizontalHeader().sizeHint().height()
                                    + 8 * self.summary.verticalHeader().defaultSectionSize()
                                    + 4)
        self.ranking = RankingTable(self)
        self.ranking.setObjectName("annotatorRanking")
        self.legend = QLabel(LEGEND + LEGEND_DS, self)
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: #555;")
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Agreement</b>", self))
        left_layout.addWidget(self.summary)
        left_layout.addWidget(QLabel("<b>Annotators</b> (sort by any column)", self))
        left_layout.addWidget(self.ranking, 1)
        left_layout.addWidget(self.legend)

        self.ds_card = HeatmapCard("dawid_skene_confusion", EXPRESSIONS,
                                   "true class (Dawid-Skene estimate)", "annotator's vote", self)
        self.affectnet_card = HeatmapCard("majority_vs_affectnet", EXPRESSIONS,
                                          "AffectNet label", "crowd majority", self)
        self.histogram_card = HistogramCard("agreement_histogram", self)
        self.tabs = QTabWidget(self)
        # short titles: all three read whole in a laptop's half of the tab
        self.tabs.addTab(self.ds_card, "Dawid-Skene confusion")
        self.tabs.addTab(self.affectnet_card, "Majority vs AffectNet")
        self.tabs.addTab(self.histogram_card, "Agreement histogram")
        self.tabs.tabBar().setElideMode(Qt.TextElideMode.ElideNone)
        #: the tab shown for the expression task while valence or arousal hides it
        self._expression_tab: QWidget | None = None
        for card in (self.ds_card, self.affectnet_card, self.histogram_card):
            card.saved.connect(lambda path: self.message.emit(f"Saved {path}"))

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 600])
        splitter.setChildrenCollapsible(False)
        content = QWidget(self)
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addLayout(bar)
        content_layout.addWidget(splitter, 1)

        self.note = QLabel(self)
        self.note.setObjectName("crowdStatsNote")
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.setStyleSheet("font-size: 12pt; color: #333;")
        self.stack = QStackedWidget(self)
        self.stack.addWidget(content)
        self.stack.addWidget(self.note)
        self.content = content
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.stack)

        self.set_combo.currentIndexChanged.connect(self._selection_changed)
        self.task_combo.currentIndexChanged.connect(self._selection_changed)
        self.ranking.selectionModel().currentRowChanged.connect(self._annotator_changed)
        self.cards = (self.ds_card, self.affectnet_card, self.histogram_card)
        self.show_index(None)

    # --- state -----------------------------------------------------------------------
    @property
    def c25_set(self) -> int | None:
        data = self.set_combo.currentData()
        return None if data is None else int(data)

    @property
    def task(self) -> str:
        return self.task_combo.currentText()

    @property
    def has_c25(self) -> bool:
        return self.stack.currentWidget() is self.content

    def attach(self, session: IndexSession | None) -> None:
        """Show the C25 sets of ``session``'s index (None: no index open)."""
        self.cache.set_session(session)
        IndexView.attach(self, session)

    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Show the sets of the index behind ``con`` (None: no index open).

        The index opening again, or a write of C25, drops the cached statistics.
        """
        self.ranking.ranking.forget()
        self.cache.sync()
        self.shown = None
        sets = c25_sets(con) if con is not None else []
        self.set_combo.blockSignals(True)
        self.set_combo.clear()
        for s in sets:
            self.set_combo.addItem(f"Set {s}", s)
        self.set_combo.blockSignals(False)
        if not sets:
            self.note.setText(NO_INDEX_TEXT if con is None else NO_C25_TEXT)
            self.stack.setCurrentWidget(self.note)
            return
        self.stack.setCurrentWidget(self.content)
        self._selection_changed()

    def show_statistics(self, c25_set: int, task: str) -> None:
        """Switch the selectors to ``c25_set`` and ``task`` (computing when not cached)."""
        index = self.set_combo.findData(c25_set)
        if index < 0:
            raise KeyError(f"AffectNetC25 set {c25_set} is not in this index")
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        self.set_combo.blockSignals(True)
        self.set_combo.setCurrentIndex(index)
        self.set_combo.blockSignals(False)
        self.task_combo.blockSignals(True)
        self.task_combo.setCurrentText(task)
        self.task_combo.blockSignals(False)
        self._selection_changed()

    def _selection_changed(self) -> None:
        c25_set = self.c25_set
        if c25_set is None:
            return
        view = self.cache.request(c25_set)
        if view is None:
            error = self.cache.errors.get(c25_set)
            self.status.setText(error or f"Computing set {c25_set} statistics…")
            self._set_busy_look(c25_set not in self.cache.errors)
            return
        self._show(view, self.task)

    def _set_busy_look(self, busy: bool) -> None:
        # The controls stay usable; the stale figures of the previous set are greyed out.
        for w in (self.summary, self.ranking, self.tabs):
            w.setEnabled(not busy)

    # --- results -----------------------------------------------------------------------
    def _on_ready(self, c25_set: int) -> None:
        if c25_set == self.c25_set:
            view = self.cache.get(c25_set)
            self.message.emit(f"AffectNetC25 set {c25_set}: statistics computed in "
                              f"{view.seconds:.2f} s")
            self._show(view, self.task)

    def _on_failed(self, c25_set: int, message: str) -> None:
        self.message.emit(f"AffectNetC25 set {c25_set}: {message}")
        if c25_set == self.c25_set:
            self.status.setText(f"Could not compute set {c25_set}: {message}")

    def _on_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)

    def _show(self, view: CrowdSetView, task: str) -> None:
        start = time.perf_counter()
        self._fill(view, task)
        # the shown tab's plot, made now even while the panel is hidden (built ahead by
        # the window while idle: then the first visit only lays out and paints)
        current = self.tabs.currentWidget()
        if isinstance(current, PlotCard):
            current.make_plot()
        # Then the view paints once, now: the re-layouts the new texts ask for (and those
        # of a tab just brought up), pyqtgraph's per-paint view updates, the repaints a
        # tab switch queues for every widget it shows (UpdateLater), and last the scenes'
        # queued dirty-item pass, which paints the window itself. Left to the event
        # loop, that pass came before the layouts and once per scene, and the queued
        # repaints after it: the tab was painted three times per switch.
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        # every graphics scene drawn in the view (the plots made so far: see plots.py)
        scenes = [card.view.scene() for card in self.cards if card.plot_made]
        for scene in scenes:
            scene.prepareForPaint()
        QApplication.sendPostedEvents(None, QEvent.Type.UpdateLater)
        for scene in scenes:
            QApplication.sendPostedEvents(scene, QEvent.Type.MetaCall)
        self.last_show_ms = (time.perf_counter() - start) * 1000
        self.statistics_shown.emit(view.c25_set, task)

    def _fill(self, view: CrowdSetView, task: str) -> None:
        self.shown = (view.c25_set, task)
        self._set_busy_look(False)
        report = view.report
        fill_summary(self.summary, summary_rows(report, task))
        # Valence and arousal have no Dawid-Skene confusion nor expression majority to
        # compare with AffectNet's label: their tabs go, with the hint about them.
        # Back to expression, the tab the user had is current again.
        nominal = task == "expression"
        current = self.tabs.currentWidget()
        if not nominal and current is not self.histogram_card:
            self._expression_tab = current
            self.tabs.setCurrentWidget(self.histogram_card)
        for card in (self.ds_card, self.affectnet_card):
            self.tabs.setTabVisible(self.tabs.indexOf(card), nominal)
        if nominal and self._expression_tab is not None:
            self.tabs.setCurrentWidget(self._expression_tab)
            self._expression_tab = None
        self.legend.setText(LEGEND + (LEGEND_DS if nominal else ""))
        previous = self.ranking.annotator_at(self.ranking.currentIndex().row())
        self.ranking.set_table(view.annotators[task], task)
        self._show_affectnet(report["expression"]["affectnet"], task)
        self._show_histogram(report[task], task, view.c25_set)
        # Keep the annotator when only the task changed; otherwise start at the top.
        row = self.ranking.row_of(previous) if previous else -1
        self.select_annotator_row(max(row, 0))
        self.status.setText(f"Set {view.c25_set}, {task}: {report[task]['n_images']} images × "
                            f"{report[task]['n_annotators']} annotators")

    def select_annotator_row(self, row: int) -> None:
        """Select view row ``row`` of the ranking table (as a click would)."""
        self.ranking.select_row(row)
        # Selecting the row that is already current emits nothing; redraw anyway.
        self._annotator_changed(self.ranking.currentIndex())

    def _annotator_changed(self, current, _previous=None) -> None:
        if self.shown is None:
            return
        annotator = self.ranking.annotator_at(current.row())
        if annotator is None:
            return
        self._show_confusion(annotator)
        self.annotator_selected.emit(annotator)

    def _show_confusion(self, annotator: str) -> None:
        c25_set, task = self.shown
        view = self.cache.get(c25_set)
        if task != "expression":
            self.ds_card.show_note(
                "Dawid-Skene models nominal labels: pick the expression task to see each "
                "annotator's estimated confusion matrix.")
            return
        matrix = view.ds_confusions[annotator]
        accuracy = next(a["ds_accuracy"] for a in view.report["expression"]["annotators"]
                        if a["annotator"] == annotator)
        texts = [[f"{p:.2f}" for p in row] for row in matrix]
        self.ds_card.set_matrix(
            matrix, texts,
            f"Dawid-Skene confusion of <b>{annotator}</b><br>estimated accuracy "
            f"{accuracy:.3f}; each row (true class) sums to 1")

    def _show_affectnet(self, link: dict | None, task: str) -> None:
        if task != "expression":
            self.affectnet_card.show_note(
                "The confusion matrix compares expression labels: pick the expression "
                "task. For valence and arousal the agreement table gives the correlation "
                "of AffectNet's value with the crowd mean.")
            return
        if link is None:
            self.affectnet_card.show_note(
                "No AffectNet rows are linked to this set: import AffectNet's "
                "training.csv (faceexplorer index add affectnet PATH) to compare the crowd "
                "majority with the official label.")
            return
        counts = np.array([[link["confusion"][ref][maj] for maj in EXPRESSIONS]
                           for ref in EXPRESSIONS], dtype=float)
        totals = counts.sum(axis=1, keepdims=True)
        # Colour by the row share so small classes read as clearly as large ones.
        shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        texts = [[str(int(n)) for n in row] for row in counts]
        self.affectnet_card.set_matrix(
            shares, texts,
            # three short lines: in one, the first widened the plot past a laptop's view
            f"Crowd majority vs AffectNet label<br>equal on "
            f"<b>{link['majority_equals_affectnet']:.1%}</b> of {link['linked']} images"
            "<br>counts; colour: share of the AffectNet row")

    def _show_histogram(self, figures: dict, task: str, c25_set: int) -> None:
        hist = figures["agreement_histogram"]
        scores = [int(k) for k in hist]
        what = ("annotators voting the majority expression" if task == "expression"
                else f"annotators within ±0.25 of the majority {task}")
        self.histogram_card.set_histogram(
            scores, [hist[k] for k in hist], figures["mean_agreement"], what,
            f"Set {c25_set}, {task}: per-image agreement<br>dashed line: mean "
            f"{figures['mean_agreement']:.2f} of {figures['n_annotators']}")
