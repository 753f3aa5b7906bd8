"""The live view: source and model pickers, the video, its predictions beside it, a timeline.

Everything heavy happens in a ``LiveSession`` (capture and model threads, face boxes drawn
there with OpenCV, frames scaled to the canvas there); this widget only paints the
newest frame it is handed (``SessionBridge``: frames never queue up), shows the
prediction drawn on that frame in the panel beside the video (``panel.PredictionPanel``:
the frame carries only the boxes, nothing over the face), plots the session's
``timeline`` a few times a second and shows the rates. Errors - no camera, an ONNX that
does not load, a broken video, NaN outputs, the model failing mid-run - go to the
message line in the user's words; nothing here opens a traceback dialog.

The source and model are chosen in ``pickers`` (Camera N, "Video file…", "Image folder…";
the demo model, "Browse…"); the last ones started are remembered in the window's
``AppState`` (``live_source``, ``live_model``). The source is named as what it is above
the video ("Video: face.avi (25.0 fps)"). "Record every frame" reads a video or folder in
lockstep, unpaced, and records from its first frame (no frame dropped; the display goes
as fast as the model); a camera cannot wait for the model, so the box is disabled for it.
A grey line under the status says how Live's face detection differs from the Analyses
tab's (``inference.analyze.live_note``: same detector and settings; Live skips frames
unless it records every frame, and never restarts tracking in a video).

Recording writes ``live_<time>.csv`` (+ ``.json``) into ``output_dir``; when it ends
``recording_finished(csv_path)`` tells the main window, which stores it in the index
with ``faceexplorer.inference.recording.import_recording(db_path, csv_path)`` after
releasing its read-only connection (DuckDB has one writer process).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.gui.hrm.frame_canvas import FrameCanvas
from faceexplorer.gui.live.bridge import SessionBridge
from faceexplorer.gui.live.panel import PredictionPanel
from faceexplorer.gui.live.pickers import ModelPicker, SourcePicker, demo_model
from faceexplorer.gui.pg_setup import pg
from faceexplorer.inference.live import (
    EVERY_FRAME_CAMERA,
    DisplayFrame,
    LatestPrediction,
    LiveSession,
    open_live,
)
from faceexplorer.paths import user_data_dir

if TYPE_CHECKING:
    from faceexplorer.gui.core.state import AppState
    from faceexplorer.gui.preferences import Preferences

CURVE_COLOURS = ("#1f5fa8", "#e8710a", "#2e7d32", "#c62828", "#6a1b9a", "#00838f")
TIMELINE_HZ = 5
EVERY_FRAME_TIP = ("Read the video or folder frame by frame, without pacing or dropping "
                   "any, and record every frame from the first; the display follows as "
                   "fast as the model runs")


class LiveView(QWidget):
    """Camera / video / image folder through a model, live.

    Signals
    -------
    started()
        A session began.
    stopped(str)
        The session ended; why (end of video, camera lost, model error, user).
    recording_finished(str)
        A recording's CSV path, complete, ready for ``import_recording``.
    failed(str)
        A session could not start; the message shown.
    """

    started = Signal()
    stopped = Signal(str)
    recording_finished = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, window_s: float = 10.0) -> None:
        super().__init__(parent)
        self.window_s = window_s
        self.output_dir = user_data_dir() / "live"
        self.session: LiveSession | None = None
        self._bridge: SessionBridge | None = None
        self.frames_painted = 0
        self.last_prediction: LatestPrediction | None = None
        self.shown: DisplayFrame | None = None  # the frame on the canvas
        #: the window's app state (remembers the source and model); found on first show
        self.app_state: AppState | None = None
        self._restored = False
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // TIMELINE_HZ)
        self._timer.timeout.connect(self._refresh)

    # --- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        self.source_box = SourcePicker()
        self.model_box = ModelPicker()
        self.detector_box = QComboBox()
        self.detector_box.addItems(["Haar (OpenCV)", "None (whole frame is the face)",
                                    "YuNet (file in Preferences)"])
        self.detector_box.setItemData(
            0, "Finds faces in the whole frame now and then and follows them in small "
               "regions in between (fast enough for 25 fps on 2 cores)",
            Qt.ItemDataRole.ToolTipRole)
        #: the YuNet ONNX file of Edit > Preferences (the third detector choice)
        self.yunet_model = ""
        self.every_frame = QCheckBox("Record every frame")
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.record_button = QPushButton("Record")
        self.record_button.setCheckable(True)
        self.snapshot_button = QPushButton("Snapshot")
        self.kind_box = QComboBox()
        self.kind_box.addItems(["Expressions", "AUs"])
        self.detector_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.detector_box.setMinimumContentsLength(14)
        top = QHBoxLayout()
        for w, stretch in ((QLabel("Source"), 0), (self.source_box, 2), (QLabel("Model"), 0),
                           (self.model_box, 3), (QLabel("Faces"), 0),
                           (self.detector_box, 1)):
            top.addWidget(w, stretch)
        self.source_label = QLabel("No source running")
        self.source_label.setStyleSheet("font-weight: bold;")
        self.source_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                        QSizePolicy.Policy.Preferred)
        controls = QHBoxLayout()
        for w, stretch in ((self.source_label, 1), (self.every_frame, 0),
                           (self.start_button, 0), (self.stop_button, 0),
                           (self.record_button, 0), (self.snapshot_button, 0)):
            controls.addWidget(w, stretch)
        self.canvas = FrameCanvas()
        self.panel = PredictionPanel()
        # A model with expressions, V-A and AUs makes a tall panel: it scrolls rather
        # than push the window past a laptop's screen.
        side = QScrollArea()
        side.setWidget(self.panel)
        side.setWidgetResizable(True)
        side.setFrameShape(QFrame.Shape.NoFrame)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side.setFixedWidth(self.panel.width() + side.verticalScrollBar().sizeHint().width())
        middle = QHBoxLayout()
        middle.addWidget(self.canvas, 1)
        middle.addWidget(side)
        self.timeline = pg.PlotWidget(background="w")
        self.timeline.setMenuEnabled(False)
        self.timeline.setMouseEnabled(False, False)
        self.timeline.setFixedHeight(115)
        self.timeline.setYRange(0, 1, padding=0.02)
        self.timeline.setLabel("bottom", "time (s)")
        self.curves: dict[str, pg.PlotDataItem] = {}
        # the curves' names beside the status line: a legend in the plot hid the curves
        self.legend = QLabel("")
        self.status = QLabel("Not running")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        above = QHBoxLayout()
        above.addWidget(QLabel("Timeline"))
        above.addWidget(self.kind_box)
        above.addWidget(self.legend, 1)
        # a long status (the end reason) is cut rather than widen the window
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        #: how Live's detection differs from Analyses' (issue 13 item 4)
        self.detection_note = QLabel("")
        self.detection_note.setObjectName("detectionNote")
        self.detection_note.setWordWrap(True)
        self.detection_note.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(controls)
        layout.addLayout(middle, 1)
        layout.addLayout(above)
        layout.addWidget(self.timeline)
        layout.addWidget(self.status)
        layout.addWidget(self.detection_note)
        layout.addWidget(self.message)
        self.start_button.clicked.connect(self._start_clicked)
        self.stop_button.clicked.connect(self.stop)
        self.record_button.toggled.connect(self.set_recording)
        self.snapshot_button.clicked.connect(self._snapshot_clicked)
        self.canvas.resized.connect(self._fit_changed)
        self.source_box.currentIndexChanged.connect(self._source_changed)
        self.detector_box.currentIndexChanged.connect(self._update_detection_note)
        self._set_running(False)
        self._source_changed()
        # after the first paint: the note's module brings in pandas and DuckDB
        QTimer.singleShot(0, self._update_detection_note)

    def _update_detection_note(self, _index: int = -1) -> None:
        """One line on how detection here differs from Analyses' (its own words)."""
        from faceexplorer.inference.analyze import DetectorSettings, live_note

        index = self.detector_box.currentIndex()
        if index == 1:
            self.detection_note.setText("No face detection: each whole frame goes to the "
                                        "model as the face (Analyses always detects faces).")
            return
        settings = DetectorSettings("yunet", self.yunet_model) if index == 2 \
            else DetectorSettings()
        self.detection_note.setText(live_note(settings))

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.record_button.setEnabled(running)
        self.snapshot_button.setEnabled(running or self.canvas.rgb is not None)
        for w in (self.source_box, self.model_box, self.detector_box):
            w.setEnabled(not running)
        self.every_frame.setEnabled(not running and not self.source_box.is_camera())

    def _source_changed(self, _index: int = -1) -> None:
        """A camera cannot be read in lockstep: the box is disabled and says why."""
        camera = self.source_box.is_camera()
        running = self.session is not None and self.session.running
        self.every_frame.setEnabled(not camera and not running)
        if camera:
            self.every_frame.setChecked(False)
        self.every_frame.setToolTip(EVERY_FRAME_CAMERA if camera else EVERY_FRAME_TIP)

    # --- remembered choices -------------------------------------------------------------

    def _state(self) -> AppState | None:
        if self.app_state is None:
            self.app_state = getattr(self.window(), "app_state", None)
        return self.app_state

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self._restored:
            self._restored = True
            state = self._state()
            if state is not None:
                self.source_box.select_source(str(state.get("live_source") or "0"))
                self.model_box.select_model(str(state.get("live_model") or ""))
                self._source_changed()

    def _remember(self, source: str, model: str) -> None:
        state = self._state()
        if state is not None:
            state.set("live_source", source)
            state.set("live_model", model)

    # --- the main window's protocol -----------------------------------------------------

    # --- control ------------------------------------------------------------------------

    def _start_clicked(self) -> None:
        index = self.detector_box.currentIndex()
        if index == 2 and not self.yunet_model:
            self._fail("Choose the YuNet model file in Edit > Preferences first.")
            return
        choice = ("haar", "none", self.yunet_model)[index]
        source, model = self.source_box.value(), self.model_box.value()
        if self.start(source, model, choice, every_frame=self.every_frame.isChecked()):
            self._remember(source, model)

    def use_preferences(self, prefs: Preferences, model: str) -> None:
        """Edit > Preferences: the detector to start with, and ``model`` (the model last run
        in Model runs, or the first of the models folder) as a choice of the model box."""
        self.yunet_model = prefs.yunet_model
        self._update_detection_note()
        self.detector_box.setItemData(2, prefs.yunet_model or "No YuNet file chosen yet",
                                      Qt.ItemDataRole.ToolTipRole)
        if self.session is None or not self.session.running:
            self.detector_box.setCurrentIndex(2 if prefs.detector == "yunet" else 0)
            state = self._state()
            remembered = str(state.get("live_model") or "") if state is not None else ""
            chosen = self.model_box.value()
            chosen = "" if chosen == str(demo_model()) else chosen  # the default, not a choice
            self.model_box.select_model(model)   # offered, and chosen unless one of these is
            for preferred in (chosen, remembered, model):
                if self.model_box.select_model(preferred):
                    break

    def start(self, source: int | str | Path, model_path: str | Path,
              detector: str | Path | None = "haar", every_frame: bool = False,
              **options: object) -> bool:
        """Open the source and model and start; False (message shown) when they cannot.

        Parameters
        ----------
        source : int, str or path
            Camera index, video file, image folder (or a ``FrameSource``).
        model_path : path
            The ONNX model (its card is looked up as in batch runs).
        detector : {"haar", "none"} or path
            Face detector; a path is a YuNet ONNX file.
        every_frame : bool
            Read a video or folder frame by frame (lockstep, unpaced) and record every
            frame from the first; refused for a camera.
        """
        self.stop()
        self.message.clear()
        self.message.setStyleSheet("color: #b00020;")
        if not str(model_path):
            return self._fail("Choose a model file (.onnx) first.")
        if source == "":
            return self._fail("Choose a camera, a video file or an image folder as the "
                              "source.")
        try:
            session = open_live(source, model_path, detector, every_frame=every_frame,
                                **options)
            if every_frame:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                session.start_recording(self._recording_path())
        except FaceExplorerError as exc:
            return self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - the user sees a message, never a traceback
            return self._fail(f"Could not start: {type(exc).__name__}: {exc}")
        if isinstance(source, (int, str, Path)):   # the pickers show what runs
            self.source_box.select_source(str(source))
        self.model_box.select_model(str(model_path))
        bridge = SessionBridge(self)
        bridge.frame_ready.connect(self._paint_newest)
        bridge.prediction_ready.connect(self._on_prediction)
        bridge.ended.connect(self._on_end)
        session.on_frame, session.on_prediction, session.on_end = \
            bridge.frame, bridge.prediction, bridge.end
        session.display_fit = self.canvas.fit_size()
        self.session, self._bridge = session, bridge
        self.frames_painted, self.last_prediction = 0, None
        self.panel.clear()
        mode = " · every frame, recorded" if session.every_frame else (
            " · paced to its rate" if session.pace else "")
        self.source_label.setText(session.source.description + mode)
        self.source_label.setToolTip(session.source.location)
        for w in self.pipeline_warnings():
            self.message.setText(w)
        self._set_running(True)
        if session.recording:
            self.record_button.blockSignals(True)
            self.record_button.setChecked(True)
            self.record_button.blockSignals(False)
        session.start()
        self._timer.start()
        self.started.emit()
        return True

    def pipeline_warnings(self) -> list[str]:
        """Notes the pipeline made at its start (alignment fallbacks)."""
        return list(self.session.pipeline.warnings) if self.session else []

    def stop(self) -> None:
        """Stop the session (if any) and wait for its threads (a frame or model run)."""
        if self.session is not None and self.session.running:
            self.session.stop()
            self.session.join(timeout=5)

    def _fail(self, text: str) -> bool:
        self.message.setText(text)
        self.status.setText("Not running")
        self.failed.emit(text)
        return False

    def set_recording(self, on: bool) -> None:
        """Start or stop recording predictions (CSV in ``output_dir``)."""
        if self.session is None:
            return
        if on and not self.session.recording:
            try:
                self.session.start_recording(self._recording_path())
            except FaceExplorerError as exc:
                self.message.setText(str(exc))
                self.record_button.setChecked(False)
        elif not on and self.session.recording:
            path = self.session.stop_recording()
            if path is not None:
                self.recording_finished.emit(str(path))

    def _recording_path(self) -> Path:
        return self.output_dir / datetime.now().strftime("live_%Y%m%d_%H%M%S.csv")

    def snapshot(self, path: Path | str | None = None) -> Path | None:
        """Save the frame on show with its overlay as PNG; returns the path (None: failed)."""
        if self.session is None:
            return None
        target = Path(path) if path else self.output_dir / datetime.now().strftime(
            "snapshot_%Y%m%d_%H%M%S_%f.png")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            saved = self.session.snapshot(target)
        except (FaceExplorerError, OSError) as exc:
            self.message.setText(str(exc))
            return None
        self.message.setStyleSheet("color: #1b5e20;")
        self.message.setText(f"Snapshot saved: {saved}")
        return saved

    def _snapshot_clicked(self) -> None:
        self.snapshot()

    # --- from the session ---------------------------------------------------------------

    def _paint_newest(self) -> None:
        if self._bridge is None:
            return
        shown = self._bridge.take_frame()
        if shown is None or shown.bgra is None:
            return
        # The canvas sizes by its frame's shape; the overlay has the source's shape.
        self.canvas.show_frame(shown.overlay, shown.bgra)
        self.shown = shown
        self.frames_painted += 1
        # The panel says what the boxes on this frame say (the newest prediction can be
        # a frame or two ahead of the frame on show).
        if shown.prediction is not None and shown.prediction is not self.panel.shown:
            self.panel.show_prediction(shown.prediction)

    def _on_prediction(self, latest: LatestPrediction) -> None:
        self.last_prediction = latest
        bad = [p.message for p in latest.predictions if not p.valid]
        if bad:
            self.message.setStyleSheet("color: #b00020;")
            self.message.setText(f"Frame {latest.frame_index}: the model gave NaN/Inf "
                                 f"({bad[0]}); drawn as a red box and recorded as invalid.")

    def _on_end(self, reason: str) -> None:
        self._timer.stop()
        self._refresh()
        if self.record_button.isChecked():
            self.record_button.blockSignals(True)
            self.record_button.setChecked(False)
            self.record_button.blockSignals(False)
            if self.session is not None and self.session.last_recording is not None:
                self.recording_finished.emit(str(self.session.last_recording))
        self._set_running(False)
        self.status.setText(self.status.text() + f" - ended: {reason}")
        self.stopped.emit(reason)

    def _fit_changed(self) -> None:
        if self.session is not None:
            self.session.display_fit = self.canvas.fit_size()

    def _refresh(self) -> None:
        if self.session is None:
            return
        s = self.session.stats
        model_ms = f", model {self.last_prediction.model_ms:.0f} ms" if self.last_prediction \
            else ""
        rec = " - recording" if self.session.recording else ""
        self.status.setText(f"Read {s.camera_fps:.1f} fps, model {s.model_fps:.1f} fps"
                            f"{model_ms}; frames {s.frames_read}, modelled {s.frames_modelled}"
                            f", dropped {s.dropped}{rec}")
        kind = "expression" if self.kind_box.currentIndex() == 0 else "au"
        t, series = self.session.timeline(self.window_s, kind=kind, top=4)
        for label in [k for k in self.curves if k not in series]:
            self.timeline.removeItem(self.curves.pop(label))
        for label, values in series.items():
            if label not in self.curves:   # a colour no shown curve has
                used = {c.opts["pen"].color().name() for c in self.curves.values()}
                free = [c for c in CURVE_COLOURS if c not in used] or list(CURVE_COLOURS)
                pen = pg.mkPen(free[0], width=2)
                self.curves[label] = self.timeline.plot(name=label, pen=pen)
            self.curves[label].setData(t, values)
        self.legend.setText("&nbsp;&nbsp;".join(
            f'<span style="color:{c.opts["pen"].color().name()}">&#9644;</span> {label}'
            for label, c in self.curves.items()))
        if len(t):
            self.timeline.setXRange(max(0.0, t[-1] - self.window_s), max(t[-1], 1.0),
                                    padding=0)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.stop()
        super().closeEvent(event)
