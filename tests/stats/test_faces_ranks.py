"""Stored feature ranks (stats.faces_ranks): the fast ranking equals the exact one and scipy.

A small FACES folder is generated with what makes ranking hard: heavy ties, features with
missing values in shared and distinct patterns, constant and all-missing features,
subjects with features only or DASS only, and (in one variant) a subject whose anxiety
and stress are scored but not depression, and others missing other subscales.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss

from faceexplorer.datasets.faces import TABLES
from faceexplorer.datasets.registry import import_path
from faceexplorer.reports import faces_rank_store
from faceexplorer.reports import faces_stats as fs
from faceexplorer.stats import correlation as corr
from faceexplorer.stats import dass21
from faceexplorer.stats import faces_ranks as fr

N_SUBJECTS = 240


def _write_folder(folder: Path, partial: bool) -> Path:
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True)
    ids = [f"S{i:04d}" for i in range(N_SUBJECTS)]
    items = pd.DataFrame(rng.integers(0, 4, (N_SUBJECTS, 21)),
                         columns=[f"dass_{i}" for i in range(1, 22)])
    items.insert(0, "cust_id", ids)
    items = items.iloc[:-5]                          # 5 subjects: features only
    if partial:  # subjects with one or two subscales unscored, the others scored
        for item, subjects in (("dass_3", [3, 11]), ("dass_2", [7, 11, 30]),
                               ("dass_1", [9, 30, 31])):
            items[item] = items[item].astype(float)
            items.loc[subjects, item] = np.nan
    items.to_csv(folder / "dass21.csv", index=False)
    depression = items[[f"dass_{i}" for i in (3, 5, 10, 13, 16, 17, 21)]].sum(axis=1)
    drive = np.r_[depression.to_numpy(float), np.zeros(5)]
    feats = pd.DataFrame({"ID": ids})
    feats["AU12_r_mean"] = drive + rng.normal(0, 3, N_SUBJECTS)
    feats["AU12_r_max"] = rng.integers(0, 4, N_SUBJECTS).astype(float)       # heavy ties
    gaps = rng.random(N_SUBJECTS) < 0.15
    for stat in ("median", "std"):                                          # shared gaps
        feats[f"AU04_r_{stat}"] = np.where(gaps, np.nan, rng.normal(size=N_SUBJECTS))
    feats["AU04_r_q25"] = np.where(gaps, np.nan, rng.integers(0, 3, N_SUBJECTS))
    feats["AU06_r_min"] = np.where(rng.random(N_SUBJECTS) < 0.3, np.nan,
                                   drive + rng.normal(0, 5, N_SUBJECTS))
    feats["AU45_c_max"] = 1.0                                                 # constant
    feats["AU45_c_min"] = np.where(gaps, np.nan, 0.0)                         # constant, gaps
    feats["pose_Rx_skew"] = np.nan                                            # empty
    feats["pose_Rx_kurtosis"] = np.where(np.arange(N_SUBJECTS) == 4, 1.0, np.nan)  # one value
    feats["pose_Rx_iqr"] = np.where(np.arange(N_SUBJECTS) < 3, np.nan, 0.5)   # 3 gaps, flat
    feats["pose_Ry_range"] = np.round(rng.normal(size=N_SUBJECTS), 1)        # some ties
    feats = feats.iloc[list(range(8, N_SUBJECTS)) + list(range(8))]          # file order
    feats = feats[feats["ID"] != ids[20]]                                    # DASS only
    feats.to_csv(folder / "openface_stats.csv", index=False)
    return folder


def _index(root: Path, partial: bool) -> Path:
    folder = _write_folder(root / "FACES", partial)
    db = root / "index.duckdb"
    import_path(db, folder, "faces")
    return db


@pytest.fixture(scope="module", params=[False, True], ids=["complete", "partial"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[Path, Path, bool]:
    root = tmp_path_factory.mktemp("faces-ranks")
    db = _index(root, request.param)
    # The same index without the rank tables: what an index from an older version holds.
    old = root / "old.duckdb"
    shutil.copy(db, old)
    with duckdb.connect(str(old)) as con:
        for table in faces_rank_store.RANK_TABLES:
            con.execute(f"DROP TABLE {table}")
    return db, old, request.param


def _rank(db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        return fs.rank_all(con)


def test_rank_tables_are_declared_and_filled(built: tuple[Path, Path, bool]) -> None:
    db, _, _ = built
    assert set(faces_rank_store.RANK_TABLES) <= set(TABLES)
    with duckdb.connect(str(db), read_only=True) as con:
        features = con.execute("SELECT count(*) FROM faces_feature_columns").fetchone()[0]
        ranked = con.execute("SELECT count(*), sum(octet_length(ranks)) FROM "
                             "faces_feature_ranks").fetchone()
        slots = con.execute("SELECT count(*) FROM faces_rank_subjects").fetchone()[0]
    assert ranked == (features, features * slots * 2)   # doubled uint16 ranks


def test_stored_path_equals_exact_path(built: tuple[Path, Path, bool]) -> None:
    db, old, partial = built
    fast, exact = _rank(db), _rank(old)
    for s in dass21.SUBSCALES:
        pd.testing.assert_frame_equal(fast[s], exact[s], check_exact=True)
        assert exact[s].attrs["rho_from"].startswith("values: this index has no stored")
        # The ranks are stored for every subject with features and a score: a subscale
        # scored on fewer of them (partial answers) is ranked from their stored order.
        assert fast[s].attrs["rho_from"] == "stored ranks", fast[s].attrs


def test_ranking_equals_scipy(built: tuple[Path, Path, bool]) -> None:
    db, _, _ = built
    folder = db.parent / "FACES"
    feats = pd.read_csv(folder / "openface_stats.csv", dtype={"ID": str}).set_index("ID")
    items = pd.read_csv(folder / "dass21.csv", dtype={"cust_id": str}).set_index("cust_id")
    scores = dass21.score(items)
    merged = feats.join(scores, how="inner")
    ranking = _rank(db)
    for s in dass21.SUBSCALES:
        frame = ranking[s].set_index("feature")
        assert len(frame) == feats.shape[1]
        for name in feats.columns:
            both = merged[[name, s]].astype(float).dropna()
            row = frame.loc[name]
            assert row["n"] == len(both), (s, name)
            if len(both) < 3 or both[name].nunique() < 2:
                assert np.isnan(row["rho"]) and np.isnan(row["q"]), (s, name)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = ss.spearmanr(both[name], both[s])
            assert row["rho"] == pytest.approx(ref.statistic, abs=1e-12), (s, name)
            assert row["p"] == pytest.approx(ref.pvalue, rel=1e-9), (s, name)


def test_progress_and_cancel(built: tuple[Path, Path, bool]) -> None:
    db, _, _ = built
    with duckdb.connect(str(db), read_only=True) as con:
        seen: list[tuple[int, int]] = []
        fs.rank_all(con, progress=lambda d, t: seen.append((d, t)))
        assert seen and seen[-1][0] == seen[-1][1] == len(fs.feature_catalogue(con))
        assert fs.rank_all(con, cancelled=lambda: True) is None


def test_encoding_is_exact() -> None:
    ranks = np.array([[1.0, 2.5, 2.5, np.nan, 4.0]])
    for n, kind in ((5, "u"), (40_000, "f")):
        dtype = fr.rank_dtype(n)
        assert dtype.kind == kind
        np.testing.assert_array_equal(fr.decode(fr.encode(ranks, dtype)), ranks)
    big = np.arange(1, 32_768, 0.5)
    np.testing.assert_array_equal(fr.decode(fr.encode(big, fr.rank_dtype(32_767))), big)


def test_rank_with_gaps_equals_scipy() -> None:
    rng = np.random.default_rng(2)
    values = rng.integers(0, 5, (30, 50)).astype(float)
    values[rng.random(values.shape) < 0.1] = np.nan
    values[3] = np.nan
    got = fr.rank_with_gaps(values)
    for row, ranks in zip(values, got, strict=True):
        ok = np.isfinite(row)
        np.testing.assert_array_equal(np.isnan(ranks), ~ok)
        np.testing.assert_array_equal(ranks[ok], ss.rankdata(row[ok]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_values_path_equals_scipy_and_spearman_matrix(seed: int) -> None:
    """spearman_rows (one sort per feature, scored-only sums by correction) against
    scipy pair by pair and spearman_matrix to the bit: ties, NaN, signed zeros,
    near-equal values, constant rows and subscales each unscored for other subjects."""
    rng = np.random.default_rng(seed)
    n = 157
    values = rng.normal(size=(90, n))
    values[::3] = np.round(values[::3], 1)                                   # ties
    values[1::5] = rng.integers(0, 3, (len(values[1::5]), n))                # heavy ties
    values[2, :20], values[2, 20:40] = 1.0, 1.0 + 1e-14                      # near-equal
    values[4, ::2], values[4, 1::2] = -0.0, 0.0                              # signed zeros
    values[6] = 3.0                                                          # constant
    values[7::9, rng.random(n) < 0.2] = np.nan                               # gaps
    scores = rng.integers(0, 22, (n, 3)) * 2.0
    scores[rng.random(n) < 0.05, 0] = np.nan                                 # partial
    scores[rng.random(n) < 0.10, 1] = np.nan
    scores[:4] = np.nan                                                      # unscored
    rho, pairs = fr.spearman_rows(values, fr.score_ranks(scores))
    exact_rho, exact_pairs = corr.spearman_matrix(values, scores)
    np.testing.assert_array_equal(rho, exact_rho)
    np.testing.assert_array_equal(pairs, exact_pairs)
    threaded = fr.spearman_rows(values, fr.score_ranks(scores), workers=2)
    np.testing.assert_array_equal(threaded[0], rho)
    for i, row in enumerate(values):
        for j in range(3):
            ok = np.isfinite(row) & np.isfinite(scores[:, j])
            assert pairs[i, j] == ok.sum()
            if np.unique(row[ok]).size < 2:
                assert np.isnan(rho[i, j])
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = ss.spearmanr(row[ok], scores[ok, j]).statistic
            assert rho[i, j] == pytest.approx(ref, abs=1e-12), (i, j)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stored_order_path_equals_values_path(seed: int) -> None:
    """rho from stored ranks for subscales scored on subsets (partial answers) is the
    values path's to the bit: the order and ties come from the stored uint16 ranks (one
    packed sort), the float32 storage takes the argsort path, gaps re-rank."""
    rng = np.random.default_rng(seed)
    n = 211
    values = rng.normal(size=(150, n))
    values[::3] = np.round(values[::3], 1)                                   # ties
    values[1::5] = rng.integers(0, 3, (len(values[1::5]), n))                # heavy ties
    values[6] = 3.0                                                          # constant
    values[7::9, rng.random(n) < 0.2] = np.nan                               # gaps
    scores = rng.integers(0, 22, (n, 3)) * 2.0
    scores[rng.random(n) < 0.05, 0] = np.nan
    scores[rng.random(n) < 0.10, 1] = np.nan
    scores[rng.random(n) < 0.02, 2] = np.nan
    keep = np.isfinite(scores).any(axis=1)        # the stored subjects have a score
    values, scores = values[:, keep], scores[keep]
    expected = fr.spearman_rows(values, fr.score_ranks(scores))
    ranks = fr.rank_with_gaps(values)
    counts = np.isfinite(ranks).sum(axis=1)
    for dtype in (fr.rank_dtype(len(scores)), np.dtype("<f4")):
        rho = np.full((len(values), 3), np.nan)
        pairs = np.zeros((len(values), 3), dtype=np.int64)
        fr.subset_block_rho(rho, pairs, np.arange(len(values)), np.arange(3),
                             fr.encode(ranks, dtype), counts, fr.score_ranks(scores))
        np.testing.assert_array_equal(rho, expected[0], err_msg=str(dtype))
        np.testing.assert_array_equal(pairs, expected[1], err_msg=str(dtype))


def test_blocks_ranked_on_worker_threads_give_the_same_ranking(
        built: tuple[Path, Path, bool], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two features per block: the workers rank many blocks at once, each its own rows."""
    db, old, _ = built
    one_block = {name: _rank(path) for name, path in (("stored", db), ("values", old))}
    monkeypatch.setattr(fs, "BLOCK_COLUMNS", 2)
    monkeypatch.setattr(faces_rank_store, "BLOCK_FEATURES", 2)
    for name, path in (("stored", db), ("values", old)):
        many = _rank(path)
        for s in dass21.SUBSCALES:
            pd.testing.assert_frame_equal(many[s], one_block[name][s], check_exact=True)
        _reports_each_block_and_stops_when_cancelled(path)


def _reports_each_block_and_stops_when_cancelled(db: Path) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        seen: list[tuple[int, int]] = []
        fs.rank_all(con, progress=lambda d, t: seen.append((d, t)))
        done = [d for d, _ in seen]
        assert done == sorted(done) and done[-1] == len(fs.feature_catalogue(con))
        assert len(set(done)) > 3                    # one report per block
        calls: list[int] = []

        def after_two_blocks() -> bool:
            calls.append(1)
            return len(calls) > 2

        assert fs.rank_all(con, cancelled=after_two_blocks) is None
