"""Synthetic faces drawn with OpenCV, and their depth and surface-normal maps.

The geometry comes from ``face_model`` (landmarks and contours in a canonical face frame
mapped to pixels); this module only paints it: background, hair, neck, a skin shaded
from the same depth field ``draw_depth`` writes (which is what makes the flat drawing
read as a face), then wrinkles, eyes, brows, nose and mouth with anti-aliased strokes.
The public names of the face model are re-exported, so callers import from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from faceexplorer.samples.face_model import (
    ACTIONS,
    AU_ACTIONS,
    FaceParams,
    _Geometry,
    _geometry,
    _to_px,
    action_names,
    fit_params,
    landmark_template,
    params_for_aus,
    params_for_expression,
    random_appearance,
    with_actions,
)

__all__ = [
    "ACTIONS", "AU_ACTIONS", "DrawnFace", "FaceParams", "action_names", "draw_depth",
    "draw_face", "fit_params", "landmark_template", "normals_from_depth", "params_for_aus",
    "params_for_expression", "random_appearance", "with_actions",
]


@dataclass(frozen=True)
class DrawnFace:
    """A drawn face: BGR image, face box ``(x, y, w, h)`` and (68, 2) iBUG landmarks."""

    image: np.ndarray
    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    params: FaceParams = field(repr=False)


# Expression templates in action terms (EMFACS prototypes); values scale with intensity.


def _canonical_grid(g: _Geometry, h: int, w: int, step: float = 1.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    inv = cv2.invertAffineTransform(g.matrix)
    v, u = np.mgrid[0:h, 0:w].astype(np.float32) * np.float32(step)
    return (inv[0, 0] * u + inv[0, 1] * v + inv[0, 2],
            inv[1, 0] * u + inv[1, 1] * v + inv[1, 2])


def _poly_mask(g: _Geometry, pts: np.ndarray, h: int, w: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(_to_px(g, pts) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    return mask


def _surface(p: FaceParams, g: _Geometry, h: int, w: int, grid: int
             ) -> tuple[np.ndarray, float]:
    """Height of the face surface (canonical units) on a coarse grid, and the grid step.

    The surface is smooth, so a grid of at most ``grid`` px is enough; callers resize it.
    """
    step = max(1.0, max(h, w) / grid)
    lh, lw = int(math.ceil(h / step)), int(math.ceil(w / step))
    x, y = _canonical_grid(g, lh, lw, step)
    lm = g.landmarks
    by = np.where(y < 0, 1.3, 1.25 + 0.35 * p.jaw_drop)
    z = 0.85 * np.sqrt(np.clip(1 - x ** 2 - (y / by) ** 2, 0.0025, 1))

    def bump(x0: float, y0: float, sx: float, sy: float) -> np.ndarray:
        return np.exp(-0.5 * (((x - x0) / sx) ** 2 + ((y - y0) / sy) ** 2))

    top, tip = lm[27], lm[30]
    s = np.clip((y - top[1]) / (tip[1] - top[1]), 0, 1) * (y < lm[33][1] + 0.03)
    ridge_x = top[0] + s * (tip[0] - top[0])
    z += (0.06 + 0.2 * s) * np.exp(-0.5 * ((x - ridge_x) / (0.05 + 0.04 * s)) ** 2) * (s > 0)
    z += 0.08 * bump(lm[33][0], lm[33][1] - 0.03, 0.13, 0.05)
    for brow, eye in ((lm[17:22], lm[36:42]), (lm[22:27], lm[42:48])):
        bc, ec = brow.mean(0), eye.mean(0)
        z += 0.06 * bump(bc[0], bc[1] + 0.04, 0.22, 0.06)
        z -= 0.08 * bump(ec[0], ec[1], 0.15, 0.09)
        z += 0.03 * bump(ec[0], ec[1], 0.09, 0.04)
        out = np.sign(ec[0]) * 0.06
        z += (0.05 + 0.07 * p.cheek_raise) * bump(ec[0] + out, ec[1] + 0.32 - 0.06 * p.cheek_raise,
                                                   0.15, 0.13)
    mc = lm[48:60].mean(0)
    z += 0.06 * bump(mc[0], mc[1], 0.22, 0.08)
    z += 0.05 * bump(lm[8][0], lm[8][1] - 0.17, 0.16, 0.1)
    return z.astype(np.float32), step


def _depth_field(p: FaceParams, g: _Geometry, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Full-size face height (0 off the face, open mouth sunk in) and the face's AA mask."""
    z, step = _surface(p, g, h, w, 96)
    if step > 1:
        z = cv2.resize(z, (w, h), interpolation=cv2.INTER_LINEAR)
    mask = _poly_mask(g, g.outline, h, w)
    inner = _poly_mask(g, g.lips_inner, h, w).astype(np.float32) / 255
    z -= 0.25 * inner
    return z * (mask > 0), mask


def _normals(z: np.ndarray, px: float) -> np.ndarray:
    dzdx = np.gradient(z * px, axis=1)
    dzdy = np.gradient(z * px, axis=0)
    n = np.stack([-dzdx, -dzdy, np.ones_like(dzdx)], -1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def _blend(img: np.ndarray, colour: np.ndarray | tuple, alpha: np.ndarray) -> None:
    """Alpha-blend (alpha 0..255) a colour or an image into ``img``, in place."""
    x, y, w, h = cv2.boundingRect((alpha > 0).astype(np.uint8))
    if not w:
        return
    win = (slice(y, y + h), slice(x, x + w))
    a = (alpha[win].astype(np.float32) / 255)[..., None]
    src = colour[win] if isinstance(colour, np.ndarray) and colour.ndim == 3 else colour
    img[win] = img[win] * (1 - a) + np.asarray(src, np.float32) * a


def _pts(g: _Geometry, pts: np.ndarray) -> np.ndarray:
    return np.round(_to_px(g, np.asarray(pts, np.float64)) * 16).astype(np.int32)


def _line(img: np.ndarray, g: _Geometry, pts: np.ndarray, colour: tuple, width: float,
          closed: bool = False) -> None:
    cv2.polylines(img, [_pts(g, pts)], closed, colour, max(1, round(width * g.px)),
                  cv2.LINE_AA, 4)


def _fill(img: np.ndarray, g: _Geometry, pts: np.ndarray, colour: tuple) -> None:
    cv2.fillPoly(img, [_pts(g, pts)], colour, cv2.LINE_AA, 4)


def _arc(x0: float, x1: float, y: float, bend: float, n: int = 12) -> np.ndarray:
    xs = np.linspace(x0, x1, n)
    return np.stack([xs, y - bend * np.sin(np.linspace(0, np.pi, n))], 1)


def draw_face(params: FaceParams, rng: np.random.Generator,
              size: tuple[int, int] = (256, 256)) -> DrawnFace:
    """Draw one face; the landmarks lie on the drawn features and the box encloses the face.

    Parameters
    ----------
    params : FaceParams
        Actions, pose and looks.
    rng : numpy.random.Generator
        Only for pixel noise; the geometry depends on ``params`` and ``size`` alone.
    size : (int, int)
        Image height and width in pixels.

    Returns
    -------
    DrawnFace
        ``image`` BGR uint8, ``box`` (x, y, w, h), ``landmarks`` float32 (68, 2) in iBUG order.
    """
    h, w = size
    p = fit_params(params, size)
    g = _geometry(p, h, w)
    lm = g.landmarks
    skin = np.asarray(p.skin, np.float32)
    dark = tuple(float(c) for c in skin * 0.62)
    bg = np.asarray(p.background, np.float32)
    ramp = np.linspace(1.08, 0.8, h, dtype=np.float32)[:, None, None]
    img = np.empty((h, w, 3), np.float32)
    img[:] = np.clip(bg * ramp, 0, 255)
    hair = tuple(float(c) for c in p.hair)
    if p.hair_style == 2:  # long hair falls behind the head
        t = np.radians(np.linspace(200, 340, 30))
        back = np.vstack([[-1.25, 1.6], np.stack([1.22 * np.cos(t), -0.05 + 1.42 * np.sin(t)], 1),
                          [1.25, 1.6]])
        _fill(img, g, back, hair)
    _fill(img, g, np.array([[-0.42, 0.7], [0.42, 0.7], [0.5, 2.2], [-0.5, 2.2]]),
          tuple(float(c) for c in skin * 0.78))
    shoulders = np.stack([2.0 * np.cos(np.linspace(np.pi, 2 * np.pi, 30)),
                          2.5 + 0.9 * np.sin(np.linspace(np.pi, 2 * np.pi, 30))], 1)
    _fill(img, g, shoulders, tuple(float(c) for c in p.shirt))
    ey = lm[36:48, 1].mean()
    for side in (-1, 1):
        ear = np.stack([side * (0.96 + 0.1 * np.cos(np.linspace(0, 2 * np.pi, 24))),
                        ey + 0.17 + 0.24 * np.sin(np.linspace(0, 2 * np.pi, 24))], 1)
        _fill(img, g, ear, tuple(float(c) for c in skin * 0.85))
    # skin: shaded with the depth field's normals, light from the upper left
    z, step = _surface(p, g, h, w, 64)
    n = _normals(z, g.px / step)
    light = np.array([-0.35, -0.45, 0.82], np.float32) / np.float32(1.0385)
    shade = cv2.resize(0.58 + 0.5 * np.clip(n @ light, 0, 1), (w, h))
    face_mask = _poly_mask(g, g.outline, h, w)
    x, y, bw, bh = cv2.boundingRect(face_mask)
    win = (slice(y, y + bh), slice(x, x + bw))
    a = face_mask[win].astype(np.float32)[..., None] / np.float32(255)
    img[win] = img[win] * (1 - a) + np.minimum(skin * shade[win][..., None], 255) * a
    if p.hair_style:
        t = np.radians(np.linspace(195, 345, 30))
        cap = np.stack([1.05 * np.cos(t), 1.38 * np.sin(t) + 0.02], 1)
        xs = np.linspace(0.99, -0.99, 20)
        line = np.stack([xs, -0.28 - 0.52 * np.sqrt(np.clip(1 - (xs / 0.99) ** 4, 0, 1))
                         - 0.04 * np.sin(5 * xs)], 1)
        cap_mask = _poly_mask(g, np.vstack([cap, line]), h, w)
        _blend(img, hair, cap_mask if p.hair_style == 2 else cap_mask * np.float32(0.85))
    creases = tuple(float(c) for c in skin * 0.7)
    if p.cheek_raise > 0.2:
        blush = np.zeros((h, w), np.uint8)
        for ec in (lm[36:42].mean(0), lm[42:48].mean(0)):
            c = _to_px(g, np.array([[ec[0] * 1.1, ec[1] + 0.33]]))[0]
            cv2.circle(blush, (int(c[0]), int(c[1])), max(1, int(0.15 * g.px)), 255, -1)
        blush = cv2.GaussianBlur(blush, (0, 0), 0.08 * g.px) * (0.35 * p.cheek_raise)
        _blend(img, (110, 110, 215), blush.astype(np.float32))
    raise_ = max(p.brow_raise_inner, p.brow_raise_outer)
    for k in range(3):
        if raise_ > 0.3 + 0.2 * k:
            yb = min(lm[17:27, 1]) - 0.12 - 0.1 * k
            _line(img, g, _arc(-0.35 + 0.05 * k, 0.35 - 0.05 * k, yb, 0.04), creases, 0.014)
    if p.brow_lower > 0.3:
        for sx in (-0.05, 0.05):
            _line(img, g, np.array([[sx, lm[21, 1] - 0.02], [sx * 0.6, lm[21, 1] + 0.11]]),
                  creases, 0.016)
    if p.nose_wrinkle > 0.3:
        for k in range(3):
            yk = lm[28, 1] + 0.035 * k
            _line(img, g, _arc(lm[28, 0] - 0.08, lm[28, 0] + 0.08, yk, -0.015, 6), creases, 0.012)
    fold = 0.15 + 0.6 * max(p.lip_corner_pull, p.upper_lip_raise, p.nose_wrinkle, p.cheek_raise)
    for wing, corner in ((lm[31], lm[48]), (lm[35], lm[54])):
        sgn = np.sign(wing[0] - lm[33, 0])
        pts = np.array([[wing[0] + sgn * 0.05, wing[1] - 0.03],
                        [corner[0] + sgn * 0.1, (wing[1] + corner[1]) / 2 + 0.02],
                        [corner[0] + sgn * 0.06, corner[1] + 0.08]])
        k = min(1.0, fold)
        _line(img, g, _smooth(pts), tuple(c * k + s * 0.9 * (1 - k)
                                         for c, s in zip(creases, p.skin, strict=True)), 0.018)
    _draw_eyes(img, g, p)
    brow_col = tuple(float(c) for c in (np.asarray(p.hair) * 0.8 if p.hair_style else skin * 0.4))
    for brow in (lm[17:22], lm[22:27]):
        inner_first = brow if abs(brow[0, 0]) < abs(brow[-1, 0]) else brow[::-1]
        thick = np.linspace(0.075, 0.03, 5)[:, None] * np.array([[0, 1]])
        _fill(img, g, np.vstack([inner_first - thick / 2, (inner_first + thick / 2)[::-1]]),
              brow_col)
    _line(img, g, _smooth(lm[31:36]), dark, 0.02)
    for k in (32, 34):
        c = _to_px(g, lm[k:k + 1] - [0, 0.012])[0]
        cv2.ellipse(img, (int(c[0] * 16), int(c[1] * 16)),
                    (max(1, int(0.035 * g.px * 16)), max(1, int(0.017 * g.px * 16))),
                    -p.roll, 0, 360, tuple(float(v) for v in skin * 0.35), -1, cv2.LINE_AA, 4)
    shadow_side = lm[31] if p.yaw >= 0 else lm[35]
    _line(img, g, np.array([lm[27] + [np.sign(shadow_side[0]) * 0.05, 0.05],
                            shadow_side + [0, -0.06]]), creases, 0.012)
    _draw_mouth(img, g, p)
    img += _grain(rng, h, w)
    out = cv2.GaussianBlur(np.clip(img, 0, 255).astype(np.uint8), (3, 3), 0.6)
    box_pts = _to_px(g, np.vstack([g.outline, lm]))
    x0, y0 = np.floor(box_pts.min(0)).astype(int)
    x1, y1 = np.ceil(box_pts.max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
    return DrawnFace(out, (int(x0), int(y0), int(x1 - x0), int(y1 - y0)),
                     _to_px(g, lm).astype(np.float32), p)


_GRAIN = np.random.default_rng(0).normal(0, 3.0, (96, 96, 3)).astype(np.float32)


def _grain(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Sensor-like noise: a fixed tile, rolled by a random offset (cheap and seeded)."""
    dy, dx = (int(v) for v in rng.integers(0, 96, 2))
    reps = (h // 96 + 2, w // 96 + 2, 1)
    return np.tile(_GRAIN, reps)[dy:dy + h, dx:dx + w]


def _smooth(pts: np.ndarray, n: int = 24) -> np.ndarray:
    """A smooth curve through ``pts`` (Catmull-Rom), for folds and nostril lines."""
    p = np.vstack([pts[0], pts, pts[-1]])
    out = []
    for i in range(1, len(p) - 2):
        t = np.linspace(0, 1, n // (len(p) - 3) + 1)[:, None]
        a, b, c, d = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * (2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t ** 2
                          + (3 * b - a - 3 * c + d) * t ** 3))
    return np.vstack(out)


def _draw_eyes(img: np.ndarray, g: _Geometry, p: FaceParams) -> None:
    h, w = img.shape[:2]
    lid = tuple(float(c) for c in np.asarray(p.skin) * 0.3)
    for eye, idx in zip(g.eyes, (slice(36, 42), slice(42, 48)), strict=True):
        pts = g.landmarks[idx]
        opening = pts[[1, 2], 1].mean() - pts[[4, 5], 1].mean()
        if opening < -0.012:
            layer = img.copy()
            _fill(layer, g, eye, (235, 238, 242))
            mask = _poly_mask(g, eye, h, w)
            c = _to_px(g, pts.mean(0, keepdims=True))[0]
            r = 0.075 * g.px * (1.15 if p.child else 1.0)
            cv2.circle(layer, (int(c[0] * 16), int(c[1] * 16)), int(r * 16), p.iris, -1,
                       cv2.LINE_AA, 4)
            cv2.circle(layer, (int(c[0] * 16), int(c[1] * 16)), int(r * 7), (15, 15, 15), -1,
                       cv2.LINE_AA, 4)
            cv2.circle(layer, (int((c[0] - r / 3) * 16), int((c[1] - r / 3) * 16)),
                       max(16, int(r * 3)), (250, 250, 250), -1, cv2.LINE_AA, 4)
            _blend(img, layer, mask)
        top = eye[:25]
        _line(img, g, top, lid, 0.028)
        _line(img, g, eye[24:].tolist() + [eye[0].tolist()], lid, 0.01)
        crease = top.copy()
        crease[:, 1] -= 0.05
        _line(img, g, crease[4:-4], tuple(float(c) for c in np.asarray(p.skin) * 0.72), 0.01)


def _draw_mouth(img: np.ndarray, g: _Geometry, p: FaceParams) -> None:
    h, w = img.shape[:2]
    skin = np.asarray(p.skin, np.float32)
    lip = tuple(float(c) for c in skin * 0.45 + np.array([75, 65, 185]) * 0.55)
    _fill(img, g, g.lips_outer, lip)
    inner = g.lips_inner
    gap = inner[45, 1] - inner[15, 1]
    if gap > 0.012:
        layer = img.copy()
        _fill(layer, g, inner, (35, 25, 45))
        up = inner[:31]
        teeth = np.vstack([up, (up + [0, 0.05])[::-1]])
        _fill(layer, g, teeth, (225, 230, 235))
        if gap > 0.12:
            c = inner[45] - [0, 0.05]
            _fill(layer, g, np.stack([c[0] + 0.14 * np.cos(np.linspace(np.pi, 2 * np.pi, 20)),
                                      c[1] + 0.05 - 0.07 * np.sin(
                                          np.linspace(np.pi, 2 * np.pi, 20)) * -1], 1),
                  (90, 80, 170))
        _blend(img, layer, _poly_mask(g, inner, h, w))
    _line(img, g, inner[:31], tuple(float(c) for c in skin * 0.3), 0.012)


def draw_depth(face: DrawnFace | FaceParams, size: tuple[int, int] | None = None,
               bits: int = 8) -> np.ndarray:
    """Greyscale depth map of a face: black background, nearer = brighter.

    Parameters
    ----------
    face : DrawnFace or FaceParams
        The face (its geometry is recomputed from the parameters, so it matches the drawing).
    size : (int, int), optional
        Height and width; defaults to the drawn image's size (required for ``FaceParams``).
    bits : {8, 16}
        ``uint8`` or ``uint16`` output.
    """
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, not {bits}")
    params = face.params if isinstance(face, DrawnFace) else face
    if size is None:
        if not isinstance(face, DrawnFace):
            raise ValueError("size is required when drawing depth from FaceParams")
        size = face.image.shape[:2]
    h, w = size
    params = fit_params(params, (h, w))
    z, mask = _depth_field(params, _geometry(params, h, w), h, w)
    # nearer = brighter; the face never goes darker than 20 % so it stands off the background
    v = (0.2 + 0.8 * np.clip(z / 1.15, 0, 1)) * (mask >= 128)  # hard edge: face or not
    top = 255 if bits == 8 else 65535
    return np.round(v * top).astype(np.uint8 if bits == 8 else np.uint16)


def normals_from_depth(depth: np.ndarray) -> np.ndarray:
    """Surface-normal map (BGR uint8, so the file shows x as red, y as green, z as blue).

    The background (depth 0) stays black.
    """
    d = depth.astype(np.float32)
    d = d / float(d.max() or 1) * max(depth.shape) * 0.35  # relief in pixel units
    n = _normals(d, 1.0)
    rgb = np.round((n * [1, -1, 1] + 1) / 2 * 255)
    out = rgb[..., ::-1].astype(np.uint8)
    out[depth == 0] = 0
    return np.ascontiguousarray(out)
