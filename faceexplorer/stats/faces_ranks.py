"""FACES feature ranks: their stored form and the exact Spearman sums over them (pure numpy).

Spearman's rho is Pearson's r of ranks, and sorting the ~97M values of a full FACES index
(8,508 features x 11,416 subjects) takes seconds every time. A feature's ranks do not
depend on the scores, only on which subjects are ranked, so the FACES import stores them
(:mod:`faceexplorer.reports.faces_rank_store` writes and reads the tables; this module is
the arithmetic). Average ranks are multiples of 1/2, so they are stored doubled as
little-endian uint16 (0 = missing) while 2 n fits, else as float32 (NaN = missing; exact
below 2^23): :func:`rank_dtype`, :func:`encode`, :func:`decode`.

:func:`block_rho`: a subscale scored on every ranking subject takes one product per block
with the centred score ranks, in float64 as
:func:`faceexplorer.stats.correlation.spearman_matrix` does, so the sums are exact and rho
is the same to the bit. A feature with gaps was ranked over its own finite subjects, so
the score ranks are re-ranked on exactly those: such rows are grouped by missing pattern.
:func:`subset_block_rho`: a subscale scored on only some of them (partial DASS-21 answers)
needs each feature's ranks among its own scored subjects: the stored ranks give each
feature's order without comparing a value (one sort of 32-bit keys, doubled rank above
slot; runs of equal ranks are the ties), and the sums over the scored subjects are
corrected at the unscored ones as the values path does after its sort.

From the values, :func:`spearman_rows` sorts each feature once over the subjects with
any score, whatever subjects each subscale has: a subscale's ranks among its own scored
subjects are the all-subject ranks less the unscored ones below (or tied with) each value,
so its sums are corrected at the few sorted positions of the unscored, not re-ranked
(:func:`spearman_matrix <faceexplorer.stats.correlation.spearman_matrix>` sorts once per
distinct set of scored subjects: three times with partial DASS-21 answers). The products
are numpy's own loops, not BLAS, whose threads spin on a shared machine. Same exact sums,
so the same rho to the bit.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from faceexplorer.stats import correlation as corr


def rank_dtype(n_subjects: int) -> np.dtype:
    """How ranks over ``n_subjects`` are stored: doubled uint16 if they fit, else float32."""
    return np.dtype("<u2") if 2 * n_subjects <= np.iinfo(np.uint16).max else np.dtype("<f4")


def encode(ranks: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Ranks (NaN = missing) in the stored form."""
    if dtype.kind == "f":
        return ranks.astype(dtype)
    doubled = ranks * 2.0
    doubled[np.isnan(doubled)] = 0.0
    return doubled.astype(dtype)


def decode(raw: np.ndarray) -> np.ndarray:
    """Stored ranks back to float64 ranks with NaN where the feature is missing."""
    if raw.dtype.kind == "f":
        return raw.astype(np.float64)
    out = raw.astype(np.float64)
    out[raw == 0] = np.nan
    out *= 0.5
    return out


def rank_with_gaps(values: np.ndarray) -> np.ndarray:
    """Average-tie ranks of each row among its finite values (NaN elsewhere).

    Complete rows are ranked together by :func:`corr.rank_rows`; the others are grouped by
    their missing pattern and each pattern is ranked once.
    """
    ok = np.isfinite(values)
    complete = ok.all(axis=1)
    if complete.all():
        return corr.rank_rows(values)  # the usual case: no copies
    out = np.full(values.shape, np.nan)
    if complete.any():
        out[complete] = corr.rank_rows(values[complete])
    gappy = np.flatnonzero(~complete)
    if gappy.size:
        patterns, inverse = np.unique(ok[gappy], axis=0, return_inverse=True)
        for p, mask in enumerate(patterns):
            rows = gappy[inverse.ravel() == p]
            if mask.any():
                out[np.ix_(rows, mask)] = corr.rank_rows(values[np.ix_(rows, mask)])
    return out


# --- import -----------------------------------------------------------------------------


# --- ranking ----------------------------------------------------------------------------


def block_rho(rho: np.ndarray, n: np.ndarray, rows: np.ndarray, cols: np.ndarray,
               raw: np.ndarray, counts: np.ndarray, scores: np.ndarray,
               score_ranks: np.ndarray, buffer: np.ndarray) -> None:
    """rho/n of one block of stored ranks; rows with gaps use re-ranked scores.

    Complete rows go through ``buffer`` (a few rows of float64, small enough to stay in
    the cache) as stored, doubled uint16 too (:func:`corr.rho_ranked` with ``scale``):
    converting the whole block to float64 first cost more than the products.
    """
    full = raw.shape[1]
    n[np.ix_(rows, cols)] = counts[:, None]
    complete = counts == full
    scale = 1.0 if raw.dtype.kind == "f" else 2.0
    step = len(buffer)
    for lo in range(0, len(raw) if full >= 2 else 0, step):
        ok = complete[lo:lo + step]
        part = raw[lo:lo + step] if ok.all() else raw[lo:lo + step][ok]
        if not len(part):
            continue
        x = buffer[:len(part)]
        x[...] = part
        rho[np.ix_(rows[lo:lo + step][ok], cols)] = corr.rho_ranked(x, score_ranks, scale)
    gappy = np.flatnonzero(~complete)
    if not gappy.size:
        return
    ranks = decode(raw[gappy])
    ok = ~np.isnan(ranks)
    patterns, inverse = np.unique(ok, axis=0, return_inverse=True)
    for p, mask in enumerate(patterns):
        members = np.flatnonzero(inverse.ravel() == p)
        if mask.sum() < 2:
            continue  # as spearman_matrix: fewer than 2 pairs, rho undefined
        rho[np.ix_(rows[gappy[members]], cols)] = corr.rho_ranked(
            ranks[np.ix_(members, mask)], corr.rank_rows(scores[mask].T).T)


def score_ranks_or_none(scores: np.ndarray) -> ScoreRanks | None:
    return score_ranks(scores) if scores.shape[1] else None


def subset_block_rho(rho: np.ndarray, n: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                      raw: np.ndarray, counts: np.ndarray, sc: ScoreRanks) -> None:
    """rho/n of one block of stored ranks with subscales scored on a subset of the slots.

    The stored ranks already order each feature and mark its ties (equal stored ranks):
    :func:`_stored_order_sums` gets each subscale's sums over its scored subjects from
    that order, correcting at the unscored ones as the values path does after its sort:
    no value is read or compared. Rows with gaps re-rank their stored ranks, which order
    and tie exactly as the values, pairwise with each score (:func:`corr.spearman_matrix`).
    """
    full = raw.shape[1]
    complete = np.flatnonzero(counts == full) if full >= 2 else np.empty(0, dtype=np.int64)
    part_rho = np.full((len(rows), len(cols)), np.nan)
    part_n = np.zeros((len(rows), len(cols)), dtype=np.int64)
    for lo in range(0, complete.size, SORT_ROWS):
        at = complete[lo:lo + SORT_ROWS]
        block = raw[at]
        if block.dtype.kind == "u":
            _stored_order_sums(block, sc, part_rho, part_n, at)
            continue
        # float32 storage (over 32,767 subjects): the order by a stable argsort
        idx = np.argsort(block, axis=1, kind="stable")
        ordered = np.take_along_axis(block, idx, axis=1)
        new_run = np.empty(block.shape, dtype=bool)
        new_run[:, 0] = True
        np.not_equal(ordered[:, 1:], ordered[:, :-1], out=new_run[:, 1:])
        del ordered
        _order_sums(idx, new_run, sc, part_rho, part_n, at)
    gappy = np.flatnonzero(counts != full) if full >= 2 else np.arange(len(rows))
    if gappy.size:
        part_rho[gappy], part_n[gappy] = corr.spearman_matrix(decode(raw[gappy]), sc.values)
    rho[np.ix_(rows, cols)] = part_rho
    n[np.ix_(rows, cols)] = part_n


def _stored_order_sums(r2: np.ndarray, sc: ScoreRanks, rho: np.ndarray, pairs: np.ndarray,
                       rows: np.ndarray) -> None:
    """:func:`_order_sums` for complete rows of doubled uint16 ranks ``r2`` (b, n).

    One ``sort`` of 32-bit keys (doubled rank above, slot below; ~2x faster than an
    ``argsort`` and a gather of the ranks) gives each row's order and its ranks in that
    order (``r2 / 2``, average ranks already). The sum of squared ties over all subjects
    comes without finding the runs: sum R^2 = n(n+1)(2n+1)/6 - sum (t^3 - t)/12. The
    unscored subjects' runs [f, e) are where their own stored rank starts and ends in the
    sorted row (``searchsorted``). Every sum is exact, so rho is :func:`_order_sums`' to
    the bit.
    """
    b, n = r2.shape
    key = r2.astype(np.uint32)
    key <<= 16
    key |= np.arange(n, dtype=np.uint32)
    key.sort(axis=1)                          # unique keys: ties in slot order
    idx = (key & np.uint32(0xFFFF)).astype(np.intp)
    key >>= 16                                # the doubled ranks, sorted
    ranks = key * 0.5
    all_sq = n * (n + 1.0) * (2.0 * n + 1.0) / 6.0
    ties = 12.0 * (all_sq - np.einsum("ij,ij->i", ranks, ranks))
    partial = sc.n < n
    if partial.any():
        u_slots = np.flatnonzero(sc.unscored)
        u_bits = sc.unscored[u_slots]
        row = np.repeat(np.arange(b, dtype=np.int64), u_slots.size)
        needles = r2[:, u_slots].astype(np.int64)
        # A run [f, e) of t tied values has doubled rank r2 = 2f + t + 1, so e = r2 - f - 1;
        # without ties the doubled ranks are 2, 4, ..., 2n and f = r2 / 2 - 1.
        run_lo = needles // 2 - 1
        for i in np.flatnonzero(ties):   # row by row: one row's search stays in cache
            run_lo[i] = np.searchsorted(key[i], needles[i], side="left")
        run_hi = needles - run_lo - 1
        offsets = (np.arange(b, dtype=np.int64) * n)[:, None]
        run_lo = (run_lo + offsets).reshape(-1)   # flat sorted positions
        run_hi = (run_hi + offsets).reshape(-1)
        bits = np.tile(u_bits, b)
    for j in range(len(sc.n)):
        m = int(sc.n[j])
        pairs[rows, j] = m
        if m < 2:
            continue
        y = np.take(sc.centred[j], idx)
        num = np.einsum("ij,ij->i", ranks, y)
        tie_sum = ties
        if partial[j]:
            mine = (bits & np.uint8(1 << j)) != 0
            lo, hi, at_row = run_lo[mine], run_hi[mine], row[mine]
            ends = _prefix(y, np.r_[lo, hi])
            num = num + 0.5 * np.bincount(at_row, weights=ends[:lo.size] + ends[lo.size:],
                                          minlength=b)
            starts, first, out = np.unique(lo, return_index=True, return_counts=True)
            th = (hi[first] - starts).astype(np.float64)
            ch = th - out
            tie_sum = ties + np.bincount(at_row[first], weights=(ch ** 3 - ch) - (th ** 3 - th),
                                         minlength=b)
        sq = m * (m + 1.0) * (2.0 * m + 1.0) / 6.0 - tie_sum / 12.0
        ss = sq - m * ((m + 1) / 2.0) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            rho[rows, j] = np.clip(num / np.sqrt(ss * sc.ss[j]), -1.0, 1.0)


# --- ranking from the values ------------------------------------------------------------
#: Stored rank rows sorted together: ~3 MB of 32-bit keys at 11k subjects.
SORT_ROWS = 64
#: Value rows sorted together: ~1.5 MB of 64-bit keys at 11k subjects, so the passes after
#: the sort stay in a core's 1 MB L2 cache (13% less CPU than 64 rows at full scale).
VALUE_SORT_ROWS = 16


@dataclass(frozen=True)
class ScoreRanks:
    """The subscales on the ranking subjects, prepared once for every block of features.

    ``centred[j]`` holds each scored subject's average-tie rank of subscale j among the
    scored, minus their mean (0 for the unscored); ``unscored`` has bit j set where
    subscale j is missing. ``n`` and ``ss`` are the scored count and sum of squares.
    """

    values: np.ndarray
    centred: np.ndarray
    unscored: np.ndarray
    n: np.ndarray
    ss: np.ndarray


def score_ranks(scores: np.ndarray) -> ScoreRanks:
    """:class:`ScoreRanks` of ``scores`` (subjects, subscales); NaN = unscored.

    At most 8 subscales (one bit each in ``unscored``).
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(len(scores), -1)
    s = scores.shape[1]
    if s > 8:
        raise ValueError("at most 8 scores")
    ok = np.isfinite(scores)
    centred = np.zeros((s, len(scores)))
    unscored = np.zeros(len(scores), dtype=np.uint8)
    for j in range(s):
        if ok[:, j].any():
            centred[j, ok[:, j]] = (corr.rank_rows(scores[ok[:, j], j][None, :])[0]
                                    - (ok[:, j].sum() + 1) / 2.0)
        unscored |= (~ok[:, j]).astype(np.uint8) << j
    return ScoreRanks(scores, centred, unscored, ok.sum(axis=0),
                      np.einsum("ij,ij->i", centred, centred))


def spearman_rows(values: np.ndarray, scores: ScoreRanks, workers: int = 1
                  ) -> tuple[np.ndarray, np.ndarray]:
    """rho and pairs (k, s) of feature rows ``values`` (k, subjects) with every subscale.

    The same numbers as :func:`faceexplorer.stats.correlation.spearman_matrix` (pairwise
    complete, average ties, exact sums), with one sort per feature whatever the subjects
    each subscale has. A feature row without gaps is sorted once over every subject;
    a subscale's ranks among its own scored subjects differ from those by the unscored
    ones below (or tied with) each value, so its sums are the all-subject sums corrected
    at the few places the unscored sit in the sorted row (see :func:`_sorted_block`).
    Rows with gaps, and the rare row whose near-equal values the packed sort cannot
    order, take :func:`corr.spearman_matrix`. ``workers`` threads share the blocks of
    :data:`VALUE_SORT_ROWS` rows (numpy releases the GIL while it sorts and gathers).
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    k, s = len(values), scores.values.shape[1]
    rho, pairs = np.full((k, s), np.nan), np.zeros((k, s), dtype=np.int64)
    if not k:
        return rho, pairs
    with np.errstate(over="ignore", invalid="ignore"):
        slow = ~np.isfinite(values.sum(axis=1))
    if values.shape[1] < 2:
        slow[:] = True

    def block(lo: int) -> np.ndarray:
        rows = np.arange(lo, min(lo + VALUE_SORT_ROWS, k))
        rows = rows[~slow[rows]]
        if not rows.size:
            return rows
        x = values[lo:lo + VALUE_SORT_ROWS] if rows.size == VALUE_SORT_ROWS else values[rows]
        return rows[_sorted_block(x, scores, rho, pairs, rows)]

    starts = range(0, k if values.shape[1] >= 2 else 0, VALUE_SORT_ROWS)
    if workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            left = list(pool.map(block, starts))
    else:
        left = [block(lo) for lo in starts]
    for rows in left:
        slow[rows] = True
    if slow.any():
        rho[slow], pairs[slow] = corr.spearman_matrix(values[slow], scores.values)
    return rho, pairs


def _sorted_block(x: np.ndarray, sc: ScoreRanks, rho: np.ndarray, pairs: np.ndarray,
                  rows: np.ndarray) -> np.ndarray:
    """Fill ``rho``/``pairs`` of ``rows`` from their finite values ``x`` (b, n); returns
    the mask of rows left to the exact fallback (distinct values the sort could not tell
    apart, as in :func:`corr.rank_rows`).

    Sorting: each value's order-preserving 64-bit key with its column in the low bits,
    one ``sort``; runs of equal values are found on the true values in that order, and
    R, the average rank among all n subjects, is laid out in sorted order. For
    subscale j, Y = centred score ranks gathered in sorted order (0 if unscored):

    - numerator over all subjects: sum R Y. An unscored subject in a run [f, e) of
      sorted positions lowers the rank of every scored value above it by 1 and of those
      tied with it by 1/2, so the scored-only numerator adds (P(f) + P(e)) / 2 for it,
      with P(q) the sum of Y before position q (Y sums to 0 over a row);
    - sum of squared ranks over the m scored: m(m+1)(2m+1)/6 - sum over runs of
      (t^3 - t)/12, t counting the scored members of each run.

    Ranks are multiples of 1/2, so every sum is exact in float64: rho is that of the
    textbook computation to the bit.
    """
    b, n = x.shape
    size = b * n
    bits = max(int(n - 1).bit_length(), 1)
    low = np.uint64((1 << bits) - 1)
    flat_x = x.reshape(-1)
    key = np.right_shift(flat_x.view(np.int64), 63).view(np.uint64)   # 0 or all ones
    key |= corr._SIGN_BIT
    key ^= flat_x.view(np.uint64)
    key &= ~low
    key = key.reshape(b, n)
    key |= np.arange(n, dtype=np.uint64)
    key.sort(axis=1)
    key &= low
    idx = key.view(np.int64)                     # sorted position -> column
    offsets = np.arange(0, size, n, dtype=np.int64)
    flat = idx + offsets[:, None]
    ordered = np.take(flat_x, flat)
    del flat
    misordered = (ordered[:, 1:] < ordered[:, :-1]).any(axis=1)
    new_run = np.empty((b, n), dtype=bool)
    new_run[:, 0] = True
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=new_run[:, 1:])   # -0.0 == 0.0
    del ordered
    _order_sums(idx, new_run, sc, rho, pairs, rows)
    return misordered


def _order_sums(idx: np.ndarray, new_run: np.ndarray, sc: ScoreRanks, rho: np.ndarray,
                pairs: np.ndarray, rows: np.ndarray) -> None:
    """Fill ``rho``/``pairs`` of ``rows`` from each row's order ``idx`` (b, n: sorted
    position -> column) and the starts of its runs of equal values ``new_run`` (b, n),
    by the sums of :func:`_sorted_block`."""
    b, n = idx.shape
    size = b * n
    offsets = np.arange(0, size, n, dtype=np.int64)
    starts = np.flatnonzero(new_run)             # flat sorted positions of the runs
    del new_run
    length = np.empty_like(starts)
    np.subtract(starts[1:], starts[:-1], out=length[:-1])
    length[-1] = size - starts[-1]
    # Average rank of a run at position f with t members: f + (t + 1) / 2, here with f
    # counted over the block, not the row: Y sums to 0 over each row, so the row's
    # offset adds nothing to sum R Y (and the sums stay far below 2^50: still exact).
    mean = length + 1.0
    mean *= 0.5
    mean += starts
    ranks = np.repeat(mean, length).reshape(b, n)
    if b * float(n) ** 3 >= 2.0 ** 51:  # sum R Y could round: row-local ranks (n < ~165k)
        ranks -= offsets[:, None]
    # sum of t^3 - t over each row's runs (0 for a lone value): every row starts a run, so
    # its runs are the slice from its first; half the CPU of picking the tied runs out.
    tt = length.astype(np.float64)
    ties = tt * tt
    ties *= tt
    ties -= tt
    ties = np.add.reduceat(ties, np.searchsorted(starts, offsets))
    partial = sc.n < n
    if partial.any():
        unscored = np.take(sc.unscored, idx).reshape(-1)
        where_any = np.flatnonzero(unscored)     # flat sorted positions of the unscored
        bits_any = unscored[where_any]
        run_any = np.searchsorted(starts, where_any, side="right") - 1
    for j in range(len(sc.n)):
        m = int(sc.n[j])
        pairs[rows, j] = m
        if m < 2:
            continue
        y = np.take(sc.centred[j], idx)
        num = np.einsum("ij,ij->i", ranks, y)
        tie_sum = ties
        if partial[j]:
            mine = (bits_any & np.uint8(1 << j)) != 0
            where, run = where_any[mine], run_any[mine]
            lo, hi = starts[run], starts[run] + length[run]
            ends = _prefix(y, np.r_[lo, hi])
            num = num + 0.5 * np.bincount(where // n, weights=ends[:lo.size] + ends[lo.size:],
                                          minlength=b)
            hit = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])   # run is sorted
            out = np.diff(np.r_[hit, run.size])
            th = length[run[hit]].astype(np.float64)
            ch = th - out
            tie_sum = ties + np.bincount(starts[run[hit]] // n,
                                         weights=(ch ** 3 - ch) - (th ** 3 - th), minlength=b)
        sq = m * (m + 1.0) * (2.0 * m + 1.0) / 6.0 - tie_sum / 12.0
        ss = sq - m * ((m + 1) / 2.0) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            rho[rows, j] = np.clip(num / np.sqrt(ss * sc.ss[j]), -1.0, 1.0)


def _prefix(y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """P(q), the sum of ``y`` (b, n) over the flat positions before q, for every q in
    ``at`` (0 <= q <= b * n; rows sum to 0, so it is the sum over q's own row): one read
    of ``y`` by ``reduceat`` between the distinct q."""
    flat = y.reshape(-1)
    bounds = np.sort(np.r_[0, at])
    bounds = bounds[np.r_[True, bounds[1:] != bounds[:-1]]]
    bounds = bounds[bounds < flat.size]
    before = np.r_[0.0, np.cumsum(np.add.reduceat(flat, bounds)), 0.0]
    return before[np.searchsorted(bounds, at)]  # at == b * n: past the last bound, 0
