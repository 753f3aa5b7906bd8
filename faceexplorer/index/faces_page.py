"""One page of the browser's selection: by offset for a jump, by keyset for the next one.

``image_page`` reads rows ``offset ..`` of the filtered, sorted browse table. A jump is
``ORDER BY ... LIMIT/OFFSET``; pages in the second half of the selection are read in
reverse order (a top-N of the rows after the page instead of all rows before it). The
next and previous pages of the page shown are read by keyset: the rows past the page's
edge row (its ``pos``) in the same order, one top-N scan at any depth, where an OFFSET at
row 300,000 sorts 300,000 rows first. Either way only positions are sorted, then the
page's rows fetched by position: a top-N heap carrying 25 columns costs ~3x more (and
DuckDB casts every row's ENUMs before the heap).
"""

from __future__ import annotations

import os
from typing import Any

import duckdb

from faceexplorer.index.faces_query import (
    _PAGE_EXTRA,
    _ROW_FIELDS,
    BROWSE_TABLE,
    ImageFilter,
    ImagePage,
    ImageRow,
    ImageSort,
    Sources,
    order_sql,
    prepare_browse,
    sort_key,
    where_sql,
)

#: The defaults: every row, in key order.
_EVERY_ROW, _KEY_ORDER = ImageFilter(), ImageSort()


def image_page(con: duckdb.DuckDBPyConnection, flt: ImageFilter = _EVERY_ROW,
               sort: ImageSort = _KEY_ORDER, offset: int = 0, limit: int = 200,
               total: int | None = None, src: Sources | None = None,
               after: int | None = None, before: int | None = None) -> ImagePage:
    """Rows ``offset .. offset + limit - 1`` of the selection in ``sort`` order.

    Parameters
    ----------
    total
        :func:`count_images` of ``flt`` when the caller has it: pages in the second half
        are then read in reverse order (a top-N heap of the rows after the page instead
        of all rows before it).
    src
        As in :func:`count_images`.
    after, before
        Keyset paging: the ``pos`` of the row just before this page (``after``, the next
        page) or just after it (``before``, the previous page), in the same filter and
        order. The page is then the top ``limit`` rows past that row, whatever its depth,
        instead of an OFFSET that sorts every row before it; ``offset`` is only recorded.

    Returns
    -------
    ImagePage
        Fewer than ``limit`` rows at the end; none past it.
    """
    if offset < 0 or limit < 0:
        raise ValueError(f"offset and limit must be >= 0, got {offset}, {limit}")
    if not (src or prepare_browse(con)).any or limit == 0:
        return ImagePage(offset=offset)
    where, params = where_sql(flt)
    if after is not None or before is not None:
        reverse = after is None
        anchor = int(after if after is not None else before)  # type: ignore[arg-type]
        keys_sql, args = _keyset_sql(con, where, params, sort, anchor, reverse, limit)
    else:
        reverse = total is not None and offset > total // 2 and offset < total
        if reverse:
            limit = min(limit, total - offset)  # type: ignore[operator]
            first = total - offset - limit  # type: ignore[operator]
            order = order_sql(sort, reverse=True)
        else:
            first, order = offset, order_sql(sort)
        args = [*params, int(limit), int(first)]
        if sort == ImageSort() and not reverse:
            # The table is stored in key order: a plain scan streams to the page, no sort.
            sql = f"SELECT {_PAGE_SELECT} FROM {BROWSE_TABLE} WHERE {where} LIMIT ? OFFSET ?"
            return ImagePage(offset=offset, rows=tuple(
                _image_row(r) for r in con.execute(sql, args).fetchall()))
        keys_sql = (f"SELECT pos FROM {BROWSE_TABLE} WHERE {where} ORDER BY {order} "
                    "LIMIT ? OFFSET ?")
    # Sort only the positions, then fetch those rows: a top-N heap that carries the
    # page's 25 columns costs ~3x more (DuckDB also casts every row's ENUMs before it).
    positions = [r[0] for r in con.execute(keys_sql, args).fetchall()]
    found = {r[-1]: r for r in con.execute(
        f"SELECT {_PAGE_SELECT} FROM {BROWSE_TABLE} WHERE pos = ANY(?)",
        [positions]).fetchall()}
    rows = [found[p] for p in positions]
    if reverse:
        rows = rows[::-1]
    return ImagePage(offset=offset, rows=tuple(_image_row(r) for r in rows))


def _keyset_sql(con: duckdb.DuckDBPyConnection, where: str, params: list[Any],
                sort: ImageSort, anchor: int, reverse: bool, limit: int
                ) -> tuple[str, list[Any]]:
    """Positions of the ``limit`` rows past row ``anchor`` (before it when ``reverse``).

    The order is the column (NULLs last), then ``pos``. "Past the anchor" is up to three
    simple parts, each its own small top-N, taken in turn: the anchor's value later in
    ``pos``, the values beyond it, then the NULLs. One query with the OR of them cost ~2x
    more (DuckDB cannot prune or use the top-N filter through the OR). The anchor's value
    stays in SQL (a scalar subquery), so ENUM labels compare in their canonical order.
    """
    after_pos, before_pos = ("pos > ?", "pos < ?") if not reverse else ("pos < ?", "pos > ?")
    pos_way = "DESC" if reverse else "ASC"
    if sort.column == "key":
        cmp = after_pos if not sort.descending else before_pos
        way = "DESC" if sort.descending != reverse else "ASC"
        return (f"SELECT pos FROM {BROWSE_TABLE} WHERE ({where}) AND {cmp} "
                f"ORDER BY pos {way} LIMIT ?", [*params, anchor, int(limit)])
    col = sort_key(sort.column)   # a text column sorts by its rank (same order, ties)
    row = con.execute(f"SELECT {col} IS NULL FROM {BROWSE_TABLE} WHERE pos = ?",
                      [anchor]).fetchone()
    if row is None:
        raise LookupError(f"no browser row at position {anchor}")
    value = f"(SELECT {col} FROM {BROWSE_TABLE} WHERE pos = {int(anchor)})"
    beyond = ">" if sort.descending == reverse else "<"
    way = "DESC" if sort.descending != reverse else "ASC"
    if not reverse:
        parts = ([f"{col} IS NULL AND {after_pos}"] if row[0] else
                 [f"{col} = {value} AND {after_pos}", f"{col} {beyond} {value}",
                  f"{col} IS NULL"])
    else:
        parts = ([f"{col} IS NULL AND {after_pos}", f"{col} IS NOT NULL"] if row[0] else
                 [f"{col} = {value} AND {after_pos}", f"{col} {beyond} {value}"])
    nulls = "NULLS FIRST" if reverse else "NULLS LAST"
    order = f"{col} {way} {nulls}, pos {pos_way}"
    selects, args = [], []
    for k, cond in enumerate(parts):
        selects.append(f"(SELECT {k} AS part, {col}, pos FROM {BROWSE_TABLE} WHERE ({where}) "
                       f"AND {cond} ORDER BY {order} LIMIT ?)")
        args += [*params, *([anchor] if "?" in cond else []), int(limit)]
    return (f"SELECT pos FROM ({' UNION ALL '.join(selects)}) ORDER BY part, {order} "
            "LIMIT ?", [*args, int(limit)])


_PAGE_SELECT = ", ".join(
    f"{n}::VARCHAR" if n in ("split", "expression", "majority", "ds_label", "image_root")
    else n for n in (*_ROW_FIELDS, *_PAGE_EXTRA, "pos"))


def _image_row(r: tuple[Any, ...]) -> ImageRow:
    n = len(_ROW_FIELDS)
    in_affectnet, root, subdir, x, y, w, h, pos = r[n:]
    # String joins, not pathlib: 200 Path objects cost ~10 ms per page.
    path = f"{root}{os.sep}{subdir}{r[2]}" if root is not None else None
    box = (int(x), int(y), int(w), int(h)) if None not in (x, y, w, h) else None
    return ImageRow(*r[:n], image_path=path, face_box=box, in_affectnet=bool(in_affectnet),
                    pos=int(pos))
