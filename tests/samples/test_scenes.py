"""The face scene generator: seeded, truth boxes inside the frame, faces where it says.

The truth is checked against the drawn pixels where it can be: a frame said to have no
face equals the empty room plus grain, and a face box holds the face's skin colour.
"""

from __future__ import annotations

import numpy as np
import pytest

from faceexplorer.samples.scenes import FaceScene, FaceTruth, match_faces, write_video


@pytest.fixture(scope="module")
def scene() -> FaceScene:
    return FaceScene(120, size=(320, 240), fps=12.0, seed=3)


def test_same_seed_same_frames_and_truth(scene: FaceScene) -> None:
    again = FaceScene(120, size=(320, 240), fps=12.0, seed=3)
    other = FaceScene(120, size=(320, 240), fps=12.0, seed=4)
    for i in (20, 60, 100):
        assert np.array_equal(scene.frame(i).image, again.frame(i).image)
    assert scene.truth_rows() == again.truth_rows()
    assert scene.truth_rows() != other.truth_rows()


def test_every_event_happens_in_order(scene: FaceScene) -> None:
    names = [name for name, _, _ in scene.events]
    assert names == ["empty", "enter", "turns", "scale", "occluded", "two faces",
                     "one leaves", "empty again", "cuts"]
    starts = [a for _, a, _ in scene.events]
    assert starts[0] == 0 and scene.events[-1][2] == scene.n_frames
    assert all(b == c for (_, _, b), (_, c, _) in zip(scene.events, scene.events[1:], strict=False))


def test_boxes_inside_the_frame(scene: FaceScene) -> None:
    w, h = scene.size
    rows = scene.truth_rows()
    assert rows
    for r in rows:
        assert 0 <= r["x"] and r["x"] + r["w"] <= w and r["w"] >= 2
        assert 0 <= r["y"] and r["y"] + r["h"] <= h and r["h"] >= 2
        assert 0 < r["visible"] <= 1


def test_faces_absent_where_the_script_says(scene: FaceScene) -> None:
    counts = {name: [len(scene.truth(i)) for i in range(a, b)] for name, a, b in scene.events}
    assert set(counts["empty"]) == {0}
    assert counts["empty again"][-1] == 0
    assert max(counts["two faces"]) == 2
    assert min(counts["turns"]) == 1 and max(counts["turns"]) == 1
    # frames with no face are the bare room: no drawn face pixels anywhere
    empty = [i for i in range(scene.n_frames) if not scene.truth(i)]
    a, b = scene.frame(empty[0]).image, scene.frame(empty[-1]).image
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 8


def test_a_face_is_drawn_inside_its_box(scene: FaceScene) -> None:
    i = next(i for i in range(*scene.events[2][1:]) if scene.truth(i)[0].findable)
    frame = scene.frame(i)
    x, y, w, h = frame.faces[0].box
    skin = np.asarray(scene._looks[0].skin, float)
    centre = frame.image[y + h // 3:y + 2 * h // 3, x + w // 3:x + 2 * w // 3].reshape(-1, 3)
    assert np.linalg.norm(np.median(centre, 0) - skin) < 60
    empty = FaceScene(120, size=(320, 240), fps=12.0, seed=3).frame(0).image
    patch = empty[y:y + h, x:x + w].astype(int)
    assert np.abs(frame.image[y:y + h, x:x + w].astype(int) - patch).mean() > 15


def test_the_hand_covers_the_face(scene: FaceScene) -> None:
    _, a, b = next(e for e in scene.events if e[0] == "occluded")
    visible = [scene.truth(i)[0].visible for i in range(a, b)]
    assert visible[0] > 0.9 and min(visible) < 0.2
    assert not all(scene.truth(i)[0].findable for i in range(a, b))


def test_match_faces_counts_hits_misses_and_false_alarms() -> None:
    t = FaceTruth(0, (100, 100, 80, 100), 1.0, 0.0, 0.0, 0.0)
    tight = (110, 120, 60, 60)          # a detector's box: inside, tighter
    m = match_faces([[t], [t], []], [[tight], [], [(0, 0, 30, 30)]])
    assert (m.faces, m.found, m.false_alarms, m.frames) == (2, 1, 1, 3)
    assert m.recall == 0.5 and m.findable_recall == 0.5
    assert match_faces([[t]], [[(300, 300, 50, 50)]]).found == 0


def test_write_video_round_trips(tmp_path) -> None:
    import cv2

    small = FaceScene(100, size=(160, 120), fps=10.0, seed=1)
    path = write_video(small, tmp_path / "scene.avi")
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 100
