"""The Hugging Rain Man report: what ``faceexplorer stats hrm`` prints and the window shows.

:func:`hrm_report` gathers the figures of :mod:`faceexplorer.reports.hrm_stats` into one
JSON-ready dict (plain lists, dicts, numbers; None where a figure is undefined), either for
the whole dataset or for one child (then also that child's segments and, when its OpenFace
CSV was imported, OpenFace's agreement with the coders). :func:`format_hrm_report` turns
that dict, and only it, into readable fixed-width terminal tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from faceexplorer.core.vocab import HRM_AU22
from faceexplorer.reports import hrm_stats as hs
from faceexplorer.stats.jsonready import json_ready

TOP_PAIRS = 10
NOTES = (
    "An AU is active when its cell is non-zero (1 present, 2..5 present with laterality).",
    "Atypicality = mean of the five raters' levels (0..4) on frames all five rated.",
    "Frames of one child are correlated: frame-level intervals (Wilson, ICC's F interval) "
    "are too narrow for statements about children; use the child-level bootstrap intervals.",
)


def _top_pairs(counts: pd.DataFrame, conditional: pd.DataFrame) -> list[dict[str, Any]]:
    aus = list(counts.index)
    pairs = [(int(counts.iat[i, j]), a, b) for i, a in enumerate(aus)
             for j, b in enumerate(aus) if i < j and counts.iat[i, j] > 0]
    pairs.sort(key=lambda p: -p[0])
    return [{"a": a, "b": b, "frames": n, "p_b_given_a": conditional.at[a, b],
             "p_a_given_b": conditional.at[b, a]} for n, a, b in pairs[:TOP_PAIRS]]


def hrm_report(con: duckdb.DuckDBPyConnection, child: str | None = None,
               aus: Sequence[str] = HRM_AU22, n_boot: int = hs.N_BOOT,
               seed: int = hs.SEED) -> dict[str, Any]:
    """Everything the HRM statistics view shows, as a JSON-ready dict.

    Parameters
    ----------
    con : DuckDB connection to the index.
    child : one child's id (e.g. ``"S6"``), or None for the whole dataset.
    aus : AU columns to report (default the 22 of the published models).
    n_boot, seed : cluster-bootstrap replicates and seed of the group intervals.

    Returns
    -------
    dict
        ``dataset`` (totals), ``aus``, ``prevalence`` (per AU and group, see
        :func:`hrm_stats.prevalence_by_group`), and for the scope (dataset or child):
        ``rater_agreement``, ``au_vs_atypicality``, ``cooccurrence`` (matrices in ``aus``
        order and the most frequent pairs); ``child`` (None, or the child's prevalence,
        segments and ``openface`` agreement or None); ``notes``; ``settings``.
    """
    aus = list(aus)
    if child is not None:
        hs._check_child(con, child)
    totals = con.execute(
        f"SELECT (SELECT count(*) FROM hrm_children), "
        "(SELECT count(*) FROM hrm_children WHERE grp = 'ASD'), "
        "(SELECT count(*) FROM hrm_children WHERE grp = 'TD'), count(*), "
        f"count({hs.ATYPICALITY}), (SELECT count(*) FROM hrm_segments) FROM hrm_frames"
    ).fetchone()
    assert totals is not None
    keys = ("children", "children_asd", "children_td", "frames", "rated_frames", "segments")
    # one scan of the frame table serves prevalence, co-occurrence and atypicality
    patterns = hs.au_patterns(con, aus)
    co = hs.cooccurrence(con, child, aus, patterns)
    report: dict[str, Any] = {
        "scope": child or "all",
        "dataset": dict(zip(keys, totals, strict=True)),
        "aus": aus,
        "prevalence": hs.prevalence_by_group(con, aus, n_boot, seed, patterns=patterns),
        "rater_agreement": hs.rater_agreement(con, child),
        "au_vs_atypicality": hs.au_vs_atypicality(con, aus, child=child, patterns=patterns),
        "cooccurrence": {"frames": co["frames"], "counts": co["counts"].to_numpy(),
                         "conditional": co["conditional"].to_numpy(),
                         "top_pairs": _top_pairs(co["counts"], co["conditional"])},
        "child": None,
        "notes": list(NOTES),
        "settings": {"n_boot": n_boot, "seed": seed, "confidence": 0.95},
    }
    if child is not None:
        grp, n_frames, n_segments = con.execute(
            "SELECT grp, n_frames, n_segments FROM hrm_children WHERE child = ?",
            [child]).fetchone()  # type: ignore[misc]
        has_openface = child in hs.openface_children(con)
        report["child"] = {
            "child": child, "group": grp, "frames": n_frames, "segments": n_segments,
            "prevalence": hs.child_prevalence(con, child, aus, patterns=patterns),
            "segment_summary": hs.segment_summary(con, child, aus),
            "openface": hs.openface_agreement(con, child) if has_openface else None,
        }
        if has_openface:
            report["notes"].append(
                "OpenFace frame f + 1 is HRM frame f (OpenFace counts video frames from 1); "
                "only frames OpenFace tracked (success = 1) are compared.")
    return json_ready(report)


# --- terminal text ---------------------------------------------------------------------
def _num(x: Any, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _ci(low: Any, high: Any, pct: bool = True) -> str:
    if low is None or high is None:
        return "-"
    return f"[{_pct(low)}, {_pct(high)}]" if pct else f"[{_num(low)}, {_num(high)}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ",
           text_last: bool = False) -> str:
    """Fixed-width table: first column (and a free-text last one) left, numbers right."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    left = {0, len(widths) - 1} if text_last else {0}

    def line(cells: Sequence[str]) -> str:
        return indent + "  ".join(str(c).ljust(w) if i in left else str(c).rjust(w)
                                  for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
    return "\n".join(line(r).rstrip() for r in (header, *rows))


def _prevalence_text(report: dict[str, Any]) -> str:
    by = {(r["au"], r["group"]): r for r in report["prevalence"]}
    aus = report["aus"]
    n = {g: by[(aus[0], g)]["children"] for g in (*hs.GROUPS, "all")} if aus else {}
    # children without a group count only in "all": show it when there are any
    groups = [*hs.GROUPS, "all"] if n and n["all"] > n["ASD"] + n["TD"] else list(hs.GROUPS)
    child = report["child"]
    mine = {r["au"]: r for r in child["prevalence"]} if child else {}
    header = ["AU"] + ([f"{child['child']} %", "frames CI"] if child else [])
    for g in groups:
        header += [f"{g} %", "frames CI", "children CI"]
    header += ["ASD-TD", "children CI"]
    rows = []
    for au in aus:
        row = [au]
        if child:
            row += [_pct(mine[au]["share"]), _ci(mine[au]["wilson_low"], mine[au]["wilson_high"])]
        for g in groups:
            r = by[(au, g)]
            row += [_pct(r["share"]), _ci(r["wilson_low"], r["wilson_high"]),
                    _ci(r["boot_low"], r["boot_high"])]
        d = by[(au, hs.DIFFERENCE)]
        rows.append(row + [_pct(d["share"]), _ci(d["boot_low"], d["boot_high"])])
    counts = ", ".join(f"{g} {n.get(g, 0)}" for g in groups)
    title = (f"AU prevalence, % of frames (children: {counts}); 95% CI over frames (Wilson) "
             "and over children (cluster bootstrap)")
    return title + "\n" + _table(header, rows)


def _raters_text(ra: dict[str, Any], scope: str) -> str:
    head = f"Atypicality raters ({scope}: {ra['frames']:,} frames rated by all five)"
    if not ra["icc"]:
        return head + "\n  too few rated frames for agreement"
    icc = "   ".join(f"{form} {_num(v['value'])} {_ci(v['ci_low'], v['ci_high'], False)}"
                     for form, v in ra["icc"].items())
    alpha = f"Krippendorff's alpha (ordinal) {_num(ra['krippendorff_alpha_ordinal'])}"
    rows = [[r["rater"], _num(r["mean"], 2), _num(r["sd"], 2), _num(r["r_with_others"])]
            for r in ra["raters"]]
    return "\n".join([head, f"  {icc}", f"  {alpha}",
                      _table(["rater", "mean", "sd", "r with others' mean"], rows)])


def _atypicality_text(rows: list[dict[str, Any]]) -> str:
    body = [[r["au"], f"{r['active_frames']:,}", _num(r["mean_active"], 2),
             _num(r["mean_inactive"], 2), _num(r["point_biserial"])] for r in rows]
    return ("AU activity vs atypicality (rated frames)\n"
            + _table(["AU", "active", "mean if active", "mean if not", "point-biserial r"],
                     body))


def _cooccurrence_text(co: dict[str, Any]) -> str:
    rows = [[f"{p['a']} & {p['b']}", f"{p['frames']:,}", _num(p["p_b_given_a"], 2),
             _num(p["p_a_given_b"], 2)] for p in co["top_pairs"]]
    return (f"Most frequent AU pairs ({co['frames']:,} frames)\n"
            + _table(["pair", "frames", "P(B|A)", "P(A|B)"], rows))


def _child_text(child: dict[str, Any], aus: Sequence[str]) -> str:
    out = [f"Segments of {child['child']} ({child['group'] or 'no group'}, "
           f"{child['frames']:,} frames, {child['segments']} segments)"]
    rows = []
    for s in child["segment_summary"]:
        top = sorted(((s[a], a) for a in aus if s[a]), reverse=True)[:3]
        rows.append([str(s["segment"]), str(s["start_frame"]), str(s["end_frame"]),
                     str(s["n_frames"]), _num(s["mean_atypicality"], 2),
                     ", ".join(f"{a} {_pct(v)}%" for v, a in top) or "-"])
    out.append(_table(["segment", "start", "end", "frames", "atypicality", "most active AUs"],
                      rows, text_last=True))
    of = child["openface"]
    if of:
        out.append(f"\nOpenFace vs coders ({of['aligned']:,} of {of['labelled_frames']:,} "
                   f"labelled frames tracked; {of['failed']:,} failed; macro F1 "
                   f"{_num(of['macro_f1'])})")
        rows = [[f"{r['openface_au']}>{r['hrm_au']}", str(r["frames"]),
                 _pct(r["prevalence_human"]), _pct(r["prevalence_openface"]),
                 _num(r["f1"]), _num(r["kappa"]), r["note"]] for r in of["aus"]]
        out.append(_table(["AU", "frames", "coders %", "OpenFace %", "F1", "kappa", "note"],
                          rows, text_last=True))
    return "\n".join(out)


def format_hrm_report(report: dict[str, Any]) -> str:
    """The report of :func:`hrm_report` as terminal text (fixed-width tables)."""
    d = report["dataset"]
    parts = [f"Hugging Rain Man: {d['children']} children ({d['children_asd']} ASD, "
             f"{d['children_td']} TD), {d['frames']:,} frames, {d['segments']:,} segments, "
             f"{d['rated_frames']:,} rated",
             _prevalence_text(report),
             _raters_text(report["rater_agreement"], report["scope"])]
    if report["child"]:
        parts.append(_child_text(report["child"], report["aus"]))
    parts += [_atypicality_text(report["au_vs_atypicality"]),
              _cooccurrence_text(report["cooccurrence"]),
              "Notes:\n" + "\n".join(f"  - {n}" for n in report["notes"])]
    return "\n\n".join(parts) + "\n"
