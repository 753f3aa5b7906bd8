"""Per-expression depth statistics: mean depth image per class and mean profiles.

Figures come from :mod:`faceexplorer.stats.depth_stats`, computed by the panel's
:class:`~faceexplorer.gui.core.tasks.TaskRunner` (one lane: the newest request wins, an
older one is interrupted) with its own DuckDB cursor (reading a few hundred maps takes a
second or more), and cached per dataset.
"""

from __future__ import annotations

import duckdb
import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from faceexplorer.core.vocab import DEPTH_CLASSES
from faceexplorer.gui.core.tasks import TaskContext, TaskRunner
from faceexplorer.gui.pg_setup import pg
from faceexplorer.media.depth import colormap_lut
from faceexplorer.stats.depth_stats import N_PER_CLASS, SEED, ClassDepthStats, depth_stats

_PENS = ((230, 25, 75), (245, 130, 48), (255, 225, 25), (60, 180, 75), (70, 240, 240),
         (0, 130, 200), (145, 30, 180), (240, 50, 230))


def _compute(ctx: TaskContext, cursor: duckdb.DuckDBPyConnection,
             dataset: str) -> tuple[str, dict[str, ClassDepthStats]]:
    """On a worker: the statistics of ``dataset`` (the cursor is interrupted on cancel)."""
    ctx.on_cancel(cursor.interrupt)
    try:
        return dataset, depth_stats(cursor, dataset)
    finally:
        cursor.close()


class StatsPanel(QWidget):
    """Mean depth image per class (one row of tiles) and vertical/horizontal profiles."""

    #: Emitted when statistics of a dataset are on screen.
    ready = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = TaskRunner(max_workers=1, parent=self)
        self.cache: dict[str, dict[str, ClassDepthStats]] = {}
        self.note = QLabel("Statistics appear when a depth dataset is shown")
        self.note.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget()
        self.tiles: dict[str, pg.ImageItem] = {}
        lut = colormap_lut("viridis")
        for i, cls in enumerate(DEPTH_CLASSES):
            vb = self.graphics.addViewBox(row=0, col=i, lockAspect=True, invertY=True,
                                          enableMouse=False)
            item = pg.ImageItem(levels=(0, 1), lut=lut)
            vb.addItem(item)
            self.tiles[cls] = item
            self.graphics.addLabel(cls, row=1, col=i, size="8pt")
        self.vertical = self.graphics.addPlot(row=2, col=0, colspan=4,
                                              title="Vertical profile (row mean)")
        self.horizontal = self.graphics.addPlot(row=2, col=4, colspan=4,
                                                title="Horizontal profile (column mean)")
        self.vertical.addLegend(offset=(5, 5), labelTextSize="7pt")
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.graphics, 1)

    def request(self, con: duckdb.DuckDBPyConnection | None, dataset: str) -> None:
        """Show ``dataset``'s statistics (cached, else computed off the GUI thread)."""
        if con is None or dataset in self.cache:
            self.tasks.cancel("stats")
            self._show(dataset, self.cache.get(dataset) if con is not None else None)
            return
        self.note.setText(f"Computing depth statistics of {dataset} "
                          f"(up to {N_PER_CLASS} maps per class, seed {SEED})…")
        self.tasks.submit(_compute, con.cursor(), dataset, key="stats", on_done=self._done,
                          on_error=self._failed)

    def clear_cache(self) -> None:
        """Forget every result (the index changed); one being computed is dropped."""
        self.cache.clear()
        self.tasks.cancel("stats")

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """For tests: the statistics asked for are computed and shown."""
        return self.tasks.wait_until_idle(timeout)

    def _done(self, answer: tuple[str, dict[str, ClassDepthStats]]) -> None:
        dataset, stats = answer
        self.cache[dataset] = stats
        self._show(dataset, stats)

    def _failed(self, message: str) -> None:
        self.note.setText(f"Depth statistics failed: {message}")

    def _show(self, dataset: str, stats: dict[str, ClassDepthStats] | None) -> None:
        self.vertical.clear()
        self.horizontal.clear()
        if not stats:
            for item in self.tiles.values():
                item.clear()
            self.note.setText("No depth maps")
            return
        for (cls, s), pen in zip(stats.items(), _PENS, strict=True):
            self.tiles[cls].setImage(np.nan_to_num(s.mean), autoLevels=False, levels=(0, 1))
            if s.n:
                x = np.arange(len(s.vertical))
                self.vertical.plot(x, s.vertical, pen=pg.mkPen(pen, width=1.5),
                                   name=f"{cls} (N={s.n})")
                self.horizontal.plot(x, s.horizontal, pen=pg.mkPen(pen, width=1.5))
        ns = ", ".join(f"{c} {s.n}/{s.available}" for c, s in stats.items())
        self.note.setText(f"{dataset}: mean depth per expression over a fixed-seed sample "
                          f"(seed {SEED}, at most {N_PER_CLASS} per class; N used/available: "
                          f"{ns}). Depth 0..1, nearer = brighter.")
        self.ready.emit(dataset)
