"""Frame sources: video frames equal the drawn JPEGs, seeks are frame-accurate, absences named."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceexplorer.media.frames import (
    ChildFrames,
    FolderFrames,
    Frame,
    Missing,
    VideoFrames,
)
from faceexplorer.samples.hrm import HRMSample, write_hrm


@pytest.fixture(scope="module")
def hrm(tmp_path_factory: pytest.TempPathFactory) -> HRMSample:
    root = tmp_path_factory.mktemp("hrm-media")
    return write_hrm(root, "small", np.random.default_rng(20240613), images=True)


def sequential_frames(video: Path) -> list[np.ndarray]:
    """Every frame of ``video`` decoded in order from the start, RGB: the reference."""
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def jpeg(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_video_frame_n_is_the_drawn_frame_n(hrm: HRMSample) -> None:
    child = hrm.child("S1")
    video = VideoFrames(child.video)
    assert video.fps == 25.0 and video.n_frames == child.video_frames
    labelled = [f for a, b in child.segments for f in range(a, b + 1)]
    distinct = 0
    for n in labelled:
        got = video.frame(n)
        assert isinstance(got, Frame) and got.origin == "video"
        assert got.rgb.dtype == np.uint8 and got.rgb.flags.c_contiguous
        drawn = jpeg(child.frames_dir / f"{n}_0.jpg").astype(np.int16)
        assert got.rgb.shape == drawn.shape
        shown = got.rgb.astype(np.int16)
        # JPEG q90 and mp4v both lose a little (mean abs diff ~3 of 255).
        assert np.abs(shown - drawn).mean() < 4.5, n
        after = child.frames_dir / f"{n + 1}_0.jpg"
        if not after.is_file():
            continue
        # Where the next drawn face differs (an AU changed), the video frame must be
        # frame n's face, not n+1's: the mean over the whole image hides a small change.
        following = jpeg(after).astype(np.int16)
        changed = np.abs(drawn - following).max(axis=2) > 40
        if changed.sum() >= 20:
            to_n = np.abs(shown - drawn)[changed].mean()
            to_next = np.abs(shown - following)[changed].mean()
            assert to_n < 10 and to_next > 3 * to_n, (n, to_n, to_next)
            distinct += 1
    assert distinct >= 5
    video.close()


def test_random_seeks_equal_sequential_decoding(hrm: HRMSample) -> None:
    child = hrm.child("S3")
    reference = sequential_frames(child.video)
    assert len(reference) == child.video_frames
    video = VideoFrames(child.video)
    rng = np.random.default_rng(5)
    for n in rng.integers(0, len(reference), 60).tolist() + [len(reference) - 1, 0, 1]:
        got = video.frame(n)
        assert isinstance(got, Frame)
        assert np.array_equal(got.rgb, reference[n]), n
    assert video.seeks > 0


def test_playback_reads_on_without_seeking(hrm: HRMSample) -> None:
    child = hrm.child("S1")
    reference = sequential_frames(child.video)
    video = VideoFrames(child.video)
    video.frame(100)
    seeks = video.seeks
    for n in range(101, 200):
        assert np.array_equal(video.frame(n).rgb, reference[n])
    # A short jump forward is grabbed, not sought.
    assert np.array_equal(video.frame(210).rgb, reference[210])
    assert video.seeks == seeks and video.grabs >= 10


class ImpreciseCapture:
    """A real capture whose seeks land ``error`` frames off, as FFmpeg may on some files."""

    def __init__(self, path: str, error: int, timestamps: bool = True) -> None:
        self.cap = cv2.VideoCapture(path)
        self.error = error
        self.timestamps = timestamps

    def isOpened(self) -> bool:  # noqa: N802 (cv2's name)
        return self.cap.isOpened()

    def set(self, prop: int, value: float) -> bool:
        if prop == cv2.CAP_PROP_POS_FRAMES and value > 0:
            value = max(0, value + self.error)
        return self.cap.set(prop, value)

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_POS_MSEC and not self.timestamps:
            return 0.0
        return self.cap.get(prop)

    def read(self):
        return self.cap.read()

    def grab(self) -> bool:
        return self.cap.grab()

    def release(self) -> None:
        self.cap.release()


@pytest.mark.parametrize("error", [-5, -1, 2, 7])
def test_seeks_that_land_off_target_are_corrected(hrm: HRMSample, error: int) -> None:
    child = hrm.child("S67")
    reference = sequential_frames(child.video)
    video = VideoFrames(child.video, capture_factory=lambda p: ImpreciseCapture(p, error))
    rng = np.random.default_rng(error + 10)
    for n in rng.integers(0, len(reference), 25).tolist() + [len(reference) - 1, 3]:
        got = video.frame(n)
        assert isinstance(got, Frame), got
        assert np.array_equal(got.rgb, reference[n]), (n, error)


def test_without_timestamps_the_container_counter_is_trusted(hrm: HRMSample) -> None:
    child = hrm.child("S67")
    reference = sequential_frames(child.video)
    video = VideoFrames(child.video,
                        capture_factory=lambda p: ImpreciseCapture(p, 0, timestamps=False))
    for n in (200, 40, 41, 300, 7):
        assert np.array_equal(video.frame(n).rgb, reference[n])


def test_frames_beyond_the_video_are_flagged(hrm: HRMSample) -> None:
    child = hrm.child("S4")
    assert child.video_frames == child.last_frame - 19
    video = VideoFrames(child.video)
    end = child.video_frames
    assert isinstance(video.frame(end - 1), Frame)
    beyond = video.frame(end + 3)
    assert isinstance(beyond, Missing) and beyond.reason == "beyond_video"
    assert f"frame {end + 3} is beyond the end of the video ({end} frames)" in beyond.message
    # The folder still has the labelled frames; the child source shows them and flags them.
    frames = ChildFrames("S4", child.frames_dir, child.video, child.video_frames)
    last = child.last_frame
    assert frames.beyond_video(last) and not frames.beyond_video(end - 1)
    assert isinstance(frames.frame(last), Frame)
    # Without the folder, the video's end is what the user is told.
    video_only = ChildFrames("S4", None, child.video, child.video_frames)
    miss = video_only.frame(last)
    assert isinstance(miss, Missing) and miss.reason == "beyond_video"
    assert f"({end} frames)" in miss.message


def test_frames_folder_first_then_video_for_gaps(hrm: HRMSample) -> None:
    child = hrm.child("S1")
    frames = ChildFrames("S1", child.frames_dir, child.video, child.video_frames)
    (a, b), (c, _) = child.segments[0], child.segments[1]
    assert frames.frame(a).origin == "frames"
    gap = b + 1
    assert gap < c and frames.frame(gap).origin == "video"
    assert ChildFrames("S1", child.frames_dir, child.video, prefer="video").frame(a).origin \
        == "video"
    assert frames.fps == 25.0


def test_absent_media_is_named(hrm: HRMSample, tmp_path: Path) -> None:
    child = hrm.child("S1")
    folder = FolderFrames(child.frames_dir)
    gap = child.segments[0][1] + 1
    miss = folder.frame(gap)
    assert isinstance(miss, Missing) and miss.reason == "no_file"
    assert str(child.frames_dir / f"{gap}_0.jpg") in miss.message

    gone = FolderFrames(tmp_path / "origin" / "S1")
    assert f"frames folder not found: {tmp_path / 'origin' / 'S1'}" in gone.frame(5).message
    no_video = VideoFrames(tmp_path / "S1.mp4")
    assert no_video.frame(5) == Missing(5, "no_video", f"video not found: {tmp_path / 'S1.mp4'}",
                                        tmp_path / "S1.mp4")
    both = ChildFrames("S1", tmp_path / "origin" / "S1", tmp_path / "S1.mp4")
    msg = both.frame(5).message
    assert "frames folder not found" in msg and "video not found" in msg
    nothing = ChildFrames("S68").frame(12)
    assert nothing.reason == "no_media" and "S68 has no frames folder" in nothing.message


def test_unreadable_jpeg_and_non_ascii_paths(hrm: HRMSample, tmp_path: Path) -> None:
    child = hrm.child("S2")
    n = child.segments[0][0]
    folder = tmp_path / "Kinder_ü_儿童" / "S2"
    folder.mkdir(parents=True)
    shutil.copy(child.frames_dir / f"{n}_0.jpg", folder / f"{n}_0.jpg")
    (folder / f"{n + 1}_0.jpg").write_bytes(b"not a jpeg")
    source = FolderFrames(folder)
    got = source.frame(n)
    assert isinstance(got, Frame) and np.array_equal(got.rgb,
                                                     jpeg(child.frames_dir / f"{n}_0.jpg"))
    bad = source.frame(n + 1)
    assert bad.reason == "unreadable" and "not a readable image" in bad.message
