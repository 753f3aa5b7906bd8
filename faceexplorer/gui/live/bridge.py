"""From the live session's threads to the GUI thread: queued signals, newest frame wins.

The capture thread calls ``frame`` at the camera's rate. Emitting a queued signal per
frame would let frames pile up in the event queue whenever the GUI is slower than the
camera (a resize, a busy plot), and the display would fall behind. So the bridge keeps
only the newest frame and emits ``frame_ready`` when none is waiting to be taken; the GUI
takes it with ``take_frame()``. Predictions are few and small: each is sent as is.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from faceexplorer.inference.live import DisplayFrame, LatestPrediction


class SessionBridge(QObject):
    """Signals for one ``LiveSession``; its three callbacks are ``frame``, ``prediction``, ``end``.

    Signals
    -------
    frame_ready()
        A new frame waits in ``take_frame()``.
    prediction_ready(object)
        A ``LatestPrediction``.
    ended(str)
        The session ended; the reason.
    """

    frame_ready = Signal()
    prediction_ready = Signal(object)
    ended = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._newest: DisplayFrame | None = None
        self.frames_skipped = 0  # frames the GUI never painted because a newer one came

    def frame(self, shown: DisplayFrame) -> None:
        """Called on the capture thread."""
        with self._lock:
            waiting = self._newest is not None
            self.frames_skipped += waiting
            self._newest = shown
        if not waiting:
            self.frame_ready.emit()

    def take_frame(self) -> DisplayFrame | None:
        """The newest frame, once (GUI thread)."""
        with self._lock:
            shown, self._newest = self._newest, None
        return shown

    def prediction(self, latest: LatestPrediction) -> None:
        """Called on the model thread."""
        self.prediction_ready.emit(latest)

    def end(self, reason: str) -> None:
        """Called once, on whichever thread ended last."""
        self.ended.emit(reason)
