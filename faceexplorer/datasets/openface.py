"""OpenFace 2.x importer: per-frame CSVs into openface_frames, one row per file in
openface_sources.

Design: columns are matched by name, because users switch output groups off; each file's
header is read in Python (its separator, ``,`` or Windows ``", "``, decided there) and the
file is loaded by DuckDB with exactly those columns. DuckDB reads ``" 0.5"`` as 0.5 with
``delim=','``, so both styles use one reader. The frame table always has all 714 columns
(missing ones are NULL) and the source key (file stem: the video, usually an HRM child):
a new import replaces the same sources and keeps the others.
DuckDB identifiers are case-insensitive, so OpenFace's 3D columns (``X_0``, ``eye_lmk_X_0``)
would clash with the 2D ones (``x_0``); they are stored as ``X3d_0``, ``eye_lmk_X3d_0``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import duckdb

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.core.vocab import OPENFACE_AU_R, openface_columns
from faceexplorer.datasets import csvio, paths
from faceexplorer.index.report import ImportReport
from faceexplorer.index.store import table_exists

KIND = "openface"
TITLE = "OpenFace 2.x per-frame features"
TABLES = ("openface_frames", "openface_sources")

COLUMNS = openface_columns()
#: Columns stored as INTEGER; every other OpenFace column is DOUBLE.
INTEGER_COLUMNS = ("frame", "face_id", "success")
_3D = re.compile(r"^(eye_lmk_)?([XYZ])_(\d+)$")
_READ = "openface_read"


def index_column(name: str) -> str:
    """The index's name for OpenFace column ``name`` (3D coordinates get ``3d``)."""
    match = _3D.match(name)
    if match is None:
        return name
    prefix, axis, i = match.groups()
    return f"{prefix or ''}{axis}3d_{i}"


INDEX_COLUMNS = {name: index_column(name) for name in COLUMNS}
#: FaceLandmarkImg writes ``face`` where the video tools write ``face_id``.
_ALIASES = {"face": "face_id"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _schema() -> str:
    cols = ", ".join(
        f"{_q(INDEX_COLUMNS[c])} {'INTEGER' if c in INTEGER_COLUMNS else 'DOUBLE'}"
        for c in COLUMNS)
    return f"""
CREATE TABLE IF NOT EXISTS openface_frames (
    source VARCHAR NOT NULL, file VARCHAR NOT NULL, line INTEGER NOT NULL, {cols});
CREATE TABLE IF NOT EXISTS openface_sources (
    source VARCHAR NOT NULL, file VARCHAR NOT NULL, separator VARCHAR NOT NULL,
    n_rows INTEGER NOT NULL, n_columns_present INTEGER NOT NULL,
    columns_missing VARCHAR[] NOT NULL, columns_unknown VARCHAR[] NOT NULL);
"""


def csv_files(path: Path, revisited: list[str] | None = None) -> list[Path]:
    """``path`` itself, or every ``.csv`` below the folder ``path`` (sorted).

    Entries are taken by name whatever they are (a folder or FIFO named ``.csv`` is
    refused when checked, never skipped); an unreadable folder is an error; a folder
    reached again through a symbolic link is listed in ``revisited``, not walked twice.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    files = list(paths.walk_files(path, lambda n: n.lower().endswith(".csv"), revisited))
    if not files:
        raise DatasetFormatError(path, "no CSV files found (expected OpenFace 2.x per-frame "
                                 "CSVs such as S1.csv, written by FeatureExtraction)")
    return files


def separator_of(path: Path) -> str:
    """``", "`` when the header is in the Windows build's style, else ``","``."""
    csvio.check_text_file(path, "CSV file written by OpenFace")
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = fh.readline()
    return ", " if ", " in first else ","


def header_columns(path: Path) -> tuple[list[str], list[str]]:
    """(OpenFace name of each header field or ``""`` if unknown, the unknown names)."""
    header = csvio.read_header(path)
    # an alias only stands in when the real name is absent (FaceLandmarkImg's "face")
    names = [_ALIASES[h] if h in _ALIASES and _ALIASES[h] not in header else h for h in header]
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen and name in INDEX_COLUMNS:
            raise DatasetFormatError(path, f"column {header[i]!r} appears twice in the header "
                                     "(expected each OpenFace column once)", line=1)
        seen.add(name)
    known = [n if n in INDEX_COLUMNS else "" for n in names]
    if not any(known):
        raise DatasetFormatError(
            path, "none of the OpenFace 2.x columns in the header (expected e.g. frame, "
            "face_id, timestamp, confidence, success, ..., AU01_r, ..., AU45_c)", line=1)
    return known, [h for h, k in zip(header, known, strict=True) if not k]


def detect(path: Path) -> bool:
    """A CSV (or a folder whose first CSV) has an OpenFace 2.x header."""
    try:
        first = csv_files(Path(path))[0]
        if first.suffix.lower() != ".csv":
            return False
        known, _ = header_columns(first)
    except (OSError, DatasetFormatError):
        return False
    # HRM's AU1.. and other datasets' "confidence" alone are not enough
    return sum(1 for k in known if k) >= 3


def load(con: duckdb.DuckDBPyConnection, path: Path, report: ImportReport,
         **options: Any) -> None:
    """Replace the sources found under ``path`` (file stems) with their frames."""
    revisited: list[str] = []
    files = csv_files(Path(path).resolve(), revisited)
    by_source: dict[str, Path] = {}
    for f in files:
        if f.stem in by_source:
            raise DatasetFormatError(
                f, f"two files give the same source {f.stem!r}: {by_source[f.stem]} and {f} "
                "(the source is the file stem; import them separately or rename one)")
        by_source[f.stem] = f
    for f in files:  # every file usable, with a known header, before any is read
        separator_of(f)
        header_columns(f)
    if revisited:
        report.warn(f"{len(revisited)} folders are links to folders already searched (a "
                    "symbolic-link loop or a second way in), not searched again: "
                    + ", ".join(revisited[:5]))
    con.execute(_schema())
    sources = list(by_source)
    con.execute("DELETE FROM openface_frames WHERE list_contains(?, source)", [sources])
    con.execute("DELETE FROM openface_sources WHERE list_contains(?, source)", [sources])
    unknown_by_file: dict[str, list[str]] = {}
    for source, f in by_source.items():
        unknown = _load_file(con, source, f, report)
        if unknown:
            unknown_by_file[f.name] = unknown
    con.execute(f'DROP TABLE IF EXISTS "{_READ}"')
    if unknown_by_file:
        names = sorted({u for us in unknown_by_file.values() for u in us})
        report.warn(f"{len(unknown_by_file)} files have columns OpenFace 2.x does not write, "
                    f"not imported: {', '.join(names[:10])}" + (" ..." if len(names) > 10 else "")
                    + f" (in {', '.join(list(unknown_by_file)[:5])})")
    report.counts.update(summary(con))


def _load_file(con: duckdb.DuckDBPyConnection, source: str, path: Path,
               report: ImportReport) -> list[str]:
    """Load one CSV into the index; return its unknown column names."""
    separator = separator_of(path)
    known, unknown = header_columns(path)
    read_cols: dict[str, str] = {}
    # integers are read as DOUBLE too: DuckDB would round "1.5" into an INTEGER silently
    for i, name in enumerate(known):
        if name:
            read_cols[INDEX_COLUMNS[name]] = "DOUBLE"
        else:
            read_cols[f"_unknown{i}"] = "VARCHAR"
    n_rows = csvio.load_csv(con, path, _READ, read_cols)
    scan = csvio.scan_text(path, n_rows, letters=True)
    report.skip(path, csvio.BLANK_LINES_REASON, scan.blank, scan.first_blank)
    # Inside the import transaction a new table's rowids start at a large offset, so
    # csvio's rowid-based line helpers do not apply: lines count from the first rowid.
    first = con.execute(f'SELECT min(rowid) FROM "{_READ}"').fetchone()
    line = f"(rowid - {int(first[0]) if first and first[0] is not None else 0} + 2)"
    present = [n for n in known if n]
    _check_values(con, path, present, every_column=scan.letters)
    empty = " OR ".join(f"{_q(INDEX_COLUMNS[n])} IS NULL" for n in present)
    n_empty, first_empty = con.execute(
        f'SELECT count(*), min({line}) FROM "{_READ}" WHERE {empty}').fetchone()  # type: ignore[misc]
    report.skip(path, "empty cells stored as NULL", n_empty, first_empty)
    select = ", ".join(
        f"{_q(INDEX_COLUMNS[n])}::INTEGER AS {_q(INDEX_COLUMNS[n])}" if n in INTEGER_COLUMNS
        else _q(INDEX_COLUMNS[n]) for n in present)
    # No ORDER BY: a plain scan keeps file order (DuckDB's preserve_insertion_order), and
    # sorting ~8k rows of 714 columns cost 40% more than the copy itself.
    con.execute(f'INSERT INTO openface_frames BY NAME SELECT ? AS source, ? AS file, '
                f'{line}::INTEGER AS line, {select} FROM "{_READ}"', [source, str(path)])
    missing = [c for c in COLUMNS if c not in present]
    con.execute("INSERT INTO openface_sources VALUES (?, ?, ?, ?, ?, ?, ?)",
                [source, str(path), separator, n_rows, len(present), missing, unknown])
    return unknown


def value_rule(name: str) -> tuple[float, float, bool, str]:
    """(lowest, highest, whole numbers only, what is expected) of OpenFace column ``name``.

    OpenFace documents confidence in [0, 1], success 0/1, AU intensities ``_r`` 0..5 and
    presences ``_c`` 0/1; frames and face ids are counts; every other output is a finite
    number (a NaN or an infinity is not something OpenFace writes).
    """
    if name in ("frame", "face_id"):
        return 0, 2147483647, True, "a whole number >= 0"
    if name == "success" or (name.startswith("AU") and name.endswith("_c")):
        return 0, 1, True, "0 or 1"
    if name == "confidence":
        return 0, 1, False, "a number in [0, 1]"
    if name == "timestamp":
        return 0, math.inf, False, "a finite number of seconds >= 0"
    if name.startswith("AU") and name.endswith("_r"):
        return 0, 5, False, "an intensity in [0, 5]"
    return -math.inf, math.inf, False, "a finite number"


def _bad_sql(col: str, low: float, high: float, whole: bool) -> str:
    """SQL true for a non-empty cell outside the rule (NaN sorts above +inf in DuckDB)."""
    bounds = [f"{col} >= {low}" if math.isfinite(low) else f"{col} > '-inf'::DOUBLE",
              f"{col} <= {high}" if math.isfinite(high) else f"{col} < 'inf'::DOUBLE"]
    if whole:
        bounds.append(f"{col} = trunc({col})")
    return f"NOT ({' AND '.join(bounds)})"


_ANY_FINITE = value_rule("")


def _check_values(con: duckdb.DuckDBPyConnection, path: Path, present: list[str],
                  every_column: bool = True) -> None:
    """Every cell within its documented range, and no frame twice for the same face.

    One aggregate pass (a min and a max per column) clears a good file; only a failing
    column is scanned again, by ``csvio.first_violation``, for its first line. Without
    ``every_column`` (the file's bytes hold nothing that reads as NaN or an infinity:
    ``csvio.scan_text``) only the ~40 columns with a documented range are aggregated:
    1,400 aggregates over the 714 columns cost ~0.1 s CPU a file, mostly planning them.
    """
    rules = {n: value_rule(n) for n in present}
    cols = {n: _q(INDEX_COLUMNS[n]) for n in present}
    checked = present if every_column else [n for n in present if rules[n] != _ANY_FINITE]
    aggregates = [f"min({cols[n]}), max({cols[n]})" for n in checked]
    whole = [n for n in checked if rules[n][2]]
    aggregates += [f"coalesce(bool_and({cols[n]} = trunc({cols[n]})), true)" for n in whole]
    row = con.execute(f'SELECT {", ".join(aggregates)} FROM "{_READ}"').fetchone() or (
        ) if aggregates else ()
    failing = []
    for k, name in enumerate(checked):
        low, high, _, _ = rules[name]
        least, most = row[2 * k], row[2 * k + 1]
        if least is None:  # every cell of the column is empty: nothing to check
            continue
        # an open end (an infinite bound) excludes the infinity itself; NaN fails both
        above = least >= low if math.isfinite(low) else least > low
        below = most <= high if math.isfinite(high) else most < high
        if not (above and below):
            failing.append(name)
    failing += [n for n, ok in zip(whole, row[2 * len(checked):], strict=True) if not ok]
    if failing:
        csvio.first_violation(con, path, _READ, [
            (_bad_sql(cols[n], *rules[n][:3]), f"column {n!r}: {{{INDEX_COLUMNS[n]}:g}} "
             f"(expected {rules[n][3]})") for n in sorted(set(failing), key=present.index)])
    if "frame" in present:
        face = cols["face_id"] if "face_id" in present else "0"
        dup = con.execute(f"""
            SELECT first, rowid, frame FROM (
                SELECT rowid, frame, min(rowid) OVER (PARTITION BY frame, {face}) AS first
                FROM "{_READ}" WHERE frame IS NOT NULL)
            WHERE rowid <> first ORDER BY rowid LIMIT 1""").fetchone()
        if dup is not None:
            base = con.execute(f'SELECT min(rowid) FROM "{_READ}"').fetchone()[0]  # type: ignore[index]
            raise DatasetFormatError(
                path, f"frame {dup[2]:.0f} appears twice for the same face (first on line "
                f"{dup[0] - base + 2}; expected each frame once per face)", dup[1] - base + 2)


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Live counts: sources, frames, sources named like an HRM child, AU intensity columns."""
    keys = ("sources", "frames", "sources_matching_hrm_child", "au_intensity_columns")
    if not table_exists(con, "openface_sources"):
        return dict.fromkeys(keys, 0)
    hrm = ("(SELECT count(*) FROM openface_sources WHERE source IN "
           "(SELECT child FROM hrm_children))" if table_exists(con, "hrm_children") else "0")
    row = con.execute(f"""
        SELECT (SELECT count(*) FROM openface_sources),
               (SELECT count(*) FROM openface_frames), {hrm},
               (SELECT count(*) FROM unnest(?::VARCHAR[]) AS au(c) WHERE EXISTS (
                   SELECT 1 FROM openface_sources s
                   WHERE NOT list_contains(s.columns_missing, au.c)))""",
                      [[f"{a}_r" for a in OPENFACE_AU_R]]).fetchone()
    return {k: int(v) for k, v in zip(keys, row or (0,) * len(keys), strict=True)}
