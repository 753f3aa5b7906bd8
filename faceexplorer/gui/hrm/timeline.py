"""The AU timeline of one HRM child: coders' AU rows, OpenFace curves, raters, ASD flag.

Four pyqtgraph plots stacked in one GraphicsLayoutWidget share the x axis (frame number):
the AU raster (ONE ImageItem built by :mod:`.raster`), OpenFace ``_r`` curves in one row
per mapped AU (shown when the child has an OpenFace CSV), the five raters' step curves
with their mean in bold, and the per-frame ASD flag strip. Zoom and pan act on x only and
are linked; y never moves. Segment edges are thin vertical lines in every plot, gaps are
hatched, labels past the end of the video are shaded red.

The cursor is a red line in every plot. A click or a drag of the cursor, or the arrow
keys, move it and emit ``cursor_moved(frame)`` (drags rate-limited to the newest frame
every ``DRAG_INTERVAL_MS``); ``set_cursor(frame)`` moves it silently, so following the
frame viewer never echoes back. All data come from ``hrm_query.child_timeline`` once per
child; the 22/36 toggle and the OpenFace toggle only redraw.
"""

from __future__ import annotations

from html import escape

import duckdb
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import HRM_AU22, HRM_AU_COLUMNS, HRM_CELL, HRM_RATERS
from faceexplorer.gui.hrm import raster
from faceexplorer.index import hrm_query
from faceexplorer.index.hrm_query import Timeline

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

DRAG_INTERVAL_MS = 30
LEFT_AXIS_WIDTH = 74
RATER_NAMES = tuple(r.split("-", 1)[1] for r in HRM_RATERS)
RATER_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#8c564b", "#9467bd")
#: Raters are drawn slightly apart so equal levels do not hide each other.
RATER_OFFSETS = (-0.12, -0.06, 0.0, 0.06, 0.12)
CURSOR_COLOUR = "#e0001b"
OPENFACE_COLOUR = "#0b6e79"
#: An OpenFace curve fills this share of its row at intensity 5.
OPENFACE_ROW_FILL = 0.85
BEYOND_BRUSH = (230, 40, 40, 45)
#: Screen pixels per AU row and per OpenFace row, and the fixed tracks' heights.
AU_ROW_PX = 17
OPENFACE_ROW_PX = 13
ATYPICALITY_PX = 118
ASD_PX = 48


def _swatch(colour: str, text: str) -> str:
    return (f'<span style="background-color:{colour};">&nbsp;&nbsp;&nbsp;&nbsp;</span>'
            f"&nbsp;{escape(text)}")


def _hex(rgba: tuple[int, ...]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgba[:3])


def legend_html() -> str:
    """The legend line: AU cell colours, gaps, edges, flag, raters, cursor."""
    parts = [_swatch(_hex(raster.CODE_COLOURS[c]), raster.CODE_NAMES[c]) for c in range(1, 6)]
    parts += [_swatch(_hex(raster.GAP_DARK), "not labelled (gap)"),
              _swatch("#505050", "segment edge"), _swatch(_hex(raster.ASD_ON), "ASD flag"),
              _swatch("#f8d4d4", "beyond video"),
              _swatch(CURSOR_COLOUR, "cursor")]
    raters = [f'<span style="color:{c}; font-weight:bold;">&#9472;&#9472;</span>&nbsp;{n}'
              for c, n in zip(RATER_COLOURS, RATER_NAMES, strict=True)]
    raters.append('<span style="font-weight:bold;">&#9473;&#9473;</span>&nbsp;mean')
    return ("&nbsp;&nbsp; ".join(parts) + "<br>Raters: " + "&nbsp;&nbsp; ".join(raters)
            + "&nbsp;&nbsp;&nbsp; OpenFace curves: intensity 0&ndash;5 per row "
            "(AU2X &larr; OpenFace AU26)")


def openface_row_y(intensity: np.ndarray, base: float) -> np.ndarray:
    """y of an OpenFace intensity (0..5) drawn in the row whose bottom is at ``base``."""
    return base + 0.05 + OPENFACE_ROW_FILL * np.asarray(intensity) / 5.0


class TimelineWidget(QWidget):
    """ELAN-like timeline of one child's frames.

    Signals
    -------
    cursor_moved(int)
        The user put the cursor on a frame (click, drag, keys).
    child_loaded(str)
        A child's timeline is drawn.
    """

    cursor_moved = Signal(int)
    child_loaded = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.con: duckdb.DuckDBPyConnection | None = None
        self.timeline: Timeline | None = None
        self.rows: tuple[str, ...] = HRM_AU22
        self.cursor: int | None = None
        self._pending: int | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build_header()
        self._build_plots()
        self._drag_timer = QTimer(self, singleShot=True, interval=DRAG_INTERVAL_MS)
        self._drag_timer.timeout.connect(self._emit_pending)
        self._show_message("No child open: choose one in the navigator.")

    # --- construction -------------------------------------------------------------------
    def _build_header(self) -> None:
        self.title = QLabel(self)
        self.title.setObjectName("timelineTitle")
        self.title.setStyleSheet("font-size: 12pt; font-weight: bold;")
        self.notice = QLabel(self)
        self.notice.setObjectName("timelineNotice")
        self.notice.setStyleSheet("color: #a00000;")
        self.notice.setMinimumHeight(self.notice.fontMetrics().height())
        self.all_aus = QCheckBox("All 36 AU/AD columns", self)
        self.all_aus.setToolTip("Off: the 22 AUs of the published HRM models")
        self.all_aus.toggled.connect(self._redraw)
        self.openface_box = QCheckBox("OpenFace curves", self)
        self.openface_box.setChecked(True)
        self.openface_box.setEnabled(False)
        self.openface_box.toggled.connect(self._redraw)
        self.fit_button = QPushButton("Show all frames", self)
        self.fit_button.clicked.connect(self.zoom_all)
        self.legend = QLabel(legend_html(), self)
        self.legend.setObjectName("timelineLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.readout = QLabel(self)
        self.readout.setObjectName("timelineReadout")
        self.readout.setTextFormat(Qt.TextFormat.PlainText)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def _build_plots(self) -> None:
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground("w")
        self.view.ci.setSpacing(2)
        self.au_plot = self._plot(0, "AU / AD")
        self.au_plot.invertY(True)
        self.au_plot.showAxis("top")
        self.au_plot.getAxis("top").setStyle(showValues=True)
        self.au_image = pg.ImageItem(axisOrder="row-major")
        self.au_plot.addItem(self.au_image)
        self.of_plot = self._plot(1, "OpenFace _r")
        self.atyp_plot = self._plot(2, "atypicality")
        self.atyp_plot.getAxis("left").setTicks([[(v, str(v)) for v in range(5)]])
        self.atyp_plot.setYRange(-0.3, 4.3, padding=0)
        self.asd_plot = self._plot(3, "ASD")
        self.asd_plot.getAxis("left").setTicks([[(0.5, "ASD flag")]])
        self.asd_plot.showAxis("bottom")
        self.asd_plot.setLabel("bottom", "frame")
        self.asd_plot.setYRange(0, 1, padding=0)
        self.asd_image = pg.ImageItem(axisOrder="row-major")
        self.asd_plot.addItem(self.asd_image)
        self.atyp_gap = pg.ImageItem(axisOrder="row-major")
        self.atyp_plot.addItem(self.atyp_gap)
        # Axis-parallel step curves gain nothing from antialiasing, which costs the most
        # paint time in Qt's raster engine; thin cosmetic pens are the fast path.
        self.rater_curves = [self.atyp_plot.plot(pen=pg.mkPen(c, width=1), connect="finite",
                                                 antialias=False)
                             for c in RATER_COLOURS]
        self.mean_curve = self.atyp_plot.plot(pen=pg.mkPen("k", width=2), connect="finite",
                                              antialias=False)
        for item in (*self.rater_curves, self.mean_curve):
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
        self.of_rows: tuple[str, ...] = ()
        self.of_curve = self.of_plot.plot(pen=pg.mkPen(OPENFACE_COLOUR, width=1),
                                          connect="finite", antialias=False)
        self.of_curve.setClipToView(True)
        self.of_curve.setDownsampling(auto=True, method="peak")
        self.of_rules = self.of_plot.plot(pen=pg.mkPen((215, 218, 224), width=1),
                                          connect="pairs")
        for plot in (self.of_plot, self.atyp_plot, self.asd_plot):
            plot.setXLink(self.au_plot)
        self.atyp_plot.setFixedHeight(ATYPICALITY_PX)
        self.asd_plot.setFixedHeight(ASD_PX)
        self.plots = (self.au_plot, self.of_plot, self.atyp_plot, self.asd_plot)
        self.edges = [p.plot(pen=pg.mkPen("#505050", width=1), connect="pairs")
                      for p in self.plots]
        self.cursors = [pg.InfiniteLine(angle=90, movable=p is self.au_plot,
                                        pen=pg.mkPen(CURSOR_COLOUR, width=2),
                                        hoverPen=pg.mkPen(CURSOR_COLOUR, width=4))
                        for p in self.plots]
        for plot, line in zip(self.plots, self.cursors, strict=True):
            line.setZValue(20)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
        # the frame number sits right of the line (centred it would be clipped at the left)
        self.cursor_label = pg.InfLineLabel(self.cursors[0], text="{value:.0f}", position=0.97,
                                            color="w", fill=CURSOR_COLOUR,
                                            anchors=[(0, 0.5), (0, 0.5)])
        self.cursors[0].sigPositionChanged.connect(self._cursor_dragged)
        self.beyond = [pg.LinearRegionItem(movable=False, brush=BEYOND_BRUSH,
                                           pen=pg.mkPen(None)) for _ in self.plots]
        for plot, region in zip(self.plots, self.beyond, strict=True):
            region.setZValue(5)
            region.hide()
            plot.addItem(region, ignoreBounds=True)
        self.beyond_text = pg.TextItem("beyond video", color=(170, 0, 0), anchor=(0, 0))
        self.beyond_text.hide()
        self.au_plot.addItem(self.beyond_text, ignoreBounds=True)
        self.view.scene().sigMouseClicked.connect(self._clicked)
        self.message = QLabel(self)
        self.message.setObjectName("timelineMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        for w in (self.all_aus, self.openface_box, self.fit_button):
            top.addWidget(w)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addLayout(top)
        box.addWidget(self.notice)
        box.addWidget(self.legend)
        # Rows keep a readable height; when 36 AUs and OpenFace do not fit, the plots
        # scroll vertically (as ELAN's tiers do) rather than squeezing the labels.
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.view)
        box.addWidget(self.scroll, 1)
        box.addWidget(self.message, 1)
        box.addWidget(self.readout)

    def _plot(self, row: int, name: str) -> pg.PlotItem:
        plot = self.view.addPlot(row=row, col=0)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=True, y=False)
        plot.hideAxis("bottom")
        plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        for side in ("left", "top", "bottom"):
            plot.getAxis(side).setTextPen("k")
        plot.getViewBox().setDefaultPadding(0)
        plot.setObjectName(name)
        return plot

    # --- connection and child -----------------------------------------------------------
    def set_connection(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Use ``con`` (None: no index); the open child is reloaded if it still exists."""
        self.con = con
        child = self.timeline.child if self.timeline else None
        self.timeline = None
        if not hrm_query.has_hrm(con):
            self._show_message("No Hugging Rain Man data in this index. Import it with: "
                               "faceexplorer index add hrm PATH")
            return
        if child is not None:
            self.load_child(child)
        else:
            self._show_message("No child open: choose one in the navigator.")

    @Slot(str)
    def load_child(self, child: str) -> None:
        """Read ``child``'s timeline from the index and draw it over all its frames."""
        if self.con is None:
            self._show_message("No index open.")
            return
        try:
            tl = hrm_query.child_timeline(self.con, child)
        except FaceExplorerError as exc:
            self.timeline = None
            self._show_message(str(exc))
            return
        self.timeline = tl
        self.cursor = None
        self.openface_box.setEnabled(tl.openface is not None)
        self.message.hide()
        self.scroll.show()
        self._describe(tl)
        self._draw_static(tl)
        self._redraw()
        self.zoom_all()
        self.set_cursor(tl.first_frame)
        self.child_loaded.emit(child)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
        self.scroll.hide()
        self.title.setText("AU timeline")
        self.notice.clear()
        self.readout.clear()

    def _describe(self, tl: Timeline) -> None:
        group = f" · {tl.grp}" if tl.grp else ""
        video = (f" · video {tl.video_frames:,} frames" if tl.video_frames else "")
        self.title.setText(f"{tl.child}{group} · {len(tl.frames):,} labelled frames "
                           f"({tl.first_frame}–{tl.last_frame}) in {len(tl.segments)} "
                           f"segments{video}")
        notes = []
        if tl.beyond_video:
            notes.append(f"{tl.beyond_video} labelled frames lie beyond the video's "
                         f"{tl.video_frames} frames (shaded red).")
        if tl.video_path is None and tl.frames_dir is None:
            notes.append("No video and no frames folder for this child: labels only.")
        if not np.isfinite(tl.rating_mean).any():
            notes.append("No atypicality ratings in this child's file.")
        # always shown (empty or not): a line appearing would re-lay out and repaint twice
        self.notice.setText(" ".join(notes))

    # --- drawing ---------------------------------------------------------------------
    def _draw_static(self, tl: Timeline) -> None:
        """What does not depend on the toggles: raters, ASD strip, beyond-video shading."""
        first, width, _ = raster.frame_columns(tl.frames)
        left = first - 0.5
        for curve, offset, values in zip(self.rater_curves, RATER_OFFSETS, tl.raters,
                                         strict=True):
            x, y = raster.step_curve(values + offset, tl.frames)
            curve.setData(x, y)
        self.mean_curve.setData(*raster.step_curve(tl.rating_mean, tl.frames))
        self.atyp_gap.setImage(raster.gap_strip(tl.frames), levels=(0, 255))
        self.atyp_gap.setRect(left, -0.3, width, 4.6)
        self.asd_image.setImage(raster.flag_strip(tl.asd, tl.frames), levels=(0, 255))
        self.asd_image.setRect(left, 0, width, 1)
        lo, hi = (tl.video_frames - 0.5, tl.last_frame + 0.5) if tl.beyond_video else (0, 0)
        for region in self.beyond:
            region.setRegion((lo, hi))
            region.setVisible(bool(tl.beyond_video))
        self.beyond_text.setVisible(bool(tl.beyond_video))
        self.beyond_text.setPos(lo, 0)
        for plot in self.plots:
            plot.setLimits(xMin=left - 0.05 * width, xMax=left + 1.05 * width,
                           minXRange=min(10, max(width, 1)))
        self._draw_edges(tl, self.edges[2], -0.3, 4.3)
        self._draw_edges(tl, self.edges[3], 0, 1)

    def _draw_edges(self, tl: Timeline, item: pg.PlotDataItem, low: float, high: float) -> None:
        item.setData(*raster.boundary_lines(tl.segments, low, high))

    @Slot()
    def _redraw(self) -> None:
        """Rows (22 or 36) and the OpenFace rows: the toggles' part of the drawing."""
        tl = self.timeline
        if tl is None:
            return
        self.rows = HRM_AU_COLUMNS if self.all_aus.isChecked() else HRM_AU22
        first, width, _ = raster.frame_columns(tl.frames)
        self.au_image.setImage(raster.au_raster(tl.rows(self.rows), tl.frames), levels=(0, 255))
        self.au_image.setRect(first - 0.5, 0, width, len(self.rows))
        self.au_plot.getAxis("left").setTicks(
            [[(i + 0.5, name) for i, name in enumerate(self.rows)], []])
        self.au_plot.setYRange(0, len(self.rows), padding=0)
        self.au_plot.setLimits(yMin=0, yMax=len(self.rows))
        self._draw_edges(tl, self.edges[0], 0, len(self.rows))
        self._draw_openface(tl)
        self._fit_heights()
        self._update_readout()

    def _fit_heights(self) -> None:
        """Fixed pixels per row, so labels never overlap; the scroll area takes the rest."""
        top_axis = self.au_plot.getAxis("top").height()
        au = len(self.rows) * AU_ROW_PX + int(top_axis)
        self.au_plot.setFixedHeight(au)
        of = len(self.of_rows) * OPENFACE_ROW_PX + 6 if self.of_plot.isVisible() else 0
        self.of_plot.setFixedHeight(of)
        spacing = 4 * self.view.ci.layout.verticalSpacing() + 12
        self.view.setMinimumHeight(au + of + ATYPICALITY_PX + ASD_PX + spacing)

    def _draw_openface(self, tl: Timeline) -> None:
        """One curve item for all rows: row ``r`` from the top sits on ``n - 1 - r``, rows
        separated by a NaN so one path draws them all (one item is far cheaper to add,
        clip and paint than a dozen)."""
        curves = tl.openface
        shown = curves is not None and self.openface_box.isChecked()
        self.of_plot.setVisible(shown)
        self.of_rows = ()
        if not shown or curves is None:
            self.of_curve.setData([], [])
            return
        names = [a for a in self.rows if a in curves.hrm_aus]
        n = len(names)
        self.of_rows = tuple(names)
        index = {a: i for i, a in enumerate(curves.hrm_aus)}
        m = len(curves.frames)
        x = np.empty((n, m + 1))
        x[:, :m], x[:, m] = curves.frames, np.nan
        y = np.full((n, m + 1), np.nan)
        for row, au in enumerate(names):
            y[row, :m] = openface_row_y(curves.intensity[index[au]], n - 1 - row)
        self.of_curve.setData(x.ravel(), y.ravel())
        self.of_plot.getAxis("left").setTicks(
            [[(n - 1 - r + 0.5, au) for r, au in enumerate(names)], []])
        self.of_plot.setYRange(0, max(n, 1), padding=0)
        self.of_plot.setLimits(yMin=0, yMax=max(n, 1))
        first, width, _ = raster.frame_columns(tl.frames)
        self.of_rules.setData(np.tile([first - 0.5, first + width - 0.5], n + 1),
                              np.repeat(np.arange(n + 1, dtype=np.float64), 2))
        self._draw_edges(tl, self.edges[1], 0, n)

    # --- zoom and cursor ------------------------------------------------------------------
    @Slot()
    def zoom_all(self) -> None:
        """Show every labelled frame of the child."""
        if self.timeline is not None:
            self.zoom_to(self.timeline.first_frame, self.timeline.last_frame)

    @Slot(int, int)
    def zoom_to(self, start: int, end: int) -> None:
        """Show frames ``start``..``end`` (a segment) across the whole width."""
        self.au_plot.setXRange(start - 0.5, end + 0.5, padding=0.01)

    def visible_frames(self) -> tuple[float, float]:
        """The x range on screen (frame numbers)."""
        lo, hi = self.au_plot.viewRange()[0]
        return float(lo), float(hi)

    @Slot(int)
    def set_cursor(self, frame: int) -> None:
        """Put the cursor on ``frame`` without emitting; scroll when it left the view."""
        frame = int(frame)
        if self.timeline is None or frame == self.cursor:
            return
        self.cursor = frame
        for line in self.cursors:
            line.blockSignals(True)
            line.setValue(frame)
            line.blockSignals(False)
            line.show()
        lo, hi = self.visible_frames()
        if not lo <= frame <= hi:
            span = hi - lo
            self.au_plot.setXRange(frame - 0.1 * span, frame + 0.9 * span, padding=0)
        self._update_readout()

    def _move_cursor(self, frame: int) -> None:
        tl = self.timeline
        if tl is None:
            return
        frame = int(np.clip(frame, tl.first_frame, tl.last_frame))
        if frame != self.cursor:
            self.set_cursor(frame)
            self.cursor_moved.emit(frame)

    def _clicked(self, event) -> None:  # pg.GraphicsScene.MouseClickEvent
        if event.button() != Qt.MouseButton.LeftButton or self.timeline is None:
            return
        pos: QPointF = event.scenePos()
        for plot in self.plots:
            if plot.isVisible() and plot.vb.sceneBoundingRect().contains(pos):
                self._move_cursor(int(round(plot.vb.mapSceneToView(pos).x())))
                event.accept()
                return

    def _cursor_dragged(self, line: pg.InfiniteLine) -> None:
        tl = self.timeline
        if tl is None:
            return
        frame = int(np.clip(round(line.value()), tl.first_frame, tl.last_frame))
        for other in self.cursors[1:]:
            other.setValue(frame)
        if frame != self.cursor:
            self.cursor = frame
            self._pending = frame
            self._update_readout()
            if not self._drag_timer.isActive():
                self._drag_timer.start()

    def _emit_pending(self) -> None:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            self.cursor_moved.emit(frame)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        """Left/Right: one frame; with Shift: ten; Home/End: first/last labelled frame."""
        tl, key = self.timeline, event.key()
        if tl is None or self.cursor is None:
            super().keyPressEvent(event)
            return
        step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
        moves = {Qt.Key.Key_Left: self.cursor - step, Qt.Key.Key_Right: self.cursor + step,
                 Qt.Key.Key_Home: tl.first_frame, Qt.Key.Key_End: tl.last_frame}
        if key in moves:
            self._move_cursor(moves[key])
        else:
            super().keyPressEvent(event)

    # --- the readout under the plots --------------------------------------------------
    def frame_summary(self, frame: int) -> str:
        """What the coders and raters said about ``frame``, in one line."""
        tl = self.timeline
        if tl is None:
            return ""
        k = int(np.searchsorted(tl.frames, frame))
        beyond = (" · beyond the video" if tl.video_frames and frame >= tl.video_frames
                  else "")
        if k >= len(tl.frames) or tl.frames[k] != frame:
            return f"Frame {frame}: not labelled (between segments){beyond}"
        aus = [a if tl.au[i, k] == 1 else f"{a} ({HRM_CELL[int(tl.au[i, k])]})"
               for i, a in enumerate(tl.aus) if tl.au[i, k] and a != "AU0"]
        if np.isfinite(tl.rating_mean[k]):
            levels = " ".join(f"{n} {int(v)}" for n, v in zip(RATER_NAMES, tl.raters[:, k],
                                                              strict=True))
            rating = f"atypicality {tl.rating_mean[k]:.2f} ({levels})"
        else:
            rating = "no ratings"
        return (f"Frame {frame} · segment {tl.segment[k]} of {len(tl.segments)} · "
                f"ASD flag {int(tl.asd[k])} · {rating} · AUs: {', '.join(aus) or 'none'}"
                f"{beyond}")

    def _update_readout(self) -> None:
        if self.cursor is not None:
            self.readout.setText(self.frame_summary(self.cursor))
