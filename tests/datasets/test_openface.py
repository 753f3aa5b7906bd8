"""OpenFace importer: both separators read alike, columns matched by name (subsets,
FaceLandmarkImg), sources replaced by stem, and bad files named by line."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.core.vocab import openface_columns
from faceexplorer.datasets import openface
from faceexplorer.datasets.registry import import_path
from faceexplorer.samples.hrm import write_hrm
from faceexplorer.samples.openface import OpenFaceSample, write_openface

from .conftest import write_csv
from .damage import apply_damage, mutations

SMALL_HEADER = ("frame", "face_id", "timestamp", "confidence", "success", "AU01_r", "AU12_r",
                "AU12_c")


def small_rows(n: int) -> list[list[object]]:
    return [[k + 1, 0, round(k * 0.04, 3), 0.98, 1, 0.5 * k, 1.25, k % 2] for k in range(n)]


def query(db: Path, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> OpenFaceSample:
    root = tmp_path_factory.mktemp("of")
    hrm = write_hrm(root, "small", np.random.default_rng(3), images=False)
    return write_openface(root, hrm, "small", np.random.default_rng(4))


def test_sample_counts_and_hrm_link(sample: OpenFaceSample, db_path: Path) -> None:
    report = import_path(db_path, sample.root, "openface")
    assert report.counts["sources"] == len(sample.files) == 4
    assert report.counts["frames"] == sum(f.n_rows for f in sample.files)
    assert report.counts["au_intensity_columns"] == 17
    assert report.counts["sources_matching_hrm_child"] == 0  # HRM not imported yet
    import_path(db_path, sample.root.parent / "HRM", "hrm")
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        assert openface.summary(con)["sources_matching_hrm_child"] == 4
    finally:
        con.close()
    styles = dict(query(db_path, "SELECT source, separator FROM openface_sources"))
    assert styles == {f.child: ", " if f.style == "comma_space" else "," for f in sample.files}


def test_both_separators_give_identical_numbers(sample: OpenFaceSample, tmp_path: Path) -> None:
    linux = next(f for f in sample.files if f.style == "comma").path
    text = linux.read_text()
    windows = tmp_path / "windows" / linux.name
    windows.parent.mkdir()
    windows.write_bytes(text.replace(",", ", ").replace("\n", "\r\n").encode())
    tables = []
    for i, path in enumerate((linux, windows)):
        db = tmp_path / f"{i}.duckdb"
        import_path(db, path, "openface")
        tables.append(query(db, "SELECT * EXCLUDE (file) FROM openface_frames ORDER BY line"))
        assert query(db, "SELECT separator, n_columns_present FROM openface_sources") == [
            ((",", ", ")[i], 714)]
    assert tables[0] == tables[1] and len(tables[0]) == len(text.splitlines()) - 1


def test_subset_of_columns_and_unknown_column(tmp_path: Path, db_path: Path) -> None:
    header = (*SMALL_HEADER, "my_note")
    write_csv(tmp_path / "clip7.csv", header, [[*r, "ok"] for r in small_rows(3)])
    report = import_path(db_path, tmp_path / "clip7.csv", "openface")
    assert any("my_note" in w and "clip7.csv" in w for w in report.warnings)
    row = query(db_path, "SELECT n_rows, n_columns_present, len(columns_missing), "
                         "columns_unknown FROM openface_sources")[0]
    assert row == (3, 8, 714 - 8, ["my_note"])
    assert query(db_path, "SELECT frame, face_id, success, AU01_r, AU12_c, AU45_r, x_0, "
                          "X3d_0, line FROM openface_frames ORDER BY frame") == [
        (1, 0, 1, 0.0, 0, None, None, None, 2), (2, 0, 1, 0.5, 1, None, None, None, 3),
        (3, 0, 1, 1.0, 0, None, None, None, 4)]
    assert report.counts["au_intensity_columns"] == 2


def test_face_landmark_img_file(tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"face, confidence, AU01_r, AU12_r\r\n0, 0.975, 1.2, 0.3\r\n"
                     b"1, 0.8, 0.0, 2.5\r\n")
    import_path(db_path, path, "openface")
    assert query(db_path, "SELECT frame, face_id, timestamp, confidence, AU01_r, AU12_r "
                          "FROM openface_frames ORDER BY face_id") == [
        (None, 0, None, 0.975, 1.2, 0.3), (None, 1, None, 0.8, 0.0, 2.5)]


def test_3d_columns_do_not_clash_with_2d() -> None:
    assert openface.index_column("X_0") == "X3d_0"
    assert openface.index_column("eye_lmk_Y_55") == "eye_lmk_Y3d_55"
    assert openface.index_column("x_0") == "x_0" and openface.index_column("p_rx") == "p_rx"
    stored = [c.lower() for c in openface.INDEX_COLUMNS.values()]
    assert len(set(stored)) == len(openface_columns()) == 714


def test_reimport_replaces_same_source_and_keeps_others(tmp_path: Path, db_path: Path) -> None:
    write_csv(tmp_path / "a" / "S1.csv", SMALL_HEADER, small_rows(4))
    write_csv(tmp_path / "b" / "S2.csv", SMALL_HEADER, small_rows(2))
    import_path(db_path, tmp_path / "a", "openface")
    import_path(db_path, tmp_path / "b", "openface")
    write_csv(tmp_path / "a" / "S1.csv", SMALL_HEADER, small_rows(1))
    report = import_path(db_path, tmp_path / "a", "openface")
    assert query(db_path, "SELECT source, count(*) FROM openface_frames GROUP BY source "
                          "ORDER BY source") == [("S1", 1), ("S2", 2)]
    assert report.counts["sources"] == 2 and report.counts["frames"] == 3


def test_empty_cells_are_counted(tmp_path: Path, db_path: Path) -> None:
    rows = small_rows(3)
    rows[1][6] = ""
    write_csv(tmp_path / "S1.csv", SMALL_HEADER, rows)
    report = import_path(db_path, tmp_path, "openface")
    assert [(s.reason, s.rows, s.first_line) for s in report.skipped] == [
        ("empty cells stored as NULL", 1, 3)]


@pytest.mark.parametrize("column", [3, 6])  # confidence (ranged), AU12_r
def test_column_empty_in_every_row_is_counted_not_a_crash(column: int, tmp_path: Path,
                                                          db_path: Path) -> None:
    """A column with no value at all has no min/max to range-check (found by hypothesis:
    a cut file left one column empty throughout)."""
    rows = small_rows(3)
    for row in rows:
        row[column] = ""
    write_csv(tmp_path / "S1.csv", SMALL_HEADER, rows)
    report = import_path(db_path, tmp_path, "openface")
    assert [(s.reason, s.rows, s.first_line) for s in report.skipped] == [
        ("empty cells stored as NULL", 3, 2)]


def test_detect(sample: OpenFaceSample, tmp_path: Path) -> None:
    assert openface.detect(sample.root)
    assert openface.detect(sample.files[1].path)
    assert not openface.detect(sample.root.parent / "HRM")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert not openface.detect(tmp_path)


# --- bad input -------------------------------------------------------------------------

def _good_text() -> str:
    return "\n".join(", ".join(map(str, r)) for r in [SMALL_HEADER, *small_rows(4)]) + "\n"


BAD_FILES = {
    "no OpenFace column": (lambda t: "a,b,c\n1,2,3\n", 1, "none of the OpenFace"),
    "truncated last line": (lambda t: t[: t.rstrip("\n").rfind(",")] + "\n", 5, "fields"),
    "binary": (lambda t: "\x00\x01" + t, 1, "binary"),
    "header only": (lambda t: t.splitlines(keepends=True)[0], 2, "no data rows"),
    "confidence NaN": (lambda t: t.replace("0.98", "nan", 2), 2, "'confidence': nan"),
    "confidence 5": (lambda t: t.replace("\n3, 0, 0.08, 0.98", "\n3, 0, 0.08, 5", 1), 4,
                     "'confidence': 5 (expected a number in [0, 1])"),
    "AU01_r inf": (lambda t: t.replace("\n2, 0, 0.04, 0.98, 1, 0.5", "\n2, 0, 0.04, 0.98, 1, inf",
                                       1), 3, "'AU01_r': inf (expected an intensity in [0, 5])"),
    "AU12_c 7": (lambda t: t.replace(", 1.25, 1\n", ", 1.25, 7\n", 1), 3, "'AU12_c': 7"),
    "success 9": (lambda t: t.replace("\n4, 0, 0.12, 0.98, 1,", "\n4, 0, 0.12, 0.98, 9,", 1), 5,
                  "'success': 9 (expected 0 or 1)"),
    "negative frame": (lambda t: t.replace("\n3, 0,", "\n-3, 0,", 1), 4, "'frame': -3"),
    "duplicate frame": (lambda t: t.replace("\n3, 0,", "\n2, 0,", 1), 4,
                        "frame 2 appears twice for the same face (first on line 3"),
    "not UTF-8": (lambda t: t.replace("\n3, 0,", "\n3\udce9, 0,", 1), 4, "not UTF-8"),
    "unterminated quote": (lambda t: t.replace("\n3, 0,", '\n"3, 0,', 1), 4,
                           "unterminated quoted"),
    "late NUL byte": (lambda t: t + "\n" * 70_000 + "9, 0, 0.3, 0.9\x00, 1, 0, 0, 0\n",
                      70_006, "NUL byte"),
    "empty": (lambda t: "", None, "empty"),
    "non-numeric cell": (lambda t: t.replace("0.98", "high", 1), 2, "'high' is not a number"),
    "decimal frame": (lambda t: t.replace("\n3, 0,", "\n2.5, 0,", 1), 4, "whole number"),
    "column twice": (lambda t: t.replace("AU12_c", "AU12_r", 1), 1, "appears twice"),
}


@pytest.fixture(scope="module")
def earlier_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index holding an earlier good import of source S1 (4 frames)."""
    folder = tmp_path_factory.mktemp("earlier")
    write_csv(folder / "S1.csv", SMALL_HEADER, small_rows(4))
    import_path(folder / "index.duckdb", folder / "S1.csv", "openface")
    return folder / "index.duckdb"


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_names_file_and_line(case: str, tmp_path: Path, db_path: Path,
                                      earlier_index: Path, failed_import) -> None:
    shutil.copy(earlier_index, db_path)
    damage, line, words = BAD_FILES[case]
    write_csv(tmp_path / "run" / "S1.csv", SMALL_HEADER, small_rows(2))  # would replace S1
    bad = tmp_path / "run" / "sub" / "S2.csv"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(damage(_good_text()).encode("utf-8", "surrogateescape"))
    error = failed_import(db_path, tmp_path / "run", "openface")
    assert error.path.name == "S2.csv" and error.line == line, error
    assert words in str(error)
    assert query(db_path, "SELECT count(*) FROM openface_frames WHERE source = 'S1'") == [(4,)]


def test_same_stem_twice_names_both_files(tmp_path: Path, db_path: Path,
                                          earlier_index: Path, failed_import) -> None:
    shutil.copy(earlier_index, db_path)
    write_csv(tmp_path / "comma" / "S5.csv", SMALL_HEADER, small_rows(1))
    write_csv(tmp_path / "comma_space" / "S5.csv", SMALL_HEADER, small_rows(1))
    error = failed_import(db_path, tmp_path, "openface")
    assert "comma/S5.csv" in str(error) and "comma_space/S5.csv" in str(error)


_MUTATION = mutations(["delete", "insert", "replace", "cut"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(_MUTATION, min_size=1, max_size=4))
def test_damaged_files_fail_cleanly(edits: list[tuple[str, int, str]]) -> None:
    text = apply_damage(_good_text(), edits)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "S1.csv"
        path.write_bytes(text.encode("utf-8", "replace"))
        try:
            import_path(Path(tmp) / "index.duckdb", path, "openface")
        except DatasetFormatError:
            pass


@pytest.mark.parametrize("cell", ["nan", "-inf", "Infinity", "1e400"])
def test_non_finite_cell_in_any_column_is_refused(cell: str, tmp_path: Path) -> None:
    """Columns without a documented range must still be finite numbers (the byte scan
    that lets a clean file skip this check must see every spelling DuckDB reads)."""
    header = (*SMALL_HEADER, "pose_Tx")
    rows = [[*r, 12.5] for r in small_rows(3)]
    rows[1][-1] = cell
    path = write_csv(tmp_path / "S1.csv", header, rows)
    with pytest.raises(DatasetFormatError) as info:
        import_path(tmp_path / "index.duckdb", path, "openface")
    assert info.value.line == 3 and "'pose_Tx'" in str(info.value)
    assert "expected a finite number" in str(info.value)
