"""Hugging Rain Man statistics read from the index: AU prevalence, co-occurrence, segments,
the five atypicality raters, AU activity vs atypicality, and OpenFace beside the coders.

Design: DuckDB does the counting over the frame table (131,758 frames x 36 AUs at full
scale) and hands numpy small tables: per-child active counts (prevalence), or the distinct
*AU patterns* with their frame counts and atypicality sums (co-occurrence, AU vs
atypicality), each pattern one BIGINT bitmask, so a GROUP BY replaces a frames x AUs
matrix. An AU is active when its cell is non-zero (1 present, 2..5 present with
laterality). Atypicality of a frame is the mean of the five raters' levels (0..4), recomputed
from their columns (the file's own average column is rounded and sometimes missing). This
module reads and counts; the figures on the counts are :mod:`faceexplorer.stats.hrm`'s
(pure numpy/pandas), so each function here is a query and one call.

Frames of one child are strongly correlated (an AU or a rating persists for seconds):
frame-level intervals (Wilson, ICC's F interval) describe these frames, not children. Group
prevalence therefore also carries a child-level (cluster) bootstrap interval. Every
function that counts AUs accepts ``patterns`` (one :func:`au_patterns` scan) so a report
scans the frames once; :mod:`faceexplorer.reports.hrm_report` assembles and prints the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import HRM_AU22, HRM_AU_COLUMNS, HRM_RATERS, OPENFACE_TO_HRM
from faceexplorer.index.store import table_exists
from faceexplorer.stats import au_metrics
from faceexplorer.stats.hrm import DIFFERENCE as DIFFERENCE
from faceexplorer.stats.hrm import GROUPS as GROUPS
from faceexplorer.stats.hrm import (
    N_BOOT,
    SEED,
    AUPatterns,
    au_vs_atypicality_of,
    child_prevalence_of,
    cooccurrence_of,
    prevalence_of,
    rater_figures,
)

#: OpenFace frame numbers count video frames from 1; HRM frame numbers from 0.
OPENFACE_FRAME_OFFSET = 1
OPENFACE_NOTES = {
    "AU26": "HRM's AU2X is AU26 or AU27; OpenFace has no AU27, so mouth-stretch frames "
            "count as misses",
    "AU28": "OpenFace gives AU28 as presence only (no intensity)",
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


ATYPICALITY = "(" + " + ".join(_q(r) for r in HRM_RATERS) + f") / {len(HRM_RATERS)}.0"
#: Sum of the five raters' integer levels: summed exactly, divided once (a per-frame
#: mean averaged in floating point came out 0.12500000000000003 for 1/8, shown as 0.13).
LEVELS = "(" + " + ".join(_q(r) for r in HRM_RATERS) + ")"


# --- reading the index ------------------------------------------------------------------
def _require_hrm(con: duckdb.DuckDBPyConnection) -> None:
    if not table_exists(con, "hrm_frames"):
        raise FaceExplorerError("no Hugging Rain Man data in the index; import it first: "
                                "faceexplorer index add hrm PATH")


def hrm_children(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The HRM children in the index, in the index's order."""
    _require_hrm(con)
    return [r[0] for r in con.execute("SELECT child FROM hrm_children ORDER BY child").fetchall()]


def _check_child(con: duckdb.DuckDBPyConnection, child: str) -> None:
    children = hrm_children(con)
    if child not in children:
        shown = ", ".join(children[:12]) + (" ..." if len(children) > 12 else "")
        raise FaceExplorerError(f"child {child!r} is not in the HRM index "
                                f"(children: {shown or 'none'})")


def _check_aus(aus: Sequence[str]) -> list[str]:
    unknown = [a for a in aus if a not in HRM_AU_COLUMNS]
    if unknown:
        raise ValueError(f"not HRM AU columns: {', '.join(unknown)} "
                         f"(expected names from {', '.join(HRM_AU_COLUMNS)})")
    return list(aus)


def _scope(child: str | None, alias: str = "") -> tuple[str, list[Any]]:
    return ("", []) if child is None else (f"WHERE {alias}child = ?", [child])


def au_patterns(con: duckdb.DuckDBPyConnection, aus: Sequence[str] = HRM_AU22,
                child: str | None = None) -> AUPatterns:
    """Count the frame table once into :class:`AUPatterns` (one scan, GROUP BY bitmask).

    Parameters
    ----------
    con : DuckDB connection to the index.
    aus : AU columns (up to 63; the 36 of ``HRM_AU_COLUMNS`` fit).
    child : restrict to one child's frames.
    """
    _require_hrm(con)
    aus = _check_aus(aus)
    if child is not None:
        _check_child(con, child)
    where, params = _scope(child, "f.")
    bits = " | ".join(f"((f.{_q(a)} <> 0)::BIGINT << {i})" for i, a in enumerate(aus)) or "0"
    got = con.execute(
        f"SELECT child, c.grp, {bits} AS pattern, count(*) AS n, count(a) AS rated, "
        "coalesce(sum(a), 0) AS s, coalesce(sum(a * a), 0) AS ss "
        f"FROM (SELECT *, {ATYPICALITY} AS a FROM hrm_frames) f "
        f"JOIN hrm_children c USING (child) {where} GROUP BY ALL", params).fetchnumpy()
    pattern = np.asarray(got["pattern"], dtype=np.int64)
    return AUPatterns(
        tuple(aus), np.asarray(got["child"], dtype=object),
        np.asarray(pd.Series(got["grp"], dtype=object).where(lambda g: g.notna(), None)),
        (pattern[:, None] >> np.arange(len(aus))) & 1 == 1,
        np.asarray(got["n"], np.int64), np.asarray(got["rated"], np.int64),
        np.asarray(got["s"], float), np.asarray(got["ss"], float))


def _patterns_for(con: duckdb.DuckDBPyConnection, aus: Sequence[str], child: str | None,
                  patterns: AUPatterns | None) -> AUPatterns:
    """``patterns`` (reused by the report, restricted to ``child``), else a fresh count."""
    if patterns is None:
        return au_patterns(con, aus, child)
    if list(patterns.aus) != list(aus):
        raise ValueError(f"patterns were counted for {patterns.aus}, not {tuple(aus)}")
    if child is None:
        return patterns
    _check_child(con, child)
    return patterns.where(patterns.child == child)


def child_counts(con: duckdb.DuckDBPyConnection, aus: Sequence[str] = HRM_AU22) -> pd.DataFrame:
    """One row per child with frames: ``child, grp, frames`` and each AU's active frames."""
    return au_patterns(con, aus).child_counts()


# --- prevalence ---------------------------------------------------------------------------
def prevalence_by_group(con: duckdb.DuckDBPyConnection, aus: Sequence[str] = HRM_AU22,
                        n_boot: int = N_BOOT, seed: int = SEED, confidence: float = 0.95,
                        patterns: AUPatterns | None = None) -> pd.DataFrame:
    """Share of frames each AU is active in, per group (ASD, TD, all) and ASD minus TD.

    Two intervals, because frames of one child are not independent: ``wilson_low/high``
    treats frames as independent trials (too narrow for claims about children), and
    ``boot_low/high`` is a child-level (cluster) percentile bootstrap with a fixed
    ``seed``: children drawn with replacement, their frames pooled. The ``ASD-TD`` rows
    hold the difference of shares and its stratified cluster-bootstrap interval.

    Parameters
    ----------
    con : DuckDB connection to the index.
    aus : AU columns (default the 22 of the published models; ``HRM_AU_COLUMNS`` for 36).
    n_boot, seed, confidence : bootstrap replicates, its seed, and the interval level.
    patterns : the counts of :func:`au_patterns` for ``aus``, to reuse one scan.

    Returns
    -------
    DataFrame
        Columns ``au, group, children, frames, active, share, wilson_low, wilson_high,
        boot_low, boot_high``; rows AU by AU, groups in the order ASD, TD, all, ASD-TD.
    """
    aus = _check_aus(aus)
    counts = _patterns_for(con, aus, None, patterns).child_counts()
    return prevalence_of(counts, aus, n_boot, seed, confidence)


def child_prevalence(con: duckdb.DuckDBPyConnection, child: str, aus: Sequence[str] = HRM_AU22,
                     confidence: float = 0.95, patterns: AUPatterns | None = None
                     ) -> pd.DataFrame:
    """One child's share of frames per AU with its Wilson interval (frames of one child)."""
    aus = _check_aus(aus)
    p = _patterns_for(con, aus, child, patterns)
    return child_prevalence_of(p, aus, confidence)


# --- co-occurrence, segments, atypicality -------------------------------------------------
def cooccurrence(con: duckdb.DuckDBPyConnection, child: str | None = None,
                 aus: Sequence[str] = HRM_AU22,
                 patterns: AUPatterns | None = None) -> dict[str, Any]:
    """AU co-occurrence over all frames or one child's.

    Returns
    -------
    dict
        ``frames``; ``counts`` (DataFrame AUs x AUs: frames both active, diagonal each AU's
        active frames); ``conditional`` (DataFrame: row A, column B holds P(B | A)).
    """
    aus = _check_aus(aus)
    return cooccurrence_of(_patterns_for(con, aus, child, patterns), aus)


def segment_summary(con: duckdb.DuckDBPyConnection, child: str,
                    aus: Sequence[str] = HRM_AU22) -> pd.DataFrame:
    """Per segment of ``child``: ``segment, start_frame, end_frame, n_frames,
    mean_atypicality`` (NaN when unrated), then each AU's share of the segment's frames."""
    _check_child(con, child)
    aus = _check_aus(aus)
    shares = ", ".join(f"avg(({_q(a)} <> 0)::DOUBLE) AS {_q(a)}" for a in aus)
    return con.execute(
        f"SELECT segment, min(frame) AS start_frame, max(frame) AS end_frame, "
        f"count(*) AS n_frames, sum({LEVELS})::DOUBLE / ({len(HRM_RATERS)} * count({LEVELS})) "
        f"AS mean_atypicality, {shares} "
        "FROM hrm_frames WHERE child = ? GROUP BY segment ORDER BY segment", [child]).df()


def au_vs_atypicality(con: duckdb.DuckDBPyConnection, aus: Sequence[str] = HRM_AU22,
                      child: str | None = None, group: str | None = None,
                      patterns: AUPatterns | None = None) -> pd.DataFrame:
    """Per AU: mean atypicality of rated frames where it is active vs inactive, and the
    point-biserial correlation (Pearson's r of the 0/1 activity with the raters' mean).

    No p-values: frames are not independent, any frame-level test would be overconfident.
    ``child`` or ``group`` ("ASD"/"TD") restrict the frames (group differences in both
    atypicality and AU use would otherwise dominate the pooled correlation).
    """
    aus = _check_aus(aus)
    return au_vs_atypicality_of(_patterns_for(con, aus, child, patterns), aus, group)


# --- raters -------------------------------------------------------------------------------
def rater_matrix(con: duckdb.DuckDBPyConnection, child: str | None = None) -> np.ndarray:
    """Rated frames x 5 raters (levels 0..4), frames where all five rated."""
    _require_hrm(con)
    where, params = _scope(child)
    cond = " AND ".join(f"{_q(r)} IS NOT NULL" for r in HRM_RATERS)
    where = f"{where} AND {cond}" if where else f"WHERE {cond}"
    got = con.execute(f"SELECT {', '.join(_q(r) for r in HRM_RATERS)} FROM hrm_frames "
                      f"{where}", params).fetchnumpy()
    return np.column_stack([np.asarray(got[r], float) for r in HRM_RATERS]) if len(
        got[HRM_RATERS[0]]) else np.empty((0, len(HRM_RATERS)))


def rater_agreement(con: duckdb.DuckDBPyConnection, child: str | None = None) -> dict[str, Any]:
    """Agreement of the five atypicality raters over all rated frames (or one child's).

    Returns
    -------
    dict
        ``frames``; ``icc``: ICC(2,1) (one rater) and ICC(2,k) (mean of five) of Shrout &
        Fleiss (1979), each ``value, ci_low, ci_high``; ``krippendorff_alpha_ordinal``;
        ``raters``: per rater ``mean``, ``sd`` (ddof 1) and ``r_with_others`` (Pearson r with the
        mean of the other four). The F intervals of the ICC treat frames as independent
        targets, so they are too narrow for correlated video frames.
    """
    if child is not None:
        _check_child(con, child)
    return rater_figures(rater_matrix(con, child))


# --- OpenFace beside the coders -----------------------------------------------------------
def openface_children(con: duckdb.DuckDBPyConnection) -> list[str]:
    """HRM children that also have an imported OpenFace CSV (source = child id)."""
    if not (table_exists(con, "openface_sources") and table_exists(con, "hrm_children")):
        return []
    return [r[0] for r in con.execute(
        "SELECT source FROM openface_sources WHERE source IN (SELECT child FROM hrm_children) "
        "ORDER BY source").fetchall()]


def openface_agreement(con: duckdb.DuckDBPyConnection, child: str) -> dict[str, Any]:
    """Per mapped AU, OpenFace's presence (``_c``) against the coders' labels of ``child``.

    Alignment: OpenFace numbers video frames from 1, HRM from 0, so HRM frame ``f`` meets
    OpenFace ``frame = f + 1`` (``OPENFACE_FRAME_OFFSET``). Only frames OpenFace tracked
    (``success = 1``) count; when several faces share a frame, the most confident one is
    used. AU names map through ``vocab.OPENFACE_TO_HRM`` (AU26 -> AU2X, see the notes).

    Returns
    -------
    dict
        ``child``, ``labelled_frames``, ``with_openface_row``, ``aligned`` (success 1),
        ``failed`` (labelled frames OpenFace did not track), ``macro_f1`` (mean F1 over the
        AUs whose F1 is defined) and ``aus``: a DataFrame with
        ``openface_au, hrm_au, frames, prevalence_human, prevalence_openface, precision,
        recall, f1, kappa, note``.
    """
    _check_child(con, child)
    if child not in openface_children(con):
        raise FaceExplorerError(f"no OpenFace CSV imported for child {child!r} (import "
                                f"{child}.csv with: faceexplorer index add openface PATH)")
    pairs = list(OPENFACE_TO_HRM.items())
    counts = []
    for i, (of, hrm) in enumerate(pairs):
        c, h = f"o.{_q(of + '_c')}", f"h.{_q(hrm)}"
        ok = f"o.success = 1 AND {c} IS NOT NULL"
        counts += [f"count_if({ok} AND {h} <> 0 AND {c} <> 0) AS tp{i}",
                   f"count_if({ok} AND {h} = 0 AND {c} <> 0) AS fp{i}",
                   f"count_if({ok} AND {h} <> 0 AND {c} = 0) AS fn{i}",
                   f"count_if({ok} AND {h} = 0 AND {c} = 0) AS tn{i}"]
    cols = ", ".join(_q(of + "_c") for of, _ in pairs)
    row = con.execute(f"""
        WITH o AS (
            SELECT frame, success, {cols} FROM openface_frames WHERE source = ?
            QUALIFY row_number() OVER (PARTITION BY frame ORDER BY success DESC,
                                       confidence DESC NULLS LAST, face_id) = 1)
        SELECT count(*), count(o.frame), count_if(o.success = 1), count_if(o.success <> 1),
               {', '.join(counts)}
        FROM hrm_frames h LEFT JOIN o ON o.frame = h.frame + {OPENFACE_FRAME_OFFSET}
        WHERE h.child = ?""", [child, child]).fetchone()
    assert row is not None
    conf = np.asarray(row[4:], dtype=float).reshape(len(pairs), 4)
    m = au_metrics.binary_agreement(*conf.T)
    table = pd.DataFrame({
        "openface_au": [of for of, _ in pairs], "hrm_au": [h for _, h in pairs],
        "frames": m.n, "prevalence_human": m.prevalence_reference,
        "prevalence_openface": m.prevalence_prediction, "precision": m.precision,
        "recall": m.recall, "f1": m.f1, "kappa": m.kappa,
        "note": [OPENFACE_NOTES.get(of, "") if n else "no _c column in the OpenFace file"
                 for (of, _), n in zip(pairs, m.n, strict=True)]})
    f1 = table["f1"].dropna()
    return {"child": child, "labelled_frames": int(row[0]), "with_openface_row": int(row[1]),
            "aligned": int(row[2]), "failed": int(row[3]),
            "macro_f1": float(f1.mean()) if len(f1) else float("nan"), "aus": table}
