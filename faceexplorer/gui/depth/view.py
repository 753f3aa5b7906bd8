"""DepthView: pick AffectNet-D or RaFD-D, filter by facets, page through maps, see the overlay.

Left: dataset switch, one combo per facet listing each value with its count (counts
apply the other filters), the paged list of maps and the unmatched list (depth without
RGB, RGB without depth: shown, not hidden). Right: the overlay canvas above the
per-expression statistics. Numbers come from :mod:`faceexplorer.index.depth_query` and
:mod:`faceexplorer.stats.depth_stats`; one map is read and composed on selection (tens
of ms), the statistics off the GUI thread.
"""

from __future__ import annotations

import duckdb
import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.kinds import DEPTH_KINDS
from faceexplorer.gui.core.session import IndexView
from faceexplorer.gui.depth.overlay import OverlayCanvas
from faceexplorer.gui.depth.stats_panel import StatsPanel
from faceexplorer.index import depth_query as dq
from faceexplorer.inference.detect import largest_face_box
from faceexplorer.media.depth import build_scene, read_depth, read_normal_map
from faceexplorer.media.images import MissingImage, read_image

PAGE = 100
_FACET_TITLES = {"class": "Expression", "angle": "Angle", "gaze": "Gaze",
                 "ethnicity": "Ethnicity", "gender": "Gender", "emotion": "Emotion (name)"}


class DepthView(QWidget, IndexView):
    """The depth-map explorer tab (:meth:`attach` it to the window's index session)."""

    index_kinds = DEPTH_KINDS

    #: Emitted when a depth map is on screen (its stem).
    shown = Signal(str)
    #: Emitted when facets, page and unmatched list were refreshed.
    refreshed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[dq.DepthItem] = []
        self.offset = 0
        self.total = 0
        self._busy = False
        self.dataset = QComboBox()
        for kind, title in dq.DATASETS.items():
            self.dataset.addItem(title, kind)
        self.facet_form = QFormLayout()
        self.facet_boxes: dict[str, QComboBox] = {}
        self.count_label = QLabel()
        self.maps = QListWidget()
        self.prev_button, self.next_button = QPushButton("◀ Previous"), QPushButton("Next ▶")
        self.unmatched_label = QLabel()
        self.unmatched_label.setWordWrap(True)
        self.unmatched = QListWidget()
        self.overlay = OverlayCanvas()
        self.stats = StatsPanel()

        left = QWidget()
        lay = QVBoxLayout(left)
        lay.addWidget(QLabel("Dataset"))
        lay.addWidget(self.dataset)
        lay.addLayout(self.facet_form)
        lay.addWidget(self.count_label)
        lay.addWidget(self.maps, 3)
        pager = QHBoxLayout()
        pager.addWidget(self.prev_button)
        pager.addWidget(self.next_button)
        lay.addLayout(pager)
        lay.addWidget(self.unmatched_label)
        lay.addWidget(self.unmatched, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.overlay)
        right.addWidget(self.stats)
        right.setSizes([600, 300])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([320, 1000])
        outer = QVBoxLayout(self)
        outer.addWidget(split)

        self.dataset.currentIndexChanged.connect(self._dataset_changed)
        self.maps.currentRowChanged.connect(self._show_row)
        self.prev_button.clicked.connect(lambda: self._turn(-PAGE))
        self.next_button.clicked.connect(lambda: self._turn(PAGE))

    # --- public ---------------------------------------------------------------------------
    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Show the depth data of the session's index (None: show nothing)."""
        self.stats.clear_cache()
        self._dataset_changed()

    def current_dataset(self) -> str:
        return str(self.dataset.currentData())

    def filters(self) -> dq.Filters:
        """The active facet filters (None = all)."""
        return {name: box.currentData() for name, box in self.facet_boxes.items()}

    def set_filter(self, facet: str, value: str | None) -> None:
        """Pick ``value`` in facet ``facet`` (as a user would in its combo)."""
        box = self.facet_boxes[facet]
        box.setCurrentIndex(box.findData(value))

    # --- refresh --------------------------------------------------------------------------
    def _dataset_changed(self) -> None:
        kind = self.current_dataset()
        self._build_facets(kind)
        self.offset = 0
        self.refresh()
        self.stats.request(self.session if self._has_data() else None, kind)

    def _has_data(self) -> bool:
        return self.con is not None and dq.has_depth(self.con, self.current_dataset())

    def _build_facets(self, kind: str) -> None:
        while self.facet_form.rowCount():
            self.facet_form.removeRow(0)
        self.facet_boxes = {}
        for facet in dq.FACETS[kind]:
            box = QComboBox()
            box.currentIndexChanged.connect(self._filters_changed)
            self.facet_boxes[facet] = box
            self.facet_form.addRow(_FACET_TITLES[facet], box)

    def _filters_changed(self) -> None:
        if not self._busy:
            self.offset = 0
            self.refresh()

    def _turn(self, step: int) -> None:
        self.offset = max(0, min(self.offset + step, max(0, self.total - 1)))
        self.refresh()

    def refresh(self) -> None:
        """Re-query facets, the current page and the unmatched list."""
        kind = self.current_dataset()
        self._busy = True
        try:
            has = self._has_data()
            con = self.con
            filters = self.filters()
            facets = dq.facets(con, kind, filters) if has and con else {}
            for facet, box in self.facet_boxes.items():
                keep = box.currentData()
                box.clear()
                values = facets.get(facet, [])
                box.addItem(f"All ({sum(n for _, n in values)})", None)
                for value, n in values:
                    box.addItem(f"{value} ({n})", value)
                box.setCurrentIndex(max(0, box.findData(keep)))
            self.total = dq.count(con, kind, filters) if has and con else 0
            self.offset = min(self.offset, max(0, self.total - 1) // PAGE * PAGE)
            self.items = dq.page(con, kind, filters, self.offset, PAGE) if has and con else []
            self.maps.clear()
            for item in self.items:
                partner = "" if item.rgb_path else "  [no RGB]"
                self.maps.addItem(QListWidgetItem(f"{item.cls}  {item.stem}{partner}"))
            last = min(self.offset + PAGE, self.total)
            self.count_label.setText(
                f"{self.total} depth maps; showing {self.offset + 1 if self.total else 0}–{last}"
                if has else f"No {dq.DATASETS[kind]} depth maps in this index")
            self.prev_button.setEnabled(self.offset > 0)
            self.next_button.setEnabled(last < self.total)
            self._fill_unmatched(kind, has)
        finally:
            self._busy = False
        if self.items:
            self.maps.setCurrentRow(0)
        else:
            self.overlay.set_scene(None, None, "No depth map selected")
        self.refreshed.emit()

    def _fill_unmatched(self, kind: str, has: bool) -> None:
        self.unmatched.clear()
        if not has or self.con is None:
            self.unmatched_label.setText("Unmatched: nothing indexed")
            return
        m = dq.match_counts(self.con, kind)
        self.unmatched_label.setText(
            f"Unmatched: {m['depth_without_rgb']} depth without RGB, "
            f"{m['rgb_without_depth']} RGB without depth ({m['matched_rgb']} pairs)")
        for row in dq.unmatched(self.con, kind, limit=500):
            what = "depth, no RGB" if row["side"] == "depth" else "RGB, no depth"
            self.unmatched.addItem(f"{what}: {row['class'] or '?'}  {row['stem']}")

    # --- one map ----------------------------------------------------------------------------
    def _show_row(self, row: int) -> None:
        if not 0 <= row < len(self.items):
            return
        item = self.items[row]
        depth = read_depth(item.path)
        if isinstance(depth, MissingImage):
            self.overlay.set_scene(None, None, f"Depth map {depth.describe()}")
            self.shown.emit(item.stem)
            return
        rgb = read_image(item.rgb_path) if item.rgb_path else MissingImage(None, "no RGB partner")
        normals = read_normal_map(item.normal_path) if item.normal_path else None
        if isinstance(normals, MissingImage):
            normals = None
        rgb_ok = not isinstance(rgb, MissingImage)
        scene = build_scene(rgb if rgb_ok else None, depth, normals, item.box,
                            detect=largest_face_box if self.current_dataset() == "rafd-d"
                            else None)
        landmarks = None
        if item.landmarks is not None and rgb_ok:
            landmarks = np.asarray(item.landmarks, np.float64).reshape(-1, 2)
        where = scene.placement
        note = "" if rgb_ok else f"; RGB {rgb.describe()}"  # type: ignore[union-attr]
        self.overlay.set_scene(scene, landmarks, (
            f"{item.stem} ({item.cls}): {item.format} {item.width}×{item.height}, placed by "
            f"{where.how} at ({where.x}, {where.y}) {where.width}×{where.height}; shading from "
            f"{scene.normals_from}{note}"))
        self.shown.emit(item.stem)
