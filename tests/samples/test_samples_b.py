"""Sample writers B: Hugging Rain Man, OpenFace and FACES files, as a reader would see them.

One small-scale sample (with frames and videos) is written once per module; each test
reads the files back independently of the writer's own bookkeeping.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from faceexplorer.core import vocab
from faceexplorer.samples import faces, hrm, openface


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("samples-b")
    h = hrm.write_hrm(root, "small", np.random.default_rng(7), images=True)
    o = openface.write_openface(root, h, "small", np.random.default_rng(8))
    f = faces.write_faces(root, "small", np.random.default_rng(9))
    return {"root": root, "hrm": h, "openface": o, "faces": f}


@pytest.fixture(scope="module")
def feature_table(written: dict) -> pd.DataFrame:
    """The small FACES feature file, parsed once (8,509 columns)."""
    return pd.read_csv(written["faces"].features)


def _segments(frames: np.ndarray) -> list[tuple[int, int]]:
    """Segments the way formats.md defines them: sort, split where frame != previous + 1."""
    frames = np.sort(frames)
    cut = np.flatnonzero(np.diff(frames) != 1) + 1
    return [(int(s[0]), int(s[-1])) for s in np.split(frames, cut)]


def _digest(folder: Path, pattern: str) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob(pattern))}


# --- Hugging Rain Man ------------------------------------------------------------------

def test_hrm_files_header_and_line_ends(written: dict) -> None:
    sample = written["hrm"]
    header = ",".join((*vocab.HRM_LABEL_HEADER, *vocab.HRM_RATERS, "average"))
    assert [c.name for c in sample.children] == ["S1", "S2", "S3", "S4", "S67", "S68"]
    for child in sample.children:
        assert child.csv == sample.root / child.group / f"{child.name}.csv"
        assert child.group == ("ASD" if int(child.name[1:]) <= 66 else "TD")
        raw = child.csv.read_bytes()
        first, _, _ = raw.partition(b"\n")
        assert first.rstrip(b"\r").decode() == header
        assert (b"\r\n" in raw) == child.crlf == (child.name == hrm.CRLF_CHILD)
        if child.crlf:
            assert raw.count(b"\r\n") == raw.count(b"\n")


def test_hrm_frames_segments_and_order(written: dict) -> None:
    sample = written["hrm"]
    assert sample.total_frames == sum(c.n_frames for c in sample.children)
    for child in sample.children:
        table = pd.read_csv(child.csv)
        frames = table["frame"].to_numpy()
        assert len(frames) == child.n_frames and 150 <= child.n_frames <= 400
        assert len(set(frames)) == len(frames)
        assert _segments(frames) == list(child.segments)
        assert len(child.segments) >= 3
        assert bool((np.diff(frames) > 0).all()) == child.rows_sorted
        assert child.rows_sorted == (child.name != hrm.UNSORTED_CHILD)


def test_hrm_full_scale_plan_hits_published_totals() -> None:
    plans = hrm.plan_frames("full", np.random.default_rng(3))
    assert len(plans) == 98
    assert sum(p.group == "ASD" for p in plans) == 66
    assert {p.name for p in plans} == {f"S{i}" for i in range(1, 99)}
    assert sum(p.n_frames for p in plans) == vocab.HRM_FRAMES
    assert sum(len(_segments(p.frames)) for p in plans) == vocab.HRM_SEGMENTS
    cells = hrm.make_au_labels(vocab.HRM_FRAMES, np.random.default_rng(4))
    counts = dict(zip(vocab.HRM_AU_COLUMNS, np.count_nonzero(cells, axis=0), strict=True))
    for au, published in {"AU25": 80_683, "AU2X": 51_182, "AU12": 31_623, "AU7": 19_733,
                          "AD36": 63, "AD33": 31}.items():
        assert counts[au] == published
    others = np.delete(cells, vocab.HRM_AU_COLUMNS.index("AU0"), axis=1)
    assert np.array_equal(cells[:, vocab.HRM_AU_COLUMNS.index("AU0")] == 1, ~others.any(axis=1))


def test_hrm_cells_persist_and_carry_laterality(written: dict) -> None:
    tables = [pd.read_csv(c.csv).sort_values("frame") for c in written["hrm"].children]
    table = pd.concat(tables)
    cells = table[list(vocab.HRM_AU_COLUMNS)].to_numpy()
    assert set(np.unique(cells)) <= set(vocab.HRM_CELL)
    lateral = {au for au in vocab.HRM_AU_COLUMNS if (table[au] >= 2).any()}
    assert lateral and lateral <= {"AU2", "AU10", "AU12", "AU14", "AU28", "AD32"}
    others = table[[a for a in vocab.HRM_AU_COLUMNS if a != "AU0"]].to_numpy()
    assert np.array_equal(table["AU0"].to_numpy() == 1, ~others.any(axis=1))
    # AUs come in runs (an expression lasts), not as independent coin flips per frame.
    on = np.concatenate([t["AU25"].to_numpy() > 0 for t in tables])
    runs = np.count_nonzero(np.diff(on.astype(int)) == 1) + 1
    assert on.sum() / runs > 10
    assert (table["AU6"] > 0).sum() > 0 and ((table["AU6"] > 0) <= (table["AU12"] > 0)).all()


def test_hrm_raters_average_and_asd_flag(written: dict) -> None:
    means = {}
    for child in written["hrm"].children:
        table = pd.read_csv(child.csv)
        raters = table[list(vocab.HRM_RATERS)].to_numpy()
        assert raters.dtype.kind == "i" and raters.min() >= 0 and raters.max() <= 4
        assert np.allclose(table["average"], raters.mean(axis=1).round(2), atol=1e-9)
        assert set(table["ASD"].unique()) <= {0, 1}
        assert int(table["ASD"].sum()) == child.asd_frames
        if child.group == "TD":
            assert child.asd_frames == 0
        means.setdefault(child.group, []).append(table["average"].mean())
    assert written["hrm"].asd_frames > 0
    assert min(means["ASD"]) > max(means["TD"])


def test_hrm_frames_and_videos(written: dict) -> None:
    sample = written["hrm"]
    root = sample.root
    missing = sample.child(hrm.NO_MEDIA_CHILD)
    assert missing.video is None and not (root / "videos" / f"{missing.name}.mp4").exists()
    assert not (root / "origin" / missing.name).exists()
    short = sample.child(hrm.SHORT_VIDEO_CHILD)
    assert 0 < short.video_frames <= short.last_frame
    for child in sample.children:
        if child.video is None:
            continue
        folder = root / "origin" / child.name
        jpgs = sorted(int(p.stem.split("_")[0]) for p in folder.glob("*_0.jpg"))
        assert jpgs == sorted(pd.read_csv(child.csv)["frame"])
        cap = cv2.VideoCapture(str(child.video))
        try:
            assert cap.isOpened()
            assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == child.video_frames
            assert round(cap.get(cv2.CAP_PROP_FPS)) == hrm.FPS
            # Seek to a labelled frame: video frame k shows label frame k.
            k = child.segments[1][0] + 3
            cap.set(cv2.CAP_PROP_POS_FRAMES, k)
            ok, image = cap.read()
        finally:
            cap.release()
        assert ok and image.shape == (*hrm.FRAME_SIZE, 3)
        still = cv2.imread(str(root / "origin" / child.name / f"{k}_0.jpg"))
        assert still.shape == image.shape
        assert np.abs(still.astype(int) - image.astype(int)).mean() < 8


def test_hrm_seed_reproduces_bytes_with_or_without_media(written: dict,
                                                         tmp_path: Path) -> None:
    again = hrm.write_hrm(tmp_path, "small", np.random.default_rng(7), images=False)
    assert again.children[0].video is None
    assert _digest(tmp_path / "HRM", "*.csv") == _digest(written["hrm"].root, "*.csv")


# --- OpenFace ----------------------------------------------------------------------------

def test_openface_headers_in_both_styles(written: dict) -> None:
    files = written["openface"].files
    assert [f.style for f in files] == ["comma", "comma_space"] * 2
    for f in files:
        assert f.path == written["root"] / "OpenFace" / f.style / f"{f.child}.csv"
        raw = f.path.read_bytes()
        first = raw.partition(b"\n")[0]
        if f.style == "comma":
            assert first.decode() == ",".join(openface.COLUMNS) and b"\r" not in raw
        else:
            assert first.decode() == ", ".join(openface.COLUMNS) + "\r"
            assert [c.strip() for c in first.decode().split(",")] == list(openface.COLUMNS)
        assert len(openface.COLUMNS) == 714


def test_openface_rows_follow_the_video_and_labels(written: dict) -> None:
    sample = written["hrm"]
    for f in written["openface"].files:
        table = pd.read_csv(f.path, skipinitialspace=True)
        assert list(table.columns) == list(openface.COLUMNS)
        child = sample.child(f.child)
        assert len(table) == f.n_rows == child.video_frames > child.last_frame
        assert np.array_equal(table["frame"], np.arange(1, f.n_rows + 1))
        assert np.allclose(table["timestamp"], (table["frame"] - 1) / 25, atol=5e-4)
        assert set(table["success"].unique()) == {0, 1}
        assert (table["success"] == 0).sum() == f.failed_frames > 0
        r = table[[f"{a}_r" for a in vocab.OPENFACE_AU_R]].to_numpy()
        c = table[[f"{a}_c" for a in vocab.OPENFACE_AU_C]].to_numpy()
        assert r.min() >= 0 and r.max() <= 5 and set(np.unique(c)) <= {0, 1}
        labels = pd.read_csv(child.csv).set_index("frame")
        rows = table.set_index(table["frame"] - 1).loc[labels.index]
        ok = rows["success"] == 1
        human = labels.loc[ok, "AU25"] > 0
        machine = rows.loc[ok, "AU25_c"] == 1
        assert 0.75 < (human == machine).mean() < 1.0
        assert 0.9 < f.agreement < 1.0
        face = rows.loc[ok, [f"x_{i}" for i in range(68)]].to_numpy()
        assert face.min() > 0 and face.max() < hrm.FRAME_SIZE[1]


# --- FACES -------------------------------------------------------------------------------

def test_faces_feature_header_and_consistency(written: dict,
                                              feature_table: pd.DataFrame) -> None:
    sample = written["faces"]
    header = sample.features.open(encoding="utf-8").readline().rstrip("\n").split(",")
    assert len(header) == 8_509 == 1 + 709 * 12 and header[0] == "ID"
    assert header[1:] == [f"{c}_{s}" for c in vocab.openface_columns()[5:]
                          for s in vocab.FACES_STATS]
    table = feature_table
    assert len(table) == sample.n_subjects == 300 and table.notna().all().all()

    def stat(name: str) -> np.ndarray:
        return table[[f"{c}_{name}" for c in vocab.openface_columns()[5:]]].to_numpy()

    lo, q25, med, q75, hi = (stat(s) for s in ("min", "q25", "median", "q75", "max"))
    tol = 1e-4 * (1 + np.abs(hi))
    assert (lo <= q25 + tol).all() and (q25 <= med + tol).all()
    assert (med <= q75 + tol).all() and (q75 <= hi + tol).all()
    mean = stat("mean")
    assert ((lo - tol <= mean) & (mean <= hi + tol)).all()

    def close(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> bool:
        # Every number is written with 5 significant digits.
        return bool((np.abs(a - b) <= 1e-4 * np.abs(scale) + 1e-6).all())

    assert close(stat("range"), hi - lo, np.abs(hi) + np.abs(lo))
    assert close(stat("iqr"), q75 - q25, np.abs(q75) + np.abs(q25))
    assert close(stat("var"), stat("std") ** 2, 3 * stat("var"))
    location = ("mean", "median", "max", "min", "q25", "q75")
    au_r = table[[f"{a}_r_{s}" for a in vocab.OPENFACE_AU_R for s in location]].to_numpy()
    au_c = table[[f"{a}_c_{s}" for a in vocab.OPENFACE_AU_C for s in location]].to_numpy()
    assert au_r.min() >= 0 and au_r.max() <= 5
    assert au_c.min() >= 0 and au_c.max() <= 1
    assert (stat("kurtosis") >= -2).all() and (stat("std") >= 0).all()


def test_faces_dass_baseinfo_and_join(written: dict, feature_table: pd.DataFrame) -> None:
    sample = written["faces"]
    feats = feature_table[["ID", "AU12_r_mean", "AU04_r_mean"]]
    dass = pd.read_csv(sample.dass21)
    info = pd.read_csv(sample.baseinfo, encoding="utf-8")
    assert list(dass.columns) == ["cust_id"] + [f"dass_{i}" for i in range(1, 22)]
    assert dass.iloc[:, 1:].isin([0, 1, 2, 3]).all().all()
    assert (dass.iloc[:, 1:] == 0).mean().mean() > 0.4  # skewed to low scores
    assert len(dass) == len(feats) == sample.n_subjects
    assert set(dass.cust_id) - set(feats.ID) == set(sample.only_in_dass)
    assert set(feats.ID) - set(dass.cust_id) == set(sample.only_in_features)
    assert len(sample.only_in_dass) == len(sample.only_in_features) == 3
    assert list(info.columns[:4]) == ["cust_id", "gender", "birthday", "grade_name"]
    assert {"Depression", "Anxiety", "Stress"} <= set(info.columns)
    assert len(info) == sample.n_baseinfo and set(info.gender) == {"男", "女"}
    merged = info.merge(dass, on="cust_id")
    for name, items in vocab.DASS_SUBSCALES.items():
        sums = merged[[f"dass_{i}" for i in items]].sum(axis=1)
        assert (merged[name.capitalize()] == sums).all()  # un-doubled, as FACES stores them
    no_items = info[info.cust_id.isin(sample.only_in_features)]
    assert no_items[["Depression", "Anxiety", "Stress"]].isna().all().all()
    born = pd.to_datetime(info.birthday.astype(str), format="%Y%m%d")
    grade = faces.SCHOOL_YEAR - born.dt.year - 6 + (born.dt.month < 9)
    assert (info.grade_name == grade.map(faces.GRADE_NAMES)).all()
    age = (pd.Timestamp("2023-03-01") - born).dt.days / 365.25
    assert age.min() > 9 and age.max() < 19
    # The planted effects are there to be found.
    data = feats.merge(info, left_on="ID", right_on="cust_id")
    ranks = data[["AU04_r_mean", "AU12_r_mean", "Stress", "Depression"]].rank()
    assert ranks["AU04_r_mean"].corr(ranks["Stress"]) > 0.3   # Spearman, without scipy
    assert ranks["AU12_r_mean"].corr(ranks["Depression"]) < -0.2
    assert {e.feature for e in sample.effects} >= {"AU12_r_mean", "AU04_r_mean"}


def test_faces_and_openface_seed_reproduces_bytes(written: dict, tmp_path: Path) -> None:
    faces.write_faces(tmp_path, "small", np.random.default_rng(9))
    openface.write_openface(tmp_path, written["hrm"], "small", np.random.default_rng(8))
    assert _digest(tmp_path / "FACES", "*.csv") == _digest(written["root"] / "FACES", "*.csv")
    assert (_digest(tmp_path / "OpenFace", "*.csv")
            == _digest(written["root"] / "OpenFace", "*.csv"))


def test_format_rows_matches_python_formatting() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, (40, 9)) * 10.0 ** rng.integers(-4, 6, (1, 9))
    values[0, :3] = (0.0, -0.0004, 123456.7)
    decimals = rng.integers(0, 7, values.shape)

    def fixed(v: float, d: int) -> str:
        text = f"{v:.{d}f}"
        return text.lstrip("-") if float(text) == 0 else text  # no "-0.000"

    text = openface.format_rows(values, decimals, sep=", ", newline="\r\n").decode()
    assert text == "".join(", ".join(fixed(v, d) for v, d in zip(row, dr, strict=True)) + "\r\n"
                           for row, dr in zip(values, decimals, strict=True))
    stripped = openface.format_rows(np.array([[1.5, 2.0, -0.25, 0.0]]), 3, strip_zeros=True)
    assert stripped == b"1.5,2,-0.25,0\n"
