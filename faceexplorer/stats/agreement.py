"""Set-level agreement between annotators: kappas, Krippendorff's alpha, ICC, rankings.

All functions take an items x raters matrix (images x annotators), NaN for a missing rating,
and use numpy only. Krippendorff's alpha is computed from the coincidence matrix of the
observed values (its value domain is the set of values that occur), the interval level in
closed form so continuous ratings cost O(n). The ICC follows Shrout & Fleiss (1979) on a
complete matrix; its confidence intervals need F quantiles, computed here without scipy
from the regularised incomplete beta function (:mod:`faceexplorer.stats.incomplete_beta`,
shared with the correlation p-values) by a bracketed Newton search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.stats.crowd import N_EXPRESSIONS, majority_label, vote_counts
from faceexplorer.stats.incomplete_beta import regularized_beta

LEVELS = ("nominal", "ordinal", "interval")


# --- kappas ---------------------------------------------------------------------------
def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa from an items x categories table of rating counts.

    Every item must have the same number of ratings (Fleiss 1971); use
    :func:`krippendorff_alpha` when ratings are missing.
    """
    counts = np.asarray(counts, dtype=float)
    n_raters = counts.sum(axis=1)
    if not np.all(n_raters == n_raters[0]) or n_raters[0] < 2:
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of ratings per item")
    m = n_raters[0]
    p_item = ((counts * counts).sum(axis=1) - m) / (m * (m - 1))
    p_cat = counts.sum(axis=0) / counts.sum()
    p_bar, p_e = p_item.mean(), (p_cat * p_cat).sum()
    return float((p_bar - p_e) / (1 - p_e))


def _one_hot(codes: np.ndarray, n_categories: int) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(codes, dtype=float)
    valid = ~np.isnan(c)
    hot = (c[..., None] == np.arange(n_categories)) & valid[..., None]
    return hot.astype(float), valid.astype(float)


def cohens_kappa(a: np.ndarray, b: np.ndarray, n_categories: int = N_EXPRESSIONS) -> float:
    """Cohen's kappa of two raters' codes 0..n_categories-1 (items both rated)."""
    return float(pairwise_cohens_kappa(np.column_stack([a, b]), n_categories)[0, 1])


def pairwise_cohens_kappa(codes: np.ndarray, n_categories: int = N_EXPRESSIONS) -> np.ndarray:
    """Raters x raters matrix of Cohen's kappa, each pair on the items both rated."""
    hot, valid = _one_hot(codes, n_categories)
    n, m, k = hot.shape
    flat = hot.reshape(n, m * k)
    both = valid.T @ valid
    # Whole-number counts, exact whatever the order, so equal to the einsums over items
    # they replace (~3x less CPU): items both raters coded alike, by comparing the codes
    # (a product of the one-hot matrices computed every pair of categories, 8x the work,
    # and BLAS threads spin on a busy machine), and each rater's marginals below.
    coded = np.where(hot.any(axis=2), np.asarray(codes, dtype=float), np.nan)
    alike = (coded[:, :, None] == coded[:, None, :]).sum(axis=0)   # NaN equals nothing
    with np.errstate(invalid="ignore", divide="ignore"):
        p_o = alike / both
        # Marginals of rater i on the items rater j also rated, and vice versa (C order:
        # the einsum below then sums in the order it always did).
        marg = np.ascontiguousarray((flat.T @ valid).reshape(m, k, m).transpose(0, 2, 1))
        marg /= both[:, :, None]
        p_e = np.einsum("ijk,jik->ij", marg, marg)
        return (p_o - p_e) / (1 - p_e)


# --- Krippendorff's alpha ---------------------------------------------------------------
def krippendorff_alpha(ratings: np.ndarray | pd.DataFrame, level: str = "nominal") -> float:
    """Krippendorff's alpha of an items x raters matrix (NaN = missing).

    Parameters
    ----------
    ratings : array (n_items, n_raters)
        Note the orientation: items in rows (the ``krippendorff`` package takes raters in rows).
    level : {"nominal", "ordinal", "interval"}
        Level of measurement; it picks the difference function.

    Returns
    -------
    float
        1 perfect agreement, 0 chance; items with fewer than two ratings are not pairable
        and are left out, as Krippendorff prescribes.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    r = np.asarray(ratings, dtype=float)
    m_u = (~np.isnan(r)).sum(axis=1)
    r = r[m_u >= 2]
    m_u = m_u[m_u >= 2]
    if r.size == 0:
        return float("nan")
    if level == "interval":
        return _interval_alpha(r, m_u)
    values, inverse = np.unique(r[~np.isnan(r)], return_inverse=True)
    per_item = np.zeros((r.shape[0], values.size))
    rows = np.nonzero(~np.isnan(r))[0]
    np.add.at(per_item, (rows, inverse), 1.0)
    # Coincidence matrix: o_ck = sum_u (n_uc n_uk - [c == k] n_uc) / (m_u - 1).
    weighted = per_item / (m_u - 1)[:, None]
    o = weighted.T @ per_item - np.diag(weighted.sum(axis=0))
    n_c = o.sum(axis=1)
    n = n_c.sum()
    delta = _difference(values, n_c, level)
    d_within = (o * delta).sum()
    d_chance = (np.outer(n_c, n_c) * delta).sum()
    if d_chance == 0:
        return float("nan")
    return float(1 - (n - 1) * d_within / d_chance)


def _interval_alpha(r: np.ndarray, m_u: np.ndarray) -> float:
    # sum over ordered pairs within an item of (v_i - v_j)^2 = 2 m_u SS_u, and over all
    # pairable values 2 n SS; the coincidence sums then reduce to these.
    ss_u = np.nansum((r - np.nanmean(r, axis=1, keepdims=True)) ** 2, axis=1)
    flat = r[~np.isnan(r)]
    n = flat.size
    ss = ((flat - flat.mean()) ** 2).sum()
    if ss == 0:
        return float("nan")
    return float(1 - (n - 1) * (m_u * ss_u / (m_u - 1)).sum() / (n * ss))


def _difference(values: np.ndarray, n_c: np.ndarray, level: str) -> np.ndarray:
    c, k = np.meshgrid(values, values, indexing="ij")
    if level == "nominal":
        return (c != k).astype(float)
    # ordinal: (sum of n_g from c to k, minus half of n_c and n_k) squared.
    cum = np.cumsum(n_c)
    i, j = np.meshgrid(np.arange(values.size), np.arange(values.size), indexing="ij")
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    between = cum[hi] - cum[lo] + n_c[lo]
    return (between - (n_c[i] + n_c[j]) / 2) ** 2


# --- ICC (Shrout & Fleiss 1979) --------------------------------------------------------
@dataclass(frozen=True)
class ICC:
    """One intraclass correlation with its F test and confidence interval."""

    form: str          # "ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"
    value: float
    ci_low: float
    ci_high: float
    f: float
    df1: float
    df2: float
    p_value: float


def icc(ratings: np.ndarray | pd.DataFrame, confidence: float = 0.95) -> dict[str, ICC]:
    """All six Shrout & Fleiss (1979) intraclass correlations of a targets x judges matrix.

    Parameters
    ----------
    ratings : array (n_targets, k_judges)
        Targets with a missing rating are left out (the ANOVA needs a complete matrix).
    confidence : float
        Level of the confidence intervals (F-distribution based; ICC(2,1) with the
        Satterthwaite-type degrees of freedom of Shrout & Fleiss, ICC(2,k) its
        Spearman-Brown step-up, as McGraw & Wong 1996 give).

    Returns
    -------
    dict
        Form name -> :class:`ICC`, keys ``"ICC(1,1)" ... "ICC(3,k)"``.
    """
    x = np.asarray(ratings, dtype=float)
    x = x[~np.isnan(x).any(axis=1)]
    n, k = x.shape
    if n < 2 or k < 2:
        raise ValueError(f"ICC needs >= 2 complete targets and >= 2 judges, got {n} x {k}")
    grand = x.mean()
    ss_total = ((x - grand) ** 2).sum()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    bms = ss_rows / (n - 1)
    wms = (ss_total - ss_rows) / (n * (k - 1))
    jms = ss_cols / (k - 1)
    ems = (ss_total - ss_rows - ss_cols) / ((n - 1) * (k - 1))
    q = 1 - (1 - confidence) / 2
    out: dict[str, ICC] = {}

    # One-way (case 1) and fixed judges (case 3): exact F intervals.
    for case, err, df2 in ((1, wms, n * (k - 1)), (3, ems, (n - 1) * (k - 1))):
        f0 = bms / err
        fl = f0 / f_quantile(q, n - 1, df2)
        fu = f0 * f_quantile(q, df2, n - 1)
        p = f_sf(f0, n - 1, df2)
        single = (bms - err) / (bms + (k - 1) * err)
        out[f"ICC({case},1)"] = ICC(f"ICC({case},1)", single, (fl - 1) / (fl + k - 1),
                                    (fu - 1) / (fu + k - 1), f0, n - 1, df2, p)
        out[f"ICC({case},k)"] = ICC(f"ICC({case},k)", (bms - err) / bms, 1 - 1 / fl,
                                    1 - 1 / fu, f0, n - 1, df2, p)

    # Random judges (case 2): approximate df v of Shrout & Fleiss (1979), eq. for ICC(2,1).
    rho = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
    fj = jms / ems
    v_num = (k - 1) * (n - 1) * (k * rho * fj + n * (1 + (k - 1) * rho) - k * rho) ** 2
    v_den = (n - 1) * k**2 * rho**2 * fj**2 + (n * (1 + (k - 1) * rho) - k * rho) ** 2
    v = v_num / v_den
    f_up, f_lo = f_quantile(q, n - 1, v), f_quantile(q, v, n - 1)
    scale = k * jms + (k * n - k - n) * ems
    low = n * (bms - f_up * ems) / (f_up * scale + n * bms)
    high = n * (f_lo * bms - ems) / (scale + n * f_lo * bms)
    f0 = bms / ems
    p = f_sf(f0, n - 1, (n - 1) * (k - 1))
    df2 = (n - 1) * (k - 1)
    out["ICC(2,1)"] = ICC("ICC(2,1)", rho, low, high, f0, n - 1, df2, p)
    out["ICC(2,k)"] = ICC("ICC(2,k)", (bms - ems) / (bms + (jms - ems) / n),
                          _step_up(low, k), _step_up(high, k), f0, n - 1, df2, p)
    order = ("ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)")
    return {form: out[form] for form in order}


def _step_up(r: float, k: int) -> float:
    """Spearman-Brown: reliability of the mean of k ratings."""
    return k * r / (1 + (k - 1) * r)


# --- F distribution without scipy (I_x(a, b) from stats.incomplete_beta) -----------------
def f_cdf(x: float, d1: float, d2: float) -> float:
    """Cumulative distribution function of the F(d1, d2) distribution."""
    if x <= 0:
        return 0.0
    return regularized_beta(d1 * x / (d1 * x + d2), d1 / 2, d2 / 2)


def f_sf(x: float, d1: float, d2: float) -> float:
    """Upper tail P(F > x), computed on the complementary beta to keep small p accurate."""
    if x <= 0:
        return 1.0
    return regularized_beta(d2 / (d2 + d1 * x), d2 / 2, d1 / 2)


def f_quantile(p: float, d1: float, d2: float) -> float:
    """The ``p`` quantile of F(d1, d2) (non-integer degrees of freedom allowed).

    Solves I_u(d1/2, d2/2) = p for u = d1 x / (d1 x + d2), which maps (0, inf) onto
    (0, 1) monotonically, by Newton's method on u (the derivative is the beta density)
    inside a bracket that every evaluation narrows; a step that leaves the bracket is
    replaced by bisection. It stops, as the bisection it replaces did, at the last bit:
    when a step no longer moves u or the bracket holds no double between its ends.
    Newton starts from Paulson's normal approximation (:func:`_paulson_start`), which
    the first steps only polish: ~5 evaluations of I_u at an ICC's degrees of freedom,
    where a start at u = 1/2 took ~21 and bisection ~55 (an ICC asks for 6 quantiles).
    """
    if not 0 < p < 1:
        raise ValueError(f"p must lie in (0, 1), got {p}")
    a, b = d1 / 2, d2 / 2
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    lo, hi, u = 0.0, 1.0, _paulson_start(p, d1, d2)
    for _ in range(200):
        gap = regularized_beta(u, a, b) - p
        if gap == 0:
            break
        if gap < 0:
            lo = u
        else:
            hi = u
        density = math.exp(min((a - 1) * math.log(u) + (b - 1) * math.log1p(-u) - log_beta,
                               700.0))
        step = u - gap / density if density > 0 else lo   # no slope: bisect
        if not lo < step < hi:
            step = (lo + hi) / 2
            if step in (lo, hi):
                break
        if step == u:
            break
        u = step
    return d2 * u / (d1 * (1 - u))


def _paulson_start(p: float, d1: float, d2: float) -> float:
    """u = d1 x / (d1 x + d2) at Paulson's (1942) approximate ``p`` quantile x of F(d1, d2),
    or 1/2 where it fails.

    Wilson-Hilferty makes a chi-square's cube root near normal, so with A = 2 / (9 d1),
    B = 2 / (9 d2) and y = x^(1/3), ((1 - B) y - (1 - A)) / sqrt(B y^2 + A) is near the
    standard normal quantile z of p: y is the root of that quadratic on z's side. Only
    a start: the Newton steps after it make the quantile exact.
    """
    z = NormalDist().inv_cdf(p)
    a, b = 2.0 / (9.0 * d1), 2.0 / (9.0 * d2)
    lead = (1.0 - b) ** 2 - z * z * b
    disc = (1.0 - a) ** 2 * b + (1.0 - b) ** 2 * a - z * z * a * b
    if lead <= 0 or disc < 0:
        return 0.5
    y = ((1.0 - a) * (1.0 - b) + z * math.sqrt(disc)) / lead
    if not y > 0:
        return 0.5
    x = y ** 3
    u = d1 * x / (d1 * x + d2)
    return u if 0.0 < u < 1.0 else 0.5


# --- annotators and the AffectNet label ------------------------------------------------
def annotator_agreement(codes: np.ndarray | pd.DataFrame,
                        annotators: list[str] | None = None) -> pd.DataFrame:
    """Each annotator's agreement with the crowd, ranked.

    Parameters
    ----------
    codes : array (n_images, n_annotators)
        Canonical expression codes, NaN for a missing vote.
    annotators : list of str, optional
        Annotator ids (default: the column names of a DataFrame, else ``0..m-1``).

    Returns
    -------
    DataFrame
        One row per annotator, best first: ``rank``; ``loo_agreement``, the share of their
        votes equal to the majority of the OTHER annotators (leave-one-out, the ranking key:
        it does not reward an annotator for agreeing with their own vote);
        ``majority_agreement``, the share equal to the all-annotator majority;
        ``mean_cohens_kappa`` with each other annotator; ``n_votes``.
    """
    if annotators is None:
        annotators = ([str(c) for c in codes.columns] if isinstance(codes, pd.DataFrame)
                      else [str(j) for j in range(np.shape(codes)[1])])
    c = np.asarray(codes, dtype=float)
    hot, valid = _one_hot(c, N_EXPRESSIONS)
    counts = vote_counts(c)
    majority = majority_label(counts)
    n_votes = valid.sum(axis=0)
    loo, with_all = np.zeros(c.shape[1]), np.zeros(c.shape[1])
    for j in range(c.shape[1]):
        others = majority_label(counts - hot[:, j, :].astype(int))
        voted = valid[:, j] > 0
        loo[j] = np.mean(c[voted, j] == others[voted]) if voted.any() else np.nan
        with_all[j] = np.mean(c[voted, j] == majority[voted]) if voted.any() else np.nan
    kappa = pairwise_cohens_kappa(c)
    np.fill_diagonal(kappa, np.nan)
    table = pd.DataFrame({
        "annotator": annotators,
        "loo_agreement": loo,
        "majority_agreement": with_all,
        "mean_cohens_kappa": np.nanmean(kappa, axis=1),
        "n_votes": n_votes.astype(int),
    }).sort_values(["loo_agreement", "mean_cohens_kappa"], ascending=False, kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def majority_confusion(majority: np.ndarray, reference: pd.Series | np.ndarray) -> pd.DataFrame:
    """Confusion table of the crowd majority against a reference label (e.g. AffectNet's).

    Parameters
    ----------
    majority : array of int
        Crowd majority per image, canonical codes (-1 = none).
    reference : array of str
        Reference label per image, canonical names; images whose reference is missing or
        not one of the eight expressions are left out.

    Returns
    -------
    DataFrame (8 x 8)
        Rows: reference label, columns: crowd majority, both in canonical order.
    """
    ref = pd.Series(np.asarray(reference, dtype=object)).map(
        {e: k for k, e in enumerate(EXPRESSIONS)})
    maj = np.asarray(majority)
    keep = ref.notna().to_numpy() & (maj >= 0)
    table = np.zeros((N_EXPRESSIONS, N_EXPRESSIONS), dtype=int)
    np.add.at(table, (ref.to_numpy()[keep].astype(int), maj[keep]), 1)
    return pd.DataFrame(table, index=pd.Index(EXPRESSIONS, name="reference"),
                        columns=pd.Index(EXPRESSIONS, name="crowd_majority"))


def agreement_histogram(scores: np.ndarray, n_annotators: int) -> pd.Series:
    """How many images have each agreement score 0..n_annotators."""
    s = np.asarray(scores, dtype=int)
    return pd.Series(np.bincount(s, minlength=n_annotators + 1),
                     index=pd.RangeIndex(n_annotators + 1, name="agreement"), name="images")
