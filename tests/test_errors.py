"""core.errors.user_message: one line and the right status for every kind of failure."""

from __future__ import annotations

import errno

import duckdb
import pytest

from faceexplorer.core.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    DatasetFormatError,
    is_disk_full,
    is_index_damaged,
    is_interrupt,
    user_message,
)
from faceexplorer.inference.session import ModelLoadError


def test_ours_are_whole_on_one_line() -> None:
    long = "model.onnx: onnxruntime failed to run the model " + "x" * 900 + "\nExpected: 4"
    message, status = user_message(ModelLoadError(long))
    assert status == EXIT_ERROR and "\n" not in message
    assert message.endswith("Expected: 4")  # a fixed-batch model's error is not cut off
    assert user_message(DatasetFormatError("a.csv", "bad", line=3))[0] == "a.csv, line 3: bad"


def test_interrupts() -> None:
    assert is_interrupt(RuntimeError("Query interrupted"))
    assert not is_interrupt(RuntimeError("something else"))
    assert user_message(KeyboardInterrupt()) == ("interrupted; the index is as it was",
                                                 EXIT_INTERRUPTED)
    assert user_message(RuntimeError("Query interrupted"))[1] == EXIT_INTERRUPTED
    assert user_message(KeyboardInterrupt("committed: the index holds the new import"))[0] \
        == "committed: the index holds the new import"


@pytest.mark.parametrize(("exc", "words"), [
    (OSError(errno.ENOSPC, "No space left on device", "/x/index.duckdb"), "disk full"),
    (OSError(errno.EFBIG, "File too large", "/x/index.duckdb"), "disk full"),
    (PermissionError(errno.EACCES, "Permission denied", "/x/a.csv"), "/x/a.csv: permission"),
    (OSError(errno.EROFS, "Read-only file system", "/x"), "read-only"),
    (duckdb.IOException('Could not write file "i.duckdb.wal": No space left on device'),
     "disk full"),
    (duckdb.IOException("Corrupt database file: computed checksum 1 does not match"),
     "damaged"),
    (duckdb.CatalogException("Table with name x does not exist!"), "could not answer"),
    (ValueError("oops"), "internal error (ValueError: oops)"),
])
def test_one_line_for_each_kind(exc: BaseException, words: str) -> None:
    message, status = user_message(exc, index="/x/index.duckdb")
    assert status == EXIT_ERROR and "\n" not in message and words in message


def test_classifiers() -> None:
    assert is_disk_full(duckdb.IOException("... File too large"))
    assert not is_disk_full(ValueError("No space left on device"))  # only OS and DuckDB
    assert is_index_damaged(duckdb.IOException("Could not read enough bytes from file"))
    assert not is_index_damaged(duckdb.CatalogException("no such table"))
