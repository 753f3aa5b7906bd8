"""Benchmark: FACES feature view and full feature ranking at full scale (11,427 subjects).

    python bench/faces.py [--root DIR] [--sample DIR] [--views 20] [--repeat 1]
                          [--missing-item 0.0015] [--only values]

Setup, outside every clock and done once (kept under ``--root``, default
``bench/out/faces``):

- the full-scale FACES sample: ``--sample`` (default ``bench/out/full/FACES``, the shared
  one, read only) or, when absent, one written under ``--root`` by ``write_faces``;
- ``complete.duckdb``: that folder imported by the current code (imported again when
  the importer's or the stored ranks' source changes);
- ``partial/FACES``: the same feature and baseinfo files (symlinks) with a ``dass21.csv``
  where each item is blank with probability ``--missing-item`` (independently; 0.0015
  leaves ~3% of subjects with a gap, ~1% per subscale, the rate of a large school
  survey). The app leaves a subscale unscored when any of its seven items is missing
  (sum in SQL, :mod:`faceexplorer.datasets.faces`), so these subjects have one or two
  subscales and not the others: ``partial.duckdb`` is its import;
- an index holding stored feature ranks (what the import writes,
  :mod:`faceexplorer.stats.faces_ranks`) is also copied without them
  (``*-values.duckdb``: what an index imported before they were stored holds), so the
  stored-rank and the values paths are timed on the same data. ``--only values`` skips
  the stored-rank rows.

Then, in this one process, each row is the median of ``--repeat`` runs with its wall and
process CPU time, its ratio to the baseline (wall / wall) and the load average when it
finished:

- baseline: a bare numpy Spearman of every feature with the three subscales on the
  complete subjects' matrix already in memory (float64, argsort ordinal ranks: no tie
  averaging, no NaN handling, no p, CI or q; one matrix product). Loading the matrix is
  outside the clock;
- ``rank_all`` on each index for each subscale alone and for the three together (what
  the ranking tab asks for): everything the user waits for, from the open read-only
  connection to the sorted frames with rho, p, CI, BH q and n (reading the table, ranking,
  statistics, sorting). ``from`` says where rho came from (``attrs["rho_from"]``): the
  stored ranks or the values (goal < 3 s either way);
- the feature table read alone, as the values path reads it (a floor for that path);
- ``feature_view`` of ``--views`` random features (query, bands, rho/p/CI against the three
  subscales): p50 / p95 ms (goal < 100 ms) against a bare numpy Spearman of the same
  feature on arrays in memory.

Every ranking is checked against the first one of the same index and subscale (values vs
stored ranks, one subscale vs three): rho, p, CI and q to 1e-12, n exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.datasets.registry import import_path
from faceexplorer.index.store import table_exists
from faceexplorer.reports import faces_rank_store
from faceexplorer.reports import faces_stats as fs
from faceexplorer.samples.faces import write_faces
from faceexplorer.stats import faces_ranks as fr
from faceexplorer.stats.dass21 import SUBSCALES


def sample_folder(root: Path, sample: Path, seed: int) -> Path:
    """The full-scale FACES folder: the shared one, else one written under ``root``."""
    if (sample / "dass21.csv").exists():
        return sample
    own = root / "sample" / "FACES"
    if not (own / "dass21.csv").exists():
        print(f"writing the full-scale FACES sample to {own.parent} (once, minutes) ...",
              flush=True)
        write_faces(own.parent, "full", np.random.default_rng(seed))
    return own


def partial_folder(root: Path, full: Path, p_item: float, seed: int) -> Path:
    """``full`` with DASS-21 items blanked at random (probability ``p_item`` each)."""
    folder = root / "partial" / "FACES"
    marker = folder.parent / "partial.json"
    want = {"source": str(full.resolve()), "p_item": p_item, "seed": seed}
    if marker.exists() and json.loads(marker.read_text()) == want:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for f in full.iterdir():
        if f.name != "dass21.csv":
            (folder / f.name).symlink_to(f.resolve())
    items = pd.read_csv(full / "dass21.csv", dtype={"cust_id": str})
    cols = [f"dass_{i}" for i in range(1, 22)]
    gaps = np.random.default_rng(seed).random((len(items), 21)) < p_item
    items[cols] = items[cols].astype(float).mask(gaps)
    items.to_csv(folder / "dass21.csv", index=False)
    marker.write_text(json.dumps(want))
    return folder


def code_stamp() -> str:
    """The sources that decide what a FACES import stores (an edit means a re-import)."""
    import hashlib

    from faceexplorer.datasets import faces

    digest = hashlib.sha1()
    for module in (faces, fr):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def ensure_index(db: Path, folder: Path) -> None:
    """``folder`` imported into ``db`` by the current code, once."""
    stamp = db.with_suffix(".json")
    want = {"source": str(folder.resolve()), "code": code_stamp()}
    if db.exists() and stamp.exists() and all(
            json.loads(stamp.read_text()).get(k) == v for k, v in want.items()):
        return
    db.unlink(missing_ok=True)
    print(f"importing {folder} into {db} (once) ...", flush=True)
    start = time.perf_counter()
    import_path(db, folder, "faces")
    seconds = time.perf_counter() - start
    stamp.write_text(json.dumps({**want, "import_s": seconds}))
    print(f"  import: {seconds:.1f} s (load average {os.getloadavg()[0]:.1f})", flush=True)


def without_stored_ranks(db: Path) -> Path | None:
    """A copy of ``db`` without stored ranks if it has them (made once), else None."""
    with duckdb.connect(str(db), read_only=True) as con:
        if not table_exists(con, faces_rank_store.RANK_TABLES[1]):
            return None
    copy = db.with_name(db.stem + "-values.duckdb")
    if not copy.exists() or copy.stat().st_mtime < db.stat().st_mtime:
        shutil.copy(db, copy)
        with duckdb.connect(str(copy)) as con:
            for table in faces_rank_store.RANK_TABLES:
                con.execute(f"DROP TABLE IF EXISTS {table}")
    return copy


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall and process CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def read_only(con: duckdb.DuckDBPyConnection) -> None:
    """What the values path reads, without the statistics: every block of the table."""
    columns = list(fs.feature_catalogue(con)["column_name"])
    ids = np.asarray(con.execute("SELECT subject_id FROM faces_features").fetchnumpy()[
        "subject_id"], dtype=object)
    for _ in fs._blocks(con, columns, ids, np.arange(len(ids))):
        pass


def in_memory(con: duckdb.DuckDBPyConnection) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Feature names, the matrix (k, n) and the scores (n, 3) of subjects with both."""
    catalogue = fs.feature_catalogue(con)
    names, columns = list(catalogue["name"]), list(catalogue["column_name"])
    ids = np.asarray(con.execute("SELECT subject_id FROM faces_features").fetchnumpy()[
        "subject_id"], dtype=object)
    table = con.execute(f"SELECT subject_id, {', '.join(SUBSCALES)} FROM faces_subjects"
                        ).df().set_index("subject_id")
    scores = table.reindex(ids).to_numpy(dtype=np.float64, na_value=np.nan)
    keep = np.flatnonzero(np.isfinite(scores).all(axis=1))
    matrix = np.empty((len(columns), len(keep)))
    for lo in range(0, len(columns), 1024):
        part = columns[lo:lo + 1024]
        data = con.execute("SELECT " + ", ".join(f'"{c}"' for c in part)
                           + " FROM faces_features").fetchnumpy()
        for i, c in enumerate(part):
            matrix[lo + i] = np.ma.filled(data[c], np.nan)[keep]
    return names, matrix, scores[keep]


def bare_ranks(matrix: np.ndarray) -> np.ndarray:
    """Ordinal ranks by argsort (ties broken by position): the simplest numpy ranking."""
    out = np.empty(matrix.shape)
    positions = np.broadcast_to(np.arange(1.0, matrix.shape[1] + 1), (1, matrix.shape[1]))
    for lo in range(0, len(matrix), 256):
        block = matrix[lo:lo + 256]
        np.put_along_axis(out[lo:lo + 256], np.argsort(block, axis=1),
                          np.broadcast_to(positions, block.shape), axis=1)
    return out


def bare_spearman(matrix: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """rho (k, 3) by one matrix product of centred ordinal ranks."""
    rx = bare_ranks(matrix)
    rx -= rx.mean(axis=1, keepdims=True)
    ry = bare_ranks(scores.T).T
    ry -= ry.mean(axis=0)
    return (rx @ ry) / np.outer(np.sqrt((rx * rx).sum(axis=1)), np.sqrt((ry * ry).sum(axis=0)))


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Two rankings of one subscale agree: rho/p/CI/q to 1e-12, n exactly, by feature."""
    a, b = a.set_index("feature"), b.set_index("feature").loc[a["feature"]]
    if not np.array_equal(a["n"].to_numpy(), b["n"].to_numpy()):
        return False
    return all(np.allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-12,
                           atol=1e-12, equal_nan=True)
               for c in ("rho", "p", "ci_low", "ci_high", "q"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path("bench/out/faces"))
    ap.add_argument("--sample", type=Path, default=Path("bench/out/full/FACES"))
    ap.add_argument("--views", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--missing-item", type=float, default=0.0015)
    ap.add_argument("--only", choices=("values", "all"), default="all",
                    help="values: time the values path only (skip indexes' stored ranks)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    full = sample_folder(args.root, args.sample, args.seed)
    partial = partial_folder(args.root, full, args.missing_item, args.seed)
    indexes: dict[str, Path] = {}
    for name, folder in (("complete", full), ("partial", partial)):
        db = args.root / f"{name}.duckdb"
        ensure_index(db, folder)
        copy = without_stored_ranks(db)
        if copy is None:
            indexes[name] = db
        else:
            if args.only == "all":
                indexes[f"{name}, stored ranks"] = db
            indexes[name] = copy
    print(f"FACES sample: {full}; load average at start {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs")

    with duckdb.connect(str(indexes["complete"]), read_only=True) as con:
        names, matrix, scores = in_memory(con)
    print(f"{matrix.shape[0]} features x {matrix.shape[1]} subjects with features and all "
          "three scores")
    bwall, bcpu, _ = timed(lambda: bare_spearman(matrix, scores), args.repeat)
    print(f"{'row':<46} {'wall s':>7} {'cpu s':>7} {'ratio':>6} {'load':>5}  from")
    print(f"{'baseline: bare numpy, 3 subscales, in memory':<46} {bwall:7.2f} {bcpu:7.2f} "
          f"{1:6.2f} {os.getloadavg()[0]:5.2f}")

    results: dict[str, dict[str, pd.DataFrame]] = {}
    for name, db in indexes.items():
        with duckdb.connect(str(db), read_only=True) as con:
            if name == "partial":
                counts = con.execute(
                    "SELECT count(*) FILTER (in_features AND in_dass), " + ", ".join(
                        f"count(*) FILTER (in_features AND in_dass AND {s} IS NULL)"
                        for s in SUBSCALES) + " FROM faces_subjects").fetchone()
                print(f"  partial: of {counts[0]} subjects with features and DASS-21, "
                      + ", ".join(f"{s} unscored {c}"
                                  for s, c in zip(SUBSCALES, counts[1:], strict=True)))
            first: dict[str, pd.DataFrame] = {}
            for chosen in [[s] for s in SUBSCALES] + [list(SUBSCALES)]:
                wall, cpu, got = timed(lambda c=chosen: fs.rank_all(con, c), args.repeat)
                label = f"rank_all {name}: {'+'.join(x[:4] for x in chosen)}"
                sources = sorted({str(f.attrs.get("rho_from", ""))[:40] for f in got.values()})
                ok = all(same(first.setdefault(s, f), f) for s, f in got.items())
                print(f"{label:<46} {wall:7.2f} {cpu:7.2f} {wall / bwall:6.2f} "
                      f"{os.getloadavg()[0]:5.2f}  {'; '.join(sources)}"
                      + ("" if ok else "  DIFFERS from the first ranking of this index"),
                      flush=True)
            if not name.endswith("stored ranks"):
                wall, cpu, _ = timed(lambda: read_only(con), 1)
                print(f"{'  read the feature table alone (' + name + ')':<46} {wall:7.2f} "
                      f"{cpu:7.2f} {wall / bwall:6.2f} {os.getloadavg()[0]:5.2f}")
        results[name] = first
    for name in ("complete", "partial"):
        if f"{name}, stored ranks" in results:
            agree = all(same(results[name][s], results[f"{name}, stored ranks"][s])
                        for s in SUBSCALES)
            print(f"  {name}: the values path equals the stored-ranks path: {agree}")

    with duckdb.connect(str(indexes["complete"]), read_only=True) as con:
        rng = np.random.default_rng(args.seed)
        picks = rng.choice(len(names), args.views, replace=False)
        fs.feature_view(con, names[picks[0]])  # warm the catalogue and DuckDB's caches
        ours, bare = [], []
        for i in picks:
            ours.append(timed(lambda i=i: fs.feature_view(con, names[i]), args.repeat)[0])
            bare.append(timed(lambda i=i: bare_spearman(matrix[i:i + 1], scores),
                              args.repeat)[0])
    p50, p95 = np.percentile(ours, 50) * 1e3, np.percentile(ours, 95) * 1e3
    b50 = np.percentile(bare, 50) * 1e3
    print(f"feature_view ({args.views} random features): p50 {p50:.1f} ms, p95 {p95:.1f} ms "
          f"(goal < 100 ms); bare numpy p50 {b50:.2f} ms; ratio p50 {p50 / b50:.0f}x")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
