"""Face thumbnails loaded on a worker thread, newest requests first, with an LRU cache.

The browser asks for the thumbnails of the page it shows; paging fast must never queue
stale work, so pending requests form a stack (the newest page is served first) that the
browser can clear, and a request already pending just moves to the top. Up to
``workers`` drain jobs (two: decoding is OpenCV's, which lets go of the GIL, so two decode
at once on a two-core laptop while the GUI thread waits for the page's faces) work the
stack down and end when it is empty; they run where ``spawn`` says (the window's task
runner, see :meth:`ThumbnailLoader.use`; threads of their own otherwise). While the user's
click on an image is being answered (:meth:`ThumbnailLoader.pause` until
:meth:`~ThumbnailLoader.resume`, or ``PAUSE_S`` at most) no new decode starts and the
drains leave their pool threads (the click's worker needs one), and :class:`ReadyBatches`
holds back the grid's repaints: both cores and the GUI thread are the detail panel's. One
decoder left running made a click in a loading page wait for it (issue 18, "select
busy": p95 ~70 ms at load 2-3).
The loader's state (a lock-protected stack, the cache) talks to the GUI only through the
``ready`` signal, queued to the GUI thread by Qt. QImage (not QPixmap) is built on the
worker: QImage is safe off the GUI thread. :class:`ReadyBatches` gathers the answers that
arrive close together, so a view repaints once per batch rather than once per tile.

A tile shows the face, not the photo: :func:`face_tile` decodes a JPEG at 1/2, 1/4 or
1/8 of its size whenever the face crop still has at least the tile's pixels (libjpeg
scales in the DCT domain: a 1,000-px AffectNet photo's tile costs ~1.5 ms instead of
~10). Other formats decode whole; a missing or unreadable file gives the same
:class:`MissingImage` as :func:`~faceexplorer.media.images.face_thumbnail`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from faceexplorer.core.newest_worker import Spawn, thread_spawn
from faceexplorer.media.images import (
    FACE_MARGIN,
    MissingImage,
    face_crop,
    read_image,
    thumbnail,
)

#: The longest a click's pause holds the second decoder back (s).
PAUSE_S = 0.3
#: Decode scales libjpeg does in the DCT domain, largest first.
_SCALES = (8, 4, 2)


def decode_scale(box: tuple[int, int, int, int] | None, size: int) -> int:
    """The largest JPEG scale-down (1, 2, 4, 8) that leaves the face crop ``size`` px."""
    if box is None or box[2] <= 0 or box[3] <= 0:
        return 1
    side = max(box[2], box[3]) * (1 + 2 * FACE_MARGIN)
    return next((f for f in _SCALES if side / f >= size), 1)


def face_tile(path: str | Path | None, box: tuple[int, int, int, int] | None,
              size: int = 128) -> np.ndarray | MissingImage:
    """The face of ``path`` (``box``, margin as ``face_crop``) scaled to ``size``: RGB uint8."""
    if path is None:
        return MissingImage(None, "no image file known")
    scale = decode_scale(box, size)
    rgb = read_image(path, reduce=scale)
    if isinstance(rgb, MissingImage):
        return rgb
    if box is not None and scale > 1:
        box = tuple(int(round(v / scale)) for v in box)  # type: ignore[assignment]
    return thumbnail(face_crop(rgb, box), size)


def to_qimage(rgb) -> QImage:
    """A deep-copied QImage of an RGB uint8 array (H, W, 3)."""
    height, width = rgb.shape[:2]
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: the numpy buffer goes away


class ThumbnailLoader(QObject):
    """Loads face thumbnails off the GUI thread.

    ``request(key, path, box)`` returns the cached result at once (QImage or
    MissingImage) or None after queueing the work; ``ready(key, result)`` follows.
    """

    ready = Signal(object, object)

    def __init__(self, size: int = 128, capacity: int = 2000, workers: int = 2,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size = size
        self.capacity = capacity
        self.workers = max(1, workers)
        self._cache: OrderedDict[Hashable, object] = OrderedDict()
        self._pending: OrderedDict[Hashable, tuple] = OrderedDict()  # newest last
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._working = 0        # thumbnails being decoded
        self._drains = 0         # drain jobs started and not ended
        self._limit = self.workers           # decoding at once now (pause: 0)
        self._spawn: Spawn = thread_spawn
        self._lapse = QTimer(self)           # a pause nobody ends
        self._lapse.setSingleShot(True)
        self._lapse.timeout.connect(self.resume)

    def use(self, spawn: Spawn | None) -> None:
        """Drain on ``spawn`` (the window's task runner) from now on; None: own threads."""
        self._spawn = spawn or thread_spawn

    def request(self, key: Hashable, path: str | None,
                box: tuple[int, int, int, int] | None) -> object | None:
        """The thumbnail of ``key`` if cached, else None (it will come by ``ready``)."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            self._pending.pop(key, None)
            self._pending[key] = (path, box)
            if self._drains >= self._limit or self._stopping:
                return None   # a drain will take it (after a pause: resume starts one)
            self._drains += 1
        self._spawn(self._run, "thumbnails")
        return None

    @property
    def paused(self) -> bool:
        return self._limit == 0

    def pause(self, seconds: float | None = None) -> None:
        """Start no decode for a moment (a click is being answered; GUI thread)."""
        with self._lock:
            self._limit = 0
        self._lapse.start(round(1000 * (PAUSE_S if seconds is None else seconds)))

    def resume(self) -> None:
        """Decode with every drain again (the click's answer is painted; GUI thread)."""
        self._lapse.stop()
        with self._lock:
            self._limit = self.workers
            start = 0 if self._stopping else min(self.workers - self._drains,
                                                  len(self._pending))
            self._drains += max(start, 0)
        for _ in range(start):
            self._spawn(self._run, "thumbnails")

    def cancel_pending(self) -> None:
        """Forget queued requests (the page they were for is gone)."""
        with self._lock:
            self._pending.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def idle(self) -> bool:
        """Nothing queued and nothing being loaded (every answer has been emitted)."""
        with self._lock:
            return not self._pending and not self._working and not self._drains

    def stop(self, timeout: float = 5.0) -> None:
        """Refuse further work and wait for the thumbnail in progress."""
        with self._lock:
            self._stopping = True
            self._pending.clear()
            self._wake.wait_for(lambda: not self._drains, timeout)

    def _run(self) -> None:
        try:
            self._drain()
        finally:
            with self._lock:
                self._drains -= 1
                self._wake.notify_all()

    def _drain(self) -> None:
        while True:
            with self._lock:
                # paused: leave the pool thread to the click (resume starts drains again)
                if not self._pending or self._stopping or self._working >= self._limit:
                    return
                key, (path, box) = self._pending.popitem(last=True)  # newest first
                self._working += 1
            try:
                result = face_tile(path, box, self.size)
                out = result if isinstance(result, MissingImage) else to_qimage(result)
                with self._lock:
                    if self._stopping:
                        return
                    self._cache[key] = out
                    while len(self._cache) > self.capacity:
                        self._cache.popitem(last=False)
                try:
                    self.ready.emit(key, out)
                except RuntimeError:    # the browser is gone: nobody to tell
                    return
            finally:
                with self._lock:
                    self._working -= 1


class ReadyBatches(QObject):
    """Collects ``loader.ready`` answers and emits them together every ``interval_ms``."""

    batch = Signal(dict)

    def __init__(self, loader: ThumbnailLoader, interval_ms: int = 40,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self._ready: dict[str, object] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._flush)
        loader.ready.connect(self._add)

    def settled(self) -> bool:
        """Nothing loading, nothing waiting to be emitted."""
        return self.loader.idle() and not self._timer.isActive() and not self._ready

    def _add(self, key: object, thumb: object) -> None:
        self._ready[str(key)] = thumb
        if not self._timer.isActive():
            self._timer.start()

    def _flush(self) -> None:
        if self.loader.paused:   # a click is being answered: repaint the grid after it
            self._timer.start()
            return
        ready, self._ready = self._ready, {}
        self.batch.emit(ready)
