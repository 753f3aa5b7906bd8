"""Decoding HRM frames off the GUI thread, newest request only.

:class:`FrameLoader` owns one worker thread and one pending slot: a request replaces
whatever is still waiting, so a scrub of 300 frames decodes only what the worker had
time for and always ends on the last frame asked for. The worker owns the frame source
(``faceexplorer.media.frames`` sources are not thread-safe: it closes a source it no
longer serves) and hands each result back by a signal, which Qt queues onto the GUI
thread. Requests are numbered so the receiver can drop answers it has overtaken.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from faceexplorer.media.frames import FrameResult, FrameSource, Missing


@dataclass(frozen=True, eq=False)
class Loaded:
    """The worker's answer to request number ``request``: frame ``frame`` of ``source``."""

    request: int
    source: FrameSource
    frame: int
    result: FrameResult


class FrameLoader(QObject):
    """Decodes frames on one worker thread, serving only the newest request."""

    loaded = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._pending: tuple[int, FrameSource, int] | None = None
        self._stop = False
        self._serial = 0
        #: Requests made and frames actually decoded, for tests and benchmarks.
        self.requests = 0
        self.decodes = 0
        self._thread = threading.Thread(target=self._run, name="hrm-frame-loader", daemon=True)
        self._thread.start()

    def request(self, source: FrameSource, frame: int) -> int:
        """Ask for ``frame`` of ``source``, replacing any request still waiting."""
        with self._cond:
            self._serial += 1
            self.requests += 1
            self._pending = (self._serial, source, frame)
            self._cond.notify()
            return self._serial

    def close(self) -> None:
        """Stop the worker (after its current decode) and release its source."""
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        current: FrameSource | None = None
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    break
                serial, source, frame = self._pending
                self._pending = None
            if source is not current:
                if current is not None:
                    current.close()     # a video capture belongs to this thread
                current = source
            try:
                result = source.frame(frame)
            except Exception as exc:  # noqa: BLE001 (a broken file must not kill the worker)
                result = Missing(frame, "unreadable", f"frame {frame} could not be read: {exc}")
            self.decodes += 1
            try:
                self.loaded.emit(Loaded(serial, source, frame, result))
            except RuntimeError:    # the receiving widget is gone: nothing left to serve
                break
        if current is not None:
            current.close()
