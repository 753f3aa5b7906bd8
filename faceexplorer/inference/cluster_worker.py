"""One cluster worker: a model session and a detector, kept for every chunk it runs.

``ChunkWorker`` is a plain class; the Ray engine (``cluster``) wraps it as an actor
(``ray.remote``), and the tests run it in-process. It opens the model and builds the
detector once, then runs chunks (``cluster_plan.Chunk``): the blocks of one input,
analysed with ``analyze_input`` exactly as the local engine analyses them (the tracker
is reset at each block, so the first block of a chunk starts as the local run's block
does) and written as one Parquet part per block, straight to the parts folder on the
shared storage, renamed into place (``InputParts.write``). The rows never travel
through Ray: a chunk returns only a small ``ChunkReport``.

Retried chunks (a worker restarted after its process died) skip the blocks whose parts
are already on disk. ``progress()`` runs on a second actor thread
(``max_concurrency=2``) so the driver can poll frames done while a chunk runs.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference.analyze_input import (
    FrameRange,
    FrameResult,
    StageClock,
    analyze_input,
    probe_input,
)
from faceexplorer.inference.analyze_table import InputParts, rows_of
from faceexplorer.inference.cards import ModelCard
from faceexplorer.inference.cluster_plan import Blocks, Chunk, InputEnd, done_blocks


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker needs, sent once when the actor starts."""

    model_path: str
    model_sha256: str
    card: ModelCard
    detector: object             # analyze.DetectorSettings (kept untyped: no cycle)
    threads: int
    batch: int
    part_frames: int
    columns: tuple[tuple[str, str], ...]
    opencv_threads: int = 0      # OpenCV's parallel_for threads; 0: OpenCV's default


@dataclass(frozen=True)
class InputSpec:
    """One input as the driver resolved it: where its parts go and its frame range."""

    path: str
    parts_folder: str
    rng: FrameRange


@dataclass
class ChunkReport:
    """What a finished chunk sends back (a few hundred bytes)."""

    chunk: Chunk
    frames: int = 0                      # analysed by this call
    end: InputEnd | None = None          # set when the chunk reached the input's end
    seconds: float = 0.0                 # wall time inside the worker
    cpu_s: float = 0.0                   # the worker process's CPU time meanwhile
    clock_wall: dict[str, float] = field(default_factory=dict)
    clock_cpu: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    worker: str = ""                     # host:pid


class ChunkWorker:
    """One model session and one detector; runs chunks (see the module docstring)."""

    def __init__(self, spec: WorkerSpec) -> None:
        from faceexplorer.inference.session import open_model

        if spec.opencv_threads:
            import cv2

            cv2.setNumThreads(spec.opencv_threads)
        self.spec = spec
        self.session = open_model(spec.model_path, threads=spec.threads, card=spec.card)
        if self.session.sha256 != spec.model_sha256:
            raise FaceExplorerError(
                f"{spec.model_path} on {socket.gethostname()} is not the model the run "
                "started with (its sha256 differs): every node must see the same file")
        self.detector = spec.detector.build()  # type: ignore[attr-defined]
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = threading.Lock()
        self._running: tuple[Chunk, int] | None = None

    def ready(self) -> str:
        """The worker's name, once its model is loaded."""
        return self.name

    def progress(self) -> tuple[Chunk, int] | None:
        """(running chunk, frames analysed so far) or None when idle."""
        with self._lock:
            return self._running

    def run(self, item: InputSpec, chunk: Chunk) -> ChunkReport:
        """Analyse one chunk and write its parts; returns what happened."""
        t0, c0 = time.perf_counter(), time.process_time()
        spec = self.spec
        blocks = Blocks(item.rng, spec.part_frames)
        parts = InputParts(Path(item.parts_folder), item.rng.start)
        first = chunk.first
        on_disk = done_blocks(parts.folder, blocks)
        while first in on_disk and (chunk.stop is None or first < chunk.stop):
            first += 1  # a retried chunk: these blocks were finished before
        report = ChunkReport(chunk, worker=self.name)
        clock = StageClock()
        if chunk.stop is not None and first >= chunk.stop:
            report.seconds = time.perf_counter() - t0
            return report
        path = Path(item.path)
        info = probe_input(path)
        rng = blocks.frame_range(first, chunk.stop)
        columns = list(spec.columns)
        pending: list[FrameResult] = []
        with self._lock:
            self._running = (chunk, 0)
        results = analyze_input(self.session, self.detector, path, rng, info=info,
                                batch=spec.batch, track_block=spec.part_frames,
                                clock=clock, warnings=report.warnings)
        try:
            for r in results:
                pending.append(r)
                report.frames += 1
                with self._lock:
                    self._running = (chunk, report.frames)
                if (r.frame_index - item.rng.start) // item.rng.stride % spec.part_frames \
                        == spec.part_frames - 1:
                    self._write(parts, blocks, item.path, pending, columns)
                    pending = []
        finally:
            results.close()
            with self._lock:
                self._running = None
        if pending:
            self._write(parts, blocks, item.path, pending, columns)
        if chunk.stop is None or info.frames_decoded is not None:
            analysed = first * spec.part_frames + report.frames
            report.end = InputEnd(-(-analysed // spec.part_frames), info.end_reason,
                                  info.frames_decoded)
        report.clock_wall, report.clock_cpu = dict(clock.wall), dict(clock.cpu)
        report.seconds = time.perf_counter() - t0
        report.cpu_s = time.process_time() - c0
        return report

    def _write(self, parts: InputParts, blocks: Blocks, source: str,
               pending: list[FrameResult], columns: list[tuple[str, str]]) -> None:
        block = blocks.block_of_frame(pending[0].frame_index)
        parts.write(blocks.part_start(block), pending[-1].frame_index + 1,
                    rows_of(source, pending, self.spec.card), columns)
