"""The face: the whole image with its AffectNet face box and 68 landmarks on top.

One ViewBox (y down, aspect locked) holds an ImageItem, a rectangle for the box and a
scatter for the landmarks, plus thin contours joining the landmark groups (jaw, brows,
nose, eyes, lips) so a misplaced point shows at a glance. Items are created once and
updated in place. The scene is in the image's own pixel coordinates, so a downscaled
large image is stretched back over its original size and the overlays still fit.
A missing or unreadable file shows a banner naming the expected path, and the box and
landmarks are still drawn (on an empty canvas) when the row has them.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.gui.detail import plotting
from faceexplorer.gui.detail.loader import FaceImage

#: 68-point contours (iBUG order): (first, last, closed).
CONTOURS = ((0, 16, False), (17, 21, False), (22, 26, False), (27, 30, False),
            (31, 35, False), (36, 41, True), (42, 47, True), (48, 59, True), (60, 67, True))
#: Margin around the face box when zoomed to the face, as a share of the box size.
FACE_MARGIN = 0.25


def _contour_connect() -> tuple[np.ndarray, np.ndarray]:
    """Point order and pyqtgraph ``connect`` flags drawing every contour in one curve."""
    order: list[int] = []
    connect: list[bool] = []
    for first, last, closed in CONTOURS:
        idx = list(range(first, last + 1)) + ([first] if closed else [])
        order += idx
        connect += [True] * (len(idx) - 1) + [False]
    return np.array(order), np.array(connect)


_ORDER, _CONNECT = _contour_connect()


class FaceView(QWidget):
    """Image, face box and landmarks, with toggles and zoom to the face."""

    #: Emitted after the view was redrawn for a new image.
    updated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground("#2b2b2b")
        self.view: pg.ViewBox = self.graphics.addViewBox(lockAspect=True, invertY=True)
        self.view.setMenuEnabled(False)
        self.image_item = pg.ImageItem()
        self.view.addItem(self.image_item)
        self.box_item = QGraphicsRectItem()
        pen = pg.mkPen(plotting.BOX, width=2)
        pen.setCosmetic(True)
        self.box_item.setPen(pen)
        self.view.addItem(self.box_item)
        self.contours = pg.PlotCurveItem(pen=pg.mkPen(QColor(0, 229, 255, 110), width=1))
        self.view.addItem(self.contours)
        self.landmark_item = pg.ScatterPlotItem(
            size=5, pen=pg.mkPen("#003b44", width=0.8), brush=pg.mkBrush(plotting.LANDMARK))
        self.view.addItem(self.landmark_item)

        self.placeholder = QLabel(self)
        self.placeholder.setObjectName("imagePlaceholder")
        self.placeholder.setWordWrap(True)
        self.placeholder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.placeholder.setStyleSheet(
            "background: #fff4e0; color: #6b3500; border: 1px solid #e0b070; padding: 6px;")
        self.placeholder.hide()
        # A long path is one unbreakable word: it must not set the panel's minimum width
        # (which would change from image to image and re-lay out the whole tab).
        self.placeholder.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.landmarks_check = QCheckBox("Landmarks", self)
        self.landmarks_check.setChecked(True)
        self.landmarks_check.toggled.connect(self._apply_visibility)
        self.box_check = QCheckBox("Face box", self)
        self.box_check.setChecked(True)
        self.box_check.toggled.connect(self._apply_visibility)
        self.zoom_button = QPushButton("Zoom to face", self)
        self.zoom_button.setCheckable(True)
        self.zoom_button.setToolTip("Toggle between the face box and the whole image")
        self.zoom_button.toggled.connect(self._apply_zoom)

        self.tools = QWidget(self)
        tools = QHBoxLayout(self.tools)
        tools.setContentsMargins(0, 0, 0, 0)
        for w in (self.landmarks_check, self.box_check):
            tools.addWidget(w)
        tools.addStretch(1)
        tools.addWidget(self.zoom_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.tools)
        layout.addStretch(0)  # takes the room when there is nothing to draw

        self.face_box: tuple[int, int, int, int] | None = None
        self.landmarks: np.ndarray | None = None
        self.image_size: tuple[int, int] | None = None  # (width, height), original pixels
        self.set_face(None, None, None, "No image selected")

    # --- state -------------------------------------------------------------------------
    @property
    def has_image(self) -> bool:
        return self.image_size is not None

    @property
    def landmarks_visible(self) -> bool:
        return self.landmark_item.isVisible()

    @property
    def box_visible(self) -> bool:
        return self.box_item.isVisible()

    def set_face(self, image: FaceImage | None, box: tuple[int, int, int, int] | None,
                 landmarks: np.ndarray | None, problem: str | None = None) -> None:
        """Show ``image`` (or the ``problem`` banner instead) with its box and landmarks."""
        self.face_box, self.landmarks = box, landmarks
        if image is not None:
            self.image_size = (image.width, image.height)
            self.image_item.setImage(image.rgb, autoLevels=False, levels=(0, 255))
            self.image_item.setRect(QRectF(0, 0, image.width, image.height))
            self.image_item.show()
        else:
            if self.image_item.image is not None:  # clearing an empty item still repaints
                self.image_item.clear()
            self.image_size = None
            self.image_item.hide()
        self.placeholder.setText(problem or "")
        self.placeholder.setVisible(bool(problem))
        if box is not None:
            self.box_item.setRect(QRectF(*box))
        if landmarks is not None:
            self.landmark_item.setData(x=landmarks[:, 0], y=landmarks[:, 1])
            pts = landmarks[_ORDER]
            self.contours.setData(x=pts[:, 0], y=pts[:, 1], connect=_CONNECT)
        else:
            self.landmark_item.clear()
            self.contours.setData(x=[], y=[])
        # Nothing to draw at all (no AffectNet row): the banner alone, no empty canvas.
        drawable = image is not None or box is not None or landmarks is not None
        self.graphics.setVisible(drawable)
        self.tools.setVisible(drawable)
        self._apply_visibility()
        self._apply_zoom()
        self.updated.emit()

    # --- toggles -------------------------------------------------------------------------
    def _apply_visibility(self) -> None:
        self.box_item.setVisible(self.box_check.isChecked() and self.face_box is not None)
        show_lm = self.landmarks_check.isChecked() and self.landmarks is not None
        self.landmark_item.setVisible(show_lm)
        self.contours.setVisible(show_lm)

    def _apply_zoom(self) -> None:
        self.view.setRange(self.target_rect(), padding=0)

    def target_rect(self) -> QRectF:
        """The scene rectangle the view shows: the face (zoomed) or everything."""
        if self.zoom_button.isChecked() and self.face_box is not None:
            x, y, w, h = self.face_box
            m = FACE_MARGIN * max(w, h)
            return QRectF(x - m, y - m, w + 2 * m, h + 2 * m)
        if self.image_size is not None:
            return QRectF(0, 0, *self.image_size)
        extent = _overlay_extent(self.face_box, self.landmarks)
        return extent if extent is not None else QRectF(0, 0, 1, 1)


def _overlay_extent(box: tuple[int, int, int, int] | None,
                    landmarks: np.ndarray | None) -> QRectF | None:
    """Bounds of the box and landmarks with a margin (the canvas when there is no image)."""
    pts = []
    if box is not None:
        x, y, w, h = box
        pts += [(x, y), (x + w, y + h)]
    if landmarks is not None:
        pts += [tuple(landmarks.min(axis=0)), tuple(landmarks.max(axis=0))]
    if not pts:
        return None
    arr = np.array(pts, float)
    lo, hi = arr.min(axis=0), arr.max(axis=0)
    m = 0.15 * max(float((hi - lo).max()), 1.0)
    return QRectF(lo[0] - m, lo[1] - m, hi[0] - lo[0] + 2 * m, hi[1] - lo[1] + 2 * m)
