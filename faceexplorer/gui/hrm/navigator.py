"""The HRM navigator: children by group, a child's segments, and a segment search.

Two tabs. *Children*: a tree with one branch per group (ASD, TD, and "No group" when the
import found children without one) showing frame and segment counts, and under it the
selected child's segments. *Find segments*: filters (group, AUs of which at least one
shows, mean atypicality at least x, length range) over every segment of every child,
applied as the user edits them (debounced), the hits in a sortable table. All numbers come
from ``hrm_query``; clicking a child emits ``child_selected``, a segment row
``segment_selected(child, start_frame, end_frame)``. Alone, the navigator queries the
picked child's segments itself; inside the HRM tab the view reads the child once for the
navigator, the timeline and the viewer, and hands the segments over (``show_segments``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.kinds import DatasetKind
from faceexplorer.core.vocab import HRM_AU22, HRM_AU_COLUMNS
from faceexplorer.gui.core.session import IndexView
from faceexplorer.gui.fit import wrap_form
from faceexplorer.gui.hrm.segment_models import (
    ChildSegmentModel,
    SegmentModel,
    atypicality_text,
)
from faceexplorer.gui.hrm.widgets import TextLine
from faceexplorer.index import hrm_query
from faceexplorer.index.hrm_query import ChildRow, SegmentFilter, SegmentRow

FILTER_DELAY_MS = 150
_GROUP_TITLES = {"ASD": "ASD", "TD": "TD", "": "No group"}


def _table(model: QAbstractItemModel, parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setSortingEnabled(True)
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    # fit columns to the first rows only: measuring all 1,535 would call data() 10,000 times
    view.horizontalHeader().setResizeContentsPrecision(40)
    view.horizontalHeader().setStretchLastSection(True)
    view.setAlternatingRowColors(True)
    return view


class HRMNavigator(QWidget, IndexView):
    """Children tree, a child's segments and the segment search.

    Signals
    -------
    child_selected(str)
        The user picked a child.
    segment_selected(str, int, int)
        The user picked a segment: child, start frame, end frame.
    """

    index_kinds = frozenset({DatasetKind.HRM})

    child_selected = Signal(str)
    segment_selected = Signal(str, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.children_rows: list[ChildRow] = []
        self.child: str | None = None
        #: Whether picking a child queries its segments; False when the owner reads the
        #: child once for every view and hands them over (``show_segments``).
        self.queries_segments = True
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._children_tab(), "Children")
        self.tabs.addTab(self._search_tab(), "Find segments")
        self.message = QLabel(self)
        self.message.setObjectName("navigatorMessage")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.show_index(None)

    # --- construction -------------------------------------------------------------------
    def _children_tab(self) -> QWidget:
        tab = QWidget(self)
        self.tree = QTreeWidget(tab)
        self.tree.setHeaderLabels(["Child", "Frames", "Segments", "Atypicality", "Media"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._tree_changed)
        self.segments_label = TextLine("Segments", tab)
        self.segment_model = ChildSegmentModel(self)
        self.segment_table = _table(self.segment_model, tab)
        self.segment_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Interactive)
        self.segment_table.clicked.connect(
            lambda index: self._segment_clicked(self.segment_model, index))
        lower = QWidget(tab)
        box = QVBoxLayout(lower)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.segments_label)
        box.addWidget(self.segment_table)
        split = QSplitter(Qt.Orientation.Vertical, tab)
        split.addWidget(self.tree)
        split.addWidget(lower)
        split.setSizes([300, 260])
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(split)
        return tab

    def _search_tab(self) -> QWidget:
        tab = QWidget(self)
        self.group_combo = QComboBox(tab)
        self.group_combo.addItems(["All groups", "ASD", "TD"])
        self.au_list = QListWidget(tab)
        self.au_list.setObjectName("auFilter")
        self.au_list.setFlow(QListWidget.Flow.LeftToRight)
        self.au_list.setWrapping(True)
        self.au_list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.au_list.setGridSize(QSize(64, 20))  # aligned columns of check boxes
        self.au_list.setMaximumHeight(112)
        for au in (*HRM_AU22, *(a for a in HRM_AU_COLUMNS if a not in HRM_AU22)):
            item = QListWidgetItem(au, self.au_list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
        self.min_atyp = QDoubleSpinBox(tab)
        self.min_atyp.setRange(-0.1, 4.0)
        self.min_atyp.setSingleStep(0.1)
        self.min_atyp.setDecimals(1)
        self.min_atyp.setSpecialValueText("any")
        self.min_atyp.setValue(-0.1)
        self.min_len = QSpinBox(tab)
        self.max_len = QSpinBox(tab)
        for spin in (self.min_len, self.max_len):
            spin.setRange(0, 1_000_000)
            spin.setSpecialValueText("any")
            spin.setSuffix(" frames")
        lengths = QHBoxLayout()
        lengths.addWidget(self.min_len)
        lengths.addWidget(QLabel("to", tab))
        lengths.addWidget(self.max_len)
        form = wrap_form(QFormLayout())
        form.addRow("Group", self.group_combo)
        form.addRow("Shows any of", self.au_list)
        form.addRow("Mean atypicality ≥", self.min_atyp)
        form.addRow("Length", lengths)
        self.hits_label = QLabel(tab)
        self.hits_label.setObjectName("segmentHits")
        self.hit_model = SegmentModel(with_child=True, parent=self)
        self.hit_table = _table(self.hit_model, tab)
        self.hit_table.clicked.connect(lambda index: self._segment_clicked(self.hit_model, index))
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(form)
        layout.addWidget(self.hits_label)
        layout.addWidget(self.hit_table, 1)
        self.group_combo.currentIndexChanged.connect(self._filter_later)
        self.au_list.itemChanged.connect(self._filter_later)
        for spin in (self.min_atyp, self.min_len, self.max_len):
            spin.valueChanged.connect(self._filter_later)
        return tab

    # --- data ---------------------------------------------------------------------------
    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Show the HRM children of ``con`` (None or no HRM data: say so)."""
        self.tree.clear()
        self.segment_model.set_segments([])
        self.hit_model.set_segments([])
        self.child = None
        if not hrm_query.has_hrm(con):
            self.children_rows = []
            self.message.setText("No Hugging Rain Man data in this index. Import it with: "
                                 "faceexplorer index add hrm PATH")
            self.message.show()
            self.tabs.setEnabled(False)
            return
        assert con is not None
        self.message.hide()
        self.tabs.setEnabled(True)
        self.children_rows = hrm_query.children_overview(con)
        self._fill_tree()
        self.apply_filter()

    def _fill_tree(self) -> None:
        self.tree.clear()
        by_group: dict[str, list[ChildRow]] = {}
        for row in self.children_rows:
            by_group.setdefault(row.grp, []).append(row)
        for grp, rows in by_group.items():
            frames = sum(r.n_frames for r in rows)
            segments = sum(r.n_segments for r in rows)
            top = QTreeWidgetItem(self.tree, [
                f"{_GROUP_TITLES.get(grp, grp)} ({len(rows)} children)", f"{frames:,}",
                f"{segments:,}", "", ""])
            top.setData(0, Qt.ItemDataRole.UserRole, None)
            font = top.font(0)
            font.setBold(True)
            for col in range(5):
                top.setFont(col, font)
            for r in rows:
                media = ("video + frames" if r.video_path and r.frames_dir else
                         "video" if r.video_path else "frames" if r.frames_dir else "none")
                if r.frames_beyond_video:
                    media += f" ({r.frames_beyond_video} beyond video)"
                item = QTreeWidgetItem(top, [r.child, f"{r.n_frames:,}", f"{r.n_segments:,}",
                                             atypicality_text(r.mean_atypicality), media])
                item.setData(0, Qt.ItemDataRole.UserRole, r.child)
                for col in (1, 2, 3):
                    item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight)
            top.setExpanded(True)

    def group_item(self, grp: str) -> QTreeWidgetItem | None:
        """The tree branch of ``grp`` ("ASD", "TD", "" for no group)."""
        title = _GROUP_TITLES.get(grp, grp)
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.text(0).startswith(title + " ("):
                return item
        return None

    def child_item(self, child: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(0, Qt.ItemDataRole.UserRole) == child:
                    return top.child(j)
        return None

    @Slot(str)
    def select_child(self, child: str) -> None:
        """Select ``child`` in the tree (emits ``child_selected`` like a click)."""
        item = self.child_item(child)
        if item is not None:
            self.tree.setCurrentItem(item)

    def _tree_changed(self, item: QTreeWidgetItem | None, _previous: Any = None) -> None:
        child = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if not child or child == self.child or self.con is None:
            return
        self.child = child
        if self.queries_segments:
            self.show_segments(child, hrm_query.child_segments(self.con, child))
        self.child_selected.emit(child)

    def show_segments(self, child: str, segments: Sequence[SegmentRow]) -> None:
        """List ``segments`` as those of ``child`` (an owner that loaded them calls this)."""
        self.segment_model.set_segments(segments)
        # Lay the rows out now (scroll bar, header): left to Qt's zero timer, the layout
        # ran after the first paint and repainted the whole navigator a second time.
        self.segment_table.doItemsLayout()
        # Fit the columns now, once: in ResizeToContents mode Qt refits them on a timer
        # after the paint, so the table was painted twice per child.
        self.segment_table.resizeColumnsToContents()
        self.segments_label.setText(f"Segments of {child} ({len(segments)})")

    def _segment_clicked(self, model: SegmentModel | ChildSegmentModel,
                         index: QModelIndex) -> None:
        s = model.segments[index.row()]
        if model is self.hit_model and s.child != self.child:
            self.select_child(s.child)
        self.segment_selected.emit(s.child, s.start_frame, s.end_frame)

    # --- search -------------------------------------------------------------------------
    def current_filter(self) -> SegmentFilter:
        """The filter the search tab's controls describe."""
        grp = self.group_combo.currentText()
        aus = tuple(self.au_list.item(i).text() for i in range(self.au_list.count())
                    if self.au_list.item(i).checkState() == Qt.CheckState.Checked)
        atyp = self.min_atyp.value()
        return SegmentFilter(
            groups=(grp,) if grp in ("ASD", "TD") else (), aus=aus,
            min_atypicality=None if atyp < 0 else atyp,
            min_length=self.min_len.value() or None, max_length=self.max_len.value() or None)

    def _filter_later(self, *_: Any) -> None:
        self._filter_timer.start()

    @Slot()
    def apply_filter(self) -> None:
        """Run the search now with the controls' filter."""
        self._filter_timer.stop()
        if self.con is None or not self.children_rows:
            return
        try:
            hits = hrm_query.search_segments(self.con, self.current_filter())
            total = hrm_query.count_segments(self.con)
        except FaceExplorerError as exc:
            self.hits_label.setText(str(exc))
            return
        self.hit_model.set_segments(hits)
        self.hits_label.setText(f"{len(hits):,} of {total:,} segments")
