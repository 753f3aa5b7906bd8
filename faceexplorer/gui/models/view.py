"""The Models view: run an ONNX model over a dataset of the index, list runs, report one.

The form (model file, dataset, item limit, threads) queues the run as a write of the
index session (:func:`~faceexplorer.gui.models.worker.batch_job`): it runs on the task
runner's long-job thread while the window stays usable; the bar shows done/total and
items/s a few times a second, and the runs table follows the run's counters as its
chunks commit. Cancel stops after the item in flight and keeps what was written (running
again resumes: a run is keyed by the model's sha256 and the dataset). Errors - a model
that does not load, a card refused, a dataset not in the index - go to the message line
in the user's words.

Selecting a run computes its ``model_report`` off the GUI thread (newest request wins)
and hands it to the ``ReportPanel``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.gui.core.session import DatasetChange, IndexView, WriteHandle
from faceexplorer.gui.models.report_panel import ReportPanel
from faceexplorer.gui.models.worker import batch_job, report_job
from faceexplorer.index.predictions import RunRow, runs
from faceexplorer.index.store import table_exists
from faceexplorer.inference import BATCH_DATASETS

if TYPE_CHECKING:
    from faceexplorer.gui.preferences import Preferences

RUN_COLUMNS = ("model", "sha256", "dataset", "status", "done", "failed", "missing",
               "started", "finished")
# The tables whose presence means a dataset can be run on (batch.dataset_items reads them).
_NEEDS = {"affectnet": ("affectnet_images",), "affectnet-c25": ("affectnet_images",
                                                                 "c25_images"),
          "hrm": ("hrm_frames",), "rafd-d": ("rafd_images",)}


def runnable_datasets(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The batch datasets whose tables are in the index, in ``BATCH_DATASETS`` order."""
    return [d for d in BATCH_DATASETS if all(table_exists(con, t) for t in _NEEDS[d])]


class ModelsView(QWidget, IndexView):
    """Batch runs from the GUI and the model-vs-human report of a stored run.

    Signals
    -------
    run_finished(object)
        A run ended (its ``BatchResult``: finished, stopped or failed).
    run_failed(str)
        A run could not start or broke off; the message shown.
    report_shown(str)
        The report of this run id is on screen.
    run_started()
        A run was queued (it starts when the index is writable).
    idle()
        The run ended and the view is ready for another.
    """

    run_finished = Signal(object)
    run_failed = Signal(str)
    report_shown = Signal(str)
    run_started = Signal()
    idle = Signal()

    #: seconds between two rereads of the runs table while a run writes
    RUNS_REFRESH_S = 1.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run: WriteHandle | None = None
        self._stop = threading.Event()
        self.rows: list[RunRow] = []
        self._pending_select: str | None = None  # the run to show when it ends
        self._runs_read = 0.0
        self._build()

    # --- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("model .onnx (its card is found beside it, "
                                           "inside it or among the shipped cards)")
        self.browse_button = QPushButton("Browse…")
        self.dataset_box = QComboBox()
        self.limit_spin = QSpinBox()
        self.limit_spin.setRange(0, 10_000_000)
        self.limit_spin.setSpecialValueText("all items")
        self.limit_spin.setToolTip("Only the first N items; a later run with a larger "
                                   "limit continues the same run")
        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(1, max(1, os.cpu_count() or 1))
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        form = QHBoxLayout()
        for w, stretch in ((QLabel("Model"), 0), (self.model_edit, 4), (self.browse_button, 0),
                           (QLabel("Dataset"), 0), (self.dataset_box, 1),
                           (QLabel("Limit"), 0), (self.limit_spin, 0),
                           (QLabel("Threads"), 0), (self.threads_spin, 0),
                           (self.run_button, 0), (self.cancel_button, 0)):
            form.addWidget(w, stretch)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m items")
        self.status = QLabel("No run in progress.")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.status, 2)
        self.runs_table = QTableWidget(0, len(RUN_COLUMNS))
        self.runs_table.setHorizontalHeaderLabels(list(RUN_COLUMNS))
        self.runs_table.verticalHeader().setVisible(False)
        self.runs_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs_table.horizontalHeader().setStretchLastSection(True)
        self.report = ReportPanel(self)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.runs_table)
        split.addWidget(self.report)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 4)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)
        self.browse_button.clicked.connect(self._browse)
        self.run_button.clicked.connect(self.start_run)
        self.cancel_button.clicked.connect(self.cancel_run)
        self.runs_table.itemSelectionChanged.connect(self._run_selected)
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (self.model_edit, self.browse_button, self.dataset_box, self.limit_spin,
                  self.threads_spin):
            w.setEnabled(not running)

    # --- the main window's protocol -----------------------------------------------------

    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """The lists and reports of ``con`` (None: no index open)."""
        if con is None:
            self.rows = []
            self._fill_runs(keep=None)
            self.report.clear("No index open.")
            return
        if self.run is None:
            chosen = self.dataset_box.currentText()
            self.dataset_box.clear()
            self.dataset_box.addItems(runnable_datasets(con))
            if chosen:
                self.dataset_box.setCurrentText(chosen)
        self.refresh_runs()
        if self.run is None and self._pending_select:
            run_id, self._pending_select = self._pending_select, None
            self.select_run(run_id)

    # --- runs ---------------------------------------------------------------------------

    #: where Browse… starts when the model field is empty (Edit > Preferences)
    models_folder = ""

    def use_preferences(self, prefs: Preferences, model: str) -> None:
        """Edit > Preferences: Browse… starts in the models folder; ``model`` fills an
        empty model field."""
        self.models_folder = str(prefs.models_dir())
        if model and self.run is None and not self.model_edit.text().strip():
            self.model_edit.setText(model)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an ONNX model",
                                              self.model_edit.text() or self.models_folder,
                                              "ONNX model (*.onnx)")
        if path:
            self.model_edit.setText(path)

    def start_run(self) -> None:
        """Start a batch run with the form's values (the "ask" side is the form)."""
        self.message.clear()
        model = self.model_edit.text().strip()
        dataset = self.dataset_box.currentText()
        problem = None
        if not model:
            problem = "Choose a model file (.onnx) first."
        elif self.con is None or self.session is None:
            problem = "No index is open: open or build an index first."
        elif not dataset:
            problem = ("No dataset a model can run on is in this index: import AffectNet, "
                       "AffectNetC25, HRM or RaFD-D first (faceexplorer index add KIND PATH).")
        if problem:
            self._show_failure(problem)
            return
        assert self.session is not None
        limit = self.limit_spin.value() or None
        self.progress.setFormat("%v / %m items")
        self.progress.setRange(0, 0)  # busy until the first count arrives
        self.status.setText(f"Loading {Path(model).name} and listing {dataset} items…")
        self._set_running(True)
        self._stop = threading.Event()
        self.run = self.session.write(
            batch_job, model, dataset, limit, self.threads_spin.value(), self._stop,
            name=f"Model run of {Path(model).name} on {dataset}",
            change=DatasetChange(frozenset({dataset}), "predictions"),
            on_done=self._on_result, on_error=self._on_failed,
            on_progress=self._on_progress, on_cancelled=self._on_cancelled)
        self.run_started.emit()

    def cancel_run(self) -> None:
        """Stop the run after the item in flight; what was written is kept."""
        if self.run is None or self.session is None:
            return
        if self.run.task is None:             # still queued behind another write
            self.session.cancel_write(self.run)
        else:
            self._stop.set()
            self.status.setText("Cancelling: writing what was predicted…")

    @property
    def running(self) -> bool:
        return self.run is not None

    def stop_and_wait(self, timeout: float = 30.0) -> bool:
        """Cancel a run and process events until it ended (closing, tests)."""
        if self.run is None or self.session is None:
            return True
        self.cancel_run()
        return self.session.wait_until_idle(timeout)

    def _on_progress(self, done: int, total: int, rate: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(f"{done:,} / {total:,} items, {rate} items/s")
        now = time.monotonic()
        if now - self._runs_read >= self.RUNS_REFRESH_S:   # the table follows the run
            self._runs_read = now
            self.refresh_runs()

    def _on_result(self, result: Any) -> None:
        what = (f"{result.items_written:,} items written ({result.items_before:,} were already "
                f"stored), {result.items_failed:,} invalid ({result.items_missing:,} missing "
                f"files), {result.items_per_second:.1f} items/s")
        if result.status == "finished":
            self.progress.setRange(0, max(result.items_total, 1))
            self.progress.setValue(result.items_total)
            self.status.setText(f"Finished: {what}.")
        elif result.status == "stopped":
            self.status.setText(f"Stopped: {what}. What was written is kept; press Run again "
                                "with the same model and dataset to resume.")
        else:
            self.status.setText(f"Failed: {what}.")
            self._show_failure(f"The run failed: {result.message}. What was written is "
                               "kept; press Run again to resume.")
        self._pending_select = result.run_id
        self._run_ended()
        self.run_finished.emit(result)

    def _on_failed(self, message: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("not run")
        self.status.setText("The run could not start or broke off (see below).")
        self._show_failure(message[:1].upper() + message[1:])
        self._run_ended()
        self.run_failed.emit(message)

    def _on_cancelled(self) -> None:
        self.status.setText("Cancelled before the run started.")
        self._run_ended()

    def _run_ended(self) -> None:
        self.run = None
        self._set_running(False)
        self.show_index(self.con)   # datasets and runs as they are now; selects the run
        self.idle.emit()

    def _show_failure(self, text: str) -> None:
        self.message.setText(text)

    # --- runs table and report ----------------------------------------------------------

    def refresh_runs(self) -> None:
        """Reread the runs from the index, keeping the selected run selected."""
        keep = self.selected_run()
        self.rows = runs(self.con) if self.con is not None else []
        self._fill_runs(keep)

    def _fill_runs(self, keep: str | None) -> None:
        table = self.runs_table
        table.blockSignals(True)
        table.setRowCount(len(self.rows))
        for r, run in enumerate(self.rows):
            texts = (run.model_name or Path(run.model_path).name, run.model_sha256[:12],
                     run.dataset, run.status, f"{run.items_done:,}", f"{run.items_failed:,}",
                     f"{run.items_missing:,}", f"{run.started_at:%Y-%m-%d %H:%M:%S}",
                     "" if run.finished_at is None else f"{run.finished_at:%Y-%m-%d %H:%M:%S}")
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, run.run_id)
                if run.message:
                    item.setToolTip(run.message)
                table.setItem(r, c, item)
        table.resizeColumnsToContents()
        row = next((i for i, run in enumerate(self.rows) if run.run_id == keep), None)
        if row is not None:
            table.selectRow(row)
        table.blockSignals(False)

    def selected_run(self) -> str | None:
        items = self.runs_table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def select_run(self, run_id: str) -> None:
        """Select ``run_id`` in the table (and so show its report)."""
        for r, run in enumerate(self.rows):
            if run.run_id == run_id:
                self.runs_table.selectRow(r)
                self._run_selected()
                return

    def _run_selected(self) -> None:
        run_id = self.selected_run()
        if run_id is None or self.con is None or self.session is None:
            return
        self.report.clear(f"Computing the report of run {run_id}…")
        self.session.read(
            report_job, run_id, key=(id(self), "report"), name="model report",
            on_done=self._report_done,
            on_error=lambda message, run=run_id: self.report.clear(
                f"The report of run {run} could not be computed: {message}"))

    def wait_for_report(self, timeout: float = 60.0) -> bool:
        """Process events until the report asked for is shown (tests)."""
        return self.session is None or self.session.tasks.wait_until_idle(timeout)

    def _report_done(self, answer: tuple[str, dict]) -> None:
        run_id, report = answer
        self.report.show_report(report)
        self.report_shown.emit(run_id)
