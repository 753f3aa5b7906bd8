"""Videos whose header announces more frames than they decode (issue 13, item 6)."""

from __future__ import annotations

from pathlib import Path

import cv2

from faceexplorer.inference.sources import VideoFileSource
from faceexplorer.media.frames import Frame, Missing, VideoFrames
from tests.inference.videos import blank_frame, overstate_frame_count, write_video


def _video(tmp_path: Path, n: int, announced: int | None = None) -> Path:
    path = write_video(tmp_path / "clip.avi", [blank_frame(i) for i in range(n)])
    return overstate_frame_count(path, announced) if announced else path


def test_the_test_video_really_overstates(tmp_path: Path) -> None:
    cap = cv2.VideoCapture(str(_video(tmp_path, 30, 34)))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 34
    cap.release()


def test_overstated_header_ends_normally_with_the_real_count(tmp_path: Path) -> None:
    src = VideoFileSource(_video(tmp_path, 30, 34))
    assert len(list(src)) == 30
    assert src.end_reason == "end of video (30 frames; its header announced 34)"
    assert src.decoded_count == 30


def test_truncated_video_is_still_called_truncated(tmp_path: Path) -> None:
    full = _video(tmp_path, 40)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    src = VideoFileSource(cut)
    n = len(list(src))
    assert 0 < n < 30
    assert "truncated or corrupt" in (src.end_reason or "")


def test_range_and_stride_keep_the_video_numbering(tmp_path: Path) -> None:
    src = VideoFileSource(_video(tmp_path, 30), start=3, stop=20, stride=4)
    frames = list(src)
    assert [f.index for f in frames] == [3, 7, 11, 15, 19]
    assert frames[1].timestamp_s == 7 / 25.0
    src = VideoFileSource(_video(tmp_path, 30), start=25, stride=2)
    assert [f.index for f in src] == [25, 27, 29]
    assert src.end_reason == "end of video (30 frames)"


def test_random_access_learns_the_real_end(tmp_path: Path) -> None:
    video = VideoFrames(_video(tmp_path, 30, 34))
    assert video.n_frames == 34
    assert isinstance(video.frame(29), Frame)
    past = video.frame(30)
    assert isinstance(past, Missing) and past.reason == "beyond_video"
    assert "(30 frames; its header announced 34)" in past.message
    assert video.n_frames == 30
    assert isinstance(video.frame(5), Frame)  # reopened afresh
    video.close()
