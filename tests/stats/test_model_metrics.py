"""Model metrics against independent references (SciPy, pandas, hand computations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from faceexplorer.stats import model_metrics as mm


def _dists(rng: np.random.Generator, n: int) -> np.ndarray:
    p = rng.dirichlet(np.ones(8) * 0.5, n)
    p[0, 3] = 0.0  # a zero share must not produce NaN
    return p / p.sum(axis=1, keepdims=True)


def test_js_divergence_is_scipy_distance_squared() -> None:
    rng = np.random.default_rng(1)
    p, q = _dists(rng, 50), _dists(rng, 50)
    ref = np.array([jensenshannon(a, b, base=2) ** 2 for a, b in zip(p, q, strict=True)])
    got = mm.js_divergence(p, q)
    assert np.allclose(got, ref, atol=1e-12)
    assert mm.js_divergence([1, 0], [0, 1])[0] == pytest.approx(1.0)
    assert mm.js_divergence(p, p) == pytest.approx(np.zeros(50), abs=1e-12)


def test_soft_log_loss_by_hand() -> None:
    p = np.array([0.7, 0.2, 0.1])
    q = np.array([0.5, 0.5, 0.0])
    assert mm.soft_log_loss(p, q)[0] == pytest.approx(-(0.5 * np.log(0.7) + 0.5 * np.log(0.2)))
    # A hard zero where the crowd voted costs -log(eps) (after renormalising), not inf.
    hard = mm.soft_log_loss([1.0, 0.0], [0.0, 1.0], eps=1e-7)[0]
    assert hard == pytest.approx(-np.log(1e-7 / (1 + 1e-7)))


def test_ccc_direct_formula_and_properties() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    y = 0.8 * x + rng.normal(scale=0.5, size=200) + 0.3
    sxy = np.cov(x, y, bias=True)[0, 1]
    ref = 2 * sxy / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)
    assert mm.ccc(x, y) == pytest.approx(ref)
    # Lin (1989): CCC = Pearson r x bias correction factor C_b
    r = np.corrcoef(x, y)[0, 1]
    v = x.std() / y.std()
    u = (x.mean() - y.mean()) / np.sqrt(x.std() * y.std())
    assert mm.ccc(x, y) == pytest.approx(r * 2 / (v + 1 / v + u ** 2))
    assert mm.ccc(x, x) == pytest.approx(1.0)
    assert mm.ccc(x, x + 1) < 1.0
    assert mm.ccc([1, np.nan, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)


def test_confusion_matches_pandas_crosstab() -> None:
    rng = np.random.default_rng(3)
    t, p = rng.integers(0, 8, 500), rng.integers(0, 8, 500)
    t[:7] = -1  # unlabelled: dropped
    c = mm.confusion_matrix(t, p)
    keep = t >= 0
    ref = pd.crosstab(t[keep], p[keep]).reindex(index=range(8), columns=range(8), fill_value=0)
    assert np.array_equal(c, ref.to_numpy())
    assert mm.accuracy(c) == pytest.approx((t[keep] == p[keep]).mean())


def test_macro_f1_by_hand() -> None:
    c = np.zeros((8, 8), int)
    c[0, 0], c[0, 1], c[1, 1] = 3, 1, 2
    f1_0 = 2 * 3 / (2 * 3 + 0 + 1)
    f1_1 = 2 * 2 / (2 * 2 + 1 + 0)
    assert mm.macro_f1(c) == pytest.approx((f1_0 + f1_1) / 2)


def test_au_agreement_reuses_au_metrics() -> None:
    human = np.array([[1, 0], [0, 0], [1, 3], [0, 1], [1, 0]], float)
    probs = np.array([[0.9, 0.1], [0.2, 0.6], [0.7, 0.8], [np.nan, 0.2], [0.1, 0.1]])
    res = mm.au_agreement(human, probs, ("AU1", "AU2"))
    assert res.frames == 4
    # AU1 over kept frames: ref 1,0,1,1 pred 1,0,1,0 -> tp 2 fn 1 -> F1 0.8
    assert res.agreement.f1[0] == pytest.approx(0.8)
