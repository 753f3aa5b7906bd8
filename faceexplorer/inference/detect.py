"""Offline face detection: OpenCV's bundled Haar cascade, or YuNet from the user's ONNX.

Both give ``Detection(box, score, landmarks5)``; only YuNet gives the 5 points
(eyes, nose tip, mouth corners, ordered left to right as seen in the image, like the
ArcFace template). When a card asks for aligned faces and the detector has no landmarks,
``EyeLandmarker`` estimates the eye centres with the Haar eye cascade and places nose and
mouth by the template; where it finds no two eyes the face is box-cropped. The pipeline
says so once per run. Haar cascades ship with OpenCV 4.x wheels only (5.0 removed them):
their absence is a clear ``DetectorUnavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference.preprocess import ARCFACE_112

Box = tuple[float, float, float, float]
#: Frames are scaled down to this longest side for the Haar search (webcam HD is 4x slower).
HAAR_MAX_SIDE = 640


class DetectorUnavailable(FaceExplorerError):
    """A face detector cannot be created (missing cascade or model file)."""


@dataclass(frozen=True)
class Detection:
    """A face: box (x, y, w, h) in frame pixels, score, and (5, 2) landmarks or None."""

    box: Box
    score: float
    landmarks5: np.ndarray | None = None


class FaceDetector(Protocol):
    """What the pipeline needs of a detector."""

    name: str
    gives_landmarks: bool

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces in a BGR frame, best first."""
        ...


def haar_file(name: str) -> Path:
    """Path of a cascade bundled with OpenCV, or ``DetectorUnavailable`` saying why not."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = Path(folder) / name if folder else None
    if path is None or not path.is_file() or not hasattr(cv2, "CascadeClassifier"):
        raise DetectorUnavailable(
            f"OpenCV {cv2.__version__} has no bundled Haar cascade {name} (OpenCV 5 removed "
            "them). Install opencv-python-headless>=4.8,<5, or supply a YuNet ONNX file "
            "(face_detection_yunet_*.onnx) as the face detector.")
    return path


def _cascade(name: str) -> cv2.CascadeClassifier:
    path = haar_file(name)
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise DetectorUnavailable(f"{path}: OpenCV could not read this Haar cascade")
    return cascade


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame


class HaarFaceDetector:
    """Frontal faces with ``haarcascade_frontalface_default.xml``; score = neighbour count.

    Parameters
    ----------
    min_size : float
        Smallest face as a fraction of the frame's shorter side. 0.15 (72 px at 480p)
        suits a webcam: on 2 busy cores a 640x480 frame took 156 ms, against 484 ms at
        0.08. Lower it for distant faces.
    scale_factor, min_neighbors : float, int
        As ``cv2.CascadeClassifier.detectMultiScale``.
    min_face_px : int, optional
        Scale the frame down (never up) so the smallest face searched is this many pixels
        (the cascade's window is 24): live mode uses 40, which halves the cost of a
        640x480 frame for webcam-sized faces. None keeps the frame (up to
        ``HAAR_MAX_SIDE``), finer boxes for the batch runs.
    """

    name = "Haar cascade (OpenCV)"
    gives_landmarks = False

    def __init__(self, min_size: float = 0.15, scale_factor: float = 1.1,
                 min_neighbors: int = 5, min_face_px: int | None = None) -> None:
        self._cascade = _cascade("haarcascade_frontalface_default.xml")
        self.min_size, self.scale_factor, self.min_neighbors = min_size, scale_factor, min_neighbors
        self.min_face_px = min_face_px

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces in a BGR frame, largest first."""
        gray = _gray(frame)
        f = min(1.0, HAAR_MAX_SIDE / max(gray.shape))
        if self.min_face_px is not None:
            f = min(f, self.min_face_px / (self.min_size * min(gray.shape)))
        side = max(20, int(self.min_size * min(gray.shape) * f))
        return self.search(gray, f, side)

    def search(self, gray: np.ndarray, f: float, min_px: int, max_px: int | None = None,
               offset: tuple[float, float] = (0.0, 0.0)) -> list[Detection]:
        """Faces of ``min_px``..``max_px`` (scaled pixels) in ``gray`` scaled by ``f``.

        Boxes come back in the unscaled pixels of ``gray``, shifted by ``offset``
        (where ``gray`` sits in the frame): the tracker searches small regions this way.
        """
        if f < 1.0:
            gray = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        big = (max_px, max_px) if max_px is not None else None
        rects, neighbours = self._cascade.detectMultiScale2(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(min_px, min_px), **({"maxSize": big} if big else {}))
        ox, oy = offset
        found = [Detection(box=(r[0] / f + ox, r[1] / f + oy, r[2] / f, r[3] / f),
                           score=float(n))
                 for r, n in zip(np.asarray(rects, np.float64).reshape(-1, 4),
                                 np.asarray(neighbours).reshape(-1), strict=True)]
        return sorted(found, key=lambda d: -d.box[2] * d.box[3])


def describe_settings(detector: object) -> str:
    """The settings a detector really runs with, in a few words (for the windows' notes).

    Read from the detector itself (Haar, the tracking Haar of ``track``, or YuNet), so
    the text stays true whatever built it.
    """
    base = getattr(detector, "base", None)
    haar = base if isinstance(base, HaarFaceDetector) else detector
    if isinstance(haar, HaarFaceDetector):
        text = (f"Haar: faces ≥ {haar.min_size:.0%} of the shorter side"
                + (f" (searched at ≥ {haar.min_face_px} px)" if haar.min_face_px else "")
                + f", scale step {haar.scale_factor:g}, {haar.min_neighbors} neighbours")
        every = getattr(detector, "redetect_every", None)
        if base is not None and every:
            text += f", tracked (whole frame searched every {every}th frame)"
        return text
    if isinstance(detector, YuNetFaceDetector):
        return (f"YuNet ({detector.path.name}): score ≥ {detector.score_threshold:g}, "
                f"NMS {detector.nms_threshold:g}, at most {detector.top_k} faces")
    return getattr(detector, "name", type(detector).__name__)


def largest_face_box(rgb: np.ndarray) -> tuple[float, float, float, float] | None:
    """The largest Haar-cascade face of an RGB image, or None (no face or no cascade).

    What the depth view hands :func:`faceexplorer.media.depth.build_scene` to place a
    RaFD depth crop (media takes the detector as a parameter, never imports one).
    """
    try:
        found = HaarFaceDetector().detect(np.ascontiguousarray(rgb[..., ::-1]))
    except DetectorUnavailable:
        return None
    return found[0].box if found else None


class YuNetFaceDetector:
    """YuNet (``cv2.FaceDetectorYN``) from a user-supplied ONNX file; gives 5 landmarks."""

    name = "YuNet"
    gives_landmarks = True

    def __init__(self, model_path: Path | str, score_threshold: float = 0.7,
                 nms_threshold: float = 0.3, top_k: int = 50) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise DetectorUnavailable(f"{path}: no such YuNet model file")
        if not hasattr(cv2, "FaceDetectorYN"):
            raise DetectorUnavailable(f"OpenCV {cv2.__version__} has no FaceDetectorYN "
                                      "(YuNet needs OpenCV >= 4.5.4)")
        try:
            self._net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), score_threshold,
                                                  nms_threshold, top_k)
        except cv2.error as exc:
            raise DetectorUnavailable(f"{path}: OpenCV cannot load this file as a YuNet face "
                                      f"detector ({str(exc).strip().splitlines()[-1]})") from None
        self._size: tuple[int, int] | None = None
        self.path = path
        self.score_threshold, self.nms_threshold, self.top_k = (score_threshold,
                                                                nms_threshold, top_k)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces in a BGR frame, best score first, with their 5 landmarks."""
        h, w = frame.shape[:2]
        if self._size != (w, h):
            self._net.setInputSize((w, h))
            self._size = (w, h)
        image = frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        try:
            _, faces = self._net.detect(image)
        except cv2.error as exc:  # OpenCV loads any ONNX here; a wrong one fails only now
            raise DetectorUnavailable(
                f"{self.path}: this ONNX file does not work as a YuNet face detector "
                f"({str(exc).strip().splitlines()[-1]}); expected "
                "face_detection_yunet_*.onnx from the OpenCV model zoo") from None
        if faces is None:
            return []
        # Row: x, y, w, h, then eye, eye, nose, mouth, mouth (image left to right), score.
        found = [Detection(box=tuple(float(v) for v in r[:4]), score=float(r[14]),
                           landmarks5=np.asarray(r[4:14], np.float32).reshape(5, 2))
                 for r in faces]
        return sorted(found, key=lambda d: -d.score)


class EyeLandmarker:
    """Five alignment points estimated from Haar eye detections inside a face box.

    The eyes are searched in the box's upper half; the two largest hits, one on each side
    of the box centre, fix a similarity transform from the template's eyes, which places
    the template's nose and mouth corners. ``None`` when two eyes are not found.
    """

    def __init__(self) -> None:
        self._cascade = _cascade("haarcascade_eye.xml")

    def landmarks(self, frame: np.ndarray, box: Box) -> np.ndarray | None:
        """(5, 2) points in frame pixels, or None."""
        x, y, w, h = (int(round(v)) for v in box)
        x0, y0 = max(0, x), max(0, y)
        roi = _gray(frame)[y0:y + int(h * 0.6), x0:x + w]
        if roi.size == 0 or min(roi.shape) < 20:
            return None
        side = max(8, w // 10)
        eyes = np.asarray(self._cascade.detectMultiScale(
            cv2.equalizeHist(roi), scaleFactor=1.1, minNeighbors=4, minSize=(side, side),
            maxSize=(w // 2, w // 2))).reshape(-1, 4)
        centres = [(ex + ew / 2 + x0, ey + eh / 2 + y0, ew * eh) for ex, ey, ew, eh in eyes]
        mid = x + w / 2
        left = [c for c in centres if c[0] < mid]
        right = [c for c in centres if c[0] >= mid]
        if not left or not right:
            return None
        pair = np.array([max(left, key=lambda c: c[2])[:2], max(right, key=lambda c: c[2])[:2]],
                        np.float32)
        # Two point pairs fix a similarity exactly: as complex numbers, q = p0 + z (t - t0).
        t = ARCFACE_112[:, 0] + 1j * ARCFACE_112[:, 1]
        p = pair[:, 0] + 1j * pair[:, 1]
        q = p[0] + (p[1] - p[0]) / (t[1] - t[0]) * (t - t[0])
        return np.stack([q.real, q.imag], axis=1).astype(np.float32)
