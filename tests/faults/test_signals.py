"""kill -9 and Ctrl-C (SIGINT) at several moments of an import and of a model run.

A child ``python`` runs the real command line with one function wrapped to print the
moment it reached and wait there (a Python sleep, or for ``in_query`` a long DuckDB query,
which DuckDB itself interrupts on SIGINT); the parent sends the signal once the moment is
printed. Moments of an import: ``loaded`` (rows inserted, not committed), ``in_query``
(inside a DuckDB statement of the transaction; DuckDB interrupts the query on SIGINT
only in some states, else the KeyboardInterrupt comes when it ends), ``committed``
(after COMMIT, before the import returns). Of a run: ``first_item`` (run registered,
nothing written) and ``after_chunk`` (one chunk committed).

Expected: before the commit, the index is exactly as it was (SIGINT: exit 130 and
"interrupted; the index is as it was"); after it, the index holds the new import (SIGINT
says so). A run keeps what it committed, its counter equals its stored rows, and running
it again completes it with every item exactly once.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from faceexplorer.datasets.registry import import_path
from tests.faults.conftest import PY, Tiny, check_message, child_env, content

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

IMPORT_CHILD = r"""
import sys, time
from contextlib import contextmanager
import faceexplorer.index.store as store
from faceexplorer.cli import main

moment = sys.argv[1]
record, transaction = store._record, store.transaction

def here():
    print("at " + moment, flush=True)

def _record(con, report):
    if moment == "loaded":
        here(); time.sleep(120)
    elif moment == "in_query":
        here()
        # ~1-3 s: DuckDB interrupts it on SIGINT ("Query interrupted") when its handler is
        # installed, else Python raises KeyboardInterrupt as soon as it ends.
        con.execute("SELECT count(*) FROM range(100000000) t(x) WHERE x % 7 = 3").fetchall()
    return record(con, report)

@contextmanager
def _transaction(con):
    with transaction(con) as c:
        yield c
    if moment == "committed":
        here(); time.sleep(120)

store._record, store.transaction = _record, _transaction
sys.exit(main(sys.argv[2:]))
"""

RUN_CHILD = r"""
import sys, time
import faceexplorer.inference.batch as batch
import faceexplorer.index.predictions as predictions
from faceexplorer.cli import main

moment = sys.argv[1]
batch.run_batch.__kwdefaults__["chunk"] = 8
state = {"chunks": 0, "paused": False}
write_chunk, row = predictions.write_chunk, batch._row

def _write_chunk(con, run_id, rows):
    write_chunk(con, run_id, rows)
    state["chunks"] += 1

def _row(*args, **kwargs):
    if not state["paused"] and (moment == "first_item" or state["chunks"] >= 1):
        state["paused"] = True
        print("at " + moment, flush=True)
        time.sleep(120)
    return row(*args, **kwargs)

predictions.write_chunk, batch._row = _write_chunk, _row
sys.exit(main(sys.argv[2:]))
"""


def _signal_at(child: str, moment: str, sig: int, args: list[str]) -> tuple[int, str]:
    proc = subprocess.Popen([PY, "-c", child, moment, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env())
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == f"at {moment}", proc.communicate(timeout=60)[1]
        if moment == "in_query":
            import time
            time.sleep(0.3)  # into the query
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


def _new_version(tiny: Tiny, tmp_path: Path) -> Path:
    """The tiny AffectNet with five validation rows fewer: a visibly different import."""
    folder = Path(shutil.copytree(tiny.folder("affectnet"), tmp_path / "AffectNet"))
    val = folder / "Manually_Annotated" / "validation.csv"
    val.write_bytes(b"".join(val.read_bytes().splitlines(keepends=True)[:-5]))
    return folder


def _without_stamp(c: dict) -> dict:
    """Content with the row counts only of the tables that hold a time of import."""
    return {k: (v[0] if k in ("datasets", "faces_browse_info") else v) for k, v in c.items()}


# (kill -9 does not care which statement runs: 'loaded' covers 'in_query' for it)
@pytest.mark.parametrize(("moment", "sig"), [
    ("loaded", signal.SIGKILL), ("committed", signal.SIGKILL), ("loaded", signal.SIGINT),
    ("in_query", signal.SIGINT), ("committed", signal.SIGINT)],
    ids=["kill9-loaded", "kill9-committed", "sigint-loaded", "sigint-in_query",
         "sigint-committed"])
def test_import_signal(moment: str, sig: int, tiny: Tiny, tmp_path: Path) -> None:
    db = tiny.index("affectnet", tmp_path / "index.duckdb")
    new = _new_version(tiny, tmp_path)
    before = content(db)
    expected_new = tmp_path / "expected.duckdb"
    shutil.copy(db, expected_new)
    import_path(expected_new, new, "affectnet")
    status, err = _signal_at(IMPORT_CHILD, moment, sig,
                             ["index", "add", "affectnet", new, "--db", db])
    after = content(db)
    if sig == signal.SIGKILL:
        assert status == -signal.SIGKILL
    else:
        line = check_message(err, 130)
        assert status == 130
    if moment == "committed":
        assert _without_stamp(after) == _without_stamp(content(expected_new))
        if sig == signal.SIGINT:
            assert "the index holds the new import" in line
    else:
        assert after == before
        if sig == signal.SIGINT:
            assert line == "faceexplorer: interrupted; the index is as it was"
    # The index still opens for writing and takes the import.
    import_path(db, new, "affectnet")


# --- model runs --------------------------------------------------------------------------

def done_total(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute("SELECT items_total FROM model_runs").fetchone()[0])
    finally:
        con.close()


def _run_state(db: Path) -> tuple[str, int, int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        status, done = con.execute("SELECT status, items_done FROM model_runs").fetchone()
        n, distinct = con.execute("SELECT count(*), count(DISTINCT item) FROM predictions"
                                  ).fetchone()
        return status, int(done), int(n), int(distinct)
    finally:
        con.close()


@pytest.mark.parametrize(("moment", "sig"), [
    ("first_item", signal.SIGKILL), ("after_chunk", signal.SIGKILL),
    ("after_chunk", signal.SIGINT)], ids=["kill9-first_item", "kill9-after_chunk",
                                          "sigint-after_chunk"])
def test_run_signal(moment: str, sig: int, run_setup: tuple[Path, Path],
                    tmp_path: Path) -> None:
    from faceexplorer.inference.batch import run_batch

    base, model = run_setup
    db = Path(shutil.copy(base, tmp_path / "index.duckdb"))
    status, err = _signal_at(RUN_CHILD, moment, sig,
                             ["run", model, "--dataset", "affectnet", "--db", db])
    assert "Traceback" not in err, err
    run_status, done, n, distinct = _run_state(db)
    assert done == n == distinct  # the counter is the rows stored, none twice
    # whole chunks only (the writer may commit one more while the child waits)
    assert n == 0 if moment == "first_item" else (n > 0 and n % 8 == 0)
    if sig == signal.SIGKILL:
        assert status == -signal.SIGKILL and run_status == "running"
    else:
        assert status == 130 and run_status == "stopped", err
        assert "run stopped: interrupted (Ctrl-C)" in err
        assert f"\n{n}/{done_total(db)} items stored" in err  # the last progress line
    result = run_batch(db, model, "affectnet")
    run_status, done, n, distinct = _run_state(db)
    assert result.status == "finished" and run_status == "finished"
    assert done == n == distinct == result.items_total
