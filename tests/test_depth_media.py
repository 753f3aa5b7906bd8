"""Depth media: formats agree, normals point outwards, alignment keeps aspect, blend ends."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceexplorer.media import depth as md


def _sphere(size: int = 81, radius: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Depth of a hemisphere (nearer = brighter) and its mask."""
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    c = (size - 1) / 2
    r2 = (xx - c) ** 2 + (yy - c) ** 2
    mask = r2 < radius**2
    z = np.where(mask, np.sqrt(np.clip(radius**2 - r2, 0, None)), 0) / radius
    return (0.2 + 0.8 * z) * mask, mask


def test_png16_and_npy_match_png8(tmp_path: Path) -> None:
    depth, _ = _sphere()
    d16 = np.round(depth * 65535).astype(np.uint16)
    d8 = (d16.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "a8.png"), d8)
    cv2.imwrite(str(tmp_path / "a16.png"), d16)
    np.save(tmp_path / "a.npy", (d16 / 65535).astype(np.float32))
    np.save(tmp_path / "u16.npy", d16)
    ref = md.read_depth(tmp_path / "a8.png")
    assert ref.dtype == np.float32 and ref.max() <= 1 and ref.min() >= 0
    for name in ("a16.png", "a.npy", "u16.npy"):
        other = md.read_depth(tmp_path / name)
        assert other.shape == ref.shape
        assert np.abs(other - ref).max() <= 1 / 255 + 1e-6, name
    # nearer = brighter is kept: the centre is the maximum
    assert ref[40, 40] == ref.max()


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    assert isinstance(md.read_depth(tmp_path / "nope.png"), md.MissingImage)
    (tmp_path / "junk.png").write_bytes(b"not a png")
    assert isinstance(md.read_depth(tmp_path / "junk.png"), md.MissingImage)


def test_sphere_normals_point_outwards() -> None:
    depth, mask = _sphere()
    n = md.normals_from_depth(depth.astype(np.float32))
    c = 40
    yy, xx = np.mgrid[:81, :81]
    inner = mask & ((xx - c) ** 2 + (yy - c) ** 2 < 26**2) & ((xx != c) | (yy != c))
    radial = np.dstack([xx - c, yy - c]).astype(np.float64)[inner]
    # the in-plane part of each normal points away from the centre, z towards the viewer
    assert (np.sum(n[inner][:, :2] * radial, axis=1) > 0).mean() > 0.99
    assert (n[inner][:, 2] > 0).all()
    assert np.allclose(np.linalg.norm(n[inner], axis=1), 1, atol=1e-5)
    assert not n[~mask].any()  # background: zero normals


def test_supplied_normal_map_decodes_like_sample_writer(tmp_path: Path) -> None:
    from faceexplorer.samples.drawing import normals_from_depth as writer_normals

    depth, mask = _sphere()
    d8 = np.round(depth * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "n.png"), writer_normals(d8))
    n = md.read_normal_map(tmp_path / "n.png")
    ours = md.normals_from_depth(d8 / np.float32(255))
    inner = mask & (cv2.erode(mask.astype(np.uint8), np.ones((5, 5))) > 0)
    # same orientation convention: vectors agree in direction (cosine near 1)
    cos = np.sum(n[inner] * ours[inner], axis=1)
    assert np.median(cos) > 0.95


def test_lambert_lit_side_brighter() -> None:
    depth, _ = _sphere()
    shade = md.lambert(md.normals_from_depth(depth.astype(np.float32)))
    assert shade.dtype == np.uint8 and shade.shape == (81, 81, 3)
    assert shade[25, 25, 0] > shade[55, 55, 0]  # light from the upper left
    assert shade[0, 0, 0] == 0


def test_colormap_luts() -> None:
    for name in md.COLORMAPS:
        lut = md.colormap_lut(name)
        assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert tuple(md.colormap_lut("viridis")[0]) == (68, 1, 84)
    assert tuple(md.colormap_lut("viridis")[255]) == (253, 231, 37)
    with pytest.raises(ValueError, match="expected one of"):
        md.colormap_lut("jet")


def test_blend_ends_are_rgb_and_colour_map() -> None:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    colour = md.colorize(rng.random((40, 30)).astype(np.float32))
    pair = md.BlendPair(rgb, colour)
    assert np.array_equal(pair.blend(0.0), rgb)
    assert np.array_equal(pair.blend(1.0), colour)
    half = pair.blend(0.5).astype(int)
    assert np.abs(half - (rgb.astype(int) + colour) / 2).max() <= 0.5 + 1e-9


@pytest.mark.parametrize(("depth_hw", "rgb_hw", "box"), [
    ((100, 60), (400, 300), (100, 120, 80, 100)),   # tall crop onto a face box
    ((50, 80), (300, 300), (90, 90, 120, 120)),     # wide crop
    ((64, 64), (240, 160), None),                   # no box: central square
    ((120, 80), (240, 160), None),                  # same aspect: whole image
])
def test_alignment_keeps_aspect(depth_hw, rgb_hw, box) -> None:
    where = md.place_depth(depth_hw, rgb_hw, box)
    dh, dw = depth_hw
    assert abs(where.width / where.height - dw / dh) < 0.03
    if box is not None:
        fx, fy, fs, _, how = md.face_region(box, rgb_hw)
        assert how == "face box"
        # fitted inside the face crop, centred, touching it on one axis
        assert fx - 1 <= where.x and where.x + where.width <= fx + fs + 1
        assert fy - 1 <= where.y and where.y + where.height <= fy + fs + 1
        assert max(where.width, where.height) == pytest.approx(fs, abs=1)
    canvas = md.paste(np.ones(depth_hw, np.float32), rgb_hw, where)
    assert canvas.shape == rgb_hw
    assert canvas.sum() == pytest.approx(
        (min(where.x + where.width, rgb_hw[1]) - max(where.x, 0))
        * (min(where.y + where.height, rgb_hw[0]) - max(where.y, 0)))


def test_build_scene_layers_share_the_rgb_size() -> None:
    depth, _ = _sphere(60)
    rgb = np.full((200, 150, 3), 200, np.uint8)
    scene = md.build_scene(rgb, depth.astype(np.float32), None, (40, 50, 70, 80))
    assert scene.placement.how == "face box"
    for layer in (scene.colour, scene.shading):
        assert layer.shape == rgb.shape and layer.dtype == np.uint8
    assert scene.side_by_side().shape == (200, 300, 3)
    assert scene.normals_from == "computed from depth"
