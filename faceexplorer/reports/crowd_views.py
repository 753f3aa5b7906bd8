"""What the set statistics view shows that ``crowd_report`` does not return (yet).

``crowd_report`` gives every set-level figure except two: each annotator's Dawid-Skene
confusion matrix (it keeps only their accuracy) and an annotator ranking for valence and
arousal. :func:`set_view` bundles the report of one set with those, computed here from
the stats modules' public functions, so the GUI only formats numbers. The annotator
tables and the low-agreement flag are :mod:`faceexplorer.stats.crowd_annotators`' (pure);
this module only reads the vote matrices and bundles.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.reports.crowd_report import (
    TASKS,
    crowd_report,
    fitted_dawid_skene,
    set_votes,
)
from faceexplorer.stats.crowd_annotators import flag_low_agreement, va_annotator_agreement


@dataclass(frozen=True)
class CrowdSetView:
    """One C25 set's statistics, ready to display.

    Attributes
    ----------
    report
        ``crowd_report(con, set)["sets"][str(set)]``: per task, JSON-ready figures.
    annotators
        Task -> ranking table, best first, with a ``low_agreement`` column.
    ds_confusions
        Annotator -> Dawid-Skene confusion matrix (8 x 8, rows = estimated true class,
        columns = the annotator's vote, canonical order, rows sum to 1).
    seconds
        Wall time the computation took.
    """

    c25_set: int
    report: dict
    annotators: dict[str, pd.DataFrame]
    ds_confusions: dict[str, np.ndarray]
    seconds: float


def set_view(con: duckdb.DuckDBPyConnection, c25_set: int) -> CrowdSetView:
    """Compute everything the set statistics view shows for one C25 set.

    Parameters
    ----------
    con
        A connection (or a cursor of one, when called off the GUI thread) to the index.
    c25_set
        The set number (1 or 2 in the real data).

    Returns
    -------
    CrowdSetView
        The report of the set with the annotator tables and Dawid-Skene confusions.
    """
    start = time.perf_counter()
    votes = set_votes(con, c25_set)   # read once for the report and the tables
    report = crowd_report(con, c25_set, votes)["sets"][str(c25_set)]
    expr = votes["expression"]
    # The report fits Dawid-Skene too but returns only each annotator's accuracy: the
    # same fit (fitted once per vote matrix) gives the confusions.
    ds = fitted_dawid_skene(expr.to_numpy())
    confusions = {str(a): ds.confusions[j] for j, a in enumerate(expr.columns)}
    tables = {"expression": pd.DataFrame(report["expression"]["annotators"])}
    for task in TASKS[1:]:
        tables[task] = va_annotator_agreement(votes[task])
    for table in tables.values():
        table["low_agreement"] = flag_low_agreement(table["loo_agreement"])
    return CrowdSetView(c25_set=c25_set, report=report, annotators=tables,
                        ds_confusions=confusions, seconds=time.perf_counter() - start)
