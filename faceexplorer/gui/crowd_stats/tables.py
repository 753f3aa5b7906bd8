"""The two tables of the set statistics view: the agreement summary and annotator ranking.

``summary_rows`` turns one task of a ``crowd_report`` set into (statistic, value, note)
rows; numbers are printed to three decimals with the full value in the tooltip. The
ranking is a standard item model (cells read in C++ when painted) that formats the
report's records once per table and sorts by the numbers (not the text): ``SORT_ROLE``
holds each cell's sort key.
Low-agreement annotators are tinted and explain why in their tooltip.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import (
    QItemSelectionModel,
    QObject,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QTableWidget, QWidget

from faceexplorer.stats.crowd_annotators import LOW_AGREEMENT_ROBUST_SD

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ANNOTATOR_ROLE = Qt.ItemDataRole.UserRole + 2
LOW_AGREEMENT_BRUSH = QBrush(QColor(248, 215, 218))
LOW_AGREEMENT_TIP = (f"Low agreement: agreement with the others' majority more than "
                     f"{LOW_AGREEMENT_ROBUST_SD:g} robust SDs (1.4826 × MAD) below the "
                     "median annotator of this set")
DASH = "—"


def fmt(x: Any, digits: int = 3) -> str:
    """A statistic as the view prints it (``—`` when missing)."""
    if x is None or (isinstance(x, float) and x != x):
        return DASH
    return f"{x:.{digits}f}"


def _icc(i: dict) -> tuple[str, str]:
    return (f"{fmt(i['value'])} [{fmt(i['ci_low'])}, {fmt(i['ci_high'])}]",
            f"{i['form']} = {i['value']!r}, 95% CI [{i['ci_low']!r}, {i['ci_high']!r}], "
            f"F({i['df1']:g}, {i['df2']:g}) = {i['f']:.3f}, p = {i['p_value']:.3g}")


def summary_rows(report: dict, task: str) -> list[tuple[str, str, str]]:
    """(statistic, shown value, tooltip) rows for one task of a set's report."""
    t = report[task]
    rows = [("Images", str(t["n_images"]), ""),
            ("Annotators", str(t["n_annotators"]), "")]
    if task == "expression":
        fk = t["fleiss_kappa"]
        rows += [
            ("Fleiss' kappa", fmt(fk), repr(fk) if fk is not None
             else "needs every image rated by every annotator"),
            ("Krippendorff's alpha (nominal)", fmt(t["krippendorff_alpha_nominal"]),
             repr(t["krippendorff_alpha_nominal"])),
            ("Mean agreement with the majority",
             f"{t['mean_agreement']:.2f} of {t['n_annotators']}",
             "annotators voting the image's majority expression, averaged over images"),
            ("Majority ties", f"{t['ties']} images",
             "images where several expressions share the top count"),
        ]
        ds = t["dawid_skene"]
        state = "converged" if ds["converged"] else "NOT converged"
        rows.append(("Dawid-Skene label = majority", f"{ds['agreement_with_majority']:.1%}",
                     f"{ds['iterations']} EM iterations, {state}"))
        link = t["affectnet"]
        rows.append(("Majority = AffectNet label",
                     f"{link['majority_equals_affectnet']:.1%} of {link['linked']}"
                     if link else "not linked",
                     "" if link else "import AffectNet's training.csv to compare"))
        return rows
    icc = t["icc"]
    rows += [
        ("Krippendorff's alpha (interval)", fmt(t["krippendorff_alpha_interval"]),
         repr(t["krippendorff_alpha_interval"])),
        ("Krippendorff's alpha (ordinal)", fmt(t["krippendorff_alpha_ordinal"]),
         repr(t["krippendorff_alpha_ordinal"])),
        ("ICC(2,1) [95% CI]", *_icc(icc["ICC(2,1)"])),
        ("ICC(2,k) [95% CI]", *_icc(icc["ICC(2,k)"])),
        ("Mean agreement (±0.25 of the majority)",
         f"{t['mean_agreement']:.2f} of {t['n_annotators']}",
         "annotators within 0.25 of the image's most voted value, averaged over images"),
    ]
    link = t["affectnet"]
    rows.append((f"AffectNet {task} vs crowd mean",
                 f"r = {link['pearson_r_with_crowd_mean']:.3f}, "
                 f"mean |diff| = {link['mean_abs_difference']:.3f}" if link else "not linked",
                 f"{link['linked']} linked images" if link
                 else "import AffectNet's training.csv to compare"))
    return rows


def compact_rows(table: QTableView) -> None:
    """Rows as tall as the text needs (the style's default fits half as many rows)."""
    header = table.verticalHeader()
    header.setMinimumSectionSize(1)
    header.setDefaultSectionSize(table.fontMetrics().height() + 8)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)


def fill_summary(table: QTableWidget, rows: list[tuple[str, str, str]]) -> None:
    """Show ``summary_rows`` in a two-column read-only table."""
    from PySide6.QtWidgets import QTableWidgetItem

    table.setRowCount(len(rows))
    for r, (name, value, tip) in enumerate(rows):
        for c, text in enumerate((name, value)):
            item = QTableWidgetItem(text)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            if tip:
                item.setToolTip(tip)
            if c == 1:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)
    table.resizeColumnToContents(0)


#: (header, column of the ranking table, digits) per task; None digits = text.
_COLUMNS = {
    "expression": [("Rank", "rank", 0), ("Annotator", "annotator", None),
                   ("Agree with\nothers' maj.", "loo_agreement", 3),
                   ("Agree with\nmajority", "majority_agreement", 3),
                   ("Mean\nCohen's κ", "mean_cohens_kappa", 3),
                   ("DS\naccuracy", "ds_accuracy", 3), ("Votes", "n_votes", 0)],
    "va": [("Rank", "rank", 0), ("Annotator", "annotator", None),
           ("Agree with\nothers' maj.", "loo_agreement", 3),
           ("Agree with\nmajority", "majority_agreement", 3),
           ("Mean\nPearson r", "mean_pearson_r", 3), ("Votes", "n_votes", 0)],
}
_TIPS = {
    "loo_agreement": "share of this annotator's votes equal to (valence/arousal: within "
                     "0.25 of) the majority of the OTHER annotators: the ranking key",
    "majority_agreement": "share of votes equal to (valence/arousal: within 0.25 of) the "
                          "majority of all annotators, this one included",
    "mean_cohens_kappa": "mean Cohen's kappa with each other annotator",
    "mean_pearson_r": "mean Pearson correlation with each other annotator",
    "ds_accuracy": "Dawid-Skene estimated accuracy: the confusion diagonal weighted by "
                   "the class priors",
}


_SAME = {"mean_cohens_kappa": "mean_pearson_r", "mean_pearson_r": "mean_cohens_kappa"}


class RankingModel(QStandardItemModel):
    """One task's annotator table: text to show, numbers to sort by, low rows tinted.

    A standard item model, so a paint reads its cells in C++: the Python ``data()`` of
    the custom model this replaces was called ~1,400 times per paint of this 25 x 7 table
    (every visible cell, several roles), ~13 ms of each paint of the tab. Cells are
    formatted once per table (``reset``) and written into items kept in place; the model
    sorts in C++ by ``SORT_ROLE`` and the row lists (``annotators``, ``text``, ``keys``,
    ``low``) follow the shown order.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.columns: list[tuple[str, str, int | None]] = []
        self.annotators: list[str] = []
        self.text: list[list[str]] = []
        self.keys: list[list[Any]] = []
        self.low: list[bool] = []
        # (id of the ranking table, columns) -> (the table, kept so its id stays unique;
        # its formatted rows).
        self._formatted: dict[tuple, tuple[pd.DataFrame, tuple]] = {}
        self._by_annotator: dict[str, int] = {}  # row of the formatted (unsorted) table
        self._rows: tuple = ([], [], [], [])

    def reset(self, table: pd.DataFrame, columns: list[tuple[str, str, int | None]]) -> None:
        """Show ``table`` (a ranking) in ``columns``; formatted once, then kept for reuse."""
        key = (id(table), tuple(columns))
        if key not in self._formatted:
            self._formatted[key] = (table, _format(table, columns))
        annotators, text, keys, low = self._rows = self._formatted[key][1]
        self._by_annotator = {a: r for r, a in enumerate(annotators)}
        # Shape and headers change with the task only (signals on: the view follows).
        if self.columnCount() != len(columns):
            self.setColumnCount(len(columns))
        if self.rowCount() != len(text):
            self.setRowCount(len(text))
        new_columns = list(columns) != self.columns
        if new_columns:
            for c, (header, name, _) in enumerate(columns):
                item = QStandardItem(header)
                item.setToolTip(_TIPS.get(name, ""))
                self.setHorizontalHeaderItem(c, item)
        self.columns = list(columns)
        # Cells in place with signals off, then one dataChanged for the block (one per
        # cell and role would each reach the view).
        display, background = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.BackgroundRole
        tooltip, align = Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.TextAlignmentRole
        flags = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
        self.blockSignals(True)
        try:
            for r, annotator in enumerate(annotators):
                tint = LOW_AGREEMENT_BRUSH if low[r] else None
                tip = LOW_AGREEMENT_TIP if low[r] else annotator
                for c, (_, _, digits) in enumerate(columns):
                    item = self.item(r, c)
                    fresh = item is None
                    if fresh:
                        item = QStandardItem()
                        item.setFlags(flags)
                        self.setItem(r, c, item)
                    item.setData(text[r][c], display)
                    item.setData(keys[r][c], SORT_ROLE)
                    item.setData(annotator, ANNOTATOR_ROLE)
                    item.setData(tint, background)
                    item.setData(tip, tooltip)
                    if new_columns or fresh:  # sorting moves cells within their column
                        item.setData(_RIGHT if digits is not None else None, align)
        finally:
            self.blockSignals(False)
        self.annotators, self.text, self.keys, self.low = (list(p) for p in self._rows)
        if text:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(text) - 1, len(columns) - 1))

    def forget(self) -> None:
        """Drop the formatted tables (their data is gone: a new connection)."""
        self._formatted.clear()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        # Qt moves the rows (and the selection with them); the row lists follow.
        if not 0 <= column < len(self.columns):
            return
        super().sort(column, order)
        rows = [self._by_annotator[self.item(r, 0).data(ANNOTATOR_ROLE)]
                for r in range(self.rowCount())]
        annotators, text, keys, low = self._rows
        self.annotators = [annotators[r] for r in rows]
        self.text = [text[r] for r in rows]
        self.keys = [keys[r] for r in rows]
        self.low = [low[r] for r in rows]


_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def _format(table: pd.DataFrame, columns: list[tuple[str, str, int | None]]) -> tuple:
    """(annotator ids, cell texts, cell sort keys, low-agreement flags) per row."""
    texts, keys = [], []
    for rec in table.to_dict(orient="records"):
        row_texts, row_keys = [], []
        for _, key, digits in columns:
            value = rec.get(key)
            if digits is None:
                # "set1/participant3" shows as "participant3": the set is in the bar.
                row_texts.append(str(value).rsplit("/", 1)[-1])
                row_keys.append(str(value))
                continue
            missing = value is None or value != value
            row_texts.append(DASH if missing else f"{value:.{digits}f}")
            # Missing values sort last in ascending order.
            row_keys.append(float("inf") if missing else float(value))
        texts.append(row_texts)
        keys.append(row_keys)
    low = [bool(x) for x in table["low_agreement"]] if "low_agreement" in table else (
        [False] * len(table))
    return [str(a) for a in table["annotator"]], texts, keys, low


class RankingTable(QTableView):
    """The annotator ranking: sortable by any column, low-agreement rows tinted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ranking = RankingModel(self)
        self.setModel(self.ranking)
        self._keys: list[str] = []
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(False)  # the tint must stay the only row colour
        self.verticalHeader().hide()
        compact_rows(self)
        # Fixed widths from the font: sizing to contents would ask every cell on every
        # layout change, which costs more than the whole table switch otherwise.
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)

    def set_table(self, table: pd.DataFrame, task: str) -> None:
        """Show one task's ranking (rows best first, as the report ranks them)."""
        columns = _COLUMNS["expression" if task == "expression" else "va"]
        # Keep the user's sort across tasks when the sorted statistic exists in both
        # (the mean kappa of expressions and the mean r of V/A play the same part).
        keys = [key for _, key, _ in columns]
        sort_key = self._sort_key()
        sort_key = sort_key if sort_key in keys else _SAME.get(sort_key)
        sort_column = keys.index(sort_key) if sort_key in keys else 0
        order = (self.horizontalHeader().sortIndicatorOrder() if sort_column
                 else Qt.SortOrder.AscendingOrder)
        changed_layout = keys != self._keys
        self._keys = keys
        self.ranking.reset(table, columns)
        # Every annotator voting on every image (the real C25 sets): the column says nothing.
        # Hidden state belongs to the column position: set every column's, not just one.
        constant = table["n_votes"].nunique() <= 1
        for c, key in enumerate(keys):
            hide = key == "n_votes" and constant
            if self.isColumnHidden(c) != hide:
                self.setColumnHidden(c, hide)
            if changed_layout:
                self.setColumnWidth(c, self._width(columns[c][0], key))
        self.sortByColumn(sort_column, order)

    def _width(self, header: str, key: str) -> int:
        # The widest header line or cell, and room for the sort arrow.
        metrics = self.horizontalHeader().fontMetrics()
        cell = "participant24" if key == "annotator" else "0.000"
        return max(metrics.horizontalAdvance(t) for t in [*header.split("\n"), cell]) + 22

    def _sort_key(self) -> str | None:
        section = self.horizontalHeader().sortIndicatorSection()
        return self._keys[section] if 0 <= section < len(self._keys) else None

    def select_row(self, row: int) -> None:
        """Make view row ``row`` current and selected, scrolled into sight."""
        index = self.ranking.index(row, 0)
        self.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.scrollTo(index)

    def annotator_at(self, row: int) -> str | None:
        """The annotator shown on view row ``row`` (None when out of range)."""
        if not 0 <= row < self.ranking.rowCount():
            return None
        return self.ranking.annotators[row]

    def row_of(self, annotator: str) -> int:
        """The view row showing ``annotator`` (-1 when not shown)."""
        try:
            return self.ranking.annotators.index(annotator)
        except ValueError:
            return -1

    def texts(self) -> list[list[str]]:
        """The table as shown, row by row (header excluded)."""
        return [list(row) for row in self.ranking.text]
