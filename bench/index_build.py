"""Benchmark: each dataset's import at full scale against DuckDB's own read of the same files.

    python bench/index_build.py [--root DIR] [--repeat 3]

Writes the full-scale samples under ``--root`` once (``faceexplorer sample DIR --scale full``;
several minutes), then for every dataset measures, in this one process and on fresh index
files on the same disk:

- baseline: ``CREATE TABLE t AS SELECT * FROM read_csv([...the dataset's CSVs...])``
  (for the depth datasets, which are image files, DuckDB's ``glob`` of the same files);
- FaceExplorer: ``import_path`` of the same folder (validation, code maps, provenance).

Each figure is the median of ``--repeat`` runs and is printed as a ratio to the baseline
(goal: at most 1.5x). Then ``index info`` on the index holding every dataset (goal: under
0.5 s), against a bare ``count(*)`` of every table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from faceexplorer.datasets.registry import import_path
from faceexplorer.index.info import index_info
from faceexplorer.samples.generate import SAMPLE_FOLDERS, SAMPLE_KINDS, write_samples

NULLS = "nullstr = ['NULL', '']"


def dataset_files(kind: str, folder: Path) -> tuple[str, list[str]]:
    """The files the baseline reads for ``kind`` and how: ('csv' | 'glob', files)."""
    if kind in ("affectnet-d", "rafd-d"):
        return "glob", [str(folder / "**")]
    files = sorted(str(p) for p in folder.rglob("*.csv"))
    return "csv", files


def baseline(kind: str, folder: Path, db: Path) -> float:
    how, files = dataset_files(kind, folder)
    con = duckdb.connect(str(db))
    start = time.perf_counter()
    if how == "glob":
        con.execute("CREATE TABLE t AS SELECT * FROM glob(?)", files)
    else:
        # The fastest plain read: all files at once when they share a header (union_by_name
        # would be fairer to odd layouts but is several times slower: an unfair baseline),
        # else one table per file, as an importer must do.
        # nullstr: AffectNet's literal NULL cells, which auto-detection alone cannot read.
        try:
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv(?, {NULLS})", [files])
        except duckdb.Error:
            con.execute("DROP TABLE IF EXISTS t")
            for i, f in enumerate(files):
                con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv(?, {NULLS})", [f])
    con.execute("CHECKPOINT")
    secs = time.perf_counter() - start
    con.close()
    return secs


def ours(kind: str, folder: Path, db: Path) -> float:
    start = time.perf_counter()
    import_path(db, folder, kind)
    return time.perf_counter() - start


def median_of(repeat: int, run: Callable[[Path], float], scratch: Path) -> float:
    times = []
    for i in range(repeat):
        db = scratch / f"run{i}-{time.monotonic_ns()}.duckdb"
        times.append(run(db))
        for f in (db, db.with_name(db.name + ".wal")):
            f.unlink(missing_ok=True)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path("bench/out/full"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kinds", nargs="+", default=list(SAMPLE_KINDS))
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    if not (args.root / "complete.json").exists():
        print(f"writing full-scale samples to {args.root} (once) ...", flush=True)
        t = time.perf_counter()
        write_samples(args.root, scale="full", seed=0, images=False, progress=print)
        (args.root / "complete.json").write_text(json.dumps({"seconds": time.perf_counter() - t}))

    results: dict[str, dict[str, float]] = {}
    print(f"\n{'dataset':<14} {'raw DuckDB':>11} {'FaceExplorer':>13} {'ratio':>7}  goal <= 1.5x")
    with tempfile.TemporaryDirectory(dir=args.root) as tmp:
        scratch = Path(tmp)
        for kind in args.kinds:
            folder = args.root / SAMPLE_FOLDERS[kind]
            raw = median_of(args.repeat, lambda db, k=kind, f=folder: baseline(k, f, db), scratch)
            mine = median_of(args.repeat, lambda db, k=kind, f=folder: ours(k, f, db), scratch)
            results[kind] = {"raw_s": raw, "import_s": mine, "ratio": mine / raw}
            flag = "ok" if mine / raw <= 1.5 else "OVER"
            print(f"{kind:<14} {raw:10.2f}s {mine:12.2f}s {mine / raw:6.2f}x  {flag}", flush=True)

        full = scratch / "all.duckdb"
        for kind in args.kinds:
            import_path(full, args.root / SAMPLE_FOLDERS[kind], kind)
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
        results["index_info"] = {"raw_s": count_s, "import_s": info_s, "ratio": info_s / count_s}
        print(f"\nindex info on the full index: {info_s * 1000:.0f} ms (goal < 500 ms); "
              f"bare count(*) of every table: {count_s * 1000:.0f} ms; "
              f"ratio {info_s / count_s:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
