"""stats.correlation against scipy, statsmodels and a textbook example (references: tests only)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from faceexplorer.stats import correlation as corr


def test_ranks_equal_scipy_with_ties_signed_zeros_and_near_equal_values() -> None:
    rng = np.random.default_rng(1)
    x = np.round(rng.normal(size=(80, 700)) * 25 + 320, 1)       # many ties
    x[1] = rng.integers(0, 2, 700)                                # two values only
    x[2] = 5.0                                                    # constant
    x[3, :6] = [-0.0, 0.0, 5e-324, -5e-324, -1e-320, 0.0]         # signed zero, subnormals
    x[4] = 1.0 + rng.normal(size=700) * 1e-13                     # share key bits: fallback
    x[5] = rng.normal(size=700)
    assert np.array_equal(corr.rank_rows(x), ss.rankdata(x, axis=1))
    y = x[0].copy()
    y[::9] = np.nan
    expected = np.full(y.shape, np.nan)
    expected[~np.isnan(y)] = ss.rankdata(y[~np.isnan(y)])
    np.testing.assert_array_equal(corr.rankdata(y), expected)


def test_textbook_spearman_example() -> None:
    # IQ against hours of TV per week (the classic worked example, e.g. Wikipedia's
    # "Spearman's rank correlation coefficient"): rho = -29/165 = -0.175757...
    iq = [106, 100, 86, 101, 99, 103, 97, 113, 112, 110]
    tv = [7, 27, 2, 50, 28, 29, 20, 12, 6, 17]
    r = corr.spearman(np.array(iq, float), np.array(tv, float))
    assert r.rho == pytest.approx(-29 / 165, abs=1e-15)
    assert r.n == 10
    assert r.p == pytest.approx(ss.spearmanr(iq, tv).pvalue, rel=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_rho_and_p_equal_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    x = np.round(rng.normal(size=n), int(rng.integers(0, 3)))
    y = np.round(0.5 * x + rng.normal(size=n), 1)
    r, ref = corr.spearman(x, y), ss.spearmanr(x, y)
    assert r.rho == pytest.approx(ref.statistic, abs=1e-13)
    assert r.p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


def test_pairwise_nan_per_feature_and_per_score() -> None:
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(size=(40, 300)), 1)
    x[3, :25] = np.nan
    x[4, ::5] = np.inf
    x[5, ::5] = np.nan          # same gaps as row 4: one group
    x[6, :] = np.nan
    x[6, :2] = [1.0, 2.0]       # two pairs left
    scores = np.c_[np.round(x[0] + rng.normal(size=300), 1), rng.normal(size=300)]
    scores[:10, 1] = np.nan
    rho, n = corr.spearman_matrix(x, scores)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(40):
            for j in range(2):
                a, b = x[i], scores[:, j]
                ok = np.isfinite(a) & np.isfinite(b)
                assert n[i, j] == ok.sum()
                if ok.sum() > 2:
                    assert rho[i, j] == pytest.approx(ss.spearmanr(a[ok], b[ok]).statistic,
                                                      abs=1e-13)
    assert rho[6, 0] == pytest.approx(1.0) or rho[6, 0] == pytest.approx(-1.0)


def test_zero_variance_gives_nan_not_a_crash() -> None:
    x = np.vstack([np.full(50, 3.0), np.arange(50.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rho, n = corr.spearman_matrix(x, np.arange(50.0) % 7)
        p = corr.spearman_p(rho, n)
        low, high = corr.spearman_ci(rho, n)
    assert np.isnan(rho[0]) and np.isnan(p[0]) and np.isnan(low[0]) and np.isnan(high[0])
    assert np.isfinite(rho[1])
    assert np.isnan(corr.spearman(np.arange(9.0), np.zeros(9)).rho)


@pytest.mark.parametrize("df", [2, 3, 4.5, 7, 30, 200, 5000, 11425])
def test_t_survival_function_equals_scipy(df: float) -> None:
    t = np.r_[-60, -8, -2, -0.3, 0, 1e-9, 1e-4, 0.3, 1, 2.5, 4, 8, 15, 40, 120]
    expected = ss.t.sf(t, df)
    ok = expected > 1e-300
    np.testing.assert_allclose(corr.t_sf(t, df)[ok], expected[ok], rtol=1e-10, atol=0)


def test_t_survival_with_one_degree_of_freedom_is_cauchy() -> None:
    # scipy loses digits near 0 for df = 1; the Cauchy closed form is the reference.
    t = np.r_[-50, -1, 1e-8, 1e-3, 0.5, 1, 3, 1e3]
    np.testing.assert_allclose(corr.t_sf(t, 1), 0.5 - np.arctan(t) / np.pi, rtol=1e-12)


def test_t_survival_edges() -> None:
    out = corr.t_sf(np.array([np.inf, -np.inf, np.nan, 1.0]), np.array([5, 5, 5, np.nan]))
    assert out[0] == 0.0 and out[1] == 1.0 and np.isnan(out[2]) and np.isnan(out[3])


def test_confidence_interval_is_fisher_z_with_bonett_wright_se() -> None:
    rho, n = 0.42, 57
    se = math.sqrt((1 + rho**2 / 2) / (n - 3))
    z = math.atanh(rho)
    low, high = corr.spearman_ci(np.array([rho]), np.array([n]))
    assert low[0] == pytest.approx(math.tanh(z - 1.959963984540054 * se), abs=1e-15)
    assert high[0] == pytest.approx(math.tanh(z + 1.959963984540054 * se), abs=1e-15)
    assert corr.Z_975 == pytest.approx(ss.norm.ppf(0.975), abs=1e-15)
    low, high = corr.spearman_ci(np.array([0.5, 1.0]), np.array([3, 20]))
    assert np.isnan(low[0]) and np.isnan(high[0]) and low[1] == high[1] == 1.0


def test_bh_equals_statsmodels_and_keeps_nan_out() -> None:
    rng = np.random.default_rng(3)
    p = np.r_[rng.uniform(size=200) ** 3, 0.0, 1.0, 0.5, 0.5]
    expected = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(corr.bh_adjust(p), expected, rtol=1e-13, atol=0)
    q = corr.bh_adjust(p)
    order = np.argsort(p)
    assert np.all(np.diff(q[order]) >= 0) and q.max() <= 1.0
    with_nan = np.r_[np.nan, p, np.nan]
    q2 = corr.bh_adjust(with_nan)
    assert np.isnan(q2[0]) and np.isnan(q2[-1])
    np.testing.assert_allclose(q2[1:-1], expected, rtol=1e-13)


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 60).flatmap(lambda n: st.tuples(
    st.lists(st.integers(-3, 3), min_size=n, max_size=n),
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=n, max_size=n))))
def test_matrix_rho_matches_scipy_on_small_tied_samples(data: tuple[list, list]) -> None:
    a, b = (np.array(v, dtype=float) for v in data)
    rho, _ = corr.spearman_matrix(a[None, :], b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ss.spearmanr(a, b).statistic
    if np.isnan(ref):
        assert np.isnan(rho[0])
    else:
        assert rho[0] == pytest.approx(ref, abs=1e-12)
