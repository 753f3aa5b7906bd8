"""The image browser's table, stored in the index: built at import, read at once on open.

Every browser query (filter, sort, page, count, export) reads one narrow table of all
AffectNet and AffectNetC25 images, ``faces_browse``: one row per image, numbered ``pos``
in key order and stored in that order, labels as ENUMs, the crowd statistics of
``c25_image_stats`` as plain columns (see ``faces_query``). It used to be a TEMP table
built by every connection that browsed (the window, its page read-ahead): 0.35-0.5 s
of the AffectNet tab's open, paid again at every start.

It is now built once, in the transaction of the import that changes its sources: the
registry calls :func:`refresh` after an AffectNet or AffectNetC25 import, so the table
and the records it is made of commit (or roll back) together, and a reader never sees
one without the other. A one-row table ``faces_browse_info`` records the layout version
it was built with; a table of another version, or none, is not used.

An index made before this change (or by a version with another layout) has no usable
table: :func:`upgrade` builds it once in its own transaction when the window opens the
index (a second or so, once); when the file cannot be written (another process holds
it), the connection builds the old TEMP table instead (:func:`build` with
``temporary``), so browsing always works.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from faceexplorer.core.vocab import EXPRESSION_LABELS
from faceexplorer.index.store import table_exists, transaction

#: The browser's table (stored, or TEMP for an index that has none).
TABLE = "faces_browse"
#: One row: the layout version the stored table was built with.
INFO_TABLE = "faces_browse_info"
#: Raise when the table's columns or their meaning change: older tables are rebuilt.
VERSION = 2
#: Datasets whose import changes the table.
SOURCES = frozenset({"affectnet", "affectnet-c25"})

_STATS_TABLE = "c25_image_stats"
_LABEL_ENUM = "ENUM(" + ", ".join(f"'{e}'" for e in EXPRESSION_LABELS) + ")"
_STATS = ("majority", "tie", "agreement", "plurality_share", "entropy", "valence_mean",
          "valence_sd", "arousal_mean", "arousal_sd", "ds_label")
_STATS_TYPES = ("VARCHAR", "BOOLEAN", "INTEGER", "DOUBLE", "DOUBLE", "DOUBLE", "DOUBLE",
                "DOUBLE", "DOUBLE", "VARCHAR")
#: Columns of a browser row (``faces_query.ImageRow``'s first fields), in order.
ROW_FIELDS = ("split", "row_index", "filename", "expression", "valence", "arousal",
              "c25_set", *_STATS, "majority_differs")
#: Columns after them: whether the image has an AffectNet row, and where its file is.
#: (Never AffectNet's rowid: rowids of rows inserted in an import's transaction are
#: transaction-local and change at commit, so a stored copy would point nowhere.)
PAGE_EXTRA = ("in_affectnet", "image_root", "subdir", "face_x", "face_y", "face_w", "face_h")
#: Columns the browser sorts by in place of a text column: the value's dense rank (ties
#: share it, NULL stays NULL), so the order and its ties are the text's, and the top-N
#: compares integers (a file name sort of 420k rows: ~29 ms of CPU on the text, ~4 ms).
SORT_KEYS = {"filename": "filename_rank"}


@dataclass(frozen=True)
class Sources:
    """Which tables the index has; decides the relation and which filters make sense."""

    affectnet: bool
    c25: bool
    c25_stats: bool

    @property
    def any(self) -> bool:
        return self.affectnet or self.c25


def sources(con: duckdb.DuckDBPyConnection) -> Sources:
    """What the index holds for the browser."""
    return Sources(table_exists(con, "affectnet_images"), table_exists(con, "c25_images"),
                   table_exists(con, _STATS_TABLE))


def is_stored(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the index holds the table in the current layout."""
    if not (table_exists(con, TABLE) and table_exists(con, INFO_TABLE)):
        return False
    row = con.execute(f"SELECT max(version) FROM {INFO_TABLE}").fetchone()
    return bool(row and row[0] == VERSION)


def needs_upgrade(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the index has images to browse but no current stored table."""
    return sources(con).any and not is_stored(con)


def refresh(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> int:
    """Rebuild the stored table after an import of ``kind`` (None: whatever the index holds).

    Call it inside the import's transaction. A kind that is not a source changes nothing.

    Returns
    -------
    int
        Rows of the table (0 and no table when there is nothing to browse); -1 when
        ``kind`` does not change it.
    """
    if kind is not None and kind not in SOURCES:
        return -1
    if kind == "affectnet-c25":
        updated = update_crowd(con)
        if updated >= 0:
            return updated
    return build(con)


def update_crowd(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the stored table's crowd columns up to date in place; rows, or -1 if it cannot.

    After a C25 import only the crowd columns (set, statistics, "majority differs") of
    the rows that have or had votes change: rebuilding all 420k rows cost 1.7-1.9 s of
    a C25 re-import, this UPDATE ~20 ms of CPU (~0.15 s the first time C25 joins an
    AffectNet index, when every row's "differs" turns from NULL to false; measured at
    load 14-16). It applies when the table is stored in
    the current layout, the index holds AffectNet, and the C25-only rows (votes without
    an AffectNet row, which own their positions and file names) stay the same keys and
    names; otherwise (-1) the caller builds the table. Every column ends exactly as
    :func:`build` would make it (the tests compare the two).
    """
    src = sources(con)
    if not (src.affectnet and src.c25 and is_stored(con)):
        return -1
    con.execute(f"CREATE OR REPLACE TEMP TABLE _browse_crowd AS {_crowd_sql(src)}")
    try:
        changed = con.execute(f"""
            SELECT count(*) FROM ((
                SELECT row_index, filename FROM main.{TABLE} WHERE NOT in_affectnet
                EXCEPT ALL
                SELECT image_index, filename FROM _browse_crowd c WHERE NOT {_linked("c")})
              UNION ALL (
                SELECT image_index, filename FROM _browse_crowd c WHERE NOT {_linked("c")}
                EXCEPT ALL
                SELECT row_index, filename FROM main.{TABLE} WHERE NOT in_affectnet))
            """).fetchone()
        if changed is None or changed[0]:
            return -1
        # Rows with votes before or now: every crowd column.
        sets = ", ".join(f"{c} = n.{c}" for c in ("c25_set", *_STATS, "majority_differs"))
        stats = ", ".join(f"c.{c}::{_LABEL_ENUM} AS {c}" if c in ("majority", "ds_label")
                          else f"c.{c}" for c in _STATS)
        con.execute(f"""
            UPDATE main.{TABLE} AS b SET {sets}
            FROM (SELECT t.pos, c.c25_set, {stats},
                         (t.expression IS NOT NULL AND c.majority IS NOT NULL
                          AND t.filename = c.filename AND t.expression::VARCHAR <> c.majority)
                             AS majority_differs
                  FROM main.{TABLE} t LEFT JOIN _browse_crowd c
                    ON t.split::VARCHAR = 'train' AND t.row_index = c.image_index
                  WHERE t.c25_set IS NOT NULL OR c.image_index IS NOT NULL) n
            WHERE b.pos = n.pos""")
        # Rows never compared yet (NULL: the table was built without C25), now without
        # votes: their crowd columns stay NULL and, with C25 present, "differs" is false.
        # Its own UPDATE of that one column: setting all twelve (to the NULLs they hold)
        # on ~420k rows cost ~0.3 s of CPU and as much again at the commit.
        con.execute(f"UPDATE main.{TABLE} SET majority_differs = false "
                    "WHERE majority_differs IS NULL")
    finally:
        con.execute("DROP TABLE IF EXISTS temp._browse_crowd")
    row = con.execute(f"SELECT count(*) FROM main.{TABLE}").fetchone()
    return int(row[0]) if row else 0


def _linked(alias: str) -> str:
    """Whether the crowd row ``alias`` has the AffectNet row it joins in :func:`build`."""
    return (f"EXISTS (SELECT 1 FROM affectnet_images a WHERE a.split = 'train' "
            f"AND a.row_index = {alias}.image_index)")


def build(con: duckdb.DuckDBPyConnection, temporary: bool = False) -> int:
    """Build the table (stored, or TEMP for this connection only); rows written.

    Rows are numbered ``pos`` in key order (split, row index) and stored in that order,
    so the default order is a plain scan; labels become ENUMs (integer compares,
    canonical sort order); image folders an ENUM too (a few distinct values).
    Measured on 420k rows: ~0.4-1.3 s, the cost of one import or, for an index without a
    stored table, of every connection that browses it.
    """
    src = sources(con)
    if temporary:
        con.execute(f"DROP TABLE IF EXISTS temp.{TABLE}")
    else:
        con.execute(f"DROP TABLE IF EXISTS main.{TABLE}")
        con.execute(f"DROP TABLE IF EXISTS main.{INFO_TABLE}")
    if not src.any:
        return 0
    enums = {c: _LABEL_ENUM for c in ("expression", "majority", "ds_label")}
    enums["split"] = "ENUM('train', 'val')"
    if src.affectnet:
        roots = [r[0] for r in con.execute(
            "SELECT DISTINCT image_root FROM affectnet_images ORDER BY 1").fetchall()]
        enums["image_root"] = "ENUM(" + ", ".join(_sql_text(r) for r in roots) + ")"
    splits = con.execute(f"SELECT DISTINCT split FROM ({_source_sql(src)})").fetchall()
    if {r[0] for r in splits} - {"train", "val"}:
        enums.pop("split")
    enums["in_affectnet"] = "BOOLEAN"   # from arow, which only orders the rows
    cols = ", ".join(f"{_source_of(c)}::{enums[c]} AS {c}" if c in enums else c for c in
                     (*ROW_FIELDS, *PAGE_EXTRA))
    name = TABLE if temporary else f"main.{TABLE}"
    # The rows once in memory; their position and sort ranks from a narrow table of
    # (rowid, keys): a window over the wide rows sorted every column along (two such
    # windows: ~1.7 s of CPU for 420k rows, ~1.3 s this way).
    ranks = ", ".join(f"dense_rank() OVER (ORDER BY {c}) AS {k}" for c, k in SORT_KEYS.items())
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _browse_rows AS
            SELECT {cols}, split AS _split, row_index AS _row_index, arow AS _arow
            FROM ({_source_sql(src)})""")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _browse_keys AS
            SELECT rowid AS _rid,
                   row_number() OVER (ORDER BY _split, _row_index NULLS LAST, _arow) - 1 AS pos,
                   {ranks}
            FROM _browse_rows""")
        con.execute(f"""
            CREATE {'TEMP ' if temporary else ''}TABLE {name} AS
            SELECT k.pos, r.* EXCLUDE (_split, _row_index, _arow),
                   {", ".join(f"k.{k}" for k in SORT_KEYS.values())}
            FROM _browse_rows r JOIN _browse_keys k ON r.rowid = k._rid ORDER BY k.pos""")
    finally:
        with contextlib.suppress(duckdb.Error):   # never hides the error that got here
            con.execute("DROP TABLE IF EXISTS temp._browse_rows")
            con.execute("DROP TABLE IF EXISTS temp._browse_keys")
    if not temporary:
        con.execute(f"CREATE TABLE main.{INFO_TABLE} AS SELECT {VERSION} AS version, "
                    "current_timestamp AS built_at")
    row = con.execute(f"SELECT count(*) FROM {name}").fetchone()
    return int(row[0]) if row else 0


def upgrade(db_path: Path) -> bool:
    """Store the table in an index that lacks it (one transaction); whether it was done.

    Opens the file for writing, so call it with no connection of this process open on
    it. Nothing happens when the table is current or there is nothing to browse; a file
    that cannot be written (in use, read-only) is left as it is (False).
    """
    from faceexplorer.core.errors import FaceExplorerError
    from faceexplorer.index.store import connect

    try:
        con = connect(Path(db_path))
    except (FaceExplorerError, duckdb.Error, OSError):
        return False
    try:
        if not needs_upgrade(con):
            return False
        with transaction(con):
            build(con)
        con.execute("CHECKPOINT")
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


def opened_for_browsing(con: duckdb.DuckDBPyConnection, db_path: Path
                        ) -> duckdb.DuckDBPyConnection:
    """``con`` (read-only), or a new read-only connection once :func:`upgrade` stored the
    table, when the index needed it. The caller owns what is returned."""
    from faceexplorer.index.store import connect

    if not needs_upgrade(con):
        return con
    con.close()   # DuckDB allows no writer beside a reader
    upgrade(db_path)
    return connect(Path(db_path), read_only=True)


def _crowd_sql(src: Sources) -> str:
    """One row per C25 image (an image in several sets shows its lowest set)."""
    if src.c25_stats:
        body = f"SELECT c25_set, image_index, filename, {', '.join(_STATS)} FROM {_STATS_TABLE}"
    else:
        nulls = ", ".join(f"NULL::{t} AS {c}" for c, t in zip(_STATS, _STATS_TYPES, strict=True))
        body = f"SELECT c25_set, image_index, filename, {nulls} FROM c25_images"
    return (f"SELECT * FROM ({body}) "
            "QUALIFY row_number() OVER (PARTITION BY image_index ORDER BY c25_set) = 1")


# The image's folder: sub_path without its file name (short; the name is a column already).
_PATH_COLS = ("a.image_root, left(a.sub_path, length(a.sub_path) - length(a.filename)) "
              "AS subdir, a.face_x, a.face_y, a.face_w, a.face_h")


def _source_sql(src: Sources) -> str:
    """Every browser row of what the index holds, with AffectNet's rowid as ``arow``."""
    crowd = ", ".join(f"c.{c}" for c in _STATS)
    no_crowd = ", ".join(f"NULL::{t} AS {c}" for c, t in zip(_STATS, _STATS_TYPES, strict=True))
    if src.affectnet and src.c25:
        return f"""
        SELECT coalesce(a.split, 'train') AS split,
               coalesce(a.row_index, c.image_index) AS row_index,
               coalesce(a.filename, c.filename) AS filename,
               a.expression, a.valence, a.arousal, c.c25_set, {crowd},
               (a.expression IS NOT NULL AND c.majority IS NOT NULL
                AND a.filename = c.filename AND a.expression <> c.majority)
                   AS majority_differs,
               a.rowid AS arow, {_PATH_COLS}
        FROM affectnet_images a
        FULL JOIN ({_crowd_sql(src)}) c ON a.split = 'train' AND a.row_index = c.image_index"""
    if src.affectnet:
        return f"""
        SELECT split, row_index, filename, expression, valence, arousal,
               NULL::INTEGER AS c25_set, {no_crowd}, NULL::BOOLEAN AS majority_differs,
               rowid AS arow, {_PATH_COLS}
        FROM affectnet_images a"""
    return f"""
        SELECT 'train' AS split, c.image_index AS row_index, c.filename,
               NULL::VARCHAR AS expression, NULL::DOUBLE AS valence, NULL::DOUBLE AS arousal,
               c.c25_set, {crowd}, NULL::BOOLEAN AS majority_differs, NULL::BIGINT AS arow,
               NULL::VARCHAR AS image_root, NULL::VARCHAR AS subdir, NULL::INTEGER AS face_x,
               NULL::INTEGER AS face_y, NULL::INTEGER AS face_w, NULL::INTEGER AS face_h
        FROM ({_crowd_sql(src)}) c"""


def _source_of(column: str) -> str:
    return "(arow IS NOT NULL)" if column == "in_affectnet" else column


def _sql_text(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"
