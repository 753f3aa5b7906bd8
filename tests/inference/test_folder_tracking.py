"""Live mode over an image folder: face tracking starts afresh on every image (issue 13)."""

from __future__ import annotations

from pathlib import Path

import cv2

from faceexplorer.inference.live import make_detector
from faceexplorer.inference.pipeline import Pipeline
from faceexplorer.inference.session import open_model
from faceexplorer.inference.sources import ImageFolderSource
from faceexplorer.inference.track import TrackingFaceDetector
from tests.inference.videos import faces_frame


def test_each_image_of_a_folder_is_searched_whole(models: dict[str, Path],
                                                  tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "1.png"), faces_frame(left=True, right=False))
    cv2.imwrite(str(tmp_path / "2.png"), faces_frame())
    cv2.imwrite(str(tmp_path / "3.png"), faces_frame(left=False, right=True))
    detector = make_detector("haar")
    assert isinstance(detector, TrackingFaceDetector)
    pipeline = Pipeline(open_model(models["logits8"]), detector)
    found = [len(pipeline.process(f)) for f in ImageFolderSource(tmp_path)]
    # Tracking the first image's face would see one face in the second image.
    assert found == [1, 2, 1]
    assert detector.full_searches == 3 and detector.region_searches == 0
