"""The dataset list of the window: every imported dataset with its title, counts and tables.

Counts are live, from each importer's ``summary(con)`` (as ``index info`` shows them), and
fall back to the figures stored at import when an importer module is missing or its summary
fails, so one broken kind never hides the others. It sits in ``datasets`` because it asks
the importers (the registry) for titles, tables and counts; ``index`` knows no importer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from faceexplorer.datasets import registry
from faceexplorer.index.browse import list_tables
from faceexplorer.index.report import Skipped
from faceexplorer.index.store import imported, table_exists


@dataclass(frozen=True)
class DatasetOverview:
    """One imported dataset as the dataset list shows it.

    ``counts`` are live (from the importer's ``summary``) when ``counts_live`` is true,
    otherwise the figures stored at import time (the importer module is missing or its
    summary failed). ``skipped`` lists every documented dirty row left out at import.
    """

    kind: str
    title: str
    source: str
    imported_at: str
    counts: dict[str, int]
    counts_live: bool
    skipped: tuple[Skipped, ...]
    warnings: tuple[str, ...]
    #: Browsable tables of this dataset that exist in the index, the main one first.
    tables: tuple[str, ...] = field(default=())

    @property
    def skipped_total(self) -> int:
        return sum(s.rows for s in self.skipped)


def datasets_overview(con: duckdb.DuckDBPyConnection) -> list[DatasetOverview]:
    """Every imported dataset with its title, counts, skipped rows and tables.

    An index without a ``datasets`` table (nothing imported yet) gives ``[]``.

    Parameters
    ----------
    con
        An open (typically read-only) connection to the index.

    Returns
    -------
    list of DatasetOverview
        In the order ``index info`` lists them (by kind).
    """
    if not table_exists(con, "datasets"):
        return []
    existing = set(list_tables(con))
    out: list[DatasetOverview] = []
    for entry in imported(con):
        kind = entry["dataset"]
        title, declared, counts = kind, (), None
        imp = _importer_or_none(kind)
        if imp is not None:
            title = str(getattr(imp, "TITLE", kind))
            declared = tuple(getattr(imp, "TABLES", ()))
            counts = _live_summary(imp, con)
        tables = tuple(t for t in declared if t in existing) or _tables_by_prefix(kind, existing)
        out.append(DatasetOverview(
            kind=kind, title=title, source=entry["source"], imported_at=entry["imported_at"],
            counts=counts if counts is not None else _int_counts(entry["counts"]),
            counts_live=counts is not None,
            skipped=tuple(Skipped(s["file"], s["reason"], int(s["rows"]), s["first_line"])
                          for s in entry["skipped"]),
            warnings=tuple(str(w) for w in entry["warnings"]),
            tables=tables))
    return out


def _importer_or_none(kind: str) -> Any:
    # The importer module may be absent (a kind from a newer version) or broken; the
    # list then falls back to the counts stored at import rather than failing.
    try:
        return registry.importer(kind)
    except Exception:  # noqa: BLE001 - any failure means "no live importer"
        return None


def _live_summary(imp: Any, con: duckdb.DuckDBPyConnection) -> dict[str, int] | None:
    try:
        return _int_counts(imp.summary(con))
    except Exception:  # noqa: BLE001 - a failing summary must not hide the dataset
        return None


def _int_counts(counts: Any) -> dict[str, int]:
    if isinstance(counts, str):
        counts = json.loads(counts)
    out: dict[str, int] = {}
    for key, value in dict(counts or {}).items():
        try:
            out[str(key)] = int(value)
        except (TypeError, ValueError):
            continue
    return out


def _tables_by_prefix(kind: str, existing: set[str]) -> tuple[str, ...]:
    # Without an importer module, guess its tables by the naming convention kind_*.
    prefix = kind.replace("-", "_") + "_"
    return tuple(sorted(t for t in existing if t.startswith(prefix)))
