"""Ready-to-draw arrays of the AU timeline, built with numpy alone (no Qt here).

The AU raster is ONE RGBA image: each AU row is ``SUB`` pixel rows tall (a light separator
row, then four fill rows) and each frame one pixel column, from the child's first to last
labelled frame. A lookup table (code x sub-row -> colour) turns the AU code matrix into the
image with one fancy index, so a 36 x 5,000 raster costs about a millisecond. Codes: 1
(present, both sides) fills the cell in blue; left and right fill it in their own hues;
top and bottom fill only the upper or lower half. Frames between segments (not labelled)
are grey with a diagonal hatch. The ASD flag track is a one-row strip made the same way.
Step curves (rater levels) are x/y arrays, two points per run, with NaN at the gaps.
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: Pixel rows per AU row: one separator, then four fill rows.
SUB: Final[int] = 5
#: Code of a frame column that lies in a gap between segments (not a label value).
GAP: Final[int] = 6

WHITE: Final = (255, 255, 255, 255)
SEPARATOR: Final = (226, 229, 234, 255)
GAP_LIGHT: Final = (212, 212, 212, 255)
GAP_DARK: Final = (168, 168, 168, 255)
#: Fill colour of each present code (1 present, 2 left, 3 right, 4 top, 5 bottom).
CODE_COLOURS: Final[dict[int, tuple[int, int, int, int]]] = {
    1: (31, 84, 160, 255),    # present, both sides: dark blue
    2: (235, 124, 22, 255),   # left: orange
    3: (22, 150, 92, 255),    # right: green
    4: (128, 70, 190, 255),   # top: purple, upper half
    5: (205, 60, 140, 255),   # bottom: magenta, lower half
}
CODE_NAMES: Final[dict[int, str]] = {
    1: "present (both sides)", 2: "left", 3: "right", 4: "top (upper half)",
    5: "bottom (lower half)",
}
ASD_ON: Final = (45, 45, 45, 255)
ASD_OFF: Final = (246, 246, 246, 255)
#: Fill rows (of ``SUB``) each code colours.
_FILLED: Final[dict[int, tuple[int, ...]]] = {1: (1, 2, 3, 4), 2: (1, 2, 3, 4),
                                              3: (1, 2, 3, 4), 4: (1, 2), 5: (3, 4)}
#: Hatch period in pixels; equal to ``SUB`` so the diagonals run on across AU rows.
_PERIOD: Final[int] = SUB


def _lut() -> np.ndarray:
    """(GAP + _PERIOD codes, SUB sub-rows) packed RGBA colours.

    Codes ``GAP + p`` are gap columns of hatch phase ``p`` (column mod ``_PERIOD``), so
    the hatch comes out of the same lookup as the labels: no second pass.
    """
    lut = np.empty((GAP + _PERIOD, SUB, 4), dtype=np.uint8)
    lut[:] = WHITE
    lut[:, 0] = SEPARATOR
    for code, rows in _FILLED.items():
        lut[code, list(rows)] = CODE_COLOURS[code]
    for phase in range(_PERIOD):
        lut[GAP + phase] = GAP_LIGHT
        lut[GAP + phase, [s for s in range(SUB) if (s + phase) % _PERIOD == 0]] = GAP_DARK
    return lut.view(np.uint32)[..., 0]


LUT: Final[np.ndarray] = _lut()


def frame_columns(frames: np.ndarray) -> tuple[int, int, np.ndarray]:
    """(first frame, width, column of each frame) of the dense frame axis."""
    if len(frames) == 0:
        return 0, 0, np.empty(0, dtype=np.intp)
    first = int(frames[0])
    width = int(frames[-1]) - first + 1
    return first, width, (np.asarray(frames) - first).astype(np.intp)


def _dense_codes(codes: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(rows, width) codes on the dense frame axis; gap columns get ``GAP + phase``."""
    _, width, cols = frame_columns(frames)
    n_rows, n = codes.shape
    ext = np.empty((n_rows, n + _PERIOD), dtype=np.uint8)
    ext[:, :n] = np.minimum(codes, GAP - 1)
    ext[:, n:] = GAP + np.arange(_PERIOD, dtype=np.uint8)
    # one gather: labelled columns read their frame, gap columns a phase column
    source = n + np.arange(width) % _PERIOD
    source[cols] = np.arange(n)
    return ext.take(source, axis=1)


def _paint(dense: np.ndarray) -> np.ndarray:
    """RGBA (rows * SUB, width, 4) image of dense codes, via the packed lookup table."""
    n_rows, width = dense.shape
    packed = np.empty((n_rows, SUB, width), dtype=np.uint32)
    for s in range(SUB):
        packed[:, s] = LUT[:, s].take(dense)
    return packed.reshape(n_rows * SUB, width).view(np.uint8).reshape(n_rows * SUB, width, 4)


def au_raster(codes: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The RGBA raster (n_rows * SUB, width, 4) of AU codes (n_rows, n) at sorted ``frames``.

    Column ``c`` is frame ``frames[0] + c``; columns of unlabelled frames are hatched grey.
    """
    return _paint(_dense_codes(np.asarray(codes, dtype=np.uint8), frames))


def flag_strip(flags: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """RGBA strip (SUB, width, 4) of a 0/1 per-frame flag; gap columns hatched."""
    dense = _dense_codes(np.asarray(flags, dtype=np.uint8)[None] != 0, frames)
    image = _paint(dense)
    flag = dense[0] < GAP
    image[:, flag] = np.where((dense[0, flag] == 1)[None, :, None], ASD_ON, ASD_OFF)
    return image


def gap_strip(frames: np.ndarray) -> np.ndarray:
    """RGBA row (1, width, 4): translucent grey in gaps, transparent elsewhere.

    Plain, not hatched: stretched over a whole track a hatch turns into stripes.
    """
    _, width, cols = frame_columns(frames)
    image = np.empty((1, width, 4), dtype=np.uint8)
    image[:] = (*GAP_LIGHT[:3], 150)
    image[0, cols] = 0
    return image


def step_curve(values: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y of a step curve holding ``values[k]`` over frame ``frames[k]`` +- 0.5.

    Two points per run of equal values (not per frame): ratings persist, so the path is
    several times shorter. Runs over gap frames hold NaN, so a curve drawn with
    ``connect="finite"`` breaks there; consecutive runs meet in a vertical step.
    """
    first, width, cols = frame_columns(frames)
    if width == 0:
        return np.empty(0), np.empty(0)
    dense = np.full(width, np.nan)
    dense[cols] = values
    same = (dense[1:] == dense[:-1]) | (np.isnan(dense[1:]) & np.isnan(dense[:-1]))
    starts = np.flatnonzero(np.r_[True, ~same])
    ends = np.r_[starts[1:], width]
    x = np.empty(2 * len(starts))
    x[0::2], x[1::2] = first + starts - 0.5, first + ends - 0.5
    return x, np.repeat(dense[starts], 2)


def boundary_lines(segments: tuple[tuple[int, int], ...], low: float, high: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """x, y pairs (for ``connect="pairs"``) of a vertical line at each segment edge."""
    edges = sorted({e for a, b in segments for e in (a - 0.5, b + 0.5)})
    x = np.repeat(np.asarray(edges, dtype=np.float64), 2)
    y = np.tile([low, high], len(edges)).astype(np.float64)
    return x, y


#: Colour of a frame the model has no prediction for (a gap, or an invalid row).
NO_PREDICTION: Final = (250, 226, 226, 255)


def probability_raster(probabilities: np.ndarray, frames: np.ndarray,
                       threshold: float | None = None) -> np.ndarray:
    """RGBA raster (n_rows * SUB, width, 4) of a model's AU probabilities (n_rows, n).

    Greyscale: white 0, black 1. With ``threshold``, cells at or above it are filled in the
    "present" blue and the rest white, as the coders' rows are. Columns without a
    prediction (NaN, or frames between segments) are pale red. The same row geometry as
    :func:`au_raster` (separator row, then fill rows) keeps both rasters' rows alike.
    """
    p = np.asarray(probabilities, dtype=float)
    first, width, cols = frame_columns(frames)
    n_rows = p.shape[0]
    dense = np.full((n_rows, width), np.nan)
    dense[:, cols] = p
    missing = ~np.isfinite(dense)
    fill = np.empty((n_rows, width, 4), dtype=np.uint8)
    if threshold is None:
        grey = np.rint(255 * (1 - np.clip(np.nan_to_num(dense), 0, 1))).astype(np.uint8)
        fill[..., :3] = grey[..., None]
        fill[..., 3] = 255
    else:
        on = np.nan_to_num(dense, nan=-1.0) >= threshold
        fill[:] = WHITE
        fill[on] = CODE_COLOURS[1]
    fill[missing] = NO_PREDICTION
    image = np.repeat(fill[:, None], SUB, axis=1)
    image[:, 0] = SEPARATOR
    return image.reshape(n_rows * SUB, width, 4)
