"""Batch runs and run reports off the GUI thread.

``BatchWorker`` is a ``QThread`` around ``inference.batch.run_batch``. The runner opens
short read-write connections (one per chunk); DuckDB refuses them while the window holds
its read-only one, so every index access is wrapped in a context manager that asks the
GUI thread to *release* the window's connection and, on exit, to *reopen* it. Both
requests are blocking queued signals: the worker waits until the GUI thread has done
it, and the window's views (which belong to the GUI thread) are only touched there.
Progress comes back at most ``PROGRESS_HZ`` times a second (and on the last item);
cancelling sets a flag the runner polls once per item, and what was written is kept.

``ReportJob`` computes ``stats.model_report`` with its own cursor on a one-thread
pool; results carry a generation so an answer for an older request or connection is
dropped (newest request wins).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
from PySide6.QtCore import QObject, QRunnable, QThread, Signal

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.stats.model_report import model_report

PROGRESS_HZ = 8


class BatchWorker(QThread):
    """One batch run on its own thread.

    Signals
    -------
    progress(int, int, float)
        Items done (stored before included), items of the run, items per second.
    succeeded(object)
        The ``BatchResult`` (status 'finished', 'stopped' or 'failed').
    failed(str)
        The run could not start or broke off: the message for the user.
    release_requested(), reopen_requested()
        Emitted from this thread; connect them with ``BlockingQueuedConnection`` to
        slots of the GUI thread that close and reopen the window's connection.
    """

    progress = Signal(int, int, float)
    succeeded = Signal(object)
    failed = Signal(str)
    release_requested = Signal()
    reopen_requested = Signal()

    def __init__(self, db_path: Path, model_path: str, dataset: str, limit: int | None,
                 threads: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path, self.model_path, self.dataset = Path(db_path), model_path, dataset
        self.limit, self.threads = limit, threads
        self.cancel_flag = threading.Event()
        self._last_emit = 0.0

    def cancel(self) -> None:
        """Stop after the item in flight; what was predicted is written first."""
        self.cancel_flag.set()

    @contextlib.contextmanager
    def _index_access(self) -> Iterator[None]:
        self.release_requested.emit()
        try:
            yield
        finally:
            self.reopen_requested.emit()

    def _progress(self, done: int, total: int, rate: float) -> None:
        now = time.monotonic()
        # The runner calls this per item; the bar needs a few updates a second.
        if now - self._last_emit >= 1.0 / PROGRESS_HZ or done >= total:
            self._last_emit = now
            self.progress.emit(done, total, rate)

    def run(self) -> None:
        from faceexplorer.inference.batch import run_batch

        try:
            result = run_batch(self.db_path, self.model_path, self.dataset,
                               limit=self.limit, threads=self.threads,
                               progress=self._progress, should_stop=self.cancel_flag.is_set,
                               index_access=self._index_access)
        except FaceExplorerError as exc:  # model does not load, card refused, no dataset
            self.failed.emit(_first_line(exc))
        except duckdb.Error as exc:
            self.failed.emit(f"the index could not be written ({_first_line(exc)}); is "
                             "another FaceExplorer process importing into it?")
        except Exception as exc:  # never a traceback dialog; the message names the cause
            self.failed.emit(f"the run broke off: {type(exc).__name__}: {_first_line(exc)}")
        else:
            self.succeeded.emit(result)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class ReportSignals(QObject):
    """Where a ``ReportJob`` delivers: (generation, run_id, report dict or message)."""

    done = Signal(int, str, object)
    failed = Signal(int, str, str)


class ReportJob(QRunnable):
    """``model_report(cursor, run_id)`` on a pool thread; closes its cursor."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, run_id: str, generation: int,
                 signals: ReportSignals) -> None:
        super().__init__()
        self.cursor, self.run_id, self.generation = cursor, run_id, generation
        self.signals = signals

    def run(self) -> None:
        try:
            report: dict[str, Any] = model_report(self.cursor, self.run_id)
        except Exception as exc:  # shown in the report area; none may escape into Qt
            self.signals.failed.emit(self.generation, self.run_id,
                                     f"{type(exc).__name__}: {_first_line(exc)}")
        else:
            self.signals.done.emit(self.generation, self.run_id, report)
        finally:
            with contextlib.suppress(duckdb.Error):
                self.cursor.close()
