"""Qt test setup: offscreen platform (set before Qt loads), a small index, screenshots."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402
import shutil  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from faceexplorer.index.store import connect  # noqa: E402

SHOTS = Path("/tmp/shots")
TOY_ROWS = 450


def build_toy_index(db: Path) -> Path:
    """An index as run_import leaves it, with two datasets of hand-made tables.

    ``toyset`` has 450 images (NULLs in a DOUBLE and a FLOAT[] column), a second table,
    and two skipped-row reasons; ``tinyset`` has one 3-row table and nothing skipped.
    Kinds unknown to the registry, so the window uses the stored counts and the
    ``kind_*`` table naming convention.
    """
    con = connect(db)
    con.execute("CREATE TABLE toyset_images (id INTEGER, file VARCHAR, expression VARCHAR, "
                "valence DOUBLE, landmarks FLOAT[])")
    con.execute(f"INSERT INTO toyset_images SELECT i, 'train/' || (i % 9) || '/img_' || i "
                f"|| '.jpg', ['neutral','happy','sad'][i % 3 + 1], "
                f"CASE WHEN i % 7 = 0 THEN NULL ELSE round(i / {TOY_ROWS}.0 - 0.5, 4) END, "
                f"CASE WHEN i % 5 = 0 THEN NULL ELSE list_transform(range(136), "
                f"lambda x: (x * 1.5 + i)::FLOAT) END FROM range({TOY_ROWS}) t(i)")
    con.execute("CREATE TABLE toyset_votes (image_id INTEGER, rater INTEGER, vote VARCHAR)")
    con.execute("INSERT INTO toyset_votes SELECT i // 3, i % 3, 'happy' FROM range(30) t(i)")
    con.execute("CREATE TABLE tinyset_rows (frame BIGINT, au12 TINYINT)")
    con.execute("INSERT INTO tinyset_rows VALUES (1, 0), (2, 1), (3, NULL)")
    con.executemany("INSERT INTO datasets VALUES (?, ?, ?, ?, ?)", [
        ["toyset", "/data/ToySet", datetime(2024, 5, 1, 12, 0),
         json.dumps({"images": TOY_ROWS, "votes": 30}), json.dumps([])],
        ["tinyset", "/data/tiny.csv", datetime(2024, 5, 2, 9, 30),
         json.dumps({"frames": 3}), json.dumps(["frame 3: AU12 missing"])]])
    con.executemany("INSERT INTO skipped_rows VALUES (?, ?, ?, ?, ?)", [
        ["toyset", "training.csv", "literal NULL in the face box", 12, 57],
        ["toyset", "training.csv", "face_width 0", 3, 811]])
    con.close()
    return db


@pytest.fixture
def toy_index(tmp_path: Path) -> Path:
    return build_toy_index(tmp_path / "index.duckdb")


@pytest.fixture(scope="module")
def sessions():
    """``sessions(db_path)`` (opened read-only) or ``sessions(con)`` (over a connection the
    test owns): an index session for a view, closed when the module's tests end."""
    from faceexplorer.gui.core.session import IndexSession
    from faceexplorer.gui.core.tasks import TaskRunner

    made: list[IndexSession] = []

    def make(source):
        if isinstance(source, (str, Path)):
            session = IndexSession(Path(source), TaskRunner())
            session.open()
        else:
            session = IndexSession.over(source)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close(timeout=30)
        session.tasks.shutdown(timeout=30)


@pytest.fixture
def shoot(tmp_path: Path):
    """``shoot(widget, name)`` saves a screenshot in tmp_path and copies it to /tmp/shots."""
    def save(widget, name: str) -> Path:
        from PySide6.QtWidgets import QApplication

        # Let pending layout requests run first, as they would before the user looks.
        QApplication.sendPostedEvents()
        QApplication.processEvents()
        path = tmp_path / f"{name}.png"
        assert widget.grab().save(str(path)), f"could not save {path}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SHOTS / path.name)
        return path
    return save


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The offscreen platform plugin itself warns on every top-level window show; that is
    # not our warning, every other Qt warning still fails the test.
    marker = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
    for item in items:
        if "tests/gui/" in item.nodeid.replace("\\", "/"):
            item.add_marker(marker)
