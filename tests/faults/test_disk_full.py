"""A full disk during an import (its commit, its checkpoint) and during a model run.

The child ``python`` gets a file size limit (``RLIMIT_FSIZE``, with SIGXFSZ ignored so
writes fail with EFBIG as they would with ENOSPC on a full disk; no root or small file
system needed). With 32 KB the import's WAL cannot be written: the commit fails and the
index must be the old one. With 128 KB the WAL fits but the index file cannot take the
checkpoint: the import is committed and must say so (a warning, exit 0), and later
commands must work with the new import. A model run whose chunk cannot be written must
end 'failed' with the reason in one line, stored with the run.
"""

from __future__ import annotations

import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from faceexplorer.datasets.registry import import_path
from tests.faults.conftest import PY, Tiny, check_message, child_env, content
from tests.faults.test_signals import _new_version, _run_state, _without_stamp

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")


def _limited(limit: int):
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def _cli(args: list, limit: int | None = None, child: list[str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, *(child or ["-m", "faceexplorer"]), *map(str, args)],
                          capture_output=True, text=True, env=child_env(), timeout=120,
                          preexec_fn=_limited(limit) if limit else None)


def test_disk_full_at_commit_keeps_old_index(tiny: Tiny, tmp_path: Path, cli) -> None:
    db = tiny.index("affectnet", tmp_path / "index.duckdb")
    new = _new_version(tiny, tmp_path)
    before = content(db)
    result = _cli(["index", "add", "affectnet", new, "--db", db], limit=32 * 1024)
    line = check_message(result.stderr, 1)
    assert result.returncode == 1
    assert "disk full" in line and "the index is the one from before this import" in line
    assert content(db) == before
    status, err = cli("index", "add", "affectnet", new, "--db", db)
    assert status == 0, err


def test_disk_full_at_checkpoint_keeps_the_committed_import(tiny: Tiny, tmp_path: Path,
                                                            cli) -> None:
    db = tiny.index("affectnet", tmp_path / "index.duckdb")
    new = _new_version(tiny, tmp_path)
    expected = Path(shutil.copy(db, tmp_path / "expected.duckdb"))
    import_path(expected, new, "affectnet")
    result = _cli(["index", "add", "affectnet", new, "--db", db], limit=128 * 1024)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "committed, but the index file was not compacted (disk full)" in result.stderr
    assert _without_stamp(content(db)) == _without_stamp(content(expected))
    status, err = cli("index", "info", "--db", db)
    assert status == 0 and "invalidated" not in err, err
    status, err = cli("index", "add", "hrm", tiny.folder("hrm"), "--db", db)
    assert status == 0, err
    assert _without_stamp(content(db))["affectnet_images"] == (
        _without_stamp(content(expected))["affectnet_images"])


RUN_CHILD = r"""
import resource, signal, sys
import faceexplorer.index.predictions as predictions
from faceexplorer.cli import main

start_run = predictions.start_run

def _start_run(*args, **kwargs):
    out = start_run(*args, **kwargs)
    # From here on no file may grow past 4 KB: the run's first chunk cannot be written.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    return out

predictions.start_run = _start_run
sys.exit(main(sys.argv[1:]))
"""


def test_run_on_a_full_disk_is_marked_failed(run_setup: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    from faceexplorer.inference.batch import run_batch

    base, model = run_setup
    db = Path(shutil.copy(base, tmp_path / "index.duckdb"))
    result = _cli(["run", model, "--dataset", "affectnet", "--db", db],
                  child=["-c", RUN_CHILD])
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("run failed")]
    assert len(failed) == 1 and "disk full" in failed[0], result.stderr
    status, done, n, distinct = _run_state(db)
    assert status == "failed" and done == n == distinct
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert "disk full" in con.execute("SELECT message FROM model_runs").fetchone()[0]
    finally:
        con.close()
    assert run_batch(db, model, "affectnet").status == "finished"
