"""Hugging Rain Man importer: per-child AU/AD label CSVs into hrm_frames, hrm_children,
hrm_segments (and hrm_extra for columns HRM does not define).

Design: files are found and their one-line headers checked in Python; files sharing a
column layout are then read together by a single DuckDB ``read_csv`` into a temp table,
the only full read. The rest is set-based SQL on those tables: one scan checks every
cell code, one GROUP BY finds repeated frames, one INSERT sorts by frame, numbers the
lines and derives segments (a new one wherever ``frame - LAG(frame) <> 1``). Cells are
read as DOUBLE on purpose: DuckDB would round ``1.5`` silently into an integer column.
Only when something is wrong does a slower path run, to name file, line, column and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.core.vocab import HRM_AU_COLUMNS, HRM_CELL, HRM_LABEL_HEADER, HRM_RATERS
from faceexplorer.datasets import csvio, paths
from faceexplorer.datasets.hrm_media import child_media
from faceexplorer.index.report import ImportReport
from faceexplorer.index.store import table_exists

KIND = "hrm"
TITLE = "Hugging Rain Man (HRM)"
TABLES = ("hrm_frames", "hrm_children", "hrm_segments", "hrm_extra")

GROUPS = ("ASD", "TD")
_CODES = tuple(HRM_CELL)  # 0..5
_RATER_LEVELS = (0, 1, 2, 3, 4)
_MEAN_TOLERANCE = 0.01


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_AU_DDL = ", ".join(f"{_q(c)} TINYINT NOT NULL" for c in HRM_AU_COLUMNS)
_RATER_DDL = ", ".join(f"{_q(c)} TINYINT" for c in HRM_RATERS)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS hrm_children (
    child VARCHAR NOT NULL, grp VARCHAR, file VARCHAR NOT NULL,
    n_frames INTEGER NOT NULL, n_segments INTEGER NOT NULL,
    first_frame INTEGER, last_frame INTEGER, has_ratings BOOLEAN NOT NULL,
    frames_dir VARCHAR, video_path VARCHAR, video_frames INTEGER, frames_beyond_video INTEGER);
CREATE TABLE IF NOT EXISTS hrm_frames (
    child VARCHAR NOT NULL, frame INTEGER NOT NULL, segment INTEGER NOT NULL,
    file VARCHAR NOT NULL, line INTEGER NOT NULL,
    {_AU_DDL}, asd TINYINT NOT NULL, {_RATER_DDL}, rating_mean DOUBLE);
CREATE TABLE IF NOT EXISTS hrm_segments (
    child VARCHAR NOT NULL, segment INTEGER NOT NULL, start_frame INTEGER NOT NULL,
    end_frame INTEGER NOT NULL, n_frames INTEGER NOT NULL, mean_atypicality DOUBLE);
CREATE TABLE IF NOT EXISTS hrm_extra (
    child VARCHAR NOT NULL, frame INTEGER NOT NULL, column_name VARCHAR NOT NULL,
    value VARCHAR);
"""


@dataclass(frozen=True)
class LabelFile:
    """One child's label CSV and the group its location gives it (None: unknown)."""

    child: str
    grp: str | None
    path: Path


@dataclass(frozen=True)
class Layout:
    """The columns of a label file after the 38 fixed ones."""

    has_ratings: bool
    mean_name: str | None
    extras: tuple[str, ...]

    def read_columns(self) -> dict[str, str]:
        cols = {c: "DOUBLE" for c in HRM_LABEL_HEADER}
        if self.has_ratings:
            cols.update({c: "DOUBLE" for c in HRM_RATERS})
            if self.mean_name is not None:
                cols["rating_mean"] = "DOUBLE"
        # positional names: an extra header may repeat or clash with ours
        cols.update({f"_extra{i}": "VARCHAR" for i in range(len(self.extras))})
        return cols


# --- finding the files ---------------------------------------------------------------

# Entries are matched by name whatever they are, then checked: a child's CSV that is a
# folder or a FIFO, or an ASD "folder" that is a file, is refused by name, never left out.
def _csvs(folder: Path) -> list[Path]:
    return paths.entries_named(folder, lambda name: name.lower().endswith(".csv"))


def _group_dirs(folder: Path) -> dict[str, Path]:
    return {d.name.upper(): d for d in paths.entries_named(folder,
                                                           lambda n: n.upper() in GROUPS)}


def _group_from_name(stem: str) -> str | None:
    return "TD" if stem.upper().endswith("TD") else None


def label_files(path: Path, report: ImportReport) -> tuple[Path, list[LabelFile]]:
    """The HRM root (where media are searched) and every child's label file.

    ``path`` is a root with ``ASD/`` and/or ``TD/`` folders, a folder of CSVs, or one CSV.
    """
    path = Path(path)
    if path.is_file():
        parent = path.parent.name.upper()
        grp = parent if parent in GROUPS else _group_from_name(path.stem)
        root = path.parent.parent if parent in GROUPS else path.parent
        found = [LabelFile(path.stem, grp, path)]
    elif (groups := _group_dirs(path)):
        root = path
        for d in groups.values():
            paths.require_folder(d, "a folder of per-child label CSVs")
        found = [LabelFile(p.stem, grp, p) for grp, d in groups.items() for p in _csvs(d)]
        if loose := _csvs(path):
            report.warn(f"{len(loose)} CSV files beside the ASD/TD folders were not imported: "
                        + ", ".join(p.name for p in loose[:5]) + (" ..." if len(loose) > 5 else ""))
    else:
        root = path
        found = [LabelFile(p.stem, _group_from_name(p.stem), p) for p in _csvs(path)]
    if not found:
        raise DatasetFormatError(
            path, "no HRM label CSVs found (expected ASD/ and TD/ folders of per-child CSVs "
            "such as ASD/S6.csv, or a folder of CSVs such as S1.csv)")
    by_child: dict[str, Path] = {}
    for f in found:
        if f.child in by_child:
            raise DatasetFormatError(
                f.path, f"child {f.child!r} has two label files: {by_child[f.child]} and "
                f"{f.path} (expected one CSV per child; remove or rename one)")
        by_child[f.child] = f.path
    unknown = [f.child for f in found if f.grp is None]
    if unknown:
        report.warn(f"{len(unknown)} children have no group (not in an ASD/ or TD/ folder, no "
                    "TD suffix in the name), stored with grp empty: " + ", ".join(unknown[:8])
                    + (" ..." if len(unknown) > 8 else ""))
    return root, sorted(found, key=lambda f: f.child)


def read_layout(path: Path) -> Layout:
    """Check the 38 fixed columns and classify what follows them."""
    header = csvio.expect_header(path, HRM_LABEL_HEADER, extra_ok=True)
    rest = tuple(header[len(HRM_LABEL_HEADER):])
    if rest[: len(HRM_RATERS)] == HRM_RATERS:
        after = rest[len(HRM_RATERS):]
        return Layout(True, after[0] if after else None, after[1:])
    return Layout(False, None, rest)


def detect(path: Path) -> bool:
    """An HRM root, a folder of HRM CSVs, or one HRM CSV (checks one header)."""
    path = Path(path)
    try:
        if path.is_file():
            candidates = [path] if path.suffix.lower() == ".csv" else []
        else:
            candidates = [p for d in _group_dirs(path).values() if d.is_dir()
                          for p in _csvs(d)] or _csvs(path)
        if not candidates:
            return False
        read_layout(candidates[0])
    except (OSError, DatasetFormatError):
        return False
    return True


# --- loading -------------------------------------------------------------------------

def load(con: duckdb.DuckDBPyConnection, path: Path, report: ImportReport,
         **options: Any) -> None:
    """Replace the HRM records with the label files under ``path``; fill ``report``."""
    root, files = label_files(Path(path).resolve(), report)
    layouts: dict[Layout, list[LabelFile]] = {}
    for f in files:
        layouts.setdefault(read_layout(f.path), []).append(f)
    media = child_media(root, [f.child for f in files], report)

    con.execute(SCHEMA)
    for table in TABLES:
        con.execute(f"DELETE FROM {table}")
    con.execute("DROP TABLE IF EXISTS hrm_files")
    con.execute("CREATE TEMP TABLE hrm_files (child VARCHAR, grp VARCHAR, file VARCHAR, "
                "has_ratings BOOLEAN, frames_dir VARCHAR, video_path VARCHAR, "
                "video_frames INTEGER)")
    con.executemany("INSERT INTO hrm_files VALUES (?, ?, ?, ?, ?, ?, ?)", [
        [f.child, f.grp, str(f.path), lay.has_ratings, media[f.child].frames_dir,
         media[f.child].video_path, media[f.child].video_frames]
        for lay, group in layouts.items() for f in group])

    branches = []
    for i, (layout, group) in enumerate(layouts.items()):
        table = f"hrm_read{i}"
        _read_group(con, table, layout, group)
        _report_blank_lines(con, table, group, report)
        _check_cells(con, table, layout)
        _check_duplicates(con, table)
        _check_means(con, table, layout, report)
        _keep_extras(con, table, layout, group, report)
        branches.append(_stage_sql(table, layout))
    con.execute("CREATE OR REPLACE TEMP VIEW hrm_stage AS " + " UNION ALL ".join(branches))
    _insert_frames(con)
    _warn_no_mean(layouts, report)
    _warn_beyond_video(con, report)
    con.execute("DROP VIEW hrm_stage")
    for i in range(len(layouts)):
        con.execute(f"DROP TABLE hrm_read{i}")
    con.execute("DROP TABLE hrm_files")
    report.counts.update(summary(con))


def _read_group(con: duckdb.DuckDBPyConnection, table: str, layout: Layout,
                group: Sequence[LabelFile]) -> None:
    """One ``read_csv`` over every file of one layout; on refusal, find the bad file."""
    columns = layout.read_columns()
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv(?, header = true, "
            "auto_detect = false, columns = ?, delim = ',', quote = '\"', escape = '\"', "
            "nullstr = ['NULL', ''], strict_mode = true, null_padding = false, "
            "filename = true)", [[str(f.path) for f in group], columns])
    except duckdb.Error as exc:
        # Slow path in plain Python (the failed statement has aborted the transaction):
        # scan each file alone, so the error names file, line and problem.
        for f in group:
            error = csvio.diagnose(f.path, columns, ("NULL",), ",", None)
            if error.line is not None or not error.problem.endswith("unreadable"):
                raise error from None
        raise DatasetFormatError(group[0].path.parent, "cannot read the HRM label files: "
                                 + (str(exc).strip().splitlines() or ["?"])[0]) from None


def _report_blank_lines(con: duckdb.DuckDBPyConnection, table: str,
                        group: Sequence[LabelFile], report: ImportReport) -> None:
    """Count each file's blank lines; its rows read let a newline count clear it."""
    rows = dict(con.execute(f"SELECT filename, count(*) FROM {table} GROUP BY filename"
                            ).fetchall())
    for f in group:
        if not rows.get(str(f.path)):
            raise paths.error(f.path, "no data rows after the header (expected one row per "
                              "frame)", line=2)
        report.skip(f.path, csvio.BLANK_LINES_REASON,
                    *csvio.blank_lines(f.path, int(rows.get(str(f.path), 0))))


def _line_of(con: duckdb.DuckDBPyConnection, table: str, filename: str, rowid: int) -> int:
    first = con.execute(f"SELECT min(rowid) FROM {table} WHERE filename = ?",
                        [filename]).fetchone()
    return rowid - int(first[0]) + 2 if first else rowid + 2


def _cell_rules(layout: Layout) -> list[tuple[str, str, str]]:
    """(column, SQL condition that holds for a valid cell, what was expected)."""
    codes = ", ".join(map(str, _CODES))
    code_text = ", ".join(f"{k} {v}" for k, v in HRM_CELL.items())
    rules = [("frame", "frame >= 0 AND frame < 2147483647 AND frame = trunc(frame)",
              "a whole frame number >= 0")]
    rules += [(c, f"{_q(c)} IN ({codes})", f"an AU code ({code_text})") for c in HRM_AU_COLUMNS]
    rules.append(("ASD", "ASD IN (0, 1)", "0 or 1"))
    if layout.has_ratings:
        levels = ", ".join(map(str, _RATER_LEVELS))
        rules += [(c, f"{_q(c)} IN ({levels})", "an atypicality level 0..4") for c in HRM_RATERS]
    return [(c, f"({_q(c)} IS NOT NULL AND {cond})", want) for c, cond, want in rules]


def _cells_look_valid(con: duckdb.DuckDBPyConnection, table: str, layout: Layout) -> bool:
    """One cheap aggregate pass: no empty cell, every code in range and whole.

    Row-wise ``least``/``greatest`` are far cheaper in DuckDB than 40 ``IN`` tests per row;
    once every value is known to be >= 0, a zero sum of fractional parts means all whole.
    """
    def span(cols: Sequence[str], low: int, high: int) -> list[str]:
        names = ", ".join(_q(c) for c in cols)
        return [f"min(least({names})) >= {low}", f"max(greatest({names})) <= {high}"]

    groups = [(("frame",), 0, 2147483646), (HRM_AU_COLUMNS, 0, max(_CODES)), (("ASD",), 0, 1)]
    if layout.has_ratings:
        groups.append((HRM_RATERS, 0, max(_RATER_LEVELS)))
    cols = [c for names, _, _ in groups for c in names]
    tests = [t for names, low, high in groups for t in span(names, low, high)]
    tests += [f"count({_q(c)}) = count(*)" for c in cols]
    fractions = " + ".join(f"({_q(c)} - trunc({_q(c)}))" for c in cols)
    tests.append(f"coalesce(sum({fractions}), 0) = 0")
    row = con.execute(f"SELECT {' AND '.join(tests)} FROM {table}").fetchone()
    return bool(row and row[0])


def _check_cells(con: duckdb.DuckDBPyConnection, table: str, layout: Layout) -> None:
    if _cells_look_valid(con, table, layout):
        return
    rules = _cell_rules(layout)
    every = " AND ".join(cond for _, cond, _ in rules)
    oks = ", ".join(f"{cond} AS ok{i}" for i, (_, cond, _) in enumerate(rules))
    cells = ", ".join(_q(c) for c, _, _ in rules)
    row = con.execute(
        f"SELECT filename, rowid, {oks}, {cells} FROM {table} WHERE NOT ({every}) "
        "ORDER BY filename, rowid LIMIT 1").fetchone()
    if row is None:
        return
    filename, rowid = row[0], int(row[1])
    oks, values = row[2: 2 + len(rules)], row[2 + len(rules):]
    for (column, _, want), ok, value in zip(rules, oks, values, strict=True):
        if not ok:
            shown = "an empty cell" if value is None else f"value {value:g}"
            raise DatasetFormatError(
                filename, f"column {column!r}: {shown} (expected {want})",
                _line_of(con, table, filename, rowid))


def _check_duplicates(con: duckdb.DuckDBPyConnection, table: str) -> None:
    row = con.execute(
        f"SELECT filename, frame, min(rowid), max(rowid) FROM {table} "
        "GROUP BY filename, frame HAVING count(*) > 1 ORDER BY filename, min(rowid) LIMIT 1"
    ).fetchone()
    if row is None:
        return
    filename, frame, first, again = row
    raise DatasetFormatError(
        filename, f"frame {int(frame)} appears twice (also on line "
        f"{_line_of(con, table, filename, int(first))}; expected each frame once per child)",
        _line_of(con, table, filename, int(again)))


def _check_means(con: duckdb.DuckDBPyConnection, table: str, layout: Layout,
                 report: ImportReport) -> None:
    if layout.mean_name is None:
        return
    mean5 = "(" + " + ".join(_q(c) for c in HRM_RATERS) + f") / {len(HRM_RATERS)}"
    differs = f"rating_mean IS NULL OR abs(rating_mean - {mean5}) > {_MEAN_TOLERANCE}"
    n, files = con.execute(
        f"SELECT count(*), count(DISTINCT filename) FROM {table} WHERE {differs}").fetchone()  # type: ignore[misc]
    if not n:
        return
    filename, rowid = con.execute(
        f"SELECT filename, rowid FROM {table} WHERE {differs} ORDER BY filename, rowid LIMIT 1"
    ).fetchone()  # type: ignore[misc]
    report.warn(
        f"{n} frames in {files} files have an average column ({layout.mean_name!r}) that "
        f"differs from the mean of the 5 raters by more than {_MEAN_TOLERANCE} or is empty; "
        f"kept as written (first: {filename}, line {_line_of(con, table, filename, rowid)})")


def _keep_extras(con: duckdb.DuckDBPyConnection, table: str, layout: Layout,
                 group: Sequence[LabelFile], report: ImportReport) -> None:
    """Columns HRM does not define go to hrm_extra (child, frame, column, value)."""
    if not layout.extras:
        return
    for i, name in enumerate(layout.extras):
        con.execute(
            f"INSERT INTO hrm_extra SELECT f.child, t.frame::INTEGER, ?, t._extra{i} "
            f"FROM {table} t JOIN hrm_files f ON f.file = t.filename", [name])
    names = ", ".join(repr(n) for n in layout.extras)
    report.warn(f"{len(group)} files carry columns HRM does not define ({names}); kept in "
                "table hrm_extra: " + ", ".join(f.path.name for f in group[:5])
                + (" ..." if len(group) > 5 else ""))


def _stage_sql(table: str, layout: Layout) -> str:
    aus = ", ".join(f"t.{_q(c)}" for c in HRM_AU_COLUMNS)
    if layout.has_ratings:
        raters = ", ".join(f"t.{_q(c)}" for c in HRM_RATERS)
    else:
        raters = ", ".join(f"NULL::DOUBLE AS {_q(c)}" for c in HRM_RATERS)
    mean = "t.rating_mean" if layout.mean_name else "NULL::DOUBLE AS rating_mean"
    return (f"SELECT f.child, f.file, t.rowid - min(t.rowid) OVER (PARTITION BY t.filename) + 2 "
            f"AS line, t.frame, {aus}, t.ASD, {raters}, {mean} "
            f"FROM {table} t JOIN hrm_files f ON f.file = t.filename")


def _insert_frames(con: duckdb.DuckDBPyConnection) -> None:
    codes = ", ".join(f"{_q(c)}::TINYINT" for c in (*HRM_AU_COLUMNS, "ASD", *HRM_RATERS))
    con.execute(f"""
        INSERT INTO hrm_frames
        SELECT child, frame::INTEGER,
               sum(starts) OVER (PARTITION BY child ORDER BY frame ROWS UNBOUNDED PRECEDING),
               file, line, {codes}, rating_mean
        FROM (SELECT *, CASE WHEN frame - lag(frame) OVER (PARTITION BY child ORDER BY frame)
                             = 1 THEN 0 ELSE 1 END AS starts
              FROM hrm_stage)
        ORDER BY child, frame""")
    con.execute("""
        INSERT INTO hrm_segments
        SELECT child, segment, min(frame), max(frame), count(*), avg(rating_mean)
        FROM hrm_frames GROUP BY child, segment ORDER BY child, segment""")
    con.execute("""
        INSERT INTO hrm_children
        SELECT f.child, f.grp, f.file, coalesce(a.n, 0), coalesce(a.n_segments, 0),
               a.first_frame, a.last_frame, f.has_ratings, f.frames_dir, f.video_path,
               f.video_frames,
               CASE WHEN f.video_frames IS NOT NULL THEN coalesce(a.beyond, 0) END
        FROM hrm_files f LEFT JOIN (
            SELECT h.child, count(*) AS n, max(h.segment) AS n_segments,
                   min(h.frame) AS first_frame, max(h.frame) AS last_frame,
                   count_if(h.frame >= m.video_frames) AS beyond
            FROM hrm_frames h JOIN hrm_files m ON m.child = h.child GROUP BY h.child
        ) a ON a.child = f.child
        ORDER BY f.child""")


def _warn_no_mean(layouts: dict[Layout, list[LabelFile]], report: ImportReport) -> None:
    bare = [f.path.name for lay, group in layouts.items()
            if lay.has_ratings and lay.mean_name is None for f in group]
    if bare:
        report.warn(f"{len(bare)} files have the 5 rater columns but no average column after "
                    "them; rating_mean left empty: " + ", ".join(bare[:5])
                    + (" ..." if len(bare) > 5 else ""))


def _warn_beyond_video(con: duckdb.DuckDBPyConnection, report: ImportReport) -> None:
    rows = con.execute(
        "SELECT child, frames_beyond_video, video_frames FROM hrm_children "
        "WHERE frames_beyond_video > 0 ORDER BY child").fetchall()
    if rows:
        total = sum(r[1] for r in rows)
        report.warn(f"{total} label frames lie at or beyond the end of their video (frame "
                    f">= the video's frame count) in {len(rows)} children: "
                    + ", ".join(f"{c} ({n} of video's {v})" for c, n, v in rows[:8])
                    + (" ..." if len(rows) > 8 else ""))


# --- summary -------------------------------------------------------------------------

def summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Live counts of the HRM tables (zeros when HRM was never imported)."""
    keys = ("children", "children_asd", "children_td", "frames", "segments",
            "children_with_video", "children_with_frames", "frames_beyond_video")
    if not table_exists(con, "hrm_children"):
        return dict.fromkeys(keys, 0)
    row = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE grp = 'ASD'), count(*) FILTER (WHERE grp = 'TD'),
               (SELECT count(*) FROM hrm_frames), (SELECT count(*) FROM hrm_segments),
               count(video_path), count(frames_dir), coalesce(sum(frames_beyond_video), 0)
        FROM hrm_children""").fetchone()
    return {k: int(v) for k, v in zip(keys, row or (0,) * len(keys), strict=True)}
