"""Issue 15 A: no importer drops a dataset file silently or opens one that blocks.

A table of cases, each a change to a copy of a valid dataset (the small samples; FACES
hand-made): a required file that is a folder, a dangling or looping link, a FIFO, only
a header, unreadable, not UTF-8 by name or content, a NUL byte past the first 64 KB, an
unterminated quote. Each must fail with one DatasetFormatError naming the file (and the
line where there is one) and leave an index holding every dataset exactly as it was.
Depth folders keep their policy of counting files they cannot use: there the case
checks the import finishes (nothing blocks, no loop is followed) and counts the file.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from faceexplorer.datasets.registry import import_path
from faceexplorer.samples.generate import write_samples

from .conftest import expect_failed_import, index_snapshot
from .test_faces import make_folder

FOLDERS = {"affectnet": "AffectNet", "affectnet-c25": "AffectNetC25", "hrm": "HRM",
           "affectnet-d": "AffectNet-D", "rafd-d": "RaFD-D", "faces": "FACES",
           "openface": "OpenFace"}
TRAIN = "Manually_Annotated/training.csv"
NOT_UTF8 = os.fsdecode(b"S9\xe9")  # a Latin-1 file name: undecodable as UTF-8


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("datasets")
    write_samples(root, "small", seed=0, images=False,
                  only=["affectnet", "affectnet-c25", "hrm", "affectnet-d", "rafd-d",
                        "openface"])
    make_folder(root / "FACES")
    return root


@pytest.fixture(scope="module")
def full_index(datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index holding every dataset, imported from the unchanged copies."""
    db = tmp_path_factory.mktemp("index") / "index.duckdb"
    for kind, folder in FOLDERS.items():
        import_path(db, datasets / folder, kind)
    return db


@pytest.fixture
def copies(datasets: Path, full_index: Path, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a copy of the datasets to damage, a copy of the full index)."""
    root = tmp_path / "data"
    for folder in FOLDERS.values():
        shutil.copytree(datasets / folder, root / folder, symlinks=True)
    db = tmp_path / "index.duckdb"
    shutil.copy(full_index, db)
    yield root, db


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail instead of hanging when something opens a FIFO blocking."""
    def stuck(*_: object) -> None:
        raise TimeoutError("blocked: a FIFO was opened")
    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# --- changes to a dataset folder --------------------------------------------------------
def to_folder(rel: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).mkdir()
    return change


def to_dangling_link(rel: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).symlink_to(root / "nowhere.csv")
    return change


def to_link_loop(rel: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).symlink_to(root / rel)  # a link to itself
    return change


def to_fifo(rel: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / rel).unlink()
        os.mkfifo(root / rel)
    return change


def header_only(rel: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        text = (root / rel).read_bytes()
        (root / rel).write_bytes(text[: text.index(b"\n") + 1])
    return change


def at_line(rel: str, line: int, edit: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    """Apply ``edit`` to one line (1-based) of the file, its line end kept."""
    def change(root: Path) -> None:
        lines = (root / rel).read_bytes().split(b"\n")
        lines[line - 1] = edit(lines[line - 1])
        (root / rel).write_bytes(b"\n".join(lines))
    return change


def rename_not_utf8(rel: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        src = root / rel
        src.rename(src.with_name(NOT_UTF8 + src.suffix))
    return change


def group_is_a_file(root: Path) -> None:
    shutil.rmtree(root / "HRM" / "ASD")
    (root / "HRM" / "ASD").write_text("not a folder\n")


C25_VAL = "AffectNetC25/valence_set1_C25.csv"
# id -> (change to the data root, kind, file named in the error, its line, words)
CASES: dict[str, tuple[Callable[[Path], None], str, str, int | None, str]] = {
    "affectnet training.csv is a folder": (
        to_folder(f"AffectNet/{TRAIN}"), "affectnet", "training.csv", None, "is a folder"),
    "affectnet training.csv dangling link": (
        to_dangling_link(f"AffectNet/{TRAIN}"), "affectnet", "training.csv", None,
        "dangling symbolic link"),
    "affectnet training.csv link loop": (
        to_link_loop(f"AffectNet/{TRAIN}"), "affectnet", "training.csv", None,
        "symbolic link loop"),
    "affectnet training.csv FIFO": (
        to_fifo(f"AffectNet/{TRAIN}"), "affectnet", "training.csv", None,
        "is a FIFO (named pipe), not a file"),
    "affectnet header only": (
        header_only(f"AffectNet/{TRAIN}"), "affectnet", "training.csv", 2, "no data rows"),
    "affectnet NUL in a path past 64 KB": (
        at_line(f"AffectNet/{TRAIN}", 2000, lambda b: b[:3] + b"\x00" + b[3:]), "affectnet",
        "training.csv", 2000, "NUL byte"),
    "affectnet not UTF-8 at line 1500": (
        at_line(f"AffectNet/{TRAIN}", 1500, lambda b: b"\xe9" + b), "affectnet",
        "training.csv", 1500, "not UTF-8"),
    "affectnet unterminated quote at line 10": (
        at_line(f"AffectNet/{TRAIN}", 10, lambda b: b'"' + b), "affectnet", "training.csv",
        10, "unterminated quoted field"),
    "c25 valence file is a folder": (
        to_folder(C25_VAL), "affectnet-c25", "valence_set1_C25.csv", None, "is a folder"),
    "c25 NUL in the valence file is blamed on it": (
        at_line(C25_VAL, 700, lambda b: b.replace(b".jpg", b".j\x00pg", 1)), "affectnet-c25",
        "valence_set1_C25.csv", 700, "NUL byte"),
    "hrm ASD is a file": (group_is_a_file, "hrm", "ASD", None, "not a folder"),
    "hrm child CSV is a folder": (
        to_folder("HRM/TD/S67.csv"), "hrm", "S67.csv", None, "is a folder"),
    "hrm child CSV link loop": (
        to_link_loop("HRM/TD/S67.csv"), "hrm", "S67.csv", None, "symbolic link loop"),
    "hrm child CSV FIFO": (to_fifo("HRM/TD/S67.csv"), "hrm", "S67.csv", None, "FIFO"),
    "hrm child CSV header only": (
        header_only("HRM/ASD/S2.csv"), "hrm", "S2.csv", 2, "no data rows"),
    "hrm child CSV name not UTF-8": (
        rename_not_utf8("HRM/ASD/S2.csv"), "hrm", "S9\\xe9.csv", None, "not valid UTF-8"),
    "openface CSV is a folder": (
        to_folder("OpenFace/comma/S1.csv"), "openface", "S1.csv", None, "is a folder"),
    "openface CSV FIFO": (to_fifo("OpenFace/comma/S1.csv"), "openface", "S1.csv", None, "FIFO"),
    "openface CSV name not UTF-8": (
        rename_not_utf8("OpenFace/comma/S1.csv"), "openface", "S9\\xe9.csv", None,
        "not valid UTF-8"),
    "openface CSV header only": (
        header_only("OpenFace/comma_space/S3.csv"), "openface", "S3.csv", 2, "no data rows"),
    "faces dass21.csv is a folder": (
        to_folder("FACES/dass21.csv"), "faces", "dass21.csv", None, "is a folder"),
    "faces dass21.csv dangling link": (
        to_dangling_link("FACES/dass21.csv"), "faces", "dass21.csv", None, "dangling"),
    "faces baseinfo.csv header only": (
        header_only("FACES/baseinfo.csv"), "faces", "baseinfo.csv", 2, "no data rows"),
    "faces NUL in a DASS ID": (
        at_line("FACES/dass21.csv", 3, lambda b: b"\x00" + b), "faces", "dass21.csv", 3,
        "binary"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_unusable_file_fails_by_name_and_index_is_untouched(
        case: str, copies: tuple[Path, Path], no_hang: None) -> None:
    change, kind, name, line, words = CASES[case]
    root, db = copies
    change(root)
    error = expect_failed_import(db, root / FOLDERS[kind], kind)
    assert error.path.name == name, error
    assert error.line == line, error
    assert words in str(error), error
    assert "\n" not in str(error)
    str(error).encode("utf-8")  # printable whatever bytes the file name holds


def test_fifo_given_as_the_dataset_never_blocks(tmp_path: Path, no_hang: None) -> None:
    fifo = tmp_path / "training.csv"
    os.mkfifo(fifo)
    for kind in ("affectnet", "hrm", None):
        error = expect_failed_import(tmp_path / "index.duckdb", fifo, kind)
        assert "is a FIFO (named pipe)" in str(error) and error.path == fifo
    assert not (tmp_path / "index.duckdb").exists()  # refused before the index opened


def test_unreadable_folder_is_named(copies: tuple[Path, Path], monkeypatch) -> None:
    """PermissionError on a folder: one message naming it (simulated: tests run as root)."""
    root, db = copies
    denied = root / "OpenFace" / "comma_space"
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(os.fspath(path)) == denied:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", os.fspath(path))  # type: ignore[arg-type]
        return real(path)  # type: ignore[arg-type]
    monkeypatch.setattr(os, "scandir", scandir)
    error = expect_failed_import(db, root / "OpenFace", "openface")
    assert error.path == denied and "permission denied" in str(error)


def test_unreadable_file_is_named(copies: tuple[Path, Path], monkeypatch) -> None:
    root, db = copies
    denied = root / "HRM" / "ASD" / "S3.csv"
    real = Path.open

    def open_(self: Path, *args: object, **kwargs: object) -> object:
        if self == denied:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(Path, "open", open_)
    error = expect_failed_import(db, root / "HRM", "hrm")
    assert error.path == denied and "permission denied" in str(error)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_by_mode(copies: tuple[Path, Path]) -> None:
    root, db = copies
    denied = root / "AffectNet" / "Manually_Annotated" / "validation.csv"
    denied.chmod(0)
    error = expect_failed_import(db, root / "AffectNet", "affectnet")
    assert error.path == denied and "permission denied" in str(error)


def test_absent_optional_parts_are_warnings(copies: tuple[Path, Path]) -> None:
    root, db = copies
    (root / "AffectNet" / "Manually_Annotated" / "validation.csv").unlink()
    for name in ("valence", "arousal", "expression"):
        (root / "AffectNetC25" / f"{name}_set2_C25.csv").unlink()
    report = import_path(db, root / "AffectNet", "affectnet")
    assert any("no validation.csv" in w for w in report.warnings)
    assert any("no image folder" in w for w in report.warnings)
    report = import_path(db, root / "AffectNetC25", "affectnet-c25")
    assert any("no set 2 files" in w for w in report.warnings)
    report = import_path(db, root / "HRM", "hrm")
    assert any("no origin/" in w for w in report.warnings)
    assert any("have no video" in w for w in report.warnings)


# --- depth folders: files that cannot be used are counted, never block or loop -----------
def skipped(db: Path, kind: str) -> dict[str, tuple[str, int]]:
    rows = index_snapshot(db)["skipped_rows"]
    return {r[2]: (r[1], r[3]) for r in rows if r[0] == kind}


def test_depth_folder_loop_fifo_and_odd_names_are_counted(copies: tuple[Path, Path],
                                                          no_hang: None) -> None:
    root, db = copies
    depth = root / "AffectNet-D" / "depth"
    before = [r for r in index_snapshot(db)["depth_maps"] if r[0] == "affectnet-d"]
    (depth / "happy" / "back_up").symlink_to(depth)           # a loop through the tree
    (depth / "sad" / "self.png").symlink_to(depth / "sad" / "self.png")
    os.mkfifo(depth / "anger" / "pipe.png")
    (depth / "fear" / (NOT_UTF8 + ".png")).write_bytes(
        next((depth / "fear").glob("*.png")).read_bytes())
    report = import_path(db, root / "AffectNet-D", "affectnet-d")
    reasons = skipped(db, "affectnet-d")
    loop = next(r for r in reasons if "reached again" in r)
    assert reasons[loop][1] == 1
    odd = next(r for r in reasons if "not a regular file" in r)
    assert reasons[odd][1] == 2  # the FIFO and the link to itself
    name = next(r for r in reasons if "not valid UTF-8" in r)
    assert reasons[name] == (os.path.join("depth", "fear", "S9\\xe9.png"), 1)
    assert report.counts["depth_maps"] == len(before)  # every real map still there


def test_rafd_rgb_name_not_utf8_is_counted(copies: tuple[Path, Path]) -> None:
    root, db = copies
    rgb = root / "RaFD"
    rgb.mkdir()
    (rgb / (NOT_UTF8 + ".jpg")).write_bytes(b"\xff\xd8")
    import_path(db, root / "RaFD-D", "rafd-d")
    assert any("not valid UTF-8" in r for r in skipped(db, "rafd-d"))


def test_faces_nul_in_a_feature_id_past_64kb(copies: tuple[Path, Path]) -> None:
    """The feature file's one text column is searched by SQL, not byte by byte."""
    root, db = copies
    features = root / "FACES" / "openface_stats.csv"
    lines = features.read_bytes().rstrip(b"\r\n").split(b"\r\n")
    width = lines[1].count(b",")
    lines += [f"{sid}".encode() + b",0.0000" * width for sid in range(100, 600)]
    lines[450] = lines[450][:2] + b"\x00" + lines[450][2:]
    features.write_bytes(b"\r\n".join(lines) + b"\r\n")
    assert features.stat().st_size > 65536
    error = expect_failed_import(db, root / "FACES", "faces")
    assert error.path == features and error.line == 451 and "NUL byte in the ID" in str(error)


def test_hrm_videos_that_cannot_be_used_are_warned(copies: tuple[Path, Path],
                                                    no_hang: None) -> None:
    root, db = copies
    os.mkfifo(root / "HRM" / "S1.mp4")                 # would block the video reader
    odd = root / "HRM" / NOT_UTF8
    odd.mkdir()
    (odd / "S2.mp4").write_bytes(b"")
    report = import_path(db, root / "HRM", "hrm")
    assert any("not regular files" in w and "S1.mp4" in w for w in report.warnings)
    assert any("name not UTF-8" in w and "S9\\xe9" in w for w in report.warnings)


def test_depth_folder_name_not_utf8_is_named(copies: tuple[Path, Path]) -> None:
    """A whole folder that cannot be stored is an error, not thousands of counted files."""
    root, db = copies
    depth = root / "AffectNet-D" / "depth"
    (depth / "sad").rename(depth / NOT_UTF8)
    error = expect_failed_import(db, root / "AffectNet-D", "affectnet-d")
    assert error.path.name == "S9\\xe9" and "not valid UTF-8" in str(error)
