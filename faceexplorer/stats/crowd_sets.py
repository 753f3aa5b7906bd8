"""One AffectNetC25 set's agreement figures from its vote matrices (and AffectNet's labels).

Pure numpy/pandas on what :func:`faceexplorer.reports.crowd_report.set_votes` reads (the
images x annotators matrices of the three tasks) and the AffectNet rows linked to the
set's images: Fleiss' kappa, Krippendorff's alpha, the annotator ranking, Dawid-Skene,
ICCs, agreement histograms and the crowd-vs-AffectNet comparisons. No SQL here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.stats import agreement, crowd
from faceexplorer.stats.dawid_skene import DawidSkeneResult, dawid_skene


def set_figures(votes: dict[str, pd.DataFrame], links: pd.DataFrame,
                ds: DawidSkeneResult | None = None) -> dict[str, Any]:
    """Per task (expression, valence, arousal) the set-level figures of
    :func:`faceexplorer.reports.crowd_report.crowd_report` (not yet JSON-ready).

    ``votes``: task -> images x annotators (expression: canonical codes; V/A: values; NaN:
    no vote), images in the same order in each. ``links``: one row per image in that
    order with ``affectnet_expression``, ``affectnet_valence``, ``affectnet_arousal``
    (NA where not linked). ``ds``: the Dawid-Skene fit of the expression votes, when the
    caller has it (the fit is deterministic: fitted here otherwise).
    """
    expr = votes["expression"]
    codes = expr.to_numpy()
    counts = crowd.vote_counts(codes)
    majority = crowd.majority_label(counts)
    scores = crowd.agreement_score(codes, majority)
    n_images, n_annotators = codes.shape
    ds = dawid_skene(codes) if ds is None else ds
    ranking = agreement.annotator_agreement(codes, list(expr.columns))
    ds_accuracy = dict(zip(expr.columns, ds.annotator_accuracy(), strict=True))
    ranking["ds_accuracy"] = ranking["annotator"].map(ds_accuracy)
    complete = not np.isnan(codes).any()
    report: dict[str, Any] = {"expression": {
        "n_images": n_images, "n_annotators": n_annotators,
        "fleiss_kappa": agreement.fleiss_kappa(counts) if complete else None,
        "krippendorff_alpha_nominal": agreement.krippendorff_alpha(codes, "nominal"),
        "majority_counts": dict(zip(EXPRESSIONS, np.bincount(
            majority[majority >= 0], minlength=len(EXPRESSIONS)), strict=True)),
        "ties": int(crowd.tie_flag(counts).sum()),
        "mean_agreement": float(scores.mean()),
        "agreement_histogram": agreement.agreement_histogram(scores, n_annotators).to_dict(),
        "annotator_ranking_by": "loo_agreement (share of votes equal to the others' majority)",
        "annotators": ranking.to_dict(orient="records"),
        "dawid_skene": {
            "iterations": ds.iterations, "converged": ds.converged,
            "log_likelihood": ds.log_likelihood,
            "agreement_with_majority": float(np.mean(ds.labels == majority)),
            "priors": dict(zip(EXPRESSIONS, ds.priors, strict=True)),
        },
        "affectnet": _affectnet_expression(links, majority),
    }}
    for task in ("valence", "arousal"):
        values = votes[task].to_numpy()
        va = crowd.va_stats(values)
        iccs = agreement.icc(values)
        report[task] = {
            "n_images": values.shape[0], "n_annotators": values.shape[1],
            "krippendorff_alpha_interval": agreement.krippendorff_alpha(values, "interval"),
            "krippendorff_alpha_ordinal": agreement.krippendorff_alpha(values, "ordinal"),
            "icc": {form: vars(iccs[form]) for form in ("ICC(2,1)", "ICC(2,k)")},
            "mean_agreement": float(va["agreement"].mean()),
            "agreement_histogram": agreement.agreement_histogram(
                va["agreement"].to_numpy(), values.shape[1]).to_dict(),
            "affectnet": _affectnet_va(links, task, va["mean"].to_numpy()),
        }
    return report


def _affectnet_expression(links: pd.DataFrame, majority: np.ndarray) -> dict | None:
    linked = links["affectnet_expression"].notna().to_numpy()
    if not linked.any():
        return None
    ref = links["affectnet_expression"].to_numpy(dtype=object)
    confusion = agreement.majority_confusion(majority, ref)
    in_vocab = np.isin(ref, EXPRESSIONS) & linked
    same = [m >= 0 and EXPRESSIONS[m] == r for m, r in zip(majority, ref, strict=True)]
    return {"linked": int(linked.sum()), "outside_expressions": int((linked & ~in_vocab).sum()),
            "majority_equals_affectnet": float(np.mean(np.asarray(same)[in_vocab])),
            "confusion_rows": "affectnet", "confusion_columns": "crowd_majority",
            "confusion": confusion.to_dict(orient="index")}


def _affectnet_va(links: pd.DataFrame, task: str, crowd_mean: np.ndarray) -> dict | None:
    ref = pd.to_numeric(links[f"affectnet_{task}"],
                        errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(ref) & ~np.isnan(crowd_mean)
    if ok.sum() < 2:
        return None
    a, b = ref[ok], crowd_mean[ok]
    # Pearson's r is undefined when either side is constant (e.g. a tiny sample): NaN,
    # said as such, rather than numpy's divide-by-zero warning on the way to it.
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    return {"linked": int(ok.sum()), "pearson_r_with_crowd_mean": r,
            "mean_abs_difference": float(np.abs(a - b).mean())}
