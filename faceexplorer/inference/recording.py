"""A live session's predictions: a CSV written as they come, and its import into the index.

``Recorder`` appends one row per face prediction and flushes each row, so a crash or an
unplugged camera keeps everything recorded so far. A frame the model saw without a face
gets one row too (``write_no_face``: empty ``face_index`` and box, ``valid`` 0, message
"no face found"), as ``faceexplorer analyze`` writes one, so "record every frame" has a
row for every frame; in the index that row's ``face_index`` is ``NO_FACE`` (-1).
Columns are fixed by the model card when recording starts (one ``expr_<label>`` /
``au_<label>`` column per canonical label the card can produce; empty where a prediction
has none). A JSON sidecar
(``<name>.json``) names the model (file, sha256, card), source and detector, and is
rewritten when the recording ends with the end reason and row count.

``import_recording(db_path, csv_path)`` stores a finished recording in the index as a
dataset-less session, in one transaction with its own read-write connection: the GUI
must release its read-only connection first (DuckDB allows one writer process). Until
``faceexplorer.index.predictions`` (batch runs) exists, the session goes into two tables
of its own, ``live_sessions`` and ``live_predictions`` (schema below); re-importing the
same CSV replaces its session.
"""

from __future__ import annotations

import csv
import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference.cards import ModelCard
from faceexplorer.inference.postprocess import Prediction

BASE_COLUMNS = ("frame_index", "timestamp_s", "recorded_at", "face_index", "box_x", "box_y",
                "box_w", "box_h", "valid", "message")

#: ``live_predictions.face_index`` of a frame modelled without a face (the column is NOT NULL)
NO_FACE = -1

LIVE_SCHEMA = """
CREATE TABLE IF NOT EXISTS live_sessions (
    session_id   VARCHAR PRIMARY KEY,   -- the CSV's file stem
    csv_path     VARCHAR NOT NULL,
    model_path   VARCHAR, model_name VARCHAR, model_sha256 VARCHAR, card JSON,
    source       VARCHAR, detector VARCHAR,
    started_at   TIMESTAMP, ended_at TIMESTAMP, end_reason VARCHAR,
    predictions  BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS live_predictions (
    session_id  VARCHAR NOT NULL,
    frame_index BIGINT NOT NULL, timestamp_s DOUBLE, recorded_at DOUBLE,
    face_index  INTEGER NOT NULL,
    box_x DOUBLE, box_y DOUBLE, box_w DOUBLE, box_h DOUBLE,
    valid BOOLEAN NOT NULL, message VARCHAR,
    expression MAP(VARCHAR, DOUBLE), valence DOUBLE, arousal DOUBLE,
    aus MAP(VARCHAR, DOUBLE)
);
"""


def _labels(card: ModelCard, kind: str) -> list[str]:
    seen: list[str] = []
    for spec in card.outputs:
        if spec.kind == kind:
            seen += [lab for s in spec.label_sets for lab in s if lab not in seen]
    return seen


def columns_for(card: ModelCard) -> list[str]:
    """The CSV header a recording with this model card gets."""
    kinds = {o.kind for o in card.outputs}
    cols = list(BASE_COLUMNS) + [f"expr_{lab}" for lab in _labels(card, "expression")]
    cols += [k for k in ("valence", "arousal") if k in kinds]
    return cols + [f"au_{lab}" for lab in _labels(card, "au")]


def _num(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.6g}"


class Recorder:
    """Appends predictions to a CSV, one flushed row per face.

    Parameters
    ----------
    csv_path : path
        Created (with its folder); an existing file is replaced.
    card : ModelCard
        Fixes the columns.
    meta : dict
        Written to the JSON sidecar (model path and sha256, source, detector...).
    """

    def __init__(self, csv_path: Path | str, card: ModelCard, meta: dict[str, Any]) -> None:
        self.path = Path(csv_path)
        self.sidecar = self.path.with_suffix(".json")
        self.columns = columns_for(card)
        self.rows = 0               # CSV rows, a faceless frame's too
        self.predictions = 0        # rows with a face
        self.meta = {**meta, "card": card.to_dict(), "csv": self.path.name,
                     "started_at": datetime.now(UTC).isoformat(), "ended_at": None,
                     "end_reason": None, "predictions": 0}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] | None = self.path.open("w", newline="", encoding="utf-8")
            self._write_sidecar()
        except OSError as exc:
            raise FaceExplorerError(f"{self.path}: cannot write the recording here "
                                    f"({exc.strerror or exc})") from None
        self._csv = csv.writer(self._file)
        self._csv.writerow(self.columns)
        self._file.flush()

    def _write_sidecar(self) -> None:
        self.sidecar.write_text(json.dumps(self.meta, indent=1), encoding="utf-8")

    def write(self, pred: Prediction) -> None:
        """Append one prediction and flush it to the operating system."""
        if self._file is None:
            return
        values = {"frame_index": str(pred.frame_index), "timestamp_s": f"{pred.timestamp_s:.4f}",
                  "recorded_at": f"{time.time():.3f}", "face_index": str(pred.face_index),
                  "box_x": _num(pred.box[0]), "box_y": _num(pred.box[1]),
                  "box_w": _num(pred.box[2]), "box_h": _num(pred.box[3]),
                  "valid": "1" if pred.valid else "0", "message": pred.message,
                  "valence": _num(pred.valence), "arousal": _num(pred.arousal)}
        values.update({f"expr_{k}": _num(v) for k, v in pred.expression.items()})
        values.update({f"au_{k}": _num(v) for k, v in pred.aus.items()})
        self._csv.writerow([values.get(c, "") for c in self.columns])
        self._file.flush()
        self.rows += 1
        self.predictions += 1

    def write_no_face(self, frame_index: int, timestamp_s: float) -> None:
        """Append the row of a frame the model saw without any face."""
        if self._file is None:
            return
        values = {"frame_index": str(frame_index), "timestamp_s": f"{timestamp_s:.4f}",
                  "recorded_at": f"{time.time():.3f}", "valid": "0",
                  "message": "no face found"}
        self._csv.writerow([values.get(c, "") for c in self.columns])
        self._file.flush()
        self.rows += 1

    def close(self, end_reason: str = "") -> Path:
        """Finish the CSV and the sidecar (end time, reason, rows); returns the CSV path."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self.meta.update(ended_at=datetime.now(UTC).isoformat(), end_reason=end_reason,
                             predictions=self.predictions, rows=self.rows)
            self._write_sidecar()
        return self.path


def _timestamp(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=None) if text else None


def _float(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


def read_recording(csv_path: Path | str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The sidecar metadata and the rows of a recording, typed.

    Raises
    ------
    FaceExplorerError
        Missing file, or a header without the base columns.
    """
    path = Path(csv_path)
    if not path.is_file():
        raise FaceExplorerError(f"{path}: no such recording")
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else {}
    rows: list[dict[str, Any]] = []
    with path.open("rb") as raw:
        raw.seek(max(0, path.stat().st_size - 1))
        # Every row ends with a newline when written: no newline at the end means the
        # process died mid-row, and that last row is not read.
        cut = raw.read(1) not in (b"\n", b"")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in BASE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise FaceExplorerError(f"{path}, line 1: not a FaceExplorer recording (missing "
                                    f"columns {', '.join(missing)}; expected a header "
                                    f"starting {','.join(BASE_COLUMNS)})")
        records = list(reader)
        for line, r in enumerate(records, start=2):
            if None in r.values() or (cut and line == len(records) + 1):
                meta.setdefault("warnings", []).append(f"line {line}: incomplete row, "
                                                       "the recording ends before it")
                break
            try:
                rows.append({
                    "frame_index": int(r["frame_index"]), "timestamp_s": _float(r["timestamp_s"]),
                    "recorded_at": _float(r["recorded_at"]),
                    "face_index": int(r["face_index"] or NO_FACE),
                    **{k: _float(r[k]) for k in ("box_x", "box_y", "box_w", "box_h")},
                    "valid": r["valid"] == "1", "message": r["message"],
                    "expression": {k[5:]: float(v) for k, v in r.items()
                                   if k.startswith("expr_") and v},
                    "valence": _float(r.get("valence", "")),
                    "arousal": _float(r.get("arousal", "")),
                    "aus": {k[3:]: float(v) for k, v in r.items() if k.startswith("au_") and v},
                })
            except (TypeError, ValueError) as exc:
                raise FaceExplorerError(f"{path}, line {line}: not a number where one was "
                                        f"expected ({exc})") from None
    return meta, rows


def import_recording(db_path: Path | str, csv_path: Path | str) -> int:
    """Store a finished recording in the index as one session; returns the predictions
    stored (its rows with a face: a faceless frame's row is stored but not counted).

    Opens its own read-write connection (close read-only ones first) and writes in one
    transaction: a failure leaves the index as it was.
    """
    from faceexplorer.index.store import connect  # duckdb is not needed to record

    path = Path(csv_path).resolve()
    meta, rows = read_recording(path)
    predictions = sum(r["face_index"] != NO_FACE for r in rows)
    session_id = path.stem
    con = connect(Path(db_path))
    try:
        con.execute(LIVE_SCHEMA)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM live_predictions WHERE session_id = ?", [session_id])
            con.execute("DELETE FROM live_sessions WHERE session_id = ?", [session_id])
            con.execute("INSERT INTO live_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                session_id, str(path), meta.get("model_path"), meta.get("model_name"),
                meta.get("model_sha256"), json.dumps(meta.get("card")), meta.get("source"),
                meta.get("detector"), _timestamp(meta.get("started_at")),
                _timestamp(meta.get("ended_at")), meta.get("end_reason"), predictions])
            if rows:
                con.executemany(
                    "INSERT INTO live_predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?, ?)",
                    [[session_id, r["frame_index"], r["timestamp_s"], r["recorded_at"],
                      r["face_index"], r["box_x"], r["box_y"], r["box_w"], r["box_h"],
                      r["valid"], r["message"], r["expression"], r["valence"], r["arousal"],
                      r["aus"]] for r in rows])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return predictions
