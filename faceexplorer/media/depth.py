"""Depth maps for display: reading, normals, shading, colour maps, alignment, blending (no Qt).

Every depth file (8/16-bit PNG, JPEG, ``.npy``) is read to float32 in [0, 1] with
*nearer = brighter* kept as stored, so the three encodings of one map agree to 1/255.
Normals come from a supplied normal map or from the depth by finite differences, in
image axes (x right, y down, z towards the viewer). Colour maps are small anchor tables
interpolated into 256-entry uint8 LUTs, so no plotting library is needed.
Alignment: a depth map with the RGB image's aspect covers the whole image; any other map
is a face crop and is fitted, aspect kept, into the RGB face crop (the box plus
:data:`faceexplorer.media.images.FACE_MARGIN`). :class:`BlendPair` holds the two float
images precomputed, so a blend-slider move is one lerp and a cast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceexplorer.media.images import FACE_MARGIN, MissingImage

#: A face finder for an RGB image: the largest face's (x, y, w, h), or None.
FaceFinder = Callable[[np.ndarray], tuple[float, float, float, float] | None]

#: Colour-map anchors (position, R, G, B); interpolated linearly into 256 entries.
_ANCHORS: dict[str, tuple[tuple[float, int, int, int], ...]] = {
    "viridis": ((0.0, 68, 1, 84), (0.125, 71, 44, 122), (0.25, 59, 81, 139),
                (0.375, 44, 113, 142), (0.5, 33, 144, 141), (0.625, 39, 173, 129),
                (0.75, 92, 200, 99), (0.875, 170, 220, 50), (1.0, 253, 231, 37)),
    "turbo": ((0.0, 48, 18, 59), (0.1, 70, 104, 224), (0.2, 54, 170, 249),
              (0.3, 26, 228, 182), (0.4, 98, 252, 108), (0.5, 164, 252, 60),
              (0.6, 225, 221, 55), (0.7, 254, 163, 49), (0.8, 240, 92, 20),
              (0.9, 194, 38, 3), (1.0, 122, 4, 3)),
    "grey": ((0.0, 0, 0, 0), (1.0, 255, 255, 255)),
}
COLORMAPS: tuple[str, ...] = tuple(_ANCHORS)
#: Light from the upper left, in front (image axes: x right, y down, z to the viewer).
LIGHT = (-0.45, -0.55, 0.70)
#: Relief of a [0, 1] depth map in pixels per unit depth, as a share of its longer side.
RELIEF = 0.35


def colormap_lut(name: str = "viridis") -> np.ndarray:
    """The (256, 3) uint8 lookup table of colour map ``name`` (see :data:`COLORMAPS`)."""
    if name not in _ANCHORS:
        raise ValueError(f"unknown colour map {name!r} (expected one of {', '.join(COLORMAPS)})")
    table = np.array(_ANCHORS[name], dtype=np.float64)
    x = np.linspace(0.0, 1.0, 256)
    lut = np.stack([np.interp(x, table[:, 0], table[:, c]) for c in (1, 2, 3)], axis=1)
    return np.round(lut).astype(np.uint8)


def colorize(depth: np.ndarray, name: str = "viridis") -> np.ndarray:
    """A [0, 1] depth map as an (H, W, 3) uint8 RGB image through colour map ``name``."""
    idx = np.clip(np.rint(depth * 255), 0, 255).astype(np.uint8)
    return colormap_lut(name)[idx]


# --- reading --------------------------------------------------------------------------
def normalise_depth(raw: np.ndarray) -> np.ndarray:
    """Any depth array as float32 in [0, 1], one channel, orientation kept.

    Integers are divided by their type's maximum (8-bit by 255, 16-bit by 65535), floats
    already in [0, 1] are kept, other floats are scaled by their finite min and max. The
    first channel of a multi-channel array is the depth (greyscale saved as colour).
    """
    if raw.ndim == 3:
        raw = raw[..., 0]
    if raw.dtype.kind in "ui":
        top = np.iinfo(raw.dtype).max if raw.dtype.itemsize <= 2 else max(1, int(raw.max()))
        return np.clip(raw.astype(np.float32) / np.float32(top), 0, 1)
    depth = np.nan_to_num(raw.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(depth.min(initial=0.0)), float(depth.max(initial=0.0))
    if lo >= 0 and hi <= 1:
        return depth
    return ((depth - lo) / ((hi - lo) or 1.0)).astype(np.float32)


def read_depth(path: str | Path) -> np.ndarray | MissingImage:
    """Read a depth map (.png 8/16 bit, .jpg, .npy) as float32 in [0, 1], or say why not."""
    path = Path(path)
    if not path.is_file():
        return MissingImage(path, "missing")
    try:
        if path.suffix.lower() == ".npy":
            raw = np.load(path, allow_pickle=False)
        else:
            data = np.fromfile(path, dtype=np.uint8)
            raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except (OSError, ValueError) as exc:
        return MissingImage(path, f"unreadable ({exc})")
    if raw is None or raw.ndim not in (2, 3) or raw.dtype.kind not in "uif":
        return MissingImage(path, "unreadable (not a depth image: expected a greyscale "
                            "PNG/JPEG or a 2-D numeric .npy)")
    return np.ascontiguousarray(normalise_depth(raw))


def read_normal_map(path: str | Path) -> np.ndarray | MissingImage:
    """Read a supplied normal map as unit vectors (H, W, 3) float32 in image axes.

    The files store ``(n_x, n_y up, n_z)`` as RGB in 0..255; y is flipped to point down
    like the image rows. Black pixels (background) become zero vectors.
    """
    path = Path(path)
    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else np.empty(0, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        return MissingImage(path, "missing" if not path.is_file() else "unreadable")
    rgb = bgr[..., ::-1].astype(np.float32)
    n = (rgb / 127.5 - 1.0) * np.array([1, -1, 1], np.float32)
    length = np.linalg.norm(n, axis=2, keepdims=True)
    n = np.where(length > 1e-3, n / np.maximum(length, 1e-6), 0)
    n[bgr.max(axis=2) == 0] = 0
    return n.astype(np.float32)


# --- normals and shading ----------------------------------------------------------------
def normals_from_depth(depth: np.ndarray, relief: float = RELIEF) -> np.ndarray:
    """Unit surface normals (H, W, 3) of a [0, 1] depth map by central differences.

    Depth is nearer = brighter, so the surface height is ``depth * relief * max(H, W)``
    pixels and the normal is ``(-dz/dx, -dz/dy, 1)`` normalised: on a sphere it points
    outwards. Pixels of depth 0 (background) get a zero normal.
    """
    z = depth.astype(np.float32) * np.float32(relief * max(depth.shape[:2]))
    dzdy, dzdx = np.gradient(z)
    n = np.dstack([-dzdx, -dzdy, np.ones_like(z)])
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    n[depth <= 0] = 0
    return n.astype(np.float32)


def lambert(normals: np.ndarray, light: tuple[float, float, float] = LIGHT,
            ambient: float = 0.12) -> np.ndarray:
    """Lambert shading of unit normals as an (H, W, 3) uint8 grey image.

    ``ambient`` lifts unlit faces off black; zero normals (background) stay black.
    """
    lvec = np.asarray(light, np.float32)
    lvec /= np.linalg.norm(lvec)
    lit = np.clip(normals @ lvec, 0, 1)
    shade = np.where(np.abs(normals).sum(axis=2) > 0, ambient + (1 - ambient) * lit, 0)
    grey = np.round(shade * 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))


# --- alignment ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """Where a depth map lands on its RGB image: top-left, size (pixels), and how."""

    x: int
    y: int
    width: int
    height: int
    how: str  # 'whole image' | 'face box' | 'central crop'


def face_region(box: tuple[float, float, float, float] | None, rgb_hw: tuple[int, int],
                margin: float = FACE_MARGIN) -> tuple[float, float, float, float, str]:
    """The square face crop (x, y, side, side, how) of a box, or the central square."""
    h, w = rgb_hw
    if box is None or box[2] <= 0 or box[3] <= 0:
        side = float(min(h, w))
        return (w - side) / 2, (h - side) / 2, side, side, "central crop"
    x, y, bw, bh = box
    side = max(bw, bh) * (1 + 2 * margin)
    return x + bw / 2 - side / 2, y + bh / 2 - side / 2, side, side, "face box"


def place_depth(depth_hw: tuple[int, int], rgb_hw: tuple[int, int],
                box: tuple[float, float, float, float] | None) -> Placement:
    """Where to draw a depth map of size ``depth_hw`` on an RGB image, aspect kept.

    Same aspect (within 2 %): the depth covers the whole image. Otherwise it is a face
    crop, fitted (letterboxed, centred) into the face crop of ``box``, or the central
    square when there is no box.
    """
    dh, dw = depth_hw
    h, w = rgb_hw
    if abs(dw / dh - w / h) <= 0.02 * (w / h):
        return Placement(0, 0, w, h, "whole image")
    fx, fy, fw, fh, how = face_region(box, rgb_hw)
    scale = min(fw / dw, fh / dh)
    pw, ph = max(1, round(dw * scale)), max(1, round(dh * scale))
    return Placement(round(fx + (fw - pw) / 2), round(fy + (fh - ph) / 2), pw, ph, how)


def paste(layer: np.ndarray, rgb_hw: tuple[int, int], where: Placement,
          nearest: bool = False) -> np.ndarray:
    """``layer`` resized to ``where`` on a zero canvas of the RGB size (clipped at edges)."""
    h, w = rgb_hw
    canvas = np.zeros((h, w, *layer.shape[2:]), dtype=layer.dtype)
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    scaled = cv2.resize(layer, (where.width, where.height), interpolation=interp)
    x0, y0 = max(0, where.x), max(0, where.y)
    x1, y1 = min(w, where.x + where.width), min(h, where.y + where.height)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = scaled[y0 - where.y:y1 - where.y, x0 - where.x:x1 - where.x]
    return canvas


# --- blending -------------------------------------------------------------------------------
class BlendPair:
    """RGB and colour-mapped depth as float32 ``base`` and ``delta``: blend(t) is one lerp.

    ``blend(0)`` is the RGB image and ``blend(1)`` the colour map, bit for bit.
    """

    def __init__(self, rgb: np.ndarray, overlay: np.ndarray) -> None:
        if rgb.shape != overlay.shape:
            raise ValueError(f"RGB {rgb.shape} and overlay {overlay.shape} differ in shape")
        self.base = rgb.astype(np.float32)
        self.delta = overlay.astype(np.float32) - self.base
        self._work = np.empty_like(self.base)
        self._out = np.empty(rgb.shape, np.uint8)

    def blend(self, t: float) -> np.ndarray:
        """``(1 - t) * rgb + t * overlay`` as uint8 (a reused buffer: copy to keep it)."""
        np.multiply(self.delta, np.float32(min(1.0, max(0.0, t))), out=self._work)
        np.add(self._work, self.base, out=self._work)
        np.rint(self._work, out=self._work)  # exact ends: 0 and 1 give the inputs back
        self._out[...] = self._work
        return self._out


# --- a ready-to-draw scene ------------------------------------------------------------------
@dataclass
class DepthScene:
    """Every layer of one depth map on its RGB image, uint8 (H, W, 3), same size.

    ``normals_from`` says whether the shading used the supplied normal map or the depth.
    """

    rgb: np.ndarray
    colour: np.ndarray
    shading: np.ndarray
    placement: Placement
    normals_from: str
    blend: BlendPair

    def side_by_side(self) -> np.ndarray:
        """RGB and colour-mapped depth next to each other."""
        return np.ascontiguousarray(np.hstack([self.rgb, self.colour]))


def build_scene(rgb: np.ndarray | None, depth: np.ndarray, normals: np.ndarray | None,
                box: tuple[float, float, float, float] | None, colormap: str = "viridis",
                detect: FaceFinder | None = None) -> DepthScene:
    """Align ``depth`` (and ``normals``) onto ``rgb`` and precompute every layer.

    Parameters
    ----------
    rgb : ndarray or None
        The partner image; None draws on a grey canvas of the depth map's size.
    depth : ndarray
        Float [0, 1] depth.
    normals : ndarray or None
        Supplied unit normals of the depth's size; None computes them from the depth.
    box : tuple or None
        The RGB face box (AffectNet's); used only when the depth is a face crop.
    detect : callable or None
        Without a box, ``detect(rgb)`` is asked for one (the largest face, or None) before
        the central crop: the depth view passes
        :func:`faceexplorer.inference.detect.largest_face_box` for RaFD. Media never
        imports a detector itself.
    """
    if rgb is None:
        rgb = np.full((*depth.shape, 3), 96, np.uint8)
    hw = rgb.shape[:2]
    where = place_depth(depth.shape, hw, box)
    if where.how == "central crop" and detect is not None:
        found = detect(rgb)
        if found is not None:
            where = place_depth(depth.shape, hw, found)
    source = "supplied normal map"
    if normals is None or normals.shape[:2] != depth.shape:
        normals, source = normals_from_depth(depth), "computed from depth"
    colour = paste(colorize(depth, colormap), hw, where)
    shading = paste(lambert(normals), hw, where)
    return DepthScene(rgb, colour, shading, where, source, BlendPair(rgb, colour))
