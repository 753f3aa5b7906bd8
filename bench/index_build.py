"""Benchmark: each dataset's import at full scale against a fair raw read of the same files.

    python bench/index_build.py [--root DIR] [--kinds K ...] [--repeat 3] [--scratch DIR]

Uses the full-scale samples under ``--root`` (written once by ``faceexplorer sample DIR
--scale full`` when the folder holds none of them). Index files go to a fresh temporary
folder under ``--scratch`` (default ``bench/out/index_build``: same disk as the samples).
Before a dataset is timed, its files are read once outside any clock, so that both sides
run on a warm page cache. Baseline and import then alternate, ``--repeat`` times each;
each figure is the median, printed with the process CPU time (DuckDB's threads included),
the load average, and the ratio to the baseline (goal: at most 1.5x, or within 1 s).

Inside the baseline clock (``raw``): ``duckdb.connect`` of a fresh index file, then one
DuckDB read per file, ``CREATE TABLE t AS SELECT * FROM read_csv(...)`` (further files of
the same columns: ``INSERT INTO t SELECT ...``), with exactly the column types and reader
options the importer uses (``csvio.read_csv_call``: header, no sniffing, delimiter,
quotes, ``NULL``/empty as NULL, strict field counts; ``\\n`` and ``\\r\\n`` alike), then
``CHECKPOINT`` and ``close``. Outside it: finding the files and working out those types
from their headers (the importers' own functions). So the baseline holds the typed parse
and the write to disk, and nothing an importer adds: header checks, validation, code
maps, provenance (file, line), skipped-row counts, the transaction.

For the depth datasets (image files, no CSV) the raw baseline is what any index of them
must do at least: walk the folder (``os.scandir``), read the first bytes of every file
(as many as the importer's header reader reads for the format: 33 for a PNG, 8 KiB for a
JPEG, 1 KiB for a ``.npy``), and store (path, bytes) as one table; plus ``CHECKPOINT``
and ``close``. DuckDB's ``glob`` of the same files (names only, no content) is printed
beside it for scale, not used for the ratio.

Inside the FaceExplorer clock: ``registry.import_path`` of the dataset folder, the whole
import as a user runs it (connect, transaction, every check and derived table, commit,
checkpoint, close).

AffectNetC25 gets two more rows when AffectNet is timed too. ``c25 +AffectNet``: both
sides start from a copy (made outside the clock) of the AffectNet index, as when a user
imports C25 beside AffectNet and the import updates what joins the two (the browser's
table, the set statistics). ``c25 again``: both start from a copy of that index after
one C25 import (made outside the clock), as when a user imports C25 a second time.

Last, ``index info`` on an index holding every ``--kinds`` dataset (goal: under 0.5 s),
against a bare ``count(*)`` of every table (``--no-info`` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from faceexplorer.datasets import affectnet, affectnet_c25, csvio, depth, faces, hrm, openface
from faceexplorer.datasets.info import index_info
from faceexplorer.datasets.registry import import_path
from faceexplorer.index.report import ImportReport
from faceexplorer.samples.generate import SAMPLE_FOLDERS, SAMPLE_KINDS, write_samples
from faceexplorer.stats.dass21 import ITEM_COLUMNS

DEPTH_KINDS = ("affectnet-d", "rafd-d")
#: Bytes the importer's header reader takes first, per format (depth.read_header).
HEADER_BYTES = {"png": 33, "jpg": 8192, "npy": 1024}


@dataclass(frozen=True)
class Read:
    """One file of the baseline: the table it goes to and how the importer reads it."""

    path: Path
    table: str
    columns: dict[str, str]
    nullstr: tuple[str, ...]
    delimiter: str = ","


def read_plan(kind: str, folder: Path) -> list[Read]:
    """Every CSV the importer of ``kind`` reads, with its types (from the importer)."""
    if kind == "affectnet":
        return [Read(p, "affectnet", affectnet.CSV_TYPES, ("NULL",))
                for p in affectnet._csv_files(folder).values()]
    if kind == "affectnet-c25":
        return [Read(p, "c25", affectnet_c25.CSV_TYPES, ())
                for files in affectnet_c25._set_files(folder).values() for p in files.values()]
    if kind == "hrm":
        _, files = hrm.label_files(folder.resolve(), ImportReport(kind, folder))
        layouts: dict[hrm.Layout, int] = {}
        plan = []
        for f in files:
            layout = hrm.read_layout(f.path)
            k = layouts.setdefault(layout, len(layouts))
            plan.append(Read(f.path, f"hrm{k}", layout.read_columns(), ("NULL",)))
        return plan
    if kind == "openface":
        plan, tables = [], {}
        for p in openface.csv_files(folder):
            known, _ = openface.header_columns(p)
            columns = {openface.INDEX_COLUMNS[n] if n else f"_unknown{i}":
                       "DOUBLE" if n else "VARCHAR" for i, n in enumerate(known)}
            table = tables.setdefault(tuple(columns), f"openface{len(tables)}")
            plan.append(Read(p, table, columns, ("NULL",)))
        return plan
    if kind == "faces":
        dass, info = folder / faces.DASS_FILE, folder / faces.BASEINFO_FILE
        feats = faces.feature_file(folder)
        assert feats is not None, f"no FACES feature file in {folder}"
        feature_types = {"subject_id": "VARCHAR",
                         **{c[1]: "DOUBLE" for c in faces.feature_columns(feats)}}
        return [
            Read(dass, "dass", {"cust_id": "VARCHAR",
                                **dict.fromkeys(ITEM_COLUMNS, "DOUBLE")}, ("NULL",)),
            Read(info, "baseinfo", dict.fromkeys(csvio.read_header(info), "VARCHAR"), ("NULL",)),
            Read(feats, "features", feature_types, ("NULL", "NA")),
        ]
    raise ValueError(f"no read plan for {kind!r}")


def raw_csv(plan: list[Read], db: Path) -> None:
    """The baseline of a CSV dataset: one typed DuckDB read per file into a table."""
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    made: set[str] = set()
    for r in plan:
        reader, params = csvio.read_csv_call(r.path, r.columns, r.nullstr, r.delimiter)
        if r.table in made:
            con.execute(f'INSERT INTO "{r.table}" SELECT * FROM {reader}', params)
        else:
            con.execute(f'CREATE TABLE "{r.table}" AS SELECT * FROM {reader}', params)
            made.add(r.table)
    con.execute("CHECKPOINT")
    con.close()


def raw_depth(folder: Path, db: Path) -> None:
    """The baseline of a depth dataset: list every file, read its header bytes, store."""
    paths: list[str] = []
    heads: list[bytes] = []
    stack = [str(folder.resolve())]
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    stack.append(entry.path)
                    continue
                kind = depth.IMAGE_SUFFIXES.get(os.path.splitext(entry.name)[1].lower())
                fd = os.open(entry.path, flags)
                try:
                    heads.append(os.read(fd, HEADER_BYTES.get(kind or "", 33)))
                finally:
                    os.close(fd)
                paths.append(entry.path)
    frame = pd.DataFrame({"path": paths, "head": heads})
    con = duckdb.connect(str(db))
    con.register("heads", frame)
    con.execute("CREATE TABLE t AS SELECT * FROM heads")
    con.execute("CHECKPOINT")
    con.close()


def glob_depth(folder: Path, db: Path) -> None:
    """For scale only: DuckDB's ``glob`` of the same files (names, no content)."""
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT * FROM glob(?)", [str(folder.resolve() / "**")])
    con.execute("CHECKPOINT")
    con.close()


def warm(folder: Path) -> None:
    """Read every file under ``folder`` once, so no clock pays for a cold page cache."""
    for dirpath, _, names in os.walk(folder, followlinks=True):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as fh:
                while fh.read(1 << 24):
                    pass


@dataclass
class Timing:
    wall: list[float]
    cpu: list[float]

    @property
    def wall_s(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpu)


def timed(run: Callable[[Path], object], scratch: Path, into: Timing,
          start_from: Path | None = None, keep_as: Path | None = None) -> None:
    """Run ``run(db)`` on a fresh index file (a copy of ``start_from``, made outside the
    clock, when given); add its wall and process CPU time; keep the file as ``keep_as``."""
    db = scratch / f"run-{time.monotonic_ns()}.duckdb"
    if start_from is not None:
        shutil.copyfile(start_from, db)
    cpu, wall = time.process_time(), time.perf_counter()
    run(db)
    into.wall.append(time.perf_counter() - wall)
    into.cpu.append(time.process_time() - cpu)
    if keep_as is not None:
        db.replace(keep_as)
    for f in (db, db.with_name(db.name + ".wal")):
        f.unlink(missing_ok=True)


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def ensure_samples(root: Path) -> None:
    """Write the full-scale samples once when ``root`` holds none of them."""
    present = [k for k in SAMPLE_KINDS if (root / SAMPLE_FOLDERS[k]).is_dir()]
    if len(present) == len(SAMPLE_KINDS) or (root / "complete.json").exists():
        return
    if present:
        raise SystemExit(f"{root} holds only some samples ({', '.join(present)}): "
                         "point --root at a complete set or an empty folder")
    print(f"writing full-scale samples to {root} (once) ...", flush=True)
    t = time.perf_counter()
    write_samples(root, scale="full", seed=0, images=False, progress=print)
    (root / "complete.json").write_text(json.dumps({"seconds": time.perf_counter() - t}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path("bench/out/full"))
    ap.add_argument("--scratch", type=Path, default=Path("bench/out/index_build"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kinds", nargs="+", default=list(SAMPLE_KINDS))
    ap.add_argument("--no-info", action="store_true", help="skip the index info figure")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    ensure_samples(args.root)
    args.scratch.mkdir(parents=True, exist_ok=True)

    results: dict[str, dict[str, float | str]] = {}
    print(f"\n{'dataset':<14} {'raw wall':>9} {'import':>8} {'ratio':>6}   "
          f"{'raw CPU':>8} {'import':>8} {'ratio':>6}   load 1/5/15   goal <= 1.5x or +1 s")
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp:
        scratch = Path(tmp)
        for kind in args.kinds:
            folder = args.root / SAMPLE_FOLDERS[kind]
            warm(folder)
            if kind in DEPTH_KINDS:
                def raw(db: Path, f: Path = folder) -> None:
                    raw_depth(f, db)
            else:
                plan = read_plan(kind, folder)  # outside the clock: headers and types

                def raw(db: Path, p: list[Read] = plan) -> None:
                    raw_csv(p, db)
            base, mine = Timing([], []), Timing([], [])
            keep = scratch / "affectnet.duckdb" if kind == "affectnet" else None
            for _ in range(args.repeat):
                timed(raw, scratch, base)
                timed(lambda db, k=kind, f=folder: import_path(db, f, k), scratch, mine,
                      keep_as=keep)
            results[kind] = row(kind, base, mine)
            if kind == "affectnet-c25" and (scratch / "affectnet.duckdb").exists():
                # A user re-importing C25 beside AffectNet: the import also rebuilds what
                # joins the two (the browser's table). Both sides start from a copy of
                # an AffectNet index.
                start = scratch / "affectnet.duckdb"
                base, mine = Timing([], []), Timing([], [])
                for _ in range(args.repeat):
                    timed(raw, scratch, base, start_from=start)
                    timed(lambda db, k=kind, f=folder: import_path(db, f, k), scratch, mine,
                          start_from=start)
                results["affectnet-c25+affectnet"] = row("c25 +AffectNet", base, mine)
                # The same import again onto that index once it holds C25 too: what a
                # user's second C25 import (a corrected copy of the votes) costs.
                again = scratch / "affectnet-c25.duckdb"
                shutil.copyfile(start, again)
                import_path(again, folder, kind)
                base, mine = Timing([], []), Timing([], [])
                for _ in range(args.repeat):
                    timed(raw, scratch, base, start_from=again)
                    timed(lambda db, k=kind, f=folder: import_path(db, f, k), scratch, mine,
                          start_from=again)
                results["affectnet-c25+affectnet+c25"] = row("c25 again", base, mine)
            if kind in DEPTH_KINDS:
                names = Timing([], [])
                timed(lambda db, f=folder: glob_depth(f, db), scratch, names)
                print(f"{'':<14} (DuckDB glob of the same files, names only: "
                      f"{names.wall_s:.2f}s)", flush=True)
        if not args.no_info:
            info_figures(args.root, args.kinds, scratch, results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def row(label: str, base: Timing, mine: Timing) -> dict[str, float | str]:
    """Print one dataset's figures; return them for --json."""
    wall_ratio, cpu_ratio = mine.wall_s / base.wall_s, mine.cpu_s / base.cpu_s
    ok = wall_ratio <= 1.5 or mine.wall_s - base.wall_s <= 1.0
    print(f"{label:<14} {base.wall_s:8.2f}s {mine.wall_s:7.2f}s {wall_ratio:5.2f}x   "
          f"{base.cpu_s:7.2f}s {mine.cpu_s:7.2f}s {cpu_ratio:5.2f}x   {load():<13}"
          f"  {'ok' if ok else 'OVER'}", flush=True)
    return {"raw_s": base.wall_s, "import_s": mine.wall_s, "ratio": wall_ratio,
            "raw_cpu_s": base.cpu_s, "import_cpu_s": mine.cpu_s, "cpu_ratio": cpu_ratio,
            "load": load()}


def info_figures(root: Path, kinds: list[str], scratch: Path,
                 results: dict[str, dict[str, float | str]]) -> None:
    """``index info`` on an index of every dataset against a bare count of every table."""
    full = scratch / "all.duckdb"
    for kind in kinds:
        import_path(full, root / SAMPLE_FOLDERS[kind], kind)
    info_times, count_times = [], []
    for _ in range(7):
        t = time.perf_counter()
        index_info(full)
        info_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        con = duckdb.connect(str(full), read_only=True)
        for (table,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall():
            con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        con.close()
        count_times.append(time.perf_counter() - t)
    info_s, count_s = statistics.median(info_times), statistics.median(count_times)
    results["index_info"] = {"raw_s": count_s, "import_s": info_s, "ratio": info_s / count_s,
                             "load": load()}
    print(f"\nindex info on the full index: {info_s * 1000:.0f} ms (goal < 500 ms); "
          f"bare count(*) of every table: {count_s * 1000:.0f} ms; "
          f"ratio {info_s / count_s:.2f}x; load {load()}")


if __name__ == "__main__":
    main()
