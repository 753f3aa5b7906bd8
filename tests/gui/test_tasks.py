"""The task runner: lanes where the newest request wins, cancel, progress, errors, idle."""

from __future__ import annotations

import threading
import time

import pytest

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.gui.core.tasks import TaskCancelled, TaskRunner, TaskState, error_message


@pytest.fixture
def runner(qtbot):
    r = TaskRunner(max_workers=2)
    yield r
    r.shutdown(5)


def _blocked(gate: threading.Event, ran: list):
    def job(ctx, value):
        ran.append(value)
        gate.wait(5)
        return value
    return job


def test_a_lane_ends_on_its_newest_request(runner):
    gate, ran, done = threading.Event(), [], []
    job = _blocked(gate, ran)
    first = runner.submit(job, 1, key="page", on_done=done.append)
    while not ran:                      # the first one is running
        time.sleep(0.001)
    second = runner.submit(job, 2, key="page", on_done=done.append)
    third = runner.submit(job, 3, key="page", on_done=done.append)
    assert second.state is TaskState.CANCELLED       # replaced while waiting: never ran
    assert first.cancel_requested                    # asked to stop
    gate.set()
    assert runner.wait_until_idle(5)
    assert ran == [1, 3]
    assert done == [3]                   # the superseded answer is never delivered
    assert first.state is TaskState.CANCELLED and third.state is TaskState.DONE
    assert third.result == 3


def test_lanes_are_independent(runner):
    done = []
    runner.submit(lambda ctx: "a", key="a", on_done=done.append)
    runner.submit(lambda ctx: "b", key="b", on_done=done.append)
    assert runner.wait_until_idle(5)
    assert sorted(done) == ["a", "b"]


def test_unkeyed_jobs_all_run(runner):
    done = []
    for i in range(10):
        runner.submit(lambda ctx, i: i * i, i, on_done=done.append)
    assert runner.wait_until_idle(5)
    assert sorted(done) == [i * i for i in range(10)]


def test_errors_arrive_as_one_sentence(runner):
    errors, failed = [], []
    runner.failed.connect(lambda task, msg: failed.append(msg))

    def bad_file(ctx):
        raise DatasetFormatError("/data/training.csv", "expected 9 columns, found 3", line=12)

    def bug(ctx):
        raise ValueError("no such column")

    runner.submit(bad_file, on_error=errors.append)
    runner.submit(bug, on_error=errors.append)
    assert runner.wait_until_idle(5)
    assert sorted(errors) == sorted([
        "/data/training.csv, line 12: expected 9 columns, found 3",
        "ValueError: no such column"])
    assert sorted(failed) == sorted(errors)
    assert error_message(KeyboardInterrupt()) == "KeyboardInterrupt"


def test_cancel_interrupts_and_delivers_nothing(runner):
    started, interrupted, done = threading.Event(), threading.Event(), []
    cancelled = []
    runner.cancelled.connect(cancelled.append)

    def long_query(ctx):
        ctx.on_cancel(interrupted.set)
        started.set()
        while True:
            ctx.check()
            time.sleep(0.002)

    task = runner.submit(long_query, key="stats", on_done=done.append)
    assert started.wait(5)
    runner.cancel("stats")
    assert runner.wait_until_idle(5)
    assert interrupted.is_set()
    assert task.state is TaskState.CANCELLED and cancelled == [task]
    assert done == []


def test_on_cancel_after_cancel_interrupts_at_once(runner):
    calls = []
    gate, started = threading.Event(), threading.Event()

    def job(ctx):
        started.set()
        gate.wait(5)
        ctx.on_cancel(lambda: calls.append("interrupt"))
        raise TaskCancelled

    task = runner.submit(job)
    assert started.wait(5)        # running (a job cancelled before it starts never runs)
    runner.cancel(task=task)
    gate.set()
    assert runner.wait_until_idle(5)
    assert calls == ["interrupt"]


def test_progress_is_throttled_and_ends_on_the_last_step(runner):
    seen = []

    def rows(ctx):
        for i in range(1, 100_001):
            ctx.progress(i, 100_000, "rows")
        return "ok"

    runner.submit(rows, on_progress=lambda done, total, text: seen.append(done))
    assert runner.wait_until_idle(10)
    assert 1 <= len(seen) < 1000          # not 100,000 queued signals
    assert seen[-1] == 100_000


def test_busy_and_idle(runner, qtbot):
    states = []
    runner.busy_changed.connect(states.append)
    gate = threading.Event()
    runner.submit(lambda ctx: gate.wait(5))
    assert runner.busy
    assert not runner.wait_until_idle(0.05)   # still running: a timeout says so
    gate.set()
    assert runner.wait_until_idle(5)
    assert not runner.busy
    assert states == [True, False]


def test_the_gui_thread_keeps_running_while_a_job_runs(runner, qtbot):
    """Answers come by the event loop; submit never waits for the job."""
    gui = threading.get_ident()
    gate, where = threading.Event(), []

    def job(ctx):
        where.append(threading.get_ident())
        return gate.wait(5)          # released only once submit has returned

    runner.submit(job, on_done=lambda released: where.append(
        (released, threading.get_ident())))
    gate.set()
    assert runner.wait_until_idle(5)
    assert where[0] != gui
    assert where[1] == (True, gui)


def test_synchronous_mode_runs_inline(qtbot):
    runner = TaskRunner(synchronous=True)
    done, errors = [], []
    runner.submit(lambda ctx, x: x + 1, 41, key="k", on_done=done.append)
    runner.submit(lambda ctx: 1 / 0, on_error=errors.append)
    assert done == [42]
    assert errors == ["ZeroDivisionError: division by zero"]
    assert not runner.busy
    runner.shutdown()


def test_shutdown_refuses_new_jobs(runner):
    started = threading.Event()

    def job(ctx):
        started.set()
        while not ctx.cancelled:
            time.sleep(0.002)

    runner.submit(job, key="x")
    assert started.wait(5)
    assert runner.shutdown(5)
    with pytest.raises(RuntimeError, match="shut down"):
        runner.submit(job)
