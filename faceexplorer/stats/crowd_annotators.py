"""Each C25 annotator against the crowd: the valence/arousal ranking and the low-agreement flag.

Pure pandas/numpy on vote matrices (images x annotators, as
:func:`faceexplorer.reports.crowd_report.vote_matrix` reads them). The expression ranking is
:func:`faceexplorer.stats.agreement.annotator_agreement`; valence and arousal get the same
leave-one-out idea here with the authors' 0.25 tolerance. One robust rule flags low-agreement
annotators, so the window and the terminal highlight the same people.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from faceexplorer.stats import crowd

#: An annotator is flagged when their leave-one-out agreement lies more than this many
#: robust standard deviations (1.4826 x MAD) below the median of their set.
LOW_AGREEMENT_ROBUST_SD = 2.5



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
    grid = np.unique(v[voted])
    if 0 < grid.size <= 64:
        # Few distinct values (C25 uses 9): each value's votes per image counted once;
        # the others' counts are those less the annotator's own vote. argmax over the
        # sorted grid takes the first of equal counts: va_majority's smallest-value rule,
        # so the same modes as va_majority of the matrix without the annotator.
        hits = v[:, :, None] == grid
        counts = hits.sum(axis=1)
    for j in range(v.shape[1]):
        if not voted[:, j].any():
            continue
        if 0 < grid.size <= 64:
            rest = counts - hits[:, j, :]
            others = np.where(rest.max(axis=1) > 0, grid[rest.argmax(axis=1)], np.nan)
        else:
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
