"""What the set statistics view shows that ``crowd_report`` does not return (yet).

``crowd_report`` gives every set-level figure except two: each annotator's Dawid-Skene
confusion matrix (it keeps only their accuracy) and an annotator ranking for valence and
arousal. :func:`set_view` bundles the report of one set with those, computed here from
the stats modules' public functions, so the GUI only formats numbers. It also flags
low-agreement annotators with one robust rule (see :func:`flag_low_agreement`), so the
GUI and the terminal highlight the same people.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.stats import crowd
from faceexplorer.stats.crowd_report import TASKS, crowd_report, vote_matrix
from faceexplorer.stats.dawid_skene import dawid_skene

#: An annotator is flagged when their leave-one-out agreement lies more than this many
#: robust standard deviations (1.4826 x MAD) below the median of their set.
LOW_AGREEMENT_ROBUST_SD = 2.5


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


def flag_low_agreement(scores: pd.Series,
                       robust_sd: float = LOW_AGREEMENT_ROBUST_SD) -> pd.Series:
    """Whether each annotator's agreement is an outlier below the others'.

    A robust rule (median and MAD, not mean and SD) so the outliers themselves do not
    widen the band that should catch them. Tukey's fence (Q1 - 1.5 IQR) catches no one
    among the 25 expression annotators of either real C25 set; at 2.5 robust SDs this
    rule catches each set's one clear outlier (0.37 against a median of 0.53 in set 1,
    2.6 robust SDs below; the next is 1.5 below). A screening flag, not a verdict.
    """
    s = pd.to_numeric(scores, errors="coerce")
    median = s.median()
    mad = (s - median).abs().median() * 1.4826
    if not np.isfinite(mad) or mad == 0:
        return pd.Series(False, index=s.index)
    return s < median - robust_sd * mad


def va_annotator_agreement(values: pd.DataFrame,
                           tolerance: float = crowd.VA_TOLERANCE) -> pd.DataFrame:
    """Each annotator's valence or arousal agreement with the crowd, ranked.

    Parameters
    ----------
    values : DataFrame (n_images, n_annotators)
        V/A votes as :func:`crowd_report.vote_matrix` returns them (NaN = no vote).
    tolerance
        A vote agrees with a majority within this distance (the authors' 0.25).

    Returns
    -------
    DataFrame
        ``rank``, ``annotator``, ``loo_agreement`` (share of votes within ``tolerance`` of
        the mode of the OTHER annotators' votes, the ranking key), ``majority_agreement``
        (same against all annotators' mode), ``mean_pearson_r`` with each other annotator
        (pairwise complete), ``n_votes``; best first.
    """
    v = values.to_numpy(dtype=float)
    majority = crowd.va_majority(v)
    voted = ~np.isnan(v)
    loo, with_all = np.full(v.shape[1], np.nan), np.full(v.shape[1], np.nan)
    for j in range(v.shape[1]):
        if not voted[:, j].any():
            continue
        others = crowd.va_majority(np.delete(v, j, axis=1))
        own = v[voted[:, j], j]
        loo[j] = np.mean(np.abs(own - others[voted[:, j]]) <= tolerance)
        with_all[j] = np.mean(np.abs(own - majority[voted[:, j]]) <= tolerance)
    r = values.corr(method="pearson").to_numpy(copy=True)
    np.fill_diagonal(r, np.nan)
    with warnings.catch_warnings():
        # An annotator with no pairable votes rightly gets NaN; no need to warn.
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_r = np.nanmean(r, axis=1)
    table = pd.DataFrame({
        "annotator": [str(c) for c in values.columns],
        "loo_agreement": loo, "majority_agreement": with_all,
        "mean_pearson_r": mean_r, "n_votes": voted.sum(axis=0).astype(int),
    }).sort_values(["loo_agreement", "mean_pearson_r"], ascending=False, kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


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
    report = crowd_report(con, c25_set)["sets"][str(c25_set)]
    expr = vote_matrix(con, c25_set, "expression")
    # The report runs Dawid-Skene too but returns only each annotator's accuracy; the
    # fit is deterministic, so this run gives the same model (one ~0.7 s fit per set).
    ds = dawid_skene(expr.to_numpy())
    confusions = {str(a): ds.confusions[j] for j, a in enumerate(expr.columns)}
    tables = {"expression": pd.DataFrame(report["expression"]["annotators"])}
    for task in TASKS[1:]:
        tables[task] = va_annotator_agreement(
            vote_matrix(con, c25_set, task).reindex(expr.index))
    for table in tables.values():
        table["low_agreement"] = flag_low_agreement(table["loo_agreement"])
    return CrowdSetView(c25_set=c25_set, report=report, annotators=tables,
                        ds_confusions=confusions, seconds=time.perf_counter() - start)
