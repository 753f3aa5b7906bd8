"""The batch run's helper threads: prefetch keeps order and raises, the writer raises late."""

from __future__ import annotations

import threading

import pytest

from faceexplorer.inference.batch_io import ChunkWriter, Prefetcher


def test_prefetcher_keeps_order_and_loads_on_one_worker() -> None:
    threads: set[int] = set()

    def load(i: int) -> int:
        threads.add(threading.get_ident())
        return i * i

    loaded = Prefetcher(list(range(100)), load, ahead=4)
    assert list(loaded) == [(i, i * i) for i in range(100)]
    loaded.close()
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_prefetcher_raises_on_the_consumer_and_close_stops_early() -> None:
    def load(i: int) -> int:
        if i == 5:
            raise OSError("disk gone")
        return i

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item, _ in Prefetcher(range(10), load, ahead=2):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]
    seen = []
    early = Prefetcher(range(10_000), lambda i: seen.append(i) or i, ahead=2)
    next(iter(early))
    early.close()  # returns although most items were never taken
    assert len(seen) < 10


def test_chunk_writer_writes_in_order_and_raises_a_failure() -> None:
    written: list[list[int]] = []
    counted: list[int] = []
    writer = ChunkWriter(written.append, lambda rows: counted.append(len(rows)))
    chunk = [1, 2]
    writer.submit(chunk)
    chunk.clear()  # the writer took a copy
    writer.submit([3])
    writer.submit([])
    writer.close()
    assert written == [[1, 2], [3]] and counted == [2, 1]

    def broken(rows: list) -> None:
        raise RuntimeError("index locked")

    failing = ChunkWriter(broken, counted.append)
    failing.submit([1])
    with pytest.raises(RuntimeError, match="index locked"):
        failing.close()
