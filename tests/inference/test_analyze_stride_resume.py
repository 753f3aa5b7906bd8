"""A run with a stride resumed after a stop finishes the same table (regression: the
resumed parts were named from the next analysed frame, leaving a gap in the part names
that ended the contiguous parts there, so the output silently lost every later frame)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from faceexplorer.inference import analyze as analyze_mod
from faceexplorer.inference.analyze import run_analysis
from faceexplorer.inference.analyze_input import FrameRange
from tests.inference.videos import face_video


def test_resumed_with_a_stride_gives_the_whole_table(models: dict[str, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze_mod, "PART_FRAMES", 4)
    video = face_video(tmp_path / "face.avi", n=30, faceless_at=(4, 5, 17))
    stride = FrameRange(stride=2)
    run_analysis(models["va"], [video], tmp_path / "whole.csv", frames=stride, db_path=None)
    calls = iter(range(100))
    out = tmp_path / "resumed.csv"
    first = run_analysis(models["va"], [video], out, frames=stride, db_path=None,
                         should_stop=lambda: next(calls) >= 5)
    assert first.status == "stopped" and first.inputs[0].frames == 4
    second = run_analysis(models["va"], [video], out, frames=stride, db_path=None)
    assert second.status == "finished" and second.inputs[0].frames == 15
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(tmp_path / "whole.csv"))
