"""Crops and tensors: alignment onto the ArcFace template, box crops, colour/scale/layout."""

from __future__ import annotations

import numpy as np
import pytest

from faceexplorer.inference.cards import IMAGENET_MEAN, IMAGENET_STD, InputSpec
from faceexplorer.inference.preprocess import (
    ARCFACE_112,
    align_face,
    alignment_matrix,
    crop_box,
    template_for,
    to_tensor,
)
from faceexplorer.samples.drawing import draw_face, params_for_expression


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def five_points(landmarks68: np.ndarray) -> np.ndarray:
    """iBUG 68 -> eyes (centres), nose tip, mouth corners, image left to right."""
    lm = np.asarray(landmarks68, np.float32)
    return np.array([lm[36:42].mean(0), lm[42:48].mean(0), lm[30], lm[48], lm[54]], np.float32)


@pytest.mark.parametrize("size", [(112, 112), (224, 224), (256, 256)])
def test_template_points_map_onto_themselves(size: tuple[int, int]) -> None:
    template = template_for(size)
    m = alignment_matrix(template, size)
    np.testing.assert_allclose(m, [[1, 0, 0], [0, 1, 0]], atol=1e-4)
    np.testing.assert_allclose(_apply(m, template), template, atol=1e-3)


def test_template_scales_for_224() -> None:
    np.testing.assert_allclose(template_for((224, 224)), ARCFACE_112 * 2)


def test_rotated_scaled_template_is_undone() -> None:
    a = np.deg2rad(25)
    rot = 1.7 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    moved = ARCFACE_112 @ rot.T + [40, -10]
    m = alignment_matrix(moved, (112, 112))
    np.testing.assert_allclose(_apply(m, moved), ARCFACE_112, atol=1e-2)


@pytest.mark.parametrize("seed", range(6))
def test_drawn_face_eyes_land_on_the_template(seed: int) -> None:
    rng = np.random.default_rng(seed)
    params = params_for_expression(["happy", "sad", "neutral"][seed % 3], 0.8, rng)
    face = draw_face(params, rng, size=(320, 400))
    pts = five_points(face.landmarks)
    m = alignment_matrix(pts, (224, 224))
    landed = _apply(m, pts)
    target = template_for((224, 224))
    # A similarity fit of 5 points: the eyes land within a few pixels of the template.
    assert np.abs(landed[:2] - target[:2]).max() < 6.0  # measured 1.0..4.3 px
    assert landed[0, 0] < landed[1, 0]  # no mirror
    crop = align_face(face.image, pts, (224, 224))
    assert crop.shape == (224, 224, 3)
    # The warped image really holds the eyes there: dark pupils near the template's eyes.
    for x, y in target[:2].astype(int):
        patch = crop[y - 12:y + 12, x - 12:x + 12].astype(float).mean(axis=2)
        assert patch.min() < crop.astype(float).mean() - 20


def test_crop_box_inside_frame_is_the_resized_region() -> None:
    frame = np.zeros((100, 120, 3), np.uint8)
    frame[20:60, 30:70] = (10, 200, 30)
    crop = crop_box(frame, (30, 20, 40, 40), margin=0.0, size=(20, 20))
    assert crop.shape == (20, 20, 3)
    np.testing.assert_array_equal(crop[2:-2, 2:-2], np.full((16, 16, 3), (10, 200, 30)))


def test_crop_box_square_with_margin_and_black_padding() -> None:
    frame = np.full((50, 50, 3), 255, np.uint8)
    crop = crop_box(frame, (0, 0, 20, 40), margin=0.25, size=(60, 60))
    # side = 40 * 1.5 = 60 around centre (10, 20): x -20..40, y -10..50, scale 1
    assert crop[30, 0].tolist() == [0, 0, 0]    # left of the frame: black
    assert crop[30, 30].tolist() == [255, 255, 255]
    assert crop[5, 30].tolist() == [0, 0, 0]    # above the frame


def test_to_tensor_rgb_imagenet_nchw() -> None:
    crop = np.zeros((4, 4, 3), np.uint8)
    crop[..., 0], crop[..., 1], crop[..., 2] = 10, 100, 250  # B, G, R
    spec = InputSpec(size=(4, 4), mean=IMAGENET_MEAN, std=IMAGENET_STD)
    t = to_tensor([crop, crop], spec)
    assert t.shape == (2, 3, 4, 4) and t.dtype == np.float32 and t.flags.c_contiguous
    for c, value in enumerate((250, 100, 10)):  # R, G, B after the colour swap
        assert t[0, c, 0, 0] == pytest.approx((value / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c],
                                              rel=1e-5)


def test_to_tensor_caffe_bgr_nhwc() -> None:
    crop = np.full((3, 3, 3), (10, 100, 250), np.uint8)
    spec = InputSpec(layout="NHWC", size=(3, 3), colour="BGR", divide_by=1,
                     mean=(103.939, 116.779, 123.68))
    t = to_tensor([crop], spec)
    assert t.shape == (1, 3, 3, 3)
    np.testing.assert_allclose(t[0, 1, 1], [10 - 103.939, 100 - 116.779, 250 - 123.68],
                               rtol=1e-5)
