"""The Analyses tab's form: what to analyse, with which model and detector, where.

Two rows (the input, a video or an image folder, each with its picker, and the model;
the detector, Haar or YuNet with its file, the frame stride, the engine, Run, Cancel and
the progress) and the one-line note on how this detection differs from the Live tab's
(``inference.analyze.detection_note``; the detector's settings in its tooltip, built
only when asked for). The view runs what the form says (``AnalysesView.start_run``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)


class TipLabel(QLabel):
    """A label whose tooltip is made when it is about to show (``tip``)."""

    tip: Any = None

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.tip is not None:
            self.setToolTip(self.tip())
        return super().event(event)


class RunForm(QWidget):
    """The input, model, detector, stride and engine of the next run (module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._yunet_path: str | None = None
        self.input_edit = QLineEdit()
        self.input_edit.setPlaceholderText("a video file, or a folder of images")
        self.video_button = QPushButton("Video…")
        self.folder_button = QPushButton("Folder…")
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("model .onnx")
        self.model_button = QPushButton("Model…")
        self.detector_box = QComboBox()
        self.detector_box.addItem("Haar cascade (OpenCV)", "haar")
        self.detector_box.addItem("YuNet… (choose its .onnx)", "yunet")
        self.stride_spin = QSpinBox()
        self.stride_spin.setRange(1, 1000)
        self.stride_spin.setPrefix("every ")
        self.stride_spin.setSuffix(" frame(s)")
        self.engine_box = QComboBox()
        self.engine_box.addItem("this computer", "local")
        self.engine_box.addItem("Ray cluster", "ray")
        self.engine_box.setToolTip("Ray spreads the frames over a cluster's workers (pip "
                                   "install 'faceexplorer[cluster]'); the table is the same")
        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("Ray address (empty: start one here)")
        self.address_edit.setEnabled(False)
        self.engine_box.currentIndexChanged.connect(
            lambda: self.address_edit.setEnabled(self.engine_box.currentData() == "ray"))
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m frames")
        self.detection_note = TipLabel("")
        self.detection_note.setObjectName("detectionNote")
        self.detection_note.setWordWrap(True)
        self.detection_note.setStyleSheet("color: #555;")
        row1 = QHBoxLayout()
        for w, stretch in ((QLabel("Input"), 0), (self.input_edit, 3), (self.video_button, 0),
                           (self.folder_button, 0), (QLabel("Model"), 0),
                           (self.model_edit, 3), (self.model_button, 0)):
            row1.addWidget(w, stretch)
        row2 = QHBoxLayout()
        for w, stretch in ((QLabel("Detector"), 0), (self.detector_box, 1),
                           (self.stride_spin, 0), (QLabel("on"), 0), (self.engine_box, 0),
                           (self.address_edit, 1), (self.run_button, 0),
                           (self.cancel_button, 0), (self.progress, 2)):
            row2.addWidget(w, stretch)

        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(row1)
        box.addLayout(row2)
        box.addWidget(self.detection_note)
        self.video_button.clicked.connect(self._pick_video)
        self.folder_button.clicked.connect(self._pick_folder)
        self.model_button.clicked.connect(self._pick_model)
        self.detector_box.activated.connect(self._detector_chosen)
        self.detector_box.currentIndexChanged.connect(self._update_detection_note)
        self.stride_spin.valueChanged.connect(self._update_detection_note)
        self._update_detection_note()

    def detector_choice(self) -> str:
        """``"haar"`` or the YuNet file (as ``DetectorSettings.from_choice`` takes it)."""
        if self.detector_box.currentData() == "yunet" and self._yunet_path:
            return self._yunet_path
        return "haar"

    def _pick_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a video", self.input_edit.text(),
                                              "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;"
                                              "All files (*)")
        if path:
            self.input_edit.setText(path)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder of images",
                                                self.input_edit.text())
        if path:
            self.input_edit.setText(path)

    def _pick_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an ONNX model",
                                              self.model_edit.text(), "ONNX model (*.onnx)")
        if path:
            self.model_edit.setText(path)

    def _detector_chosen(self, index: int) -> None:
        if self.detector_box.itemData(index) != "yunet":
            return
        path, _ = QFileDialog.getOpenFileName(self, "Choose the YuNet model",
                                              self._yunet_path or "", "ONNX model (*.onnx)")
        if path:
            self.set_yunet(path)
        else:
            self.detector_box.setCurrentIndex(0)

    def _update_detection_note(self) -> None:
        """The one line saying how this tab's detection differs from Live's (issue 13)."""
        from faceexplorer.inference.analyze import (
            DetectorSettings,
            detection_note,
            detection_settings,
        )

        yunet = self.detector_box.currentData() == "yunet" and self._yunet_path
        settings = (DetectorSettings("yunet", str(Path(self._yunet_path).resolve()))
                    if yunet and self._yunet_path else DetectorSettings())
        self.detection_note.setText(detection_note(settings, self.stride_spin.value()))
        # built when asked for: reading the settings builds the detector (~70 ms)
        self.detection_note.tip = lambda: (f"Detector settings (Live's too): "
                                           f"{detection_settings(settings)}")

    def use_preferences(self, prefs: Any, model: str) -> None:
        """Edit > Preferences: the default detector (YuNet with its file) and ``model``
        when none is chosen yet."""
        if prefs.detector == "yunet" and prefs.yunet_model:
            self.set_yunet(prefs.yunet_model)
        elif prefs.detector != "yunet":
            self.detector_box.setCurrentIndex(0)
        if model and not self.model_edit.text().strip():
            self.model_edit.setText(model)

    def set_yunet(self, path: str) -> None:
        """Use YuNet from ``path`` (as the detector picker does)."""
        self._yunet_path = path
        self.detector_box.setItemText(1, f"YuNet ({Path(path).name})")
        self.detector_box.setCurrentIndex(1)
        self._update_detection_note()
