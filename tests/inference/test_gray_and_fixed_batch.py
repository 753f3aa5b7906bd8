"""Model cards for one-channel (GRAY) models and models with a fixed batch size (issue 13).

The tiny models average each channel of the input and map the means to 8 logits, so
their outputs can be recomputed in numpy from the preprocessed tensor.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceexplorer.inference.cards import CardError, load_card_text
from faceexplorer.inference.preprocess import to_tensor
from faceexplorer.inference.session import open_model

onnx = pytest.importorskip("onnx", reason="the tiny test models are built with `onnx`")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

W = np.arange(8, dtype=np.float32)[None, :] / 10.0


def tiny(path: Path, channels: int = 1, size: int = 48, layout: str = "NCHW",
         batch: int | str = "N", card: dict | None = None) -> Path:
    """Channel means x a (channels, 8) matrix; writes ``card`` beside the model."""
    shape = ([batch, channels, size, size] if layout == "NCHW"
             else [batch, size, size, channels])
    axes = [2, 3] if layout == "NCHW" else [1, 2]
    nodes = [helper.make_node("ReduceMean", ["input"], ["means"], axes=axes, keepdims=0),
             helper.make_node("MatMul", ["means", "w"], ["logits"])]
    w = numpy_helper.from_array(np.repeat(W, channels, axis=0), "w")
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 8])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    card = card if card is not None else {
        "name": path.stem, "input": {"size": size, "colour": "GRAY" if channels == 1
                                     else "RGB", "layout": layout},
        "outputs": [{"kind": "expression", "activation": "softmax", "labels": "@HSEMOTION_8"}]}
    path.with_suffix(".json").write_text(json.dumps(card))
    return path


def _card(**input_keys: object) -> dict:
    return {"name": "fer", "input": {"size": 48, **input_keys},
            "outputs": [{"kind": "expression", "labels": "@HSEMOTION_8"}]}


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_gray_model_gets_one_grey_channel(tmp_path: Path, layout: str) -> None:
    card = {"name": "FER2013-style", "input": {"size": [48, 48], "colour": "GRAY",
                                               "layout": layout, "mean": 0.5, "std": [0.25]},
            "outputs": [{"kind": "expression", "labels": "@HSEMOTION_8"}]}
    model = open_model(tiny(tmp_path / "fer.onnx", layout=layout, card=card))
    crop = np.zeros((48, 48, 3), np.uint8)
    crop[..., 2] = 200  # red in BGR
    tensor = to_tensor([crop, crop], model.card.input)
    assert tensor.shape == ((2, 1, 48, 48) if layout == "NCHW" else (2, 48, 48, 1))
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)[0, 0]  # BT.601: 0.299 * 200
    assert tensor.flat[0] == pytest.approx((grey / 255 - 0.5) / 0.25, abs=1e-6)
    out = model.run(tensor)["logits"]
    assert np.allclose(out, tensor.reshape(2, -1).mean(axis=1)[:, None] * W, atol=1e-5)


@pytest.mark.parametrize(("keys", "words"), [
    ({"colour": "GRAY", "mean": [0.4, 0.5, 0.6]}, ["one channel", "\"mean\": [0.5]"]),
    ({"colour": "CMYK"}, ["not supported", "\"GRAY\" (one channel)"]),
    ({"colour": "GRAY", "std": "wide"}, ["one number", "\"std\": [0.5]"]),
    ({"mean": [1, 2]}, ["three numbers", "one number"]),
    ({"crop": "mesh"}, ["not supported", "'aligned'"]),
    ({"size": "big"}, ["[height, width]", "\"size\": [224, 224]"]),
])
def test_card_errors_say_what_to_write(keys: dict, words: list[str]) -> None:
    with pytest.raises(CardError) as err:
        load_card_text(json.dumps(_card(**keys)), "fer.json")
    for w in words:
        assert w in str(err.value)


def test_gray_spellings_and_three_equal_numbers() -> None:
    card = load_card_text(json.dumps(_card(colour="grey", mean=[0.5, 0.5, 0.5])), "c.json")
    assert card.input.colour == "GRAY" and card.input.mean == (0.5, 0.5, 0.5)


def test_channel_contradictions_hint_the_colour(tmp_path: Path) -> None:
    gray_model = tiny(tmp_path / "g.onnx", card=_card(colour="RGB"))
    with pytest.raises(CardError, match="one channel: set \"colour\": \"GRAY\""):
        open_model(gray_model)
    rgb_model = tiny(tmp_path / "c.onnx", channels=3, card=_card(colour="GRAY"))
    with pytest.raises(CardError, match="three channels: set \"colour\": \"RGB\""):
        open_model(rgb_model)
    small = tiny(tmp_path / "s.onnx", size=64, card=_card(colour="GRAY"))
    with pytest.raises(CardError, match=r"set \"size\": \[64, 64\]"):
        open_model(small)


@pytest.mark.parametrize("fixed", [1, 4, 16])
@pytest.mark.parametrize("faces", [1, 3, 4, 17])
def test_fixed_batch_sizes_are_padded_or_split(tmp_path: Path, fixed: int, faces: int) -> None:
    model = open_model(tiny(tmp_path / f"b{fixed}.onnx", channels=3, batch=fixed))
    assert model.batch_size == fixed and model.batch_fixed
    rng = np.random.default_rng(faces)
    tensor = rng.normal(size=(faces, 3, 48, 48)).astype(np.float32)
    out = model.run(tensor)["logits"]
    assert out.shape == (faces, 8)
    assert np.allclose(out, tensor.mean(axis=(2, 3)) @ np.repeat(W, 3, axis=0), atol=1e-5)


def test_dynamic_batch_runs_whole(tmp_path: Path) -> None:
    model = open_model(tiny(tmp_path / "dyn.onnx", channels=3))
    assert model.batch_size is None and not model.batch_fixed
    assert model.run(np.zeros((5, 3, 48, 48), np.float32))["logits"].shape == (5, 8)


def test_gray_fixed_batch_model_through_analyze(tmp_path: Path) -> None:
    from faceexplorer.inference.analyze import run_analysis
    from tests.inference.videos import face_video

    model = tiny(tmp_path / "fer_b4.onnx", batch=4)
    video = face_video(tmp_path / "v.avi", n=7, faceless_at=(2,))
    result = run_analysis(model, [video], tmp_path / "o.csv", batch=3)
    assert result.status == "finished"
    assert result.inputs[0].sentence() == "face found in 6 of 7 frames"
