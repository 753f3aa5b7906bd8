"""The details of the page shown, read ahead on a worker, so a click only paints.

When the browser shows a page, the detail panel asks for every image of it at once
(``index.page_details``: one query per part, crowd statistics on one matrix per set,
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
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

import duckdb

from faceexplorer.core.newest_worker import NewestWorker
from faceexplorer.index.image_detail import ImageDetail
from faceexplorer.index.page_details import Key, page_details


class DetailReadAhead(NewestWorker[list[Key], dict[Key, ImageDetail]]):
    """Reads :func:`page_details` of the requested keys on a worker and keeps them."""

    thread_name = "detail-read-ahead"

    def __init__(self, con: duckdb.DuckDBPyConnection, tables: frozenset[str],
                 c25_names: Mapping[int, dict[int, str | None]],
                 capacity: int = 1000) -> None:
        super().__init__()
        self._cursor = con.cursor()
        self._tables = tables
        self._c25_names = c25_names
        self.capacity = capacity
        self._kept: OrderedDict[Key, ImageDetail] = OrderedDict()
        #: Pages read (the bench and the tests read this).
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

    def close(self, timeout: float = 10.0) -> None:
        """Refuse further requests, wait for the running one, close the cursor."""
        super().close(timeout)
        self._cursor.close()

    def _work(self, keys: list[Key]) -> dict[Key, ImageDetail]:
        try:
            return page_details(self._cursor, keys, self._tables, self._c25_names)
        except Exception:  # noqa: BLE001 - a click then reads its image itself
            return {}

    def _done(self, keys: list[Key], got: dict[Key, ImageDetail]) -> bool:
        self.pages_read += 1
        self._kept.update(got)
        while len(self._kept) > self.capacity:
            self._kept.popitem(last=False)
        return True

    def _interrupt(self) -> None:
        self._cursor.interrupt()
