"""Opening the index and importing into it as one transaction.

An import is a single DuckDB transaction: the importer deletes its dataset's old records
and inserts the new ones, and only ``COMMIT`` makes either visible. DuckDB writes its WAL
at commit, so a failed import (bad file) or a killed process leaves the index exactly as
it was; the other datasets are never touched. The importer stages data with DuckDB's own
CSV reader, so the transaction costs little beyond the read itself.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from faceexplorer.core.errors import FaceExplorerError, IndexBusyError
from faceexplorer.index.report import ImportReport

COMMON_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    dataset     VARCHAR PRIMARY KEY,   -- importer kind, e.g. 'affectnet'
    source      VARCHAR NOT NULL,      -- folder or file the user pointed at
    imported_at TIMESTAMP NOT NULL,
    counts      JSON NOT NULL,         -- the figures a user checks, per importer
    warnings    JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS skipped_rows (
    dataset    VARCHAR NOT NULL,
    file       VARCHAR NOT NULL,
    reason     VARCHAR NOT NULL,
    rows       BIGINT NOT NULL,
    first_line BIGINT
);
"""


def connect(db_path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the index; a missing file is created unless ``read_only``.

    Raises
    ------
    IndexBusyError
        Another process holds the file's write lock.
    FaceExplorerError
        The file does not exist (read-only) or is not a DuckDB database.
    """
    db_path = Path(db_path)
    if read_only and not db_path.exists():
        raise FaceExplorerError(
            f"{db_path}: no index here yet; import a dataset first "
            "(faceexplorer index add KIND PATH) or run faceexplorer demo")
    if not read_only:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise IndexBusyError(
                f"{db_path}: the index is in use by another FaceExplorer process; "
                "close it and try again") from exc
        raise FaceExplorerError(f"{db_path}: cannot open the index: {_first_line(exc)}") from exc
    except duckdb.Error as exc:
        raise FaceExplorerError(f"{db_path}: not a FaceExplorer index: {_first_line(exc)}") from exc
    # DuckDB draws a progress bar on the terminal for long queries; ours print their own.
    con.execute("SET enable_progress_bar = false")
    if not read_only:
        con.execute(COMMON_SCHEMA)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` ... ``COMMIT``; any exception rolls back and propagates unchanged."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def run_import(
    db_path: Path,
    dataset: str,
    source: Path,
    load: Callable[[duckdb.DuckDBPyConnection, Path, ImportReport], None],
) -> ImportReport:
    """Run ``load`` inside one transaction and record its report; all or nothing.

    ``load`` replaces the dataset's records (delete, then insert) and fills the report.
    Any exception rolls the whole import back and propagates unchanged.
    """
    con = connect(db_path)
    try:
        report = ImportReport(dataset=dataset, source=Path(source))
        with transaction(con):
            load(con, Path(source), report)
            _record(con, report)
        con.execute("CHECKPOINT")
        return report
    finally:
        con.close()


def _record(con: duckdb.DuckDBPyConnection, report: ImportReport) -> None:
    con.execute("DELETE FROM datasets WHERE dataset = ?", [report.dataset])
    con.execute("DELETE FROM skipped_rows WHERE dataset = ?", [report.dataset])
    con.execute(
        "INSERT INTO datasets VALUES (?, ?, ?, ?, ?)",
        [report.dataset, str(report.source.resolve()),
         datetime.now(UTC).replace(tzinfo=None),
         json.dumps(report.counts), json.dumps(report.warnings)])
    if report.skipped:
        con.executemany(
            "INSERT INTO skipped_rows VALUES (?, ?, ?, ?, ?)",
            [[report.dataset, s.file, s.reason, s.rows, s.first_line] for s in report.skipped])


#: Persistent table names of read-only connections (and cursors), looked up once each.
_READ_ONLY_TABLES: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, frozenset[str]] = (
    weakref.WeakKeyDictionary())


def table_names(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Names of the index's persistent tables (TEMP tables left out).

    ``duckdb_tables()`` costs 10-50 ms beside FACES' 8,500-column table, and the views
    ask dozens of times while the window opens. A read-only connection cannot change
    the schema and no other process can write the file while it is open (DuckDB's
    lock), so its table list is read once per connection or cursor and kept; writable
    connections (imports, runs) always look again.
    """
    cached = _READ_ONLY_TABLES.get(con)
    if cached is None:
        cached = frozenset(r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
            "AND database_name = current_database() AND schema_name = current_schema()"
        ).fetchall())
        mode = con.execute("SELECT current_setting('access_mode')").fetchone()
        if mode is not None and mode[0] == "read_only":
            _READ_ONLY_TABLES[con] = cached
    return cached


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the index has a persistent (not TEMP) table ``name`` (see table_names)."""
    return name in table_names(con)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def imported(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every imported dataset with its counts, warnings and skipped rows."""
    out: list[dict[str, Any]] = []
    for name, source, at, counts, warnings in con.execute(
            "SELECT dataset, source, imported_at, counts, warnings FROM datasets "
            "ORDER BY dataset").fetchall():
        skipped = [
            {"file": f, "reason": r, "rows": n, "first_line": fl}
            for f, r, n, fl in con.execute(
                "SELECT file, reason, rows, first_line FROM skipped_rows WHERE dataset = ? "
                "ORDER BY file, first_line", [name]).fetchall()]
        out.append({
            "dataset": name, "source": source, "imported_at": at.isoformat(timespec="seconds"),
            "counts": json.loads(counts), "warnings": json.loads(warnings), "skipped": skipped,
        })
    return out
