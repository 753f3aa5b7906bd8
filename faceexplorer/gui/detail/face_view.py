"""The face: the whole image with its AffectNet face box and 68 landmarks on top.

The drawing is one QPainter widget (:class:`~faceexplorer.gui.detail.face_canvas.FaceCanvas`,
``graphics``): the image stretched over its original pixel size (a downscaled large image
still fits its box and landmarks), the box, the landmarks and thin contours joining their
groups (jaw, brows, nose, eyes, lips) so a misplaced point shows at a glance. It replaced
a pyqtgraph ViewBox whose item and range updates, scene preparation and paint were the
largest part of the face's cost per click. This widget keeps the state around it: the
"Landmarks" / "Face box" toggles (greyed out for a row without them), "Zoom to
face" (needs the box) and the banner.
Each new image starts at :meth:`FaceView.target_rect` (as the ViewBox did); the wheel,
a left drag and a double click (back to that rectangle) move about it.
A missing or unreadable file shows a banner naming the expected path, and the box and
landmarks are still drawn (on an empty canvas) when the row has them.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.gui.detail.banner import Banner
from faceexplorer.gui.detail.face_canvas import FaceCanvas
from faceexplorer.gui.detail.loader import FaceImage

#: Margin around the face box when zoomed to the face, as a share of the box size.
FACE_MARGIN = 0.25


class FaceView(QWidget):
    """Image, face box and landmarks, with toggles and zoom to the face."""

    #: Emitted after the view was redrawn for a new image.
    updated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = FaceCanvas(self.target_rect, self)

        # why the image is not shown; re-lays out the panel only when its height changes
        self.placeholder = Banner(self)
        self.placeholder.setObjectName("imagePlaceholder")
        self.placeholder.hide()

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
        return self.graphics.landmarks_shown

    @property
    def box_visible(self) -> bool:
        return self.graphics.box_shown

    def set_face(self, image: FaceImage | None, box: tuple[int, int, int, int] | None,
                 landmarks: np.ndarray | None, problem: str | None = None) -> None:
        """Show ``image`` (or the ``problem`` banner instead) with its box and landmarks."""
        self.face_box, self.landmarks = box, landmarks
        self.image_size = (image.width, image.height) if image is not None else None
        self.graphics.set_image(image.rgb if image is not None else None, self.image_size)
        self.placeholder.setText(problem or "")
        self.placeholder.setVisible(bool(problem))
        # Nothing to draw at all (no AffectNet row): the banner alone, no empty canvas.
        drawable = image is not None or box is not None or landmarks is not None
        self.graphics.setVisible(drawable)
        self.tools.setVisible(drawable)
        # A toggle for what the row lacks did nothing when clicked: off until an image
        # has it (the user's choice is kept for that image).
        self.box_check.setEnabled(box is not None)
        self.zoom_button.setEnabled(box is not None)
        self.landmarks_check.setEnabled(landmarks is not None)
        self._apply_visibility()
        self._apply_zoom()
        self.updated.emit()

    # --- toggles -------------------------------------------------------------------------
    def _apply_visibility(self) -> None:
        self.graphics.set_overlays(self.face_box, self.landmarks, self.box_check.isChecked(),
                                   self.landmarks_check.isChecked())

    def _apply_zoom(self) -> None:
        self.graphics.set_view(self.target_rect())

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
