"""Reading face images safely, cropping the face and making thumbnails (no Qt).

Files are read with ``cv2.imdecode(np.fromfile(...))`` rather than ``cv2.imread``:
imread cannot open non-ASCII paths on Windows, and users' dataset folders often have them.
A file that is absent or unreadable is not an exception but a :class:`MissingImage`
naming the expected path, so a browser can show a placeholder and go on. Arrays are
returned RGB, uint8, C-contiguous: what the views draw without conversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Share of the face box added on every side of a face crop.
FACE_MARGIN = 0.25


@dataclass(frozen=True)
class MissingImage:
    """An image that could not be read: where it was expected and why."""

    path: Path | None
    reason: str

    def describe(self) -> str:
        where = str(self.path) if self.path is not None else "no path known"
        return f"{self.reason}: {where}"


#: Reductions libjpeg applies while decoding (in the DCT domain: far cheaper than a
#: full decode then a resize), by OpenCV's imdecode flag.
_REDUCED = {1: "IMREAD_COLOR", 2: "IMREAD_REDUCED_COLOR_2", 4: "IMREAD_REDUCED_COLOR_4",
            8: "IMREAD_REDUCED_COLOR_8"}


def read_image(path: str | Path, reduce: int = 1) -> np.ndarray | MissingImage:
    """Read an image file as an RGB uint8 array (H, W, 3), or say why not.

    Parameters
    ----------
    path
        The image file; any characters in the path.
    reduce
        1, 2, 4 or 8: decode at that fraction of the size (JPEG decodes it directly;
        other formats are decoded whole, then scaled).

    Returns
    -------
    ndarray or MissingImage
        The pixels, or a MissingImage ("missing" for an absent file, "unreadable" for a
        file OpenCV cannot decode).
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        return MissingImage(path, "missing")
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        return MissingImage(path, f"unreadable ({exc.strerror or exc})")
    image = cv2.imdecode(data, getattr(cv2, _REDUCED[reduce])) if data.size else None
    if image is None:
        return MissingImage(path, "unreadable (not an image OpenCV can decode)")
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def face_crop(image: np.ndarray, box: tuple[int, int, int, int] | None,
              margin: float = FACE_MARGIN) -> np.ndarray:
    """The square region around a face box (``x, y, w, h``) with ``margin``, clipped.

    Without a box (or with an empty one) the whole image is returned. The square is
    centred on the box and clipped to the image, so a face at the border is not padded.
    """
    if box is None or box[2] <= 0 or box[3] <= 0:
        return image
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    height, width = image.shape[:2]
    x0, y0 = max(0, int(round(cx - side / 2))), max(0, int(round(cy - side / 2)))
    x1, y1 = min(width, int(round(cx + side / 2))), min(height, int(round(cy + side / 2)))
    if x1 <= x0 or y1 <= y0:
        return image
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def thumbnail(image: np.ndarray, size: int = 128) -> np.ndarray:
    """Scale ``image`` so its longer side is ``size`` pixels (area interpolation)."""
    import cv2

    height, width = image.shape[:2]
    scale = size / max(height, width)
    if scale == 1:
        return np.ascontiguousarray(image)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(image, new, interpolation=interp))


def face_thumbnail(path: str | Path | None, box: tuple[int, int, int, int] | None,
                   size: int = 128) -> np.ndarray | MissingImage:
    """Read ``path``, crop the face and scale it to ``size``: what a browser tile shows."""
    if path is None:
        return MissingImage(None, "no image file known")
    image = read_image(path)
    if isinstance(image, MissingImage):
        return image
    return thumbnail(face_crop(image, box), size)
