"""The Live tab's two choosers: the source (camera, video file, image folder) and the model.

Both are plain combo boxes whose last items open a file dialog (``QFileDialog``'s static
calls, which tests patch): the source offers Camera 0-2, the videos and folders picked
before, "Video file…" and "Image folder…"; the model offers the shipped demo model, the
models used before and "Browse…". A picked file becomes an item named as what it is
("Video: face.avi", "Folder: photos", "Image: a.png"; the full path in its tooltip) and
stays selected; a cancelled dialog puts the previous choice back. What is remembered
between sessions (``AppState``'s ``live_source`` / ``live_model``) is the view's business:
these widgets only hold items, and ``chosen`` tells when the user picked one.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QWidget

from faceexplorer.inference.sources import IMAGE_EXTENSIONS
from faceexplorer.paths import resource_dir

VIDEO, FOLDER, BROWSE = "<video>", "<folder>", "<browse>"
CAMERAS = 3
VIDEO_FILTER = ("Videos (*.mp4 *.avi *.mov *.mkv *.m4v *.webm *.mpg *.mpeg *.wmv);;"
                "All files (*)")
MODEL_FILTER = "ONNX models (*.onnx);;All files (*)"
KEEP_PICKED = 5


def demo_model() -> Path:
    """The demo's expression model shipped with FaceExplorer (its card beside it)."""
    return resource_dir() / "demo_model" / "demo_expression.onnx"


def source_label(spec: str) -> str:
    """A source named as what it is: "Camera 0", "Video: a.mp4", "Folder: x", "Image: a.png"."""
    if spec.isdigit():
        return f"Camera {spec}"
    path = Path(spec)
    if path.is_dir():
        return f"Folder: {path.name}"
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return f"Image: {path.name}"
    return f"Video: {path.name}"


class _Picker(QComboBox):
    """Items with data; action items open a dialog; picked paths are kept on top."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(16)
        self._previous = 0
        self.activated.connect(self._activated)

    def value(self) -> str:
        """The chosen item's data ("" on an action item)."""
        data = self.currentData()
        return "" if not isinstance(data, str) or data.startswith("<") else data

    def select(self, value: str, label: str | None = None) -> bool:
        """Select the item of ``value``, adding it (a picked path) when missing."""
        index = self.findData(value)
        if index < 0:
            if not value:
                return False
            index = self._picked_slot()
            self.insertItem(index, label or Path(value).name, value)
            self.setItemData(index, value, Qt.ItemDataRole.ToolTipRole)
            self._trim()
            index = self.findData(value)
        self.setCurrentIndex(index)
        self._previous = index
        return True

    def _picked_slot(self) -> int:
        return 0

    def _trim(self) -> None:
        picked = [i for i in range(self.count()) if self._is_picked(i)]
        for i in reversed(picked[KEEP_PICKED:]):
            self.removeItem(i)

    def _is_picked(self, index: int) -> bool:
        return False

    def _activated(self, index: int) -> None:
        action = self.itemData(index)
        if isinstance(action, str) and action.startswith("<"):
            picked = self._pick(action)
            if not picked:
                self.setCurrentIndex(self._previous)
                return
            self.select(picked, self.label_for(picked))
        self._previous = self.currentIndex()
        self.chosen.emit(self.value())

    def label_for(self, value: str) -> str:
        return Path(value).name

    def _start_folder(self) -> str:
        current = self.value()
        if current and not current.isdigit():
            path = Path(current)
            return str(path if path.is_dir() else path.parent)
        return str(Path.home())

    def _pick(self, action: str) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


class SourcePicker(_Picker):
    """Camera 0-2, picked videos and folders, "Video file…", "Image folder…"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for i in range(CAMERAS):
            self.addItem(f"Camera {i}", str(i))
        self.insertSeparator(self.count())
        self.addItem("Video file…", VIDEO)
        self.addItem("Image folder…", FOLDER)
        self.setToolTip("A camera, or a video file or image folder to run as if live")

    def is_camera(self) -> bool:
        """True when a camera is chosen."""
        return self.value().isdigit()

    def select_source(self, spec: str) -> bool:
        """Select a camera index, or a video/folder path that still exists."""
        if not spec.isdigit() and not Path(spec).exists():
            return False
        return self.select(spec, source_label(spec))

    def _is_picked(self, index: int) -> bool:
        data = self.itemData(index)
        return isinstance(data, str) and not data.isdigit() and not data.startswith("<")

    def label_for(self, value: str) -> str:
        return source_label(value)

    def _pick(self, action: str) -> str:
        if action == VIDEO:
            path, _filter = QFileDialog.getOpenFileName(
                self, "Open a video file", self._start_folder(), VIDEO_FILTER)
            return path
        return QFileDialog.getExistingDirectory(self, "Open an image folder",
                                                self._start_folder())


class ModelPicker(_Picker):
    """The demo model, models used before, "Browse…" (an ONNX file)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        demo = demo_model()
        if demo.is_file():
            self.addItem("Demo model (drawn faces only)", str(demo))
            self.setItemData(0, f"{demo}\nA tiny CNN trained on the sample's drawn faces: "
                             "it means nothing on photographs of people",
                             Qt.ItemDataRole.ToolTipRole)
        self.insertSeparator(self.count())
        self.addItem("Browse…", BROWSE)
        self.setToolTip("The ONNX model (its card is found as for model runs)")

    def select_model(self, path: str) -> bool:
        """Select ``path`` (added when new) if the file is there."""
        return bool(path) and Path(path).is_file() and self.select(path)

    def _picked_slot(self) -> int:
        return 1 if self.count() and self.itemData(0) == str(demo_model()) else 0

    def _is_picked(self, index: int) -> bool:
        data = self.itemData(index)
        return (isinstance(data, str) and not data.startswith("<")
                and data != str(demo_model()))

    def _pick(self, action: str) -> str:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Choose an ONNX model", self._start_folder(), MODEL_FILTER)
        return path
