"""The Analyses timeline: every track of one video stacked on one frame axis.

The first track is the analysis opened from the list (its series drives the frame
viewer); under it come the tracks the user ticked (:meth:`AnalysisTimeline.set_tracks`):
other models' analyses of the same file, OpenFace's rows and the human labels of an HRM
child, each labelled with what it is (model and detector, OpenFace source, child). The
plots of each kind are :mod:`~faceexplorer.gui.analyses.track_plots`; all are x-linked
(zoom and pan one, all follow) and rows keep a fixed, readable height: when the tracks
are taller than the tab, the timeline scrolls as ELAN's tiers do (shorter, they grow
to fill it), and the PNG export (:meth:`AnalysisTimeline.image`) draws all of them.

A red cursor line runs through every plot. A click puts it on the opened analysis's
nearest frame and emits ``cursor_moved(frame)``; :meth:`set_cursor` moves it silently,
so the frame panel and the timeline follow each other without echo.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from faceexplorer.gui.analyses import track_plots as tp
from faceexplorer.gui.pg_setup import pg
from faceexplorer.index.analysis_query import InputSeries
from faceexplorer.index.hrm_query import Timeline
from faceexplorer.index.video_tracks import OpenFaceSeries

CURSOR_PEN = pg.mkPen((230, 40, 40), width=2)


class AnalysisTimeline(QWidget):
    """The stacked tracks of one input (see the module docstring)."""

    cursor_moved = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: InputSeries | None = None
        self.cursor: int | None = None
        self.tracks: list[tp.TrackPlots] = []
        self.plots: list[pg.PlotItem] = []
        self.cursors: list[pg.InfiniteLine] = []
        self.expr_plot = self.va_plot = self.face_plot = None
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.graphics = self._new_graphics()
        self.legend = QLabel(tp.legend())
        self.legend.setObjectName("tracksLegend")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.hide()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll, 1)
        outer.addWidget(self.legend)

    def _new_graphics(self) -> pg.GraphicsLayoutWidget:
        """A fresh scene for a new set of tracks, put in the scroll area once filled.

        Removing plots from a live scene (``GraphicsLayout.clear``) let a paint reach
        deleted items (a crash); the old widget goes as a whole instead (``setWidget``
        deletes it). Put in place before its plots exist, the layout kept its first,
        empty size: the plots never grew into the room the tab had.
        """
        graphics = pg.GraphicsLayoutWidget()
        graphics.setBackground("w")
        graphics.ci.setSpacing(3)
        graphics.scene().sigMouseClicked.connect(self._clicked)
        return graphics

    # --- content ------------------------------------------------------------------------
    def set_series(self, series: InputSeries | None, title: str = "") -> None:
        """Plot the opened analysis's ``series`` alone (None: clear)."""
        self.set_tracks(series, title)

    def set_tracks(self, series: InputSeries | None, title: str = "",
                   others: Sequence[tuple[str, InputSeries]] = (),
                   openface: OpenFaceSeries | None = None,
                   human: Timeline | None = None, human_aus: Sequence[str] = ()) -> None:
        """The opened analysis's ``series`` and, under it, the tracks chosen."""
        keep = self.expr_plot.viewRange()[0] if (
            self.expr_plot is not None and self.series is series) else None
        self.series = series
        self.cursor = None
        self.graphics = self._new_graphics()
        self.tracks, self.plots, self.cursors = [], [], []
        self.expr_plot = self.va_plot = self.face_plot = None
        if series is None or not len(series.frames):
            self.scroll.setWidget(self.graphics)
            return
        layout = self.graphics.ci
        self._add(tp.model_plots(layout, series, title or "this analysis"))
        first = self.tracks[0]
        self.face_plot = first.plots[-1]
        self.expr_plot = first.plots[0]
        self.va_plot = self._va_of(series, first)
        for name, other in others:
            if len(other.frames):
                self._add(tp.model_plots(layout, other, name))
        if openface is not None and len(openface.frames):
            self._add(tp.openface_plots(layout, openface))
        if human is not None and len(human.frames) and human_aus:
            self._add(tp.human_plots(layout, human, human_aus))
        last = self.plots[-1]
        last.showAxis("bottom")
        last.setLabel("bottom", "frame")
        last.getAxis("bottom").enableAutoSIPrefix(False)
        last.setMinimumHeight(last.minimumHeight() + 34)     # the frame axis
        last.setMaximumHeight(last.maximumHeight() + 34)
        for plot in self.plots:
            if plot is not self.plots[0]:
                plot.setXLink(self.plots[0])
            line = pg.InfiniteLine(angle=90, movable=False, pen=CURSOR_PEN)
            line.setZValue(20)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.cursors.append(line)
        spacing = self.graphics.ci.layout.verticalSpacing()
        rows = len(self.plots) + len(self.tracks)
        self.graphics.setMinimumHeight(int(sum(p.minimumHeight() for p in self.plots)
                                           + tp.TITLE_PX * len(self.tracks)
                                           + spacing * rows + 12))
        self.legend.setVisible(human is not None and bool(human_aus))
        lo, hi = self._extent()
        if keep is not None:
            lo, hi = keep
        self.plots[0].setXRange(lo, hi, padding=0)
        self.scroll.setWidget(self.graphics)

    @staticmethod
    def _va_of(series: InputSeries, track: tp.TrackPlots) -> pg.PlotItem | None:
        has_va = not (np.isnan(series.valence).all() and np.isnan(series.arousal).all())
        return track.plots[-2] if has_va else None

    def _add(self, track: tp.TrackPlots) -> None:
        self.tracks.append(track)
        self.plots.extend(track.plots)

    def _extent(self) -> tuple[float, float]:
        """Frames from the first to the last of any track."""
        los, his = [], []
        for plot in self.plots:
            for item in plot.items:
                if isinstance(item, pg.ImageItem) and item.image is not None:
                    rect = item.mapRectToParent(item.boundingRect())
                    los.append(rect.left())
                    his.append(rect.right())
        return (min(los), max(his)) if los else (0.0, 1.0)

    @property
    def titles(self) -> list[str]:
        """The tracks shown, top to bottom."""
        return [t.title for t in self.tracks]

    def image(self) -> QImage:
        """Every track drawn at the timeline's width (the PNG export), scrolled or not,
        with the colour legend under them when the tab shows one."""
        tracks = self.graphics.grab().toImage()
        if self.legend.isHidden():
            return tracks
        legend = self.legend.grab().toImage()
        out = QImage(max(tracks.width(), legend.width()),
                     tracks.height() + legend.height(), QImage.Format.Format_RGB32)
        out.fill(Qt.GlobalColor.white)
        painter = QPainter(out)
        painter.drawImage(0, 0, tracks)
        painter.drawImage(0, tracks.height(), legend)
        painter.end()
        return out

    # --- cursor -------------------------------------------------------------------------
    def set_cursor(self, frame: int) -> None:
        """Put the cursor on ``frame`` without emitting."""
        self.cursor = frame
        for line in self.cursors:
            line.setValue(frame)
            line.show()

    def frame_at(self, x: float) -> int | None:
        """The opened analysis's frame nearest to the plot position ``x``."""
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
