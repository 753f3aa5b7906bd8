"""Tiny ONNX models built with ``onnx`` (a test-only dependency) for every output kind.

Each model averages its input image per channel and maps the three means to its outputs
with a fixed random matrix, so outputs depend on the pixels (and on the preprocessing)
and ``expected_outputs`` can recompute them in numpy. Models are named like the public
releases where a shipped card should be found by name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the tiny test models are built with `onnx`")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

OPSET = 17


def weights(width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (3, width) matrix and bias a tiny model uses for one output."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 2, (3, width)).astype(np.float32),
            rng.normal(0, 0.5, width).astype(np.float32))


def build_model(path: Path, size: int = 224, widths: tuple[int, ...] = (8,),
                layout: str = "NCHW", nan: bool = False, sigmoid: bool = False,
                metadata: dict[str, str] | None = None, batch: int | str = "N") -> Path:
    """Write a tiny model: channel means -> one linear map per output width."""
    shape = [batch, 3, size, size] if layout == "NCHW" else [batch, size, size, 3]
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)
    nodes, inits, outs = [], [], []
    src = "input"
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2]))
        src = "nchw"
    nodes.append(helper.make_node("ReduceMean", [src], ["means"], axes=[2, 3], keepdims=0))
    for k, width in enumerate(widths):
        w, b = weights(width, seed=k)
        inits += [numpy_helper.from_array(w, f"w{k}"), numpy_helper.from_array(b, f"b{k}")]
        nodes += [helper.make_node("MatMul", ["means", f"w{k}"], [f"mm{k}"]),
                  helper.make_node("Add", [f"mm{k}", f"b{k}"], [f"lin{k}"])]
        last = f"lin{k}"
        if sigmoid:
            nodes.append(helper.make_node("Sigmoid", [last], [f"sig{k}"]))
            last = f"sig{k}"
        if nan:
            inits.append(numpy_helper.from_array(np.array([np.nan], np.float32), f"nan{k}"))
            nodes.append(helper.make_node("Mul", [last, f"nan{k}"], [f"bad{k}"]))
            last = f"bad{k}"
        nodes.append(helper.make_node("Identity", [last], [f"out{k}"]))
        outs.append(helper.make_tensor_value_info(f"out{k}", TensorProto.FLOAT, [batch, width]))
    graph = helper.make_graph(nodes, "tiny", [x], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    if metadata:
        helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def expected_outputs(tensor: np.ndarray, widths: tuple[int, ...], layout: str = "NCHW"
                     ) -> list[np.ndarray]:
    """What ``build_model``'s model computes for an input batch."""
    axes = (2, 3) if layout == "NCHW" else (1, 2)
    means = tensor.astype(np.float64).mean(axis=axes)
    out = []
    for k, width in enumerate(widths):
        w, b = weights(width, seed=k)
        out.append(means @ w.astype(np.float64) + b)
    return out


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every tiny model the inference tests use, built once."""
    d = tmp_path_factory.mktemp("models")
    m = {
        "logits8": build_model(d / "enet_b0_8_best_afew.onnx"),
        "va": build_model(d / "enet_b0_8_va_mtl.onnx", widths=(10,)),
        "au22": build_model(d / "hrm_fmae_fold1.onnx", widths=(22,)),
        "au17": build_model(d / "ME-GraphAU_17.onnx", widths=(17,), sigmoid=True),
        "nhwc": build_model(d / "affectnetc25_resnet50.onnx", layout="NHWC",
                            widths=(8, 1, 1), batch=1),
        "emonet": build_model(d / "emonet_8.onnx", size=256, widths=(8, 1, 1)),
        "nan": build_model(d / "nan_model.onnx", size=64, nan=True, widths=(10,)),
        "wrong_size": build_model(d / "enet_b2_8.onnx", size=224),
    }
    (d / "nan_model.json").write_text(json.dumps({
        "name": "NaN test model", "input": {"size": [64, 64]},
        "outputs": [{"kind": "expression", "slice": [0, 8], "activation": "softmax",
                     "labels": "@HSEMOTION_8"},
                    {"kind": "valence", "slice": [8, 9]}, {"kind": "arousal", "slice": [9, 10]}],
    }))
    card = {"name": "Embedded card", "input": {"size": [32, 32], "colour": "BGR"},
            "outputs": [{"kind": "au", "activation": "sigmoid",
                         "labels": ["AU01", "AU02", "AU04", "AU26"]}]}
    m["metadata"] = build_model(d / "custom_au4.onnx", size=32, widths=(4,),
                                metadata={"faceexplorer_card": json.dumps(card)})
    broken = d / "broken.onnx"
    broken.write_bytes(b"\x08\x07this is not a protobuf" * 10)
    m["broken"] = broken
    truncated = d / "enet_b0_8_best_vgaf.onnx"
    truncated.write_bytes(m["logits8"].read_bytes()[:200])
    m["truncated"] = truncated
    return m
