"""AffectNetC25: 25 crowd votes per image on expression, valence and arousal.

Each set ``n`` is three wide CSVs, ``{expression,valence,arousal}_set{n}_C25.csv``, with the
same rows in the same order (``index,filename,participant0..24``). Each file goes through
DuckDB's typed reader into a TEMP table; set-based SQL checks it (codes 0..7, votes in
[-1, 1], no empty vote, no duplicate ``index``, the three files agreeing row by row) and
``UNPIVOT`` stores the votes long: one row per (set, task, image, annotator). Annotators
are namespaced by set (``set1/participant0``): the sets were rated by different people.

The link to AffectNet (``index`` = 0-based row of ``training.csv``, ``filename`` = its
basename) is a query, not stored, so it stays right whichever dataset is imported first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.core.vocab import C25_CODES
from faceexplorer.datasets import csvio, paths
from faceexplorer.index.report import ImportReport
from faceexplorer.index.store import table_exists
from faceexplorer.reports.c25_image_stats import materialize_image_stats

KIND = "affectnet-c25"
TITLE = "AffectNetC25"
TABLES: tuple[str, ...] = ("c25_votes", "c25_images", "c25_image_stats")

TASKS: tuple[str, ...] = ("expression", "valence", "arousal")
ANNOTATORS_PER_SET = 25
PARTICIPANTS: tuple[str, ...] = tuple(f"participant{i}" for i in range(ANNOTATORS_PER_SET))
HEADER: tuple[str, ...] = ("index", "filename", *PARTICIPANTS)
#: Types every C25 CSV is read with. Votes are DOUBLE even for codes: an INTEGER column
#: would round "2.5" silently.
CSV_TYPES: dict[str, str] = {"index": "DOUBLE", "filename": "VARCHAR",
                             **dict.fromkeys(PARTICIPANTS, "DOUBLE")}
FILE_PATTERN = re.compile(r"^(expression|valence|arousal)_set(\d+)_C25\.csv$", re.IGNORECASE)
MAX_CODE = max(C25_CODES)

SCHEMA = """
CREATE TABLE IF NOT EXISTS c25_images (
    c25_set     INTEGER NOT NULL,   -- 1 or 2 (sets were rated by different people)
    image_index BIGINT NOT NULL,    -- 0-based data row of AffectNet's training.csv
    filename    VARCHAR NOT NULL,   -- basename of that row's subDirectory_filePath
    file        VARCHAR NOT NULL,   -- the set's expression CSV
    line        BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS c25_votes (
    c25_set     INTEGER NOT NULL,
    task        VARCHAR NOT NULL,   -- 'expression' | 'valence' | 'arousal'
    image_index BIGINT NOT NULL,
    annotator   VARCHAR NOT NULL,   -- 'set1/participant0': namespaced by set
    vote_raw    DOUBLE NOT NULL,    -- the cell as written (C25 code for expression)
    expression  VARCHAR,            -- canonical label, expression task only
    value       DOUBLE              -- valence/arousal vote, else NULL
);
"""

_LABELS_SQL = "[" + ", ".join(f"'{C25_CODES[c]}'" for c in sorted(C25_CODES)) + "]"


def detect(path: Path) -> bool:
    """Whether ``path`` is a folder holding AffectNetC25 CSVs (or one such CSV)."""
    path = Path(path)
    if path.is_file():
        return bool(FILE_PATTERN.match(path.name))
    return path.is_dir() and bool(_set_files(path))


def load(con: duckdb.DuckDBPyConnection, path: Path, report: ImportReport,
         **options: Any) -> None:
    """Replace the AffectNetC25 records with the sets found in ``path``.

    Parameters
    ----------
    con
        Index connection, inside the import transaction.
    path
        Folder holding ``{expression,valence,arousal}_set{n}_C25.csv`` (a CSV inside it
        also names the folder). A set needs its three files; a set may be absent.
    report
        Receives the counts.

    Raises
    ------
    DatasetFormatError
        A file is missing or not in the C25 format (file, line and problem named).
    """
    if options:
        raise TypeError(f"unexpected options for {KIND}: {', '.join(options)}")
    folder = Path(path).parent if Path(path).is_file() else Path(path)
    sets = _set_files(folder)
    if not sets:
        raise DatasetFormatError(
            folder, "no AffectNetC25 files here (expected expression_set1_C25.csv, "
            "valence_set1_C25.csv, arousal_set1_C25.csv and/or the same for set2)")
    for c25_set, files in sorted(sets.items()):  # every file usable before any is read
        _require_tasks(c25_set, files)
        for file in files.values():
            csvio.check_text_file(file)
    for c25_set in (1, 2):
        if c25_set not in sets:
            report.warn(f"no set {c25_set} files in {paths.shown(folder)} "
                        f"(expression_set{c25_set}_C25.csv, ...): imported without it")
    con.execute(SCHEMA)
    con.execute("DELETE FROM c25_votes")
    con.execute("DELETE FROM c25_images")
    for c25_set, files in sorted(sets.items()):
        _load_set(con, c25_set, files, report)
    # Per-image crowd statistics as plain columns, so the browser filters and sorts by them.
    materialize_image_stats(con)
    report.counts.update(summary(con))


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Live counts: images, votes per task, annotators and the AffectNet link status."""
    counts = {"images": 0, **{f"votes_{t}": 0 for t in TASKS}, "annotators": 0,
              "linked": 0, "missing_in_affectnet": 0, "filename_mismatch": 0}
    if not table_exists(con, "c25_images"):
        return counts
    counts["images"] = _scalar(con, "SELECT count(*) FROM c25_images")
    for task, n in con.execute(
            "SELECT task, count(*) FROM c25_votes GROUP BY task").fetchall():
        counts[f"votes_{task}"] = int(n)
    counts["annotators"] = _scalar(con, "SELECT count(DISTINCT annotator) FROM c25_votes")
    for status, n in _link_counts(con).items():
        counts[status] = n
    return counts


def link_problems(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """C25 images that do not match AffectNet's ``training.csv`` row they point at.

    Returns
    -------
    list of dict
        One per problem, in set and index order: ``c25_set``, ``image_index``,
        ``filename``, ``problem`` (``'missing_in_affectnet'`` or ``'filename_mismatch'``),
        ``affectnet_filename`` and ``affectnet_line`` (None when missing). Empty when
        AffectNet (or C25) is not imported: there is nothing to compare with.
    """
    if not _linkable(con):
        return []
    rows = con.execute(
        f"SELECT c25_set, image_index, filename, status, affectnet_filename, affectnet_line "
        f"FROM ({_LINK_SQL}) WHERE status <> 'linked' ORDER BY c25_set, image_index"
    ).fetchall()
    keys = ("c25_set", "image_index", "filename", "problem", "affectnet_filename",
            "affectnet_line")
    return [dict(zip(keys, r, strict=True)) for r in rows]


# --- link to AffectNet ------------------------------------------------------------

_LINK_SQL = """
SELECT c.c25_set, c.image_index, c.filename, a.filename AS affectnet_filename,
       a.line AS affectnet_line,
       CASE WHEN a.row_index IS NULL THEN 'missing_in_affectnet'
            WHEN a.filename <> c.filename THEN 'filename_mismatch'
            ELSE 'linked' END AS status
FROM c25_images c
LEFT JOIN affectnet_images a ON a.split = 'train' AND a.row_index = c.image_index
"""


def _linkable(con: duckdb.DuckDBPyConnection) -> bool:
    """Both tables exist and AffectNet has training rows with a CSV row index."""
    if not (table_exists(con, "c25_images") and table_exists(con, "affectnet_images")):
        return False
    return _scalar(con, "SELECT count(*) FROM affectnet_images WHERE split = 'train' "
                   "AND row_index IS NOT NULL") > 0


def _link_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = {"linked": 0, "missing_in_affectnet": 0, "filename_mismatch": 0}
    if _linkable(con):
        for status, n in con.execute(
                f"SELECT status, count(*) FROM ({_LINK_SQL}) GROUP BY status").fetchall():
            counts[status] = int(n)
    return counts


# --- reading the CSVs ---------------------------------------------------------------

def _set_files(folder: Path) -> dict[int, dict[str, Path]]:
    """``{set: {task: file}}`` for every set with at least one file in ``folder``.

    Files are matched by name whatever they are: one that is a folder, a link to nothing
    or a FIFO is refused when checked, never left out.
    """
    sets: dict[int, dict[str, Path]] = {}
    if not folder.is_dir():
        return sets
    for file in paths.entries_named(folder, FILE_PATTERN.match):
        match = FILE_PATTERN.match(file.name)
        if match:
            sets.setdefault(int(match.group(2)), {})[match.group(1).lower()] = file
    return sets


def _require_tasks(c25_set: int, files: dict[str, Path]) -> None:
    """Raise unless the set has its three files."""
    for task in TASKS:
        if task not in files:
            present = ", ".join(f.name for f in files.values())
            folder = next(iter(files.values())).parent
            raise DatasetFormatError(
                folder / f"{task}_set{c25_set}_C25.csv",
                f"missing: set {c25_set} needs its expression, valence and arousal files "
                f"(found only {present})")


def _load_set(con: duckdb.DuckDBPyConnection, c25_set: int, files: dict[str, Path],
              report: ImportReport) -> None:
    """Check and store one set's three files."""
    tables = {task: _read_task_file(con, c25_set, task, files[task], report) for task in TASKS}
    for task in ("valence", "arousal"):
        _check_same_rows(con, files["expression"], tables["expression"], files[task], tables[task])

    ref = tables["expression"]
    con.execute(f"""
        INSERT INTO c25_images
        SELECT ?, "index"::BIGINT, filename, ?, rowid - (SELECT min(rowid) FROM "{ref}") + 2
        FROM "{ref}" ORDER BY rowid
    """, [c25_set, str(files["expression"].resolve())])
    for task, table in tables.items():
        label = f"{_LABELS_SQL}[vote::INTEGER + 1]" if task == "expression" else "NULL"
        value = "NULL" if task == "expression" else "vote"
        participants = ", ".join(PARTICIPANTS)
        con.execute(f"""
            INSERT INTO c25_votes
            SELECT ?, ?, "index"::BIGINT, 'set{c25_set}/' || participant, vote, {label}, {value}
            FROM (UNPIVOT (SELECT "index", {participants} FROM "{table}")
                  ON {participants} INTO NAME participant VALUE vote)
        """, [c25_set, task])
    for table in tables.values():
        con.execute(f'DROP TABLE "{table}"')


def _read_task_file(con: duckdb.DuckDBPyConnection, c25_set: int, task: str,
                    file: Path, report: ImportReport) -> str:
    """Load one C25 CSV into a TEMP table, check its cells; return the table name."""
    table = f"c25_raw_{task}_{c25_set}"
    csvio.expect_header(file, HEADER)
    n_rows = csvio.load_csv(con, file, table, CSV_TYPES, nullstr=(), require_rows=False)
    report.skip(file, csvio.BLANK_LINES_REASON, *csvio.blank_lines(file, n_rows))
    any_null = " OR ".join(f'"{c}" IS NULL' for c in HEADER)
    checks = [(any_null, "empty cell (every image needs its index, filename and 25 votes)"),
              ('NOT ("index" >= 0 AND "index" = trunc("index") AND "index" < 1e15)',
               "index {index:g} is not a row number (expected a 0-based row of training.csv)")]
    for p in PARTICIPANTS:
        if task == "expression":
            bad = f"NOT ({p} BETWEEN 0 AND {MAX_CODE} AND {p} = trunc({p}))"
            expected = f"a C25 code 0..{MAX_CODE}"
        else:
            bad, expected = f"NOT ({p} BETWEEN -1 AND 1)", "a vote in [-1, 1]"
        checks.append((bad, f"{p} = {{{p}:g}} is not {expected} (index {{index:.0f}})"))
    checks.append((
        f'rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER (PARTITION BY "index" '
        f'ORDER BY rowid) AS k FROM "{table}") WHERE k > 1)',
        "index {index:.0f} appears twice in this file (each image once per set)"))
    csvio.first_violation(con, file, table, checks)
    if n_rows == 0:
        raise DatasetFormatError(file, "no data rows after the header", line=2)
    return table


def _check_same_rows(con: duckdb.DuckDBPyConnection, ref_file: Path, ref: str,
                     file: Path, table: str) -> None:
    """Raise at the first row where ``file`` and the expression file disagree."""
    row = con.execute(f"""
        WITH a AS (SELECT rowid - (SELECT min(rowid) FROM "{ref}") AS r, "index", filename
                   FROM "{ref}"),
             b AS (SELECT rowid - (SELECT min(rowid) FROM "{table}") AS r, "index", filename
                   FROM "{table}")
        SELECT coalesce(a.r, b.r) AS r, a."index", a.filename, b."index", b.filename
        FROM a FULL JOIN b ON a.r = b.r
        WHERE a.r IS NULL OR b.r IS NULL OR a."index" <> b."index" OR a.filename <> b.filename
        ORDER BY r LIMIT 1
    """).fetchone()
    if row is None:
        return
    r, ref_index, ref_name, index, name = row
    ref_index, index = (None if v is None else f"{v:.0f}" for v in (ref_index, index))
    if index is None:
        problem = f"ends before {ref_file.name} (which has index {ref_index} on this line)"
    elif ref_index is None:
        problem = f"has more rows than {ref_file.name} (index {index} has no match there)"
    else:
        problem = (f"index {index}, filename {name} but {ref_file.name} has index {ref_index}, "
                   f"filename {ref_name} on this line (the three files of a set share rows)")
    raise DatasetFormatError(file, problem, line=int(r) + 2)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
