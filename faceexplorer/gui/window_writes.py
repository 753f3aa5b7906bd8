"""The main window's writes: File > Add dataset / Remove dataset, live recordings, the
FACES feature ranks of an index imported without them, and the status bar's word on each
(a busy bar and Cancel while an import runs, a link to a finished job's result).

Each write is queued on the window's index session (``IndexSession.write``): it runs on
the task runner's long-job thread while the window stays usable, the session turns the
connection read-write for just that long, and the views update from the session's
``changed`` signal when it commits. :class:`WindowWrites` is a mixin of
:class:`~faceexplorer.gui.main_window.MainWindow`, kept apart because these are the
window's only actions that change the index; it uses the window's ``session``,
``settings``, ``dataset_panel``, status-bar widgets and tabs.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox

from faceexplorer.gui.add_dataset import AddDatasetDialog, ImportRequest, import_job, report_text
from faceexplorer.gui.core import settings as keys
from faceexplorer.gui.core.session import DatasetChange, WriteHandle
from faceexplorer.index.report import ImportReport


class WindowWrites:
    """File > Add dataset / Remove dataset, live recordings stored, results announced."""

    _import_write: WriteHandle | None = None
    last_import: Any = None

    def add_dataset(self) -> None:
        """File > Add dataset: ask for a folder and its kind, then import it."""
        dialog = AddDatasetDialog(self.settings.get(keys.LAST_IMPORT_FOLDER), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        request = dialog.request()
        self.settings.set(keys.LAST_IMPORT_FOLDER, str(request.path.parent))
        self.import_dataset(request)

    def import_dataset(self, request: ImportRequest) -> None:
        """Queue the import of ``request``; the window stays usable while it runs."""
        from faceexplorer.gui.add_dataset import resolve_kind

        kind = resolve_kind(request)
        request = ImportRequest(request.path, kind, request.options)
        self.last_import: ImportReport | str | None = None
        self._import_write = self.session.write(
            import_job, request, name=f"Import of {request.path.name} ({kind})",
            change=DatasetChange(frozenset({kind}), "imported", str(request.path)),
            on_done=self._import_done, on_error=self._import_failed,
            on_cancelled=self._import_cancelled)
        self.import_progress.show()
        self.cancel_import_button.show()

    def ask_remove_dataset(self) -> None:
        """File > Remove dataset: choose one of the index's datasets, confirm, remove."""
        if not self.datasets:
            self.statusBar().showMessage("The index holds no dataset to remove", 10000)
            return
        titles = [f"{d.title} ({d.kind})" for d in self.datasets]
        current = self.dataset_panel.current()
        start = next((i for i, d in enumerate(self.datasets)
                      if current is not None and d.kind == current.kind), 0)
        title, ok = QInputDialog.getItem(self, "Remove a dataset", "Dataset to remove:",
                                         titles, start, False)
        if not ok:
            return
        kind = self.datasets[titles.index(title)].kind
        answer = QMessageBox.question(
            self, "Remove a dataset",
            f"Remove {title} from the index?\n\nIts files stay where they are; importing "
            "the folder again brings it back. Model runs and analyses are kept.")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_dataset(kind)

    def remove_dataset(self, kind: str) -> None:
        """Remove ``kind`` from the index (a write; the views update when it is done)."""
        from faceexplorer.gui.add_dataset import remove_job

        self.session.write(
            remove_job, kind, name=f"Removing {kind}",
            change=DatasetChange(frozenset({kind}), "removed"),
            on_done=lambda rows: self.statusBar().showMessage(
                f"Removed {kind} from the index ({sum(rows.values()):,} rows); its files "
                "are untouched", 20000),
            on_error=lambda message: self.statusBar().showMessage(
                f"{kind} was not removed: {message}", 20000))

    #: how long a finished job's link stays in the status bar
    RESULT_MS = 60_000

    def announce_result(self, text: str, target: str) -> None:
        """Say in the status bar that a job finished, with a link to its result.

        ``target``: ``dataset:KIND`` (the dataset's view) or ``view:NAME`` (a tab)."""
        self.result_link.setText(f"{escape(text)} · <a href='{escape(target)}'>Show</a>")
        self.result_link.show()
        self._result_timer.start(self.RESULT_MS)

    def open_result(self, target: str) -> None:
        """Follow a result link (see :meth:`announce_result`)."""
        kind, _, name = target.partition(":")
        if kind == "dataset":
            if self.dataset_panel.select(name):
                overview = self.dataset_panel.current()
                if overview is not None:
                    self._open_view_for(overview)
        elif kind == "view" and name in self._pages:
            self.views.setCurrentWidget(self._pages[name])
        self.result_link.hide()

    def cancel_import(self) -> None:
        """Stop the import in progress; it rolls back and the index stays as it was."""
        if self._import_write is not None:
            self.session.cancel_write(self._import_write)
            self.statusBar().showMessage("Cancelling the import…")

    def _import_ended(self) -> None:
        self._import_write = None
        self.import_progress.hide()
        self.cancel_import_button.hide()

    def _import_cancelled(self) -> None:
        self._import_ended()
        self.last_import = "cancelled"
        self.statusBar().showMessage("Import cancelled: the index is as it was", 20000)

    def _import_done(self, report: ImportReport) -> None:
        self._import_ended()
        self.last_import = report
        self.announce_result(f"{report.dataset} imported", f"dataset:{report.dataset}")
        # short: the counts are in the dataset panel and the report box; the link is beside
        self.statusBar().showMessage(
            f"Imported {report.dataset}"
            + (f" ({report.skipped_total:,} rows skipped: see Records)" if report.skipped
               else ""), 20000)
        if not self.testing:
            QMessageBox.information(self, "Import finished", report_text(report))

    def _import_failed(self, message: str) -> None:
        self._import_ended()
        self.last_import = message
        self.statusBar().showMessage(f"Import failed; the index is as it was: {message}",
                                     30000)
        if not self.testing:
            QMessageBox.warning(self, "Import failed",
                                f"{message}\n\nThe index is as it was before the import.")

    #: True under tests: results go to the status bar only, no modal box
    testing = False

    def _write_started(self, name: str) -> None:
        self.statusBar().showMessage(f"{name}: running… (the window stays usable)")

    def _write_ended(self, name: str, message: str) -> None:
        if message == "cancelled":
            self.statusBar().showMessage(f"{name}: cancelled", 10000)
        elif not message:
            self.statusBar().showMessage(f"{name}: done", 10000)

    def _analysis_finished(self, result: Any) -> None:
        """An analysis of the Analyses tab ended: finished, or stopped by its user (the
        write itself ended normally, so the status bar said "done")."""
        self.announce_result(f"Analysis {result.status}", "view:analyses_view")
        if result.status != "finished":
            names = ", ".join(s.path.name for s in result.inputs) or "the analysis"
            self.statusBar().showMessage(
                f"Analysis of {names}: {result.status}; run it again to resume", 10000)

    def _store_recording(self, csv_path: str) -> None:
        """Put a finished live recording into the index (it is kept as CSV either way);
        a write of the session, so the window goes on meanwhile."""
        self.session.write(
            _recording_job, csv_path, name="Storing the live recording",
            change=DatasetChange(frozenset({"live"}), "recording", csv_path),
            on_done=lambda rows: self.statusBar().showMessage(
                f"Recording stored in the index ({rows:,} predictions); CSV: {csv_path}",
                20000),
            on_error=lambda message: self.statusBar().showMessage(
                f"Recording kept as {csv_path}, but not stored in the index: {message}",
                20000))

    def _store_faces_ranks(self) -> None:
        """Store the FACES feature ranks in an index imported without them (a write of the
        session): its rankings then read them instead of sorting every value."""
        self.session.write(
            _faces_ranks_job, name="Storing the FACES feature ranks",
            change=DatasetChange(frozenset({"faces"}), "feature ranks"),
            on_done=lambda n: self.statusBar().showMessage(
                f"FACES feature ranks stored ({n:,} features): rankings now read them", 20000),
            on_error=self._faces_ranks_failed)

    def _faces_ranks_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"FACES feature ranks not stored: {message}", 20000)
        self.faces_explorer.ranking.store_failed(message)


def _faces_ranks_job(_ctx, db_path: Path) -> int:
    from faceexplorer.reports.faces_rank_store import store_ranks_in

    return store_ranks_in(db_path)


def _recording_job(_ctx, db_path: Path, csv_path: str) -> int:
    from faceexplorer.inference.recording import import_recording

    return import_recording(db_path, csv_path)


def create_index_job(_ctx, db_path: Path) -> None:
    """Create an empty index at ``db_path`` (a write: the tabs that need no dataset)."""
    from faceexplorer.index.store import connect

    connect(db_path).close()
