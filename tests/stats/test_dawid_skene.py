"""Dawid-Skene EM against crowd-kit (test-only reference) and simulated known confusions.

crowd-kit's ``DawidSkene`` stops as soon as its evidence lower bound fails to rise by
``tol``, which on these votes happens after two iterations; the comparisons therefore run
it for a fixed number of iterations (``tol`` = -inf) so both sides reach the same fixed point.
crowd-kit orients its error matrices (observed label, true label); ours are (true, observed).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from faceexplorer.stats import crowd
from faceexplorer.stats.dawid_skene import dawid_skene

crowdkit = pytest.importorskip("crowdkit.aggregation")


def _c25_dir() -> Path:
    here = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "affectnetc25"
    return here if here.is_dir() else Path("/work/shared/data/affectnetc25")


C25 = _c25_dir()
needs_c25 = pytest.mark.skipif(not (C25 / "expression_set1_C25.csv").is_file(),
                               reason=f"real AffectNetC25 files not found in {C25}")


def _real_codes(c25_set: int) -> np.ndarray:
    raw = pd.read_csv(C25 / f"expression_set{c25_set}_C25.csv").iloc[:, 2:]
    return crowd.c25_to_canonical(raw)


def _crowdkit(codes: np.ndarray, n_iter: int, n_classes: int = 8):
    """Run crowd-kit for exactly ``n_iter`` EM rounds; return posterior and confusions."""
    n, m = codes.shape
    task, worker = np.nonzero(~np.isnan(codes))
    long = pd.DataFrame({"task": task, "worker": worker,
                         "label": codes[task, worker].astype(int)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # crowd-kit's own pandas deprecation notices
        model = crowdkit.DawidSkene(n_iter=n_iter, tol=-np.inf).fit(long)
    posterior = model.probas_.reindex(index=range(n), columns=range(n_classes),
                                      fill_value=0.0).to_numpy()
    conf = np.zeros((m, n_classes, n_classes))
    for (w, observed), row in model.errors_.iterrows():
        conf[w, :, observed] = row.reindex(range(n_classes), fill_value=0.0).to_numpy()
    return posterior, conf, model.priors_.reindex(range(n_classes)).to_numpy()


@needs_c25
def test_each_em_round_equals_crowdkit_on_real_votes() -> None:
    codes = _real_codes(1)
    posterior, conf, priors = _crowdkit(codes, n_iter=8)
    # crowd-kit floors error cells at 1e-10 instead of smoothing; match it with a tiny one.
    ours = dawid_skene(codes, smoothing=1e-10, max_iter=8, tol=-1)
    assert ours.iterations == 8
    np.testing.assert_allclose(ours.posterior, posterior, atol=1e-8)
    # crowd-kit ends on an M-step (parameters of its last posterior); ours returns the
    # parameters its last posterior was computed from, so compare one M-step later.
    ahead = dawid_skene(codes, smoothing=1e-10, max_iter=9, tol=-1)
    np.testing.assert_allclose(ahead.priors, priors, atol=1e-10)
    np.testing.assert_allclose(ahead.confusions, conf, atol=1e-8)


@needs_c25
@pytest.mark.slow
def test_converged_labels_and_confusions_close_to_crowdkit_on_real_votes() -> None:
    codes = _real_codes(2)
    posterior, conf, priors = _crowdkit(codes, n_iter=45)  # set 2 converges by ~40
    ours = dawid_skene(codes)  # default smoothing
    assert ours.converged
    same = np.mean(ours.labels == posterior.argmax(axis=1))
    assert same >= 0.99, f"same label on {same:.2%} of images"
    assert np.abs(ours.confusions - conf).max() < 0.03
    assert np.abs(ours.priors - priors).max() < 0.01


@needs_c25
def test_real_votes_fit_is_sane() -> None:
    codes = _real_codes(1)
    result = dawid_skene(codes)
    assert result.converged and result.iterations < 200
    np.testing.assert_allclose(result.posterior.sum(axis=1), 1)
    np.testing.assert_allclose(result.confusions.sum(axis=2), 1)
    assert result.priors.sum() == pytest.approx(1)
    majority = crowd.majority_label(crowd.vote_counts(codes))
    assert np.mean(result.labels == majority) > 0.75
    acc = result.annotator_accuracy()
    assert acc.shape == (25,) and ((acc > 0.2) & (acc < 1)).all()
    # EM never lowers the likelihood: more rounds from the same start cannot do worse.
    shorter = dawid_skene(codes, max_iter=5, tol=-1)
    assert result.log_likelihood >= shorter.log_likelihood


def _simulate(seed: int, n: int = 1500, m: int = 12, k: int = 4):
    """Known priors and per-annotator confusions; 30% of votes missing."""
    rng = np.random.default_rng(seed)
    priors = np.array([0.4, 0.3, 0.2, 0.1])[:k]
    truth = rng.choice(k, size=n, p=priors)
    conf = np.empty((m, k, k))
    for j in range(m):
        accuracy = rng.uniform(0.45, 0.9)
        off = rng.dirichlet(np.ones(k - 1), size=k) * (1 - accuracy)
        for t in range(k):
            conf[j, t] = np.insert(off[t], t, accuracy)
    # Inverse-CDF draw of each vote from its annotator's row for the true class.
    cdf = np.cumsum(conf, axis=2)[np.arange(m)[None, :], truth[:, None]]  # (n, m, k)
    votes = np.minimum((rng.random((n, m))[..., None] > cdf).sum(axis=-1), k - 1)
    codes = votes.astype(float)
    codes[rng.random((n, m)) < 0.3] = np.nan
    # Every image keeps at least one vote (the model needs one).
    empty = np.isnan(codes).all(axis=1)
    codes[empty, 0] = votes[empty, 0]
    return codes, truth, priors, conf


def test_recovers_known_confusions_on_simulated_votes() -> None:
    codes, truth, priors, conf = _simulate(seed=3)
    result = dawid_skene(codes, n_classes=4)
    assert result.converged
    assert np.abs(result.priors - priors).max() < 0.03
    assert np.abs(result.confusions - conf).mean() < 0.03
    assert np.abs(result.confusions - conf).max() < 0.15
    majority = np.nanargmax(crowd.soft_labels(np.stack(
        [(codes == c).sum(axis=1) for c in range(4)], axis=1)), axis=1)
    assert np.mean(result.labels == truth) >= np.mean(majority == truth)
    assert np.mean(result.labels == truth) > 0.9


def test_simulated_votes_agree_with_crowdkit() -> None:
    codes, _, _, _ = _simulate(seed=4, n=400, m=8)
    posterior, conf, _ = _crowdkit(codes, n_iter=25, n_classes=4)
    ours = dawid_skene(codes, n_classes=4, max_iter=25, tol=-1)
    assert np.mean(ours.labels == posterior.argmax(axis=1)) >= 0.99
    assert np.abs(ours.confusions - conf).max() < 0.02


def test_annotator_who_never_saw_a_class_stays_finite() -> None:
    codes, truth, _, _ = _simulate(seed=5, n=800, m=6)
    codes[truth == 3, 0] = np.nan  # annotator 0 never sees an image of class 3
    seen = ~np.isnan(codes).all(axis=1)
    codes, truth = codes[seen], truth[seen]
    result = dawid_skene(codes, n_classes=4)
    assert np.isfinite(result.confusions).all() and np.isfinite(result.posterior).all()
    assert np.mean(result.labels == truth) > 0.85


@pytest.mark.parametrize("smoothing", [0.0, 0.001])
def test_class_with_no_weight_gets_uniform_rows(smoothing: float) -> None:
    codes, _, _, _ = _simulate(seed=6, n=300, m=5)
    codes[codes == 3] = 2  # nobody ever votes class 3 of 4
    result = dawid_skene(codes, n_classes=4, smoothing=smoothing)
    assert result.priors[3] == 0 and (result.posterior[:, 3] == 0).all()
    np.testing.assert_allclose(result.confusions[:, 3, :], 0.25)
    assert np.isfinite(result.confusions).all() and result.converged


def test_refuses_images_without_votes_and_bad_codes() -> None:
    with pytest.raises(ValueError, match="at least one vote"):
        dawid_skene(np.array([[0, 1], [np.nan, np.nan]]))
    with pytest.raises(ValueError, match="integers 0..7"):
        dawid_skene(np.array([[0, 9]]))
