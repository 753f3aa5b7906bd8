"""Set-level agreement against published figures and reference libraries (test-only).

References: statsmodels (Fleiss' kappa, aggregate_raters, Cohen's kappa), the
``krippendorff`` package, scipy.stats.f, Shrout & Fleiss (1979) Table 2, R psych::ICC's
printed intervals for that table, Krippendorff's (2011) reliability-data example.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.stats import agreement, crowd

krippendorff = pytest.importorskip("krippendorff")
inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")


def _c25_dir() -> Path:
    here = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "affectnetc25"
    return here if here.is_dir() else Path("/work/shared/data/affectnetc25")


C25 = _c25_dir()
needs_c25 = pytest.mark.skipif(not (C25 / "expression_set1_C25.csv").is_file(),
                               reason=f"real AffectNetC25 files not found in {C25}")


def _raw(task: str, c25_set: int) -> pd.DataFrame:
    return pd.read_csv(C25 / f"{task}_set{c25_set}_C25.csv").iloc[:, 2:]


# --- ICC: Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges -------------------------
SF_TABLE2 = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
                      [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float)
# Published ICCs (Shrout & Fleiss 1979, Table 4) and the 95% intervals R's psych::ICC prints
# for the same data (lower bound to 3 decimals, upper to 2).
SF_PUBLISHED = {
    "ICC(1,1)": (0.17, -0.133, 0.72), "ICC(2,1)": (0.29, 0.019, 0.76),
    "ICC(3,1)": (0.71, 0.342, 0.95), "ICC(1,k)": (0.44, -0.884, 0.91),
    "ICC(2,k)": (0.62, 0.071, 0.93), "ICC(3,k)": (0.91, 0.676, 0.99),
}


def test_icc_reproduces_shrout_fleiss_table() -> None:
    result = agreement.icc(SF_TABLE2)
    assert list(result) == list(SF_PUBLISHED)
    for form, (value, low, high) in SF_PUBLISHED.items():
        got = result[form]
        assert round(got.value, 2) == value, form
        assert round(got.ci_low, 3) == low, form
        assert round(got.ci_high, 2) == high, form
    # F tests as psych/DescTools print them: F 1.79 (5, 18) p .1648; F 11.03 (5, 15) p .000135.
    assert round(result["ICC(1,1)"].f, 2) == 1.79 and result["ICC(1,1)"].df2 == 18
    assert round(result["ICC(1,1)"].p_value, 6) == 0.164769
    assert round(result["ICC(2,1)"].f, 2) == 11.03 and result["ICC(3,k)"].df2 == 15
    assert round(result["ICC(3,1)"].p_value, 6) == 0.000135


def _scipy_icc_ci(x: np.ndarray) -> dict[str, tuple[float, float]]:
    """The same interval formulas with scipy's F quantiles: checks our quantiles in place."""
    n, k = x.shape
    g = x.mean()
    ssr = k * ((x.mean(1) - g) ** 2).sum()
    ssc = n * ((x.mean(0) - g) ** 2).sum()
    sst = ((x - g) ** 2).sum()
    bms, wms = ssr / (n - 1), (sst - ssr) / (n * (k - 1))
    jms, ems = ssc / (k - 1), (sst - ssr - ssc) / ((n - 1) * (k - 1))
    f = scipy.stats.f.ppf
    out = {}
    for case, err, df2 in ((1, wms, n * (k - 1)), (3, ems, (n - 1) * (k - 1))):
        fl = bms / err / f(0.975, n - 1, df2)
        fu = bms / err * f(0.975, df2, n - 1)
        out[f"ICC({case},1)"] = ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))
        out[f"ICC({case},k)"] = (1 - 1 / fl, 1 - 1 / fu)
    r = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
    fj = jms / ems
    v = ((k - 1) * (n - 1) * (k * r * fj + n * (1 + (k - 1) * r) - k * r) ** 2
         / ((n - 1) * k**2 * r**2 * fj**2 + (n * (1 + (k - 1) * r) - k * r) ** 2))
    fs, fs2 = f(0.975, n - 1, v), f(0.975, v, n - 1)
    scale = k * jms + (k * n - k - n) * ems
    lo = n * (bms - fs * ems) / (fs * scale + n * bms)
    hi = n * (fs2 * bms - ems) / (scale + n * fs2 * bms)
    out["ICC(2,1)"] = (lo, hi)
    out["ICC(2,k)"] = (k * lo / (1 + (k - 1) * lo), k * hi / (1 + (k - 1) * hi))
    return out


@needs_c25
@pytest.mark.parametrize(("task", "c25_set"),
                         [(t, s) for t in ("valence", "arousal") for s in (1, 2)])
def test_icc_intervals_equal_scipy_quantiles_on_real_votes(task: str, c25_set: int) -> None:
    x = _raw(task, c25_set).to_numpy()
    ours = agreement.icc(x)
    for form, (lo, hi) in _scipy_icc_ci(x).items():
        assert ours[form].ci_low == pytest.approx(lo, abs=1e-9), form
        assert ours[form].ci_high == pytest.approx(hi, abs=1e-9), form
        assert ours[form].ci_low < ours[form].value < ours[form].ci_high


@pytest.mark.parametrize(("p", "d1", "d2"), [
    (0.975, 5, 18), (0.975, 18, 5), (0.025, 5, 15), (0.975, 5, 3.7), (0.5, 1, 1),
    (0.999, 2, 2000), (0.975, 799, 19176), (0.975, 19176, 799), (0.01, 0.5, 7.3),
])
def test_f_quantile_and_tails_equal_scipy(p: float, d1: float, d2: float) -> None:
    x = agreement.f_quantile(p, d1, d2)
    assert x == pytest.approx(scipy.stats.f.ppf(p, d1, d2), rel=1e-9)
    assert agreement.f_cdf(x, d1, d2) == pytest.approx(p, rel=1e-9)
    assert agreement.f_sf(3.0, d1, d2) == pytest.approx(scipy.stats.f.sf(3.0, d1, d2), rel=1e-9)


# --- kappas -----------------------------------------------------------------------------
@needs_c25
@pytest.mark.parametrize("c25_set", [1, 2])
def test_fleiss_kappa_and_nominal_alpha_equal_references_on_real_votes(c25_set: int) -> None:
    raw = _raw("expression", c25_set)
    table, _ = inter_rater.aggregate_raters(raw.to_numpy())
    counts = crowd.vote_counts(crowd.c25_to_canonical(raw))
    assert agreement.fleiss_kappa(counts) == pytest.approx(
        inter_rater.fleiss_kappa(table, method="fleiss"), abs=1e-12)
    alpha = krippendorff.alpha(reliability_data=raw.to_numpy().T,
                               level_of_measurement="nominal")
    assert agreement.krippendorff_alpha(crowd.c25_to_canonical(raw)) == pytest.approx(
        alpha, abs=1e-12)


def test_cohens_kappa_textbook_example() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 -> p_o .7, p_e .5, k .4
    a = np.array([1] * 25 + [0] * 25, dtype=float)
    b = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15, dtype=float)
    assert agreement.cohens_kappa(a, b, n_categories=2) == pytest.approx(0.4)


@needs_c25
def test_pairwise_cohens_kappa_equals_statsmodels_on_real_votes() -> None:
    codes = crowd.c25_to_canonical(_raw("expression", 2))
    kappa = agreement.pairwise_cohens_kappa(codes)
    for i, j in [(0, 1), (3, 17), (10, 24)]:
        table = pd.crosstab(codes[:, i], codes[:, j]).reindex(
            index=range(8), columns=range(8), fill_value=0).to_numpy()
        assert kappa[i, j] == pytest.approx(inter_rater.cohens_kappa(table).kappa, abs=1e-12)
        assert kappa[i, j] == pytest.approx(kappa[j, i])


# --- Krippendorff's alpha ---------------------------------------------------------------
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers x 12 units
# with missing values; published alpha nominal .743, ordinal .815, interval .849.
K_EXAMPLE = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
]).T


@pytest.mark.parametrize(("level", "published"),
                         [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_published_example(level: str, published: float) -> None:
    got = agreement.krippendorff_alpha(K_EXAMPLE, level)
    assert round(got, 3) == published
    assert got == pytest.approx(krippendorff.alpha(reliability_data=K_EXAMPLE.T,
                                                   level_of_measurement=level), abs=1e-12)


@needs_c25
@pytest.mark.parametrize(("task", "level"), [(t, lv) for t in ("valence", "arousal")
                                             for lv in ("interval", "ordinal", "nominal")])
def test_krippendorff_equals_package_on_real_votes(task: str, level: str) -> None:
    x = _raw(task, 1).to_numpy()
    ref = krippendorff.alpha(reliability_data=x.T, level_of_measurement=level)
    assert agreement.krippendorff_alpha(x, level) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_krippendorff_with_missing_values_equals_package(seed: int, level: str) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 5, size=40)
    x = (truth[:, None] + rng.integers(-1, 2, size=(40, 6))).astype(float)
    x[rng.random(x.shape) < 0.3] = np.nan
    ref = krippendorff.alpha(reliability_data=x.T, level_of_measurement=level)
    assert agreement.krippendorff_alpha(x, level) == pytest.approx(ref, abs=1e-12)


def test_krippendorff_refuses_unknown_level() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        agreement.krippendorff_alpha(K_EXAMPLE, "ratio")


# --- annotators, confusion, histogram ---------------------------------------------------
@needs_c25
def test_annotator_agreement_against_pandas_leave_one_out() -> None:
    raw = _raw("expression", 1)
    codes = crowd.c25_to_canonical(raw)
    table = agreement.annotator_agreement(pd.DataFrame(codes, columns=raw.columns))
    assert table["rank"].tolist() == list(range(1, 26))
    assert table["loo_agreement"].is_monotonic_decreasing
    assert table["annotator"].iloc[0] == "participant14"
    assert table["annotator"].iloc[-1] == "participant10"
    by_name = table.set_index("annotator")
    full_mode = raw.mode(axis=1)[0]
    for name in ["participant10", "participant14"]:  # last and first ranked
        others = raw.drop(columns=name).mode(axis=1)[0]  # the authors' rule, without them
        assert by_name.loc[name, "loo_agreement"] == pytest.approx((raw[name] == others).mean())
        assert by_name.loc[name, "majority_agreement"] == pytest.approx(
            (raw[name] == full_mode).mean())
    j = list(raw.columns).index("participant0")
    kappas = [inter_rater.cohens_kappa(pd.crosstab(codes[:, j], codes[:, i]).reindex(
        index=range(8), columns=range(8), fill_value=0).to_numpy()).kappa
        for i in range(25) if i != j]
    assert by_name.loc["participant0", "mean_cohens_kappa"] == pytest.approx(np.mean(kappas))


def test_majority_confusion_equals_crosstab() -> None:
    rng = np.random.default_rng(1)
    majority = rng.integers(-1, 8, size=300)
    labels = np.array(["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger",
                       "contempt", "none", None], dtype=object)
    reference = labels[rng.integers(0, 10, size=300)]
    table = agreement.majority_confusion(majority, reference)
    keep = np.isin(reference, EXPRESSIONS) & (majority >= 0)
    expected = pd.crosstab(pd.Categorical(reference[keep], categories=EXPRESSIONS),
                           pd.Categorical([EXPRESSIONS[m] for m in majority[keep]],
                                          categories=EXPRESSIONS), dropna=False)
    np.testing.assert_array_equal(table.to_numpy(), expected.to_numpy())
    assert list(table.index) == list(EXPRESSIONS) == list(table.columns)


def test_agreement_histogram_counts_every_image() -> None:
    hist = agreement.agreement_histogram(np.array([25, 3, 3, 0]), 25)
    assert len(hist) == 26 and hist.sum() == 4 and hist[3] == 2 and hist[25] == 1


def test_fleiss_kappa_needs_equal_ratings_per_item() -> None:
    with pytest.raises(ValueError, match="same number"):
        agreement.fleiss_kappa(np.array([[2, 1], [1, 1]]))
