"""Synthetic AffectNet ``Manually_Annotated`` CSVs (and drawn images) in the official layout.

Labels follow the real training set's very imbalanced mix (full scale: the published
per-code counts); the small scale keeps that mix on top of a floor of rows per expression
so the C25 and depth writers find enough clean rows of every class. The CSV text is built
in bulk: landmarks are formatted through a lookup table of every hundredth value, which
is what keeps the 414,800-row file fast to write. Dirty rows (literal ``NULL`` cells,
``face_width`` 0) are placed on purpose and counted in the returned ``SplitSample``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceexplorer.core.vocab import AFFECTNET_CODES, AFFECTNET_D_COUNTS, EXPRESSIONS
from faceexplorer.samples.drawing import (
    FaceParams,
    draw_face,
    landmark_template,
    params_for_expression,
)

HEADER = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
          "expression,valence,arousal")
#: Rows per code of the real training.csv (414,800 rows; codes 0..10).
FULL_TRAIN_COUNTS: dict[int, int] = {0: 74874, 1: 134415, 2: 25459, 3: 14090, 4: 6378, 5: 3803,
                                     6: 24882, 7: 3750, 8: 33088, 9: 11645, 10: 82416}
FULL_VAL_PER_CODE = 500
SMALL_TRAIN, SMALL_VAL, SMALL_FLOOR = 2400, 300, 205
#: File extensions and their shares among real AffectNet basenames.
EXTENSIONS = (("jpg", 0.906), ("png", 0.047), ("JPG", 0.036), ("jpeg", 0.0105), ("PNG", 0.0005))
#: Mean valence/arousal of each expression code (8 = none); 9 and 10 carry -2.
VA_MEANS: dict[int, tuple[float, float]] = {
    0: (0.0, 0.0), 1: (0.65, 0.25), 2: (-0.6, -0.2), 3: (0.15, 0.7), 4: (-0.55, 0.65),
    5: (-0.65, 0.3), 6: (-0.55, 0.6), 7: (-0.45, 0.2), 8: (0.0, 0.1),
}
MISSING_VA = -2
IMAGE_DIR = "Manually_Annotated_Images"
#: Dirty rows per split: (literal NULL rows, face_width 0 rows).
_DIRTY = {("small", "training"): (3, 4), ("small", "validation"): (1, 1),
          ("full", "training"): (12, 30), ("full", "validation"): (2, 3)}


@dataclass(frozen=True, eq=False)
class SplitSample:
    """What one CSV holds; ``paths``, ``codes``, ``valence``, ``arousal``, ``clean``: per row."""

    csv: Path
    rows: int
    per_code: dict[int, int]
    null_rows: int
    zero_width_rows: int
    missing_va_rows: int
    paths: tuple[str, ...] = field(repr=False)
    codes: np.ndarray = field(repr=False)
    valence: np.ndarray = field(repr=False)
    arousal: np.ndarray = field(repr=False)
    clean: np.ndarray = field(repr=False)

    @property
    def valid_rows(self) -> int:
        """Rows an importer keeps (no NULL cell, face width > 0)."""
        return self.rows - self.null_rows - self.zero_width_rows


@dataclass(frozen=True, eq=False)
class AffectNetSample:
    """What ``write_affectnet`` wrote; ``faces``: basename -> (params, (h, w)) of drawn faces."""

    root: Path
    training: SplitSample
    validation: SplitSample
    image_dir: Path
    images: int
    faces: Mapping[str, tuple[FaceParams, tuple[int, int]]] = field(repr=False)


def _label_counts(scale: str, split: str) -> dict[int, int]:
    if scale == "full":
        if split == "training":
            return dict(FULL_TRAIN_COUNTS)
        return dict.fromkeys(range(11), FULL_VAL_PER_CODE)
    if split == "validation":
        base, extra = divmod(SMALL_VAL, 11)
        return {c: base + (c < extra) for c in range(11)}
    # the real mix on top of a floor per expression, by largest remainder
    total = sum(FULL_TRAIN_COUNTS.values())
    left = SMALL_TRAIN - SMALL_FLOOR * 8
    share = {c: left * n / total for c, n in FULL_TRAIN_COUNTS.items()}
    counts = {c: int(v) for c, v in share.items()}
    for c in sorted(share, key=lambda c: counts[c] - share[c])[: left - sum(counts.values())]:
        counts[c] += 1
    return {c: counts[c] + (SMALL_FLOOR if c < 8 else 0) for c in range(11)}


def _basenames(n: int, rng: np.random.Generator) -> list[str]:
    names = [b.tobytes().hex() for b in rng.integers(0, 256, (n, 28), dtype=np.uint8)]
    if len(set(names)) != n:  # 224 random bits: never in practice, but promised
        raise RuntimeError("basename collision; use another seed")
    exts = [e for e, _ in EXTENSIONS]
    probs = np.array([p for _, p in EXTENSIONS])
    picks = rng.choice(len(exts), n, p=probs / probs.sum())
    return [f"{name}.{exts[k]}" for name, k in zip(names, picks, strict=True)]


def _va(codes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = len(codes)
    means = np.array([VA_MEANS.get(int(c), (0.0, 0.0)) for c in range(11)])
    spread = np.where(codes[:, None] == 8, 0.35, 0.18)
    va = np.clip(means[codes] + rng.normal(0, 1, (n, 2)) * spread, -1, 1)
    va = np.round(va, 6) + 0.0
    va[codes >= 9] = MISSING_VA
    return va[:, 0], va[:, 1]


def _fmt_va(v: np.ndarray) -> list[str]:
    out = []
    for x in v.tolist():
        if x == MISSING_VA:
            out.append("-2")
        else:
            s = f"{x:.6f}".rstrip("0").rstrip(".")
            out.append("0" if s in ("-0", "") else s)
    return out


def _number_tables(top: int) -> tuple[np.ndarray, np.ndarray]:
    """Every hundredth 0..top as fixed-width bytes ending in ';' (and in ',' for the last)."""
    txt = [f"{i // 100}.{i % 100:02d}" for i in range(top + 1)]
    return (np.array([t + ";" for t in txt], dtype="S10"),
            np.array([t + "," for t in txt], dtype="S10"))


def _format_rows(paths: list[str], boxes: np.ndarray, landmarks: np.ndarray, codes: np.ndarray,
                 valence: np.ndarray, arousal: np.ndarray, null_rows: np.ndarray,
                 zero_rows: np.ndarray, tables: tuple[np.ndarray, np.ndarray]) -> bytes:
    """The data lines of a chunk, built in bulk.

    Every cell becomes a fixed-width byte field padded with NUL; the rows are laid side by
    side as one byte matrix and the padding is dropped in a single ``bytes.replace``.
    """
    n = len(paths)
    cents = np.round(np.clip(landmarks.reshape(n, 136), 0, None) * 100).astype(np.int64)
    semi, comma = tables
    lm = np.empty((n, 136), dtype="S10")
    lm[:, :135] = semi[cents[:, :135]]
    lm[:, 135] = comma[cents[:, 135]]
    boxes = boxes.copy()
    boxes[zero_rows, 2] = 0
    heads = [f"{p},{x},{y},{w},{h}," for p, (x, y, w, h)
             in zip(paths, boxes.tolist(), strict=True)]
    for i in np.flatnonzero(null_rows).tolist():
        # two flavours seen in the wild: no landmarks, or no face box either
        lm[i, :135], lm[i, 135] = b"", b"NULL,"
        if i % 2:
            heads[i] = f"{paths[i]},NULL,NULL,NULL,NULL,"
    tails = [f"{c},{v},{a}\n" for c, v, a
             in zip(codes.tolist(), _fmt_va(valence), _fmt_va(arousal), strict=True)]
    head_b = np.array(heads, dtype="S").reshape(n, 1)
    tail_b = np.array(tails, dtype="S").reshape(n, 1)
    matrix = np.hstack([head_b.view(np.uint8).reshape(n, -1), lm.view(np.uint8).reshape(n, -1),
                        tail_b.view(np.uint8).reshape(n, -1)])
    return matrix.tobytes().replace(b"\x00", b"")


def _nonface(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A 'no-face' picture: shapes on a background (what code 10 rows often show)."""
    h, w = size
    img = np.full((h, w, 3), rng.integers(40, 220, 3), np.uint8)
    for _ in range(int(rng.integers(4, 10))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if rng.random() < 0.5:
            cv2.circle(img, c, int(rng.integers(8, max(9, w // 3))), colour, -1, cv2.LINE_AA)
        else:
            d = (int(rng.integers(10, w // 2)), int(rng.integers(10, h // 2)))
            cv2.rectangle(img, c, (c[0] + d[0], c[1] + d[1]), colour, -1, cv2.LINE_AA)
    return img


def _draw_row(code: int, rng: np.random.Generator, size: tuple[int, int]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, FaceParams | None]:
    """Image, box, landmarks (and params) of one row whose label is ``code``."""
    child = bool(rng.random() < 0.12)
    if code < 8:
        params = params_for_expression(EXPRESSIONS[code], float(rng.uniform(0.55, 1.0)),
                                       rng, child)
    elif code in (8, 9):  # none / uncertain: an ambiguous, weak mix
        params = params_for_expression(str(rng.choice(EXPRESSIONS)),
                                       float(rng.uniform(0.15, 0.45)), rng, child)
    else:
        h, w = size
        side = int(min(h, w) * rng.uniform(0.4, 0.8))
        x, y = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
        lm = landmark_template() * side + [x, y]
        return _nonface(rng, size), np.array([x, y, side, side]), lm, None
    face = draw_face(params, rng, size)
    return face.image, np.array(face.box), face.landmarks, face.params


def _encode(image: np.ndarray, name: str) -> bytes:
    ext = ".png" if name.lower().endswith(".png") else ".jpg"
    ok, buf = cv2.imencode(ext, image, [cv2.IMWRITE_JPEG_QUALITY, 90] if ext == ".jpg" else [])
    if not ok:
        raise RuntimeError(f"could not encode {name}")
    return buf.tobytes()


def _split(root: Path, split: str, scale: str, rng: np.random.Generator, names: list[str],
           draw: int, faces: dict[str, tuple[FaceParams, tuple[int, int]]]) -> SplitSample:
    counts = _label_counts(scale, split)
    codes = rng.permutation(np.repeat(np.arange(11), [counts[c] for c in range(11)]))
    n = len(codes)
    dirs = rng.integers(1, 1001, n)
    paths = [f"{d}/{b}" for d, b in zip(dirs.tolist(), names, strict=True)]
    valence, arousal = _va(codes, rng)
    # dirty rows only where the C25/depth writers never look (neutral, happy, none, no-face)
    n_null, n_zero = _DIRTY[(scale, split)]
    pool = np.flatnonzero(np.isin(codes, (0, 1, 8, 10)))
    dirty = rng.choice(pool, n_null + n_zero, replace=False)
    null_rows = np.zeros(n, bool)
    zero_rows = np.zeros(n, bool)
    null_rows[dirty[:n_null]] = True
    zero_rows[dirty[n_null:]] = True
    side = rng.integers(80, 900, n)
    xy = rng.integers(0, 400, (n, 2))
    boxes = np.column_stack([xy, side, side])
    lms = np.empty((n, 68, 2), np.float32)
    for a in range(0, n, 50_000):  # chunks keep the float arrays small
        b = min(n, a + 50_000)
        jitter = rng.normal(0, 0.012, (b - a, 68, 2)).astype(np.float32)
        lms[a:b] = (landmark_template() + jitter) * side[a:b, None, None] + xy[a:b, None, :]
    img_root = root / IMAGE_DIR
    for i in range(min(n, draw)):
        size = (int(rng.integers(160, 301)), int(rng.integers(160, 301)))
        image, boxes[i], lms[i], params = _draw_row(int(codes[i]), rng, size)
        target = img_root / paths[i]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_encode(image, paths[i]))
        if params is not None:
            faces[names[i]] = (params, size)
    csv_path = root / f"{split}.csv"
    tables = _number_tables(int(np.ceil(max(float(lms.max(initial=0)), 0) * 100)) + 1)
    with csv_path.open("wb") as fh:
        fh.write(HEADER.encode() + b"\n")
        for a in range(0, n, 25_000):
            b = min(n, a + 25_000)
            fh.write(_format_rows(paths[a:b], boxes[a:b], lms[a:b], codes[a:b], valence[a:b],
                                  arousal[a:b], null_rows[a:b], zero_rows[a:b], tables))
    return SplitSample(
        csv=csv_path, rows=n, per_code={c: int(counts[c]) for c in range(11)},
        null_rows=n_null, zero_width_rows=n_zero, missing_va_rows=int((codes >= 9).sum()),
        paths=tuple(paths), codes=codes.astype(np.int8), valence=valence, arousal=arousal,
        clean=~(null_rows | zero_rows))


def write_affectnet(root: Path, scale: str, rng: np.random.Generator,
                    images: bool | None = None, image_rows: int | None = None
                    ) -> AffectNetSample:
    """Write ``root/AffectNet/Manually_Annotated/{training,validation}.csv`` (+ images).

    Parameters
    ----------
    root : Path
        The sample root (see ``faceexplorer.samples``).
    scale : {"small", "full"}
        small: 2,400 + 300 rows; full: 414,800 + 5,500 rows (the real sizes).
    rng : numpy.random.Generator
        The same seed writes the same bytes.
    images : bool, optional
        Draw every row's image under ``Manually_Annotated_Images``; default: only at small scale.
    image_rows : int, optional
        Draw only the first ``image_rows`` rows' images of each split (quick tests); the
        other rows get plausible boxes and landmarks but no image file.

    Returns
    -------
    AffectNetSample
    """
    if scale not in ("small", "full"):
        raise ValueError(f"scale must be 'small' or 'full', not {scale!r}")
    draw = scale == "small" if images is None else images
    limit = (10**9 if image_rows is None else image_rows) if draw else 0
    folder = Path(root) / "AffectNet" / "Manually_Annotated"
    folder.mkdir(parents=True, exist_ok=True)
    n_train = sum(_label_counts(scale, "training").values())
    n_val = sum(_label_counts(scale, "validation").values())
    names = _basenames(n_train + n_val, rng)
    faces: dict[str, tuple[FaceParams, tuple[int, int]]] = {}
    training = _split(folder, "training", scale, rng, names[:n_train], limit, faces)
    validation = _split(folder, "validation", scale, rng, names[n_train:], limit, faces)
    for label, need in AFFECTNET_D_COUNTS.items():  # what the depth writer will ask for
        code = next(c for c, name in AFFECTNET_CODES.items() if name == label)
        have = int((training.clean & (training.codes == code)).sum())
        if scale == "full" and have < need:
            raise AssertionError(f"only {have} clean {label} rows, AffectNet-D needs {need}")
    drawn = min(n_train, limit) + min(n_val, limit)
    return AffectNetSample(folder, training, validation, folder / IMAGE_DIR, drawn, faces)
