"""NewestWorker: the newest request wins, one thread at most, none left when idle."""

from __future__ import annotations

import threading
import time

from faceexplorer.core.newest_worker import NewestWorker


class Recorder(NewestWorker[int, int]):
    """Squares requests; the first request blocks until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.started = threading.Event()
        self.done: list[int] = []
        self.threads: set[str] = set()
        self.interrupted = False
        self.stop_after: int | None = None

    def submit(self, n: int) -> bool:
        return self._submit(n)

    def _work(self, n: int) -> int:
        self.threads.add(threading.current_thread().name)
        self.started.set()
        self.release.wait(5)
        return n * n

    def _done(self, n: int, result: int) -> bool:
        self.done.append(result)
        return n != self.stop_after

    def _interrupt(self) -> None:
        self.interrupted = True
        self.release.set()


def wait_idle(w: NewestWorker) -> None:
    deadline = time.monotonic() + 5
    while not w.idle():
        assert time.monotonic() < deadline, "the worker did not finish"
        time.sleep(0.005)


def test_newest_pending_request_replaces_older_ones() -> None:
    w = Recorder()
    assert w.idle()
    w.submit(1)
    assert w.started.wait(5)          # 1 runs; 2, 3, 4 arrive while it does
    for n in (2, 3, 4):
        w.submit(n)
    assert not w.idle()
    w.release.set()
    wait_idle(w)
    assert w.done == [1, 16]          # 2 and 3 were replaced before they started
    assert w.threads == {"newest-worker"}


def test_thread_exits_when_drained_and_starts_again() -> None:
    w = Recorder()
    w.release.set()
    w.submit(3)
    wait_idle(w)
    w.submit(5)
    wait_idle(w)
    assert w.done == [9, 25]


def test_drop_pending_waits_for_the_running_request() -> None:
    w = Recorder()
    w.submit(2)
    assert w.started.wait(5)
    w.submit(7)                       # pending, dropped below
    threading.Timer(0.05, w.release.set).start()
    assert w.drop_pending(timeout=5)
    assert w.idle() and w.done == [4]


def test_close_interrupts_and_refuses_further_requests() -> None:
    w = Recorder()
    w.submit(6)
    assert w.started.wait(5)
    w.close(timeout=5)
    assert w.interrupted and w.idle() and w.done == [36]
    assert w.submit(8) is False
    assert w.done == [36]


def test_done_returning_false_stops_the_thread() -> None:
    w = Recorder()
    w.stop_after = 1
    w.submit(1)
    assert w.started.wait(5)
    w.submit(2)                       # pending when the answer says stop
    w.release.set()
    wait_idle(w)
    assert w.done == [1]
