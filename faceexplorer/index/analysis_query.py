"""Reading stored every-frame analyses back: their inputs, one input's per-frame series.

Live recordings stored in the index (``live_sessions``, ``live_predictions``) are listed
as analyses too, under the id ``live:<session id>``, with their one source (the camera,
video or folder that was live); their frames are those the live mode modelled (a dropped
frame has no row there; a frame modelled without a face has one, ``face_index`` -1).

The window's Analyses tab lists :func:`analysis_list` and, for the input chosen,
shows :func:`input_series`: one value per analysed frame of the input, for the first
face of the frame (face 0, the largest the detector kept; a frame without a face has
none), as arrays a timeline plots directly. Expression probabilities come back as a
labels x frames matrix in the model's label order (the MAP keys), NaN where no face was
found or the prediction was invalid; an AU model's probabilities likewise (``aus``).
What else the index holds about the same input (other analyses, OpenFace, human labels)
is ``index.video_tracks``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from faceexplorer.core.vocab import source_kind
from faceexplorer.index.store import records, table_exists


@dataclass(frozen=True)
class AnalysisInput:
    """One input of a stored analysis."""

    analysis_id: str
    ordinal: int
    source: str
    kind: str                 # 'video' | 'images'
    frames: int
    frames_with_face: int


@dataclass(frozen=True)
class InputSeries:
    """Per-frame results of one input (face 0 of each frame)."""

    source: str
    frames: np.ndarray        # frame numbers, ascending
    seconds: np.ndarray       # timestamp of each frame (NaN: unknown)
    face_found: np.ndarray    # bool
    labels: tuple[str, ...]   # expression labels, model order
    probabilities: np.ndarray  # (labels, frames), NaN without a face
    valence: np.ndarray
    arousal: np.ndarray
    boxes: np.ndarray         # (frames, 4) x, y, w, h; NaN without a face
    files: tuple[str | None, ...]  # image name per frame (image inputs), else None
    aus: tuple[str, ...] = ()      # AU labels of an AU model, model order
    au_probabilities: np.ndarray = field(  # (aus, frames), NaN without a face
        default_factory=lambda: np.empty((0, 0)))

    @property
    def top(self) -> np.ndarray:
        """Index of the most probable label per frame (-1 without a prediction)."""
        probs = np.where(np.isnan(self.probabilities), -1.0, self.probabilities)
        top = probs.argmax(axis=0) if len(self.labels) else np.zeros(len(self.frames), int)
        return np.where(np.isnan(self.probabilities).all(axis=0), -1, top)


LIVE = "live:"


def analysis_list(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Stored analyses and live recordings, newest first, with their inputs' names and
    kinds ('video' | 'images'; none for a camera's live recording)."""
    live = _live_sessions(con)
    for a in live:      # a recording's kind is its source's (a folder counts images)
        kind = live_kind(str(a["sources"][0] or ""))
        a["kinds"] = [kind] if kind != "live" else []
    found = _analyses(con) + live
    return sorted(found, key=lambda a: a["finished_at"] or 0, reverse=True)


def _live_sessions(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    if not table_exists(con, "live_sessions") or not table_exists(con, "live_predictions"):
        return []
    return records(con, """
        SELECT 'live:' || s.session_id AS analysis_id,
               'live: ' || coalesce(s.model_name, s.model_path, '?') AS model,
               coalesce(s.detector, '?') AS detector,
               count(DISTINCT p.frame_index) AS frames,
               count(DISTINCT p.frame_index) FILTER (WHERE p.face_index >= 0)
                   AS frames_with_face,
               count(p.frame_index) AS rows,
               coalesce(s.ended_at, s.started_at) AS finished_at, s.csv_path AS output,
               [s.source] AS sources, []::VARCHAR[] AS kinds
        FROM live_sessions s LEFT JOIN live_predictions p USING (session_id)
        GROUP BY ALL""")


def _analyses(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    if not table_exists(con, "analyses"):
        return []
    return records(con, """
        SELECT a.analysis_id, coalesce(a.model_name, a.model_path) AS model,
               a.detector ->> 'kind' AS detector, a.frames, a.frames_with_face, a.rows,
               a.finished_at, a.output,
               list(s.source ORDER BY s.ordinal) AS sources,
               list(s.kind ORDER BY s.ordinal) AS kinds
        FROM analyses a LEFT JOIN analysis_sources s USING (analysis_id)
        GROUP BY ALL ORDER BY a.finished_at DESC""")


def live_kind(source: str) -> str:
    """What a live recording's stored source is: 'video', 'images' (a folder or an image
    file) or 'live' (a camera, or a file no longer there: its frames cannot be shown).

    Older recordings stored what the live mode showed ("video name.mp4", "image folder
    x"); newer ones the path itself."""
    path = Path(source.removeprefix("video ").removeprefix("image folder "))
    return source_kind(path) or "live"


def analysis_inputs(con: duckdb.DuckDBPyConnection, analysis_id: str) -> list[AnalysisInput]:
    """The inputs of ``analysis_id`` in command-line order."""
    if analysis_id.startswith(LIVE):
        a = next((x for x in _live_sessions(con) if x["analysis_id"] == analysis_id), None)
        if a is None:
            return []
        source = str(a["sources"][0] or "")
        return [AnalysisInput(analysis_id, 0, source, live_kind(source), a["frames"],
                              a["frames"])]
    rows = con.execute("SELECT analysis_id, ordinal, source, kind, frames, frames_with_face "
                       "FROM analysis_sources WHERE analysis_id = ? ORDER BY ordinal",
                       [analysis_id]).fetchall()
    return [AnalysisInput(*r) for r in rows]


def input_series(con: duckdb.DuckDBPyConnection, analysis_id: str,
                 source: str) -> InputSeries:
    """The per-frame series of ``source`` in ``analysis_id`` (face 0 of each frame).

    One query, fetched as numpy columns: each label of the MAPs becomes a column
    (``map_extract``), so no Python loop runs over the frames (it read the GUI thread's
    8,380-frame series in 223 ms, now 48: bench/analysis_tracks.py).
    """
    if analysis_id.startswith(LIVE):
        table, where = "live_predictions", "session_id = ?"
        params = [analysis_id.removeprefix(LIVE)]
        found, file = "bool_or(face_index >= 0)", "NULL::VARCHAR"
    else:
        table, where, params = "analysis_rows", "analysis_id = ? AND source = ?", [
            analysis_id, source]
        found, file = "bool_or(face_found)", "any_value(file)"
    labels = _map_keys(con, table, "expression", where, params)
    aus = _map_keys(con, table, "aus", where, params)
    face0 = "FILTER (WHERE face_index = 0 AND valid)"
    keys = ([f"map_extract(expression, {_literal(k)})[1] AS e{i}"
             for i, k in enumerate(labels)]
            + [f"map_extract(aus, {_literal(k)})[1] AS a{i}" for i, k in enumerate(aus)])
    data = con.execute(f"""
        WITH f AS (
            SELECT frame_index, timestamp_s, {found} AS face_found, {file} AS file,
                   any_value(expression) {face0} AS expression,
                   any_value(valence) {face0} AS valence,
                   any_value(arousal) {face0} AS arousal,
                   any_value([box_x, box_y, box_w, box_h]) FILTER (WHERE face_index = 0)
                       AS box,
                   any_value(aus) {face0} AS aus
            FROM {table} WHERE {where}
            GROUP BY frame_index, timestamp_s)
        SELECT frame_index, timestamp_s, face_found, file, valence, arousal,
               box[1] AS bx, box[2] AS by, box[3] AS bw, box[4] AS bh
               {''.join(', ' + k for k in keys)}
        FROM f ORDER BY frame_index""", params).fetchnumpy()
    n = len(data["frame_index"])

    def column(name: str) -> np.ndarray:
        return np.ma.filled(np.ma.asarray(data[name]).astype(np.float64), np.nan)

    boxes = np.stack([column(c) for c in ("bx", "by", "bw", "bh")], axis=1) if n else \
        np.full((0, 4), np.nan)
    boxes[np.isnan(boxes).any(axis=1)] = np.nan
    probs = np.array([column(f"e{i}") for i in range(len(labels))]).reshape(len(labels), n)
    au_probs = np.array([column(f"a{i}") for i in range(len(aus))]).reshape(len(aus), n)
    files = np.asarray(np.ma.getdata(data["file"]), dtype=object)
    files[np.ma.getmaskarray(data["file"])] = None
    return InputSeries(
        source=source, frames=np.asarray(data["frame_index"], dtype=np.int64),
        seconds=column("timestamp_s"),
        face_found=np.ma.filled(np.ma.asarray(data["face_found"]), False).astype(bool),
        labels=tuple(labels), probabilities=probs, valence=column("valence"),
        arousal=column("arousal"), boxes=boxes, files=tuple(files.tolist()),
        aus=tuple(aus), au_probabilities=au_probs)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _map_keys(con: duckdb.DuckDBPyConnection, table: str, column: str, where: str,
              params: list[Any]) -> list[str]:
    """The labels of a MAP column in the model's order (its fullest row's keys)."""
    row = con.execute(f"SELECT map_keys({column}) FROM {table} WHERE {where} AND "
                      f"{column} IS NOT NULL ORDER BY cardinality({column}) DESC LIMIT 1",
                      params).fetchone()
    return list(row[0]) if row else []


def export_rows(con: duckdb.DuckDBPyConnection, analysis_id: str, path: Path) -> int:
    """Write the analysis's rows to ``path`` (.csv or .parquet) in the command line's
    columns (``expr_<label>``, ``valence``, ``arousal``, ``au_<AU>``, not the index's
    MAPs); returns the row count."""
    path = Path(path)
    fmt = {".csv": "(HEADER, DELIMITER ',')", ".parquet": "(FORMAT PARQUET)"}.get(
        path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: choose a .csv or .parquet file")
    live = analysis_id.startswith(LIVE)
    table, key = ("live_predictions", "session_id") if live else ("analysis_rows",
                                                                   "analysis_id")
    ident = analysis_id.removeprefix(LIVE) if live else analysis_id
    rows = con.execute(f"SELECT count(*) FROM {table} WHERE {key} = ?", [ident]).fetchone()[0]
    literal = str(path).replace("'", "''")
    id_literal = ident.replace("'", "''")
    # the model's outputs as the command line's table has them: expr_<label> in the
    # model's order, valence and arousal when it gives them, au_<AU>
    where = f"{key} = ?"
    labels = _map_keys(con, table, "expression", where, [ident])
    aus = _map_keys(con, table, "aus", where, [ident])
    has_va = con.execute(f"SELECT count(valence), count(arousal) FROM {table} "
                         f"WHERE {where}", [ident]).fetchone()
    outputs = ([f"map_extract(expression, {_literal(k)})[1] AS {_quoted('expr_' + k)}"
                for k in labels]
               + [c for c, n in zip(("valence", "arousal"), has_va, strict=True) if n]
               + [f"map_extract(aus, {_literal(k)})[1] AS {_quoted('au_' + k)}"
                  for k in aus])
    head = ("frame_index, timestamp_s, CASE WHEN face_index >= 0 THEN face_index END "
            "AS face_index, face_index >= 0 AS face_found, box_x, box_y, box_w, box_h, "
            "valid, message" if live else
            "source, file, frame_index, timestamp_s, face_index, face_found, box_x, box_y, "
            "box_w, box_h, detector_score, valid, message")
    columns = head + "".join(", " + c for c in outputs)
    order = "frame_index, face_index" if live else "source, frame_index, face_index"
    con.execute(f"COPY (SELECT {columns} FROM {table} WHERE {key} = '{id_literal}' "
                f"ORDER BY {order}) TO '{literal}' {fmt}")
    return int(rows)
