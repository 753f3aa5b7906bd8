"""Binary AU metrics against published examples and reference libraries (statsmodels), and
the cluster bootstrap against the ratio estimator's linearised standard error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from faceexplorer.stats import au_metrics as am


# --- agreement ------------------------------------------------------------------------
def test_kappa_textbook_two_by_two() -> None:
    # Wikipedia's "Cohen's kappa" worked example: 50 proposals, both yes 20, A yes / B no 5,
    # A no / B yes 10, both no 15: p_o = 0.70, p_e = 0.50, kappa = 0.40.
    m = am.binary_agreement(tp=[20], fp=[10], fn=[5], tn=[15])
    assert m.accuracy[0] == pytest.approx(0.70)
    assert m.kappa[0] == pytest.approx(0.40)
    assert m.precision[0] == pytest.approx(20 / 30)
    assert m.recall[0] == pytest.approx(20 / 25)
    assert m.f1[0] == pytest.approx(2 * 20 / (2 * 20 + 10 + 5))
    assert m.prevalence_reference[0] == pytest.approx(0.5)
    assert m.prevalence_prediction[0] == pytest.approx(0.6)
    assert m.n[0] == 50


def test_counts_from_label_matrices_laterality_is_present() -> None:
    ref = np.array([[1, 0], [3, 0], [0, 2], [0, 0], [5, 1]])  # HRM codes 2..5 = present
    pred = np.array([[1, 0], [0, 0], [1, 1], [0, 1], [1, 1]])
    tp, fp, fn, tn = am.confusion_counts(ref, pred)
    assert tp.tolist() == [2, 2] and fp.tolist() == [1, 1]
    assert fn.tolist() == [1, 0] and tn.tolist() == [1, 2]
    with pytest.raises(ValueError, match="shape"):
        am.confusion_counts(ref, pred[:3])
    with pytest.raises(ValueError, match="NaN"):
        am.confusion_counts([1.0, np.nan], [1, 0])


def test_undefined_ratios_are_nan_not_zero() -> None:
    m = am.binary_agreement(tp=[0, 0, 0], fp=[0, 3, 0], fn=[0, 0, 0], tn=[10, 7, 0])
    # no positives anywhere: precision, recall, F1 undefined; kappa too (p_e = 1)
    assert np.isnan([m.precision[0], m.recall[0], m.f1[0], m.kappa[0]]).all()
    # false alarms on an absent AU: F1 is a real 0, kappa 0, recall undefined
    assert m.f1[1] == 0 and m.kappa[1] == pytest.approx(0) and np.isnan(m.recall[1])
    assert np.isnan(m.accuracy[2])  # no frames at all


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=4, max_size=4).filter(
    lambda c: (c[0] + c[1]) * (c[2] + c[3]) + (c[0] + c[2]) * (c[1] + c[3]) > 0
    and 0 < sum(c)))
def test_kappa_and_f1_match_statsmodels(cells: list[int]) -> None:
    tp, fn, fp, tn = cells
    m = am.binary_agreement([tp], [fp], [fn], [tn])
    table = np.array([[tp, fn], [fp, tn]])  # rows reference, columns prediction
    p_e = ((tp + fn) * (tp + fp) + (fp + tn) * (fn + tn)) / sum(cells) ** 2
    if p_e < 1:
        assert m.kappa[0] == pytest.approx(sm_cohens_kappa(table).kappa, abs=1e-12)
    if tp:
        p, r = m.precision[0], m.recall[0]
        assert m.f1[0] == pytest.approx(2 * p * r / (p + r))


def test_agreement_of_labels_matches_per_column_statsmodels() -> None:
    rng = np.random.default_rng(3)
    ref = rng.random((500, 4)) < [0.05, 0.3, 0.5, 0.8]
    pred = np.where(rng.random((500, 4)) < 0.85, ref, ~ref)
    m = am.agreement_of_labels(ref, pred)
    for j in range(4):
        table = np.array([[np.sum(ref[:, j] & pred[:, j]), np.sum(ref[:, j] & ~pred[:, j])],
                          [np.sum(~ref[:, j] & pred[:, j]), np.sum(~ref[:, j] & ~pred[:, j])]])
        assert m.kappa[j] == pytest.approx(sm_cohens_kappa(table).kappa)


# --- prevalence ---------------------------------------------------------------------------
@pytest.mark.parametrize(("k", "n", "low", "high"), [
    # Newcombe (1998), Stat Med 17:857, method 3 (score interval without continuity
    # correction), his examples (a)-(d).
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_newcombe_1998(k: int, n: int, low: float, high: float) -> None:
    lo, hi = am.wilson_interval(k, n)
    assert (round(float(lo), 4), round(float(hi), 4)) == (low, high)


def test_wilson_vectorised_matches_statsmodels() -> None:
    k = np.array([0, 1, 7, 50, 99, 100, 0])
    n = np.array([100, 100, 100, 100, 100, 100, 0])
    lo, hi = am.wilson_interval(k, n, confidence=0.9)
    for i in range(6):
        ref = proportion_confint(k[i], n[i], alpha=0.1, method="wilson")
        assert (lo[i], hi[i]) == pytest.approx(ref, abs=1e-12)
    assert np.isnan(lo[6]) and np.isnan(hi[6])
    assert lo[0] == 0 and hi[5] == 1
    with pytest.raises(ValueError, match="confidence"):
        am.wilson_interval(1, 2, confidence=95)


def test_prevalence_of_label_matrix() -> None:
    labels = np.array([[0, 2], [1, 0], [0, 0], [4, 1]])
    active, share, lo, hi = am.prevalence(labels)
    assert active.tolist() == [2, 2] and share.tolist() == [0.5, 0.5]
    assert (lo[0], hi[0]) == pytest.approx(proportion_confint(2, 4, method="wilson"))


# --- cluster bootstrap --------------------------------------------------------------------
def clustered(rng: np.random.Generator, n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Active counts of clusters whose own rates vary a lot (as children's do)."""
    m = rng.integers(200, 3000, n_clusters).astype(float)
    rate = rng.beta(2, 6, n_clusters)
    return rng.binomial(m.astype(int), rate).astype(float), m


def test_cluster_bootstrap_matches_ratio_estimator_standard_error() -> None:
    rng = np.random.default_rng(7)
    k, m = clustered(rng, 60)
    r = k.sum() / m.sum()
    # linearised (delta-method) SE of a ratio estimator over clusters
    se = np.sqrt(((k - r * m) ** 2).sum()) / m.sum()
    lo, hi = am.cluster_bootstrap_interval(k, m, n_boot=4000, seed=1)
    assert lo < r < hi
    assert (hi - lo) / (2 * 1.96) == pytest.approx(se, rel=0.15)
    # far wider than Wilson over frames, which ignores the clustering
    w_lo, w_hi = am.wilson_interval(k.sum(), m.sum())
    assert hi - lo > 3 * (w_hi - w_lo)


def test_cluster_bootstrap_is_reproducible_and_handles_edges() -> None:
    rng = np.random.default_rng(8)
    k, m = clustered(rng, 20)
    two = np.column_stack([k, m - k])
    a = am.cluster_bootstrap_interval(two, m, seed=5)
    b = am.cluster_bootstrap_interval(two, m, seed=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    # 1-D input gives the first column's interval as scalars
    one = am.cluster_bootstrap_interval(k, m, seed=5)
    assert one == pytest.approx((a[0][0], a[1][0]))
    lo, hi = am.cluster_bootstrap_interval([[3.0]], [10.0])
    assert lo == hi == pytest.approx(0.3)  # one cluster: nothing to resample
    lo, hi = am.cluster_bootstrap_interval(np.empty((0, 2)), np.empty(0))
    assert np.isnan(lo).all() and np.isnan(hi).all()
    with pytest.raises(ValueError, match="clusters"):
        am.cluster_bootstrap_interval(k, m[:-1])


def test_cluster_bootstrap_difference() -> None:
    rng = np.random.default_rng(9)
    ka, ma = clustered(rng, 40)
    kb, mb = clustered(rng, 30)
    kb = np.minimum(mb, kb + 0.2 * mb)  # group B clearly higher
    lo, hi = am.cluster_bootstrap_difference(ka, ma, kb, mb, seed=2)
    diff = ka.sum() / ma.sum() - kb.sum() / mb.sum()
    assert lo[0] < diff < hi[0] < 0
    # the difference interval is wider than either group's own interval
    a_lo, a_hi = am.cluster_bootstrap_interval(ka, ma, seed=2)
    assert hi[0] - lo[0] > a_hi - a_lo
    lo, hi = am.cluster_bootstrap_difference(ka, ma, np.empty(0), np.empty(0))
    assert np.isnan(lo).all()


# --- co-occurrence ------------------------------------------------------------------------
def test_cooccurrence_counts_and_conditional() -> None:
    labels = np.array([[1, 1, 0], [1, 0, 0], [2, 1, 0], [0, 1, 0]])
    c = am.cooccurrence_counts(labels)
    assert c.tolist() == [[3, 2, 0], [2, 3, 0], [0, 0, 0]]
    p = am.conditional_cooccurrence(c)
    assert p[0, 1] == pytest.approx(2 / 3) and p[0, 0] == 1
    assert np.isnan(p[2]).all()  # never active: nothing to condition on
    # distinct patterns with their frame counts give the same matrix as the frames
    patterns, weights = np.unique(labels != 0, axis=0, return_counts=True)
    assert np.array_equal(am.cooccurrence_counts(patterns, weights), c)


def test_conditional_is_not_symmetric() -> None:
    rng = np.random.default_rng(4)
    a = rng.random(1000) < 0.4
    b = a & (rng.random(1000) < 0.3)  # B only inside A, like AU6 inside AU12
    p = am.conditional_cooccurrence(am.cooccurrence_counts(np.column_stack([a, b])))
    assert p[1, 0] == 1.0 and p[0, 1] == pytest.approx(b.sum() / a.sum())
