"""Synthetic depth datasets: AffectNet-D and RaFD-D (plus the RaFD images they pair with).

Depth maps sit in per-class folders and are matched to their RGB image by file stem, the
only link the real datasets offer. Where the RGB face was drawn, its depth map is drawn
from the same parameters, so both show the same geometry. At full scale the published
per-class counts are written as tiny 32x32 PNGs taken from a small bank of drawn depth
maps per class (87,106 drawings would take minutes and teach a benchmark nothing more).
The small scale mixes the file types readers must accept and adds unmatched files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceexplorer.core.vocab import (
    AFFECTNET_CODES,
    AFFECTNET_D_COUNTS,
    DEPTH_CLASSES,
    RAFD_ANGLES,
    RAFD_D_COUNTS,
    RAFD_EMOTIONS,
)
from faceexplorer.samples.affectnet import AffectNetSample
from faceexplorer.samples.drawing import (
    FaceParams,
    draw_depth,
    draw_face,
    normals_from_depth,
    params_for_expression,
    random_appearance,
)

SMALL_PER_CLASS = 30
RAFD_SMALL_PER_CLASS = 10
TINY = (32, 32)
BANK = 12
#: Small-scale depth file types and their shares.
FORMATS = (("png8", 0.7), ("png16", 0.15), ("npy", 0.1), ("jpg", 0.05))
_EMOTION_WORD = {label: word for word, label in RAFD_EMOTIONS.items()}
GAZES = ("left", "frontal", "right")
RAFD_SIZE = (240, 160)


@dataclass(frozen=True, eq=False)
class DepthSample:
    """What ``write_affectnet_d`` wrote. ``stems``: class -> matched stems."""

    folder: Path
    per_class: dict[str, int]
    formats: dict[str, int]
    normals: int
    unmatched: tuple[Path, ...]
    stems: dict[str, tuple[str, ...]] = field(repr=False)

    @property
    def files(self) -> int:
        """Depth files written, unmatched ones included."""
        return sum(self.per_class.values()) + len(self.unmatched)


@dataclass(frozen=True, eq=False)
class RaFDSample:
    """What ``write_rafd_d`` wrote. ``rgb_only``/``depth_only`` are the unpaired stems."""

    rgb_folder: Path
    depth_folder: Path
    per_class: dict[str, int]
    rgb_images: int
    normals: int
    rgb_only: tuple[str, ...]
    depth_only: tuple[str, ...]
    stems: dict[str, tuple[str, ...]] = field(repr=False)


def rafd_model(model: int) -> tuple[str, str]:
    """Ethnicity and gender of RaFD model ``model`` (1..73) in the synthetic sample.

    Fixed, as in the real set where each model is one person: 1-49 Caucasian adults,
    50-67 Moroccan men, 68-73 children.
    """
    if not 1 <= model <= 73:
        raise ValueError(f"RaFD model must be 1..73, not {model}")
    if model <= 49:
        return "Caucasian", ("female" if model % 3 == 1 else "male")
    if model <= 67:
        return "Moroccan", "male"
    return "Kid", ("female" if model % 2 else "male")


def rafd_name(angle: str, model: int, emotion: str, gaze: str) -> str:
    """The RaFD file name (no extension) for a camera angle code and a canonical label."""
    ethnicity, gender = rafd_model(model)
    return f"Rafd{angle}_{model:02d}_{ethnicity}_{gender}_{_EMOTION_WORD[emotion]}_{gaze}"


def _encode(depth: np.ndarray, fmt: str) -> bytes:
    if fmt == "npy":
        from io import BytesIO
        buf = BytesIO()
        np.save(buf, (depth.astype(np.float32) / 65535).astype(np.float32))
        return buf.getvalue()
    if fmt == "png8":
        depth = (depth.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif fmt == "jpg":
        depth = (depth.astype(np.uint32) * 255 // 65535).astype(np.uint8)
        return cv2.imencode(".jpg", depth, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()
    return cv2.imencode(".png", depth)[1].tobytes()


_SUFFIX = {"png8": ".png", "png16": ".png", "npy": ".npy", "jpg": ".jpg"}


def _bank(label: str, rng: np.random.Generator, child_share: float = 0.1) -> list[bytes]:
    """A few tiny 8-bit depth PNGs of one class, reused at full scale."""
    out = []
    for _ in range(BANK):
        p = params_for_expression(label, float(rng.uniform(0.5, 1)), rng,
                                  bool(rng.random() < child_share))
        out.append(cv2.imencode(".png", draw_depth(p, TINY, 8))[1].tobytes())
    return out


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_affectnet_d(root: Path, affectnet: AffectNetSample, scale: str,
                      rng: np.random.Generator) -> DepthSample:
    """Write ``root/AffectNet-D/depth/<class>/<stem>.<ext>`` (+ ``normal/`` at small scale).

    Parameters
    ----------
    root : Path
        The sample root.
    affectnet : AffectNetSample
        Depth maps are made for clean training rows; class = the row's AffectNet label.
    scale : {"small", "full"}
        full: exactly ``vocab.AFFECTNET_D_COUNTS``; small: 30 per class, mixed file
        types, some normal maps, and 2 depth maps whose stem matches no image.
    rng : numpy.random.Generator
    """
    if scale not in ("small", "full"):
        raise ValueError(f"scale must be 'small' or 'full', not {scale!r}")
    folder = Path(root) / "AffectNet-D"
    t = affectnet.training
    code_of = {name: code for code, name in AFFECTNET_CODES.items()}
    formats = dict.fromkeys(_SUFFIX, 0)
    per_class: dict[str, int] = {}
    stems: dict[str, tuple[str, ...]] = {}
    normals = 0
    for label in DEPTH_CLASSES:
        need = AFFECTNET_D_COUNTS[label] if scale == "full" else SMALL_PER_CLASS
        pool = np.flatnonzero(t.clean & (t.codes == code_of[label]))
        names = [t.paths[i].rsplit("/", 1)[-1] for i in pool.tolist()]
        drawn = [k for k, n in enumerate(names) if n in affectnet.faces]
        # prefer rows whose face was drawn, so depth and image agree
        order = list(rng.permutation(drawn)) + list(
            rng.permutation(sorted(set(range(len(pool))) - set(drawn))))
        if len(order) < need:
            raise ValueError(f"only {len(order)} clean {label} rows; AffectNet-D needs {need}")
        picked = [names[k] for k in order[:need]]
        stems[label] = tuple(n.rsplit(".", 1)[0] for n in picked)
        per_class[label] = need
        if scale == "full":
            bank = _bank(label, rng)
            for stem, k in zip(stems[label], rng.integers(0, BANK, need).tolist(), strict=True):
                _write(folder / "depth" / label / f"{stem}.png", bank[k])
            formats["png8"] += need
            continue
        kinds = rng.choice(len(FORMATS), need, p=[p for _, p in FORMATS])
        for name, stem, kind in zip(picked, stems[label], kinds.tolist(), strict=True):
            fmt = FORMATS[kind][0]
            if name in affectnet.faces:
                params, size = affectnet.faces[name]
                depth = draw_depth(params, size, 16)
            else:
                depth = draw_depth(params_for_expression(label, 0.8, rng), (64, 64), 16)
            _write(folder / "depth" / label / f"{stem}{_SUFFIX[fmt]}", _encode(depth, fmt))
            formats[fmt] += 1
            if rng.random() < 0.3:
                normals += 1
                _write(folder / "normal" / label / f"{stem}.png",
                       cv2.imencode(".png", normals_from_depth(depth))[1].tobytes())
    unmatched: list[Path] = []
    if scale == "small":
        for label in DEPTH_CLASSES[:2]:
            stem = rng.integers(0, 256, 28, dtype=np.uint8).tobytes().hex()
            path = folder / "depth" / label / f"{stem}.png"
            depth = draw_depth(params_for_expression(label, 0.8, rng), (64, 64), 8)
            _write(path, cv2.imencode(".png", depth)[1].tobytes())
            unmatched.append(path)
            formats["png8"] += 1
    return DepthSample(folder, per_class, formats, normals, tuple(unmatched), stems)


def _rafd_params(model: int, label: str, angle: str) -> FaceParams:
    """The same person for a given model, with that model's expression and head angle."""
    person = np.random.default_rng(1000 + model)  # fixed per model, independent of the seed
    ethnicity, _gender = rafd_model(model)
    p = params_for_expression(label, 1.0, person, child=ethnicity == "Kid")
    look = random_appearance(person, ethnicity == "Kid")
    return FaceParams(**{**{a: getattr(p, a) for a in p.__dataclass_fields__},
                         "skin": look["skin"], "hair": look["hair"], "roll": 0.0,
                         "yaw": float(RAFD_ANGLES[angle]), "center": (0.5, 0.48),
                         "scale": 0.3, "background": (245, 245, 245)})


def write_rafd_d(root: Path, scale: str, rng: np.random.Generator,
                 images: bool | None = None) -> RaFDSample:
    """Write RaFD images ``root/RaFD/<name>.jpg`` and ``root/RaFD-D/depth/<class>/<stem>.png``.

    Parameters
    ----------
    root : Path
        The sample root.
    scale : {"small", "full"}
        full: exactly ``vocab.RAFD_D_COUNTS`` depth maps; small: 10 per class, 2 RGB
        images without a depth map and 1 depth map without its RGB image, some normals.
    rng : numpy.random.Generator
    images : bool, optional
        Draw the RGB images (default: at small scale only).
    """
    if scale not in ("small", "full"):
        raise ValueError(f"scale must be 'small' or 'full', not {scale!r}")
    draw = scale == "small" if images is None else images
    rgb_folder, depth_folder = Path(root) / "RaFD", Path(root) / "RaFD-D"
    per_class: dict[str, int] = {}
    stems: dict[str, tuple[str, ...]] = {}
    rgb_images = normals = 0
    rgb_only: list[str] = []
    depth_only: list[str] = []
    combos = [(a, m, g) for a in RAFD_ANGLES for m in range(1, 74) for g in GAZES]
    for c, label in enumerate(DEPTH_CLASSES):
        need = RAFD_D_COUNTS[label] if scale == "full" else RAFD_SMALL_PER_CLASS
        extra = (2 if c == 0 else 0) if scale == "small" else 0  # the unpaired RGB images
        picks = rng.choice(len(combos), need + extra, replace=False)
        names = [rafd_name(combos[k][0], combos[k][1], label, combos[k][2]) for k in picks]
        bank = _bank(label, rng) if scale == "full" and not draw else []
        for i, (name, k) in enumerate(zip(names, picks.tolist(), strict=True)):
            angle, model, _gaze = combos[k]
            params = _rafd_params(model, label, angle)
            with_depth = i < need
            with_rgb = draw and not (scale == "small" and c == 1 and i == 0)
            if with_rgb:
                face = draw_face(params, rng, RAFD_SIZE)
                _write(rgb_folder / f"{name}.jpg", cv2.imencode(".jpg", face.image)[1].tobytes())
                rgb_images += 1
                if not with_depth:
                    rgb_only.append(name)
            elif with_depth and scale == "small":
                depth_only.append(name)
            if not with_depth:
                continue
            if bank:
                data = bank[int(rng.integers(0, BANK))]
            else:
                depth = draw_depth(params, RAFD_SIZE, 8)
                data = cv2.imencode(".png", depth)[1].tobytes()
                if scale == "small" and i % 3 == 0:
                    normals += 1
                    _write(depth_folder / "normal" / label / f"{name}.png",
                           cv2.imencode(".png", normals_from_depth(depth))[1].tobytes())
            _write(depth_folder / "depth" / label / f"{name}.png", data)
        per_class[label] = need
        stems[label] = tuple(names[:need])
    return RaFDSample(rgb_folder, depth_folder, per_class, rgb_images, normals,
                      tuple(rgb_only), tuple(depth_only), stems)
