"""Benchmark: the live pipeline against bare Haar detection + onnxruntime on the same frames.

    python bench/live.py [--root DIR] [--frames 150] [--threads 1] [--slow-ms 200] [--json]

Writes once under ``--root`` a 640x480 MJPEG video of drawn faces (``samples.drawing``,
one face moving over a textured background, 30 fps) and an EfficientNet-B0-sized model
with random weights, built with ``onnx`` (named like HSEmotion's ``enet_b0_8_va_mtl`` so
its shipped card applies). The model follows EfficientNet-B0's layer plan: stem 3x3/2
conv (32), 16 MBConv blocks (expand 1x1, depthwise 3x3 or 5x5, project 1x1, residual
where shapes allow) in stages (expand, channels, repeats, stride, kernel) =
(1,16,1,1,3) (6,24,2,2,3) (6,40,2,2,5) (6,80,3,2,3) (6,112,3,1,5) (6,192,4,2,5)
(6,320,1,1,3), head 1x1 conv (1280), global average pool, a 10-wide linear layer (8
expression logits, valence, arousal); Swish activations; no squeeze-excitation and no
batch norm (both fold away or cost <2% of the ~0.39 GFLOPs). Then, in this one process:

- ``bare``: decode each frame with cv2, detect with the app's live-mode detector
  (``TrackingFaceDetector()``, what ``open_live(detector="haar")`` uses: a Haar search
  of a small region around the last face, the whole frame every 12 frames or when the
  face is lost; the class itself is called, since its searches are the bare detection
  work), crop + resize to 224 + normalise, ``session.run`` - one thread, in order;
- ``bare full-frame Haar``: the same with every frame searched whole (the cascade called
  directly with ``HaarFaceDetector()``'s settings, as the app did before tracking), for
  comparison only;
- every line also gives the process CPU time per modelled frame (all threads): on a
  shared machine wall-clock rates follow the other load, CPU time much less, so the
  CPU overhead (live / bare - 1) is the figure to compare between runs;
- ``live lockstep``: ``LiveSession`` on the same video with the same detector, each stage
  waiting for the next so every frame is modelled (overlay drawn, display frame scaled):
  fps, ms per stage, and overhead = live seconds per frame / bare seconds per frame - 1.
  The session runs capture, detection and the model on three threads, so on 2 cores it
  can beat the one-thread bare loop (a negative overhead);
- ``live free``: the same, model on the newest frame only: display and model fps (the
  video is read as fast as it decodes, so capture and display compete with the model);
- ``camera-paced``: the video paced at 30 fps as a webcam delivers it, model on the
  newest frame: display and model fps - the live mode a user sees;
- ``slow model``: the video paced at 30 fps with a model that sleeps ``--slow-ms`` more
  per run: display fps must stay at the video rate, the largest gap between shown frames.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceexplorer.inference.detect import HAAR_MAX_SIDE, haar_file  # noqa: E402
from faceexplorer.inference.live import LiveSession, make_detector  # noqa: E402
from faceexplorer.inference.pipeline import Pipeline  # noqa: E402
from faceexplorer.inference.session import open_model  # noqa: E402
from faceexplorer.inference.sources import VideoFileSource  # noqa: E402
from faceexplorer.samples.drawing import draw_face, params_for_expression  # noqa: E402

B0_STAGES = ((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3),
             (6, 112, 3, 1, 5), (6, 192, 4, 2, 5), (6, 320, 1, 1, 3))


def build_b0(path: Path, seed: int = 0) -> Path:
    """Write the EfficientNet-B0-sized random model (see the module docstring)."""
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


def write_video(path: Path, frames: int, fps: float = 30.0) -> Path:
    """640x480 MJPEG: one drawn face (Haar finds it) moving over a noisy background."""
    rng = np.random.default_rng(7)
    face = draw_face(params_for_expression("happy", 0.8, rng), rng).image
    face = cv2.resize(face, (240, 240))
    background = rng.integers(60, 140, (480, 640, 3), dtype=np.uint8)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    for i in range(frames):
        frame = background.copy()
        x = 60 + int(140 * (1 + np.sin(i / 15)))
        frame[120:360, x:x + 240] = face
        out.write(frame)
    out.release()
    return path


def _full_frame_haar():
    """Boxes of a whole-frame Haar search with ``HaarFaceDetector()``'s settings."""
    cascade = cv2.CascadeClassifier(str(haar_file("haarcascade_frontalface_default.xml")))

    def detect(frame: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        f = min(1.0, HAAR_MAX_SIDE / max(gray.shape))
        gray = cv2.equalizeHist(gray if f == 1.0 else cv2.resize(gray, None, fx=f, fy=f))
        side = max(20, int(0.15 * min(gray.shape)))
        return np.asarray(cascade.detectMultiScale(gray, 1.1, 5, minSize=(side, side))
                          ).reshape(-1, 4) / f
    return detect


def _live_detector():
    """Boxes from the live-mode detector (tracking), as the app creates it."""
    detector = make_detector("haar")

    def detect(frame: np.ndarray) -> np.ndarray:
        return np.array([d.box for d in detector.detect(frame)]).reshape(-1, 4)
    return detect


def bare(video: Path, model_path: Path, threads: int, full_frame: bool = False
         ) -> dict[str, float]:
    """Decode + detect + crop/resize/normalise + onnxruntime, one frame after the other."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    detect = _full_frame_haar() if full_frame else _live_detector()
    cap = cv2.VideoCapture(str(video))
    times = {"read": 0.0, "detect": 0.0, "infer": 0.0}
    n = faces = 0
    start, cpu = time.perf_counter(), time.process_time()
    while True:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        if not ok:
            break
        t1 = time.perf_counter()
        rects = detect(frame)
        t2 = time.perf_counter()
        for x, y, w, h in rects.round().astype(int)[:1]:
            crop = cv2.resize(frame[y:y + h, x:x + w], (224, 224))
            tensor = (cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)
            session.run(None, {"input": tensor.transpose(2, 0, 1)[None]})
            faces += 1
        t3 = time.perf_counter()
        times["read"] += t1 - t0
        times["detect"] += t2 - t1
        times["infer"] += t3 - t2
        n += 1
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"frames": n, "faces": faces, "seconds": total, "fps": n / total,
            "cpu_ms_per_frame": cpu / n * 1e3,
            **{f"{k}_ms": v / n * 1e3 for k, v in times.items()}}


class _Sleepy:
    def __init__(self, inner, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s

    def run(self, names, feed):
        time.sleep(self.delay_s)
        return self.inner.run(names, feed)


def live(video: Path, model_path: Path, threads: int, lockstep: bool, pace: bool,
         slow_s: float = 0.0) -> dict[str, float]:
    """One LiveSession over the video; display gaps measured where frames are handed over."""
    model = open_model(model_path, threads=threads)
    if slow_s:
        model.session = _Sleepy(model.session, slow_s)
    shown: list[float] = []
    session = LiveSession(VideoFileSource(video), Pipeline(model, make_detector("haar"),
                                                           "largest"),
                          lockstep=lockstep, pace=pace,
                          on_frame=lambda _f: shown.append(time.perf_counter()))
    session.display_fit = (960, 720)  # the view scales to its canvas on the capture thread
    start, cpu = time.perf_counter(), time.process_time()
    session.start()
    session.join()
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    s = session.stats
    gaps = np.diff(shown) if len(shown) > 1 else np.zeros(1)
    stages = session.pipeline.timings.summary()
    return {"frames": s.frames_read, "modelled": s.frames_modelled, "dropped": s.dropped,
            "seconds": total, "display_fps": len(shown) / total,
            "cpu_ms_per_frame": cpu / max(1, s.frames_modelled) * 1e3,
            "model_fps": s.frames_modelled / total, "max_display_gap_ms": gaps.max() * 1e3,
            "p95_display_gap_ms": float(np.percentile(gaps, 95)) * 1e3,
            **{f"{k}_ms": v["mean_ms"] for k, v in stages.items() if v["n"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).parent / "out" / "live")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--slow-ms", type=float, default=200.0)
    parser.add_argument("--json", action="store_true")
    a = parser.parse_args()
    a.root.mkdir(parents=True, exist_ok=True)
    video = a.root / f"faces_640x480_{a.frames}.avi"
    model = a.root / "enet_b0_8_va_mtl_random.onnx"
    if not video.exists():
        write_video(video, a.frames)
    if not model.exists():
        build_b0(model)
    results = {"cpus": os.cpu_count(), "threads": a.threads}
    bare(video, model, a.threads)  # warm-up: file cache, onnxruntime kernels
    results["bare"] = bare(video, model, a.threads)
    results["bare_full_frame"] = bare(video, model, a.threads, full_frame=True)
    results["live_lockstep"] = live(video, model, a.threads, lockstep=True, pace=False)
    results["live_free"] = live(video, model, a.threads, lockstep=False, pace=False)
    results["camera_paced"] = live(video, model, a.threads, lockstep=False, pace=True)
    results["slow_model_paced"] = live(video, model, a.threads, lockstep=False, pace=True,
                                       slow_s=a.slow_ms / 1e3)
    b, lk = results["bare"], results["live_lockstep"]
    results["overhead_pct"] = 100 * (b["fps"] / lk["display_fps"] - 1)
    results["cpu_overhead_pct"] = 100 * (lk["cpu_ms_per_frame"] / b["cpu_ms_per_frame"] - 1)
    if a.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{a.frames} frames 640x480, EfficientNet-B0-sized model, {a.threads} thread(s), "
          f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}")
    for key, label in (("bare", "bare track+ORT"), ("bare_full_frame", "bare full+ORT ")):
        r = results[key]
        print(f"{label}: {r['fps']:6.1f} fps  read {r['read_ms']:.1f} ms, detect "
              f"{r['detect_ms']:.1f} ms, crop+infer {r['infer_ms']:.1f} ms per frame, "
              f"{r['faces']} faces; cpu {r['cpu_ms_per_frame']:.1f} ms/frame")
    print(f"live lockstep : {lk['display_fps']:6.1f} fps  stages (mean ms) "
          + ", ".join(f"{k[:-3]} {lk[k]:.1f}" for k in ("detect_ms", "preprocess_ms",
                                                       "infer_ms", "postprocess_ms") if k in lk)
          + f"; overhead vs bare {results['overhead_pct']:+.1f}%, cpu "
          f"{lk['cpu_ms_per_frame']:.1f} ms/frame ({results['cpu_overhead_pct']:+.1f}%)")
    fr = results["live_free"]
    print(f"live free     : display {fr['display_fps']:6.1f} fps, model {fr['model_fps']:.1f} "
          f"fps, dropped {fr['dropped']} of {fr['frames']}")
    cp = results["camera_paced"]
    print(f"camera-paced  : video at 30 fps: display {cp['display_fps']:.1f} fps, model "
          f"{cp['model_fps']:.1f} fps, dropped {cp['dropped']} of {cp['frames']}, display gap "
          f"p95 {cp['p95_display_gap_ms']:.1f} ms")
    sl = results["slow_model_paced"]
    print(f"slow model (+{a.slow_ms:.0f} ms), video paced at 30 fps: display "
          f"{sl['display_fps']:.1f} fps, model {sl['model_fps']:.1f} fps, display gap p95 "
          f"{sl['p95_display_gap_ms']:.1f} ms, max {sl['max_display_gap_ms']:.1f} ms")


if __name__ == "__main__":
    main()
