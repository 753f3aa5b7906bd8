"""Crowd report from the index, on the real AffectNetC25 files.

The index tables are built two ways: by hand here with pandas + DuckDB (the documented
schema, so these tests do not depend on the importer) and through the real importer
(``registry.import_path``); both must give the same statistics. Figures are checked
against the reference libraries on the raw CSVs, not against this package's own functions.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from faceexplorer.core.vocab import C25_CODES, EXPRESSIONS
from faceexplorer.reports import crowd_report as cr

krippendorff = pytest.importorskip("krippendorff")
inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")


def _c25_dir() -> Path:
    here = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "affectnetc25"
    return here if here.is_dir() else Path("/work/shared/data/affectnetc25")


C25 = _c25_dir()
pytestmark = pytest.mark.skipif(not (C25 / "expression_set1_C25.csv").is_file(),
                                reason=f"real AffectNetC25 files not found in {C25}")
TASKS = ("expression", "valence", "arousal")


def _raw(task: str, c25_set: int) -> pd.DataFrame:
    return pd.read_csv(C25 / f"{task}_set{c25_set}_C25.csv")


def _build_c25_tables(con: duckdb.DuckDBPyConnection) -> None:
    """c25_images and c25_votes in the importer's documented schema, from the CSVs."""
    images, votes = [], []
    for s in (1, 2):
        for task in TASKS:
            raw = _raw(task, s)
            if task == "expression":
                images.append(pd.DataFrame({
                    "c25_set": s, "image_index": raw["index"], "filename": raw["filename"],
                    "file": str(C25 / f"expression_set{s}_C25.csv"),
                    "line": np.arange(len(raw)) + 2}))
            long = raw.drop(columns="filename").melt(
                id_vars="index", var_name="participant", value_name="vote_raw")
            votes.append(pd.DataFrame({
                "c25_set": s, "task": task, "image_index": long["index"],
                "annotator": f"set{s}/" + long["participant"],
                "vote_raw": long["vote_raw"].astype(float),
                "expression": (long["vote_raw"].map(C25_CODES) if task == "expression"
                               else None),
                "value": None if task == "expression" else long["vote_raw"].astype(float)}))
    img, vot = pd.concat(images), pd.concat(votes)  # noqa: F841 - read by DuckDB by name
    con.execute("""CREATE TABLE c25_images AS SELECT c25_set::INTEGER AS c25_set,
        image_index::BIGINT AS image_index, filename, file, line::BIGINT AS line FROM img""")
    con.execute("""CREATE TABLE c25_votes AS SELECT c25_set::INTEGER AS c25_set, task,
        image_index::BIGINT AS image_index, annotator, vote_raw,
        expression::VARCHAR AS expression, value::DOUBLE AS value FROM vot""")


def _affectnet_labels() -> pd.DataFrame:
    """Fake AffectNet training rows for set 1: 700 of 800 images linked, one bad filename."""
    raw = _raw("expression", 1)
    majority = raw.iloc[:, 2:].mode(axis=1)[0].map(C25_CODES)
    rng = np.random.default_rng(7)
    label = np.where(rng.random(len(raw)) < 0.6, majority,
                     np.array(EXPRESSIONS)[rng.integers(0, 8, len(raw))])
    rows = pd.DataFrame({"split": "train", "row_index": raw["index"],
                         "filename": raw["filename"], "expression": label,
                         "valence": rng.uniform(-1, 1, len(raw)),
                         "arousal": rng.uniform(-1, 1, len(raw))}).iloc[:700].copy()
    rows.loc[0, "filename"] = "not-the-same.jpg"  # a row that must not link
    return rows


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    _build_c25_tables(con)
    affectnet = _affectnet_labels()  # noqa: F841 - read by DuckDB by name
    con.execute("CREATE TABLE affectnet_images AS SELECT * FROM affectnet")
    return con


@pytest.fixture(scope="module")
def report(con: duckdb.DuckDBPyConnection) -> dict:
    return cr.crowd_report(con)


def test_report_figures_equal_reference_libraries(report: dict) -> None:
    json.dumps(report, allow_nan=False)  # JSON-ready, no NaN
    assert list(report["sets"]) == ["1", "2"]
    for s in (1, 2):
        rep = report["sets"][str(s)]
        raw = _raw("expression", s).iloc[:, 2:]
        e = rep["expression"]
        assert (e["n_images"], e["n_annotators"]) == (800, 25)
        table, _ = inter_rater.aggregate_raters(raw.to_numpy())
        assert e["fleiss_kappa"] == pytest.approx(inter_rater.fleiss_kappa(table), abs=1e-12)
        assert e["krippendorff_alpha_nominal"] == pytest.approx(krippendorff.alpha(
            reliability_data=raw.to_numpy().T, level_of_measurement="nominal"), abs=1e-12)
        assert e["ties"] == int((raw.mode(axis=1).notna().sum(axis=1) > 1).sum())
        assert sum(e["agreement_histogram"].values()) == 800
        assert len(e["annotators"]) == 25 and e["annotators"][0]["rank"] == 1
        assert all(a["annotator"].startswith(f"set{s}/participant") for a in e["annotators"])
        ds = e["dawid_skene"]
        assert ds["converged"] and 0.75 < ds["agreement_with_majority"] < 0.95
        assert sum(ds["priors"].values()) == pytest.approx(1)
        for task in ("valence", "arousal"):
            v = _raw(task, s).iloc[:, 2:].to_numpy()
            t = rep[task]
            assert t["krippendorff_alpha_interval"] == pytest.approx(krippendorff.alpha(
                reliability_data=v.T, level_of_measurement="interval"), abs=1e-12)
            assert t["krippendorff_alpha_ordinal"] == pytest.approx(krippendorff.alpha(
                reliability_data=v.T, level_of_measurement="ordinal"), abs=1e-12)
            icc = t["icc"]["ICC(2,1)"]
            assert icc["ci_low"] < icc["value"] < icc["ci_high"]
            assert set(t["icc"]) == {"ICC(2,1)", "ICC(2,k)"}


def test_set1_ranking_and_published_style_figures(report: dict) -> None:
    e = report["sets"]["1"]["expression"]
    assert e["annotators"][0]["annotator"] == "set1/participant14"
    assert e["annotators"][-1]["annotator"] == "set1/participant10"
    # Figures of the real files (computed once, pinned): Fleiss' kappa per set.
    assert round(e["fleiss_kappa"], 4) == 0.2830
    assert round(report["sets"]["2"]["expression"]["fleiss_kappa"], 4) == 0.3922


def test_majority_vs_affectnet_confusion(report: dict) -> None:
    link = report["sets"]["1"]["expression"]["affectnet"]
    assert link["linked"] == 699  # 700 rows, one with a different file name
    raw = _raw("expression", 1)
    majority = raw.iloc[:, 2:].mode(axis=1)[0].map(C25_CODES).iloc[1:700]
    reference = _affectnet_labels()["expression"].iloc[1:700]
    expected = pd.crosstab(pd.Categorical(reference, categories=EXPRESSIONS),
                           pd.Categorical(majority, categories=EXPRESSIONS), dropna=False)
    got = pd.DataFrame(link["confusion"]).T.loc[list(EXPRESSIONS), list(EXPRESSIONS)]
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    assert link["majority_equals_affectnet"] == pytest.approx(
        np.mean(reference.to_numpy() == majority.to_numpy()))
    assert report["sets"]["2"]["expression"]["affectnet"] is None
    assert report["sets"]["1"]["valence"]["affectnet"]["linked"] == 699


def test_set_image_stats_match_raw_files(con: duckdb.DuckDBPyConnection) -> None:
    stats = cr.set_image_stats(con, 2)
    raw = _raw("expression", 2)
    assert len(stats) == 800
    assert stats["image_index"].tolist() == raw["index"].tolist()
    assert stats["filename"].tolist() == raw["filename"].tolist()
    assert stats["majority_label"].tolist() == raw.iloc[:, 2:].mode(axis=1)[0].map(
        C25_CODES).tolist()
    valence = _raw("valence", 2).iloc[:, 2:]
    np.testing.assert_allclose(stats["valence_mean"], valence.mean(axis=1))
    np.testing.assert_allclose(stats["arousal_std"], _raw("arousal", 2).iloc[:, 2:].std(axis=1))
    assert stats["ds_label"].isin(EXPRESSIONS).all()
    assert stats["affectnet_expression"].isna().all()  # set 2 has no AffectNet rows here


def test_image_votes_for_a_tied_image(con: duckdb.DuckDBPyConnection) -> None:
    raw = _raw("expression", 1)
    modes = raw.iloc[:, 2:].mode(axis=1)
    row = int(np.flatnonzero(modes.notna().sum(axis=1) > 1)[0])
    detail = cr.image_votes(con, 1, int(raw["index"][row]))
    json.dumps(detail, allow_nan=False)
    assert detail["tie"] and detail["majority"] == C25_CODES[int(modes.iloc[row, 0])]
    assert sorted(detail["tied_labels"]) == sorted(
        C25_CODES[int(c)] for c in modes.iloc[row].dropna())
    assert [v["annotator"] for v in detail["votes"]] == [
        f"set1/participant{i}" for i in range(25)]
    assert [v["expression"] for v in detail["votes"]] == [
        C25_CODES[int(c)] for c in raw.iloc[row, 2:]]
    valence = _raw("valence", 1).iloc[row, 2:].astype(float)
    assert [v["valence"] for v in detail["votes"]] == valence.tolist()
    assert detail["valence"]["mean"] == pytest.approx(valence.mean())
    assert detail["valence"]["majority"] == valence.mode()[0]
    assert sum(detail["counts"].values()) == 25
    assert detail["filename"] == raw["filename"][row]
    assert (detail["affectnet"] is not None) == (0 < row < 700)


def test_image_votes_unknown_image_and_set(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(KeyError, match="no AffectNetC25 image"):
        cr.image_votes(con, 1, -5)
    with pytest.raises(KeyError, match="set 3 is not in the index"):
        cr.set_image_stats(con, 3)


def test_format_crowd_report_is_readable(report: dict) -> None:
    text = cr.format_crowd_report(report)
    e = report["sets"]["1"]["expression"]
    assert "AffectNetC25 set 1: 800 images x 25 annotators" in text
    assert f"{e['fleiss_kappa']:.3f}" in text
    assert "set1/participant14" in text and "ICC(2,1)" in text
    assert "Crowd majority vs AffectNet label (699 linked images" in text
    assert "nan" not in text.lower()
    assert cr.format_crowd_report({"sets": {}}) == "No AffectNetC25 set in the index."


def test_importer_tables_give_the_same_statistics(tmp_path: Path,
                                                  con: duckdb.DuckDBPyConnection) -> None:
    pytest.importorskip("faceexplorer.datasets.affectnet_c25")
    from faceexplorer.datasets import registry
    from faceexplorer.index.store import connect

    db = tmp_path / "index.duckdb"
    registry.import_path(db, C25, "affectnet-c25")
    imported = connect(db, read_only=True)
    try:
        assert cr.c25_sets(imported) == [1, 2]
        for task in TASKS:
            pd.testing.assert_frame_equal(cr.vote_matrix(imported, 1, task),
                                          cr.vote_matrix(con, 1, task))
        ours = cr.set_image_stats(imported, 1, with_dawid_skene=False)
        ref = cr.set_image_stats(con, 1, with_dawid_skene=False)
        cols = [c for c in ref.columns if not c.startswith("affectnet_")]
        pd.testing.assert_frame_equal(ours[cols], ref[cols], check_dtype=False)
        assert cr.crowd_report(duckdb.connect())["sets"] == {}
    finally:
        imported.close()
