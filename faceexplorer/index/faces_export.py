"""Export of the browser's selection with its crowd statistics and votes (no pyarrow).

``export_selection`` writes the filtered selection in the browser's sort order with
DuckDB ``COPY`` (CSV or Parquet): the browser columns, every per-image crowd statistic,
the face box and image path, then the votes WIDE, one column per participant and task
(``expression_p0`` .. ``arousal_p24``). The participant columns are numbered within the
image's set: ``expression_p3`` of a ``c25_set = 2`` row is annotator ``set2/participant3``
(the sets were rated by different people). Wide keeps one row per image, which is what a
spreadsheet or ``pandas.read_csv`` user expects next to per-image statistics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import duckdb

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.index.faces_query import (
    _ROW_FIELDS,
    _STATS_TABLE,
    BROWSE_TABLE,
    ImageFilter,
    ImageSort,
    Sources,
    count_images,
    order_sql,
    prepare_browse,
    qualified,
    where_sql,
)
from faceexplorer.index.store import table_exists

# Crowd columns beyond the browser's, exported with the selection.
_EXPORT_STATS = ("n_votes", "majority_raw", "tied_labels", *(f"p_{e}" for e in EXPRESSIONS),
                 "valence_median", "valence_iqr", "valence_agreement", "arousal_median",
                 "arousal_iqr", "arousal_agreement", "ds_confidence")


def export_selection(con: duckdb.DuckDBPyConnection, flt: ImageFilter, sort: ImageSort,
                     path: Path, fmt: Literal["csv", "parquet"] = "csv") -> int:
    """Write the selection with its crowd statistics and votes to ``path``.

    Parameters
    ----------
    con
        Connection to the index (read-only is fine: COPY writes only ``path``).
    flt, sort
        The browser's filter and order (rows are written in that order).
    path
        Output file (replaced).
    fmt
        ``"csv"`` (header, comma, NULL as empty) or ``"parquet"``.

    Returns
    -------
    int
        Rows written.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"export format must be 'csv' or 'parquet', not {fmt!r}")
    src = prepare_browse(con)
    if not src.any:
        raise LookupError("nothing to export: the index holds neither AffectNet nor C25")
    where, params = where_sql(flt)
    labels = ("split", "expression", "majority", "ds_label")
    select = [f"b.{c}::VARCHAR AS {c}" if c in labels else f"b.{c}" for c in _ROW_FIELDS]
    joins = []
    if src.c25_stats:
        select += [f"s.{c}" for c in _EXPORT_STATS]
        joins.append(f"LEFT JOIN {_STATS_TABLE} s ON s.c25_set = b.c25_set "
                     "AND s.image_index = b.row_index AND b.split = 'train'")
    if src.affectnet:
        # Where the file is, from the browse table itself (it keeps no AffectNet rowid).
        select += ["b.image_root::VARCHAR AS image_root", "b.subdir || b.filename AS sub_path",
                   "b.face_x", "b.face_y", "b.face_w", "b.face_h"]
    votes_join, vote_cols = _votes_sql(con, src)
    select += vote_cols
    if votes_join:
        joins.append(votes_join)
    order = order_sql(sort).replace("pos", "b.pos")
    if sort.column != "key":
        order = "b." + order
    sql = (f"SELECT {', '.join(select)} FROM {BROWSE_TABLE} b {' '.join(joins)} "
           f"WHERE {qualified(where)} ORDER BY {order}")
    target = str(Path(path)).replace("'", "''")
    options = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet"
    con.execute(f"COPY ({sql}) TO '{target}' ({options})", params)
    return count_images(con, flt)


def _votes_sql(con: duckdb.DuckDBPyConnection, src: Sources) -> tuple[str, list[str]]:
    """LEFT JOIN of the wide votes and its columns (nothing without C25)."""
    if not (src.c25 and table_exists(con, "c25_votes")):
        return "", []
    participant = "CAST(regexp_extract(annotator, '(\\d+)$', 1) AS INTEGER)"
    numbers = [int(r[0]) for r in con.execute(
        f"SELECT DISTINCT {participant} FROM c25_votes ORDER BY 1").fetchall()
        if r[0] is not None]
    aggs, cols = [], []
    for task in ("expression", "valence", "arousal"):
        value = "expression" if task == "expression" else "value"
        for k in numbers:
            aggs.append(f"any_value({value}) FILTER (WHERE task = '{task}' AND p = {k}) "
                        f"AS {task}_p{k}")
            cols.append(f"v.{task}_p{k}")
    join = (f"LEFT JOIN (SELECT c25_set, image_index, {', '.join(aggs)} FROM "
            f"(SELECT *, {participant} AS p FROM c25_votes) GROUP BY c25_set, image_index) v "
            "ON v.c25_set = b.c25_set AND v.image_index = b.row_index AND b.split = 'train'")
    return join, cols
