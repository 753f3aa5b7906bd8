"""Overlap for batch runs: items loaded ahead on one thread, chunks written on another.

A batch run spends its time in three places: decoding and cropping images (cv2), the
model (onnxruntime) and writing chunks to the index (DuckDB). All three release the GIL,
so ``Prefetcher`` loads the next items (in order, on one worker, since HRM video frames
are read sequentially) while the model runs, and ``ChunkWriter`` writes a finished chunk
while the next one is predicted. Both keep their queues short (memory stays bounded) and
never run two index accesses at once: the writer is one thread, and the run waits for it
(``close``) before it touches the index again. A failure on either thread is raised on
the run's thread at the next hand-over, never lost.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_END = object()


class Prefetcher(Generic[T, R]):
    """Iterate ``load(item)`` over ``items`` in order, computed ``ahead`` items early."""

    def __init__(self, items: Iterable[T], load: Callable[[T], R], ahead: int = 32) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, ahead))
        self._stop = threading.Event()
        self._items, self._load = items, load
        self._thread = threading.Thread(target=self._work, name="batch-prefetch", daemon=True)
        self._thread.start()

    def _put(self, value: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        try:
            for item in self._items:
                if not self._put((item, self._load(item))):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)
            return
        self._put(_END)

    def __iter__(self) -> Iterator[tuple[T, R]]:
        while True:
            value = self._queue.get()
            if value is _END:
                return
            if isinstance(value, BaseException):
                raise value
            yield value

    def close(self) -> None:
        """Stop loading (after the item in hand) and wait for the worker."""
        self._stop.set()
        self._thread.join()


class ChunkWriter:
    """Writes chunks of rows with ``write(rows)`` on one background thread, in order.

    ``on_written(rows)`` runs on that thread after each chunk is committed. At most
    ``depth`` chunks wait, so a slow index slows the run instead of filling memory.
    """

    def __init__(self, write: Callable[[list[dict[str, Any]]], None],
                 on_written: Callable[[list[dict[str, Any]]], None], depth: int = 2) -> None:
        self._write, self._on_written = write, on_written
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="batch-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (rows := self._queue.get()) is not _END:
            if self._error is None:  # after a failure, later chunks are not written
                try:
                    self._write(rows)
                    self._on_written(rows)
                except BaseException as exc:
                    self._error = exc

    def submit(self, rows: list[dict[str, Any]]) -> None:
        """Queue a chunk (a copy is taken); raises a failure of an earlier chunk."""
        self._raise()
        if rows:
            self._queue.put(list(rows))

    def close(self) -> None:
        """Write what is queued, stop the thread, raise the first failure if any."""
        self._queue.put(_END)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
