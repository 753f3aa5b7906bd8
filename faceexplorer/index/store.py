"""Opening the index and importing into it as one transaction.

An import is a single DuckDB transaction: the importer deletes its dataset's old records
and inserts the new ones, and only ``COMMIT`` makes either visible. DuckDB writes its WAL
at commit, so a failed import (bad file) or a killed process leaves the index exactly as
it was; the other datasets are never touched. The importer stages data with DuckDB's own
CSV reader, so the transaction costs little beyond the read itself.

Failures say what the index holds afterwards. Before ``COMMIT`` returns, nothing was
changed: Ctrl-C (DuckDB's "Query interrupted" included) becomes ``KeyboardInterrupt``,
a full disk :class:`DiskFullError` saying the index is the old one. The ``CHECKPOINT``
after it only merges the committed WAL into the file: when it fails (disk full) or is
interrupted, the import stands, in the WAL, and DuckDB merges it at a later open; the
report carries a warning instead of the import failing. A ``ROLLBACK`` that fails after a
failed ``COMMIT`` (DuckDB has already ended the transaction) is not raised over the first
error. ``connect`` refuses files that are not FaceExplorer indexes (another program's
DuckDB file is never written into) and names damaged ones.
"""

from __future__ import annotations

import contextlib
import json
import stat
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from faceexplorer.core.errors import (
    DiskFullError,
    FaceExplorerError,
    IndexBusyError,
    IndexDamagedError,
    NotAnIndexError,
    is_disk_full,
    is_index_damaged,
    is_interrupt,
    one_line,
)
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
    NotAnIndexError
        The file is not a DuckDB database, or another program's DuckDB database.
    IndexDamagedError
        DuckDB finds the file damaged.
    DiskFullError
        Opening needs to write (merging a WAL) and the disk is full.
    FaceExplorerError
        The file does not exist (read-only), is not a regular file, or cannot be opened.
    """
    db_path = Path(db_path)
    try:
        mode = db_path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise FaceExplorerError(f"{db_path}: cannot open the index: "
                                f"{exc.strerror or one_line(str(exc))}") from None
    if mode is None and read_only:
        raise FaceExplorerError(
            f"{db_path}: no index here yet; import a dataset first "
            "(faceexplorer index add KIND PATH) or run faceexplorer demo")
    if mode is not None and not stat.S_ISREG(mode):
        # DuckDB would block on a FIFO and fail obscurely on a folder.
        raise FaceExplorerError(f"{db_path}: not an index file (a folder or special file)")
    if not read_only:
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FaceExplorerError(f"{db_path.parent}: cannot create the index's folder: "
                                    f"{exc.strerror or one_line(str(exc))}") from None
    try:
        con = duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.Error as exc:
        raise _open_error(db_path, exc) from None
    try:
        # DuckDB draws a progress bar on the terminal for long queries; ours print their own.
        con.execute("SET enable_progress_bar = false")
        _check_is_index(con, db_path)
        if not read_only:
            con.execute(COMMON_SCHEMA)
    except BaseException as exc:
        with contextlib.suppress(duckdb.Error):
            con.close()
        if isinstance(exc, duckdb.Error):
            raise _open_error(db_path, exc) from None
        raise
    return con


def _open_error(db_path: Path, exc: duckdb.Error) -> FaceExplorerError:
    """The user's message for a DuckDB error while opening the index."""
    text = one_line(str(exc), 300)
    low = text.lower()
    if isinstance(exc, duckdb.IOException) and "lock" in low:
        return IndexBusyError(f"{db_path}: the index is in use by another FaceExplorer "
                              "process (an open window, an import or a run); close it or wait "
                              "for it to end (the window adds datasets from its File menu)")
    if "not a valid duckdb database" in low:
        return NotAnIndexError(f"{db_path}: not a FaceExplorer index (not a DuckDB "
                               "database file); choose another file with --db")
    if is_disk_full(exc):
        return DiskFullError(f"{db_path}: disk full while opening the index ({text}); "
                             "free some space and run the command again")
    if is_index_damaged(exc):
        return IndexDamagedError(f"{db_path}: the index file is damaged ({text}); move it "
                                 "aside and import the datasets again")
    if "permission denied" in low:
        return FaceExplorerError(f"{db_path}: cannot open the index: permission denied")
    if "read-only file system" in low:
        return FaceExplorerError(f"{db_path}: cannot write the index: the file system is "
                                 "read-only (use --db to choose a writable place)")
    return FaceExplorerError(f"{db_path}: cannot open the index: {text}")


def _check_is_index(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Refuse another program's DuckDB file: tables, but no ``datasets`` table."""
    try:
        con.execute("SELECT 1 FROM datasets LIMIT 0")
        return
    except duckdb.CatalogException:
        pass
    others = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
        "AND database_name = current_database() ORDER BY 1 LIMIT 4").fetchall()
    if others:
        names = ", ".join(r[0] for r in others[:3]) + (", ..." if len(others) > 3 else "")
        raise NotAnIndexError(
            f"{db_path}: a DuckDB database but not a FaceExplorer index (its tables: {names}; "
            "no 'datasets' table); choose another file with --db")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` ... ``COMMIT``; any exception rolls back and propagates unchanged.

    A failed ``COMMIT`` has already ended the transaction, and a connection DuckDB has
    invalidated refuses ``ROLLBACK``: such a second error is dropped, so the first one
    propagates alone (no chained traceback).
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


def run_import(
    db_path: Path,
    dataset: str,
    source: Path,
    load: Callable[[duckdb.DuckDBPyConnection, Path, ImportReport], None],
    on_connect: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> ImportReport:
    """Run ``load`` inside one transaction and record its report; all or nothing.

    ``load`` replaces the dataset's records (delete, then insert) and fills the report.
    Any exception rolls the whole import back and propagates unchanged, except Ctrl-C
    (DuckDB's interrupted query becomes ``KeyboardInterrupt``) and a full disk
    (:class:`DiskFullError`, saying the index is the old one). A failed or interrupted
    ``CHECKPOINT`` after the commit does not undo the import: the report gets a warning.
    ``on_connect(con)`` is called with the import's connection before any work (the
    window registers ``con.interrupt`` to cancel an import it started).
    """
    db_path = Path(db_path)
    con = connect(db_path)
    if on_connect is not None:
        on_connect(con)
    stamp: list[datetime] = []  # when _record ran: the commit can then be checked
    try:
        report = ImportReport(dataset=dataset, source=Path(source))
        try:
            with transaction(con):
                load(con, Path(source), report)
                stamp.append(_record(con, report))
        except BaseException as exc:
            if stamp and _committed(con, dataset, stamp[0]):
                # Ctrl-C landed between COMMIT and the end of the with: it stands.
                raise KeyboardInterrupt(_committed_message(dataset)) from None
            if is_interrupt(exc) and not isinstance(exc, KeyboardInterrupt):
                raise KeyboardInterrupt() from None
            if is_disk_full(exc) and not isinstance(exc, FaceExplorerError):
                raise DiskFullError(
                    f"{db_path}: disk full while importing {dataset} ({one_line(str(exc), 300)})"
                    "; nothing was changed: the index is the one from before this import"
                ) from None
            raise
        try:
            con.execute("CHECKPOINT")
        except BaseException as exc:
            if not (is_interrupt(exc) or isinstance(exc, duckdb.Error)):
                raise
            why = ("interrupted" if is_interrupt(exc) else
                   "disk full" if is_disk_full(exc) else one_line(str(exc), 200))
            report.warnings.append(
                f"the import is complete and committed, but the index file was not compacted "
                f"({why}): the new data waits in {db_path.name}.wal beside it and is merged "
                "the next time the index is opened for writing")
            if is_interrupt(exc):
                raise KeyboardInterrupt(_committed_message(dataset)) from None
        return report
    finally:
        with contextlib.suppress(duckdb.Error):
            con.close()


def _committed(con: duckdb.DuckDBPyConnection, dataset: str, stamp: datetime) -> bool:
    """Whether the import that recorded ``stamp`` is in the index (committed)."""
    with contextlib.suppress(duckdb.Error):
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")  # in case the interrupt left the transaction open
        row = con.execute("SELECT imported_at FROM datasets WHERE dataset = ?",
                          [dataset]).fetchone()
        return row is not None and row[0] == stamp
    return False


def _committed_message(dataset: str) -> str:
    return (f"interrupted after the import of {dataset} was committed: the index holds the "
            "new import")


def _record(con: duckdb.DuckDBPyConnection, report: ImportReport) -> datetime:
    """Store the import's report; returns its ``imported_at``."""
    stamp = datetime.now(UTC).replace(tzinfo=None)
    con.execute("DELETE FROM datasets WHERE dataset = ?", [report.dataset])
    con.execute("DELETE FROM skipped_rows WHERE dataset = ?", [report.dataset])
    con.execute(
        "INSERT INTO datasets VALUES (?, ?, ?, ?, ?)",
        [report.dataset, str(report.source.resolve()), stamp,
         json.dumps(report.counts), json.dumps(report.warnings)])
    if report.skipped:
        con.executemany(
            "INSERT INTO skipped_rows VALUES (?, ?, ?, ?, ?)",
            [[report.dataset, s.file, s.reason, s.rows, s.first_line] for s in report.skipped])
    return stamp


#: Persistent table names of read-only connections (and cursors), looked up once each.
_READ_ONLY_TABLES: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, frozenset[str]] = (
    weakref.WeakKeyDictionary())


def records(con: duckdb.DuckDBPyConnection, sql: str,
            params: list[Any] | None = None) -> list[dict[str, Any]]:
    """The rows of ``sql`` as dicts by column name (small listings: runs, analyses)."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


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
