"""Benchmark: the live pipeline on a hard face video, against bare loops of the same frames.

    python bench/live.py [--root DIR] [--frames 300] [--threads 1] [--slow-ms 200] [--json]

Writes once under ``--root`` a 640x480 30 fps MJPEG video of a ``samples.scenes.FaceScene``
(seed 0): an empty room, a face walking in, fast head turns (+-45 degrees) and nods,
leaning in and out (0.45-1.3x), a hand over the face, a second face, faces leaving, camera
cuts; with the true face boxes of every frame. Up to issue 18 the video was one face
sliding smoothly: face tracking's best case. The model: EfficientNet-B0's layer plan with
random weights (``bench/models.py``, shared with ``bench/batch.py``), named so the shipped
``enet_b0_8_va_mtl`` card applies. Every detected face goes to the model, as the app's
live mode does (``faces="all"``; the bench used to keep only the largest).

In this one process, after a warm-up pass:

- ``bare`` rows, one thread, in order, each frame: ``cap.read()``, detect, square crop of
  each face + resize to 224 + RGB/mean/std/NCHW, one ``session.run`` per frame on a plain
  onnxruntime session (no app code but the detector). In the clock: all of that. Three
  detectors: ``track`` (``TrackingFaceDetector()``, what live mode's ``haar`` uses: a full
  search every 12 frames or when a face is lost, small regions around the faces between),
  ``full/40`` (the tracker's own full search, ``HaarFaceDetector(min_face_px=40)``, on
  every frame) and ``full`` (``HaarFaceDetector()``: live mode's ``haar-full``, the frame
  searched at up to 640 px every frame);
- ``live lockstep`` with the tracker and with ``haar-full``: ``LiveSession`` on the same
  video, each stage waiting for the next so every frame is modelled (overlay drawn,
  display frame scaled to 960x720): fps, ms per stage, and ratio to the bare row with
  the same detector (bare fps / live fps; below 1 the session's three threads beat the
  one-thread loop on 2 cores);
- ``live free``: tracker, model on the newest frame only, video read as fast as it decodes;
- ``camera-paced``: the video paced at 30 fps as a webcam delivers it, model on the
  newest frame, with the tracker and with ``haar-full``: display and model fps;
- ``slow model``: paced at 30 fps, the model sleeping ``--slow-ms`` more per run: display
  fps must stay at the video rate; the largest gap between shown frames.

Each bare and lockstep row also gives its detection recall against the scene's truth
(``scenes.match_faces``: a box matches a face when its centre is in the true box and
IoU >= 0.2): over all faces and over ``findable`` ones (>= 70 % visible, |yaw| <= 30,
|pitch| <= 20, >= 60 px), false alarms, and the process CPU time per frame (all threads;
on a shared machine CPU time follows the other load much less than wall time does) with
the one-core ceiling 1000 / CPU ms per frame; bare rows also split the loop thread's own
CPU time by stage (``time.thread_time``: onnxruntime with one thread runs on it, but the
work of cv2's and FFmpeg's worker threads is only in the process total).
The load average is printed with the figures. Outside every clock: writing the video
and model, opening sessions, scoring recall.
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

from bench.models import b0_model, bare_session  # noqa: E402
from faceexplorer.inference.detect import HaarFaceDetector  # noqa: E402
from faceexplorer.inference.live import LiveSession, make_detector  # noqa: E402
from faceexplorer.inference.pipeline import Pipeline  # noqa: E402
from faceexplorer.inference.session import open_model  # noqa: E402
from faceexplorer.inference.sources import VideoFileSource  # noqa: E402
from faceexplorer.samples.scenes import FaceScene, match_faces, write_video  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
DETECTORS = {
    "track": lambda: make_detector("haar"),
    "full/40": lambda: HaarFaceDetector(min_face_px=40),
    "full": lambda: make_detector("haar-full"),
}


def scene_video(root: Path, frames: int) -> tuple[Path, FaceScene]:
    """The scene's MJPEG video under ``root`` (written once) and the scene (its truth)."""
    scene = FaceScene(frames, (640, 480), 30.0, seed=0)
    video = root / f"scene_640x480_{frames}.avi"
    if not video.exists():
        write_video(scene, video.with_suffix(".tmp.avi"))
        video.with_suffix(".tmp.avi").rename(video)
    return video, scene


def _tensor(frame: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    crops = []
    for x, y, w, h in boxes:
        side = max(w, h)
        x0, y0 = int(max(0, x + w / 2 - side / 2)), int(max(0, y + h / 2 - side / 2))
        crop = frame[y0:y0 + int(side), x0:x0 + int(side)]
        crops.append(cv2.resize(crop, (224, 224), interpolation=cv2.INTER_AREA))
    batch = np.stack(crops)[..., ::-1].astype(np.float32) / np.float32(255)
    return np.ascontiguousarray(((batch - MEAN) / STD).transpose(0, 3, 1, 2))


def bare(video: Path, model_path: Path, threads: int, detector: str, scene: FaceScene
         ) -> dict:
    """Decode + detect + crop/preprocess + onnxruntime, one frame after the other."""
    session = bare_session(model_path, threads)
    det = DETECTORS[detector]()
    cap = cv2.VideoCapture(str(video))
    times = {"read": 0.0, "detect": 0.0, "infer": 0.0}
    cpu_times = dict.fromkeys(times, 0.0)   # this thread's CPU per stage
    boxes_per_frame: list[np.ndarray] = []
    n = faces = 0
    start, cpu = time.perf_counter(), time.process_time()
    while True:
        t0, c0 = time.perf_counter(), time.thread_time()
        ok, frame = cap.read()
        if not ok:
            break
        t1, c1 = time.perf_counter(), time.thread_time()
        boxes = np.array([d.box for d in det.detect(frame)], np.float64).reshape(-1, 4)
        t2, c2 = time.perf_counter(), time.thread_time()
        if len(boxes):
            session.run(None, {"input": _tensor(frame, boxes)})
            faces += len(boxes)
        t3, c3 = time.perf_counter(), time.thread_time()
        for k, a, b, ca, cb in (("read", t0, t1, c0, c1), ("detect", t1, t2, c1, c2),
                                ("infer", t2, t3, c2, c3)):
            times[k] += b - a
            cpu_times[k] += cb - ca
        boxes_per_frame.append(boxes)
        n += 1
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    out = {"frames": n, "faces": faces, "seconds": total, "fps": n / total,
           "cpu_ms_per_frame": cpu / n * 1e3,
           **{f"{k}_ms": v / n * 1e3 for k, v in times.items()},
           **{f"{k}_cpu_ms": v / n * 1e3 for k, v in cpu_times.items()},
           **_recall(scene, boxes_per_frame)}
    if hasattr(det, "full_searches"):
        out["full_searches"] = det.full_searches
    return out


def _recall(scene: FaceScene, boxes_per_frame: list) -> dict:
    m = match_faces([scene.truth(i) for i in range(len(boxes_per_frame))], boxes_per_frame)
    return {"recall": m.recall, "findable_recall": m.findable_recall, "true_faces": m.faces,
            "findable": m.findable, "false_alarms": m.false_alarms}


class _Sleepy:
    def __init__(self, inner, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s

    def run(self, names, feed):
        time.sleep(self.delay_s)
        return self.inner.run(names, feed)


def live(video: Path, model_path: Path, threads: int, lockstep: bool, pace: bool,
         detector: str = "haar", slow_s: float = 0.0, scene: FaceScene | None = None
         ) -> dict:
    """One LiveSession over the video; display gaps measured where frames are handed over."""
    model = open_model(model_path, threads=threads)
    if slow_s:
        model.session = _Sleepy(model.session, slow_s)
    shown: list[float] = []
    boxes: dict[int, list] = {}
    session = LiveSession(
        VideoFileSource(video), Pipeline(model, make_detector(detector), "all"),
        lockstep=lockstep, pace=pace, on_frame=lambda _f: shown.append(time.perf_counter()),
        on_prediction=lambda p: boxes.__setitem__(p.frame_index,
                                                  [q.box for q in p.predictions]))
    session.display_fit = (960, 720)  # the view scales to its canvas on the capture thread
    start, cpu = time.perf_counter(), time.process_time()
    session.start()
    session.join()
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    s = session.stats
    gaps = np.diff(shown) if len(shown) > 1 else np.zeros(1)
    stages = session.pipeline.timings.summary()
    out = {"frames": s.frames_read, "modelled": s.frames_modelled, "dropped": s.dropped,
           "seconds": total, "display_fps": len(shown) / total,
           "cpu_ms_per_frame": cpu / max(1, s.frames_modelled) * 1e3,
           "model_fps": s.frames_modelled / total, "max_display_gap_ms": gaps.max() * 1e3,
           "p95_display_gap_ms": float(np.percentile(gaps, 95)) * 1e3,
           **{f"{k}_ms": v["mean_ms"] for k, v in stages.items() if v["n"]}}
    if lockstep and scene is not None:
        out.update(_recall(scene, [boxes.get(i, []) for i in range(s.frames_read)]))
    return out


def run(root: Path, frames: int, threads: int, slow_ms: float) -> dict:
    """Every figure of the module docstring."""
    root.mkdir(parents=True, exist_ok=True)
    video, scene = scene_video(root, frames)
    model = b0_model(root)
    results: dict = {"cpus": os.cpu_count(), "threads": threads, "frames": frames,
                     "load_before": os.getloadavg()}
    bare(video, model, threads, "track", scene)  # warm-up: file cache, onnxruntime kernels
    for name in DETECTORS:
        results[f"bare {name}"] = bare(video, model, threads, name, scene)
    results["live lockstep track"] = live(video, model, threads, True, False, scene=scene)
    results["live lockstep full"] = live(video, model, threads, True, False, "haar-full",
                                         scene=scene)
    results["live free"] = live(video, model, threads, lockstep=False, pace=False)
    results["camera-paced track"] = live(video, model, threads, lockstep=False, pace=True)
    results["camera-paced full"] = live(video, model, threads, lockstep=False, pace=True,
                                        detector="haar-full")
    results["slow model paced"] = live(video, model, threads, lockstep=False, pace=True,
                                       slow_s=slow_ms / 1e3)
    for det in ("track", "full"):
        b, lk = results[f"bare {det}"], results[f"live lockstep {det}"]
        lk["bare_over_live"] = b["fps"] / lk["display_fps"]
        lk["cpu_ratio"] = lk["cpu_ms_per_frame"] / b["cpu_ms_per_frame"]
    results["load_after"] = os.getloadavg()
    return results


def report(r: dict, slow_ms: float) -> str:
    lb, la = r["load_before"], r["load_after"]
    lines = [f"{r['frames']} frames 640x480 (samples.scenes, seed 0), EfficientNet-B0 layout, "
             f"{r['threads']} thread(s), {r['cpus']} cpus; load average {lb[0]:.2f} before, "
             f"{la[0]:.2f} after ({la[1]:.2f} over 5 min)"]

    def rec(x: dict) -> str:
        return (f"recall {x['recall']:.2f} of {x['true_faces']} faces, findable "
                f"{x['findable_recall']:.2f} of {x['findable']}, {x['false_alarms']} false alarms")

    base = r["bare track"]["fps"]
    for name in DETECTORS:
        b = r[f"bare {name}"]
        extra = f", {b['full_searches']} full searches" if "full_searches" in b else ""
        lines.append(f"bare {name:<8}: {b['fps']:6.1f} fps ({b['fps'] / base:.2f}x track)  read "
                     f"{b['read_ms']:.1f}, detect {b['detect_ms']:.1f}, crop+infer "
                     f"{b['infer_ms']:.1f} ms/frame; cpu {b['cpu_ms_per_frame']:.1f} ms/frame "
                     f"(loop thread: read {b['read_cpu_ms']:.1f}, detect "
                     f"{b['detect_cpu_ms']:.1f}, crop+infer {b['infer_cpu_ms']:.1f}; one core's "
                     "ceiling "
                     f"{1e3 / b['cpu_ms_per_frame']:.0f} fps); {rec(b)}{extra}")
    for det in ("track", "full"):
        lk = r[f"live lockstep {det}"]
        lines.append(
            f"live lockstep {det:<5}: {lk['display_fps']:6.1f} fps  stages (mean ms) "
            + ", ".join(f"{k[:-3]} {lk[k]:.1f}" for k in ("detect_ms", "preprocess_ms",
                                                         "infer_ms", "postprocess_ms") if k in lk)
            + f"; bare/live fps {lk['bare_over_live']:.2f}, cpu {lk['cpu_ms_per_frame']:.1f} "
            f"ms/frame ({lk['cpu_ratio']:.2f}x bare); {rec(lk)}")
    fr = r["live free"]
    lines.append(f"live free (track)  : display {fr['display_fps']:6.1f} fps, model "
                 f"{fr['model_fps']:.1f} fps, dropped {fr['dropped']} of {fr['frames']}")
    for det in ("track", "full"):
        cp = r[f"camera-paced {det}"]
        lines.append(f"camera-paced {det:<5} : video at 30 fps: display {cp['display_fps']:.1f} "
                     f"fps, model {cp['model_fps']:.1f} fps, dropped {cp['dropped']} of "
                     f"{cp['frames']}, display gap p95 {cp['p95_display_gap_ms']:.1f} ms")
    sl = r["slow model paced"]
    lines.append(f"slow model (+{slow_ms:.0f} ms), paced at 30 fps: display "
                 f"{sl['display_fps']:.1f} fps, model {sl['model_fps']:.1f} fps, display gap "
                 f"p95 {sl['p95_display_gap_ms']:.1f} ms, max {sl['max_display_gap_ms']:.1f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).parent / "out" / "live")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--slow-ms", type=float, default=200.0)
    parser.add_argument("--json", action="store_true")
    a = parser.parse_args()
    results = run(a.root, a.frames, a.threads, a.slow_ms)
    print(json.dumps(results, indent=1) if a.json else report(results, a.slow_ms))


if __name__ == "__main__":
    main()
