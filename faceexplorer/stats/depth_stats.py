"""Depth statistics per expression: mean depth image, per-pixel variance and mean profiles.

To see what depth adds to an expression, each class's maps are brought to one grid:
padded to a square around their centre (aspect kept, never stretched) and resized to
``size`` x ``size`` by area averaging. The mean image, the per-pixel variance (ddof 0)
and the vertical (per row) and horizontal (per column) mean profiles follow. Reading
87k maps would take minutes, so a fixed-seed sample of at most ``n_per_class`` maps per
class is used and the N actually used is stated with every result.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import duckdb
import numpy as np

from faceexplorer.core.vocab import DEPTH_CLASSES
from faceexplorer.media.depth import read_depth
from faceexplorer.media.images import MissingImage

#: Default maps sampled per class, and the seed that picks them.
N_PER_CLASS = 60
SEED = 0
GRID = 64


@dataclass(frozen=True)
class ClassDepthStats:
    """One expression's statistics over ``n`` sampled maps (of ``available``)."""

    cls: str
    n: int
    available: int
    unreadable: int
    mean: np.ndarray        # (GRID, GRID) float32, depth in [0, 1]
    variance: np.ndarray    # (GRID, GRID) float32, per pixel, ddof 0
    vertical: np.ndarray    # (GRID,) mean per row (top to bottom)
    horizontal: np.ndarray  # (GRID,) mean per column (left to right)

    @property
    def mean_depth(self) -> float:
        """Mean depth over the grid (background included, as drawn)."""
        return float(self.mean.mean()) if self.n else float("nan")


def to_grid(depth: np.ndarray, size: int = GRID) -> np.ndarray:
    """A depth map padded to a centred square (zeros) and area-resized to size x size."""
    h, w = depth.shape
    side = max(h, w)
    square = np.zeros((side, side), np.float32)
    y0, x0 = (side - h) // 2, (side - w) // 2
    square[y0:y0 + h, x0:x0 + w] = depth
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interp)


def sample_paths(con: duckdb.DuckDBPyConnection, dataset: str, cls: str,
                 n: int = N_PER_CLASS, seed: int = SEED) -> tuple[list[str], int]:
    """At most ``n`` depth-map paths of one class, picked with ``seed``; and how many exist."""
    paths = [p for (p,) in con.execute(
        "SELECT path FROM depth_maps WHERE dataset = ? AND class = ? ORDER BY stem",
        [dataset, cls]).fetchall()]
    if len(paths) <= n:
        return paths, len(paths)
    picks = np.sort(np.random.default_rng(seed).choice(len(paths), n, replace=False))
    return [paths[i] for i in picks.tolist()], len(paths)


def class_stats(paths: list[str], cls: str, available: int,
                size: int = GRID) -> ClassDepthStats:
    """Mean image, variance and profiles of the readable maps among ``paths``."""
    grids = []
    for path in paths:
        depth = read_depth(path)
        if not isinstance(depth, MissingImage):
            grids.append(to_grid(depth, size))
    unreadable = len(paths) - len(grids)
    if not grids:
        empty = np.full((size, size), np.nan, np.float32)
        return ClassDepthStats(cls, 0, available, unreadable, empty, empty,
                               empty[:, 0].copy(), empty[0].copy())
    stack = np.stack(grids)
    mean = stack.mean(axis=0, dtype=np.float64).astype(np.float32)
    var = stack.var(axis=0, dtype=np.float64).astype(np.float32)
    return ClassDepthStats(cls, len(grids), available, unreadable, mean, var,
                           mean.mean(axis=1), mean.mean(axis=0))


def depth_stats(con: duckdb.DuckDBPyConnection, dataset: str, n_per_class: int = N_PER_CLASS,
                seed: int = SEED, size: int = GRID) -> dict[str, ClassDepthStats]:
    """Per expression (``DEPTH_CLASSES`` order) statistics of a fixed-seed sample.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An index holding ``depth_maps``.
    dataset : {"affectnet-d", "rafd-d"}
    n_per_class : int
        Most maps read per class; each result states the N used.
    seed : int
        Picks the sample: the same seed gives the same figures.
    size : int
        Side of the common grid.
    """
    return {cls: class_stats(*_sample(con, dataset, cls, n_per_class, seed), size=size)
            for cls in DEPTH_CLASSES}


def _sample(con: duckdb.DuckDBPyConnection, dataset: str, cls: str, n: int,
            seed: int) -> tuple[list[str], str, int]:
    paths, available = sample_paths(con, dataset, cls, n, seed)
    return paths, cls, available
