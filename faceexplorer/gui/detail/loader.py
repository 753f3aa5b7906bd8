"""Reading an image's detail off the GUI thread, newest request first.

The query (``image_detail``) and the image decoding run on one worker thread with its
own DuckDB cursor (connections are not thread-safe). Requests replace each other: while
the worker is busy, only the newest pending request is kept, so holding an arrow key in
the browser never queues stale images; the answer of an older request is dropped by id.
The worker never touches Qt objects; it hands a :class:`Loaded` back through a signal,
which Qt queues onto the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal, SignalInstance

from faceexplorer.core.newest_worker import NewestWorker, Spawn, thread_spawn
from faceexplorer.reports.image_detail import ImageDetail

#: Longest side drawn at full resolution; larger images are shown downscaled (the scene
#: keeps original pixel coordinates, so boxes and landmarks still fit).
MAX_SIDE = 2048


@dataclass(frozen=True, eq=False)
class FaceImage:
    """A decoded image ready to draw: RGB uint8, C-contiguous, and its original size."""

    rgb: np.ndarray
    width: int
    height: int


@dataclass(frozen=True, eq=False)
class Loaded:
    """The worker's answer to one request: a detail and its image, or why not."""

    request: int
    detail: ImageDetail | None = None
    image: FaceImage | None = None
    #: Why the image is not shown (missing or unreadable file), for the placeholder.
    image_problem: str | None = None
    #: Why there is no detail at all (unknown image, broken index).
    error: str | None = None


def read_image(path: Path) -> FaceImage:
    """Decode ``path`` to RGB uint8, downscaled when its longest side exceeds MAX_SIDE.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is not an image OpenCV can decode.
    """
    # imdecode of the bytes rather than imread: imread cannot open non-ASCII paths on
    # Windows, and the user's dataset folders are theirs to name.
    data = np.fromfile(str(path), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: not an image OpenCV can decode")
    h, w = bgr.shape[:2]
    if max(h, w) > MAX_SIDE:
        f = MAX_SIDE / max(h, w)
        bgr = cv2.resize(bgr, (max(1, round(w * f)), max(1, round(h * f))),
                         interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return FaceImage(rgb=rgb, width=w, height=h)


def load(query: Callable[[], ImageDetail], request: int) -> Loaded:
    """Run ``query`` and read the image of its AffectNet row (the worker's job)."""
    try:
        detail = query()
    except Exception as exc:  # noqa: BLE001 - shown to the user instead of the detail
        return Loaded(request, error=str(exc) or type(exc).__name__)
    a = detail.affectnet
    if a is None:
        return Loaded(request, detail, image_problem=(
            f"AffectNet row {detail.split} {detail.row_index} is not in the index: import "
            "AffectNet's training.csv to see this image, its box and landmarks"))
    if not a.image_path.is_file():
        return Loaded(request, detail, image_problem=f"Image file not found: {a.image_path}")
    try:
        return Loaded(request, detail, image=read_image(a.image_path))
    except (OSError, ValueError) as exc:
        return Loaded(request, detail, image_problem=f"Cannot read the image: {exc}")


class DetailLoader(QObject):
    """Serves the newest :meth:`request` on a worker thread; answers on :attr:`loaded`.

    The thread lives only while there is work (``core.newest_worker``): it drains the
    pending request and exits, so nothing is left running (holding a DuckDB cursor) when
    the app shuts down.
    """

    loaded = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = _LoadWorker(self.loaded)

    def use(self, spawn: Spawn | None) -> None:
        """Run on ``spawn`` (the window's task runner) from now on; None: own threads."""
        self._worker.spawn = spawn or thread_spawn

    def request(self, request: int, query: Callable[[], ImageDetail]) -> None:
        """Run ``query`` soon, replacing any request not started yet."""
        self._worker.submit((request, query))

    def idle(self) -> bool:
        """No request running or pending (its answer may still be queued to the GUI)."""
        return self._worker.idle()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Drop what is pending and wait for the running request (before closing a cursor)."""
        return self._worker.drop_pending(timeout)

    def stop(self) -> None:
        """Refuse further requests and wait for the running one."""
        self._worker.close()


class _LoadWorker(NewestWorker[tuple[int, Callable[[], ImageDetail]], Loaded]):
    thread_name = "detail-loader"

    def __init__(self, loaded: SignalInstance) -> None:
        super().__init__()
        self._loaded = loaded

    def submit(self, request: tuple[int, Callable[[], ImageDetail]]) -> None:
        self._submit(request)

    def _work(self, request: tuple[int, Callable[[], ImageDetail]]) -> Loaded:
        return load(request[1], request[0])   # the cursor is not held past its job

    def _done(self, request: tuple[int, Callable[[], ImageDetail]], result: Loaded) -> bool:
        try:
            self._loaded.emit(result)   # queued to the GUI thread
        except RuntimeError:  # the panel was deleted meanwhile: nobody to tell
            return False
        return True
