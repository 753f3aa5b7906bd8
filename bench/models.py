"""The EfficientNet-B0 model the benches run: its real layer plan, random weights.

``build_b0(path)`` writes, with ``onnx`` (a test/bench extra), a model that follows
EfficientNet-B0's layer plan: stem 3x3/2 conv (32), 16 MBConv blocks (expand 1x1,
depthwise 3x3 or 5x5, project 1x1, residual where shapes allow) in stages (expand,
channels, repeats, stride, kernel) = (1,16,1,1,3) (6,24,2,2,3) (6,40,2,2,5)
(6,80,3,2,3) (6,112,3,1,5) (6,192,4,2,5) (6,320,1,1,3), head 1x1 conv (1280), global
average pool, a 10-wide linear layer (8 expression logits, valence, arousal); Swish
activations; no squeeze-excitation and no batch norm (both fold away or cost <2% of the
~0.39 GFLOPs). Its input is ``input`` (N, 3, 224, 224), its output ``output`` (N, 10).

Name the file like HSEmotion's ``enet_b0_8_va_mtl*.onnx`` (``B0_NAME``) and the app's
shipped card for that model applies (ImageNet mean/std, RGB, box crop, 224x224), so
``bench/live.py`` and ``bench/batch.py`` run the same model the same way. Measured on
this machine: ~16 ms per 224x224 image on one thread (the four-convolution stand-in
``bench/batch.py`` used before took ~2.5 ms and flattered the batch run's overhead).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: File name that makes the shipped ``enet_b0_8_va_mtl`` card apply.
B0_NAME = "enet_b0_8_va_mtl_random.onnx"
B0_STAGES = ((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3),
             (6, 112, 3, 1, 5), (6, 192, 4, 2, 5), (6, 320, 1, 1, 3))


def b0_model(folder: Path, seed: int = 0) -> Path:
    """``folder / B0_NAME``, built once (kept between runs)."""
    path = folder / B0_NAME
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        build_b0(path, seed)
    return path


def build_b0(path: Path, seed: int = 0) -> Path:
    """Write the EfficientNet-B0 layout with random weights (see the module docstring)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    count = [0]

    def name(prefix: str) -> str:
        count[0] += 1
        return f"{prefix}{count[0]}"

    def conv(x: str, cin: int, cout: int, k: int, stride: int, groups: int = 1,
             act: bool = True) -> str:
        w = rng.normal(0, np.sqrt(2.0 / (cin // groups * k * k)), (cout, cin // groups, k, k))
        wn, bn, out = name("w"), name("b"), name("conv")
        inits.extend([numpy_helper.from_array(w.astype(np.float32), wn),
                      numpy_helper.from_array(np.zeros(cout, np.float32), bn)])
        nodes.append(helper.make_node("Conv", [x, wn, bn], [out], kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4,
                                      group=groups))
        if not act:
            return out
        sig, swish = name("sig"), name("swish")
        nodes.extend([helper.make_node("Sigmoid", [out], [sig]),
                      helper.make_node("Mul", [out, sig], [swish])])
        return swish

    x = conv("input", 3, 32, 3, 2)
    cin = 32
    for expand, cout, repeats, stride, k in B0_STAGES:
        for r in range(repeats):
            s = stride if r == 0 else 1
            mid = cin * expand
            h = conv(x, cin, mid, 1, 1) if expand != 1 else x
            h = conv(h, mid, mid, k, s, groups=mid)
            h = conv(h, mid, cout, 1, 1, act=False)
            if s == 1 and cin == cout:
                res = name("res")
                nodes.append(helper.make_node("Add", [x, h], [res]))
                h = res
            x, cin = h, cout
    x = conv(x, cin, 1280, 1, 1)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"]))
    w = rng.normal(0, 0.05, (1280, 10)).astype(np.float32)
    inits += [numpy_helper.from_array(w, "fc_w"),
              numpy_helper.from_array(np.zeros(10, np.float32), "fc_b")]
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["output"]))
    graph = helper.make_graph(
        nodes, "efficientnet_b0_sized", [helper.make_tensor_value_info(
            "input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def bare_session(path: Path, threads: int):
    """A plain onnxruntime session as a script would make it (no app code)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
