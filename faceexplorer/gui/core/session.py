"""The index session: the one owner of the window's DuckDB connection.

No view opens, stores or closes a connection. A view holds the :class:`IndexSession`,
reads through it and redraws on its signals:

- on the GUI thread, :attr:`IndexSession.connection` for a short query (a page of
  rows, a list of children) at the moment it is needed, never kept;
- off the GUI thread, :meth:`IndexSession.read` runs ``fn(ctx, cursor, *args)`` on the
  window's one :class:`~faceexplorer.gui.core.tasks.TaskRunner` with a cursor of its own
  (a cursor is a separate connection to the same database; DuckDB connections are not
  thread-safe), interrupted if the job is cancelled or superseded;
- :meth:`IndexSession.write` runs an import, a model run or the storing of a recording on
  a worker while the window stays usable; writes run one at a time, in order.

**Why the connection changes mode.** DuckDB lets one process write a database file, or
several processes read it, never both. A window that held a read-write connection all
the time would lock the command line out of the index even to read it (``faceexplorer
index info``, ``stats``) whenever the window is open. So the session reads the index
read-only and turns the connection read-write only while a write of the window runs,
then back. Inside the process a read-write connection serves readers and the writer at
once (DuckDB's MVCC: readers see the index as it was until the writer's ``COMMIT``), so
the views keep working during an import and see its result in one step when it commits.
The writer opens its own connection to the same path (``index.store.connect``); DuckDB
hands it the database the session already holds, so the importers and the batch runner
are the command line's, unchanged.

**Switching** happens on the GUI thread and never waits there: new readers wait (on
their worker thread) while a switch is pending, readers already running finish, and the
last one to finish triggers the switch. DuckDB refuses to close a connection with a
cursor still in a query, and refuses to open a file read-write in a process that still
holds it read-only, so this drain is what makes the switch safe.

Signals: :attr:`opened` (the index is open: a view (re)loads what it shows),
:attr:`closing` (the connection goes for good: a view forgets what it drew from it),
:attr:`changed` (a write committed: :class:`DatasetChange`), :attr:`suspending` /
:attr:`resumed` around a switch (for the few views whose worker keeps a cursor of its own
between requests: they close it, synchronously, and make a new one), :attr:`state_changed`,
:attr:`write_started` / :attr:`write_ended` for the status bar.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, QThread, QTimer, Signal

from faceexplorer.core.errors import FaceExplorerError, IndexBusyError
from faceexplorer.gui.core.tasks import Task, TaskCancelled, TaskContext, TaskRunner
from faceexplorer.index import browse_table
from faceexplorer.index.store import connect

__all__ = ["DatasetChange", "IndexSession", "IndexView", "SessionState", "WriteHandle"]


class SessionState(enum.Enum):
    """What the session holds, as the window shows it."""

    CLOSED = "closed"          # not opened yet, or closed for good
    MISSING = "missing"        # no index file yet: the first import creates it
    BUSY = "busy"              # another process writes the file
    FAILED = "failed"          # the file is not an index, or is damaged (see ``error``)
    READ_ONLY = "read-only"
    WRITABLE = "writable"      # a write of the window is running


@dataclass(frozen=True)
class DatasetChange:
    """What a committed write changed: ``kinds`` of dataset, and how."""

    kinds: frozenset[str]
    what: str                  # "imported", "removed", "predictions", "recording"
    detail: str = ""


@dataclass(eq=False)
class WriteHandle:
    """A queued or running write (see :meth:`IndexSession.write`); cancel it with
    :meth:`IndexSession.cancel_write`."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    name: str
    change: DatasetChange | None
    on_done: Callable[[Any], None] | None
    on_error: Callable[[str], None] | None
    on_progress: Callable[[int, int, str], None] | None
    on_cancelled: Callable[[], None] | None = None
    task: Task | None = None
    queued_at: float = field(default_factory=time.monotonic)


class _Bridge(QObject):
    drained = Signal()
    switched = Signal()


class IndexSession(QObject):
    """The window's index at ``db_path``; see the module docstring.

    Parameters
    ----------
    db_path
        The index file (it may not exist yet).
    tasks
        The window's task runner: reads and writes run on it.
    """

    opened = Signal()
    closing = Signal()
    suspending = Signal()               # the connection is about to switch mode
    resumed = Signal()                  # ... and has (views holding cursors remake them)
    changed = Signal(object)            # DatasetChange
    state_changed = Signal(object)      # SessionState
    write_started = Signal(str)         # the write's name
    write_ended = Signal(str, str)      # name, "" when it succeeded or the message

    def __init__(self, db_path: Path, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.tasks = tasks
        self.state = SessionState.CLOSED
        self.error = ""                 # why the index could not be opened
        #: counts what the views could have seen: +1 on each open and committed write
        self.generation = 0
        self._con: duckdb.DuckDBPyConnection | None = None
        self._cond = threading.Condition()
        self._active = 0                # worker readers inside reader()
        self._switch_to: bool | None = None  # pending switch: writable or not
        self._writes: deque[WriteHandle] = deque()
        self._writing: WriteHandle | None = None
        self._borrowed = False          # over(): the connection belongs to the caller
        self._bridge = _Bridge()
        self._bridge.drained.connect(self._switch_when_drained)
        self._bridge.switched.connect(self._switched)
        self._switcher: threading.Thread | None = None
        self._switch_result: Any = None
        self._announce: tuple[BaseException | None, bool, bool] | None = None
        self._after_switch: list[Callable[[], None]] = []

    @classmethod
    def over(cls, con: duckdb.DuckDBPyConnection, tasks: TaskRunner | None = None,
             db_path: Path | None = None, parent: QObject | None = None) -> IndexSession:
        """A session over a connection the caller opened and closes (tests, benches).

        It reads like any session; :meth:`write` is refused (the caller writes through
        its own connection), and :meth:`close` lets go of ``con`` without closing it.
        """
        session = cls(db_path or Path(":memory:"), tasks or TaskRunner(parent=parent),
                      parent)
        session._con, session._borrowed = con, True
        session.state = SessionState.READ_ONLY
        return session

    # --- opening and closing ------------------------------------------------------------
    def open(self) -> SessionState:
        """(Re)open the index read-only; the state says how it went (never raises)."""
        if self._writing is not None or self._writes:
            return self.state          # a write is on its way; it reopens the index itself
        self._close_connection(emit=True)
        try:
            con = connect(self.db_path, read_only=True)
            # An index made before the browser's table was stored gets it once, now.
            self._con = browse_table.opened_for_browsing(con, self.db_path)
        except IndexBusyError as exc:
            self._fail(SessionState.BUSY, exc)
        except (FaceExplorerError, duckdb.Error) as exc:
            missing = not self.db_path.exists()
            self._fail(SessionState.MISSING if missing else SessionState.FAILED, exc)
        else:
            self.error = ""
            self.generation += 1
            self._set_state(SessionState.READ_ONLY)
            self.opened.emit()
        return self.state

    def close(self, timeout: float = 10.0) -> bool:
        """Stop the background work, wait for it, and close the connection for good.

        Returns False when a job did not end within ``timeout`` seconds (the connection
        then closes with the last cursor).
        """
        self._writes.clear()
        self.tasks.cancel_all()
        ok = self.tasks.wait_until_idle(timeout)
        self._take_switch()
        self._announce = None
        self._run_after_switch()
        self._close_connection(emit=True)
        self._set_state(SessionState.CLOSED)
        return ok

    @property
    def connection(self) -> duckdb.DuckDBPyConnection | None:
        """The open connection, for a short query on the GUI thread; never keep it.

        While the connection switches mode this waits for the new one (see
        :meth:`_switch_when_drained`)."""
        if self._switcher is not None:
            self._take_switch()
        return self._con

    @property
    def is_open(self) -> bool:
        return self._con is not None or self._switcher is not None

    @property
    def writable(self) -> bool:
        return self.state is SessionState.WRITABLE

    @property
    def writing(self) -> bool:
        """A write runs or waits."""
        return self._writing is not None or bool(self._writes)

    # --- reading off the GUI thread -----------------------------------------------------
    @contextmanager
    def reader(self, ctx: TaskContext | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for a worker thread; closed on exit.

        Waits while the connection switches mode. Raises :class:`TaskCancelled` when the
        index was closed meanwhile (the job's answer would be of no use).
        """
        on_gui = QThread.currentThread() is self.thread()
        with self._cond:
            while self._switch_to is not None and not on_gui:
                self._cond.wait(0.05)
                if ctx is not None:
                    ctx.check()
            if self._con is None:
                raise TaskCancelled
            cursor = self._con.cursor()
            if not on_gui:
                self._active += 1
        if ctx is not None:
            ctx.on_cancel(cursor.interrupt)
        try:
            yield cursor
        finally:
            try:
                cursor.close()
            except duckdb.Error:
                pass
            if not on_gui:
                with self._cond:
                    self._active -= 1
                    drained = self._active == 0 and self._switch_to is not None
                if drained:
                    self._bridge.drained.emit()

    def read(self, fn: Callable[..., Any], *args: Any, key: Any = None, name: str = "",
             on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[str], None] | None = None,
             on_progress: Callable[[int, int, str], None] | None = None,
             on_cancelled: Callable[[], None] | None = None) -> Task:
        """Run ``fn(ctx, cursor, *args)`` on the task runner (``key``: newest wins)."""
        def job(ctx: TaskContext, *job_args: Any) -> Any:
            with self.reader(ctx) as cursor:
                return fn(ctx, cursor, *job_args)

        return self.tasks.submit(job, *args, key=key, name=name or getattr(fn, "__name__", ""),
                                 on_done=on_done, on_error=on_error, on_progress=on_progress,
                                 on_cancelled=on_cancelled)

    # --- writing ------------------------------------------------------------------------
    def write(self, fn: Callable[..., Any], *args: Any, name: str,
              change: DatasetChange | None = None,
              on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[str], None] | None = None,
              on_progress: Callable[[int, int, str], None] | None = None,
              on_cancelled: Callable[[], None] | None = None) -> WriteHandle:
        """Queue ``fn(ctx, db_path, *args)``: it runs on a worker with the index writable.

        ``fn`` opens its own connection (``index.store.connect(db_path)``) and commits
        or rolls back as the command line does. Writes run one at a time, in order; when
        one succeeds the session emits :attr:`changed` with ``change`` (and, for an index
        that did not exist or could not be read, :attr:`opened`).
        """
        if self._borrowed:
            raise RuntimeError("a session over a borrowed connection does not write")
        write = WriteHandle(fn, args, name, change, on_done, on_error, on_progress,
                            on_cancelled)
        self._writes.append(write)
        self._next_write()
        return write

    def cancel_write(self, write: WriteHandle) -> None:
        """Cancel one write: dropped if still queued, asked to stop if running."""
        if write in self._writes:
            self._writes.remove(write)
            self.write_ended.emit(write.name, "cancelled")
            if write.on_cancelled is not None:
                write.on_cancelled()
            self._next_write()
        elif write is self._writing and write.task is not None:
            self.tasks.cancel(task=write.task)

    def cancel_writes(self) -> None:
        """Drop the queued writes and ask the running one to stop (it keeps what it
        committed; an import rolls back)."""
        self._writes.clear()
        if self._writing is not None and self._writing.task is not None:
            self.tasks.cancel(task=self._writing.task)

    def _next_write(self) -> None:
        if self._writing is not None or self._switch_to is not None \
                or self._switcher is not None or self._announce is not None:
            return          # a switch in progress calls again when it ends
        if not self._writes:
            if self.state is SessionState.WRITABLE:
                self._request_switch(writable=False)
            return
        if self.state is not SessionState.WRITABLE:
            self._request_switch(writable=True)
            return
        write = self._writes.popleft()
        self._writing = write
        self.write_started.emit(write.name)
        write.task = self.tasks.submit(
            self._run_write, write, name=write.name, long=True,
            on_done=lambda result, w=write: self._write_done(w, result),
            on_error=lambda message, w=write: self._write_failed(w, message),
            on_progress=write.on_progress,
            on_cancelled=lambda w=write: self._write_cancelled(w))

    def _run_write(self, ctx: TaskContext, write: WriteHandle) -> Any:
        return write.fn(ctx, self.db_path, *write.args)

    def _write_cancelled(self, write: WriteHandle) -> None:
        # A cancelled write may have committed part of its work (a model run keeps its
        # chunks): the views reread what they show.
        self._write_ended(write, "cancelled")
        self._after_switch_or_now(lambda: self._announce_write(write, write.on_cancelled))

    def _write_done(self, write: WriteHandle, result: Any) -> None:
        self._write_ended(write, "")
        self._after_switch_or_now(lambda: self._announce_write(
            write, None if write.on_done is None else lambda: write.on_done(result)))

    def _announce_write(self, write: WriteHandle, callback: Callable[[], None] | None
                        ) -> None:
        self.generation += 1
        if write.change is not None:
            self.changed.emit(write.change)
        if callback is not None:
            callback()

    def _after_switch_or_now(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the connection is back (the views reload and the callbacks
        read; done during the switch, each would wait for it on the GUI thread)."""
        if self._switch_to is not None or self._switcher is not None \
                or self._announce is not None:
            self._after_switch.append(fn)
        else:
            fn()

    def _run_after_switch(self) -> None:
        pending, self._after_switch = self._after_switch, []
        for fn in pending:
            fn()

    def _write_failed(self, write: WriteHandle, message: str) -> None:
        self._write_ended(write, message)
        if write.on_error is not None:
            write.on_error(message)

    def _write_ended(self, write: WriteHandle, message: str) -> None:
        self._writing = None
        self.write_ended.emit(write.name, message)
        self._next_write()

    # --- switching mode -----------------------------------------------------------------
    def _request_switch(self, writable: bool) -> None:
        # Views that keep a cursor on a worker of their own (the image browser's page
        # read-ahead, the detail panel's loaders) let go of it now, synchronously.
        if self._con is not None and self._switch_to is None:
            self.suspending.emit()
        with self._cond:
            self._switch_to = writable
            drained = self._active == 0
        if drained:
            self._switch_when_drained()

    def _switch_when_drained(self) -> None:
        """Close the connection and open it in the other mode, on a thread of its own.

        Closing a read-write connection and opening one take ~0.1-0.7 s on a loaded
        machine; done on the GUI thread that was the window's longest stall of a write.
        Meanwhile the readers wait (``_switch_to`` is still set) and a query of the GUI
        thread (:attr:`connection`) waits for the new connection; the signals follow on
        the GUI thread when it is open (:meth:`_switched`).
        """
        with self._cond:
            if self._switch_to is None or self._active or self._switcher is not None:
                return
            writable = self._switch_to
        old, self._con = self._con, None
        was_open = old is not None

        def work() -> None:
            con, error = None, None
            try:
                if old is not None:
                    old.close()
                con = connect(self.db_path, read_only=not writable)
                if not writable:
                    con = browse_table.opened_for_browsing(con, self.db_path)
            except (FaceExplorerError, duckdb.Error) as exc:
                error = exc
            self._switch_result = (con, error, writable, was_open)
            self._bridge.switched.emit()

        self._switch_result = None
        self._switcher = threading.Thread(target=work, name="index-switch", daemon=True)
        self._switcher.start()

    def _take_switch(self) -> None:
        """Wait for the switch thread and take its connection (GUI thread)."""
        if self._switcher is None:
            return
        self._switcher.join()
        self._switcher = None
        con, error, writable, was_open = self._switch_result
        self._con = con
        with self._cond:
            self._switch_to = None
            self._cond.notify_all()
        self._announce = (error, writable, was_open)

    def _switched(self) -> None:
        """The switch ended: say so (state, resumed, opened) and go on with the writes."""
        self._take_switch()
        if self._announce is None:
            return
        error, writable, was_open = self._announce
        self._announce = None
        if error is not None:
            state = (SessionState.BUSY if isinstance(error, IndexBusyError)
                     else SessionState.FAILED)
            self._fail(state, error)
            self.resumed.emit()
            if writable:                # the queued writes cannot run: say so to each
                failed, self._writes = list(self._writes), deque()
                for write in failed:
                    self.write_ended.emit(write.name, self.error)
                    if write.on_error is not None:
                        write.on_error(self.error)
            self._run_after_switch()
            return
        self._set_state(SessionState.WRITABLE if writable else SessionState.READ_ONLY)
        self.resumed.emit()
        if not was_open:
            self.generation += 1
            self.opened.emit()
        self._run_after_switch()
        self._next_write()

    # --- inside -------------------------------------------------------------------------
    def _close_connection(self, emit: bool) -> None:
        if self._con is None:
            return
        if emit:
            self.closing.emit()
        if self._borrowed:
            self._con = None
            return
        try:
            self._con.close()
        except duckdb.Error:
            # A reader is still in a query (it was told to stop); the connection goes
            # with its last cursor.
            pass
        self._con = None

    def _fail(self, state: SessionState, exc: BaseException) -> None:
        self._con = None
        text = str(exc).strip()
        self.error = text.splitlines()[0] if text else type(exc).__name__
        self._set_state(state)

    def _set_state(self, state: SessionState) -> None:
        if state is not self.state:
            self.state = state
            self.state_changed.emit(state)

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Process events until no write waits or runs, no switch is pending and every
        task's answer was delivered (tests; the window never blocks on it)."""
        deadline = time.monotonic() + timeout
        app = QCoreApplication.instance()
        while (self.writing or self._switch_to is not None or self.tasks.busy
               or self._announce is not None):
            if time.monotonic() > deadline:
                return False
            if app is not None:
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.001)
        if app is not None:     # the reloads a write scheduled on the event loop
            for _ in range(3):
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        return not (self.writing or self.tasks.busy) or self.wait_until_idle(
            max(0.0, deadline - time.monotonic()))


class IndexView:
    """What a view that shows the index does with the session (a mixin for widgets).

    :meth:`attach` subscribes the view; it then gets :meth:`show_index` with the open
    connection whenever the index opens or a write it cares about commits, and with None
    when the index closes. The view reads :attr:`con` when it queries, and never keeps a
    connection or a cursor: work off the GUI thread goes through :meth:`IndexSession.read`.

    After a write, a view on screen reloads on a turn of the event loop of its own (so
    that the views a write touches do not add up to one long stall of the window), and a
    view off screen only when it is next shown (:meth:`index_written`).
    """

    session: IndexSession | None = None
    #: the window's app state (``gui.core.state.AppState``), when the view is in a window
    app_state: Any = None
    #: dataset kinds whose writes this view shows (empty: every write)
    index_kinds: frozenset[str] = frozenset()

    def attach(self, session: IndexSession | None) -> None:
        """Show ``session``'s index from now on (None: detach and show nothing)."""
        old = self.session
        if old is not None:
            for signal, slot in ((old.opened, self._index_opened),
                                 (old.closing, self._index_closing),
                                 (old.changed, self._index_written)):
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
        self.session = session
        if session is not None:
            session.opened.connect(self._index_opened)
            session.closing.connect(self._index_closing)
            session.changed.connect(self._index_written)
        self.show_index(self.con)

    @property
    def con(self) -> duckdb.DuckDBPyConnection | None:
        """The session's open connection (GUI thread, short queries, never kept)."""
        return self.session.connection if self.session is not None else None

    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """(Re)load what the view shows from ``con``, or show that no index is open."""
        raise NotImplementedError

    def _index_opened(self) -> None:
        self.show_index(self.con)

    def _index_closing(self) -> None:
        self.show_index(None)

    def _index_written(self, change: DatasetChange) -> None:
        if not self.index_kinds or change.kinds & self.index_kinds:
            self.index_written(change)

    def index_written(self, change: DatasetChange) -> None:
        """A write this view cares about committed: reload (see the class docstring)."""
        self._stale = True
        widget: Any = self
        if widget.isVisible():
            QTimer.singleShot(0, widget, self._refresh_stale)
        elif getattr(self, "_show_watch", None) is None:
            self._show_watch = _ShowWatch(widget)
            widget.installEventFilter(self._show_watch)

    def _refresh_stale(self) -> None:
        if getattr(self, "_stale", False):
            self._stale = False
            self.show_index(self.con)


class _ShowWatch(QObject):
    """Reloads a stale view when it is shown (see ``IndexView.index_written``)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Show and isinstance(watched, IndexView):
            QTimer.singleShot(0, watched, watched._refresh_stale)
        return False
