"""What the FACES explorer view shows that :mod:`faceexplorer.reports.faces_stats` does not.

Small, headless helpers so the widgets only lay numbers out: the subject browser's
filters, the sentence that says which rule the stored DASS totals follow (with counts,
never a guess), the band intervals the histograms shade, box-plot numbers, the correlation title,
and the words saying where a ranking's rho came from (ranks stored at import, or the
values). Pure pandas/numpy on what the report builder returned: no SQL.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from faceexplorer.core.vocab import DASS_BANDS, DASS_CUTOFFS
from faceexplorer.stats import correlation as corr
from faceexplorer.stats.dass21 import SUBSCALES

#: How baseinfo.csv spells gender, and the English word shown beside it.
GENDER_WORDS: dict[str, str] = {"男": "male", "女": "female"}
#: English beside the survey's Chinese grade names (both numberings of junior high).
GRADE_WORDS: dict[str, str] = {
    **{name: f"primary year {k}" for k, name in enumerate(
        ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级"), start=1)},
    **{name: f"junior high year {k}" for names in (("初一", "初二", "初三"),
                                                   ("七年级", "八年级", "九年级"))
       for k, name in enumerate(names, start=1)},
    **{name: f"senior high year {k}" for k, name in enumerate(("高一", "高二", "高三"),
                                                              start=1)},
}
#: Highest possible standard (doubled) DASS-21 subscale score.
MAX_SCORE = 42


def gender_label(value: object) -> str:
    """``'女 (female)'`` for a known spelling, the value itself otherwise, ``''`` if missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    word = GENDER_WORDS.get(str(value))
    return f"{value} ({word})" if word else str(value)


def grade_label(value: object) -> str:
    """``'高三 (senior high year 3)'`` for a known grade name, the value itself otherwise."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    word = GRADE_WORDS.get(str(value).strip())
    return f"{value} ({word})" if word else str(value)


def filter_subjects(frame: pd.DataFrame, gender: str | None = None,
                    grade: int | None = None, subscale: str | None = None,
                    band: str | None = None) -> pd.DataFrame:
    """Rows of ``reports.faces_stats.subjects`` matching every filter given (None = any).

    ``band`` applies to ``subscale`` (both or neither). The order is kept.
    """
    keep = np.ones(len(frame), dtype=bool)
    if gender is not None:
        keep &= (frame["gender"] == gender).fillna(False).to_numpy(bool)
    if grade is not None:
        keep &= (frame["grade"] == grade).fillna(False).to_numpy(bool)
    if band is not None:
        if subscale not in SUBSCALES:
            raise ValueError(f"a band filter needs a subscale (one of {', '.join(SUBSCALES)})")
        keep &= (frame[f"{subscale}_band"] == band).fillna(False).to_numpy(bool)
    return frame.loc[keep].reset_index(drop=True)


def band_intervals(subscale: str) -> list[tuple[str, int, int]]:
    """(band, lowest score, highest score) on the doubled 0..42 scale, in severity order."""
    lows = (0, *DASS_CUTOFFS[subscale])
    highs = (*(c - 1 for c in DASS_CUTOFFS[subscale]), MAX_SCORE)
    return list(zip(DASS_BANDS, lows, highs, strict=True))


_VERDICT_WORDS = {
    "doubled": "match the DOUBLED item sums (standard DASS-21 scores, 0..42)",
    "undoubled": "match the UNDOUBLED item sums (0..21; the standard bands do not apply "
                 "to them)",
    "mixed": "are MIXED: some rows match doubled sums, others undoubled",
    "neither": "match NEITHER doubled nor undoubled item sums",
    "ambiguous": "cannot be told apart: every stored total is 0 with all items 0",
    "absent": "are ABSENT: baseinfo.csv stores no totals",
}


def stored_totals_lines(stored: dict[str, dict]) -> list[str]:
    """One plain sentence per subscale from :func:`faceexplorer.reports.faces_stats.stored_totals`.

    The sentence gives the verdict and how many subjects follow each rule, so a reader
    sees the evidence, e.g. ``depression: stored totals match the UNDOUBLED item sums
    (0..21; ...). 249 subjects: total = item sum; 51: total and items all 0 (either
    rule fits); not compared: 3 without DASS-21 answers``. "Not scored (items missing)"
    is the band table's "Not scored" row.
    """
    words = {"doubled": "{n} subjects: total = 2 × item sum",
             "undoubled": "{n} subjects: total = item sum",
             "neither": "{n} subjects: total fits neither rule",
             "ambiguous": "{n}: total and items all 0 (either rule fits)"}
    why_words = {"no_answers": "{n} without DASS-21 answers",
                 "items_missing": "{n} not scored (items missing)",
                 "no_stored_total": "{n} without a stored total"}
    lines = []
    for subscale, entry in stored.items():
        rows = entry["rows"]
        parts = [words[r].format(n=f"{n:,}") for r, n in rows.items()
                 if n and r in words]
        why = entry.get("not_compared")
        if rows.get("missing"):
            if why and sum(why.values()) == rows["missing"]:
                reasons = [why_words[k].format(n=f"{n:,}") for k, n in why.items() if n]
            else:
                reasons = [f"{rows['missing']:,} without a stored total or all seven items"]
            parts.append("not compared: " + ", ".join(reasons))
        lines.append(f"{subscale}: stored totals {_VERDICT_WORDS[entry['verdict']]}."
                     + (" " + "; ".join(parts) + "." if parts else ""))
    return lines


def rho_source_text(frame: pd.DataFrame) -> str:
    """Where a ranking's rho came from, in words for the status line."""
    source = str(frame.attrs.get("rho_from", ""))
    if source == "stored ranks":
        return "from the ranks stored at import"
    if source.startswith("values: "):
        return f"from the feature values; {source.removeprefix('values: ')}"
    return "from the feature values"


def band_boxes(values_by_band: dict[str, np.ndarray]) -> list[dict]:
    """Box-plot numbers per band (severity order): n, quartiles, Tukey whiskers.

    Quartiles use numpy's default (linear) interpolation, as pandas' ``quantile`` does;
    whiskers reach the furthest value within 1.5 IQR of the box. Empty bands get n = 0
    and None elsewhere.
    """
    out = []
    for band in DASS_BANDS:
        v = np.asarray(values_by_band.get(band, np.empty(0)), dtype=float)
        v = v[np.isfinite(v)]
        if not len(v):
            out.append({"band": band, "n": 0, "q1": None, "median": None, "q3": None,
                        "low": None, "high": None})
            continue
        q1, median, q3 = np.quantile(v, [0.25, 0.5, 0.75])
        reach = 1.5 * (q3 - q1)
        out.append({"band": band, "n": int(len(v)), "q1": float(q1),
                    "median": float(median), "q3": float(q3),
                    "low": float(v[v >= q1 - reach].min()),
                    "high": float(v[v <= q3 + reach].max())})
    return out


def correlation_title(result: corr.SpearmanResult) -> str:
    """``rho = -0.461 [95% CI -0.547, -0.366], p = 3.8e-17, n = 297`` (plain text)."""
    if not np.isfinite(result.rho):
        return f"rho undefined (n = {result.n}: too few pairs or a constant variable)"
    return (f"rho = {result.rho:.3f} [95% CI {result.ci_low:.3f}, {result.ci_high:.3f}], "
            f"p = {result.p:.2g}, n = {result.n:,}")
