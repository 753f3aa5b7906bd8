"""Benchmark: scrubbing the HRM frame viewer against raw OpenCV decoding of the same frames.

    python bench/scrub.py [--root DIR] [--size 640x480] [--frames 300] [--json]

Writes once under ``--root`` a full-scale-like child: the labelled segments of a typical
child of the full-scale plan (``samples.hrm.plan_frames("full")``: ~1,200 labelled frames
in ~16 segments over a ~2,200-frame video), as a video at ``--size`` that decodes at a
real camera file's cost (``bench/videos.py``: a ``samples.scenes`` face scene - textured
room, moving faces, grain - as H.264 with a keyframe every 250 frames and B-frames, or
OpenCV mp4v with a keyframe every 12 when imageio-ffmpeg is absent; the report names
which) plus the labelled frames as JPEGs in ``origin/<child>/``. Up to issue 18 the video
was a flat drawn face with a moving bar in mp4v (~2,000 fps to decode; seeks decoded at
most 11 frames). Then, in this one process:

- ``sequential``: 300 consecutive frames (a slow drag, or playback); raw = one seek then
  ``read()`` + BGR->RGB per frame; viewer = ``set_frame(f)``, wait until it is on screen;
- ``random``: ``--seeks`` frames (100) drawn uniformly over the whole video, so each is a
  seek; raw = ``CAP_PROP_POS_FRAMES`` seek + ``read()`` + BGR->RGB per frame (not
  verified); viewer = the same frames through its verified seeks, each timed from
  ``set_frame`` to the frame painted (``frame_displayed``, then the paint's events);
- ``frames folder``: the sequential frames of a segment from the JPEGs (raw = imdecode);
- ``drag``: 300 requests fired at mouse-move rate (100 per second) without waiting:
  frames actually drawn per second, decodes made, and the lag from the last request to
  its frame on screen;
- ``flood``: the random frames requested with no event loop between them: decodes
  made, ms to the last.

Each figure is printed with its ratio to the raw decode, p50/p95 ms per frame for the
viewer, and the load average (goal: viewer at 30 fps or better while scrubbing). In the
clocks: decode, colour conversion, scaling, the hand-over and the paint; outside:
writing the video, opening the viewer. ``run`` returns the figures for
``bench/timeline.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # bench.videos

CHILD = "S1"


def write_child(root: Path, size: tuple[int, int], rng: np.random.Generator) -> dict:
    """Video and JPEGs of a typical full-scale child under ``root`` (kept between runs)."""
    import cv2

    from bench.videos import write_scene_video
    from faceexplorer.samples import hrm

    meta = root / "child.json"
    if meta.is_file():
        return json.loads(meta.read_text())
    plans = hrm.plan_frames("full", rng)
    # The child whose labelled frame count is the median: "typical".
    plan = sorted(plans, key=lambda p: p.n_frames)[len(plans) // 2]
    labelled = set(plan.frames.tolist())
    n_video = plan.segments[-1][1] + 1
    video = root / "videos" / f"{CHILD}.mp4"
    folder = root / "origin" / CHILD
    folder.mkdir(parents=True, exist_ok=True)

    def save_labelled(k: int, image: np.ndarray) -> None:
        if k in labelled:
            cv2.imwrite(str(folder / f"{k}_0.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])

    encoder = write_scene_video(video, n_video, size, hrm.FPS, on_frame=save_labelled)
    info = {"video": str(video), "frames_dir": str(folder), "video_frames": n_video,
            "segments": [list(s) for s in plan.segments], "labelled": plan.n_frames,
            "size": list(size), "encoder": encoder}
    meta.write_text(json.dumps(info))
    return info


def timeline_of(info: dict):
    """A minimal ``hrm_query.Timeline`` for the viewer (no labels are needed to scrub)."""
    from faceexplorer.index.hrm_query import Timeline

    frames = np.concatenate([np.arange(a, b + 1) for a, b in info["segments"]]).astype(np.int32)
    segment = np.concatenate([np.full(b - a + 1, i + 1) for i, (a, b)
                              in enumerate(info["segments"])]).astype(np.int32)
    n = len(frames)
    return Timeline(child=CHILD, grp="ASD", aus=(), frames=frames,
                    au=np.zeros((0, n), np.uint8), segment=segment,
                    raters=np.full((5, n), np.nan), rating_mean=np.full(n, np.nan),
                    asd=np.zeros(n, np.uint8), segments=tuple(map(tuple, info["segments"])),
                    video_frames=info["video_frames"], video_path=info["video"],
                    frames_dir=info["frames_dir"], openface=None)


def raw_video(video: str, frames: list[int], sequential: bool) -> float:
    """Seconds for plain OpenCV to decode ``frames`` to RGB."""
    import cv2

    cap = cv2.VideoCapture(video)
    start = time.perf_counter()
    if sequential:
        cap.set(cv2.CAP_PROP_POS_FRAMES, frames[0])
    for f in frames:
        if not sequential:
            cap.set(cv2.CAP_PROP_POS_FRAMES, f)
        ok, bgr = cap.read()
        assert ok, f
        cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    secs = time.perf_counter() - start
    cap.release()
    return secs


def raw_folder(folder: str, frames: list[int]) -> float:
    import cv2

    start = time.perf_counter()
    for f in frames:
        data = np.fromfile(os.path.join(folder, f"{f}_0.jpg"), dtype=np.uint8)
        cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return time.perf_counter() - start


def decoder_work(viewer) -> tuple[int, int, int]:
    """Seeks, reads and grabs the viewer's video source has made so far (0s: none open)."""
    source = getattr(viewer.source, "_source", viewer.source)
    video = getattr(source, "video", None)
    return (video.seeks, video.reads, video.grabs) if video is not None else (0, 0, 0)


class Driver:
    """A shown FrameViewer and helpers to wait for what it draws."""

    def __init__(self, info: dict) -> None:
        from PySide6.QtWidgets import QApplication

        from faceexplorer.gui.hrm.frame_viewer import FrameViewer

        self.app = QApplication.instance() or QApplication([])
        self.viewer = FrameViewer()
        self.viewer.resize(900, 760)
        self.viewer.show()
        self.drawn: list[tuple[float, int]] = []
        self.viewer.frame_displayed.connect(
            lambda f: self.drawn.append((time.perf_counter(), f)))
        self.tl = timeline_of(info)

    def open(self, prefer: int) -> None:
        self.viewer.prefer.setCurrentIndex(prefer)
        self.viewer.set_timeline(self.tl)
        self.wait(self.viewer.frame)

    def wait(self, frame: int) -> None:
        from PySide6.QtCore import QEventLoop

        # Block until events arrive (the worker's answer is one): with a maxtime argument
        # processEvents would ignore WaitForMoreEvents and spin, stealing the worker's GIL.
        while not (self.drawn and self.drawn[-1][1] == frame):
            self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        self.app.processEvents()        # the paint that puts it on screen

    def paced(self, frames: list[int]) -> list[float]:
        """Seconds to show each frame in turn, waiting until each is on screen."""
        self.viewer.set_frame(frames[0] - 1)
        self.wait(frames[0] - 1)
        steps = []
        for f in frames:
            start = time.perf_counter()
            self.viewer.set_frame(f)
            self.wait(f)
            steps.append(time.perf_counter() - start)
        return steps

    def drag(self, frames: list[int], rate: float = 100.0) -> dict:
        """Requests at ``rate`` per second without waiting, as a mouse drag sends them."""
        self.viewer.set_frame(frames[0] - 1)
        self.wait(frames[0] - 1)
        self.drawn.clear()
        decodes = self.viewer.loader.decodes
        work = decoder_work(self.viewer)
        start = time.perf_counter()
        for i, f in enumerate(frames):
            self.viewer.set_frame(f)
            due = start + (i + 1) / rate
            while time.perf_counter() < due:
                self.app.processEvents()
        asked = time.perf_counter()
        self.wait(frames[-1])
        done = time.perf_counter()
        seeks, reads, grabs = np.subtract(decoder_work(self.viewer), work)
        return {"drawn_per_s": len(self.drawn) / (done - start),
                "decodes": self.viewer.loader.decodes - decodes,
                "lag_ms": 1000 * (done - asked), "seeks": int(seeks),
                "decoded": int(reads + grabs)}

    def flood(self, frames: list[int]) -> dict:
        self.viewer.set_frame(frames[0] - 1)
        self.wait(frames[0] - 1)
        decodes = self.viewer.loader.decodes
        start = time.perf_counter()
        for f in frames:
            self.viewer.set_frame(f)
        self.wait(frames[-1])
        return {"ms": 1000 * (time.perf_counter() - start), "requests": len(frames),
                "decodes": self.viewer.loader.decodes - decodes}

    def close(self) -> None:
        self.viewer.close()


def run(root: Path, size: tuple[int, int] = (640, 480), n: int = 300, seed: int = 7,
        seeks: int = 100) -> dict:
    """Every figure of the module docstring, for one full-scale-like child."""
    rng = np.random.default_rng(seed)
    info = write_child(root, size, rng)
    total = info["video_frames"]
    start = int(rng.integers(1, total - n))
    sequential = list(range(start, start + n))
    random_frames = [int(f) for f in rng.integers(1, total, seeks)]
    # The longest segment's frames, for the folder (JPEGs exist only for labelled frames).
    a, b = max(info["segments"], key=lambda s: s[1] - s[0])
    folder_frames = list(range(a + 1, min(b, a + n) + 1))
    driver = Driver(info)
    try:
        out: dict = {"video_frames": total, "labelled": info["labelled"], "size": info["size"],
                     "encoder": info.get("encoder", "mp4v"), "load_before": os.getloadavg()}
        driver.open(prefer=1)           # video first
        for name, frames, seq in (("sequential", sequential, True),
                                  ("random", random_frames, False)):
            raw = raw_video(info["video"], frames, seq)
            before = decoder_work(driver.viewer)
            steps = driver.paced(frames)
            work = np.subtract(decoder_work(driver.viewer), before) / len(frames)
            out[name] = {**_figures(raw, steps), "seeks_per_frame": work[0],
                         "decoded_per_frame": work[1] + work[2]}
        out["drag"] = driver.drag(sequential)
        out["flood"] = driver.flood(random_frames)
        driver.open(prefer=0)           # frames folder first
        raw = raw_folder(info["frames_dir"], folder_frames)
        out["frames folder"] = _figures(raw, driver.paced(folder_frames))
    finally:
        driver.close()
    out["load"] = os.getloadavg()
    return out


def _figures(raw_seconds: float, steps: list[float]) -> dict:
    ms = 1000 * np.asarray(steps)
    return {"raw_fps": len(steps) / raw_seconds, "viewer_fps": len(steps) / sum(steps),
            "ratio": raw_seconds / sum(steps), "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95))}


def report(out: dict, n: int) -> str:
    w, h = out["size"]
    lb, la = out["load_before"], out["load"]
    lines = [f"HRM frame viewer scrubbing ({n} frames; video {out['video_frames']} frames "
             f"{w}x{h} {out['encoder']}, {out['labelled']} labelled JPEGs); load average "
             f"{lb[0]:.2f} before, {la[0]:.2f} after"]
    for name in ("sequential", "random", "frames folder"):
        r = out[name]
        lines.append(f"  {name:<14} viewer {r['viewer_fps']:7.1f} fps (p50 {r['p50_ms']:.1f} "
                     f"ms, p95 {r['p95_ms']:.1f} ms)   raw OpenCV {r['raw_fps']:7.1f} fps   "
                     f"viewer/raw {r['ratio']:.2f}x"
                     f"   {'OK' if r['viewer_fps'] >= 30 else 'BELOW 30 fps'}")
        if "decoded_per_frame" in r:
            lines.append(f"  {'':<14} decoder work per frame shown: {r['seeks_per_frame']:.2f} "
                         f"seeks, {r['decoded_per_frame']:.1f} frames read or grabbed (a "
                         "seek's own decoding from its keyframe is not counted)")
    d, f = out["drag"], out["flood"]
    lines.append(f"  drag at 100 requests/s: {d['drawn_per_s']:.1f} frames drawn per s, "
                 f"{d['decodes']} decodes for {n} requests ({d['seeks']} seeks, {d['decoded']} "
                 f"read or grabbed), last frame {d['lag_ms']:.0f} ms after the last request")
    lines.append(f"  flood of {f['requests']} requests: {f['decodes']} decodes, last frame on "
                 f"screen after {f['ms']:.0f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/faceexplorer-bench/scrub-scene"))
    parser.add_argument("--size", default="640x480", help="video frame size WxH")
    parser.add_argument("--frames", type=int, default=300, help="frames per scrub")
    parser.add_argument("--seeks", type=int, default=100,
                        help="random frames (each a seek: ~0.1-0.5 s with H.264)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    root = args.root / f"{width}x{height}"
    out = run(root, (width, height), args.frames, seeks=args.seeks)
    print(json.dumps(out, indent=2) if args.json else report(out, args.frames))


if __name__ == "__main__":
    main()
