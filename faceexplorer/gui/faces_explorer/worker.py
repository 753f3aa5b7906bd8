"""FACES queries off the GUI thread; the newest request of each kind wins.

A job is a function of a DuckDB cursor (its own connection to the same database:
connections are not thread-safe), a progress callback and a ``cancelled()`` poll. Each
kind ("feature", "ranking", ...) is one lane of the window's task runner, reached through
:meth:`IndexSession.read <faceexplorer.gui.core.session.IndexSession.read>`: a new request
of a kind supersedes the older one (whose ``cancelled()`` turns true, so a long job stops
between blocks, and whose answer is never delivered).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
from PySide6.QtCore import QObject, Signal

from faceexplorer.gui.core.session import IndexSession
from faceexplorer.gui.core.tasks import TaskContext

#: job(cursor, progress(done, total), cancelled()) -> result
JobFunction = Callable[[duckdb.DuckDBPyConnection, Callable[[int, int], None],
                        Callable[[], bool]], Any]


def _run(ctx: TaskContext, cursor: duckdb.DuckDBPyConnection, function: JobFunction) -> Any:
    return function(cursor, lambda done, total: ctx.progress(done, total),
                    lambda: ctx.cancelled)


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
        self.session: IndexSession | None = None
        self.pending: set[str] = set()

    def set_session(self, session: IndexSession | None) -> None:
        """Query ``session`` from now on; every pending request is dropped."""
        self.cancel_all()
        self.session = session

    def cancel_all(self) -> None:
        if self.session is not None:
            for kind in self.pending:
                self.session.tasks.cancel(self._lane(kind))
        self.pending.clear()

    def submit(self, kind: str, function: JobFunction) -> bool:
        """Run ``function`` in the background as the newest request of ``kind``.

        Returns False when no index is open.
        """
        if self.session is None or self.session.connection is None:
            return False
        self.pending.add(kind)
        self.session.read(
            _run, function, key=self._lane(kind), name=f"FACES {kind}",
            on_done=lambda result: self._finish(kind) or self.done.emit(kind, result),
            on_error=lambda message: self._finish(kind) or self.failed.emit(kind, message),
            on_progress=lambda done, total, _text: self.progress.emit(kind, done, total),
            on_cancelled=lambda: None)
        return True

    def busy(self, kind: str) -> bool:
        return kind in self.pending

    def wait(self, timeout: float = 60.0) -> bool:
        """Process events until every job has ended and was delivered (tests)."""
        return self.session is None or self.session.tasks.wait_until_idle(timeout)

    def _lane(self, kind: str) -> tuple[int, str]:
        return (id(self), kind)

    def _finish(self, kind: str) -> None:
        self.pending.discard(kind)
