"""Each AffectNetC25 set's statistics view, computed at import and stored in the index.

The Crowd statistics tab shows :func:`faceexplorer.reports.crowd_views.set_view` of a set:
~1.1 s of CPU per set (ICC intervals, vote matrices, Dawid-Skene, the AffectNet
comparison), which made the tab's first visit wait seconds. The figures depend only on
the C25 votes and the AffectNet labels, so they are computed once, in the transaction of
each AffectNet or AffectNetC25 import (the registry calls :func:`refresh`), and stored
as JSON text (exact: floats are written by ``repr``; no pickle, an index file may come
from someone else). :func:`stored_view` gives them back equal to a fresh ``set_view``
(the tests compare every figure) and the tab shows a set at once.

A stored view is used only when it was computed by the same statistics code: each row
carries a fingerprint of the modules that compute it (their source, or the package
version when the sources are not at hand), so a release that changes a statistic
computes it again instead of showing the old figure. Anything missing, stale or
unreadable means "not stored": the caller computes it as before.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.index.store import table_exists

TABLE = "c25_set_views"
#: Datasets whose import changes the views (the votes, and the AffectNet labels).
SOURCES = frozenset({"affectnet", "affectnet-c25"})
#: Raise when the stored layout changes.
LAYOUT = 1


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Which statistics code computed a view: the layout and the modules' sources."""
    import faceexplorer
    from faceexplorer.reports import crowd_report, crowd_views
    from faceexplorer.stats import (
        agreement,
        crowd,
        crowd_annotators,
        crowd_sets,
        dawid_skene,
        incomplete_beta,
    )

    digest = hashlib.sha1(f"layout {LAYOUT}".encode())
    for module in (agreement, crowd, crowd_annotators, crowd_report,
                   crowd_sets, crowd_views, dawid_skene, incomplete_beta):
        try:
            with open(module.__file__ or "", "rb") as fh:
                digest.update(fh.read())
        except OSError:   # a frozen app without sources: its version says it
            digest.update(str(getattr(faceexplorer, "__version__", "")).encode())
    return digest.hexdigest()


def refresh(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> int:
    """Compute and store every set's view after an import of ``kind`` (inside it).

    Returns the sets stored (0 and no table without C25 votes); -1 when ``kind`` does
    not change them.
    """
    if kind is not None and kind not in SOURCES:
        return -1
    from faceexplorer.reports.crowd_report import c25_sets
    from faceexplorer.reports.crowd_views import set_view

    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    sets = c25_sets(con) if table_exists(con, "c25_votes") else []
    if not sets:
        return 0
    con.execute(f"CREATE TABLE {TABLE} (c25_set INTEGER PRIMARY KEY, "
                "fingerprint VARCHAR NOT NULL, view VARCHAR NOT NULL)")
    for c25_set in sets:
        con.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?)",
                    [int(c25_set), fingerprint(), to_json(set_view(con, c25_set))])
    return len(sets)


def stored_view(con: duckdb.DuckDBPyConnection, c25_set: int):  # -> CrowdSetView | None
    """The stored view of ``c25_set`` if computed by this code, else None."""
    if not table_exists(con, TABLE):
        return None
    try:
        row = con.execute(f"SELECT view FROM {TABLE} WHERE c25_set = ? AND fingerprint = ?",
                          [int(c25_set), fingerprint()]).fetchone()
        return from_json(row[0]) if row else None
    except (duckdb.Error, ValueError, KeyError, TypeError):
        return None


def to_json(view) -> str:
    """``view`` (a :class:`CrowdSetView`) as JSON text that :func:`from_json` reads back."""
    frames = {task: {"columns": [str(c) for c in df.columns],
                     "dtypes": [str(t) for t in df.dtypes],
                     "index": df.index.tolist(),
                     "data": [df[c].tolist() for c in df.columns]}
              for task, df in view.annotators.items()}
    return json.dumps({"c25_set": int(view.c25_set), "report": view.report,
                       "annotators": frames,
                       "ds_confusions": {a: np.asarray(m).tolist()
                                         for a, m in view.ds_confusions.items()},
                       "seconds": float(view.seconds)})


def from_json(text: str):  # -> CrowdSetView
    """The view :func:`to_json` wrote."""
    from faceexplorer.reports.crowd_views import CrowdSetView

    d = json.loads(text)
    annotators = {}
    for task, f in d["annotators"].items():
        annotators[task] = pd.DataFrame(
            {c: pd.Series(values, dtype=dtype, index=f["index"])
             for c, dtype, values in zip(f["columns"], f["dtypes"], f["data"], strict=True)},
            index=f["index"])[f["columns"]]
    return CrowdSetView(
        c25_set=int(d["c25_set"]), report=d["report"], annotators=annotators,
        ds_confusions={a: np.asarray(m, dtype=float) for a, m in d["ds_confusions"].items()},
        seconds=float(d["seconds"]))
