"""AffectNetC25 per-image vote statistics from vote rows: what the detail panel shows.

Pure numpy on the rows :func:`faceexplorer.reports.crowd_report.image_vote_rows` reads
(``(annotator, task, expression, value)`` per vote): no SQL here. Each image's votes become
one row of an images x annotators matrix and the figures are
:mod:`faceexplorer.stats.crowd`'s, so they match the per-set table exactly.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.stats import crowd
from faceexplorer.stats.jsonready import json_ready

#: The three C25 tasks, in the order the files and the window give them.
TASKS = ("expression", "valence", "arousal")
_CODE = {e: k for k, e in enumerate(EXPRESSIONS)}


@cache   # a few dozen names, sorted at every image of a page
def annotator_key(name: str) -> tuple[str, int]:
    """Sort key of an annotator id: its text, then its trailing number (``P2`` < ``P10``)."""
    match = re.search(r"(\d+)$", name)
    return (name[: match.start()], int(match.group(1))) if match else (name, -1)


def image_vote_stats(c25_set: int, image_index: int, rows: list[tuple]) -> dict:
    """The votes of :func:`image_vote_rows` and their statistics (JSON-ready, no link).

    The statistics are :mod:`faceexplorer.stats.crowd`'s, on a one-image matrix. Plain
    numpy and dicts, not a pandas pivot: the detail panel calls this at every click, and
    the pivot, ``iterrows`` and one-row DataFrames cost ~40 ms of CPU against ~2 ms here.
    """
    return json_ready(image_vote_values(c25_set, image_index, rows))


def image_vote_values(c25_set: int, image_index: int, rows: list[tuple]) -> dict:
    """:func:`image_vote_stats` before the JSON pass: Python numbers, NaN where missing.

    For the detail panel's typed reader, which maps NaN to None itself: the recursive
    JSON pass over the votes cost ~1 ms per click.
    """
    return images_vote_values(c25_set, {int(image_index): rows})[int(image_index)]


def images_vote_values(c25_set: int, rows_by_image: dict[int, list[tuple]]
                       ) -> dict[int, dict]:
    """:func:`image_vote_values` of many images of one set, by image index.

    The statistics run once per group of images rated by the same annotators (in C25 one
    group per set), on that group's matrix: a page of 200 images costs about what one
    image did. Grouping by annotator set keeps each image's matrix row exactly its own
    votes, so every figure is bit-identical to computing the image alone.
    """
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, dict[str, Any]]]]] = {}
    for image_index, rows in rows_by_image.items():
        by_annotator: dict[str, dict[str, Any]] = {}
        for annotator, task, expression, value in rows:
            by_annotator.setdefault(annotator, {})[task] = (
                expression if task == "expression" else value)
        annotators = tuple(sorted(by_annotator, key=annotator_key))
        groups.setdefault(annotators, []).append((int(image_index), by_annotator))
    out: dict[int, dict] = {}
    for annotators, images in groups.items():
        out.update(_group_values(c25_set, annotators, images))
    return out


def _group_values(c25_set: int, annotators: tuple[str, ...],
                  images: list[tuple[int, dict[str, dict[str, Any]]]]) -> dict[int, dict]:
    """The statistics of images rated by the same ``annotators``, one matrix row each."""
    votes = [[{"annotator": a, **{t: by[a].get(t) for t in TASKS}} for a in annotators]
             for _, by in images]
    codes = np.array([[np.nan if v["expression"] is None
                       else _CODE.get(v["expression"], np.nan) for v in vs] for vs in votes],
                     dtype=float).reshape(len(images), len(annotators))
    counts = crowd.vote_counts(codes)
    majority = crowd.majority_label(counts)
    soft = crowd.soft_labels(counts)
    tie = crowd.tie_flag(counts)
    tied = crowd.tied_labels(counts)
    agreement = crowd.agreement_score(codes, majority)
    share = crowd.plurality_share(counts)
    entropy = crowd.normalised_entropy(counts)
    # Valence and arousal as the two halves of one matrix: one va_stats call for both.
    values = np.array([[[np.nan if v[t] is None else float(v[t]) for v in vs] for vs in votes]
                       for t in ("valence", "arousal")], dtype=float)
    columns = crowd.va_stats_arrays(values.reshape(2 * len(images), len(annotators)))
    out: dict[int, dict] = {}
    for i, (image_index, _) in enumerate(images):
        m = int(majority[i])
        one: dict[str, Any] = {
            "c25_set": c25_set, "image_index": image_index, "votes": votes[i],
            "n_votes": int(counts[i].sum()),
            "counts": {e: int(counts[i, k]) for k, e in enumerate(EXPRESSIONS)},
            "soft_label": {e: float(soft[i, k]) for k, e in enumerate(EXPRESSIONS)},
            "majority": EXPRESSIONS[m] if m >= 0 else None,
            "tie": bool(tie[i]),
            "tied_labels": list(tied[i]),
            "agreement": int(agreement[i]),
            "plurality_share": float(share[i]),
            "entropy": float(entropy[i]),
        }
        for k, task in enumerate(("valence", "arousal")):
            one[task] = {c: columns[c][k * len(images) + i].item() for c in columns}
        out[image_index] = one
    return out
