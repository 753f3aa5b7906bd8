"""Frame sources: video files, a video standing in for the camera, no camera, bad files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceexplorer.inference.sources import (
    CameraSource,
    CameraUnavailable,
    ImageFolderSource,
    SourceError,
    VideoFileSource,
    open_source,
)

N_FRAMES = 20


def write_video(path: Path, n: int = N_FRAMES, fps: float = 10.0) -> Path:
    """An MJPEG AVI whose frame i is filled with grey level 10 * i (easy to check)."""
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    assert out.isOpened()
    for i in range(n):
        out.write(np.full((48, 64, 3), (10 * i) % 250, np.uint8))
    out.release()
    return path


@pytest.fixture()
def video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.avi")


def test_video_file_reads_every_frame_in_order(video: Path) -> None:
    src = VideoFileSource(video)
    frames = list(src)
    assert [f.index for f in frames] == list(range(N_FRAMES))
    assert [f.timestamp_s for f in frames[:3]] == pytest.approx([0.0, 0.1, 0.2])
    levels = [int(f.image.mean().round()) for f in frames]
    assert levels == pytest.approx([10 * i for i in range(N_FRAMES)], abs=3)
    assert src.end_reason == f"end of video ({N_FRAMES} frames)"
    assert src.frames_read == N_FRAMES


def test_video_stands_in_for_the_camera(video: Path) -> None:
    cam = CameraSource(0, retry_s=0.001, opener=lambda _index: cv2.VideoCapture(str(video)))
    frames = list(cam)
    assert len(frames) == N_FRAMES
    assert [f.index for f in frames] == list(range(N_FRAMES))
    ts = [f.timestamp_s for f in frames]
    assert ts[0] == 0.0 and all(b >= a for a, b in zip(ts, ts[1:], strict=False))
    # The file ran out: to the camera code that is a camera that stopped delivering.
    assert cam.end_reason is not None and "camera 0 stopped delivering frames after 20" \
        in cam.end_reason


def test_camera_stop_from_the_user(video: Path) -> None:
    cam = CameraSource(0, opener=lambda _index: cv2.VideoCapture(str(video)))
    got = []
    for frame in cam:
        got.append(frame)
        if len(got) == 5:
            cam.stop()
    assert len(got) == 5 and cam.end_reason == "stopped by the user after 5 frames"


@pytest.mark.parametrize("index", range(4))
def test_no_camera_is_camera_unavailable(index: int) -> None:
    # The test machines have no camera; a developer's laptop may: then skip that index.
    probe = cv2.VideoCapture(index)
    present = probe.isOpened()
    probe.release()
    if present:
        pytest.skip(f"a camera exists at index {index}")
    with pytest.raises(CameraUnavailable, match=f"No camera at index {index}"):
        CameraSource(index)


def test_camera_that_opens_but_gives_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    with pytest.raises(CameraUnavailable):
        CameraSource(2, opener=lambda _index: cv2.VideoCapture(str(empty)))


def test_truncated_video_keeps_the_frames_read(tmp_path: Path) -> None:
    full = write_video(tmp_path / "full.avi", n=40)
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 6 // 10])
    try:
        src = VideoFileSource(cut)
    except SourceError as err:  # some OpenCV builds refuse the cut index outright
        assert "cut.avi" in str(err)
        return
    frames = list(src)
    assert 0 < len(frames) < 40
    assert src.end_reason is not None
    if src.frame_count:
        assert f"after {len(frames)} of 40 frames" in src.end_reason
        assert "truncated or corrupt" in src.end_reason


def test_corrupt_and_missing_videos(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(SourceError, match="junk.mp4: OpenCV cannot open this file as a video"):
        VideoFileSource(junk)
    with pytest.raises(SourceError, match="no such video file"):
        VideoFileSource(tmp_path / "nope.mp4")


def test_image_folder_natural_order_and_unreadable_files(tmp_path: Path) -> None:
    for i in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"{i}_0.jpg"), np.full((8, 8, 3), i, np.uint8))
    (tmp_path / "5_0.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    src = ImageFolderSource(tmp_path, fps=25)
    frames = list(src)
    assert [f.name for f in frames] == ["1_0.jpg", "2_0.jpg", "10_0.jpg"]
    assert frames[-1].timestamp_s == pytest.approx(3 / 25)
    assert [p.name for p, _ in src.skipped] == ["5_0.jpg"]
    assert src.end_reason == "end of images (3 read, 1 unreadable skipped)"


def test_open_source_dispatch(tmp_path: Path, video: Path) -> None:
    assert isinstance(open_source(video), VideoFileSource)
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 4, 3), np.uint8))
    assert isinstance(open_source(tmp_path), ImageFolderSource)
    assert isinstance(open_source(tmp_path / "a.png"), ImageFolderSource)
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(SourceError, match="no images"):
        open_source(tmp_path / "emptydir")
    if not cv2.VideoCapture(3).isOpened():
        with pytest.raises(CameraUnavailable):
            open_source("3")


def test_sources_named_as_what_they_are(tmp_path: Path, video: Path) -> None:
    src = VideoFileSource(video)
    assert src.description == "Video: clip.avi (10.0 fps)" and src.kind == "video"
    assert src.location == str(video.resolve()) and src.lockstep_possible
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        cv2.imwrite(str(photos / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
    folder = ImageFolderSource(photos)
    assert folder.description == "Folder: photos (3 images)" and folder.kind == "images"
    assert folder.location == str(photos.resolve())
    one = ImageFolderSource([photos / "1.png"])
    assert one.description == "Image: 1.png" and one.location == str(photos / "1.png")
    cam = CameraSource(0, opener=lambda _index: cv2.VideoCapture(str(video)))
    assert cam.description == "Camera 0" and cam.location == "camera 0"
    assert cam.kind == "camera" and not cam.lockstep_possible
    cam.close()
