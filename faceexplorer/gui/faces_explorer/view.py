"""FacesExplorerView: FACES subjects, DASS-21, one feature at a time, and the ranking.

Four tabs over the window's read-only connection. All queries run on one
:class:`QueryRunner` (own cursor per job, newest request of each kind wins): the
subjects, DASS figures and feature names once per connection; a feature view per choice;
the ranking when the Ranking tab is first opened or asked for, kept until the connection
changes. Without FACES tables a page says how to import them.
"""

from __future__ import annotations

import time

import duckdb
import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from faceexplorer.core.kinds import DatasetKind
from faceexplorer.gui.core.session import IndexSession, IndexView
from faceexplorer.gui.faces_explorer.dass import DassPane
from faceexplorer.gui.faces_explorer.features import FeaturePane
from faceexplorer.gui.faces_explorer.ranking import RankingPane
from faceexplorer.gui.faces_explorer.subjects import SubjectsPane
from faceexplorer.gui.faces_explorer.worker import QueryRunner
from faceexplorer.index.store import table_exists
from faceexplorer.reports import faces_stats as fs
from faceexplorer.reports.faces_stats import rank_all_with_progress

NO_FACES_TEXT = ("<b>No FACES data in this index</b><br><br>Import it with<br>"
                 "<code>faceexplorer index add faces PATH</code><br>(PATH: the folder "
                 "holding the feature CSV, dass21.csv and baseinfo.csv).")
NO_INDEX_TEXT = "<b>No index is open</b>"


def _overview(cursor: duckdb.DuckDBPyConnection, _progress, _cancelled) -> dict:
    return {"subjects": fs.subjects(cursor),
            "dass": fs.dass_distributions(cursor),
            "stored": fs.stored_totals(cursor),
            "names": fs.feature_catalogue(cursor)["name"].tolist()}


class FacesExplorerView(QWidget, IndexView):
    """The FACES tab: Subjects, DASS-21, Feature explorer, Ranking.

    Signals
    -------
    message(str)
        A line for the status bar (timings, saved files, errors).
    feature_shown(str)
        The feature explorer now shows this feature.
    ranking_ready()
        The ranking of every feature is computed and shown.
    """

    index_kinds = frozenset({DatasetKind.FACES})

    message = Signal(str)
    feature_shown = Signal(str)
    ranking_ready = Signal()
    #: the Ranking pane asked to store the feature ranks (the window writes them)
    store_ranks_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("facesExplorer")
        self.runner = QueryRunner(self)
        self.subjects = SubjectsPane(self)
        self.dass = DassPane(self)
        self.features = FeaturePane(self)
        self.ranking = RankingPane(self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.subjects, "Subjects")
        self.tabs.addTab(self.dass, "DASS-21")
        self.tabs.addTab(self.features, "Feature explorer")
        self.tabs.addTab(self.ranking, "Ranking")
        self.note = QLabel(NO_INDEX_TEXT, self)
        self.note.setObjectName("facesExplorerNote")
        self.note.setWordWrap(True)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.note)
        self.stack.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.last_feature_ms = 0.0
        self.last_ranking_s = 0.0
        self._started: dict[str, float] = {}

        self.runner.done.connect(self._on_done)
        self.runner.failed.connect(self._on_failed)
        self.runner.progress.connect(self._on_progress)
        self.features.feature_requested.connect(self.show_feature)
        self.ranking.compute_requested.connect(self.compute_ranking)
        self.ranking.feature_chosen.connect(self._explore)
        self.ranking.store_ranks_requested.connect(self.store_ranks_requested)
        self.ranking.exported.connect(lambda p: self.message.emit(f"Saved {p}"))
        for card in (self.features.box_card, *self.features.scatter_cards.values(),
                     *self.dass.histograms.values()):
            card.saved.connect(lambda p: self.message.emit(f"Saved {p}"))
        self.tabs.currentChanged.connect(self._on_tab)

    # --- connection ---------------------------------------------------------------------
    def attach(self, session: IndexSession | None) -> None:
        """Show the FACES data of ``session``'s index (None: nothing open)."""
        self.runner.set_session(session)
        IndexView.attach(self, session)

    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Show the FACES data of ``con`` (None: nothing open)."""
        self.runner.cancel_all()
        self.ranking.clear()
        if con is None or not table_exists(con, "faces_subjects"):
            self.note.setText(NO_INDEX_TEXT if con is None else NO_FACES_TEXT)
            self.stack.setCurrentWidget(self.note)
            return
        self.stack.setCurrentWidget(self.tabs)
        self._submit("overview", _overview)
        if self.tabs.currentWidget() is self.ranking:  # reloaded on it (after a write)
            self.compute_ranking()

    def close_workers(self) -> None:
        self.runner.cancel_all()

    # --- requests -----------------------------------------------------------------------
    def _submit(self, kind: str, function) -> None:
        self._started[kind] = time.perf_counter()
        self.runner.submit(kind, function)

    def show_feature(self, name: str) -> None:
        """Compute and show one feature (by its file name, e.g. ``AU12_r_mean``)."""
        self._submit("feature", lambda cur, _p, _c: fs.feature_view(cur, name))

    def compute_ranking(self) -> None:
        """Rank every feature against the three subscales (background, with progress)."""
        if self.con is None or self.runner.busy("ranking"):
            return
        self.ranking.set_running(0, 0)
        self._submit("ranking", lambda cur, progress, cancelled: rank_all_with_progress(
            cur, progress, cancelled=cancelled))

    def _explore(self, name: str) -> None:
        self.tabs.setCurrentWidget(self.features)
        self.features.request(name)

    def _on_tab(self, index: int) -> None:
        if (self.tabs.widget(index) is self.ranking and not self.ranking.rankings
                and self.con is not None):
            self.compute_ranking()

    # --- results ------------------------------------------------------------------------
    def _elapsed(self, kind: str) -> float:
        return time.perf_counter() - self._started.pop(kind, time.perf_counter())

    def _on_done(self, kind: str, result: object) -> None:
        seconds = self._elapsed(kind)
        if kind == "overview":
            assert isinstance(result, dict)
            self.subjects.set_subjects(result["subjects"])
            self.dass.show_dass(result["dass"], result["stored"])
            self.features.set_names(result["names"])
        elif kind == "feature":
            assert isinstance(result, fs.FeatureView)
            self.features.show_feature(result)
            self.last_feature_ms = seconds * 1000
            self.features.status.setText(
                f"{result.feature}: {result.stat} of OpenFace column {result.base_column}; "
                f"{int(np.isfinite(result.values).sum()):,} "
                f"subjects with a value (shown in {self.last_feature_ms:.0f} ms)")
            self.feature_shown.emit(result.feature)
        elif kind == "ranking" and result is not None:
            assert isinstance(result, dict)
            self.last_ranking_s = seconds
            self.ranking.set_rankings(result, seconds)
            self.message.emit(f"Ranked {len(next(iter(result.values()))):,} features "
                              f"in {seconds:.1f} s")
            self.ranking_ready.emit()

    def _on_failed(self, kind: str, message: str) -> None:
        self._started.pop(kind, None)
        if kind == "feature":
            self.features.show_error(message)
        elif kind == "ranking":
            self.ranking.show_error(message)
        self.message.emit(message)

    def _on_progress(self, kind: str, done: int, total: int) -> None:
        if kind == "ranking":
            self.ranking.set_running(done, total)
