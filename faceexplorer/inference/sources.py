"""Frame sources: a webcam by index, a video file, an image folder - one iterator shape.

Every source yields ``Frame(index, timestamp_s, image BGR, name)`` and, once iteration
ends, says why in ``end_reason`` (end of file, camera stopped delivering, video truncated
after N of M frames, stopped by the user). Problems found before the first frame raise
(``CameraUnavailable``, ``SourceError``); problems after it end the stream with a reason,
so whatever was read is kept. Timestamps: camera = seconds since the first frame
(monotonic clock), video = index / fps, images = index / ``fps`` (default 1).

Each source names itself twice: ``description`` for people ("Camera 0", "Video: face.avi
(25.0 fps)", "Folder: photos (120 images)") and ``location`` for the index (the absolute
path of a video or folder, so a stored live recording can show its frames again; "camera
0" for a camera, which keeps no frames). ``kind`` is "camera", "video" or "images"; only
a camera cannot be read frame by frame at will (``lockstep_possible``).

A video's header count is only an announcement: real MP4s often announce a few frames
more than they decode. A video that stops decoding within ``overcount_tolerance`` of
the announced end has ended normally (the reason gives the real count); only a larger
shortfall, or frames that still decode past the point where decoding stopped, is
reported as truncated or corrupt.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import IMAGE_EXTENSIONS


class SourceError(FaceExplorerError):
    """A video or image source cannot be read."""


class CameraUnavailable(SourceError):
    """No camera at that index, or it opens but delivers no frame."""


@dataclass(frozen=True)
class Frame:
    """One frame: position, time in seconds, BGR uint8 image, and its file name if any."""

    index: int
    timestamp_s: float
    image: np.ndarray
    name: str = ""


class FrameSource:
    """Base of the sources: iteration, ``end_reason``, ``frames_read``, ``stop()``, ``close()``."""

    description = "frame source"
    #: what a recording stores as its source (a path where there is one)
    location = ""
    kind = "frames"
    #: False for a camera: it delivers frames at its own rate, whether taken or not
    lockstep_possible = True

    def __init__(self) -> None:
        self.end_reason: str | None = None
        self.frames_read = 0
        self._stop = False

    def stop(self) -> None:
        """Ask the iteration to end after the current frame (safe from another thread)."""
        self._stop = True

    def close(self) -> None:
        """Release the device or file."""

    def frames(self) -> Iterator[Frame]:  # pragma: no cover - overridden
        """The frames; subclasses implement it."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        try:
            for frame in self.frames():
                self.frames_read += 1
                yield frame
                if self._stop:
                    self.end_reason = f"stopped by the user after {self.frames_read} frames"
                    return
        finally:
            self.close()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quiet_capture(opener: Callable[..., cv2.VideoCapture], *args: object) -> cv2.VideoCapture:
    """Open a capture without OpenCV printing backend warnings for a missing device."""
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    level = log.getLogLevel() if log is not None else None
    if log is not None:
        # A missing camera is reported as WARN by every backend tried; we raise our own.
        log.setLogLevel(log.LOG_LEVEL_ERROR)
    try:
        return opener(*args)
    finally:
        if log is not None:
            log.setLogLevel(level)


class CameraSource(FrameSource):
    """A webcam by index, read until it stops delivering or ``stop()`` is called.

    Parameters
    ----------
    index : int
        OpenCV camera index.
    max_failures : int
        Consecutive failed reads (``retry_s`` apart) that mean the camera is gone.
    opener : callable
        ``cv2.VideoCapture`` by default; tests pass one that opens a video file instead.
    """

    kind = "camera"
    lockstep_possible = False

    def __init__(self, index: int, max_failures: int = 10, retry_s: float = 0.05,
                 opener: Callable[..., cv2.VideoCapture] = cv2.VideoCapture) -> None:
        super().__init__()
        self.index = index
        self.description = f"Camera {index}"
        self.location = f"camera {index}"
        self.max_failures, self.retry_s = max_failures, retry_s
        self._cap = _quiet_capture(opener, index)
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraUnavailable(
                f"No camera at index {index}: OpenCV could not open it. Is a camera "
                "connected, not used by another program, and allowed by the system's "
                "privacy settings? Try another index, or open a video file instead.")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise CameraUnavailable(f"Camera {index} opened but delivered no frame; another "
                                    "program may be using it.")
        self._first: np.ndarray | None = first

    def frames(self) -> Iterator[Frame]:
        """Frames until the camera stops delivering."""
        t0 = time.monotonic()
        if self._first is not None:
            first, self._first = self._first, None
            yield Frame(0, 0.0, first)
        index, failures = 1, 0
        while not self._stop:
            ok, image = self._cap.read()
            if not ok or image is None:
                failures += 1
                if failures >= self.max_failures:
                    self.end_reason = (f"camera {self.index} stopped delivering frames after "
                                       f"{index} frames (unplugged or taken by another "
                                       "program?); the frames read so far are kept")
                    return
                time.sleep(self.retry_s)
                continue
            failures = 0
            yield Frame(index, time.monotonic() - t0, image)
            index += 1

    def close(self) -> None:
        """Release the camera."""
        self._cap.release()


class VideoFileSource(FrameSource):
    """A video file read in order; a short or corrupt file ends with a reason, not a crash.

    Parameters
    ----------
    path : path
        The video.
    start, stop, stride : int
        Yield frames ``start``, ``start + stride``, ... before ``stop`` (None: to the
        end); frames in between are decoded with ``grab()`` only (no colour conversion).
        Frame indices and timestamps stay those of the whole video.
    """

    kind = "video"

    def __init__(self, path: Path | str, start: int = 0, stop: int | None = None,
                 stride: int = 1) -> None:
        super().__init__()
        self.path = Path(path)
        self.location = str(self.path.resolve())
        self.description = f"Video: {self.path.name}"
        if start < 0 or stride < 1 or (stop is not None and stop < start):
            raise ValueError(f"bad frame range start={start} stop={stop} stride={stride}")
        self.start, self.stop_at, self.stride = start, stop, stride
        if not self.path.is_file():
            raise SourceError(f"{self.path}: no such video file")
        self._cap = _quiet_capture(cv2.VideoCapture, str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"{self.path}: OpenCV cannot open this file as a video (corrupt, "
                              "or a codec this OpenCV build lacks; expected e.g. MP4/H.264, "
                              "AVI/MJPEG)")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 0 < fps < 1000 else 25.0
        self.description = f"Video: {self.path.name} ({self.fps:.1f} fps)"
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count: int | None = count if count > 0 else None
        #: Frames the file really decoded (known once the end was reached), else None.
        self.decoded_count: int | None = None

    @staticmethod
    def overcount_tolerance(announced: int) -> int:
        """Frames a header may announce beyond the real end of an intact video."""
        return max(5, announced // 50)

    def _next(self, index: int, keep: bool) -> tuple[bool, np.ndarray | None]:
        """Decode the frame at ``index``; ``keep=False`` grabs it without converting."""
        try:
            if keep:
                ok, image = self._cap.read()
                return bool(ok) and image is not None, image
            return bool(self._cap.grab()), None
        except cv2.error as exc:
            self.end_reason = f"{self.path}: decoding failed at frame {index} ({exc})"
            return False, None

    def _decodes_past(self, index: int) -> bool:
        """Whether any frame after ``index`` still decodes (a hole, not the end)."""
        announced = self.frame_count or 0
        for probe in (index + 1, index + 2, (index + announced) // 2):
            if probe >= announced:
                break
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, probe)
            ok, _ = self._next(probe, keep=True)
            if ok:
                return True
        return False

    def frames(self) -> Iterator[Frame]:
        """Frames in file order until the end (or ``stop``), or the first undecodable one."""
        index, ended = 0, False
        while not self._stop:
            if self.stop_at is not None and index >= self.stop_at:
                break
            keep = index >= self.start and (index - self.start) % self.stride == 0
            ok, image = self._next(index, keep)
            if not ok:
                ended = True
                break
            if keep:
                yield Frame(index, index / self.fps, image)  # type: ignore[arg-type]
            index += 1
        if self._stop or not ended:
            if not self._stop and self.end_reason is None:
                self.end_reason = f"end of the requested range (frame {index})"
            return
        self.decoded_count = index
        announced = self.frame_count
        if self.end_reason is not None:  # cv2 raised: decoding really failed
            return
        if index == 0:
            self.end_reason = (f"{self.path}: no frame could be decoded (corrupt or truncated "
                               "video)")
        elif announced and index < announced and (
                announced - index > self.overcount_tolerance(announced)
                or self._decodes_past(index)):
            self.end_reason = (f"{self.path}: video ended after {index} of {announced} "
                               "frames (truncated or corrupt file); the frames read are kept")
        elif announced and index != announced:
            self.end_reason = (f"end of video ({index} frames; its header announced "
                               f"{announced})")
        else:
            self.end_reason = f"end of video ({index} frames)"

    def close(self) -> None:
        """Release the file."""
        self._cap.release()


def _natural_key(path: Path) -> list[object]:
    # "10_0.jpg" after "9_0.jpg", as HRM frame files need.
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


class ImageFolderSource(FrameSource):
    """Images of a folder (natural name order), or an explicit list of image files.

    Unreadable images are skipped and listed in ``skipped`` (file, reason): never silently.
    """

    kind = "images"

    def __init__(self, folder_or_files: Path | str | list[Path], fps: float = 1.0) -> None:
        super().__init__()
        if isinstance(folder_or_files, list):
            self.paths = [Path(p) for p in folder_or_files]
            one = len(self.paths) == 1
            self.description = (f"Image: {self.paths[0].name}" if one
                                else f"Images: {len(self.paths)} files")
            self.location = str(self.paths[0].resolve()) if one else self.description
        else:
            folder = Path(folder_or_files)
            if not folder.is_dir():
                raise SourceError(f"{folder}: no such image folder")
            self.paths = sorted((p for p in folder.iterdir()
                                 if p.suffix.lower() in IMAGE_EXTENSIONS), key=_natural_key)
            if not self.paths:
                raise SourceError(f"{folder}: no images (expected files ending in "
                                  f"{', '.join(IMAGE_EXTENSIONS)})")
            self.description = f"Folder: {folder.name} ({len(self.paths)} images)"
            self.location = str(folder.resolve())
        self.fps = fps
        self.skipped: list[tuple[Path, str]] = []

    def frames(self) -> Iterator[Frame]:
        """One frame per readable image."""
        for index, path in enumerate(self.paths):
            if self._stop:
                return
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                self.skipped.append((path, "not a readable image (corrupt or unknown format)"))
                continue
            yield Frame(index, index / self.fps, image, path.name)
        skipped = f", {len(self.skipped)} unreadable skipped" if self.skipped else ""
        self.end_reason = f"end of images ({len(self.paths) - len(self.skipped)} read{skipped})"


def open_source(spec: int | str | Path) -> FrameSource:
    """A source from what a user typed: a camera index, a video file, a folder or an image."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return CameraSource(int(spec))
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path)
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        if not path.is_file():
            raise SourceError(f"{path}: no such image file")
        return ImageFolderSource([path])
    return VideoFileSource(path)
