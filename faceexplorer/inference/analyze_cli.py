"""``faceexplorer analyze MODEL.onnx INPUT... --out FILE``: every frame, from the shell.

Progress goes to stderr: a bar redrawn in place on a terminal (at most 5 times a
second), plain lines every few seconds when stderr is piped or a file. The summary
(one sentence per input, the output, the index) follows on stderr; stdout stays empty,
so the command composes in scripts. Ctrl-C stops after writing the frames finished,
and the message says that the same command resumes.

``--engine ray [--address A] [--workers N]`` runs the same analysis on Ray workers
(``cluster.RayEngine``; Ray is imported only then). Several inputs advance at once, so
the progress line also shows the inputs in progress and a line is printed as each one
finishes; the summary says what the workers and Ray's start cost.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any, TextIO

_DESCRIPTION = """\
Run an ONNX model over every frame of video files, image folders or images (never paced,
never dropped) and write one table: one row per face per frame, and one row for each
frame where no face was found (face_found false, model columns empty). Columns: source,
file, frame_index, timestamp_s, face_index, face_found, box_x, box_y, box_w, box_h,
detector_score, valid, message, then the model's outputs named as in live recordings
(expr_<label>, valence, arousal, au_<AU>). An interrupted run continues where it stopped
when the same command is started again. The analysis is also stored in the index (model
hash and card, detector, file hashes, settings) unless --no-index is given."""


def _range(text: str) -> tuple[float, float | None]:
    """argparse type: ``A:B``, ``A:`` or ``:B`` (numbers)."""
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        a = float(start) if start.strip() else 0.0
        b = float(stop) if stop.strip() else None
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:STOP (either may be left out), "
                                         f"not {text!r}") from None
    if a < 0 or (b is not None and b < a):
        raise argparse.ArgumentTypeError(f"expected 0 <= START <= STOP, not {text!r}")
    return a, b


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return n


def add_analyze_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``analyze`` command to the CLI's subparsers; returns its parser."""
    a = subparsers.add_parser(
        "analyze", help="run an ONNX model over every frame of videos or images into a "
        "CSV or Parquet table", description=_DESCRIPTION,
        epilog="exit status: 0 finished, 1 failed, 130 stopped (resumable)")
    a.add_argument("model", help="the .onnx file (its card is found beside it, inside it, "
                   "or among the shipped cards)")
    a.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="video files, image folders or images")
    a.add_argument("--out", required=True, metavar="FILE",
                   help="the table to write: FILE.csv or FILE.parquet")
    a.add_argument("--detector", default="haar", metavar="haar|YUNET.onnx",
                   help="face detector: haar (OpenCV's cascade, faces tracked between "
                   "video frames, as in the Live tab; default) or the path of a YuNet "
                   "face_detection_yunet_*.onnx file")
    rng = a.add_mutually_exclusive_group()
    rng.add_argument("--frames", type=_range, metavar="A:B",
                     help="only frames A (included) to B (excluded), numbered from 0")
    rng.add_argument("--time", type=_range, metavar="A:B",
                     help="only seconds A to B of each video")
    a.add_argument("--stride", type=_positive, default=1, metavar="N",
                   help="every Nth frame of the range (default 1: every frame)")
    a.add_argument("--db", help="index to store the analysis in (default: $FACEEXPLORER_DB "
                   "or the data folder)")
    a.add_argument("--no-index", action="store_true", help="write the table only")
    a.add_argument("--threads", type=int, default=1, help="onnxruntime threads (default 1: "
                   "decoding and detection use the other core)")
    a.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process (default); ray: spread the inputs, cut into "
                   "blocks of frames, over Ray workers, one model per worker (needs "
                   "pip install 'faceexplorer[cluster]'; see docs/scale-out.md)")
    a.add_argument("--address", metavar="ADDRESS",
                   help="with --engine ray: a running Ray cluster (auto, HOST:6379 or "
                   "ray://HOST:10001); default: start Ray on this machine's cores. Models, "
                   "inputs and --out must be at the same paths on every node")
    a.add_argument("--workers", type=_positive, metavar="N",
                   help="with --engine ray: workers (default: one per CPU of the cluster)")
    a.set_defaults(func=cmd_analyze)
    return a


#: Seconds of progress before a time left is estimated.
ETA_AFTER_S = 2.0


class ProgressPrinter:
    """A progress bar on a terminal, plain lines when piped (see the module docstring)."""

    def __init__(self, stream: TextIO, tty: bool | None = None, every_s: float | None = None
                 ) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.every_s = every_s if every_s is not None else (0.2 if self.tty else 5.0)
        self._last = 0.0
        self._drawn = False
        #: inputs in progress on several workers: name -> (done, expected)
        self.inputs: dict[str, tuple[int, int | None]] = {}
        self.finished = 0
        self._first: float | None = None

    def input_update(self, path: str, done: int, expected: int | None, finished: bool
                     ) -> None:
        """Per-input progress of an engine running several inputs at once."""
        name = Path(path).name
        if not finished:
            self.inputs[name] = (done, expected)
            return
        self.inputs.pop(name, None)
        self.finished += 1
        self.end()
        print(f"{name}: finished ({done} frames)", file=self.stream, flush=True)

    def _inputs_text(self) -> str:
        shown = [f"{n} {d}/{e}" if e else f"{n} {d}" for n, (d, e) in self.inputs.items()]
        more = f" +{len(shown) - 3}" if len(shown) > 3 else ""
        return "; ".join([f"{self.finished} inputs finished",
                          *([", ".join(shown[:3]) + more] if shown else [])])

    def __call__(self, done: int, total: int | None, path: Path, fps: float) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s and done != total:
            return
        self._last = now
        if self._first is None:
            self._first = now
        of = f"/{total}" if total else ""
        eta = ""
        # the first seconds' rate includes loading the model and opening the input: an
        # estimate from it said "19:40 left" for a run of a few seconds
        settled = now - self._first >= ETA_AFTER_S
        if total and fps > 0 and done < total and settled:
            secs = int((total - done) / fps)
            eta = f", {secs // 60}:{secs % 60:02d} left"
        where = self._inputs_text() if self.inputs or self.finished else path.name
        text = f"{done}{of} frames, {fps:.1f} frames/s{eta} ({where})"
        if self.tty:
            bar = ""
            if total:
                filled = int(24 * min(done, total) / total)
                bar = "[" + "#" * filled + "-" * (24 - filled) + "] "
            print(f"\r{bar}{text}\033[K", end="", file=self.stream, flush=True)
            self._drawn = True
        else:
            print(text, file=self.stream, flush=True)

    def end(self) -> None:
        """End the bar's line (terminal)."""
        if self._drawn:
            print(file=self.stream, flush=True)
            self._drawn = False


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse, print progress and the summary; 0 finished, 1 failed, 130 stopped."""
    from faceexplorer.inference.analyze import DetectorSettings, run_analysis
    from faceexplorer.inference.analyze_input import FrameRange
    from faceexplorer.paths import default_db_path

    frames = FrameRange(stride=args.stride)
    if args.frames is not None:
        start, stop = args.frames
        if start != int(start) or (stop is not None and stop != int(stop)):
            from faceexplorer.core.errors import FaceExplorerError

            raise FaceExplorerError(f"--frames takes whole frame numbers, not {args.frames}")
        frames = FrameRange(int(start), None if stop is None else int(stop), args.stride)
    detector = DetectorSettings.from_choice(args.detector)
    db = None if args.no_index else default_db_path(args.db)
    err = sys.stderr
    bar = ProgressPrinter(err)
    engine = _engine(args, bar)
    try:
        result = run_analysis(args.model, args.inputs, args.out, detector=detector,
                              frames=frames, seconds=args.time, db_path=db,
                              threads=args.threads, progress=bar, engine=engine)
    finally:
        bar.end()
    for w in result.warnings:
        print(f"warning: {w}", file=err)
    for s in result.inputs:
        before = f" ({s.frames_before} from the earlier run)" if s.frames_before else ""
        state = "" if s.complete else " so far"
        print(f"{s.path.name}: {s.sentence()}{state}{before}", file=err)
        usual = s.end_reason.startswith(("end of video (", "end of images",
                                         "end of the requested"))
        if s.end_reason and (not usual or s.frames == 0 or "announced" in s.end_reason):
            print(f"  {s.end_reason}", file=err)  # trouble, nothing in range, or a header
            # that over-counts: say why the count is what it is
        asked = args.frames is not None or args.time is not None
        if s.frames == 0 and asked and usual:
            wanted = (f"--frames {_span(args.frames)}" if args.frames is not None
                      else f"--time {_span(args.time)}")
            print(f"  warning: {wanted} is past the end of {s.path.name}: no frame of it "
                  "was analysed", file=err)
    rate = f"{result.frames_this_run} frames in {result.seconds:.1f} s " \
           f"({result.frames_per_second:.1f} frames/s)"
    if result.status != "finished":
        command = shlex.join(sys.argv[2:]) if sys.argv[1:2] == ["analyze"] else "..."
        print(f"analysis {result.status}: {result.message}; {rate}. {kept_note(result)} "
              f"Resume with the same command: faceexplorer analyze {command}", file=err)
        return 130
    print(f"{result.rows} rows written to {result.output}; {rate}", file=err)
    if engine is not None:
        print(_engine_summary(result.engine, engine.stats), file=err)
    if result.index_message:
        print(result.index_message, file=err)
    return 0


def _span(span: tuple[float, float | None]) -> str:
    start, stop = span
    return f"{start:g}:{'' if stop is None else f'{stop:g}'}"


def kept_note(result: Any) -> str:
    """What a stopped run keeps: frames are written in blocks of ``PART_FRAMES``, so the
    frames analysed since the last whole block are lost and analysed again next time."""
    from faceexplorer.inference.analyze import PART_FRAMES

    kept, redo = result.frames_kept, result.frames_to_redo
    if kept == 0:
        return (f"No frame is kept yet (frames are kept {PART_FRAMES} at a time): the next "
                "run starts from the beginning.")
    again = (f"; the {redo:,} analysed after the last block are analysed again"
             if redo else "")
    return (f"{kept:,} analysed frames are kept beside the output (frames are kept "
            f"{PART_FRAMES} at a time{again}).")


def _engine(args: argparse.Namespace, bar: ProgressPrinter) -> Any:
    """None for the local engine, else the Ray engine (checked before any work)."""
    from faceexplorer.core.errors import FaceExplorerError

    if args.engine == "local":
        if args.address or args.workers:
            raise FaceExplorerError("--address and --workers go with --engine ray")
        return None
    from faceexplorer.inference.cluster import RayEngine, check_reachable, import_ray

    import_ray()  # not installed, or no cluster at --address: say so before any work
    if args.address:
        check_reachable(args.address)
    return RayEngine(args.address, args.workers, on_input=bar.input_update)


def _engine_summary(engine: dict[str, Any], stats: Any) -> str:
    """``ray 2.x: 2 workers, 6 chunks; start 4.1 s (Ray 2.9 s, models 1.2 s), ...``."""
    version = f" {engine['ray_version']}" if engine.get("ray_version") else ""
    where = f" at {engine['address']}" if engine.get("address") else ""
    return (f"{engine['name']}{version}{where}: {len(stats.workers)} workers, "
            f"{stats.chunks} chunks; start {stats.connect_s + stats.start_s:.1f} s (Ray "
            f"{stats.connect_s:.1f} s, models {stats.start_s:.1f} s), "
            f"{stats.overhead_per_chunk_s * 1e3:.0f} ms per chunk beyond the workers' own time")
