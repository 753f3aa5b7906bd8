"""Every-frame analyses stored in the index, so the window can show them beside the video.

An analysis is one model (sha256 and card) with one detector setting over some inputs
(video files, image folders, images, each with its own sha256) with one frame range and
stride; its ``analysis_id`` hashes all of that, so storing the same analysis again
replaces it instead of adding a copy. Three tables::

    analyses          one row per analysis: model, card, detector, settings, output file
    analysis_sources  one row per input: path, sha256, kind, frames, frames with a face
    analysis_rows     the table itself: one row per face per frame (and per faceless
                      frame), expression and AU probabilities as MAPs as in
                      ``live_predictions`` (their labels differ between models)

The rows are read straight from the analysis's Parquet parts by DuckDB and written in
one transaction with the analysis and its sources, so a failure leaves the index as it
was. This module imports nothing of ``inference``: callers hand it plain values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from faceexplorer.index.store import transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS analyses (
    analysis_id      VARCHAR PRIMARY KEY,  -- hash of model, detector, settings, sources
    model_path       VARCHAR NOT NULL,
    model_name       VARCHAR,
    model_sha256     VARCHAR NOT NULL,
    card             JSON NOT NULL,
    detector         JSON NOT NULL,        -- kind, and YuNet's file and sha256
    settings         JSON NOT NULL,        -- frame range, stride, batch
    output           VARCHAR,              -- the .csv / .parquet written
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP NOT NULL,
    frames           BIGINT NOT NULL,
    frames_with_face BIGINT NOT NULL,
    rows             BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS analysis_sources (
    analysis_id      VARCHAR NOT NULL,
    ordinal          INTEGER NOT NULL,     -- order on the command line
    source           VARCHAR NOT NULL,     -- path as analysed (absolute)
    source_sha256    VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,     -- 'video' | 'images'
    frames           BIGINT NOT NULL,      -- analysed
    frames_with_face BIGINT NOT NULL,
    frames_in_source BIGINT,               -- real count when the end was reached
    end_reason       VARCHAR,
    PRIMARY KEY (analysis_id, ordinal)
);
CREATE TABLE IF NOT EXISTS analysis_rows (
    analysis_id VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    file        VARCHAR,                   -- image name (image inputs)
    frame_index BIGINT NOT NULL,
    timestamp_s DOUBLE,
    face_index  INTEGER,                   -- NULL: no face in this frame
    face_found  BOOLEAN NOT NULL,
    box_x DOUBLE, box_y DOUBLE, box_w DOUBLE, box_h DOUBLE,
    detector_score DOUBLE,
    valid       BOOLEAN NOT NULL,
    message     VARCHAR,
    expression  MAP(VARCHAR, DOUBLE),
    valence     DOUBLE,
    arousal     DOUBLE,
    aus         MAP(VARCHAR, DOUBLE)
);
"""


@dataclass(frozen=True)
class AnalysisSource:
    """One input of an analysis, as stored."""

    source: str
    source_sha256: str
    kind: str
    frames: int
    frames_with_face: int
    frames_in_source: int | None
    end_reason: str


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the three tables if absent (read-write connection)."""
    con.execute(SCHEMA)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _map(prefix: str, columns: Sequence[str]) -> str:
    """A MAP of the non-NULL ``prefix`` columns, keyed by label; NULL when there are none."""
    cols = [c for c in columns if c.startswith(prefix)]
    if not cols:
        return "NULL::MAP(VARCHAR, DOUBLE)"
    entries = ", ".join("{'k': '" + c[len(prefix):].replace("'", "''") + f"', 'v': \"{c}\"}}"
                        for c in cols)
    return (f"CASE WHEN face_found AND valid THEN map_from_entries(list_filter([{entries}], "
            "lambda e: e.v IS NOT NULL)) END")


def store_analysis(con: duckdb.DuckDBPyConnection, analysis_id: str, meta: dict[str, Any],
                   sources: Sequence[AnalysisSource], parts: Sequence[Path],
                   columns: Sequence[str]) -> int:
    """Store (or replace) an analysis with its rows, in one transaction; returns the rows.

    Parameters
    ----------
    con : duckdb connection
        Read-write.
    analysis_id : str
        Its key (see the module docstring).
    meta : dict
        ``model_path``, ``model_name``, ``model_sha256``, ``card``, ``detector``,
        ``settings``, ``output``, ``started_at`` (datetime or None).
    sources : sequence of AnalysisSource
        In command-line order.
    parts : sequence of path
        The Parquet parts holding the rows.
    columns : sequence of str
        The parts' columns (model columns named ``expr_*``, ``valence``, ``arousal``,
        ``au_*``).
    """
    ensure_schema(con)
    value = {c: c if c in columns else "NULL" for c in ("valence", "arousal")}
    frames = sum(s.frames for s in sources)
    with_face = sum(s.frames_with_face for s in sources)
    with transaction(con):  # a failed COMMIT is raised alone (no ROLLBACK error over it)
        for table in ("analysis_rows", "analysis_sources", "analyses"):
            con.execute(f"DELETE FROM {table} WHERE analysis_id = ?", [analysis_id])
        rows = 0
        if parts:
            files = "[" + ", ".join(f"'{_sql_path(p)}'" for p in parts) + "]"
            con.execute(
                "INSERT INTO analysis_rows SELECT ?, source, file, frame_index, timestamp_s, "
                "face_index, face_found, box_x, box_y, box_w, box_h, detector_score, valid, "
                f"message, {_map('expr_', columns)}, {value['valence']}, "
                f"{value['arousal']}, {_map('au_', columns)} FROM read_parquet({files})",
                [analysis_id])
            rows = con.execute("SELECT count(*) FROM analysis_rows WHERE analysis_id = ?",
                               [analysis_id]).fetchone()[0]
        con.executemany(
            "INSERT INTO analysis_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[analysis_id, n, s.source, s.source_sha256, s.kind, s.frames, s.frames_with_face,
              s.frames_in_source, s.end_reason] for n, s in enumerate(sources)])
        con.execute(
            "INSERT INTO analyses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [analysis_id, meta["model_path"], meta.get("model_name"), meta["model_sha256"],
             json.dumps(meta["card"]), json.dumps(meta["detector"]),
             json.dumps(meta["settings"]), meta.get("output"), meta.get("started_at"),
             datetime.now(UTC).replace(tzinfo=None), frames, with_face, rows])
    return int(rows)
