"""The overlay canvas: one ImageItem showing RGB, depth colour map, blend, side by side or shading.

All layers of a map come precomputed in a :class:`~faceexplorer.media.depth.DepthScene`
(built off the widget by the view), so a mode switch swaps arrays and a blend-slider move
is one numpy lerp plus ``setImage`` with fixed levels: no per-frame auto-levels, no
resampling. Landmarks (AffectNet) are a scatter in the RGB's pixel coordinates; side by side
repeats them on the right half.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.gui.pg_setup import pg
from faceexplorer.media.depth import DepthScene

MODES = ("RGB", "Depth colour map", "Blend", "Side by side", "Normal shading")


class OverlayCanvas(QWidget):
    """Mode switch, blend slider, landmarks toggle and the image itself."""

    #: Emitted after every repaint request (mode, blend, scene), with the mode shown.
    redrawn = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene: DepthScene | None = None
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.mode.setCurrentText("Blend")
        self.blend = QSlider(Qt.Orientation.Horizontal)
        self.blend.setRange(0, 100)
        self.blend.setValue(50)
        self.landmarks = QCheckBox("Landmarks")
        self.landmarks.setChecked(True)
        self.caption = QLabel("Pick a depth map")
        self.caption.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Show"))
        controls.addWidget(self.mode)
        controls.addWidget(QLabel("RGB"))
        controls.addWidget(self.blend, 1)
        controls.addWidget(QLabel("Depth"))
        controls.addWidget(self.landmarks)
        self.graphics = pg.GraphicsLayoutWidget()
        self.box = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=True)
        self.image = pg.ImageItem(levels=(0, 255))
        self.box.addItem(self.image)
        self.points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(255, 60, 60, 230))
        self.box.addItem(self.points)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.caption)
        self._landmarks = np.empty((0, 2))
        self.mode.currentTextChanged.connect(self._mode_changed)
        self.blend.valueChanged.connect(self.repaint_overlay)
        self.landmarks.toggled.connect(self._show_points)

    def set_scene(self, scene: DepthScene | None, landmarks: np.ndarray | None,
                  caption: str) -> None:
        """Show a new map (None clears); landmarks as (68, 2) RGB pixels or None."""
        self.scene = scene
        self._landmarks = landmarks if landmarks is not None else np.empty((0, 2))
        self.landmarks.setEnabled(landmarks is not None)
        self.caption.setText(caption)
        self.repaint_overlay()
        if scene is not None:
            self.box.autoRange(padding=0.01)

    def shown(self) -> np.ndarray | None:
        """The array the ImageItem currently shows (for tests)."""
        return self.image.image

    def _mode_changed(self, _mode: str) -> None:
        self.blend.setEnabled(self.mode.currentText() == "Blend")
        self.repaint_overlay()
        if self.scene is not None:
            self.box.autoRange(padding=0.01)

    def repaint_overlay(self) -> None:
        """Draw the current mode; the blend is a single lerp of the precomputed pair."""
        scene, mode = self.scene, self.mode.currentText()
        if scene is None:
            self.image.clear()
            self.points.setData([], [])
            self.redrawn.emit(mode)
            return
        if mode == "RGB":
            pixels = scene.rgb
        elif mode == "Depth colour map":
            pixels = scene.colour
        elif mode == "Blend":
            pixels = scene.blend.blend(self.blend.value() / 100)
        elif mode == "Side by side":
            pixels = scene.side_by_side()
        else:
            pixels = scene.shading
        self.image.setImage(pixels, autoLevels=False, levels=(0, 255))
        self._show_points()
        self.redrawn.emit(mode)

    def _show_points(self) -> None:
        on = self.landmarks.isChecked() and self.scene is not None and len(self._landmarks)
        if not on:
            self.points.setData([], [])
            return
        pts = self._landmarks
        if self.mode.currentText() == "Side by side":  # landmarks on both halves
            shift = np.array([self.scene.rgb.shape[1], 0])
            pts = np.vstack([pts, pts + shift])
        self.points.setData(pts[:, 0], pts[:, 1])
