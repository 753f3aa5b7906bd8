"""The dataset kinds' adaptors, automatic kind detection, and the import entry point.

Each kind (:class:`~faceexplorer.core.kinds.DatasetKind`) has one
:class:`DatasetAdaptor`: its name, title and tables, its importer (a module of
``datasets``, imported on first use so that starting the CLI or the window loads only the
importers it needs) and the module that reads it back (its queries). ``ADAPTORS`` is the
one registry; ``IMPORTERS`` and :func:`importer` are the same data for older callers.
"""

from __future__ import annotations

import errno
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import duckdb

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.kinds import DatasetKind
from faceexplorer.datasets import paths
from faceexplorer.index import browse_table
from faceexplorer.index.report import ImportReport
from faceexplorer.index.store import run_import
from faceexplorer.reports import c25_set_views


@dataclass(frozen=True)
class DatasetAdaptor:
    """One dataset kind: what it is called, what it stores, who imports and queries it."""

    kind: DatasetKind
    #: the importer module (``Importer`` protocol below), imported on first use
    importer_module: str
    #: the module that reads the kind back (``index`` queries or a ``reports`` builder;
    #: None: the importer's ``summary`` only)
    queries_module: str | None = None

    @property
    def importer(self) -> Importer:
        return cast(Importer, importlib.import_module(self.importer_module))

    @property
    def title(self) -> str:
        return self.importer.TITLE

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables the kind owns, the main one first."""
        return self.importer.TABLES


_D = "faceexplorer.datasets."
_Q = "faceexplorer.index."
#: every kind's adaptor, in the order ``index info`` and the window list them
ADAPTORS: dict[DatasetKind, DatasetAdaptor] = {a.kind: a for a in (
    DatasetAdaptor(DatasetKind.AFFECTNET, _D + "affectnet", _Q + "faces_query"),
    DatasetAdaptor(DatasetKind.AFFECTNET_C25, _D + "affectnet_c25", _Q + "c25_query"),
    DatasetAdaptor(DatasetKind.HRM, _D + "hrm", _Q + "hrm_query"),
    DatasetAdaptor(DatasetKind.AFFECTNET_D, _D + "affectnet_d", _Q + "depth_query"),
    DatasetAdaptor(DatasetKind.RAFD_D, _D + "rafd_d", _Q + "depth_query"),
    DatasetAdaptor(DatasetKind.FACES, _D + "faces", "faceexplorer.reports.faces_stats"),
    DatasetAdaptor(DatasetKind.OPENFACE, _D + "openface"),
)}
#: kind -> importer module (the same registry, by kind name)
IMPORTERS: dict[str, str] = {str(k): a.importer_module for k, a in ADAPTORS.items()}


def adaptor(kind: str) -> DatasetAdaptor:
    """The adaptor of ``kind``; unknown kinds list the known ones."""
    try:
        return ADAPTORS[DatasetKind(kind)]
    except ValueError:
        raise FaceExplorerError(
            f"unknown dataset kind {kind!r}; known kinds: {', '.join(IMPORTERS)}") from None


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
    return adaptor(kind).importer


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
                on_connect: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
                **options: Any) -> ImportReport:
    """Import ``path`` as ``kind`` (detected when None) into the index at ``db_path``.

    ``on_connect`` gets the import's connection first (see ``store.run_import``)."""
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

    return run_import(Path(db_path), kind, path, load, on_connect=on_connect)
