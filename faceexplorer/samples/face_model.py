"""The face model behind the synthetic drawings: action parameters and their geometry.

A face is described by ``FaceParams``: FACS-like action strengths (0 relaxed .. 1 maximal)
plus head pose and appearance. Expressions (EMFACS prototypes) and HRM AU codes are both
mapped onto the same actions. ``_geometry`` turns parameters and an image size into the
68 iBUG landmarks and the contours the renderer (``drawing``) fills; it is a pure function,
so the drawn face, its landmarks, its box and its depth map always agree. "Left"/"right"
are the subject's own sides (FACS and iBUG convention): the subject's left is the image's
right.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
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
