"""An import is all or nothing, even when its process is killed in the middle.

The child process really imports (``run_import`` with a loader that inserts rows and then
waits); the parent kills it with SIGKILL once the rows are written but not committed,
and checks that the index reopens with exactly its previous content.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from faceexplorer.index.report import ImportReport
from faceexplorer.index.store import connect, run_import


def _load_numbers(n: int):
    def load(con, path: Path, report: ImportReport) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS numbers (dataset VARCHAR, x BIGINT)")
        con.execute("DELETE FROM numbers WHERE dataset = ?", [report.dataset])
        con.execute("INSERT INTO numbers SELECT ?, range FROM range(?)", [report.dataset, n])
        report.counts["rows"] = n
    return load


def _content(db: Path) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        rows = con.execute("SELECT dataset, count(*), sum(x) FROM numbers "
                           "GROUP BY ALL ORDER BY ALL").fetchall()
        rows += con.execute("SELECT dataset, counts FROM datasets ORDER BY ALL").fetchall()
        return rows
    finally:
        con.close()


def test_failed_load_rolls_back(tmp_path: Path) -> None:
    db = tmp_path / "index.duckdb"
    run_import(db, "first", tmp_path, _load_numbers(1000))
    before = _content(db)

    def broken(con, path, report):
        _load_numbers(5)(con, path, report)  # replaces 'first' rows inside the transaction
        con.execute("DELETE FROM numbers")
        raise RuntimeError("bad file")

    with pytest.raises(RuntimeError):
        run_import(db, "first", tmp_path, broken)
    assert _content(db) == before


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from faceexplorer.index.store import run_import

    def load(con, path, report):
        con.execute("CREATE TABLE IF NOT EXISTS numbers (dataset VARCHAR, x BIGINT)")
        con.execute("DELETE FROM numbers")
        con.execute("INSERT INTO numbers SELECT 'second', range FROM range(3000000)")
        print("loaded", flush=True)
        time.sleep(60)

    run_import(Path(sys.argv[1]), "second", Path(sys.argv[1]).parent, load)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_import_leaves_previous_index(tmp_path: Path) -> None:
    db = tmp_path / "index.duckdb"
    run_import(db, "first", tmp_path, _load_numbers(1000))
    before = _content(db)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE,
                             text=True, env={**os.environ})
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "loaded"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert _content(db) == before
    # and the index still takes a new import afterwards
    run_import(db, "third", tmp_path, _load_numbers(10))
    assert ("third", 10, 45) in _content(db)


def test_csv_line_numbers_hold_inside_the_import_transaction(tmp_path: Path) -> None:
    """New tables number rows from a large offset inside a transaction: lines must not."""
    from faceexplorer.core.errors import DatasetFormatError
    from faceexplorer.datasets import csvio

    csv_file = tmp_path / "t.csv"
    csv_file.write_text("a,b\n1,2\n3,4\n5,99\n")
    seen: dict[str, object] = {}

    def load(con, path, report):
        csvio.load_csv(con, csv_file, "raw", {"a": "INTEGER", "b": "INTEGER"})
        seen["count"] = csvio.count_each(con, "raw", ["b > 3"])[0]
        csvio.first_violation(con, csv_file, "raw", [("b > 50", "b is {b}")])

    with pytest.raises(DatasetFormatError) as err:
        run_import(tmp_path / "i.duckdb", "x", tmp_path, load)
    assert err.value.line == 4 and "b is 99" in str(err.value)
    assert seen["count"] == (2, 3)
