"""Results computed off the GUI thread, once per key while the index stays the same.

Set statistics (Dawid-Skene) and HRM reports (a cluster bootstrap) take a second or
more, so :class:`BackgroundCache` runs ``compute(cursor, key)`` through
:meth:`IndexSession.read <faceexplorer.gui.core.session.IndexSession.read>` on the
window's task runner, with a cursor of its own, and caches the result by key. Each key is
a lane of its own (asking again for a key being computed does not start it twice).
:meth:`BackgroundCache.sync` forgets the results when the session's index is no longer
the one they were computed on (it was closed, reopened or written; see
``IndexSession.generation``); :meth:`reset` always does. Results of an older generation
are dropped and their jobs cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
from PySide6.QtCore import QObject, Signal

from faceexplorer.gui.core.session import IndexSession
from faceexplorer.gui.core.tasks import TaskContext

#: ``compute(cursor, key) -> result``, run on a worker thread.
Compute = Callable[[duckdb.DuckDBPyConnection, Any], Any]


class BackgroundCache(QObject):
    """``compute(cursor, key)`` per key, computed in the background on :meth:`request`.

    Signals
    -------
    ready(key)
        The result of this key is now cached.
    failed(key, str)
        Computing this key failed; the message says why (kept in :attr:`errors`).
    busy_changed(bool)
        A computation started (True) or the last one ended (False).
    """

    ready = Signal(object)
    failed = Signal(object, str)
    busy_changed = Signal(bool)

    def __init__(self, compute: Compute, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._compute = compute
        self.session: IndexSession | None = None
        self.generation = 0
        self._seen = -1         # the session generation the results belong to
        self.results: dict[Any, Any] = {}
        self.running: set[Any] = set()
        self.errors: dict[Any, str] = {}

    @property
    def con(self) -> duckdb.DuckDBPyConnection | None:
        """The session's open connection (GUI thread), or None."""
        return self.session.connection if self.session is not None else None

    def set_session(self, session: IndexSession | None) -> None:
        """Compute over ``session`` from now on (another session: forget everything)."""
        if session is not self.session:
            self.session = session
            self.reset()

    def sync(self) -> None:
        """Forget the results when the index changed since they were computed."""
        now = self.session.generation if self.session is not None else -1
        if now != self._seen:
            self.reset()

    def _mark(self) -> None:
        self._seen = self.session.generation if self.session is not None else -1

    def reset(self) -> None:
        """Forget every result and drop the jobs in flight (the index changed)."""
        was_busy = bool(self.running)
        if self.session is not None:
            for key in self.running:
                self.session.tasks.cancel(self._lane(key))
        self.generation += 1
        self.results.clear()
        self.errors.clear()
        self.running.clear()
        self._mark()
        if was_busy:
            self.busy_changed.emit(False)

    def get(self, key: Any) -> Any:
        return self.results.get(key)

    def store(self, key: Any, result: Any) -> None:
        """Cache a result computed elsewhere on the same index (a benchmark, a test)."""
        self.results[key] = result

    def request(self, key: Any) -> Any:
        """The cached result of ``key``, or None after starting (or while) computing it."""
        if key in self.results or self.con is None or self.session is None:
            return self.results.get(key)
        if key not in self.running:
            self.errors.pop(key, None)
            self.running.add(key)
            if len(self.running) == 1:
                self.busy_changed.emit(True)
            generation = self.generation
            self.session.read(
                self._job, key, key=self._lane(key), name="background statistics",
                on_done=lambda result: self._on_done(generation, key, result),
                on_error=lambda message: self._on_failed(generation, key, message),
                on_cancelled=lambda: self._finish(generation, key))
        return None

    def wait(self, timeout: float = 60.0) -> bool:
        """Process events until every job has ended and was delivered (shutdown, tests)."""
        if self.session is None:
            return True
        return self.session.tasks.wait_until_idle(timeout)

    def _lane(self, key: Any) -> tuple[int, Any]:
        return (id(self), key)

    def _job(self, _ctx: TaskContext, cursor: duckdb.DuckDBPyConnection, key: Any) -> Any:
        return self._compute(cursor, key)

    def _finish(self, generation: int, key: Any) -> bool:
        if generation != self.generation:
            return False
        self.running.discard(key)
        if not self.running:
            self.busy_changed.emit(False)
        return True

    def _on_done(self, generation: int, key: Any, result: Any) -> None:
        if self._finish(generation, key):
            self.results[key] = result
            self.ready.emit(key)

    def _on_failed(self, generation: int, key: Any, message: str) -> None:
        if self._finish(generation, key):
            self.errors[key] = message
            self.failed.emit(key, message)
