"""AffectNet (manually annotated set): ``training.csv`` / ``validation.csv`` into the index.

The CSVs go through DuckDB's typed reader into a TEMP table (``csvio.load_csv``), then
set-based SQL does the rest: one scan finds the first real error (a code outside 0..10, a
valence/arousal outside [-1, 1] and not -2, a box that is not a whole number), one counts
the documented dirty rows (literal ``NULL`` or empty cells, zero-size boxes, ``-2``
valence/arousal), one ``INSERT ... SELECT`` writes the kept rows with canonical labels and
parsed landmarks, and a last scan finds landmarks that were not 136 numbers. An error
raises ``DatasetFormatError`` with file and line, and the import rolls back.

Landmarks are stored as ``FLOAT[136]``, not as the ``;`` text, because it measured
faster. On a full-scale synthetic ``training.csv`` (414,800 rows, 430 MB; 2 shared cores),
the step from the TEMP table to the index, validation included, took 5.1 s with the array
against 9.8-14 s with the text. Validating needs the numbers parsed anyway, and writing
56 million characters of text compressed into the index costs more than 136 floats a row.
Every later reader (overlays, alignment, statistics) then gets numbers without parsing.
The whole import against ``CREATE TABLE t AS SELECT * FROM read_csv(...)`` on the same
file: 1.15-1.35x in CPU time, 0.85-1.7x in wall time (noisy on the loaded machine).

The newer official release (``train_set|val_set/images/<id>.jpg`` with
``annotations/<id>_{exp,val,aro,lnd}.npy``) has no CSV, so it is read with a Python loop
over the annotation files; its rows have no ``row_index``/``line`` (nothing to link to).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import duckdb

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.core.vocab import AFFECTNET_CODES
from faceexplorer.datasets import csvio, paths
from faceexplorer.index.report import ImportReport

KIND = "affectnet"
TITLE = "AffectNet"
TABLES: tuple[str, ...] = ("affectnet_images",)

HEADER: tuple[str, ...] = (
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
    "facial_landmarks", "expression", "valence", "arousal",
)
#: Types DuckDB reads the CSV with; a cell that does not fit is a format error.
#: Whole-number columns are read as DOUBLE and checked: DuckDB's reader would silently
#: round "2.5" into an INTEGER column.
CSV_TYPES: dict[str, str] = {
    "subDirectory_filePath": "VARCHAR", "face_x": "DOUBLE", "face_y": "DOUBLE",
    "face_width": "DOUBLE", "face_height": "DOUBLE", "facial_landmarks": "VARCHAR",
    "expression": "DOUBLE", "valence": "DOUBLE", "arousal": "DOUBLE",
}
_WHOLE_COLUMNS = ("face_x", "face_y", "face_width", "face_height", "expression")
SPLIT_FILES: dict[str, str] = {"train": "training.csv", "val": "validation.csv"}
IMAGES_FOLDER = "Manually_Annotated_Images"
LANDMARK_VALUES = 136
MISSING_VA = -2.0

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS affectnet_images (
    split          VARCHAR NOT NULL,    -- 'train' | 'val'
    row_index      BIGINT,              -- 0-based data row of its CSV (AffectNetC25 'index')
    file           VARCHAR NOT NULL,    -- CSV (or annotation file) the row came from
    line           BIGINT,              -- 1-based line in that file
    sub_path       VARCHAR NOT NULL,    -- subDirectory_filePath as written
    filename       VARCHAR NOT NULL,    -- basename of sub_path
    image_root     VARCHAR NOT NULL,    -- folder where sub_path is expected
    face_x         INTEGER,
    face_y         INTEGER,
    face_w         INTEGER,
    face_h         INTEGER,
    landmarks      FLOAT[{LANDMARK_VALUES}],  -- 68 points, x and y interleaved
    expression_raw TINYINT NOT NULL,    -- AffectNet code 0..10
    expression     VARCHAR NOT NULL,    -- canonical label (vocab.EXPRESSION_LABELS)
    valence        DOUBLE,              -- NULL where the file says -2 (missing)
    arousal        DOUBLE
)
"""

# Canonical labels as a SQL list literal, indexed 1-based by code + 1.
_LABELS_SQL = "[" + ", ".join(f"'{AFFECTNET_CODES[c]}'" for c in sorted(AFFECTNET_CODES)) + "]"
_MAX_CODE = max(AFFECTNET_CODES)
_RAW = "affectnet_raw"
# Inside the import transaction DuckDB numbers a new table's rows from a large offset
# (transaction-local row ids), so the data row is rowid minus the first rowid.
_DATA_ROW = f'(rowid - (SELECT min(rowid) FROM "{_RAW}"))'


def detect(path: Path) -> bool:
    """Whether ``path`` is an AffectNet root, its ``Manually_Annotated`` folder, one of its
    CSVs, or the newer ``train_set``/``val_set`` layout (or the folder holding it)."""
    path = Path(path)
    if path.is_file():
        return path.suffix.lower() == ".csv" and _has_header(path)
    if not path.is_dir():
        return False
    if _csv_files(path):
        return True
    return bool(_npy_split_folders(path))


def load(con: duckdb.DuckDBPyConnection, path: Path, report: ImportReport,
         **options: Any) -> None:
    """Replace the AffectNet records with those of ``path``; fill ``report``.

    Parameters
    ----------
    con
        Index connection, inside the import transaction.
    path
        AffectNet root, ``Manually_Annotated`` folder, a ``training.csv`` /
        ``validation.csv`` file, or the newer layout's root or split folder.
    report
        Receives counts and the skipped rows.

    Raises
    ------
    DatasetFormatError
        A file is not in AffectNet's format (file, line and problem named).
    """
    if options:
        raise TypeError(f"unexpected options for {KIND}: {', '.join(options)}")
    path = Path(path)
    con.execute(SCHEMA)
    con.execute("DELETE FROM affectnet_images")
    csvs = _csv_files(path) if path.is_dir() else {_split_of(path): path}
    if csvs:
        for csv_path in csvs.values():
            csvio.check_text_file(csv_path)  # every split usable before any is read
        for split, csv_path in csvs.items():
            n = _load_csv(con, split, csv_path, report)
            report.counts[f"rows_{split}"] = n
        _warn_absent(csvs, path, report)
    else:
        folders = _npy_split_folders(path)
        if not folders:
            raise DatasetFormatError(
                path, "no AffectNet files here: expected Manually_Annotated/training.csv "
                "(and/or validation.csv) or train_set/ and val_set/ with images/ and "
                "annotations/")
        for folder in folders.values():
            paths.require_folder(folder / "annotations", "the split's annotations/ folder")
        for split, folder in folders.items():
            report.counts[f"rows_{split}"] = _load_npy_split(con, split, folder, report)
        for name, split in NPY_SPLITS.items():
            if split not in folders and path.name not in NPY_SPLITS:
                report.warn(f"no {name}/ in {paths.shown(path)}: imported without it "
                            f"(no {split} rows)")
    report.counts.update(summary(con))


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Live counts: images per split and rows with valence/arousal."""
    from faceexplorer.index.store import table_exists
    if not table_exists(con, "affectnet_images"):
        return {"images_train": 0, "images_val": 0, "with_valence_arousal": 0}
    train, val, va = con.execute(
        "SELECT count(*) FILTER (WHERE split = 'train'), count(*) FILTER (WHERE split = 'val'), "
        "count(*) FILTER (WHERE valence IS NOT NULL AND arousal IS NOT NULL) "
        "FROM affectnet_images").fetchone()  # type: ignore[misc]
    return {"images_train": int(train), "images_val": int(val), "with_valence_arousal": int(va)}


# --- CSV layout ---------------------------------------------------------------------

def _has_header(path: Path) -> bool:
    try:
        return csvio.read_header(path) == list(HEADER)
    except (DatasetFormatError, OSError):
        return False


def _csv_files(folder: Path) -> dict[str, Path]:
    """The split CSVs under an AffectNet root or its Manually_Annotated folder.

    Found by name whatever they are (a folder, a dangling link, a FIFO named
    ``training.csv`` is then refused by name, not left out: that would drop a split).
    """
    for base in (folder, folder / "Manually_Annotated"):
        found = {s: base / n for s, n in SPLIT_FILES.items() if os.path.lexists(base / n)}
        if found:
            return found
    return {}


def _warn_absent(csvs: dict[str, Path], path: Path, report: ImportReport) -> None:
    """Warn of a split CSV or the image folder that is not there (optional parts)."""
    base = next(iter(csvs.values())).parent
    if path.is_dir():
        for split, name in SPLIT_FILES.items():
            if split not in csvs:
                report.warn(f"no {name} in {paths.shown(base)}: imported without it "
                            f"(no {split} rows)")
    for folder in sorted({p.parent / IMAGES_FOLDER for p in csvs.values()}):
        if not folder.is_dir():
            report.warn(f"no image folder {paths.shown(folder)}: rows imported, faces will "
                        "show without their image")


def _split_of(csv_path: Path) -> str:
    name = csv_path.name.lower()
    return "val" if "val" in name else "train"


def _load_csv(con: duckdb.DuckDBPyConnection, split: str, csv_path: Path,
              report: ImportReport) -> int:
    """Load one split CSV; return its data rows (kept and skipped)."""
    csvio.expect_header(csv_path, HEADER)
    n_rows = csvio.load_csv(con, csv_path, _RAW, CSV_TYPES, nullstr=("NULL",))
    report.skip(csv_path, csvio.BLANK_LINES_REASON, *csvio.blank_lines(csv_path, n_rows))
    _check_codes(con, csv_path)

    any_null = " OR ".join(f'"{c}" IS NULL' for c in HEADER)
    zero_box = "(face_width = 0 OR face_height = 0)"
    missing_va = f"(valence = {MISSING_VA} OR arousal = {MISSING_VA})"
    counts = csvio.count_each(con, _RAW, [
        any_null, f"NOT ({any_null}) AND {zero_box}",
        f"NOT ({any_null}) AND NOT {zero_box} AND {missing_va}"])
    for reason, (rows, first_line) in zip(
            ("NULL or empty cell", "face_width/face_height 0",
             "valence/arousal missing (-2), stored as NULL"), counts, strict=True):
        report.skip(csv_path, reason, rows, first_line)

    image_root = str((csv_path.parent / IMAGES_FOLDER).resolve())
    file = str(csv_path.resolve())
    # rowid of the first data row; subtracted once here rather than per row by a subquery.
    base = (con.execute(f"SELECT min(rowid) FROM {_RAW}").fetchone() or (0,))[0] or 0
    con.execute(f"""
        INSERT INTO affectnet_images
        SELECT $split, rowid - $base, $file, rowid - $base + 2, subDirectory_filePath,
               regexp_extract(subDirectory_filePath, '[^/\\\\]*$'), $root,
               face_x::INTEGER, face_y::INTEGER, face_width::INTEGER, face_height::INTEGER,
               TRY_CAST(string_split(facial_landmarks, ';') AS FLOAT[{LANDMARK_VALUES}]),
               expression::TINYINT, {_LABELS_SQL}[expression::INTEGER + 1],
               CASE WHEN valence = {MISSING_VA} THEN NULL ELSE valence END,
               CASE WHEN arousal = {MISSING_VA} THEN NULL ELSE arousal END
        FROM {_RAW}
        WHERE NOT ({any_null}) AND NOT {zero_box}
    """, {"split": split, "file": file, "root": image_root, "base": base})
    _check_landmarks(con, csv_path, split)
    con.execute(f"DROP TABLE {_RAW}")
    return n_rows


def _check_codes(con: duckdb.DuckDBPyConnection, csv_path: Path) -> None:
    """Raise for the first row whose code, valence, arousal or face size is impossible."""
    checks = [(f"NOT (isfinite({c}) AND {c} = trunc({c}) AND abs({c}) < 2147483648)",
               c + " {" + c + ":g} is not a whole number") for c in _WHOLE_COLUMNS]
    checks.append((f"expression NOT BETWEEN 0 AND {_MAX_CODE}",
                   "expression {expression:g} is not an AffectNet code (expected 0.."
                   f"{_MAX_CODE})"))
    checks += [(f"NOT ({c} BETWEEN -1 AND 1 OR {c} = {MISSING_VA})",
                c + " {" + c + ":g} is outside [-1, 1] (and not -2, which marks it missing)")
               for c in ("valence", "arousal")]
    checks += [(f"{c} < 0", c + " {" + c + ":g} is negative (expected a size in pixels)")
               for c in ("face_width", "face_height")]
    csvio.first_violation(con, csv_path, _RAW, checks)


def _check_landmarks(con: duckdb.DuckDBPyConnection, csv_path: Path, split: str) -> None:
    """Raise for the first inserted row whose landmarks were not 136 numbers."""
    # A part that is not a number is a NULL element, a wrong count a NULL array; the
    # array is cast to a list once (twice, in each test, cost ~0.35 s more of CPU).
    row = con.execute(f"""
        SELECT min(line) FROM (
            SELECT line, landmarks::FLOAT[] AS points FROM affectnet_images WHERE split = ?)
        WHERE points IS NULL OR list_count(points) < {LANDMARK_VALUES}
              OR NOT isfinite(list_sum(points))
    """, [split]).fetchone()
    if row is None or row[0] is None:
        return
    (text,) = con.execute(
        f"SELECT facial_landmarks FROM {_RAW} WHERE {_DATA_ROW} = ?", [int(row[0]) - 2]
    ).fetchone()  # type: ignore[misc]
    parts = str(text).split(";")
    bad = next((p for p in parts if not _is_number(p)), None)
    if bad is not None:
        detail = f"{bad[:20]!r} is not a number"
    elif len(parts) != LANDMARK_VALUES:
        detail = f"{len(parts)} values"
    else:
        detail = "a value is not finite or too large"
    raise DatasetFormatError(
        csv_path, f"facial_landmarks: {detail}; expected {LANDMARK_VALUES} numbers "
        "(68 x, y pairs) separated by ';'", line=int(row[0]))


def _is_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value)


# --- newer official layout (.npy annotations) ---------------------------------------

NPY_SPLITS: dict[str, str] = {"train_set": "train", "val_set": "val"}
NPY_MAX_CODE = 7
_NPY_PARTS = ("exp", "val", "aro", "lnd")
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def _npy_split_folders(path: Path) -> dict[str, Path]:
    """``{split: folder}`` for a root holding train_set/val_set, or one such folder."""
    if path.name in NPY_SPLITS and os.path.lexists(path / "annotations"):
        return {NPY_SPLITS[path.name]: path}
    # by name: a split folder that cannot be used is refused at load, never left out
    return {split: path / name for name, split in NPY_SPLITS.items()
            if os.path.lexists(path / name)}


def _npy_values(file: Path) -> Any:
    """The numbers of one annotation file, as a flat float64 array."""
    import numpy as np
    try:
        return np.asarray(np.load(file, allow_pickle=False)).astype(np.float64).ravel()
    except (ValueError, OSError, EOFError) as exc:
        raise DatasetFormatError(
            file, f"not a numpy .npy file of numbers ({str(exc).splitlines()[0][:80]})"
        ) from None


def _load_npy_split(con: duckdb.DuckDBPyConnection, split: str, folder: Path,
                    report: ImportReport) -> int:
    """Read every ``annotations/<id>_exp.npy`` (and its three siblings) of one split.

    A Python loop is unavoidable here: one image's labels are spread over four tiny files.
    """
    import pandas as pd

    ann = folder / "annotations"
    images = folder / "images"
    on_disk = ({p.stem: p.name for p in images.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES}
               if images.is_dir() else {})
    ids = sorted((p.name[: -len("_exp.npy")] for p in ann.glob("*_exp.npy")),
                 key=lambda s: (len(s), s))
    if not ids:
        raise DatasetFormatError(ann, "no <id>_exp.npy files (expected annotations/<id>_exp.npy,"
                                 " _val.npy, _aro.npy, _lnd.npy per image)")
    rows: list[tuple[Any, ...]] = []
    missing_va = 0
    for image_id in ids:
        files = {part: ann / f"{image_id}_{part}.npy" for part in _NPY_PARTS}
        for part, file in files.items():
            if not os.path.lexists(file):
                raise DatasetFormatError(file, f"missing: image {image_id} has {image_id}_exp.npy"
                                         f" but no {image_id}_{part}.npy")
            paths.require_file(file, "a numpy .npy annotation file")
        exp, val, aro = (_npy_values(files[p]) for p in ("exp", "val", "aro"))
        lnd = _npy_values(files["lnd"])
        for part, arr in (("exp", exp), ("val", val), ("aro", aro)):
            if arr.size != 1 or not math.isfinite(arr[0]):
                raise DatasetFormatError(files[part], f"expected one number, found {arr.size}")
        code = exp[0]
        if not code.is_integer() or not 0 <= code <= NPY_MAX_CODE:
            raise DatasetFormatError(
                files["exp"], f"expression {code:g} is not a code 0..{NPY_MAX_CODE}")
        va = []
        for part, value in (("val", val[0]), ("aro", aro[0])):
            if value == MISSING_VA:
                va.append(None)
            elif -1 <= value <= 1:
                va.append(float(value))
            else:
                raise DatasetFormatError(
                    files[part], f"{value:g} is outside [-1, 1] (and not -2, which marks missing)")
        missing_va += None in va
        if lnd.size != LANDMARK_VALUES:
            raise DatasetFormatError(
                files["lnd"], f"{lnd.size} values, expected {LANDMARK_VALUES} (68 x, y pairs)")
        name = on_disk.get(image_id, f"{image_id}.jpg")
        rows.append((str(files["exp"].resolve()), name, int(code), *va, lnd.tolist()))

    frame = pd.DataFrame(rows, columns=["file", "name", "code", "valence", "arousal", "lnd"])
    con.register("affectnet_npy_rows", frame)
    try:
        con.execute(f"""
            INSERT INTO affectnet_images
            SELECT ?, NULL, file, NULL, name, name, ?, NULL, NULL, NULL, NULL,
                   lnd::FLOAT[{LANDMARK_VALUES}], code, {_LABELS_SQL}[code + 1],
                   valence, arousal
            FROM affectnet_npy_rows
        """, [split, str(images.resolve())])
    finally:
        con.unregister("affectnet_npy_rows")
    report.skip(ann, "valence/arousal missing (-2), stored as NULL", missing_va, None)
    without_image = sum(1 for i in ids if i not in on_disk)
    if without_image:
        report.warn(f"{folder}: {without_image} of {len(ids)} annotated images have no file "
                    f"in {images}")
    return len(rows)
