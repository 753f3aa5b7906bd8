"""One worker thread that serves the newest request: the GUI's background readers share it.

The browser's next-page read-ahead, the detail panel's loader and its page read-ahead all
follow one pattern: a request replaces the one not started yet (holding an arrow key must
never queue stale work), one thread at most runs, and it exists only while there is work
(it drains what is pending and exits, so nothing holds a DuckDB cursor at shutdown).
:class:`NewestWorker` is that pattern; a subclass says what one request does
(:meth:`_work`) and what to keep of the answer (:meth:`_done`, under the lock).

No Qt here: a subclass that talks to the GUI does it from :meth:`_done` (e.g. a queued
signal), and the rest is testable headless. Where the drain runs is the caller's choice
(``spawn``): the window hands every worker its one task runner's ``spawn``, so all its
background work runs on one pool that ``wait_until_idle`` sees; without one, a
short-lived thread of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: ``spawn(fn, name)`` runs ``fn()`` soon on some worker thread.
Spawn = Callable[[Callable[[], None], str], object]


def thread_spawn(fn: Callable[[], None], name: str) -> threading.Thread:
    """A short-lived daemon thread of its own (headless use and tests)."""
    thread = threading.Thread(target=fn, name=name, daemon=True)
    thread.start()
    return thread


class NewestWorker(Generic[T, R]):
    """Runs :meth:`_work` on the newest submitted request, on one short-lived thread."""

    #: The thread's name (shown by debuggers and profilers).
    thread_name = "newest-worker"

    def __init__(self, spawn: Spawn | None = None) -> None:
        self.spawn: Spawn = spawn or thread_spawn
        self._cond = threading.Condition()
        self._pending: T | None = None
        self._busy = False
        self._closed = False

    # --- for callers --------------------------------------------------------------------
    def idle(self) -> bool:
        """Nothing running or waiting to run (its answer may still be on its way)."""
        with self._cond:
            return not self._busy

    def drop_pending(self, timeout: float = 10.0) -> bool:
        """Forget what has not started and wait for what runs; False on timeout."""
        with self._cond:
            self._pending = None
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Refuse further requests, interrupt and wait for the running one."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()   # a _work waiting on the condition sees the close
            if self._busy:
                self._interrupt()
            self._cond.wait_for(lambda: not self._busy, timeout)

    # --- for subclasses -----------------------------------------------------------------
    def _submit(self, request: T) -> bool:
        """Queue ``request`` (replacing one not started). Call with ``self._cond`` held or
        not; returns False once closed."""
        with self._cond:
            if self._closed:
                return False
            self._pending = request
            if not self._busy:
                self._busy = True
                self.spawn(self._drain, self.thread_name)
            return True

    def _work(self, request: T) -> R:
        """Do one request (on the worker thread, without the lock)."""
        raise NotImplementedError

    def _started(self, request: T) -> None:
        """Called under the lock as ``request`` is taken (e.g. to remember what runs)."""

    def _done(self, request: T, result: R) -> bool:
        """Called under the lock with the answer; return False to stop the thread."""
        return True

    def _interrupt(self) -> None:
        """Called under the lock by :meth:`close` while a request runs (e.g. interrupt a
        database query)."""

    def _drain(self) -> None:
        while True:
            with self._cond:
                if self._pending is None or self._closed:
                    self._busy = False
                    self._cond.notify_all()
                    return
                request, self._pending = self._pending, None
                self._started(request)
            result = self._work(request)
            with self._cond:
                keep_going = self._done(request, result)
                self._cond.notify_all()
                if not keep_going:
                    self._busy = False
                    return
