"""Live and every-frame analysis detect faces with the same settings; the notes say what
differs (issue 13 item 4)."""

from __future__ import annotations

from pathlib import Path

from faceexplorer.inference.analyze import (
    DetectorSettings,
    detection_note,
    detection_settings,
    live_note,
)
from faceexplorer.inference.analyze_table import PART_FRAMES
from faceexplorer.inference.detect import HaarFaceDetector, describe_settings
from faceexplorer.inference.live import make_detector


def test_analysis_builds_the_live_detector_with_its_settings() -> None:
    live, analysis = make_detector("haar"), DetectorSettings().build()
    assert type(live) is type(analysis)
    assert describe_settings(live) == describe_settings(analysis) == \
        detection_settings(DetectorSettings())
    # the numbers said are the detector's own
    base = analysis.base
    assert f"{base.min_size:.0%}" in describe_settings(analysis)
    assert f"every {analysis.redetect_every}th frame" in describe_settings(analysis)
    assert "tracked" not in describe_settings(HaarFaceDetector())


def test_yunet_settings_are_read_from_the_detector(models: dict[str, Path]) -> None:
    # any ONNX file loads as YuNet (OpenCV checks it only when run): enough to read back
    # the settings the window's and the command line's YuNet is made with
    text = describe_settings(make_detector(models["logits8"]))
    assert text == (f"YuNet ({models['logits8'].name}): score ≥ 0.7, NMS 0.3, "
                    "at most 50 faces")


def test_the_notes_name_the_differences() -> None:
    haar = DetectorSettings()
    note = detection_note(haar)
    assert note.startswith("Detection as in Live (same detector, same settings)")
    assert "every frame is analysed" in note and f"every {PART_FRAMES} frames" in note
    assert "one frame in 3" in detection_note(haar, 3)
    yunet = DetectorSettings("yunet", "/nowhere/face_detection_yunet.onnx")
    assert "tracking" not in detection_note(yunet)
    assert detection_settings(yunet) == "YuNet (face_detection_yunet.onnx)"  # no file
    assert "skips the rest unless it records every frame" in live_note(haar)
