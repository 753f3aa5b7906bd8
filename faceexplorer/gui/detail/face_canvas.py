"""The face drawn with QPainter: image, face box, landmarks and contours, zoom and pan.

One plain widget paints itself, replacing a pyqtgraph ViewBox whose per-image item
updates, range/matrix updates, scene preparation and paint cost ~8-13 ms of a click.

Coordinates. The data are in the image's ORIGINAL pixels (x right, y down, as the
AffectNet box and landmarks are); a downscaled large image is stretched back over its
original size. ``view_rect`` is the data rectangle the user asked to see; it is fitted
into the widget with the aspect ratio locked and centred, so one more strip of data shows
along the longer side (what pyqtgraph's ``lockAspect`` did). The mapping is pure
arithmetic (:meth:`FaceCanvas.scale`, :meth:`FaceCanvas.to_px`, ...), which the paint, the
mouse handling, the tooltips and the tests all use alike.

Mouse: the wheel zooms about the cursor (the point under it stays put), a left drag pans,
a double click goes back to the owner's ``home()`` rectangle. Hovering a landmark gives
its 1-based iBUG number, its region and its position, to check annotation quality.

The image is converted from numpy to a QPixmap once per image and size level, never per
paint (:meth:`FaceCanvas.pixmap_for`: a large image shown small is drawn from an
averaged halving, so it does not alias); it is drawn with smooth (bilinear) scaling.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from faceexplorer.gui.detail import plotting
from faceexplorer.gui.detail.canvas import tooltip_event

BACKGROUND = QColor("#2b2b2b")
CONTOUR = QColor(0, 229, 255, 110)
LANDMARK_EDGE = QColor("#003b44")
#: Landmark dot diameter and the face box pen width, in screen pixels at any zoom.
DOT = 5.0
BOX_PEN = 2.0
#: A landmark is hovered within this many screen pixels of its centre.
HOVER = 5.0
#: Side of the pre-drawn landmark dot (logical px): the dot and its outline fit inside.
SPRITE = 8
#: Zoom per wheel notch (120 eighths of a degree): pyqtgraph's 1.02 ** (120 / 8).
WHEEL_BASE = 1.02

#: 68-point contours (iBUG order, 0-based): (first, last, closed).
CONTOURS = ((0, 16, False), (17, 21, False), (22, 26, False), (27, 30, False),
            (31, 35, False), (36, 41, True), (42, 47, True), (48, 59, True), (60, 67, True))
#: iBUG 68-point regions, 0-based (first, last, name); "right" is the subject's right.
REGIONS = ((0, 16, "jaw"), (17, 21, "right eyebrow"), (22, 26, "left eyebrow"),
           (27, 30, "nose bridge"), (31, 35, "nostrils"), (36, 41, "right eye"),
           (42, 47, "left eye"), (48, 59, "outer lips"), (60, 67, "inner lips"))


def region(index: int) -> str:
    """The iBUG region of a 0-based landmark index."""
    for first, last, name in REGIONS:
        if first <= index <= last:
            return name
    return "point"


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """An RGB uint8 (h, w, 3) array as a QPixmap (copied: the array may go away)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image)


@lru_cache(maxsize=4)
def _dot_sprite(ratio: float) -> QPixmap:
    """A landmark dot (LANDMARK fill, dark outline) centred in a SPRITE px pixmap."""
    side = math.ceil(SPRITE * ratio)
    sprite = QPixmap(side, side)
    sprite.setDevicePixelRatio(ratio)
    sprite.fill(Qt.GlobalColor.transparent)
    p = QPainter(sprite)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(LANDMARK_EDGE, 0.8))
    p.setBrush(plotting.LANDMARK)
    p.drawEllipse(QPointF(SPRITE / 2, SPRITE / 2), DOT / 2, DOT / 2)
    p.end()
    return sprite


class FaceCanvas(QWidget):
    """The drawing: call :meth:`set_image`, :meth:`set_overlays`, :meth:`set_view`."""

    def __init__(self, home: Callable[[], QRectF], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home = home
        self.rgb: np.ndarray | None = None
        self._levels: dict[int, QPixmap] = {}   # halvings of ``rgb`` -> its pixmap
        self.image_size: tuple[int, int] | None = None   # original pixels
        self.face_box: tuple[int, int, int, int] | None = None
        self.landmarks: np.ndarray | None = None
        self.show_box = True
        self.show_landmarks = True
        self.view_rect = QRectF(0, 0, 1, 1)
        self._drag: tuple[QPointF, QRectF] | None = None   # press position, view then
        # Painted opaque over its whole rect: Qt need not paint the parent below it.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # The hints of the pyqtgraph GraphicsLayoutWidget this replaced: the panel's splitters
    # share their room from them, so the face card keeps the size it had.
    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(100, 30)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(68, 68)

    # --- state ---------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray | None, size: tuple[int, int] | None) -> None:
        """The image (RGB uint8) and its ORIGINAL (width, height); None: no image."""
        self.rgb = rgb
        self._levels = {}
        self.image_size = size if rgb is not None else None
        self.update()

    def set_overlays(self, box: tuple[int, int, int, int] | None,
                     landmarks: np.ndarray | None, show_box: bool,
                     show_landmarks: bool) -> None:
        self.face_box = box
        self.landmarks = None if landmarks is None else np.asarray(landmarks, float)
        self.show_box, self.show_landmarks = show_box, show_landmarks
        self.update()

    def set_view(self, rect: QRectF) -> None:
        """Show the data rectangle ``rect`` (fitted, aspect kept, centred)."""
        self.view_rect = QRectF(rect)
        self.update()

    @property
    def box_shown(self) -> bool:
        return self.show_box and self.face_box is not None

    @property
    def landmarks_shown(self) -> bool:
        return self.show_landmarks and self.landmarks is not None

    # --- geometry (widget pixels) ------------------------------------------------------------
    def scale(self) -> float:
        """Widget pixels per data pixel: ``view_rect`` fits, whichever side is tighter."""
        v = self.view_rect
        w, h = max(self.width(), 1), max(self.height(), 1)
        return min(w / max(v.width(), 1e-9), h / max(v.height(), 1e-9))

    def to_px(self, x: float, y: float) -> QPointF:
        k, c = self.scale(), self.view_rect.center()
        return QPointF(self.width() / 2 + (x - c.x()) * k, self.height() / 2 + (y - c.y()) * k)

    def to_data(self, point: QPointF) -> QPointF:
        k, c = self.scale(), self.view_rect.center()
        return QPointF(c.x() + (point.x() - self.width() / 2) / k,
                       c.y() + (point.y() - self.height() / 2) / k)

    def rect_px(self, rect: QRectF) -> QRectF:
        k = self.scale()
        top_left = self.to_px(rect.x(), rect.y())
        return QRectF(top_left.x(), top_left.y(), rect.width() * k, rect.height() * k)

    def visible_rect(self) -> QRectF:
        """The data rectangle the whole widget shows (``view_rect`` and the margins)."""
        return QRectF(self.to_data(QPointF(0, 0)),
                      self.to_data(QPointF(self.width(), self.height())))

    def image_rect_px(self) -> QRectF | None:
        if self.image_size is None:
            return None
        return self.rect_px(QRectF(0, 0, *self.image_size))

    def box_rect_px(self) -> QRectF | None:
        return None if self.face_box is None else self.rect_px(QRectF(*self.face_box))

    def landmarks_px(self) -> np.ndarray | None:
        """(68, 2) landmark centres in widget pixels."""
        if self.landmarks is None:
            return None
        k, c = self.scale(), self.view_rect.center()
        centre = np.array([self.width() / 2 - c.x() * k, self.height() / 2 - c.y() * k])
        return self.landmarks * k + centre

    def landmark_at(self, point: QPointF) -> int | None:
        """The 0-based index of the shown landmark nearest ``point`` within HOVER px."""
        pts = self.landmarks_px()
        if pts is None or not self.show_landmarks:
            return None
        d = np.hypot(pts[:, 0] - point.x(), pts[:, 1] - point.y())
        i = int(np.argmin(d))
        return i if d[i] <= HOVER else None

    def tip(self, point: QPointF) -> str | None:
        """"landmark 37 (right eye): x 123.4, y 98.7" (1-based iBUG number), or None."""
        i = self.landmark_at(point)
        if i is None:
            return None
        assert self.landmarks is not None
        x, y = self.landmarks[i]
        return f"landmark {i + 1} ({region(i)}): x {x:.1f}, y {y:.1f}"

    def pixmap_for(self, device_width: float) -> QPixmap:
        """The image to draw ``device_width`` device pixels wide, made once per image.

        Bilinear scaling (the paint's) samples 4 source pixels per screen pixel: shrunk
        more than twice, a large image aliases (moire on hair, jagged edges). So it is
        drawn from the image halved ``level`` times (2x2 averages), the level
        that leaves at most a 2x shrink to the paint. Each level is converted to a
        pixmap on first use and kept until the next image: a large image shown whole
        never converts its full resolution, zooming in does (once).
        """
        assert self.rgb is not None
        h, w = self.rgb.shape[:2]
        shrink = w / max(device_width, 1.0)
        level = int(math.log2(shrink)) if shrink >= 2 else 0
        level = min(level, int(math.log2(max(min(w, h), 1))))   # keep at least 1 px
        pixmap = self._levels.get(level)
        if pixmap is None:
            rgb = self.rgb
            for _ in range(level):
                # bilinear at exactly half size averages each 2x2 block: a box filter,
                # ~10x cheaper than INTER_AREA (which takes ~6-13 ms on a 2048 image)
                rgb = cv2.resize(rgb, ((rgb.shape[1] + 1) // 2, (rgb.shape[0] + 1) // 2),
                                 interpolation=cv2.INTER_LINEAR)
            pixmap = self._levels[level] = to_pixmap(rgb)
        return pixmap

    # --- paint ---------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        target = self.image_rect_px()
        if self.rgb is not None and target is not None:
            pixmap = self.pixmap_for(target.width() * self.devicePixelRatioF())
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
        box = self.box_rect_px()
        if box is not None and self.show_box:
            # straight lines stay crisp without antialiasing, as the pyqtgraph box was
            p.setPen(QPen(plotting.BOX, BOX_PEN))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(box)
        pts = self.landmarks_px()
        if pts is not None and self.show_landmarks:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            # cosmetic (as pyqtgraph's pens were): Qt's line stroker, not path outlining
            # and filling; ~15% cheaper, the same 1 px line without a painter transform
            pen = QPen(CONTOUR, 1.0)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            for first, last, closed in CONTOURS:
                line = QPolygonF([QPointF(x, y) for x, y in pts[first:last + 1]])
                if closed:
                    p.drawPolygon(line)
                else:
                    p.drawPolyline(line)
            # One pre-drawn dot stamped 68 times (as pyqtgraph's scatter did with its
            # symbol atlas): a third of the cost of 68 antialiased outlined ellipses.
            # Stamps land on whole device pixels (at most half a pixel off), unblurred.
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            ratio = self.devicePixelRatioF()
            sprite = _dot_sprite(ratio)
            half = SPRITE / 2
            for x, y in pts.tolist():
                p.drawPixmap(QPointF(round((x - half) * ratio) / ratio,
                                     round((y - half) * ratio) / ratio), sprite)
        p.end()

    # --- mouse ---------------------------------------------------------------------------
    def zoom(self, factor: float, about: QPointF) -> None:
        """Scale the view by ``factor`` (< 1 zooms in) keeping the data under ``about``
        (widget px) where it is."""
        d = self.to_data(about)
        v = self.view_rect
        self.set_view(QRectF(d.x() + (v.x() - d.x()) * factor, d.y() + (v.y() - d.y()) * factor,
                             v.width() * factor, v.height() * factor))

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 8.0   # eighths of a degree -> degrees
        if steps:
            self.zoom(WHEEL_BASE ** -steps, event.position())
        event.accept()   # a scroll area around the panel must not scroll as well

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = (event.position(), QRectF(self.view_rect))
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is None:
            super().mouseMoveEvent(event)
            return
        start, view = self._drag
        k = self.scale()
        moved = event.position() - start
        self.set_view(view.translated(-moved.x() / k, -moved.y() / k))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._drag is not None:
            self._drag = None
            self.unsetCursor()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.set_view(self._home())
            event.accept()
        else:
            super().mouseDoubleClickEvent(event)

    def event(self, event: QEvent) -> bool:
        return tooltip_event(self, event, self.tip) or super().event(event)
