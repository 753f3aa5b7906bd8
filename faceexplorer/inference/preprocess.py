"""From a BGR frame and a face to the model's input tensor, exactly as its card says.

Two crops: ``box`` (the detector's box made square around its centre, grown by
``margin`` x its size on every side, padded with black where it leaves the frame, then
resized) and ``aligned`` (a similarity transform from the face's 5 points - eyes, nose
tip, mouth corners, in the image's left-to-right order - onto the ArcFace 112x112
template scaled to the input size). Then colour order (or grey, one channel, for
``GRAY`` cards), ``(v / divide_by - mean) / std`` and the layout. Everything works on
float32; no per-pixel Python.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceexplorer.inference.cards import InputSpec

#: ArcFace 5-point template on 112x112: left eye, right eye, nose tip, left and right
#: mouth corner (as seen in the image).
ARCFACE_112 = np.array([
    [38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
    [41.5493, 92.3655], [70.7299, 92.2041],
], dtype=np.float32)


def template_for(size: tuple[int, int]) -> np.ndarray:
    """The ArcFace template scaled to an input of ``size`` = (height, width)."""
    h, w = size
    return ARCFACE_112 * np.array([w / 112.0, h / 112.0], dtype=np.float32)


def _umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (2x3); the fallback when OpenCV gives none."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ fix @ vt
    scale = float(np.trace(np.diag(sig) @ fix) / max(s.var(0).sum(), 1e-12))
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def alignment_matrix(landmarks5: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """2x3 similarity transform taking the 5 points onto the template for ``size``."""
    src = np.asarray(landmarks5, np.float32).reshape(5, 2)
    dst = template_for(size)
    # LMEDS: no threshold to tune, and one bad landmark cannot tilt the whole face.
    m, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    return m if m is not None else _umeyama(src.astype(np.float64), dst.astype(np.float64))


def align_face(frame: np.ndarray, landmarks5: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The face warped onto the template: a (height, width, 3) crop of ``frame``."""
    h, w = size
    m = alignment_matrix(landmarks5, size)
    return cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def square_box(box: tuple[float, float, float, float], margin: float
               ) -> tuple[float, float, float]:
    """Centre x, centre y and side of the square crop a box and margin ask for."""
    x, y, bw, bh = box
    side = max(bw, bh) * (1.0 + 2.0 * margin)
    return x + bw / 2.0, y + bh / 2.0, side


def crop_box(frame: np.ndarray, box: tuple[float, float, float, float], margin: float,
             size: tuple[int, int]) -> np.ndarray:
    """The square face crop around ``box`` (x, y, w, h), resized to ``size``.

    Parts outside the frame are black, so a face at the border keeps its proportions.
    """
    h, w = size
    cx, cy, side = square_box(box, margin)
    # One affine warp does crop, pad and resize in a single pass.
    s = w / side, h / side
    m = np.array([[s[0], 0, w / 2.0 - s[0] * cx], [0, s[1], h / 2.0 - s[1] * cy]])
    interp = cv2.INTER_AREA if side > max(h, w) else cv2.INTER_LINEAR
    return cv2.warpAffine(frame, m, (w, h), flags=interp,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def to_tensor(crops: list[np.ndarray], spec: InputSpec) -> np.ndarray:
    """Stack BGR uint8 crops into the model's float32 batch (colour, scale, mean/std, layout).

    ``GRAY`` gives one channel: ``(N, 1, H, W)`` or ``(N, H, W, 1)``.
    """
    if spec.colour == "GRAY":
        batch = np.stack([cv2.cvtColor(c, cv2.COLOR_BGR2GRAY) if c.ndim == 3 else c
                          for c in crops]).astype(np.float32)[..., None]
        mean = np.float32(spec.mean[0])
        std = np.float32(spec.std[0])
    else:
        batch = np.stack(crops).astype(np.float32)
        if spec.colour == "RGB":
            batch = batch[..., ::-1]
        mean = np.asarray(spec.mean, np.float32)
        std = np.asarray(spec.std, np.float32)
    batch = (batch / np.float32(spec.divide_by) - mean) / std
    if spec.layout == "NCHW":
        batch = batch.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch, dtype=np.float32)


def face_crop(frame: np.ndarray, spec: InputSpec, box: tuple[float, float, float, float],
              landmarks5: np.ndarray | None) -> np.ndarray:
    """The crop the card asks for; ``aligned`` needs ``landmarks5`` (else a box crop)."""
    if spec.crop == "aligned" and landmarks5 is not None:
        return align_face(frame, landmarks5, spec.size)
    return crop_box(frame, box, spec.margin, spec.size)
