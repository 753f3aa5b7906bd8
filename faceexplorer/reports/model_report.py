"""A stored model run against the human labels, as JSON-ready data and as text.

AffectNet runs (and AffectNetC25 runs, which cover the linked AffectNet rows): confusion
against the AffectNet label and, where C25 votes exist, against the crowd majority
(authors' tie rule), accuracy and macro F1 of each, Jensen-Shannon divergence and
soft-label log loss against the vote shares, and CCC of valence/arousal against the
AffectNet values and the crowd's median votes. RaFD-D runs (the RaFD RGB images):
confusion against the emotion in the RaFD file name, overall and per camera angle (the
profile views are where face detection and models fail). HRM runs: per-AU F1 and kappa
against the coders over all children's frames. Only valid predictions count; the item counts say
how many were left out.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np

from faceexplorer.core.vocab import EXPRESSIONS, HRM_AU_COLUMNS
from faceexplorer.index.predictions import P_COLUMNS, run_card, runs
from faceexplorer.index.store import table_exists
from faceexplorer.stats import model_metrics as mm
from faceexplorer.stats.crowd import majority_label

_CODE = {e: i for i, e in enumerate(EXPRESSIONS)}


def _nan_to_none(x: Any) -> Any:
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def _confusion_block(truth: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    c = mm.confusion_matrix(truth, predicted)
    return {"n": int(c.sum()), "accuracy": _nan_to_none(mm.accuracy(c)),
            "macro_f1": _nan_to_none(mm.macro_f1(c)), "labels": list(EXPRESSIONS),
            "confusion": c.tolist()}


def _expression_report(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    cols = ", ".join("p." + c for c in P_COLUMNS)
    rows = con.execute(
        f"SELECT p.split, p.row_index, p.predicted, {cols}, p.valence, p.arousal, "
        "a.expression, a.valence, a.arousal FROM predictions p JOIN affectnet_images a "
        "ON a.split = p.split AND a.row_index = p.row_index "
        "WHERE p.run_id = ? AND p.valid ORDER BY p.split, p.row_index", [run_id]).fetchall()
    out: dict[str, Any] = {"valid_items": len(rows)}
    if not rows:
        return out
    k = len(P_COLUMNS)
    pred = np.array([_CODE.get(r[2], -1) if r[2] else -1 for r in rows])
    probs = np.array([[np.nan if v is None else v for v in r[3:3 + k]] for r in rows])
    p_va = np.array([[np.nan if v is None else v for v in r[3 + k:5 + k]] for r in rows])
    label = np.array([_CODE.get(r[5 + k], -1) for r in rows])
    h_va = np.array([[np.nan if v is None else v for v in r[6 + k:8 + k]] for r in rows])
    if (pred >= 0).any():
        out["vs_affectnet_label"] = _confusion_block(label, pred)
    if np.isfinite(p_va).any():
        out["ccc_vs_affectnet"] = {"valence": _nan_to_none(mm.ccc(p_va[:, 0], h_va[:, 0])),
                                   "arousal": _nan_to_none(mm.ccc(p_va[:, 1], h_va[:, 1]))}
    if table_exists(con, "c25_votes"):
        out.update(_crowd_block(con, rows, pred, probs, p_va))
    return out


def _crowd_block(con: duckdb.DuckDBPyConnection, rows: list, pred: np.ndarray,
                 probs: np.ndarray, p_va: np.ndarray) -> dict[str, Any]:
    votes = con.execute(
        "SELECT image_index, expression, count(*) FROM c25_votes WHERE task = 'expression' "
        "AND expression IS NOT NULL GROUP BY ALL").fetchall()
    medians = dict(((i, t), m) for i, t, m in con.execute(
        "SELECT image_index, task, median(value) FROM c25_votes WHERE task <> 'expression' "
        "GROUP BY ALL").fetchall())
    where = {int(r[1]): n for n, r in enumerate(rows) if r[0] == "train"}
    counts = np.zeros((len(rows), len(EXPRESSIONS)))
    for idx, expr, n in votes:
        if int(idx) in where and expr in _CODE:
            counts[where[int(idx)], _CODE[expr]] += n
    voted = counts.sum(axis=1) > 0
    if not voted.any():
        return {}
    majority = np.where(voted, majority_label(counts.astype(int)), -1)
    out: dict[str, Any] = {"vs_crowd_majority": _confusion_block(majority, pred)}
    has_p = voted & np.isfinite(probs).all(axis=1)
    if has_p.any():
        q = counts[has_p] / counts[has_p].sum(axis=1, keepdims=True)
        js = mm.js_divergence(probs[has_p], q)
        ll = mm.soft_log_loss(probs[has_p], q)
        out["vs_crowd_votes"] = {"n": int(has_p.sum()), "js_divergence_mean": float(js.mean()),
                                 "js_divergence_median": float(np.median(js)),
                                 "soft_log_loss_mean": float(ll.mean()),
                                 "log_loss_eps": mm.LOG_LOSS_EPS}
    crowd_va = np.array([[medians.get((int(r[1]), t), np.nan) if r[0] == "train" else np.nan
                          for t in ("valence", "arousal")] for r in rows], dtype=float)
    if np.isfinite(p_va).any() and np.isfinite(crowd_va).any():
        out["ccc_vs_crowd_median"] = {
            "valence": _nan_to_none(mm.ccc(p_va[:, 0], crowd_va[:, 0])),
            "arousal": _nan_to_none(mm.ccc(p_va[:, 1], crowd_va[:, 1]))}
    return out


def _rafd_report(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    rows = con.execute(
        "SELECT p.predicted, r.emotion, r.yaw FROM predictions p JOIN rafd_images r "
        "ON r.stem = p.item WHERE p.run_id = ? AND p.valid ORDER BY r.stem",
        [run_id]).fetchall()
    out: dict[str, Any] = {"valid_items": len(rows)}
    pred = np.array([_CODE.get(r[0], -1) if r[0] else -1 for r in rows], dtype=np.int64)
    if not rows or not (pred >= 0).any():
        return out
    label = np.array([_CODE.get(r[1], -1) for r in rows], dtype=np.int64)
    yaw = np.array([r[2] for r in rows])
    out["vs_rafd_label"] = _confusion_block(label, pred)
    # Items per angle in the index too, so "n of total" shows what detection lost.
    totals = dict(con.execute("SELECT yaw, count(*) FROM rafd_images GROUP BY yaw").fetchall())
    out["by_yaw"] = [{"yaw": int(y), "n": int((yaw == y).sum()), "images": int(totals[y]),
                      "accuracy": _nan_to_none(mm.accuracy(mm.confusion_matrix(
                          label[yaw == y], pred[yaw == y])))}
                     for y in sorted(totals)]
    return out


def _au_report(con: duckdb.DuckDBPyConnection, run_id: str, au_labels: tuple[str, ...],
               threshold: float) -> dict[str, Any]:
    aus = [a for a in au_labels if a in HRM_AU_COLUMNS]
    if not aus:
        return {"note": "the model's AUs do not match HRM's columns"}
    idx = [au_labels.index(a) for a in aus]
    cols = ", ".join(f'f."{a}"' for a in aus)
    rows = con.execute(f"SELECT p.aus, {cols} FROM predictions p JOIN hrm_frames f "
                       "ON f.child = p.child AND f.frame = p.frame "
                       "WHERE p.run_id = ? AND p.valid AND p.aus IS NOT NULL",
                       [run_id]).fetchall()
    if not rows:
        return {"frames": 0}
    probs = np.array([[r[0][i] for i in idx] for r in rows], dtype=float)
    human = np.array([r[1:] for r in rows], dtype=float)
    res = mm.au_agreement(human, probs, tuple(aus), threshold)
    a = res.agreement
    return {"frames": res.frames, "threshold": threshold, "per_au": [
        {"au": au, "f1": _nan_to_none(float(a.f1[j])), "kappa": _nan_to_none(float(a.kappa[j])),
         "human_prevalence": _nan_to_none(float(a.prevalence_reference[j])),
         "model_prevalence": _nan_to_none(float(a.prevalence_prediction[j]))}
        for j, au in enumerate(aus)]}


def model_report(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """Everything the index can say about one run against the human labels.

    Raises
    ------
    KeyError
        No such run.
    """
    run = next((r for r in runs(con) if r.run_id == run_id), None)
    if run is None:
        raise KeyError(f"no model run {run_id!r} in the index")
    out: dict[str, Any] = {
        "run_id": run.run_id, "model": run.model_name, "model_sha256": run.model_sha256,
        "dataset": run.dataset, "status": run.status, "message": run.message,
        "items_total": run.items_total, "items_done": run.items_done,
        "items_failed": run.items_failed, "items_missing": run.items_missing}
    if run.dataset in ("affectnet", "affectnet-c25") and table_exists(con, "affectnet_images"):
        out["expression"] = _expression_report(con, run_id)
    if run.dataset == "rafd-d" and table_exists(con, "rafd_images"):
        out["expression"] = _rafd_report(con, run_id)
    if run.dataset == "hrm" and run.au_labels and table_exists(con, "hrm_frames"):
        card = run_card(con, run_id)
        threshold = next((o["threshold"] for o in card["outputs"] if o["kind"] == "au"), 0.5)
        out["aus"] = _au_report(con, run_id, run.au_labels, float(threshold))
    return out


def format_report(report: dict[str, Any]) -> str:
    """The report as a few aligned lines of text."""
    lines = [f"{report['model']} on {report['dataset']} (run {report['run_id']}, "
             f"{report['status']}): {report['items_done']} of {report['items_total']} items, "
             f"{report['items_failed']} invalid ({report['items_missing']} missing files)"]

    def num(x: Any) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    e = report.get("expression", {})
    for key, title in (("vs_affectnet_label", "vs AffectNet label"),
                       ("vs_rafd_label", "vs RaFD label"),
                       ("vs_crowd_majority", "vs crowd majority")):
        if key in e:
            b = e[key]
            lines.append(f"  {title:<20} n={b['n']:<6} accuracy {num(b['accuracy'])}  "
                         f"macro F1 {num(b['macro_f1'])}")
    if "vs_crowd_votes" in e:
        v = e["vs_crowd_votes"]
        lines.append(f"  vs crowd votes       n={v['n']:<6} JS divergence (bits) mean "
                     f"{num(v['js_divergence_mean'])}  "
                     f"soft log loss {num(v['soft_log_loss_mean'])}")
    for key, title in (("ccc_vs_affectnet", "CCC vs AffectNet"),
                       ("ccc_vs_crowd_median", "CCC vs crowd median")):
        if key in e:
            lines.append(f"  {title:<20} valence {num(e[key]['valence'])}  "
                         f"arousal {num(e[key]['arousal'])}")
    for row in e.get("by_yaw", []):
        lines.append(f"    yaw {row['yaw']:+4d}: n={row['n']} of {row['images']} indexed  "
                     f"accuracy {num(row['accuracy'])}")
    if e.get("valid_items") == 0:
        lines.append("  no valid expression predictions: nothing to compare with the labels")
    aus = report.get("aus", {})
    if "note" in aus:
        lines.append(f"  {aus['note']}")
    elif aus.get("frames") == 0:
        lines.append("  no valid AU predictions on labelled frames: nothing to compare with "
                     "the coders")
    for row in aus.get("per_au", []):
        lines.append(f"  {row['au']:<6} F1 {num(row['f1'])}  kappa {num(row['kappa'])}")
    return "\n".join(lines)
