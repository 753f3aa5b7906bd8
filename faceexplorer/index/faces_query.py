"""Typed, parameterised queries of the image browser: the rows, filter, sort and count.

One browser row is one image, keyed by ``(split, row_index)``: every AffectNet row, plus
every AffectNetC25 image whose AffectNet row is not in the index (key ``('train',
image_index)``, no label, no image path). The rows are one narrow table, ``faces_browse``,
stored in the index at import (``browse_table``: whatever the index holds, AffectNet only,
C25 only, or both joined on the key, with the crowd statistics of ``c25_image_stats`` as
plain columns), so DuckDB filters and sorts them in one scan. A filter is an
:class:`ImageFilter`, a sort an :class:`ImageSort`; values travel as bound parameters,
column names only from the fixed :data:`COLUMNS` list.

The jobs on these rows live beside this module: reading a page (``faces_page``: offset
and keyset paging) and exporting the selection (``faces_export``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import duckdb

from faceexplorer.core.vocab import EXPRESSION_LABELS
from faceexplorer.index import browse_table
from faceexplorer.index.browse_table import PAGE_EXTRA as _PAGE_EXTRA
from faceexplorer.index.browse_table import Sources, sources

__all__ = ["BROWSE_TABLE", "COLUMNS", "COLUMN_NAMES", "CROWD_COLUMNS", "ImageFilter",
           "ImagePage", "ImageRow", "ImageSort", "Sources", "count_images", "find_position",
           "order_sql", "prepare_browse", "qualified", "sort_key", "sources", "where_sql",
           "_PAGE_EXTRA"]

# (name, title, numeric) of every column the browser shows and sorts by, in table order.
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("key", "Key", False),
    ("filename", "Filename", False),
    ("split", "Split", False),
    ("expression", "Expression", False),
    ("valence", "Valence", True),
    ("arousal", "Arousal", True),
    ("c25_set", "C25 set", True),
    ("majority", "Majority", False),
    ("tie", "Tie", False),
    ("agreement", "Agreement", True),
    ("plurality_share", "Plurality", True),
    ("entropy", "Entropy", True),
    ("valence_mean", "V mean", True),
    ("valence_sd", "V sd", True),
    ("arousal_mean", "A mean", True),
    ("arousal_sd", "A sd", True),
    ("ds_label", "Dawid-Skene", False),
    ("majority_differs", "Differs", False),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c[0] for c in COLUMNS)
#: Columns that only mean something with C25 data (the browser hides them otherwise).
CROWD_COLUMNS: frozenset[str] = frozenset({
    "c25_set", "majority", "tie", "agreement", "plurality_share", "entropy", "valence_mean",
    "valence_sd", "arousal_mean", "arousal_sd", "ds_label", "majority_differs"})
_STATS_TABLE = "c25_image_stats"



@dataclass(frozen=True)
class ImageFilter:
    """What the browser shows; every set field narrows the rows (they combine with AND).

    ``None`` (or an empty tuple) means "no condition". Ranges are inclusive; a V/A range
    drops rows without a value. ``agreement`` counts annotators equal to the majority.
    ``search`` matches a filename substring (case-insensitive), or, when it is a whole
    number, also the row index.
    """

    expressions: tuple[str, ...] = ()
    valence: tuple[float, float] | None = None
    arousal: tuple[float, float] | None = None
    splits: tuple[str, ...] = ()
    c25_set: int | None = None
    has_votes: bool | None = None
    agreement: tuple[int, int] | None = None
    majority_differs: bool | None = None
    search: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.expressions) - set(EXPRESSION_LABELS)
        if unknown:
            raise ValueError(f"unknown expression(s) {sorted(unknown)}; expected labels from "
                             f"{', '.join(EXPRESSION_LABELS)}")

    @property
    def uses_crowd(self) -> bool:
        """Whether a condition needs C25 data."""
        return (self.c25_set is not None or self.has_votes is not None
                or self.agreement is not None or self.majority_differs is not None)


@dataclass(frozen=True)
class ImageSort:
    """Sort by one of :data:`COLUMN_NAMES`; ties (and NULLs, always last) by key."""

    column: str = "key"
    descending: bool = False

    def __post_init__(self) -> None:
        if self.column not in COLUMN_NAMES:
            raise ValueError(f"cannot sort by {self.column!r}; expected one of "
                             f"{', '.join(COLUMN_NAMES)}")


@dataclass(frozen=True)
class ImageRow:
    """One browser row: the columns of :data:`COLUMNS` plus where the image is."""

    split: str
    row_index: int | None
    filename: str
    expression: str | None
    valence: float | None
    arousal: float | None
    c25_set: int | None
    majority: str | None
    tie: bool | None
    agreement: int | None
    plurality_share: float | None
    entropy: float | None
    valence_mean: float | None
    valence_sd: float | None
    arousal_mean: float | None
    arousal_sd: float | None
    ds_label: str | None
    majority_differs: bool | None
    image_path: str | None = None
    face_box: tuple[int, int, int, int] | None = None
    in_affectnet: bool = True
    #: Position in the browse table (key order): the anchor of keyset paging.
    pos: int | None = None

    @property
    def key(self) -> str:
        return f"{self.split}/{self.row_index}"

    def value(self, column: str) -> Any:
        """The value shown in ``column`` (one of :data:`COLUMN_NAMES`)."""
        return self.key if column == "key" else getattr(self, column)


_ROW_FIELDS = tuple(f.name for f in fields(ImageRow))[:18]


@dataclass(frozen=True)
class ImagePage:
    """Rows ``offset ..`` of the filtered, sorted selection."""

    offset: int
    rows: tuple[ImageRow, ...] = field(default=())


# --- the browse table -------------------------------------------------------------------
#: The table every browser query reads (``browse_table``).
BROWSE_TABLE = browse_table.TABLE


def prepare_browse(con: duckdb.DuckDBPyConnection, rebuild: bool = False) -> Sources:
    """Make sure ``con`` has a browse table to query; what the index holds.

    The index stores the table since its AffectNet or C25 import (``browse_table``): then
    nothing is built, the open costs a catalog lookup. An index made before that (or
    that the window could not upgrade) gets the connection's own TEMP copy, built once
    per connection (~0.4-1 s on 420k rows; again with ``rebuild``). A read-only
    connection may create it (TEMP objects live in memory).

    Returns
    -------
    Sources
        What the index holds (all false: nothing to browse, no table).
    """
    src = sources(con)
    if not src.any or (not rebuild and browse_table.is_stored(con)):
        return src
    if rebuild or not table_exists_temp(con, BROWSE_TABLE):
        browse_table.build(con, temporary=True)
    return src


def table_exists_temp(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
                      "AND temporary", [name]).fetchone()
    return bool(row and row[0])


def where_sql(flt: ImageFilter) -> tuple[str, list[Any]]:
    """``WHERE`` text and its parameters for ``flt`` (``"true"`` when it is empty)."""
    conds: list[str] = []
    params: list[Any] = []
    if flt.expressions:
        conds.append(f"expression IN ({', '.join('?' * len(flt.expressions))})")
        params += list(flt.expressions)
    for name in ("valence", "arousal"):
        rng = getattr(flt, name)
        if rng is not None:
            conds.append(f"{name} BETWEEN ? AND ?")
            params += [float(rng[0]), float(rng[1])]
    if flt.splits:
        conds.append(f"split::VARCHAR IN ({', '.join('?' * len(flt.splits))})")
        params += list(flt.splits)
    if flt.c25_set is not None:
        conds.append("c25_set = ?")
        params.append(int(flt.c25_set))
    if flt.has_votes is not None:
        conds.append("c25_set IS NOT NULL" if flt.has_votes else "c25_set IS NULL")
    if flt.agreement is not None:
        conds.append("agreement BETWEEN ? AND ?")
        params += [int(flt.agreement[0]), int(flt.agreement[1])]
    if flt.majority_differs is not None:
        conds.append("majority_differs" if flt.majority_differs
                     else "majority_differs IS NOT DISTINCT FROM false")
    text = flt.search.strip()
    if text:
        # contains() on lower case: no LIKE wildcards for the user to escape.
        if text.isdigit():
            conds.append("(row_index = ? OR contains(lower(filename), ?))")
            params += [int(text), text.lower()]
        else:
            conds.append("contains(lower(filename), ?)")
            params.append(text.lower())
    return (" AND ".join(conds) or "true"), params


def order_sql(sort: ImageSort, reverse: bool = False) -> str:
    """``ORDER BY`` text: the column, NULLs last, then the key (a total order).

    ``reverse`` gives the exact reverse order (for reaching the last pages cheaply).
    """
    desc = sort.descending != reverse
    way = "DESC" if desc else "ASC"
    if sort.column == "key":
        return f"pos {way}"
    nulls = "NULLS FIRST" if reverse else "NULLS LAST"
    return f"{sort_key(sort.column)} {way} {nulls}, pos {'DESC' if reverse else 'ASC'}"


def sort_key(column: str) -> str:
    """The browse table's column that orders like ``column`` (a text column's rank)."""
    return browse_table.SORT_KEYS.get(column, column)


# --- queries ----------------------------------------------------------------------------
def count_images(con: duckdb.DuckDBPyConnection, flt: ImageFilter = ImageFilter(),
                 src: Sources | None = None) -> int:
    """Images matching ``flt``.

    Parameters
    ----------
    con
        Open (read-only is fine) connection to the index.
    flt
        The filter; crowd conditions on an index without C25 match nothing
        (``has_votes=False`` matches everything).
    src
        What :func:`prepare_browse` returned, when the caller already ran it (saves the
        catalog queries that check for the browse table on every call).
    """
    if not (src or prepare_browse(con)).any:
        return 0
    where, params = where_sql(flt)
    row = con.execute(f"SELECT count(*) FROM {BROWSE_TABLE} WHERE {where}", params).fetchone()
    return int(row[0]) if row else 0


def find_position(con: duckdb.DuckDBPyConnection, flt: ImageFilter, sort: ImageSort,
                  split: str, row_index: int) -> int | None:
    """0-based position of image ``(split, row_index)`` in the selection, or None."""
    if not prepare_browse(con).any:
        return None
    where, params = where_sql(flt)
    row = con.execute(
        f"SELECT k FROM (SELECT split, row_index, row_number() OVER "
        f"(ORDER BY {order_sql(sort)}) - 1 AS k FROM {BROWSE_TABLE} WHERE {where}) "
        "WHERE split::VARCHAR = ? AND row_index = ?", [*params, split, int(row_index)]
    ).fetchone()
    return int(row[0]) if row else None


def qualified(where: str) -> str:
    """The filter's column names prefixed with the browse table's alias ``b``."""
    import re
    names = ("expression", "valence", "arousal", "split", "c25_set", "agreement",
             "majority_differs", "row_index", "filename")
    return re.sub(r"\b(" + "|".join(names) + r")\b", r"b.\1", where)
