"""Every-frame analysis of one input: a plain function of (model, detector, input, range).

``analyze_input`` reads one video file, image folder or image and yields, in frame
order, one ``FrameResult`` per analysed frame: the frame's faces with the model's
predictions, or none (a frame without a face, or an unreadable image, is a result too).
Nothing is paced and nothing is dropped.

Two threads share the work, as on a 2-core machine they should: a prefetch thread
(``batch_io.Prefetcher``) decodes each frame, detects its faces and makes their crops
(``Pipeline.prepare``), while the calling thread runs the model on a batch of faces
from consecutive frames (``BATCH`` faces, or fewer at the end) and decodes its outputs.
cv2 and onnxruntime release the GIL, so decoding and detection overlap the model.

The detector is the live mode's (``live.make_detector``: Haar with face tracking, or
YuNet from its ONNX file), so live and every-frame analysis find the same faces. The
tracker follows faces from frame to frame of a video; between images of a folder it is
reset, since consecutive images are unrelated. In a video it is also reset every
``track_block`` analysed frames (counted from the range's start): what a tracker finds
depends on every frame before, so this makes each block a pure function of its frames,
and a run resumed at a block boundary (or a block analysed elsewhere) gives the same
rows as one uninterrupted run. It costs one extra full-frame search per block.

The function keeps no global state and needs nothing but its arguments (an opened model
and a fresh detector per input), so a cluster can run inputs as independent work items.
``StageClock`` adds up wall and thread-CPU seconds per stage for the benchmark.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import source_kind
from faceexplorer.inference.batch_io import Prefetcher
from faceexplorer.inference.detect import Detection, FaceDetector
from faceexplorer.inference.pipeline import Pipeline, Prepared
from faceexplorer.inference.postprocess import Prediction, decode
from faceexplorer.inference.session import ModelSession
from faceexplorer.inference.sources import (
    Frame,
    ImageFolderSource,
    SourceError,
    VideoFileSource,
)

#: Faces per model call (from consecutive frames). On 2 cores the EfficientNet-B0-sized
#: bench model costs the same CPU per face at batch 1, 4, 8 or 16 (14.2-14.9 ms, thread
#: CPU), but onnxruntime's memory grows with the batch (RSS 126 / 289 / 474 MB at 1 / 8 /
#: 16): 8 keeps the per-call overhead of small models low without the memory of 16.
BATCH = 8
STAGES = ("read", "detect", "preprocess", "infer", "postprocess")


@dataclass(frozen=True)
class FrameRange:
    """Which frames of an input: ``start``, ``start + stride``, ... before ``stop``.

    Frame numbers count every frame of the video (or image of the folder, in natural
    name order), whatever the stride; ``stop`` None runs to the end.
    """

    start: int = 0
    stop: int | None = None
    stride: int = 1

    def __post_init__(self) -> None:
        if self.start < 0 or self.stride < 1 or (self.stop is not None
                                                  and self.stop < self.start):
            raise FaceExplorerError(f"frame range {self.start}:{self.stop} with stride "
                                    f"{self.stride}: expected 0 <= start <= stop, stride >= 1")

    def first_at_or_after(self, index: int) -> int:
        """The first frame of the range numbered ``index`` or later."""
        if index <= self.start:
            return self.start
        return self.start + -(-(index - self.start) // self.stride) * self.stride

    def count(self, total: int | None) -> int | None:
        """Frames of the range in an input of ``total`` frames (None if unknown)."""
        end = total if self.stop is None else (self.stop if total is None
                                               else min(self.stop, total))
        if end is None:
            return None
        return max(0, -(-(end - self.start) // self.stride))


@dataclass(frozen=True)
class FaceResult:
    """One face of a frame: the detection and what the model said."""

    detection: Detection
    prediction: Prediction


@dataclass(frozen=True)
class FrameResult:
    """One analysed frame: where it is, its faces (empty: no face) and any problem."""

    frame_index: int
    timestamp_s: float | None
    file: str
    faces: tuple[FaceResult, ...]
    message: str = ""


@dataclass
class StageClock:
    """Wall and thread-CPU seconds per stage, added up over a run (thread-safe)."""

    wall: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, stage: str, wall: float, cpu: float) -> None:
        """Count one stretch of ``stage``."""
        with self._lock:
            self.wall[stage] += wall
            self.cpu[stage] += cpu


class _Timed:
    """``with _Timed(clock, stage):`` adds the block's wall and thread-CPU time."""

    def __init__(self, clock: StageClock | None, stage: str) -> None:
        self.clock, self.stage = clock, stage

    def __enter__(self) -> None:
        self.w, self.c = time.perf_counter(), time.thread_time()

    def __exit__(self, *exc: object) -> None:
        if self.clock is not None:
            self.clock.add(self.stage, time.perf_counter() - self.w,
                           time.thread_time() - self.c)


@dataclass
class InputInfo:
    """What is known of an input before and after its frames are read."""

    path: Path
    kind: str                      # "video" | "images"
    frames_announced: int | None   # header count (video) or images listed
    fps: float | None
    end_reason: str = ""
    frames_decoded: int | None = None  # real frame count, once the end was reached


def input_kind(path: Path) -> str:
    """``"video"`` or ``"images"`` (a folder, or one image file); refuses what is neither."""
    kind = source_kind(path)
    if kind is None:
        raise SourceError(f"{path}: no such file or folder")
    return kind


def image_paths(path: Path) -> list[Path]:
    """The images of a folder (natural name order), or the one image given."""
    if path.is_dir():
        return ImageFolderSource(path).paths
    return [path]


def probe_input(path: Path) -> InputInfo:
    """Kind, announced frame count and rate of an input, without reading its frames."""
    kind = input_kind(path)
    if kind == "images":
        return InputInfo(path, kind, len(image_paths(path)), None)
    video = VideoFileSource(path)
    try:
        return InputInfo(path, kind, video.frame_count, video.fps)
    finally:
        video.close()


def _read_image(path: Path) -> np.ndarray | None:
    data = np.fromfile(path, dtype=np.uint8)  # non-ASCII paths work on Windows too
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def _image_frames(paths: list[Path], rng: FrameRange, clock: StageClock | None
                  ) -> Iterator[Frame | tuple[int, str, str]]:
    """Frames of images in range; an unreadable one is (index, name, why)."""
    stop = len(paths) if rng.stop is None else min(rng.stop, len(paths))
    for index in range(rng.start, stop, rng.stride):
        path = paths[index]
        with _Timed(clock, "read"):
            image = _read_image(path)
        if image is None:
            yield index, path.name, "not a readable image (corrupt or unknown format)"
        else:
            yield Frame(index, float("nan"), image, path.name)


def _video_frames(video: VideoFileSource, clock: StageClock | None) -> Iterator[Frame]:
    frames = iter(video)
    while True:
        with _Timed(clock, "read"):
            frame = next(frames, None)
        if frame is None:
            return
        yield frame


def analyze_input(model: ModelSession, detector: FaceDetector, path: Path | str,
                  rng: FrameRange = FrameRange(), *, info: InputInfo | None = None,
                  batch: int = BATCH, track_block: int | None = None,
                  clock: StageClock | None = None,
                  warnings: list[str] | None = None) -> Iterator[FrameResult]:
    """Analyse every frame of ``rng`` in one input; yields one result per frame, in order.

    Parameters
    ----------
    model : ModelSession
        Opened once by the caller (one per worker).
    detector : FaceDetector
        A fresh detector for this input (it may keep tracking state).
    path : path
        A video file, an image folder or one image.
    rng : FrameRange
        Which frames.
    info : InputInfo, optional
        Filled in as the input is read: ``end_reason`` (why reading ended) and
        ``frames_decoded`` (the real count, when the end was reached).
    batch : int
        Faces per model call.
    track_block : int, optional
        Reset the detector's tracking every this many analysed frames of a video,
        counted from ``rng.start`` (see the module docstring); None: never.
    clock : StageClock, optional
        Adds up time per stage.
    warnings : list, optional
        Receives the pipeline's warnings (alignment fallbacks).

    Raises
    ------
    SourceError
        The input cannot be opened. Later reading problems end the input with a reason.
    ModelLoadError, DetectorUnavailable
        onnxruntime or the detector fails.
    """
    path = Path(path)
    info = info if info is not None else probe_input(path)
    pipeline = Pipeline(model, detector, faces="all")
    if warnings is not None:
        warnings.extend(w for w in pipeline.warnings if w not in warnings)
    reset = getattr(detector, "reset", None)
    video: VideoFileSource | None = None
    if info.kind == "images":
        paths = image_paths(path)
        frames: Iterator = _image_frames(paths, rng, clock)
    else:
        video = VideoFileSource(path, start=rng.start, stop=rng.stop, stride=rng.stride)
        frames = _video_frames(video, clock)

    def prepare(frame: Frame | tuple[int, str, str]) -> Prepared | tuple[int, str, str]:
        if not isinstance(frame, Frame):
            return frame
        if reset is not None and (info.kind == "images" or (
                track_block and (frame.index - rng.start) // rng.stride % track_block == 0)):
            reset()  # unrelated images, or a block boundary (see the module docstring)
        c0 = time.thread_time()
        w0 = time.perf_counter()
        prepared = pipeline.prepare(frame)
        if clock is not None:
            # prepare's own stage timings split its wall time; CPU is split the same way.
            det = pipeline.timings.seconds["detect"][-1]
            wall, cpu = time.perf_counter() - w0, time.thread_time() - c0
            share = det / wall if wall > 0 else 1.0
            clock.add("detect", det, cpu * share)
            clock.add("preprocess", wall - det, cpu * (1 - share))
        return prepared

    loaded = Prefetcher(frames, prepare, ahead=2 * batch)
    pending: list[Prepared | tuple[int, str, str]] = []
    faces_pending = 0
    try:
        for _, item in loaded:
            pending.append(item)
            if isinstance(item, Prepared) and item.batch is not None:
                faces_pending += len(item.batch)
            if faces_pending >= batch:
                yield from _flush(model, pending, clock)
                pending, faces_pending = [], 0
        yield from _flush(model, pending, clock)
    finally:
        loaded.close()
        if video is not None:
            video.close()
            info.end_reason = video.end_reason or ""
            info.frames_decoded = video.decoded_count
        elif info.kind == "images":
            info.end_reason = "end of images"
            if rng.stop is None or rng.stop >= len(image_paths(path)):
                info.frames_decoded = info.frames_announced
    if warnings is not None:
        warnings.extend(w for w in pipeline._tally() if w not in warnings)


def _flush(model: ModelSession, pending: list[Prepared | tuple[int, str, str]],
           clock: StageClock | None) -> Iterator[FrameResult]:
    """Run the model once on the faces of ``pending`` frames and yield their results."""
    with_faces = [p for p in pending if isinstance(p, Prepared) and p.batch is not None]
    raw: dict[str, np.ndarray] = {}
    if with_faces:
        tensor = np.concatenate([p.batch for p in with_faces])  # type: ignore[misc]
        with _Timed(clock, "infer"):
            raw = model.run(tensor)
    offset = 0
    t = _Timed(clock, "postprocess")
    for p in pending:
        if not isinstance(p, Prepared):
            index, name, why = p
            yield FrameResult(index, None, name, (), why)
            continue
        frame = p.frame
        ts = None if np.isnan(frame.timestamp_s) else frame.timestamp_s
        if p.batch is None:
            yield FrameResult(frame.index, ts, frame.name, ())
            continue
        n = len(p.batch)
        with t:
            part = {k: v[offset:offset + n] for k, v in raw.items()}
            preds = decode(model.card, part, frame.index, frame.timestamp_s,
                           [d.box for d in p.detections], p.aligned)
        offset += n
        yield FrameResult(frame.index, ts, frame.name,
                          tuple(FaceResult(d, pr) for d, pr in zip(p.detections, preds,
                                                                  strict=True)))

