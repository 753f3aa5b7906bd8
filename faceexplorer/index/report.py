"""What an import found: counts a user checks, rows skipped with their reason, warnings.

Importers never skip silently: every skipped or repaired row is counted here with its
reason and the first line it happened on, and ``index info`` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Skipped:
    """Rows of one file left out (or stored as missing) for one documented reason."""

    file: str
    reason: str
    rows: int
    first_line: int | None


@dataclass
class ImportReport:
    """Filled in by an importer's ``load``; stored in the index with the import."""

    dataset: str
    source: Path
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def skip(self, file: Path | str, reason: str, rows: int, first_line: int | None) -> None:
        """Count ``rows`` rows of ``file`` skipped or stored as missing for ``reason``."""
        if rows:
            self.skipped.append(Skipped(str(file), reason, int(rows), first_line))

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    @property
    def skipped_total(self) -> int:
        return sum(s.rows for s in self.skipped)
