"""Decoding HRM frames off the GUI thread, newest request only.

:class:`FrameLoader` keeps one pending slot and runs one drain job at a time (the
newest-request pattern of ``core.newest_worker``, on the window's task runner): a
request replaces whatever is still waiting, so a scrub of 300 frames decodes only what
the drain had time for and always ends on the last frame asked for. Only the drain
touches the frame source (``faceexplorer.media.frames`` sources are not thread-safe; one
drain at a time uses it, and it closes a source it no longer serves) and hands each
result back by a signal, which Qt queues onto the GUI thread. Requests are numbered so
the receiver can drop answers it has overtaken.

The worker also does the pixel work of display: it scales the frame to the size the
canvas asked for (``cv2.INTER_AREA`` down, linear up) and lays it out as Qt's native
32-bit ``RGB32`` (BGRA bytes), which the raster engine paints without conversion
(measured 640x480 at 1.3x: RGB888 7 ms, RGB32 2 ms a paint; 1:1 is cheaper still).
The GUI thread only wraps the bytes in a QImage and draws them. A child's video is
opened by the worker too, at its first frame (:class:`DeferredChildFrames`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal, SignalInstance

from faceexplorer.core.newest_worker import NewestWorker, Spawn, thread_spawn
from faceexplorer.media.frames import (
    DEFAULT_FPS,
    ChildFrames,
    Frame,
    FrameResult,
    FrameSource,
    Missing,
)


class DeferredChildFrames:
    """A child's :class:`ChildFrames`, made by the loader's worker at its first frame.

    Opening a video (container probe, two calibration decodes: ~5 ms) ran on the GUI
    thread inside every child's open. What the viewer needs at once comes from the index
    instead: the video's length (``video_frames``, which ``ChildFrames`` reports as given
    anyway). The frame rate is the video's own: until the worker has opened it, ``fps``
    is HRM's :data:`DEFAULT_FPS`; the viewer re-describes its frame if the first answer
    brings another rate. Use only when ``video_frames`` is known (else the length needs
    the open).
    """

    def __init__(self, child: str, frames_dir: str | None, video_path: str | None,
                 video_frames: int | None, prefer: Literal["frames", "video"]) -> None:
        self._args = (child, frames_dir, video_path, video_frames, prefer)
        self._source: ChildFrames | None = None
        self.fps = DEFAULT_FPS
        self.n_video_frames = video_frames if video_path else None
        self.description = f"{child} (not opened yet)"

    def opened(self) -> ChildFrames:
        """The real source (made on first use: call from the worker thread)."""
        if self._source is None:
            self._source = ChildFrames(*self._args)
            self.fps, self.description = self._source.fps, self._source.description
        return self._source

    def beyond_video(self, n: int) -> bool:
        """Whether frame ``n`` lies past the end of the child's video."""
        return self.n_video_frames is not None and n >= self.n_video_frames

    def frame(self, n: int) -> FrameResult:
        return self.opened().frame(n)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()


@dataclass(frozen=True, eq=False)
class Loaded:
    """The worker's answer to request number ``request``: frame ``frame`` of ``source``."""

    request: int
    source: FrameSource
    frame: int
    result: FrameResult
    #: The frame scaled to fit the requested size, as (H, W, 4) BGRA uint8 (QImage RGB32);
    #: None for a Missing result.
    display: np.ndarray | None = None


def fit_for_display(rgb: np.ndarray, fit: tuple[int, int] | None) -> np.ndarray:
    """``rgb`` scaled to fit in ``fit`` = (width, height) keeping its aspect, as BGRA.

    Parameters
    ----------
    rgb
        (H, W, 3) uint8 frame.
    fit
        Device pixels available; None keeps the frame's own size.

    Returns
    -------
    ndarray
        (h, w, 4) uint8, C-contiguous, bytes in QImage ``Format_RGB32`` order.
    """
    height, width = rgb.shape[:2]
    if fit is not None and fit[0] > 0 and fit[1] > 0:
        scale = min(fit[0] / width, fit[1] / height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size != (width, height):
            method = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            rgb = cv2.resize(rgb, size, interpolation=method)
    return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA))


class FrameLoader(QObject):
    """Decodes frames off the GUI thread, serving only the newest request."""

    loaded = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._serial = 0
        #: Requests made, for tests and benchmarks (frames decoded: ``decodes``).
        self.requests = 0
        self._worker = _FrameWorker(self.loaded)

    @property
    def decodes(self) -> int:
        """Frames actually decoded (a request overtaken while waiting is not)."""
        return self._worker.decodes

    def use(self, spawn: Spawn | None) -> None:
        """Decode on ``spawn`` (the window's task runner) from now on; None: own threads."""
        self._worker.spawn = spawn or thread_spawn

    def request(self, source: FrameSource, frame: int,
                fit: tuple[int, int] | None = None) -> int:
        """Ask for ``frame`` of ``source`` scaled to ``fit`` (width, height), replacing any
        request still waiting; returns the request's number."""
        self._serial += 1
        self.requests += 1
        self._worker.submit((self._serial, source, frame, fit))
        return self._serial

    def close(self, timeout: float = 5.0) -> None:
        """Stop decoding (after the current decode) and release the source."""
        self._worker.close(timeout)
        self._worker.release_source()


_Request = tuple[int, FrameSource, int, tuple[int, int] | None]


class _FrameWorker(NewestWorker[_Request, Loaded]):
    """The newest request's decode (``core.newest_worker``); only its drain touches the
    frame source, and it closes a source it no longer serves."""

    thread_name = "hrm-frame-loader"

    def __init__(self, loaded: SignalInstance) -> None:
        super().__init__()
        self._loaded = loaded
        self._current: FrameSource | None = None   # the source the drains serve
        self.decodes = 0

    def submit(self, request: _Request) -> None:
        self._submit(request)

    def release_source(self) -> None:
        with self._cond:
            current, self._current = self._current, None
        if current is not None:
            current.close()

    def _work(self, request: _Request) -> Loaded:
        serial, source, frame, fit = request
        if source is not self._current:
            if self._current is not None:
                self._current.close()     # a source is served by one drain at a time
            self._current = source
        display = None
        try:
            result = source.frame(frame)
            if isinstance(result, Frame):
                display = fit_for_display(result.rgb, fit)
        except Exception as exc:  # noqa: BLE001 (a broken file must not kill the worker)
            result = Missing(frame, "unreadable", f"frame {frame} could not be read: {exc}")
        self.decodes += 1
        return Loaded(serial, source, frame, result, display)

    def _done(self, request: _Request, result: Loaded) -> bool:
        try:
            self._loaded.emit(result)   # queued to the GUI thread
        except RuntimeError:    # the receiving widget is gone: nothing left to serve
            return False
        return True
