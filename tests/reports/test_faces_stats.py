"""FACES statistics on the small sample: against pandas + scipy/statsmodels on the CSVs.

The sample's feature file is cut to the planted effects' columns, a few constant ones and
a random few hundred others before import, so the index builds in seconds.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss
from statsmodels.stats.multitest import multipletests

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import DASS_BANDS, FACES_STATS
from faceexplorer.datasets.registry import import_path
from faceexplorer.reports import faces_stats as fs
from faceexplorer.reports.faces_report import faces_report, format_faces_report
from faceexplorer.samples.faces import FEATURE_COLUMNS, FacesSample, write_faces
from faceexplorer.stats import dass21

CONSTANT = ("AU45_c_max", "AU45_c_min")  # presences: max 1 and min 0 for everyone


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> FacesSample:
    root = tmp_path_factory.mktemp("faces-stats")
    sample = write_faces(root, "small", np.random.default_rng(0))
    bases = {e.feature.rsplit("_", 1)[0] for e in sample.effects}
    keep = [c for c in FEATURE_COLUMNS if c.rsplit("_", 1)[0] in bases]
    rng = np.random.default_rng(1)
    keep += [c for c in rng.choice(FEATURE_COLUMNS, 300, replace=False) if c not in keep]
    keep += [c for c in CONSTANT if c not in keep]
    table = pd.read_csv(sample.features, usecols=["ID", *keep], dtype={"ID": str})
    table[["ID", *keep]].to_csv(sample.features, index=False)
    return sample


@pytest.fixture(scope="module")
def con(sample: FacesSample, tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("faces-db") / "index.duckdb"
    import_path(db, sample.root, "faces")
    c = duckdb.connect(str(db), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def merged(sample: FacesSample) -> pd.DataFrame:
    """Features joined to DASS scores computed by stats.dass21 from the item CSV."""
    items = pd.read_csv(sample.dass21, dtype={"cust_id": str}).set_index("cust_id")
    scores = dass21.score(items)
    feats = pd.read_csv(sample.features, dtype={"ID": str}).set_index("ID")
    return feats.join(scores, how="left")


@pytest.fixture(scope="module")
def ranking(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    return fs.rank_all(con)


def test_overview_matches_baseinfo(con: duckdb.DuckDBPyConnection, sample: FacesSample) -> None:
    info = pd.read_csv(sample.baseinfo, dtype={"cust_id": str})
    out = fs.subject_overview(con)
    assert out["subjects"] == sample.n_baseinfo
    assert out["with_features"] == out["with_dass"] == sample.n_subjects
    assert out["gender"] == info["gender"].value_counts().to_dict()
    assert {g["grade_name"]: g["subjects"] for g in out["grades"]} == \
        info["grade_name"].value_counts().to_dict()
    assert [g["grade"] for g in out["grades"]] == sorted(g["grade"] for g in out["grades"])
    assert sum(out["ages"].values()) == len(info)
    rows = fs.subjects(con, limit=5)
    assert list(rows["subject_id"]) == sorted(info["cust_id"])[:5]
    one = sorted(info["cust_id"])[7]
    assert list(fs.subjects(con, search=one)["subject_id"]) == [one]


def test_dass_distributions_match_item_scoring(con: duckdb.DuckDBPyConnection,
                                               sample: FacesSample) -> None:
    items = pd.read_csv(sample.dass21)
    scores = dass21.score(items)
    out = fs.dass_distributions(con)
    for s in dass21.SUBSCALES:
        d = out[s]
        assert d["n"] == len(items)
        assert d["mean"] == pytest.approx(float(scores[s].mean()))
        counts = scores[f"{s}_band"].value_counts()
        assert [b["count"] for b in d["bands"]] == [int(counts.get(b, 0)) for b in DASS_BANDS]
        assert sum(d["histogram"]["counts"]) == d["n"]
        hist = scores[s].value_counts()
        assert d["histogram"]["counts"] == [int(hist.get(x, 0))
                                            for x in d["histogram"]["scores"]]


def test_stored_totals_are_reported_undoubled(con: duckdb.DuckDBPyConnection) -> None:
    out = fs.stored_totals(con)
    for s in dass21.SUBSCALES:
        assert out[s]["verdict"] == "undoubled"  # the sample writes un-doubled sums
        assert out[s]["rows"]["doubled"] == 0 and out[s]["rows"]["undoubled"] > 0
        # why the 'missing' rows were not compared, one reason each (issue 14)
        assert sum(out[s]["not_compared"].values()) == out[s]["rows"]["missing"]


def test_feature_search(con: duckdb.DuckDBPyConnection) -> None:
    assert fs.search_features(con, "au12_r_m") == ["AU12_r_mean", "AU12_r_median",
                                                    "AU12_r_max", "AU12_r_min"]
    assert fs.search_features(con, "%") == []            # a literal, not a wildcard
    assert len(fs.search_features(con, "AU12_r", limit=3)) == 3


def test_feature_view_against_scipy(con: duckdb.DuckDBPyConnection,
                                    merged: pd.DataFrame) -> None:
    view = fs.feature_view(con, "AU12_r_mean")
    assert (view.base_column, view.stat) == ("AU12_r", "mean")
    assert len(view.values) == len(merged)
    for s in dass21.SUBSCALES:
        both = merged[["AU12_r_mean", s]].dropna()
        ref = ss.spearmanr(both["AU12_r_mean"], both[s].astype(float))
        r = view.correlation[s]
        assert r.n == len(both)
        assert r.rho == pytest.approx(ref.statistic, abs=1e-12)
        assert r.p == pytest.approx(ref.pvalue, rel=1e-9)
        assert r.ci_low < r.rho < r.ci_high
        x, y = view.scatter(s)
        assert len(x) == len(y) == len(both)
        per_band = merged.groupby(merged[f"{s}_band"].astype(str))["AU12_r_mean"].size()
        assert {b: len(v) for b, v in view.by_band[s].items()} == \
            {b: int(per_band.get(b, 0)) for b in DASS_BANDS}
    with pytest.raises(FaceExplorerError, match="AU12_r_mean"):
        fs.feature_view(con, "AU12_r_average")


def test_planted_effects_rank_at_the_top(ranking: dict[str, pd.DataFrame],
                                         sample: FacesSample) -> None:
    for s in dass21.SUBSCALES:
        frame = ranking[s]
        planted = {e.feature.rsplit("_", 1)[0] for e in sample.effects if e.subscale == s}
        # The top feature is a statistic of a planted column (or its AU presence twin).
        top_base = frame["base_column"].iloc[0]
        assert top_base in planted or top_base.replace("_c", "_r") in planted
        for e in sample.effects:
            if e.subscale == s and e.strength >= 0.35:
                row = frame[frame["feature"] == e.feature].iloc[0]
                assert np.sign(row["rho"]) == e.sign
                assert row["q"] < 0.01
                assert row.name < 40, (e.feature, row.name)


def test_ranking_equals_scipy_and_statsmodels(ranking: dict[str, pd.DataFrame],
                                              merged: pd.DataFrame) -> None:
    frame = ranking["stress"].set_index("feature")
    assert list(ranking["stress"].columns) == list(fs.RANKING_COLUMNS)
    strength = ranking["stress"]["rho"].abs().to_numpy()
    defined = ~np.isnan(strength)
    assert np.all(np.diff(strength[defined]) <= 0) and not defined[defined.sum():].any()
    for name in ["AU04_r_mean", "AU07_r_q25", "pose_Rx_std", frame.index[-200]]:
        both = merged[[name, "stress"]].dropna()
        ref = ss.spearmanr(both[name], both["stress"].astype(float))
        assert frame.at[name, "rho"] == pytest.approx(ref.statistic, abs=1e-12)
        assert frame.at[name, "p"] == pytest.approx(ref.pvalue, rel=1e-9)
    p = frame["p"].dropna()
    np.testing.assert_allclose(frame.loc[p.index, "q"], multipletests(p, method="fdr_bh")[1],
                               rtol=1e-12)
    assert frame.loc[list(CONSTANT), "rho"].isna().all()      # zero variance: NaN, last
    assert frame.loc[list(CONSTANT), "q"].isna().all()
    assert ranking["stress"]["rho"].iloc[-len(CONSTANT):].isna().all()
    assert len(frame) == len(merged.columns) - 3 * 3          # raw, doubled, band each


def test_rank_features_one_subscale_and_export(con: duckdb.DuckDBPyConnection,
                                               ranking: dict[str, pd.DataFrame],
                                               tmp_path: Path) -> None:
    single = fs.rank_features(con, "anxiety")
    pd.testing.assert_frame_equal(single, ranking["anxiety"])
    path = fs.export_ranking(single, tmp_path / "anxiety.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == list(fs.RANKING_COLUMNS)
    np.testing.assert_array_equal(back["rho"].to_numpy(), single["rho"].to_numpy())
    assert back["feature"].tolist() == single["feature"].tolist()
    with pytest.raises(FaceExplorerError, match="subscale"):
        fs.rank_features(con, "sadness")


def test_report_is_json_and_text(con: duckdb.DuckDBPyConnection) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = faces_report(con, "depression", top=5)
    text = json.dumps(report)
    assert "NaN" not in text
    assert list(report["ranking"]) == ["depression"]
    assert len(report["ranking"]["depression"]["top"]) == 5
    out = format_faces_report(report)
    assert "undoubled" in out and "Features by |rho| with depression" in out
    assert report["ranking"]["depression"]["top"][0]["feature"] in out


def test_no_faces_data_is_a_clear_error() -> None:
    con = duckdb.connect()
    with pytest.raises(FaceExplorerError, match="index add faces"):
        faces_report(con)
    assert len(FACES_STATS) == 12
