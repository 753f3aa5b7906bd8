"""FACES statistics from the index: subjects, DASS-21 distributions, feature views, rankings.

This module reads; the figures on what it reads (one feature against DASS-21, the ranking
table) are :mod:`faceexplorer.stats.faces_features`' (pure).

Reads the tables of :mod:`faceexplorer.datasets.faces` (scores and bands were computed
there from the items, by the rule of :mod:`faceexplorer.stats.dass21`). Features are
named as in the feature file (``AU12_r_mean``); ``faces_feature_columns`` maps a name to
its table column, which differs for names DuckDB sees as case clashes (``X_0`` / ``x_0``).

:func:`rank_all` correlates every feature with the subscales. Sorting ~97M values is
what costs, so the import stores every feature's ranks (:mod:`faceexplorer.stats.
faces_ranks`) and the ranking is a read and a matrix product. A subscale those ranks do
not cover (an older index; subjects scored on one subscale but not another) is ranked
from the values: two threads each read a block of columns on their own cursor and rank
it, then take the next block (:func:`faceexplorer.core.in_order.in_order`), so one core
scans while the other sorts (DuckDB's scan and numpy's sort both release the GIL); the
full matrix is never held; each feature is sorted once for all subscales
(:func:`faceexplorer.stats.faces_ranks.spearman_rows`). Both ways give the same
numbers (exact rank sums); each frame's ``attrs["rho_from"]`` says which was used.
Subjects without a score or a value are left out pairwise (see
:func:`faceexplorer.stats.correlation.spearman_matrix`).
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.in_order import in_order
from faceexplorer.core.vocab import DASS_BANDS
from faceexplorer.index.store import table_exists
from faceexplorer.reports import faces_rank_store
from faceexplorer.stats import faces_ranks
from faceexplorer.stats.dass21 import RULES, SUBSCALES, file_verdict
from faceexplorer.stats.faces_features import RANKING_COLUMNS as RANKING_COLUMNS
from faceexplorer.stats.faces_features import FeatureView as FeatureView
from faceexplorer.stats.faces_features import check_subscale, feature_view_of, ranking_table

#: Feature columns fetched per query; one block is ~23 MB of float64 at 11k subjects.
BLOCK_COLUMNS = 256
#: Threads that each read a block of columns and rank it (see :func:`_ranked_blocks`).
RANK_WORKERS = 2
_log = logging.getLogger(__name__)
_SUBJECT_COLUMNS = ("subject_id", "gender", "age_years", "grade", "grade_name", "in_dass",
                    "in_features", *(f"{s}{x}" for s in SUBSCALES for x in ("", "_band")))


def require_faces(con: duckdb.DuckDBPyConnection) -> None:
    """Raise a user-facing error unless the index holds FACES tables."""
    if not table_exists(con, "faces_subjects"):
        raise FaceExplorerError("no FACES data in this index; import it with "
                                "faceexplorer index add faces PATH")


# --- subjects and DASS-21 ---------------------------------------------------------------
def subject_overview(con: duckdb.DuckDBPyConnection) -> dict:
    """Coverage and demographics: gender, grade (with its Chinese name) and age counts.

    Returns
    -------
    dict
        ``subjects``, ``with_features``, ``with_dass``, ``with_baseinfo``, ``with_both``;
        ``gender`` {value: count} (missing as ``None``); ``grades`` [{grade, grade_name,
        subjects}] (unmapped names with grade None); ``ages`` {age: count};
        ``age_mean``, ``age_min``, ``age_max`` (None when no ages).
    """
    require_faces(con)
    row = con.execute("""SELECT count(*), count(*) FILTER (in_features),
        count(*) FILTER (in_dass), count(*) FILTER (in_baseinfo),
        count(*) FILTER (in_features AND in_dass), avg(age_years), min(age_years),
        max(age_years) FROM faces_subjects""").fetchone()
    assert row is not None
    keys = ("subjects", "with_features", "with_dass", "with_baseinfo", "with_both")
    out: dict = {k: int(v) for k, v in zip(keys, row[:5], strict=True)}
    out["age_mean"] = None if row[5] is None else float(row[5])
    out["age_min"], out["age_max"] = row[6], row[7]
    out["gender"] = dict(con.execute(
        "SELECT gender, count(*) FROM faces_subjects GROUP BY ALL ORDER BY 2 DESC, 1"
    ).fetchall())
    out["grades"] = [{"grade": g, "grade_name": name, "subjects": n} for g, name, n in
                     con.execute("""SELECT grade, grade_name, count(*) FROM faces_subjects
                                    WHERE grade_name IS NOT NULL GROUP BY ALL
                                    ORDER BY grade NULLS LAST, grade_name""").fetchall()]
    out["ages"] = dict(con.execute("""SELECT age_years, count(*) FROM faces_subjects
        WHERE age_years IS NOT NULL GROUP BY ALL ORDER BY 1""").fetchall())
    return out


def subjects(con: duckdb.DuckDBPyConnection, search: str | None = None,
             limit: int | None = None, offset: int = 0) -> pd.DataFrame:
    """The subject browser's rows: demographics, doubled scores and bands, by subject id.

    ``search`` keeps subjects whose id contains it (case-insensitive).
    """
    require_faces(con)
    sql = (f"SELECT {', '.join(_SUBJECT_COLUMNS)} FROM faces_subjects"
           + (" WHERE subject_id ILIKE ?" if search else "") + " ORDER BY subject_id"
           + (f" LIMIT {int(limit)}" if limit is not None else "") + f" OFFSET {int(offset)}")
    params = [f"%{search}%"] if search else []
    return con.execute(sql, params).df()


def dass_distributions(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per subscale: scored subjects, mean/median, counts per band, score histogram.

    Scores are the standard doubled ones (0..42, even), so the histogram has one bin per
    possible score: ``histogram`` = {"scores": [0, 2, ..., 42], "counts": [...]}.
    ``bands`` lists every band in severity order with its count and share of the scored.
    """
    require_faces(con)
    out = {}
    for s in SUBSCALES:
        n, missing, mean, median = con.execute(
            f"SELECT count({s}), count(*) FILTER (in_dass AND {s} IS NULL), avg({s}), "
            f"median({s}) FROM faces_subjects").fetchone()  # type: ignore[misc]
        per_band = dict(con.execute(
            f"SELECT {s}_band, count(*) FROM faces_subjects WHERE {s}_band IS NOT NULL "
            "GROUP BY ALL").fetchall())
        per_score = dict(con.execute(
            f"SELECT {s}, count(*) FROM faces_subjects WHERE {s} IS NOT NULL GROUP BY ALL"
        ).fetchall())
        scores = list(range(0, 43, 2))
        out[s] = {
            "n": int(n), "unscored": int(missing),
            "mean": None if mean is None else float(mean),
            "median": None if median is None else float(median),
            "bands": [{"band": b, "count": int(per_band.get(b, 0)),
                       "share": per_band.get(b, 0) / n if n else None} for b in DASS_BANDS],
            "histogram": {"scores": scores, "counts": [int(per_score.get(x, 0))
                                                       for x in scores]},
        }
    return out


def stored_totals(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Which rule the file's precomputed totals follow, per subscale.

    Returns ``{subscale: {"verdict": ..., "rows": {rule: count}, "not_compared":
    {why: count}}}`` with the verdict of :func:`faceexplorer.stats.dass21.file_verdict`
    (``absent`` when baseinfo.csv stores no totals), the row count of every rule in
    ``dass21.RULES``, and why the ``missing`` rows could not be compared:
    ``no_answers`` (not in dass21.csv), ``items_missing`` (not all seven items: the
    subjects the band table counts as not scored), ``no_stored_total``.
    """
    require_faces(con)
    out = {}
    for s in SUBSCALES:
        rows = dict(con.execute(f"SELECT {s}_rule, count(*) FROM faces_subjects "
                                "GROUP BY ALL").fetchall())
        why = con.execute(
            "SELECT count(*) FILTER (NOT coalesce(in_dass, false)), "
            f"count(*) FILTER (coalesce(in_dass, false) AND {s}_raw IS NULL), "
            f"count(*) FILTER (coalesce(in_dass, false) AND {s}_raw IS NOT NULL) "
            f"FROM faces_subjects WHERE {s}_rule = 'missing'").fetchone()
        out[s] = {"verdict": file_verdict(rows),
                  "rows": {r: int(rows.get(r, 0)) for r in RULES},
                  "not_compared": dict(zip(("no_answers", "items_missing", "no_stored_total"),
                                           map(int, why or (0, 0, 0)), strict=True))}
    return out


# --- features ---------------------------------------------------------------------------
def feature_catalogue(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every feature in file order: name, column_name (in the table), base_column, stat."""
    require_faces(con)
    return con.execute("SELECT name, column_name, base_column, stat FROM "
                       "faces_feature_columns ORDER BY position").df()


def search_features(con: duckdb.DuckDBPyConnection, text: str,
                    limit: int | None = 100) -> list[str]:
    """Feature names containing ``text`` (case-insensitive), in file order."""
    require_faces(con)
    sql = ("SELECT name FROM faces_feature_columns WHERE name ILIKE ? ORDER BY position"
           + (f" LIMIT {int(limit)}" if limit is not None else ""))
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [r[0] for r in con.execute(sql.replace("ILIKE ?", "ILIKE ? ESCAPE '\\'"),
                                      [f"%{escaped}%"]).fetchall()]


def _column_of(con: duckdb.DuckDBPyConnection, feature: str) -> tuple[str, str, str]:
    try:
        row = con.execute("SELECT column_name, base_column, stat FROM faces_feature_columns "
                          "WHERE name = ?", [feature]).fetchone()
    except duckdb.CatalogException:
        require_faces(con)  # raises the user's message
        raise
    if row is None:
        near = search_features(con, feature.rsplit("_", 1)[0], limit=5)
        hint = f"; similar: {', '.join(near)}" if near else ""
        raise FaceExplorerError(f"no FACES feature {feature!r} (names look like "
                                f"AU12_r_mean){hint}")
    return row  # type: ignore[return-value]


def feature_view(con: duckdb.DuckDBPyConnection, feature: str) -> FeatureView:
    """One feature's values per DASS band and against every subscale (one query).

    Subjects come in the index's order. Bands travel as small codes, not strings, and
    there is no ORDER BY: both halved the query time. (The existence check is the
    catalogue look-up itself: ``duckdb_tables()`` costs tens of ms beside an
    8,500-column table.)

    Raises
    ------
    FaceExplorerError
        No FACES data, or no feature of that name (similar names are suggested).
    """
    column, base, stat = _column_of(con, feature)
    names = ", ".join(f"'{b}'" for b in DASS_BANDS)
    cols = ", ".join(f"s.{x}, list_position([{names}], s.{x}_band) - 1 AS {x}_code"
                     for x in SUBSCALES)
    data = con.execute(
        f'SELECT f.subject_id, f."{column}" AS value, {cols} FROM faces_features f '
        "JOIN faces_subjects s USING (subject_id)").fetchnumpy()
    codes = {s: np.ma.filled(data[f"{s}_code"], -1).astype(np.int8) for s in SUBSCALES}
    return feature_view_of(feature, base, stat, np.asarray(data["subject_id"], dtype=object),
                           _floats(data["value"]), {s: _floats(data[s]) for s in SUBSCALES},
                           codes)


def _floats(column: np.ndarray) -> np.ndarray:
    """A fetched column as float64 with NaN for NULL (DuckDB masks NULLs)."""
    return np.ma.filled(np.ma.asarray(column, dtype=np.float64), np.nan)


# --- ranking ----------------------------------------------------------------------------
def _read_block(cursor: duckdb.DuckDBPyConnection, part: Sequence[str], ids: np.ndarray,
                keep: np.ndarray) -> np.ndarray:
    """Values (len(part), len(keep)) of one block of columns.

    Rows are the subjects ``ids[keep]``, in that order, whatever order the scan returns.
    """
    data = cursor.execute("SELECT subject_id, " + ", ".join(f'"{c}"' for c in part)
                          + " FROM faces_features").fetchnumpy()
    got = np.asarray(data.pop("subject_id"), dtype=object)
    rows = keep if np.array_equal(got, ids) else pd.Index(got).get_indexer(ids[keep])
    every = len(rows) == len(got) and bool((rows == np.arange(len(got))).all())
    block = np.empty((len(part), len(rows)))
    for i, c in enumerate(part):  # one copy per column, straight into the block
        if every:   # every subject, in order: a plain copy (half a gather's CPU)
            block[i] = np.ma.filled(data.pop(c), np.nan)
        else:
            np.take(np.ma.filled(data.pop(c), np.nan), rows, out=block[i])
    return block


def _parts(columns: Sequence[str]) -> list[tuple[int, Sequence[str]]]:
    return [(lo, columns[lo:lo + BLOCK_COLUMNS]) for lo in range(0, len(columns), BLOCK_COLUMNS)]


def _blocks(con: duckdb.DuckDBPyConnection, columns: Sequence[str], ids: np.ndarray,
            keep: np.ndarray) -> Iterator[np.ndarray]:
    """Every block of columns in turn, read as the ranking reads them (no statistics)."""
    cursor = con.cursor()  # DuckDB connections are not shared between threads
    try:
        for _, part in _parts(columns):
            yield _read_block(cursor, part, ids, keep)
    finally:
        cursor.close()


def _ranked_blocks(con: duckdb.DuckDBPyConnection, columns: Sequence[str], ids: np.ndarray,
                   keep: np.ndarray, ranked: faces_ranks.ScoreRanks,
                   cancelled: Callable[[], bool] | None
                   ) -> Iterator[tuple[int, tuple[np.ndarray, np.ndarray] | None]]:
    """(first feature, (rho, n)) of each block of columns, in order.

    :data:`RANK_WORKERS` threads each read a block on their own cursor and rank it, then
    take the next: DuckDB's scan and numpy's sort both release the GIL, so one thread
    reads while the other ranks and neither core waits for a fixed hand-over. A block
    is None when ``cancelled()`` turned true before it started.
    """
    # One cursor per worker, made here: a DuckDB connection serves one thread at a time,
    # and ``con`` may be busy elsewhere once the workers run.
    cursors = [con.cursor() for _ in range(RANK_WORKERS)]
    free: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
    for cursor in cursors:
        free.put(cursor)

    def work(part: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        if cancelled is not None and cancelled():
            return None
        cursor = free.get()
        try:
            return faces_ranks.spearman_rows(_read_block(cursor, part, ids, keep), ranked)
        finally:
            free.put(cursor)

    parts = _parts(columns)
    try:
        # closing: a ranking left early waits for the workers before their cursors close
        with closing(in_order(work, ((part,) for _, part in parts), RANK_WORKERS)) as done:
            for (lo, _), got in zip(parts, done, strict=True):
                yield lo, got
    finally:
        for cursor in cursors:
            cursor.close()


def rank_all(con: duckdb.DuckDBPyConnection, subscales: Sequence[str] = SUBSCALES,
             progress: Callable[[int, int], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> dict[str, pd.DataFrame]:
    """Every feature against every one of ``subscales``.

    rho comes from the ranks the import stored (:mod:`faceexplorer.reports.faces_rank_store`);
    a subscale they do not cover (older index, other scored subjects) is computed from
    the values in one pass over the table, with the same numbers, and the frames say so.

    Parameters
    ----------
    progress : called as ``progress(features done, features)`` after each block.
    cancelled : checked between blocks; when it turns true the ranking stops and the
        result is None.

    Returns
    -------
    dict
        subscale -> DataFrame with :data:`RANKING_COLUMNS`, sorted by |rho| (largest
        first; undefined rho last, then file order). ``q`` is the Benjamini-Hochberg
        adjusted p over all features of that subscale. ``frame.attrs["rho_from"]`` is
        ``"stored ranks"`` or ``"values: <why the stored ranks could not serve>"``.
    """
    require_faces(con)
    subscales = [check_subscale(s) for s in subscales]
    catalogue = feature_catalogue(con)
    k, s = len(catalogue), len(subscales)
    positions = con.execute("SELECT position FROM faces_feature_columns ORDER BY position"
                            ).fetchnumpy()["position"]

    def step(done: int) -> None:  # a second pass (from the values) restarts the bar
        if progress is not None:
            progress(done, k)

    stored = faces_rank_store.stored_rho(con, positions, subscales, step, cancelled)
    if stored is None:
        return None  # type: ignore[return-value]
    rho, n = stored.rho, stored.n
    rest = [j for j in range(s) if not stored.covered[j]]
    if rest:
        _log.warning("FACES ranking: %s", stored.note)
        got = _rank_from_values(con, catalogue, [subscales[j] for j in rest], step,
                                cancelled)
        if got is None:
            return None  # type: ignore[return-value]
        rho[:, rest], n[:, rest] = got
    if progress is not None:
        progress(k, k)
    out = {}
    for j, sub in enumerate(subscales):
        out[sub] = ranking_table(catalogue, rho[:, j], n[:, j])
        out[sub].attrs["rho_from"] = ("stored ranks" if stored.covered[j]
                                      else f"values: {stored.note}")
    return out


def _rank_from_values(con: duckdb.DuckDBPyConnection, catalogue: pd.DataFrame,
                      subscales: Sequence[str], step: Callable[[int], None],
                      cancelled: Callable[[], bool] | None
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """rho and n (k, s) ranked from the feature values, one pass over the table."""
    k, s = len(catalogue), len(subscales)
    ids = np.asarray(con.execute("SELECT subject_id FROM faces_features").fetchnumpy()[
        "subject_id"], dtype=object)
    table = con.execute(f"SELECT subject_id, {', '.join(subscales)} FROM faces_subjects"
                        ).df().set_index("subject_id")
    scores = table.reindex(pd.Index(ids)).to_numpy(dtype=np.float64, na_value=np.nan)
    # Subjects with no score at all never count: leave them out while copying the blocks.
    keep = np.flatnonzero(np.isfinite(scores).any(axis=1))
    ranked = faces_ranks.score_ranks(scores[keep])
    rho, n = np.full((k, s), np.nan), np.zeros((k, s), dtype=np.int64)
    for lo, got in _ranked_blocks(con, list(catalogue["column_name"]), ids, keep, ranked,
                                  cancelled):
        if got is None or (cancelled is not None and cancelled()):
            return None
        rho[lo:lo + len(got[0])], n[lo:lo + len(got[0])] = got
        step(lo + len(got[0]))
    return rho, n


def rank_features(con: duckdb.DuckDBPyConnection, subscale: str) -> pd.DataFrame:
    """All features ranked by |Spearman rho| with one subscale (see :func:`rank_all`)."""
    return rank_all(con, [check_subscale(subscale)])[subscale]


def export_ranking(ranking: pd.DataFrame, path: Path | str) -> Path:
    """Write a ranking to CSV (full precision, empty cells for undefined values)."""
    path = Path(path)
    ranking.to_csv(path, index=False, float_format="%.17g")
    return path


def rank_all_with_progress(con: duckdb.DuckDBPyConnection,
                           progress: Callable[[int, int], None] | None = None,
                           subscales: Sequence[str] = SUBSCALES,
                           cancelled: Callable[[], bool] | None = None
                           ) -> dict[str, pd.DataFrame] | None:
    """:func:`rank_all`, reporting ``progress(features done, features)``.

    One report per block of features, the last one (all, all); None when ``cancelled()``
    turned true. Never re-implements the ranking, so numbers cannot drift.
    """
    return rank_all(con, subscales, progress=progress, cancelled=cancelled)
