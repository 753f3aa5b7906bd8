"""Depth statistics per expression on a common grid: mean image, variance and profiles.

Pure numpy (and OpenCV's resize) on depth maps already read: to see what depth adds to
an expression, each map is padded to a square around its centre (aspect kept, never
stretched) and resized to ``size`` x ``size`` by area averaging (:func:`to_grid`); a
class's grids give the mean image, the per-pixel variance (ddof 0) and the vertical (per
row) and horizontal (per column) mean profiles (:func:`grid_stats`). Which maps are
sampled and read is :mod:`faceexplorer.reports.depth_stats`'.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

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


def grid_stats(grids: list[np.ndarray], cls: str, available: int, unreadable: int,
               size: int = GRID) -> ClassDepthStats:
    """Mean image, variance and profiles of one class's ``grids`` (each ``size`` x ``size``).

    ``available`` (maps of the class in the index) and ``unreadable`` (sampled maps that
    could not be read) are carried along so every result states the N behind it.
    """
    if not grids:
        empty = np.full((size, size), np.nan, np.float32)
        return ClassDepthStats(cls, 0, available, unreadable, empty, empty,
                               empty[:, 0].copy(), empty[0].copy())
    stack = np.stack(grids)
    mean = stack.mean(axis=0, dtype=np.float64).astype(np.float32)
    var = stack.var(axis=0, dtype=np.float64).astype(np.float32)
    return ClassDepthStats(cls, len(grids), available, unreadable, mean, var,
                           mean.mean(axis=1), mean.mean(axis=0))
