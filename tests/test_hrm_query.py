"""HRM navigator and timeline queries against independent pandas readings of the sample CSVs."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import HRM_AU22, HRM_AU_COLUMNS, HRM_RATERS, OPENFACE_TO_HRM
from faceexplorer.datasets.registry import import_path
from faceexplorer.index import hrm_query
from faceexplorer.index.hrm_query import SegmentFilter
from faceexplorer.samples.hrm import HRMSample, write_hrm
from faceexplorer.samples.openface import OpenFaceSample, write_openface

#: Children given a (tiny) video: S1 covers its labels, S4's stops 19 frames early.
SHORT_BY = 19


@dataclass(frozen=True)
class HRMIndex:
    db: Path
    sample: HRMSample
    openface: OpenFaceSample


def _tiny_video(path: Path, n_frames: int) -> None:
    """A 16x16 mp4 of ``n_frames`` grey frames: the importer only counts its frames."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (16, 16))
    for k in range(n_frames):
        writer.write(np.full((16, 16, 3), k % 250, dtype=np.uint8))
    writer.release()


def build_hrm_index(folder: Path) -> HRMIndex:
    """The small HRM sample (labels only, no drawn frames) plus OpenFace, imported.

    S1 gets a full-length video and S4 one that ends ``SHORT_BY`` frames before its last
    label, so "frames beyond video" is exercised without drawing 2,000 faces.
    """
    sample = write_hrm(folder, "small", np.random.default_rng(7), images=False)
    _tiny_video(sample.root / "videos" / "S1.mp4", sample.child("S1").last_frame + 1)
    _tiny_video(sample.root / "videos" / "S4.mp4", sample.child("S4").last_frame + 1 - SHORT_BY)
    openface = write_openface(folder, sample, "small", np.random.default_rng(8))
    db = folder / "index.duckdb"
    import_path(db, sample.root, "hrm")
    import_path(db, openface.root, "openface")
    return HRMIndex(db, sample, openface)


def read_child_csv(sample: HRMSample, child: str) -> pd.DataFrame:
    """The child's label CSV as pandas reads it, sorted by frame, with segment ids."""
    table = pd.read_csv(sample.child(child).csv).sort_values("frame", ignore_index=True)
    table["segment"] = (table["frame"].diff() != 1).cumsum()
    table["atypicality"] = table[list(HRM_RATERS)].mean(axis=1)
    return table


@pytest.fixture(scope="module")
def hrm(tmp_path_factory: pytest.TempPathFactory) -> HRMIndex:
    return build_hrm_index(tmp_path_factory.mktemp("hrm_query"))


@pytest.fixture(scope="module")
def con(hrm: HRMIndex):
    connection = duckdb.connect(str(hrm.db), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def tables(hrm: HRMIndex) -> dict[str, pd.DataFrame]:
    return {c.name: read_child_csv(hrm.sample, c.name) for c in hrm.sample.children}


def test_children_overview_matches_csvs(con, hrm: HRMIndex, tables) -> None:
    rows = hrm_query.children_overview(con)
    assert [r.child for r in rows] == ["S1", "S2", "S3", "S4", "S67", "S68"]
    assert [r.grp for r in rows] == ["ASD"] * 4 + ["TD"] * 2
    for row in rows:
        t = tables[row.child]
        assert row.n_frames == len(t)
        assert row.n_segments == t["segment"].max()
        assert (row.first_frame, row.last_frame) == (t["frame"].min(), t["frame"].max())
        assert row.mean_atypicality == pytest.approx(t["atypicality"].mean())
    by = {r.child: r for r in rows}
    video_frames = hrm.sample.child("S4").last_frame + 1 - SHORT_BY
    assert by["S4"].video_frames == video_frames
    assert by["S4"].frames_beyond_video == (tables["S4"]["frame"] >= video_frames).sum() > 0
    assert by["S68"].video_path is None and by["S68"].frames_beyond_video is None


def test_child_segments(con, tables) -> None:
    for child in ("S2", "S4"):  # S2's rows are written out of frame order
        t = tables[child]
        expect = t.groupby("segment").agg(start=("frame", "min"), end=("frame", "max"),
                                          n=("frame", "size"), atyp=("atypicality", "mean"))
        got = hrm_query.child_segments(con, child)
        assert [(s.start_frame, s.end_frame, s.n_frames) for s in got] == list(
            expect[["start", "end", "n"]].itertuples(index=False, name=None))
        np.testing.assert_allclose([s.mean_atypicality for s in got], expect["atyp"])
        assert [s.segment for s in got] == list(range(1, len(expect) + 1))


def test_timeline_segments_equal_the_query(con, hrm: HRMIndex, tables) -> None:
    """The HRM tab lists a child's segments from its loaded timeline: the same rows, bits."""
    for child in (c.name for c in hrm.sample.children):
        from_arrays = hrm_query.timeline_segments(hrm_query.child_timeline(con, child))
        assert from_arrays == hrm_query.child_segments(con, child)
        # exact mean: the rated frames' level sums over 5 x their count (Fractions agree)
        t = tables[child]
        rated = t[list(HRM_RATERS)].notna().all(axis=1)
        for s in from_arrays:
            rows = t[(t["segment"] == s.segment) & rated]
            if rows.empty:
                assert s.mean_atypicality is None
                continue
            exact = Fraction(int(rows[list(HRM_RATERS)].to_numpy().sum()), 5 * len(rows))
            assert s.mean_atypicality == float(exact)


def test_timeline_of_rows_stored_out_of_order(con, hrm: HRMIndex, tmp_path: Path) -> None:
    """The timeline query does not ORDER BY: rows stored in any order come out sorted."""
    shuffled = duckdb.connect(str(tmp_path / "shuffled.duckdb"))
    shuffled.execute(f"ATTACH '{hrm.db}' AS src (READ_ONLY)")
    shuffled.execute("CREATE TABLE hrm_children AS SELECT * FROM src.hrm_children")
    shuffled.execute("CREATE TABLE hrm_frames AS SELECT * FROM src.hrm_frames "
                     "ORDER BY hash(frame * 7919 + line)")
    for child in ("S1", "S2", "S4"):
        got = hrm_query.child_timeline(shuffled, child, openface=False)
        want = hrm_query.child_timeline(con, child, openface=False)
        assert not np.all(np.diff(shuffled.execute(
            "SELECT frame FROM hrm_frames WHERE child = ?", [child]).fetchnumpy()["frame"]) > 0)
        for name in ("frames", "au", "segment", "raters", "rating_mean", "asd"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
        assert got.segments == want.segments
    shuffled.close()


@pytest.fixture(scope="module")
def all_segments(tables) -> pd.DataFrame:
    """Every segment of every child: start, length, atypicality, which AUs it shows."""
    parts = []
    for child, t in tables.items():
        g = t.groupby("segment")
        seg = pd.DataFrame({"start": g["frame"].min(), "n": g.size(),
                            "atyp": g["atypicality"].mean()})
        shows = (t[list(HRM_AU_COLUMNS)] != 0).groupby(t["segment"]).any()
        seg = seg.join(shows.add_prefix("has_"))
        seg["child"] = child
        seg["grp"] = "TD" if child in ("S67", "S68") else "ASD"
        parts.append(seg.reset_index())
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("flt", [
    SegmentFilter(),
    SegmentFilter(groups=("TD",)),
    SegmentFilter(aus=("AU12",)),
    SegmentFilter(aus=("AU6", "AU28"), groups=("ASD",)),
    SegmentFilter(min_atypicality=1.5),
    SegmentFilter(min_length=40, max_length=90),
    SegmentFilter(groups=("ASD", "TD"), aus=("AU25",), min_atypicality=0.5, min_length=30),
])
def test_segment_search_matches_pandas(con, all_segments, flt: SegmentFilter) -> None:
    seg = all_segments
    keep = pd.Series(True, index=seg.index)
    if flt.groups:
        keep &= seg["grp"].isin(flt.groups)
    if flt.aus:
        keep &= seg[["has_" + a for a in flt.aus]].any(axis=1)
    if flt.min_atypicality is not None:
        keep &= seg["atyp"] >= flt.min_atypicality
    if flt.min_length is not None:
        keep &= seg["n"] >= flt.min_length
    if flt.max_length is not None:
        keep &= seg["n"] <= flt.max_length
    expect = {(r.child, r.segment, r.start, r.n) for r in seg[keep].itertuples()}
    got = hrm_query.search_segments(con, flt)
    assert {(s.child, s.segment, s.start_frame, s.n_frames) for s in got} == expect
    assert len(got) == len(expect)  # no duplicates from the frame join
    if flt == SegmentFilter():
        assert len(got) == hrm_query.count_segments(con) == len(seg)
        # ASD children first, then TD; child S2 before S67 (by number, not text)
        assert [s.grp for s in got] == sorted((s.grp for s in got), key=("ASD", "TD").index)


def test_search_rejects_unknown_au(con) -> None:
    with pytest.raises(FaceExplorerError, match="AU99"):
        hrm_query.search_segments(con, SegmentFilter(aus=("AU99",)))


def test_timeline_arrays_match_csv(con, tables) -> None:
    for child in ("S2", "S68"):  # unsorted rows; no media at all
        t = tables[child]
        tl = hrm_query.child_timeline(con, child, HRM_AU22)
        assert tl.aus == HRM_AU22 and tl.au.dtype == np.uint8
        np.testing.assert_array_equal(tl.frames, t["frame"])
        np.testing.assert_array_equal(tl.au, t[list(HRM_AU22)].to_numpy().T)
        np.testing.assert_array_equal(tl.segment, t["segment"])
        np.testing.assert_array_equal(tl.raters, t[list(HRM_RATERS)].to_numpy().T)
        np.testing.assert_allclose(tl.rating_mean, t["atypicality"])
        np.testing.assert_array_equal(tl.asd, t["ASD"])
        starts = t.groupby("segment")["frame"].agg(["min", "max"])
        assert tl.segments == tuple(starts.itertuples(index=False, name=None))
        assert tl.rows(["AU12", "AU1"]).tolist() == t[["AU12", "AU1"]].to_numpy().T.tolist()
        mid = int(t["frame"].iloc[len(t) // 2])
        assert tl.segment_of(mid) == t.loc[t["frame"] == mid, "segment"].item()
    gap = tl.segments[0][1] + 1
    assert tl.segment_of(gap) is None


def test_timeline_all_columns_and_media(con, hrm: HRMIndex) -> None:
    tl = hrm_query.child_timeline(con, "S4")
    assert tl.aus == HRM_AU_COLUMNS and tl.au.shape == (36, hrm.sample.child("S4").n_frames)
    assert tl.video_frames == hrm.sample.child("S4").last_frame + 1 - SHORT_BY
    assert tl.beyond_video == np.count_nonzero(tl.frames >= tl.video_frames) > 0
    none = hrm_query.child_timeline(con, "S68")
    assert none.video_frames is None and none.beyond_video == 0 and none.frames_dir is None


def test_timeline_errors(con) -> None:
    with pytest.raises(FaceExplorerError, match="S999"):
        hrm_query.child_timeline(con, "S999")
    with pytest.raises(FaceExplorerError, match="AU99"):
        hrm_query.child_timeline(con, "S1", ["AU99"])


def test_openface_curves_follow_the_csv(con, hrm: HRMIndex) -> None:
    with_openface = {f.child: f for f in hrm.openface.files}
    for child in {c.name for c in hrm.sample.children} - set(with_openface):
        assert hrm_query.child_timeline(con, child).openface is None
    child, of = next(iter(with_openface.items()))
    curves = hrm_query.child_timeline(con, child).openface
    assert curves is not None
    raw = pd.read_csv(of.path, skipinitialspace=True)
    np.testing.assert_array_equal(curves.frames, raw["frame"] - 1)
    assert curves.hrm_aus == tuple(OPENFACE_TO_HRM[a] for a in curves.openface_aus)
    assert "AU2X" in curves.hrm_aus and "AU28" not in curves.hrm_aus  # AU28 has no _r
    lost = raw["success"].to_numpy() != 1
    assert lost.any()
    for i, au in enumerate(curves.openface_aus):
        expect = raw[f"{au}_r"].to_numpy(dtype=float, copy=True)
        expect[lost] = np.nan
        np.testing.assert_allclose(curves.intensity[i], expect)


def test_no_hrm_in_index(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    assert not hrm_query.has_hrm(con) and not hrm_query.has_hrm(None)
    with pytest.raises(FaceExplorerError, match="index add hrm"):
        hrm_query.children_overview(con)
