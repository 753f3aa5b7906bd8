"""Video files the analysis tests write: faces (scikit-image photographs) or none, and
one MJPEG AVI whose header announces more frames than it holds.

The photographs are public-domain images shipped by scikit-image (``astronaut``: Eileen
Collins; ``camera``: a man with a camera, in grey), so a real detector finds real faces.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

data = pytest.importorskip("skimage.data", reason="face photographs come from scikit-image")

SIZE = (320, 240)  # (width, height) of the test videos


def astronaut_bgr() -> np.ndarray:
    """Eileen Collins' portrait (512x512), BGR."""
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def face_frame(shift: int = 0) -> np.ndarray:
    """A 320x240 frame holding the astronaut's face, moved right by ``shift`` pixels."""
    face = cv2.resize(astronaut_bgr()[0:300, 100:350], (125, 150), interpolation=cv2.INTER_AREA)
    frame = np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)
    x = 60 + shift
    frame[40:190, x:x + 125] = face
    return frame


def faces_frame(left: bool = True, right: bool = True) -> np.ndarray:
    """A 320x240 frame with the astronaut's face on the left, the right, or both."""
    face = cv2.resize(astronaut_bgr()[0:300, 100:350], (125, 150), interpolation=cv2.INTER_AREA)
    frame = np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)
    if left:
        frame[40:190, 15:140] = face
    if right:
        frame[40:190, 180:305] = face
    return frame


def blank_frame(i: int = 0) -> np.ndarray:
    """A faceless frame: a smooth gradient that changes a little per frame."""
    ramp = np.linspace(40, 200, SIZE[0], dtype=np.float32)[None, :]
    img = np.repeat(ramp, SIZE[1], axis=0) + (i % 10)
    return cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_GRAY2BGR)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    """An MJPEG AVI of ``frames``."""
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    assert out.isOpened()
    for f in frames:
        out.write(f)
    out.release()
    return path


def face_video(path: Path, n: int = 12, faceless_at: tuple[int, ...] = ()) -> Path:
    """``n`` frames of a face moving right, blank at ``faceless_at``."""
    return write_video(path, [blank_frame(i) if i in faceless_at else face_frame(2 * i)
                              for i in range(n)])


def overstate_frame_count(path: Path, announced: int) -> Path:
    """Patch an AVI's headers (avih dwTotalFrames, strh dwLength) to ``announced``.

    The file stays intact; only its announcement grows, as with many real MP4s.
    """
    raw = bytearray(path.read_bytes())
    avih = raw.find(b"avih")
    strh = raw.find(b"strh")
    assert avih > 0 and strh > 0
    struct.pack_into("<I", raw, avih + 8 + 16, announced)  # 5th DWORD of MainAVIHeader
    struct.pack_into("<I", raw, strh + 8 + 32, announced)  # dwLength of the stream
    path.write_bytes(bytes(raw))
    return path
