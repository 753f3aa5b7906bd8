"""A model that fails during a run: the run is marked failed with the whole reason.

The first model batch raises the error a fixed-batch model gives when onnxruntime
refuses its input (long, its useful part at the end). The run must end 'failed', store
that message whole, count only the rows it wrote, and print no traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from faceexplorer.inference.session import ModelLoadError, ModelSession
from tests.faults.test_signals import _run_state

LONG = ("tiny.onnx: onnxruntime failed to run the model on a batch of shape [16, 3, 32, 32] "
        "(the model's input 'input' has shape [4, 3, 32, 32]): "
        + "context " * 80 + "index: 0 Got: 16 Expected: 4")


def test_model_failure_marks_the_run_failed(run_setup: tuple[Path, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, cli) -> None:
    base, model = run_setup
    db = Path(shutil.copy(base, tmp_path / "index.duckdb"))

    def refuse(self: ModelSession, batch):
        raise ModelLoadError(LONG)

    monkeypatch.setattr(ModelSession, "run", refuse)
    status, err = cli("run", model, "--dataset", "affectnet", "--db", db)
    assert status == 1 and "Traceback" not in err
    failed = [line for line in err.splitlines() if line.startswith("run failed")]
    assert len(failed) == 1 and "Got: 16 Expected: 4" in failed[0]
    run_status, done, n, distinct = _run_state(db)
    assert run_status == "failed" and done == n == distinct
    import duckdb
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT message FROM model_runs").fetchone()[0] == LONG


def test_refused_chunk_fails_the_run_and_ends_its_threads(
        run_setup: tuple[Path, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import threading

    from faceexplorer.index import predictions
    from faceexplorer.inference.batch import run_batch

    base, model = run_setup
    db = Path(shutil.copy(base, tmp_path / "index.duckdb"))

    def full(con, run_id, rows):
        raise OSError(errno.ENOSPC, "No space left on device", str(db) + ".wal")

    monkeypatch.setattr(predictions, "write_chunk", full)
    result = run_batch(db, model, "affectnet", chunk=8)
    assert result.status == "failed" and "disk full" in result.message
    assert result.items_written == 0
    assert _run_state(db)[:2] == ("failed", 0)
    alive = [t.name for t in threading.enumerate() if t.name.startswith("batch-")]
    assert not alive, f"threads left running: {alive}"
