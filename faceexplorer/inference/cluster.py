"""The Ray engine of ``faceexplorer analyze --engine ray``: the same analysis on a cluster.

``run_analysis`` does everything before and after the frames as for a local run (probe
and hash the inputs, find the parts of an earlier run, concatenate the parts into the
output, store it in the index); only the incomplete inputs go to the engine. This
engine cuts them into chunks of blocks (``cluster_plan``) and hands the chunks to a pool
of workers (``cluster_worker.ChunkWorker``: one model session and one detector each),
largest first, the next chunk to whichever worker is free. Workers write their parts
straight to the parts folder, renamed into place, and send back only a small report, so
no frame and no row crosses between the driver and the workers. The driver records an
input's end (``end.json``) and, once every block up to the end is on disk, marks it done
(``done.json``) as the local engine does. A killed worker is restarted by Ray and its
chunk retried, skipping the blocks already written; a killed driver loses no finished
part, and the same command does only the blocks still missing.

Pools: ``RayPool`` (actors on a Ray cluster: ``address`` given, one already initialised
in this process, or a local instance started on this machine's cores and shut down at
the end) and ``InlinePool`` (the same workers called in this process, one chunk at a
time: the tests of the plan and of reruns need no Ray). Ray is imported only here and
only when a ``RayPool`` is opened (``importlib``, so a frozen app never bundles it).

Progress: the driver polls each busy worker's ``progress()`` (frames of its chunk) a
few times a second and reports per input (``on_input``) and overall (``tick``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import itertools
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference.cluster_plan import (
    Blocks,
    Chunk,
    balance,
    done_blocks,
    missing_chunks,
    read_end,
    record_end,
)
from faceexplorer.inference.cluster_worker import (
    ChunkReport,
    ChunkWorker,
    InputSpec,
    WorkerSpec,
)

RAY_MISSING = ("--engine ray needs Ray, which is not installed here: pip install "
               "'faceexplorer[cluster]' (or pip install ray) on this machine and on every "
               "node of the cluster; the local engine (the default) needs nothing more")
#: Seconds between progress polls of the busy workers.
POLL_S = 0.5

#: on_input(path, frames done, frames expected or None, finished)
InputProgress = Callable[[str, int, int | None, bool], None]


def import_ray() -> Any:
    """Ray, or a FaceExplorerError saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise FaceExplorerError(RAY_MISSING) from None


@dataclass
class EngineStats:
    """What the last run cost, for the summary and the benchmark."""

    workers: list[str] = field(default_factory=list)
    chunks: int = 0
    connect_s: float = 0.0          # ray.init (or nothing: already connected)
    start_s: float = 0.0            # workers created until every model was loaded
    chunk_s: list[float] = field(default_factory=list)         # driver: submit -> report
    chunk_worker_s: list[float] = field(default_factory=list)  # inside the worker
    worker_cpu_s: float = 0.0       # the workers' process CPU over every chunk
    served_by: list[str] = field(default_factory=list)         # each chunk's worker

    @property
    def overhead_per_chunk_s(self) -> float:
        """Mean driver-side time per chunk beyond the worker's own time."""
        pairs = list(zip(self.chunk_s, self.chunk_worker_s, strict=True))
        return sum(d - w for d, w in pairs) / len(pairs) if pairs else 0.0


class InlinePool:
    """Workers called in this process, each chunk run when submitted (tests)."""

    def __init__(self, spec: WorkerSpec, n: int) -> None:
        self.workers = [ChunkWorker(spec) for _ in range(n)]
        self.names = [w.ready() for w in self.workers]
        self._done: dict[int, ChunkReport] = {}
        self._handles = itertools.count()

    def submit(self, slot: int, item: InputSpec, chunk: Chunk) -> int:
        handle = next(self._handles)
        self._done[handle] = self.workers[slot].run(item, chunk)
        return handle

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, ChunkReport]]:
        return [(h, self._done.pop(h)) for h in handles]

    def progress(self) -> list[tuple[Chunk, int]]:
        return []

    def close(self) -> None:
        self.workers.clear()


class RayPool:
    """``n`` ChunkWorker actors on the connected Ray cluster."""

    def __init__(self, ray: Any, spec: WorkerSpec, n: int) -> None:
        self.ray = ray
        # An actor holds one CPU: OpenCV's own threads (the Haar search runs on all
        # cores by default) would make every worker compete for every core.
        spec = dataclasses.replace(spec, opencv_threads=1)
        actor = ray.remote(num_cpus=1, max_concurrency=2, max_restarts=1,
                           max_task_retries=1)(ChunkWorker)
        self.actors = [actor.remote(spec) for _ in range(n)]
        try:
            self.names = ray.get([a.ready.remote() for a in self.actors])
        except Exception as exc:
            self.close()
            raise _user_error(exc, "a Ray worker could not load the model") from None
        self._busy: dict[Any, int] = {}

    def submit(self, slot: int, item: InputSpec, chunk: Chunk) -> Any:
        ref = self.actors[slot].run.remote(item, chunk)
        self._busy[ref] = slot
        return ref

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, ChunkReport]]:
        # back as soon as one chunk is done (its worker gets the next at once), with any
        # others already done
        ready, rest = self.ray.wait(handles, num_returns=1, timeout=timeout)
        if ready and rest:
            ready += self.ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        out = []
        for ref in ready:
            self._busy.pop(ref, None)
            try:
                out.append((ref, self.ray.get(ref)))
            except Exception as exc:
                raise _user_error(exc, "a Ray worker failed") from None
        return out

    def progress(self) -> list[tuple[Chunk, int]]:
        refs = [self.actors[s].progress.remote() for s in set(self._busy.values())]
        try:
            return [p for p in self.ray.get(refs, timeout=5.0) if p is not None]
        except Exception:  # a busy or restarting worker: progress is only a display
            return []

    def close(self) -> None:
        for ref in self._busy:  # cancelled first, so Ray does not retry them on the kill
            with contextlib.suppress(Exception):
                self.ray.cancel(ref)
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []


def _user_error(exc: BaseException, what: str) -> FaceExplorerError:
    """The worker's own FaceExplorerError when there is one, else ``what`` and why."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, FaceExplorerError):
        return cause
    first = str(cause or exc).strip().splitlines()
    return FaceExplorerError(f"{what} ({first[-1] if first else type(exc).__name__}); the "
                             "finished parts are kept: the same command does the rest")


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` (or ``ray://HOST:PORT``) where nothing listens.

    Ray itself retries an unreachable address for minutes, printing a warning every few
    seconds; a plain TCP connection says it at once.
    """
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or address == "auto":
        return  # "auto" and other forms: Ray resolves them
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise FaceExplorerError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head` (see docs/scale-out.md) or leave out --address to run Ray "
            "on this machine") from None


class RayEngine:
    """Chunks of the incomplete inputs on a pool of workers (see the module docstring).

    Parameters
    ----------
    address : str, optional
        A running Ray cluster (``auto``, ``HOST:6379`` or ``ray://HOST:10001``); None
        starts a local instance on this machine's cores, or uses the one this process
        already started.
    workers : int, optional
        Workers (one CPU each); default: the cluster's CPUs.
    on_input : callable, optional
        Per-input progress (path, frames done, frames expected, finished).
    pool : ``"ray"`` or ``"inline"``
        ``"inline"`` runs the workers in this process (tests, no Ray).
    """

    def __init__(self, address: str | None = None, workers: int | None = None,
                 on_input: InputProgress | None = None, pool: str = "ray") -> None:
        self.address, self.workers, self.on_input, self.pool = address, workers, on_input, pool
        self.stats = EngineStats()

    def describe(self) -> dict[str, Any]:
        return {"name": "ray" if self.pool == "ray" else self.pool, "address": self.address,
                "workers": self.workers}

    def _connect(self) -> tuple[Any, bool]:
        """(ray, whether this call started it)."""
        ray = import_ray()
        if ray.is_initialized():
            return ray, False
        if self.address:
            check_reachable(self.address)
        # FaceExplorer sends nothing anywhere: no usage report from a Ray it starts
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "logging_level": logging.ERROR}
        try:
            if self.address:
                ray.init(address=self.address, **options)
            else:
                # "local": a new instance even if this machine runs (or ran) a cluster
                ray.init(address="local", num_cpus=self.workers or os.cpu_count() or 1,
                         **options)
        except Exception as exc:
            where = self.address or "a local instance"
            raise FaceExplorerError(f"cannot start or reach the Ray cluster ({where}): "
                                    f"{str(exc).strip().splitlines()[-1]}") from None
        return ray, True

    def run(self, job: Any, todo: list[Any], tick: Callable[[Any, int], None],
            should_stop: Callable[[], bool] | None) -> bool:
        """Run the chunks of ``todo`` (``analyze.InputWork``); True when stopped."""
        from faceexplorer.inference import analyze

        size = analyze.PART_FRAMES  # read at run time: tests make blocks small
        folders: set[Any] = set()  # an input named twice shares its parts: run it once
        todo = [w for w in todo if not (w.parts.folder in folders or folders.add(w.parts.folder))]
        blocks = [Blocks(w.rng, size) for w in todo]
        chunks: list[Chunk] = []
        for i, (w, b) in enumerate(zip(todo, blocks, strict=True)):
            chunks += missing_chunks(i, done_blocks(w.parts.folder, b),
                                     read_end(w.parts.folder),
                                     b.estimate(w.info.frames_announced))
        items = [InputSpec(str(w.info.path), str(w.parts.folder), w.rng) for w in todo]
        spec = WorkerSpec(str(job.session.path), job.session.sha256, job.session.card,
                          job.detector, job.session.threads, job.batch, size,
                          tuple(job.columns))
        self.stats = EngineStats(chunks=0)
        ray, started = None, False
        t0 = time.perf_counter()
        if self.pool == "ray":
            ray, started = self._connect()
        self.stats.connect_s = time.perf_counter() - t0
        try:
            capacity = self.workers or (int(ray.cluster_resources().get("CPU", 1)) if ray
                                        else 1)
            chunks = balance(chunks, capacity)
            self.stats.chunks = len(chunks)
            job.result.engine = {**self.describe(), "workers": min(capacity, len(chunks)),
                                 "chunks": len(chunks),
                                 **({"ray_version": ray.__version__} if ray else {})}
            if not chunks:  # every block was on disk: the inputs only need marking done
                for w, b, it in zip(todo, blocks, items, strict=True):
                    self._finish(w, b, it)
                return False
            return self._drive(job, todo, blocks, items, chunks, spec, ray,
                               min(capacity, len(chunks)), tick, should_stop)
        finally:
            if started:
                ray.shutdown()

    def _drive(self, job: Any, todo: list[Any], blocks: list[Blocks],
               items: list[InputSpec], chunks: list[Chunk], spec: WorkerSpec, ray: Any,
               n: int, tick: Callable[[Any, int], None],
               should_stop: Callable[[], bool] | None) -> bool:
        t0 = time.perf_counter()
        pool: Any = RayPool(ray, spec, n) if ray is not None else InlinePool(spec, n)
        self.stats.start_s = time.perf_counter() - t0
        self.stats.workers = list(pool.names)
        before = {str(s.path): s.frames_before for s in job.result.inputs}
        done = [before.get(it.path, 0) for it in items]
        expected = [w.rng.count(w.info.frames_announced) for w in todo]
        left = [0] * len(todo)
        for c in chunks:
            left[c.item] += 1
        queue, free = deque(chunks), list(range(n))
        running: dict[Any, tuple[int, Chunk, float]] = {}
        seen: dict[Chunk, int] = {}
        next_poll = 0.0

        def count(chunk: Chunk, frames: int) -> None:
            delta = frames - seen.get(chunk, 0)
            if delta > 0:
                seen[chunk] = frames
                done[chunk.item] += delta
                tick(todo[chunk.item].info.path, delta)
                if self.on_input is not None:
                    self.on_input(items[chunk.item].path, done[chunk.item],
                                  expected[chunk.item], False)

        try:
            while queue or running:
                while free and queue:
                    slot, chunk = free.pop(), queue.popleft()
                    running[pool.submit(slot, items[chunk.item], chunk)] = (
                        slot, chunk, time.perf_counter())
                for handle, report in pool.wait(list(running), POLL_S):
                    slot, chunk, sent = running.pop(handle)
                    free.append(slot)
                    self.stats.chunk_s.append(time.perf_counter() - sent)
                    self.stats.chunk_worker_s.append(report.seconds)
                    self.stats.worker_cpu_s += report.cpu_s
                    self.stats.served_by.append(report.worker)
                    count(chunk, report.frames)
                    seen.pop(chunk, None)
                    self._take(job.result, report, todo[chunk.item].parts.folder)
                    left[chunk.item] -= 1
                    i = chunk.item
                    if left[i] == 0 and self._finish(todo[i], blocks[i], items[i]) \
                            and self.on_input is not None:
                        self.on_input(items[i].path, done[i], expected[i], True)
                if time.perf_counter() >= next_poll:  # a poll costs a call per worker
                    next_poll = time.perf_counter() + POLL_S * max(1.0, n / 50)
                    for chunk, frames in pool.progress():
                        count(chunk, frames)
                if should_stop is not None and should_stop():
                    return True
        finally:
            pool.close()
        return False

    @staticmethod
    def _take(result: Any, report: ChunkReport, folder: Any) -> None:
        """Add a chunk's clock and warnings to the result; record the input's end."""
        for stage, v in report.clock_wall.items():
            result.clock.add(stage, v, report.clock_cpu.get(stage, 0.0))
        result.warnings.extend(w for w in report.warnings if w not in result.warnings)
        if report.end is not None:
            record_end(folder, report.end)

    @staticmethod
    def _finish(work: Any, blocks: Blocks, item: InputSpec) -> bool:
        """Mark an input done if every block up to its end is on disk; True if so."""
        end = read_end(work.parts.folder)
        if end is None:
            return False
        missing = set(range(end.blocks)) - done_blocks(work.parts.folder, blocks)
        if missing:
            raise FaceExplorerError(
                f"{item.path}: blocks {sorted(missing)[:5]} are missing after every chunk "
                "ran; the finished parts are kept: the same command does the rest")
        work.parts.mark_done(end.done_info())
        return True
