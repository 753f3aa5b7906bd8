"""AffectNetC25 look-ups every layer above needs: the sets, and one image's vote rows.

Queries, not statistics: the report builders (:mod:`faceexplorer.reports.crowd_report`,
``image_detail``), the browser's set filter and the stored set views read through here;
the figures come from :mod:`faceexplorer.stats.crowd_images`.
"""

from __future__ import annotations

import duckdb

from faceexplorer.index.store import table_exists


def c25_sets(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The AffectNetC25 sets in the index, ascending (empty when none was imported)."""
    if not table_exists(con, "c25_images"):
        return []
    return [int(r[0]) for r in con.execute(
        "SELECT DISTINCT c25_set FROM c25_images ORDER BY 1").fetchall()]


def image_vote_rows(con: duckdb.DuckDBPyConnection, c25_set: int,
                    image_index: int) -> list[tuple]:
    """One C25 image's votes as ``(annotator, task, expression, value)`` rows.

    Raises
    ------
    KeyError
        The set holds no such image.
    """
    rows = con.execute(
        "SELECT annotator, task, expression, value FROM c25_votes "
        "WHERE c25_set = ? AND image_index = ?", [c25_set, int(image_index)]).fetchall()
    if not rows:
        raise KeyError(f"no AffectNetC25 image {image_index} in set {c25_set}")
    return rows
