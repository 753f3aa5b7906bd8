"""Benchmark: the AffectNet tab at full scale with real image files, against bare DuckDB.

    python bench/browse.py [--repeats 30] [--cold 6] [--only ACTION ...] [--json]

Issues 3 and 18. The index holds the full-scale AffectNet sample (414,800 + 5,500 rows)
and both AffectNetC25 sets, **with an image file for every row**: writing 420k distinct
JPEGs is too slow here, so a pool of ``POOL_SIZE`` distinct faces is drawn with
``faceexplorer.samples`` (drawn small, scaled to AffectNet-like sizes that hold each row's
face box, 160-1,500 px, with sensor-like grain: ~0.18 bytes/pixel at JPEG quality 90, a
web photo's rate; ``PNG_POOL`` PNGs for the rows named ``.png``) and every row's file is a
hard link to one of them. Every thumbnail and every detail face is a real decode of a
real file. The page cache holds the pool (~0.2 GB, written just before or read by earlier
runs): decodes are real, disk reads are not; a user's first look at a folder on a cold
disk also waits for the disk. Files: ``bench/out/browse/`` (the CSVs hard-linked from
``bench/out/full/AffectNet``, C25 read from ``bench/out/full/AffectNetC25``, the pool,
the links and ``index.duckdb``, imported once and reused; ``--reimport`` imports again).

The real :class:`MainWindow` is shown offscreen at 1400x900. Two kinds of rows:

**First visits** (``--cold`` fresh windows per action, each on a new read-only connection:
DuckDB's buffers empty, nothing read ahead, no statistics cached). The clock of each
starts once the fresh window's own background work (thumbnails, read-aheads, and the
Crowd statistics tab the window builds ahead once idle: ``gui/idle_build.py``) is done:

- ``open window``: ``MainWindow(db)`` + show -> the AffectNet grid's first paint with
  its first page (tiles may still wait for thumbnails; see ``open faces``);
  ``open tab``: the part of it from the AffectNet view's factory (view built, index
  connected, first page read) to that paint: what a click on the tab costs;
  ``open faces``: window start -> every tile visible in the grid shows its decoded face.
  Bare: ``duckdb.connect`` read-only + ``count(*)`` + the first 200 rows of
  ``affectnet_images`` (+ decoding the visible tiles' files, for ``open faces``).
- ``sort first``: the session's first header click (a random column) -> painted; bare on
  a fresh connection: ``affectnet_images`` top 200 by valence or arousal.
- ``filter first``: the session's first filter -> painted; bare on a fresh connection:
  count + 200 rows of ``affectnet_images`` by expression and valence.
- ``page first``: a valence-descending order at a random depth, then ▶ at once, before
  the read-ahead of that page could start -> painted; bare on a fresh connection: the
  next 200 of ``affectnet_images`` past a valence (keyset).
- ``select first``: a random page shown, then a click on a tile at once (the page's
  detail read-ahead not started, its thumbnails loading) -> the detail panel painted the
  decoded face; bare on a fresh connection: the row, its C25 votes, decoding its file.
- ``set stats first``: the first visit of the Crowd statistics tab, which the window
  built while idle (~1 s without background work after its start: the panel, its
  statistics read from the index, the shown tab's plot; not on the clock) -> statistics
  shown and the tab painted for the first time; bare on a fresh connection: reading that
  set's votes of the task.
- ``set stats at once``: the same visit before the window built anything ahead (its idle
  build cancelled: a click on the tab within the first second) -> the panel built, its
  statistics read and shown, the tab painted. pyqtgraph's import (~0.35 s of CPU, once
  per session: the first window of a session does it while idle) is in neither row: the
  bench imports it before the first window and prints its time on its own line.

**Warm** (one window, ``--repeats`` each, a few untimed warm-ups first; what a session
does after its first minute):

- ``filter``: ``browser.apply(ImageFilter)`` (expressions, V/A ranges, set, agreement,
  search) -> the grid repainted (``paint_now`` emits ``view_painted`` synchronously);
  bare: ``count(*)`` + first page (``SELECT *``, LIMIT 200) on the browse table;
- ``sort``: a header click over every row -> painted; bare: ``ORDER BY <column>, pos
  LIMIT 200`` on the browse table;
- ``page``: the ▶ button at a random depth of a valence-descending order, after the app
  read that page ahead (a user's pause) -> painted; bare: the keyset query the app runs
  for that click (``faces_page._keyset_sql``), then those rows;
- ``select``: ``select_row`` in a page whose details were read ahead -> the detail
  panel's ``shown`` (the worker decodes the file, the panel paints); bare: the image's
  AffectNet row, its C25 votes and decoding its file;
- ``select early``: the same click with the read-ahead forgotten just before it (a
  click that beats the read-ahead): the worker runs the single-image query too;
- ``select busy``: a click while the page's read-ahead runs (after the user's first
  pause on the page), thumbnails perhaps loading too: a quick user's worst case;
- ``set stats``: switch to the Crowd statistics tab and ``show_statistics(set, task)``
  with every set cached (after a first visit) -> tab repainted; bare: re-reading the
  set's votes of that task.
- ``filter faces``, ``sort faces``, ``page faces``: the same actions' clocks run on until
  every tile on screen shows its decoded face (the thumbnails load on their thread after
  the paint); bare: the action's bare queries + decoding those tiles' files in turn.

Bare queries of ``affectnet_images`` select the columns the browser shows (a ``*``
would drag 136 landmark floats per row through every sort; until this session's second
run the first-visit bares did, which flattered the app's ratios there).

The clock of a ``select`` row stops when the detail panel says ``shown`` (it has painted),
not when the event loop's turn that painted it returns: that turn may go on with other
work (a batch of thumbnails repainting the grid), which the clock took in until this
session (up to ~45 ms more on ``select busy``).

Between timed actions the detail panel's pending load, the page's thumbnails and the
read-aheads are awaited off the clock, so one action's background work never lands in
the next one's time; in the warm rows the thumbnails of a page are real decodes (~2-15 ms
each) on the thumbnail thread. Like the app (``gui/app.py``), the bench freezes what
startup made out of Python's cycle collector once a window is up. Bare queries run on
the window's own connection for warm rows (interleaved with the GUI actions, same machine
load), on a fresh read-only connection for first visits. Goals: p95 < 50 ms for actions,
< 100 ms for ``open tab``; the table gives the ratio to bare, and the process CPU time
(all threads) over each timed span, steadier than wall time on a shared machine. The
load average is printed at start and end.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUT = Path(__file__).resolve().parent / "out" / "browse"
SAMPLES = Path(__file__).resolve().parent / "out" / "full"
SEED = 3
WARMUPS = 3
GOAL_MS = 50.0
GOAL_OPEN_MS = 100.0
GOAL_RATIO = 3.0
#: Distinct drawn faces behind the 420k rows' files (JPEG), and PNGs for ``.png`` rows.
POOL_SIZE = 2000
PNG_POOL = 100
#: Grain added after scaling: ~0.18 bytes/pixel at JPEG quality 90, like a web photo.
NOISE_SD = 5.0
WARM = ("filter", "sort", "page", "select", "select early", "select busy", "set stats")
COLD = ("open", "sort first", "filter first", "page first", "select first",
        "set stats first", "set stats at once")
ACTIONS = WARM + COLD


# --- the index with image files ---------------------------------------------------------
def _rows_and_extents(csvs: list[Path]) -> list[tuple[str, int]]:
    """(sub path, the box's right/bottom extent) of every CSV row (0 without a box)."""
    import duckdb

    con = duckdb.connect()
    rows: list[tuple[str, int]] = []
    try:
        for csv in csvs:
            rows += con.execute(
                "SELECT subDirectory_filePath, coalesce(greatest("
                "TRY_CAST(face_x AS BIGINT) + TRY_CAST(face_width AS BIGINT), "
                "TRY_CAST(face_y AS BIGINT) + TRY_CAST(face_height AS BIGINT)), 0) "
                "FROM read_csv(?, header = true, all_varchar = true)", [str(csv)]).fetchall()
    finally:
        con.close()
    return [(p, int(e)) for p, e in rows if p]


def _draw_pool(folder: Path, sides: np.ndarray, png: int, rng: np.random.Generator) -> None:
    """``len(sides)`` distinct faces (the first ``png`` as PNG): drawn, scaled, grained."""
    import cv2

    from faceexplorer.core.vocab import EXPRESSIONS
    from faceexplorer.samples.drawing import draw_face, params_for_expression

    folder.mkdir(parents=True, exist_ok=True)
    for i, side in enumerate(sides.tolist()):
        params = params_for_expression(str(rng.choice(EXPRESSIONS)),
                                       float(rng.uniform(0.3, 1.0)), rng,
                                       bool(rng.random() < 0.12))
        face = draw_face(params, rng, (int(rng.integers(200, 300)), int(rng.integers(200, 300))))
        w = int(side)
        h = int(side * rng.uniform(0.9, 1.1))
        img = cv2.resize(face.image, (w, max(h, w)), interpolation=cv2.INTER_CUBIC)
        grain = rng.normal(0, NOISE_SD, img.shape).astype(np.int16)
        img = np.clip(img.astype(np.int16) + grain, 0, 255).astype(np.uint8)
        name, ext, opts = ((f"p{i:04d}.png", ".png", []) if i < png else
                           (f"f{i:04d}.jpg", ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90]))
        ok, buf = cv2.imencode(ext, img, opts)
        if not ok:
            raise RuntimeError(f"could not encode {name}")
        (folder / name).write_bytes(buf.tobytes())


def write_images(samples: Path, out: Path, pool_size: int = POOL_SIZE,
                 seed: int = SEED) -> dict:
    """The AffectNet folder under ``out`` with every row's image file (see module doc)."""
    src = samples / "AffectNet" / "Manually_Annotated"
    data = out / "AffectNet" / "Manually_Annotated"
    done = out / "images.json"
    if done.is_file():
        return json.loads(done.read_text())
    if not (src / "training.csv").is_file():
        raise SystemExit(f"no full-scale AffectNet sample in {samples}: write it with "
                         f"`faceexplorer sample {samples} --scale full`")
    start = time.perf_counter()
    data.mkdir(parents=True, exist_ok=True)
    for name in ("training.csv", "validation.csv"):   # read-only: hard links, not copies
        (data / name).unlink(missing_ok=True)
        try:
            os.link(src / name, data / name)
        except OSError:
            import shutil

            shutil.copyfile(src / name, data / name)
    rows = _rows_and_extents([data / "training.csv", data / "validation.csv"])
    rng = np.random.default_rng(seed)
    extents = np.array([e for _, e in rows], dtype=np.int64)
    # Pool sizes follow the rows' face-box extents, so each row can get a file its box fits.
    png_size = min(PNG_POOL, pool_size // 10)
    sides = np.maximum(160, rng.choice(extents[extents > 0], pool_size)
                       * rng.uniform(1.0, 1.15, pool_size)).astype(np.int64)
    sides = np.minimum(sides, 1500)
    pool = out / "pool"
    _draw_pool(pool, sides, png_size, rng)
    jpg = [pool / f"f{i:04d}.jpg" for i in range(png_size, pool_size)]
    png = [pool / f"p{i:04d}.png" for i in range(png_size)]
    jpg_sides = sides[png_size:]
    by_side = np.argsort(jpg_sides)
    sorted_sides = jpg_sides[by_side]
    images = data / "Manually_Annotated_Images"
    made: set[str] = set()
    for sub, extent in rows:
        target = images / sub
        if sub.lower().endswith(".png"):
            source = png[int(rng.integers(0, len(png)))]
        else:
            # one of the 40 smallest files that hold the box (the largest when none does)
            first = min(int(np.searchsorted(sorted_sides, extent)), len(jpg) - 1)
            pick = first + int(rng.integers(0, max(1, min(40, len(jpg) - first))))
            source = jpg[int(by_side[pick])]
        folder = sub.rsplit("/", 1)[0]
        if folder not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        target.unlink(missing_ok=True)
        os.link(source, target)
    pool_bytes = sum(p.stat().st_size for p in pool.iterdir())
    info = {"rows": len(rows), "pool": pool_size, "png_pool": png_size,
            "pool_mb": pool_bytes / 1e6, "seconds": time.perf_counter() - start}
    done.write_text(json.dumps(info))
    return info


def prepare(samples: Path, out: Path, reimport: bool = False,
            pool_size: int = POOL_SIZE) -> Path:
    """The full-scale index with image files under ``out`` (built once, then reused)."""
    from faceexplorer.datasets.registry import import_path

    images = write_images(samples, out, pool_size)
    db, done = out / "index.duckdb", out / "index.json"
    if db.is_file() and done.is_file() and not reimport:
        return db
    c25 = samples / "AffectNetC25"
    if not c25.is_dir():
        raise SystemExit(f"no AffectNetC25 sample in {samples}")
    db.unlink(missing_ok=True)
    Path(str(db) + ".wal").unlink(missing_ok=True)
    times = {}
    for kind, path in (("affectnet", out / "AffectNet"), ("affectnet-c25", c25)):
        start = time.perf_counter()
        import_path(db, path, kind)
        times[kind] = time.perf_counter() - start
    done.write_text(json.dumps({"import_s": times, "images": images}))
    return db


def _quiet_qt(_mode: object, _context: object, message: str) -> None:
    # the offscreen platform repeats one harmless warning at every window resize
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


#: What the browser shows of an AffectNet row: what a bare program selects too (a ``*``
#: would drag each row's 136 landmark floats through the sort).
SHOWN = ("split, row_index, filename, expression, valence, arousal, image_root, sub_path, "
         "face_x, face_y, face_w, face_h")


def ms_since(start: float) -> float:
    return 1000 * (time.perf_counter() - start)


def summary(ms: list[float]) -> dict:
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "n": len(ms)}


def decode(path: str | Path) -> None:
    """What a bare program does to show an image file: read, decode, to RGB."""
    import cv2

    bgr = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
    cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
class Bench:
    """A shown main window, its connection for bare queries, and the timed actions.

    Opening it is timed (``open_ms``, ``tab_ms``, ``faces_ms``: see the module doc);
    ``warm`` also computes every set's statistics into the crowd panel's cache.
    """

    def __init__(self, db: Path, seed: int, warm: bool = True, ahead: bool = True) -> None:
        from PySide6.QtCore import qInstallMessageHandler
        from PySide6.QtWidgets import QApplication

        from faceexplorer.gui.main_window import MainWindow

        self.app = QApplication.instance() or QApplication([])
        qInstallMessageHandler(_quiet_qt)
        self.db = db
        self.rng = np.random.default_rng(seed)
        # A window opens on the tab it was closed on: every window starts as a fresh
        # install does (settings of the bench's own data folder, forgotten).
        home = os.environ.get("FACEEXPLORER_HOME")
        if home:
            (Path(home) / "settings.ini").unlink(missing_ok=True)
        marks: dict[str, float] = {}
        made = MainWindow._make_faces_view

        def timed_factory(window: MainWindow, parent: object) -> object:
            marks["tab"], marks["tab_cpu"] = time.perf_counter(), time.process_time()
            view = made(window, parent)
            marks["built"] = time.perf_counter()
            browser = view.browser  # type: ignore[attr-defined]

            def first_paint() -> None:
                if "painted" not in marks and browser.model.rows:
                    marks["painted"] = time.perf_counter()
                    marks["cpu"] = time.process_time()
            browser.view_painted.connect(first_paint)
            return view

        MainWindow._make_faces_view = timed_factory  # type: ignore[method-assign]
        try:
            start, start_cpu = time.perf_counter(), time.process_time()
            self.window = MainWindow(db)
            if not ahead:   # a click before the window built any tab ahead while idle
                self.window.idle_builds.cancel()
            self.window.resize(1400, 900)
            self.window.show()
            self.wait_for(lambda: "painted" in marks, "the AffectNet grid was not painted")
        finally:
            MainWindow._make_faces_view = made  # type: ignore[method-assign]
        self.open_ms = 1000 * (marks["painted"] - start)
        self.tab_ms = 1000 * (marks["painted"] - marks["tab"])
        self.build_ms = 1000 * (marks["built"] - marks["tab"])
        self.open_cpu = 1000 * (marks["cpu"] - start_cpu)
        self.tab_cpu = 1000 * (marks["cpu"] - marks["tab_cpu"])
        self.faces = self.window.faces_view
        self.browser, self.detail = self.faces.browser, self.faces.detail
        visible = self.visible_keys()
        self.wait_for(lambda: all(self.browser.model.thumbnail_of(k) is not None
                                  for k in visible), "the visible thumbnails did not load")
        self.faces_ms = ms_since(start)
        self.visible_paths = [r.image_path for r in self.browser.model.rows
                              if r.key in visible and r.image_path]
        from faceexplorer.gui.app import freeze_startup_objects

        freeze_startup_objects()   # as the app does once its window is up
        assert self.window.session.connection is not None, "the index did not open"
        self.con = self.window.session.connection
        self.painted = 0
        self.last_cpu = 0.0
        self.faces_last: float | None = None
        self.last_visible: list[str] = []
        self.browser.view_painted.connect(self._count_paint)
        self.shown: list[object] = []
        #: (wall, CPU) clock when the detail panel last said ``shown`` (it has painted)
        self.shown_clock = (0.0, 0.0)
        self.detail.shown.connect(self._on_shown)
        key = self.current_key()
        if key is not None:  # its first answer may have come before the connection
            self.detail.show_image(*key)
        self.stats_shown: list[tuple[int, str]] = []
        self.wait_detail()
        self.total_rows = self.browser.total
        from faceexplorer.reports.crowd_report import c25_sets

        self.sets = c25_sets(self.con)
        # what the window builds ahead while idle (the Crowd statistics tab), off the clock
        self.wait_for(lambda: not self.window.idle_builds.pending(),
                      "the window's idle builds did not end")
        self.settle()
        if self.window._pages["crowd_panel"].built:
            freeze_startup_objects()   # as the app does after a build ahead
        if warm:
            self.crowd = self.window.crowd_panel
            self.crowd.statistics_shown.connect(
                lambda s, t: self.stats_shown.append((s, t)))
            self._fill_crowd_cache()

    # --- waiting ------------------------------------------------------------------------
    def settle(self) -> None:
        self.app.sendPostedEvents()
        self.app.processEvents()

    def wait_for(self, done: Callable[[], bool], what: str, seconds: float = 300) -> None:
        """Run the event loop (blocking for events) until ``done()``."""
        from PySide6.QtCore import QEventLoop

        deadline = time.perf_counter() + seconds
        while not done():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{what} within {seconds:.0f} s")
            self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 20)

    def visible_keys(self) -> set[str]:
        """Keys of the grid's tiles that are on screen."""
        grid, model = self.browser.grid, self.browser.model
        area = grid.viewport().rect()
        rows = self.browser.model.rows
        return {rows[i].key for i in range(len(rows))
                if grid.visualRect(model.index(i, 0)).intersects(area)}

    def _count_paint(self) -> None:
        self.painted += 1

    def _on_shown(self, detail: object) -> None:
        # The clock stops here, not when the event loop hands control back: the same
        # turn goes on with unrelated work (a batch of thumbnails repainting the grid,
        # up to the 50 ms of ``wait_shown``'s turn), which came after the click's paint.
        self.shown_clock = (time.perf_counter(), time.process_time())
        self.shown.append(detail)

    def paint_browser(self) -> None:
        """Repaint the browser's visible view now; it must report the paint."""
        before = self.painted
        self.browser.paint_now()
        assert self.painted > before, "the browser did not report a paint"

    def current_key(self) -> tuple[str, int] | None:
        row = self.browser.current_row()
        rows = self.browser.model.rows
        if row is None or row >= len(rows) or rows[row].row_index is None:
            return None
        return rows[row].split, int(rows[row].row_index)

    def wait_shown(self, key: tuple[str, int] | None) -> None:
        """Until the detail panel has painted image ``key`` (None: the current one)."""
        from PySide6.QtCore import QEventLoop

        key = key or self.current_key()
        if key is None:
            return
        deadline = time.perf_counter() + 30
        # Block for events (the worker's answer is one) instead of spinning on the GIL.
        while not (self.shown and self._shown_key(self.shown[-1]) == key):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the detail panel did not show {key} within 30 s")
            self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)

    def wait_detail(self) -> None:
        """The current image's detail painted, the page's thumbnails shown, the next
        page read ahead and every posted event run (off the clock)."""
        from PySide6.QtCore import QEventLoop

        self.wait_shown(None)
        self.wait_faces()
        # The off-screen tiles' thumbnails are dropped: ~200 real decodes per page would
        # take minutes per action on a loaded 2-core machine (a bench shortcut, off the
        # clock; the timed actions run the app's own code unchanged).
        self.browser.thumbs.cancel_pending()
        deadline = time.perf_counter() + 300
        # Settled before and after running what is queued: the loader reports idle just
        # after queueing its last answer, which then starts the browser's batch timer.
        while True:
            if self.settled():
                self.settle()
                if self.settled():
                    break
            if time.perf_counter() > deadline:
                raise TimeoutError("the page's background work did not end within 300 s")
            self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 20)

    def wait_faces(self, start: float | None = None) -> float:
        """Until every tile on screen shows its decoded face; ms since ``start``."""
        visible = self.visible_keys()
        model = self.browser.model
        self.wait_for(lambda: all(model.thumbnail_of(k) is not None for k in visible),
                      "the visible thumbnails did not load", 300)
        self.last_visible = [r.image_path for r in self.browser.model.rows
                             if r.key in visible and r.image_path]
        return ms_since(start) if start is not None else 0.0

    def settled(self) -> bool:
        return self.browser.background_settled() and self.detail.background_settled()

    @staticmethod
    def _shown_key(detail: object) -> tuple[str, int] | None:
        if detail is None:
            return None
        return detail.split, int(detail.row_index)  # type: ignore[attr-defined]

    def _fill_crowd_cache(self) -> None:
        """Every set's statistics computed once, as after a first visit of each set."""
        from faceexplorer.reports.crowd_views import set_view

        self.crowd.cache.wait()
        self.settle()
        for s in self.sets:
            if self.crowd.cache.get(s) is None:
                cursor = self.con.cursor()
                try:
                    self.crowd.cache.put(set_view(cursor, s))
                finally:
                    cursor.close()

    # --- clocks -------------------------------------------------------------------------
    def clock(self) -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def stop(self, start: tuple[float, float], end: tuple[float, float] | None = None
             ) -> float:
        """Wall ms from ``start`` to ``end`` (default: now); the process CPU ms (every
        thread) go to ``last_cpu``."""
        wall, cpu = end if end is not None else self.clock()
        self.last_cpu = 1000 * (cpu - start[1])
        return 1000 * (wall - start[0])

    # --- bare baselines -----------------------------------------------------------------
    def bare(self, sql: str, params: list) -> float:
        start = time.perf_counter()
        self.con.execute(sql, params).fetchall()
        return ms_since(start)

    # --- parameters ---------------------------------------------------------------------
    def random_filter(self, k: int):
        """A varied filter: one to three kinds of condition, cycling through them all."""
        from faceexplorer.core.vocab import EXPRESSION_LABELS
        from faceexplorer.index.faces_query import ImageFilter

        rng = self.rng
        labels = list(EXPRESSION_LABELS)
        lo = float(rng.uniform(-1, 0.5))
        kinds = [
            lambda: {"expressions": tuple(rng.choice(labels, rng.integers(1, 4),
                                                     replace=False))},
            lambda: {"valence": (lo, lo + float(rng.uniform(0.1, 0.5)))},
            lambda: {"arousal": (lo, lo + float(rng.uniform(0.1, 0.5)))},
            lambda: {"c25_set": int(rng.choice(self.sets)) if self.sets else None},
            lambda: {"agreement": (int(rng.integers(0, 10)), int(rng.integers(10, 26)))},
            lambda: {"search": str(int(rng.integers(10, 999)))},
            lambda: {"splits": ("val",)},
            lambda: {"has_votes": True, "majority_differs": True},
        ]
        fields: dict = {}
        for i in range(1 + k % 3):
            fields |= kinds[(k + 3 * i) % len(kinds)]()
        return ImageFilter(**fields)

    # --- actions: each returns (window ms, bare ms) --------------------------------------
    def act_filter(self, k: int) -> tuple[float, float]:
        from faceexplorer.index import faces_query as fq

        flt = self.random_filter(k)
        start = self.clock()
        self.browser.apply(flt, fq.ImageSort())
        self.paint_browser()
        gui = self.stop(start)
        self.faces_last = self.wait_faces(start[0])
        self.wait_detail()
        where, params = fq.where_sql(flt)
        table = fq.BROWSE_TABLE
        start = time.perf_counter()
        self.con.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchall()
        self.con.execute(f"SELECT * FROM {table} WHERE {where} LIMIT 200", params).fetchall()
        return gui, ms_since(start)

    def act_sort(self, k: int) -> tuple[float, float]:
        from PySide6.QtCore import Qt

        from faceexplorer.index import faces_query as fq

        if self.browser.filter != fq.ImageFilter():
            self.browser.apply(fq.ImageFilter())   # sorts are timed over every row
            self.wait_detail()
        columns = self.browser.columns
        # every column but the key, in both directions, never the order already shown
        section = 1 + k % (len(columns) - 1)
        descending = (k // (len(columns) - 1)) % 2 == 1
        if self.browser.sort == fq.ImageSort(columns[section], descending):
            descending = not descending
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        header = self.browser.table.horizontalHeader()
        start = self.clock()
        header.setSortIndicator(section, order)   # a header click
        self.paint_browser()
        gui = self.stop(start)
        self.faces_last = self.wait_faces(start[0])
        assert self.browser.sort.column == columns[section], "the header did not sort"
        self.wait_detail()
        sql = (f"SELECT * FROM {fq.BROWSE_TABLE} ORDER BY "
               f"{fq.order_sql(fq.ImageSort(columns[section], descending))} LIMIT 200")
        return gui, self.bare(sql, [])

    def act_page(self, k: int) -> tuple[float, float]:
        from faceexplorer.gui.browser.browser import PAGE_SIZE
        from faceexplorer.index import faces_page
        from faceexplorer.index import faces_query as fq

        sort = fq.ImageSort("valence", descending=True)
        if self.browser.filter != fq.ImageFilter() or self.browser.sort != sort:
            self.browser.apply(fq.ImageFilter(), sort)
            self.wait_detail()
        total = self.browser.total
        # a random depth, spread over the whole order (deep pages cost most)
        offset = int(self.rng.integers(0, max(1, total // PAGE_SIZE - 1))) * PAGE_SIZE
        self.browser.show_page(offset)
        self.wait_detail()
        anchor = self.browser.model.rows[-1].pos   # the keyset: the page's last row
        start = self.clock()
        self.browser.next_page()   # the ▶ button
        self.paint_browser()
        gui = self.stop(start)
        self.faces_last = self.wait_faces(start[0])
        assert self.browser.offset == offset + PAGE_SIZE, "the page did not change"
        self.wait_detail()
        # Bare: the keyset query the app runs for this click (positions past the anchor
        # row, then those rows), not an OFFSET the app no longer uses.
        where, params = fq.where_sql(fq.ImageFilter())
        keys_sql, args = faces_page._keyset_sql(self.con, where, params, sort, anchor,
                                                False, PAGE_SIZE)
        start = time.perf_counter()
        positions = [r[0] for r in self.con.execute(keys_sql, args).fetchall()]
        self.con.execute(f"SELECT * FROM {fq.BROWSE_TABLE} WHERE pos = ANY(?)",
                         [positions]).fetchall()
        return gui, ms_since(start)

    def act_select(self, k: int, cold: bool = False, busy: bool = False
                   ) -> tuple[float, float]:
        from faceexplorer.index import faces_query as fq

        # two in three images carry C25 votes (the detail draws the crowd for those)
        flt = fq.ImageFilter(has_votes=True) if k % 3 else fq.ImageFilter()
        if self.browser.filter != flt or self.browser.sort != fq.ImageSort():
            self.browser.apply(flt, fq.ImageSort())
            self.wait_detail()
        pages = max(1, self.browser.total // 200)
        self.browser.show_page(int(self.rng.integers(0, pages)) * 200)
        if busy:
            # The click lands while the page's read-ahead runs (after the user's first
            # pause on the page), the thumbnails and the next page perhaps too.
            assert self.detail.read_ahead is not None
            self.detail.read_ahead.clear()   # the whole page to read (none kept yet)
            self.wait_read_ahead_started()
        else:
            self.wait_detail()
        n = len(self.browser.model.rows)
        row = int(self.rng.integers(1, n)) if n > 1 else 0
        r = self.browser.model.rows[row]
        key = (r.split, int(r.row_index))
        if cold:
            assert self.detail.read_ahead is not None
            self.detail.read_ahead.clear()   # a click before the page was read ahead
        start = self.clock()
        self.browser.select_row(row)   # a click on a tile
        self.wait_shown(key)
        gui = self.stop(start, self.shown_clock)
        self.settle()
        if busy:
            self.wait_detail()
        return gui, bare_select(self.con, key, r.c25_set, r.image_path)

    def act_select_early(self, k: int) -> tuple[float, float]:
        return self.act_select(k, cold=True)

    def act_select_busy(self, k: int) -> tuple[float, float]:
        return self.act_select(k, busy=True)

    def wait_read_ahead_started(self) -> None:
        """Until the detail read-ahead of the page shown is running (its idle delay over)."""
        from PySide6.QtCore import QEventLoop

        ahead = self.detail.read_ahead
        deadline = time.perf_counter() + 30
        while self.detail._read_ahead_timer.isActive() or (ahead is not None and ahead.idle()):
            if time.perf_counter() > deadline:
                raise TimeoutError("the read-ahead did not start within 30 s")
            self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)

    def act_set_stats(self, k: int) -> tuple[float, float]:
        from faceexplorer.reports.crowd_report import TASKS

        views = self.window.views
        c25_set = self.sets[k % len(self.sets)]
        task = TASKS[(k // len(self.sets)) % len(TASKS)]
        n = len(self.stats_shown)
        start = self.clock()
        self.window.show_view(self.crowd)   # the tab
        self.crowd.show_statistics(c25_set, task)
        self.app.sendPostedEvents()   # layouts of the newly shown page
        views.repaint()
        gui = self.stop(start)
        assert len(self.stats_shown) > n and self.stats_shown[-1] == (c25_set, task), \
            "the statistics were not shown from the cache"
        assert self.crowd.isVisible(), "the Crowd statistics tab did not come up"
        self.window.show_view(self.faces)
        self.settle()
        sql = ("SELECT image_index, annotator, expression, value FROM c25_votes "
               "WHERE c25_set = ? AND task = ?")
        return gui, self.bare(sql, [c25_set, task])

    def action(self, name: str) -> Callable[[int], tuple[float, float]]:
        return getattr(self, "act_" + name.replace(" ", "_"))

    def run(self, name: str, repeats: int) -> dict:
        act = self.action(name)
        for k in range(WARMUPS):
            act(repeats + k)
        gui, bare, cpu, faces, bare_faces = [], [], [], [], []
        for k in range(repeats):
            self.faces_last = None
            g, b = act(k)
            gui.append(g)
            bare.append(b)
            cpu.append(self.last_cpu)
            if self.faces_last is not None:
                faces.append(self.faces_last)
                start = time.perf_counter()
                for path in self.last_visible:
                    decode(path)
                bare_faces.append(b + ms_since(start))
        out = {"window": summary(gui), "bare": summary(bare), "cpu": summary(cpu)}
        if faces:
            out["faces"] = {"window": summary(faces), "bare": summary(bare_faces),
                            "cpu": {"p50": float("nan"), "p95": float("nan")}}
        return out

    # --- first visits: once per fresh window, each returns (window ms, bare job) ----------
    def first_sort(self, k: int) -> tuple[float, Callable]:
        from PySide6.QtCore import Qt

        columns = self.browser.columns
        section = 1 + int(self.rng.integers(0, len(columns) - 1))
        descending = bool(self.rng.integers(0, 2))
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        start = self.clock()
        self.browser.table.horizontalHeader().setSortIndicator(section, order)
        self.paint_browser()
        gui = self.stop(start)
        assert self.browser.sort.column == columns[section], "the header did not sort"
        col = ("valence", "arousal")[k % 2]
        sql = (f"SELECT {SHOWN} FROM affectnet_images ORDER BY {col} DESC NULLS LAST, rowid "
               "LIMIT 200")
        return gui, lambda con: con.execute(sql).fetchall()

    def first_filter(self, k: int) -> tuple[float, Callable]:
        flt = self.random_filter(k)
        start = self.clock()
        self.browser.apply(flt)
        self.paint_browser()
        gui = self.stop(start)
        lo = float(self.rng.uniform(-1, 0.5))
        where = "expression IN ('happy', 'sad') AND valence BETWEEN ? AND ?"

        def bare(con: object) -> None:
            con.execute(f"SELECT count(*) FROM affectnet_images WHERE {where}",  # type: ignore[attr-defined]
                        [lo, lo + 0.4]).fetchall()
            con.execute(f"SELECT {SHOWN} FROM affectnet_images WHERE {where} LIMIT 200",  # type: ignore[attr-defined]
                        [lo, lo + 0.4]).fetchall()
        return gui, bare

    def first_page(self, k: int) -> tuple[float, Callable]:
        from faceexplorer.gui.browser.browser import PAGE_SIZE
        from faceexplorer.index import faces_query as fq

        self.browser.apply(fq.ImageFilter(), fq.ImageSort("valence", descending=True))
        total = self.browser.total
        offset = int(self.rng.integers(0, max(1, total // PAGE_SIZE - 1))) * PAGE_SIZE
        self.browser.show_page(offset)
        # ▶ at once: the read-ahead of the next page starts at the event loop's next turn
        start = self.clock()
        self.browser.next_page()
        self.paint_browser()
        gui = self.stop(start)
        assert self.browser.offset == offset + PAGE_SIZE, "the page did not change"
        v = float(self.rng.uniform(-1, 1))
        sql = (f"SELECT {SHOWN} FROM affectnet_images WHERE valence < ? "
               "ORDER BY valence DESC, rowid LIMIT 200")
        return gui, lambda con: con.execute(sql, [v]).fetchall()

    def first_select(self, k: int) -> tuple[float, Callable]:
        pages = max(1, self.browser.total // 200)
        self.browser.show_page(int(self.rng.integers(0, pages)) * 200)
        rows = self.browser.model.rows
        row = int(self.rng.integers(1, len(rows))) if len(rows) > 1 else 0
        r = rows[row]
        key = (r.split, int(r.row_index))
        start = self.clock()   # at once: the page's thumbnails load, no read-ahead yet
        self.browser.select_row(row)
        self.wait_shown(key)
        gui = self.stop(start, self.shown_clock)
        return gui, lambda con: bare_select(con, key, r.c25_set, r.image_path)

    def first_set_stats(self, k: int, ahead: bool = True) -> tuple[float, Callable]:
        from faceexplorer.reports.crowd_report import TASKS

        page = self.window._pages["crowd_panel"]
        assert page.built == ahead, ("the Crowd statistics tab was not built ahead" if ahead
                                     else "the Crowd statistics tab was built already")
        start = self.clock()
        self.window.views.setCurrentWidget(page)   # the tab: its view is built now
        crowd = page.built_view()
        assert crowd is not None, "the Crowd statistics tab was not built"
        # shown: set when the figures are on screen (at once when the index stores them)
        self.wait_for(lambda: crowd.shown is not None, "the statistics were not shown")
        self.app.sendPostedEvents()
        self.window.views.repaint()
        gui = self.stop(start)
        c25_set, task = crowd.shown
        assert task in TASKS
        sql = ("SELECT image_index, annotator, expression, value FROM c25_votes "
               "WHERE c25_set = ? AND task = ?")
        return gui, lambda con: con.execute(sql, [c25_set, task]).fetchall()

    def first_set_stats_at_once(self, k: int) -> tuple[float, Callable]:
        return self.first_set_stats(k, ahead=False)

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()
        self.settle()
        self.browser.thumbs.cancel_pending()
        gc.unfreeze()   # a closed window's objects may go
        gc.collect()


def bare_select(con: object, key: tuple[str, int], c25_set: int | None,
                path: str | None) -> float:
    """Bare: the image's AffectNet row, its C25 votes, decoding its file (ms)."""
    start = time.perf_counter()
    con.execute("SELECT * FROM affectnet_images WHERE split = ? AND row_index = ?",  # type: ignore[attr-defined]
                list(key)).fetchall()
    if c25_set is not None:
        con.execute("SELECT annotator, task, expression, value FROM c25_votes "  # type: ignore[attr-defined]
                    "WHERE c25_set = ? AND image_index = ?", [int(c25_set), key[1]]).fetchall()
    if path is not None:
        decode(path)
    return ms_since(start)


def check_stored_statistics(db: Path) -> None:
    """Say so when the index's stored set statistics are stale (made by other statistics
    code: the tab then computes them, ~0.4 s, and the set-stats rows time that)."""
    import duckdb

    from faceexplorer.reports.c25_set_views import stored_view
    from faceexplorer.reports.crowd_report import c25_sets

    con = duckdb.connect(str(db), read_only=True)
    try:
        stale = [s for s in c25_sets(con) if stored_view(con, s) is None]
    finally:
        con.close()
    if stale:
        print(f"WARNING: the stored statistics of C25 sets {stale} are not this code's: "
              "set stats rows time their computation; run with --reimport")


def fresh(db: Path) -> object:
    import duckdb

    return duckdb.connect(str(db), read_only=True)


def run_first_visits(db: Path, names: list[str], n: int, seed: int) -> dict[str, dict]:
    """Every first-visit row: ``n`` fresh windows per action (plus their opens)."""
    rows: dict[str, dict[str, list[float]]] = {}
    builds: list[float] = []

    def add(row: str, gui: float, bare: float, cpu: float) -> None:
        r = rows.setdefault(row, {"gui": [], "bare": [], "cpu": []})
        r["gui"].append(gui)
        r["bare"].append(bare)
        r["cpu"].append(cpu)

    for k in range(n):
        for j, name in enumerate(names):
            bench = Bench(db, seed + 1000 * k + j, warm=False,
                          ahead=name != "set stats at once")
            opened = (bench.open_ms, bench.tab_ms, bench.faces_ms, bench.open_cpu,
                      bench.tab_cpu)
            builds.append(bench.build_ms)
            paths = bench.visible_paths
            job = None
            if name != "open":
                gui, job = getattr(bench, FIRST[name])(k)
                cpu = bench.last_cpu
            bench.close()
            start = time.perf_counter()
            con = fresh(db)
            try:
                con.execute("SELECT count(*) FROM affectnet_images").fetchall()  # type: ignore[attr-defined]
                con.execute(f"SELECT {SHOWN} FROM affectnet_images LIMIT 200").fetchall()  # type: ignore[attr-defined]
                bare_open = ms_since(start)
                start = time.perf_counter()
                for p in paths:
                    decode(p)
                bare_faces = bare_open + ms_since(start)
            finally:
                con.close()  # type: ignore[attr-defined]
            add("open window", opened[0], bare_open, opened[3])
            add("open tab", opened[1], bare_open, opened[4])
            add("open faces", opened[2], bare_faces, float("nan"))
            if job is not None:
                con = fresh(db)
                try:
                    start = time.perf_counter()
                    job(con)
                    add(name, gui, ms_since(start), cpu)
                finally:
                    con.close()  # type: ignore[attr-defined]
    out = {row: {"window": summary(r["gui"]), "bare": summary(r["bare"]),
                 "cpu": summary(r["cpu"])} for row, r in rows.items()}
    if builds:
        out["open tab"]["build"] = summary(builds)
    return out


#: The Bench method of each first-visit row.
FIRST = {"sort first": "first_sort", "filter first": "first_filter",
         "page first": "first_page", "select first": "first_select",
         "set stats first": "first_set_stats", "set stats at once": "first_set_stats_at_once"}


def profile(bench: Bench, name: str, repeats: int) -> None:
    """Where one warm action's time goes: cProfile over its repeats, top functions."""
    act = bench.action(name)
    prof = cProfile.Profile()
    prof.enable()
    for k in range(repeats):
        act(k)
    prof.disable()
    print(f"\n--- cProfile of {name!r} ({repeats} repeats, bare queries and off-clock waits "
          "included) ---")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def goal_of(name: str) -> float | None:
    if name == "open tab":
        return GOAL_OPEN_MS
    if name in ("open window", "open faces") or name.endswith(" faces"):
        return None
    return GOAL_MS


def table(results: dict[str, dict]) -> str:
    lines = [f"{'action':<16} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'bare p50':>9} "
             f"{'bare p95':>9} {'x p50':>6} {'x p95':>6}  goal   {'cpu p50':>8} {'cpu p95':>8}"]
    for name, r in results.items():
        w, b = r["window"], r["bare"]
        x50 = w["p50"] / b["p50"] if b["p50"] > 0 else float("inf")
        x95 = w["p95"] / b["p95"] if b["p95"] > 0 else float("inf")
        r["ratio_p50"], r["ratio_p95"] = x50, x95
        goal = goal_of(name)
        met = "-" if goal is None else (f"<{goal:.0f} " + ("yes" if w["p95"] < goal else "NO"))
        cpu = r["cpu"]
        cpu_text = (f"{cpu['p50']:>8.1f} {cpu['p95']:>8.1f}" if np.isfinite(cpu["p50"])
                    else f"{'-':>8} {'-':>8}")
        lines.append(f"{name:<16} {w['n']:>3} {w['p50']:>8.1f} {w['p95']:>8.1f} "
                     f"{b['p50']:>9.2f} {b['p95']:>9.2f} {x50:>6.1f} {x95:>6.1f}  "
                     f"{met:<7}{cpu_text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--reimport", action="store_true",
                        help="import the index again (the images are kept)")
    parser.add_argument("--pool", type=int, default=POOL_SIZE,
                        help="distinct faces behind the image files (when first written)")
    parser.add_argument("--repeats", type=int, default=30, help="warm repeats per action")
    parser.add_argument("--cold", type=int, default=6,
                        help="fresh windows per first-visit action")
    parser.add_argument("--only", nargs="*", choices=ACTIONS, default=list(ACTIONS))
    parser.add_argument("--profile", choices=WARM, action="append", default=[],
                        help="also cProfile this warm action (repeatable)")
    parser.add_argument("--home", type=Path, default=None,
                        help="data folder for the window's settings (default: OUT/home)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    # the window's settings: the bench's own, never the user's (one folder per run)
    os.environ["FACEEXPLORER_HOME"] = str(args.home or args.out / "home")
    load_start = os.getloadavg()
    db = prepare(args.samples, args.out, args.reimport, args.pool)
    info = json.loads((args.out / "index.json").read_text())
    images = info["images"]
    print(f"index {db}: import {', '.join(f'{k} {v:.1f} s' for k, v in info['import_s'].items())}; "
          f"{images['rows']:,} image files linked to {images['pool']:,} distinct faces "
          f"({images['png_pool']} PNG, {images['pool_mb']:.0f} MB)")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in load_start)} "
          f"({os.cpu_count()} cores)")
    check_stored_statistics(db)
    start = time.perf_counter()
    import faceexplorer.gui.pg_setup  # noqa: F401  (see the module doc: once per session)
    print(f"pyqtgraph's import (once per session; a window does it while idle, before it "
          f"builds the Crowd statistics tab ahead): {ms_since(start):.0f} ms")
    results: dict[str, dict] = {}
    cold = [n for n in COLD if n in args.only]
    if cold and args.cold > 0:
        results |= run_first_visits(db, cold, args.cold, SEED)
        print(f"first visits done; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
              flush=True)
    warm = [n for n in WARM if n in args.only]
    if warm or args.profile:
        bench = Bench(db, SEED)
        print(f"warm window: {bench.total_rows:,} browser rows, C25 sets {bench.sets}; "
              f"opened in {bench.open_ms:.0f} ms", flush=True)
        for name in warm:
            results[name] = bench.run(name, args.repeats)
            if "faces" in results[name]:
                results[name + " faces"] = results[name].pop("faces")
        for name in args.profile:
            profile(bench, name, args.repeats)
        bench.close()
    load_end = os.getloadavg()
    print()
    print(table(results))
    if "open tab" in results and "build" in results["open tab"]:
        b = results["open tab"]["build"]
        print(f"\nopen tab: the AffectNet view's factory alone (built, connected, first page "
              f"read) p50 {b['p50']:.1f} ms, p95 {b['p95']:.1f} ms")
    print("\nx = window / bare DuckDB (same run; first visits: bare on a fresh read-only "
          "connection, warm: on the window's connection, interleaved); goals: actions p95 < "
          f"{GOAL_MS:.0f} ms, open tab p95 < {GOAL_OPEN_MS:.0f} ms; cpu = process CPU ms "
          "(all threads) over the same span, steadier than wall time on a busy machine")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in load_end)}")
    if args.json:
        print(json.dumps({"results": results, "load_start": load_start,
                          "load_end": load_end}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
