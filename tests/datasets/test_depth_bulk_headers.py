"""depth.read_headers (PNGs parsed in bulk with numpy) answers exactly as read_header does,
file by file, failures included with the reason the import skips them for."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceexplorer.datasets import depth


def _files(tmp_path: Path) -> list[str]:
    grey = np.linspace(0, 255, 30 * 20).reshape(30, 20).astype(np.uint8)
    made = {
        "grey8.png": grey, "grey16.png": grey.astype(np.uint16) * 257,
        "bgr.png": np.dstack([grey] * 3), "bgra.png": np.dstack([grey] * 4),
        "photo.jpg": grey,
    }
    paths = []
    for name, image in made.items():
        assert cv2.imwrite(str(tmp_path / name), image)
        paths.append(tmp_path / name)
    np.save(tmp_path / "map.npy", grey.astype(np.float32))
    paths.append(tmp_path / "map.npy")
    good = (tmp_path / "grey8.png").read_bytes()
    bad = {
        "short.png": good[:20],                                  # truncated in IHDR
        "foreign.png": b"GIF89a" + good[6:],                     # wrong signature
        "zero.png": good[:16] + b"\0\0\0\0" + good[20:],         # width 0
        "palette7.png": good[:25] + b"\x07" + good[26:],         # unknown colour type
        "UPPER.PNG": good,                                       # suffix in capitals
        "empty.png": b"",
    }
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
        paths.append(tmp_path / name)
    paths.append(tmp_path / "gone.png")                           # cannot be opened
    return [str(p) for p in paths]


def _one_by_one(path: str) -> tuple[str, int, int, int] | str:
    try:
        h = depth.read_header(path)
    except depth.HeaderError as exc:
        return f"unreadable image header: {exc}"
    except OSError as exc:
        return f"cannot open file: {exc.strerror or exc}"
    return (h.format, h.width, h.height, h.channels)


def test_bulk_headers_match_read_header(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    bulk = depth.read_headers(paths)
    got = [bulk.errors[i] if i in bulk.errors else
           (bulk.format[i], int(bulk.width[i]), int(bulk.height[i]), int(bulk.channels[i]))
           for i in range(len(paths))]
    assert got == [_one_by_one(p) for p in paths]
    by_name = dict(zip((Path(p).name for p in paths), got, strict=True))
    assert by_name["grey16.png"] == ("png16", 20, 30, 1)
    assert by_name["bgra.png"] == ("png8", 20, 30, 4)
    assert by_name["UPPER.PNG"] == ("png8", 20, 30, 1)
    assert by_name["gone.png"].startswith("cannot open file")
    assert all(isinstance(by_name[n], str) for n in
               ("short.png", "foreign.png", "zero.png", "palette7.png", "empty.png"))


def test_bulk_headers_of_nothing() -> None:
    bulk = depth.read_headers([])
    assert bulk.format == [] and bulk.errors == {} and len(bulk.width) == 0
