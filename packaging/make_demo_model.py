"""Train the demo's small expression model on drawn faces and write it with its card.

``faceexplorer demo`` ships this model so Model runs and Live have something real to run
on the demo's images and videos. It is a tiny CNN (64x64 grey face crop -> 8 expression
logits in AffectNet's order, about 50k weights, ~200 KB), trained here with torch on faces
drawn by :mod:`faceexplorer.samples` (``params_for_expression`` + ``draw_face``: the same
generator the demo's AffectNet images come from, but other random streams, so the demo's
own images stay held out). Each training face goes through the app's own preprocessing
(``inference.preprocess.crop_box`` and ``to_tensor`` with the card's input spec), with
the box from the drawing, jittered, or from the app's Haar detector (as Live finds faces);
faces are JPEG-compressed at a random quality as the demo's images are.

It only knows drawn faces: on photographs of real people it is meaningless, and its card
says so. The app never imports torch: it runs the exported ONNX file with onnxruntime.

Run with torch and onnx installed (``pip install torch==2.13.0 onnx``); seeded, but torch's
CPU kernels may differ in the last bits between machines, so rerunning may change the bytes:

    python packaging/make_demo_model.py [--faces 10000] [--epochs 8] [--processes 2]

Writes ``resources/demo_model/demo_expression.onnx`` (the card also inside
it, as the ONNX metadata ``faceexplorer_card``) and ``demo_expression.json`` (the card),
and prints the accuracy on held-out drawn faces.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "resources" / "demo_model"
MODEL_NAME = "demo_expression"
SIZE = 64
OPSET = 17

CARD = {
    "schema": 1,
    "name": "FaceExplorer demo expression CNN (drawn faces, 8 expressions)",
    "files": ["demo_expression*.onnx"],
    "reference": "trained by packaging/make_demo_model.py on faces drawn by "
                 "faceexplorer.samples (not the demo's own images)",
    "notes": "A tiny CNN for the demo only: it recognises the expressions of the drawn "
             "sample faces and means nothing on photographs of real people.",
    "input": {"name": "input", "layout": "NCHW", "size": [SIZE, SIZE], "colour": "GRAY",
              "divide_by": 255, "mean": [0.5], "std": [0.25], "crop": "box", "margin": 0.1},
    "outputs": [{"kind": "expression", "output": 0, "activation": "softmax",
                 "labels": "@AFFECTNET_8"}],
}


def _spec():
    from faceexplorer.inference.cards import load_card_text

    return load_card_text(json.dumps(CARD), "make_demo_model").input


def make_faces(n: int, seed: int, haar_share: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """``n`` preprocessed grey crops (N, 1, 64, 64) float32 and their expression codes."""
    from faceexplorer.core.vocab import EXPRESSIONS
    from faceexplorer.inference.detect import HaarFaceDetector
    from faceexplorer.inference.preprocess import crop_box, to_tensor
    from faceexplorer.samples.drawing import draw_face, params_for_expression

    spec = _spec()
    rng = np.random.default_rng(seed)
    haar = HaarFaceDetector()
    xs = np.empty((n, 1, SIZE, SIZE), np.float32)
    ys = rng.integers(0, len(EXPRESSIONS), n)
    for i, code in enumerate(ys.tolist()):
        params = params_for_expression(EXPRESSIONS[code], float(rng.uniform(0.35, 1.0)), rng,
                                       child=bool(rng.random() < 0.25))
        side = int(rng.integers(110, 260))
        face = draw_face(params, rng, (side, int(side * rng.uniform(0.85, 1.2))))
        ok, buf = cv2.imencode(".jpg", face.image,
                               [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])
        image = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else face.image
        x, y, w, h = (float(v) for v in face.box)
        found = haar.detect(image) if rng.random() < haar_share else []
        if found:
            x, y, w, h = (float(v) for v in found[0].box)
        else:  # the box of a detector or an annotator: a little off either way
            s = rng.uniform(0.85, 1.2)
            x += w * (rng.uniform(-0.08, 0.08) + (1 - s) / 2)
            y += h * (rng.uniform(-0.08, 0.08) + (1 - s) / 2)
            w, h = w * s, h * s
        crop = crop_box(image, (x, y, w, h), spec.margin, spec.size)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        xs[i] = to_tensor([np.ascontiguousarray(crop)], spec)[0]
    return xs, ys.astype(np.int64)


def _chunk(job: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    n, seed, part = job
    return make_faces(n, seed * 1000 + part)


def _draw_in_parallel(n: int, seed: int, processes: int) -> tuple[np.ndarray, np.ndarray]:
    """``make_faces`` in chunks of 500, each from its own seed (same faces for any pool)."""
    from multiprocessing import Pool

    jobs = [(min(500, n - a), seed, a // 500) for a in range(0, n, 500)]
    with Pool(processes) as pool:
        parts = pool.map(_chunk, jobs)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def build_net():
    import torch.nn as nn

    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True)]

    # ~2.7 MFLOP a face: a strided first layer, then three small blocks (trains in
    # minutes on 2 busy cores; 4x the width at 64x64 took 9 minutes an epoch)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16),
        nn.ReLU(inplace=True), nn.MaxPool2d(2),            # 16x16
        *block(16, 32), nn.MaxPool2d(2),                   # 8x8
        *block(32, 48), nn.MaxPool2d(2),                   # 4x4
        *block(48, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Dropout(0.1), nn.Linear(64, 8))


def train(xs: np.ndarray, ys: np.ndarray, epochs: int, seed: int):
    import torch

    torch.manual_seed(seed)
    net = build_net()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, epochs=epochs,
                                                steps_per_epoch=(len(xs) + 127) // 128)
    x, y = torch.from_numpy(xs), torch.from_numpy(ys)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for a in range(0, len(x), 128):
            idx = order[a:a + 128]
            batch = x[idx]
            # small brightness/contrast changes (in normalised units)
            batch = batch * (1 + 0.15 * (torch.rand(len(idx), 1, 1, 1, generator=gen) - 0.5)) \
                + 0.3 * (torch.rand(len(idx), 1, 1, 1, generator=gen) - 0.5)
            loss = torch.nn.functional.cross_entropy(net(batch), y[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.3f}", flush=True)
    net.eval()
    return net


def accuracy(net, xs: np.ndarray, ys: np.ndarray) -> tuple[float, np.ndarray]:
    import torch

    with torch.no_grad():
        pred = net(torch.from_numpy(xs)).argmax(1).numpy()
    confusion = np.zeros((8, 8), np.int64)
    np.add.at(confusion, (ys, pred), 1)
    return float((pred == ys).mean()), confusion


def export(net, path: Path) -> Path:
    import onnx
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    torch.onnx.export(net, torch.zeros(1, 1, SIZE, SIZE), str(tmp), input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"},
                                                             "logits": {0: "N"}},
                      opset_version=OPSET, dynamo=False)
    model = onnx.load(str(tmp))
    tmp.unlink()
    model.ir_version = 8            # loads in every onnxruntime the project supports
    model.producer_name = "faceexplorer packaging/make_demo_model.py"
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, {"faceexplorer_card": json.dumps(CARD, sort_keys=True)})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    path.with_suffix(".json").write_text(json.dumps(CARD, indent=2) + "\n", encoding="utf-8")
    return path


def check_with_onnxruntime(path: Path, xs: np.ndarray, ys: np.ndarray) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": xs})[0]
    return float((logits.argmax(1) == ys).mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--faces", type=int, default=10000, help="training faces")
    p.add_argument("--held-out", type=int, default=1500, help="held-out drawn faces")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--processes", type=int, default=2, help="processes drawing faces")
    p.add_argument("--cache", type=Path, default=Path("/tmp/faceexplorer_demo_model"),
                   help="folder keeping the drawn faces between runs")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    args.cache.mkdir(parents=True, exist_ok=True)
    data = {}
    for name, n, seed in (("train", args.faces, 1401), ("held_out", args.held_out, 1402)):
        file = args.cache / f"{name}_{n}_{seed}.npz"
        if not file.exists():
            t = time.perf_counter()
            xs, ys = _draw_in_parallel(n, seed, args.processes)
            np.savez(file, xs=xs, ys=ys)
            print(f"drew {n} {name} faces in {time.perf_counter() - t:.0f} s", flush=True)
        with np.load(file) as f:
            data[name] = (f["xs"], f["ys"])
    t = time.perf_counter()
    net = train(*data["train"], epochs=args.epochs, seed=14)
    print(f"trained in {time.perf_counter() - t:.0f} s")
    acc, confusion = accuracy(net, *data["held_out"])
    path = export(net, OUT / f"{MODEL_NAME}.onnx")
    ort_acc = check_with_onnxruntime(path, *data["held_out"])
    print(f"held-out drawn faces: accuracy {acc:.3f} (torch), {ort_acc:.3f} (onnxruntime)")
    print("confusion (rows: truth, AffectNet order):\n" + str(confusion))
    print(f"wrote {path} ({path.stat().st_size:,} bytes) and {path.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
