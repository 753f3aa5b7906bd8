"""The details of the page shown, read ahead on a worker, so a click only paints.

When the browser shows a page, the detail panel asks for every image of it at once
(``reports.page_details``: one query per part, crowd statistics on one matrix per set,
~50-150 ms for 200 images off the GUI thread). A click on an image of the page then
takes its detail from here: the panel's loader only reads the image file, and no query
runs between the click and the paint. A click that comes first reads its image alone,
as before, so nothing waits for the read-ahead.

The worker has its own DuckDB cursor (connections are not thread-safe) on the panel's
read-only connection; the panel makes a new read-ahead for each connection, so answers
never outlive the index they were read from (the window reconnects after an import and
after a model run writes predictions). One request at a time, newest wins: keys already
kept are not read again. The kept details are bounded (``capacity``, oldest dropped
first; a detail is a few kilobytes). Nothing here touches Qt.

It must never slow the click it exists for. Most of a page's cost is Python (building
the votes and statistics objects), which holds the GIL: run in one piece, a click made
meanwhile waited for it (select right after paging: p50 31 -> 80 ms). So the page is read
in chunks of ``CHUNK`` images, and while a click is being served (:meth:`pause`, until
:meth:`resume` once the panel has painted) no new chunk starts; the panel also starts
the read-ahead only after the user has left the page alone for a moment.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

import duckdb

from faceexplorer.core.newest_worker import NewestWorker, Spawn
from faceexplorer.reports.image_detail import ImageDetail
from faceexplorer.reports.page_details import Key, page_details

#: Images per chunk: ~5-8 ms of work, about the longest a click waits for the GIL.
CHUNK = 10


class DetailReadAhead(NewestWorker[list[Key], None]):
    """Reads :func:`page_details` of the requested keys on a worker and keeps them."""

    thread_name = "detail-read-ahead"

    def __init__(self, con: duckdb.DuckDBPyConnection, tables: frozenset[str],
                 c25_names: Mapping[int, dict[int, str | None]],
                 capacity: int = 1000, spawn: Spawn | None = None) -> None:
        super().__init__(spawn)
        self._cursor = con.cursor()
        self._tables = tables
        self._c25_names = c25_names
        self.capacity = capacity
        self._kept: OrderedDict[Key, ImageDetail] = OrderedDict()
        self._paused = False
        #: Requests served, read whole or cut short by a newer one (tests read this).
        self.pages_read = 0

    def request(self, keys: Iterable[Key]) -> None:
        """Read the details of ``keys`` soon (replacing a request not started yet)."""
        keys = [(str(s), int(r)) for s, r in keys]
        with self._cond:
            missing = [k for k in keys if k not in self._kept]
            if missing:
                self._submit(missing)

    def get(self, key: Key) -> ImageDetail | None:
        """The detail of ``key`` if it was read ahead, else None (never waits)."""
        key = (str(key[0]), int(key[1]))
        with self._cond:
            detail = self._kept.get(key)
            if detail is not None:
                self._kept.move_to_end(key)
            return detail

    def clear(self) -> None:
        """Forget every kept detail (what is being read still lands)."""
        with self._cond:
            self._kept.clear()

    def pause(self) -> None:
        """A click is being served: start no new chunk until :meth:`resume`."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        """The click was painted: carry on."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def close(self, timeout: float = 10.0) -> None:
        """Refuse further requests, wait for the running one, close the cursor."""
        super().close(timeout)   # wakes a chunk loop waiting out a pause
        self._cursor.close()

    def _work(self, keys: list[Key]) -> None:
        for first in range(0, len(keys), CHUNK):
            with self._cond:
                # a click in progress goes first; a newer page replaces this one
                self._cond.wait_for(lambda: not self._paused or self._closed, 5.0)
                if self._closed or self._pending is not None:
                    break
            try:
                got = page_details(self._cursor, keys[first:first + CHUNK], self._tables,
                                   self._c25_names)
            except Exception:  # noqa: BLE001 - a click then reads its image itself
                break
            with self._cond:
                self._kept.update(got)
                while len(self._kept) > self.capacity:
                    self._kept.popitem(last=False)

    def _done(self, keys: list[Key], result: None) -> bool:
        self.pages_read += 1
        return True

    def _interrupt(self) -> None:
        self._cursor.interrupt()
