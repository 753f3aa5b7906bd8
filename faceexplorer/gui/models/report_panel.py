"""One run's model-vs-human report: a measures table, two confusion heatmaps, AU table.

The panel is handed the JSON-ready dict of ``reports.model_report.model_report`` and shows
its numbers as they are (three decimals), nothing recomputed; the heatmaps colour each
cell by its share of the row (the human label) so rare classes read as clearly as
common ones, and print the counts. Blocks the report lacks (no C25 votes, no V/A
outputs, not an HRM run) leave a note saying why instead of an empty plot.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.gui.crowd_stats.plots import HeatmapCard

MEASURE_COLUMNS = ("measure", "against", "n", "value")


def _num(x: Any) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _table(columns: tuple[str, ...]) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(list(columns))
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _fill(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    table.resizeColumnsToContents()


def measure_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The (measure, against, n, value) rows the measures table shows for a report."""
    e = report.get("expression", {})
    rows: list[tuple[str, str, str, str]] = []
    for key, against in (("vs_affectnet_label", "AffectNet label"),
                         ("vs_rafd_label", "RaFD label"),
                         ("vs_crowd_majority", "crowd majority")):
        if key in e:
            b = e[key]
            rows += [("accuracy", against, str(b["n"]), _num(b["accuracy"])),
                     ("macro F1", against, str(b["n"]), _num(b["macro_f1"]))]
    rows += [(f"accuracy, yaw {y['yaw']:+d}", "RaFD label", f"{y['n']} of {y['images']}",
              _num(y["accuracy"])) for y in e.get("by_yaw", [])]
    if "vs_crowd_votes" in e:
        v = e["vs_crowd_votes"]
        rows += [("JS divergence (bits), mean", "crowd vote shares", str(v["n"]),
                  _num(v["js_divergence_mean"])),
                 ("JS divergence (bits), median", "crowd vote shares", str(v["n"]),
                  _num(v["js_divergence_median"])),
                 ("soft log loss, mean", "crowd vote shares", str(v["n"]),
                  _num(v["soft_log_loss_mean"]))]
    for key, against in (("ccc_vs_affectnet", "AffectNet V/A"),
                         ("ccc_vs_crowd_median", "crowd median V/A")):
        if key in e:
            rows += [(f"CCC {dim}", against, "", _num(e[key][dim]))
                     for dim in ("valence", "arousal")]
    return rows


class ReportPanel(QWidget):
    """Shows one ``model_report`` dict (or a note while there is none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QLabel("Select a run to see how the model compares with the humans.")
        self.header.setWordWrap(True)
        self.header.setStyleSheet("font-weight: bold;")
        self.measures = _table(MEASURE_COLUMNS)
        self.au_note = QLabel("")
        self.au_note.setWordWrap(True)
        self.au_table = _table(("AU", "F1", "kappa", "human prevalence", "model prevalence"))
        self.label_card = HeatmapCard("model_vs_affectnet_label", EXPRESSIONS,
                                      "AffectNet label", "model's prediction", self)
        self.crowd_card = HeatmapCard("model_vs_crowd_majority", EXPRESSIONS,
                                      "crowd majority", "model's prediction", self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.label_card, "vs AffectNet label")
        self.tabs.addTab(self.crowd_card, "vs crowd majority")
        au_page = QWidget()
        au_layout = QVBoxLayout(au_page)
        au_layout.addWidget(self.au_note)
        au_layout.addWidget(self.au_table, 1)
        self.tabs.addTab(au_page, "AUs vs HRM coders")
        left = QVBoxLayout()
        left.addWidget(QLabel("Measures (valid predictions only)"))
        left.addWidget(self.measures, 1)
        body = QHBoxLayout()
        body.addLayout(left, 2)
        body.addWidget(self.tabs, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addLayout(body, 1)
        self.report: dict[str, Any] | None = None
        self.clear()

    def clear(self, note: str = "Select a run to see how the model compares with the "
              "humans.") -> None:
        """Forget the report; ``note`` says why there is none."""
        self.report = None
        self.header.setText(note)
        _fill(self.measures, [])
        _fill(self.au_table, [])
        self.au_note.setText("")
        for card in (self.label_card, self.crowd_card):
            card.show_note("No run selected.")

    def show_report(self, report: dict[str, Any]) -> None:
        """Show every block of ``report`` (see ``reports.model_report``)."""
        self.report = report
        self.header.setText(
            f"{report['model']} on {report['dataset']} - {report['status']}: "
            f"{report['items_done']} of {report['items_total']} items stored, "
            f"{report['items_failed']} invalid ({report['items_missing']} missing files)")
        _fill(self.measures, measure_rows(report))
        e = report.get("expression", {})
        rafd = report["dataset"] == "rafd-d"
        why = ("no expression probabilities to compare" if report["dataset"] not in
               ("affectnet", "affectnet-c25", "rafd-d") else
               f"no valid expression predictions among {e.get('valid_items', 0)} items")
        self._confusion(self.label_card, e.get("vs_rafd_label" if rafd else
                                               "vs_affectnet_label"),
                        "RaFD label" if rafd else "AffectNet label", why)
        self.tabs.setTabText(0, "vs RaFD label" if rafd else "vs AffectNet label")
        self.label_card.plot.setLabel("left", "RaFD label" if rafd else "AffectNet label",
                                      color="#222")
        self._confusion(self.crowd_card, e.get("vs_crowd_majority"), "crowd majority",
                        "RaFD has no crowd votes" if rafd else
                        why if "vs_affectnet_label" not in e else
                        "no AffectNetC25 votes for the predicted images")
        aus = report.get("aus")
        if aus is None:
            self.au_note.setText("AU agreement is computed for HRM runs only.")
            _fill(self.au_table, [])
        else:
            self.au_note.setText(aus.get("note") or (
                f"{aus.get('frames', 0)} frames, AU present when the model's probability "
                f">= {aus.get('threshold', 0.5)}"))
            _fill(self.au_table, [
                (r["au"], _num(r["f1"]), _num(r["kappa"]), _num(r["human_prevalence"]),
                 _num(r["model_prevalence"])) for r in aus.get("per_au", [])])
        if aus is not None and "expression" not in report:
            self.tabs.setCurrentIndex(2)

    def _confusion(self, card: HeatmapCard, block: dict[str, Any] | None, against: str,
                   why: str) -> None:
        if not block or not block["n"]:
            card.show_note(f"Nothing to compare with the {against}: {why}.")
            return
        counts = np.asarray(block["confusion"], dtype=float)
        totals = counts.sum(axis=1, keepdims=True)
        shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        card.set_matrix(shares, [[str(int(n)) for n in row] for row in counts],
                        f"Model vs {against} on {block['n']} images<br>accuracy "
                        f"<b>{_num(block['accuracy'])}</b>, macro F1 "
                        f"<b>{_num(block['macro_f1'])}</b>; colour: share of the row")

    def measure(self, name: str, against: str) -> str | None:
        """The value text the measures table shows for (measure, against), if any."""
        for r in range(self.measures.rowCount()):
            if (self.measures.item(r, 0).text() == name
                    and self.measures.item(r, 1).text() == against):
                return self.measures.item(r, 3).text()
        return None
