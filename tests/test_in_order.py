"""core.in_order: results in the items' order, a bounded way ahead, early exits cancel."""

from __future__ import annotations

import threading
import time

from faceexplorer.core.in_order import in_order


def test_results_come_in_item_order_whatever_finishes_first() -> None:
    def slow_first(i: int) -> int:
        time.sleep(0.02 if i % 2 == 0 else 0.0)
        return i * i

    assert list(in_order(slow_first, ((i,) for i in range(9)), 2)) == [
        i * i for i in range(9)]


def test_items_are_drawn_on_the_consumers_thread_and_only_a_few_ahead() -> None:
    drawn: list[int] = []
    threads: set[int] = set()

    def items():
        for i in range(20):
            threads.add(threading.get_ident())
            drawn.append(i)
            yield (i,)

    got = in_order(lambda i: i, items(), 2)
    assert next(got) == 0
    assert len(drawn) <= 3          # the first result: at most 2 running + 1 waiting
    assert list(got) == list(range(1, 20))
    assert threads == {threading.get_ident()}


def test_leaving_early_cancels_what_has_not_started() -> None:
    started: list[int] = []
    gate = threading.Event()

    def work(i: int) -> int:
        started.append(i)
        gate.wait(1.0)
        return i

    got = in_order(work, ((i,) for i in range(50)), 2)
    gate.set()
    assert next(got) == 0
    got.close()
    assert len(started) <= 4
