"""Frame source -> face detector -> model -> predictions, with per-stage timings.

``Pipeline.process(frame)`` handles one frame: ``prepare`` (detect, crop, make the
batch) then ``infer`` (model, decode), two halves live mode runs on two threads so the
detection of one frame overlaps the model on the previous one. ``Pipeline.run(source)``
reads a whole source and returns a ``RunResult`` holding every prediction made, why the
run ended and what went wrong, never raising for a camera that stops, a truncated video
or a model failing mid-run: what was recorded is kept.
All faces of a frame go through the model as one batch. Without a detector each frame is
taken as one face (pre-cropped image folders). Alignment the card asks for uses the
detector's landmarks, else eye centres estimated by ``EyeLandmarker``, else a box crop:
the run's ``warnings`` say which happened and how often.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference.detect import (
    Detection,
    DetectorUnavailable,
    EyeLandmarker,
    FaceDetector,
)
from faceexplorer.inference.postprocess import Prediction, decode
from faceexplorer.inference.preprocess import face_crop, to_tensor
from faceexplorer.inference.session import ModelSession
from faceexplorer.inference.sources import Frame, FrameSource

__all__ = ["Pipeline", "Prediction", "Prepared", "RunResult", "StageTimes"]
STAGES = ("read", "detect", "preprocess", "infer", "postprocess")


@dataclass
class StageTimes:
    """Seconds spent per frame in each stage."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})

    def add(self, stage: str, seconds: float) -> None:
        """Record one frame's time in ``stage``."""
        self.seconds[stage].append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per stage: frames timed, median and mean in milliseconds."""
        return {s: {"n": len(v), "median_ms": float(np.median(v)) * 1e3 if v else 0.0,
                    "mean_ms": float(np.mean(v)) * 1e3 if v else 0.0}
                for s, v in self.seconds.items()}


@dataclass(frozen=True)
class Prepared:
    """A frame's faces and the model's input batch for them (None: no face found)."""

    frame: Frame
    detections: list[Detection]
    batch: np.ndarray | None
    aligned: list[bool]


@dataclass
class RunResult:
    """Everything a run produced, including why it ended."""

    predictions: list[Prediction]
    frames: int
    frames_with_faces: int
    end_reason: str
    warnings: list[str]
    timings: StageTimes
    model_name: str
    model_sha256: str
    detector: str

    @property
    def invalid(self) -> int:
        """Predictions flagged invalid (NaN/Inf outputs)."""
        return sum(not p.valid for p in self.predictions)


class Pipeline:
    """Runs one model on the faces of frames.

    Parameters
    ----------
    model : ModelSession
        From ``session.open_model``.
    detector : FaceDetector or None
        None: every frame is one face.
    faces : {"all", "largest"}
        Which detected faces go to the model.
    """

    def __init__(self, model: ModelSession, detector: FaceDetector | None,
                 faces: str = "all") -> None:
        if faces not in ("all", "largest"):
            raise ValueError(f"faces must be 'all' or 'largest', not {faces!r}")
        self.model, self.detector, self.faces = model, detector, faces
        self.timings = StageTimes()
        self.warnings: list[str] = []
        self.counts = {"aligned_landmarks": 0, "aligned_eyes": 0, "box_fallback": 0, "nan": 0}
        self._eyes: EyeLandmarker | None = None
        self._last_image: str | None = None  # file name of the last frame from a folder
        wants_alignment = model.card.input.crop == "aligned"
        if wants_alignment and detector is not None and not detector.gives_landmarks:
            try:
                self._eyes = EyeLandmarker()
                how = "eye centres are estimated with OpenCV's Haar eye cascade (nose and " \
                      "mouth placed by the template); faces without two eyes found are " \
                      "box-cropped"
            except DetectorUnavailable:
                how = "no eye cascade is available either, so faces are box-cropped"
            self.warnings.append(
                f"{model.card.name} expects 5-point aligned faces, but the {detector.name} "
                f"detector gives no landmarks: {how}. Results may differ from the published "
                "ones; supply YuNet's ONNX file for real landmarks.")
        elif wants_alignment and detector is None:
            self.warnings.append(f"{model.card.name} expects 5-point aligned faces, but no "
                                 "detector is used: whole frames are fed as faces.")

    def _detections(self, image: np.ndarray) -> list[Detection]:
        if self.detector is None:
            h, w = image.shape[:2]
            return [Detection(box=(0.0, 0.0, float(w), float(h)), score=1.0)]
        found = self.detector.detect(image)
        if self.faces == "largest" and found:
            found = [max(found, key=lambda d: d.box[2] * d.box[3])]
        return found

    def _crop(self, image: np.ndarray, det: Detection) -> tuple[np.ndarray, bool]:
        spec = self.model.card.input
        points = det.landmarks5
        if spec.crop == "aligned" and self.detector is not None:
            if points is not None:
                self.counts["aligned_landmarks"] += 1
            elif self._eyes is not None and (points := self._eyes.landmarks(image, det.box)) \
                    is not None:
                self.counts["aligned_eyes"] += 1
            else:
                self.counts["box_fallback"] += 1
        aligned = spec.crop == "aligned" and points is not None
        return face_crop(image, spec, det.box, points), aligned

    def prepare(self, frame: Frame) -> Prepared:
        """Detect the faces of one frame and make the model's input batch.

        Live mode runs this on its own thread while the model runs on the previous frame.

        Raises
        ------
        DetectorUnavailable
            When the detector fails on the frame (a wrong YuNet file).
        """
        image = frame.image if frame.image.ndim == 3 else cv2.cvtColor(frame.image,
                                                                       cv2.COLOR_GRAY2BGR)
        reset = getattr(self.detector, "reset", None)
        if frame.name and frame.name != self._last_image and reset is not None:
            reset()  # images of a folder are unrelated: no face is tracked across them
        self._last_image = frame.name or None
        t0 = time.perf_counter()
        dets = self._detections(image)
        t1 = time.perf_counter()
        self.timings.add("detect", t1 - t0)
        if not dets:
            return Prepared(frame, [], None, [])
        crops, aligned = zip(*(self._crop(image, d) for d in dets), strict=True)
        batch = to_tensor(list(crops), self.model.card.input)
        self.timings.add("preprocess", time.perf_counter() - t1)
        return Prepared(frame, dets, batch, list(aligned))

    def infer(self, prepared: Prepared) -> list[Prediction]:
        """Run the model on a prepared batch and decode its outputs (empty: no face).

        Raises
        ------
        ModelLoadError
            When onnxruntime fails to run the model.
        """
        if prepared.batch is None:
            return []
        frame = prepared.frame
        t2 = time.perf_counter()
        raw = self.model.run(prepared.batch)
        t3 = time.perf_counter()
        preds = decode(self.model.card, raw, frame.index, frame.timestamp_s,
                       [d.box for d in prepared.detections], prepared.aligned)
        self.timings.add("infer", t3 - t2)
        self.timings.add("postprocess", time.perf_counter() - t3)
        self.counts["nan"] += sum(not p.valid for p in preds)
        return preds

    def process(self, frame: Frame) -> list[Prediction]:
        """Predictions for the faces of one frame (empty when no face is found).

        Raises
        ------
        ModelLoadError, DetectorUnavailable
            When onnxruntime or the detector fails.
        """
        return self.infer(self.prepare(frame))

    def run(self, source: FrameSource | Iterator[Frame], max_frames: int | None = None,
            on_prediction: Callable[[Prediction], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> RunResult:
        """Run over a source; never raises for source or model trouble after the start.

        Parameters
        ----------
        source : FrameSource
            Camera, video or images.
        max_frames : int, optional
            Stop after this many frames.
        on_prediction : callable, optional
            Called with each prediction as it is made (for progress and live views).
        should_stop : callable, optional
            Polled once per frame; True ends the run ("stopped by the user").
        """
        predictions: list[Prediction] = []
        frames = with_faces = 0
        end_reason = ""
        iterator = iter(source)
        while True:
            t0 = time.perf_counter()
            try:
                frame = next(iterator)
            except StopIteration:
                break
            except (FaceExplorerError, cv2.error, OSError) as exc:
                end_reason = f"reading frames failed after {frames} frames: {exc}"
                break
            self.timings.add("read", time.perf_counter() - t0)
            try:
                preds = self.process(frame)
            except FaceExplorerError as exc:
                end_reason = f"stopped at frame {frame.index}: {exc}"
                break
            frames += 1
            with_faces += bool(preds)
            predictions.extend(preds)
            if on_prediction is not None:
                for p in preds:
                    on_prediction(p)
            if max_frames is not None and frames >= max_frames:
                end_reason = f"stopped after {frames} frames (frame limit)"
                break
            if should_stop is not None and should_stop():
                end_reason = f"stopped by the user after {frames} frames"
                break
        if isinstance(source, FrameSource):
            source.close()
            end_reason = end_reason or source.end_reason or "end of source"
        return RunResult(
            predictions=predictions, frames=frames, frames_with_faces=with_faces,
            end_reason=end_reason or "end of source", warnings=self.warnings + self._tally(),
            timings=self.timings, model_name=self.model.card.name,
            model_sha256=self.model.sha256,
            detector=self.detector.name if self.detector else "none (whole frames)")

    def _tally(self) -> list[str]:
        c, notes = self.counts, []
        if self.model.card.input.crop == "aligned" and self.detector is not None:
            total = c["aligned_landmarks"] + c["aligned_eyes"] + c["box_fallback"]
            if c["aligned_eyes"] or c["box_fallback"]:
                notes.append(f"alignment: {c['aligned_landmarks']} of {total} faces from "
                             f"detector landmarks, {c['aligned_eyes']} from estimated eyes, "
                             f"{c['box_fallback']} box-cropped")
        if c["nan"]:
            notes.append(f"{c['nan']} face(s) got NaN/Inf outputs: flagged invalid, kept")
        return notes
