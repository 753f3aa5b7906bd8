"""What the Analyses tab's frame panel shows: an image folder as frames, the face box.

A video is read by ``media.frames.VideoFrames``; an image folder (or one image) by
:class:`ImageListFrames`, frame ``n`` being the folder's ``n``-th file as the analysis
stored its name. :class:`BoxCanvas` is the HRM tab's frame canvas with the detected face's
box drawn over the frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from faceexplorer.gui.hrm.frame_canvas import FrameCanvas
from faceexplorer.media.frames import Frame, FrameResult, Missing


class ImageListFrames:
    """An image folder (or one image) as a frame source: frame ``n`` is its ``n``-th file."""

    fps = 1.0

    def __init__(self, source: Path, files: dict[int, str | None]) -> None:
        self.source = source
        self.files = files
        self.description = f"images {source}"

    def frame(self, n: int) -> FrameResult:
        import cv2

        name = self.files.get(n)
        path = self.source if self.source.is_file() else self.source / (name or "")
        if not path.is_file():
            return Missing(n, "no_file", f"image {path} is missing", path)
        bgr = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            return Missing(n, "unreadable", f"{path} is not a readable image", path)
        return Frame(n, np.ascontiguousarray(bgr[:, :, ::-1]), "frames")

    def close(self) -> None:
        pass


class BoxCanvas(FrameCanvas):
    """The frame with the detected face's box (frame pixels) drawn over it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box: tuple[float, float, float, float] | None = None

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        super().paintEvent(event)
        if self.box is None or self.rgb is None:
            return
        target = self.target_rect()
        scale = target.width() / self.rgb.shape[1]
        x, y, w, h = self.box
        painter = QPainter(self)
        painter.setPen(QPen(QColor(60, 220, 90), 2))
        painter.drawRect(QRectF(target.x() + x * scale, target.y() + y * scale,
                                w * scale, h * scale))
        painter.end()
