"""A batch run and a run report as jobs of the window's task runner.

:func:`batch_job` is a write (:meth:`IndexSession.write
<faceexplorer.gui.core.session.IndexSession.write>`): it runs
``inference.batch.run_batch`` on the runner's long-job thread while the session holds the
index writable, so the window keeps reading it meanwhile and sees each chunk as it
commits. Progress goes through the task's context (throttled there). Stopping is the
``stop`` event (polled once per item): the run then ends normally as "stopped", keeps what
was written and its result is delivered; a cancel of the task (the window closing) stops
it the same way. Failures become one sentence for the user.

:func:`report_job` is a read: ``model_report`` on a cursor of its own.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.gui.core.tasks import TaskContext
from faceexplorer.reports.model_report import model_report


def batch_job(ctx: TaskContext, db_path: Path, model_path: str, dataset: str,
              limit: int | None, threads: int, stop: threading.Event) -> Any:
    """Run ``model_path`` over ``dataset`` of the index at ``db_path``; the ``BatchResult``."""
    from faceexplorer.inference.batch import run_batch

    def progress(done: int, total: int, rate: float) -> None:
        ctx.progress(done, total, f"{rate:.1f}")

    try:
        return run_batch(db_path, model_path, dataset, limit=limit, threads=threads,
                         progress=progress,
                         should_stop=lambda: stop.is_set() or ctx.cancelled)
    except FaceExplorerError:       # model does not load, card refused, no dataset
        raise
    except duckdb.Error as exc:
        raise FaceExplorerError(f"the index could not be written ({_first_line(exc)})") from exc
    except Exception as exc:  # never a traceback dialog; the message names the cause
        raise FaceExplorerError(
            f"the run broke off: {type(exc).__name__}: {_first_line(exc)}") from exc


def report_job(_ctx: TaskContext, cursor: duckdb.DuckDBPyConnection,
               run_id: str) -> tuple[str, dict[str, Any]]:
    """The model-vs-human report of ``run_id``."""
    return run_id, model_report(cursor, run_id)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
