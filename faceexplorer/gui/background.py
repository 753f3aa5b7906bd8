"""Results computed off the GUI thread, once per key and connection.

Set statistics (Dawid-Skene) and HRM reports (a cluster bootstrap) take a second or
more, so :class:`BackgroundCache` runs ``compute(cursor, key)`` as a ``QRunnable`` on a
private one-thread pool (the machine's other cores stay free for the window) with its
own DuckDB cursor: connections are not thread-safe, a cursor is a separate connection
to the same database. A result comes back by a queued signal and is cached by key.
Each connection change starts a new generation: results of an older generation (the
index was closed or reloaded) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

#: ``compute(cursor, key) -> result``, run on the worker thread.
Compute = Callable[[duckdb.DuckDBPyConnection, Any], Any]


class _JobSignals(QObject):
    done = Signal(int, object, object)   # generation, key, result
    failed = Signal(int, object, str)    # generation, key, message


class _Job(QRunnable):
    def __init__(self, compute: Compute, cursor: duckdb.DuckDBPyConnection, key: Any,
                 generation: int, signals: _JobSignals) -> None:
        super().__init__()
        self.compute, self.cursor, self.key = compute, cursor, key
        self.generation, self.signals = generation, signals

    def run(self) -> None:
        try:
            result = self.compute(self.cursor, self.key)
        except Exception as exc:  # any failure is shown; none may escape into Qt
            self.signals.failed.emit(self.generation, self.key,
                                     f"{type(exc).__name__}: {exc}")
        else:
            self.signals.done.emit(self.generation, self.key, result)
        finally:
            try:
                self.cursor.close()
            except duckdb.Error:
                pass  # the parent connection is already closed; nothing left to free


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
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.con: duckdb.DuckDBPyConnection | None = None
        self.generation = 0
        self.results: dict[Any, Any] = {}
        self.running: set[Any] = set()
        self.errors: dict[Any, str] = {}
        # Signal objects stay alive until their queued result is delivered, and are
        # dropped later, never inside their own delivery.
        self._signals: set[_JobSignals] = set()
        self._delivered: list[_JobSignals] = []

    def set_connection(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Forget every result and pending job of the previous connection.

        Handing over the connection already in use keeps the results: only a new
        connection (a reload, another index) can mean other data.
        """
        if con is self.con and con is not None:
            return
        was_busy = bool(self.running)
        self.generation += 1
        self.con = con
        self.results.clear()
        self.errors.clear()
        self.running.clear()
        if was_busy:
            self.busy_changed.emit(False)

    def get(self, key: Any) -> Any:
        return self.results.get(key)

    def store(self, key: Any, result: Any) -> None:
        """Cache a result computed elsewhere on the same connection (a benchmark, a test)."""
        self.results[key] = result

    def request(self, key: Any) -> Any:
        """The cached result of ``key``, or None after starting (or while) computing it."""
        if key in self.results or self.con is None:
            return self.results.get(key)
        self._delivered.clear()
        if key not in self.running:
            self.errors.pop(key, None)
            signals = _JobSignals()
            signals.done.connect(self._on_done)
            signals.failed.connect(self._on_failed)
            self._signals.add(signals)
            job = _Job(self._compute, self.con.cursor(), key, self.generation, signals)
            self.running.add(key)
            if len(self.running) == 1:
                self.busy_changed.emit(True)
            self.pool.start(job)
        return None

    def wait(self, msecs: int = -1) -> bool:
        """Block until every job has finished (for shutdown and tests)."""
        return self.pool.waitForDone(msecs)

    def _finish(self, generation: int, key: Any) -> bool:
        sender = self.sender()
        if sender in self._signals:
            self._signals.discard(sender)
            self._delivered.append(sender)
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
