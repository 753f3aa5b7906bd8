"""The HRM frame viewer: a child's face at the timeline's cursor, stepped, scrubbed or played.

Decoding never runs on the GUI thread: :class:`~faceexplorer.gui.hrm.frame_loader.FrameLoader`
serves only the newest request, so scrubbing never queues stale frames. The child's
frames come from ``faceexplorer.media.frames.ChildFrames`` (frames folder first, video for
what it lacks, or the other way round); what cannot be shown is named in a placeholder.

Playback is paced by the clock, not by counting timer ticks: each tick shows the frame
``start + elapsed x fps``, so a slow decode drops frames instead of slowing the video.

Sync with the timeline: ``set_frame`` (slot) moves the viewer without emitting;
``frame_shown`` is emitted only when the viewer's own controls (keys, buttons, slider,
playback) move it, so the two never echo each other. ``frame_displayed`` says a frame's
image (or its placeholder) is on screen, for tests and benchmarks.
"""

from __future__ import annotations

import time
from typing import Final

import duckdb
import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.kinds import DatasetKind
from faceexplorer.gui.core.session import IndexView
from faceexplorer.gui.fit import ElidedLabel, compact_buttons
from faceexplorer.gui.hrm.frame_canvas import FrameCanvas
from faceexplorer.gui.hrm.frame_loader import DeferredChildFrames, FrameLoader, Loaded
from faceexplorer.index import hrm_query
from faceexplorer.index.hrm_query import Timeline
from faceexplorer.media.frames import ChildFrames, Frame

#: Ask for a newly opened child's first frame once the events queued so far (the tab's
#: paint among them) have run: a worker opening the video and decoding meanwhile takes
#: turns with the GUI thread for the interpreter, and the timeline came ~10 ms later
#: (full scale) while the frame came no sooner.
DEFER_FIRST_FRAME = True

#: Frames moved by Shift+Left/Right and the -N/+N buttons unless the user changes it.
BIG_STEP: Final[int] = 10


def format_time(seconds: float) -> str:
    """``m:ss.ss`` for the frame's time in the video."""
    minutes, rest = divmod(max(seconds, 0.0), 60.0)
    return f"{int(minutes)}:{rest:05.2f}"


class FrameViewer(QWidget, IndexView):
    """One child's frames with play/pause, steps, a slider and keyboard control.

    Signals
    -------
    frame_shown(int)
        The viewer's own controls moved it to this frame (sync the timeline cursor).
    frame_displayed(int)
        This frame's image, or its placeholder, is now on screen.
    """

    index_kinds = frozenset({DatasetKind.HRM})

    frame_shown = Signal(int)
    frame_displayed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timeline: Timeline | None = None
        self.source: ChildFrames | DeferredChildFrames | None = None
        self.frame: int | None = None
        self.lo = self.hi = 0
        self._shown_request = 0
        self._described_fps = 0.0
        self._play_anchor: tuple[float, int] | None = None
        self._defer_next = False
        self._deferred: tuple | None = None
        self.loader = FrameLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        app = QCoreApplication.instance()
        if app is not None:
            # An embedded viewer gets no closeEvent: stop the worker when the app quits.
            app.aboutToQuit.connect(self.shutdown)
        self.timer = QTimer(self, timerType=Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build()
        self._show_placeholder("No child open: choose one in the navigator.")
        self._enable(False)

    # --- construction -------------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel("Frames", self)
        self.title.setStyleSheet("font-weight: bold;")
        self.position = ElidedLabel("", self)
        self.position.setObjectName("framePosition")
        self.origin = ElidedLabel("", self)
        self.origin.setStyleSheet("color: #555;")
        self.notice = QLabel(self)
        self.notice.setObjectName("frameNotice")
        self.notice.setStyleSheet("color: #a00000; font-weight: bold;")
        self.notice.setWordWrap(True)
        self.notice.hide()

        self.canvas = FrameCanvas(self)
        # A click on the image gives the keys to the viewer (the nearest focusable parent).
        self.canvas.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # After a resize, ask again for the frame on show at the new size (once settled).
        self._refit = QTimer(self, singleShot=True, interval=80)
        self._refit.timeout.connect(self._request)
        self.canvas.resized.connect(self._refit.start)
        self.placeholder = QLabel(self)
        self.placeholder.setObjectName("framePlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("background: #303030; color: #f0f0f0; padding: 12px;")
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.canvas)
        self.stack.addWidget(self.placeholder)

        def button(text: str, tip: str, slot) -> QPushButton:
            b = QPushButton(text, self)
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # keys stay with the viewer
            b.clicked.connect(slot)
            return b

        self.first_button = button("|◀", "First frame (Home)", self.go_first)
        self.back_n = button("◀◀ N", "Back N frames (Shift+Left)", lambda: self.step(-self.n))
        self.back_1 = button("◀ 1", "Back one frame (Left)", lambda: self.step(-1))
        self.play_button = button("▶ Play", "Play / pause at the video's rate (Space)",
                                  self.toggle_play)
        self.fwd_1 = button("1 ▶", "Forward one frame (Right)", lambda: self.step(1))
        self.fwd_n = button("N ▶▶", "Forward N frames (Shift+Right)", lambda: self.step(self.n))
        self.last_button = button("▶|", "Last frame (End)", self.go_last)
        self.n_spin = QSpinBox(self, minimum=2, maximum=1000, value=BIG_STEP, prefix="N = ")
        self.n_spin.setToolTip("Frames moved by the N buttons and Shift+Left/Right")
        # Only a click gives the spin box the keys; arrows otherwise step the frames.
        self.n_spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.prefer = QComboBox(self)
        self.prefer.addItems(["Frames folder first", "Video first"])
        self.prefer.setToolTip("Where frames are read from; the other fills what is missing")
        self.prefer.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.prefer.currentIndexChanged.connect(self._reopen)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.valueChanged.connect(self._go)

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.position, 1)
        top.addWidget(self.origin)
        # the buttons shrink to their text on a laptop rather than widening the window
        compact_buttons(self.first_button, self.back_n, self.back_1, self.play_button,
                        self.fwd_1, self.fwd_n, self.last_button, padding=10)
        controls = QHBoxLayout()
        for w in (self.first_button, self.back_n, self.back_1, self.play_button, self.fwd_1,
                  self.fwd_n, self.last_button, self.n_spin):
            controls.addWidget(w)
        controls.addStretch(1)
        controls.addWidget(self.prefer)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.slider)
        layout.addLayout(controls)

    @property
    def n(self) -> int:
        """Frames in one big step."""
        return self.n_spin.value()

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def _enable(self, on: bool) -> None:
        for w in (self.first_button, self.back_n, self.back_1, self.play_button, self.fwd_1,
                  self.fwd_n, self.last_button, self.slider, self.prefer):
            w.setEnabled(on)

    # --- child ----------------------------------------------------------------------------
    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        self.loader.use(self.session.tasks.spawn if self.session is not None else None)
        self._show_index(con)

    def _show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Use ``con`` (None: no index); the open child is reloaded if it still exists."""
        child = self.timeline.child if self.timeline is not None else None
        self.set_timeline(None)
        if not hrm_query.has_hrm(con):
            self._show_placeholder("No Hugging Rain Man data in this index.")
        elif child is not None:
            self.load_child(child)

    @Slot(str)
    def load_child(self, child: str) -> None:
        """Open ``child`` from the index (its frames, segments and media)."""
        if self.con is None:
            self._show_placeholder("No index open.")
            return
        try:
            tl = hrm_query.child_timeline(self.con, child, aus=(), openface=False)
        except FaceExplorerError as exc:
            self.show_error(str(exc))
            return
        self.set_timeline(tl)

    def show_error(self, text: str) -> None:
        """No child to show: say why."""
        self.set_timeline(None)
        self._show_placeholder(text)

    def set_timeline(self, tl: Timeline | None) -> None:
        """Show the frames of ``tl``'s child (a timeline the caller already loaded)."""
        self.pause()
        self.timeline, self.frame = tl, None
        self.source = None
        if tl is None:
            self._enable(False)
            self.title.setText("Frames")
            self.position.clear()
            self.origin.clear()
            self.notice.hide()
            self._show_placeholder("No child open: choose one in the navigator.")
            return
        self._reopen()

    def _reopen(self) -> None:
        """(Re)make the child's frame source; the old one is closed by the worker."""
        tl = self.timeline
        if tl is None:
            return
        prefer = "video" if self.prefer.currentIndex() == 1 else "frames"
        if tl.video_path and tl.video_frames is None:   # its length needs the open
            self.source = ChildFrames(tl.child, tl.frames_dir, tl.video_path, None,
                                      prefer=prefer)
        else:
            self.source = DeferredChildFrames(tl.child, tl.frames_dir, tl.video_path,
                                              tl.video_frames, prefer)
        # The video shows frames before, between and after the labelled ones too.
        video_end = (self.source.n_video_frames or 0) - 1
        self.lo = 0 if video_end >= 0 else tl.first_frame
        self.hi = max(tl.last_frame, video_end)
        self.slider.blockSignals(True)
        self.slider.setRange(self.lo, self.hi)
        self.slider.setPageStep(self.n)
        self.slider.blockSignals(False)
        self.title.setText(f"{tl.child} ({tl.grp})" if tl.grp else tl.child)
        self._enable(True)
        frame, self.frame = self.frame, None
        self._defer_next = DEFER_FIRST_FRAME
        self.set_frame(tl.first_frame if frame is None else frame)

    # --- moving ---------------------------------------------------------------------------
    @Slot(int)
    def set_frame(self, frame: int) -> None:
        """Show ``frame`` (clamped to the child's range) without emitting ``frame_shown``."""
        if self.source is None:
            return
        frame = int(min(max(int(frame), self.lo), self.hi))
        if frame == self.frame:
            return
        self.frame = frame
        if self.playing:
            self._play_anchor = (time.monotonic(), frame)
        self.slider.blockSignals(True)
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        self._describe(frame)
        self._request()

    def _request(self) -> None:
        if self._defer_next:
            self._defer_next = False
            QTimer.singleShot(0, self, self._request_deferred)
            self._deferred = (self.source, self.frame)
            return
        if self.source is not None and self.frame is not None:
            self._deferred = None
            self.loader.request(self.source, self.frame, self.canvas.fit_size())

    def _request_deferred(self) -> None:
        if self._deferred is not None and self._deferred == (self.source, self.frame):
            self._request()

    def _go(self, frame: int) -> None:
        """Move by the viewer's own controls, and tell the timeline."""
        before = self.frame
        self.set_frame(frame)
        if self.frame is not None and self.frame != before:
            self.frame_shown.emit(self.frame)

    def step(self, frames: int) -> None:
        """Move ``frames`` forward (negative: back); pauses playback."""
        if self.frame is not None:
            self.pause()
            self._go(self.frame + frames)

    def go_first(self) -> None:
        self.pause()
        self._go(self.lo)

    def go_last(self) -> None:
        self.pause()
        self._go(self.hi)

    def play(self) -> None:
        """Play from the current frame at the video's native rate (from the end: restart)."""
        if self.source is None or self.frame is None or self.playing:
            return
        if self.frame >= self.hi:
            self._go(self.lo)
        self._play_anchor = (time.monotonic(), self.frame)
        self.timer.start(max(1, round(1000.0 / self.source.fps)))
        self.play_button.setText("⏸ Pause")

    def pause(self) -> None:
        self.timer.stop()
        self._play_anchor = None
        self.play_button.setText("▶ Play")

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def _tick(self) -> None:
        if self._play_anchor is None or self.source is None:
            return
        t0, f0 = self._play_anchor
        target = f0 + int((time.monotonic() - t0) * self.source.fps)
        if target >= self.hi:
            self.pause()
            target = self.hi
        if target != self.frame:
            anchor = self._play_anchor
            self._go(target)
            if anchor is not None and self.playing:
                self._play_anchor = anchor     # playback's own moves keep the clock

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        key, shift = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            size = self.n if shift else 1
            self.step(size if key == Qt.Key.Key_Right else -size)
        elif key == Qt.Key.Key_Space:
            self.toggle_play()
        elif key == Qt.Key.Key_Home:
            self.go_first()
        elif key == Qt.Key.Key_End:
            self.go_last()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # --- what is on screen ----------------------------------------------------------------
    def _describe(self, frame: int) -> None:
        tl, source = self.timeline, self.source
        if tl is None or source is None:
            return
        self._described_fps = source.fps
        seconds = frame / source.fps
        self.position.setText(f"frame {frame}  ·  {format_time(seconds)}  ·  "
                              f"{self.segment_text(frame)}")
        if source.beyond_video(frame):
            self.notice.setText(f"Frame {frame} is beyond the end of the video "
                                f"({source.n_video_frames} frames): labels run past it.")
            self.notice.show()
        else:
            self.notice.hide()

    def segment_text(self, frame: int) -> str:
        """``segment k of K``, or where the frame sits between labelled segments."""
        tl = self.timeline
        if tl is None or not tl.segments:
            return "no labelled segments"
        count = len(tl.segments)
        segment = tl.segment_of(frame)
        if segment is not None:
            return f"segment {segment} of {count}"
        starts = np.array([a for a, _ in tl.segments])
        k = int(np.searchsorted(starts, frame))       # segments starting after the frame
        if k == 0:
            return "before segment 1 (not labelled)"
        if k == count:
            return "after the last segment (not labelled)"
        return f"between segments {k} and {k + 1} (not labelled)"

    def _on_loaded(self, loaded: Loaded) -> None:
        if loaded.source is not self.source or loaded.request <= self._shown_request:
            return      # a child no longer open, or overtaken by a newer answer
        self._shown_request = loaded.request
        if self.frame is not None and self._described_fps != loaded.source.fps:
            self._describe(self.frame)     # the video, now open, has its own frame rate
        result = loaded.result
        if isinstance(result, Frame) and loaded.display is not None:
            self.canvas.show_frame(result.rgb, loaded.display)
            self.stack.setCurrentWidget(self.canvas)
            if not self.canvas.is_sharp():
                self._refit.start(0)      # asked for at another size: ask again at this one
            self.origin.setText("from the frames folder" if result.origin == "frames"
                                else "from the video")
        else:
            self._show_placeholder(result.message)
            self.origin.clear()
        self.frame_displayed.emit(loaded.frame)

    def _show_placeholder(self, text: str) -> None:
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop playback and the worker thread, and let go of the index.

        Runs on close and when the application quits; a viewer embedded in a window that
        outlives it should call it when removing the viewer.
        """
        self.pause()
        self.loader.close()
