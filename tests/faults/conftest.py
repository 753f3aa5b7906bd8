"""Fixtures of the fault-injection suite: tiny datasets, a full index, and the checks.

Every dataset is written by ``faceexplorer.samples`` at small scale (no images) and cut
to a few dozen rows (OpenFace and FACES also to their AU and head-pose columns, which
users may do too: columns are matched by name), so one import costs about a tenth of a
second and the suite stays near a minute. ``Tiny.base(kind)`` is an index holding that
kind (AffectNetC25 with AffectNet, which it links to) and one other dataset that must
stay untouched; tests copy it.

A case's verdict (:func:`check_outcome`): the command exits 0, or it prints exactly one
line (no traceback, no "internal error") with the expected status and the index is
unchanged: same tables, and per table the same row count and the same hash of its rows
(:func:`content`).
"""

from __future__ import annotations

import contextlib
import filecmp
import json
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from faceexplorer.datasets.registry import import_path

REPO = Path(__file__).resolve().parents[2]

#: kind -> (folder under the tiny samples, import options)
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "affectnet": ("AffectNet", {}),
    "affectnet-c25": ("AffectNetC25", {}),
    "hrm": ("HRM", {}),
    "openface": ("OpenFace", {}),
    "affectnet-d": ("AffectNet-D", {}),
    "rafd-d": ("RaFD-D", {}),
    "faces": ("FACES", {}),
}
ROWS = 40  # data rows kept per CSV


#: kind -> datasets imported before it in its base index
BASE_WITH: dict[str, tuple[str, ...]] = {
    "affectnet-c25": ("affectnet",), "affectnet": ("hrm",), "hrm": ("affectnet-d",),
    "openface": ("hrm",), "affectnet-d": ("hrm",), "rafd-d": ("hrm",), "faces": ("hrm",),
}


@dataclass
class Tiny:
    """The tiny datasets and, built on first use, a base index per kind."""

    root: Path
    bases: dict[str, Path]
    contents: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)

    def folder(self, kind: str) -> Path:
        return self.root / KINDS[kind][0]

    def base(self, kind: str) -> Path:
        """An index with ``BASE_WITH[kind]`` and ``kind`` imported (do not change it)."""
        if kind not in self.bases:
            index = self.root / f"base-{kind}.duckdb"
            for k in (*BASE_WITH[kind], kind):
                import_path(index, self.folder(k), k, **KINDS[k][1])
            self.bases[kind] = index
        return self.bases[kind]

    def content(self, kind: str) -> dict[str, tuple[int, int]]:
        """``content(base(kind))``, computed once."""
        if kind not in self.contents:
            self.contents[kind] = content(self.base(kind))
        return self.contents[kind]

    def index(self, kind: str, to: Path) -> Path:
        """A private copy of ``base(kind)`` at ``to``."""
        return Path(shutil.copy(self.base(kind), to))


def _cut_csv(path: Path, rows: int) -> None:
    with path.open("rb") as f:
        lines = [f.readline() for _ in range(rows + 1)]
    path.write_bytes(b"".join(lines))


def _cut_columns(path: Path) -> None:
    """Keep the first five columns (ID only for FACES), AUs and head rotation."""
    rows = path.read_text().splitlines()
    sep = ", " if ", " in rows[0] else ","
    head = [h.strip() for h in rows[0].split(sep)]
    first = 1 if head[0] == "ID" else 5
    keep = [i for i, h in enumerate(head) if i < first or h.startswith(("AU", "pose_R"))]
    path.write_text("\n".join(sep.join(r.split(sep)[i] for i in keep) for r in rows) + "\n")


def _make_tiny(root: Path) -> None:
    from faceexplorer.samples.generate import write_samples

    write_samples(root, scale="small", seed=3, images=False)
    for csv in root.rglob("*.csv"):
        _cut_csv(csv, ROWS)
    # Two children (one ASD, one TD), two OpenFace files (one of each separator style).
    for child in sorted((root / "HRM" / "ASD").glob("*.csv"))[1:]:
        child.unlink()
    for child in sorted((root / "HRM" / "TD").glob("*.csv"))[1:]:
        child.unlink()
    for style in ("comma", "comma_space"):
        for extra in sorted((root / "OpenFace" / style).glob("*.csv"))[1:]:
            extra.unlink()
    for wide in (*(root / "OpenFace").rglob("*.csv"), root / "FACES" / "features.csv"):
        _cut_columns(wide)
    # Depth: two maps of each file type per class folder (normal maps too).
    for kind in ("AffectNet-D", "RaFD-D"):
        for folder in (root / kind).rglob("*"):
            if folder.is_dir():
                files = sorted(p for p in folder.iterdir() if p.is_file())
                for suffix in {p.suffix for p in files}:
                    for extra in [p for p in files if p.suffix == suffix][2:]:
                        extra.unlink()


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    """Tiny datasets of every kind (base indexes made when first asked for)."""
    root = tmp_path_factory.mktemp("tiny")
    _make_tiny(root)
    return Tiny(root, {})


@pytest.fixture(scope="session")
def run_setup(tiny: Tiny, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An index of the tiny AffectNet with an image for every row, and a tiny model."""
    import cv2
    import numpy as np

    from tests.inference.conftest import build_model

    root = tmp_path_factory.mktemp("runs")
    folder = Path(shutil.copytree(tiny.folder("affectnet"), root / "AffectNet"))
    images = folder / "Manually_Annotated" / "Manually_Annotated_Images"
    rng = np.random.default_rng(0)
    for csv in (folder / "Manually_Annotated").glob("*.csv"):
        for line in csv.read_text().splitlines()[1:]:
            target = images / line.split(",")[0]
            target.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(target), rng.integers(0, 255, (96, 96, 3), dtype=np.uint8))
    db = root / "index.duckdb"
    import_path(db, folder, "affectnet")
    model = build_model(root / "tiny.onnx", size=32)
    model.with_suffix(".json").write_text(json.dumps({
        "name": "tiny", "input": {"size": [32, 32]},
        "outputs": [{"kind": "expression", "activation": "softmax",
                     "labels": "@HSEMOTION_8"}]}))
    return db, model


def content(db: Path) -> dict[str, tuple[int, int]]:
    """Every persistent table with its row count and the sum of its rows' hashes."""
    if not db.exists():
        return {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1").fetchall()]
        out = {}
        for name in names:
            n, h = con.execute(
                f'SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM "{name}" t'
            ).fetchone()
            out[name] = (int(n), int(h))
        return out
    finally:
        con.close()


def check_message(err: str, status: int) -> str:
    """The one line a failed command printed (no traceback, not an internal error)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    line = lines[0]
    assert line.startswith("faceexplorer: "), line
    assert "internal error" not in line, line
    if status == 1:
        assert line.startswith("faceexplorer: error: "), line
    return line


def check_outcome(status: int, err: str, before: dict, db: Path,
                  allowed: tuple[int, ...] = (0, 1), copy_of: Path | None = None
                  ) -> str | None:
    """A command's result is allowed; on failure one line, and the index unchanged.

    ``copy_of``: the file ``db`` was copied from; when ``db`` is still byte for byte
    that file (and has no WAL), its content is ``before`` without reading it.
    """
    assert status in allowed, f"status {status}:\n{err}"
    if status == 0:
        assert "Traceback" not in err, err
        return None
    line = check_message(err, status)
    same_bytes = (copy_of is not None and not Path(f"{db}.wal").exists()
                  and filecmp.cmp(db, copy_of, shallow=False))
    assert same_bytes or content(db) == before, f"the index changed after a failure: {line}"
    return line


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM interrupts a blocking open() (of a FIFO, say)."""
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"blocked for {seconds} s (a FIFO opened for reading?)")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child ``python``: this checkout first on the path."""
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = {**os.environ, "PYTHONPATH": path, **extra}
    env.pop("FACEEXPLORER_DEBUG", None)
    return env


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Iterator:
    """``cli(*args)``: run the command line in this process; returns (status, stderr)."""
    from faceexplorer.cli import main

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        status = main([str(a) for a in args])
        return status, capsys.readouterr().err

    yield run


PY = sys.executable
