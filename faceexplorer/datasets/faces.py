"""FACES / ANRFC 2023: OpenFace feature statistics, DASS-21 items and demographics.

Three CSVs in one folder: the feature file (any name; ``ID`` then ``{column}_{stat}``,
~8,508 columns), ``dass21.csv`` and ``baseinfo.csv``. The small files are validated
first (file + line for every error), so a bad item never costs the ~1 GB feature read.
Features go straight from DuckDB's ``read_csv`` into the wide ``faces_features`` with
explicit DOUBLE types (DuckDB's sniffer would read the whole file for 8.5k columns).
DuckDB names are case-insensitive and OpenFace has ``x_0`` and ``X_0``, so a clashing
column gets DuckDB's own ``_1`` suffix; ``faces_feature_columns`` maps file name to
table column. DASS-21 is scored in SQL from the items (same rule as
:mod:`faceexplorer.stats.dass21`, checked by the tests), and any stored totals are kept
beside the rule they follow, so nothing is guessed silently. Last, every feature is
ranked once over the subjects with all three scores and the ranks stored
(:mod:`faceexplorer.reports.faces_rank_store`), so ranking all features later is a read and a
product instead of sorting ~97M values again; it adds seconds to a minutes-long import.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from faceexplorer.core.errors import DatasetFormatError, FaceExplorerError
from faceexplorer.core.vocab import DASS_BANDS, DASS_CUTOFFS, DASS_SUBSCALES, FACES_STATS
from faceexplorer.datasets import csvio, paths
from faceexplorer.index.report import ImportReport
from faceexplorer.index.store import table_exists
from faceexplorer.reports.faces_rank_store import RANK_TABLES, store_ranks
from faceexplorer.stats.dass21 import ITEM_COLUMNS, RULES, file_verdict

KIND = "faces"
TITLE = "FACES / ANRFC 2023 (OpenFace statistics + DASS-21)"
TABLES: tuple[str, ...] = ("faces_subjects", "faces_features", "faces_feature_columns",
                           *RANK_TABLES)

DASS_FILE, BASEINFO_FILE = "dass21.csv", "baseinfo.csv"
#: Age is counted in whole years on this date unless ``survey_date`` says otherwise: the
#: ANRFC 2023 survey ran in the 2022/23 school year, whose end (30 June 2023) we take.
DEFAULT_SURVEY_DATE = date(2023, 6, 30)
#: Chinese grade names -> school grade 1..12 (primary 1-6, junior 7-9, senior 10-12).
GRADES: dict[str, int] = {
    "一年级": 1, "二年级": 2, "三年级": 3, "四年级": 4, "五年级": 5, "六年级": 6,
    "初一": 7, "初二": 8, "初三": 9, "七年级": 7, "八年级": 8, "九年级": 9,
    "高一": 10, "高二": 11, "高三": 12,
}
BASEINFO_REQUIRED = ("cust_id", "gender", "birthday", "grade_name")
SUBSCALES = tuple(DASS_SUBSCALES)
_STATS = sorted(FACES_STATS, key=len, reverse=True)  # longest first: suffix match
#: Columns faces_subjects makes itself: a baseinfo column of the same name gets _baseinfo.
_OWN_COLUMNS = {"subject_id", "in_dass", "in_baseinfo", "in_features", "gender", "birthday",
                "grade_name", "grade", "age_years", *ITEM_COLUMNS,
                *(f"{s}{x}" for s in SUBSCALES for x in ("", "_raw", "_band", "_stored",
                                                          "_rule"))}


# --- files ----------------------------------------------------------------------------
# Files are matched by name whatever they are, then checked: a dass21.csv that is a
# folder, a dangling link or a FIFO is refused by name, never taken for "absent".
def _named(folder: Path, name: str) -> Path | None:
    hits = paths.entries_named(folder, lambda n: n.lower() == name)
    return paths.require_file(hits[0], f"the FACES {name}") if hits else None


def feature_file(folder: Path) -> Path | None:
    """The CSV in ``folder`` whose header starts with ``ID`` (any name); None if none.

    Every other CSV there must be a readable file: it might be the feature file.
    """
    found = [p for p in paths.entries_named(folder, lambda n: n.lower().endswith(".csv"))
             if p.name.lower() not in (DASS_FILE, BASEINFO_FILE)
             and _first_field(paths.require_file(p, "a CSV file (the FACES feature file?)"))
             == "ID"]
    if len(found) > 1:
        raise DatasetFormatError(folder, "several feature files (CSV with first column ID): "
                                 + ", ".join(p.name for p in found) + "; expected one")
    return found[0] if found else None


def _first_field(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise paths.error(path, f"cannot read the file: {paths.os_problem(exc)}") from None
    return re.split(rb"[,\r\n]", head.removeprefix(b"\xef\xbb\xbf"), maxsplit=1)[0].strip(
        ).decode("utf-8", "replace")


def detect(path: Path) -> bool:
    """A folder holding ``dass21.csv`` or ``baseinfo.csv``."""
    path = Path(path)
    try:
        return path.is_dir() and any(_named(path, n) for n in (DASS_FILE, BASEINFO_FILE))
    except DatasetFormatError:  # named like FACES but unusable: load says why
        return True


def feature_columns(path: Path) -> list[tuple[str, str, str, str, int]]:
    """Parse the feature header: (name, table column, base column, stat, position) each.

    Raises
    ------
    DatasetFormatError
        First column is not ``ID``, a name is not ``<column>_<stat>``, or names repeat.
    """
    header = csvio.read_header(path)
    if not header or header[0] != "ID":
        first = header[0] if header else ""
        raise DatasetFormatError(path, f"first column is {first!r}, expected ID "
                                 "(then <OpenFace column>_<stat> columns)", line=1)
    out: list[tuple[str, str, str, str, int]] = []
    seen: set[str] = {"subject_id"}
    exact: set[str] = set()
    for position, name in enumerate(header[1:], start=1):
        stat = next((s for s in _STATS if name.endswith("_" + s)), None)
        if stat is None or len(name) <= len(stat) + 1:
            raise DatasetFormatError(
                path, f"column {position + 1} {name!r} is not <OpenFace column>_<stat> with "
                f"stat one of {', '.join(FACES_STATS)}", line=1)
        if name in exact:
            raise DatasetFormatError(path, f"column {name!r} appears twice", line=1)
        exact.add(name)
        column, k = name, 0
        while column.lower() in seen:  # DuckDB's rule for case-insensitive clashes
            k += 1
            column = f"{name}_{k}"
        seen.add(column.lower())
        out.append((name, column, name[: -len(stat) - 1], stat, position))
    return out


# --- loading --------------------------------------------------------------------------
def load(con: duckdb.DuckDBPyConnection, path: Path, report: ImportReport,
         survey_date: date | str | None = None, **unknown: Any) -> None:
    """Import the FACES folder ``path``; replaces the previous FACES tables.

    Parameters
    ----------
    survey_date
        Date ages are computed at (``YYYY-MM-DD``); default :data:`DEFAULT_SURVEY_DATE`.
    """
    if unknown:
        raise FaceExplorerError(f"faces: unknown option(s) {', '.join(unknown)} "
                                "(known: survey_date=YYYY-MM-DD)")
    when = _survey_date(survey_date)
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetFormatError(folder, "not a folder (expected the FACES folder holding "
                                 "the feature CSV, dass21.csv and baseinfo.csv)")
    dass, info = _named(folder, DASS_FILE), _named(folder, BASEINFO_FILE)
    feats = feature_file(folder)
    if not (dass or info or feats):
        raise DatasetFormatError(folder, "no FACES file here (expected dass21.csv, "
                                 "baseinfo.csv and a feature CSV whose first column is ID)")
    for file, what in ((dass, DASS_FILE), (info, BASEINFO_FILE), (feats, "feature CSV")):
        if file is None:
            report.warn(f"no {what} in {folder}: imported without it")
        else:
            csvio.check_text_file(file)  # every file usable before any is read
    _stage_dass(con, dass, report)
    extras = _stage_baseinfo(con, info, report)
    columns = feature_columns(feats) if feats else []  # header errors before the big read
    _load_features(con, feats, columns)
    _build_subjects(con, extras, when)
    store_ranks(con)  # same transaction: the stored ranks always match these tables
    for name in ("_faces_dass", "_faces_info"):
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
    report.counts = summary(con)
    _report_coverage(report)
    for sub in SUBSCALES:
        rules = [r for (r,) in con.execute(
            f"SELECT DISTINCT {sub}_rule FROM faces_subjects").fetchall()]
        verdict = file_verdict(rules)
        if verdict != "absent":
            report.warn(f"stored {sub.capitalize()} totals in {BASEINFO_FILE}: {verdict} "
                        "(bands are always computed from the items, on the doubled scale)")


def _survey_date(value: date | str | None) -> date:
    if value is None:
        return DEFAULT_SURVEY_DATE
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise FaceExplorerError(f"survey_date {value!r} is not a date (YYYY-MM-DD)") from None


def _stage_dass(con: duckdb.DuckDBPyConnection, path: Path | None,
                report: ImportReport) -> None:
    columns = {"cust_id": "VARCHAR", **dict.fromkeys(ITEM_COLUMNS, "DOUBLE")}
    if path is None:
        con.execute("CREATE OR REPLACE TEMP TABLE _faces_dass AS SELECT "
                    + ", ".join(f"NULL::{t} AS {c}" for c, t in columns.items()) + " LIMIT 0")
        return
    csvio.check_text_file(path)
    csvio.expect_header(path, list(columns))
    # DOUBLE, not INTEGER: pandas writes item columns with gaps as 1.0, 2.0, ...
    n_rows = csvio.load_csv(con, path, "_faces_dass", columns)
    report.skip(path.name, csvio.BLANK_LINES_REASON, *csvio.blank_lines(path, n_rows))
    _check_ids(con, path, "_faces_dass")
    bad = " OR ".join(f"{c} NOT IN (0, 1, 2, 3)" for c in ITEM_COLUMNS)
    row = con.execute(f"SELECT rowid, * FROM _faces_dass WHERE {bad} ORDER BY rowid LIMIT 1"
                      ).fetchone()
    if row is not None:
        item, value = next((c, v) for c, v in zip(ITEM_COLUMNS, row[2:], strict=True)
                           if v is not None and v not in (0, 1, 2, 3))
        raise DatasetFormatError(path, f"{item} of cust_id {row[1]} is {value:g}; DASS-21 "
                                 "items are scored 0, 1, 2 or 3",
                                 line=_line(con, "_faces_dass", row[0]))
    any_missing = " OR ".join(f"{c} IS NULL" for c in ITEM_COLUMNS)
    n, first = _count_where(con, "_faces_dass", any_missing)
    report.skip(path.name, "missing DASS-21 item(s): the subscale(s) concerned are left "
                "unscored", n, first)


def _line(con: duckdb.DuckDBPyConnection, table: str, rowid: int) -> int:
    """File line of a staged row.

    Tables created inside the import's transaction number their rows from a large base
    (DuckDB's transaction-local row ids), not from 0, so ``rowid + 2`` is not the line;
    the offset from the table's first row id is.
    """
    base = con.execute(f'SELECT min(rowid) FROM "{table}"').fetchone()[0]  # type: ignore[index]
    return int(rowid) - int(base) + 2


def _count_where(con: duckdb.DuckDBPyConnection, table: str,
                 condition: str) -> tuple[int, int | None]:
    """Rows of ``table`` where ``condition`` holds, and the file line of the first."""
    n, first = con.execute(f'SELECT count(*), min(rowid) FROM "{table}" WHERE {condition}'
                           ).fetchone()  # type: ignore[misc]
    return int(n), (_line(con, table, first) if first is not None else None)


def _check_ids(con: duckdb.DuckDBPyConnection, path: Path, table: str,
               column: str = "cust_id") -> None:
    row = con.execute(f"""
        SELECT rowid, {column}, first FROM (
            SELECT rowid, trim({column}) AS {column},
                   min(rowid) OVER (PARTITION BY trim({column})) AS first
            FROM "{table}")
        WHERE {column} IS NULL OR rowid <> first ORDER BY rowid LIMIT 1""").fetchone()
    if row is None:
        return
    if row[1] is None:
        raise DatasetFormatError(path, f"{column} is empty; every row needs an ID",
                                 line=_line(con, table, row[0]))
    raise DatasetFormatError(path, f"duplicate {column} {row[1]} (first on line "
                             f"{_line(con, table, row[2])}); expected one row per subject",
                             line=_line(con, table, row[0]))


def _stage_baseinfo(con: duckdb.DuckDBPyConnection, path: Path | None,
                    report: ImportReport) -> dict[str, str]:
    """Stage baseinfo.csv as text; returns extra column -> SQL expression of its value."""
    if path is None:
        con.execute("CREATE OR REPLACE TEMP TABLE _faces_info AS SELECT "
                    + ", ".join(f"NULL::VARCHAR AS {c}" for c in BASEINFO_REQUIRED) + " LIMIT 0")
        return {}
    header = csvio.read_header(path)
    missing = [c for c in BASEINFO_REQUIRED if c not in header]
    lowered = [h.lower() for h in header]
    if missing or len(set(lowered)) != len(lowered) or "" in header:
        problem = (f"missing {', '.join(missing)}" if missing
                   else "empty or repeated column names")
        raise DatasetFormatError(path, f"wrong header ({problem}); expected "
                                 f"{','.join(BASEINFO_REQUIRED)},... (other columns kept)",
                                 line=1)
    n_rows = csvio.load_csv(con, path, "_faces_info", dict.fromkeys(header, "VARCHAR"))
    report.skip(path.name, csvio.BLANK_LINES_REASON, *csvio.blank_lines(path, n_rows))
    _check_ids(con, path, "_faces_info")
    date_sql = "try_strptime(regexp_replace(trim(birthday), '\\.0+$', ''), '%Y%m%d')"
    row = con.execute(
        "SELECT rowid, birthday FROM _faces_info WHERE trim(birthday) <> '' AND (NOT "
        f"regexp_full_match(trim(birthday), '\\d{{8}}(\\.0+)?') OR ({date_sql}) IS NULL) "
        "ORDER BY rowid LIMIT 1").fetchone()
    if row is not None:
        raise DatasetFormatError(path, f"birthday {row[1]!r} is not a date written YYYYMMDD",
                                 line=_line(con, "_faces_info", row[0]))
    report.skip(path.name, "missing birthday: age left empty",
                *_count_where(con, "_faces_info", "birthday IS NULL"))
    report.skip(path.name, "missing grade_name: grade left empty",
                *_count_where(con, "_faces_info", "grade_name IS NULL"))
    known = ", ".join(f"'{g}'" for g in GRADES)
    report.skip(path.name, f"grade_name not one of {'/'.join(GRADES)}: grade left empty",
                *_count_where(con, "_faces_info", f"trim(grade_name) NOT IN ({known})"))
    extras: dict[str, str] = {}
    for name in header:
        if name in BASEINFO_REQUIRED:
            continue
        if name.lower() in SUBSCALES:  # a stored total: numbers only
            bad = con.execute(
                f'SELECT rowid, "{name}" FROM _faces_info WHERE "{name}" IS NOT NULL AND '
                f'TRY_CAST("{name}" AS DOUBLE) IS NULL ORDER BY rowid LIMIT 1').fetchone()
            if bad is not None:
                raise DatasetFormatError(path, f"{name} total {bad[1]!r} is not a number",
                                         line=_line(con, "_faces_info", bad[0]))
            extras[f"{name.lower()}_stored"] = f'CAST(i."{name}" AS DOUBLE)'
            continue
        kind = next((t for t in ("BIGINT", "DOUBLE") if con.execute(
            f'SELECT count(*) FROM _faces_info WHERE "{name}" IS NOT NULL AND '
            f'TRY_CAST("{name}" AS {t}) IS NULL').fetchone()[0] == 0), "VARCHAR")  # type: ignore[index]
        column = name if name.lower() not in _OWN_COLUMNS else f"{name}_baseinfo"
        extras[column] = f'CAST(i."{name}" AS {kind})'
    return extras


def _load_features(con: duckdb.DuckDBPyConnection, path: Path | None,
                   columns: list[tuple[str, str, str, str, int]]) -> None:
    con.execute("DROP TABLE IF EXISTS faces_features")
    con.execute("DROP TABLE IF EXISTS faces_feature_columns")
    con.execute("CREATE TABLE faces_feature_columns (name VARCHAR NOT NULL, column_name "
                "VARCHAR NOT NULL, base_column VARCHAR NOT NULL, stat VARCHAR NOT NULL, "
                "position INTEGER NOT NULL)")
    if path is None:
        con.execute("CREATE TABLE faces_features (subject_id VARCHAR)")
        return
    types = {"subject_id": "VARCHAR", **{c[1]: "DOUBLE" for c in columns}}
    try:
        con.execute(
            "CREATE TABLE faces_features AS SELECT * FROM read_csv(?, header = true, "
            "auto_detect = false, columns = ?, delim = ',', quote = '\"', escape = '\"', "
            "nullstr = ['NULL', '', 'NA'], strict_mode = true, null_padding = false)",
            [str(path), types])
    except duckdb.Error as exc:
        raise csvio.diagnose(path, types, ("NULL", "NA"), ",", exc) from None
    # A NUL can only hide in the one text column (in a number it fails the read above);
    # looking there costs nothing next to scanning the ~1 GB file for it.
    n_rows, nul = con.execute("SELECT count(*), min(rowid) FILTER (WHERE strpos(subject_id, "
                              "chr(0)) > 0) FROM faces_features").fetchone()  # type: ignore[misc]
    if n_rows == 0:
        raise paths.error(path, "no data rows after the header", line=2)
    if nul is not None:
        raise paths.error(path, "NUL byte in the ID: binary data in a text file",
                          _line(con, "faces_features", nul))
    _check_ids(con, path, "faces_features", "subject_id")
    con.executemany("INSERT INTO faces_feature_columns VALUES (?, ?, ?, ?, ?)",
                    [list(c) for c in columns])


def _band_sql(score: str, subscale: str) -> str:
    cuts = DASS_CUTOFFS[subscale]
    whens = " ".join(f"WHEN {score} >= {c} THEN '{b}'"
                     for c, b in reversed(list(zip(cuts, DASS_BANDS[1:], strict=True))))
    return f"CASE WHEN {score} IS NULL THEN NULL {whens} ELSE '{DASS_BANDS[0]}' END"


def _rule_sql(stored: str, raw: str) -> str:
    # Mirrors stats.dass21.stored_total_rule; the tests check both agree.
    return (f"CASE WHEN {stored} IS NULL OR {raw} IS NULL THEN 'missing' "
            f"WHEN {raw} = 0 AND {stored} = 0 THEN 'ambiguous' "
            f"WHEN {stored} = 2 * {raw} THEN 'doubled' WHEN {stored} = {raw} THEN 'undoubled' "
            "ELSE 'neither' END")


def _build_subjects(con: duckdb.DuckDBPyConnection, extras: dict[str, str],
                    when: date) -> None:
    raw = {s: " + ".join(f"d.dass_{i}" for i in DASS_SUBSCALES[s]) for s in SUBSCALES}
    stored = {s: extras.pop(f"{s}_stored", "NULL::DOUBLE") for s in SUBSCALES}
    born = "try_strptime(regexp_replace(trim(i.birthday), '\\.0+$', ''), '%Y%m%d')::DATE"
    grade_cases = " ".join(f"WHEN '{g}' THEN {n}" for g, n in GRADES.items())
    parts = [
        "ids.subject_id", "d.cust_id IS NOT NULL AS in_dass",
        "i.cust_id IS NOT NULL AS in_baseinfo",
        "f.subject_id IS NOT NULL AS in_features", "i.gender", f"{born} AS birthday",
        "i.grade_name", f"CASE trim(i.grade_name) {grade_cases} END::TINYINT AS grade",
        f"(year(DATE '{when}') - year({born}) - CASE WHEN month({born}) > {when.month} OR "
        f"(month({born}) = {when.month} AND day({born}) > {when.day}) THEN 1 ELSE 0 END"
        ")::SMALLINT AS age_years",
        *(f"d.{c}::TINYINT AS {c}" for c in ITEM_COLUMNS),
        *(f"({raw[s]})::TINYINT AS {s}_raw" for s in SUBSCALES),
        *(f"(2 * ({raw[s]}))::TINYINT AS {s}" for s in SUBSCALES),
        *(f"{_band_sql(f'2 * ({raw[s]})', s)} AS {s}_band" for s in SUBSCALES),
        *(f"{stored[s]} AS {s}_stored" for s in SUBSCALES),
        *(f"{_rule_sql(stored[s], f'({raw[s]})')} AS {s}_rule" for s in SUBSCALES),
        *(f'{expr} AS "{name}"' for name, expr in extras.items()),
    ]
    con.execute("DROP TABLE IF EXISTS faces_subjects")
    con.execute(f"""
        CREATE TABLE faces_subjects AS
        WITH d AS (SELECT * REPLACE (trim(cust_id) AS cust_id) FROM _faces_dass),
             i AS (SELECT * REPLACE (trim(cust_id) AS cust_id) FROM _faces_info),
             ids AS (SELECT cust_id AS subject_id FROM d UNION SELECT cust_id FROM i
                     UNION SELECT subject_id FROM faces_features)
        SELECT {', '.join(parts)} FROM ids
        LEFT JOIN d ON d.cust_id = ids.subject_id
        LEFT JOIN i ON i.cust_id = ids.subject_id
        LEFT JOIN (SELECT subject_id FROM faces_features) f ON f.subject_id = ids.subject_id
        ORDER BY ids.subject_id""")


def _report_coverage(report: ImportReport) -> None:
    c = report.counts
    if c["features_without_dass"] or c["dass_without_features"]:
        report.warn(f"{c['features_without_dass']} subject(s) have features but no DASS-21 "
                    f"answers, {c['dass_without_features']} have DASS-21 answers but no "
                    "features; they are kept (see in_dass / in_features)")


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Subjects, coverage of the three files, feature columns, stored-total rules found."""
    out = {"subjects": 0, "subjects_with_features": 0, "subjects_with_dass": 0,
           "subjects_with_baseinfo": 0, "feature_columns": 0, "features_without_dass": 0,
           "dass_without_features": 0, **{f"stored_totals_{r}": 0 for r in RULES}}
    if not table_exists(con, "faces_subjects"):
        return out
    row = con.execute("""SELECT count(*), count(*) FILTER (in_features),
        count(*) FILTER (in_dass), count(*) FILTER (in_baseinfo),
        count(*) FILTER (in_features AND NOT in_dass),
        count(*) FILTER (in_dass AND NOT in_features) FROM faces_subjects""").fetchone()
    keys = ["subjects", "subjects_with_features", "subjects_with_dass",
            "subjects_with_baseinfo", "features_without_dass", "dass_without_features"]
    out.update(zip(keys, map(int, row), strict=True))  # type: ignore[arg-type]
    out["feature_columns"] = int(con.execute(
        "SELECT count(*) FROM faces_feature_columns").fetchone()[0])  # type: ignore[index]
    every = " UNION ALL ".join(f"SELECT {s}_rule AS rule FROM faces_subjects" for s in SUBSCALES)
    for rule, n in con.execute(f"SELECT rule, count(*) FROM ({every}) GROUP BY rule").fetchall():
        out[f"stored_totals_{rule}"] = int(n)
    return out
