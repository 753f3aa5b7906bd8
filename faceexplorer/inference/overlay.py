"""Predictions drawn onto a frame with OpenCV: what the live view shows and snapshots save.

Drawn headless (no Qt), so the picture on screen and the PNG a snapshot writes are the
same pixels, and tests can check them without a window. Per face: its box, and beside it
one bar per expression (the top one highlighted). Per frame: a small valence-arousal
disc in the top-right corner with each face's point, and a strip of AU bars along the
bottom for AU models. A prediction older than the frame (the model runs on the newest
frame it can take, so boxes lag by a few frames) is drawn as is; an invalid one (NaN
outputs) is a red box with its message.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from faceexplorer.inference.postprocess import Prediction

BOX = (60, 220, 60)          # BGR
BAD = (40, 40, 230)
BAR = (230, 170, 60)
TOP_BAR = (60, 200, 255)
TEXT = (245, 245, 245)
PANEL = (30, 30, 30)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float,
          colour: tuple[int, int, int] = TEXT) -> None:
    cv2.putText(img, text, org, FONT, scale, colour, 1, cv2.LINE_AA)


def _shade(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, alpha: float = 0.6) -> None:
    """Darken a rectangle so bars and labels stay readable on any background."""
    h, w = img.shape[:2]
    x0, x1, y0, y1 = max(0, x0), min(w, x1), max(0, y0), min(h, y1)
    if x1 > x0 and y1 > y0:
        roi = img[y0:y1, x0:x1]
        roi[:] = (roi * (1 - alpha) + np.array(PANEL) * alpha).astype(np.uint8)


def expression_bars(img: np.ndarray, pred: Prediction, scale: float) -> None:
    """One labelled bar per expression beside the face box (right side, else left)."""
    x, y, w, _ = (int(round(v)) for v in pred.box)
    row, bar_w, label_w = max(9, int(12 * scale)), int(70 * scale), int(62 * scale)
    num_w = int(30 * scale)
    width = label_w + bar_w + num_w + 4
    height = row * len(pred.expression) + 4
    left = x + w + 4 if x + w + 4 + width <= img.shape[1] else max(0, x - width - 4)
    top = min(max(0, y), max(0, img.shape[0] - height))
    _shade(img, left, top, left + width, top + height)
    best = pred.top_expression
    for k, (label, p) in enumerate(pred.expression.items()):
        yy = top + 2 + k * row
        _text(img, label[:8], (left + 2, yy + row - 3), 0.33 * scale)
        length = int(round(bar_w * min(max(p, 0.0), 1.0)))
        colour = TOP_BAR if label == best else BAR
        cv2.rectangle(img, (left + label_w, yy + 2), (left + label_w + max(length, 1),
                                                      yy + row - 2), colour, -1)
        _text(img, f"{100 * p:.0f}%", (left + label_w + bar_w + 3, yy + row - 3), 0.3 * scale)


def va_disc(img: np.ndarray, preds: Sequence[Prediction], scale: float) -> None:
    """The valence (x) - arousal (y, up) unit disc in the top-right corner."""
    radius = int(38 * scale)
    cx, cy = img.shape[1] - radius - 8, radius + 8
    _shade(img, cx - radius - 4, cy - radius - 4, cx + radius + 4, cy + radius + 14)
    cv2.circle(img, (cx, cy), radius, TEXT, 1, cv2.LINE_AA)
    cv2.line(img, (cx - radius, cy), (cx + radius, cy), (150, 150, 150), 1)
    cv2.line(img, (cx, cy - radius), (cx, cy + radius), (150, 150, 150), 1)
    _text(img, "V", (cx + radius - 8, cy - 3), 0.3 * scale)
    _text(img, "A", (cx + 3, cy - radius + 10), 0.3 * scale)
    placed = [p for p in preds if p.valence is not None and p.arousal is not None]
    for k, p in enumerate(placed):
        v, a = float(np.clip(p.valence, -1, 1)), float(np.clip(p.arousal, -1, 1))
        cv2.circle(img, (int(round(cx + v * radius)), int(round(cy - a * radius))),
                   max(3, int(4 * scale)), TOP_BAR, -1, cv2.LINE_AA)
        if k == 0:  # one face's numbers fit under the disc; the others get their point
            _text(img, f"V {v:+.2f} A {a:+.2f}", (cx - radius, cy + radius + 11),
                  0.3 * scale)


def au_strip(img: np.ndarray, pred: Prediction, scale: float) -> None:
    """Vertical AU bars along the bottom edge; present AUs (over threshold) highlighted."""
    n = len(pred.aus)
    height = int(60 * scale)
    h, w = img.shape[:2]
    slot = max(8, min(int(28 * scale), (w - 8) // max(n, 1)))
    _shade(img, 0, h - height - 14, 8 + slot * n, h)
    for k, (label, p) in enumerate(pred.aus.items()):
        x0 = 4 + k * slot
        length = int(round(height * min(max(p, 0.0), 1.0)))
        colour = TOP_BAR if pred.aus_present.get(label) else BAR
        cv2.rectangle(img, (x0 + 1, h - 12 - max(length, 1)), (x0 + slot - 2, h - 12),
                      colour, -1)
        _text(img, label.removeprefix("AU"), (x0, h - 2), 0.28 * scale)


def draw_overlay(image: np.ndarray, preds: Sequence[Prediction]) -> np.ndarray:
    """A BGR copy of ``image`` with the predictions drawn on it.

    Parameters
    ----------
    image : ndarray
        (h, w, 3) uint8 BGR frame; left untouched.
    preds : sequence of Prediction
        The faces to draw (usually the newest prediction, made on a recent frame).
    """
    out = np.ascontiguousarray(image if image.ndim == 3 else
                               cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)).copy()
    scale = max(0.8, min(2.5, out.shape[0] / 480))
    for p in preds:
        x, y, w, h = (int(round(v)) for v in p.box)
        cv2.rectangle(out, (x, y), (x + w, y + h), BOX if p.valid else BAD, 2)
        if not p.valid:
            _text(out, "model output NaN/Inf", (x, max(12, y - 6)), 0.4 * scale, BAD)
            continue
        if p.expression:
            expression_bars(out, p, scale)
    valid = [p for p in preds if p.valid]
    if any(p.valence is not None for p in valid):
        va_disc(out, valid, scale)
    with_aus = [p for p in valid if p.aus]
    if with_aus:
        au_strip(out, max(with_aus, key=lambda p: p.box[2] * p.box[3]), scale)
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
