"""Live mode: every frame shown at the source's rate, the model on the newest frame only.

Three threads hand frames on through two one-frame slots. The capture thread reads the
source (paced to the video's own rate for files; a camera paces itself), puts each
frame in the first slot, draws the newest prediction on it (``overlay.draw_overlay``)
and hands it to ``on_frame``: the display never waits for the model. The detect thread
takes the newest frame from that slot, finds the faces and makes the model's batch
(``Pipeline.prepare``) into the second slot; the model thread takes the newest batch
(``Pipeline.infer``). So on 2 cores detection of frame t+1 overlaps the model on frame
t (cv2 and onnxruntime release the GIL), and a slow model sees only the newest frames:
a frame the model never took is counted as dropped. Each result is published with the
index of the frame it belongs to (boxes lag that many frames). ``lockstep=True`` makes
each stage wait until the next took its slot (benchmarks, or stepping through every
frame). The default Haar detector tracks faces (``track.TrackingFaceDetector``).
``open_live(..., every_frame=True)`` is the window's "record every frame": lockstep and no
pacing, so a video or folder is read frame by frame as fast as the model goes and none is
dropped; a camera is refused (it delivers at its own rate and cannot be waited for).
Such a session ends showing the last frame modelled with its own boxes (the display runs
a frame or two ahead of the model).

Recording appends each prediction to a flushed CSV (``recording.Recorder``) and keeps it
in ``recorded`` for the index; its sidecar names the source by ``location`` (a video's or
folder's absolute path, so the Analyses tab can show its frames again) and
``description`` (what the window showed), and says whether every frame was read. Every
way a session ends - end of video, camera lost, the model failing, the user - leaves a
reason in ``end_reason``, closes the recording with it and calls ``on_end`` once; nothing
recorded is lost and nothing raises from the threads.
Callbacks run on the session's threads: a GUI forwards them as queued signals.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference.detect import FaceDetector, HaarFaceDetector, YuNetFaceDetector
from faceexplorer.inference.overlay import draw_overlay, fit_bgra
from faceexplorer.inference.pipeline import Pipeline, Prepared
from faceexplorer.inference.postprocess import Prediction
from faceexplorer.inference.recording import Recorder
from faceexplorer.inference.session import open_model
from faceexplorer.inference.sources import CameraSource, Frame, FrameSource, open_source
from faceexplorer.inference.track import TrackingFaceDetector

RATE_WINDOW_S = 2.0


@dataclass(frozen=True)
class LatestPrediction:
    """The model's newest result: the faces of frame ``frame_index`` and how long it took."""

    frame_index: int
    timestamp_s: float
    predictions: tuple[Prediction, ...]
    model_ms: float


@dataclass(frozen=True)
class DisplayFrame:
    """A frame ready to show: BGR with the overlay, and BGRA scaled to the display if asked."""

    frame: Frame
    overlay: np.ndarray
    bgra: np.ndarray | None
    prediction: LatestPrediction | None


@dataclass(frozen=True)
class LiveStats:
    """Counts and rates since the start (rates over the last two seconds)."""

    frames_read: int
    frames_modelled: int
    dropped: int
    camera_fps: float
    model_fps: float


def _rate(times: deque[float]) -> float:
    if len(times) < 2 or times[-1] == times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


def make_detector(choice: str | Path | None) -> FaceDetector | None:
    """``"haar"`` (tracking), ``"haar-full"`` (every frame searched whole), ``"none"``/None
    (whole frames are faces) or a YuNet ONNX path."""
    if choice is None or str(choice).lower() == "none":
        return None
    if str(choice).lower() == "haar":
        return TrackingFaceDetector()
    if str(choice).lower() == "haar-full":
        return HaarFaceDetector()
    return YuNetFaceDetector(choice)


class LiveSession:
    """Runs a pipeline on a source with the display decoupled from the model.

    Parameters
    ----------
    source : FrameSource
        Camera, video or images; closed when the session ends.
    pipeline : Pipeline
        Detector and model, created once.
    pace : bool, optional
        Sleep to each frame's timestamp (default: True for files, False for a camera).
    lockstep : bool
        Each stage (capture, detect) waits until the next took its previous frame, so
        every frame is modelled (no frame dropped).
    on_frame, on_prediction, on_end : callable, optional
        Called with a ``DisplayFrame``, a ``LatestPrediction``, and the end reason.
    history_s : float
        Seconds of predictions kept for the rolling timeline.
    """

    def __init__(self, source: FrameSource, pipeline: Pipeline, *, pace: bool | None = None,
                 lockstep: bool = False,
                 on_frame: Callable[[DisplayFrame], None] | None = None,
                 on_prediction: Callable[[LatestPrediction], None] | None = None,
                 on_end: Callable[[str], None] | None = None,
                 history_s: float = 30.0) -> None:
        self.source, self.pipeline = source, pipeline
        self.pace = not isinstance(source, CameraSource) if pace is None else pace
        self.lockstep = lockstep
        self.on_frame, self.on_prediction, self.on_end = on_frame, on_prediction, on_end
        self.display_fit: tuple[int, int] | None = None  # (w, h) the GUI wants, or None
        self.draw = True
        self.end_reason: str | None = None
        self.recorded: list[Prediction] = []
        self.last_recording: Path | None = None
        self.history: deque[Prediction] = deque()
        self.history_s = history_s
        self._cond = threading.Condition()
        self._pending: Frame | None = None  # capture -> detect
        self._prepared: Prepared | None = None  # detect -> model
        self._capture_done = self._detect_done = self._stopping = False
        self._model_error: str | None = None
        self._user_stopped = False
        self._latest: LatestPrediction | None = None
        self._last_display: DisplayFrame | None = None
        self._last_modelled: Frame | None = None
        self._recorder: Recorder | None = None
        self._rec_lock = threading.Lock()
        self._read = self._modelled = self._dropped = 0
        self._frame_times: deque[float] = deque()
        self._model_times: deque[float] = deque()
        self._alive = 0
        self._threads: list[threading.Thread] = []

    # --- control ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the capture, detect and model threads."""
        self._threads = [threading.Thread(target=self._guard, args=(work,),
                                          name=f"live-{work.__name__[1:]}", daemon=True)
                         for work in (self._capture, self._detect, self._model)]
        self._alive = len(self._threads)
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Ask the threads to end after their current frame (returns at once)."""
        with self._cond:
            self._stopping = self._user_stopped = True
            self._cond.notify_all()
        self.source.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the session to end; True when it has."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not self.running

    @property
    def running(self) -> bool:
        """True while any thread is alive."""
        return any(t.is_alive() for t in self._threads)

    @property
    def every_frame(self) -> bool:
        """True when every frame of a video or folder is modelled (lockstep, no pacing)."""
        return self.lockstep and not self.pace and self.source.lockstep_possible

    # --- what the display reads ---------------------------------------------------------

    @property
    def latest(self) -> LatestPrediction | None:
        """The newest prediction (None before the first)."""
        return self._latest

    @property
    def stats(self) -> LiveStats:
        """Frames read and modelled, dropped, camera and model rates."""
        with self._cond:
            return LiveStats(self._read, self._modelled, self._dropped,
                             _rate(self._frame_times), _rate(self._model_times))

    def timeline(self, window_s: float, kind: str = "expression", top: int = 4
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Times and values of the ``top`` labels (by mean) over the last ``window_s``.

        The largest face of each modelled frame; ``kind`` is ``"expression"`` or ``"au"``.
        """
        with self._cond:
            preds = list(self.history)
        if not preds:
            return np.empty(0), {}
        t_end = preds[-1].timestamp_s
        preds = [p for p in preds if p.timestamp_s >= t_end - window_s]
        maps = [p.expression if kind == "expression" else p.aus for p in preds]
        labels = list(dict.fromkeys(k for m in maps for k in m))
        values = {lab: np.array([m.get(lab, np.nan) for m in maps]) for lab in labels}
        ranked = sorted(labels, key=lambda lab: -np.nanmean(values[lab]))[:top]
        return np.array([p.timestamp_s for p in preds]), {lab: values[lab] for lab in ranked}

    # --- recording and snapshots --------------------------------------------------------

    def start_recording(self, csv_path: Path | str) -> Path:
        """Record every later prediction into ``csv_path`` (and ``recorded``)."""
        m = self.pipeline.model
        recorder = Recorder(csv_path, m.card, {
            "model_path": str(m.path), "model_name": m.card.name, "model_sha256": m.sha256,
            "source": self.source.location or self.source.description,
            "source_label": self.source.description, "every_frame": self.every_frame,
            "detector": self.pipeline.detector.name if self.pipeline.detector else "none"})
        with self._rec_lock:
            old, self._recorder = self._recorder, recorder
            self.recorded = []
        if old is not None:
            old.close("recording restarted")
        return recorder.path

    def stop_recording(self, reason: str = "stopped by the user") -> Path | None:
        """Close the recording; returns its CSV path (None when not recording)."""
        with self._rec_lock:
            recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        self.last_recording = recorder.close(reason)
        return self.last_recording

    @property
    def recording(self) -> bool:
        """True while predictions are being recorded."""
        return self._recorder is not None

    def snapshot(self, png_path: Path | str) -> Path:
        """Write the frame on show, with its overlay, as a PNG.

        Raises
        ------
        FaceExplorerError
            Nothing shown yet, or the file cannot be written.
        """
        shown, path = self._last_display, Path(png_path)
        if shown is None:
            raise FaceExplorerError("No frame shown yet: nothing to snapshot")
        if not cv2.imwrite(str(path), shown.overlay):
            raise FaceExplorerError(f"{path}: could not write the snapshot (is the folder "
                                    "writable and the name ending in .png?)")
        return path

    # --- threads ------------------------------------------------------------------------

    def _guard(self, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as exc:  # a thread must never die silently
            with self._cond:
                self._model_error = self._model_error or f"{type(exc).__name__}: {exc}"
                self._stopping = True
                self._cond.notify_all()
            self.source.stop()
        finally:
            with self._cond:
                self._alive -= 1
                last = self._alive == 0
            if last:
                self._finish()

    def _capture(self) -> None:
        start: float | None = None
        try:
            for frame in self.source:
                now = time.monotonic()
                if self.pace:
                    start = now - frame.timestamp_s if start is None else start
                    wait = start + frame.timestamp_s - now
                    if wait > 0:
                        time.sleep(wait)
                with self._cond:
                    while self.lockstep and self._pending is not None and not (
                            self._stopping or self._detect_done):
                        self._cond.wait()
                    if self._stopping or self._detect_done:
                        break
                    self._dropped += self._pending is not None
                    self._pending = frame
                    self._read += 1
                    self._tick(self._frame_times)
                    self._cond.notify_all()
                self._show(frame)
        except (FaceExplorerError, cv2.error, OSError) as exc:
            self.source.end_reason = f"reading frames failed after {self._read} frames: {exc}"
        finally:
            with self._cond:
                self._capture_done = True
                self._cond.notify_all()

    def _show(self, frame: Frame) -> None:
        latest = self._latest
        preds = latest.predictions if latest is not None and self.draw else ()
        overlay = draw_overlay(frame.image, preds)
        bgra = None if self.display_fit is None else fit_bgra(overlay, self.display_fit)
        shown = DisplayFrame(frame, overlay, bgra, latest)
        self._last_display = shown
        if self.on_frame is not None:
            self.on_frame(shown)

    def _detect(self) -> None:
        try:
            while True:
                with self._cond:
                    while self._pending is None and not self._capture_done \
                            and not self._stopping:
                        self._cond.wait()
                    if self._stopping or self._pending is None:
                        self._dropped += self._pending is not None
                        return
                    frame, self._pending = self._pending, None
                    self._cond.notify_all()
                try:
                    prepared = self.pipeline.prepare(frame)
                except FaceExplorerError as exc:
                    # No _stopping: the model still finishes (and records) the frame
                    # already in its slot; capture ends on _detect_done.
                    with self._cond:
                        self._dropped += 1
                    self._fail(frame, exc, stop_model=False)
                    return
                with self._cond:
                    while self.lockstep and self._prepared is not None and not self._stopping:
                        self._cond.wait()
                    if self._stopping:
                        self._dropped += 1
                        return
                    self._dropped += self._prepared is not None
                    self._prepared = prepared
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._detect_done = True
                self._cond.notify_all()

    def _model(self) -> None:
        while True:
            with self._cond:
                while self._prepared is None and not self._detect_done and not self._stopping:
                    self._cond.wait()
                if self._stopping or self._prepared is None:
                    self._dropped += self._prepared is not None
                    return
                prepared, self._prepared = self._prepared, None
                self._cond.notify_all()
            frame = prepared.frame
            t0 = time.perf_counter()
            try:
                preds = self.pipeline.infer(prepared)
            except FaceExplorerError as exc:
                self._fail(frame, exc)
                return
            # model_ms: the model's own time; detection ran meanwhile on the detect thread.
            latest = LatestPrediction(frame.index, frame.timestamp_s, tuple(preds),
                                      (time.perf_counter() - t0) * 1e3)
            self._publish(latest)
            self._last_modelled = frame

    def _fail(self, frame: Frame, exc: FaceExplorerError, stop_model: bool = True) -> None:
        with self._cond:
            self._model_error = self._model_error or \
                f"the model failed at frame {frame.index}: {exc}"
            self._stopping = self._stopping or stop_model
            self._cond.notify_all()
        self.source.stop()

    def _publish(self, latest: LatestPrediction) -> None:
        with self._cond:
            self._latest = latest
            self._modelled += 1
            self._tick(self._model_times)
            if latest.predictions:
                self.history.append(max(latest.predictions, key=lambda p: p.box[2] * p.box[3]))
                while self.history[-1].timestamp_s - self.history[0].timestamp_s > self.history_s:
                    self.history.popleft()
        with self._rec_lock:
            if self._recorder is not None:
                for p in latest.predictions:
                    self._recorder.write(p)
                if not latest.predictions:      # a row for the frame all the same
                    self._recorder.write_no_face(latest.frame_index, latest.timestamp_s)
                self.recorded.extend(latest.predictions)
        if self.on_prediction is not None:
            self.on_prediction(latest)

    def _tick(self, times: deque[float]) -> None:
        now = time.monotonic()
        times.append(now)
        while now - times[0] > RATE_WINDOW_S:
            times.popleft()

    def _finish(self) -> None:
        self.source.close()
        last = self._last_modelled
        if self.every_frame and last is not None and (
                self._last_display is None or self._last_display.prediction is None
                or self._last_display.prediction.frame_index != last.index):
            # The display ran a frame or two ahead of the model: the frame left on show
            # is the last one modelled, with its own boxes.
            try:
                self._show(last)
            except (cv2.error, ValueError):  # the session still ends, with its reason
                pass
        reason = self._model_error or (
            f"stopped by the user after {self._read} frames" if self._user_stopped
            else self.source.end_reason or "end of source")
        if self._model_error and self.recorded:
            reason += f"; the {len(self.recorded)} predictions recorded so far are kept"
        self.end_reason = reason
        self.stop_recording(reason)
        if self.on_end is not None:
            self.on_end(reason)


EVERY_FRAME_CAMERA = ("A camera delivers frames at its own rate and cannot wait for the "
                      "model, so it cannot be read frame by frame: record a video file of "
                      "it and open that to get every frame.")


def open_live(source: int | str | Path | FrameSource, model_path: Path | str,
              detector: str | Path | None = "haar", threads: int = 1,
              every_frame: bool = False, **options: object) -> LiveSession:
    """A ready-to-start session from what a user picked.

    ``every_frame``: read a video or folder frame by frame, unpaced, none dropped
    (``lockstep=True, pace=False``).

    Raises
    ------
    CameraUnavailable, SourceError, ModelLoadError, CardError, DetectorUnavailable
        Each with a message meant for the user; nothing is left open.
    FaceExplorerError
        ``every_frame`` asked of a camera.
    """
    if every_frame and (isinstance(source, int) or str(source).strip().isdigit()):
        raise FaceExplorerError(EVERY_FRAME_CAMERA)
    model = open_model(model_path, threads=threads)
    pipeline = Pipeline(model, make_detector(detector), faces="all")
    frames = source if isinstance(source, FrameSource) else open_source(source)
    if every_frame:
        if not frames.lockstep_possible:
            frames.close()
            raise FaceExplorerError(EVERY_FRAME_CAMERA)
        options = {**options, "lockstep": True, "pace": False}
    return LiveSession(frames, pipeline, **options)  # type: ignore[arg-type]
