"""Lean drawing items of the AU timeline: fixed polylines and a frame-number axis.

pyqtgraph's general items pay per view change for what the timeline never needs. A
``PlotDataItem`` with clip-to-view and downsampling re-slices, re-downsamples and rebuilds
its path on every range change (each child opened, each zoom), then strokes it. The
timeline's raters, their mean and the segment edges are fixed per child: a few thousand
axis-parallel segments. :class:`PathItem` builds the ``QPainterPath`` of the points in
view when first painted and keeps it until the view's x range or the data change (a
cursor move repaints with no rebuild), strokes without antialiasing where pyqtgraph did.

``AxisItem.generateDrawSpecs`` spends its time in Python per tick (two ``Point`` objects,
a pen each, one ``drawLine`` each; 80 ticks on a child's full range cost ~3 ms per axis
and open). :class:`FrameAxis` (for the top and bottom x axes) places ticks with numpy
and draws each tick level with one ``drawLines``; labels follow pyqtgraph's own rules
(levels, crowding limits, bounds), so the axis looks exactly as before. Text sizes are
remembered per string: they depend on the font only.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from faceexplorer.gui.pg_setup import pg

try:    # pyqtgraph >= 0.13.4: QLineF array filled by numpy (no Python loop per segment)
    from pyqtgraph.graphicsItems.PlotCurveItem import arrayToLineSegments
except ImportError:  # pragma: no cover - older pyqtgraph
    arrayToLineSegments = None



class PathItem(pg.GraphicsObject):
    """A polyline (``connect="finite"``: broken at NaN) or separate segments
    (``connect="pairs"``) in data coordinates, drawn with one cosmetic pen.

    ``xData`` and ``yData`` hold the arrays as given (as a ``PlotDataItem``'s do).
    ``antialias``: off for step curves (axis-parallel: nothing to smooth, and the most
    expensive part of a stroke); on keeps a line's look where it always had it.
    """

    def __init__(self, pen, connect: str = "finite", antialias: bool = False) -> None:
        super().__init__()
        self.pen = pg.mkPen(pen)
        self.connect = connect
        self.antialias = antialias
        self.xData = np.empty(0)
        self.yData = np.empty(0)
        self._sorted = True
        self._drawn: tuple[tuple[int, int], object] | None = None
        self._bounds = QRectF()
        self._padded: QRectF | None = None

    def setData(self, x, y) -> None:  # noqa: N802 (pyqtgraph's name)
        """Draw ``x``, ``y`` (float arrays of equal length) from now on."""
        self.prepareGeometryChange()
        self.xData = np.asarray(x, dtype=np.float64)
        self.yData = np.asarray(y, dtype=np.float64)
        self._drawn, self._padded = None, None
        finite = np.isfinite(self.xData) & np.isfinite(self.yData)
        if finite.any():
            xs, ys = self.xData[finite], self.yData[finite]
            self._bounds = QRectF(QPointF(xs.min(), ys.min()), QPointF(xs.max(), ys.max()))
        else:
            self._bounds = QRectF()
        self._sorted = bool(np.all(self.xData[1:] >= self.xData[:-1]))
        self.update()

    def _visible(self) -> tuple[int, int]:
        """Index range of the points that draw inside the view's x range (one more on
        each side, so lines leaving the view are drawn as before); all if unsorted."""
        n = len(self.xData)
        vb = self.getViewBox()
        if not self._sorted or vb is None or n < 64:
            return 0, n
        lo, hi = vb.viewRange()[0]
        a = max(int(np.searchsorted(self.xData, lo, "left")) - 1, 0)
        b = min(int(np.searchsorted(self.xData, hi, "right")) + 1, n)
        if self.connect == "pairs":
            a -= a % 2
            b = min(b + (b - a) % 2, n)
        return a, b

    def _drawing(self):
        """The path (or segments) of the visible points, rebuilt only when they change:
        a zoomed-in view strokes its few hundred points, not the child's thousands."""
        span = self._visible()
        if self._drawn is None or self._drawn[0] != span:
            a, b = span
            x, y = self.xData[a:b], self.yData[a:b]
            if self.pen.widthF() > 1 and not self.antialias:
                # A wide pen makes Qt outline and fill a path as one polygon (~17 ms
                # for a 5,000-point mean); separate segments are ~4x cheaper and the
                # very pixels pyqtgraph drew (its own choice for wide, sharp pens).
                drawing = _line_segments(x, y, self.connect)
            else:
                drawing = pg.arrayToQPath(x, y, connect=self.connect)
            self._drawn = (span, drawing)
        return self._drawn[1]

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N803
        """(min, max) along ``ax`` for a ViewBox's auto-range (the timeline sets ranges)."""
        if self._bounds.isNull():
            return None, None
        b = self._bounds
        return (b.left(), b.right()) if ax == 0 else (b.top(), b.bottom())

    def viewTransformChanged(self) -> None:  # noqa: N802 (Qt's name)
        # the bounds are padded by the pen's width in pixels: they change with the zoom
        self.prepareGeometryChange()
        self._padded = None

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        # asked for dozens of times per paint: computed once per data and zoom
        if self._padded is None:
            if self._bounds.isNull():
                return QRectF()
            px, py = self.pixelVectors()
            pad = self.pen.widthF() / 2 + 1
            dx = pad * px.length() if px is not None else 0.0
            dy = pad * py.length() if py is not None else 0.0
            self._padded = self._bounds.adjusted(-dx, -dy, dx, dy)
        return QRectF(self._padded)

    def paint(self, p: QPainter, *args) -> None:
        if self._bounds.isNull():
            return
        drawing = self._drawing()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, self.antialias)
        p.setPen(self.pen)
        if isinstance(drawing, QPainterPath):
            p.drawPath(drawing)
        else:
            p.drawLines(*(drawing.drawargs() if hasattr(drawing, "drawargs") else (drawing,)))


def _line_segments(x: np.ndarray, y: np.ndarray, connect: str):
    """Each finite pair of consecutive points as a line, for ``QPainter.drawLines``:
    pyqtgraph's numpy-backed array, or a list of ``QLineF``."""
    if arrayToLineSegments is not None:
        # drawargs() wraps the array's own buffer: ask for it at each paint
        return arrayToLineSegments(x, y, connect=connect, finiteCheck=True)
    step = 2 if connect == "pairs" else 1
    ok = np.isfinite(x) & np.isfinite(y)
    pairs = np.flatnonzero(ok[:-1:step] & ok[1::step]) * step
    return [QLineF(x[k], y[k], x[k + 1], y[k + 1]) for k in pairs]


class FrameAxis(pg.AxisItem):
    """A horizontal axis of frame numbers, laid out with numpy (see the module docs)."""

    def __init__(self, orientation: str, **kwargs) -> None:
        if orientation not in ("top", "bottom"):
            raise ValueError("FrameAxis is a horizontal axis")
        super().__init__(orientation, **kwargs)
        self._text_sizes: dict[str, QRectF] = {}

    def _text_rect(self, p: QPainter, text: str) -> QRectF:
        key = f"{p.font().key()}|{text}"
        rect = self._text_sizes.get(key)
        if rect is None:
            rect = p.boundingRect(QRectF(0, 0, 100, 100), Qt.AlignmentFlag.AlignCenter, text)
            rect.setHeight(rect.height() * 0.8)     # as pyqtgraph: a bit too large
            self._text_sizes[key] = rect
        return QRectF(rect)

    def generateDrawSpecs(self, p: QPainter):  # noqa: N802 (pyqtgraph's name)
        """pyqtgraph's layout (same ticks, lengths, alphas and labels), vectorised.

        Returns (axis spec, [(pen, [QLineF...]) per tick level], text specs).
        """
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        bounds = self.mapRectFromParent(self.geometry())
        top = self.orientation == "top"
        linked = self.linkedView()
        tick_bounds = (bounds if linked is None or self.grid is False
                       else linked.mapRectToItem(self, linked.boundingRect()))
        if top:
            span = (bounds.bottomLeft() + QPointF(-1, -1), bounds.bottomRight() + QPointF(1, -1))
            tick_start, tick_stop, tick_dir = tick_bounds.bottom(), bounds.bottom(), -1
        else:
            span = (bounds.topLeft() + QPointF(-1, 1), bounds.topRight() + QPointF(1, 1))
            tick_start, tick_stop, tick_dir = tick_bounds.top(), bounds.top(), 1
        ends = [self.mapToDevice(s) for s in span]
        if None in ends:
            return None
        length_px = float(np.hypot(*(ends[1] - ends[0]).toTuple()))
        if length_px == 0:
            return None
        if self._tickLevels is None:
            levels = self.tickValues(self.range[0], self.range[1], length_px)
            given = None
        else:
            levels = [(None, [v for v, _ in level]) for level in self._tickLevels]
            given = [[s for _, s in level] for level in self._tickLevels]
        dif = self.range[1] - self.range[0]
        scale = bounds.width() / dif if dif else 1.0
        offset = self.range[0] * scale if dif else 0.0
        x_lo, x_hi = sorted(v * scale - offset for v in self.range)

        positions: list[np.ndarray] = []
        tick_specs: list[tuple[QPen, list[QLineF]]] = []
        for i, (_, values) in enumerate(levels):
            x = np.asarray(values, dtype=np.float64) * scale - offset
            inside = (x >= x_lo) & (x <= x_hi)
            positions.append(np.where(inside, x, np.nan))
            tick_len = self.style["tickLength"] / (i * 0.5 + 1.0)
            end = tick_stop + (tick_len * tick_dir if self.grid is False else 0.0)
            pen = QPen(self.tickPen())
            if pen.brush().style() == Qt.BrushStyle.SolidPattern:
                colour = QColor(pen.color())
                colour.setAlpha(int(self._tick_alpha(i, len(values), length_px)))
                pen.setColor(colour)
            tick_specs.append((pen, [QLineF(v, tick_start, v, end) for v in x[inside]]))
        axis_spec = (self.pen(), span[0], span[1])
        text_specs: list[tuple[QRectF, Qt.AlignmentFlag, str]] = []
        if not self.style["showValues"]:
            return axis_spec, tick_specs, text_specs
        text_offset = self.style["tickTextOffset"][1]
        text_rects: list[QRectF] = []
        last_size2 = 0.0
        br = self.boundingRect()
        align = (Qt.AlignmentFlag.AlignHCenter
                 | (Qt.AlignmentFlag.AlignBottom if top else Qt.AlignmentFlag.AlignTop))
        for i in range(min(len(levels), self.style["maxTextLevel"] + 1)):
            if given is None:
                spacing, values = levels[i]
                strings = self.tickStrings(values, self.autoSIPrefixScale * self.scale, spacing)
            else:
                strings = given[i]
            if not strings:
                continue
            shown = [(x, s) for x, s in zip(positions[i], strings, strict=False)
                     if not np.isnan(x)]
            rects = [self._text_rect(p, s) for _, s in shown]
            text_rects += rects
            size = sum(r.width() for r in text_rects)
            size2 = max((r.height() for r in text_rects), default=0.0)
            if i > 0:
                fill = size / length_px
                if any(len(text_specs) >= n and fill >= limit
                       for n, limit in self.style["textFillLimits"]):
                    break
            last_size2 = size2
            off = max(0, self.style["tickLength"]) + text_offset
            for (x, s), r in zip(shown, rects, strict=True):
                w, h = r.width(), r.height()
                y = tick_stop - off - h if top else tick_stop + off
                rect = QRectF(x - w / 2.0, y, w, h)
                if br & rect != rect:
                    continue
                text_specs.append((rect, align | Qt.TextFlag.TextDontClip, s))
        self._updateMaxTextSize(last_size2)
        return axis_spec, tick_specs, text_specs

    def _tick_alpha(self, level: int, n_ticks: int, length_px: float) -> float:
        """A tick level's alpha, as pyqtgraph computes it."""
        alpha = self.style["tickAlpha"]
        if alpha is None:
            alpha = 255 / (level + 1)
            if self.grid is not False:
                alpha *= self.grid / 255.0 * float(np.clip(0.05 * length_px / (n_ticks + 1),
                                                           0.0, 1.0))
        elif isinstance(alpha, float):
            alpha = min(255, max(0, int(round(alpha * 255))))
        return alpha

    def drawPicture(self, p: QPainter, axisSpec, tickSpecs, textSpecs) -> None:  # noqa: N802, N803
        """pyqtgraph's drawing, one ``drawLines`` per tick level."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        pen, p1, p2 = axisSpec
        p.setPen(pen)
        p.drawLine(p1, p2)
        for pen, lines in tickSpecs:
            if lines:
                p.setPen(pen)
                p.drawLines(lines)
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setPen(self.textPen())
        p.setClipRect(self.boundingRect().toAlignedRect())
        for rect, flags, text in textSpecs:
            p.drawText(rect, int(flags), text)
