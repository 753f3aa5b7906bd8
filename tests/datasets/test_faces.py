"""FACES importer: layout, SQL scoring against stats.dass21, bad input, mutated DASS files."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faceexplorer.core.errors import DatasetFormatError, FaceExplorerError
from faceexplorer.core.vocab import FACES_STATS
from faceexplorer.datasets import faces, registry
from faceexplorer.stats import dass21

BASES = ("AU12_r", "x_0", "X_0")  # x_0 / X_0: DuckDB names clash case-insensitively
FEATURES = [f"{b}_{s}" for b in BASES for s in FACES_STATS]
ITEMS = [f"dass_{i}" for i in range(1, 22)]


def _write(folder: Path, name: str, header: list[str], rows: list[list[object]]) -> Path:
    path = folder / name
    text = [",".join(header)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    path.write_text("\r\n".join(text) + "\r\n", encoding="utf-8")  # Windows line ends
    return path


def make_folder(folder: Path) -> Path:
    """Subjects 1..5 complete; 7 has DASS only, 9 features only; 6 baseinfo only."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    feats = [[sid, *np.round(rng.normal(size=len(FEATURES)), 4)] for sid in (1, 2, 3, 4, 5, 9)]
    _write(folder, "openface_stats.csv", ["ID", *FEATURES], feats)
    items = {sid: list(rng.integers(0, 4, 21)) for sid in (1, 2, 3, 4, 5, 7)}
    items[1] = [1] * 21                      # each subscale 7 -> 14
    items[2] = [0] * 21                      # all zero: stored totals ambiguous
    _write(folder, "dass21.csv", ["cust_id", *ITEMS], [[s, *v] for s, v in items.items()])
    info = [
        [1, "女", 20080701, "初三", 3101, 7, 7, 7],        # undoubled totals
        [2, "男", 20080630, "高一", 3102, 0, 0, 0],
        [3, "女", "20100105.0", "六年级", 3101, None, None, None],  # pandas float style
        [4, "男", 20120301, "三年级", 3103, 99, 1, 2],
        [5, "女", None, "大一", 3104, None, None, None],
        [6, "男", 20070101, "高二", 3105, None, None, None],
    ]
    _write(folder, "baseinfo.csv", ["cust_id", "gender", "birthday", "grade_name", "school_id",
                                    "Depression", "Anxiety", "Stress"], info)
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "FACES")


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_import_small_folder(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "index.duckdb"
    report = registry.import_path(db, folder, "faces")
    c = report.counts
    assert (c["subjects"], c["subjects_with_features"], c["subjects_with_dass"],
            c["subjects_with_baseinfo"], c["feature_columns"]) == (8, 6, 6, 6, 36)
    assert (c["features_without_dass"], c["dass_without_features"]) == (1, 1)
    assert any("features but no DASS-21" in w for w in report.warnings)
    skipped = {s.reason.split(":")[0]: (s.rows, s.first_line) for s in report.skipped}
    assert skipped["missing birthday"] == (1, 6)
    assert skipped["grade_name not one of " + "/".join(faces.GRADES)] == (1, 6)
    got = {r[0]: r[1:] for r in _rows(db, "SELECT subject_id, grade, age_years, birthday, "
                                      "school_id, depression, depression_band, stress_band, "
                                      "depression_rule FROM faces_subjects")}
    # Survey date 2023-06-30: born 2008-07-01 is still 14, born 2008-06-30 just turned 15.
    assert got["1"][:2] == (9, 14) and got["2"][:2] == (10, 15)
    assert got["3"][:3] == (6, 13, pd.Timestamp("2010-01-05").date())
    assert got["5"][:2] == (None, None)
    assert got["1"][3:] == (3101, 14, "Moderate", "Normal", "undoubled")
    assert got["2"][-1] == "ambiguous" and got["4"][-1] == "neither"
    assert got["9"][4] is None  # features only: no scores
    assert _rows(db, "SELECT column_name, base_column, stat, position FROM faces_feature_columns"
                     " WHERE name = 'X_0_mean'") == [("X_0_mean_1", "X_0", "mean", 25)]
    values = pd.read_csv(folder / "openface_stats.csv")
    row = _rows(db, 'SELECT "AU12_r_kurtosis", "X_0_mean_1" FROM faces_features '
                    "WHERE subject_id = '9'")[0]
    assert row == pytest.approx((values["AU12_r_kurtosis"].iloc[-1], values["X_0_mean"].iloc[-1]))
    assert c["stored_totals_undoubled"] >= 3 and c["stored_totals_ambiguous"] == 3


def test_survey_date_option(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "index.duckdb"
    registry.import_path(db, folder, "faces", survey_date="2024-01-01")
    assert _rows(db, "SELECT age_years FROM faces_subjects WHERE subject_id = '1'") == [(15,)]
    with pytest.raises(FaceExplorerError, match="survey_date"):
        registry.import_path(db, folder, "faces", survey_date="June 2023")


def test_missing_items_counted_and_left_unscored(tmp_path: Path, folder: Path) -> None:
    _edit(folder / "dass21.csv", "\r\n1,1,1,1,", "\r\n1,1,1,,")
    report = registry.import_path(tmp_path / "i.duckdb", folder, "faces")
    assert any(s.reason.startswith("missing DASS-21 item") and s.first_line == 2
               for s in report.skipped)
    row = _rows(tmp_path / "i.duckdb", "SELECT stress_raw, depression_raw, anxiety_raw "
                                       "FROM faces_subjects WHERE subject_id = '1'")[0]
    assert row == (7, None, 7)  # item 3 is a depression item


def test_sql_scores_equal_python_on_sample(tmp_path: Path) -> None:
    samples = pytest.importorskip("faceexplorer.samples.faces",
                                  reason="FACES sample writer (another helper's) not there")
    sample = samples.write_faces(tmp_path / "s", "small", np.random.default_rng(7))
    folder = tmp_path / "FACES"
    folder.mkdir()
    for name in ("dass21.csv", "baseinfo.csv"):
        shutil.copy(sample.root / name, folder / name)
    # All rows, first 2 base columns: the join is the same, the 8.5k-column read is not.
    with sample.features.open() as src, (folder / "features.csv").open("w") as dst:
        for line in src:
            dst.write(",".join(line.rstrip("\n").split(",")[:25]) + "\n")
    db = tmp_path / "index.duckdb"
    report = registry.import_path(db, folder, "faces")
    assert report.counts["subjects"] == sample.n_baseinfo
    items = pd.read_csv(folder / "dass21.csv", dtype={"cust_id": str}).set_index("cust_id")
    expected = dass21.score(items)
    info = pd.read_csv(folder / "baseinfo.csv", dtype={"cust_id": str}).set_index("cust_id")
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute("SELECT * FROM faces_subjects WHERE in_dass").df().set_index(
            "subject_id").loc[expected.index]
    for sub in dass21.SUBSCALES:
        for col in (f"{sub}_raw", sub, f"{sub}_band"):
            assert got[col].astype(str).tolist() == expected[col].astype(str).tolist(), col
        rules = dass21.stored_total_rules(info.loc[expected.index, sub.capitalize()],
                                          expected[f"{sub}_raw"])
        assert got[f"{sub}_rule"].tolist() == rules.tolist()
        assert dass21.file_verdict(rules) == "undoubled"


# --- bad input --------------------------------------------------------------------------
def _other_dataset(tmp_path: Path, db: Path) -> None:
    depth_root = tmp_path / "AffectNet-D" / "depth" / "happy"
    depth_root.mkdir(parents=True)
    cv2.imwrite(str(depth_root / "aa.png"), np.zeros((8, 8), np.uint8))
    registry.import_path(db, tmp_path / "AffectNet-D", "affectnet-d")


def _state(db: Path) -> list[list[tuple]]:
    return [_rows(db, "SELECT * FROM faces_subjects ORDER BY subject_id"),
            _rows(db, "SELECT subject_id, \"AU12_r_mean\" FROM faces_features ORDER BY 1"),
            _rows(db, "SELECT dataset, counts FROM datasets ORDER BY 1"),
            _rows(db, "SELECT stem FROM depth_maps")]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_bytes().decode("utf-8")  # keep the CRLF line ends as they are
    assert old in text, old
    path.write_bytes(text.replace(old, new, 1).encode("utf-8"))


BAD_CASES = {
    "item out of range": ("dass21.csv", "\r\n1,1,1,1,", "\r\n1,1,1,4,", 2, "dass_3"),
    "item not a number": ("dass21.csv", "\r\n1,1,1,1,", "\r\n1,1,1,a,", 2, "not a number"),
    "duplicate cust_id": ("dass21.csv", "\r\n2,0,", "\r\n1,0,", 3, "duplicate cust_id 1"),
    "wrong dass header": ("dass21.csv", "dass_21", "dass21", 1, "wrong header"),
    "truncated dass row": ("dass21.csv", "\r\n2,0,0,0,", "\r\n2,0,0\r\n,0,", 3, "fields"),
    "bad birthday": ("baseinfo.csv", "20080630", "2008-06-30", 3, "YYYYMMDD"),
    "impossible birthday": ("baseinfo.csv", "20080630", "20081340", 3, "YYYYMMDD"),
    "baseinfo header": ("baseinfo.csv", "grade_name", "grade", 1, "missing grade_name"),
    "stored total text": ("baseinfo.csv", ",7,7,7", ",7,high,7", 2, "not a number"),
    "feature header": ("openface_stats.csv", "AU12_r_mean", "AU12_r_average", 1, "_<stat>"),
    "feature not a number": ("openface_stats.csv", "\r\n2,", "\r\n2,oops", 3, "not a number"),
    "duplicate feature ID": ("openface_stats.csv", "\r\n3,", "\r\n2,", 4, "duplicate"),
}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[list[tuple]]]:
    """A good FACES folder and an index holding it and another dataset (built once)."""
    root = tmp_path_factory.mktemp("faces-baseline")
    db = root / "index.duckdb"
    _other_dataset(root, db)
    folder = make_folder(root / "FACES")
    registry.import_path(db, folder, "faces")
    return folder, db, _state(db)


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_names_file_and_line_and_leaves_index(
        tmp_path: Path, baseline: tuple[Path, Path, list[list[tuple]]], case: str) -> None:
    good, good_db, before = baseline
    folder, db = tmp_path / "FACES", tmp_path / "index.duckdb"
    shutil.copytree(good, folder)
    shutil.copy(good_db, db)
    file, old, new, line, words = BAD_CASES[case]
    _edit(folder / file, old, new)
    with pytest.raises(DatasetFormatError) as err:
        registry.import_path(db, folder, "faces")
    assert err.value.path.name == file
    assert err.value.line == line, str(err.value)
    assert words in str(err.value)
    assert _state(db) == before


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary" * 50, b"cust_id\r\n"])
def test_empty_binary_or_short_dass_file(tmp_path: Path, folder: Path, content: bytes) -> None:
    (folder / "dass21.csv").write_bytes(content)
    with pytest.raises(DatasetFormatError) as err:
        registry.import_path(tmp_path / "i.duckdb", folder, "faces")
    assert err.value.path.name == "dass21.csv"


def test_not_a_faces_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match="expected dass21.csv"):
        registry.import_path(tmp_path / "i.duckdb", tmp_path, "faces")
    assert not faces.detect(tmp_path)
    assert faces.detect(make_folder(tmp_path / "F"))


# --- mutated dass21.csv: success or a DatasetFormatError, nothing else ---------------------
_VALID = "cust_id," + ",".join(ITEMS) + "\n" + "".join(
    f"{sid}," + ",".join(str((sid + i) % 4) for i in range(21)) + "\n" for sid in range(1, 6))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_dass_file(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    raw = bytearray(_VALID.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        chunk = data.draw(st.sampled_from(
            [b",", b"\n", b"\r\n", b'"', b"7", b"-1", b"x", b"1.5", b"\xff\xfe", b"\x00", b" ",
             b"NULL", b"3"]))
        if action == "insert":
            raw[pos:pos] = chunk
        elif action == "delete":
            del raw[pos:pos + data.draw(st.integers(1, 8))]
        elif action == "replace":
            raw[pos:pos + len(chunk)] = chunk
        else:
            del raw[pos:]
    folder = tmp_path_factory.mktemp("mut")
    (folder / "dass21.csv").write_bytes(bytes(raw))
    try:
        report = registry.import_path(folder / "i.duckdb", folder, "faces")
    except DatasetFormatError as exc:
        assert exc.path.name == "dass21.csv" and str(exc)
        return
    with duckdb.connect(str(folder / "i.duckdb"), read_only=True) as con:
        bad = con.execute("SELECT count(*) FROM faces_subjects WHERE depression_raw > 21 "
                          "OR stress < 0").fetchone()[0]
    assert bad == 0 and report.counts["subjects_with_dass"] >= 0
