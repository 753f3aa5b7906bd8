"""The cluster engine without Ray (issue 17): the plan of chunks, and the engine's driver
with its workers called in this process (``pool="inline"``), against the local engine."""

from __future__ import annotations

from pathlib import Path

import cv2
import duckdb
import pandas as pd
import pytest

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference import analyze as analyze_mod
from faceexplorer.inference import cluster
from faceexplorer.inference.analyze import run_analysis
from faceexplorer.inference.analyze_input import FrameRange
from faceexplorer.inference.analyze_table import parts_root
from faceexplorer.inference.cluster import RayEngine
from faceexplorer.inference.cluster_plan import (
    Blocks,
    Chunk,
    InputEnd,
    balance,
    missing_chunks,
)
from tests.inference.videos import (
    astronaut_bgr,
    blank_frame,
    face_video,
    faces_frame,
    overstate_frame_count,
)


def test_part_names_map_back_to_their_blocks() -> None:
    for rng in (FrameRange(), FrameRange(3, 90, 2), FrameRange(5, None, 3)):
        b = Blocks(rng, 4)
        assert b.block_of_part(b.part_start(0)) == 0
        for k in range(1, 8):
            start = b.part_start(k)
            assert b.block_of_part(start) == k
            # block k-1 ends (its last frame + 1) where block k's name starts
            assert start == b.start_frame(k) - rng.stride + 1
            assert b.block_of_frame(b.start_frame(k)) == k
        assert b.block_of_part(b.part_start(2) + 1) is None
    assert Blocks(FrameRange(0, 10, 2), 4).frame_range(1, None) == FrameRange(8, 10, 2)
    assert Blocks(FrameRange(0, 10, 2), 4).frame_range(2, 3) == FrameRange(10, 10, 2)
    assert Blocks(FrameRange(), 4).estimate(30) == 8 and Blocks(FrameRange(), 4).estimate(None) == 0


def test_missing_chunks_and_balance() -> None:
    # End unknown: runs of missing blocks, the last one open to find the end.
    assert missing_chunks(0, {1, 2}, None, 6) == [Chunk(0, 0, 1, 1), Chunk(0, 3, None, 3)]
    assert missing_chunks(0, {0, 1, 2, 3}, None, 3) == [Chunk(0, 4, None, 1)]
    # End known: only the missing blocks, nothing open.
    end = InputEnd(5, "end of video (20 frames)", 20)
    assert missing_chunks(0, {0, 2, 4}, end, 9) == [Chunk(0, 1, 2, 1), Chunk(0, 3, 4, 1)]
    assert missing_chunks(0, set(range(5)), end, 5) == []
    # One long input on two workers is cut on a block boundary; three on two workers are
    # halved; two on two, or many short ones, are not cut.
    assert balance([Chunk(0, 0, None, 8)], 2) == [Chunk(0, 0, 4, 4), Chunk(0, 4, None, 4)]
    three = balance([Chunk(i, 0, None, 4) for i in range(3)], 2)
    assert sorted(c.weight for c in three) == [2, 2, 4, 4]
    two = [Chunk(i, 0, None, 2) for i in range(2)]
    assert balance(two, 2) == two
    many = [Chunk(i, 0, None, 3) for i in range(10)]
    assert balance(many, 2) == many
    assert balance([Chunk(0, 0, None, 1)], 4) == [Chunk(0, 0, None, 1)]


@pytest.fixture()
def inputs(tmp_path: Path) -> list[Path]:
    video = face_video(tmp_path / "face.avi", n=30, faceless_at=(4, 5, 17))
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "1_left.png"), faces_frame(left=True, right=False))
    cv2.imwrite(str(folder / "2_both.png"), faces_frame())
    cv2.imwrite(str(folder / "3_astronaut.jpg"), astronaut_bgr())
    cv2.imwrite(str(folder / "4_blank.png"), blank_frame())
    (folder / "5_broken.jpg").write_bytes(b"not a jpeg")
    short = overstate_frame_count(face_video(tmp_path / "short.avi", n=10), 13)
    return [video, folder, short]


def _table(path: Path) -> pd.DataFrame:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}')").df()


@pytest.mark.parametrize("frames", [FrameRange(), FrameRange(2, 27, 2)])
def test_chunks_give_the_local_table(models: dict[str, Path], inputs: list[Path],
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     frames: FrameRange) -> None:
    monkeypatch.setattr(analyze_mod, "PART_FRAMES", 2)
    local = run_analysis(models["va"], inputs, tmp_path / "local.parquet", frames=frames,
                         db_path=None)
    engine = RayEngine(workers=3, pool="inline")
    chunked = run_analysis(models["va"], inputs, tmp_path / "chunks.parquet", frames=frames,
                           db_path=None, engine=engine)
    assert engine.stats.chunks > len(inputs)  # the long video was cut
    pd.testing.assert_frame_equal(_table(tmp_path / "chunks.parquet"),
                                  _table(tmp_path / "local.parquet"))
    for a, b in zip(local.inputs, chunked.inputs, strict=True):
        assert (a.frames, a.frames_with_face, a.end_reason, a.frames_in_source) == (
            b.frames, b.frames_with_face, b.end_reason, b.frames_in_source)
    assert chunked.engine["name"] == "inline" and chunked.engine["chunks"] > 3


def test_a_stopped_run_resumes_with_the_missing_blocks_only(
        models: dict[str, Path], inputs: list[Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze_mod, "PART_FRAMES", 2)
    run_analysis(models["va"], inputs, tmp_path / "local.parquet", db_path=None)
    out = tmp_path / "o.parquet"
    polls = iter(range(100))
    first = run_analysis(models["va"], inputs, out, db_path=None,
                         engine=RayEngine(workers=4, pool="inline"),
                         should_stop=lambda: next(polls) >= 1)
    assert first.status == "stopped" and not out.exists() and parts_root(out).is_dir()
    did = first.frames_this_run
    assert 0 < did < 45
    engine = RayEngine(workers=4, pool="inline")
    second = run_analysis(models["va"], inputs, out, db_path=None, engine=engine)
    assert second.status == "finished"
    assert second.frames_this_run == 45 - did  # nothing done twice
    pd.testing.assert_frame_equal(_table(out), _table(tmp_path / "local.parquet"))


def test_either_engine_finishes_what_the_other_began(
        models: dict[str, Path], inputs: list[Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze_mod, "PART_FRAMES", 2)
    run_analysis(models["va"], inputs, tmp_path / "local.parquet", db_path=None)
    out = tmp_path / "o.parquet"
    polls = iter(range(100))
    run_analysis(models["va"], inputs, out, db_path=None,
                 engine=RayEngine(workers=2, pool="inline"),
                 should_stop=lambda: next(polls) >= 1)
    again = run_analysis(models["va"], inputs, out, db_path=None)
    assert again.status == "finished"
    pd.testing.assert_frame_equal(_table(out), _table(tmp_path / "local.parquet"))
    # and the other way round: chunks finish what a stopped local run began
    out2 = tmp_path / "o2.parquet"
    calls = iter(range(1000))
    local = run_analysis(models["va"], inputs, out2, db_path=None,
                         should_stop=lambda: next(calls) >= 7)
    assert local.status == "stopped"
    rest = run_analysis(models["va"], inputs, out2, db_path=None,
                        engine=RayEngine(workers=2, pool="inline"))
    assert rest.status == "finished" and rest.frames_this_run == 45 - local.inputs[0].frames
    assert local.inputs[0].frames > 0  # nothing done twice
    pd.testing.assert_frame_equal(_table(out2), _table(tmp_path / "local.parquet"))


def test_stored_with_the_engine(models: dict[str, Path], inputs: list[Path],
                                tmp_path: Path) -> None:
    db = tmp_path / "index.duckdb"
    local = run_analysis(models["va"], inputs, tmp_path / "a.parquet", db_path=db)
    chunked = run_analysis(models["va"], inputs, tmp_path / "b.parquet", db_path=db,
                           engine=RayEngine(workers=2, pool="inline"))
    assert chunked.analysis_id == local.analysis_id  # the same analysis, stored once
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT settings->'engine'->>'name', settings->'engine'->>'workers', "
                       "rows FROM analyses").fetchall()
    con.close()
    assert rows == [("inline", "2", chunked.rows)]


def test_without_ray_the_message_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ray(name: str):
        raise ImportError(name)

    monkeypatch.setattr(cluster.importlib, "import_module", no_ray)
    with pytest.raises(FaceExplorerError, match=r"pip install 'faceexplorer\[cluster\]'"):
        cluster.import_ray()


def test_the_app_never_imports_ray() -> None:
    import subprocess
    import sys

    code = ("import sys, faceexplorer.cli, faceexplorer.inference.cluster, "
            "faceexplorer.inference.analyze_cli; sys.exit('ray' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_an_address_where_nothing_listens_is_refused_at_once() -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FaceExplorerError, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
        cluster.check_reachable(f"127.0.0.1:{port}")
    cluster.check_reachable("auto")  # left to Ray
