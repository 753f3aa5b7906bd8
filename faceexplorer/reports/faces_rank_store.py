"""FACES feature ranks stored at import, so ranking every feature is a read and a product.

The FACES import (:mod:`faceexplorer.datasets.faces`) ranks every feature once, inside its
transaction (the ranks can never be stale), over the *ranking subjects*: subjects with
features and at least one DASS-21 subscale score (:func:`store_ranks`).

- ``faces_rank_subjects(slot, subject_id)``: the ranking subjects, slot = subject-id order.
- ``faces_feature_ranks(position, n, ranks)``: per feature (``position`` as in
  ``faces_feature_columns``), ``n`` subjects where it is finite and their average-tie ranks
  among themselves, one value per slot, in :func:`faceexplorer.stats.faces_ranks.encode`'s
  form.

:func:`stored_rho` reads them block by block on a second cursor and :data:`RANK_WORKERS`
threads get each block's rho from :func:`faceexplorer.stats.faces_ranks.block_rho` and
``subset_block_rho`` (numpy's sorts and products release the GIL; blocks fill disjoint
rows). A subscale is *covered* when every subject it scores is a stored
one; otherwise (an index imported before ranks were stored, or by a version that stored
only subjects with all three scores) :func:`stored_rho` says why and the caller computes
that subscale from the values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.core.in_order import in_order
from faceexplorer.index.store import table_exists
from faceexplorer.stats import correlation as corr
from faceexplorer.stats.dass21 import SUBSCALES
from faceexplorer.stats.faces_ranks import (
    block_rho,
    encode,
    rank_dtype,
    rank_with_gaps,
    score_ranks_or_none,
    subset_block_rho,
)

RANK_TABLES = ("faces_rank_subjects", "faces_feature_ranks")
#: Features ranked (import) or read (ranking) per step: ~45 MB of float64 at 11k subjects.
BLOCK_FEATURES = 512
#: Threads that turn blocks of stored ranks into rho while the next block is read.
RANK_WORKERS = 2
#: Stored rank rows converted to float64 at a time (~3 MB at 11k subjects: in cache).
_CACHED_ROWS = 32


def store_ranks(con: duckdb.DuckDBPyConnection) -> int:
    """Rank every feature over the ranking subjects and store the ranks; returns their count.

    Runs on the import's own connection (inside its transaction: another cursor would
    not see the new tables), after ``faces_features``, ``faces_feature_columns`` and
    ``faces_subjects`` are built.
    """
    for table in RANK_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    scored = " OR ".join(f"{s} IS NOT NULL" for s in SUBSCALES)
    con.execute("CREATE TABLE faces_rank_subjects AS SELECT (row_number() OVER (ORDER BY "
                "subject_id) - 1)::INTEGER AS slot, subject_id FROM faces_subjects "
                f"WHERE in_features AND ({scored})")
    con.execute("CREATE TABLE faces_feature_ranks (position INTEGER NOT NULL, "
                "n INTEGER NOT NULL, ranks BLOB NOT NULL)")
    ids = _column(con.execute("SELECT subject_id FROM faces_rank_subjects ORDER BY slot"))
    dtype = rank_dtype(len(ids))
    catalogue = con.execute("SELECT column_name, position FROM faces_feature_columns "
                            "ORDER BY position").fetchall()

    def ranked(part: list[tuple[str, int]], values: np.ndarray) -> pd.DataFrame:
        ranks = rank_with_gaps(values)
        return pd.DataFrame({
            "position": np.array([p for _, p in part], dtype=np.int32),
            "n": np.isfinite(ranks).sum(axis=1).astype(np.int32),
            "ranks": pd.Series([r.tobytes() for r in encode(ranks, dtype)], dtype=object)})

    def blocks() -> Iterator[tuple[list[tuple[str, int]], np.ndarray]]:
        rows, scan_ids = np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
        for lo in range(0, len(catalogue), BLOCK_FEATURES):
            part = catalogue[lo:lo + BLOCK_FEATURES]
            data = con.execute("SELECT subject_id, " + ", ".join(f'"{c}"' for c, _ in part)
                               + " FROM faces_features").fetchnumpy()
            got = _column_of(data.pop("subject_id"))
            if not np.array_equal(got, scan_ids):  # the scan order: the same every block
                scan_ids = got
                rows = pd.Index(got).get_indexer(ids)
            values = np.empty((len(part), len(ids)))
            for i, (c, _) in enumerate(part):
                values[i] = np.ma.filled(np.ma.asarray(data.pop(c), dtype=np.float64),
                                         np.nan)[rows]
            yield part, values

    # This connection reads each block and inserts its ranks (the transaction's own: no
    # other cursor sees its tables) while :data:`RANK_WORKERS` threads rank the blocks
    # read before (numpy's sort releases the GIL).
    with closing(in_order(ranked, blocks(), RANK_WORKERS)) as frames:
        for frame in frames:
            _insert_ranks(con, frame)
    return len(catalogue)


def store_ranks_in(db_path: Path) -> int:
    """:func:`store_ranks` in an index already imported (one made before the ranks were
    stored), in one transaction of its own; returns the features ranked. The window runs
    it as a write ("Store feature ranks" on the FACES Ranking tab)."""
    from faceexplorer.index.store import connect, transaction

    con = connect(Path(db_path))
    try:
        with transaction(con):
            stored = store_ranks(con)
        con.execute("CHECKPOINT")
        return stored
    finally:
        con.close()


def _insert_ranks(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    con.execute("INSERT INTO faces_feature_ranks SELECT * FROM frame")


def _column(result: duckdb.DuckDBPyConnection) -> np.ndarray:
    return _column_of(next(iter(result.fetchnumpy().values())))


def _column_of(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=object)


@dataclass(frozen=True)
class StoredRho:
    """rho and pairs (k, s) for the subscales marked ``covered``; ``note`` says why not."""

    rho: np.ndarray
    n: np.ndarray
    covered: np.ndarray
    note: str


def stored_rho(con: duckdb.DuckDBPyConnection, positions: Sequence[int],
               subscales: Sequence[str],
               progress: Callable[[int], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> StoredRho | None:
    """rho of every feature (``positions``, catalogue order) with ``subscales`` from the ranks.

    Returns None if ``cancelled()`` turned true between blocks. ``progress(done)`` is
    called after each block with the features done.
    """
    k, s = len(positions), len(subscales)
    rho, n = np.full((k, s), np.nan), np.zeros((k, s), dtype=np.int64)
    nothing = np.zeros(s, dtype=bool)
    if not table_exists(con, "faces_feature_ranks"):
        return StoredRho(rho, n, nothing, "this index has no stored feature ranks, as an "
                         "older version imported it: store them ('Store feature ranks' on the "
                         "Ranking tab) or re-import FACES for the fast ranking")
    scores, covered, note = _stored_scores(con, subscales)
    if not covered.any():
        return StoredRho(rho, n, covered, note)
    row_of = pd.Index(np.asarray(positions)).get_indexer
    # Subscales scored on every stored subject: one product with the stored ranks; on
    # some of them: the stored order, corrected at the others.
    every = np.isfinite(scores).all(axis=0)
    direct, subset = np.flatnonzero(covered)[every], np.flatnonzero(covered)[~every]
    full_scores = scores[:, every]
    score_ranks = corr.rank_rows(full_scores.T).T if len(scores) else full_scores
    sub_ranks = score_ranks_or_none(scores[:, ~every])
    seen = np.zeros(k, dtype=bool)

    def compute(rows: np.ndarray, counts: np.ndarray, raw: np.ndarray) -> int:
        # Blocks fill disjoint rows of rho and n, so workers never write the same cells.
        if direct.size:
            buffer = np.empty((_CACHED_ROWS, len(scores)))
            block_rho(rho, n, rows, direct, raw, counts, full_scores, score_ranks, buffer)
        if sub_ranks is not None:
            subset_block_rho(rho, n, rows, subset, raw, counts, sub_ranks)
        return len(rows)

    stop: list[StoredRho | None] = []   # why the blocks ended early, if they did

    def blocks() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        for block_positions, counts, raw in _read_blocks(con, len(scores)):
            if cancelled is not None and cancelled():
                stop.append(None)
                return
            rows = row_of(block_positions)
            if (rows < 0).any() or seen[rows].any():
                stop.append(StoredRho(rho, n, nothing, "the stored feature ranks do not "
                                      "match the feature catalogue (re-import FACES)"))
                return
            seen[rows] = True
            yield rows, counts, raw

    done = 0
    # closing: left early, the workers are done with rho and n before it returns
    with closing(in_order(compute, blocks(), RANK_WORKERS)) as results:
        for got in results:
            if stop:      # the blocks ended early: the calls not started are cancelled
                break
            done += got
            if progress is not None:
                progress(done)
    if stop:
        return stop[0]
    if not seen.all():
        return StoredRho(rho, n, nothing, "stored feature ranks are missing for "
                         f"{int((~seen).sum())} feature(s) (re-import FACES)")
    return StoredRho(rho, n, covered, note)


def _stored_scores(con: duckdb.DuckDBPyConnection, subscales: Sequence[str]
                   ) -> tuple[np.ndarray, np.ndarray, str]:
    """Scores of the stored subjects in slot order (slots, covered subscales; NaN where
    unscored), the covered mask over ``subscales``, and a note naming those not covered.

    A subscale is covered when every subject it scores (with features) is stored: its
    scored subjects are all of them (the product path) or a subset (the subset path)."""
    data = con.execute(
        f"SELECT r.slot, {', '.join(f's.{x}' for x in subscales)} FROM faces_subjects s "
        "LEFT JOIN faces_rank_subjects r USING (subject_id) WHERE s.in_features"
    ).fetchnumpy()
    slot = np.ma.filled(np.ma.asarray(data["slot"], dtype=np.int64), -1)
    stored = slot >= 0
    n_slots = con.execute("SELECT count(*) FROM faces_rank_subjects").fetchone()[0]  # type: ignore[index]
    # Every stored subject must still be a feature subject, each slot once.
    intact = (int(stored.sum()) == n_slots
              and np.array_equal(np.sort(slot[stored]), np.arange(n_slots)))
    values = {x: np.ma.filled(np.ma.asarray(data[x], dtype=np.float64), np.nan)
              for x in subscales}
    covered = np.array([intact and not (np.isfinite(values[x]) & ~stored).any()
                        for x in subscales])
    scores = np.empty((n_slots, int(covered.sum())))
    for j, x in enumerate(x for x, c in zip(subscales, covered, strict=True) if c):
        scores[slot[stored], j] = values[x][stored]
    missed = [x for x, c in zip(subscales, covered, strict=True) if not c]
    note = ("" if not missed else
            f"{', '.join(missed)}: scored subjects differ from those the ranks were stored "
            "for (subjects with features and a score), so computed from the values")
    return scores, covered, note


def _read_blocks(con: duckdb.DuckDBPyConnection, n_slots: int
                 ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(positions, n, stored ranks (block, n_slots)) per block, the next one prefetched by a
    second cursor on a worker thread (DuckDB's read releases the GIL)."""
    dtype = rank_dtype(n_slots)
    cursor = con.cursor()

    def fetch() -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        got = cursor.fetchmany(BLOCK_FEATURES)
        if not got:
            return None
        raw = np.frombuffer(b"".join(r[2] for r in got), dtype=dtype)
        if raw.size != len(got) * n_slots:
            raise ValueError("stored ranks of the wrong length")
        return (np.array([r[0] for r in got]), np.array([r[1] for r in got]),
                raw.reshape(len(got), n_slots))

    try:
        cursor.execute("SELECT position, n, ranks FROM faces_feature_ranks")
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(fetch)
            while (block := pending.result()) is not None:
                pending = pool.submit(fetch)
                yield block
    finally:
        cursor.close()
