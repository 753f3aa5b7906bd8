"""Draw FaceExplorer's icon and write it for every platform's installer.

    python packaging/make_icon.py        # -> packaging/icons/faceexplorer.{png,ico,icns}

A simple drawing (a face on a rounded teal tile with a magnifier ring), drawn with
OpenCV's anti-aliased primitives at 4x and scaled down, so no image editor nor Qt is
needed. The PNG (256 px) is the Linux menu icon (``.deb``: hicolor/256x256/apps); the ICO
and ICNS wrap the same PNG bytes (Windows Vista+ and macOS 10.7+ read PNG inside them),
for the Windows installer / exe and the macOS ``.app``. The results are committed; rerun
only to change the drawing.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
SIZE = 256
SCALE = 4  # drawn at 4x, then downscaled: smooth edges


def draw(size: int = SIZE) -> np.ndarray:
    """The icon as a BGRA uint8 image of ``size`` x ``size``."""
    n = size * SCALE
    img = np.zeros((n, n, 4), np.uint8)
    aa = cv2.LINE_AA

    def s(v: float) -> int:
        return int(round(v * n))

    # rounded tile
    r = s(0.18)
    teal = (140, 128, 0, 255)
    cv2.rectangle(img, (r, s(0.04)), (n - r, n - s(0.04)), teal, -1, aa)
    cv2.rectangle(img, (s(0.04), r), (n - s(0.04), n - r), teal, -1, aa)
    for cx, cy in ((r, r), (n - r, r), (r, n - r), (n - r, n - r)):
        cv2.circle(img, (cx, cy), r - s(0.04), teal, -1, aa)
    # face
    skin, ink = (170, 215, 250, 255), (60, 50, 40, 255)
    centre = (s(0.44), s(0.44))
    cv2.circle(img, centre, s(0.28), skin, -1, aa)
    cv2.circle(img, (s(0.34), s(0.38)), s(0.035), ink, -1, aa)
    cv2.circle(img, (s(0.54), s(0.38)), s(0.035), ink, -1, aa)
    cv2.ellipse(img, (s(0.44), s(0.48)), (s(0.13), s(0.10)), 0, 20, 160, ink, s(0.025), aa)
    # magnifier ring and handle
    white = (255, 255, 255, 255)
    cv2.circle(img, centre, s(0.32), white, s(0.05), aa)
    cv2.line(img, (s(0.67), s(0.67)), (s(0.86), s(0.86)), white, s(0.08), aa)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def ico(png: bytes, size: int = SIZE) -> bytes:
    """An ICO file holding one PNG image (0 in the entry means 256 px)."""
    dim = 0 if size >= 256 else size
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


def icns(png: bytes) -> bytes:
    """An ICNS file holding one 256 px PNG ('ic08')."""
    chunk = b"ic08" + struct.pack(">I", 8 + len(png)) + png
    return b"icns" + struct.pack(">I", 8 + len(chunk)) + chunk


def main() -> None:
    """Write the three icon files under packaging/icons/."""
    out = HERE / "icons"
    out.mkdir(exist_ok=True)
    ok, buf = cv2.imencode(".png", draw())
    assert ok
    png = buf.tobytes()
    (out / "faceexplorer.png").write_bytes(png)
    (out / "faceexplorer.ico").write_bytes(ico(png))
    (out / "faceexplorer.icns").write_bytes(icns(png))
    print(f"make_icon: wrote {out}/faceexplorer.png, .ico, .icns ({len(png)} bytes of PNG)")


if __name__ == "__main__":
    main()
