"""Frames of a Hugging Rain Man child by number, from its frames folder or its video (no Qt).

A :class:`FrameSource` answers ``frame(n)`` with a :class:`Frame` (RGB uint8, C-contiguous,
ready to draw) or a :class:`Missing` that says in the user's words what is absent: the
JPEG file it looked for, the video, or "frame N is beyond the end of the video (M frames)".
Nothing here raises for absent media; a viewer shows the message and goes on.

* :class:`FolderFrames` reads ``origin/<child>/<n>_0.jpg`` (``np.fromfile`` + ``imdecode``,
  so non-ASCII paths work on Windows).
* :class:`VideoFrames` reads ``<child>.mp4`` with ``cv2.VideoCapture``. The next frame is a
  plain ``read()`` (playback never seeks); a short jump forward is skipped with ``grab()``
  (no colour conversion); anything else is a seek. ``CAP_PROP_POS_FRAMES`` seeks to a
  keyframe and decodes forward, which is exact for constant-rate files such as the
  sample's mp4v, but FFmpeg may land a few frames off on files with B-frames, edit lists
  or odd start times. So every seek is *verified*: the decoded frame's presentation time
  (``CAP_PROP_POS_MSEC`` x fps) must name frame ``n``. If it lands early we grab forward;
  if late, we seek further back (16, 64, 256 ... frames) and grab forward; the last resort
  is decoding from frame 0, which is exact by construction.
  A header's frame count is an announcement: real MP4s often announce a few frames more
  than they decode. A frame that fails to decode within :data:`OVERCOUNT_TOLERANCE` of the
  announced end marks the real end: the count shrinks to it and later frames are "beyond
  the end of the video (N frames; its header announced M)", not unreadable.
* :class:`ChildFrames` is the choice a viewer wants: the frames folder first (the images
  the coders saw), the video for frames the folder lacks (gaps between segments), or the
  other way round with ``prefer="video"``.

A source is not thread-safe: one worker thread owns it (the viewer's loader does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import numpy as np

#: Frame rate assumed when no video says otherwise (HRM videos are 25 fps).
DEFAULT_FPS: Final[float] = 25.0
#: A forward jump up to this many frames is decoded with grab() instead of a seek: a
#: keyframe seek plus decoding forward costs about as much as ~a GOP of grabs.
GRAB_AHEAD: Final[int] = 24
#: Frames a header may announce beyond the real end of an intact video (or 2%).
OVERCOUNT_TOLERANCE: Final[int] = 5
#: How far back (frames) a seek that landed past its target retries, in turn.
_SEEK_BACKOFF: Final[tuple[int, ...]] = (16, 64, 256, 1024)


@dataclass(frozen=True, eq=False)
class Frame:
    """A decoded frame: ``rgb`` is (H, W, 3) uint8, C-contiguous; ``origin`` says from where."""

    index: int
    rgb: np.ndarray
    origin: Literal["frames", "video"]


@dataclass(frozen=True)
class Missing:
    """Why frame ``index`` cannot be shown; ``message`` is for the user as it is.

    ``reason`` is one of ``"no_file"`` (the JPEG is absent), ``"unreadable"`` (a file
    OpenCV cannot decode), ``"no_video"`` (the video file is absent), ``"beyond_video"``
    (past the video's last frame) or ``"no_media"`` (neither frames nor video known).
    """

    index: int
    reason: str
    message: str
    path: Path | None = None


FrameResult = Frame | Missing


class FrameSource(Protocol):
    """Frames by number, for one child."""

    #: Native frame rate (frames per second) for playback.
    fps: float
    #: Short description for the viewer ("frames folder /x/origin/S1", "video /x/S1.mp4").
    description: str

    def frame(self, n: int) -> FrameResult:
        """Frame ``n`` (0-based, as HRM numbers them), or why not."""

    def close(self) -> None:
        """Release files and decoders; the source may be reopened by the next ``frame``."""


def _read_jpeg(path: Path) -> np.ndarray | None:
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        return None
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


class FolderFrames:
    """Frames ``<folder>/<n>_0.jpg``, as HRM's ``origin/<child>/`` holds them."""

    def __init__(self, folder: str | Path, fps: float = DEFAULT_FPS) -> None:
        self.folder = Path(folder)
        self.fps = fps
        self.description = f"frames folder {self.folder}"

    def path_of(self, n: int) -> Path:
        """The file frame ``n`` is expected in."""
        return self.folder / f"{n}_0.jpg"

    def frame(self, n: int) -> FrameResult:
        path = self.path_of(n)
        if not path.is_file():
            if not self.folder.is_dir():
                return Missing(n, "no_file", f"frames folder not found: {self.folder}", self.folder)
            return Missing(n, "no_file", f"no image for frame {n}: {path} is missing", path)
        rgb = _read_jpeg(path)
        if rgb is None:
            return Missing(n, "unreadable", f"frame {n}: {path} is not a readable image", path)
        return Frame(n, rgb, "frames")

    def close(self) -> None:
        pass


class VideoFrames:
    """Frames of one video with frame-accurate random access (see the module docstring).

    Parameters
    ----------
    path
        The video file.
    n_frames
        Frames in the video when already known (the index stores it); else the
        container's ``CAP_PROP_FRAME_COUNT``.
    capture_factory
        Makes the ``cv2.VideoCapture``-like object (tests inject an imprecise one).
    """

    def __init__(self, path: str | Path, n_frames: int | None = None,
                 capture_factory: Callable[[str], Any] | None = None) -> None:
        self.path = Path(path)
        self.description = f"video {self.path}"
        self._factory = capture_factory
        self._cap: Any = None
        self._next = 0          # index of the frame the next read() returns
        self._known_frames = n_frames
        self._announced: int | None = None  # the header's count, once it proved too high
        self.fps = DEFAULT_FPS
        #: Decoder work done, for tests and benchmarks: frames read, grabbed, seeks made.
        self.reads = self.grabs = self.seeks = 0
        if self.path.is_file():
            self._open()

    @property
    def n_frames(self) -> int | None:
        """Frames in the video (None when it cannot be opened)."""
        return self._known_frames

    def _open(self) -> bool:
        import cv2

        factory = self._factory or cv2.VideoCapture
        cap = factory(str(self.path))
        if not cap.isOpened():
            return False
        self._cap, self._next = cap, 0
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        # Some containers report 0 or absurd rates; HRM videos are 25 fps.
        self.fps = fps if 1.0 <= fps <= 240.0 else DEFAULT_FPS
        if self._known_frames is None:
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            self._known_frames = count if count > 0 else None
        self._calibrate()
        return True

    def _calibrate(self) -> None:
        """Learn whether timestamps count frames, from the first two (two cheap decodes).

        Frame 0's timestamp is the origin (files may start at a non-zero time); frame 1
        must come ``1/fps`` later, else timestamps are not trusted and seeks rely on the
        container's counter alone.
        """
        import cv2

        self._t0_msec, self._timestamps_ok = 0.0, False
        if not self._cap.read()[0]:
            return
        self._t0_msec = float(self._cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
        self._next = 1
        if self._cap.read()[0]:
            self._next = 2
            step = (float(self._cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) - self._t0_msec)
            self._timestamps_ok = round(step * self.fps / 1000.0) == 1

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
        self._cap = None

    def frame(self, n: int) -> FrameResult:
        if self._cap is None and not (self.path.is_file() and self._open()):
            if not self.path.is_file():
                return Missing(n, "no_video", f"video not found: {self.path}", self.path)
            return Missing(n, "unreadable", f"video cannot be opened: {self.path}", self.path)
        total = self._known_frames
        if n < 0 or (total is not None and n >= total):
            return self._beyond(n, total)
        bgr = self._decode(n)
        if bgr is None and total is not None and total - n <= max(OVERCOUNT_TOLERANCE,
                                                                  total // 50):
            # Near the announced end: the header over-counted, and this is the real end.
            self.close()
            self._announced = self._announced or total
            self._known_frames = n
            return self._beyond(n, n)
        if bgr is None:
            # The header promised more frames than the stream gave; start afresh next time.
            self.close()
            length = f"{total} frames" if total is not None else "length unknown"
            return Missing(n, "unreadable", f"frame {n} could not be decoded from the video "
                           f"({length} according to its header): {self.path}", self.path)
        import cv2

        return Frame(n, np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), "video")

    def _beyond(self, n: int, total: int | None) -> Missing:
        if n < 0:
            return Missing(n, "beyond_video", f"frame {n} is before the start of the video",
                           self.path)
        length = f"{total} frames" if total is not None else "length unknown"
        if self._announced is not None and total is not None:
            length += f"; its header announced {self._announced}"
        return Missing(n, "beyond_video",
                       f"frame {n} is beyond the end of the video ({length}): {self.path}",
                       self.path)

    # -- decoding ---------------------------------------------------------------------------
    def _decode(self, n: int) -> np.ndarray | None:
        """BGR frame ``n``, reading on, grabbing ahead or seeking as cheapest."""
        if self._next <= n <= self._next + GRAB_AHEAD:
            return self._read_from_here(n)
        return self._seek(n)

    def _read_from_here(self, n: int) -> np.ndarray | None:
        while self._next < n:
            if not self._cap.grab():
                return None
            self.grabs += 1
            self._next += 1
        ok, bgr = self._cap.read()
        self.reads += 1
        if not ok:
            return None
        self._next = n + 1
        return bgr

    def _landed_at(self) -> int | None:
        """Frame number of the frame just decoded, from its timestamp (None if untrusted)."""
        import cv2

        if not self._timestamps_ok:
            return None
        msec = float(self._cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
        return int(round((msec - self._t0_msec) * self.fps / 1000.0))

    def _seek(self, n: int) -> np.ndarray | None:
        import cv2

        for back in (0, *_SEEK_BACKOFF):
            target = max(0, n - back)
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, target)
            self.seeks += 1
            ok, bgr = self._cap.read()
            self.reads += 1
            if not ok:
                if back == 0:
                    continue        # may be a bad seek near the end: retry from earlier
                return None
            at = self._landed_at()
            if at is None:
                # No usable timestamps: trust the container's frame counter.
                self._next = target + 1
                return bgr if target == n else self._read_from_here(n)
            self._next = at + 1
            if at == n:
                return bgr
            if at < n:
                return self._read_from_here(n)
            if target == 0:
                break
        # Landed past the target even from far back: decode from the start, exactly.
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self.seeks += 1
        self._next = 0
        return self._read_from_here(n)


class ChildFrames:
    """One child's frames: ``prefer`` (folder or video) first, the other where it fails.

    Frames past the video's end are flagged even when the folder has them, so the user
    sees that the labels run longer than the video: the result is the JPEG, and
    :meth:`beyond_video` tells the viewer to say so.
    """

    def __init__(self, child: str, frames_dir: str | Path | None = None,
                 video_path: str | Path | None = None, video_frames: int | None = None,
                 prefer: Literal["frames", "video"] = "frames") -> None:
        self.child = child
        self.folder = FolderFrames(frames_dir) if frames_dir else None
        self.video = VideoFrames(video_path, video_frames) if video_path else None
        self.prefer = prefer
        self.fps = self.video.fps if self.video is not None else DEFAULT_FPS
        if self.folder is not None:
            self.folder.fps = self.fps
        parts = [s.description for s in (self.folder, self.video) if s is not None]
        self.description = " + ".join(parts) if parts else "no media"

    @property
    def n_video_frames(self) -> int | None:
        """Frames in the video, when there is a readable one."""
        return self.video.n_frames if self.video is not None else None

    def beyond_video(self, n: int) -> bool:
        """Whether frame ``n`` lies past the end of the child's video."""
        total = self.n_video_frames
        return total is not None and n >= total

    def frame(self, n: int) -> FrameResult:
        order = [self.folder, self.video] if self.prefer == "frames" else [self.video,
                                                                            self.folder]
        sources = [s for s in order if s is not None]
        if not sources:
            return Missing(n, "no_media", f"{self.child} has no frames folder "
                           f"(origin/{self.child}/) and no video ({self.child}.mp4) "
                           "in the index")
        misses: list[Missing] = []
        for source in sources:
            result = source.frame(n)
            if isinstance(result, Frame):
                return result
            misses.append(result)
        # Past the video's end is the most telling reason; else the preferred source's.
        for miss in misses:
            if miss.reason == "beyond_video":
                return miss
        return misses[0] if len(misses) == 1 else Missing(
            n, misses[0].reason, "\n".join(m.message for m in misses), misses[0].path)

    def close(self) -> None:
        for source in (self.folder, self.video):
            if source is not None:
                source.close()
