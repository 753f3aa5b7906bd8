"""Write the tiny ONNX model the ``--selftest`` runs: ``resources/selftest/``.

The model averages a 64x64 RGB face crop per channel and maps the three means to 8
expression logits with a fixed seeded matrix: a few hundred bytes, yet it exercises the
whole inference path of the frozen app (onnxruntime's native library, the card parser,
preprocessing, softmax decoding). Its card travels inside the file as the ONNX metadata
entry ``faceexplorer_card``, so no lookup by name is involved.

Run once with the build extra's ``onnx`` installed and commit the output; the result is
deterministic (same bytes on every run), so rerunning it leaves git clean.

    python packaging/make_selftest_model.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "resources" / "selftest"
MODEL_NAME = "selftest_expression.onnx"
SIZE = 64
OPSET = 17

CARD = {
    "schema": 1,
    "name": "FaceExplorer selftest (channel means -> 8 expressions)",
    "notes": "Not a real model: checks that the packaged inference path works.",
    "input": {"name": "input", "layout": "NCHW", "size": [SIZE, SIZE], "colour": "RGB",
              "divide_by": 255, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
              "crop": "box", "margin": 0.0},
    "outputs": [{"kind": "expression", "output": 0, "activation": "softmax",
                 "labels": "@AFFECTNET_8"}],
}


def build(path: Path) -> Path:
    """Write the selftest model to ``path`` and return it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(21)
    weights = rng.normal(0, 2, (3, 8)).astype(np.float32)
    bias = rng.normal(0, 0.5, 8).astype(np.float32)
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, SIZE, SIZE])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 8])
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["means"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["means", "w"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["logits"]),
    ]
    graph = helper.make_graph(nodes, "faceexplorer_selftest", [x], [y],
                              [numpy_helper.from_array(weights, "w"),
                               numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="faceexplorer packaging/make_selftest_model.py")
    # IR 8 loads in every onnxruntime the project supports (>= 1.17).
    model.ir_version = 8
    helper.set_model_props(model, {"faceexplorer_card": json.dumps(CARD, sort_keys=True)})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def main() -> int:
    """Build the model into the top-level resources/ and print where it went."""
    path = build(OUT / MODEL_NAME)
    print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
