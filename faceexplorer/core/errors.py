"""Errors a user sees: each names the file, the line and the problem, never a traceback."""

from __future__ import annotations

from pathlib import Path


class FaceExplorerError(Exception):
    """Base of every error whose message is meant for the user as it is."""


class DatasetFormatError(FaceExplorerError):
    """A dataset file is not in the layout its importer expects.

    Parameters
    ----------
    path
        The offending file (or folder).
    problem
        What is wrong, in the user's terms, including what was expected.
    line
        1-based line number in the file, when the problem sits on one line.
    """

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {problem}")


class IndexBusyError(FaceExplorerError):
    """The index file is locked by another FaceExplorer process."""
