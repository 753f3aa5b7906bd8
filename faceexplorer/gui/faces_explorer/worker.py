"""Run FACES queries off the GUI thread; the newest request of each kind wins.

A job is a function of a DuckDB cursor (its own connection to the same database:
connections are not thread-safe) and a progress callback. Jobs run on a private
one-thread pool so the window keeps the other core. Each request of a kind ("feature",
"ranking", ...) gets a number; a result whose number is no longer the newest of its kind,
or that belongs to an older connection, is dropped, and a superseded job sees
``cancelled()`` turn true so a long one can stop between blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

#: job(cursor, progress(done, total), cancelled()) -> result
JobFunction = Callable[[duckdb.DuckDBPyConnection, Callable[[int, int], None],
                        Callable[[], bool]], Any]


class _Signals(QObject):
    done = Signal(str, int, object)         # kind, request, result
    failed = Signal(str, int, str)          # kind, request, message
    progress = Signal(str, int, int, int)   # kind, request, done, total


class _Job(QRunnable):
    def __init__(self, runner: QueryRunner, cursor: duckdb.DuckDBPyConnection, kind: str,
                 request: int, function: JobFunction) -> None:
        super().__init__()
        self.runner, self.cursor, self.kind = runner, cursor, kind
        self.request, self.function = request, function
        self.signals = runner.signals

    def cancelled(self) -> bool:
        return self.runner.latest.get(self.kind) != self.request

    def run(self) -> None:
        try:
            if self.cancelled():
                return
            result = self.function(
                self.cursor,
                lambda done, total: self.signals.progress.emit(self.kind, self.request,
                                                               done, total),
                self.cancelled)
        except Exception as exc:  # shown to the user; nothing may escape into Qt
            self.signals.failed.emit(self.kind, self.request, f"{type(exc).__name__}: {exc}")
        else:
            self.signals.done.emit(self.kind, self.request, result)
        finally:
            try:
                self.cursor.close()
            except duckdb.Error:
                pass  # the window closed the connection already


class QueryRunner(QObject):
    """Background queries with newest-wins delivery per kind.

    Signals
    -------
    done(str, object)
        kind, result of the newest request of that kind.
    failed(str, str)
        kind, message.
    progress(str, int, int)
        kind, done, total.
    """

    done = Signal(str, object)
    failed = Signal(str, str)
    progress = Signal(str, int, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.con: duckdb.DuckDBPyConnection | None = None
        self.latest: dict[str, int] = {}
        self._counter = 0
        self.signals = _Signals(self)
        self.signals.done.connect(self._on_done)
        self.signals.failed.connect(self._on_failed)
        self.signals.progress.connect(self._on_progress)

    def set_connection(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Use ``con`` from now on; every pending request is dropped."""
        self.con = con
        self.latest.clear()

    def submit(self, kind: str, function: JobFunction) -> int | None:
        """Run ``function`` in the background as the newest request of ``kind``.

        Returns the request number, or None without a connection.
        """
        if self.con is None:
            return None
        self._counter += 1
        self.latest[kind] = self._counter
        self.pool.start(_Job(self, self.con.cursor(), kind, self._counter, function))
        return self._counter

    def busy(self, kind: str) -> bool:
        return kind in self.latest

    def wait(self, msecs: int = -1) -> bool:
        """Block until every job has finished (shutdown and tests)."""
        return self.pool.waitForDone(msecs)

    def _current(self, kind: str, request: int) -> bool:
        return self.latest.get(kind) == request

    def _on_done(self, kind: str, request: int, result: object) -> None:
        if self._current(kind, request):
            del self.latest[kind]
            self.done.emit(kind, result)

    def _on_failed(self, kind: str, request: int, message: str) -> None:
        if self._current(kind, request):
            del self.latest[kind]
            self.failed.emit(kind, message)

    def _on_progress(self, kind: str, request: int, done: int, total: int) -> None:
        if self._current(kind, request):
            self.progress.emit(kind, done, total)
