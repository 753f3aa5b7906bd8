"""Per-expression depth statistics: mean depth image per class and mean profiles.

Figures come from :mod:`faceexplorer.reports.depth_stats`, computed by the panel's
:meth:`~faceexplorer.gui.core.session.IndexSession.read` on the window's task runner
(one lane: the newest request wins, an older one is interrupted) with a cursor of its own
(reading a few hundred maps takes a second or more), and cached per dataset.

The tiles have a colour bar (depth 0..1, nearer = brighter) and the profiles one legend
in a column of its own, right of the plots: inside a plot it sat on the curves and was
cut at a laptop's height.
"""

from __future__ import annotations

import duckdb
import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from faceexplorer.core.vocab import DEPTH_CLASSES
from faceexplorer.gui.core.session import IndexSession
from faceexplorer.gui.core.tasks import TaskContext
from faceexplorer.gui.pg_setup import pg
from faceexplorer.media.depth import colormap_lut
from faceexplorer.reports.depth_stats import N_PER_CLASS, SEED, depth_stats
from faceexplorer.stats.depth_stats import ClassDepthStats

_PENS = ((230, 25, 75), (245, 130, 48), (255, 225, 25), (60, 180, 75), (70, 240, 240),
         (0, 130, 200), (145, 30, 180), (240, 50, 230))


def _compute(ctx: TaskContext, cursor: duckdb.DuckDBPyConnection,
             dataset: str) -> tuple[str, dict[str, ClassDepthStats]]:
    """On a worker: the statistics of ``dataset`` (the cursor is interrupted on cancel)."""
    return dataset, depth_stats(cursor, dataset)


class StatsPanel(QWidget):
    """Mean depth image per class (one row of tiles) and vertical/horizontal profiles."""

    #: Emitted when statistics of a dataset are on screen.
    ready = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: IndexSession | None = None
        self.cache: dict[str, dict[str, ClassDepthStats]] = {}
        self.note = QLabel("Statistics appear when a depth dataset is shown")
        self.note.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget()
        self.tiles: dict[str, pg.ImageItem] = {}
        lut = colormap_lut("viridis")
        columns = len(DEPTH_CLASSES)
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
        self.colour_bar = pg.ColorBarItem(
            values=(0, 1), colorMap=pg.ColorMap(np.linspace(0, 1, len(lut)), lut),
            interactive=False, width=12, label="depth")
        self.graphics.addItem(self.colour_bar, row=0, col=columns, rowspan=2)
        self.legend = pg.LegendItem(labelTextSize="8pt", verSpacing=-4)
        self.graphics.addItem(self.legend, row=2, col=columns)
        # tiles, labels and two readable profiles: the overlay above gives way on a laptop
        self.graphics.setMinimumHeight(240)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.graphics, 1)

    def request(self, session: IndexSession | None, dataset: str) -> None:
        """Show ``dataset``'s statistics (cached, else computed off the GUI thread);
        ``session`` None: the dataset has no maps, show nothing."""
        if session is not None:
            self.session = session
        if session is None or dataset in self.cache:
            self._cancel()
            self._show(dataset, self.cache.get(dataset) if session is not None else None)
            return
        self.note.setText(f"Computing depth statistics of {dataset} "
                          f"(up to {N_PER_CLASS} maps per class, seed {SEED})…")
        session.read(_compute, dataset, key=(id(self), "depth-stats"), on_done=self._done,
                     on_error=self._failed)

    def clear_cache(self) -> None:
        """Forget every result (the index changed); one being computed is dropped."""
        self.cache.clear()
        self._cancel()

    def _cancel(self) -> None:
        if self.session is not None:
            self.session.tasks.cancel((id(self), "depth-stats"))

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """For tests: the statistics asked for are computed and shown."""
        return self.session is None or self.session.tasks.wait_until_idle(timeout)

    def _done(self, answer: tuple[str, dict[str, ClassDepthStats]]) -> None:
        dataset, stats = answer
        self.cache[dataset] = stats
        self._show(dataset, stats)

    def _failed(self, message: str) -> None:
        self.note.setText(f"Depth statistics failed: {message}")

    def _show(self, dataset: str, stats: dict[str, ClassDepthStats] | None) -> None:
        self.vertical.clear()
        self.horizontal.clear()
        self.legend.clear()
        if not stats:
            for item in self.tiles.values():
                item.clear()
            self.note.setText("No depth maps")
            return
        for (cls, s), pen in zip(stats.items(), _PENS, strict=True):
            self.tiles[cls].setImage(np.nan_to_num(s.mean), autoLevels=False, levels=(0, 1))
            if s.n:
                x = np.arange(len(s.vertical))
                curve = self.vertical.plot(x, s.vertical, pen=pg.mkPen(pen, width=1.5))
                self.legend.addItem(curve, f"{cls} (N={s.n})")
                self.horizontal.plot(x, s.horizontal, pen=pg.mkPen(pen, width=1.5))
        ns = ", ".join(f"{c} {s.n}/{s.available}" for c, s in stats.items())
        self.note.setText(f"{dataset}: mean depth per expression over a fixed-seed sample "
                          f"(seed {SEED}, at most {N_PER_CLASS} per class; N used/available: "
                          f"{ns}). Depth 0..1, nearer = brighter.")
        self.ready.emit(dataset)
