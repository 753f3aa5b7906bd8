"""The Ranking pane: every feature ranked by Spearman rho with one subscale.

The ranking of all three subscales comes from the feature ranks stored at import (or,
for an older index, one pass over the feature table), via
``faces_views.rank_all_with_progress`` on the view's worker; a progress bar follows the
blocks and the status line says which way rho was computed; an index ranked from the
values offers "Store feature ranks", a write of the window (``WindowWrites``) after which
the ranking is computed again from them. The table sorts by any
column (|rho| order as delivered); "Export CSV..." writes the shown subscale's full
ranking with ``faces_stats.export_ranking``. Double-clicking a row opens that feature in
the Feature explorer.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.gui.faces_explorer.table import Column, FrameModel, fixed, general, plain
from faceexplorer.reports.faces_stats import export_ranking
from faceexplorer.stats.dass21 import SUBSCALES
from faceexplorer.stats.faces_views import rho_source_text

COLUMNS = [
    Column("Feature", "feature"),
    Column("OpenFace column", "base_column"),
    Column("Statistic", "stat"),
    Column("rho", "rho", fixed(3), numeric=True),
    Column("CI low", "ci_low", fixed(3), numeric=True),
    Column("CI high", "ci_high", fixed(3), numeric=True),
    Column("p", "p", general, numeric=True),
    Column("BH q", "q", general, numeric=True),
    Column("n", "n", plain, numeric=True),
]


class RankingPane(QWidget):
    """Subscale choice, compute button with progress, sortable table, CSV export.

    Signals
    -------
    compute_requested()
        The user asked for the ranking (the view runs it).
    feature_chosen(str)
        A row was double-clicked.
    exported(str)
        The CSV path written.
    """

    compute_requested = Signal()
    feature_chosen = Signal(str)
    exported = Signal(str)
    #: the user asked to store the feature ranks in an index that ranks from the values
    store_ranks_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rankings: dict[str, pd.DataFrame] = {}
        self.subscale_combo = QComboBox(self)
        self.subscale_combo.addItems([s.capitalize() for s in SUBSCALES])
        self.compute_button = QPushButton("Rank all features", self)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("rankingProgress")
        self.progress.setFormat("%v of %m features")
        self.progress.hide()
        self.export_button = QPushButton("Export CSV…", self)
        self.export_button.setEnabled(False)
        self.store_button = QPushButton(self)
        self._offer_store()
        self.store_button.setObjectName("storeRanksButton")
        self.store_button.setToolTip(
            "This index ranks every feature from its values each time (an older version "
            "imported it, without the feature ranks). Store the ranks in the index once "
            "(~6 s for 11,000 subjects x 8,500 features; the window stays usable): later "
            "rankings read them instead, in well under a second with complete scores.")
        self.store_button.hide()
        self.status = QLabel("Ranking not computed yet.", self)
        self.status.setObjectName("rankingStatus")
        self.status.setWordWrap(True)  # the fallback's reason can be long
        self.model = FrameModel(COLUMNS, self)
        self.table = QTableView(self)
        self.table.setObjectName("rankingTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Subscale", self))
        bar.addWidget(self.subscale_combo)
        bar.addWidget(self.compute_button)
        bar.addWidget(self.progress, 1)
        bar.addStretch(0)
        bar.addWidget(self.store_button)
        bar.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self.compute_button.clicked.connect(self.compute_requested)
        self.subscale_combo.currentIndexChanged.connect(self._show_current)
        self.export_button.clicked.connect(self.ask_export)
        self.store_button.clicked.connect(self._ask_store)
        self.table.doubleClicked.connect(self._on_double_click)

    @property
    def subscale(self) -> str:
        return SUBSCALES[self.subscale_combo.currentIndex()]

    def clear(self) -> None:
        self.rankings = {}
        self.model.set_frame(self.model.frame.iloc[0:0])
        self.export_button.setEnabled(False)
        self.progress.hide()
        self.compute_button.setEnabled(True)
        self.store_button.hide()
        self._offer_store()
        self.status.setText("Ranking not computed yet.")

    def set_running(self, done: int, total: int) -> None:
        self.compute_button.setEnabled(False)
        # Before the first block is done, a busy bar: nothing yet says how fast it goes.
        self.progress.setRange(0, total if done else 0)
        self.progress.setValue(done)
        self.progress.show()
        self.status.setText("Ranking every feature against the three subscales…")

    def set_rankings(self, rankings: dict[str, pd.DataFrame], seconds: float) -> None:
        self.rankings = rankings
        self.progress.hide()
        self.compute_button.setEnabled(True)
        self.export_button.setEnabled(True)
        self.seconds = seconds
        self._show_current()

    def show_error(self, message: str) -> None:
        self.progress.hide()
        self.compute_button.setEnabled(True)
        self.status.setText(f"Ranking failed: {message}")

    def _show_current(self) -> None:
        frame = self.rankings.get(self.subscale)
        if frame is None:
            return
        self.model.set_frame(frame)
        self.table.horizontalHeader().setSortIndicator(-1, self.table.horizontalHeader(
            ).sortIndicatorOrder())
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(0, max(self.table.columnWidth(0), 220))
        significant = int((frame["q"] < 0.05).sum())
        self.status.setText(
            f"{len(frame):,} features ranked by |rho| with {self.subscale} "
            f"({significant:,} with BH q < 0.05; computed in {self.seconds:.1f} s for all "
            f"three subscales, {rho_source_text(frame)}). Click a header to sort; "
            "double-click a row to explore it.")
        self.status.setToolTip(str(frame.attrs.get("rho_from", "")))
        self.store_button.setVisible(
            str(frame.attrs.get("rho_from", "")).startswith("values: "))

    def _ask_store(self) -> None:
        self.store_button.setEnabled(False)
        self.store_button.setText("Storing feature ranks…")
        self.store_ranks_requested.emit()

    def store_failed(self, message: str) -> None:
        """The write asked for by the store button failed: say so, offer it again."""
        self._offer_store()
        self.status.setText(f"The feature ranks were not stored: {message}")

    def _offer_store(self) -> None:
        self.store_button.setEnabled(True)
        self.store_button.setText("Store feature ranks")

    def ask_export(self) -> None:
        """Ask for a file name, then export (the "ask" half of the command)."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Export ranking as CSV", f"faces_ranking_{self.subscale}.csv",
            "CSV file (*.csv)")
        if path:
            try:
                self.export(Path(path))
            except OSError as exc:
                QMessageBox.warning(self, "Export ranking", str(exc))

    def export(self, path: Path) -> Path:
        """Write the shown subscale's full ranking (all features) to ``path``."""
        written = export_ranking(self.rankings[self.subscale], path)
        self.exported.emit(str(written))
        return written

    def _on_double_click(self, index: QModelIndex) -> None:
        self.feature_chosen.emit(self.model.text(index.row(), 0))
