"""AffectNetC25 crowd statistics read from the index: per image, per set, as text.

The index stores votes long (``c25_votes``: one row per set, task, image and annotator);
this module pivots one set and task into the images x annotators matrix the pure
statistics modules take (images in file order, annotators by participant number,
expressions as canonical codes) and assembles what the window and the terminal show:
``set_image_stats`` (one row per image, for sorting and filtering), ``image_votes`` (the
detail panel), ``crowd_report`` (JSON-ready set-level figures) and ``format_crowd_report``.
A report builder (above ``index`` and ``stats``): it reads with SQL and leaves every figure
to the pure modules: :mod:`faceexplorer.stats.crowd_sets` per set,
:mod:`faceexplorer.stats.crowd` per image of a set, :mod:`faceexplorer.stats.crowd_images`
per image clicked (the same numbers, from vote rows).
A C25 image links to AffectNet's ``training.csv`` row ``split='train', row_index =
image_index`` when that row exists and its file name matches.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.index.c25_query import c25_sets, image_vote_rows
from faceexplorer.index.store import table_exists
from faceexplorer.stats import crowd
from faceexplorer.stats.crowd_images import TASKS, annotator_key, image_vote_stats
from faceexplorer.stats.crowd_sets import set_figures
from faceexplorer.stats.dawid_skene import DawidSkeneResult, dawid_skene
from faceexplorer.stats.jsonready import json_ready

_LABELS = "[" + ", ".join(f"'{e}'" for e in EXPRESSIONS) + "]"


# --- reading the index ------------------------------------------------------------------
def vote_matrix(con: duckdb.DuckDBPyConnection, c25_set: int, task: str) -> pd.DataFrame:
    """One set's votes on ``task`` as images (rows, file order) x annotators (columns).

    Expression votes are canonical codes 0..7 (``vocab.EXPRESSIONS``), V/A votes values;
    NaN where an annotator has no vote. The index is ``image_index``.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if c25_set not in c25_sets(con):
        raise KeyError(f"AffectNetC25 set {c25_set} is not in the index "
                       f"(sets present: {c25_sets(con) or 'none'})")
    # Laid out by position in numpy: a pandas label map and pivot cost ~15 ms per call.
    vote = (f"list_position({_LABELS}, expression) - 1" if task == "expression"
            else "value")
    long = con.execute(f"SELECT image_index, annotator, {vote} AS vote FROM c25_votes "
                       "WHERE c25_set = ? AND task = ?", [c25_set, task]).fetchnumpy()
    order = np.asarray(con.execute(
        "SELECT image_index FROM c25_images WHERE c25_set = ? ORDER BY line",
        [c25_set]).fetchnumpy()["image_index"], dtype=np.int64)
    codes, names = pd.factorize(np.asarray(long["annotator"], dtype=object))
    columns = sorted(sorted(names), key=annotator_key)   # as pandas' pivot, then by number
    position = np.empty(len(names), dtype=np.int64)
    position[pd.Index(names).get_indexer(columns)] = np.arange(len(names))
    rows = pd.Index(order).get_indexer(np.asarray(long["image_index"], dtype=np.int64))
    keep = rows >= 0
    wide = np.full((len(order), len(names)), np.nan)
    wide[rows[keep], position[codes[keep]]] = np.ma.filled(
        np.ma.asarray(long["vote"], dtype=np.float64), np.nan)[keep]
    # copy=False keeps ``to_numpy()`` this C-ordered array, as the pivot gave: the row
    # statistics sum in memory order, so the layout decides the last bit.
    return pd.DataFrame(wide, index=pd.Index(order, name="image_index"),
                        columns=pd.Index(columns, name="annotator"), copy=False)


def set_vote_matrices(con: duckdb.DuckDBPyConnection, c25_set: int
                      ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray],
                                 dict[str, list[str]]]:
    """One set's images (``image_index`` and file names, file order) and, per task, the
    images x annotators vote matrix as :func:`vote_matrix` gives it, and its annotators:
    two queries for the whole set (the per-image table and :func:`set_votes` read it).

    Expression votes are canonical codes, V/A votes values, NaN where an annotator has
    no vote; each task's columns are its annotators in participant-number order (the
    order the statistics sum in).
    """
    images = con.execute("SELECT image_index, filename FROM c25_images WHERE c25_set = ? "
                         "ORDER BY line", [c25_set]).fetchnumpy()
    order = np.asarray(images["image_index"], dtype=np.int64)
    votes = con.execute(
        "SELECT task, image_index, annotator, CASE WHEN task = 'expression' THEN "
        f"list_position({_LABELS}, expression) - 1 ELSE value END AS vote "
        "FROM c25_votes WHERE c25_set = ?", [c25_set]).fetchnumpy()
    task = np.asarray(votes["task"], dtype=object)
    row_all = pd.Index(order).get_indexer(np.asarray(votes["image_index"], dtype=np.int64))
    vote_all = np.ma.filled(np.ma.asarray(votes["vote"], dtype=np.float64), np.nan)
    annotator_all = np.asarray(votes["annotator"], dtype=object)
    matrices: dict[str, np.ndarray] = {}
    annotators: dict[str, list[str]] = {}
    for name in TASKS:
        mine = np.flatnonzero(task == name)
        codes, names = pd.factorize(annotator_all[mine])
        # pandas' pivot sorts the names; vote_matrix then orders them by participant.
        columns = sorted(sorted(names), key=annotator_key)
        where = pd.Index(names).get_indexer(columns)
        position = np.empty(len(names), dtype=np.int64)
        position[where] = np.arange(len(names))
        matrix = np.full((len(order), len(names)), np.nan)
        rows = row_all[mine]
        keep = rows >= 0
        matrix[rows[keep], position[codes[keep]]] = vote_all[mine][keep]
        matrices[name], annotators[name] = matrix, columns
    return order, np.asarray(images["filename"], dtype=object), matrices, annotators


def set_votes(con: duckdb.DuckDBPyConnection, c25_set: int) -> dict[str, pd.DataFrame]:
    """The set's three :func:`vote_matrix` es, V/A on the expression matrix's rows: read
    once (:func:`set_vote_matrices`) and handed to :func:`crowd_report` and
    ``crowd_views.set_view``."""
    if c25_set not in c25_sets(con):
        raise KeyError(f"AffectNetC25 set {c25_set} is not in the index "
                       f"(sets present: {c25_sets(con) or 'none'})")
    order, _, matrices, annotators = set_vote_matrices(con, c25_set)
    index = pd.Index(order, name="image_index")
    # copy=False: each frame's to_numpy() is its C-ordered matrix, as vote_matrix gives.
    return {t: pd.DataFrame(matrices[t], index=index,
                            columns=pd.Index(annotators[t], name="annotator"), copy=False)
            for t in TASKS}


def _affectnet_rows(con: duckdb.DuckDBPyConnection, c25_set: int,
                    image_index: int | None = None) -> pd.DataFrame:
    """AffectNet's label and V/A per C25 image of the set, or of one image (NA: not linked)."""
    one = "" if image_index is None else f" AND image_index = {int(image_index)}"
    images = con.execute("SELECT image_index, filename FROM c25_images WHERE c25_set = ?"
                         f"{one} ORDER BY line", [c25_set]).df()
    cols = ["affectnet_expression", "affectnet_valence", "affectnet_arousal"]
    if not table_exists(con, "affectnet_images"):
        return images.assign(**{c: pd.NA for c in cols})
    linked = con.execute("""
        SELECT c.image_index, a.expression AS affectnet_expression,
               a.valence AS affectnet_valence, a.arousal AS affectnet_arousal
        FROM c25_images c JOIN affectnet_images a
          ON a.split = 'train' AND a.row_index = c.image_index AND a.filename = c.filename
        WHERE c.c25_set = ?""" + one.replace("image_index", "c.image_index"),
        [c25_set]).df()
    return images.merge(linked, on="image_index", how="left")


#: The last few fits of :func:`fitted_dawid_skene`, by the votes' content.
_FITS: OrderedDict[tuple, DawidSkeneResult] = OrderedDict()
_FITS_KEPT = 4


def fitted_dawid_skene(codes: np.ndarray) -> DawidSkeneResult:
    """:func:`dawid_skene` of ``codes`` (default settings), fitted once per distinct matrix.

    A C25 import needs each set's fit three times (the per-image table, the set report,
    the set view's confusions) from equal matrices; the fit is deterministic, so the
    same result is handed back (its arrays read-only) instead of refitting (~40 ms of
    CPU a fit at full scale). Keyed by the matrix's shape and a digest of its bytes.
    """
    c = np.ascontiguousarray(codes, dtype=np.float64)
    key = (c.shape, hashlib.blake2b(c.tobytes(), digest_size=16).digest())
    fit = _FITS.get(key)
    if fit is None:
        fit = dawid_skene(c)
        for array in (fit.posterior, fit.labels, fit.priors, fit.confusions):
            array.setflags(write=False)
        _FITS[key] = fit
        while len(_FITS) > _FITS_KEPT:
            _FITS.popitem(last=False)
    else:
        _FITS.move_to_end(key)
    return fit


# --- per image --------------------------------------------------------------------------
def set_image_stats(con: duckdb.DuckDBPyConnection, c25_set: int,
                    with_dawid_skene: bool = True) -> pd.DataFrame:
    """Every per-image statistic of one set, one row per image (file order).

    Returns
    -------
    DataFrame
        ``c25_set``, ``image_index``, ``filename``; the expression columns of
        :func:`crowd.expression_stats`; ``valence_*`` and ``arousal_*`` columns of
        :func:`crowd.va_stats`; ``ds_label`` and ``ds_confidence`` (Dawid-Skene, when
        asked); ``affectnet_expression``/``_valence``/``_arousal`` (NA when not linked).
    """
    expr = vote_matrix(con, c25_set, "expression")
    table = crowd.expression_stats(expr.to_numpy())
    for task in ("valence", "arousal"):
        va = crowd.va_stats(vote_matrix(con, c25_set, task).reindex(expr.index).to_numpy())
        table = pd.concat([table, va.add_prefix(f"{task}_")], axis=1)
    if with_dawid_skene:
        ds = dawid_skene(expr.to_numpy())
        table["ds_label"] = [EXPRESSIONS[k] for k in ds.labels]
        table["ds_confidence"] = ds.posterior.max(axis=1)
    links = _affectnet_rows(con, c25_set)
    front = pd.DataFrame({"c25_set": c25_set, "image_index": expr.index.to_numpy()})
    table = pd.concat([front, table], axis=1)
    return table.merge(links, on="image_index", how="left")[
        ["c25_set", "image_index", "filename", *table.columns[2:], *links.columns[2:]]]


def image_votes(con: duckdb.DuckDBPyConnection, c25_set: int, image_index: int) -> dict:
    """Everything the detail panel shows about one C25 image (JSON-ready).

    Returns
    -------
    dict
        ``votes`` (one entry per annotator: id, expression, valence, arousal), the
        expression ``counts`` and ``soft_label`` (canonical order), ``majority``, ``tie``,
        ``tied_labels``, ``agreement``, ``plurality_share``, ``entropy``; ``valence`` and
        ``arousal`` statistics; ``filename``; ``affectnet`` (label, valence, arousal) or None.
    """
    out = image_vote_stats(c25_set, image_index, image_vote_rows(con, c25_set, image_index))
    linked = table_exists(con, "affectnet_images")
    join = ("LEFT JOIN affectnet_images a ON a.split = 'train' AND a.row_index = "
            "c.image_index AND a.filename = c.filename" if linked else "")
    cols = "a.expression, a.valence, a.arousal" if linked else "NULL, NULL, NULL"
    link = con.execute(f"SELECT c.filename, {cols} FROM c25_images c {join} "
                       "WHERE c.c25_set = ? AND c.image_index = ? LIMIT 1",
                       [c25_set, int(image_index)]).fetchone()
    out["filename"] = link[0] if link else None
    out["affectnet"] = ({"expression": link[1], "valence": link[2], "arousal": link[3]}
                        if link and link[1] is not None else None)
    return json_ready(out)


# --- per set ----------------------------------------------------------------------------
def crowd_report(con: duckdb.DuckDBPyConnection, c25_set: int | None = None,
                 votes: dict[str, pd.DataFrame] | None = None) -> dict:
    """Set-level agreement figures for one AffectNetC25 set, or every set (None).

    ``votes``: that one set's :func:`set_votes`, when the caller has read them already.

    Returns
    -------
    dict
        JSON-ready: ``{"sets": {"1": {"expression": ..., "valence": ..., "arousal": ...}}}``.
        Expression: Fleiss' kappa, Krippendorff's alpha (nominal), agreement histogram,
        annotator ranking (by leave-one-out agreement), Dawid-Skene summary and, when
        AffectNet rows are linked, the majority-vs-AffectNet confusion. V/A: alpha
        (interval and ordinal), ICC(2,1) and ICC(2,k) with 95% CIs, agreement histogram.
    """
    sets = c25_sets(con) if c25_set is None else [c25_set]
    if votes is not None and c25_set is None:
        raise ValueError("votes are one set's: name the set")
    return json_ready({"sets": {str(s): _set_report(con, s, votes) for s in sets}})


def _set_report(con: duckdb.DuckDBPyConnection, c25_set: int,
                votes: dict[str, pd.DataFrame] | None = None) -> dict:
    votes = votes if votes is not None else set_votes(con, c25_set)
    links = _affectnet_rows(con, c25_set)   # one read for the three tasks' comparisons
    return set_figures(votes, links, fitted_dawid_skene(votes["expression"].to_numpy()))


# --- terminal ---------------------------------------------------------------------------
def _num(x: Any, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def format_crowd_report(report: dict, top: int = 5) -> str:
    """A readable plain-text rendering of :func:`crowd_report` for the terminal."""
    lines: list[str] = []
    for name, s in report["sets"].items():
        e = s["expression"]
        lines += [f"AffectNetC25 set {name}: {e['n_images']} images x "
                  f"{e['n_annotators']} annotators", ""]
        lines.append(f"  {'task':<11}{'Fleiss k':>9}{'alpha nom':>10}{'alpha int':>10}"
                     f"{'alpha ord':>10}{'ICC(2,1) [95% CI]':>26}{'ICC(2,k) [95% CI]':>26}"
                     f"{'mean agree':>11}")
        lines.append(f"  {'expression':<11}{_num(e['fleiss_kappa']):>9}"
                     f"{_num(e['krippendorff_alpha_nominal']):>10}{'':>10}{'':>10}"
                     f"{'':>26}{'':>26}{e['mean_agreement']:>11.2f}")
        for task in ("valence", "arousal"):
            t = s[task]
            cis = [f"{i['value']:.3f} [{i['ci_low']:.3f}, {i['ci_high']:.3f}]"
                   for i in (t["icc"]["ICC(2,1)"], t["icc"]["ICC(2,k)"])]
            lines.append(f"  {task:<11}{'':>9}{'':>10}"
                         f"{_num(t['krippendorff_alpha_interval']):>10}"
                         f"{_num(t['krippendorff_alpha_ordinal']):>10}"
                         f"{cis[0]:>26}{cis[1]:>26}{t['mean_agreement']:>11.2f}")
        ds = e["dawid_skene"]
        state = "converged" if ds["converged"] else "NOT converged"
        lines += ["", f"  Expression majority ties: {e['ties']}; Dawid-Skene: "
                  f"{ds['iterations']} iterations ({state}), "
                  f"label = majority on {ds['agreement_with_majority']:.1%} of images", ""]
        lines.append(f"  Annotators ranked by {e['annotator_ranking_by']}:")
        lines.append(f"  {'rank':>4}  {'annotator':<22}{'LOO agree':>10}{'all agree':>10}"
                     f"{'mean kappa':>11}{'DS accuracy':>12}")
        ranked = e["annotators"]
        shown = ranked if len(ranked) <= 2 * top else ranked[:top] + [None] + ranked[-top:]
        for a in shown:
            if a is None:
                lines.append(f"  {'...':>4}")
                continue
            lines.append(f"  {a['rank']:>4}  {a['annotator']:<22}{a['loo_agreement']:>10.3f}"
                         f"{a['majority_agreement']:>10.3f}{_num(a['mean_cohens_kappa']):>11}"
                         f"{_num(a['ds_accuracy']):>12}")
        link = e["affectnet"]
        if link is None:
            lines += ["", "  AffectNet: not linked (import AffectNet's training.csv to compare)"]
        else:
            lines += ["", f"  Crowd majority vs AffectNet label ({link['linked']} linked images, "
                      f"equal on {link['majority_equals_affectnet']:.1%}); rows AffectNet, "
                      "columns crowd majority:"]
            short = [x[:5] for x in EXPRESSIONS]
            lines.append(f"  {'':<10}" + "".join(f"{c:>7}" for c in short))
            for ref, row in link["confusion"].items():
                lines.append(f"  {ref:<10}" + "".join(f"{row[c]:>7}" for c in EXPRESSIONS))
        lines.append("")
    return "\n".join(lines) if lines else "No AffectNetC25 set in the index."
