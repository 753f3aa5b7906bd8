"""A fixed-range plot drawn with QPainter: the frame, axes and marker shapes it shares.

The detail panel's two crowd plots have fixed ranges and no mouse interaction, so a
scene graph (pyqtgraph) bought nothing there but its per-image item updates and paint
(~6 ms of a ~40 ms select). A :class:`PlotCanvas` is one plain widget that paints itself:
its owner gives a ``draw(painter, size)`` and a ``tip(position)`` callback and keeps all
the state, so the geometry (where a bar or a point lands, in widget pixels) lives in the
owner as pure methods that tests call and ``draw`` uses alike.

:class:`Frame` maps data to widget pixels. Everything is in logical pixels and points:
Qt scales the painter for high-DPI screens. The parts that do not change from image to
image (grid, axes, ticks, titles, circle) are drawn once per size and range into a pixmap
at the screen's device pixel ratio (:meth:`PlotCanvas.paintEvent`), and only the data is
drawn on top of it at each paint.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QHelpEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

AXIS = QColor("#555555")
AXIS_TEXT = QColor("#333333")
GRID = QColor(0, 0, 0, 30)   # faint, as pyqtgraph's grid at alpha 0.15
TICK = 4.0                   # tick length (px), outward
GAP = 3.0                    # between a tick and its label (px)


@dataclass(frozen=True)
class Frame:
    """The plot rectangle (widget px) and the data ranges it shows.

    ``invert_y``: y grows downwards (rows of a horizontal bar chart, first at the top).
    """

    rect: QRectF
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    invert_y: bool = False

    def px_x(self, x: float) -> float:
        x0, x1 = self.x_range
        return self.rect.left() + (x - x0) / (x1 - x0) * self.rect.width()

    def px_y(self, y: float) -> float:
        y0, y1 = self.y_range
        share = (y - y0) / (y1 - y0)
        if not self.invert_y:
            share = 1.0 - share
        return self.rect.top() + share * self.rect.height()

    def px(self, x: float, y: float) -> QPointF:
        return QPointF(self.px_x(x), self.px_y(y))

    def scale_x(self) -> float:
        """Pixels per data unit along x."""
        return self.rect.width() / (self.x_range[1] - self.x_range[0])

    def scale_y(self) -> float:
        """Pixels per data unit along y."""
        return self.rect.height() / (self.y_range[1] - self.y_range[0])


def draw_axes(p: QPainter, frame: Frame, font: QFont,
              x_ticks: Sequence[tuple[float, str]], y_ticks: Sequence[tuple[float, str]],
              x_title: str = "", y_title: str = "", x_grid: bool = False) -> None:
    """Left and bottom axes with outward ticks, tick labels and titles; optional x grid."""
    fm = QFontMetricsF(font)
    p.setFont(font)
    r = frame.rect
    # Straight 1 px lines stay crisp without antialiasing (smoothed, they straddle two
    # pixel columns at half strength: a faint grid vanished).
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    if x_grid:
        p.setPen(QPen(GRID, 1.0))
        for x, _ in x_ticks:
            p.drawLine(QPointF(frame.px_x(x), r.top()), QPointF(frame.px_x(x), r.bottom()))
    p.setPen(QPen(AXIS, 1.0))
    p.drawLine(r.bottomLeft(), r.topLeft())
    p.drawLine(r.bottomLeft(), r.bottomRight())
    for x, _ in x_ticks:
        px = frame.px_x(x)
        p.drawLine(QPointF(px, r.bottom()), QPointF(px, r.bottom() + TICK))
    for y, _ in y_ticks:
        py = frame.px_y(y)
        p.drawLine(QPointF(r.left() - TICK, py), QPointF(r.left(), py))
    p.restore()
    p.setPen(AXIS_TEXT)
    h = fm.height()
    for x, text in x_ticks:
        w = fm.horizontalAdvance(text)
        p.drawText(QRectF(frame.px_x(x) - w / 2 - 2, r.bottom() + TICK + GAP, w + 4, h),
                   Qt.AlignmentFlag.AlignCenter, text)
    for y, text in y_ticks:
        right = r.left() - TICK - GAP
        p.drawText(QRectF(0, frame.px_y(y) - h / 2, right, h),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
    if x_title:
        top = r.bottom() + TICK + GAP + h + 1
        p.drawText(QRectF(r.left(), top, r.width(), h), Qt.AlignmentFlag.AlignCenter, x_title)
    if y_title:
        # beside the widest tick label, reading upwards
        widest = max((fm.horizontalAdvance(t) for _, t in y_ticks), default=0.0)
        p.save()
        p.translate(max(r.left() - TICK - 2 * GAP - widest - h, 0.0), r.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-r.height() / 2, 0, r.height(), h), Qt.AlignmentFlag.AlignCenter,
                   y_title)
        p.restore()


def bottom_margin(font: QFont, titled: bool) -> float:
    """Room under a plot for ticks, their labels and (``titled``) the axis title."""
    h = QFontMetricsF(font).height()
    return TICK + GAP + h + (h + 3 if titled else 2)


# --- marker shapes, centred on (0, 0), ``size`` px across ------------------------------
# Built once per size (the cross's union of two bars costs ~0.3 ms): callers translate a
# copy (QPainterPath.translated), never change the cached path.
@lru_cache(maxsize=32)
def circle(size: float) -> QPainterPath:
    path = QPainterPath()
    path.addEllipse(QPointF(0, 0), size / 2, size / 2)
    return path


@lru_cache(maxsize=32)
def diamond(size: float) -> QPainterPath:
    s, w = size / 2, size * 0.4
    return _polygon([(0, -s), (w, 0), (0, s), (-w, 0)])


@lru_cache(maxsize=32)
def left_triangle(size: float) -> QPainterPath:
    """A triangle pointing left (at the bar it marks)."""
    s = size / 2
    return _polygon([(-s, 0), (s, -s), (s, s)])


@lru_cache(maxsize=32)
def cross(size: float) -> QPainterPath:
    """A filled diagonal cross, arms a fifth of its size thick."""
    s, t = size / 2, size * 0.1
    arm = _polygon([(-s, -t), (s, -t), (s, t), (-s, t)])
    path = QPainterPath()
    for angle in (45, -45):
        path = path.united(_rotated(arm, angle))
    return path.simplified()


@lru_cache(maxsize=32)
def star(size: float) -> QPainterPath:
    """A five-pointed star, inner radius ~0.4 of the outer."""
    outer, inner = size / 2, size * 0.2
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else inner
        angle = math.pi / 2 + k * math.pi / 5
        points.append((radius * math.cos(angle), -radius * math.sin(angle)))
    return _polygon(points)


def _polygon(points: Sequence[tuple[float, float]]) -> QPainterPath:
    path = QPainterPath()
    path.addPolygon(QPolygonF([QPointF(x, y) for x, y in points]))
    path.closeSubpath()
    return path


def _rotated(path: QPainterPath, degrees: float) -> QPainterPath:
    from PySide6.QtGui import QTransform

    return QTransform().rotate(degrees).map(path)


def tooltip_event(widget: QWidget, event: QEvent,
                  tip: Callable[[QPointF], str | None]) -> bool:
    """Answer a ToolTip event with ``tip`` at its position; False for other events."""
    if event.type() != QEvent.Type.ToolTip:
        return False
    assert isinstance(event, QHelpEvent)
    text = tip(QPointF(event.pos()))
    if text:
        QToolTip.showText(event.globalPos(), text, widget)
    else:
        QToolTip.hideText()
        event.ignore()
    return True


class PlotCanvas(QWidget):
    """A white plot area painted by its owner's callbacks, with tooltips.

    ``background(painter, size)`` draws what depends only on ``background_key()`` and the
    size (cached as a pixmap); ``draw(painter, size)`` the data, at every paint;
    ``tip(position)`` the tooltip text at a point (None: no tooltip).
    """

    def __init__(self, background: Callable[[QPainter, QSize], None],
                 draw: Callable[[QPainter, QSize], None],
                 tip: Callable[[QPointF], str | None],
                 background_key: Callable[[], Hashable],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._background, self._draw, self._tip = background, draw, tip
        self._background_key = background_key
        self._cache: tuple[Hashable, QPixmap] | None = None
        #: Counts font changes: owners key their cached geometry on it (text widths).
        self.font_generation = 0
        # Painted opaque (white) over its whole rect: Qt need not paint the parent below.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # Small hints, as the pyqtgraph views this replaced gave their layouts: the panel's
    # splitters share their room from the hints, so the plots keep the sizes (and the
    # panel its minimum width) they had. A large hint took width from the tables column.
    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(68, 68)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(68, 68)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if not hasattr(self, "_cache"):     # painted before __init__ ended: nothing yet
            return
        ratio = self.devicePixelRatioF()
        key = (self._background_key(), self.size(), ratio, self.font_generation)
        if self._cache is None or self._cache[0] != key:
            pixmap = QPixmap(self.size() * ratio)
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.white)
            bp = QPainter(pixmap)
            bp.setRenderHint(QPainter.RenderHint.Antialiasing)
            bp.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            self._background(bp, self.size())
            bp.end()
            self._cache = (key, pixmap)
        p = QPainter(self)
        p.drawPixmap(0, 0, self._cache[1])
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self._draw(p, self.size())
        p.end()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        if event.type() == QEvent.Type.FontChange:
            self.font_generation += 1
        super().changeEvent(event)

    def event(self, event: QEvent) -> bool:
        # Qt may deliver an event while __init__ is still in QWidget's constructor
        tip = getattr(self, "_tip", None)
        return (tip is not None and tooltip_event(self, event, tip)) or super().event(event)
