"""Work items for a cluster: which blocks of which inputs are left, cut into chunks.

The local engine already writes an input's rows as *blocks*: ``PART_FRAMES`` analysed
frames each, counted from the start of the input's range, one Parquet part per block,
with face tracking restarted at every block (``analyze_input``). A block is therefore a
pure function of its frames, and any run that analyses blocks ``a..b`` from a tracker
reset at block ``a`` writes the very parts the local run writes. A *chunk* is such a
run of consecutive blocks of one input: the cluster's work item.

Part names (``analyze_table``) say which frames a part spans, ``<first>-<end>``: block
0 starts at the range's first frame, every later block where the one before ended (its
last analysed frame + 1), so the parts of an input are contiguous whatever the stride
and ``InputParts.part_files`` concatenates them as it does for a local run.

Reruns do only what is missing: the blocks already on disk are listed from the part
names (a part exists whole or not at all), and the input's end, once a chunk reached it,
is kept in ``end.json`` (its end reason, the frames in the source and the number of
blocks up to the end). Without it the last chunk is open-ended (runs to the end of the
range) and the block count is estimated from the frames the header announces.

Balance: one chunk per run of missing blocks; then, while handing the chunks out
largest first to whichever worker is free would end more than ``SLACK`` after a perfect
share (``makespan``), the largest chunk is halved on a block boundary. So a few long
videos still keep every worker busy, while two videos on two workers, or thousands of
short ones, are never cut: a chunk that starts late in a video first decodes (``grab``)
every frame before it, which costs about a millisecond a frame at 640x360.

Nothing here imports Ray: the plan is tested without it.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceexplorer.inference.analyze_input import FrameRange

_PART = re.compile(r"^(\d+)-(\d+)\.parquet$")
END_FILE = "end.json"
#: How far past a perfect share of the work the last worker may finish before cutting.
SLACK = 0.10


@dataclass(frozen=True)
class Blocks:
    """The block arithmetic of one input's frame range (``size`` frames per block)."""

    rng: FrameRange
    size: int

    def start_frame(self, block: int) -> int:
        """Frame number of the first analysed frame of ``block``."""
        return self.rng.start + block * self.size * self.rng.stride

    def part_start(self, block: int) -> int:
        """The ``<first>`` of ``block``'s part name (see the module docstring)."""
        if block == 0:
            return self.rng.start
        return self.rng.start + (block * self.size - 1) * self.rng.stride + 1

    def block_of_frame(self, frame: int) -> int:
        """The block an analysed frame belongs to."""
        return (frame - self.rng.start) // self.rng.stride // self.size

    def block_of_part(self, first: int) -> int | None:
        """The block whose part name starts at ``first``; None for a foreign name."""
        if first == self.rng.start:
            return 0
        offset = first - self.rng.start - 1
        if offset < 0 or offset % self.rng.stride:
            return None
        analysed = offset // self.rng.stride + 1
        return analysed // self.size if analysed % self.size == 0 else None

    def frame_range(self, first: int, stop: int | None) -> FrameRange:
        """Frames of blocks ``first`` up to ``stop`` (None: to the range's end)."""
        start = self.start_frame(first)
        end = self.rng.stop if stop is None else self.start_frame(stop)
        if self.rng.stop is not None and end is not None:
            end = min(end, self.rng.stop)
        if end is not None:
            start = min(start, end)
        return FrameRange(start, end, self.rng.stride)

    def estimate(self, frames_announced: int | None) -> int:
        """Blocks of the range in an input announcing ``frames_announced`` (0: unknown)."""
        count = self.rng.count(frames_announced)
        return math.ceil(count / self.size) if count else 0


def done_blocks(folder: Path, blocks: Blocks) -> set[int]:
    """The blocks whose parts are on disk."""
    if not folder.is_dir():
        return set()
    found = set()
    for f in folder.glob("*.parquet"):
        m = _PART.match(f.name)
        if m and (b := blocks.block_of_part(int(m.group(1)))) is not None:
            found.add(b)
    return found


@dataclass(frozen=True)
class InputEnd:
    """Where an input ended, as a chunk that reached the end saw it."""

    blocks: int                  # blocks up to the end (the last may be partial)
    end_reason: str
    frames_in_source: int | None

    def done_info(self) -> dict[str, Any]:
        """What ``InputParts.mark_done`` records (as the local engine records it)."""
        return {"end_reason": self.end_reason, "frames_in_source": self.frames_in_source}


def read_end(folder: Path) -> InputEnd | None:
    """The end an earlier chunk recorded, if any."""
    f = folder / END_FILE
    if not f.is_file():
        return None
    return InputEnd(**json.loads(f.read_text(encoding="utf-8")))


def record_end(folder: Path, end: InputEnd) -> InputEnd:
    """Keep the earliest end seen (a chunk past the real end sees it too); returns it.

    Written aside and renamed into place, by the driver only.
    """
    old = read_end(folder)
    if old is not None and old.blocks <= end.blocks:
        return old
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (END_FILE + ".tmp")
    tmp.write_text(json.dumps(end.__dict__, indent=1), encoding="utf-8")
    os.replace(tmp, folder / END_FILE)
    return end


@dataclass(frozen=True)
class Chunk:
    """A work item: blocks ``first`` up to ``stop`` (None: to the end) of input ``item``."""

    item: int
    first: int
    stop: int | None
    weight: int                  # blocks, estimated for an open end (at least 1)


def missing_chunks(item: int, done: set[int], end: InputEnd | None, estimate: int
                   ) -> list[Chunk]:
    """One chunk per run of missing blocks of an input (see the module docstring)."""
    known = end.blocks if end is not None else estimate
    runs: list[list[int]] = []
    for b in range(known):
        if b in done:
            continue
        if runs and runs[-1][1] == b:
            runs[-1][1] = b + 1
        else:
            runs.append([b, b + 1])
    chunks = [Chunk(item, a, z, z - a) for a, z in runs]
    if end is None:  # the end is not known yet: a last, open chunk finds it
        tail = known
        while tail in done:
            tail += 1
        if chunks and chunks[-1].stop == tail:
            last = chunks.pop()
            chunks.append(Chunk(item, last.first, None, last.weight))
        else:
            chunks.append(Chunk(item, tail, None, 1))
    return chunks


def makespan(weights: list[int], workers: int) -> int:
    """When the last worker finishes, the weights handed out largest first."""
    loads = [0] * max(1, workers)
    for w in sorted(weights, reverse=True):
        heapq.heapreplace(loads, loads[0] + w)
    return max(loads)


def balance(chunks: list[Chunk], workers: int) -> list[Chunk]:
    """Halve the largest chunk while the work ends past ``SLACK``; largest first."""
    chunks = list(chunks)
    share = sum(c.weight for c in chunks) / max(1, workers)
    while chunks:
        chunks.sort(key=lambda c: (-c.weight, c.item, c.first))
        big = chunks[0]
        if big.weight < 2 or makespan([c.weight for c in chunks], workers) <= share * (
                1 + SLACK):
            break
        half = big.weight // 2
        mid = big.first + half
        chunks[0:1] = [Chunk(big.item, big.first, mid, half),
                       Chunk(big.item, mid, big.stop, big.weight - half)]
    return chunks
