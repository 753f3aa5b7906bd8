"""Binary Action Unit metrics: agreement of two labelings, prevalence, co-occurrence.

Pure numpy, shared by the HRM statistics (coders vs OpenFace) and model evaluation (model vs
coders). Everything is computed from *counts*, so callers may count in SQL and pass the
counts: :func:`confusion_counts` turns label matrices into (tp, fp, fn, tn) per AU, and
:func:`binary_agreement` turns those into precision, recall, F1 and Cohen's kappa.
Undefined ratios (no positives anywhere, a constant rater) are NaN, never silently 0 or 1.
Intervals: Wilson's score interval for one proportion (Newcombe 1998, method 3) and a
cluster (child-level) bootstrap for proportions pooled over correlated frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

ArrayLike = np.ndarray | list | tuple


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")


def _z(confidence: float) -> float:
    _check_confidence(confidence)
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


# --- agreement of two binary labelings ---------------------------------------------------
@dataclass(frozen=True)
class BinaryAgreement:
    """Per-AU agreement of a prediction with a reference; arrays of one value per AU."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    kappa: np.ndarray
    accuracy: np.ndarray
    prevalence_reference: np.ndarray
    prevalence_prediction: np.ndarray

    @property
    def n(self) -> np.ndarray:
        """Frames compared per AU."""
        return self.tp + self.fp + self.fn + self.tn


def confusion_counts(reference: ArrayLike, prediction: ArrayLike
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(tp, fp, fn, tn) per column of two (frames, AUs) label matrices (non-zero = active).

    Parameters
    ----------
    reference, prediction : array (n_frames,) or (n_frames, n_aus)
        Any numbers; non-zero means the AU is active (HRM's laterality codes 2..5 count as
        present). NaN is not allowed: drop unlabelled frames first.

    Returns
    -------
    tuple of int arrays
        One value per AU (scalars' arrays of shape () for 1-D input).
    """
    ref, pred = np.asarray(reference), np.asarray(prediction)
    if ref.shape != pred.shape:
        raise ValueError(f"reference and prediction differ in shape: {ref.shape} vs {pred.shape}")
    if np.isnan(ref.astype(float)).any() or np.isnan(pred.astype(float)).any():
        raise ValueError("labels contain NaN; drop frames without a label first")
    r, p = ref != 0, pred != 0
    tp = (r & p).sum(axis=0)
    fp = (~r & p).sum(axis=0)
    fn = (r & ~p).sum(axis=0)
    tn = (~r & ~p).sum(axis=0)
    return tp, fp, fn, tn


def binary_agreement(tp: ArrayLike, fp: ArrayLike, fn: ArrayLike, tn: ArrayLike
                     ) -> BinaryAgreement:
    """Precision, recall, F1, Cohen's kappa and accuracy from per-AU confusion counts.

    Parameters
    ----------
    tp, fp, fn, tn : arrays of counts, one per AU
        True/false positives/negatives of the prediction against the reference.

    Returns
    -------
    BinaryAgreement
        F1 = 2 tp / (2 tp + fp + fn), NaN when neither labeling has a positive. Cohen's
        kappa = (p_o - p_e) / (1 - p_e) with p_e from the two marginals, NaN when
        p_e = 1 (both labelings constant and equal: agreement is not measurable).
    """
    tp, fp, fn, tn = (np.asarray(x, dtype=float) for x in (tp, fp, fn, tn))
    n = tp + fp + fn + tn
    p_ref, p_pred = _ratio(tp + fn, n), _ratio(tp + fp, n)
    p_o = _ratio(tp + tn, n)
    p_e = p_ref * p_pred + (1 - p_ref) * (1 - p_pred)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = np.where(p_e < 1, (p_o - p_e) / np.where(p_e < 1, 1 - p_e, 1.0), np.nan)
    return BinaryAgreement(
        tp=tp.astype(np.int64), fp=fp.astype(np.int64), fn=fn.astype(np.int64),
        tn=tn.astype(np.int64), precision=_ratio(tp, tp + fp), recall=_ratio(tp, tp + fn),
        f1=_ratio(2 * tp, 2 * tp + fp + fn), kappa=kappa, accuracy=p_o,
        prevalence_reference=p_ref, prevalence_prediction=p_pred)


def agreement_of_labels(reference: ArrayLike, prediction: ArrayLike) -> BinaryAgreement:
    """:func:`binary_agreement` of two label matrices (see :func:`confusion_counts`)."""
    return binary_agreement(*confusion_counts(reference, prediction))


# --- prevalence -------------------------------------------------------------------------
def wilson_interval(active: ArrayLike, n: ArrayLike, confidence: float = 0.95
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the proportion ``active / n`` (vectorised).

    Parameters
    ----------
    active, n : arrays of counts
        Successes and trials; NaN bounds where ``n`` is 0.
    confidence : float
        Two-sided level (0.95 -> z = 1.96).

    Returns
    -------
    (low, high) : float arrays
        Never outside [0, 1], and sensible at 0 or n successes, where the Wald interval
        collapses (Wilson 1927; Newcombe 1998; Agresti & Coull 1998).
    """
    z = _z(confidence)
    k, m = np.asarray(active, dtype=float), np.asarray(n, dtype=float)
    p = _ratio(k, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (p + z * z / (2 * m)) / (1 + z * z / m)
        half = z / (1 + z * z / m) * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    # exact bounds at the edges: rounding must not leave 1e-17 above 0
    low = np.where(k == 0, 0.0, low)
    high = np.where(k == m, 1.0, high)
    return np.where(m > 0, low, np.nan), np.where(m > 0, high, np.nan)


def prevalence(labels: ArrayLike, confidence: float = 0.95
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(active frames, share, Wilson low, Wilson high) per column of a label matrix."""
    x = np.asarray(labels) != 0
    active = x.sum(axis=0)
    low, high = wilson_interval(active, x.shape[0], confidence)
    return active, _ratio(active, x.shape[0]), low, high


def cluster_bootstrap_interval(active: ArrayLike, n: ArrayLike, n_boot: int = 2000,
                               seed: int = 0, confidence: float = 0.95
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of a pooled proportion, resampling whole clusters.

    Frames of one child are not independent (an AU persists for seconds), so the Wilson
    interval over frames is far too narrow for a statement about children. Here each
    replicate draws the children with replacement and pools their frames:
    ``sum(active) / sum(n)`` over the drawn children.

    Parameters
    ----------
    active : array (n_clusters, n_aus) or (n_clusters,)
        Active frames of each AU in each cluster (child).
    n : array (n_clusters,)
        Frames of each cluster.
    n_boot, seed : int
        Replicates, and the seed that makes the interval reproducible.
    confidence : float
        Two-sided level.

    Returns
    -------
    (low, high) : float arrays, one per AU
        NaN when there are no clusters; a single cluster gives a zero-width interval.
    """
    _check_confidence(confidence)
    k = np.asarray(active, dtype=float)
    squeeze = k.ndim == 1
    k = k[:, None] if squeeze else k
    m = np.asarray(n, dtype=float)
    if k.shape[0] != m.shape[0]:
        raise ValueError(f"{k.shape[0]} clusters of active counts but {m.shape[0]} sizes")
    if k.shape[0] == 0:
        nan = np.full(k.shape[1], np.nan)
        return (nan[0], nan[0]) if squeeze else (nan, nan)
    share = _bootstrap_shares(k, m, n_boot, np.random.default_rng(seed))
    low, high = _percentiles(share, confidence)
    return (low[0], high[0]) if squeeze else (low, high)


def _bootstrap_shares(k: np.ndarray, m: np.ndarray, n_boot: int,
                      rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_aus) pooled shares, each over clusters drawn with replacement."""
    c = m.shape[0]
    draw = rng.integers(0, c, size=(n_boot, c))
    # How often each cluster is drawn in each replicate, then one small matrix product.
    times = np.bincount((draw + c * np.arange(n_boot)[:, None]).ravel(),
                        minlength=n_boot * c).reshape(n_boot, c).astype(float)
    # einsum, not BLAS: for these small products BLAS's thread start-up costs ~10x more
    return _ratio(np.einsum("bc,ca->ba", times, k), (times @ m)[:, None])


def _percentiles(values: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - confidence) / 2
    # nanquantile is ~50x slower; NaN only appears when drawn clusters have no frames
    quantile = np.nanquantile if np.isnan(values).any() else np.quantile
    low, high = quantile(values, [alpha, 1 - alpha], axis=0)
    return low, high


def cluster_bootstrap_difference(active_a: ArrayLike, n_a: ArrayLike, active_b: ArrayLike,
                                 n_b: ArrayLike, n_boot: int = 2000, seed: int = 0,
                                 confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap interval of ``share_a - share_b``, children resampled within each group.

    Same conventions as :func:`cluster_bootstrap_interval`; the groups are drawn
    independently (stratified bootstrap), as two independent samples of children.
    """
    _check_confidence(confidence)
    rng = np.random.default_rng(seed)
    shares = []
    for k, m in ((active_a, n_a), (active_b, n_b)):
        k2, m2 = np.asarray(k, dtype=float), np.asarray(m, dtype=float)
        k2 = k2[:, None] if k2.ndim == 1 else k2
        if m2.shape[0] == 0:
            nan = np.full(k2.shape[1], np.nan)
            return nan, nan
        shares.append(_bootstrap_shares(k2, m2, n_boot, rng))
    return _percentiles(shares[0] - shares[1], confidence)


# --- co-occurrence ----------------------------------------------------------------------
def cooccurrence_counts(labels: ArrayLike, weights: ArrayLike | None = None) -> np.ndarray:
    """AUs x AUs matrix: frames where both are active (diagonal: frames each is active).

    Parameters
    ----------
    labels : array (n_rows, n_aus)
        Non-zero = active. Rows may be distinct AU patterns, with ``weights`` their counts.
    weights : array (n_rows,), optional
        Frames each row stands for (default 1).
    """
    x = (np.asarray(labels) != 0).astype(np.int64)
    w = np.ones(x.shape[0], np.int64) if weights is None else np.asarray(weights, np.int64)
    # integer product: exact counts, and no BLAS thread start-up for a small matrix
    return (x * w[:, None]).T @ x


def conditional_cooccurrence(counts: ArrayLike) -> np.ndarray:
    """P(B active | A active) from co-occurrence counts: row A, column B.

    ``counts[a, b] / counts[a, a]``; NaN for an AU that is never active. Not symmetric:
    P(AU6 | AU12) may be low while P(AU12 | AU6) is near 1.
    """
    c = np.asarray(counts, dtype=float)
    return _ratio(c, np.diag(c)[:, None])
