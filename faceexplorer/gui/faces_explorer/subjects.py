"""The Subjects pane: a paged table of FACES subjects with their demographics and DASS.

The whole subject list (11k short rows) is fetched once per connection by the view's
worker and handed over with :meth:`SubjectsPane.set_subjects`; filters (gender, grade,
band of one subscale) go through :func:`faces_views.filter_subjects` and the table shows
one page of the result at a time.
"""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.vocab import DASS_BANDS
from faceexplorer.gui.faces_explorer.table import Column, FrameModel, plain
from faceexplorer.stats.dass21 import SUBSCALES
from faceexplorer.stats.faces_views import filter_subjects, gender_label, grade_label

PAGE_ROWS = 100
ANY = "any"


def _integer(v: object) -> str:
    text = plain(v)
    return text.removesuffix(".0")


COLUMNS = [
    Column("Subject", "subject_id"),
    Column("Gender", "gender", gender_label),
    Column("Age at survey", "age_years", _integer, numeric=True),
    Column("Grade name", "grade_name", grade_label),
    Column("Grade", "grade", _integer, numeric=True),
    *(c for s in SUBSCALES for c in (
        Column(s.capitalize(), s, _integer, numeric=True),
        Column(f"{s.capitalize()} band", f"{s}_band", plain))),
]


class SubjectsPane(QWidget):
    """Filter bar, one page of subjects, and page buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.subjects = pd.DataFrame(columns=[c.source for c in COLUMNS])
        self.filtered = self.subjects
        self.page = 0
        self.gender_combo = QComboBox(self)
        self.grade_combo = QComboBox(self)
        self.subscale_combo = QComboBox(self)
        self.subscale_combo.addItems([s.capitalize() for s in SUBSCALES])
        self.band_combo = QComboBox(self)
        self.band_combo.addItems([ANY, *DASS_BANDS])
        self.model = FrameModel(COLUMNS, self)
        self.table = QTableView(self)
        self.table.setObjectName("subjectsTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        # A header click sorts every filtered subject, not just the page on screen.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header.sortIndicatorChanged.connect(self._sort)
        self.prev_button = QPushButton("◀ Previous", self)
        self.next_button = QPushButton("Next ▶", self)
        self.page_label = QLabel(self)
        self.page_label.setObjectName("subjectsPageLabel")

        bar = QHBoxLayout()
        for text, widget in (("Gender", self.gender_combo), ("Grade", self.grade_combo),
                             ("Band of", self.subscale_combo), ("", self.band_combo)):
            if text:
                bar.addWidget(QLabel(text, self))
            bar.addWidget(widget)
        bar.addStretch(1)
        pages = QHBoxLayout()
        pages.addWidget(self.page_label, 1)
        pages.addWidget(self.prev_button)
        pages.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addLayout(pages)

        for combo in (self.gender_combo, self.grade_combo, self.subscale_combo,
                      self.band_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentIndexChanged.connect(self.apply_filters)
        self.prev_button.clicked.connect(lambda: self.show_page(self.page - 1))
        self.next_button.clicked.connect(lambda: self.show_page(self.page + 1))
        self.show_page(0)

    def set_subjects(self, subjects: pd.DataFrame) -> None:
        """All subjects (rows of ``faces_stats.subjects``); fills the filter choices."""
        self.subjects = subjects
        for combo in (self.gender_combo, self.grade_combo):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(ANY, None)
        for g in sorted(subjects["gender"].dropna().unique()):
            self.gender_combo.addItem(gender_label(g), g)
        grades = (subjects[["grade", "grade_name"]].dropna().drop_duplicates()
                  .sort_values(["grade", "grade_name"]))
        for grade, name in grades.itertuples(index=False):
            self.grade_combo.addItem(f"{int(grade)} · {grade_label(name)}", int(grade))
        for combo in (self.gender_combo, self.grade_combo):
            combo.blockSignals(False)
        self.apply_filters()

    def apply_filters(self) -> None:
        band = self.band_combo.currentText()
        self.filtered = filter_subjects(
            self.subjects, gender=self.gender_combo.currentData(),
            grade=self.grade_combo.currentData(),
            subscale=SUBSCALES[self.subscale_combo.currentIndex()],
            band=None if band == ANY else band)
        header = self.table.horizontalHeader()
        self._sort(header.sortIndicatorSection(), header.sortIndicatorOrder())

    def _sort(self, column: int, order: Qt.SortOrder) -> None:
        if 0 <= column < len(COLUMNS) and len(self.filtered):
            self.filtered = self.filtered.sort_values(
                COLUMNS[column].source, ascending=order == Qt.SortOrder.AscendingOrder,
                na_position="last", kind="stable").reset_index(drop=True)
        self.show_page(0)

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.filtered) // PAGE_ROWS))

    def show_page(self, page: int) -> None:
        self.page = min(max(page, 0), self.pages - 1)
        lo = self.page * PAGE_ROWS
        rows = self.filtered.iloc[lo:lo + PAGE_ROWS]
        self.model.set_frame(rows)
        n = len(self.filtered)
        self.page_label.setText(
            f"Subjects {lo + 1 if n else 0}–{lo + len(rows)} of {n:,}"
            f" (of {len(self.subjects):,}); page {self.page + 1} of {self.pages}")
        self.prev_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page + 1 < self.pages)
