"""File > Add dataset: choose a folder, its kind and options; the import runs in the window.

The dialog only asks. :func:`import_job` is the write the window queues on its index
session (``IndexSession.write``): the command line's ``registry.import_path``, on the
task runner's long-job thread, so the window stays usable and every view updates when
the import commits. :func:`report_text` is what the window shows when it ends: the
counts, the rows skipped with their reason and first line, and the warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.datasets import registry
from faceexplorer.gui.core.tasks import TaskContext
from faceexplorer.index.report import ImportReport

DETECT = "Detect from the folder"


@dataclass(frozen=True)
class ImportRequest:
    """What the user asked for: a folder (or file), its kind (None: detect), options."""

    path: Path
    kind: str | None
    options: dict[str, Any] = field(default_factory=dict)


def import_job(ctx: TaskContext, db_path: Path, request: ImportRequest) -> ImportReport:
    """The import, on a worker (a write of the index session); cancelling the task
    interrupts its query and the import rolls back (the index is as it was)."""
    ctx.check()
    return registry.import_path(db_path, request.path, request.kind,
                                on_connect=lambda con: ctx.on_cancel(con.interrupt),
                                **request.options)


def remove_job(_ctx: TaskContext, db_path: Path, kind: str) -> dict[str, int]:
    """Remove ``kind`` from the index (a write of the index session)."""
    from faceexplorer.datasets.remove import remove_dataset

    return remove_dataset(db_path, kind)


def resolve_kind(request: ImportRequest) -> str:
    """The kind to import as (detected when not chosen); a clear error otherwise."""
    return request.kind or registry.detect_kind(request.path)


def report_text(report: ImportReport, limit: int = 8) -> str:
    """The import's report as plain lines for the user."""
    counts = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in report.counts.items())
    lines = [f"{registry.importer(report.dataset).TITLE} imported from {report.source}:",
             f"  {counts or 'nothing counted'}"]
    if report.skipped:
        lines.append(f"  {report.skipped_total:,} rows skipped:")
        for s in report.skipped[:limit]:
            where = f", first at line {s.first_line}" if s.first_line else ""
            lines.append(f"    {s.rows:,} in {s.file}: {s.reason}{where}")
        if len(report.skipped) > limit:
            lines.append(f"    … and {len(report.skipped) - limit} more reasons "
                         "(Records tab, or faceexplorer index info)")
    for warning in report.warnings[:limit]:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)


class AddDatasetDialog(QDialog):
    """Folder, kind and the options a kind needs; :meth:`request` is the answer."""

    def __init__(self, start_folder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a dataset to the index")
        self.path_edit = QLineEdit(start_folder)
        self.path_edit.setPlaceholderText("the dataset's folder (or file, for OpenFace CSVs)")
        self.browse_button = QPushButton("Browse…")
        self.kind_box = QComboBox()
        self.kind_box.addItem(DETECT, None)
        for kind in registry.IMPORTERS:
            self.kind_box.addItem(f"{registry.importer(kind).TITLE} ({kind})", kind)
        self.images_edit = QLineEdit()
        self.images_edit.setPlaceholderText("RaFD-D only: folder of the RaFD RGB images")
        self.survey_edit = QLineEdit()
        self.survey_edit.setPlaceholderText("FACES only: survey date YYYY-MM-DD, for ages")
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b00020;")
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Folder", path_row)
        form.addRow("Kind", self.kind_box)
        form.addRow("RaFD images", self.images_edit)
        form.addRow("Survey date", self.survey_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton(
            "Import", QDialogButtonBox.ButtonRole.AcceptRole)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The import replaces this kind's earlier import, all or "
                                "nothing; the window stays usable while it runs."))
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.browse_button.clicked.connect(self._browse)
        self.kind_box.currentIndexChanged.connect(self._kind_changed)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.resize(640, self.sizeHint().height())
        self._kind_changed()

    def request(self) -> ImportRequest:
        """What the form says (not checked: see :meth:`_accept`)."""
        kind = self.kind_box.currentData()
        options: dict[str, Any] = {}
        if self.images_edit.text().strip():
            options["images"] = Path(self.images_edit.text().strip())
        if self.survey_edit.text().strip():
            options["survey_date"] = self.survey_edit.text().strip()
        return ImportRequest(Path(self.path_edit.text().strip()), kind, options)

    def _kind_changed(self) -> None:
        kind = self.kind_box.currentData()
        self.images_edit.setEnabled(kind in (None, "rafd-d"))
        self.survey_edit.setEnabled(kind in (None, "faces"))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the dataset's folder",
                                                  self.path_edit.text())
        if folder:
            self.path_edit.setText(folder)

    def _accept(self) -> None:
        request = self.request()
        if not self.path_edit.text().strip():
            self.problem.setText("Choose the dataset's folder first.")
            return
        try:
            kind = resolve_kind(request)
        except FaceExplorerError as exc:
            self.problem.setText(str(exc))
            return
        self.kind_box.setCurrentIndex(self.kind_box.findData(kind))
        self.accept()
