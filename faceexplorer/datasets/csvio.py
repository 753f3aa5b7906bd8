"""Reading dataset CSVs fast with DuckDB, and explaining exactly what is wrong when it fails.

Fast path: DuckDB's own reader loads the file with the types we expect into a temporary
table, whose ``rowid`` keeps file order. Inside the import transaction a new table's
row ids start at a large offset, so data row ``r`` is ``rowid - min(rowid)`` and sits on
line ``r + 2`` (:func:`data_row_sql`).
Slow path, only when DuckDB refuses the file: a plain Python scan finds the first bad
line and says what is wrong with it (field count, unparseable number, bytes that are not
UTF-8, a quote never closed: the line where its record starts), so the user gets file,
line and problem rather than a database error.
Before any of it, :func:`check_text_file` checks the path by ``stat`` (see
:mod:`faceexplorer.datasets.paths`: a FIFO is never opened) and the first 64 KB; a NUL
byte further on would pass DuckDB inside a text cell, so :func:`blank_lines`, which reads
every byte anyway to count newlines, looks for one in the same pass (:func:`scan_text`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import duckdb

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.datasets import paths

_NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "DOUBLE", "FLOAT", "REAL"}
_SNIFF_BYTES = 65536


def check_text_file(path: Path, what: str = "CSV file") -> None:
    """Refuse a missing, non-regular, unreadable, empty or binary file with a clear message.

    Only ``stat`` looks at the path before it is known to be a regular file, so a FIFO
    or a device is never opened (that would block).
    """
    paths.require_file(path, f"a {what}")
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise paths.error(path, f"cannot read the file: {paths.os_problem(exc)}") from None
    if not head.strip():
        raise paths.error(path, f"file is empty (expected a {what} with a header line)")
    if b"\x00" in head:
        raise paths.error(path, f"binary file, not text (expected a {what})",
                          head.count(b"\n", 0, head.index(b"\x00")) + 1)


def read_header(path: Path, delimiter: str = ",") -> list[str]:
    """The header fields of a CSV, stripped of a BOM and of surrounding spaces."""
    check_text_file(path)
    try:
        with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
            first = fh.readline().rstrip("\r\n")
    except OSError as exc:
        raise paths.error(path, f"cannot read the file: {paths.os_problem(exc)}") from None
    return [f.strip() for f in next(csv.reader([first], delimiter=delimiter))]


def expect_header(path: Path, expected: Sequence[str], extra_ok: bool = False) -> list[str]:
    """Check the header is ``expected`` exactly (or begins with it when ``extra_ok``)."""
    header = read_header(path)
    head = header[: len(expected)] if extra_ok else header
    if list(head) != list(expected):
        missing = [c for c in expected if c not in header]
        unknown = [c for c in header if c not in expected]
        detail = []
        if missing:
            more = " ..." if len(missing) > 8 else ""
            detail.append("missing " + ", ".join(missing[:8]) + more)
        if unknown and not extra_ok:
            detail.append("unexpected " + ", ".join(unknown[:8]))
        if not detail:
            detail.append("columns out of order")
        raise DatasetFormatError(
            path, f"wrong header ({'; '.join(detail)}); expected: {','.join(expected[:12])}"
            + (",..." if len(expected) > 12 else ""), line=1)
    return header


def load_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    columns: Mapping[str, str],
    nullstr: Sequence[str] = ("NULL",),
    delimiter: str = ",",
    require_rows: bool = True,
) -> int:
    """Load ``path`` into TEMP table ``table`` with the given column types; return its rows.

    The header must already have been checked. A file with no data row is an error
    unless ``require_rows`` is False. The table keeps file order: see
    :func:`data_row_sql` for the data row of each ``rowid``. Cells equal to one of
    ``nullstr`` or empty become NULL. Any refusal becomes a :class:`DatasetFormatError`
    naming the line. Beware: DuckDB rounds ``2.5`` into an INTEGER column without
    complaint, so read whole-number columns as DOUBLE and check them in SQL.
    """
    con.execute(f'DROP TABLE IF EXISTS "{table}"')
    reader, params = read_csv_call(path, columns, nullstr, delimiter)
    try:
        con.execute(f'CREATE TEMP TABLE "{table}" AS SELECT * FROM {reader}', params)
    except duckdb.Error as exc:
        raise diagnose(path, columns, nullstr, delimiter, exc) from None
    row = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    n_rows = int(row[0]) if row else 0
    if require_rows and n_rows == 0:
        raise paths.error(path, "no data rows after the header", line=2)
    return n_rows


def read_csv_call(
    path: Path | str,
    columns: Mapping[str, str],
    nullstr: Sequence[str] = ("NULL",),
    delimiter: str = ",",
) -> tuple[str, list[object]]:
    """DuckDB's ``read_csv(...)`` with the options every importer reads with, and its
    parameters: a header line, exactly ``columns`` (no sniffing), RFC 4180 quotes, strict
    field counts, ``nullstr`` and empty cells as NULL. DuckDB takes ``\\n`` and ``\\r\\n``
    line ends alike with these. ``bench/index_build.py`` times its raw baseline with the
    same call, so the two cannot drift apart.
    """
    sql = ("read_csv(?, header = true, auto_detect = false, columns = ?, delim = ?, "
           "quote = '\"', escape = '\"', nullstr = ?, strict_mode = true, "
           "null_padding = false, parallel = true)")
    return sql, [str(path), dict(columns), delimiter, [*nullstr, ""]]


def diagnose(
    path: Path,
    columns: Mapping[str, str],
    nullstr: Sequence[str],
    delimiter: str,
    exc: BaseException | None = None,
) -> DatasetFormatError:
    """Scan the file in Python and describe its first bad line."""
    names = list(columns)
    kinds = [columns[n].split("(")[0].upper() for n in names]
    nulls = set(nullstr) | {""}
    start = 1  # line on which the record being read begins (quoted fields span lines)
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter, quotechar='"', strict=True)
            next(reader, None)
            start = reader.line_num + 1
            for row in reader:
                line, start = start, reader.line_num + 1
                if not row:
                    continue
                if any("\x00" in cell for cell in row):
                    return paths.error(path, "NUL byte: binary data in a text file", line)
                if len(row) != len(names):
                    return paths.error(
                        path, f"{len(row)} fields, expected {len(names)} "
                        f"({'truncated row' if len(row) < len(names) else 'extra fields'})",
                        line)
                for name, kind, cell in zip(names, kinds, row, strict=True):
                    cell = cell.strip()
                    if kind in _NUMERIC and cell not in nulls:
                        try:
                            value = float(cell)
                        except ValueError:
                            return paths.error(
                                path, f"column {name!r}: {cell[:40]!r} is not a number", line)
                        if kind not in {"DOUBLE", "FLOAT", "REAL"} and not value.is_integer():
                            return paths.error(
                                path, f"column {name!r}: {cell[:40]!r} is not a whole number",
                                line)
    except UnicodeDecodeError as err:
        return paths.error(path, f"not UTF-8 text ({err.reason}: byte "
                           f"{err.object[err.start:err.start + 1]!r})", _undecodable_line(path))
    except csv.Error as err:
        if "field larger" in str(err) or "EOF" in str(err) or "end of data" in str(err):
            return paths.error(path, "unterminated quoted field: a '\"' on this line opens a "
                               "field that is never closed", start)
        return paths.error(path, f"malformed CSV ({err})", start)
    except OSError as err:
        return paths.error(path, f"cannot read the file: {paths.os_problem(err)}")
    message = str(exc).strip().splitlines()[0] if exc else "unreadable"
    match = re.search(r"[Ll]ine:? (\d+)", str(exc or ""))
    return paths.error(path, f"cannot be read as CSV: {message}",
                       int(match.group(1)) if match else None)


def _undecodable_line(path: Path) -> int | None:
    """The 1-based line holding the first byte sequence that is not UTF-8."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def data_row_sql(table: str) -> str:
    """SQL for the 0-based data row of each row of ``table`` (its line is this + 2)."""
    return f'(rowid - (SELECT min(rowid) FROM "{table}"))'


def first_violation(con: duckdb.DuckDBPyConnection, path: Path, table: str,
                    checks: Sequence[tuple[str, str]]) -> None:
    """Raise for the earliest row of ``table`` where any check's SQL condition holds.

    Parameters
    ----------
    checks
        ``(condition, problem)`` pairs; ``problem`` is formatted with the row's columns
        (and ``data_row``). On one line, the first failing check in list order is reported.
    """
    # One scan for the earliest bad row (an OR of the checks), then that row alone tells
    # which check failed: cheaper than one filtered aggregate per check.
    either = " OR ".join(f"({cond})" for cond, _ in checks)
    first = con.execute(f'SELECT min(rowid) FROM "{table}" WHERE {either}').fetchone()
    if not first or first[0] is None:
        return
    flags = ", ".join(f"coalesce(({cond}), false)" for cond, _ in checks)
    cursor = con.execute(
        f'SELECT {flags}, {data_row_sql(table)}, * FROM "{table}" WHERE rowid = ?', [first[0]])
    row = cursor.fetchone() or ()
    names = [d[0] for d in cursor.description]
    n = len(checks)
    values = dict(zip(["data_row", *names[n + 1:]], row[n:], strict=True))
    problem = next(p for (_, p), hit in zip(checks, row[:n], strict=True) if hit)
    raise DatasetFormatError(path, problem.format(**values), line=int(values["data_row"]) + 2)


def count_each(con: duckdb.DuckDBPyConnection, table: str,
               conditions: Sequence[str]) -> list[tuple[int, int | None]]:
    """Rows of ``table`` meeting each condition and the line of the first one; one scan."""
    row = con.execute("SELECT " + ", ".join(
        f"count(*) FILTER (WHERE {c}), min(rowid) FILTER (WHERE {c})" for c in conditions)
        + f', min(rowid) FROM "{table}"').fetchone() or ()
    base = row[-1]
    return [(int(row[2 * k]), int(row[2 * k + 1]) - base + 2 if row[2 * k + 1] is not None
             else None) for k in range(len(conditions))]


BLANK_LINES_REASON = ("blank lines ignored (stored line numbers after them are one less "
                      "per blank line)")


class TextScan(NamedTuple):
    """What one pass over a CSV's bytes found (see :func:`scan_text`)."""

    blank: int                 # blank lines before the last data line
    first_blank: int | None    # line number of the first one
    letters: bool              # a data line holds e/E/n/N/i/I (checked when asked)


#: Every way DuckDB's DOUBLE reader reaches a NaN or an infinity ("nan", "inf",
#: "Infinity", "1e400") needs one of these bytes; plain decimals have none.
_NON_DECIMAL = (b"e", b"E", b"n", b"N", b"i", b"I")


def scan_text(path: Path, data_rows: int | None = None, letters: bool = False) -> TextScan:
    """One pass over ``path``'s bytes: blank lines, NUL bytes and (``letters``) whether
    any data line could hold a number DuckDB reads as NaN or an infinity.

    DuckDB's reader skips blank lines (so data rows still count as pandas counts them),
    but lines after one sit further down than the stored line says: importers report it.
    Given ``data_rows``, counting newlines (a fast byte count) against the header plus
    the data rows clears a big clean file quickly; only a file that does not add up is
    split into lines. A NUL byte anywhere (DuckDB keeps one inside a text cell) is a
    DatasetFormatError naming its line. The byte searches run at memory speed: a file
    without ``e``/``n``/``i`` after its header lets an importer skip a finiteness check
    of every cell, which costs more in SQL than this whole pass on a wide file.
    """
    newlines = 0
    found = False
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                raise paths.error(path, "NUL byte: binary data in a text file",
                                  newlines + chunk.count(b"\n", 0, nul) + 1)
            if letters and not found:
                start = chunk.find(b"\n") + 1 if newlines == 0 else 0
                found = any(chunk.find(b, start) >= 0 for b in _NON_DECIMAL)
            newlines += chunk.count(b"\n")
        fh.seek(max(0, fh.tell() - 4096))
        tail = fh.read()
    if data_rows is not None:
        # blank lines at the end shift nothing: only those before a data line count
        trailing = tail[len(tail.rstrip(b"\r\n \t")):].count(b"\n")
        if newlines - trailing + 1 <= 1 + data_rows:
            return TextScan(0, None, found)
    lines = path.read_bytes().rstrip(b"\r\n \t").split(b"\n")[1:]
    blank = [i + 2 for i, text in enumerate(lines) if not text.strip(b"\r \t")]
    return TextScan(len(blank), blank[0] if blank else None, found)


def blank_lines(path: Path, data_rows: int | None = None) -> tuple[int, int | None]:
    """Blank lines before the last data line of ``path`` and the first one's number
    (:func:`scan_text`, which also refuses a NUL byte anywhere in the file)."""
    scan = scan_text(path, data_rows)
    return scan.blank, scan.first_blank
