"""The next page read ahead on a worker, so the ▶ click is a paint only.

After a page is shown the browser asks for the page after it (the keyset query of
``faces_page``: the rows past the shown page's last row). The worker thread runs it on
its own cursor (DuckDB connections are not thread-safe) over the browse table the index
stores (``index.browse_table``). An index made before that table was stored gives the
cursor its own TEMP copy (a TEMP table belongs to one connection), built by the same
``prepare_browse`` from the same read-only index, so its ``pos`` numbering and rows are
the GUI's: built once, on the worker, the first time a page is asked for (~1 s of CPU
off the GUI thread; until then clicks read their page as before).

One request at a time, newest wins: a request replaces one not started yet. ``take``
hands over the page of a key when it is ready, waits for it when it is being read (the
rest of a query beats starting it again), and returns None otherwise: the caller then
reads the page itself. Nothing here touches Qt.
"""

from __future__ import annotations

from collections.abc import Hashable

import duckdb

from faceexplorer.core.newest_worker import NewestWorker, Spawn
from faceexplorer.index import faces_page
from faceexplorer.index import faces_query as fq

Request = tuple[Hashable, dict]


class PagePrefetcher(NewestWorker[Request, "fq.ImagePage | None"]):
    """Reads ``faces_page.image_page(..., after=pos)`` ahead on a worker thread."""

    thread_name = "page-prefetch"

    def __init__(self, con: duckdb.DuckDBPyConnection, spawn: Spawn | None = None) -> None:
        super().__init__(spawn)
        self._cursor = con.cursor()
        self._src: fq.Sources | None = None   # the cursor's browse table, once built
        self._running: Hashable | None = None
        self._ready: tuple[Hashable, fq.ImagePage] | None = None

    def request(self, key: Hashable, flt: fq.ImageFilter, sort: fq.ImageSort, offset: int,
                limit: int, total: int, after: int) -> None:
        """Read the page ``key`` (rows past position ``after``) soon."""
        args = {"flt": flt, "sort": sort, "offset": offset, "limit": limit, "total": total,
                "after": after}
        with self._cond:
            if key not in (self._running, self._ready and self._ready[0]):
                self._submit((key, args))

    def take(self, key: Hashable, timeout: float = 5.0) -> fq.ImagePage | None:
        """The page of ``key`` if it was read ahead (waiting while it is being read)."""
        def asked() -> bool:
            return self._running == key or (self._pending is not None
                                            and self._pending[0] == key)

        with self._cond:
            # Never wait behind the one-time build of the cursor's browse table.
            if asked() and self._src is not None:
                self._cond.wait_for(lambda: not asked(), timeout)
            if self._ready is not None and self._ready[0] == key:
                page, self._ready = self._ready[1], None
                return page
            return None

    def close(self, timeout: float = 10.0) -> None:
        """Refuse further requests, wait for the running one (the one-time table build,
        ~1 s, is interrupted: a writer may be waiting for the file), close the cursor."""
        super().close(timeout)
        self._cursor.close()

    def _started(self, request: Request) -> None:
        self._running = request[0]

    def _work(self, request: Request) -> fq.ImagePage | None:
        try:
            if self._src is None:
                self._src = fq.prepare_browse(self._cursor)
            return faces_page.image_page(self._cursor, src=self._src, **request[1])
        except Exception:  # noqa: BLE001 - the click then reads the page itself
            return None

    def _done(self, request: Request, page: fq.ImagePage | None) -> bool:
        self._running = None
        if page is not None:
            self._ready = (request[0], page)
        return True

    def _interrupt(self) -> None:
        self._cursor.interrupt()
