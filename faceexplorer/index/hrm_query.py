"""Typed queries behind the Hugging Rain Man navigator and AU timeline (no Qt).

Three kinds of answer:

* the children overview (per child: group, frame and segment counts, media) and segment
  lists, as frozen dataclasses, for the navigator's tree and tables;
* a segment search across every child (group, AU present, atypicality at least x, length
  range) in one SQL statement over ``hrm_frames`` grouped by segment; values are bound
  parameters and AU names come only from ``vocab.HRM_AU_COLUMNS``;
* a child's :class:`Timeline`: numpy arrays from ONE ``fetchnumpy`` query (sorted frames,
  an AUs x frames uint8 code matrix, segment ids, 5 x frames rater levels, their mean, the
  ASD flag), plus the child's OpenFace ``_r`` curves mapped to HRM AU names when an
  OpenFace source carries the child's id.

Atypicality is the mean of the five raters' levels recomputed from their columns (as
``faceexplorer.reports.hrm_stats`` does): the file's own average column is rounded to two
decimals and may be missing. Means over frames are computed exactly (integer sums, one
division), so SQL and numpy (:func:`timeline_segments`) give the same bits. OpenFace
numbers video frames from 1, HRM from 0, so OpenFace ``frame`` f is HRM frame ``f - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import duckdb
import numpy as np

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import HRM_AU_COLUMNS, HRM_RATERS, OPENFACE_AU_R, OPENFACE_TO_HRM
from faceexplorer.index.store import table_exists

#: Group names in the navigator's order; children without a group come last as "".
GROUPS: Final[tuple[str, ...]] = ("ASD", "TD")
#: OpenFace frame = HRM frame + this (the same alignment as the statistics use).
OPENFACE_FRAME_OFFSET: Final[int] = 1
#: OpenFace ``_r`` columns that have an HRM counterpart, as (OpenFace AU, HRM column).
OPENFACE_CURVES: Final[tuple[tuple[str, str], ...]] = tuple(
    (of, hrm) for of, hrm in OPENFACE_TO_HRM.items() if of in OPENFACE_AU_R)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_LEVELS = "(" + " + ".join(_q(r) for r in HRM_RATERS) + ")"
#: Mean atypicality of a group of frames (those rated by all five), exactly: the integer
#: level sums add without rounding and are divided once, so the navigator's segment rows
#: made from a loaded timeline (:func:`timeline_segments`) are the same to the last bit.
#: ``avg`` of per-frame means would add rounded terms (0.12500000000000003 for 1/8).
_MEAN_ATYPICALITY = f"sum({_LEVELS})::DOUBLE / ({len(HRM_RATERS)} * count({_LEVELS}))"


@dataclass(frozen=True)
class ChildRow:
    """One child in the overview; ``grp`` is ``""`` when the import found no group."""

    child: str
    grp: str
    n_frames: int
    n_segments: int
    first_frame: int | None
    last_frame: int | None
    has_ratings: bool
    mean_atypicality: float | None
    frames_dir: str | None
    video_path: str | None
    video_frames: int | None
    frames_beyond_video: int | None


@dataclass(frozen=True)
class SegmentRow:
    """One labelled segment (a run of consecutive frames) of one child."""

    child: str
    grp: str
    segment: int
    start_frame: int
    end_frame: int
    n_frames: int
    mean_atypicality: float | None


@dataclass(frozen=True)
class SegmentFilter:
    """Conditions of the segment search; unset fields do not narrow (they AND together).

    ``aus``: the segment shows at least one of these AUs (any code but 0) in some frame.
    ``min_atypicality``: its mean atypicality (0..4) is at least this; segments without
    ratings then drop out. ``min_length``/``max_length``: frames, inclusive.
    """

    groups: tuple[str, ...] = ()
    aus: tuple[str, ...] = ()
    min_atypicality: float | None = None
    min_length: int | None = None
    max_length: int | None = None


def has_hrm(con: duckdb.DuckDBPyConnection | None) -> bool:
    """Whether the index holds Hugging Rain Man tables."""
    return con is not None and table_exists(con, "hrm_frames") and table_exists(
        con, "hrm_children")


def _require_hrm(con: duckdb.DuckDBPyConnection) -> None:
    if not has_hrm(con):
        raise FaceExplorerError("no Hugging Rain Man data in the index; import it first: "
                                "faceexplorer index add hrm PATH")


def children_overview(con: duckdb.DuckDBPyConnection) -> list[ChildRow]:
    """Every child, ASD first, then TD, then ungrouped; by child number within a group.

    Returns
    -------
    list of ChildRow
        Counts as the import stored them, plus the child's mean atypicality.
    """
    _require_hrm(con)
    rows = con.execute(f"""
        SELECT c.child, coalesce(c.grp, ''), c.n_frames, c.n_segments, c.first_frame,
               c.last_frame, c.has_ratings, a.atyp, c.frames_dir, c.video_path,
               c.video_frames, c.frames_beyond_video
        FROM hrm_children c LEFT JOIN (
            SELECT child, {_MEAN_ATYPICALITY} AS atyp FROM hrm_frames GROUP BY child
        ) a ON a.child = c.child
        ORDER BY CASE coalesce(c.grp, '') WHEN 'ASD' THEN 0 WHEN 'TD' THEN 1 ELSE 2 END,
                 length(c.child), c.child""").fetchall()
    return [ChildRow(*r) for r in rows]


def _segment_query(where: str = "", having: str = "", au_cols: Sequence[str] = ()) -> str:
    present = "".join(f", bool_or(f.{_q(a)} <> 0) AS {_q('has_' + a)}" for a in au_cols)
    return f"""
        SELECT * FROM (
            SELECT s.child, coalesce(c.grp, '') AS grp, s.segment, s.start_frame,
                   s.end_frame, s.n_frames, {_MEAN_ATYPICALITY} AS atyp
            {present}
            FROM hrm_segments s JOIN hrm_children c ON c.child = s.child
            JOIN hrm_frames f ON f.child = s.child AND f.segment = s.segment
            {where}
            GROUP BY ALL
            {having})
        ORDER BY CASE grp WHEN 'ASD' THEN 0 WHEN 'TD' THEN 1 ELSE 2 END,
                 length(child), child, segment"""


def _segments(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[SegmentRow]:
    rows = con.execute(sql, params).fetchall()
    return [SegmentRow(*r[:7]) for r in rows]


def child_segments(con: duckdb.DuckDBPyConnection, child: str) -> list[SegmentRow]:
    """The segments of ``child`` in frame order, with their mean atypicality."""
    _require_hrm(con)
    return _segments(con, _segment_query("WHERE s.child = ?"), [child])


def timeline_segments(tl: Timeline) -> list[SegmentRow]:
    """The segments of ``tl``'s child, as :func:`child_segments` lists them, without a query.

    Made from the arrays the timeline already holds, so a child opened in the HRM tab is
    read once for the navigator, the timeline and the frame viewer. The mean atypicality
    is the mean, over the segment's frames rated by all five raters, of their mean level:
    integer level sums added exactly and divided once, so it equals SQL's ``avg`` up to
    the last bit (SQL adds rounded per-frame means).
    """
    n = len(tl.frames)
    if n == 0:
        return []
    starts = np.flatnonzero(np.r_[True, tl.segment[1:] != tl.segment[:-1]])
    lengths = np.diff(np.r_[starts, n])
    rated = np.isfinite(tl.raters).all(axis=0)
    level_sum = np.where(rated, np.nan_to_num(tl.raters).sum(axis=0), 0.0)
    sums = np.add.reduceat(level_sum, starts)
    counts = np.add.reduceat(rated.astype(np.int64), starts)
    return [SegmentRow(tl.child, tl.grp, int(tl.segment[a]), int(tl.frames[a]),
                       int(tl.frames[a + m - 1]), int(m),
                       float(total / (len(HRM_RATERS) * k)) if k else None)
            for a, m, total, k in zip(starts, lengths, sums, counts, strict=True)]


def search_segments(con: duckdb.DuckDBPyConnection,
                    flt: SegmentFilter = SegmentFilter()) -> list[SegmentRow]:
    """Segments of every child that meet ``flt``, ASD children first.

    Raises
    ------
    FaceExplorerError
        An AU name that is not an HRM column.
    """
    _require_hrm(con)
    unknown = [a for a in flt.aus if a not in HRM_AU_COLUMNS]
    if unknown:
        raise FaceExplorerError(f"unknown AU {', '.join(unknown)} (expected HRM columns such "
                                f"as {', '.join(HRM_AU_COLUMNS[:4])}, ...)")
    where, params = [], []
    if flt.groups:
        where.append("coalesce(c.grp, '') IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(flt.groups))
    if flt.min_length is not None:
        where.append("s.n_frames >= ?")
        params.append(int(flt.min_length))
    if flt.max_length is not None:
        where.append("s.n_frames <= ?")
        params.append(int(flt.max_length))
    having = []
    if flt.aus:
        having.append("(" + " OR ".join(_q("has_" + a) for a in flt.aus) + ")")
    if flt.min_atypicality is not None:
        having.append("atyp >= ?")
        params.append(float(flt.min_atypicality))
    sql = _segment_query("WHERE " + " AND ".join(where) if where else "",
                         "HAVING " + " AND ".join(having) if having else "", flt.aus)
    return _segments(con, sql, params)


def count_segments(con: duckdb.DuckDBPyConnection) -> int:
    """All segments in the index (the search's denominator)."""
    _require_hrm(con)
    row = con.execute("SELECT count(*) FROM hrm_segments").fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class OpenFaceCurves:
    """A child's OpenFace AU intensities on the HRM frame axis.

    ``intensity[i, k]`` is AU ``hrm_aus[i]`` (OpenFace ``openface_aus[i]``) at HRM frame
    ``frames[k]``; NaN where OpenFace lost the face (``success`` 0) or left the column out.
    """

    source: str
    frames: np.ndarray           # (n,) int32, sorted
    openface_aus: tuple[str, ...]
    hrm_aus: tuple[str, ...]
    intensity: np.ndarray        # (n_aus, n) float64, 0..5


@dataclass(frozen=True)
class Timeline:
    """Everything the AU timeline draws for one child, as ready numpy arrays.

    Column ``k`` of every matrix is frame ``frames[k]``; frames are sorted and unique.
    ``au`` rows follow ``aus`` (codes 0 absent, 1 present, 2 left, 3 right, 4 top,
    5 bottom). ``raters`` rows follow ``vocab.HRM_RATERS`` (NaN when the child has no
    ratings); ``rating_mean`` is their mean.
    """

    child: str
    grp: str
    aus: tuple[str, ...]
    frames: np.ndarray           # (n,) int32
    au: np.ndarray               # (n_aus, n) uint8
    segment: np.ndarray          # (n,) int32, 1-based
    raters: np.ndarray           # (5, n) float64
    rating_mean: np.ndarray      # (n,) float64
    asd: np.ndarray              # (n,) uint8
    segments: tuple[tuple[int, int], ...]   # (start_frame, end_frame) per segment
    video_frames: int | None
    video_path: str | None
    frames_dir: str | None
    openface: OpenFaceCurves | None

    @property
    def first_frame(self) -> int:
        return int(self.frames[0]) if len(self.frames) else 0

    @property
    def last_frame(self) -> int:
        return int(self.frames[-1]) if len(self.frames) else 0

    @property
    def beyond_video(self) -> int:
        """Labelled frames at or past the video's end (0 without a video length)."""
        if not self.video_frames:
            return 0
        return int(np.count_nonzero(self.frames >= self.video_frames))

    def rows(self, aus: Sequence[str]) -> np.ndarray:
        """The code matrix restricted to ``aus``, in that order."""
        where = {a: i for i, a in enumerate(self.aus)}
        return self.au[[where[a] for a in aus]]

    def segment_of(self, frame: int) -> int | None:
        """The segment holding ``frame``, or None for a frame outside every segment."""
        k = int(np.searchsorted(self.frames, frame))
        return int(self.segment[k]) if k < len(self.frames) and self.frames[k] == frame else None


def child_timeline(con: duckdb.DuckDBPyConnection, child: str,
                   aus: Sequence[str] = HRM_AU_COLUMNS, openface: bool = True) -> Timeline:
    """The timeline arrays of ``child`` from one query over ``hrm_frames``.

    Parameters
    ----------
    con
        The index.
    child
        HRM child id, e.g. ``"S1"``.
    aus
        AU/AD columns to load, in row order (default all 36).
    openface
        Also load the child's OpenFace curves when an OpenFace source has its id.

    Raises
    ------
    FaceExplorerError
        No HRM data, an unknown child or an unknown AU name.
    """
    unknown = [a for a in aus if a not in HRM_AU_COLUMNS]
    if unknown:
        raise FaceExplorerError(f"unknown AU {', '.join(unknown)}")
    # Asking the catalogue first (table_exists) costs more than this whole query.
    try:
        info = con.execute("SELECT coalesce(grp, ''), video_frames, video_path, frames_dir "
                           "FROM hrm_children WHERE child = ?", [child]).fetchone()
    except duckdb.CatalogException:
        _require_hrm(con)
        raise
    if info is None:
        raise FaceExplorerError(f"child {child!r} is not in the index's HRM data")
    cols = ", ".join(_q(a) for a in (*aus, *HRM_RATERS))
    # No ORDER BY: the import writes a child's rows in frame order, and a sort operator
    # over 40-odd columns costs ~15% of the query; rows out of order are sorted below.
    data = con.execute(f"SELECT frame, segment, asd, {cols} FROM hrm_frames WHERE child = ?",
                       [child]).fetchnumpy()
    n = len(data["frame"])
    frames = np.asarray(data["frame"], dtype=np.int32)
    order = (slice(None) if n < 2 or bool((frames[1:] > frames[:-1]).all())
             else np.argsort(frames, kind="stable"))
    frames = frames[order]
    segment = np.asarray(data["segment"], dtype=np.int32)[order]
    au = np.empty((len(aus), n), dtype=np.uint8)
    for i, a in enumerate(aus):
        au[i] = np.asarray(data[a])[order]
    raters = np.empty((len(HRM_RATERS), n), dtype=np.float64)
    for i, r in enumerate(HRM_RATERS):
        # fetchnumpy gives masked arrays for nullable columns: NULL -> NaN
        raters[i] = np.ma.filled(np.ma.asarray(data[r]).astype(np.float64), np.nan)[order]
    rating_mean = raters.mean(axis=0) if n else np.empty(0)
    # segment boundaries from the sorted frames: a new segment starts at every id change
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]]) if n else np.empty(0, int)
    ends = np.r_[starts[1:] - 1, n - 1] if n else np.empty(0, int)
    segments = tuple((int(frames[a]), int(frames[b])) for a, b in zip(starts, ends, strict=True))
    curves = openface_curves(con, child) if openface else None
    return Timeline(child=child, grp=info[0], aus=tuple(aus), frames=frames, au=au,
                    segment=segment, raters=raters, rating_mean=rating_mean,
                    asd=np.asarray(data["asd"], dtype=np.uint8)[order], segments=segments,
                    video_frames=info[1], video_path=info[2], frames_dir=info[3],
                    openface=curves)


def openface_curves(con: duckdb.DuckDBPyConnection, child: str) -> OpenFaceCurves | None:
    """OpenFace ``_r`` intensities of the source named ``child``, on HRM frame numbers.

    Several faces in one frame (FaceLandmarkVidMulti): the tracked, most confident one.
    Returns None when no OpenFace source has the child's id.
    """
    try:
        found = con.execute("SELECT columns_missing FROM openface_sources WHERE source = ?",
                            [child]).fetchone()
    except duckdb.CatalogException:  # OpenFace never imported
        return None
    if found is None:
        return None
    missing = set(found[0] or ())
    pairs = [(of, hrm) for of, hrm in OPENFACE_CURVES if f"{of}_r" not in missing]
    cols = "".join(f", {_q(of + '_r')}" for of, _ in pairs)
    data = con.execute(f"""
        SELECT frame - {OPENFACE_FRAME_OFFSET} AS frame, success{cols}
        FROM openface_frames WHERE source = ?
        QUALIFY row_number() OVER (PARTITION BY frame ORDER BY success DESC,
                                   confidence DESC NULLS LAST, face_id) = 1
        ORDER BY frame""", [child]).fetchnumpy()
    frames = np.asarray(data["frame"], dtype=np.int32)
    lost = np.ma.filled(np.ma.asarray(data["success"]), 0) != 1
    intensity = np.empty((len(pairs), len(frames)), dtype=np.float64)
    for i, (of, _) in enumerate(pairs):
        intensity[i] = np.ma.filled(np.ma.asarray(data[of + "_r"]).astype(np.float64), np.nan)
    intensity[:, lost] = np.nan
    return OpenFaceCurves(source=child, frames=frames,
                          openface_aus=tuple(of for of, _ in pairs),
                          hrm_aus=tuple(h for _, h in pairs), intensity=intensity)
