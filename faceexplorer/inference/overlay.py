"""What the live view draws onto a frame with OpenCV: the face boxes, nothing over the face.

Drawn headless (no Qt), so the picture on screen and the PNG a snapshot writes are the
same pixels, and tests can check them without a window. Per face: its box and, above it
(inside the frame's top edge when the box touches it), one small label - the most probable
expression and its probability, or "face N" for a model without expressions. Everything
else the model says (every expression's probability, valence/arousal, AUs) is shown in
the panel beside the video (``faceexplorer.gui.live.panel``): drawn over the face it
hid the eyes and brows a user wants to see. A prediction older than the frame (the model
runs on the newest frame it can take, so boxes lag by a few frames) is drawn as is; an
invalid one (NaN outputs) is a red box with its message.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from faceexplorer.inference.postprocess import Prediction

BOX = (60, 220, 60)          # BGR
BAD = (40, 40, 230)
TEXT = (245, 245, 245)
PANEL = (30, 30, 30)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def box_label(pred: Prediction) -> str:
    """The one label drawn above a face's box."""
    if not pred.valid:
        return "model output NaN/Inf"
    if pred.expression:
        top = pred.top_expression
        return f"{top} {100 * pred.expression[top]:.0f}%"
    return f"face {pred.face_index + 1}"


def _label(img: np.ndarray, text: str, x: int, y: int, scale: float,
           colour: tuple[int, int, int]) -> None:
    """``text`` on a dark strip whose bottom-left is just above (x, y), kept in the frame."""
    (tw, th), base = cv2.getTextSize(text, FONT, 0.45 * scale, 1)
    h, w = img.shape[:2]
    x0 = min(max(0, x), max(0, w - tw - 6))
    y1 = y - 2 if y - th - base - 6 >= 0 else y + th + base + 6  # no room: inside the box
    y0 = y1 - th - base - 4
    x1 = x0 + tw + 6
    roi = img[max(0, y0):min(h, y1), x0:min(w, x1)]
    roi[:] = (roi * 0.35 + np.array(PANEL) * 0.65).astype(np.uint8)
    cv2.putText(img, text, (x0 + 3, y1 - base - 2), FONT, 0.45 * scale, colour, 1,
                cv2.LINE_AA)


def draw_overlay(image: np.ndarray, preds: Sequence[Prediction]) -> np.ndarray:
    """A BGR copy of ``image`` with each face's box and one label above it.

    Parameters
    ----------
    image : ndarray
        (h, w, 3) uint8 BGR frame (or (h, w) gray); left untouched.
    preds : sequence of Prediction
        The faces to draw (usually the newest prediction, made on a recent frame).
    """
    out = np.ascontiguousarray(image if image.ndim == 3 else
                               cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)).copy()
    scale = max(0.8, min(2.5, out.shape[0] / 480))
    for p in preds:
        x, y, w, h = (int(round(v)) for v in p.box)
        colour = BOX if p.valid else BAD
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, 2)
        _label(out, box_label(p), x, y, scale, TEXT if p.valid else BAD)
    return out


def fit_bgra(image: np.ndarray, fit: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit ``fit`` = (width, height), keeping its aspect, as BGRA.

    Done on the capture thread, so the GUI thread only wraps the bytes in a QImage.
    """
    h, w = image.shape[:2]
    scale = min(fit[0] / w, fit[1] / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = image if size == (w, h) else cv2.resize(image, size, interpolation=method)
    return cv2.cvtColor(scaled, cv2.COLOR_BGR2BGRA)
