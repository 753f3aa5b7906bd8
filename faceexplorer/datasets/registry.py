"""The importers by kind, automatic kind detection, and the import entry point."""

from __future__ import annotations

import errno
import importlib
from pathlib import Path
from typing import Any, Protocol, cast

import duckdb

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.datasets import paths
from faceexplorer.index import browse_table, c25_set_views
from faceexplorer.index.report import ImportReport
from faceexplorer.index.store import run_import

#: kind -> module implementing it; kinds in the order ``index info`` lists them.
IMPORTERS: dict[str, str] = {
    "affectnet": "faceexplorer.datasets.affectnet",
    "affectnet-c25": "faceexplorer.datasets.affectnet_c25",
    "hrm": "faceexplorer.datasets.hrm",
    "affectnet-d": "faceexplorer.datasets.affectnet_d",
    "rafd-d": "faceexplorer.datasets.rafd_d",
    "faces": "faceexplorer.datasets.faces",
    "openface": "faceexplorer.datasets.openface",
}


class Importer(Protocol):
    """What every importer module provides."""

    KIND: str
    TITLE: str
    #: Tables this importer owns, the main one first (browsable in the window).
    TABLES: tuple[str, ...]

    def detect(self, path: Path) -> bool:
        """Whether ``path`` (folder or file) looks like this dataset."""

    def load(self, con: duckdb.DuckDBPyConnection, path: Path, report: ImportReport,
             **options: Any) -> None:
        """Replace this dataset's records with those of ``path``; fill ``report``."""

    def summary(self, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        """Live counts a user checks (computed from the index, not stored)."""


def importer(kind: str) -> Importer:
    """The importer module of ``kind``; unknown kinds list the known ones."""
    if kind not in IMPORTERS:
        raise FaceExplorerError(
            f"unknown dataset kind {kind!r}; known kinds: {', '.join(IMPORTERS)}")
    return cast(Importer, importlib.import_module(IMPORTERS[kind]))


def detect_kind(path: Path) -> str:
    """The one kind whose importer recognises ``path``; otherwise a clear error."""
    path = paths.require_source(Path(path))
    if path.is_dir():
        paths.list_folder(path)  # unreadable: say so, not "not recognised"
    found = [kind for kind in IMPORTERS if _detects(kind, path)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise FaceExplorerError(
            f"{path}: not recognised as any dataset; name its kind: "
            f"faceexplorer index add KIND {path} (KIND one of {', '.join(IMPORTERS)})")
    raise FaceExplorerError(
        f"{path}: could be {' or '.join(found)}; name its kind: faceexplorer index add KIND PATH")


def _detects(kind: str, path: Path) -> bool:
    """Whether ``kind`` recognises ``path``; a file it cannot read is not its evidence."""
    try:
        return importer(kind).detect(path)
    except (OSError, FaceExplorerError):
        return False


def import_path(db_path: Path, path: Path, kind: str | None = None,
                **options: Any) -> ImportReport:
    """Import ``path`` as ``kind`` (detected when None) into the index at ``db_path``."""
    path = paths.require_source(Path(path))  # before the index is opened: a FIFO never blocks
    kind = kind or detect_kind(path)
    imp = importer(kind)

    def load(con: duckdb.DuckDBPyConnection, src: Path, report: ImportReport) -> None:
        try:
            imp.load(con, src, report, **options)
        except OSError as exc:  # a file system refusal no importer check foresaw
            if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise  # disk full: the index store's to report
            raise paths.error(exc.filename or src, paths.os_problem(exc)) from None
        except UnicodeEncodeError as exc:  # a name with bytes that are not UTF-8 got through
            raise paths.error(exc.object[:300] if isinstance(exc.object, str) else src,
                              f"file or folder {paths.NOT_UTF8}") from None
        # The image browser's table and the C25 set statistics are made of AffectNet and
        # C25: they commit with them.
        browse_table.refresh(con, kind)
        c25_set_views.refresh(con, kind)

    return run_import(Path(db_path), kind, path, load)
