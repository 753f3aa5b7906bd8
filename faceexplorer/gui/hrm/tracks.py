"""The plots of the AU timeline: AU raster, model rows, OpenFace rows, raters, ASD flag.

Four pyqtgraph plots stacked in one GraphicsLayoutWidget share the x axis (frame number):
the AU raster (ONE ImageItem built by :mod:`.raster`), OpenFace ``_r`` curves in one row
per mapped AU (one reused curve item each), the five raters' step curves with
their mean in bold, and the per-frame ASD flag strip. Zoom and pan act on x only and are
linked; y never moves. Rows keep a fixed height in pixels so labels never overlap.
Segment edges are thin vertical lines in every plot, gaps are hatched (raster) or grey
(tracks), labels past the end of the video are shaded red. This module draws what it is
given; :mod:`.timeline` decides what and handles the user. A stored AU model's rows (its
probabilities as a greyscale raster, or thresholded) sit right under the coders' rows, in
their order, and are hidden when no model run covers the child.

Opening a child must cost one paint, so the drawing avoids pyqtgraph's expensive paths:
the old x limits are lifted and the new range is set once (each clamp would move all
linked plots), row labels are set only when the rows change, RGBA rasters go to Qt
without levels (no per-image conversion), axes have no SI-prefix label to re-render, and
``TimelineWidget`` moves the plots' contents before the paint (``prepareForPaint``).
Raters, mean, segment edges and rules are :class:`.paths.PathItem` (drawn as given, no
per-range re-slicing) and the x axes :class:`.paths.FrameAxis` (ticks laid out with numpy).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QWidget

from faceexplorer.core.vocab import HRM_RATERS
from faceexplorer.gui.hrm import raster
from faceexplorer.gui.hrm.paths import FrameAxis, PathItem
from faceexplorer.gui.pg_setup import pg
from faceexplorer.index.hrm_query import OPENFACE_CURVES, Timeline
from faceexplorer.reports.model_aus import ChildModelAUs

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


class TimelinePlots(pg.GraphicsLayoutWidget):
    """The stacked, x-linked plots of one child's timeline (no user logic)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        # every void Qt call (drawPath, setRenderHint...) drops a reference to None under
        # PySide6 6.12 on Python 3.11: a few hundred repaints would abort the interpreter
        super().__init__(parent)
        self.rows: tuple[str, ...] = ()
        self._row_ticks: dict[str, list] = {}
        self.setBackground("w")
        self.ci.setSpacing(2)
        self.au_plot = self._plot(0, "AU / AD")
        self.au_plot.invertY(True)
        self.au_plot.showAxis("top")
        self.au_plot.getAxis("top").setStyle(showValues=True)
        self.au_image = pg.ImageItem(axisOrder="row-major")
        self.au_plot.addItem(self.au_image)
        self.model_plot = self._plot(1, "model")
        self.model_plot.invertY(True)
        self.model_image = pg.ImageItem(axisOrder="row-major")
        self.model_plot.addItem(self.model_image)
        self.model_plot.hide()
        self.model_rows: tuple[str, ...] = ()
        self.of_plot = self._plot(2, "OpenFace _r")
        self.of_plot.hide()     # as for most children: the first open keeps the layout
        self.atyp_plot = self._plot(3, "atypicality")
        self.atyp_plot.getAxis("left").setTicks([[(v, str(v)) for v in range(5)]])
        self.atyp_plot.setYRange(-0.3, 4.3, padding=0)
        self.asd_plot = self._plot(4, "ASD")
        self.asd_plot.getAxis("left").setTicks([[(0.5, "ASD flag")]])
        self.asd_plot.showAxis("bottom")
        self.asd_plot.setLabel("bottom", "frame")
        self.asd_plot.setYRange(0, 1, padding=0)
        self.asd_image = pg.ImageItem(axisOrder="row-major")
        self.asd_plot.addItem(self.asd_image)
        self.atyp_gap = pg.ImageItem(axisOrder="row-major")
        self.atyp_plot.addItem(self.atyp_gap)
        # Fixed per child: paths built once, stroked without antialiasing (.paths)
        self.rater_curves = [self._path(self.atyp_plot, pg.mkPen(c, width=1))
                             for c in RATER_COLOURS]
        self.mean_curve = self._path(self.atyp_plot, pg.mkPen("k", width=2))
        self.of_rows: tuple[str, ...] = ()
        # One item per OpenFace AU, made once and reused: adding and removing items per
        # child costs more than drawing them. Separate items keep x sorted, which
        # clip-to-view and downsampling rely on.
        self.of_curves: dict[str, pg.PlotDataItem] = {}
        for _, hrm_au in OPENFACE_CURVES:
            item = self.of_plot.plot(pen=pg.mkPen(OPENFACE_COLOUR, width=1),
                                     connect="finite", antialias=False)
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            item.hide()
            self.of_curves[hrm_au] = item
        self.of_rules = self._path(self.of_plot, pg.mkPen((215, 218, 224), width=1), "pairs")
        for plot in (self.model_plot, self.of_plot, self.atyp_plot, self.asd_plot):
            plot.setXLink(self.au_plot)
        self.atyp_plot.setFixedHeight(ATYPICALITY_PX)
        self.asd_plot.setFixedHeight(ASD_PX)
        self.edges = [self._path(p, pg.mkPen("#505050", width=1), "pairs")
                      for p in (self.au_plot, self.of_plot, self.atyp_plot, self.asd_plot)]
        self.model_edges = self._path(self.model_plot, pg.mkPen("#505050", width=1), "pairs")
        # the model plot last: ``edges`` keep their order (AU, OpenFace, raters, ASD)
        self.plots = (self.au_plot, self.of_plot, self.atyp_plot, self.asd_plot,
                      self.model_plot)
        self.cursors = [pg.InfiniteLine(angle=90, movable=p is self.au_plot,
                                        pen=pg.mkPen(CURSOR_COLOUR, width=2),
                                        hoverPen=pg.mkPen(CURSOR_COLOUR, width=4))
                        for p in self.plots]
        for plot, line in zip(self.plots, self.cursors, strict=True):
            line.setZValue(20)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
        # the frame number in a red tag right of the line, at the top of the AU rows
        self.cursor_label = pg.TextItem("", color="w", fill=CURSOR_COLOUR, anchor=(0, 0))
        self.cursor_label.setZValue(21)
        self.cursor_label.hide()
        self.au_plot.addItem(self.cursor_label, ignoreBounds=True)
        regions = [pg.LinearRegionItem(movable=False, brush=BEYOND_BRUSH,
                                       pen=pg.mkPen(None)) for _ in self.plots]
        # ``beyond``: the always-shown plots' regions; the model plot's is kept apart
        self.beyond, self.model_beyond = regions[:-1], regions[-1]
        for plot, region in zip(self.plots, regions, strict=True):
            region.setZValue(5)
            region.hide()
            plot.addItem(region, ignoreBounds=True)
        self.beyond_text = pg.TextItem("beyond video", color=(170, 0, 0), anchor=(0, 0))
        self.beyond_text.hide()
        self.au_plot.addItem(self.beyond_text, ignoreBounds=True)

    def _plot(self, row: int, name: str) -> pg.PlotItem:
        # made without a context menu (making pyqtgraph's is ~a third of a plot's cost)
        plot = self.addPlot(row=row, col=0, enableMenu=False,
                            axisItems={"top": FrameAxis("top"), "bottom": FrameAxis("bottom")})
        plot.hideButtons()
        plot.setMouseEnabled(x=True, y=False)
        plot.hideAxis("bottom")
        plot.hideAxis("top")    # custom axes start shown
        plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        for side in ("left", "top", "bottom"):
            axis = plot.getAxis(side)
            axis.setTextPen("k")
            # Frame numbers never need an SI prefix; left on, every range change (each
            # zoom, pan and child, in every linked plot) re-renders the label's HTML.
            axis.enableAutoSIPrefix(False)
        plot.getViewBox().setDefaultPadding(0)
        # every range is set explicitly: auto-range would rescan each curve on each change
        plot.disableAutoRange()
        plot.setObjectName(name)
        return plot

    @staticmethod
    def _path(plot: pg.PlotItem, pen: QPen, connect: str = "finite") -> PathItem:
        # rater steps without antialiasing (as they were); edges and rules keep it
        item = PathItem(pen, connect, antialias=connect == "pairs")
        plot.addItem(item)
        return item

    def _set_row_ticks(self, plot: pg.PlotItem, ticks: list) -> None:
        """Row labels on ``plot``'s left axis, unless it shows them already: setting them
        throws the axis's drawing away, to be laid out again (~3 ms per child opened)."""
        if self._row_ticks.get(plot.objectName()) != ticks:
            plot.getAxis("left").setTicks(ticks)
            self._row_ticks[plot.objectName()] = ticks

    def draw_child(self, tl: Timeline) -> None:
        """What does not depend on the toggles: raters, ASD strip, beyond-video shading;
        the x range then shows all of the child's frames."""
        first, width, _ = raster.frame_columns(tl.frames)
        left = first - 0.5
        # Lift the last child's x limits first: each plot clamped to new limits in turn
        # would move all five linked plots (each redoing its curves and axes) five times.
        for plot in self.plots:
            plot.setLimits(xMin=None, xMax=None, minXRange=None)
        for curve, offset, values in zip(self.rater_curves, RATER_OFFSETS, tl.raters,
                                         strict=True):
            x, y = raster.step_curve(values + offset, tl.frames)
            curve.setData(x, y)
        self.mean_curve.setData(*raster.step_curve(tl.rating_mean, tl.frames))
        self.atyp_gap.setImage(raster.gap_strip(tl.frames), autoLevels=False)
        self.atyp_gap.setRect(left, -0.3, width, 4.6)
        self.asd_image.setImage(raster.flag_strip(tl.asd, tl.frames), autoLevels=False)
        self.asd_image.setRect(left, 0, width, 1)
        lo, hi = (tl.video_frames - 0.5, tl.last_frame + 0.5) if tl.beyond_video else (0, 0)
        for region in (*self.beyond, self.model_beyond):
            region.setRegion((lo, hi))
            region.setVisible(bool(tl.beyond_video))
        self.beyond_text.setVisible(bool(tl.beyond_video))
        self.beyond_text.setPos(lo, 0)
        self._draw_edges(tl, self.edges[2], -0.3, 4.3)
        self._draw_edges(tl, self.edges[3], 0, 1)
        # every frame in view: ONE linked range change; the limits then hold the view
        # already, so setting them moves nothing
        self.zoom_to(tl.first_frame, tl.last_frame)
        for plot in self.plots:
            plot.setLimits(xMin=left - 0.05 * width, xMax=left + 1.05 * width,
                           minXRange=min(10, max(width, 1)))

    def _draw_edges(self, tl: Timeline, item: PathItem, low: float, high: float) -> None:
        item.setData(*raster.boundary_lines(tl.segments, low, high))


    def reserve_rows(self, rows: Sequence[str], fit: bool = True) -> None:
        """Lay the AU plot out for ``rows`` (labels, y range, heights), data to come."""
        self.rows = tuple(rows)
        self._set_row_ticks(self.au_plot,
                            [[(i + 0.5, name) for i, name in enumerate(self.rows)], []])
        # limits first: a range beyond the old limits would be clamped to them
        self.au_plot.setLimits(yMin=0, yMax=len(self.rows))
        self.au_plot.setYRange(0, len(self.rows), padding=0)
        if fit:
            self._fit_heights()

    def draw_rows(self, tl: Timeline, rows: Sequence[str], openface: bool) -> None:
        """The AU rows (in ``rows`` order) and, when ``openface``, the OpenFace rows."""
        self.reserve_rows(rows, fit=False)    # heights once the OpenFace rows are known
        first, width, _ = raster.frame_columns(tl.frames)
        self.au_image.setImage(raster.au_raster(tl.rows(self.rows), tl.frames), autoLevels=False)
        self.au_image.setRect(first - 0.5, 0, width, len(self.rows))
        self._draw_edges(tl, self.edges[0], 0, len(self.rows))
        self._draw_openface(tl, openface)
        self._fit_heights()

    def draw_model(self, tl: Timeline, model: ChildModelAUs | None,
                   threshold: bool = False) -> None:
        """The model's rows for the shown AUs it has (None: hide them).

        Row ``r`` (top to bottom, the coders' order) is ``model_rows[r]``; ``threshold``
        draws probability >= the run's threshold as present instead of greys.
        """
        names = [a for a in self.rows if model is not None and a in model.aus]
        shown = model is not None and bool(names)
        self.model_plot.setVisible(shown)
        self.model_rows = tuple(names) if shown else ()
        if not shown or model is None:
            self.model_image.clear()
            self.model_edges.setData([], [])
            self._fit_heights()
            return
        probs = np.array([model.row(a) for a in names])
        first, width, _ = raster.frame_columns(tl.frames)
        image = raster.probability_raster(probs, tl.frames,
                                          model.threshold if threshold else None)
        self.model_image.setImage(image, autoLevels=False)
        self.model_image.setRect(first - 0.5, 0, width, len(names))
        self._set_row_ticks(self.model_plot,
                            [[(i + 0.5, name) for i, name in enumerate(names)], []])
        self.model_plot.setLimits(yMin=0, yMax=len(names))
        self.model_plot.setYRange(0, len(names), padding=0)
        self._draw_edges(tl, self.model_edges, 0, len(names))
        self._fit_heights()

    def _fit_heights(self) -> None:
        """Fixed pixels per row, so labels never overlap; the scroll area takes the rest."""
        top_axis = self.au_plot.getAxis("top").height()
        au = len(self.rows) * AU_ROW_PX + int(top_axis)
        self.au_plot.setFixedHeight(au)
        of = len(self.of_rows) * OPENFACE_ROW_PX + 6 if self.of_plot.isVisible() else 0
        self.of_plot.setFixedHeight(of)
        model = len(self.model_rows) * AU_ROW_PX + 4 if self.model_rows else 0
        self.model_plot.setFixedHeight(model)
        spacing = 5 * self.ci.layout.verticalSpacing() + 12
        self.setMinimumHeight(au + model + of + ATYPICALITY_PX + ASD_PX + spacing)

    def _draw_openface(self, tl: Timeline, show: bool) -> None:
        """OpenFace rows for the shown AUs that OpenFace has; row ``r`` from the top sits
        on ``n - 1 - r``."""
        curves = tl.openface
        shown = curves is not None and show
        self.of_plot.setVisible(shown)
        names = [a for a in self.rows if curves is not None and a in curves.hrm_aus]
        self.of_rows = tuple(names) if shown else ()
        for au, item in self.of_curves.items():
            # clearing an item that holds nothing still costs a data update: skip those
            if au not in self.of_rows and item.xData is not None and len(item.xData):
                item.setData([], [])
            if au not in self.of_rows:
                item.hide()
        if not shown or curves is None:
            return
        n = len(names)
        index = {a: i for i, a in enumerate(curves.hrm_aus)}
        x = curves.frames.astype(np.float64)
        for row, au in enumerate(names):
            item = self.of_curves[au]
            item.setData(x, openface_row_y(curves.intensity[index[au]], n - 1 - row))
            item.show()
        self._set_row_ticks(self.of_plot,
                            [[(n - 1 - r + 0.5, au) for r, au in enumerate(names)], []])
        self.of_plot.setLimits(yMin=0, yMax=max(n, 1))
        self.of_plot.setYRange(0, max(n, 1), padding=0)
        first, width, _ = raster.frame_columns(tl.frames)
        self.of_rules.setData(np.tile([first - 0.5, first + width - 0.5], n + 1),
                              np.repeat(np.arange(n + 1, dtype=np.float64), 2))
        self._draw_edges(tl, self.edges[1], 0, n)

    # --- view ----------------------------------------------------------------------------
    def zoom_to(self, start: float, end: float) -> None:
        """Show frames ``start``..``end`` across the whole width."""
        self.au_plot.setXRange(start - 0.5, end + 0.5, padding=0.01)

    def visible_frames(self) -> tuple[float, float]:
        """The x range on screen (frame numbers)."""
        lo, hi = self.au_plot.viewRange()[0]
        return float(lo), float(hi)

    def show_cursor(self, frame: int, lines: bool = True) -> None:
        """Cursor lines (``lines``: all, else the tracks') and the frame tag at ``frame``."""
        for line in self.cursors if lines else self.cursors[1:]:
            line.blockSignals(True)
            line.setValue(frame)
            line.blockSignals(False)
            line.show()
        lo, hi = self.visible_frames()
        # the tag sits right of the line, or left of it near the right edge (not clipped)
        right = frame < lo + 0.9 * (hi - lo)
        self.cursor_label.setAnchor((0, 0) if right else (1, 0))
        self.cursor_label.setText(str(frame))
        self.cursor_label.setPos(frame + (0.5 if right else -0.5), 0)
        self.cursor_label.show()
