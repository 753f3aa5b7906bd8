"""Model against humans: confusion, accuracy, macro F1, distribution distances, CCC, AU F1.

Pure numpy. Expression labels are canonical codes 0..7 (``vocab.EXPRESSIONS`` order);
negative codes mean "no label" and are dropped. Distributions are rows that sum to 1.

- Jensen-Shannon divergence in bits (base 2), so it lies in [0, 1]; it equals the square
  of SciPy's ``jensenshannon(p, q, base=2)`` distance.
- Soft-label log loss: ``-sum_k q_k log p_k`` (natural log) with the crowd's vote shares
  ``q`` and the model's ``p`` clipped to ``[eps, 1]`` and renormalised (``eps = 1e-7``), so
  a class the model rules out with a hard 0 costs ``-log eps`` ~ 16 nats, not infinity.
- Lin's concordance correlation coefficient (Lin 1989) with population (1/n) moments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.stats.au_metrics import BinaryAgreement, agreement_of_labels

N_CLASSES = len(EXPRESSIONS)
LOG_LOSS_EPS = 1e-7


def confusion_matrix(truth: ArrayLike, predicted: ArrayLike, n_classes: int = N_CLASSES
                     ) -> np.ndarray:
    """Counts with true classes on rows and predicted on columns (canonical order).

    Pairs where either code is negative (no label, no prediction) are left out.
    """
    t = np.asarray(truth, dtype=np.int64).ravel()
    p = np.asarray(predicted, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"truth and predictions differ in length: {t.size} vs {p.size}")
    ok = (t >= 0) & (p >= 0)
    if ((t[ok] >= n_classes) | (p[ok] >= n_classes)).any():
        raise ValueError(f"class codes must be below {n_classes}")
    flat = np.bincount(t[ok] * n_classes + p[ok], minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def accuracy(confusion: ArrayLike) -> float:
    """Share of the diagonal; NaN for an empty matrix."""
    c = np.asarray(confusion, dtype=float)
    total = c.sum()
    return float(np.trace(c) / total) if total else float("nan")


def per_class_f1(confusion: ArrayLike) -> np.ndarray:
    """F1 of each class (NaN where the class is neither true nor predicted)."""
    c = np.asarray(confusion, dtype=float)
    tp = np.diag(c)
    denom = c.sum(axis=0) + c.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), np.nan)


def macro_f1(confusion: ArrayLike) -> float:
    """Mean F1 over the classes that occur (as truth or prediction)."""
    f1 = per_class_f1(confusion)
    return float(np.nanmean(f1)) if np.isfinite(f1).any() else float("nan")


def _rows(x: ArrayLike) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a[None, :] if a.ndim == 1 else a


def js_divergence(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    """Jensen-Shannon divergence (bits) between matching rows of ``p`` and ``q``.

    Each row is normalised to sum 1 first. Returns one value per row, in [0, 1].
    """
    p, q = _rows(p), _rows(q)
    if p.shape != q.shape:
        raise ValueError(f"distributions differ in shape: {p.shape} vs {q.shape}")
    p = p / p.sum(axis=1, keepdims=True)
    q = q / q.sum(axis=1, keepdims=True)
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> np.ndarray:
        # 0 log 0 = 0; m > 0 wherever a > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = np.where(a > 0, a * np.log2(np.where(a > 0, a, 1) / np.where(a > 0, m, 1)),
                             0.0)
        return terms.sum(axis=1)

    return np.clip(0.5 * kl(p) + 0.5 * kl(q), 0.0, 1.0)


def soft_log_loss(predicted: ArrayLike, soft_label: ArrayLike, eps: float = LOG_LOSS_EPS
                  ) -> np.ndarray:
    """Cross-entropy (nats) of the model's distribution against the crowd's vote shares.

    ``predicted`` is clipped to ``[eps, 1]`` and renormalised; one value per row.
    """
    p, q = _rows(predicted), _rows(soft_label)
    if p.shape != q.shape:
        raise ValueError(f"distributions differ in shape: {p.shape} vs {q.shape}")
    p = np.clip(p, eps, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    q = q / q.sum(axis=1, keepdims=True)
    return -(q * np.log(p)).sum(axis=1)


def ccc(x: ArrayLike, y: ArrayLike) -> float:
    """Lin's concordance correlation coefficient of two paired series (NaN pairs dropped).

    ``2 cov(x, y) / (var x + var y + (mean x - mean y)^2)`` with 1/n moments.
    """
    a, b = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size < 2:
        return float("nan")
    ma, mb = a.mean(), b.mean()
    cov = ((a - ma) * (b - mb)).mean()
    denom = a.var() + b.var() + (ma - mb) ** 2
    return float(2 * cov / denom) if denom > 0 else float("nan")


@dataclass(frozen=True)
class AUAgreement:
    """Per-AU agreement of a model's thresholded AUs with the HRM coders."""

    aus: tuple[str, ...]
    agreement: BinaryAgreement
    frames: int


def au_agreement(human: ArrayLike, probabilities: ArrayLike, aus: tuple[str, ...],
                 threshold: float = 0.5) -> AUAgreement:
    """F1 and Cohen's kappa per AU, model (probability >= threshold) vs coders.

    Frames where the model gave no value (NaN in any AU) or the coders have no label are
    left out, so both matrices cover the same frames.
    """
    h = np.asarray(human, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if h.shape != p.shape:
        raise ValueError(f"human and model AU matrices differ: {h.shape} vs {p.shape}")
    keep = np.isfinite(p).all(axis=1) & np.isfinite(h).all(axis=1)
    agreement = agreement_of_labels(h[keep] != 0, p[keep] >= threshold)
    return AUAgreement(tuple(aus), agreement, int(keep.sum()))
