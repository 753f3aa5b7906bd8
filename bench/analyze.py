"""Benchmark: every-frame analysis against bare OpenCV detection + bare onnxruntime,
or (``--engine ray``) the local engine against the Ray engine on the same inputs.

    python bench/analyze.py [--root DIR] [--frames 472] [--rounds 2] [--threads 1] [--json]
    python bench/analyze.py --engine ray [--videos 4] [--workers 2] [--frames 472] ...

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

``--engine ray`` (issue 17): ``--videos`` scene videos (seeds 0, 1, ...; ``--frames``
each) and the same model. Ray is started once, outside every clock (``ray.init`` on this
machine's cores, no dashboard; its time is printed: a cluster is started once, not per
analysis). Then ``--rounds`` times in turn, each into a fresh output, no index:

- ``local``: ``run_analysis`` on all the videos with an already opened model (as above).
- ``ray``: ``run_analysis(engine=RayEngine(workers))`` on the same videos. Inside the
  clock: everything ``local`` does in the driver (probe, hash, output file) plus creating
  the workers (one process each, loading the model and the cascade) and killing them at
  the end, planning the chunks, and the workers analysing and writing the parts.

Printed per run: frames/s, ms per frame, CPU ms per frame (``local``: process CPU;
``ray``: the workers' process CPU over their chunks + the driver's process CPU), the
stages' thread-CPU per frame; for ``ray`` also the workers' start (process + model), the
chunks, and the overhead per work item (driver-side submit-to-report time minus the
worker's own time for that chunk: dispatch, result and polling). Then, best vs best: the
wall ratio ray / local - 1 (goal: within +15% on this 2-core machine), the CPU ratio, and
whether both tables are the same (rows, then the largest difference of any value).
Last, a CPU-bound *ceiling* for idle cores, an upper bound from the measured CPU (the
shared machine's wall figures favour Ray, whose two workers run four busy threads to the
local engine's two and so take a larger share of contended cores): min(workers * 1000 /
busier thread's CPU ms per frame, cores * 1000 / CPU ms per frame), local counting as one
worker.
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


def scene_videos(root: Path, frames: int, count: int) -> list[Path]:
    """``count`` bench videos of different scenes (seeds 0..count-1), written once."""
    paths = [scene_video(root, frames)[0]]
    for seed in range(1, count):
        path = root / f"scene_{SIZE[0]}x{SIZE[1]}_{frames}_seed{seed}.avi"
        if not path.exists():
            tmp = path.with_name("partial_" + path.name)
            write_video(FaceScene(frames, SIZE, FPS, seed=seed), tmp)
            tmp.replace(path)
        paths.append(path)
    return paths


def engine_run(engine_name: str, videos: list[Path], model: Path, threads: int, out: Path,
               workers: int) -> dict:
    """One ``run_analysis`` with the local or the Ray engine (see the module docstring)."""
    from faceexplorer.inference.cluster import RayEngine

    session = open_model(model, threads=threads)
    engine = RayEngine(workers=workers) if engine_name == "ray" else None
    t0, p0 = time.perf_counter(), time.process_time()
    result = run_analysis(session, videos, out, db_path=None, engine=engine)
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - p0
    assert result.status == "finished", result.message
    n = sum(s.frames for s in result.inputs)
    fig = {"name": engine_name, "frames": n, "seconds": seconds, "fps": n / seconds,
           "ms_per_frame": 1e3 * seconds / n, "driver_cpu_ms": 1e3 * cpu_s / n,
           "stage_cpu_ms": {k: 1e3 * v / n for k, v in result.clock.cpu.items()},
           "rows": result.rows, "load": os.getloadavg()[0]}
    fig["cpu_ms_per_frame"] = fig["driver_cpu_ms"]
    if engine is not None:
        st = engine.stats
        fig.update(workers=len(st.workers), chunks=st.chunks, start_s=st.start_s,
                   worker_cpu_ms=1e3 * st.worker_cpu_s / n,
                   overhead_per_chunk_ms=1e3 * st.overhead_per_chunk_s,
                   chunk_s=[round(c, 2) for c in st.chunk_s])
        fig["cpu_ms_per_frame"] = fig["driver_cpu_ms"] + fig["worker_cpu_ms"]
    sc = fig["stage_cpu_ms"]
    busier = max(sc["read"] + sc["detect"] + sc["preprocess"], sc["infer"] + sc["postprocess"])
    fig["ceiling_fps"] = min(fig.get("workers", 1) * 1e3 / busier,
                             (os.cpu_count() or 1) * 1e3 / fig["cpu_ms_per_frame"])
    stages = " ".join(f"{k} {v:.1f}" for k, v in fig["stage_cpu_ms"].items())
    print(f"{engine_name:<6} {fig['fps']:6.1f} frames/s  {fig['ms_per_frame']:6.1f} ms/frame  "
          f"CPU {fig['cpu_ms_per_frame']:6.1f} ms/frame  ({n} frames, {seconds:.1f} s)  "
          f"load {fig['load']:.1f}")
    print(f"       stage thread-CPU ms/frame: {stages}; ceiling on idle cores "
          f"{fig['ceiling_fps']:.1f} frames/s")
    if engine is not None:
        print(f"       {fig['workers']} workers started in {fig['start_s']:.1f} s, "
              f"{fig['chunks']} chunks ({', '.join(f'{c:.1f}' for c in fig['chunk_s'])} s), "
              f"overhead per work item {fig['overhead_per_chunk_ms']:.0f} ms; CPU: workers "
              f"{fig['worker_cpu_ms']:.1f} + driver {fig['driver_cpu_ms']:.1f} ms/frame")
    return fig


def _same_tables(a: Path, b: Path) -> str:
    """``same N rows, largest difference X`` or what differs."""
    import duckdb
    import pandas as pd

    x = duckdb.sql(f"SELECT * FROM read_parquet('{a}')").df()
    y = duckdb.sql(f"SELECT * FROM read_parquet('{b}')").df()
    if x.shape != y.shape or list(x.columns) != list(y.columns):
        return f"DIFFERENT shapes {x.shape} vs {y.shape}"
    floats = [c for c in x.columns if x[c].dtype.kind == "f"]
    others = [c for c in x.columns if c not in floats]
    if not x[others].equals(y[others]):
        return "DIFFERENT rows (non-numeric columns differ)"
    if not (x[floats].isna() == y[floats].isna()).all().all():
        return "DIFFERENT empty cells"
    diff = float(np.nanmax(np.abs(x[floats].to_numpy() - y[floats].to_numpy()), initial=0.0))
    exact = pd.DataFrame.equals(x, y)
    return f"same {len(x)} rows, largest difference {diff:.2g}{' (identical)' if exact else ''}"


def main_ray(args: argparse.Namespace) -> None:
    """Local engine vs Ray engine on the same videos (see the module docstring)."""
    import logging

    ray = __import__("ray")
    videos = scene_videos(args.root, args.frames, args.videos)
    model = b0_model(args.root)
    print(f"{len(videos)} videos ({SIZE[0]}x{SIZE[1]}, {args.frames} frames each), model "
          f"{model.name}, onnxruntime threads {args.threads}, Ray {ray.__version__} workers "
          f"{args.workers}, cores {os.cpu_count()}, load "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False,
             log_to_driver=False, logging_level=logging.ERROR)
    print(f"ray.init (once, outside the clocks): {time.perf_counter() - t0:.1f} s")
    figures: dict[str, list[dict]] = {"local": [], "ray": []}
    with tempfile.TemporaryDirectory(dir=args.root) as tmp:
        try:
            for k in range(args.rounds):
                for name in ("local", "ray") if k % 2 == 0 else ("ray", "local"):
                    out = Path(tmp) / f"{name}{k}.parquet"
                    figures[name].append(engine_run(name, videos, model, args.threads, out,
                                                    args.workers))
            same = _same_tables(Path(tmp) / "local0.parquet", Path(tmp) / "ray0.parquet")
        finally:
            ray.shutdown()
    best = {k: min(v, key=lambda f: f["ms_per_frame"]) for k, v in figures.items()}
    cpu = {k: min(f["cpu_ms_per_frame"] for f in v) for k, v in figures.items()}
    wall = best["ray"]["ms_per_frame"] / best["local"]["ms_per_frame"] - 1
    rounds = [r["ms_per_frame"] / lo["ms_per_frame"] - 1
              for r, lo in zip(figures["ray"], figures["local"], strict=True)]
    print(f"best of {args.rounds}: local {best['local']['fps']:.1f} frames/s, ray "
          f"{best['ray']['fps']:.1f} frames/s: ray {100 * wall:+.1f}% wall per frame "
          f"(per round {', '.join(f'{100 * r:+.1f}%' for r in rounds)}; goal within +15%), "
          f"{100 * (cpu['ray'] / cpu['local'] - 1):+.1f}% CPU per frame; overhead per work "
          f"item {min(f['overhead_per_chunk_ms'] for f in figures['ray']):.0f} ms; tables: "
          f"{same}; load {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    ceiling = {k: max(f["ceiling_fps"] for f in v) for k, v in figures.items()}
    print(f"CPU-bound ceiling on {os.cpu_count()} idle cores (an upper bound from the measured "
          f"CPU, not a measurement): local {ceiling['local']:.1f}, ray {ceiling['ray']:.1f} "
          f"frames/s (ray {100 * (ceiling['local'] / ceiling['ray'] - 1):+.1f}% time per frame)")
    if args.json:
        print(json.dumps({"figures": figures, "ray_wall_overhead": wall}, default=float))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=Path(__file__).parent / "out" / "analyze")
    p.add_argument("--frames", type=int, default=472)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: analyze vs bare (default); ray: local engine vs Ray engine")
    p.add_argument("--videos", type=int, default=4, help="--engine ray: videos (default 4)")
    p.add_argument("--workers", type=int, default=2, help="--engine ray: Ray workers")
    args = p.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    if args.engine == "ray":
        main_ray(args)
        return
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
