"""Per-image crowd statistics, checked against pandas and scipy on the real AffectNetC25 files.

The authors' majority is pandas ``mode(axis=1)[0]`` on the raw C25 codes, so the reference
here is exactly that call on the unchanged CSVs; entropy is checked against
``scipy.stats.entropy``; V/A statistics against pandas' own row reductions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from faceexplorer.core.vocab import C25_CODES, EXPRESSIONS
from faceexplorer.stats import crowd


def _c25_dir() -> Path:
    here = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "affectnetc25"
    return here if here.is_dir() else Path("/work/shared/data/affectnetc25")


C25 = _c25_dir()
needs_c25 = pytest.mark.skipif(not (C25 / "expression_set1_C25.csv").is_file(),
                               reason=f"real AffectNetC25 files not found in {C25}")


def _raw(task: str, c25_set: int) -> pd.DataFrame:
    return pd.read_csv(C25 / f"{task}_set{c25_set}_C25.csv").iloc[:, 2:]


def test_code_maps_follow_vocab() -> None:
    for c25_code, label in C25_CODES.items():
        assert EXPRESSIONS[crowd.C25_TO_CANONICAL[c25_code]] == label
        assert crowd.CANONICAL_TO_C25[EXPRESSIONS.index(label)] == c25_code


@needs_c25
@pytest.mark.parametrize("c25_set", [1, 2])
def test_expression_stats_match_pandas_on_real_files(c25_set: int) -> None:
    raw = _raw("expression", c25_set)
    codes = crowd.c25_to_canonical(raw)
    stats = crowd.expression_stats(codes)

    modes = raw.mode(axis=1)  # the authors' rule, on the RAW C25 codes
    expected_majority = [C25_CODES[int(c)] for c in modes[0]]
    assert stats["majority_label"].tolist() == expected_majority
    expected_tie = modes.notna().sum(axis=1) > 1
    assert stats["tie"].tolist() == expected_tie.tolist()
    assert expected_tie.sum() > 0, "the real sets do contain ties; the tie rule is exercised"
    expected_tied = [sorted(C25_CODES[int(c)] for c in row.dropna()) for _, row in modes.iterrows()]
    assert [sorted(t.split("|")) for t in stats["tied_labels"]] == expected_tied
    expected_agreement = raw.eq(modes[0], axis=0).sum(axis=1)
    assert stats["agreement"].tolist() == expected_agreement.tolist()

    for k, label in enumerate(EXPRESSIONS):
        c25_code = int(crowd.CANONICAL_TO_C25[k])
        assert stats[f"count_{label}"].tolist() == raw.eq(c25_code).sum(axis=1).tolist()
    counts = stats[[f"count_{e}" for e in EXPRESSIONS]].to_numpy()
    np.testing.assert_allclose(stats["entropy"], scipy.stats.entropy(counts, base=8, axis=1))
    np.testing.assert_allclose(stats["plurality_share"], counts.max(axis=1) / 25)
    soft = stats[[f"soft_{e}" for e in EXPRESSIONS]].to_numpy()
    np.testing.assert_allclose(soft.sum(axis=1), 1.0)
    assert (stats["n_votes"] == 25).all()


@needs_c25
@pytest.mark.parametrize(("task", "c25_set"),
                         [(t, s) for t in ("valence", "arousal") for s in (1, 2)])
def test_va_stats_match_pandas_on_real_files(task: str, c25_set: int) -> None:
    raw = _raw(task, c25_set)
    stats = crowd.va_stats(raw)
    mode = raw.mode(axis=1)[0]
    np.testing.assert_array_equal(stats["majority"], mode)
    assert stats["agreement"].tolist() == (raw.sub(mode, axis=0).abs() <= 0.25).sum(axis=1).tolist()
    np.testing.assert_allclose(stats["mean"], raw.mean(axis=1))
    np.testing.assert_allclose(stats["median"], raw.median(axis=1))
    np.testing.assert_allclose(stats["std"], raw.std(axis=1))
    iqr = raw.quantile(0.75, axis=1) - raw.quantile(0.25, axis=1)
    np.testing.assert_allclose(stats["iqr"], iqr)


def test_tie_goes_to_smallest_c25_code_not_canonical() -> None:
    # neutral is canonical 0 but C25 7; happy is canonical 1 but C25 0: happy must win.
    codes = np.array([[0, 0, 1, 1, 2]], dtype=float)
    counts = crowd.vote_counts(codes)
    assert EXPRESSIONS[crowd.majority_label(counts)[0]] == "happy"
    assert crowd.tie_flag(counts).tolist() == [True]
    assert crowd.tied_labels(counts) == [("happy", "neutral")]
    raw_c25 = pd.DataFrame(crowd.CANONICAL_TO_C25[codes.astype(int)])
    assert C25_CODES[int(raw_c25.mode(axis=1)[0][0])] == "happy"


def test_missing_votes_and_empty_images() -> None:
    codes = np.array([[1, np.nan, 1, 2], [np.nan] * 4])
    stats = crowd.expression_stats(codes)
    assert stats["n_votes"].tolist() == [3, 0]
    assert stats["majority_label"][0] == "happy" and pd.isna(stats["majority_label"][1])
    assert stats["agreement"].tolist() == [2, 0]
    assert np.isnan(stats.loc[1, "entropy"]) and np.isnan(stats.loc[1, "soft_happy"])
    va = crowd.va_stats(np.array([[0.5, np.nan, 0.25], [np.nan] * 3, [1.0, np.nan, np.nan]]))
    assert va["n_votes"].tolist() == [2, 0, 1]
    assert va["majority"].tolist()[0] == 0.25
    assert np.isnan(va["mean"][1]) and np.isnan(va["std"][2])


def test_unanimous_image_has_zero_entropy_and_full_share() -> None:
    stats = crowd.expression_stats(np.full((1, 25), 3.0))
    assert stats["entropy"][0] == 0 and stats["plurality_share"][0] == 1
    assert stats["agreement"][0] == 25 and not stats["tie"][0]


def test_bad_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="canonical 0..7"):
        crowd.vote_counts(np.array([[0, 8]]))
    with pytest.raises(ValueError, match="canonical 0..7"):
        crowd.vote_counts(np.array([[0, 1.5]]))


_grid = st.sampled_from([np.nan, -1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1])


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(float, st.tuples(st.integers(1, 12), st.integers(1, 9)), elements=_grid))
def test_va_stats_equal_pandas_with_missing_votes(v: np.ndarray) -> None:
    stats = crowd.va_stats(v)
    df = pd.DataFrame(v)
    mode = df.mode(axis=1).reindex(index=df.index, columns=[0])[0]
    np.testing.assert_allclose(stats["majority"], mode.to_numpy(dtype=float), equal_nan=True)
    np.testing.assert_allclose(stats["mean"], df.mean(axis=1), equal_nan=True)
    np.testing.assert_allclose(stats["std"], df.std(axis=1), equal_nan=True)
    np.testing.assert_allclose(stats["iqr"], df.quantile(0.75, axis=1)
                               - df.quantile(0.25, axis=1), equal_nan=True)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(float, st.tuples(st.integers(1, 12), st.integers(1, 9)),
                  elements=st.sampled_from([np.nan, *range(8)])))
def test_majority_equals_pandas_mode_on_c25_codes(codes: np.ndarray) -> None:
    counts = crowd.vote_counts(codes)
    c25 = np.where(np.isnan(codes), np.nan,
                   crowd.CANONICAL_TO_C25[np.nan_to_num(codes).astype(int)])
    expected = pd.DataFrame(c25).mode(axis=1).reindex(index=range(len(c25)), columns=[0])[0]
    got = crowd.majority_label(counts)
    for g, e in zip(got, expected, strict=True):
        assert (g == -1) if np.isnan(e) else EXPRESSIONS[g] == C25_CODES[int(e)]
