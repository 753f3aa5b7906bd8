"""The one regularised incomplete beta against scipy.special.betainc, scalar and array alike."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp

from faceexplorer.stats.incomplete_beta import regularized_beta

GRID = [(x, a, b) for x in (1e-9, 1e-4, 0.003, 0.2, 0.5, 0.8, 0.999, 1 - 1e-9)
        for a in (0.5, 1.0, 2.5, 12.0, 210.0, 5_000.0) for b in (0.5, 3.0, 11.0, 2_400.0)]


@pytest.mark.parametrize(("x", "a", "b"), GRID)
def test_scalar_matches_scipy(x: float, a: float, b: float) -> None:
    assert regularized_beta(x, a, b) == pytest.approx(sp.betainc(a, b, x), rel=1e-10,
                                                      abs=1e-300)


def test_array_matches_scipy_and_the_scalar_path_to_the_bit() -> None:
    x, a, b = (np.array(v) for v in zip(*GRID, strict=True))
    got = regularized_beta(x, a, b)
    np.testing.assert_allclose(got, sp.betainc(a, b, x), rtol=1e-10, atol=1e-300)
    assert got.tolist() == [regularized_beta(*g) for g in GRID]


def test_edges_and_undefined() -> None:
    assert regularized_beta(0.0, 2.0, 3.0) == 0.0 and regularized_beta(1.0, 2.0, 3.0) == 1.0
    assert math.isnan(regularized_beta(0.5, math.nan, 3.0))
    assert math.isnan(regularized_beta(math.nan, 2.0, 3.0))
    assert math.isnan(regularized_beta(0.5, 0.0, 3.0))
    got = regularized_beta(np.array([0.0, 1.0, np.nan, 0.5, 0.5]),
                           np.array([2.0, 2.0, 2.0, np.nan, -1.0]), 3.0)
    assert got[:2].tolist() == [0.0, 1.0] and np.isnan(got[2:]).all()


def test_one_minus_x_given_keeps_digits_near_one() -> None:
    # 1 - x below float resolution: only the caller's 1 - x and logs keep the tail.
    t2, nu = 1e-20, 30.0
    rest = t2 / (nu + t2)
    got = regularized_beta(nu / (nu + t2), nu / 2, 0.5, one_minus_x=rest,
                           log_x=-math.log1p(t2 / nu), log_1mx=math.log(t2) - math.log(nu + t2))
    assert 1.0 - got == pytest.approx(sp.betainc(0.5, nu / 2, rest), rel=1e-6)
