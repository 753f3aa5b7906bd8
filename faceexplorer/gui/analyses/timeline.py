"""One input's every-frame results on a timeline: expressions, valence/arousal, face found.

Three stacked plots share the frame axis (zoom and pan one, the others follow):

- **Expressions**: a raster, one row per label of the model (its own order), one column
  per analysed frame, the probability as colour (viridis, 0..1); frames without a face
  are left dark. The most probable label of each frame is marked with a white dot.
- **Valence / arousal** (when the model has them): two curves on -1..1, with gaps where
  no face was found.
- **Face found**: a strip, green where the detector found a face, grey where not.

A red cursor line runs through all three. A click puts it on a frame and emits
``cursor_moved(frame)``; :meth:`set_cursor` moves it silently, so the frame panel and the
timeline follow each other without echo. The frame numbers are the input's own (a
stride leaves gaps between columns: each column sits at its frame number).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from faceexplorer.gui.pg_setup import pg
from faceexplorer.index.analysis_query import InputSeries
from faceexplorer.media.depth import colormap_lut

CURSOR_PEN = pg.mkPen((230, 40, 40), width=2)


class AnalysisTimeline(QWidget):
    """The per-frame plots of one input (see the module docstring)."""

    cursor_moved = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: InputSeries | None = None
        self.cursor: int | None = None
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.expr_plot = self.graphics.addPlot(row=0, col=0)
        self.va_plot = self.graphics.addPlot(row=1, col=0)
        self.face_plot = self.graphics.addPlot(row=2, col=0)
        self.plots = (self.expr_plot, self.va_plot, self.face_plot)
        self.expr_plot.setMinimumHeight(190)    # a readable row per label
        self.va_plot.setMaximumHeight(170)
        self.va_plot.setMinimumHeight(100)      # the curves readable beside the raster
        self.face_plot.setMaximumHeight(90)
        for plot in self.plots:   # one left-axis width: the three x axes line up
            plot.getAxis("left").setWidth(72)
        self.raster = pg.ImageItem(levels=(0, 1), lut=colormap_lut("viridis"))
        self.expr_plot.addItem(self.raster)
        self.top_dots = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(255, 255, 255))
        self.expr_plot.addItem(self.top_dots)
        self.expr_plot.invertY(True)
        self.expr_plot.setMouseEnabled(x=True, y=False)
        self.va_plot.setYRange(-1, 1)
        self.va_plot.setMouseEnabled(x=True, y=False)
        self.valence_curve = self.va_plot.plot(pen=pg.mkPen((31, 119, 180), width=1.5),
                                               name="valence", connect="finite")
        self.arousal_curve = self.va_plot.plot(pen=pg.mkPen((214, 39, 40), width=1.5),
                                               name="arousal", connect="finite")
        self.va_plot.addLine(y=0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine))
        self.face_strip = pg.ImageItem(levels=(0, 2))
        self.face_strip.setLookupTable(np.array([[180, 180, 180], [60, 170, 90],
                                                 [255, 255, 255]], np.uint8))
        self.face_plot.addItem(self.face_strip)
        self.face_plot.hideAxis("left")
        self.face_plot.setMouseEnabled(x=True, y=False)
        self.face_plot.setLabel("bottom", "frame")
        self.cursors = []
        for plot in self.plots:
            if plot is not self.expr_plot:
                plot.setXLink(self.expr_plot)
            line = pg.InfiniteLine(angle=90, movable=False, pen=CURSOR_PEN)
            line.setZValue(20)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.cursors.append(line)
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.graphics)

    # --- content ------------------------------------------------------------------------
    def set_series(self, series: InputSeries | None) -> None:
        """Plot ``series`` (None: clear)."""
        self.series = series
        self.cursor = None
        for line in self.cursors:
            line.hide()
        if series is None or not len(series.frames):
            self.raster.clear()
            self.face_strip.clear()
            self.top_dots.clear()
            self.valence_curve.setData([], [])
            self.arousal_curve.setData([], [])
            return
        frames = series.frames
        step = int(np.median(np.diff(frames))) if len(frames) > 1 else 1
        first, last = int(frames[0]), int(frames[-1]) + step
        # one raster column per frame number (a stride leaves empty columns)
        width = (last - first) // step
        columns = ((frames - first) // step).astype(int)
        n_labels = max(len(series.labels), 1)
        grid = np.full((n_labels, width), np.nan)
        if series.labels:
            grid[:, columns] = series.probabilities
        image = np.nan_to_num(grid, nan=-1.0)          # dark below the colour map's 0
        self.raster.setImage(image, autoLevels=False, levels=(0, 1))
        self.raster.setRect(first, 0, last - first, n_labels)
        top = series.top
        has = top >= 0
        self.top_dots.setData(frames[has] + step / 2, top[has] + 0.5)
        axis = self.expr_plot.getAxis("left")
        axis.setTicks([[(i + 0.5, name) for i, name in enumerate(series.labels)]])
        self.expr_plot.setYRange(0, n_labels, padding=0)
        self.expr_plot.setTitle("Expression probability (rows: the model's labels; dot: "
                                "most probable)", size="9pt")
        found = np.full(width, 2)
        found[columns] = series.face_found.astype(int)
        self.face_strip.setImage(found[None, :], autoLevels=False, levels=(0, 2))
        self.face_strip.setRect(first, 0, last - first, 1)
        self.face_plot.setYRange(0, 1, padding=0)
        self.face_plot.setTitle(f"Face found in {int(series.face_found.sum())} of "
                                f"{len(frames)} frames", size="9pt")
        has_va = not (np.isnan(series.valence).all() and np.isnan(series.arousal).all())
        self.va_plot.setVisible(has_va)
        self.valence_curve.setData(frames, series.valence)
        self.arousal_curve.setData(frames, series.arousal)
        self.va_plot.setTitle("<span style='color:#1f77b4'>valence</span> and "
                              "<span style='color:#d62728'>arousal</span> (-1..1)", size="9pt")
        self.expr_plot.setXRange(first, last, padding=0)

    # --- cursor -------------------------------------------------------------------------
    def set_cursor(self, frame: int) -> None:
        """Put the cursor on ``frame`` without emitting."""
        self.cursor = frame
        for line in self.cursors:
            line.setValue(frame + 0.5)
            line.show()

    def frame_at(self, x: float) -> int | None:
        """The analysed frame nearest to the plot position ``x``."""
        if self.series is None or not len(self.series.frames):
            return None
        i = int(np.abs(self.series.frames - x).argmin())
        return int(self.series.frames[i])

    def _clicked(self, event) -> None:
        pos = event.scenePos()
        for plot in self.plots:
            if plot.isVisible() and plot.sceneBoundingRect().contains(pos):
                frame = self.frame_at(plot.vb.mapSceneToView(pos).x())
                if frame is not None and frame != self.cursor:
                    self.set_cursor(frame)
                    self.cursor_moved.emit(frame)
                return
