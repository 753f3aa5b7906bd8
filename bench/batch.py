"""Images per second of a batch run vs a bare cv2 + onnxruntime loop over the same rows.

    python bench/batch.py [--rows 2000] [--threads 2]

The data: the full-scale AffectNet sample (414,800 + 5,500 rows) with images drawn for
the first N rows of each split only, imported into a fresh index (cached under
bench/out/batch_sample; delete it to rebuild). The model: EfficientNet-B0's real layer
plan with random weights (``bench/models.py``, shared with ``bench/live.py``; ~0.39
GFLOP per image), named so the shipped ``enet_b0_8_va_mtl`` card applies (RGB, ImageNet
mean/std, box crop, 224x224). Up to issue 18 this bench used a four-convolution stand-in
(~2.5 ms per image against B0's ~16) and a baseline fed ready tensors; both flattered.

In one process, after one warm-up batch through each session:

- ``bare``: what a script would do, one thread of Python, same rows in the same order,
  same batches of ``BATCH``: ``np.fromfile`` + ``cv2.imdecode`` of each JPEG, square crop
  of its face box by slicing + ``cv2.resize`` to 224, stack, BGR->RGB, /255, mean/std,
  NCHW, ``InferenceSession.run`` (plain session, same thread count). Inside the clock:
  all of that; the time of each part is printed too (decode, crop+preprocess, model).
  Outside: reading the item list from the index.
- ``batch run``: between two bare passes (their mean is the baseline, so a load that
  drifts during the run weighs on both sides), ``run_batch`` over the same rows (the
  app: reads, crops with the card, batches of 16, decodes outputs, chunked index
  writes; it overlaps decoding and writes with the model on two more threads, so it
  can beat the one-thread bare loop). Inside the clock: the whole call, from opening
  the index to the last committed chunk (its fixed costs too: the item query, ~2 s at
  load 20, and the index connections).

Printed: images/s and ms/image of each, the process CPU ms per image (all threads;
steadier than wall time on a shared machine), the ratio batch/bare of throughput and of
CPU per image, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.models import b0_model, bare_session  # noqa: E402
from faceexplorer.datasets.registry import import_path  # noqa: E402
from faceexplorer.index.store import connect  # noqa: E402
from faceexplorer.inference.batch import BATCH, dataset_items, run_batch  # noqa: E402
from faceexplorer.inference.session import open_model  # noqa: E402
from faceexplorer.samples.affectnet import write_affectnet  # noqa: E402

CACHE = REPO / "bench" / "out" / "batch_sample"
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


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


def bare(items: list, session, threads: int) -> dict[str, float]:
    """The bare loop of the module docstring over ``items``; seconds per part."""
    import cv2

    parts = {"decode": 0.0, "preprocess": 0.0, "model": 0.0}
    n = missing = 0
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(items), BATCH):
        crops = []
        for it in items[i:i + BATCH]:
            t0 = time.perf_counter()
            path = Path(it.image)
            image = (cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
                     if it.box is not None and path.is_file() else None)
            t1 = time.perf_counter()
            parts["decode"] += t1 - t0
            if image is None:
                missing += 1
                continue
            x, y, w, h = it.box
            side = max(w, h)
            x0, y0 = int(max(0, x + w / 2 - side / 2)), int(max(0, y + h / 2 - side / 2))
            crop = image[y0:y0 + int(side), x0:x0 + int(side)]
            crops.append(cv2.resize(crop, (224, 224), interpolation=cv2.INTER_AREA))
            parts["preprocess"] += time.perf_counter() - t1
        if not crops:
            continue
        t1 = time.perf_counter()
        batch = np.stack(crops)[..., ::-1].astype(np.float32) / np.float32(255)
        batch = np.ascontiguousarray(((batch - MEAN) / STD).transpose(0, 3, 1, 2))
        t2 = time.perf_counter()
        session.run(None, {"input": batch})
        parts["preprocess"] += t2 - t1
        parts["model"] += time.perf_counter() - t2
        n += len(crops)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"images": n, "missing": missing, "seconds": seconds, "per_s": n / seconds,
            "cpu_ms": 1e3 * cpu / n, **{f"{k}_ms": 1e3 * v / n for k, v in parts.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    base = sample_index(args.rows)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        model_path = b0_model(CACHE)
        db = Path(tmp) / "index.duckdb"
        db.write_bytes(base.read_bytes())
        session = open_model(model_path, threads=args.threads)
        plain = bare_session(model_path, args.threads)
        con = connect(db, read_only=True)
        items = dataset_items(con, "affectnet", args.rows)
        con.close()
        warm = np.zeros((BATCH, 3, 224, 224), np.float32)
        session.run(warm)
        plain.run(None, {"input": warm})
        b = bare(items, plain, args.threads)

        cpu = time.process_time()
        result = run_batch(db, session, "affectnet", limit=args.rows)
        cpu = time.process_time() - cpu
        ours = result.items_written / result.seconds
        ours_cpu = 1e3 * cpu / result.items_written
        b2 = bare(items, plain, args.threads)   # again: brackets the load's drift
    b_per_s = 2 / (1 / b["per_s"] + 1 / b2["per_s"])   # mean time per image of the two
    b_cpu = (b["cpu_ms"] + b2["cpu_ms"]) / 2
    load = os.getloadavg()
    print(f"model: EfficientNet-B0 layout, random weights (bench/models.py), {args.threads} "
          f"onnxruntime threads, batches of {BATCH}; load average {load_before[0]:.2f} before, "
          f"{load[0]:.2f} after ({load[1]:.2f} over 5 min), {os.cpu_count()} cpus")
    print(f"batch run : {result.items_written} images ({result.items_missing} missing files, "
          f"{result.items_failed} invalid) in {result.seconds:.1f} s = {ours:.1f} images/s "
          f"({1e3 / ours:.2f} ms/image; cpu {ours_cpu:.2f} ms/image)")
    for when, x in (("before", b), ("after", b2)):
        print(f"bare {when:<6}: {x['images']} images ({x['missing']} missing) in "
              f"{x['seconds']:.1f} s = {x['per_s']:.1f} images/s ({1e3 / x['per_s']:.2f} ms/image: "
              f"decode {x['decode_ms']:.2f}, crop+preprocess {x['preprocess_ms']:.2f}, model "
              f"{x['model_ms']:.2f}; cpu {x['cpu_ms']:.2f} ms/image)")
    print(f"ratio batch/bare (bare = mean of both passes): throughput {ours / b_per_s:.2f} (time "
          f"per image {100 * (b_per_s / ours - 1):+.0f}%), cpu per image {ours_cpu / b_cpu:.2f}")


if __name__ == "__main__":
    main()
