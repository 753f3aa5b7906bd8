"""Work on a few threads, results in the order it was given, a bounded way ahead.

The FACES ranking reads blocks of features with DuckDB and ranks them with numpy; both
release the GIL, so two threads keep both cores busy. :func:`in_order` is that pipeline
once: ``fn(*item)`` for each item on ``workers`` threads, yielding the results in the
items' order. The items are drawn lazily, on the consumer's thread (so a DuckDB
connection that only the consumer may use can produce them), and at most ``workers``
results wait beyond those being computed, so memory stays a few blocks whatever the
number of items. Closing the generator (``contextlib.closing`` around the loop, so that
it happens when the loop is left early, not when the generator is collected) cancels
the calls not yet started and waits for the running ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def in_order(fn: Callable[..., T], items: Iterable[tuple[Any, ...]], workers: int
             ) -> Iterator[T]:
    """``fn(*item)`` for every item on ``workers`` threads; the results in item order."""
    pending: deque[Future[T]] = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            for item in items:
                pending.append(pool.submit(fn, *item))
                while len(pending) > workers:   # at most a result per worker waits
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
