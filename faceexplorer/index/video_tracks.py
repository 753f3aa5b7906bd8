"""Everything the index holds about one video, to stack under its frames (no Qt).

An input of a stored analysis (a video file or an image folder) may be described by more
than one source in the index; the Analyses tab stacks them on one frame axis:

* **other analyses of the same input**: every stored analysis with a source of the same
  sha256, or failing that the same path as stored, and every live recording of that path
  (:func:`covering_analyses`), each with its model and detector, newest first;
* **OpenFace**: the ``openface_sources`` row named like the video's stem (``S1.mp4`` ->
  ``S1``) or like the HRM child whose video it is (:func:`openface_series`): the ``_r``
  AU intensities, ``success`` and ``confidence`` of the tracked, most confident face per
  frame. OpenFace numbers frames from 1, a video's frame index (and HRM's) from 0, so
  OpenFace ``frame`` f is frame ``f - 1`` here, as in ``hrm_query``;
* **human labels**: the HRM child whose stored ``video_path`` is this file (or, when the
  video was moved, whose video has its file name and frame count; :func:`hrm_child_of`);
  the labels themselves are ``hrm_query.child_timeline``'s, on the same 0-based frame
  numbers.

Only a video has frame numbers to align on: an image folder (an HRM child's frames folder
too, whose files are numbered by frame but analysed in order) gets its other analyses only.

:func:`input_tracks` reads them all in one call for a worker thread (the window's
``session.read``); the view then only chooses which to draw.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import PurePath

import duckdb
import numpy as np

from faceexplorer.core.vocab import HRM_AU_COLUMNS, OPENFACE_AU_R
from faceexplorer.index import analysis_query as aq
from faceexplorer.index import hrm_query
from faceexplorer.index.store import records, table_exists

#: OpenFace frame = video frame index + this (as ``hrm_query``).
OPENFACE_FRAME_OFFSET = hrm_query.OPENFACE_FRAME_OFFSET


@dataclass(frozen=True)
class CoveringAnalysis:
    """A stored analysis with an input that is the same file as the one shown."""

    analysis_id: str
    model: str
    detector: str            # 'haar' | 'yunet'
    detector_file: str | None
    source: str              # the input as that analysis stored it
    stride: int
    when: str = ""           # when it finished, only to tell same-titled analyses apart

    @property
    def title(self) -> str:
        """``model · detector`` as the timeline labels its rows (``· when`` added when
        another analysis of the input would have the same title)."""
        det = ("Haar" if self.detector == "haar"
               else f"YuNet ({PurePath(self.detector_file).name})" if self.detector_file
               else self.detector)
        every = f" · every {self.stride} frames" if self.stride > 1 else ""
        when = f" · {self.when}" if self.when else ""
        return f"{self.model} · {det}{every}{when}"


@dataclass(frozen=True)
class OpenFaceSeries:
    """One OpenFace source on the video's 0-based frame axis.

    ``intensity[i, k]`` is ``aus[i]``'s ``_r`` value (0..5) at ``frames[k]``; NaN where
    OpenFace lost the face (``success`` 0) or the column was not written.
    """

    source: str
    frames: np.ndarray           # (n,) int64, ascending
    success: np.ndarray          # (n,) bool
    confidence: np.ndarray       # (n,) float64, NaN when missing
    aus: tuple[str, ...]         # OpenFace names, e.g. 'AU01'
    intensity: np.ndarray        # (len(aus), n) float64


@dataclass(frozen=True)
class InputTracks:
    """What the index holds about one input, beside the analysis it was opened from."""

    source: str
    analyses: tuple[CoveringAnalysis, ...]     # the opened one first
    series: dict[str, aq.InputSeries]          # the others' series of this input, by id
    openface: OpenFaceSeries | None
    child: str | None                          # HRM child whose video this is
    human: hrm_query.Timeline | None           # that child's labels


def _detector(raw: object) -> tuple[str, str | None]:
    import json

    d = json.loads(raw) if isinstance(raw, str) else (raw or {})
    return str(d.get("kind") or "?"), d.get("path")


def covering_analyses(con: duckdb.DuckDBPyConnection, analysis_id: str,
                      source: str) -> list[CoveringAnalysis]:
    """Stored analyses with an input that is the same file as ``source`` of
    ``analysis_id`` (same sha256, or the same path), and live recordings of that path:
    that one first, then newest first."""
    rows: list[dict] = []
    if table_exists(con, "analyses"):
        rows = records(con, """
            WITH me AS (SELECT source_sha256 FROM analysis_sources  -- a live one has none
                        WHERE source = ? ORDER BY analysis_id <> ? LIMIT 1),
            hits AS (SELECT analysis_id, min(source) AS source FROM analysis_sources
                     WHERE source = ? OR source_sha256 = (SELECT source_sha256 FROM me)
                     GROUP BY analysis_id)
            SELECT a.analysis_id, coalesce(a.model_name, a.model_path) AS model,
                   a.detector::VARCHAR AS detector,
                   coalesce(try_cast(a.settings -> 'frames' ->> 'stride' AS INTEGER), 1)
                       AS stride,
                   a.finished_at, h.source
            FROM analyses a JOIN hits h USING (analysis_id)""",
                       [source, analysis_id, source])
    live = [] if not table_exists(con, "live_sessions") else records(con, """
        SELECT 'live:' || session_id AS analysis_id,
               'live: ' || coalesce(model_name, model_path, '?') AS model,
               coalesce(detector, '?') AS detector, 1 AS stride,
               coalesce(ended_at, started_at) AS finished_at, source
        FROM live_sessions WHERE source = ? OR source = ?""",
        [source, source.removeprefix("video ")])
    rows = sorted(rows + live, key=lambda r: (
        r["analysis_id"] != analysis_id,
        -r["finished_at"].timestamp() if r["finished_at"] is not None else 0.0))
    found = []
    for r in rows:
        kind, path = ((r["detector"], None) if r["analysis_id"].startswith(aq.LIVE)
                      else _detector(r["detector"]))
        found.append(CoveringAnalysis(r["analysis_id"], r["model"], kind, path, r["source"],
                                      max(int(r["stride"] or 1), 1)))
    return _told_apart(found, [r["finished_at"] for r in rows])


def _told_apart(found: list[CoveringAnalysis], finished: list) -> list[CoveringAnalysis]:
    """Analyses whose titles are equal (one model run twice over the video, from the
    window and the command line) get when they finished (to the minute, else to the
    second, else with their id), so the rows and the track list name them apart."""
    titles = Counter(c.title for c in found)
    out = []
    for c, at in zip(found, finished, strict=True):
        if titles[c.title] > 1:
            stamps = [a for f, a in zip(found, finished, strict=True) if f.title == c.title]
            when = f"{at:%Y-%m-%d %H:%M:%S} ({c.analysis_id[:8]})" if at else c.analysis_id
            for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
                if None not in stamps and len({f"{a:{fmt}}" for a in stamps}) == len(stamps):
                    when = f"{at:{fmt}}"
                    break
            c = replace(c, when=when)
        out.append(c)
    return out


def hrm_child_of(con: duckdb.DuckDBPyConnection, source: str,
                 frames: int | None = None) -> str | None:
    """The HRM child whose video is ``source``: its stored path, else its file name.

    A match by file name alone (the video was moved or copied) also needs the same
    number of frames when both are known (``frames``: the video's, as analysed), so that
    a user's own ``S1.mp4`` does not get a child's labels.
    """
    if not hrm_query.has_hrm(con):
        return None
    name = PurePath(source).name
    row = con.execute("""
        SELECT child FROM hrm_children
        WHERE video_path = ? OR (video_path IS NOT NULL AND
              regexp_extract(replace(video_path, '\\', '/'), '[^/]*$') = ? AND
              (? IS NULL OR coalesce(video_frames, 0) = 0 OR video_frames = ?))
        ORDER BY video_path <> ?, child LIMIT 1""",
                      [source, name, frames, frames, source]).fetchone()
    return str(row[0]) if row else None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def openface_series(con: duckdb.DuckDBPyConnection, source: str,
                    child: str | None = None) -> OpenFaceSeries | None:
    """The OpenFace source named like ``source``'s stem (or ``child``); None if none."""
    if not table_exists(con, "openface_sources"):
        return None
    names = [PurePath(source).stem] + ([child] if child else [])
    found = con.execute("SELECT source, columns_missing FROM openface_sources "
                        "WHERE source IN (SELECT unnest(?::VARCHAR[])) "
                        "ORDER BY source <> ? LIMIT 1", [names, names[0]]).fetchone()
    if found is None:
        return None
    name, missing = found[0], set(found[1] or ())
    aus = [au for au in OPENFACE_AU_R if f"{au}_r" not in missing]
    cols = "".join(f", {_q(au + '_r')}" for au in aus)
    data = con.execute(f"""
        SELECT frame - {OPENFACE_FRAME_OFFSET} AS frame, success, confidence{cols}
        FROM openface_frames WHERE source = ?
        QUALIFY row_number() OVER (PARTITION BY frame ORDER BY success DESC,
                                   confidence DESC NULLS LAST, face_id) = 1
        ORDER BY frame""", [name]).fetchnumpy()

    def floats(col: str) -> np.ndarray:
        return np.ma.filled(np.ma.asarray(data[col]).astype(np.float64), np.nan)

    success = np.ma.filled(np.ma.asarray(data["success"]), 0) == 1
    intensity = np.empty((len(aus), len(success)), dtype=np.float64)
    for i, au in enumerate(aus):
        intensity[i] = floats(au + "_r")
    intensity[:, ~success] = np.nan
    return OpenFaceSeries(source=name, frames=np.asarray(data["frame"], dtype=np.int64),
                          success=success, confidence=floats("confidence"),
                          aus=tuple(aus), intensity=intensity)


def input_tracks(con: duckdb.DuckDBPyConnection, analysis_id: str,
                 source: str) -> InputTracks:
    """Every analysis, OpenFace source and HRM child's labels of ``source`` (see above)."""
    covering = covering_analyses(con, analysis_id, source)
    # the opened analysis's own series the caller has read already (the tab reads it first)
    series = {c.analysis_id: aq.input_series(con, c.analysis_id, c.source)
              for c in covering[1:]}
    path = source
    if analysis_id.startswith(aq.LIVE):     # 'video face.avi' names a file only sometimes
        path = source.removeprefix("video ")
    known = con.execute("SELECT max(frames_in_source), bool_and(kind = 'video') "
                        "FROM analysis_sources WHERE source = ?", [source]
                        ).fetchone() if table_exists(con, "analysis_sources") else None
    if known is not None and known[1] is False:
        # an image folder's frames are its files in order, not video frame numbers: an
        # HRM child's frames folder would sit shifted under OpenFace's and the labels
        return InputTracks(source, tuple(covering), series, None, None, None)
    child = hrm_child_of(con, path, known[0] if known else None)
    human = (hrm_query.child_timeline(con, child, HRM_AU_COLUMNS, openface=False)
             if child is not None else None)
    return InputTracks(source=source, analyses=tuple(covering), series=series,
                       openface=openface_series(con, path, child), child=child, human=human)

