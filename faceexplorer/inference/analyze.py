"""``run_analysis``: a model over every frame of videos, image folders or images.

For each input in turn: probe it (all inputs are probed first, so a missing file fails
before any work), hash it, find its parts from an earlier interrupted run
(``analyze_table``), analyse the frames not yet covered (``analyze_input.analyze_input``,
never paced, never dropped) and write a part every ``PART_FRAMES`` frames. When every
input is complete the parts become the output file (``.csv`` or ``.parquet``), the
analysis is stored in the index (``index.analyses``) and the parts are removed.

Resuming: parts are blocks of ``PART_FRAMES`` analysed frames from the start of each
input's range, and face tracking restarts at each block (``analyze_input``), so every
part is a pure function of its frames. A run stopped by Ctrl-C (or ``should_stop``)
keeps its finished parts and loses the block in progress (at most ``PART_FRAMES``
frames). Starting the same command again skips what the parts cover: an input's
parts are keyed by the model's sha256, the detector settings, the frame range and the
input's sha256, so any change to those starts that input afresh (the old parts are
removed at the end). Each input is a plain function call of (model, detector settings,
input, range), so a cluster can hand inputs out as work items and write the same parts.

Engines: the inputs not yet complete go to an ``Engine``; ``LocalEngine`` (the default)
runs them one after the other in this process, ``cluster.RayEngine`` spreads their
blocks over Ray workers. Everything before (probing, keys, parts found) and after
(output file, index) is the same for both; the engine is recorded in the index.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference.analyze_input import (
    BATCH,
    FrameRange,
    InputInfo,
    StageClock,
    analyze_input,
    image_paths,
    probe_input,
)
from faceexplorer.inference.analyze_table import (
    PART_FRAMES,
    InputParts,
    check_output,
    input_parts,
    remove_parts,
    rows_of,
    stale_folders,
    table_columns,
    write_output,
)
from faceexplorer.inference.detect import FaceDetector, describe_settings
from faceexplorer.inference.session import ModelSession, open_model, sha256_of

#: Bumped when the table's rows change meaning: old parts are then not reused.
TABLE_VERSION = 1


@dataclass(frozen=True)
class DetectorSettings:
    """Which face detector: ``haar`` (OpenCV's cascade with the live mode's face
    tracking) or ``yunet`` with its ONNX file."""

    kind: str = "haar"
    path: str | None = None
    sha256: str | None = None

    @classmethod
    def from_choice(cls, choice: str | Path) -> DetectorSettings:
        """``"haar"``, or the path of a YuNet ONNX file."""
        if str(choice).lower() == "haar":
            return cls()
        path = Path(choice)
        if not path.is_file():
            raise FaceExplorerError(f"{path}: no such YuNet model file; --detector takes "
                                    "'haar' or the path of face_detection_yunet_*.onnx")
        return cls("yunet", str(path.resolve()), sha256_of(path))

    def build(self) -> FaceDetector:
        """A fresh detector, made exactly as the live mode makes it."""
        from faceexplorer.inference.live import make_detector

        detector = make_detector("haar" if self.kind == "haar" else self.path)
        assert detector is not None
        return detector

    def describe(self) -> str:
        """For messages: ``Haar cascade (OpenCV), tracking`` or ``YuNet (file)``."""
        return ("Haar cascade (OpenCV), tracking" if self.kind == "haar"
                else f"YuNet ({Path(self.path or '').name})")


@functools.cache
def detection_settings(detector: DetectorSettings) -> str:
    """The settings ``detector`` runs with, read from the detector it builds."""
    try:
        return describe_settings(detector.build())
    except FaceExplorerError:
        return detector.describe()


def detection_note(detector: DetectorSettings, stride: int = 1) -> str:
    """One line for the Analyses tab: how its detection differs from Live's.

    Both build their detector with ``live.make_detector``: the detector and its settings
    (:func:`detection_settings`) are the same; what differs is which frames it sees and,
    for the tracking Haar detector, when tracking restarts.
    """
    frames = ("every frame is analysed" if stride == 1
              else f"one frame in {stride} is analysed")
    restart = (f"; tracking restarts every {PART_FRAMES} frames (resumable runs)"
               if detector.kind == "haar" else "")
    return (f"Detection as in Live (same detector, same settings). Unlike Live: {frames} "
            f"(Live may skip frames){restart}.")


def live_note(detector: DetectorSettings) -> str:
    """The same difference, said from the Live tab's side (for its own note)."""
    tail = (f"; tracking never restarts in a video (Analyses: every {PART_FRAMES} "
            "frames)" if detector.kind == "haar" else "")
    return ("Detection as in Analyses (same detector and settings). Unlike Analyses: "
            f"Live models the newest frame and skips the rest unless it records every "
            f"frame{tail}.")


@dataclass
class InputSummary:
    """How one input went."""

    path: Path
    kind: str
    sha256: str
    frames: int = 0              # analysed frames in the output
    frames_with_face: int = 0
    frames_in_source: int | None = None
    end_reason: str = ""
    frames_before: int = 0       # analysed by an earlier, interrupted run
    complete: bool = False

    def sentence(self) -> str:
        """``face found in 455 of 472 frames`` or ``no face found in any of the 95 frames``."""
        unit = "images" if self.kind == "images" else "frames"
        if self.frames == 0:
            return f"no {unit[:-1]} analysed"
        if self.frames_with_face == 0:
            return f"no face found in any of the {self.frames} {unit}"
        return f"face found in {self.frames_with_face} of {self.frames} {unit}"


@dataclass
class AnalysisResult:
    """What ``run_analysis`` did."""

    analysis_id: str
    output: Path
    status: str                       # 'finished' | 'stopped'
    message: str
    inputs: list[InputSummary]
    rows: int = 0                     # rows in the output (0 while stopped)
    frames_this_run: int = 0
    seconds: float = 0.0
    stored_rows: int | None = None    # rows stored in the index (None: not stored)
    index_message: str = ""
    warnings: list[str] = field(default_factory=list)
    clock: StageClock = field(default_factory=StageClock)
    engine: dict[str, Any] = field(default_factory=lambda: {"name": "local"})

    @property
    def frames_per_second(self) -> float:
        """Analysed frames per second of this call."""
        return self.frames_this_run / self.seconds if self.seconds > 0 else 0.0

    @property
    def frames_kept(self) -> int:
        """Analysed frames in the output's parts (a stopped run keeps whole blocks)."""
        return sum(s.frames for s in self.inputs)

    @property
    def frames_to_redo(self) -> int:
        """Frames this call analysed after its last whole block: a stopped run loses them
        and the next run analyses them again (``PART_FRAMES`` frames make a block)."""
        kept_now = sum(s.frames - s.frames_before for s in self.inputs)
        return max(self.frames_this_run - kept_now, 0)


#: progress(frames done, frames expected or None, input path, frames/s of this call)
Progress = Callable[[int, int | None, Path, float], None]
#: tick(input path, frames newly analysed): an engine's progress report
Tick = Callable[[Path, int], None]


@dataclass
class InputWork:
    """An input not yet complete, handed to an engine."""

    info: InputInfo
    rng: FrameRange
    parts: InputParts


@dataclass
class Job:
    """What every engine gets: the opened model, the detector, the table and the result
    (its clock and warnings are the engine's to add to)."""

    session: ModelSession
    detector: DetectorSettings
    columns: list[tuple[str, str]]
    batch: int
    result: AnalysisResult


class Engine(Protocol):
    """Runs the incomplete inputs of a job, writing their parts and ``done.json``."""

    def describe(self) -> dict[str, Any]:
        """What is stored in the index's settings as ``engine``."""
        ...

    def run(self, job: Job, todo: list[InputWork], tick: Tick,
            should_stop: Callable[[], bool] | None) -> bool:
        """Run ``todo``; True when stopped early (finished parts are kept)."""
        ...


class LocalEngine:
    """The inputs one after the other, in this process."""

    def describe(self) -> dict[str, Any]:
        return {"name": "local"}

    def run(self, job: Job, todo: list[InputWork], tick: Tick,
            should_stop: Callable[[], bool] | None) -> bool:
        for w in todo:
            if _run_input(job.session, job.detector, w.info, w.rng, w.parts, job.columns,
                          job.batch, job.result, lambda p=w.info.path: tick(p, 1),
                          should_stop):
                return True
        return False


def source_sha256(path: Path) -> str:
    """sha256 of a video file, or of an image folder's names and contents."""
    if path.is_dir():
        digest = hashlib.sha256()
        for p in image_paths(path):
            digest.update(p.name.encode("utf-8") + b"\0" + sha256_of(p).encode() + b"\n")
        return digest.hexdigest()
    return sha256_of(path)


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


def resolve_range(info: InputInfo, frames: FrameRange,
                  seconds: tuple[float, float | None] | None) -> FrameRange:
    """The frame range of one input; a time range becomes frames at the video's rate."""
    if seconds is None:
        return frames
    if info.kind != "video" or not info.fps:
        raise FaceExplorerError(f"{info.path}: a time range needs a video (images have no "
                                "time); use a frame range instead")
    start_s, stop_s = seconds
    start = int(round(start_s * info.fps))
    stop = None if stop_s is None else int(math.ceil(stop_s * info.fps - 1e-9))
    return FrameRange(start, stop, frames.stride)


def _counts(parts: list[Path]) -> tuple[int, int]:
    """(frames, frames with a face) in some parts."""
    if not parts:
        return 0, 0
    files = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in parts) + "]"
    con = duckdb.connect()
    try:
        row = con.execute(f"SELECT count(DISTINCT frame_index), count(DISTINCT frame_index) "
                          f"FILTER (WHERE face_found) FROM read_parquet({files})").fetchone()
    finally:
        con.close()
    return int(row[0]), int(row[1])


def run_analysis(model: ModelSession | Path | str, inputs: Sequence[Path | str],
                 output: Path | str, *, detector: DetectorSettings | None = None,
                 frames: FrameRange | None = None,
                 seconds: tuple[float, float | None] | None = None,
                 db_path: Path | str | None = None, threads: int = 1, batch: int = BATCH,
                 progress: Progress | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 index_access: Callable[[], contextlib.AbstractContextManager] | None = None,
                 engine: Engine | None = None) -> AnalysisResult:
    """Analyse every frame of ``inputs`` and write one table (see the module docstring).

    Parameters
    ----------
    model : ModelSession or path
        An opened model, or its ``.onnx`` file (opened with ``threads``).
    inputs : sequence of path
        Video files, image folders or image files.
    output : path
        ``.csv`` or ``.parquet``; replaced when the analysis completes.
    detector : DetectorSettings
        Default: Haar with face tracking (the live mode's).
    frames : FrameRange
        Frame range and stride (frame numbers of each input).
    seconds : (start, stop or None), optional
        A time range instead (videos only); the stride of ``frames`` still applies.
    db_path : path, optional
        The index to store the analysis in; None stores nothing.
    batch : int
        Faces per model call.
    progress : callable, optional
        Called after every analysed frame (cheap callers only).
    should_stop : callable, optional
        Polled once per frame; True stops after writing what was done (resumable).
    index_access : callable returning a context manager, optional
        Entered around the one index write at the end: a window holding a read-only
        connection closes it on entry and reopens it on exit (as for batch runs).
    engine : Engine, optional
        Who analyses the incomplete inputs; default ``LocalEngine()``.

    Raises
    ------
    FaceExplorerError
        Before any work: a missing input, a bad output name, a model or detector that
        cannot be loaded. During the work: the model or detector failing.
    """
    t0 = time.perf_counter()
    started = datetime.now(UTC).replace(tzinfo=None)
    output = Path(output)
    check_output(output)
    detector = detector or DetectorSettings()
    frames = frames or FrameRange()
    paths = [Path(p).resolve() for p in inputs]
    if not paths:
        raise FaceExplorerError("no input given: name video files, image folders or images")
    infos = [probe_input(p) for p in paths]
    ranges = [resolve_range(i, frames, seconds) for i in infos]
    session = model if isinstance(model, ModelSession) else open_model(model, threads=threads)
    detector.build()  # a wrong YuNet file fails here, before any work
    columns = table_columns(session.card)
    summaries, all_parts = [], []
    for info, rng in zip(infos, ranges, strict=True):
        sha = source_sha256(info.path)
        key = _key(TABLE_VERSION, session.sha256, asdict(detector), asdict(rng), sha,
                   str(info.path))  # the rows name their source
        summaries.append(InputSummary(info.path, info.kind, sha))
        all_parts.append(input_parts(output, key, rng.start))
    analysis_id = _key(TABLE_VERSION, session.sha256, asdict(detector),
                       [asdict(r) for r in ranges], [s.sha256 for s in summaries])
    engine = engine or LocalEngine()
    result = AnalysisResult(analysis_id, output, "finished", "", summaries,
                            engine=engine.describe())
    expected = [r.count(i.frames_announced) for r, i in zip(ranges, infos, strict=True)]
    total = None if None in expected else sum(e or 0 for e in expected)
    done_before = 0
    for s, parts in zip(summaries, all_parts, strict=True):
        s.frames_before = _counts(parts.part_files())[0]
        done_before += s.frames_before
    done = done_before

    def tick(path: Path, n: int) -> None:
        nonlocal done
        done += n
        result.frames_this_run += n
        if progress is not None:
            elapsed = time.perf_counter() - t0
            progress(done, total, path,
                     result.frames_this_run / elapsed if elapsed > 0 else 0.0)

    todo = [InputWork(info, rng, parts) for info, rng, parts
            in zip(infos, ranges, all_parts, strict=True) if parts.done() is None]
    try:
        if engine.run(Job(session, detector, columns, batch, result), todo, tick,
                      should_stop):
            result.status = "stopped"
            result.message = "stopped by the user"
    except KeyboardInterrupt:
        result.status, result.message = "stopped", "interrupted (Ctrl-C)"
    result.seconds = time.perf_counter() - t0
    for s, parts in zip(summaries, all_parts, strict=True):
        done_info = parts.done()
        s.frames, s.frames_with_face = _counts(parts.part_files())
        if done_info is not None:
            s.complete = True
            s.end_reason = done_info.get("end_reason", "")
            s.frames_in_source = done_info.get("frames_in_source")
    if result.status != "finished":
        return result
    files = [f for p in all_parts for f in p.part_files()]
    result.rows = write_output(output, files, columns)
    if db_path is not None:
        result.stored_rows, result.index_message = _store(
            Path(db_path), session, detector, ranges, frames, seconds, batch, result, files,
            [c for c, _ in columns], started, index_access)
    for folder in stale_folders(output, all_parts):
        result.warnings.append(f"parts of an earlier run with other settings or files "
                               f"removed: {folder.name}")
    if result.stored_rows is not None or db_path is None:
        remove_parts(output)
    return result


def _run_input(session: ModelSession, detector: DetectorSettings, info: InputInfo,
               rng: FrameRange, parts: InputParts, columns: list[tuple[str, str]],
               batch: int, result: AnalysisResult, tick: Callable[[], None],
               should_stop: Callable[[], bool] | None) -> bool:
    """Analyse what is left of one input, writing parts; True when stopped early."""
    resume_at = parts.covered_until()
    rest = FrameRange(rng.first_at_or_after(resume_at), rng.stop, rng.stride)
    if rng.stop is not None and rest.start >= rng.stop:
        rest = FrameRange(rng.stop, rng.stop, rng.stride)
    source = str(info.path)
    pending: list = []
    first = resume_at  # where the last part ended: contiguous names with a stride too
    results = analyze_input(session, detector.build(), info.path, rest, info=info,
                            batch=batch, track_block=PART_FRAMES, clock=result.clock,
                            warnings=result.warnings)
    try:
        for r in results:
            pending.append(r)
            tick()
            if (r.frame_index - rng.start) // rng.stride % PART_FRAMES == PART_FRAMES - 1:
                parts.write(first, r.frame_index + 1, rows_of(source, pending, session.card),
                            columns)
                first, pending = r.frame_index + 1, []
            if should_stop is not None and should_stop():
                return True  # the block in progress is redone on resume
    finally:
        results.close()  # stops the prefetch thread whatever happened
    if pending:
        parts.write(first, pending[-1].frame_index + 1, rows_of(source, pending, session.card),
                    columns)
    parts.folder.mkdir(parents=True, exist_ok=True)
    parts.mark_done({"end_reason": info.end_reason, "frames_in_source": info.frames_decoded})
    return False


def _store(db_path: Path, session: ModelSession, detector: DetectorSettings,
           ranges: list[FrameRange], frames: FrameRange,
           seconds: tuple[float, float | None] | None, batch: int, result: AnalysisResult,
           files: list[Path], columns: list[str], started: datetime,
           index_access: Callable[[], contextlib.AbstractContextManager] | None = None
           ) -> tuple[int | None, str]:
    """Store the analysis in the index; (rows stored or None, message)."""
    from faceexplorer.index.analyses import AnalysisSource, store_analysis
    from faceexplorer.index.store import connect

    meta = {"model_path": str(session.path), "model_name": session.card.name,
            "model_sha256": session.sha256, "card": session.card.to_dict(),
            "detector": asdict(detector),
            "settings": {"frames": asdict(frames), "seconds": seconds, "batch": batch,
                         "ranges": [asdict(r) for r in ranges],
                         "table_version": TABLE_VERSION, "engine": result.engine},
            "output": str(result.output.resolve()), "started_at": started}
    sources = [AnalysisSource(str(s.path), s.sha256, s.kind, s.frames, s.frames_with_face,
                              s.frames_in_source, s.end_reason) for s in result.inputs]
    with index_access() if index_access is not None else contextlib.nullcontext():
        try:
            con = connect(db_path)
        except FaceExplorerError as exc:
            return None, (f"not stored in the index ({exc}); the output is complete and the "
                          "same command stores it once the index is free")
        try:
            rows = store_analysis(con, result.analysis_id, meta, sources, files, columns)
        finally:
            con.close()
    return rows, f"stored in {db_path} as analysis {result.analysis_id}"
