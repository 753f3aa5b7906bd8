"""Per-image AffectNetC25 crowd statistics stored in the index (table ``c25_image_stats``).

The browser filters and sorts ~415k AffectNet rows by crowd statistics (agreement,
entropy, majority, ...), so these must be plain columns DuckDB can scan, not numbers
recomputed in Python per query. The figures are those of
:func:`faceexplorer.reports.crowd_report.set_image_stats` (the tests compare every column):
the same pure functions (``crowd.expression_stats``, ``crowd.va_stats``, ``dawid_skene``)
on the same vote matrices, one row per (set, image). Only the reading differs: each set's
votes come in one query and are laid into the three images x annotators matrices by
position (:func:`crowd_report.set_vote_matrices`), where ``set_image_stats`` pivots each task in
pandas (a query, a label map and a pivot per task: ~0.1 s of a C25 import).

The table depends only on the C25 votes, so it is rebuilt at the end of each C25 import;
the link to AffectNet (label, "majority differs") stays a query, right whichever dataset
was imported first.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.index.c25_query import c25_sets
from faceexplorer.reports.crowd_report import fitted_dawid_skene, set_vote_matrices
from faceexplorer.stats import crowd
from faceexplorer.stats.crowd import CANONICAL_TO_C25

TABLE = "c25_image_stats"
#: Soft-label column of each expression, canonical order.
SOFT_COLUMNS: tuple[str, ...] = tuple(f"p_{e}" for e in EXPRESSIONS)

_SCHEMA = f"""
CREATE OR REPLACE TABLE {TABLE} (
    c25_set         INTEGER NOT NULL,
    image_index     BIGINT NOT NULL,   -- AffectNet training.csv row ('train', image_index)
    filename        VARCHAR NOT NULL,
    n_votes         INTEGER NOT NULL,  -- expression votes
    majority        VARCHAR,           -- canonical label, the authors' tie rule
    majority_raw    TINYINT,           -- the same as a C25 code
    tie             BOOLEAN NOT NULL,  -- several expressions share the top count
    tied_labels     VARCHAR NOT NULL,  -- '|'-joined, C25 order, the winner first
    plurality_share DOUBLE,
    entropy         DOUBLE,            -- normalised: 0 unanimous, 1 uniform over 8
    agreement       INTEGER NOT NULL,  -- annotators equal to the majority
    {", ".join(f"{c} DOUBLE" for c in SOFT_COLUMNS)},
    valence_mean    DOUBLE,
    valence_sd      DOUBLE,
    valence_median  DOUBLE,
    valence_iqr     DOUBLE,
    valence_agreement INTEGER,         -- votes within 0.25 of the valence mode
    arousal_mean    DOUBLE,
    arousal_sd      DOUBLE,
    arousal_median  DOUBLE,
    arousal_iqr     DOUBLE,
    arousal_agreement INTEGER,
    ds_label        VARCHAR,           -- Dawid-Skene aggregated label
    ds_confidence   DOUBLE
)
"""


def materialize_image_stats(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build ``c25_image_stats`` from the C25 votes of every set in the index.

    Parameters
    ----------
    con
        A read-write connection (inside the C25 import transaction, or on its own).

    Returns
    -------
    int
        Rows written (images over all sets); 0 and no table when C25 is not imported.
    """
    sets = c25_sets(con)
    if not sets:
        con.execute(f"DROP TABLE IF EXISTS {TABLE}")
        return 0
    frames = [_stats_frame(con, s) for s in sets]
    stats = pd.concat(frames, ignore_index=True)
    con.execute(_SCHEMA)
    con.register("c25_image_stats_frame", stats)
    try:
        con.execute(f"INSERT INTO {TABLE} BY NAME SELECT * FROM c25_image_stats_frame")
    finally:
        con.unregister("c25_image_stats_frame")
    return len(stats)



def _stats_frame(con: duckdb.DuckDBPyConnection, c25_set: int) -> pd.DataFrame:
    """One set's statistics as ``set_image_stats`` computes them, renamed to the table's
    columns."""
    order, filenames, m, _ = set_vote_matrices(con, c25_set)
    s = crowd.expression_stats(m["expression"])
    ds = fitted_dawid_skene(m["expression"])   # the set report's fit, once
    majority = s["majority"].to_numpy()
    has = majority >= 0
    raw = np.where(has, CANONICAL_TO_C25[np.where(has, majority, 0)], -1)
    out = pd.DataFrame({
        "c25_set": np.full(len(order), c25_set, dtype=np.int64),
        "image_index": order,
        "filename": filenames,
        "n_votes": s["n_votes"].astype("int64"),
        "majority": s["majority_label"].astype(object),
        "majority_raw": pd.Series(raw, dtype="Int64").mask(~has),
        "tie": s["tie"].astype(bool),
        "tied_labels": s["tied_labels"].astype(object),
        "plurality_share": s["plurality_share"].astype(float),
        "entropy": s["entropy"].astype(float),
        "agreement": s["agreement"].astype("int64"),
    })
    for e, col in zip(EXPRESSIONS, SOFT_COLUMNS, strict=True):
        out[col] = s[f"soft_{e}"].astype(float)
    for task in ("valence", "arousal"):
        va = crowd.va_stats(m[task])
        out[f"{task}_mean"] = va["mean"].astype(float)
        out[f"{task}_sd"] = va["std"].astype(float)
        out[f"{task}_median"] = va["median"].astype(float)
        out[f"{task}_iqr"] = va["iqr"].astype(float)
        out[f"{task}_agreement"] = va["agreement"].astype("int64")
    out["ds_label"] = pd.Series([EXPRESSIONS[k] for k in ds.labels], dtype=object)
    out["ds_confidence"] = ds.posterior.max(axis=1)
    return out
