"""Checking the files and folders a dataset is made of before anything is read from them.

An importer never filters what it finds with ``is_file()`` / ``is_dir()``: that drops a
required file that is a folder, a dangling or looping link, a FIFO or unreadable, without
a word. It matches entries by name, whatever they are, and passes each through
:func:`require_file` or :func:`require_folder`, which look at ``stat`` alone (a FIFO or a
device is never opened, so nothing can block) and raise a ``DatasetFormatError`` naming
the path and the problem. Folders are listed with :func:`list_folder` and walked with
:func:`walk_files`, which name an unreadable folder and never enter the same folder
twice (a symbolic-link loop is reported, not followed 40 levels deep).

File names that are not UTF-8 (legal on Linux, decoded by Python with surrogates) cannot
be stored as index text or opened by DuckDB: :func:`utf8_name` finds them and
:func:`shown` writes any path printably (``\\xe9`` for the raw byte) for messages.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from faceexplorer.core.errors import DatasetFormatError

_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}
NOT_UTF8 = "name is not valid UTF-8 (rename it: the index stores names as UTF-8 text)"


def shown(path: Path | str) -> str:
    """``path`` as printable text: bytes that are not UTF-8 appear as ``\\xNN``."""
    return os.fspath(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def utf8_name(text: str) -> bool:
    """Whether ``text`` (a name or path from the file system) is valid UTF-8."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def error(path: Path | str, problem: str, line: int | None = None) -> DatasetFormatError:
    """A DatasetFormatError whose path prints, whatever bytes the name holds."""
    return DatasetFormatError(shown(path), problem, line)


def os_problem(exc: OSError) -> str:
    """What an OSError means for the user, in a few words."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return (exc.strerror or type(exc).__name__).lower()


def _stat(path: Path, what: str) -> os.stat_result:
    if not utf8_name(os.fspath(path)):
        raise error(path, f"file or folder {NOT_UTF8}")
    try:
        return os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise error(path, f"dangling symbolic link (to {shown(os.readlink(path))}); "
                        f"expected {what}") from None
        raise error(path, f"not found (expected {what})") from None
    except OSError as exc:
        raise error(path, f"{os_problem(exc)} (expected {what})") from None


def kind_of(mode: int) -> str:
    """``a folder``, ``a regular file``, ``a FIFO (named pipe)``, ... for a stat mode."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a regular file"
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def require_file(path: Path, what: str = "a CSV file") -> Path:
    """``path`` if it is (or links to) a regular file; else a DatasetFormatError."""
    mode = _stat(path, what).st_mode
    if not stat.S_ISREG(mode):
        raise error(path, f"is {kind_of(mode)}, not a file (expected {what})")
    return path


def require_folder(path: Path, what: str = "a folder") -> Path:
    """``path`` if it is (or links to) a folder that can be listed; else an error."""
    mode = _stat(path, what).st_mode
    if not stat.S_ISDIR(mode):
        raise error(path, f"is {kind_of(mode)}, not a folder (expected {what})")
    list_folder(path)
    return path


def require_source(path: Path) -> Path:
    """The path given to an import: a regular file or a folder, never opened here."""
    if not os.path.lexists(path):
        raise error(path, "no such file or folder")
    mode = _stat(path, "a dataset file or folder").st_mode
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise error(path, f"is {kind_of(mode)} (expected a dataset file or folder)")
    return path


def list_folder(folder: Path) -> list[Path]:
    """Every entry of ``folder`` (any type), sorted by name; unreadable: an error."""
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries)
    except OSError as exc:
        raise error(folder, f"cannot list the folder: {os_problem(exc)}") from None


def entries_named(folder: Path, match: Callable[[str], bool]) -> list[Path]:
    """Entries of ``folder`` whose name matches, whatever their type (check them after)."""
    return [p for p in list_folder(folder) if match(p.name)]


def walk_files(root: Path, match: Callable[[str], bool],
               revisited: list[str] | None = None) -> Iterator[Path]:
    """Entries below ``root`` whose name matches (whatever they are), sorted by path.

    Folders linked in by symbolic links are entered once: a link to a folder already
    walked (a loop, or a second way in) is appended to ``revisited`` instead. An
    unreadable folder is an error naming it.
    """
    seen: set[tuple[int, int]] = set()
    stack = [root]
    found: list[Path] = []
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as exc:
            raise error(folder, f"cannot enter the folder: {os_problem(exc)}") from None
        if (st.st_dev, st.st_ino) in seen:
            if revisited is not None:
                revisited.append(shown(folder))
            continue
        seen.add((st.st_dev, st.st_ino))
        for entry in list_folder(folder):
            try:
                is_dir = entry.is_dir()
            except OSError:  # a looping link: is_dir() raises on some Pythons
                is_dir = False
            if match(entry.name):  # even a folder: named like a file, it is refused later
                found.append(entry)
            elif is_dir:
                stack.append(entry)
    return iter(sorted(found))
