"""A model's AU predictions for one HRM child, beside the coders' rows: a typed query, no Qt.

The AU timeline shows, under the human rows, the rows of an AU model's stored run
(``index.predictions``): its probabilities on the child's labelled frames and, per AU, F1
and Cohen's kappa against the coders (``stats.model_metrics.au_agreement``, the same rule
the model report uses: probability >= the card's threshold, frames without a prediction
left out). Model AUs are matched to HRM columns by name; AUs HRM does not label are
counted in ``unmatched`` and not drawn (there is nothing to compare them with).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from faceexplorer.core.vocab import HRM_AU_COLUMNS
from faceexplorer.index.predictions import RunRow, child_au_matrix, child_human_aus, run_card, runs
from faceexplorer.index.store import table_exists
from faceexplorer.stats.model_metrics import au_agreement

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, eq=False)
class ChildModelAUs:
    """One run's AU rows for one child, on the child's labelled frames (ascending)."""

    run_id: str
    model_name: str
    #: HRM AU names the model predicts, in the model's order.
    aus: tuple[str, ...]
    frames: np.ndarray           # (n,) HRM frame numbers
    #: (n_aus, n) probabilities; NaN where the run has no valid prediction for the frame.
    probabilities: np.ndarray
    threshold: float
    #: Per AU, against the coders over the frames both labelled (NaN when undefined).
    f1: np.ndarray
    kappa: np.ndarray
    #: Frames compared (predicted and coded).
    frames_compared: int
    #: Model AUs without an HRM column (not drawn).
    unmatched: tuple[str, ...]

    def row(self, au: str) -> np.ndarray:
        """The probabilities of ``au`` over the frames."""
        return self.probabilities[self.aus.index(au)]


def au_runs_of_child(con: duckdb.DuckDBPyConnection | None, child: str) -> list[RunRow]:
    """Runs with AU outputs that hold at least one prediction for ``child`` (newest first)."""
    if con is None or not table_exists(con, "predictions"):
        return []
    covering = {r[0] for r in con.execute(
        "SELECT DISTINCT run_id FROM predictions WHERE child = ? AND aus IS NOT NULL",
        [child]).fetchall()}
    return [r for r in runs(con) if r.run_id in covering and r.au_labels]


def _threshold(con: duckdb.DuckDBPyConnection, run_id: str) -> float:
    card = run_card(con, run_id)
    for out in card.get("outputs", ()):
        if isinstance(out, dict) and out.get("kind") == "au" and "threshold" in out:
            return float(out["threshold"])
    return DEFAULT_THRESHOLD


def child_model_aus(con: duckdb.DuckDBPyConnection, run: RunRow, child: str
                    ) -> ChildModelAUs:
    """The AU rows of ``run`` for ``child`` with their agreement with the coders.

    Parameters
    ----------
    con
        Open connection to the index (read-only is enough).
    run
        A run from :func:`au_runs_of_child`.
    child
        HRM child id.

    Returns
    -------
    ChildModelAUs
        Rows for the model AUs HRM also labels (possibly none: see ``unmatched``).
    """
    matrix = child_au_matrix(con, run.run_id, child)
    matched = [a for a in matrix.au_labels if a in HRM_AU_COLUMNS]
    cols = [matrix.au_labels.index(a) for a in matched]
    probs = matrix.probabilities[:, cols]
    threshold = _threshold(con, run.run_id)
    human = child_human_aus(con, child, matched)
    if matched:
        res = au_agreement(human, probs, tuple(matched), threshold)
        f1, kappa, n = (np.asarray(res.agreement.f1, dtype=float),
                        np.asarray(res.agreement.kappa, dtype=float), res.frames)
    else:
        f1 = kappa = np.empty(0)
        n = 0
    return ChildModelAUs(
        run_id=run.run_id, model_name=run.model_name or run.model_path, aus=tuple(matched),
        frames=matrix.frames, probabilities=probs.T.copy(), threshold=threshold, f1=f1,
        kappa=kappa, frames_compared=int(n),
        unmatched=tuple(a for a in matrix.au_labels if a not in HRM_AU_COLUMNS))
