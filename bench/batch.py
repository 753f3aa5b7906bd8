"""Images per second of a batch run vs bare onnxruntime on the same tensors, same run.

The data: the full-scale AffectNet sample (414,800 + 5,500 rows) with images drawn for
the first N rows of each split only, imported into a fresh index (cached under
bench/out/batch_sample; delete it to rebuild). The model: an EfficientNet-B0-sized
random-weight CNN built here with ``onnx``: four 3x3 stride-2 convolutions with ReLU
(3->32->64->128->256 channels) at 224x224, global average pooling and a 256x10 linear
head, ~0.37 GFLOP per image (EfficientNet-B0: 0.39), 0.4 M parameters, with a card
(8 expressions softmax, valence, arousal; ImageNet mean/std, box crop).

Measured: ``run_batch`` over the first N AffectNet rows (read JPEG, crop, batches of 16
through the model, decode, chunked index writes) and, in the same process, bare
``session.run`` over the same rows' preprocessed tensors in the same batches (the
tensors are made beforehand; at most 512 are held to keep memory at ~300 MB, and bare
throughput is taken on those). Also printed: process CPU ms per image of the run (all
threads; steadier than wall time on a shared machine) and the load average. The run
overlaps decoding and index writes with the model (``inference.batch_io``); the bench
still times the whole call, from the first read to the last committed chunk.
Usage: ``python bench/batch.py [--rows 2000] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faceexplorer.datasets.registry import import_path  # noqa: E402
from faceexplorer.index.store import connect  # noqa: E402
from faceexplorer.inference.batch import BATCH, dataset_items, run_batch  # noqa: E402
from faceexplorer.inference.preprocess import face_crop, to_tensor  # noqa: E402
from faceexplorer.inference.session import open_model  # noqa: E402
from faceexplorer.samples.affectnet import write_affectnet  # noqa: E402

CACHE = REPO / "bench" / "out" / "batch_sample"
BARE_MAX = 512


def build_model(path: Path) -> Path:
    """The EfficientNet-B0-sized random CNN described in the module docstring."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, src = [], [], "input"
    chans = (3, 32, 64, 128, 256)
    for k, (cin, cout) in enumerate(zip(chans[:-1], chans[1:], strict=True)):
        w = rng.normal(0, np.sqrt(2 / (9 * cin)), (cout, cin, 3, 3)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{k}"),
                  numpy_helper.from_array(np.zeros(cout, np.float32), f"b{k}")]
        nodes += [helper.make_node("Conv", [src, f"w{k}", f"b{k}"], [f"c{k}"],
                                   kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{k}"], [f"r{k}"])]
        src = f"r{k}"
    head = rng.normal(0, 0.1, (256, 10)).astype(np.float32)
    inits.append(numpy_helper.from_array(head, "head"))
    nodes += [helper.make_node("GlobalAveragePool", [src], ["gap"]),
              helper.make_node("Flatten", ["gap"], ["flat"]),
              helper.make_node("MatMul", ["flat", "head"], ["logits"])]
    graph = helper.make_graph(
        nodes, "bench_b0", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                          ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    path.with_suffix(".json").write_text(json.dumps({
        "name": "bench B0-sized CNN",
        "input": {"size": [224, 224], "mean": [0.485, 0.456, 0.406],
                  "std": [0.229, 0.224, 0.225], "crop": "box", "margin": 0.1},
        "outputs": [{"kind": "expression", "slice": [0, 8], "activation": "softmax",
                     "labels": "@AFFECTNET_8"},
                    {"kind": "valence", "slice": [8, 9]}, {"kind": "arousal", "slice": [9, 10]}],
    }))
    return path


def sample_index(rows: int) -> Path:
    """The full-scale AffectNet sample with ``rows`` images per split, imported (cached)."""
    folder = CACHE / f"rows{rows}"
    db = folder / "index.duckdb"
    if not db.exists():
        t0 = time.perf_counter()
        write_affectnet(folder, "full", np.random.default_rng(0), images=True, image_rows=rows)
        import_path(folder / "tmp.duckdb", folder / "AffectNet", "affectnet")
        (folder / "tmp.duckdb").rename(db)
        print(f"sample written and imported in {time.perf_counter() - t0:.0f} s")
    return db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    base = sample_index(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = build_model(Path(tmp) / "bench_b0.onnx")
        db = Path(tmp) / "index.duckdb"
        db.write_bytes(base.read_bytes())
        session = open_model(model_path, threads=args.threads)

        con = connect(db, read_only=True)
        items = dataset_items(con, "affectnet", args.rows)
        con.close()
        import cv2
        crops = [face_crop(cv2.imread(it.image), session.card.input, it.box, None)
                 for it in items[:BARE_MAX] if it.box is not None and Path(it.image).is_file()]
        tensors = [to_tensor(crops[i:i + BATCH], session.card.input)
                   for i in range(0, len(crops), BATCH)]
        del crops
        session.run(tensors[0])  # warm-up, for both measurements
        t0 = time.perf_counter()
        for t in tensors:
            session.run(t)
        bare = sum(len(t) for t in tensors) / (time.perf_counter() - t0)

        cpu = time.process_time()
        result = run_batch(db, session, "affectnet", limit=args.rows)
        cpu = time.process_time() - cpu
        ours = result.items_written / result.seconds
    print(f"model: B0-sized random CNN, 0.37 GFLOP/image, {args.threads} onnxruntime threads, "
          f"batches of {BATCH}, load average {os.getloadavg()[0]:.2f}")
    print(f"batch run : {result.items_written} images ({result.items_missing} missing files, "
          f"{result.items_failed} invalid) in {result.seconds:.1f} s = {ours:.1f} images/s "
          f"({1e3 / ours:.2f} ms/image; cpu {1e3 * cpu / result.items_written:.2f} ms/image)")
    print(f"bare ORT  : {sum(len(t) for t in tensors)} tensors = {bare:.1f} images/s "
          f"({1e3 / bare:.2f} ms/image)")
    print(f"ratio batch/bare throughput: {ours / bare:.2f} "
          f"(overhead {100 * (bare / ours - 1):.0f}% per image)")


if __name__ == "__main__":
    main()
