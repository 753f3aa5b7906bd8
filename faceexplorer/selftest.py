"""``faceexplorer --selftest``: prove an installed (or frozen) app works, then exit.

Three steps, each timed and reported on one line; the exit code is 0 only if all pass:

1. **index**: build (once) and open the demo index in the user's data folder
   (``faceexplorer.demo.ensure_demo``); ``--quick`` builds a smaller index without images
   instead (for the test suite: seconds, not minutes).
2. **window**: open the main window offscreen (``QT_QPA_PLATFORM=offscreen`` unless set),
   show every view of ``MainWindow.views`` in turn and grab it; any Qt warning fails.
3. **model**: run the shipped tiny ONNX model (``resources/selftest/``) with the Haar
   face detector over a short video written by the sample generator.

All of it runs under a network guard: ``socket.connect``/``connect_ex``/``sendto`` and
``getaddrinfo`` are patched to raise, and every attempt is recorded, so a library that
swallows the error still fails the selftest. Local IPC (``AF_UNIX``) is allowed. Native
code bypasses Python's sockets: onnxruntime's telemetry uploader is off only with
``ORT_DISABLE_TELEMETRY=1`` (the frozen app sets it; without it a frozen selftest
fails), and ``packaging/smoke.py`` traces the frozen app's connections with strace.

``FACEEXPLORER_TIMING=1`` prints when the window was first shown: seconds since the
process started (Linux: from ``/proc/self/stat``; elsewhere: since this module was
imported, a lower bound) and the wall-clock epoch, from which a launcher computes the
launch-to-window time on any platform (``packaging/smoke.py --measure``).

Qt is imported only inside the window step, so importing this module stays headless.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_IMPORTED_AT = time.perf_counter()
MODEL_FILE = "selftest_expression.onnx"
#: Qt messages that are harmless on the offscreen platform.
QT_IGNORED = ("This plugin does not support propagateSizeHints",)


class NetworkBlocked(OSError):
    """A network connection was attempted while the selftest's guard was on."""


@dataclass
class StepResult:
    """One selftest step: did it pass, what it found, how long it took."""

    name: str
    ok: bool
    detail: str
    seconds: float


# --- process age and the network guard -----------------------------------------------

def process_age_s() -> tuple[float, str]:
    """Seconds since this process started, and what that was measured from.

    Linux reads the start time from ``/proc/self/stat`` (10 ms ticks), which includes the
    interpreter's (or the frozen bootloader's) own start-up; elsewhere the clock starts
    when this module was imported, so the figure is a lower bound.
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        # Field 22 (starttime); split after the ")" closing the command name, which may
        # itself contain spaces.
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK"), "process start"
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _IMPORTED_AT, "selftest import"


@contextmanager
def network_guard(attempts: list[str]) -> Iterator[None]:
    """Make every IP connection attempt raise ``NetworkBlocked`` and record it."""
    saved = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "sendto")}
    saved_getaddrinfo = socket.getaddrinfo

    def blocked(what: str) -> NetworkBlocked:
        attempts.append(what)
        return NetworkBlocked(f"the FaceExplorer selftest forbids network access ({what})")

    def guard(name: str) -> Callable[..., object]:
        original = saved[name]

        def call(self: socket.socket, *args: object) -> object:
            if self.family == getattr(socket, "AF_UNIX", None):
                return original(self, *args)  # local IPC, not the network
            raise blocked(f"socket.{name}{args!r}")
        return call

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        raise blocked(f"getaddrinfo({host!r})")

    try:
        for name in saved:
            setattr(socket.socket, name, guard(name))
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        yield
    finally:
        for name, original in saved.items():
            setattr(socket.socket, name, original)
        socket.getaddrinfo = saved_getaddrinfo


# --- step 1: the index ------------------------------------------------------------------

def quick_index(folder: Path, say: Callable[[str], None]) -> tuple[Path, Path]:
    """A small index (AffectNet, AffectNetC25, HRM labels; no images) and a 1 s video.

    Built aside and renamed into place like the demo, so an interrupted run rebuilds.
    """
    db, video = folder / "index.duckdb", folder / "selftest.mp4"
    if db.exists() and video.exists():
        return db, video  # before the imports: a rerun's launch-to-window stays honest
    import cv2
    import numpy as np

    from faceexplorer.datasets.registry import import_path
    from faceexplorer.samples.drawing import draw_face, params_for_expression
    from faceexplorer.samples.generate import SAMPLE_FOLDERS, write_samples

    samples = folder / "samples"
    write_samples(samples, only=["affectnet-c25", "hrm"], images=False, progress=say)
    building = folder / "index.building.duckdb"
    building.unlink(missing_ok=True)
    for kind in ("affectnet", "affectnet-c25", "hrm"):
        import_path(building, samples / SAMPLE_FOLDERS[kind], kind)
    rng = np.random.default_rng(0)
    faces = [draw_face(params_for_expression(e, 0.8, rng), rng).image
             for e in ("happy", "surprise", "neutral")]
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 12,
                             faces[0].shape[1::-1])
    try:
        for k in range(12):
            writer.write(faces[k // 4])
    finally:
        writer.release()
    os.replace(building, db)
    return db, video


def demo_index(folder: Path | None, say: Callable[[str], None]) -> tuple[Path, Path]:
    """The demo index (built once) and the folder of its HRM sample videos."""
    from faceexplorer.demo import ensure_demo

    db = ensure_demo(folder, progress=say)
    videos = db.parent / "samples" / "HRM" / "videos"
    if not any(videos.glob("*.mp4")):
        raise FileNotFoundError(f"the demo in {db.parent} has no HRM sample video")
    return db, videos


# --- step 2: the window -----------------------------------------------------------------

def show_window(db: Path, screenshots: Path | None, timing: bool, settle_s: float = 0.4
                ) -> str:
    """Open the main window offscreen, show each view; raise on any problem.

    The Qt part lives in :mod:`faceexplorer.gui.selftest_window` (only ``gui`` imports
    Qt); it is imported when this step runs.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from faceexplorer.gui.selftest_window import show_every_view

    return show_every_view(db, screenshots, timing, settle_s)


# --- step 3: the model ------------------------------------------------------------------

def run_model(video: Path, frames: int) -> str:
    """Run the shipped tiny model with the Haar detector over ``video``; raise on trouble.

    ``video`` may be a folder: its videos are tried in name order until one has faces the
    Haar cascade finds (one demo child is drawn in a pose it misses).
    """
    from faceexplorer.inference.detect import HaarFaceDetector
    from faceexplorer.inference.pipeline import Pipeline
    from faceexplorer.inference.session import open_model
    from faceexplorer.inference.sources import VideoFileSource
    from faceexplorer.paths import resource_dir

    model = open_model(resource_dir() / "selftest" / MODEL_FILE)
    detector = HaarFaceDetector()
    for clip in sorted(video.glob("*.mp4")) if video.is_dir() else [video]:
        result = Pipeline(model, detector).run(VideoFileSource(clip), max_frames=frames)
        if result.predictions:
            break
    if result.frames == 0:
        raise RuntimeError(f"no frame read from {clip}: {result.end_reason}")
    if not result.predictions:
        raise RuntimeError(f"no face found in the first {result.frames} frames of {video}")
    if result.invalid:
        raise RuntimeError(f"{result.invalid} predictions were NaN/Inf")
    infer = result.timings.summary()["infer"]["median_ms"]
    telemetry = ""
    if os.environ.get("ORT_DISABLE_TELEMETRY") != "1":
        # onnxruntime >= 1.29 then uploads telemetry over its own (C++) HTTP client,
        # which the Python network guard cannot see.
        if getattr(sys, "frozen", False):
            raise RuntimeError("ORT_DISABLE_TELEMETRY is not 1: onnxruntime may send "
                               "telemetry and write outside the data folder")
        telemetry = "; WARNING: onnxruntime telemetry on (ORT_DISABLE_TELEMETRY unset)"
    return (f"{result.frames} frames of {clip.name}, {result.frames_with_faces} with faces, "
            f"{len(result.predictions)} predictions ({result.end_reason}; median inference "
            f"{infer:.2f} ms; onnxruntime + {result.detector}){telemetry}")


# --- the command ------------------------------------------------------------------------

def _step(name: str, results: list[StepResult], work: Callable[[], str]) -> bool:
    start = time.perf_counter()
    try:
        detail, ok = work(), True
    except Exception as exc:  # the selftest reports every failure instead of raising
        detail, ok = f"{type(exc).__name__}: {exc}", False
    results.append(StepResult(name, ok, detail, time.perf_counter() - start))
    r = results[-1]
    print(f"selftest: {'PASS' if ok else 'FAIL'} {name:<6} {r.seconds:6.1f} s  {detail}",
          flush=True)
    return ok


def build_parser() -> argparse.ArgumentParser:
    """Options of ``faceexplorer --selftest``."""
    p = argparse.ArgumentParser(prog="faceexplorer --selftest",
                                description="check that this FaceExplorer install works")
    p.add_argument("--quick", action="store_true",
                   help="a small index without images instead of the demo (seconds)")
    p.add_argument("--folder", type=Path,
                   help="where the index is built (default: the demo folder, or "
                   "'selftest' in the data folder with --quick)")
    p.add_argument("--screenshots", type=Path, help="save a picture of each view here")
    p.add_argument("--frames", type=int, default=25, help="video frames the model runs on")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selftest; 0 only if every step passed.

    Parameters
    ----------
    argv
        Options (see ``build_parser``); default ``sys.argv[1:]`` without ``--selftest``,
        so the command line's ``--selftest`` flag can hand over as it is.
    """
    if argv is None:
        argv = [a for a in sys.argv[1:] if a != "--selftest"]
    args = build_parser().parse_args(list(argv))
    from faceexplorer.paths import user_data_dir

    timing = os.environ.get("FACEEXPLORER_TIMING") == "1"
    results: list[StepResult] = []
    attempts: list[str] = []
    found: dict[str, Path] = {}

    def say(message: str) -> None:
        print(f"selftest:   {message}", flush=True)

    def index() -> str:
        if args.quick:
            found["db"], found["video"] = quick_index(
                args.folder or user_data_dir() / "selftest", say)
        else:
            found["db"], found["video"] = demo_index(args.folder, say)
        return str(found["db"])

    print(f"selftest: FaceExplorer {_version()} (frozen: {getattr(sys, 'frozen', False)}), "
          f"data folder {user_data_dir()}", flush=True)
    with network_guard(attempts):
        if _step("index", results, index):
            _step("window", results, lambda: show_window(found["db"], args.screenshots, timing))
            _step("model", results, lambda: run_model(found["video"], args.frames))
    if attempts:
        results.append(StepResult("network", False, "; ".join(attempts[:5]), 0.0))
        print(f"selftest: FAIL network attempted {len(attempts)} time(s): {attempts[:5]}")
    ok = all(r.ok for r in results) and len(results) == 3
    print(f"selftest: {'passed' if ok else 'FAILED'} "
          f"({sum(r.ok for r in results)} of 3 steps passed)", flush=True)
    return 0 if ok else 1


def _version() -> str:
    from faceexplorer import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())
