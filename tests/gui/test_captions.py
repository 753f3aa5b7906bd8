"""The detail panel's captions: the face card says what the row gives to draw."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from faceexplorer.gui.detail.captions import affectnet_html, face_title
from faceexplorer.reports.image_detail import AffectNetRow


def row(**changes) -> AffectNetRow:
    base = AffectNetRow(
        split="train", row_index=6, sub_path="608/a.jpg", filename="a.jpg",
        image_path=Path("/data/608/a.jpg"), face_box=(1, 2, 30, 40),
        landmarks=np.zeros((68, 2), np.float32), expression_raw=6, expression="anger",
        valence=-0.34, arousal=0.68, source_file="Manually_Annotated/training.csv",
        source_line=8)
    return replace(base, **changes)


def test_face_title_names_what_is_drawn() -> None:
    assert face_title(row()) == "Face · box and 68 landmarks"
    assert face_title(row(landmarks=None)) == "Face · box (no landmarks in the row)"
    assert face_title(row(face_box=None)) == "Face · 68 landmarks (no box in the row)"
    assert face_title(row(face_box=None, landmarks=None)) == (
        "Face · no box or landmarks in the row")
    assert face_title(None) == "Face"


def test_affectnet_line() -> None:
    html = affectnet_html(row())
    assert "<b>anger</b> (code 6)" in html and "valence −0.34" in html
    assert "arousal +0.68" in html and "training.csv, line 8" in html
    assert "not in the index" in affectnet_html(None)
