"""HRM statistics on the index, checked against pandas computed straight from the sample
writer's CSV files, and against reference libraries: statsmodels (Wilson, Cohen's kappa,
two-way ANOVA for the ICC), the ``krippendorff`` package (ordinal alpha) and scipy
(point-biserial r). Plus hand-made files for the edges (unrated child, constant raters)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import krippendorff
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy.stats import pointbiserialr
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import (
    HRM_AU22,
    HRM_AU_COLUMNS,
    HRM_LABEL_HEADER,
    HRM_RATERS,
    OPENFACE_TO_HRM,
)
from faceexplorer.datasets.registry import import_path
from faceexplorer.reports import hrm_stats as hs
from faceexplorer.reports.hrm_report import format_hrm_report, hrm_report
from faceexplorer.samples.hrm import HRMSample, write_hrm
from faceexplorer.samples.openface import OpenFaceSample, write_openface


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, HRMSample, OpenFaceSample]:
    root = tmp_path_factory.mktemp("hrm-stats")
    hrm = write_hrm(root, "small", np.random.default_rng(5), images=False)
    written = write_openface(root, hrm, "small", np.random.default_rng(6))
    # one file of each style (comma, Windows comma-space): importing is the slow part
    openface = OpenFaceSample(written.root, written.files[:2])
    db = root / "index.duckdb"
    import_path(db, root / "HRM", "hrm")
    for f in openface.files:
        import_path(db, f.path, "openface")
    return db, hrm, openface


@pytest.fixture(scope="module")
def con(sample: tuple[Path, HRMSample, OpenFaceSample]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(sample[0]), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def frames(sample: tuple[Path, HRMSample, OpenFaceSample]) -> pd.DataFrame:
    """Every child's CSV read by pandas: the reference the index is checked against."""
    parts = []
    for child in sample[1].children:
        table = pd.read_csv(child.csv)
        table.insert(0, "grp", child.group)
        table.insert(0, "child", child.name)
        parts.append(table)
    table = pd.concat(parts, ignore_index=True)
    table["atypicality"] = table[list(HRM_RATERS)].mean(axis=1)
    return table


# --- prevalence -------------------------------------------------------------------------
def test_prevalence_counts_and_wilson_match_pandas(con: duckdb.DuckDBPyConnection,
                                                   frames: pd.DataFrame) -> None:
    assert (frames[list(HRM_AU22)] > 1).any().any(), "sample should carry laterality codes"
    table = hs.prevalence_by_group(con, HRM_AU_COLUMNS).set_index(["au", "group"])
    for group, part in (("ASD", frames[frames.grp == "ASD"]),
                        ("TD", frames[frames.grp == "TD"]), ("all", frames)):
        for au in HRM_AU_COLUMNS:
            row = table.loc[(au, group)]
            active = int((part[au] != 0).sum())
            assert (row.frames, row.active) == (len(part), active), (au, group)
            assert row.children == part.child.nunique()
            assert row.share == pytest.approx(active / len(part))
            low, high = proportion_confint(active, len(part), method="wilson")
            assert (row.wilson_low, row.wilson_high) == pytest.approx((low, high), abs=1e-12)
    diff = table.xs("ASD-TD", level="group")
    asd, td = table.xs("ASD", level="group"), table.xs("TD", level="group")
    assert np.allclose(diff.share, asd.share - td.share)


def test_prevalence_child_bootstrap(con: duckdb.DuckDBPyConnection) -> None:
    a = hs.prevalence_by_group(con, seed=3)
    b = hs.prevalence_by_group(con, seed=3)
    pd.testing.assert_frame_equal(a, b)  # fixed seed: the same interval every run
    rows = a[a.group != "ASD-TD"]
    assert (rows.boot_low <= rows.share + 1e-12).all()
    assert (rows.share <= rows.boot_high + 1e-12).all()
    # children differ far more than frames are binomial: the cluster interval is wider
    common = rows[(rows.share > 0.05) & (rows.group == "all")]
    assert ((common.boot_high - common.boot_low) > (common.wilson_high - common.wilson_low)).all()
    assert list(a.au.unique()) == list(HRM_AU22)
    with pytest.raises(ValueError, match="AU99"):
        hs.prevalence_by_group(con, ["AU1", "AU99"])


def test_child_prevalence(con: duckdb.DuckDBPyConnection, frames: pd.DataFrame) -> None:
    part = frames[frames.child == "S3"]
    table = hs.child_prevalence(con, "S3").set_index("au")
    for au in HRM_AU22:
        assert table.at[au, "active"] == (part[au] != 0).sum()
        assert table.at[au, "frames"] == len(part)
    with pytest.raises(FaceExplorerError, match="'S99' is not in the HRM index"):
        hs.child_prevalence(con, "S99")


# --- co-occurrence, segments, atypicality -------------------------------------------------
@pytest.mark.parametrize("child", [None, "S2"])
def test_cooccurrence_matches_pandas(con: duckdb.DuckDBPyConnection, frames: pd.DataFrame,
                                     child: str | None) -> None:
    part = frames if child is None else frames[frames.child == child]
    x = (part[list(HRM_AU_COLUMNS)] != 0).astype(int)
    got = hs.cooccurrence(con, child, HRM_AU_COLUMNS)
    assert got["frames"] == len(part)
    assert np.array_equal(got["counts"].to_numpy(), (x.T @ x).to_numpy())
    both = (x["AU12"] & x["AU6"]).sum()
    if x["AU12"].sum():
        assert got["conditional"].at["AU12", "AU6"] == pytest.approx(both / x["AU12"].sum())
    # the sample nests AU6 inside AU12 and AU2X inside AU25, as smiles and jaw drops do
    if x["AU6"].sum():
        assert got["conditional"].at["AU6", "AU12"] == 1.0


def test_segment_summary_matches_pandas(con: duckdb.DuckDBPyConnection, frames: pd.DataFrame,
                                        sample: tuple[Path, HRMSample, OpenFaceSample]) -> None:
    for child in sample[1].children:
        part = frames[frames.child == child.name].sort_values("frame")
        part = part.assign(segment=(part.frame.diff() != 1).cumsum())
        ref = part.groupby("segment").agg(start_frame=("frame", "min"),
                                          end_frame=("frame", "max"),
                                          n_frames=("frame", "size"),
                                          mean_atypicality=("atypicality", "mean"))
        got = hs.segment_summary(con, child.name).set_index("segment")
        assert list(got.index) == list(ref.index)
        assert list(zip(got.start_frame, got.end_frame, strict=True)) == list(child.segments)
        assert (got.n_frames == ref.n_frames).all()
        assert np.allclose(got.mean_atypicality, ref.mean_atypicality)
        shares = (part[list(HRM_AU22)] != 0).groupby(part.segment).mean()
        assert np.allclose(got[list(HRM_AU22)].to_numpy(), shares.to_numpy())


@pytest.mark.parametrize(("child", "group"), [(None, None), (None, "ASD"), ("S1", None)])
def test_au_vs_atypicality_matches_scipy(con: duckdb.DuckDBPyConnection, frames: pd.DataFrame,
                                         child: str | None, group: str | None) -> None:
    part = frames
    if child is not None:
        part = part[part.child == child]
    if group is not None:
        part = part[part.grp == group]
    got = hs.au_vs_atypicality(con, child=child, group=group).set_index("au")
    for au in HRM_AU22:
        on = part[au] != 0
        assert got.at[au, "active_frames"] == on.sum()
        if 0 < on.sum() < len(part):
            r = pointbiserialr(on.astype(int), part.atypicality).statistic
            assert got.at[au, "point_biserial"] == pytest.approx(r, abs=1e-9)
            assert got.at[au, "mean_active"] == pytest.approx(part.atypicality[on].mean())
            assert got.at[au, "mean_inactive"] == pytest.approx(part.atypicality[~on].mean())
        else:
            assert np.isnan(got.at[au, "point_biserial"])


# --- raters -------------------------------------------------------------------------------
def anova_icc(x: np.ndarray) -> tuple[float, float]:
    """ICC(2,1) and ICC(2,k) from statsmodels' two-way ANOVA (Shrout & Fleiss 1979)."""
    n, k = x.shape
    long = pd.DataFrame({"y": x.ravel(), "target": np.repeat(np.arange(n), k),
                         "rater": np.tile(np.arange(k), n)})
    ss = anova_lm(smf.ols("y ~ C(target) + C(rater)", long).fit(), typ=1)
    return icc_from_mean_squares(ss.loc["C(target)", "mean_sq"],
                                 ss.loc["C(rater)", "mean_sq"],
                                 ss.loc["Residual", "mean_sq"], n, k)


def pandas_icc(x: np.ndarray) -> tuple[float, float]:
    """The same from textbook sums of squares (row, column and residual) in pandas."""
    n, k = x.shape
    frame = pd.DataFrame(x)
    grand = frame.to_numpy().mean()
    ss_rows = k * ((frame.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((frame.mean(axis=0) - grand) ** 2).sum()
    ss_err = ((frame - grand) ** 2).to_numpy().sum() - ss_rows - ss_cols
    return icc_from_mean_squares(ss_rows / (n - 1), ss_cols / (k - 1),
                                 ss_err / ((n - 1) * (k - 1)), n, k)


def icc_from_mean_squares(bms: float, jms: float, ems: float, n: int,
                          k: int) -> tuple[float, float]:
    single = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
    return single, (bms - ems) / (bms + (jms - ems) / n)


def test_rater_agreement_matches_references(con: duckdb.DuckDBPyConnection,
                                            frames: pd.DataFrame) -> None:
    part = frames[frames.child == "S1"]
    x = part[list(HRM_RATERS)].to_numpy(float)
    got = hs.rater_agreement(con, "S1")
    assert got["frames"] == len(part)
    single, average = pandas_icc(x)
    assert got["icc"]["ICC(2,1)"]["value"] == pytest.approx(single)
    assert got["icc"]["ICC(2,k)"]["value"] == pytest.approx(average)
    for v in got["icc"].values():
        assert v["ci_low"] < v["value"] < v["ci_high"]
    alpha = krippendorff.alpha(reliability_data=x.T, level_of_measurement="ordinal")
    assert got["krippendorff_alpha_ordinal"] == pytest.approx(alpha)
    for j, r in enumerate(got["raters"]):
        others = part[[c for c in HRM_RATERS if c != r["rater"]]].mean(axis=1)
        assert r["rater"] == HRM_RATERS[j]
        assert r["mean"] == pytest.approx(x[:, j].mean())
        assert r["sd"] == pytest.approx(part[HRM_RATERS[j]].std())
        assert r["r_with_others"] == pytest.approx(part[HRM_RATERS[j]].corr(others))


def test_icc_reference_agrees_with_statsmodels_anova(frames: pd.DataFrame) -> None:
    # the pandas reference above, itself checked on 40 frames by statsmodels' OLS ANOVA
    x = frames[frames.child == "S1"][list(HRM_RATERS)].to_numpy(float)[:40]
    assert pandas_icc(x) == pytest.approx(anova_icc(x))


def test_rater_agreement_over_all_frames(con: duckdb.DuckDBPyConnection,
                                         frames: pd.DataFrame) -> None:
    x = frames[list(HRM_RATERS)].to_numpy(float)
    got = hs.rater_agreement(con)
    assert got["frames"] == len(frames)
    alpha = krippendorff.alpha(reliability_data=x.T, level_of_measurement="ordinal")
    assert got["krippendorff_alpha_ordinal"] == pytest.approx(alpha)
    assert got["icc"]["ICC(2,k)"]["value"] > got["icc"]["ICC(2,1)"]["value"] > 0.5


# --- OpenFace -----------------------------------------------------------------------------
# statsmodels warns computing kappa's z statistic for rare AUs; only kappa is used here
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_openface_agreement_matches_pandas(con: duckdb.DuckDBPyConnection,
                                           frames: pd.DataFrame,
                                           sample: tuple[Path, HRMSample, OpenFaceSample]
                                           ) -> None:
    styles = set()
    wanted = {"frame", "success", *(f"{a}_c" for a in OPENFACE_TO_HRM)}
    for f in sample[2].files:
        styles.add(f.style)
        of = pd.read_csv(f.path, skipinitialspace=True, usecols=lambda c: c.strip() in wanted)
        human = frames[frames.child == f.child]
        # OpenFace counts video frames from 1; HRM's frame k is OpenFace's k + 1
        joined = human.assign(of_frame=human.frame + 1).merge(
            of, left_on="of_frame", right_on="frame", how="left", suffixes=("", "_of"))
        tracked = joined[joined.success == 1]
        got = hs.openface_agreement(con, f.child)
        assert got["labelled_frames"] == len(human)
        assert got["aligned"] == len(tracked)
        assert got["failed"] == int((joined.success == 0).sum())
        table = got["aus"].set_index("openface_au")
        for of_au, hrm_au in OPENFACE_TO_HRM.items():
            h, m = tracked[hrm_au] != 0, tracked[f"{of_au}_c"] != 0
            tp, fp, fn = int((h & m).sum()), int((~h & m).sum()), int((h & ~m).sum())
            row = table.loc[of_au]
            assert row.hrm_au == hrm_au and row.frames == len(tracked)
            assert row.prevalence_human == pytest.approx(h.mean())
            assert row.prevalence_openface == pytest.approx(m.mean())
            if tp + fp + fn:
                assert row.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn))
            if 0 < h.mean() < 1 or 0 < m.mean() < 1:
                ref = cohens_kappa(np.array([[tp, fn], [fp, len(tracked) - tp - fp - fn]]))
                assert row.kappa == pytest.approx(ref.kappa, abs=1e-12)
        # the writer's own figure: agreement over tracked labelled frames and mapped AUs
        accuracy = 1 - (table.prevalence_human + table.prevalence_openface
                        - 2 * table.precision.fillna(0) * table.prevalence_openface)
        assert accuracy.mean() == pytest.approx(f.agreement)
        assert "AU27" in table.at["AU26", "note"]
    assert styles == {"comma", "comma_space"}


def test_openface_missing_child(con: duckdb.DuckDBPyConnection,
                                sample: tuple[Path, HRMSample, OpenFaceSample]) -> None:
    without = sorted({c.name for c in sample[1].children} - {f.child for f in sample[2].files})
    assert hs.openface_children(con) == sorted(f.child for f in sample[2].files)
    with pytest.raises(FaceExplorerError, match=f"no OpenFace CSV imported for child "
                                                f"'{without[0]}'"):
        hs.openface_agreement(con, without[0])


# --- the report -------------------------------------------------------------------------
def test_report_is_json_and_readable(con: duckdb.DuckDBPyConnection,
                                     sample: tuple[Path, HRMSample, OpenFaceSample]) -> None:
    hrm = sample[1]
    report = hrm_report(con)
    again = json.loads(json.dumps(report, allow_nan=False))
    assert again == report
    assert report["dataset"]["frames"] == hrm.total_frames
    assert report["dataset"]["segments"] == hrm.total_segments
    assert report["child"] is None and len(report["prevalence"]) == 4 * len(HRM_AU22)
    text = format_hrm_report(report)
    assert f"{hrm.total_frames:,} frames" in text
    assert "ICC(2,1)" in text and "Krippendorff's alpha (ordinal)" in text
    assert "AU25 & AU2X" in text  # the most frequent pair of the sample

    child = sample[2].files[0].child
    report = hrm_report(con, child)
    json.dumps(report, allow_nan=False)
    assert report["scope"] == child
    assert len(report["child"]["segment_summary"]) == len(hrm.child(child).segments)
    assert report["child"]["openface"]["child"] == child
    text = format_hrm_report(report)
    assert f"Segments of {child}" in text and "OpenFace vs coders" in text
    assert "AU26>AU2X" in text


# --- hand-made edges --------------------------------------------------------------------
def write(path: Path, header: tuple[str, ...], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(",".join(map(str, r)) for r in [list(header), *rows]) + "\n")


def label_row(frame: int, aus: dict[str, int], raters: list[int] | None = None) -> list[object]:
    row: list[object] = [frame, *(aus.get(a, 0) for a in HRM_AU_COLUMNS), 0]
    return row + ([*raters, sum(raters) / 5] if raters is not None else [])


def test_unrated_child_and_constant_raters(tmp_path: Path) -> None:
    # A1 has no rater columns; T1's five raters all say 1 on every frame.
    write(tmp_path / "HRM" / "ASD" / "A1.csv", HRM_LABEL_HEADER,
          [label_row(f, {"AU12": 3 if f < 5 else 0, "AU6": 1 if 2 <= f < 4 else 0})
           for f in (*range(10), *range(20, 25))])
    write(tmp_path / "HRM" / "TD" / "T1.csv", (*HRM_LABEL_HEADER, *HRM_RATERS, "average"),
          [label_row(f, {"AU25": 1}, [1] * 5) for f in range(6)])
    db = tmp_path / "index.duckdb"
    import_path(db, tmp_path / "HRM", "hrm")
    con = duckdb.connect(str(db), read_only=True)
    try:
        prev = hs.prevalence_by_group(con).set_index(["au", "group"])
        assert prev.loc[("AU12", "ASD")].active == 5 and prev.loc[("AU12", "ASD")].frames == 15
        assert prev.loc[("AU25", "TD")].share == 1.0
        segments = hs.segment_summary(con, "A1")
        assert segments[["start_frame", "end_frame"]].values.tolist() == [[0, 9], [20, 24]]
        assert segments.mean_atypicality.isna().all()
        assert segments.AU6.tolist() == [0.2, 0.0]
        assert hs.rater_agreement(con, "A1")["frames"] == 0
        constant = hs.rater_agreement(con, "T1")
        assert constant["frames"] == 6 and np.isnan(constant["krippendorff_alpha_ordinal"])
        atyp = hs.au_vs_atypicality(con).set_index("au")
        assert atyp.at["AU12", "active_frames"] == 0  # A1's frames carry no rating
        assert atyp.point_biserial.isna().all()  # T1's ratings do not vary
        for child in ("A1", "T1"):
            report = hrm_report(con, child)
            json.dumps(report, allow_nan=False)
            assert report["child"]["openface"] is None
            format_hrm_report(report)
    finally:
        con.close()


def test_no_hrm_in_index(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    try:
        with pytest.raises(FaceExplorerError, match="import it first"):
            hs.prevalence_by_group(con)
        assert hs.openface_children(con) == []
    finally:
        con.close()
