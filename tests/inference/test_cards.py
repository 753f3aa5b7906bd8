"""Model cards: shipped cards, lookup order, canonical labels, refusals with clear messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceexplorer.core import vocab
from faceexplorer.inference import cards
from faceexplorer.inference.cards import CardError, load_card_text, match_shipped
from faceexplorer.inference.session import ModelLoadError, open_model

from .conftest import build_model


def test_every_shipped_card_parses_and_names_files() -> None:
    shipped = cards.shipped_cards()
    assert len(shipped) >= 14
    for card in shipped:
        assert card.files, card.name
        for o in card.outputs:
            for labels in o.label_sets:
                canon = set(vocab.EXPRESSIONS) | set(vocab.HRM_AU_COLUMNS)
                assert set(labels) <= canon


@pytest.mark.parametrize(("file_name", "card_name", "size"), [
    ("enet_b0_8_best_afew.onnx", "HSEmotion enet_b0_8_best_afew", 224),
    ("enet_b0_8_best_vgaf.onnx", "HSEmotion enet_b0_8_best_vgaf", 224),
    ("enet_b0_8_va_mtl.onnx", "HSEmotion enet_b0_8_va_mtl", 224),
    ("enet_b2_8.onnx", "HSEmotion enet_b2_8", 260),
    ("enet_b2_7.onnx", "HSEmotion enet_b2_7", 260),
    ("mbf_va_mtl.onnx", "HSEmotion mbf_va_mtl (MobileFaceNet)", 112),
    ("emonet_8.onnx", "EmoNet (8 expressions)", 256),
    ("HRM_EmoFAN_fold2.onnx", "EmoFAN AU model (HRM)", 256),
    ("me-graphau_hrm.onnx", "ME-GraphAU AU model (HRM)", 224),
    ("affectnetc25_resnet50.onnx", "AffectNetC25 Keras ResNet50", 224),
])
def test_public_file_names_find_their_card(file_name: str, card_name: str, size: int) -> None:
    card = match_shipped(file_name)
    assert card is not None and card.name == card_name
    assert card.input.size == (size, size)


def test_unknown_name_has_no_shipped_card() -> None:
    assert match_shipped("my_model.onnx") is None


def test_hsemotion_labels_are_canonical_in_model_order() -> None:
    card = match_shipped("enet_b0_8_va_mtl.onnx")
    assert card is not None
    expr, val, aro = card.outputs
    assert expr.label_sets == (vocab.HSEMOTION_8,)
    assert (val.kind, val.start, val.stop) == ("valence", -2, -1)
    assert (aro.kind, aro.start, aro.stop) == ("arousal", -1, None)
    c25 = match_shipped("affectnetc25_resnet50.onnx")
    assert c25 is not None and c25.outputs[0].label_sets[0][0] == "happy"
    assert c25.input.layout == "NHWC" and c25.input.colour == "BGR"


def test_label_spellings_map_to_canonical() -> None:
    card = load_card_text(json.dumps({
        "name": "x", "input": {},
        "outputs": [{"kind": "expression", "labels": ["Happiness", "angry", "Sadness"]},
                    {"kind": "au", "labels": ["AU01", "AU26", "ad19"]}]}), "test")
    assert card.outputs[0].label_sets == (("happy", "anger", "sad"),)
    assert card.outputs[1].label_sets == (("AU1", "AU2X", "AD19"),)


@pytest.mark.parametrize(("card", "words"), [
    ({"name": "x", "input": {}, "outputs": [{"kind": "expression", "labels": ["joy"]}]},
     ["unknown expression label 'joy'", "neutral"]),
    ({"name": "x", "input": {}, "outputs": [{"kind": "au", "labels": ["AU99"]}]},
     ["unknown AU label 'AU99'"]),
    ({"name": "x", "input": {}, "outputs": [{"kind": "expression"}]},
     ["needs 'labels'"]),
    ({"name": "x", "input": {"layout": "CHW"}, "outputs": [{"kind": "valence"}]},
     ["'layout'", "NCHW"]),
    ({"name": "x", "input": {"szie": 3}, "outputs": [{"kind": "valence"}]},
     ["unknown key(s) szie"]),
    ({"name": "x", "input": {}, "outputs": [{"kind": "happiness"}]},
     ["'kind'"]),
    ({"name": "x", "input": {}, "outputs": [{"kind": "au", "labels": "@NOPE"}]},
     ["unknown label set '@NOPE'"]),
])
def test_malformed_cards_are_refused(card: dict, words: list[str]) -> None:
    with pytest.raises(CardError) as err:
        load_card_text(json.dumps(card), "my.json")
    for w in words:
        assert w in str(err.value)
    assert "my.json" in str(err.value)


def test_json_syntax_error_names_the_line() -> None:
    with pytest.raises(CardError, match=r"bad\.json, line 3: not valid JSON"):
        load_card_text('{\n "name": "x",\n "input": {,}\n}', "bad.json")


def test_card_beside_the_model_wins(models: dict[str, Path]) -> None:
    model = open_model(models["nan"])
    assert model.card.name == "NaN test model"
    assert model.card.source.endswith("nan_model.json")


def test_card_from_onnx_metadata(models: dict[str, Path]) -> None:
    model = open_model(models["metadata"])
    assert model.card.name == "Embedded card"
    assert "ONNX metadata" in model.card.source
    # models check says where the card came from in plain words (issue 14)
    from faceexplorer.inference.check import check_model, format_check

    text = format_check(check_model(models["metadata"], runs=1))
    assert f"(from the ONNX metadata of {models['metadata']})" in text
    assert "from in" not in text
    assert model.card.outputs[0].label_sets == (("AU1", "AU2", "AU4", "AU2X"),)


def test_shipped_card_by_name_and_names_resolved(models: dict[str, Path]) -> None:
    model = open_model(models["va"])
    assert model.card.source == "resources/model_cards/enet_b0_8_va_mtl.json"
    assert model.input_name == "input"
    assert {o.output for o in model.card.outputs} == {"out0"}
    assert len(model.sha256) == 64


def test_card_contradicting_the_input_shape_is_refused(models: dict[str, Path]) -> None:
    with pytest.raises(CardError) as err:
        open_model(models["wrong_size"])  # named enet_b2_8 (260) but built at 224
    msg = str(err.value)
    assert "enet_b2_8.onnx" in msg and "enet_b2_8.json" in msg
    assert "[N, 3, 260, 260]" in msg and "[N, 3, 224, 224]" in msg


def test_layout_contradiction_hints_the_fix(tmp_path: Path) -> None:
    path = build_model(tmp_path / "enet_b0_8_best_afew.onnx", layout="NHWC")
    with pytest.raises(CardError, match=r"looks NHWC: set \"layout\": \"NHWC\""):
        open_model(path)


def test_label_count_contradiction_is_refused(tmp_path: Path) -> None:
    path = build_model(tmp_path / "enet_b0_7.onnx", widths=(8,))
    with pytest.raises(CardError, match="7 labels, output 'out0' \\[N, 8\\] gives 8 values"):
        open_model(path)


def test_au_label_set_chosen_by_width(models: dict[str, Path]) -> None:
    m22, m17 = open_model(models["au22"]), open_model(models["au17"])
    assert m22.card.outputs[0].labels_for(22) == vocab.HRM_AU22
    assert m17.card.outputs[0].labels_for(17) == vocab.HRM_AU17
    assert m17.card.outputs[0].activation == "none"  # ME-GraphAU gives probabilities


def test_missing_output_is_refused(tmp_path: Path) -> None:
    path = build_model(tmp_path / "emonet_8.onnx", size=256, widths=(8,))
    with pytest.raises(CardError, match="reads output 1, the model has 1: out0"):
        open_model(path)


def test_no_card_says_where_to_put_one(tmp_path: Path) -> None:
    path = build_model(tmp_path / "mystery.onnx", size=32)
    with pytest.raises(CardError) as err:
        open_model(path)
    assert "mystery.json" in str(err.value) and "faceexplorer_card" in str(err.value)


@pytest.mark.parametrize("which", ["broken", "truncated"])
def test_files_that_do_not_load(models: dict[str, Path], which: str) -> None:
    with pytest.raises(ModelLoadError) as err:
        open_model(models[which])
    assert str(models[which]) in str(err.value) and "cannot load" in str(err.value)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no such model file"):
        open_model(tmp_path / "nope.onnx")
