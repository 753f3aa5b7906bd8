"""The surface a video frame is painted on: centred, aspect kept, no pixel work on the GUI thread.

The loader's worker hands over the frame already scaled to :meth:`FrameCanvas.fit_size`
and laid out as ``QImage.Format_RGB32``; painting it is then a 1:1 blit. Right after a
resize, until the next frame arrives at the new size, the old one is stretched with
smooth filtering (``resized`` asks the viewer for a fresh one). A plain QWidget rather
than a pyqtgraph ImageItem: the viewer needs neither zoom nor levels, and ImageItem would
convert RGB888 and rescale levels on every paint (~10 ms a 640x480 frame here).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

BACKGROUND = QColor("#202020")


class FrameCanvas(QWidget):
    """Paints one frame; ``rgb`` is the full-resolution frame on show (None: nothing)."""

    resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rgb: np.ndarray | None = None
        self._pixels: np.ndarray | None = None     # keeps the QImage's bytes alive
        self._image: QImage | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(480, 360)

    def fit_size(self) -> tuple[int, int]:
        """Device pixels (width, height) a frame should be scaled to fit into."""
        ratio = self.devicePixelRatioF()
        return max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))

    def show_frame(self, rgb: np.ndarray, bgra: np.ndarray) -> None:
        """Show ``bgra`` ((h, w, 4) uint8, RGB32 byte order), made from the frame ``rgb``."""
        height, width = bgra.shape[:2]
        self.rgb, self._pixels = rgb, bgra
        self._image = QImage(bgra.data, width, height, width * 4, QImage.Format.Format_RGB32)
        self._image.setDevicePixelRatio(self.devicePixelRatioF())
        self.update()

    def clear(self) -> None:
        self.rgb = self._pixels = self._image = None
        self.update()

    def target_rect(self) -> QRectF:
        """Where the frame goes, in logical pixels: as large as fits, centred."""
        if self.rgb is None:
            return QRectF()
        height, width = self.rgb.shape[:2]
        scale = min(self.width() / width, self.height() / height)
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def is_sharp(self) -> bool:
        """Whether the frame on show was scaled for the canvas's current size."""
        if self._image is None:
            return True
        target = self.target_rect()
        ratio = self._image.devicePixelRatio()
        return (abs(self._image.width() / ratio - target.width()) < 1.0
                and abs(self._image.height() / ratio - target.height()) < 1.0)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._image is not None:
            target = self.target_rect()
            if self.is_sharp():
                painter.drawImage(QPointF(round(target.x()), round(target.y())), self._image)
            else:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawImage(target, self._image)
        painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.resized.emit()
