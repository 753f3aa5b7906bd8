"""Depth statistics per expression: mean depth image, per-pixel variance and mean profiles.

Picks each class's maps from the index, reads them (:mod:`faceexplorer.media.depth`) and
hands them to the pure statistics of :mod:`faceexplorer.stats.depth_stats` (common grid,
mean, variance, profiles). Reading 87k maps would take minutes, so a fixed-seed sample of
at most ``n_per_class`` maps per class is used and the N actually used is stated with
every result.
"""

from __future__ import annotations

import duckdb
import numpy as np

from faceexplorer.core.vocab import DEPTH_CLASSES
from faceexplorer.media.depth import read_depth
from faceexplorer.media.images import MissingImage
from faceexplorer.stats.depth_stats import GRID, ClassDepthStats, grid_stats, to_grid

#: Default maps sampled per class, and the seed that picks them.
N_PER_CLASS = 60
SEED = 0


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
    return grid_stats(grids, cls, available, len(paths) - len(grids), size)


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
