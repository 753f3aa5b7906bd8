"""The every-frame table: its columns, its parts on disk, and the output file.

One row per face per frame, plus one row for each frame where no face was found::

    source, file, frame_index, timestamp_s, face_index, face_found,
    box_x, box_y, box_w, box_h, detector_score, valid, message,
    expr_<canonical label>..., valence, arousal, au_<HRM AU>...

The model columns are named as in live recordings (``recording.columns_for``) and fixed
by the model card; they are empty where there is no face. ``file`` is the image's name
for image inputs (empty for videos); ``timestamp_s`` is empty for images.

Resuming: results are written in parts, ``PART_FRAMES`` analysed frames each, under
``<output>.parts/<key>/<first>-<end>.parquet``, where ``key`` hashes the model's
sha256, the detector settings, the frame range, the input's path and its sha256 (so a
changed video, model or setting never mixes with old parts) and ``first``..``end`` is the range
of frame numbers the part covers. A part is written under a temporary name and renamed
into place, so a part either exists whole or not at all; an input is complete when its
``done.json`` exists (end reason, frame counts). A rerun lists the parts, continues
each input after the last frame its contiguous parts cover, and finally concatenates
all parts, in input and frame order, into the output (``.csv`` or ``.parquet``, again
written aside and renamed). Parquet is written with DuckDB: no extra dependency.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference.analyze_input import FrameResult
from faceexplorer.inference.cards import ModelCard
from faceexplorer.inference.recording import BASE_COLUMNS as LIVE_BASE
from faceexplorer.inference.recording import columns_for

#: Analysed frames per part file (a killed run redoes at most this many per input).
PART_FRAMES = 256
OUTPUT_SUFFIXES = (".csv", ".parquet")

#: The fixed columns and their DuckDB types; model columns are all DOUBLE.
BASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "VARCHAR"), ("file", "VARCHAR"), ("frame_index", "BIGINT"),
    ("timestamp_s", "DOUBLE"), ("face_index", "INTEGER"), ("face_found", "BOOLEAN"),
    ("box_x", "DOUBLE"), ("box_y", "DOUBLE"), ("box_w", "DOUBLE"), ("box_h", "DOUBLE"),
    ("detector_score", "DOUBLE"), ("valid", "BOOLEAN"), ("message", "VARCHAR"))
_PART = re.compile(r"^(\d+)-(\d+)\.parquet$")


def model_columns(card: ModelCard) -> list[str]:
    """The model's output columns, as a live recording of this card names them.

    Each once: ``recording.columns_for`` repeats the labels a card's alternative label
    sets share (22- and 17-AU sets).
    """
    return list(dict.fromkeys(c for c in columns_for(card) if c not in LIVE_BASE))


def table_columns(card: ModelCard) -> list[tuple[str, str]]:
    """Every column of the table with its DuckDB type."""
    return [*BASE_COLUMNS, *((c, "DOUBLE") for c in model_columns(card))]


def _finite(v: float | None) -> float | None:
    return v if v is not None and np.isfinite(v) else None


def rows_of(source: str, results: Iterable[FrameResult], card: ModelCard
            ) -> list[dict[str, Any]]:
    """Table rows of some frames of one input (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    for r in results:
        base = {"source": source, "file": r.file or None, "frame_index": r.frame_index,
                "timestamp_s": r.timestamp_s}
        if not r.faces:
            rows.append({**base, "face_found": False, "valid": not r.message,
                         "message": r.message or None})
            continue
        for face in r.faces:
            p, d = face.prediction, face.detection
            row = {**base, "face_index": p.face_index, "face_found": True,
                   "box_x": d.box[0], "box_y": d.box[1], "box_w": d.box[2], "box_h": d.box[3],
                   "detector_score": d.score, "valid": p.valid, "message": p.message or None,
                   "valence": _finite(p.valence), "arousal": _finite(p.arousal)}
            row.update({f"expr_{k}": v for k, v in p.expression.items()})
            row.update({f"au_{k}": v for k, v in p.aus.items()})
            rows.append(row)
    return rows


def _frame(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for name, kind in columns:
        values = [r.get(name) for r in rows]
        if kind == "DOUBLE":
            data[name] = np.array([np.nan if v is None else v for v in values], np.float64)
        else:
            data[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data)


def _select(columns: list[tuple[str, str]], relation: str) -> str:
    """SELECT with every column cast to its type (all-NULL columns keep their type)."""
    cols = ", ".join(f'CAST("{n}" AS {t}) AS "{n}"' for n, t in columns)
    return f"SELECT {cols} FROM {relation}"


@dataclass
class InputParts:
    """The parts folder of one input under one key."""

    folder: Path
    origin: int = 0  # the first frame of the input's range

    def _spans(self) -> list[tuple[int, int, Path]]:
        if not self.folder.is_dir():
            return []
        return sorted((int(m.group(1)), int(m.group(2)), f)
                      for f in self.folder.glob("*.parquet") if (m := _PART.match(f.name)))

    def covered_until(self) -> int:
        """First frame number not covered by the contiguous parts from ``origin``."""
        end = self.origin
        for first, stop, _ in self._spans():
            if first > end:
                break
            end = max(end, stop)
        return end

    def part_files(self) -> list[Path]:
        """The contiguous parts from ``origin``, in frame order."""
        files, end = [], self.origin
        for first, stop, f in self._spans():
            if first > end:
                break
            if stop > end:
                files.append(f)
                end = stop
        return files

    def write(self, first: int, end: int, rows: list[dict[str, Any]],
              columns: list[tuple[str, str]]) -> Path:
        """Write the rows of frames ``first``..``end`` as one part, renamed into place."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{first:010d}-{end:010d}.parquet"
        tmp = final.with_suffix(".tmp")
        df = _frame(rows, columns)  # noqa: F841 - read by DuckDB below
        con = duckdb.connect()
        try:
            con.execute(f"COPY ({_select(columns, 'df')}) TO '{_sql_path(tmp)}' "
                        "(FORMAT parquet)")
        finally:
            con.close()
        os.replace(tmp, final)
        return final

    @property
    def done_file(self) -> Path:
        return self.folder / "done.json"

    def done(self) -> dict[str, Any] | None:
        """What the finished input recorded, or None while it is not finished."""
        if not self.done_file.is_file():
            return None
        return json.loads(self.done_file.read_text(encoding="utf-8"))

    def mark_done(self, info: dict[str, Any]) -> None:
        """Record the input as complete (written aside, renamed into place)."""
        tmp = self.done_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
        os.replace(tmp, self.done_file)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def parts_root(output: Path) -> Path:
    """Where an output's parts live while it is being made."""
    return output.with_name(output.name + ".parts")


def input_parts(output: Path, key: str, origin: int = 0) -> InputParts:
    """The parts of an input under ``key``, whose range starts at frame ``origin``.

    Named by the key alone, so inputs reordered or added on the command line keep their
    parts (an input given twice shares them; the output lists it twice).
    """
    return InputParts(parts_root(output) / key, origin)


def stale_folders(output: Path, keep: Iterable[InputParts]) -> list[Path]:
    """Part folders of other keys (another model, setting or file content)."""
    root = parts_root(output)
    kept = {p.folder.name for p in keep}
    return sorted(f for f in root.iterdir() if f.is_dir() and f.name not in kept) \
        if root.is_dir() else []


def check_output(output: Path) -> None:
    """Refuse an output name the table cannot be written as."""
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise FaceExplorerError(f"{output}: the output must end in .csv or .parquet")
    if output.is_dir():
        raise FaceExplorerError(f"{output}: is a folder; expected a .csv or .parquet file name")
    probe = output.with_name(output.name + ".probe")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise FaceExplorerError(f"{output}: cannot write the table here ({exc.strerror or exc})"
                                "; choose another --out") from None


def write_output(output: Path, parts: list[Path], columns: list[tuple[str, str]]) -> int:
    """Concatenate ``parts`` (in order) into ``output``; returns the rows written."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    con = duckdb.connect()
    try:
        if parts:
            files = "[" + ", ".join(f"'{_sql_path(p)}'" for p in parts) + "]"
            # The part list is in input then frame order; ordinality keeps that order.
            relation = (f"(SELECT * FROM read_parquet({files}, filename = true)) p "
                        f"JOIN (SELECT unnest({files}) AS filename, "
                        "generate_subscripts(" + files + ", 1) AS part_no) o USING (filename)")
            query = _select(columns, relation) + " ORDER BY part_no, frame_index, face_index"
        else:
            query = _select(columns, "(SELECT " + ", ".join(
                f'NULL::{t} AS "{n}"' for n, t in columns) + ") WHERE false")
        parquet = output.suffix.lower() == ".parquet"
        fmt = "(FORMAT parquet)" if parquet else "(HEADER, DELIMITER ',')"
        con.execute(f"COPY ({query}) TO '{_sql_path(tmp)}' {fmt}")
        rows = con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]
    finally:
        con.close()
    os.replace(tmp, output)
    return int(rows)


def remove_parts(output: Path) -> None:
    """Delete an output's parts folder once the output is complete."""
    shutil.rmtree(parts_root(output), ignore_errors=True)
