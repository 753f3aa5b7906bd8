"""Benchmark: every-frame analysis against bare OpenCV detection + bare onnxruntime.

    python bench/analyze.py [--root DIR] [--frames 472] [--rounds 2] [--threads 1] [--json]

Writes once under ``--root`` (default ``bench/out/analyze``) a 640x360 MJPEG video of
``samples.scenes.FaceScene`` (``--frames`` frames at 25 fps, seed 0: an empty room,
people entering and leaving, head turns, a hand over the face, two faces, camera cuts;
its true face boxes are known) and the EfficientNet-B0-sized model of
``bench/models.py`` (random weights, named so the shipped ``enet_b0_8_va_mtl`` card
applies: 224x224 RGB ImageNet box crops). Then, in one process, ``--rounds`` times in
turn:

- ``bare``: one thread, in order, no app code: ``cv2.VideoCapture.read`` each frame,
  detect with the live mode's detector class (``TrackingFaceDetector()``: a Haar search
  of a small region around each face, the whole frame every 12 frames or when a face is
  lost; the class itself is called, its searches are the bare detection work), crop
  each face with one ``cv2.warpAffine`` (square box, 224x224) and normalise in numpy,
  and ``InferenceSession.run`` on batches of ``analyze_input.BATCH`` faces (8) with a plain
  session (``bench/models.bare_session``: same threads, spinning off). Session and
  cascade are created outside the clock.
- ``analyze``: ``run_analysis`` on the same video with an already opened model (opening
  the model is outside the clock, as for bare) and the default detector, writing the
  Parquet output; no index (``db_path=None``). Inside the clock: probing and hashing the
  video, loading the cascade, decoding + detection + crops on the prefetch thread, the
  model on the calling thread, writing parts and the output file.

Printed per run: frames/s; a CPU-bound *ceiling* for two idle cores, 1000 / max(process
CPU ms per frame / 2, thread-CPU ms per frame of the busier thread) (``bare``: 1000 / its
process CPU ms per frame, one thread): the most the measured CPU work allows when
nothing else runs, an upper bound, not a measurement (on a shared machine the
wall-clock rate follows the other load);
wall ms per frame per stage (for ``analyze`` from its ``StageClock``: the stages
overlap on two threads, so they add up to more than the wall time per frame);
thread-CPU ms per frame per stage; process CPU ms per frame (all threads, OpenCV's
helper threads included); faces found against the scene's truth. Then the ratios of the best rounds:
overhead = analyze seconds per frame / bare seconds per frame - 1 (negative when the two
threads beat the one-thread bare loop) and the CPU overhead (analyze process CPU per
frame / bare - 1), the figure that moves least with other load on a shared machine.
The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import b0_model, bare_session  # noqa: E402

from faceexplorer.inference.analyze import run_analysis  # noqa: E402
from faceexplorer.inference.analyze_input import BATCH, STAGES  # noqa: E402
from faceexplorer.inference.session import open_model  # noqa: E402
from faceexplorer.inference.track import TrackingFaceDetector  # noqa: E402
from faceexplorer.samples.scenes import FaceScene, match_faces, write_video  # noqa: E402

SIZE = (640, 360)
FPS = 25.0
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def scene_video(root: Path, frames: int) -> tuple[Path, FaceScene]:
    """The bench video (written once) and its scene (for the truth boxes)."""
    scene = FaceScene(frames, SIZE, FPS, seed=0)
    path = root / f"scene_{SIZE[0]}x{SIZE[1]}_{frames}.avi"
    if not path.exists():
        tmp = path.with_name("partial_" + path.name)
        write_video(scene, tmp)
        tmp.replace(path)
    return path, scene


def _crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x, y, w, h = box
    side = max(w, h)
    s = 224.0 / side
    m = np.array([[s, 0, 112.0 - s * (x + w / 2)], [0, s, 112.0 - s * (y + h / 2)]])
    return cv2.warpAffine(image, m, (224, 224), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_CONSTANT)


def bare(video: Path, model: Path, threads: int) -> dict:
    """The one-thread loop of bare stages (see the module docstring)."""
    session = bare_session(model, threads)
    name = session.get_inputs()[0].name
    detector = TrackingFaceDetector()
    wall = dict.fromkeys(("read", "detect", "preprocess", "infer"), 0.0)
    cpu = dict(wall)
    boxes: list[list[tuple]] = []
    crops: list[np.ndarray] = []

    def timed(stage: str, fn, *args):
        w, c = time.perf_counter(), time.thread_time()
        out = fn(*args)
        wall[stage] += time.perf_counter() - w
        cpu[stage] += time.thread_time() - c
        return out

    def prep(image: np.ndarray, found: list) -> None:
        for d in found:
            rgb = _crop(image, d.box)[..., ::-1].astype(np.float32)
            crops.append(((rgb / 255.0 - MEAN) / STD).transpose(2, 0, 1))

    def run() -> None:
        session.run(None, {name: np.ascontiguousarray(np.stack(crops))})
        crops.clear()

    cap = cv2.VideoCapture(str(video))
    t0, p0 = time.perf_counter(), time.process_time()
    frames = 0
    while True:
        ok, image = timed("read", cap.read)
        if not ok:
            break
        found = timed("detect", detector.detect, image)
        boxes.append([d.box for d in found])
        timed("preprocess", prep, image, found)
        if len(crops) >= BATCH:
            timed("infer", run)
        frames += 1
    if crops:
        timed("infer", run)
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - p0
    cap.release()
    return {"frames": frames, "seconds": seconds, "cpu_s": cpu_s, "wall": wall, "cpu": cpu,
            "boxes": boxes}


def analyze(video: Path, model: Path, threads: int, out: Path) -> dict:
    """``run_analysis`` on the video (see the module docstring)."""
    session = open_model(model, threads=threads)
    t0, p0 = time.perf_counter(), time.process_time()
    result = run_analysis(session, [video], out, db_path=None)
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - p0
    import duckdb

    rows = duckdb.sql(f"SELECT frame_index, box_x, box_y, box_w, box_h, face_found "
                      f"FROM read_parquet('{out}') ORDER BY frame_index, face_index").fetchall()
    frames = result.inputs[0].frames
    boxes: list[list[tuple]] = [[] for _ in range(frames)]
    for f, x, y, w, h, found in rows:
        if found:
            boxes[f].append((x, y, w, h))
    return {"frames": frames, "seconds": seconds, "cpu_s": cpu_s,
            "wall": result.clock.wall, "cpu": result.clock.cpu, "boxes": boxes,
            "sentence": result.inputs[0].sentence(), "status": result.status}


def _line(name: str, r: dict, truth: list) -> dict:
    n = r["frames"]
    m = match_faces(truth, r["boxes"])
    stages = [s for s in STAGES if s in r["wall"]]
    fig = {"name": name, "frames": n, "fps": n / r["seconds"],
           "ms_per_frame": 1e3 * r["seconds"] / n, "cpu_ms_per_frame": 1e3 * r["cpu_s"] / n,
           "stage_wall_ms": {s: 1e3 * r["wall"][s] / n for s in stages},
           "stage_cpu_ms": {s: 1e3 * r["cpu"][s] / n for s in stages},
           "faces_found": m.found, "faces_true": m.faces, "findable_found": m.findable_found,
           "findable": m.findable, "false_alarms": m.false_alarms}
    sc = fig["stage_cpu_ms"]
    if name == "bare":
        fig["ceiling_fps"] = 1e3 / fig["cpu_ms_per_frame"]
    else:
        prefetch = sc["read"] + sc["detect"] + sc["preprocess"]
        model = sc["infer"] + sc["postprocess"]
        fig["ceiling_fps"] = 1e3 / max(fig["cpu_ms_per_frame"] / 2, prefetch, model)
    wall = " ".join(f"{s} {v:.1f}" for s, v in fig["stage_wall_ms"].items())
    cpu = " ".join(f"{s} {v:.1f}" for s, v in fig["stage_cpu_ms"].items())
    print(f"{name:<8} {fig['fps']:6.1f} frames/s  {fig['ms_per_frame']:6.1f} ms/frame  "
          f"process CPU {fig['cpu_ms_per_frame']:6.1f} ms/frame  ceiling on 2 idle cores "
          f"{fig['ceiling_fps']:5.1f} frames/s  load {os.getloadavg()[0]:.1f}")
    print(f"         wall ms/frame: {wall}")
    print(f"         CPU  ms/frame: {cpu}")
    print(f"         faces found {m.found}/{m.faces} (findable {m.findable_found}/{m.findable}),"
          f" false alarms {m.false_alarms}")
    return fig


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=Path(__file__).parent / "out" / "analyze")
    p.add_argument("--frames", type=int, default=472)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    video, scene = scene_video(args.root, args.frames)
    model = b0_model(args.root)
    truth = [scene.truth(i) for i in range(args.frames)]
    print(f"video {video.name} ({SIZE[0]}x{SIZE[1]}, {args.frames} frames), model "
          f"{model.name}, onnxruntime threads {args.threads}, cores {os.cpu_count()}, "
          f"load {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    figures: dict[str, list[dict]] = {"bare": [], "analyze": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.rounds):
            figures["bare"].append(_line("bare", bare(video, model, args.threads), truth))
            out = Path(tmp) / f"round{k}.parquet"
            r = analyze(video, model, args.threads, out)
            assert r["status"] == "finished", r
            figures["analyze"].append(_line("analyze", r, truth))
            print(f"         {r['sentence']}")
    best = {k: min(v, key=lambda f: f["ms_per_frame"]) for k, v in figures.items()}
    cpu_best = {k: min(f["cpu_ms_per_frame"] for f in v) for k, v in figures.items()}
    overhead = best["analyze"]["ms_per_frame"] / best["bare"]["ms_per_frame"] - 1
    cpu_overhead = cpu_best["analyze"] / cpu_best["bare"] - 1
    ceiling = {k: max(f["ceiling_fps"] for f in v) for k, v in figures.items()}
    print(f"best of {args.rounds}: analyze {best['analyze']['fps']:.1f} frames/s (ceiling "
          f"{ceiling['analyze']:.1f}), bare {best['bare']['fps']:.1f} frames/s (ceiling "
          f"{ceiling['bare']:.1f}); overhead {100 * overhead:+.1f}% wall, "
          f"{100 * cpu_overhead:+.1f}% process CPU (goals: >= 40 frames/s, < 15%); "
          f"load {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if args.json:
        print(json.dumps({"figures": figures, "overhead": overhead,
                          "cpu_overhead": cpu_overhead}, default=float))


if __name__ == "__main__":
    main()
