"""Face videos that are not a face tracker's best case, with the true face boxes per frame.

A :class:`FaceScene` is a seeded script of events over ``n_frames`` frames (each event's
share of the video is fixed, its timing and motion jittered by the seed): an empty room;
a person walking in from the left; fast head turns (yaw to +-45 degrees in ~0.6 s), nods
and rolls; leaning in and out (the face 0.45-1.3x its size within a second) with fast
sideways moves; a hand passing over the face and covering it for a stretch; a second
person walking in from the right while the first moves fast; the first leaving; the room
empty again; then camera cuts (the face jumps to a new place and size every ~0.5 s).

Frames are drawn by :mod:`faceexplorer.samples.drawing`: each person's face is drawn once
per (expression, 5-degree yaw step) on a green key as a 256 px sprite, then keyed and
warped (size, roll, nod as a vertical squash, position) onto a textured room with sensor
grain. The warp that places a sprite also maps its face outline and landmarks, so the
truth box (:class:`FaceTruth`) is exact: the bounds of outline and landmarks, clipped to
the frame, with the share of the box that is inside the frame and not under the hand.
:meth:`FaceScene.truth` computes it without drawing. :func:`match_faces` scores a
detector's boxes against it (recall, misses, false alarms), the same way for every
detector. Used by ``bench/live.py`` and ``bench/scrub.py``, and by every-frame analysis.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from faceexplorer.samples.face_model import (
    _EXPRESSION_ACTIONS,
    FaceParams,
    _geometry,
    _to_px,
    fit_params,
    random_appearance,
)

#: Sprite side in pixels: each face is drawn at this size and warped into place.
SPRITE = 256
#: Yaw is drawn in steps of this many degrees (sprites are cached per step).
YAW_STEP = 5.0
#: The events of a scene, in order, with their share of the video.
EVENTS: tuple[tuple[str, float], ...] = (
    ("empty", 0.06), ("enter", 0.08), ("turns", 0.16), ("scale", 0.10), ("occluded", 0.12),
    ("two faces", 0.18), ("one leaves", 0.08), ("empty again", 0.06), ("cuts", 0.16),
)
_KEY = (0, 255, 0)   # BGR sprite background, keyed out
_EXPRESSIONS = tuple(_EXPRESSION_ACTIONS)


@dataclass(frozen=True)
class FaceTruth:
    """One face in one frame: where it is, how much of it shows, its pose.

    ``box`` (x, y, w, h) bounds the face outline and its 68 landmarks, clipped to the
    frame; ``visible`` is the share of the unclipped box inside the frame and not covered
    by the hand; angles in degrees (``pitch`` > 0 nods down).
    """

    person: int
    box: tuple[int, int, int, int]
    visible: float
    yaw: float
    pitch: float
    roll: float

    @property
    def findable(self) -> bool:
        """A frontal face detector should find it: mostly visible, near-frontal, not tiny."""
        return (self.visible >= 0.7 and abs(self.yaw) <= 30 and abs(self.pitch) <= 20
                and min(self.box[2], self.box[3]) >= 60)


@dataclass(frozen=True)
class SceneFrame:
    """A drawn frame (BGR uint8), its faces and the event it belongs to."""

    index: int
    image: np.ndarray
    faces: tuple[FaceTruth, ...]
    event: str


@dataclass(frozen=True)
class _Pose:
    cx: float       # face box centre, frame pixels
    cy: float
    height: float   # face box height (frontal, before nodding), pixels
    yaw: float
    pitch: float
    roll: float
    expression: int


class FaceScene:
    """A seeded face video (see the module docstring); frames are drawn on demand.

    Parameters
    ----------
    n_frames : int
        Frames in the video (at least 100: every event needs a few).
    size : (int, int)
        Frame width and height.
    fps : float
        Frame rate; motion speeds are in seconds, so a higher rate moves less per frame.
    seed : int
        Same seed, same frames and truth.
    """

    def __init__(self, n_frames: int = 300, size: tuple[int, int] = (640, 480),
                 fps: float = 30.0, seed: int = 0) -> None:
        if n_frames < 100:
            raise ValueError(f"a scene needs at least 100 frames, not {n_frames}")
        self.n_frames, self.size, self.fps, self.seed = n_frames, size, fps, seed
        rng = np.random.default_rng(seed)
        bounds = np.round(np.cumsum([0.0] + [s for _, s in EVENTS]) * n_frames).astype(int)
        #: (name, first frame, end frame exclusive) of each event.
        self.events = tuple((name, int(a), int(b)) for (name, _), a, b
                            in zip(EVENTS, bounds[:-1], bounds[1:], strict=True))
        self._looks = [self._look(rng) for _ in range(2)]
        self._poses: list[list[_Pose | None]] = [[None] * n_frames for _ in range(2)]
        self._hand: list[tuple[float, float, float] | None] = [None] * n_frames
        self._script(rng)
        self._room = _room(size, rng)
        self._grain = rng.normal(0, 2.5, (size[1] + 64, size[0] + 64, 3)).astype(np.float32)
        self._flicker = 1 + 0.02 * np.sin(np.arange(n_frames) / fps * 2 * np.pi * 0.7)
        self._sprites: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}

    # --- the script ---------------------------------------------------------------------
    @staticmethod
    def _look(rng: np.random.Generator) -> FaceParams:
        look = random_appearance(rng)
        shirt = tuple(int(v) for v in rng.uniform(40, 200, 3))
        shirt = (shirt[0], min(shirt[1], max(shirt[0], shirt[2])), shirt[2])  # not green
        look.update(center=(0.5, 0.42), scale=0.3, roll=0.0, yaw=0.0, background=_KEY,
                    shirt=shirt)
        return FaceParams(**look)  # type: ignore[arg-type]

    def _script(self, rng: np.random.Generator) -> None:
        w, h = self.size
        fps = self.fps
        base = [h * rng.uniform(0.36, 0.44), h * rng.uniform(0.30, 0.38)]  # face heights
        expr = [rng.integers(len(_EXPRESSIONS), size=self.n_frames // int(fps) + 2)
                for _ in range(2)]
        turn_period, nod_period = rng.uniform(1.1, 1.4), rng.uniform(0.8, 1.0)

        def put(person: int, i: int, cx: float, cy: float, height: float, yaw: float = 0.0,
                pitch: float = 0.0, roll: float = 0.0) -> None:
            self._poses[person][i] = _Pose(float(cx), float(cy), float(height),
                                           float(np.clip(yaw, -50, 50)),
                                           float(np.clip(pitch, -35, 35)), float(roll),
                                           int(expr[person][int(i / fps)]))

        a_home = (w * rng.uniform(0.40, 0.55), h * rng.uniform(0.42, 0.52))
        for name, start, end in self.events:
            n = end - start
            for k, i in enumerate(range(start, end)):
                u, t = k / max(1, n - 1), k / fps     # share of the event, its seconds
                sway = 8 * math.sin(2 * math.pi * t / 2.3)
                if name == "enter":
                    put(0, i, -0.25 * w + u * (a_home[0] + 0.25 * w), a_home[1] + sway,
                        base[0], yaw=20 * (1 - u))
                elif name == "turns":
                    nod = 25 * math.sin(2 * math.pi * t / nod_period) if u > 0.4 else 0.0
                    put(0, i, a_home[0] + sway, a_home[1], base[0],
                        yaw=45 * math.sin(2 * math.pi * t / turn_period), pitch=nod,
                        roll=15 * math.sin(2 * math.pi * t / 1.7))
                elif name == "scale":
                    f = 0.875 + 0.425 * math.sin(2 * math.pi * t / 1.1)   # 0.45..1.3
                    put(0, i, a_home[0] + 0.2 * w * math.sin(2 * math.pi * t / 0.9),
                        a_home[1], base[0] * f, yaw=10 * math.sin(t * 5))
                elif name == "occluded":
                    put(0, i, a_home[0] + sway, a_home[1], base[0])
                    # the hand rises from below, covers the face for the middle half, leaves
                    reach = min(1.0, u / 0.25, (1 - u) / 0.25)
                    self._hand[i] = (a_home[0] + 0.15 * base[0] * (1 - reach),
                                     h + 0.6 * base[0] - reach * (h + 0.6 * base[0] - a_home[1]),
                                     base[0])
                elif name == "two faces":
                    bx = w + 0.25 * w - min(1.0, 2 * u) * 0.45 * w
                    put(1, i, bx, h * 0.45 + sway, base[1], yaw=-15 + 10 * math.sin(t * 3))
                    fast = 0.28 * w * math.sin(2 * math.pi * t / 0.8)   # ~700 px/s at 640
                    put(0, i, w * 0.33 + fast, a_home[1] - sway, base[0] * 0.9,
                        yaw=25 * math.sin(t * 4))
                elif name == "one leaves":
                    put(0, i, w * 0.33 - u * 0.65 * w, a_home[1], base[0] * 0.9, yaw=-30)
                    put(1, i, w * 0.7, h * 0.45, base[1], yaw=40 * math.sin(t * 6))
                elif name == "empty again":
                    if u < 0.4:
                        put(1, i, w * 0.7 + u / 0.4 * 0.6 * w, h * 0.45, base[1], yaw=30)
                elif name == "cuts":
                    shot = int(t / 0.5)
                    r = np.random.default_rng([self.seed, shot])
                    height = base[0] * r.uniform(0.5, 1.25)
                    put(0, i, r.uniform(0.2, 0.8) * w, r.uniform(0.35, 0.6) * h, height,
                        yaw=r.uniform(-20, 20) + 5 * math.sin(t * 7), roll=r.uniform(-10, 10))

    # --- truth --------------------------------------------------------------------------
    def event_of(self, index: int) -> str:
        """Name of the event frame ``index`` belongs to."""
        return next(name for name, a, b in self.events if a <= index < b)

    def truth(self, index: int) -> tuple[FaceTruth, ...]:
        """The faces of frame ``index`` (no drawing needed)."""
        return tuple(t for t, _ in self._placed(index))

    def truth_rows(self) -> list[dict[str, object]]:
        """One row per face per frame (frames without faces have none), for CSV/JSON."""
        return [{"frame": i, "event": self.event_of(i), "person": f.person,
                 "x": f.box[0], "y": f.box[1], "w": f.box[2], "h": f.box[3],
                 "visible": round(f.visible, 3), "yaw": round(f.yaw, 1),
                 "pitch": round(f.pitch, 1), "roll": round(f.roll, 1), "findable": f.findable}
                for i in range(self.n_frames) for f in self.truth(i)]

    def _placed(self, index: int) -> list[tuple[FaceTruth, np.ndarray]]:
        """Truth and sprite->frame warp of each face of frame ``index``."""
        if not 0 <= index < self.n_frames:
            raise IndexError(f"frame {index} is outside the scene's {self.n_frames} frames")
        w, h = self.size
        hand = self._hand_mask(index)
        out = []
        for person in (1, 0):    # person 0 is drawn last: in front
            pose = self._poses[person][index]
            if pose is None:
                continue
            pts, ref_h = _sprite_points(self._looks[person], _yaw_step(pose.yaw),
                                        pose.expression)
            m = _warp(pose, pts, ref_h)
            frame_pts = pts @ m[:, :2].T + m[:, 2]
            x0, y0 = frame_pts.min(0)
            x1, y1 = frame_pts.max(0)
            cx0, cy0 = max(0, int(math.floor(x0))), max(0, int(math.floor(y0)))
            cx1, cy1 = min(w, int(math.ceil(x1))), min(h, int(math.ceil(y1)))
            if cx1 - cx0 < 2 or cy1 - cy0 < 2:
                continue     # wholly outside the frame
            inside = (cx1 - cx0) * (cy1 - cy0) / max(1.0, (x1 - x0) * (y1 - y0))
            covered = 0.0 if hand is None else float(hand[cy0:cy1, cx0:cx1].mean()) / 255
            truth = FaceTruth(person, (cx0, cy0, cx1 - cx0, cy1 - cy0),
                              float(min(1.0, inside) * (1 - covered)), pose.yaw, pose.pitch,
                              pose.roll)
            out.append((truth, m))
        return out

    # --- drawing ------------------------------------------------------------------------
    def frame(self, index: int) -> SceneFrame:
        """Frame ``index`` drawn, with its truth."""
        w, h = self.size
        img = self._room * np.float32(self._flicker[index])
        for truth, m in self._placed(index):
            pose = self._poses[truth.person][index]
            assert pose is not None
            sprite, alpha = self._sprite(truth.person, _yaw_step(pose.yaw), pose.expression)
            _paste(img, sprite, alpha, m)
        hand = self._hand_mask(index)
        if hand is not None:
            a = (hand.astype(np.float32) / 255)[..., None]
            skin = np.asarray(self._looks[0].skin, np.float32) * 0.92
            img = img * (1 - a) + skin * a
        r = np.random.default_rng([self.seed, index])
        dy, dx = (int(v) for v in r.integers(0, 64, 2))
        img += self._grain[dy:dy + h, dx:dx + w]
        image = np.clip(img, 0, 255).astype(np.uint8)
        return SceneFrame(index, image, self.truth(index), self.event_of(index))

    def __iter__(self) -> Iterator[SceneFrame]:
        return (self.frame(i) for i in range(self.n_frames))

    def __len__(self) -> int:
        return self.n_frames

    def _sprite(self, person: int, yaw: float, expression: int
                ) -> tuple[np.ndarray, np.ndarray]:
        key = (person, int(yaw), expression)
        if key not in self._sprites:
            from faceexplorer.samples.drawing import draw_face

            p = _params(self._looks[person], yaw, expression)
            drawn = draw_face(p, np.random.default_rng(0), size=(SPRITE, SPRITE)).image
            self._sprites[key] = _key_out(drawn)
        return self._sprites[key]

    def _hand_mask(self, index: int) -> np.ndarray | None:
        """Anti-aliased mask (uint8) of the hand in frame ``index``, or None."""
        where = self._hand[index]
        if where is None:
            return None
        cx, cy, size = where
        w, h = self.size
        mask = np.zeros((h, w), np.uint8)
        palm = (int(cx * 16), int(cy * 16))
        axes = (int(0.45 * size * 16), int(0.55 * size * 16))
        cv2.ellipse(mask, palm, axes, 0, 0, 360, 255, -1, cv2.LINE_AA, 4)
        for k in range(4):     # fingers, spread upwards
            ang = math.radians(-110 + 14 * k)
            tip = (cx + 0.95 * size * math.cos(ang), cy + 0.95 * size * math.sin(ang))
            cv2.line(mask, palm, (int(tip[0] * 16), int(tip[1] * 16)), 255,
                     max(2, int(0.16 * size)), cv2.LINE_AA, 4)
        cv2.line(mask, palm, (int((cx + 0.3 * size) * 16), int((h + size) * 16)), 255,
                 max(2, int(0.55 * size)), cv2.LINE_AA, 4)   # the arm, from below
        return mask


def _yaw_step(yaw: float) -> float:
    return float(YAW_STEP * round(yaw / YAW_STEP))


def _params(look: FaceParams, yaw: float, expression: int) -> FaceParams:
    acts = _EXPRESSION_ACTIONS[_EXPRESSIONS[expression]]
    return fit_params(replace(look, yaw=yaw, **{a: 0.8 * v for a, v in acts.items()}),
                      (SPRITE, SPRITE))


@lru_cache(maxsize=1024)
def _sprite_points(look: FaceParams, yaw: float, expression: int
                   ) -> tuple[np.ndarray, float]:
    """Outline + landmarks of a sprite (sprite px), and the frontal face box height."""
    p = _params(look, yaw, expression)
    g = _geometry(p, SPRITE, SPRITE)
    pts = _to_px(g, np.vstack([g.outline, g.landmarks]))
    front = _params(look, 0.0, expression)
    gf = _geometry(front, SPRITE, SPRITE)
    fpts = _to_px(gf, np.vstack([gf.outline, gf.landmarks]))
    return pts, float(np.ptp(fpts[:, 1]))


def _warp(pose: _Pose, pts: np.ndarray, ref_h: float) -> np.ndarray:
    """2x3 sprite -> frame map: scale to the pose's height, nod (squash), roll, place."""
    s = pose.height / ref_h
    c = (pts.min(0) + pts.max(0)) / 2
    ang = math.radians(pose.roll)
    cos, sin = math.cos(ang), math.sin(ang)
    squash = math.cos(math.radians(pose.pitch))
    lin = np.array([[cos, -sin], [sin, cos]]) @ np.diag([s, s * squash])
    return np.hstack([lin, (np.array([pose.cx, pose.cy]) - lin @ c)[:, None]])


def _key_out(drawn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sprite colours (green spill removed) and alpha (float32 0..1) from the green key."""
    img = drawn.astype(np.float32)
    other = np.maximum(img[..., 0], img[..., 2])
    background = np.clip((img[..., 1] - other - 40) / 100, 0, 1)
    img[..., 1] = np.minimum(img[..., 1], other + 10)
    return img, 1 - background


def _paste(img: np.ndarray, sprite: np.ndarray, alpha: np.ndarray, m: np.ndarray) -> None:
    """Warp ``sprite`` by ``m`` and blend it into ``img`` (float32 BGR), in place."""
    h, w = img.shape[:2]
    corners = np.array([[0, 0], [SPRITE, 0], [0, SPRITE], [SPRITE, SPRITE]], np.float64)
    mapped = corners @ m[:, :2].T + m[:, 2]
    x0, y0 = np.maximum(0, np.floor(mapped.min(0)).astype(int))
    x1, y1 = np.minimum([w, h], np.ceil(mapped.max(0)).astype(int))
    if x1 <= x0 or y1 <= y0:
        return
    shifted = m.copy()
    shifted[:, 2] -= (x0, y0)
    size = (int(x1 - x0), int(y1 - y0))
    rgba = np.dstack([sprite, alpha])
    out = cv2.warpAffine(rgba, shifted, size, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    a = out[..., 3:4]
    win = img[y0:y1, x0:x1]
    win *= 1 - a
    win += out[..., :3] * a


def _room(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A textured background: wall gradient, shelves and frames, blurred noise (float32)."""
    w, h = size
    wall = rng.uniform(90, 190, 3)
    img = np.empty((h, w, 3), np.float32)
    img[:] = wall * np.linspace(1.1, 0.75, h, dtype=np.float32)[:, None, None]
    for _ in range(10):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        bw, bh = int(rng.integers(30, w // 3)), int(rng.integers(10, h // 3))
        colour = tuple(float(v) for v in rng.uniform(30, 230, 3))
        cv2.rectangle(img, (x, y), (x + bw, y + bh), colour, -1)
        cv2.rectangle(img, (x, y), (x + bw, y + bh), tuple(c * 0.6 for c in colour), 2)
    texture = cv2.GaussianBlur(rng.normal(0, 18, (h, w, 1)).astype(np.float32), (0, 0), 1.5)
    return img + texture.reshape(h, w, 1)


# --- scoring a detector -------------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    """A detector's boxes scored against the truth of the same frames."""

    faces: int              # true faces
    found: int              # true faces matched by a box
    findable: int           # true faces a frontal detector should find
    findable_found: int
    false_alarms: int       # boxes matching no true face
    frames: int

    @property
    def recall(self) -> float:
        return self.found / self.faces if self.faces else float("nan")

    @property
    def findable_recall(self) -> float:
        return self.findable_found / self.findable if self.findable else float("nan")


def box_matches(box: Sequence[float], truth: FaceTruth, min_iou: float = 0.2) -> bool:
    """Whether a detector's (x, y, w, h) box is this face: its centre lies in the true box
    and they overlap by ``min_iou`` (a detector's box is tighter than outline + landmarks,
    so the bar is low)."""
    x, y, w, h = (float(v) for v in box)
    tx, ty, tw, th = truth.box
    cx, cy = x + w / 2, y + h / 2
    if not (tx <= cx <= tx + tw and ty <= cy <= ty + th):
        return False
    ix = max(0.0, min(x + w, tx + tw) - max(x, tx))
    iy = max(0.0, min(y + h, ty + th) - max(y, ty))
    inter = ix * iy
    return inter / (w * h + tw * th - inter) >= min_iou


def match_faces(truths: Sequence[Sequence[FaceTruth]],
                boxes: Sequence[Sequence[Sequence[float]]]) -> Match:
    """Score per-frame ``boxes`` against per-frame ``truths`` (same frames, same order).

    Each true face takes at most one box (greedy, largest overlap first is not needed at
    these distances: the first matching unused box).
    """
    faces = found = findable = findable_found = false_alarms = 0
    for truth, got in zip(truths, boxes, strict=True):
        used: set[int] = set()
        for t in truth:
            hit = next((k for k, b in enumerate(got) if k not in used and box_matches(b, t)),
                       None)
            faces += 1
            findable += t.findable
            if hit is not None:
                used.add(hit)
                found += 1
                findable_found += t.findable
        false_alarms += len(got) - len(used)
    return Match(faces, found, findable, findable_found, false_alarms, len(truths))


def write_video(scene: FaceScene, path: Path, fourcc: str = "MJPG") -> Path:
    """Write every frame of ``scene`` with OpenCV (``MJPG`` .avi: a webcam's stream)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), scene.fps,
                             scene.size)
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {fourcc} video to {path}")
    for f in scene:
        writer.write(f.image)
    writer.release()
    return path
