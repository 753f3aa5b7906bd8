"""HRM importer: counts against the sample writer's record, segments on hand-made frame runs,
codes and extra columns kept, groups and media found, and bad files named by line."""

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
from faceexplorer.core.vocab import HRM_AU_COLUMNS, HRM_LABEL_HEADER, HRM_RATERS
from faceexplorer.datasets import hrm
from faceexplorer.datasets.registry import import_path
from faceexplorer.samples.hrm import HRMSample, write_hrm

from .conftest import shared_data, write_csv
from .damage import apply_damage, mutations

RATED_HEADER = (*HRM_LABEL_HEADER, *HRM_RATERS, "average")


def label_row(frame: int, aus: dict[str, int] | None = None, asd: int = 0,
              raters: Sequence[int] | None = None, mean: float | None = None) -> list[object]:
    """One CSV row: every AU absent unless given in ``aus``."""
    aus = aus or {}
    row: list[object] = [frame, *(aus.get(c, 0) for c in HRM_AU_COLUMNS), asd]
    if raters is not None:
        row += [*raters, sum(raters) / len(raters) if mean is None else mean]
    return row


def write_labels(path: Path, frames: Sequence[int], rated: bool = False,
                 newline: str = "\n") -> Path:
    rows = [label_row(f, {"AU12": 1 + f % 5}, raters=[f % 5] * 5 if rated else None)
            for f in frames]
    return write_csv(path, RATED_HEADER if rated else HRM_LABEL_HEADER, rows, newline)


def query(db: Path, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> HRMSample:
    return write_hrm(tmp_path_factory.mktemp("hrm"), "small", np.random.default_rng(5),
                     images=False)


# --- the sample writer's dataset ------------------------------------------------------

def test_sample_counts_match_what_was_written(sample: HRMSample, db_path: Path) -> None:
    report = import_path(db_path, sample.root, "hrm")
    assert report.counts["children"] == len(sample.children) == 6
    assert report.counts["children_asd"] == 4 and report.counts["children_td"] == 2
    assert report.counts["frames"] == sample.total_frames
    assert report.counts["segments"] == sample.total_segments
    rows = query(db_path, "SELECT child, grp, n_frames, n_segments, first_frame, last_frame, "
                          "has_ratings FROM hrm_children ORDER BY child")
    for child, grp, n, n_seg, first, last, rated in rows:
        written = sample.child(child)
        assert (grp, n, n_seg) == (written.group, written.n_frames, len(written.segments))
        assert (first, last) == (written.segments[0][0], written.last_frame) and rated
    segments = query(db_path, "SELECT child, start_frame, end_frame, n_frames FROM hrm_segments "
                              "ORDER BY child, segment")
    expected = sorted((c.name, a, b, b - a + 1) for c in sample.children for a, b in c.segments)
    assert sorted(segments) == expected


def test_lines_point_at_the_rows_they_came_from(sample: HRMSample, db_path: Path) -> None:
    import_path(db_path, sample.root, "hrm")
    for name in ("S2", "S3"):  # the unsorted child and the CRLF child
        child = sample.child(name)
        lines = child.csv.read_bytes().decode().splitlines()
        stored = query(db_path, "SELECT frame, line FROM hrm_frames WHERE child = ?", [name])
        assert len(stored) == child.n_frames
        assert all(int(lines[line - 1].split(",")[0]) == frame for frame, line in stored)
    frames = [f for f, in query(db_path, "SELECT frame FROM hrm_frames WHERE child = 'S2' "
                                         "ORDER BY rowid")]
    assert frames == sorted(frames), "frames are stored sorted by frame"


def test_rating_mean_and_segment_atypicality(sample: HRMSample, db_path: Path) -> None:
    report = import_path(db_path, sample.root, "hrm")
    assert not any("average column" in w for w in report.warnings)
    (diff,) = query(db_path, "SELECT max(abs(rating_mean - (\"Abnormal-j\" + \"Abnormal-jie\" + "
                             "\"Abnormal-y\" + \"Abnormal-z\" + \"Abnormal-w\") / 5)) "
                             "FROM hrm_frames")[0]
    assert diff <= 0.01
    (mismatch,) = query(db_path, """
        SELECT count(*) FROM hrm_segments s WHERE abs(mean_atypicality - (
            SELECT avg(rating_mean) FROM hrm_frames f
            WHERE f.child = s.child AND f.segment = s.segment)) > 1e-9""")[0]
    assert mismatch == 0


# --- hand-made files -------------------------------------------------------------------

def test_segments_from_unsorted_runs_starting_at_zero(tmp_path: Path, db_path: Path) -> None:
    write_labels(tmp_path / "ASD" / "S1.csv", [5, 3, 4, 0, 1, 2, 10, 11, 13], rated=True)
    report = import_path(db_path, tmp_path, "hrm")
    assert report.counts["segments"] == 3 and report.counts["frames"] == 9
    assert query(db_path, "SELECT segment, start_frame, end_frame, n_frames FROM hrm_segments "
                          "ORDER BY segment") == [(1, 0, 5, 6), (2, 10, 11, 2), (3, 13, 13, 1)]
    stored = query(db_path, "SELECT frame, segment, line FROM hrm_frames ORDER BY frame")
    assert stored[0] == (0, 1, 5) and stored[5] == (5, 1, 2) and stored[-1] == (13, 3, 10)
    assert query(db_path, "SELECT n_segments, first_frame, last_frame FROM hrm_children") == [
        (3, 0, 13)]


def test_laterality_codes_are_kept(tmp_path: Path, db_path: Path) -> None:
    codes = {"AU1": 2, "AU2": 3, "AU28": 4, "AD32": 5, "AU12": 1, "AU0": 0}
    write_csv(tmp_path / "TD" / "S40.csv", HRM_LABEL_HEADER,
              [label_row(0, codes, asd=1), label_row(1)])
    import_path(db_path, tmp_path, "hrm")
    row = query(db_path, 'SELECT "AU1", "AU2", "AU28", "AD32", "AU12", "AU0", asd, '
                         '"Abnormal-j", rating_mean FROM hrm_frames WHERE frame = 0')[0]
    assert row == (2, 3, 4, 5, 1, 0, 1, None, None)


def test_extra_columns_kept_and_reported(tmp_path: Path, db_path: Path) -> None:
    header = (*RATED_HEADER, "note", "quality")
    rows = [[*label_row(f, raters=[1, 2, 3, 4, 0]), f"n{f}", f * 10] for f in (0, 1)]
    write_csv(tmp_path / "S1.csv", header, rows)
    report = import_path(db_path, tmp_path, "hrm")
    assert any("'note'" in w and "'quality'" in w and "hrm_extra" in w for w in report.warnings)
    assert query(db_path, "SELECT frame, column_name, value FROM hrm_extra ORDER BY ALL") == [
        (0, "note", "n0"), (0, "quality", "0"), (1, "note", "n1"), (1, "quality", "10")]
    assert query(db_path, "SELECT rating_mean FROM hrm_frames") == [(2.0,), (2.0,)]


def test_group_from_folder_name_and_td_suffix(tmp_path: Path, db_path: Path) -> None:
    for name in ("S1", "S32TD", "S33td"):
        write_labels(tmp_path / f"{name}.csv", [0, 1])
    report = import_path(db_path, tmp_path, "hrm")
    assert query(db_path, "SELECT child, grp FROM hrm_children ORDER BY child") == [
        ("S1", None), ("S32TD", "TD"), ("S33td", "TD")]
    assert any("no group" in w and "S1" in w for w in report.warnings)
    assert report.counts["children_td"] == 2 and report.counts["children_asd"] == 0


def test_group_folders_win_and_loose_csvs_are_reported(tmp_path: Path, db_path: Path) -> None:
    write_labels(tmp_path / "ASD" / "S1.csv", [0])
    write_labels(tmp_path / "td" / "S70.csv", [0])
    (tmp_path / "summary.csv").write_text("anything\n1\n")
    report = import_path(db_path, tmp_path, "hrm")
    assert query(db_path, "SELECT child, grp FROM hrm_children ORDER BY child") == [
        ("S1", "ASD"), ("S70", "TD")]
    assert any("summary.csv" in w for w in report.warnings)


def test_media_found_without_listing_frames(tmp_path: Path, db_path: Path) -> None:
    import cv2

    write_labels(tmp_path / "ASD" / "S1.csv", list(range(13)))
    write_labels(tmp_path / "TD" / "S70.csv", [0, 1])
    (tmp_path / "origin" / "S1").mkdir(parents=True)
    (tmp_path / "origin" / "S1" / "0_0.jpg").write_bytes(b"not scanned")
    # a decoy video inside origin/ must not be found: that folder is never listed
    (tmp_path / "origin" / "S70.mp4").write_bytes(b"")
    video = tmp_path / "videos" / "S1.mp4"
    video.parent.mkdir()
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25, (32, 32))
    for k in range(10):
        writer.write(np.full((32, 32, 3), k * 20, np.uint8))
    writer.release()
    report = import_path(db_path, tmp_path, "hrm")
    rows = query(db_path, "SELECT child, frames_dir, video_path, video_frames, "
                          "frames_beyond_video FROM hrm_children ORDER BY child")
    assert rows[0] == ("S1", str(tmp_path / "origin" / "S1") + "/", str(video), 10, 3)
    assert rows[1] == ("S70", None, None, None, None)
    assert report.counts["children_with_video"] == 1
    assert report.counts["children_with_frames"] == 1
    assert report.counts["frames_beyond_video"] == 3
    assert any("3 label frames" in w and "S1" in w for w in report.warnings)


def test_rating_mean_mismatch_is_warned(tmp_path: Path, db_path: Path) -> None:
    rows = [label_row(0, raters=[4, 4, 4, 4, 4], mean=4.0),
            label_row(1, raters=[4, 4, 4, 4, 4], mean=1.5)]
    write_csv(tmp_path / "ASD" / "S1.csv", RATED_HEADER, rows)
    report = import_path(db_path, tmp_path, "hrm")
    assert any(w.startswith("1 frames") and "line 3" in w for w in report.warnings)
    assert query(db_path, "SELECT rating_mean FROM hrm_frames ORDER BY frame") == [(4.0,), (1.5,)]


def test_blank_lines_are_reported(tmp_path: Path, db_path: Path) -> None:
    path = write_labels(tmp_path / "ASD" / "S1.csv", [0, 1, 2])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], "", *lines[2:], "", ""]))
    report = import_path(db_path, tmp_path, "hrm")
    assert report.counts["frames"] == 3
    assert [(s.rows, s.first_line) for s in report.skipped] == [(1, 3)]


def test_reimport_replaces_the_dataset(tmp_path: Path, db_path: Path) -> None:
    write_labels(tmp_path / "ASD" / "S1.csv", [0, 1, 2])
    import_path(db_path, tmp_path, "hrm")
    write_labels(tmp_path / "ASD" / "S1.csv", [0, 2])
    report = import_path(db_path, tmp_path, "hrm")
    assert (report.counts["frames"], report.counts["segments"]) == (2, 2)


def test_detect(tmp_path: Path, sample: HRMSample) -> None:
    assert hrm.detect(sample.root)
    assert hrm.detect(sample.child("S1").csv)
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert not hrm.detect(tmp_path)


# --- bad input -------------------------------------------------------------------------

def _good_text() -> str:
    rows = [label_row(f, {"AU12": 1}, raters=[1, 1, 2, 2, 1]) for f in range(4)]
    return "\n".join(",".join(map(str, r)) for r in [RATED_HEADER, *rows]) + "\n"


def _cell(text: str, line: int, column: str, value: str) -> str:
    lines = text.splitlines()
    cells = lines[line - 1].split(",")
    cells[RATED_HEADER.index(column)] = value
    lines[line - 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


BAD_FILES = {
    "wrong header": (lambda t: t.replace("AU43", "AU42", 1), 1, "AU43"),
    "truncated last line": (lambda t: t[: t.rstrip("\n").rfind(",") - 20] + "\n", 5, "field"),
    "binary": (lambda t: "\x00\x01PK" + t, 1, "binary"),
    "header only": (lambda t: t.splitlines(keepends=True)[0], 2, "no data rows"),
    # past the first 64 KB (70,000 blank lines), in a number cell: line 70,006
    "late NUL byte": (lambda t: _cell(t + "\n" * 70_000 + t.splitlines()[-1] + "\n",
                                      70_006, "AU9", "1\x00"), 70_006, "NUL byte"),
    "not UTF-8": (lambda t: _cell(t, 4, "AU9", "\xe9"), 4, "not UTF-8"),
    "unterminated quote": (lambda t: _cell(t, 3, "AU9", '"1'), 3, "unterminated quoted"),
    "empty": (lambda t: "", None, "empty"),
    "out-of-range AU": (lambda t: _cell(t, 3, "AU25", "7"), 3, "'AU25': value 7"),
    "decimal AU": (lambda t: _cell(t, 4, "AU1", "1.5"), 4, "'AU1': value 1.5"),
    "non-numeric AU": (lambda t: _cell(t, 2, "AU9", "yes"), 2, "'yes'"),
    "empty AU cell": (lambda t: _cell(t, 5, "AU9", ""), 5, "empty cell"),
    "rater out of range": (lambda t: _cell(t, 2, "Abnormal-w", "5"), 2, "Abnormal-w"),
    "ASD flag 2": (lambda t: _cell(t, 3, "ASD", "2"), 3, "'ASD'"),
    "negative frame": (lambda t: _cell(t, 2, "frame", "-1"), 2, "frame"),
    "duplicate frame": (lambda t: _cell(t, 4, "frame", "0"), 4, "frame 0 appears twice"),
}


@pytest.fixture(scope="module")
def earlier_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index holding an earlier good HRM import (3 frames), copied by each test."""
    folder = tmp_path_factory.mktemp("earlier")
    write_labels(folder / "ASD" / "S1.csv", [0, 1, 5])
    import_path(folder / "index.duckdb", folder, "hrm")
    return folder / "index.duckdb"


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_names_file_and_line(case: str, tmp_path: Path, db_path: Path,
                                      earlier_index: Path, failed_import) -> None:
    # the earlier good import of HRM must survive the failed one untouched
    shutil.copy(earlier_index, db_path)
    damage, line, words = BAD_FILES[case]
    bad = tmp_path / "bad"
    write_labels(bad / "ASD" / "S1.csv", [0, 1])
    path = bad / "TD" / "S70.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(damage(_good_text()).encode("latin-1"))
    error = failed_import(db_path, bad, "hrm")
    assert error.path.name == "S70.csv", error
    assert error.line == line, error
    assert words in str(error)
    assert query(db_path, "SELECT count(*) FROM hrm_frames") == [(3,)]


def test_same_child_twice_names_both_files(tmp_path: Path, db_path: Path,
                                           earlier_index: Path, failed_import) -> None:
    shutil.copy(earlier_index, db_path)
    write_labels(tmp_path / "ASD" / "S1.csv", [0])
    write_labels(tmp_path / "TD" / "S1.csv", [0])
    error = failed_import(db_path, tmp_path, "hrm")
    assert "ASD/S1.csv" in str(error) and "TD/S1.csv" in str(error)


def test_no_label_files(tmp_path: Path, db_path: Path, earlier_index: Path,
                        failed_import) -> None:
    shutil.copy(earlier_index, db_path)
    (tmp_path / "empty").mkdir()
    assert "ASD/" in str(failed_import(db_path, tmp_path / "empty", "hrm"))


def test_header_only_file_is_refused(tmp_path: Path, db_path: Path, earlier_index: Path,
                                     failed_import) -> None:
    shutil.copy(earlier_index, db_path)
    write_labels(tmp_path / "ASD" / "S1.csv", [0, 1])
    write_labels(tmp_path / "ASD" / "S2.csv", [])
    error = failed_import(db_path, tmp_path, "hrm")
    assert error.path.name == "S2.csv" and error.line == 2 and "no data rows" in str(error)
    assert query(db_path, "SELECT count(*) FROM hrm_frames") == [(3,)]


_MUTATION = mutations(["delete", "insert", "replace", "cut", "dup_line"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(_MUTATION, min_size=1, max_size=4))
def test_damaged_files_fail_cleanly(edits: list[tuple[str, int, str]]) -> None:
    text = apply_damage(_good_text(), edits)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "ASD").mkdir()
        (root / "ASD" / "S1.csv").write_bytes(text.encode("utf-8", "replace"))
        try:
            import_path(root / "index.duckdb", root, "hrm")
        except DatasetFormatError:
            pass


# --- real data ------------------------------------------------------------------------

def test_real_hrm_when_present(db_path: Path) -> None:
    folder = shared_data() / "hrm"
    if not folder.is_dir():
        pytest.skip(f"real HRM label files not found in {folder}")
    report = import_path(db_path, folder, "hrm")
    assert report.counts["frames"] > 0 and report.counts["segments"] > 0
