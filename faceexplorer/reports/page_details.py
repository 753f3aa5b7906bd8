"""The details of many images at once: a browser page's worth in a few queries, no Qt.

:func:`page_details` gives, for each ``(split, row_index)`` key, exactly the
:class:`ImageDetail` that :func:`image_detail.image_detail` gives for that key alone (same
AffectNet row, same crowd set and statistics, same predictions in the same order; the
tests compare every field). It costs one query per part instead of two or three per
image: the AffectNet rows of every key, the C25 votes of every C25 image of the page
(grouped by set), and the stored predictions of every key. The crowd statistics run on
one matrix per set (:func:`crowd_images.images_vote_values`), not once per image.

The browser's detail read-ahead (``gui/detail/read_ahead.py``) calls it on a worker for
the page just shown, so that clicking any image of the page costs the image file and a
paint, not the queries. Keys the index does not know are left out of the answer (the
click then asks :func:`image_detail`, which explains what is missing).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

import duckdb

from faceexplorer.index.predictions import (
    PREDICTION_SELECT,
    ImagePrediction,
    prediction_from_row,
)
from faceexplorer.reports.image_detail import (
    AFFECTNET_COLUMNS,
    AffectNetRow,
    CrowdVotes,
    ImageDetail,
    affectnet_from_row,
    crowd_votes,
)
from faceexplorer.stats.crowd_images import images_vote_values

Key = tuple[str, int]


def page_details(con: duckdb.DuckDBPyConnection, keys: Iterable[Key],
                 tables: Collection[str],
                 c25_names: Mapping[int, dict[int, str | None]]) -> dict[Key, ImageDetail]:
    """:func:`image_detail.image_detail` of every key (default C25 set), by key.

    ``tables`` and ``c25_names`` are the panel's per-connection :func:`index_tables` and
    :func:`c25_image_names`. ``con`` is not thread-safe: a worker passes its own cursor.
    """
    wanted = list(dict.fromkeys((str(s), int(r)) for s, r in keys))
    if not wanted:
        return {}
    affectnet = (_affectnet_rows(con, wanted) if "affectnet_images" in tables else {})
    # The image's lowest C25 set, as image_detail picks by default.
    sets = {}
    if "c25_images" in tables:
        sets = {k: min(c25_names[k[1]]) for k in wanted
                if k[0] == "train" and c25_names.get(k[1])}
    crowd = _crowd(con, sets, c25_names)
    predictions = _predictions(con, wanted) if "predictions" in tables else {}
    out: dict[Key, ImageDetail] = {}
    for key in wanted:
        a, c = affectnet.get(key), crowd.get(key)
        if (a is None and c is None) or (key in sets and c is None):
            continue  # unknown, or listed without votes: image_detail says why on a click
        names = c25_names.get(key[1], {}) if key in sets else {}
        out[key] = ImageDetail(split=key[0], row_index=key[1], affectnet=a, crowd=c,
                               crowd_sets=tuple(sorted(names)),
                               predictions=tuple(predictions.get(key, ())))
    return out


def _by_split(keys: list[Key]) -> dict[str, list[int]]:
    split_rows: dict[str, list[int]] = {}
    for split, row in keys:
        split_rows.setdefault(split, []).append(row)
    return split_rows


def _affectnet_rows(con: duckdb.DuckDBPyConnection, keys: list[Key]
                    ) -> dict[Key, AffectNetRow]:
    out: dict[Key, AffectNetRow] = {}
    for split, rows in _by_split(keys).items():
        found = con.execute(
            f"SELECT {AFFECTNET_COLUMNS} FROM affectnet_images WHERE split = ? AND "
            "row_index = ANY(?)", [split, rows]).fetchall()
        for row in found:
            key = (row[0], int(row[1]))
            out.setdefault(key, affectnet_from_row(row))  # image_detail: LIMIT 1
    return out


def _crowd(con: duckdb.DuckDBPyConnection, sets: dict[Key, int],
           c25_names: Mapping[int, dict[int, str | None]]) -> dict[Key, CrowdVotes]:
    by_set: dict[int, list[int]] = {}
    for (_, image_index), c25_set in sets.items():
        by_set.setdefault(c25_set, []).append(image_index)
    out: dict[Key, CrowdVotes] = {}
    for c25_set, images in by_set.items():
        rows: dict[int, list[tuple]] = {}
        for image_index, *vote in con.execute(
                "SELECT image_index, annotator, task, expression, value FROM c25_votes "
                "WHERE c25_set = ? AND image_index = ANY(?)", [c25_set, images]).fetchall():
            rows.setdefault(int(image_index), []).append(tuple(vote))
        for image_index, values in images_vote_values(c25_set, rows).items():
            name = c25_names[image_index][c25_set]
            out[("train", image_index)] = crowd_votes({**values, "filename": name})
    return out


def _predictions(con: duckdb.DuckDBPyConnection, keys: list[Key]
                 ) -> dict[Key, list[ImagePrediction]]:
    out: dict[Key, list[ImagePrediction]] = {}
    for split, rows in _by_split(keys).items():
        found = con.execute(
            f"SELECT p.split, p.row_index, {PREDICTION_SELECT} WHERE p.split = ? AND "
            "p.row_index = ANY(?) ORDER BY r.started_at", [split, rows]).fetchall()
        for row in found:
            out.setdefault((row[0], int(row[1])), []).append(prediction_from_row(row[2:]))
    return out
