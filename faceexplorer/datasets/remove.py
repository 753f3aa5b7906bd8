"""Removing a dataset from the index: all of it, in one transaction, or nothing.

A kind's tables (its adaptor's ``tables``, derived ones such as the C25 image statistics
included) are dropped; a table another kind shares (``depth_maps``, AffectNet-D's and
RaFD-D's) loses only the kind's rows. The kind's import record and skipped rows go too,
and the tables made of several kinds at import (the image browser's table, the C25 set
statistics) are rebuilt from what remains, in the same transaction. Model runs and
analyses stay: their predictions are theirs, and reimporting the dataset links them again.
"""

from __future__ import annotations

from pathlib import Path

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.datasets.registry import ADAPTORS, adaptor
from faceexplorer.index import browse_table
from faceexplorer.index.store import connect, table_exists, transaction
from faceexplorer.reports import c25_set_views


def remove_dataset(db_path: Path, kind: str) -> dict[str, int]:
    """Remove ``kind`` from the index at ``db_path``; rows removed per table.

    Raises
    ------
    FaceExplorerError
        The kind is unknown, or not in this index.
    """
    a = adaptor(kind)
    con = connect(Path(db_path))
    try:
        present = con.execute("SELECT count(*) FROM datasets WHERE dataset = ?",
                              [str(a.kind)]).fetchone()[0]
        if not present:
            raise FaceExplorerError(f"{db_path}: no {a.title} ({a.kind}) in this index; "
                                    "faceexplorer index info lists what it holds")
        shared = {t for k, other in ADAPTORS.items() if k != a.kind for t in other.tables}
        removed: dict[str, int] = {}
        with transaction(con):
            for table in a.tables:
                if not table_exists(con, table):
                    continue
                if table in shared:
                    removed[table] = int(con.execute(
                        f'DELETE FROM "{table}" WHERE dataset = ?', [str(a.kind)]).fetchone()[0])
                else:
                    removed[table] = int(con.execute(
                        f'SELECT count(*) FROM "{table}"').fetchone()[0])
                    con.execute(f'DROP TABLE "{table}"')
            con.execute("DELETE FROM skipped_rows WHERE dataset = ?", [str(a.kind)])
            con.execute("DELETE FROM datasets WHERE dataset = ?", [str(a.kind)])
            if a.kind in browse_table.SOURCES:
                browse_table.build(con)
            if a.kind in c25_set_views.SOURCES:
                c25_set_views.refresh(con)
        con.execute("CHECKPOINT")
        return removed
    finally:
        con.close()
