"""Synthetic faces drawn with OpenCV from facial action parameters.

A face is described by ``FaceParams``: FACS-like action strengths (0 relaxed .. 1 maximal)
plus head pose and appearance. Everything geometric is a pure function of the parameters
and the image size (``_geometry``), so the drawn face, its 68 iBUG landmarks, its box and
its depth map (``draw_depth``) always agree. The skin is shaded from the same depth field,
which is what makes the flat drawing read as a face. "Left"/"right" are the subject's own
sides (FACS and iBUG convention): the subject's left is the image's right.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache

import cv2
import numpy as np

from faceexplorer.core.vocab import EXPRESSIONS, HRM_AU_COLUMNS

ACTIONS: tuple[str, ...] = (
    "brow_raise_inner", "brow_raise_outer", "brow_lower", "eye_open", "lid_tighten",
    "eyes_closed", "cheek_raise", "nose_wrinkle", "upper_lip_raise", "lip_corner_pull",
    "lip_corner_depress", "lip_stretch", "lip_press", "lip_pucker", "mouth_open", "jaw_drop",
)


@dataclass(frozen=True)
class FaceParams:
    """Action strengths (0..1), head pose and appearance of one drawn face.

    ``one_sided`` lists ``(action, "left"|"right")`` pairs acting on one side only;
    ``asymmetry`` (-1..1) makes every action slightly stronger on one side.
    ``center`` is the face centre as fractions of image width/height, ``scale`` the face
    half-height as a fraction of the image height, ``roll``/``yaw`` in degrees.
    Colours are BGR.
    """

    brow_raise_inner: float = 0.0
    brow_raise_outer: float = 0.0
    brow_lower: float = 0.0
    eye_open: float = 0.0
    lid_tighten: float = 0.0
    eyes_closed: float = 0.0
    cheek_raise: float = 0.0
    nose_wrinkle: float = 0.0
    upper_lip_raise: float = 0.0
    lip_corner_pull: float = 0.0
    lip_corner_depress: float = 0.0
    lip_stretch: float = 0.0
    lip_press: float = 0.0
    lip_pucker: float = 0.0
    mouth_open: float = 0.0
    jaw_drop: float = 0.0
    one_sided: tuple[tuple[str, str], ...] = ()
    asymmetry: float = 0.0
    center: tuple[float, float] = (0.5, 0.52)
    scale: float = 0.36
    roll: float = 0.0
    yaw: float = 0.0
    child: bool = False
    skin: tuple[int, int, int] = (150, 180, 220)
    hair: tuple[int, int, int] = (40, 50, 70)
    hair_style: int = 1
    iris: tuple[int, int, int] = (90, 70, 50)
    background: tuple[int, int, int] = (170, 160, 150)
    shirt: tuple[int, int, int] = (120, 80, 60)


@dataclass(frozen=True)
class DrawnFace:
    """A drawn face: BGR image, face box ``(x, y, w, h)`` and (68, 2) iBUG landmarks."""

    image: np.ndarray
    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    params: FaceParams = field(repr=False)


# Expression templates in action terms (EMFACS prototypes); values scale with intensity.
_EXPRESSION_ACTIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"cheek_raise": 0.8, "lip_corner_pull": 1.0, "lid_tighten": 0.2, "mouth_open": 0.4},
    "sad": {"brow_raise_inner": 1.0, "brow_lower": 0.5, "lip_corner_depress": 1.0,
            "eyes_closed": 0.3, "lip_press": 0.3},
    "surprise": {"brow_raise_inner": 1.0, "brow_raise_outer": 1.0, "eye_open": 1.0,
                 "mouth_open": 0.6, "jaw_drop": 0.9},
    "fear": {"brow_raise_inner": 1.0, "brow_raise_outer": 0.5, "brow_lower": 0.6,
             "eye_open": 1.0, "lip_stretch": 1.0, "mouth_open": 0.7, "jaw_drop": 0.25},
    "disgust": {"nose_wrinkle": 1.0, "upper_lip_raise": 1.0, "brow_lower": 0.7,
                "cheek_raise": 0.5, "lid_tighten": 0.5, "lip_corner_depress": 0.4,
                "mouth_open": 0.25},
    "anger": {"brow_lower": 1.0, "eye_open": 0.6, "lid_tighten": 0.7, "lip_press": 1.0},
    "contempt": {"lip_corner_pull": 0.8, "lip_press": 0.3, "brow_lower": 0.15},
}

#: HRM AU/AD column -> the actions it drives (unlisted columns leave the face unchanged).
AU_ACTIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "AU1": (("brow_raise_inner", 1.0),), "AU2": (("brow_raise_outer", 1.0),),
    "AU4": (("brow_lower", 1.0),), "AU5": (("eye_open", 1.0),),
    "AU6": (("cheek_raise", 1.0),), "AU7": (("lid_tighten", 1.0),),
    "AU43": (("eyes_closed", 1.0),), "AU8": (("lip_press", 0.6),),
    "AU9": (("nose_wrinkle", 1.0),), "AU10": (("upper_lip_raise", 1.0),),
    "AU12": (("lip_corner_pull", 1.0),), "AU13": (("lip_corner_pull", 0.6), ("cheek_raise", 0.4)),
    "AU14": (("lip_corner_pull", 0.35), ("lip_press", 0.3)),
    "AU15": (("lip_corner_depress", 1.0),), "AU16": (("mouth_open", 0.5),),
    "AU17": (("lip_press", 0.5), ("lip_corner_depress", 0.3)), "AU18": (("lip_pucker", 1.0),),
    "AU20": (("lip_stretch", 1.0),), "AU22": (("lip_pucker", 0.7), ("mouth_open", 0.4)),
    "AU23": (("lip_press", 0.7),), "AU24": (("lip_press", 1.0),),
    "AU25": (("mouth_open", 0.8),), "AU2X": (("jaw_drop", 0.9), ("mouth_open", 0.5)),
    "AU28": (("lip_press", 1.0),), "AD32": (("lip_press", 0.6),),
    "AD33": (("lip_pucker", 0.5),), "AD34": (("lip_pucker", 0.4),),
}
_SIDES = {2: "left", 3: "right"}

_SKIN_TONES = np.array([  # BGR, light to dark
    (196, 214, 245), (170, 196, 234), (150, 180, 222), (120, 160, 205), (95, 130, 175),
    (70, 100, 140), (55, 75, 105),
], dtype=np.float64)
_HAIR = np.array([(20, 20, 25), (30, 40, 60), (40, 60, 100), (70, 110, 160), (150, 170, 190),
                  (60, 60, 70)], dtype=np.float64)


def random_appearance(rng: np.random.Generator, child: bool = False) -> dict[str, object]:
    """Random head pose and looks, as ``FaceParams`` keyword arguments."""
    t = rng.uniform(0, len(_SKIN_TONES) - 1)
    lo = int(t)
    skin = _SKIN_TONES[lo] * (1 - (t - lo)) + _SKIN_TONES[min(lo + 1, 6)] * (t - lo)
    hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.85, 1.15)
    bg = rng.uniform(60, 230, 3)
    return {
        "center": (float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.46, 0.56))),
        "scale": float(rng.uniform(0.30, 0.38)), "roll": float(rng.normal(0, 6)),
        "yaw": float(rng.normal(0, 8)), "child": child,
        "skin": tuple(int(v) for v in np.clip(skin + rng.normal(0, 6, 3), 0, 255)),
        "hair": tuple(int(v) for v in np.clip(hair, 0, 255)),
        "hair_style": int(rng.choice([0, 1, 1, 2, 2])),
        "iris": tuple(int(v) for v in rng.choice([(90, 70, 50), (60, 90, 60), (140, 110, 60),
                                                   (40, 50, 60)])),
        "background": tuple(int(v) for v in bg),
        "shirt": tuple(int(v) for v in rng.uniform(30, 220, 3)),
        "asymmetry": float(rng.normal(0, 0.15)),
    }


def params_for_expression(expression: str, intensity: float, rng: np.random.Generator,
                          child: bool = False) -> FaceParams:
    """Parameters of a random person showing ``expression`` (a ``vocab.EXPRESSIONS`` name).

    ``intensity`` (0..1) scales the prototype actions; each action also gets a little
    person-to-person jitter. Contempt is a one-sided smirk on a random side.
    """
    if expression not in _EXPRESSION_ACTIONS:
        raise ValueError(f"unknown expression {expression!r}; expected one of {EXPRESSIONS}")
    acts = {a: v * intensity * float(rng.uniform(0.8, 1.15))
            for a, v in _EXPRESSION_ACTIONS[expression].items()}
    if expression == "happy":
        acts["mouth_open"] = float(rng.uniform(0.15, 0.8)) * intensity
    if expression == "anger" and rng.random() < 0.35:  # some shout: teeth bared
        acts.update(mouth_open=0.6 * intensity, upper_lip_raise=0.6 * intensity, lip_press=0.0)
    one_sided: tuple[tuple[str, str], ...] = ()
    if expression == "contempt":
        one_sided = (("lip_corner_pull", str(rng.choice(["left", "right"]))),)
    look = random_appearance(rng, child)
    return FaceParams(**{a: float(min(v, 1.0)) for a, v in acts.items()},
                      one_sided=one_sided, **look)  # type: ignore[arg-type]


def params_for_aus(aus: Mapping[str, int], rng: np.random.Generator,
                   child: bool = True) -> FaceParams:
    """Parameters of a random (by default child's) face showing HRM AU codes.

    ``aus`` maps ``vocab.HRM_AU_COLUMNS`` names to cell values: 0 absent, 1 present,
    2 left only, 3 right only, 4 top / 5 bottom (drawn as present, a little weaker).
    """
    look = random_appearance(rng, child)  # first, so the same seed gives the same person
    acts: dict[str, float] = {}
    one_sided: list[tuple[str, str]] = []
    for au, value in aus.items():
        if au not in HRM_AU_COLUMNS:
            raise ValueError(f"unknown HRM column {au!r}; expected one of HRM_AU_COLUMNS")
        if not value or au not in AU_ACTIONS:
            continue
        gain = float(rng.uniform(0.7, 1.0)) * (0.75 if value in (4, 5) else 1.0)
        for action, weight in AU_ACTIONS[au]:
            acts[action] = min(1.0, max(acts.get(action, 0.0), weight * gain))
            if value in _SIDES:
                one_sided.append((action, _SIDES[int(value)]))
    return FaceParams(**acts, one_sided=tuple(one_sided), **look)  # type: ignore[arg-type]


# --- geometry -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Geometry:
    """Canonical-frame shapes (face half-width 1, y down) and the frame -> pixel map."""

    landmarks: np.ndarray      # (68, 2) canonical
    outline: np.ndarray        # (n, 2) canonical face contour
    eyes: tuple[np.ndarray, np.ndarray]   # dense eye contours (image left, image right)
    lips_outer: np.ndarray
    lips_inner: np.ndarray
    matrix: np.ndarray         # 2x3 canonical -> pixel
    px: float                  # pixels per canonical unit


def _act(p: FaceParams, action: str, side: int) -> float:
    """Strength of ``action`` on one image side (-1 image left = subject's right)."""
    v = getattr(p, action)
    for name, which in p.one_sided:
        if name == action and (which == "left") != (side > 0):
            return 0.0
    return float(v * (1.0 + 0.3 * p.asymmetry * side))


def _curve(a: np.ndarray, b: np.ndarray, mid_y: float, n: int, power: float = 0.8,
           mid_x: float | None = None) -> np.ndarray:
    """Points from ``a`` to ``b`` bulging so the middle sits at ``mid_y``."""
    u = np.linspace(0, 1, n)
    x = a[0] + u * (b[0] - a[0])
    base = a[1] + u * (b[1] - a[1])
    y = base + (mid_y - (a[1] + b[1]) / 2) * np.sin(np.pi * u) ** power
    if mid_x is not None:
        x = x + (mid_x - (a[0] + b[0]) / 2) * np.sin(np.pi * u)
    return np.stack([x, y], 1)


@lru_cache(maxsize=256)  # fit_params, draw_face and draw_depth all ask for it
def _geometry(p: FaceParams, h: int, w: int) -> _Geometry:
    kid = 1.15 if p.child else 1.0
    shift = 0.08 if p.child else 0.0           # children: features sit lower, bigger eyes
    jaw = 0.35 * p.jaw_drop
    # jaw 0..16 and forehead arc, chin tapered
    t = np.radians(np.linspace(190, -10, 17))
    jaw_pts = np.stack([np.cos(t) * (1 - 0.12 * np.clip(np.sin(t), 0, 1)),
                        1.25 * np.sin(t) / kid ** 0.5], 1)
    drop = np.clip((jaw_pts[:, 1] - 0.35) / 0.9, 0, 1)
    jaw_pts[:, 1] += jaw * drop
    tt = np.radians(np.linspace(-10, -170, 40))
    forehead = np.stack([np.cos(tt) * 0.99, 1.3 * np.sin(tt)], 1)
    lm = np.zeros((68, 2))
    lm[0:17] = jaw_pts
    eyes = []
    ey = -0.2 + shift
    for k, side in enumerate((-1, 1)):
        ew, ex = 0.19 * kid, 0.4 * side
        up = 0.085 * kid * (0.8 + 0.5 * _act(p, "eye_open", side)
                            - 0.35 * _act(p, "lid_tighten", side)
                            - 0.15 * _act(p, "cheek_raise", side))
        lo = 0.055 * kid * (1 - 0.5 * _act(p, "lid_tighten", side)
                            - 0.45 * _act(p, "cheek_raise", side))
        closed = min(1.0, _act(p, "eyes_closed", side))
        up, lo = up * (1 - closed) - 0.02 * closed, lo * (1 - 0.4 * closed)
        left = np.array([ex - ew, ey - 0.012 * side])
        right = np.array([ex + ew, ey + 0.012 * side])
        top = _curve(left, right, ey - up, 25, 0.9, ex - 0.03 * side)
        bot = _curve(right, left, ey + lo, 25, 1.0)
        eyes.append(np.vstack([top, bot[1:-1]]))
        idx = (36, 37, 38, 39, 40, 41) if side < 0 else (42, 43, 44, 45, 46, 47)
        lm[list(idx)] = np.vstack([top[[0, 8, 16, 24]], bot[[8, 16]]])
        # brows, listed left to right in the image
        bt = np.linspace(0, 1, 5) if side > 0 else np.linspace(1, 0, 5)  # 0 inner, 1 outer
        bx = side * (0.13 + 0.53 * bt) - side * 0.05 * _act(p, "brow_lower", side) * (1 - bt)
        by = (ey - 0.2 - 0.06 * np.sin(np.pi * (0.15 + 0.75 * bt))
              - 0.17 * _act(p, "brow_raise_inner", side) * (1 - bt) ** 1.5
              - 0.15 * _act(p, "brow_raise_outer", side) * bt ** 1.2
              + _act(p, "brow_lower", side) * (0.14 - 0.13 * bt))
        lm[17 + 5 * k:22 + 5 * k] = np.stack([bx, by], 1)
    # nose
    nose_up = 0.04 * p.nose_wrinkle + 0.03 * p.upper_lip_raise
    ny = 0.3 + shift - nose_up
    lm[27:31] = np.stack([np.zeros(4), np.linspace(ey, ny - 0.08, 4)], 1)
    nw = 0.17 * (0.9 if p.child else 1.0) * (1 + 0.15 * p.nose_wrinkle)
    lm[31:36] = np.stack([np.array([-1, -0.5, 0, 0.5, 1]) * nw,
                          ny + np.array([-0.01, 0.02, 0.035, 0.02, -0.01])], 1)
    # mouth: corners, then lips as bulging curves between them
    my = 0.66 + shift * 0.6
    mw = 0.33 * (0.9 if p.child else 1.0) * (1 - 0.35 * p.lip_pucker - 0.08 * p.lip_press)
    corners = []
    for side in (-1, 1):
        pull, stretch = _act(p, "lip_corner_pull", side), _act(p, "lip_stretch", side)
        cx = side * (mw + 0.08 * pull + 0.1 * stretch)
        cy = my - 0.17 * pull + 0.12 * _act(p, "lip_corner_depress", side) + 0.01 * stretch
        corners.append(np.array([cx, cy]))
    gap = 0.09 * p.mouth_open + 0.3 * p.jaw_drop
    thin = 1 - 0.55 * p.lip_press - 0.3 * p.lip_stretch - 0.25 * p.lip_corner_pull
    ulr = 0.09 * p.upper_lip_raise
    up_out = _curve(corners[0], corners[1], my - 0.055 - 0.05 * thin - ulr, 31, 0.6)
    up_out[13:18, 1] += 0.012  # cupid's bow
    lo_out = _curve(corners[1], corners[0], my + gap + 0.035 + 0.065 * thin, 31, 0.7)
    up_in = _curve(corners[0], corners[1], my - 0.003 - 0.8 * ulr * min(1, gap * 10), 31, 0.8)
    lo_in = _curve(corners[1], corners[0], my + gap, 31, 0.8)
    lm[48:55] = up_out[[0, 5, 10, 15, 20, 25, 30]]
    lm[55:60] = lo_out[[6, 11, 15, 19, 24]]
    lm[60:65] = up_in[[0, 8, 15, 22, 30]][[0, 1, 2, 3, 4]]
    lm[65:68] = lo_in[[8, 15, 22]]
    lm[60], lm[64] = corners[0] + [0.02, 0], corners[1] - [0.02, 0]
    outline = np.vstack([jaw_pts, forehead])
    # yaw: features slide over the (roughly spherical) head in proportion to their depth
    yaw = math.radians(max(-50.0, min(50.0, p.yaw)))  # beyond, the drawing breaks up
    def turn(pts: np.ndarray) -> np.ndarray:
        z = np.sqrt(np.clip(1 - pts[:, 0] ** 2 - (pts[:, 1] / 1.3) ** 2, 0, 1))
        return np.stack([pts[:, 0] * math.cos(yaw) + z * math.sin(yaw), pts[:, 1]], 1)
    lm[17:] = turn(lm[17:])
    px = p.scale * h / 1.3
    rot = cv2.getRotationMatrix2D((0.0, 0.0), -p.roll, px)
    rot[:, 2] = (p.center[0] * w, p.center[1] * h)
    return _Geometry(lm, outline, (turn(eyes[0]), turn(eyes[1])),
                     turn(np.vstack([up_out, lo_out[1:-1]])),
                     turn(np.vstack([up_in, lo_in[1:-1]])), rot, px)


def _to_px(g: _Geometry, pts: np.ndarray) -> np.ndarray:
    return pts @ g.matrix[:, :2].T + g.matrix[:, 2]


def fit_params(params: FaceParams, size: tuple[int, int], margin: float = 2.0) -> FaceParams:
    """``params`` with the face shrunk (if needed) so the face and its landmarks fit the image.

    ``draw_face`` and ``draw_depth`` apply it, so a face never leaves its image and both
    still agree on the geometry.
    """
    h, w = size
    p = params
    for _ in range(3):
        g = _geometry(p, h, w)
        pts = _to_px(g, np.vstack([g.outline, g.landmarks]))
        c = np.array([p.center[0] * w, p.center[1] * h])
        need = np.concatenate([c - pts.min(0), pts.max(0) - c])
        room = np.concatenate([c - margin, np.array([w, h]) - 1 - margin - c])
        f = float(np.min(room / np.maximum(need, 1e-6)))
        if f >= 1:
            break
        p = replace(p, scale=p.scale * f * 0.99)
    return p


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


def landmark_template() -> np.ndarray:
    """68 landmarks of a relaxed frontal face, in unit face-box coordinates (0..1)."""
    g = _geometry(FaceParams(), 1300, 1300)
    pts = np.vstack([g.outline, g.landmarks])
    lo, hi = pts.min(0), pts.max(0)
    return ((g.landmarks - lo) / (hi - lo)).astype(np.float32)


def action_names() -> tuple[str, ...]:
    """The action fields of ``FaceParams`` (what expressions and AUs are made of)."""
    names = {f.name for f in fields(FaceParams)}
    return tuple(a for a in ACTIONS if a in names)


def with_actions(params: FaceParams, **actions: float) -> FaceParams:
    """A copy of ``params`` with some action strengths changed."""
    return replace(params, **actions)
