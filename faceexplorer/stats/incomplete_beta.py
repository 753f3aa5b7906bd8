"""The regularised incomplete beta function I_x(a, b): one implementation for every test here.

Student's t (:func:`faceexplorer.stats.correlation.t_sf`, the correlation p-values) and the
F distribution (:mod:`faceexplorer.stats.agreement`, the ICC intervals and p-values) both
reduce to I_x(a, b), so neither needs scipy. It is evaluated by its continued fraction
with the modified Lentz method, on the side of the symmetry I_x(a, b) = 1 - I_{1-x}(b, a)
where the fraction converges fast (x < (a + 1) / (a + b + 2)).

The recurrence (:func:`_terms`, :func:`_lentz_step`) is written once and driven two ways:
over arrays, where converged entries drop out of the loop (thousands of correlation
p-values at once), and over Python floats, for the F quantile's Newton search, which asks
single values one after another and would pay numpy's per-call overhead (~80x) on each.
Callers that can form ``1 - x`` and the logarithms without cancellation (Student's t from
t^2 and the degrees of freedom) pass them in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, overload

import numpy as np

#: Lentz's stopping rule, its guard against division by zero, and the iteration cap.
EPS = 1e-16
TINY = 1e-300
MAX_ITER = 20_000


def _clamp_float(v: float) -> float:
    return TINY if abs(v) < TINY else v


def _clamp_array(v: np.ndarray) -> np.ndarray:
    return np.where(np.abs(v) < TINY, TINY, v)


def _terms(m: int, a: Any, b: Any, x: Any) -> tuple[Any, Any]:
    """The two partial numerators of step ``m`` of the continued fraction of I_x(a, b)."""
    m2 = 2.0 * m
    return (m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2)))


def _lentz_step(coef: Any, c: Any, d: Any, h: Any,
                clamp: Callable[[Any], Any]) -> tuple[Any, Any, Any, Any]:
    """One modified-Lentz update: new ``c``, ``d``, the product ``h`` and its factor."""
    d = 1.0 / clamp(1.0 + coef * d)
    c = clamp(1.0 + coef / c)
    delta = d * c
    return c, d, h * delta, delta


def _fraction_float(a: float, b: float, x: float) -> float:
    c, d = 1.0, 1.0 / _clamp_float(1.0 - (a + b) * x / (a + 1.0))
    h = d
    for m in range(1, MAX_ITER + 1):
        for coef in _terms(m, a, b, x):
            c, d, h, delta = _lentz_step(coef, c, d, h, _clamp_float)
        if abs(delta - 1.0) <= EPS:
            break
    return h


def _fraction_array(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    c = np.ones_like(x)
    d = 1.0 / _clamp_array(1.0 - (a + b) * x / (a + 1.0))
    h = d.copy()
    active = np.ones(x.shape, dtype=bool)
    for m in range(1, MAX_ITER + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        cc, dd, hh = c[idx], d[idx], h[idx]
        for coef in _terms(m, a[idx], b[idx], x[idx]):
            cc, dd, hh, delta = _lentz_step(coef, cc, dd, hh, _clamp_array)
        c[idx], d[idx], h[idx] = cc, dd, hh
        active[idx] = np.abs(delta - 1.0) > EPS
    return h


def _lbeta_array(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Few distinct parameter pairs occur (degrees of freedom), so lgamma runs once per pair.
    pairs, inverse = np.unique(np.c_[a, b], axis=0, return_inverse=True)
    lb = np.array([math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q) for p, q in pairs])
    return lb[inverse.ravel()]


@overload
def regularized_beta(x: float, a: float, b: float, one_minus_x: float | None = None,
                     log_x: float | None = None, log_1mx: float | None = None) -> float: ...
@overload
def regularized_beta(x: np.ndarray, a: np.ndarray | float, b: np.ndarray | float,
                     one_minus_x: np.ndarray | None = None, log_x: np.ndarray | None = None,
                     log_1mx: np.ndarray | None = None) -> np.ndarray: ...
def regularized_beta(x, a, b, one_minus_x=None, log_x=None, log_1mx=None):  # noqa: E302
    """The regularised incomplete beta function I_x(a, b) (scalars, or arrays broadcast).

    Parameters
    ----------
    x : in [0, 1]; 0 and below give 0, 1 and above give 1.
    a, b : positive shape parameters. NaN anywhere, or a or b not positive, gives NaN.
    one_minus_x, log_x, log_1mx : optional ``1 - x``, ``log x`` and ``log(1 - x)`` formed
        by the caller without cancellation; by default from ``x``.
    """
    if np.ndim(x) == 0 and np.ndim(a) == 0 and np.ndim(b) == 0:
        return _regularized_float(float(x), float(a), float(b), one_minus_x, log_x, log_1mx)
    return _regularized_array(x, a, b, one_minus_x, log_x, log_1mx)


def _regularized_float(x: float, a: float, b: float, one_minus_x: float | None,
                       log_x: float | None, log_1mx: float | None) -> float:
    if math.isnan(x) or not (a > 0.0 and b > 0.0):   # NaN in, NaN out (no fraction run)
        return math.nan
    rest = 1.0 - x if one_minus_x is None else float(one_minus_x)
    if x <= 0.0:
        return 0.0
    if rest <= 0.0:
        return 1.0
    lx = math.log(x) if log_x is None else float(log_x)
    lr = (math.log1p(-x) if one_minus_x is None else math.log(rest)) if log_1mx is None \
        else float(log_1mx)
    lbeta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    front = math.exp(a * lx + b * lr - lbeta)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _fraction_float(a, b, x) / a
    return 1.0 - front * _fraction_float(b, a, rest) / b


def _regularized_array(x: Any, a: Any, b: Any, one_minus_x: Any, log_x: Any,
                       log_1mx: Any) -> np.ndarray:
    x, a, b = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(x, a, b))
    rest = 1.0 - x if one_minus_x is None else np.broadcast_to(
        np.asarray(one_minus_x, dtype=np.float64), x.shape)
    out = np.full(x.shape, np.nan)
    out[x <= 0.0] = 0.0
    out[(rest <= 0.0) & ~(x <= 0.0)] = 1.0
    out[np.isnan(x) | ~((a > 0.0) & (b > 0.0))] = np.nan
    ok = (x > 0.0) & (rest > 0.0) & (a > 0.0) & (b > 0.0) & np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return out
    xo, ro, ao, bo = x[ok], rest[ok], a[ok], b[ok]
    with np.errstate(divide="ignore"):
        lx = np.log(xo) if log_x is None else np.broadcast_to(log_x, x.shape)[ok]
        if log_1mx is not None:
            lr = np.broadcast_to(log_1mx, x.shape)[ok]
        else:
            lr = np.log1p(-xo) if one_minus_x is None else np.log(ro)
    front = np.exp(ao * lx + bo * lr - _lbeta_array(ao, bo))
    direct = xo < (ao + 1.0) / (ao + bo + 2.0)
    value = np.empty(xo.shape)
    if direct.any():
        i = direct
        value[i] = front[i] * _fraction_array(ao[i], bo[i], xo[i]) / ao[i]
    if (~direct).any():
        i = ~direct
        value[i] = 1.0 - front[i] * _fraction_array(bo[i], ao[i], ro[i]) / bo[i]
    out[ok] = value
    return out
