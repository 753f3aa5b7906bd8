"""Hugging Rain Man statistics on counted frames: prevalence, co-occurrence, atypicality, raters.

Pure numpy/pandas on what :mod:`faceexplorer.reports.hrm_stats` reads from the index: the
frame table condensed into :class:`AUPatterns` (one row per child and distinct pattern of
active AUs, with frame counts and atypicality sums) and the rated frames x five raters
matrix. No SQL here.

Frames of one child are strongly correlated (an AU or a rating persists for seconds):
frame-level intervals (Wilson, ICC's F interval) describe these frames, not children. Group
prevalence therefore also carries a child-level (cluster) bootstrap interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from faceexplorer.core.vocab import HRM_RATERS
from faceexplorer.stats import agreement, au_metrics

GROUPS = ("ASD", "TD")
DIFFERENCE = "ASD-TD"
N_BOOT = 2000
SEED = 0


@dataclass(frozen=True)
class AUPatterns:
    """The frame table condensed: one row per child and distinct pattern of active AUs.

    ``active`` (rows, AUs) bool; per row the child, its group, the frames with that pattern,
    how many of them all five raters rated, and the sum and sum of squares of their
    atypicality. Every count this module reports is a sum over these rows.
    """

    aus: tuple[str, ...]
    child: np.ndarray
    grp: np.ndarray
    active: np.ndarray
    frames: np.ndarray
    rated: np.ndarray
    atypicality_sum: np.ndarray
    atypicality_sumsq: np.ndarray

    def where(self, keep: np.ndarray) -> AUPatterns:
        """The rows where ``keep`` holds."""
        return AUPatterns(self.aus, *(getattr(self, f)[keep] for f in (
            "child", "grp", "active", "frames", "rated", "atypicality_sum",
            "atypicality_sumsq")))

    def child_counts(self) -> pd.DataFrame:
        """One row per child: ``child, grp, frames`` and each AU's active frames."""
        table = pd.DataFrame(self.active * self.frames[:, None], columns=list(self.aus))
        table.insert(0, "frames", self.frames)
        table.insert(0, "grp", self.grp)
        table.insert(0, "child", self.child)
        return (table.groupby(["child", "grp"], dropna=False, sort=True).sum()
                .reset_index().astype({a: np.int64 for a in ("frames", *self.aus)}))


def prevalence_of(counts: pd.DataFrame, aus: Sequence[str], n_boot: int = N_BOOT,
                  seed: int = SEED, confidence: float = 0.95) -> pd.DataFrame:
    """Group prevalence from :meth:`AUPatterns.child_counts` (see
    :func:`faceexplorer.reports.hrm_stats.prevalence_by_group` for the columns)."""
    aus = list(aus)
    blocks = {g: counts[counts["grp"] == g] for g in GROUPS}
    blocks["all"] = counts
    rows = []
    for group, block in blocks.items():
        k, m = block[aus].to_numpy(float), block["frames"].to_numpy(float)
        active, frames = k.sum(axis=0), m.sum()
        low, high = au_metrics.wilson_interval(active, frames, confidence)
        b_low, b_high = au_metrics.cluster_bootstrap_interval(k, m, n_boot, seed, confidence)
        share = active / frames if frames else np.full(len(aus), np.nan)
        rows.append(pd.DataFrame({
            "au": aus, "group": group, "children": len(block), "frames": int(frames),
            "active": active.astype(np.int64), "share": share, "wilson_low": low,
            "wilson_high": high, "boot_low": b_low, "boot_high": b_high}))
    asd, td = blocks["ASD"], blocks["TD"]
    d_low, d_high = au_metrics.cluster_bootstrap_difference(
        asd[aus].to_numpy(float), asd["frames"].to_numpy(float), td[aus].to_numpy(float),
        td["frames"].to_numpy(float), n_boot, seed, confidence)
    rows.append(pd.DataFrame({
        "au": aus, "group": DIFFERENCE, "children": len(asd) + len(td),
        "frames": int(rows[0]["frames"].iloc[0] + rows[1]["frames"].iloc[0]), "active": 0,
        "share": rows[0]["share"].to_numpy() - rows[1]["share"].to_numpy(),
        "wilson_low": np.nan, "wilson_high": np.nan, "boot_low": d_low, "boot_high": d_high}))
    table = pd.concat(rows, ignore_index=True)
    order = {g: i for i, g in enumerate((*GROUPS, "all", DIFFERENCE))}
    table["_au"], table["_g"] = table["au"].map(aus.index), table["group"].map(order)
    return table.sort_values(["_au", "_g"]).drop(columns=["_au", "_g"]).reset_index(drop=True)


def child_prevalence_of(p: AUPatterns, aus: Sequence[str], confidence: float = 0.95
                        ) -> pd.DataFrame:
    """One child's share of frames per AU with its Wilson interval (``p``: its patterns)."""
    frames = int(p.frames.sum())
    active = p.frames @ p.active
    low, high = au_metrics.wilson_interval(active, frames, confidence)
    share = active / frames if frames else np.full(len(aus), np.nan)
    return pd.DataFrame({"au": aus, "frames": frames, "active": active.astype(np.int64),
                         "share": share, "wilson_low": low, "wilson_high": high})


def cooccurrence_of(p: AUPatterns, aus: Sequence[str]) -> dict[str, Any]:
    """AU co-occurrence of the frames counted in ``p`` (frames, counts, conditional)."""
    counts = au_metrics.cooccurrence_counts(p.active, p.frames)
    return {"frames": int(p.frames.sum()),
            "counts": pd.DataFrame(counts, index=aus, columns=aus),
            "conditional": pd.DataFrame(au_metrics.conditional_cooccurrence(counts),
                                        index=aus, columns=aus)}


def au_vs_atypicality_of(p: AUPatterns, aus: Sequence[str], group: str | None = None
                         ) -> pd.DataFrame:
    """Per AU, atypicality of rated frames where it is active vs not (``p``'s frames)."""
    if group is not None:
        p = p.where(p.grp == group)
    active, rated = p.active.astype(float), p.rated.astype(float)
    n, total, total_sq = rated.sum(), p.atypicality_sum.sum(), p.atypicality_sumsq.sum()
    n1, s1 = rated @ active, p.atypicality_sum @ active
    n0, s0 = n - n1, total - s1
    with np.errstate(invalid="ignore", divide="ignore"):
        m1 = np.where(n1 > 0, s1 / n1, np.nan)
        m0 = np.where(n0 > 0, s0 / n0, np.nan)
        sd = math.sqrt(max(total_sq / n - (total / n) ** 2, 0.0)) if n else float("nan")
        r = (m1 - m0) * np.sqrt(n1 * n0) / (n * sd) if sd > 0 else np.full(len(aus), np.nan)
    return pd.DataFrame({"au": aus, "active_frames": n1.astype(np.int64),
                         "inactive_frames": n0.astype(np.int64), "mean_active": m1,
                         "mean_inactive": m0, "difference": m1 - m0, "point_biserial": r})


def rater_figures(x: np.ndarray) -> dict[str, Any]:
    """Agreement of the raters in ``x`` (rated frames x raters, levels 0..4)."""
    out: dict[str, Any] = {"frames": int(x.shape[0]), "icc": {},
                           "krippendorff_alpha_ordinal": float("nan"), "raters": []}
    if x.shape[0] < 2:
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        forms = agreement.icc(x)
        out["icc"] = {f: {"value": float(forms[f].value), "ci_low": float(forms[f].ci_low),
                          "ci_high": float(forms[f].ci_high)} for f in ("ICC(2,1)", "ICC(2,k)")}
        out["krippendorff_alpha_ordinal"] = agreement.krippendorff_alpha(x, "ordinal")
        total = x.sum(axis=1)
        for j, rater in enumerate(HRM_RATERS):
            others = (total - x[:, j]) / (x.shape[1] - 1)
            r = np.corrcoef(x[:, j], others)[0, 1] if x[:, j].std() and others.std() else np.nan
            out["raters"].append({"rater": rater, "mean": float(x[:, j].mean()),
                                  "sd": float(x[:, j].std(ddof=1)), "r_with_others": float(r)})
    return out
