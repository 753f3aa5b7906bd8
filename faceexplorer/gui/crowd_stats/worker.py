"""Compute set statistics off the GUI thread, once per set and connection.

One set's figures take about a second or more (Dawid-Skene dominates), so they are
computed by a ``QRunnable`` on a private one-thread pool (the machine's other cores
stay free for the window) with its own DuckDB cursor: connections are not thread-safe,
a cursor is a separate connection to the same database. A result comes back by a queued
signal and is cached by set; one computation covers all three tasks, so switching task
or coming back to a set is instant. Each connection change starts a new generation:
results of an older generation (the index was closed or reloaded) are dropped.
"""

from __future__ import annotations

import duckdb
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from faceexplorer.stats.crowd_views import CrowdSetView, set_view


class _JobSignals(QObject):
    done = Signal(int, int, object)   # generation, set, CrowdSetView
    failed = Signal(int, int, str)    # generation, set, message


class _SetStatsJob(QRunnable):
    def __init__(self, cursor: duckdb.DuckDBPyConnection, c25_set: int,
                 generation: int, signals: _JobSignals) -> None:
        super().__init__()
        self.cursor, self.c25_set, self.generation = cursor, c25_set, generation
        self.signals = signals

    def run(self) -> None:
        try:
            view = set_view(self.cursor, self.c25_set)
        except Exception as exc:  # any failure is shown; none may escape into Qt
            self.signals.failed.emit(self.generation, self.c25_set,
                                     f"{type(exc).__name__}: {exc}")
        else:
            self.signals.done.emit(self.generation, self.c25_set, view)
        finally:
            try:
                self.cursor.close()
            except duckdb.Error:
                pass  # the parent connection is already closed; nothing left to free


class SetStatsCache(QObject):
    """Cached :class:`CrowdSetView` per set, computed in the background on request.

    Signals
    -------
    ready(int)
        The statistics of this set are now cached.
    failed(int, str)
        Computing this set failed; the message says why.
    busy_changed(bool)
        A computation started (True) or the last one ended (False).
    """

    ready = Signal(int)
    failed = Signal(int, str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.con: duckdb.DuckDBPyConnection | None = None
        self.generation = 0
        self.views: dict[int, CrowdSetView] = {}
        self.running: set[int] = set()
        self.errors: dict[int, str] = {}
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
        self.views.clear()
        self.errors.clear()
        self.running.clear()
        if was_busy:
            self.busy_changed.emit(False)

    def get(self, c25_set: int) -> CrowdSetView | None:
        return self.views.get(c25_set)

    def put(self, view: CrowdSetView) -> None:
        """Cache a view computed elsewhere on the same connection (a benchmark, a test)."""
        self.views[view.c25_set] = view

    def request(self, c25_set: int) -> CrowdSetView | None:
        """The cached view of ``c25_set``, or None after starting (or while) computing it."""
        if c25_set in self.views or self.con is None:
            return self.views.get(c25_set)
        self._delivered.clear()
        if c25_set not in self.running:
            self.errors.pop(c25_set, None)
            signals = _JobSignals()
            signals.done.connect(self._on_done)
            signals.failed.connect(self._on_failed)
            self._signals.add(signals)
            job = _SetStatsJob(self.con.cursor(), c25_set, self.generation, signals)
            self.running.add(c25_set)
            if len(self.running) == 1:
                self.busy_changed.emit(True)
            self.pool.start(job)
        return None

    def wait(self, msecs: int = -1) -> bool:
        """Block until every job has finished (for shutdown and tests)."""
        return self.pool.waitForDone(msecs)

    def _finish(self, generation: int, c25_set: int) -> bool:
        sender = self.sender()
        if sender in self._signals:
            self._signals.discard(sender)
            self._delivered.append(sender)
        if generation != self.generation:
            return False
        self.running.discard(c25_set)
        if not self.running:
            self.busy_changed.emit(False)
        return True

    def _on_done(self, generation: int, c25_set: int, view: CrowdSetView) -> None:
        if self._finish(generation, c25_set):
            self.views[c25_set] = view
            self.ready.emit(c25_set)

    def _on_failed(self, generation: int, c25_set: int, message: str) -> None:
        if self._finish(generation, c25_set):
            self.errors[c25_set] = message
            self.failed.emit(c25_set, message)
