"""The same analysis locally and on a local Ray instance (issue 17), compared row for row.

Ray is in the test extra, so this runs in CI; one Ray instance (2 CPUs, no dashboard, no
worker logs) serves the whole module. The engine reuses an instance this process already
started, so the tests pay Ray's start once.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import duckdb
import pandas as pd
import pytest

from faceexplorer.cli import main
from faceexplorer.inference import analyze as analyze_mod
from faceexplorer.inference.analyze import run_analysis
from faceexplorer.inference.analyze_input import FrameRange
from faceexplorer.inference.analyze_table import parts_root
from faceexplorer.inference.cluster import RayEngine
from tests.inference.videos import (
    astronaut_bgr,
    blank_frame,
    face_frame,
    face_video,
    faces_frame,
    write_video,
)

ray = pytest.importorskip("ray", reason="Ray is the optional cluster extra")


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    import logging
    import os

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no report sent from CI
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    yield
    ray.shutdown()


@pytest.fixture()
def inputs(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "1_left.png"), faces_frame(left=True, right=False))
    cv2.imwrite(str(folder / "2_both.png"), faces_frame())
    cv2.imwrite(str(folder / "3_astronaut.jpg"), astronaut_bgr())
    cv2.imwrite(str(folder / "4_blank.png"), blank_frame())
    return [face_video(tmp_path / "face.avi", n=40, faceless_at=(4, 5, 17, 33)), folder,
            face_video(tmp_path / "short.avi", n=9)]


def _table(path: Path) -> pd.DataFrame:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}')").df()


def test_ray_gives_the_local_table_row_for_row(models: dict[str, Path], inputs: list[Path],
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze_mod, "PART_FRAMES", 4)  # several blocks, cut into chunks
    db = tmp_path / "index.duckdb"
    frames = FrameRange(1, None, 2)
    local = run_analysis(models["au22"], inputs, tmp_path / "local.parquet", frames=frames,
                         db_path=db)
    engine = RayEngine(workers=2)
    on_ray = run_analysis(models["au22"], inputs, tmp_path / "ray.parquet", frames=frames,
                          db_path=db, engine=engine)
    assert on_ray.status == "finished" and not parts_root(tmp_path / "ray.parquet").exists()
    assert len(engine.stats.workers) == 2 and len(set(engine.stats.workers)) == 2
    assert engine.stats.chunks > len(inputs)
    a, b = _table(tmp_path / "local.parquet"), _table(tmp_path / "ray.parquet")
    assert len(a) == local.rows == on_ray.rows
    pd.testing.assert_frame_equal(b, a)
    for x, y in zip(local.inputs, on_ray.inputs, strict=True):
        assert (x.frames, x.frames_with_face, x.end_reason, x.frames_in_source) == (
            y.frames, y.frames_with_face, y.end_reason, y.frames_in_source)
    assert on_ray.clock.cpu["infer"] > 0  # the workers' stage clocks came back
    con = duckdb.connect(str(db), read_only=True)
    stored = con.execute("SELECT settings->'engine'->>'name', settings->'engine'->>'workers', "
                         "rows FROM analyses").fetchall()
    con.close()
    assert stored == [("ray", "2", local.rows)]  # the same analysis, replaced


def test_cli_engine_ray_progress_and_summary(models: dict[str, Path], inputs: list[Path],
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.csv"
    code = main(["analyze", str(models["va"]), *map(str, inputs), "--out", str(out),
                 "--no-index", "--engine", "ray", "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 0, err
    for name, n in (("face.avi", 40), ("photos", 4), ("short.avi", 9)):
        assert f"{name}: finished ({n} frames)" in err
    assert "face.avi: face found in 36 of 40 frames" in err
    assert "53 rows written" not in err and "rows written to" in err
    assert "ray " in err and "2 workers" in err and "per chunk" in err
    local = tmp_path / "local.csv"
    assert main(["analyze", str(models["va"]), *map(str, inputs), "--out", str(local),
                 "--no-index"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(local))


def test_a_killed_worker_is_replaced_and_its_chunk_finished(
        models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal
    import threading
    import time

    monkeypatch.setattr(analyze_mod, "PART_FRAMES", 4)
    video = write_video(tmp_path / "long.avi", [
        blank_frame(i) if i in (20, 21) else face_frame(2 * (i % 60)) for i in range(80)])
    run_analysis(models["va"], [video], tmp_path / "local.parquet", db_path=None)
    out = tmp_path / "ray.parquet"
    killed: list[str] = []

    def kill_one_worker_mid_chunk() -> None:
        # once the first parts are on disk, SIGKILL the first worker's process
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if engine.stats.workers and any(parts_root(out).glob("*/*.parquet")):
                name = engine.stats.workers[0]
                os.kill(int(name.rsplit(":", 1)[1]), signal.SIGKILL)
                killed.append(name)
                return
            time.sleep(0.05)

    engine = RayEngine(workers=2)
    killer = threading.Thread(target=kill_one_worker_mid_chunk)
    killer.start()
    result = run_analysis(models["va"], [video], out, db_path=None, engine=engine)
    killer.join()
    assert killed and result.status == "finished"
    # the killed worker's chunk was finished by its restarted process (another pid)
    assert set(engine.stats.served_by) - set(engine.stats.workers)
    assert killed[0] not in engine.stats.served_by
    pd.testing.assert_frame_equal(_table(out), _table(tmp_path / "local.parquet"))
