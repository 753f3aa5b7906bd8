"""Errors a user sees: each names the file, the line and the problem, never a traceback.

Code that knows what went wrong raises a :class:`FaceExplorerError` whose message is
meant for the user as it is. Everything else that can reach the user (an ``OSError`` of
the file system, a DuckDB error from a damaged index, Ctrl-C inside a DuckDB query, a
bug) goes through :func:`user_message`, the one place that turns any exception into one
line and an exit status, so the command line and the window say the same thing.
DuckDB is recognised by its module name and message texts: ``core`` imports no engine.
"""

from __future__ import annotations

import errno
from pathlib import Path

#: Exit statuses of the command line.
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130          # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_BROKEN_PIPE = 141          # 128 + SIGPIPE, as a shell reports `... | head`

INTERRUPTED = "interrupted; the index is as it was"

_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_DISK_FULL_TEXTS = ("no space left on device", "file too large", "disk quota exceeded")
_DAMAGED_TEXTS = ("corrupt", "checksum", "failed to read block", "invalid block",
                  "not a valid duckdb database", "serialization error", "internal error",
                  "could not read enough bytes", "database file is truncated")


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


class NotAnIndexError(FaceExplorerError):
    """The file is not a FaceExplorer index (not DuckDB, or another program's DuckDB)."""


class IndexDamagedError(FaceExplorerError):
    """The index file is damaged (a corrupt block, a truncated file)."""


class DiskFullError(FaceExplorerError):
    """A write failed for lack of space; the message says what the index now holds."""


def one_line(text: str, limit: int = 600) -> str:
    """``text`` on one line (lines joined with spaces), cut to ``limit`` characters."""
    msg = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return msg if len(msg) <= limit else msg[:limit] + "..."


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is a write refused for lack of space (or a file size limit)."""
    if isinstance(exc, DiskFullError):
        return True
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    text = str(exc).lower()
    return _is_duckdb(exc) and any(t in text for t in _DISK_FULL_TEXTS)


def is_interrupt(exc: BaseException) -> bool:
    """Ctrl-C: Python's KeyboardInterrupt, or DuckDB's interrupted query."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    # DuckDB catches SIGINT during a query and raises RuntimeError('Query interrupted')
    # (an InterruptException in some versions).
    return (type(exc) is RuntimeError and str(exc).strip() == "Query interrupted") or (
        _is_duckdb(exc) and type(exc).__name__ == "InterruptException")


def is_index_damaged(exc: BaseException) -> bool:
    """Whether a DuckDB error says the database file itself is damaged."""
    if isinstance(exc, IndexDamagedError):
        return True
    if not _is_duckdb(exc):
        return False
    return type(exc).__name__ in ("InternalException", "SerializationException") or any(
        t in str(exc).lower() for t in _DAMAGED_TEXTS)


def _is_duckdb(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb")


def _os_message(exc: OSError) -> str:
    name = exc.filename if exc.filename is not None else None
    where = f"{name}: " if name is not None else ""
    reason = exc.strerror or one_line(str(exc)) or type(exc).__name__
    if exc.errno in _DISK_FULL_ERRNOS:
        return f"{where}disk full ({reason}): free some space and run the command again"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{where}permission denied"
    if exc.errno == errno.EROFS:
        return f"{where}the file system is read-only"
    return f"{where}{reason}"


def user_message(exc: BaseException, index: Path | str | None = None) -> tuple[str, int]:
    """One line for the user and the exit status for any exception.

    Parameters
    ----------
    exc
        What was raised.
    index
        The index file the command used, named in messages about the index.

    Returns
    -------
    (message, status)
        ``status`` is :data:`EXIT_INTERRUPTED` for Ctrl-C, else :data:`EXIT_ERROR`.
        Exceptions no rule here recognises are called internal errors (a bug to report).
    """
    if is_interrupt(exc):
        # A KeyboardInterrupt may carry a more exact message (an import interrupted
        # after its commit holds the new data).
        said = one_line(str(exc)) if isinstance(exc, KeyboardInterrupt) else ""
        return said or INTERRUPTED, EXIT_INTERRUPTED
    if isinstance(exc, FaceExplorerError):
        # Ours are written for the user: whole (a model's error names its input shape
        # and onnxruntime's expectation at the end), only joined onto one line.
        return one_line(str(exc), limit=10_000), EXIT_ERROR
    if isinstance(exc, OSError):
        return _os_message(exc), EXIT_ERROR
    where = f"{index}: " if index is not None else ""
    if is_disk_full(exc):
        return (f"{where}disk full ({one_line(str(exc), 300)}): free some space and run the "
                "command again"), EXIT_ERROR
    if is_index_damaged(exc):
        return (f"{where}the index file is damaged ({one_line(str(exc), 300)}); move it "
                "aside and import the datasets again"), EXIT_ERROR
    if _is_duckdb(exc):
        text = one_line(str(exc), 300)
        if "invalidated" in text:
            return (f"{where}the index could not be used after an earlier failure ({text}); "
                    "run the command again"), EXIT_ERROR
        return f"{where}the index could not answer: {text}", EXIT_ERROR
    if isinstance(exc, MemoryError):
        return "out of memory", EXIT_ERROR
    return (f"internal error ({type(exc).__name__}: {one_line(str(exc), 300)}); please "
            "report it (FACEEXPLORER_DEBUG=1 shows where it happened)"), EXIT_ERROR
