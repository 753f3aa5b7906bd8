"""Spearman rank correlation, its p-value and interval, and Benjamini-Hochberg q-values.

Pure numpy (scipy is a test dependency only). Spearman's rho is Pearson's r of the
average-tie ranks. :func:`spearman_matrix` correlates thousands of features with one or
more scores at once: blocks of feature rows are ranked by one sort of packed
(value, position) keys (see :func:`rank_rows`; ties averaged by a vectorised run-length
pass), and each block's rhos come from one product per score with its ranks. Average
ranks are multiples of 1/2, so in float64 the sums are exact and rho matches a textbook
computation to rounding.

Missing values (NaN, +-inf) are handled pairwise: a feature/score pair uses the subjects
where both are finite, and both are re-ranked on exactly those subjects (as
``scipy.stats.spearmanr(..., nan_policy='omit')`` does for one pair). Rows that are
complete share the fast path; incomplete rows are grouped by their missing-value pattern
and each pattern is ranked once, so a few thousand columns with the same gaps cost one pass.

p-values use the t approximation with n - 2 degrees of freedom (scipy's default): the
Student t survival function is evaluated through the regularised incomplete beta
function (:mod:`faceexplorer.stats.incomplete_beta`, shared with the F distribution). The
95% interval is Fisher's z with the Bonett & Wright (2000) standard error
sqrt((1 + rho^2 / 2) / (n - 3)): for Spearman's rho the plain 1/sqrt(n - 3) is too narrow
once |rho| is not small, and their correction keeps near-nominal coverage for |rho| up to
~0.9 with n >= 10.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from faceexplorer.stats.incomplete_beta import regularized_beta

#: Normal quantile of 0.975: the 95% interval's half-width in standard errors.
Z_975 = 1.959963984540054
#: Rows ranked per block: a few arrays of block x n x 8 bytes, reused, near the caches.
_BLOCK_ROWS = 64


@dataclass(frozen=True)
class SpearmanResult:
    """Spearman's rho of one pair, its two-sided p-value, 95% interval and pairs used."""

    rho: float
    p: float
    ci_low: float
    ci_high: float
    n: int


# --- ranks ----------------------------------------------------------------------------
_SIGN_BIT = np.uint64(1 << 63)


class _RankWorkspace:
    """Buffers reused block after block: fresh ~6 MB arrays per block cost page faults
    that, on a busy machine, took longer than the sorting itself."""

    def __init__(self, rows: int, n: int) -> None:
        self.out = np.empty((rows, n))
        self.key = np.empty((rows, n), dtype=np.uint64)
        self.ordered = np.empty((rows, n))
        self.new_run = np.ones((rows, n), dtype=bool)
        self.first = np.empty(rows * n, dtype=np.int64)
        self.length = np.empty(rows * n, dtype=np.int64)
        self.mean = np.empty(rows * n)
        self.ranks = np.empty((rows, n))
        self.offsets = (np.arange(rows, dtype=np.int64) * n)[:, None]
        self.index = np.arange(n, dtype=np.uint64)
        self.low = np.uint64((1 << max(int(n - 1).bit_length(), 1)) - 1)


def rank_rows(values: np.ndarray) -> np.ndarray:
    """Average-tie ranks (1..n) of every row of a 2-D array without NaN.

    Each value is mapped to an order-preserving unsigned key whose lowest bits are
    replaced by the value's column index, so one plain ``sort`` of the keys (several
    times faster than ``argsort``) yields the order. Ties are found on the true values
    in that order (so -0.0 ties with 0.0). Distinct values that share the kept key bits
    (closer than 2^-(52 - log2 n) relative, ~4e-12 for n ~ 10^4) could come out
    misordered; that is checked, and such a row is ranked again by a stable
    ``argsort``. Results are exact.

    Parameters
    ----------
    values : array (k, n), finite.

    Returns
    -------
    numpy.ndarray
        float64 ranks (k, n); tied values share the mean of the ranks they span.
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    out = np.empty(values.shape)
    for lo, ranks in rank_blocks(values):
        out[lo:lo + len(ranks)] = ranks
    return out


def rank_blocks(values: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """:func:`rank_rows` a block of rows at a time: (first row, ranks of the block).

    The yielded array is a buffer reused for the next block: use it before moving on.
    Lets callers reduce ranks as they come instead of holding all k x n of them.
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    k, n = values.shape
    if not (k and n):
        return
    work = _RankWorkspace(min(_BLOCK_ROWS, k), n)
    for lo in range(0, k, _BLOCK_ROWS):
        block = np.ascontiguousarray(values[lo:lo + _BLOCK_ROWS])
        out = work.out[:len(block)]
        _rank_block(block, out, work)
        yield lo, out


def _rank_block(x: np.ndarray, out: np.ndarray, w: _RankWorkspace) -> None:
    b, n = x.shape
    u = x.view(np.uint64)
    key = w.key[:b]
    # Order-preserving map of IEEE doubles: flip every bit of negatives, only the sign
    # bit of positives.
    np.right_shift(x.view(np.int64), 63, out=key.view(np.int64))  # 0 or all ones
    key |= _SIGN_BIT
    key ^= u
    key &= ~w.low
    key |= w.index
    key.sort(axis=1)
    key &= w.low
    flat = key.view(np.int64)       # the order, as flat indices into x
    flat += w.offsets[:b]
    ordered = w.ordered[:b]
    np.take(x.reshape(-1), flat, out=ordered)
    misordered = (ordered[:, 1:] < ordered[:, :-1]).any(axis=1)
    new_run = w.new_run[:b]
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=new_run[:, 1:])
    runs = int(np.count_nonzero(new_run))
    first, length, mean = w.first[:runs], w.length[:runs], w.mean[:runs]
    first[:] = np.flatnonzero(new_run)
    np.subtract(first[1:], first[:-1], out=length[:-1])
    length[-1] = b * n - first[-1]
    # Mean rank of a run starting at (flat) position f with t members: f + (t + 1) / 2.
    np.add(length, 1, out=mean)
    mean *= 0.5
    mean += first
    ranks = w.ranks[:b]
    ranks.reshape(-1)[:] = np.repeat(mean, length)
    ranks -= w.offsets[:b]
    np.put(out, flat, ranks)
    for r in np.flatnonzero(misordered):
        out[r] = _rank_stable(x[r])


def _rank_stable(row: np.ndarray) -> np.ndarray:
    order = np.argsort(row, kind="stable")
    ordered = row[order]
    new_run = np.ones(row.size, dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=new_run[1:])
    first = np.flatnonzero(new_run)
    length = np.diff(first, append=row.size)
    out = np.empty(row.size)
    out[order] = np.repeat(first + (length + 1) * 0.5, length)
    return out


def rankdata(values: np.ndarray) -> np.ndarray:
    """Average-tie ranks of a 1-D array; non-finite entries get NaN and are not ranked."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    ok = np.isfinite(values)
    out[ok] = rank_rows(values[ok][None, :])[0]
    return out


# --- Student t through the incomplete beta ----------------------------------------------
def t_sf(t: np.ndarray | float, df: np.ndarray | float) -> np.ndarray:
    """Survival function P(T > t) of Student's t with ``df`` degrees of freedom.

    For t >= 0, P(T > t) = I_x(df/2, 1/2) / 2 with x = df / (df + t^2); the regularised
    incomplete beta I comes from its continued fraction, on the side of the symmetry
    I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges fast. x and 1 - x are
    formed separately from t^2 and df so neither loses digits by cancellation.

    Parameters
    ----------
    t, df : broadcastable arrays; df > 0. NaN in either gives NaN.
    """
    t, df = np.broadcast_arrays(np.asarray(t, dtype=np.float64),
                                np.asarray(df, dtype=np.float64))
    out = np.full(t.shape, np.nan)
    ok = np.isfinite(df) & (df > 0) & ~np.isnan(t)
    inf = ok & np.isinf(t)
    out[inf] = np.where(t[inf] > 0, 0.0, 1.0)
    ok &= ~inf
    if ok.any():
        tt, nu = np.abs(t[ok]), df[ok]
        t2 = tt * tt
        a, b = nu / 2.0, np.full(nu.shape, 0.5)
        log_x = -np.log1p(t2 / nu)                      # x = nu / (nu + t^2)
        with np.errstate(divide="ignore"):
            log_1mx = np.log(t2) - np.log(nu + t2)      # 1 - x = t^2 / (nu + t^2)
        ibeta = regularized_beta(np.exp(log_x), a, b, one_minus_x=np.exp(log_1mx),
                                 log_x=log_x, log_1mx=log_1mx)
        half = 0.5 * ibeta
        out[ok] = np.where(t[ok] >= 0, half, 1.0 - half)
    return out


# --- correlation ----------------------------------------------------------------------
def spearman_p(rho: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Two-sided p-value of rho with n pairs: t = rho sqrt((n-2)/(1-rho^2)), n - 2 df."""
    rho, n = np.broadcast_arrays(np.asarray(rho, float), np.asarray(n, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = rho * np.sqrt((n - 2.0) / ((1.0 - rho) * (1.0 + rho)))
    t = np.where(np.abs(rho) >= 1.0, np.copysign(np.inf, rho), t)
    df = np.where(n > 2, n - 2.0, np.nan)
    return np.minimum(2.0 * t_sf(np.abs(t), df), 1.0)


def spearman_ci(rho: np.ndarray, n: np.ndarray,
                z_crit: float = Z_975) -> tuple[np.ndarray, np.ndarray]:
    """Interval for rho: Fisher z with the Bonett & Wright (2000) standard error.

    se = sqrt((1 + rho^2 / 2) / (n - 3)); the interval is tanh(atanh(rho) +- z_crit se).
    NaN when n <= 3 or rho is NaN; (+-1, +-1) when |rho| = 1.
    """
    rho, n = np.broadcast_arrays(np.asarray(rho, float), np.asarray(n, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt((1.0 + rho * rho / 2.0) / (n - 3.0))
        z = np.arctanh(np.clip(rho, -1.0, 1.0))
        low, high = np.tanh(z - z_crit * se), np.tanh(z + z_crit * se)
    bad = ~(n > 3)
    low[bad], high[bad] = np.nan, np.nan
    return low, high


def rho_ranked(ranks: np.ndarray, score_ranks: np.ndarray, scale: float = 1.0
               ) -> np.ndarray:
    """Pearson r of complete rank rows (k, n) with rank columns (n, s): (k, s).

    Average ties keep every rank sum at n(n+1)/2, so centring the scores alone centres
    the products, and sum((r - c)^2) = sum(r^2) - n c^2. Ranks are multiples of 1/2, so
    in float64 every one of these sums is exact for n up to ~10^5. ``ranks`` may come
    multiplied by ``scale`` (stored ranks are doubled): with a power of two every sum
    is scaled exactly, and rho comes out bit for bit the same.
    """
    n = ranks.shape[1]
    centre = (n + 1) / 2.0
    sc = np.ascontiguousarray((score_ranks - centre).T)
    # One matrix-vector product per score, not a matrix product with a few columns:
    # OpenBLAS runs the latter on threads that spin, ~10x the CPU on a shared machine.
    num = np.stack([ranks @ column for column in sc], axis=1) if len(sc) else np.empty(
        (len(ranks), 0))
    ss = np.einsum("ij,ij->i", ranks, ranks) - n * (scale * centre) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = num / np.sqrt(np.outer(ss, np.einsum("ij,ij->i", sc, sc)))
    # A constant row (or score) has no spread: rho is undefined (NaN), not 0.
    return np.clip(rho, -1.0, 1.0)


def spearman_matrix(features: np.ndarray, scores: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Spearman's rho of every feature row with every score column, pairwise complete.

    Parameters
    ----------
    features : array (k, n): k features (rows) observed on n subjects.
    scores : array (n,) or (n, s): one or s scores of the same n subjects.

    Returns
    -------
    rho, n_pairs : arrays (k, s) (or (k,) for a 1-D ``scores``): rho (NaN when a side
        is constant or fewer than 2 pairs remain) and the pairs each used.

    Notes
    -----
    Scores with the same missing subjects (usually all DASS subscales) share one ranking
    of the features. Within that, complete feature rows are ranked together; the others
    are grouped by their missing pattern and each group is ranked once on its subjects.
    """
    features = np.atleast_2d(np.asarray(features, dtype=np.float64))
    scores = np.asarray(scores, dtype=np.float64)
    flat = scores.ndim == 1
    scores = scores[:, None] if flat else scores
    if scores.shape[0] != features.shape[1]:
        raise ValueError(f"features have {features.shape[1]} subjects, scores "
                         f"{scores.shape[0]}")
    k, s = features.shape[0], scores.shape[1]
    rho, n_pairs = np.full((k, s), np.nan), np.zeros((k, s), dtype=np.int64)
    # A row sum is finite iff the row is (or overflowed: then the exact check below
    # finds the row complete after all); one pass, no k x n mask.
    with np.errstate(over="ignore", invalid="ignore"):
        maybe_gappy = np.flatnonzero(~np.isfinite(features.sum(axis=1)))
    for cols, score_ok in _score_groups(scores):
        every = bool(score_ok.all())
        x = features if every else features[:, score_ok]
        y = scores[np.ix_(score_ok, cols)]
        gappy = maybe_gappy
        if gappy.size:
            ok = np.isfinite(x[gappy])
            gappy, ok = gappy[~ok.all(axis=1)], ok[~ok.all(axis=1)]
        complete = np.setdiff1d(np.arange(k), gappy, assume_unique=True)
        _fill(rho, n_pairs, complete, cols, x if complete.size == k else x[complete], y)
        if gappy.size:
            patterns, inverse = np.unique(ok, axis=0, return_inverse=True)
            for p, mask in enumerate(patterns):
                rows = gappy[inverse.ravel() == p]
                _fill(rho, n_pairs, rows, cols, x[np.ix_(rows, mask)], y[mask])
    return (rho[:, 0], n_pairs[:, 0]) if flat else (rho, n_pairs)


def _score_groups(scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Score columns grouped by the subjects they have: [(columns, subjects kept)]."""
    groups: dict[bytes, tuple[list[int], np.ndarray]] = {}
    for j in range(scores.shape[1]):
        ok = np.isfinite(scores[:, j])
        groups.setdefault(ok.tobytes(), ([], ok))[0].append(j)
    return [(np.array(cols), ok) for cols, ok in groups.values()]


def _fill(rho: np.ndarray, n_pairs: np.ndarray, rows: np.ndarray, cols: np.ndarray,
          x: np.ndarray, y: np.ndarray) -> None:
    """rho and n of feature ``rows`` (values ``x``, complete) vs score ``cols`` (``y``)."""
    n = x.shape[1]
    n_pairs[np.ix_(rows, cols)] = n
    if rows.size == 0 or n < 2:
        return
    score_ranks = rank_rows(y.T).T
    for lo, ranks in rank_blocks(x):
        rho[np.ix_(rows[lo:lo + len(ranks)], cols)] = rho_ranked(ranks, score_ranks)


def spearman(x: np.ndarray, y: np.ndarray) -> SpearmanResult:
    """Spearman's rho of one pair of samples, pairwise complete, with p and 95% CI."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, not {x.shape} and {y.shape}")
    rho, n = spearman_matrix(x[None, :], y)
    p = spearman_p(rho, n)
    low, high = spearman_ci(rho, n)
    return SpearmanResult(float(rho[0]), float(p[0]), float(low[0]), float(high[0]), int(n[0]))


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), monotone and capped at 1.

    q_(i) = min over j >= i of p_(j) m / j for the ascending p_(1..m). NaN p-values stay
    NaN and do not count in m (they are tests that could not be run).
    """
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    values = p[ok]
    m = values.size
    if m == 0:
        return out
    order = np.argsort(values, kind="stable")
    scaled = values[order] * m / np.arange(1, m + 1)
    q = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    back = np.empty(m)
    back[order] = q
    out[ok] = back
    return out
