"""Face tracking (live mode's detector): moving faces, a face lost and found, two faces.

The frames are 640x480 like a webcam's: drawn faces (``samples.drawing``) pasted on a
noisy background, their true boxes known. A full-frame Haar search is the reference.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceexplorer.inference.detect import HaarFaceDetector
from faceexplorer.inference.live import make_detector
from faceexplorer.inference.track import TrackingFaceDetector, iou
from faceexplorer.samples.drawing import draw_face, params_for_expression

SIDE = 200


def found_faces(n: int) -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
    """``n`` drawn faces (SIDE px) that a full-frame Haar search finds, with their boxes."""
    haar, faces = HaarFaceDetector(), []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        face = draw_face(params_for_expression("happy", 0.8, rng), rng)
        image = cv2.resize(face.image, (SIDE, SIDE))
        k = SIDE / face.image.shape[1]
        if haar.detect(image):
            faces.append((image, tuple(v * k for v in face.box)))
        if len(faces) == n:
            return faces
    raise AssertionError("too few drawn faces found by Haar")


def scene(placed: list[tuple[np.ndarray, tuple, int, int]]) -> tuple[np.ndarray, list]:
    """A 640x480 frame with each (face, box, x, y) pasted; the faces' boxes in the frame."""
    frame = np.random.default_rng(1).integers(60, 140, (480, 640, 3), dtype=np.uint8)
    boxes = []
    for image, (bx, by, bw, bh), x, y in placed:
        frame[y:y + SIDE, x:x + SIDE] = image
        boxes.append((bx + x, by + y, bw, bh))
    return frame, boxes


@pytest.fixture(scope="module")
def faces() -> list:
    return found_faces(2)


def test_follows_a_moving_face_with_few_full_searches(faces: list) -> None:
    tracker, haar = TrackingFaceDetector(redetect_every=10), HaarFaceDetector()
    image, box = faces[0]
    for i in range(30):
        frame, (truth,) = scene([(image, box, 40 + 12 * i, 120 + (i % 5) * 6)])
        found = tracker.detect(frame)
        assert len(found) == 1, i
        assert iou(found[0].box, truth) > 0.4, (i, found[0].box, truth)
        # as close to the true box as the full-frame search is (its boxes are the reference)
        assert iou(found[0].box, haar.detect(frame)[0].box) > 0.6, i
    # the first frame and then every 10th frame: 3; everything else in small regions
    assert tracker.full_searches == 3 and tracker.region_searches == 27


def test_face_lost_and_found_again(faces: list) -> None:
    tracker = TrackingFaceDetector()
    image, box = faces[0]
    frame, _ = scene([(image, box, 60, 100)])
    assert len(tracker.detect(frame)) == 1
    empty, _ = scene([])
    assert tracker.detect(empty) == [] and tracker.detect(empty) == []
    searches = tracker.full_searches
    # lost: every frame is searched whole until a face is found, far from where it was
    frame, (truth,) = scene([(image, box, 400, 250)])
    found = tracker.detect(frame)
    assert len(found) == 1 and iou(found[0].box, truth) > 0.4
    assert tracker.full_searches == searches + 1
    # a jump out of the tracked region: the region search fails, the frame is searched whole
    frame, (truth,) = scene([(image, box, 20, 20)])
    found = tracker.detect(frame)
    assert len(found) == 1 and iou(found[0].box, truth) > 0.4
    assert tracker.full_searches == searches + 2


def test_two_faces_tracked_independently(faces: list) -> None:
    tracker = TrackingFaceDetector(redetect_every=100)
    (a, box_a), (b, box_b) = faces
    for i in range(12):
        frame, truths = scene([(a, box_a, 30 + 8 * i, 40 + 10 * i),
                               (b, box_b, 400 - 6 * i, 260 - 12 * i)])
        found = tracker.detect(frame)
        assert len(found) == 2, i
        for truth in truths:  # each face has its own box, none lost or doubled
            assert max(iou(d.box, truth) for d in found) > 0.4, (i, truth)
    assert tracker.full_searches == 1


def test_reset_and_a_new_face_appears_at_the_next_full_search(faces: list) -> None:
    tracker = TrackingFaceDetector(redetect_every=3)
    (a, box_a), (b, box_b) = faces
    one, _ = scene([(a, box_a, 40, 40)])
    two, _ = scene([(a, box_a, 40, 40), (b, box_b, 400, 240)])
    assert len(tracker.detect(one)) == 1
    counts = [len(tracker.detect(two)) for _ in range(3)]
    assert counts == [1, 1, 2]  # regions follow the known face; the full search adds b
    tracker.reset()
    before = tracker.full_searches
    assert len(tracker.detect(two)) == 2 and tracker.full_searches == before + 1


def test_tracker_on_the_astronaut_and_drawn_faces() -> None:
    data = pytest.importorskip("skimage.data", reason="scikit-image ships the astronaut photo")
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    tracker = TrackingFaceDetector()
    for _ in range(3):  # a full search, then two region searches on the same photo
        found = tracker.detect(photo)
        assert len(found) == 1 and iou(found[0].box, (175, 65, 95, 95)) > 0.6, found
    assert tracker.region_searches == 2
    hits, n = 0, 16
    for seed in range(n):
        rng = np.random.default_rng(seed)
        face = draw_face(params_for_expression("happy", 0.8, rng, child=seed % 2 == 1), rng,
                         size=(256, 256))
        tracker.reset()
        hits += any(iou(d.box, face.box) > 0.3 for d in tracker.detect(face.image))
    assert hits >= 0.75 * n


def test_live_mode_tracks_by_default() -> None:
    assert isinstance(make_detector("haar"), TrackingFaceDetector)
    assert type(make_detector("haar-full")) is HaarFaceDetector
    assert make_detector("none") is None
