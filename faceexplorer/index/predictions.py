"""Model predictions stored in the index: one row per item of a batch run.

A run is one model (by its sha256) over one dataset; its ``run_id`` is derived from
both, so starting the same model on the same dataset again *resumes* that run instead
of adding a second copy. Rows are keyed by ``(run_id, item)`` (``item``: ``train/123``
for AffectNet rows, ``S12/345`` for HRM frames, the file stem for RaFD) and written in
chunks, each chunk one transaction together with the run's counters, so a killed run
loses at most the chunk in flight and never duplicates a row. Transactions go through
``store.transaction``: a COMMIT refused for lack of space is raised as it is, not hidden
behind the failed ROLLBACK after it.

Outputs are plain columns: ``p_<expression>`` in canonical order (NULL where the model
has no such class, e.g. contempt for 7-class models), ``predicted``, ``valence``,
``arousal``. AU probabilities are one ``DOUBLE[]`` list per row whose names are stored
once per run (``model_runs.au_labels``): AU sets differ between models (22, 17, 4...),
and per-AU columns would change the table with every model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np

from faceexplorer.core.vocab import EXPRESSIONS, HRM_AU_COLUMNS
from faceexplorer.index.store import table_exists, transaction

P_COLUMNS: tuple[str, ...] = tuple(f"p_{e}" for e in EXPRESSIONS)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS model_runs (
    run_id        VARCHAR PRIMARY KEY,  -- sha256[:16] + ':' + dataset
    model_sha256  VARCHAR NOT NULL,
    model_path    VARCHAR NOT NULL,
    card          JSON NOT NULL,
    dataset       VARCHAR NOT NULL,     -- importer kind the items came from
    au_labels     VARCHAR[],            -- names of the aus list, in order
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL,     -- 'running' | 'stopped' | 'finished' | 'failed'
    message       VARCHAR,              -- why it stopped or failed
    items_total   BIGINT,
    items_done    BIGINT NOT NULL,
    items_failed  BIGINT NOT NULL,      -- invalid rows: missing image, no face, NaN
    items_missing BIGINT NOT NULL       -- of which: image file missing
);
CREATE TABLE IF NOT EXISTS predictions (
    run_id    VARCHAR NOT NULL,
    dataset   VARCHAR NOT NULL,
    item      VARCHAR NOT NULL,         -- unique per run (see the module docstring)
    split     VARCHAR,                  -- AffectNet split
    row_index BIGINT,                   -- AffectNet data row
    child     VARCHAR,                  -- HRM child
    frame     INTEGER,                  -- HRM frame
    image     VARCHAR,                  -- image file the item was read from
    box_x DOUBLE, box_y DOUBLE, box_w DOUBLE, box_h DOUBLE,
    {", ".join(f"{c} DOUBLE" for c in P_COLUMNS)},
    predicted VARCHAR,                  -- most probable canonical expression
    valence   DOUBLE,
    arousal   DOUBLE,
    aus       DOUBLE[],                 -- AU probabilities, model_runs.au_labels order
    valid     BOOLEAN NOT NULL,
    message   VARCHAR,
    PRIMARY KEY (run_id, item)
);
"""

#: Rows per INSERT statement in :func:`write_chunk`.
INSERT_ROWS = 256
ROW_COLUMNS: tuple[str, ...] = (
    "run_id", "dataset", "item", "split", "row_index", "child", "frame", "image",
    "box_x", "box_y", "box_w", "box_h", *P_COLUMNS, "predicted", "valence", "arousal", "aus",
    "valid", "message")


def run_id_for(model_sha256: str, dataset: str) -> str:
    """The run of one model on one dataset: the same weights resume the same run."""
    return f"{model_sha256[:16]}:{dataset}"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the two tables if absent (read-write connection)."""
    con.execute(SCHEMA)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run(con: duckdb.DuckDBPyConnection, model_sha256: str, model_path: str,
              card: dict[str, Any], dataset: str, au_labels: Sequence[str],
              items_total: int) -> tuple[str, set[str]]:
    """Register (or reopen) a run; returns its id and the items already stored.

    Parameters
    ----------
    con : duckdb connection
        Read-write.
    model_sha256, model_path, card, dataset, au_labels
        What the run is.
    items_total : int
        Items the run will cover this time (with ``--limit`` this may grow on resume).
    """
    ensure_schema(con)
    run_id = run_id_for(model_sha256, dataset)
    with transaction(con):
        if con.execute("SELECT 1 FROM model_runs WHERE run_id = ?", [run_id]).fetchone():
            con.execute("UPDATE model_runs SET status = 'running', message = NULL, "
                        "finished_at = NULL, model_path = ?, "
                        "items_total = greatest(coalesce(items_total, 0), ?) "
                        "WHERE run_id = ?", [model_path, items_total, run_id])
        else:
            con.execute("INSERT INTO model_runs VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'running', "
                        "NULL, ?, 0, 0, 0)",
                        [run_id, model_sha256, model_path, json.dumps(card), dataset,
                         list(au_labels), _now(), items_total])
    done = {r[0] for r in con.execute(
        "SELECT item FROM predictions WHERE run_id = ?", [run_id]).fetchall()}
    return run_id, done


def write_chunk(con: duckdb.DuckDBPyConnection, run_id: str, rows: list[dict[str, Any]]
                ) -> None:
    """Insert one chunk of prediction rows and bump the run's counters, atomically.

    Rows already stored (same item) are replaced, so a chunk retried after a crash between
    its commit and the caller noticing it never duplicates.
    """
    if not rows:
        return
    values = [[r.get(c) for c in ROW_COLUMNS] for r in rows]
    failed = sum(not r["valid"] for r in rows)
    missing = sum(bool(r.get("missing")) for r in rows)
    row = f"({', '.join('?' * len(ROW_COLUMNS))})"
    with transaction(con):
        # One multi-row INSERT per INSERT_ROWS rows: executemany plans and runs one
        # statement per row (~10 ms each), which made index writes ~40% of a batch run.
        for start in range(0, len(values), INSERT_ROWS):
            part = values[start:start + INSERT_ROWS]
            con.execute(f"INSERT OR REPLACE INTO predictions ({', '.join(ROW_COLUMNS)}) "
                        f"VALUES {', '.join([row] * len(part))}",
                        [v for r in part for v in r])
        con.execute("UPDATE model_runs SET items_done = (SELECT count(*) FROM predictions "
                    "WHERE run_id = $1), items_failed = items_failed + $2, "
                    "items_missing = items_missing + $3 WHERE run_id = $1",
                    [run_id, failed, missing])


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, message: str = ""
               ) -> None:
    """Mark a run finished, stopped or failed, with the reason."""
    con.execute("UPDATE model_runs SET status = ?, message = ?, finished_at = ? "
                "WHERE run_id = ?", [status, message or None, _now(), run_id])


# --- typed queries for the views ---------------------------------------------------------

@dataclass(frozen=True)
class RunRow:
    """One run, as the runs list shows it."""

    run_id: str
    model_sha256: str
    model_path: str
    model_name: str
    dataset: str
    au_labels: tuple[str, ...]
    started_at: datetime
    finished_at: datetime | None
    status: str
    message: str | None
    items_total: int | None
    items_done: int
    items_failed: int
    items_missing: int


def runs(con: duckdb.DuckDBPyConnection, dataset: str | None = None) -> list[RunRow]:
    """Every run (newest first), optionally of one dataset."""
    if not table_exists(con, "model_runs"):
        return []
    sql = ("SELECT run_id, model_sha256, model_path, card->>'name', dataset, au_labels, "
           "started_at, finished_at, status, message, items_total, items_done, items_failed, "
           "items_missing FROM model_runs")
    params: list[Any] = []
    if dataset is not None:
        sql += " WHERE dataset = ?"
        params.append(dataset)
    rows = con.execute(sql + " ORDER BY started_at DESC", params).fetchall()
    return [RunRow(*r[:5], tuple(r[5] or ()), *r[6:]) for r in rows]


def run_card(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """The model card a run used, as stored."""
    row = con.execute("SELECT card FROM model_runs WHERE run_id = ?", [run_id]).fetchone()
    if row is None:
        raise KeyError(f"no model run {run_id!r} in the index")
    return json.loads(row[0])


@dataclass(frozen=True)
class ImagePrediction:
    """One run's prediction for one image, for the detail panel."""

    run_id: str
    model_name: str
    expression: dict[str, float]
    predicted: str | None
    valence: float | None
    arousal: float | None
    aus: dict[str, float]
    box: tuple[float, float, float, float] | None
    valid: bool
    message: str | None


#: The columns :func:`prediction_from_row` reads, after ``p.split, p.row_index`` when a
#: caller reads several images at once (``reports.page_details``).
PREDICTION_SELECT = (
    f"p.run_id, r.card->>'name', {', '.join('p.' + c for c in P_COLUMNS)}, "
    "p.predicted, p.valence, p.arousal, p.aus, r.au_labels, p.box_x, p.box_y, p.box_w, "
    "p.box_h, p.valid, p.message FROM predictions p JOIN model_runs r USING (run_id)")


def prediction_from_row(r: Sequence[Any]) -> ImagePrediction:
    """One row of ``SELECT {PREDICTION_SELECT}`` as an :class:`ImagePrediction`."""
    n = len(P_COLUMNS)
    probs = {e: v for e, v in zip(EXPRESSIONS, r[2:2 + n], strict=True) if v is not None}
    pred, val, aro, aus, labels, *box, valid, msg = r[2 + n:]
    return ImagePrediction(
        run_id=r[0], model_name=r[1], expression=probs, predicted=pred, valence=val,
        arousal=aro, aus=dict(zip(labels or (), aus or (), strict=False)),
        box=None if box[0] is None else tuple(box), valid=valid, message=msg)


def predictions_of_image(con: duckdb.DuckDBPyConnection, split: str, row_index: int
                         ) -> list[ImagePrediction]:
    """Every run's prediction for AffectNet row ``(split, row_index)`` (C25 runs included)."""
    if not table_exists(con, "predictions"):
        return []
    rows = con.execute(
        f"SELECT {PREDICTION_SELECT} WHERE p.split = ? AND p.row_index = ? "
        "ORDER BY r.started_at", [split, int(row_index)]).fetchall()
    return [prediction_from_row(r) for r in rows]


@dataclass(frozen=True)
class ChildAUs:
    """A run's AU probabilities for a child, one row per HRM frame (NaN: no prediction)."""

    frames: np.ndarray        # (n_frames,) HRM frame numbers, ascending
    au_labels: tuple[str, ...]
    probabilities: np.ndarray  # (n_frames, n_aus) float


def child_au_matrix(con: duckdb.DuckDBPyConnection, run_id: str, child: str) -> ChildAUs:
    """The AU matrix of one child aligned to its labelled HRM frames."""
    labels_row = con.execute("SELECT au_labels FROM model_runs WHERE run_id = ?",
                             [run_id]).fetchone()
    if labels_row is None:
        raise KeyError(f"no model run {run_id!r} in the index")
    labels = tuple(labels_row[0] or ())
    frames = np.array([r[0] for r in con.execute(
        "SELECT frame FROM hrm_frames WHERE child = ? ORDER BY frame", [child]).fetchall()],
        dtype=np.int64)
    probs = np.full((len(frames), len(labels)), np.nan)
    got = con.execute("SELECT frame, aus FROM predictions WHERE run_id = ? AND child = ? "
                      "AND valid AND aus IS NOT NULL", [run_id, child]).fetchall()
    if got and len(labels):
        where = {int(f): i for i, f in enumerate(frames)}
        for frame, aus in got:
            i = where.get(int(frame))
            if i is not None and len(aus) == len(labels):
                probs[i] = aus
    return ChildAUs(frames, labels, probs)


def child_human_aus(con: duckdb.DuckDBPyConnection, child: str, aus: Sequence[str]
                    ) -> np.ndarray:
    """The coders' HRM cells of ``aus`` for a child's frames (ascending), (frames, aus).

    AUs HRM does not label come back as NaN columns.
    """
    known = [a for a in aus if a in HRM_AU_COLUMNS]
    n = con.execute("SELECT count(*) FROM hrm_frames WHERE child = ?", [child]).fetchone()[0]
    out = np.full((int(n), len(aus)), np.nan)
    if known:
        cols = ", ".join('"' + a + '"' for a in known)
        got = np.array(con.execute(f"SELECT {cols} FROM hrm_frames WHERE child = ? "
                                   "ORDER BY frame", [child]).fetchall(), dtype=float)
        for j, a in enumerate(aus):
            if a in known:
                out[:, j] = got[:, known.index(a)]
    return out
