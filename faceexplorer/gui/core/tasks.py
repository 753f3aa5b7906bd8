"""One runner for the window's background work: keyed lanes, newest request wins.

Every job the window does off its thread (read a page ahead, decode a frame, compute set
statistics, import a dataset, run a model) is a plain function ``fn(ctx, *args)`` handed
to :meth:`TaskRunner.submit`. The runner owns one ``concurrent.futures`` thread pool and
turns each job's life into Qt signals on the GUI thread, as Orange's ``FutureWatcher``
does; the job itself knows nothing of Qt.

Design, in the order a request meets it:

- **Lanes.** A job submitted with a ``key`` joins that key's lane: at most one job of a
  lane runs and at most one waits. A new request replaces the waiting one (holding an
  arrow key never queues stale work) and asks the running one to stop, so a lane always
  ends on its newest request. Jobs without a key queue in order of submission.
- **Cancel** is cooperative: :meth:`TaskContext.check` raises :class:`TaskCancelled`
  inside the job, :attr:`TaskContext.cancelled` can be polled, and a job may register an
  interrupt (e.g. a DuckDB cursor's ``interrupt``) with :meth:`TaskContext.on_cancel`.
  A superseded or cancelled job's answer is never delivered.
- **Progress** is throttled on the worker side (at most one signal per
  :attr:`TaskRunner.progress_interval` seconds, the last one always), so a loop of a
  million rows cannot flood the event loop.
- **Errors** arrive as one sentence: a :class:`FaceExplorerError` as it is (it is written
  for the user), anything else as ``"<Type>: <message>"``. Nothing escapes into Qt.
- **Tests** call :meth:`TaskRunner.wait_until_idle` (jobs finished *and* their answers
  delivered) instead of one "is it finished?" per view; ``synchronous=True`` runs every
  job inline on submit, for headless tests of a view's logic.
"""

from __future__ import annotations

import enum
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Signal

from faceexplorer.core.errors import FaceExplorerError

__all__ = ["Task", "TaskCancelled", "TaskContext", "TaskRunner", "TaskState", "error_message"]


class TaskCancelled(Exception):
    """Raised inside a job by :meth:`TaskContext.check` once it should stop."""


class TaskState(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


def error_message(exc: BaseException) -> str:
    """The one sentence a user is shown for ``exc``."""
    if isinstance(exc, FaceExplorerError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(eq=False)
class Task:
    """A handle on one submitted job (compared by identity)."""

    id: int
    key: Any
    name: str
    state: TaskState = TaskState.PENDING
    result: Any = None
    error: str | None = None
    long: bool = False
    drain: bool = False
    _cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    _interrupts: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_event.is_set()

    @property
    def finished(self) -> bool:
        return self.state in (TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED)

    def _request_cancel(self) -> None:
        with self._lock:
            if self._cancel_event.is_set():
                return
            self._cancel_event.set()
            interrupts = list(self._interrupts)
        for interrupt in interrupts:
            try:
                interrupt()
            except Exception:  # noqa: BLE001 - an interrupt that fails must not stop the others
                pass


class TaskContext:
    """What a job is handed: its progress reporter and its cancellation flag."""

    def __init__(self, task: Task, report: Callable[[Task, int, int, str], None],
                 interval: float) -> None:
        self._task = task
        self._report = report
        self._interval = interval
        self._last = 0.0

    @property
    def task(self) -> Task:
        return self._task

    @property
    def cancelled(self) -> bool:
        """True once the job was cancelled or superseded: finish early."""
        return self._task.cancel_requested

    def check(self) -> None:
        """Raise :class:`TaskCancelled` once the job should stop."""
        if self._task.cancel_requested:
            raise TaskCancelled

    def on_cancel(self, interrupt: Callable[[], None]) -> None:
        """Call ``interrupt`` (from the GUI thread) if the job is cancelled while running;
        at once when it already is."""
        with self._task._lock:
            already = self._task._cancel_event.is_set()
            if not already:
                self._task._interrupts.append(interrupt)
        if already:
            interrupt()

    def progress(self, done: int, total: int = 0, text: str = "") -> None:
        """Report ``done`` of ``total`` (0: unknown); throttled, the final step always."""
        now = time.monotonic()
        if now - self._last < self._interval and not (total and done >= total):
            return
        self._last = now
        self._report(self._task, done, total, text)


class _Bridge(QObject):
    """Carries the workers' news to the GUI thread (signals emitted off it are queued)."""

    progressed = Signal(object, int, int, str)
    ended = Signal(object, object, object)   # task, result, exception or None


@dataclass
class _Callbacks:
    on_done: Callable[[Any], None] | None
    on_error: Callable[[str], None] | None
    on_progress: Callable[[int, int, str], None] | None
    on_cancelled: Callable[[], None] | None = None


@dataclass
class _Lane:
    running: Task | None = None
    waiting: tuple[Task, Callable[..., Any], tuple[Any, ...]] | None = None


class TaskRunner(QObject):
    """Runs jobs on a thread pool and reports on the GUI thread.

    Parameters
    ----------
    max_workers
        Threads in the pool (the window keeps one core for itself on a 2-core laptop).
    synchronous
        Run every job inline on :meth:`submit` (tests of a view's logic).

    Signals
    -------
    started(Task), progressed(Task, done, total, text), finished(Task, result),
    failed(Task, message), cancelled(Task), busy_changed(bool)
    """

    started = Signal(object)
    progressed = Signal(object, int, int, str)
    finished = Signal(object, object)
    failed = Signal(object, str)
    cancelled = Signal(object)
    busy_changed = Signal(bool)

    #: Seconds between two progress signals of one job.
    progress_interval = 0.05

    def __init__(self, max_workers: int = 4, synchronous: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._synchronous = synchronous
        self._pool = None if synchronous else ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="faceexplorer-task")
        # Long jobs (an import, a model run) get a thread of their own, so the views'
        # short jobs (a page, a frame, a statistic) never queue behind them.
        self._long_pool = None if synchronous else ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="faceexplorer-long")
        if self._pool is not None:
            # Start the short-job threads now, with the window: started on first use,
            # each cost ~6 ms of the first view's open (issue 18's "open tab").
            gate = threading.Barrier(max_workers)
            for _ in range(max_workers):
                self._pool.submit(gate.wait, 5.0)
        self._ids = itertools.count(1)
        self._lanes: dict[Any, _Lane] = {}
        self._callbacks: dict[int, _Callbacks] = {}
        self._live: set[Task] = set()        # submitted, answer not yet delivered
        self._closed = False
        self._bridge = _Bridge()
        self._bridge.progressed.connect(self._deliver_progress)
        self._bridge.ended.connect(self._deliver_end)

    # --- submitting ---------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, key: Any = None, name: str = "",
               on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None,
               on_progress: Callable[[int, int, str], None] | None = None,
               on_cancelled: Callable[[], None] | None = None, long: bool = False,
               _drain: bool = False) -> Task:
        """Run ``fn(ctx, *args)`` in the background; returns its :class:`Task`.

        With a ``key``, the job joins that key's lane: it replaces a job of the lane still
        waiting (which is cancelled) and asks the running one to stop. The callbacks run
        on the GUI thread, only for a job that was neither cancelled nor superseded
        (``on_cancelled`` only for one that was). ``long`` jobs (imports, model runs) run
        on their own thread, one at a time, so that they never hold up the short ones.
        """
        if self._closed:
            raise RuntimeError("the task runner is shut down")
        task = Task(next(self._ids), key, name or getattr(fn, "__name__", "task"))
        task.long, task.drain = long, _drain
        self._callbacks[task.id] = _Callbacks(on_done, on_error, on_progress, on_cancelled)
        was_busy = self.busy
        self._live.add(task)
        if not was_busy:
            self.busy_changed.emit(True)
        if key is None:
            self._start(task, fn, args)
            return task
        lane = self._lanes.setdefault(key, _Lane())
        if lane.waiting is not None:
            self._drop(lane.waiting[0])
        if lane.running is None:
            lane.waiting = None
            self._start(task, fn, args)
        else:
            lane.running._request_cancel()
            lane.waiting = (task, fn, args)
        return task

    def spawn(self, fn: Callable[[], None], name: str = "worker") -> Task:
        """Run ``fn()`` on the pool, unkeyed (a worker's own drain loop; see
        :class:`~faceexplorer.core.newest_worker.NewestWorker`'s ``spawn``)."""
        # ``drain``: runs even if cancelled before it started (the worker's loop checks its
        # own state and ends; skipping it would leave the worker thinking it drains)
        return self.submit(lambda _ctx: fn(), name=name, _drain=True)

    def cancel(self, key: Any = None, task: Task | None = None) -> None:
        """Cancel one task, or every task of a lane (``key``)."""
        if task is not None:
            self._cancel_task(task)
            return
        lane = self._lanes.get(key)
        if lane is None:
            return
        if lane.waiting is not None:
            self._drop(lane.waiting[0])
            lane.waiting = None
        if lane.running is not None:
            lane.running._request_cancel()

    def cancel_all(self) -> None:
        for key in list(self._lanes):
            self.cancel(key)
        for task in list(self._live):
            task._request_cancel()

    # --- state --------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A job runs, waits, or its answer is still on its way."""
        return bool(self._live)

    def running(self, key: Any) -> Task | None:
        lane = self._lanes.get(key)
        return lane.running if lane else None

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Process events until every job ended and its answer was delivered.

        Returns False on timeout. For tests and for shutdown; the window never blocks on it.
        """
        deadline = time.monotonic() + timeout
        app = QCoreApplication.instance()
        while self._live:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if app is not None:
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.001)
        return True

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Refuse new jobs, cancel the others and wait for the running ones."""
        self._closed = True
        self.cancel_all()
        ok = self.wait_until_idle(timeout)
        for pool in (self._pool, self._long_pool):
            if pool is not None:
                pool.shutdown(wait=ok, cancel_futures=True)
        return ok

    # --- inside -------------------------------------------------------------------------
    def _start(self, task: Task, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if task.key is not None:
            self._lanes[task.key].running = task
        task.state = TaskState.RUNNING
        self.started.emit(task)
        if self._pool is None:
            self._run(task, fn, args)
            return
        pool = self._long_pool if task.long and self._long_pool is not None else self._pool
        pool.submit(self._run, task, fn, args)  # the answer travels by the bridge

    def _run(self, task: Task, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        ctx = TaskContext(task, self._bridge.progressed.emit, self.progress_interval)
        try:
            if not task.drain:
                ctx.check()
            result = fn(ctx, *args)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message
            self._bridge.ended.emit(task, None, exc)
        else:
            self._bridge.ended.emit(task, result, None)

    def _deliver_progress(self, task: Task, done: int, total: int, text: str) -> None:
        if task.cancel_requested or task.finished:
            return
        self.progressed.emit(task, done, total, text)
        callbacks = self._callbacks.get(task.id)
        if callbacks and callbacks.on_progress:
            callbacks.on_progress(done, total, text)

    def _deliver_end(self, task: Task, result: Any, exc: BaseException | None) -> None:
        callbacks = self._callbacks.pop(task.id, None)
        lane = self._lanes.get(task.key) if task.key is not None else None
        if lane is not None and lane.running is task:
            lane.running = None
            if lane.waiting is not None:
                nxt, fn, args = lane.waiting
                lane.waiting = None
                self._start(nxt, fn, args)
            elif task.key in self._lanes:
                del self._lanes[task.key]
        try:
            # A long job (a write) that finished despite a late cancel did its work: its
            # answer is delivered, so that the window does not say it was undone.
            late = task.long and exc is None
            if (task.cancel_requested and not late) or isinstance(exc, TaskCancelled):
                task.state = TaskState.CANCELLED
                self.cancelled.emit(task)
                if callbacks and callbacks.on_cancelled:
                    callbacks.on_cancelled()
            elif exc is not None:
                task.state, task.error = TaskState.FAILED, error_message(exc)
                self.failed.emit(task, task.error)
                if callbacks and callbacks.on_error:
                    callbacks.on_error(task.error)
            else:
                task.state, task.result = TaskState.DONE, result
                self.finished.emit(task, result)
                if callbacks and callbacks.on_done:
                    callbacks.on_done(result)
        finally:
            self._retire(task)

    def _drop(self, task: Task) -> None:
        """A waiting job that will never start."""
        task._request_cancel()
        task.state = TaskState.CANCELLED
        callbacks = self._callbacks.pop(task.id, None)
        self.cancelled.emit(task)
        if callbacks and callbacks.on_cancelled:
            callbacks.on_cancelled()
        self._retire(task)

    def _cancel_task(self, task: Task) -> None:
        lane = self._lanes.get(task.key) if task.key is not None else None
        if lane is not None and lane.waiting is not None and lane.waiting[0] is task:
            lane.waiting = None
            self._drop(task)
        else:
            task._request_cancel()

    def _retire(self, task: Task) -> None:
        self._live.discard(task)
        if not self._live:
            self.busy_changed.emit(False)
