"""The HRM statistics view: issue 4's figures for the whole dataset or one child.

Every number is one ``reports.hrm_report.hrm_report(con, child)`` dict: the report takes
about a second (the cluster bootstrap dominates), so :class:`ReportCache` computes it on a
private one-thread pool with its own DuckDB cursor and caches it per scope ("all" or a
child id); the newest scope asked for is the one shown, older results only fill the cache.
A connection change starts a new generation and drops older results.

Tabs: AU prevalence (ASD vs TD dots with Wilson or child-bootstrap whiskers), the
co-occurrence heatmap (counts or P(B|A)), the five atypicality raters, AU activity vs
atypicality, and for a child its segments and, when its OpenFace CSV was imported,
OpenFace's agreement with the coders. The plots are in :mod:`.stats_plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.kinds import DatasetKind
from faceexplorer.core.vocab import HRM_AU22
from faceexplorer.gui.background import BackgroundCache
from faceexplorer.gui.core.session import IndexSession, IndexView
from faceexplorer.gui.fit import ElidedLabel, compact_combos
from faceexplorer.gui.hrm.stats_plots import (
    CooccurrenceCard,
    CorrelationCard,
    PrevalenceCard,
    compact_count,
)
from faceexplorer.index import hrm_query
from faceexplorer.reports import hrm_stats
from faceexplorer.reports.hrm_report import NOTES as hrm_report_notes
from faceexplorer.reports.hrm_report import hrm_report

NO_HRM_TEXT = ("<b>No Hugging Rain Man data in this index</b><br><br>Import it with<br>"
               "<code>faceexplorer index add hrm PATH</code>")
NO_INDEX_TEXT = "<b>No index is open</b>"
CI_CHOICES = {"children": "95% CI over children (cluster bootstrap)",
              "frames": "95% CI over frames (Wilson)"}
CO_CHOICES = {"conditional": "P(B | A), %", "counts": "frames with both"}


def pct(x: Any, digits: int = 1) -> str:
    """A share (0..1) as a percent string; "–" when undefined."""
    return "–" if x is None else f"{100 * x:.{digits}f}"


def num(x: Any, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def interval(low: Any, high: Any, digits: int = 3) -> str:
    return "–" if low is None or high is None else f"[{low:.{digits}f}, {high:.{digits}f}]"


# --- the worker ---------------------------------------------------------------------------
class ReportCache(BackgroundCache):
    """``hrm_report`` per scope ("all" or a child id), computed in the background."""

    def __init__(self, n_boot: int = hrm_stats.N_BOOT, parent: QObject | None = None) -> None:
        super().__init__(self._report, parent)
        self.n_boot = n_boot

    @property
    def reports(self) -> dict[str, dict[str, Any]]:
        return self.results

    def _report(self, cursor: duckdb.DuckDBPyConnection, scope: str) -> dict[str, Any]:
        return hrm_report(cursor, None if scope == "all" else scope, n_boot=self.n_boot)


# --- tables -------------------------------------------------------------------------------
def make_table(parent: QWidget, name: str) -> QTableWidget:
    table = QTableWidget(0, 0, parent)
    table.setObjectName(name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    return table


def fill_table(table: QTableWidget, header: Sequence[str], rows: Sequence[Sequence[str]],
               text_columns: Sequence[int] = (0,)) -> None:
    """Replace ``table``'s content; numbers right-aligned, ``text_columns`` left."""
    table.clear()
    table.setColumnCount(len(header))
    table.setRowCount(len(rows))
    table.setHorizontalHeaderLabels(list(header))
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(str(text))
            if c not in text_columns:
                item.setTextAlignment(right)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


def fit_height(table: QTableWidget) -> None:
    """Make a short table exactly as tall as its rows (no empty band under them)."""
    rows = table.rowCount() * table.verticalHeader().defaultSectionSize()
    table.setFixedHeight(table.horizontalHeader().sizeHint().height() + rows
                         + 2 * table.frameWidth() + 2)


def table_texts(table: QTableWidget) -> list[list[str]]:
    """What a table shows, row by row (for tests and copies)."""
    return [[table.item(r, c).text() if table.item(r, c) else ""
             for c in range(table.columnCount())] for r in range(table.rowCount())]


def _note(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setStyleSheet("color: #555;")
    return label


# --- the view -----------------------------------------------------------------------------
class HRMStatsView(QWidget, IndexView):
    """Issue 4's HRM statistics for the whole dataset or one child.

    Signals
    -------
    statistics_shown(str)
        The view now shows this scope ("all" or a child id).
    message(str)
        A line for the status bar (errors).
    """

    index_kinds = frozenset({DatasetKind.HRM})

    statistics_shown = Signal(str)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None, n_boot: int = hrm_stats.N_BOOT) -> None:
        super().__init__(parent)
        self.setObjectName("hrmStatsView")
        self.cache = ReportCache(n_boot, self)
        self.cache.ready.connect(self._on_ready)
        self.cache.failed.connect(self._on_failed)
        self.scope = "all"
        self.report: dict[str, Any] | None = None
        self._build()
        self.show_index(None)

    def _build(self) -> None:
        self.title = ElidedLabel("", self)
        self.title.setObjectName("statsTitle")
        self.title.setStyleSheet("font-size: 12pt; font-weight: bold;")
        self.ci_combo = QComboBox(self)
        self.ci_combo.setObjectName("ciCombo")
        for key, text in CI_CHOICES.items():
            self.ci_combo.addItem(text, key)
        self.co_combo = QComboBox(self)
        self.co_combo.setObjectName("coCombo")
        for key, text in CO_CHOICES.items():
            self.co_combo.addItem(text, key)
        self.ci_combo.currentIndexChanged.connect(self._draw_prevalence)
        self.co_combo.currentIndexChanged.connect(self._draw_cooccurrence)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.whole = QPushButton("Whole dataset", self)
        self.whole.setObjectName("wholeDatasetButton")
        self.whole.setToolTip("Show the statistics of every child (pick a child in the "
                              "HRM timelines' navigator to see one child)")
        self.whole.clicked.connect(lambda: self.show_scope(None))
        self.whole.hide()
        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.busy)
        bar.addWidget(self.whole)
        for text, combo in (("Intervals", self.ci_combo), ("Co-occurrence", self.co_combo)):
            bar.addWidget(QLabel(text, self))
            bar.addWidget(combo)
        compact_combos(self.ci_combo, self.co_combo)
        self.summary = QLabel(self)
        self.summary.setObjectName("statsSummary")
        self.summary.setWordWrap(True)

        self.tabs = QTabWidget(self)
        self.prevalence = PrevalenceCard(self)
        self.cooccurrence = CooccurrenceCard(HRM_AU22, self)
        self.atypicality = CorrelationCard(self)
        self.tabs.addTab(self.prevalence, "AU prevalence")
        self.tabs.addTab(self.cooccurrence, "Co-occurrence")
        self.tabs.addTab(self._raters_page(), "Raters")
        self.tabs.addTab(self.atypicality, "AU vs atypicality")
        self.segments = make_table(self, "segmentTable")
        self.segments_note = _note("", self)
        self.segments_page = self._page(self.segments_note, self.segments)
        self.tabs.addTab(self.segments_page, "Segments")
        self.openface = make_table(self, "openfaceTable")
        self.openface_note = _note("", self)
        self.openface_page = self._page(self.openface_note, self.openface)
        self.tabs.addTab(self.openface_page, "OpenFace vs coders")

        self.empty = QLabel(self)
        self.empty.setObjectName("statsEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.body = QWidget(self)
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(bar)
        body.addWidget(self.summary)
        body.addWidget(self.tabs, 1)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.body)
        self.stack.addWidget(self.empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.stack)

    def _page(self, *widgets: QWidget) -> QWidget:
        page = QWidget(self)
        box = QVBoxLayout(page)
        for w in widgets:
            # tables (or a trailing spacer widget) take the free height
            box.addWidget(w, 0 if isinstance(w, QLabel) else 1)
        return page

    def _raters_page(self) -> QWidget:
        self.agreement = make_table(self, "agreementTable")
        self.raters = make_table(self, "raterTable")
        self.raters_note = _note("", self)
        return self._page(QLabel("<b>Agreement of the five atypicality raters</b>", self),
                          self.agreement, QLabel("<b>Raters</b>", self), self.raters,
                          self.raters_note, QWidget(self))

    # --- connection and scope -------------------------------------------------------------
    def attach(self, session: IndexSession | None) -> None:
        """Show the HRM statistics of ``session``'s index (None: no index open)."""
        self.cache.set_session(session)
        IndexView.attach(self, session)

    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Show the whole dataset of ``con``, or say there is no data (None: no index)."""
        self.cache.sync()
        self.report = None
        self.busy.hide()
        if con is None or not hrm_query.has_hrm(con):
            self.empty.setText(NO_INDEX_TEXT if con is None else NO_HRM_TEXT)
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentWidget(self.body)
        self.show_scope(None if self.scope == "all" else self.scope)

    @Slot(object)
    def show_scope(self, child: str | None) -> None:
        """Show the statistics of ``child`` (None: the whole dataset)."""
        self.scope = child or "all"
        self.whole.setVisible(self.scope != "all")
        if self.cache.con is None:
            return
        report = self.cache.request(self.scope)
        if report is None:
            self.busy.show()
            self.title.setText(f"Computing the statistics of {self._scope_name()}…")
        else:
            self._show(report)

    def _scope_name(self) -> str:
        return "the whole dataset" if self.scope == "all" else f"child {self.scope}"

    def wait(self, msecs: int = 60000) -> bool:
        """Process events until the background computations are done (tests)."""
        return self.cache.wait(msecs / 1000)

    def _on_ready(self, scope: str) -> None:
        if scope == self.scope:
            self._show(self.cache.reports[scope])

    def _on_failed(self, scope: str, message: str) -> None:
        if scope == self.scope:
            self.busy.hide()
            self.title.setText(f"Statistics of {self._scope_name()} failed")
            self.summary.setText(message)
            self.message.emit(message)

    # --- drawing ----------------------------------------------------------------------------
    def _show(self, report: dict[str, Any]) -> None:
        self.report = report
        self.busy.hide()
        d, child = report["dataset"], report["child"]
        if child is None:
            self.title.setText("Hugging Rain Man: whole dataset")
        else:
            self.title.setText(f"Hugging Rain Man: child {child['child']} "
                               f"({child['group'] or 'no group'}, {child['frames']:,} frames, "
                               f"{child['segments']} segments)")
        self.summary.setText(
            f"{d['children']} children ({d['children_asd']} ASD, {d['children_td']} TD), "
            f"{d['frames']:,} frames, {d['segments']:,} segments, {d['rated_frames']:,} "
            "rated by all five raters. An AU is active when its cell is non-zero.")
        self._draw_prevalence()
        self._draw_cooccurrence()
        self._fill_raters(report)
        aus = report["aus"]
        rows = report["au_vs_atypicality"]
        self.atypicality.set_values(aus, [r["point_biserial"] for r in rows],
                                    f"AU activity vs atypicality ({self._scope_name()})<br>"
                                    "rated frames; no p-values: frames are correlated")
        self._fill_segments(child, aus)
        self._fill_openface(child)
        self.statistics_shown.emit(self.scope)

    def prevalence_series(self) -> dict[str, dict[str, np.ndarray]]:
        """The shares and intervals the prevalence plot draws, per series (0..1)."""
        report = self.report
        if report is None:
            return {}
        frames = self.ci_combo.currentData() == "frames"
        lo, hi = ("wilson_low", "wilson_high") if frames else ("boot_low", "boot_high")
        by = {(r["au"], r["group"]): r for r in report["prevalence"]}

        def arr(rows: list[dict[str, Any]], key: str) -> np.ndarray:
            return np.array([np.nan if r[key] is None else r[key] for r in rows], float)

        series = {}
        for g in hrm_stats.GROUPS:
            rows = [by[(au, g)] for au in report["aus"]]
            series[g] = {"share": arr(rows, "share"), "low": arr(rows, lo),
                         "high": arr(rows, hi)}
        if report["child"] is not None:
            rows = report["child"]["prevalence"]
            series["child"] = {"share": arr(rows, "share"), "low": arr(rows, "wilson_low"),
                               "high": arr(rows, "wilson_high")}
        return series

    @Slot()
    def _draw_prevalence(self) -> None:
        report = self.report
        if report is None:
            return
        first = {r["group"]: r for r in report["prevalence"] if r["au"] == report["aus"][0]}
        labels = {g: f"{g} ({first[g]['children']} children)" for g in hrm_stats.GROUPS}
        if report["child"] is not None:
            labels["child"] = f"{report['child']['child']} (Wilson, its frames)"
        over = ("children (cluster bootstrap)" if self.ci_combo.currentData() == "children"
                else "frames (Wilson; too narrow for children)")
        self.prevalence.set_prevalence(
            report["aus"], self.prevalence_series(), labels,
            f"AU prevalence, ASD vs TD<br>95% CI over {over}")

    def cooccurrence_cells(self) -> tuple[np.ndarray, list[list[str]]]:
        """Cell colours (0..1) and the texts the heatmap shows, for the chosen mode."""
        co = self.report["cooccurrence"] if self.report else None
        if co is None:
            return np.zeros((0, 0)), []
        counts = np.array(co["counts"], dtype=float)
        if self.co_combo.currentData() == "counts":
            shares = counts / co["frames"] if co["frames"] else np.zeros_like(counts)
            return shares, [[compact_count(v) for v in row] for row in counts]
        cond = np.array([[np.nan if v is None else v for v in row]
                         for row in co["conditional"]], dtype=float)
        return cond, [["" if np.isnan(v) else f"{100 * v:.0f}" for v in row] for row in cond]

    @Slot()
    def _draw_cooccurrence(self) -> None:
        if self.report is None:
            return
        shares, texts = self.cooccurrence_cells()
        frames = self.report["cooccurrence"]["frames"]
        what = ("frames where both AUs are active (colour: share of all frames)"
                if self.co_combo.currentData() == "counts"
                else "P(B | A): % of A's frames where B is also active")
        self.cooccurrence.set_matrix(shares, texts, f"AU co-occurrence, {self._scope_name()}"
                                     f" ({frames:,} frames)<br>{what}")

    def _fill_raters(self, report: dict[str, Any]) -> None:
        ra = report["rater_agreement"]
        rows = [["Frames rated by all five", f"{ra['frames']:,}", ""]]
        for form in ("ICC(2,1)", "ICC(2,k)"):
            v = ra["icc"].get(form)
            rows.append([f"{form} ({'one rater' if form.endswith('1)') else 'mean of five'})",
                         num(v["value"]) if v else "–",
                         interval(v["ci_low"], v["ci_high"]) if v else "–"])
        rows.append(["Krippendorff's alpha (ordinal)", num(ra["krippendorff_alpha_ordinal"]),
                     ""])
        fill_table(self.agreement, ["Statistic", "Value", "95% CI (frames)"], rows)
        fill_table(self.raters, ["Rater", "Mean level", "SD", "r with the others' mean"],
                   [[r["rater"], num(r["mean"], 2), num(r["sd"], 2), num(r["r_with_others"])]
                    for r in ra["raters"]])
        fit_height(self.agreement)
        fit_height(self.raters)
        self.raters_note.setText(
            f"Scope: {self._scope_name()}. {hrm_report_notes[2]}")

    def _fill_segments(self, child: dict[str, Any] | None, aus: Sequence[str]) -> None:
        index = self.tabs.indexOf(self.segments_page)
        self.tabs.setTabVisible(index, child is not None)
        if child is None:
            fill_table(self.segments, [], [])
            return
        self.segments_note.setText(f"Segments of {child['child']}: frames, mean atypicality "
                                   "(raters' mean) and % of the segment's frames each AU "
                                   "is active in.")
        rows = [[str(s["segment"]), str(s["start_frame"]), str(s["end_frame"]),
                 str(s["n_frames"]), num(s["mean_atypicality"], 2),
                 *(pct(s[a]) for a in aus)] for s in child["segment_summary"]]
        fill_table(self.segments, ["Segment", "Start", "End", "Frames", "Atypicality",
                                   *(f"{a} %" for a in aus)], rows)

    def _fill_openface(self, child: dict[str, Any] | None) -> None:
        of = child["openface"] if child else None
        self.tabs.setTabVisible(self.tabs.indexOf(self.openface_page), of is not None)
        if of is None:
            fill_table(self.openface, [], [])
            return
        self.openface_note.setText(
            f"OpenFace's presence (_c) against the coders of {of['child']}: "
            f"{of['aligned']:,} of {of['labelled_frames']:,} labelled frames tracked, "
            f"{of['failed']:,} failed; macro F1 {num(of['macro_f1'])}. OpenFace frame f + 1 "
            "is HRM frame f. AU26 is compared with HRM's AU2X (AU26 or AU27; OpenFace has "
            "no AU27).")
        rows = [[r["openface_au"], r["hrm_au"], f"{r['frames']:,}", pct(r["prevalence_human"]),
                 pct(r["prevalence_openface"]), num(r["f1"]), num(r["kappa"]), r["note"]]
                for r in of["aus"]]
        fill_table(self.openface, ["OpenFace AU", "HRM AU", "Frames", "Coders %",
                                   "OpenFace %", "F1", "Cohen's kappa", "Note"], rows,
                   text_columns=(0, 1, 7))
