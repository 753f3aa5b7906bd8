"""Odd paths and files, for the index and for the datasets: one line, never a hang.

The index: a folder, a FIFO, a text file, another program's DuckDB file, a damaged or
truncated index, a read-only data folder (a read-only file system when the tests run as
root, who ignores permission bits; a folder without write permission otherwise), output
piped into a reader that went away (``| head``). The datasets: a FIFO, a folder or a
dangling symlink in place of a required file, a FIFO given as the dataset, a symlink
loop in a depth folder, file names that are not UTF-8.

Commands that could block on a FIFO run under an alarm (``deadline``) that fails the
test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.faults.conftest import (
    PY,
    Tiny,
    check_message,
    check_outcome,
    child_env,
    content,
    deadline,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file kinds")


# --- the index file ----------------------------------------------------------------------

def test_index_is_a_folder(tmp_path: Path, tiny: Tiny, cli) -> None:
    (tmp_path / "index.duckdb").mkdir()
    for args in (["index", "info"], ["index", "add", "hrm", tiny.folder("hrm")],
                 ["stats", "hrm"]):
        status, err = cli(*args, "--db", tmp_path / "index.duckdb")
        assert status == 1 and "not an index file" in check_message(err, 1)


@pytest.mark.parametrize("command", ["info", "add"])
def test_index_is_a_fifo(tmp_path: Path, tiny: Tiny, command: str, cli) -> None:
    fifo = tmp_path / "index.duckdb"
    os.mkfifo(fifo)
    args = ["index", "info"] if command == "info" else ["index", "add", "hrm",
                                                          tiny.folder("hrm")]
    with deadline(30):
        status, err = cli(*args, "--db", fifo)
    assert status == 1 and "not an index file" in check_message(err, 1)


def test_index_is_a_text_file(tmp_path: Path, tiny: Tiny, cli) -> None:
    db = tmp_path / "notes.duckdb"
    db.write_text("not a database\n" * 400)
    before = db.read_bytes()
    for args in (["index", "info"], ["index", "add", "hrm", tiny.folder("hrm")]):
        status, err = cli(*args, "--db", db)
        assert status == 1 and "not a FaceExplorer index" in check_message(err, 1)
    assert db.read_bytes() == before


def test_another_programs_duckdb_is_not_written(tmp_path: Path, tiny: Tiny, cli) -> None:
    db = tmp_path / "theirs.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE measurements AS SELECT range AS x FROM range(10)")
    before = content(db)
    for args in (["index", "info"], ["index", "add", "hrm", tiny.folder("hrm")],
                 ["stats", "hrm"], ["stats", "crowd"]):
        status, err = cli(*args, "--db", db)
        assert status == 1 and "not a FaceExplorer index" in check_message(err, 1)
    assert content(db) == before


def _damage_blocks(db: Path) -> None:
    """Flip a byte inside every 256 KB block after DuckDB's file headers."""
    data = bytearray(db.read_bytes())
    for offset in range(3 * 4096 + 4096, len(data), 262144):
        data[offset + 100] ^= 0xFF
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["blocks", "truncated"])
def test_damaged_index(tmp_path: Path, tiny: Tiny, cli, damage: str) -> None:
    db = tiny.index("hrm", tmp_path / "index.duckdb")
    if damage == "blocks":
        _damage_blocks(db)
    else:
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    for args in (["index", "info"], ["stats", "hrm"],
                 ["index", "add", "hrm", tiny.folder("hrm")]):
        status, err = cli(*args, "--db", db)
        assert status == 1, err
        line = check_message(err, 1)
        assert str(db) in line or "index" in line


@contextlib.contextmanager
def _read_only_folder(folder: Path) -> Iterator[None]:
    """``folder`` cannot be written: a read-only file system (root), else mode 555."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                          capture_output=True).returncode != 0:
            pytest.skip("running as root, and no read-only file system can be mounted")
        try:
            yield
        finally:
            subprocess.run(["umount", str(folder)], capture_output=True)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_read_only_data_folder(tmp_path: Path, tiny: Tiny, cli,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    with _read_only_folder(home):
        monkeypatch.setenv("FACEEXPLORER_HOME", str(home))
        status, err = cli("index", "add", "hrm", tiny.folder("hrm"))
        assert status == 1
        check_message(err, 1)
        status, err = cli("index", "info")
        assert status == 1 and "no index here yet" in check_message(err, 1)


def test_read_only_index_file_system(tmp_path: Path, tiny: Tiny, cli) -> None:
    """An index on a read-only medium: reading works, importing is one clear line."""
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(tiny.base("hrm"), folder / "index.duckdb")
    if os.geteuid() == 0:
        staged = tmp_path / "staged.duckdb"
        shutil.move(folder / "index.duckdb", staged)
        folder.rmdir()
        folder.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)],
                          capture_output=True).returncode != 0:
            pytest.skip("running as root, and no file system can be mounted")
        try:
            shutil.copy(staged, folder / "index.duckdb")
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
            _check_read_only_index(folder / "index.duckdb", tiny, cli)
        finally:
            subprocess.run(["umount", str(folder)], capture_output=True)
    else:
        (folder / "index.duckdb").chmod(0o444)
        folder.chmod(0o555)
        try:
            _check_read_only_index(folder / "index.duckdb", tiny, cli)
        finally:
            folder.chmod(0o755)


def _check_read_only_index(db: Path, tiny: Tiny, cli) -> None:
    status, err = cli("index", "info", "--db", db)
    assert status == 0, err
    status, err = cli("index", "add", "hrm", tiny.folder("hrm"), "--db", db)
    assert status == 1
    check_message(err, 1)


# --- output into a closed pipe -------------------------------------------------------------

class _GoneReader(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_output_into_a_closed_pipe_in_process(tiny: Tiny, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, cli) -> None:
    db = tiny.index("hrm", tmp_path / "index.duckdb")
    monkeypatch.setattr(sys, "stdout", _GoneReader())
    monkeypatch.setattr("faceexplorer.cli._silence_stdout", lambda: None)
    status, err = cli("stats", "hrm", "--json", "--db", db)
    assert status == 141 and err == ""


def test_output_into_head(tiny: Tiny, tmp_path: Path) -> None:
    db = tiny.index("hrm", tmp_path / "index.duckdb")
    proc = subprocess.Popen([PY, "-m", "faceexplorer", "stats", "hrm", "--json", "--db",
                             str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=child_env())
    proc.stdout.read(10)  # type: ignore[union-attr]
    proc.stdout.close()  # type: ignore[union-attr]
    err = proc.stderr.read().decode()  # type: ignore[union-attr]
    assert proc.wait(timeout=60) in (0, 141)
    assert err == "", err


# --- odd dataset paths (the importers' side of issue 15) -----------------------------------

def _fifo(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    os.mkfifo(path)


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.csv").write_text("x\n")


def _dangling(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "gone.csv")


def _loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path)


ODD_FILES = {"fifo": _fifo, "folder": _folder, "dangling_link": _dangling,
             "link_loop": _loop}
#: kind -> the required file replaced by an odd one
REQUIRED = {"affectnet": "Manually_Annotated/training.csv",
            "affectnet-c25": "expression_set1_C25.csv", "hrm": "ASD/*.csv",
            "openface": "comma/*.csv", "faces": "dass21.csv"}
XFAIL: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("odd", list(ODD_FILES))
@pytest.mark.parametrize("kind", list(REQUIRED))
def test_odd_file_in_a_dataset(kind: str, odd: str, tiny: Tiny, tmp_path: Path,
                               request, cli) -> None:
    if (kind, odd) in XFAIL:
        request.applymarker(pytest.mark.xfail(reason=XFAIL[kind, odd], strict=True))
    from tests.faults.conftest import KINDS

    folder = Path(shutil.copytree(tiny.folder(kind), tmp_path / KINDS[kind][0]))
    rel = REQUIRED[kind]
    target = sorted(folder.glob(rel))[0] if "*" in rel else folder / rel
    ODD_FILES[odd](target)
    db = tiny.index(kind, tmp_path / "index.duckdb")
    before = content(db)
    with deadline(30):
        status, err = cli("index", "add", kind, folder, "--db", db)
    assert status == 1, f"an unusable {target.name} was accepted:\n{err}"
    line = check_outcome(status, err, before, db)
    assert line is not None and target.name in line


@pytest.mark.parametrize("kind", ["affectnet", "hrm", "openface", "faces"])
def test_fifo_as_the_dataset(kind: str, tiny: Tiny, tmp_path: Path, cli) -> None:
    fifo = tmp_path / "dataset"
    os.mkfifo(fifo)
    db = tiny.index(kind, tmp_path / "index.duckdb")
    before = content(db)
    with deadline(30):
        status, err = cli("index", "add", kind, fifo, "--db", db)
    assert check_outcome(status, err, before, db, allowed=(1,))


def test_symlink_loop_in_a_depth_folder(tiny: Tiny, tmp_path: Path, cli) -> None:
    folder = Path(shutil.copytree(tiny.folder("affectnet-d"), tmp_path / "AffectNet-D"))
    (folder / "depth" / "anger" / "loop").symlink_to(folder / "depth")
    db = tiny.index("affectnet-d", tmp_path / "index.duckdb")
    before = content(db)
    status, err = cli("index", "add", "affectnet-d", folder, "--db", db)
    check_outcome(status, err, before, db)


NON_UTF8 = os.fsdecode(b"S9\xff")


@pytest.mark.parametrize("kind", ["hrm", "openface", "affectnet-d", "rafd-d"])
def test_file_name_not_utf8(kind: str, tiny: Tiny, tmp_path: Path, cli) -> None:
    from tests.faults.conftest import KINDS

    folder = Path(shutil.copytree(tiny.folder(kind), tmp_path / KINDS[kind][0]))
    pattern = {"hrm": "ASD/*.csv", "openface": "comma/*.csv",
               "affectnet-d": "depth/anger/*.png", "rafd-d": "depth/anger/*.png"}[kind]
    source = sorted(folder.glob(pattern))[0]
    shutil.copy(source, source.with_name(NON_UTF8 + source.suffix))
    db = tiny.index(kind, tmp_path / "index.duckdb")
    before = content(db)
    status, err = cli("index", "add", kind, folder, "--db", db)
    check_outcome(status, err, before, db)


def _modes_enforced() -> bool:
    """Whether a file of mode 000 is unreadable here (not for root with its usual
    capabilities; yes for root without CAP_DAC_OVERRIDE, e.g. under setpriv)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        probe = Path(d) / "probe"
        probe.write_text("x")
        probe.chmod(0)
        try:
            probe.read_text()
            return False
        except PermissionError:
            return True


@pytest.mark.skipif(sys.platform == "win32" or not _modes_enforced(),
                    reason="this user reads files whatever their mode (root)")
@pytest.mark.parametrize("what", ["file", "folder"])
@pytest.mark.parametrize("kind", list(REQUIRED))
def test_unreadable_dataset_part(kind: str, what: str, tiny: Tiny, tmp_path: Path,
                                 cli) -> None:
    from tests.faults.conftest import KINDS

    folder = Path(shutil.copytree(tiny.folder(kind), tmp_path / KINDS[kind][0]))
    rel = REQUIRED[kind]
    target = sorted(folder.glob(rel))[0] if "*" in rel else folder / rel
    if what == "folder":
        target = target.parent
    db = tiny.index(kind, tmp_path / "index.duckdb")
    before = content(db)
    target.chmod(0)
    try:
        status, err = cli("index", "add", kind, folder, "--db", db)
    finally:
        target.chmod(0o755)
    assert status == 1, f"an unreadable {target.name} was accepted:\n{err}"
    line = check_outcome(status, err, before, db)
    assert line is not None and target.name in line
