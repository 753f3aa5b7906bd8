"""AffectNet importer: rows, labels and dirty-row counts on small hand-made files; every
kind of bad file names file and line and leaves the index as it was."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.core.vocab import AFFECTNET_CODES
from faceexplorer.datasets import affectnet
from faceexplorer.datasets.registry import import_path

from .conftest import expect_failed_import, index_snapshot, write_csv

HEADER = affectnet.HEADER


def landmarks(seed: int, n: int = 136) -> str:
    return ";".join(f"{(seed * 37 + i * 11) % 900 + 0.25:.2f}" for i in range(n))


def good_row(i: int, code: int = 1, val: object = 0.5, aro: object = -0.25) -> list[object]:
    return [f"{i % 7}/img{i:04d}.jpg", 10 + i, 20 + i, 100 + i, 110 + i, landmarks(i),
            code, val, aro]


# Data rows 0..13 of training.csv; line = row + 2. Dirty rows are documented per row.
TRAIN_ROWS: list[list[object]] = [good_row(i, code=i % 11) for i in range(11)]
TRAIN_ROWS[8][7:9] = [-2, -2]       # code 8 'none' with missing valence/arousal (line 10)
TRAIN_ROWS[9][8] = -2               # only arousal missing (line 11)
TRAIN_ROWS += [
    ["NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"],  # line 13: skip
    [*good_row(12)[:3], 0, *good_row(12)[4:]],                                  # line 14: w=0
    [*good_row(13)[:5], "NULL", *good_row(13)[6:]],                              # line 15: NULL
]
VAL_ROWS = [good_row(100 + i, code=i) for i in range(3)]


def write_affectnet(root: Path, newline: str = "\n", train=TRAIN_ROWS, val=VAL_ROWS) -> Path:
    """A tiny AffectNet root; returns it."""
    folder = root / "Manually_Annotated"
    write_csv(folder / "training.csv", HEADER, train, newline)
    if val is not None:
        write_csv(folder / "validation.csv", HEADER, val, newline)
    return root


def table(db_path: Path, sql: str = "SELECT * FROM affectnet_images ORDER BY split, row_index"):
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_rows_labels_and_dirty_rows_counted(tmp_path: Path, db_path: Path) -> None:
    root = write_affectnet(tmp_path / "AffectNet")
    report = import_path(db_path, root, "affectnet")
    assert report.counts["images_train"] == 11 and report.counts["images_val"] == 3
    assert report.counts["rows_train"] == 14
    assert report.counts["with_valence_arousal"] == 12
    train_csv = str(root / "Manually_Annotated" / "training.csv")
    skipped = {(s.file, s.reason): (s.rows, s.first_line) for s in report.skipped}
    assert skipped == {
        (train_csv, "NULL or empty cell"): (2, 13),
        (train_csv, "face_width/face_height 0"): (1, 14),
        (train_csv, "valence/arousal missing (-2), stored as NULL"): (2, 10),
    }
    rows = table(db_path, "SELECT row_index, line, sub_path, filename, image_root, face_x, "
                 "face_y, face_w, face_h, expression_raw, expression, valence, arousal, "
                 "landmarks FROM affectnet_images WHERE split = 'train' ORDER BY row_index")
    assert [r[0] for r in rows] == list(range(11))
    for r in rows:
        i = r[0]
        assert r[1] == i + 2 and r[2] == f"{i % 7}/img{i:04d}.jpg" and r[3] == f"img{i:04d}.jpg"
        assert r[4] == str((root / "Manually_Annotated" / "Manually_Annotated_Images").resolve())
        assert r[5:9] == (10 + i, 20 + i, 100 + i, 110 + i)
        assert r[9] == i and r[10] == AFFECTNET_CODES[i]
        expected = [float(v) for v in landmarks(i).split(";")]
        assert np.allclose(r[13], expected, atol=1e-3) and len(r[13]) == 136
    assert rows[8][11:13] == (None, None) and rows[9][11:13] == (0.5, None)
    assert rows[0][10] == "neutral" and rows[10][10] == "no-face"


def test_path_variants_and_line_endings_agree(tmp_path: Path) -> None:
    lf = write_affectnet(tmp_path / "lf")
    crlf = write_affectnet(tmp_path / "crlf", newline="\r\n")
    results = []
    for i, path in enumerate([lf, lf / "Manually_Annotated", crlf]):
        db = tmp_path / f"i{i}.duckdb"
        import_path(db, path, "affectnet")
        results.append(table(db, "SELECT * EXCLUDE (file, image_root) FROM affectnet_images "
                                 "ORDER BY split, row_index"))
    assert results[0] == results[1] == results[2]
    db = tmp_path / "file.duckdb"
    report = import_path(db, lf / "Manually_Annotated" / "training.csv", "affectnet")
    assert (report.counts["images_train"], report.counts["images_val"]) == (11, 0)
    assert affectnet.detect(lf) and affectnet.detect(lf / "Manually_Annotated" / "training.csv")
    assert not affectnet.detect(tmp_path)


def test_reimport_replaces_rows(tmp_path: Path, db_path: Path) -> None:
    root = write_affectnet(tmp_path / "a")
    import_path(db_path, root, "affectnet")
    write_affectnet(tmp_path / "b", train=TRAIN_ROWS[:3], val=None)
    report = import_path(db_path, tmp_path / "b", "affectnet")
    assert report.counts == {"rows_train": 3, "images_train": 3, "images_val": 0,
                             "with_valence_arousal": 3}


def test_blank_lines_reported_and_rows_counted_like_pandas(tmp_path: Path,
                                                          db_path: Path) -> None:
    root = write_affectnet(tmp_path / "a", val=None)
    csv = root / "Manually_Annotated" / "training.csv"
    lines = csv.read_bytes().split(b"\n")
    csv.write_bytes(b"\n".join([*lines[:4], b"", *lines[4:]]) + b"\n\n")  # blank line 5
    report = import_path(db_path, root, "affectnet")
    blank = [s for s in report.skipped if s.reason.startswith("blank lines")]
    assert [(b.rows, b.first_line) for b in blank] == [(1, 5)]
    import pandas as pd
    expected = pd.read_csv(csv, na_values=["NULL"])["subDirectory_filePath"]
    got = table(db_path, "SELECT row_index, sub_path FROM affectnet_images ORDER BY row_index")
    assert all(expected[i] == sub for i, sub in got) and len(got) == 11


def _mutate(rows: list[list[object]], line: int, column: str, value: object):
    rows = [list(r) for r in rows]
    rows[line - 2][HEADER.index(column)] = value
    return rows


BAD_TRAIN = {
    "code 11": (_mutate(TRAIN_ROWS, 5, "expression", 11), 5, "expression 11"),
    "code -1": (_mutate(TRAIN_ROWS, 4, "expression", -1), 4, "expression -1"),
    "valence 1.5": (_mutate(TRAIN_ROWS, 6, "valence", 1.5), 6, "valence 1.5"),
    "arousal -3": (_mutate(TRAIN_ROWS, 3, "arousal", -3), 3, "arousal -3"),
    "not a number": (_mutate(TRAIN_ROWS, 7, "face_x", "abc"), 7, "'abc' is not a number"),
    "fractional box": (_mutate(TRAIN_ROWS, 4, "face_y", 2.5), 4, "whole number"),
    "negative width": (_mutate(TRAIN_ROWS, 9, "face_width", -4), 9, "negative"),
    "135 landmarks": (_mutate(TRAIN_ROWS, 8, "facial_landmarks", landmarks(1, 135)), 8,
                      "135 values"),
    "landmark text": (_mutate(TRAIN_ROWS, 3, "facial_landmarks",
                              landmarks(1).replace("37.25", "x", 1)), 3, "'x' is not a number"),
    "extra field": ([*TRAIN_ROWS[:4], [*TRAIN_ROWS[4], 1], *TRAIN_ROWS[5:]], 6, "10 fields"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRAIN))
def test_bad_cells_name_file_and_line(case: str, tmp_path: Path, db_path: Path) -> None:
    import_path(db_path, write_affectnet(tmp_path / "good"), "affectnet")
    rows, line, words = BAD_TRAIN[case]
    bad = write_affectnet(tmp_path / "bad", train=rows)
    err = expect_failed_import(db_path, bad, "affectnet")
    assert err.path.name == "training.csv" and err.line == line, str(err)
    assert words in err.problem, str(err)


def test_bad_files(tmp_path: Path, db_path: Path) -> None:
    import_path(db_path, write_affectnet(tmp_path / "good"), "affectnet")
    folder = write_affectnet(tmp_path / "bad") / "Manually_Annotated"
    csv = folder / "training.csv"
    good = csv.read_bytes()

    csv.write_bytes(good.replace(b"face_width", b"face_wide", 1))
    err = expect_failed_import(db_path, csv, "affectnet")
    assert err.line == 1 and "face_width" in err.problem

    csv.write_bytes(good[: len(good.rstrip()) - 10])     # last line cut short
    err = expect_failed_import(db_path, csv, "affectnet")
    assert err.line == len(TRAIN_ROWS) + 1 and "truncated" in err.problem, str(err)

    csv.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "binary" in expect_failed_import(db_path, csv, "affectnet").problem

    csv.write_bytes(b"")
    assert "empty" in expect_failed_import(db_path, csv, "affectnet").problem

    csv.write_bytes(good)
    (folder / "validation.csv").write_bytes(b"just,a,header\n")
    err = expect_failed_import(db_path, folder, "affectnet")
    assert err.path.name == "validation.csv" and err.line == 1


def _npy_split(folder: Path, items: dict[str, tuple[object, object, object, int]]) -> None:
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    for image_id, (exp, val, aro, n_lnd) in items.items():
        (folder / "images" / f"{image_id}.jpg").write_bytes(b"\xff\xd8\xff")
        ann = folder / "annotations"
        np.save(ann / f"{image_id}_exp.npy", np.array(str(exp)))
        np.save(ann / f"{image_id}_val.npy", np.array(str(val)))
        np.save(ann / f"{image_id}_aro.npy", np.array(aro, dtype=np.float64))
        np.save(ann / f"{image_id}_lnd.npy", np.arange(n_lnd, dtype=np.float32))


def test_npy_layout(tmp_path: Path, db_path: Path) -> None:
    root = tmp_path / "AffectNet8"
    _npy_split(root / "train_set", {"0": (3, 0.25, -0.5, 136), "10": (7, -2, -2, 136),
                                    "2": (0, 1, 1, 136)})
    _npy_split(root / "val_set", {"5": (1, 0.1, 0.2, 136)})
    assert affectnet.detect(root) and affectnet.detect(root / "train_set")
    report = import_path(db_path, root, "affectnet")
    assert report.counts["images_train"] == 3 and report.counts["images_val"] == 1
    assert report.counts["with_valence_arousal"] == 3
    rows = table(db_path, "SELECT split, filename, expression_raw, expression, valence, "
                          "arousal, landmarks[136], row_index FROM affectnet_images "
                          "ORDER BY split, filename")
    assert rows == [("train", "0.jpg", 3, "surprise", 0.25, -0.5, 135.0, None),
                    ("train", "10.jpg", 7, "contempt", None, None, 135.0, None),
                    ("train", "2.jpg", 0, "neutral", 1.0, 1.0, 135.0, None),
                    ("val", "5.jpg", 1, "happy", 0.1, 0.2, 135.0, None)]

    _npy_split(tmp_path / "bad" / "train_set", {"1": (9, 0, 0, 136)})
    err = expect_failed_import(db_path, tmp_path / "bad", "affectnet")
    assert err.path.name == "1_exp.npy" and "0..7" in err.problem
    _npy_split(tmp_path / "bad2" / "train_set", {"1": (2, 0, 0, 130)})
    err = expect_failed_import(db_path, tmp_path / "bad2", "affectnet")
    assert err.path.name == "1_lnd.npy" and "130 values" in err.problem
    (tmp_path / "bad2" / "train_set" / "annotations" / "1_lnd.npy").write_bytes(b"garbage")
    err = expect_failed_import(db_path, tmp_path / "bad2", "affectnet")
    assert "not a numpy" in err.problem


def test_sample_writer_counts_exact(tmp_path: Path, db_path: Path) -> None:
    samples = pytest.importorskip("faceexplorer.samples.affectnet",
                                  reason="sample writer faceexplorer.samples.affectnet missing")
    sample = samples.write_affectnet(tmp_path, "small", np.random.default_rng(3), images=False)
    report = import_path(db_path, sample.training.csv.parent, "affectnet")
    assert report.counts["images_train"] == sample.training.valid_rows
    assert report.counts["images_val"] == sample.validation.valid_rows
    for split in (sample.training, sample.validation):
        kept = split.clean
        missing_va = int((kept & ((split.valence == -2) | (split.arousal == -2))).sum())
        got = {s.reason: s.rows for s in report.skipped if s.file == str(split.csv)}
        assert got.get("NULL or empty cell", 0) == split.null_rows
        assert got.get("face_width/face_height 0", 0) == split.zero_width_rows
        assert got.get("valence/arousal missing (-2), stored as NULL", 0) == missing_va
    codes = table(db_path, "SELECT row_index, expression_raw FROM affectnet_images "
                           "WHERE split = 'train' ORDER BY row_index")
    assert [c for _, c in codes] == [int(sample.training.codes[i]) for i, _ in codes]


# --- randomised broken files ----------------------------------------------------------

_GOOD_BYTES = b"".join(
    [",".join(HEADER).encode() + b"\n"]
    + [",".join(str(c) for c in r).encode() + b"\n" for r in TRAIN_ROWS[:5]])

_edit = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 8)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("swap"), st.integers(0, 10_000), st.integers(0, 8)),
)


def _apply(data: bytes, edit: tuple[str, int, object]) -> bytes:
    kind, pos, arg = edit
    pos %= len(data) + 1
    if kind == "delete":
        return data[:pos] + data[pos + int(arg):]  # type: ignore[call-overload]
    if kind == "insert":
        return data[:pos] + bytes(arg) + data[pos:]  # type: ignore[arg-type]
    if kind == "truncate":
        return data[:pos]
    lines = data.split(b"\n")
    line = pos % len(lines)
    fields = lines[line].split(b",")
    j = int(arg) % max(len(fields) - 1, 1)  # type: ignore[call-overload]
    if len(fields) > 1:
        fields[j], fields[j + 1] = fields[j + 1], fields[j]
    lines[line] = b",".join(fields)
    return b"\n".join(lines)


@pytest.fixture(scope="module")
def base_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("base")
    db = root / "index.duckdb"
    import_path(db, write_affectnet(root / "AffectNet"), "affectnet")
    return db


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_edit, min_size=1, max_size=3))
def test_random_damage_is_a_format_error_or_fine(edits, base_index: Path,
                                                 tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("fuzz")
    db = work / "index.duckdb"
    shutil.copy(base_index, db)
    data = _GOOD_BYTES
    for edit in edits:
        data = _apply(data, edit)
    csv = work / "Manually_Annotated" / "training.csv"
    csv.parent.mkdir()
    csv.write_bytes(data)
    before = index_snapshot(db)
    try:
        report = import_path(db, csv, "affectnet")
    except DatasetFormatError:
        assert index_snapshot(db) == before
    else:
        assert report.counts["images_train"] <= 5
        for v in table(db, "SELECT valence FROM affectnet_images WHERE valence IS NOT NULL"):
            assert -1 <= v[0] <= 1 and not math.isnan(v[0])
