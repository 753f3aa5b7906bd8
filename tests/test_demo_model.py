"""The demo's expression model: shipped with its card, small, and right on drawn faces."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.demo import DEMO_MODEL_FILES, demo_model_path, install_demo_model
from faceexplorer.paths import resource_dir

SHIPPED = resource_dir() / "demo_model" / DEMO_MODEL_FILES[0]


def test_shipped_small_with_its_card_beside_and_inside():
    from faceexplorer.inference.cards import METADATA_KEY, find_card
    from faceexplorer.inference.session import open_model

    assert SHIPPED.is_file() and SHIPPED.stat().st_size < 1_000_000
    card = find_card(SHIPPED)                                  # the .json beside it
    assert card.input.colour == "GRAY" and tuple(card.input.size) == (64, 64)
    assert card.outputs[0].kind == "expression"
    session = open_model(SHIPPED)                               # checked against the model
    import onnxruntime as ort

    meta = ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"]) \
        .get_modelmeta().custom_metadata_map
    assert json.loads(meta[METADATA_KEY]) == json.loads(SHIPPED.with_suffix(".json")
                                                        .read_text())
    assert session.card.name == card.name


def _drawn_faces(n: int, seed: int) -> tuple[list[np.ndarray], list[tuple], np.ndarray]:
    """Faces as the demo's AffectNet rows are drawn (label intensity 0.55-1, 160-300 px,
    JPEG), from a seed the model was not trained on."""
    from faceexplorer.samples.drawing import draw_face, params_for_expression

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 8, n)
    images, boxes = [], []
    for code in codes.tolist():
        params = params_for_expression(EXPRESSIONS[code], float(rng.uniform(0.55, 1.0)), rng,
                                       bool(rng.random() < 0.12))
        face = draw_face(params, rng, (int(rng.integers(160, 301)), int(rng.integers(160, 301))))
        ok, buf = cv2.imencode(".jpg", face.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        images.append(cv2.imdecode(buf, cv2.IMREAD_COLOR))
        boxes.append(face.box)
    return images, boxes, codes


def test_recognises_held_out_drawn_faces_through_the_apps_preprocessing():
    from faceexplorer.inference.preprocess import face_crop, to_tensor
    from faceexplorer.inference.session import open_model

    session = open_model(SHIPPED)
    images, boxes, codes = _drawn_faces(120, seed=20261206)
    crops = [face_crop(img, session.card.input, box, None)
             for img, box in zip(images, boxes, strict=True)]
    out = session.run(to_tensor(crops, session.card.input))
    logits = next(iter(out.values()))
    accuracy = float((logits.argmax(1) == codes).mean())
    assert accuracy >= 0.6, accuracy          # chance is 0.125; see packaging/make_demo_model.py
    assert len(set(logits.argmax(1).tolist())) >= 6          # not one or two answers for all


def test_demo_puts_it_beside_its_index(tmp_path):
    installed = install_demo_model(tmp_path)
    assert installed == demo_model_path(tmp_path) == tmp_path / "models" / DEMO_MODEL_FILES[0]
    for name in DEMO_MODEL_FILES:
        assert (tmp_path / "models" / name).read_bytes() == \
            (resource_dir() / "demo_model" / name).read_bytes()
    mtime = installed.stat().st_mtime_ns
    install_demo_model(tmp_path)                          # unchanged: not written again
    assert installed.stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_the_app_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys, faceexplorer.demo, faceexplorer.inference.session, "
            "faceexplorer.inference.batch; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
