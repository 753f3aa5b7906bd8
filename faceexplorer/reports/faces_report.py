"""The FACES report: what ``faceexplorer stats faces`` prints and the window summarises.

:func:`faces_report` gathers :mod:`faceexplorer.reports.faces_stats` into one JSON-ready
dict (plain lists, dicts and numbers; None where a figure is undefined): coverage and
demographics, DASS-21 distributions per subscale and band, the rule any stored totals
follow, and the top of the feature ranking per subscale. :func:`format_faces_report`
turns that dict, and only it, into fixed-width terminal tables.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import duckdb

from faceexplorer.reports import faces_stats as fs
from faceexplorer.stats.dass21 import SUBSCALES
from faceexplorer.stats.jsonready import json_ready

NOTES = (
    "Scores are the standard DASS-21 ones: each subscale's item sum x 2 (0..42), banded "
    "with the Lovibond & Lovibond cutoffs; bands are never taken from stored totals.",
    "rho: Spearman, subjects with both values (pairwise); p: t approximation, n - 2 df; "
    "CI: 95%, Fisher z with the Bonett & Wright (2000) SE; q: Benjamini-Hochberg over "
    "all features of the subscale.",
    "Features of one OpenFace column (mean, median, q75, ...) are strongly correlated: "
    "count findings per column, not per statistic.",
)


def faces_report(con: duckdb.DuckDBPyConnection, subscale: str | None = None,
                 top: int = 20) -> dict[str, Any]:
    """Everything the FACES statistics view summarises, as a JSON-ready dict.

    Parameters
    ----------
    con : DuckDB connection to the index.
    subscale : ``depression``, ``anxiety`` or ``stress`` to rank features for that one
        subscale only; None ranks against all three.
    top : rows of each ranking to include.

    Returns
    -------
    dict
        ``subjects`` (:func:`faces_stats.subject_overview`), ``dass``
        (:func:`faces_stats.dass_distributions`), ``stored_totals``, ``ranking``
        {subscale: {"features", "significant_q05", "undefined", "top": [rows]}},
        ``notes``, ``settings``.

    Raises
    ------
    FaceExplorerError
        No FACES data in the index, or an unknown subscale.
    """
    fs.require_faces(con)
    chosen: Sequence[str] = SUBSCALES if subscale is None else [fs.check_subscale(subscale)]
    rankings = fs.rank_all(con, chosen)
    ranking = {}
    for name, frame in rankings.items():
        ranking[name] = {
            "features": len(frame),
            "significant_q05": int((frame["q"] < 0.05).sum()),
            "undefined": int(frame["rho"].isna().sum()),
            "top": frame.head(max(top, 0)).to_dict(orient="records"),
        }
    return json_ready({
        "subjects": fs.subject_overview(con),
        "dass": fs.dass_distributions(con),
        "stored_totals": fs.stored_totals(con),
        "ranking": ranking,
        "notes": list(NOTES),
        "settings": {"subscales": list(chosen), "top": top},
    })


# --- text -------------------------------------------------------------------------------
def _num(x: Any, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _p(x: Any) -> str:
    if x is None:
        return "-"
    return "<1e-300" if x == 0 else (f"{x:.1e}" if x < 1e-3 else f"{x:.4f}")


def _width(text: str) -> int:
    """Terminal columns of ``text``: Chinese grade names take two per character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    widths = [max(_width(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = []
        for i, (c, w) in enumerate(zip(cells, widths, strict=True)):
            gap = " " * (w - _width(str(c)))
            padded.append(f"{c}{gap}" if i == 0 else f"{gap}{c}")
        return indent + "  ".join(padded)

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _subjects_text(sub: dict[str, Any]) -> str:
    out = [f"Subjects: {sub['subjects']} ({sub['with_features']} with features, "
           f"{sub['with_dass']} with DASS-21, {sub['with_both']} with both, "
           f"{sub['with_baseinfo']} with demographics)"]
    gender = ", ".join(f"{'missing' if g is None else g} {n}" for g, n in sub["gender"].items())
    out.append(f"  gender: {gender}")
    if sub["age_mean"] is not None:
        out.append(f"  age at survey: mean {sub['age_mean']:.1f}, "
                   f"{sub['age_min']}..{sub['age_max']} years")
    grades = [[str(g["grade"] if g["grade"] is not None else "?"), g["grade_name"],
               str(g["subjects"])] for g in sub["grades"]]
    if grades:
        out.append(_table(["grade", "name", "subjects"], grades))
    return "\n".join(out)


def _dass_text(dass: dict[str, Any], stored: dict[str, Any]) -> str:
    bands = [b["band"] for b in next(iter(dass.values()))["bands"]]
    rows = []
    for s, d in dass.items():
        rows.append([s, str(d["n"]), _num(d["mean"], 1), _num(d["median"], 0),
                     *(f"{b['count']} ({100 * (b['share'] or 0):.0f}%)" for b in d["bands"]),
                     stored[s]["verdict"]])
    return ("DASS-21 (doubled scores, 0..42)\n"
            + _table(["subscale", "n", "mean", "median", *bands, "stored totals"], rows))


def _ranking_text(name: str, r: dict[str, Any]) -> str:
    rows = [[str(i + 1), x["feature"], _num(x["rho"]),
             f"[{_num(x['ci_low'])}, {_num(x['ci_high'])}]", _p(x["p"]), _p(x["q"]),
             str(x["n"])] for i, x in enumerate(r["top"])]
    title = (f"Features by |rho| with {name}: {r['significant_q05']} of {r['features']} "
             f"with q < 0.05 ({r['undefined']} undefined: constant or too few values)")
    return title + "\n" + _table(["#", "feature", "rho", "95% CI", "p", "q", "n"], rows)


def format_faces_report(report: dict[str, Any]) -> str:
    """Readable terminal text of a :func:`faces_report` dict."""
    parts = [_subjects_text(report["subjects"]),
             _dass_text(report["dass"], report["stored_totals"])]
    parts += [_ranking_text(name, r) for name, r in report["ranking"].items()]
    parts.append("Notes:\n" + "\n".join(f"  - {n}" for n in report["notes"]))
    return "\n\n".join(parts) + "\n"
