"""FACES feature statistics on fetched arrays: one feature against DASS-21, and a ranking table.

Pure numpy/pandas on what :mod:`faceexplorer.reports.faces_stats` reads: the feature's
values, the subscale scores and the band codes of the same subjects (:func:`feature_view_of`),
or every feature's rho and pair count against one subscale (:func:`ranking_table`). The
correlation figures are :mod:`faceexplorer.stats.correlation`'s (Spearman's rho, t-based
p, Bonett-Wright interval, Benjamini-Hochberg q). No SQL here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import DASS_BANDS
from faceexplorer.stats import correlation as corr
from faceexplorer.stats.dass21 import SUBSCALES

RANKING_COLUMNS = ("feature", "base_column", "stat", "rho", "ci_low", "ci_high", "p", "q",
                   "n")


def check_subscale(name: str) -> str:
    """``name`` if it is a DASS-21 subscale; else a user-facing error listing them."""
    if name not in SUBSCALES:
        raise FaceExplorerError(f"unknown DASS-21 subscale {name!r} (one of "
                                f"{', '.join(SUBSCALES)})")
    return name


@dataclass(frozen=True)
class FeatureView:
    """One feature against DASS-21: what the feature explorer draws.

    ``values`` and every ``scores[subscale]`` / ``bands[subscale]`` are aligned on
    ``subject_ids`` (subjects with features, index order; NaN / None where absent).
    ``by_band`` holds the finite values per band, bands in severity order.
    ``correlation`` is Spearman's rho with p, 95% CI and n per subscale.
    """

    feature: str
    base_column: str
    stat: str
    subject_ids: np.ndarray
    values: np.ndarray
    scores: dict[str, np.ndarray]
    bands: dict[str, np.ndarray]
    by_band: dict[str, dict[str, np.ndarray]]
    correlation: dict[str, corr.SpearmanResult]

    def scatter(self, subscale: str) -> tuple[np.ndarray, np.ndarray]:
        """(score, value) of the subjects that have both: the scatter plot's points."""
        x, y = self.scores[check_subscale(subscale)], self.values
        ok = np.isfinite(x) & np.isfinite(y)
        return x[ok], y[ok]


def feature_view_of(feature: str, base_column: str, stat: str, subject_ids: np.ndarray,
                    values: np.ndarray, scores: dict[str, np.ndarray],
                    codes: dict[str, np.ndarray]) -> FeatureView:
    """One feature's values per DASS band and against every subscale.

    ``values`` and each ``scores[subscale]`` are float64 with NaN where missing,
    ``codes[subscale]`` the band's index in ``DASS_BANDS`` (-1: unscored), all aligned on
    ``subject_ids``.
    """
    labels = np.array([*DASS_BANDS, None], dtype=object)  # code -1: unscored
    bands = {s: labels[codes[s]] for s in SUBSCALES}
    finite = np.isfinite(values)
    by_band = {s: {b: values[finite & (codes[s] == i)] for i, b in enumerate(DASS_BANDS)}
               for s in SUBSCALES}
    rho, n = corr.spearman_matrix(values[None, :], np.column_stack(
        [scores[s] for s in SUBSCALES]))
    p = corr.spearman_p(rho[0], n[0])
    low, high = corr.spearman_ci(rho[0], n[0])
    result = {s: corr.SpearmanResult(float(rho[0, j]), float(p[j]), float(low[j]),
                                     float(high[j]), int(n[0, j]))
              for j, s in enumerate(SUBSCALES)}
    return FeatureView(feature, base_column, stat, subject_ids, values, scores, bands,
                       by_band, result)


def ranking_table(catalogue: pd.DataFrame, rho: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    """Every feature of ``catalogue`` (file order) with its rho and n against one subscale:
    :data:`RANKING_COLUMNS`, sorted by |rho| (undefined last, then file order)."""
    k = len(catalogue)
    p = corr.spearman_p(rho, n)
    low, high = corr.spearman_ci(rho, n)
    frame = pd.DataFrame({
        "feature": catalogue["name"], "base_column": catalogue["base_column"],
        "stat": catalogue["stat"], "rho": rho, "ci_low": low, "ci_high": high,
        "p": p, "q": corr.bh_adjust(p), "n": n})
    strength = np.where(np.isnan(rho), -1.0, np.abs(rho))
    order = np.lexsort((np.arange(k), -strength))
    return frame.iloc[order].reset_index(drop=True)
