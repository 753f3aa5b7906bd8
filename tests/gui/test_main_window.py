"""The main window driven as a user would: pick a dataset, page, switch tables, bad indexes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from faceexplorer.gui.main_window import MainWindow
from faceexplorer.gui.table_model import NULL_TEXT, format_cell

from .conftest import TOY_ROWS
from .windows import show_window


@pytest.fixture
def open_window(qtbot):
    """``open_window(db)`` shows a MainWindow on ``db`` and closes it after the test."""
    windows: list[MainWindow] = []

    def make(db: Path) -> MainWindow:
        window = show_window(qtbot, db)
        windows.append(window)
        return window

    yield make
    for w in windows:
        w.close()


def click_dataset(qtbot, window: MainWindow, kind: str) -> None:
    lst = window.dataset_panel.list
    for row in range(lst.count()):
        item = lst.item(row)
        if item.data(Qt.ItemDataRole.UserRole).kind == kind:
            rect = lst.visualItemRect(item)
            qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            return
    raise AssertionError(f"{kind} not in the dataset list")


def cell(window: MainWindow, row: int, col: int, role=Qt.ItemDataRole.DisplayRole):
    model = window.table_panel.model
    return model.data(model.index(row, col), role)


def test_browse_pages_and_tables(qtbot, open_window, toy_index, shoot) -> None:
    window = open_window(toy_index)
    panel, table = window.dataset_panel, window.table_panel
    assert window.state == "browse"
    assert [panel.list.item(r).text() for r in range(panel.list.count())] == [
        "tinyset", "toyset"]
    assert str(toy_index) in window.path_label.text()
    # The first dataset is open straight away: no empty right side.
    assert table.table == "tinyset_rows" and table.rows_label.text() == "Rows 1–3 of 3"
    assert cell(window, 2, 1) == NULL_TEXT

    click_dataset(qtbot, window, "toyset")
    assert table.table == "toyset_images"
    # readable table names, and the rows skipped at import last (issue 14)
    assert [table.table_combo.itemText(i) for i in range(table.table_combo.count())] == [
        "Images · toyset_images", "Votes · toyset_votes", "Skipped rows (15)"]
    assert table.rows_label.text() == f"Rows 1–200 of {TOY_ROWS}"
    model = table.model
    assert model.rowCount() == 200
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(5)] == [
        "id", "file", "expression", "valence", "landmarks"]
    assert cell(window, 0, 0) == "0" and cell(window, 1, 0) == "1"
    assert cell(window, 0, 3) == NULL_TEXT and cell(window, 0, 4) == NULL_TEXT
    assert cell(window, 1, 4) == "[1, 2.5, 4, 5.5, …] (136)"
    assert "136 values" in cell(window, 1, 4, Qt.ItemDataRole.ToolTipRole)
    right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    assert cell(window, 1, 0, Qt.ItemDataRole.TextAlignmentRole) == right
    assert cell(window, 1, 3, Qt.ItemDataRole.TextAlignmentRole) == right
    assert cell(window, 1, 1, Qt.ItemDataRole.TextAlignmentRole) == left
    # Skipped rows are visible, with their reasons, in the details panel.
    details = panel.details.text()
    assert "Skipped rows: 15" in details
    assert "literal NULL in the face box" in details and "line 811" in details
    assert not table.first_button.isEnabled() and table.next_button.isEnabled()
    shoot(window, "main_window_first_page")

    qtbot.mouseClick(table.next_button, Qt.MouseButton.LeftButton)
    assert table.rows_label.text() == f"Rows 201–400 of {TOY_ROWS}"
    assert cell(window, 0, 0) == "200"
    assert model.headerData(0, Qt.Orientation.Vertical) == "201"
    assert table.page_box.value() == 2

    qtbot.mouseClick(table.last_button, Qt.MouseButton.LeftButton)
    rows_header = table.view.verticalHeader()
    assert rows_header.width() >= rows_header.fontMetrics().horizontalAdvance(f"{TOY_ROWS:,}")
    assert table.rows_label.text() == f"Rows 401–{TOY_ROWS} of {TOY_ROWS}"
    assert model.rowCount() == TOY_ROWS - 400
    assert not table.next_button.isEnabled() and not table.last_button.isEnabled()

    qtbot.mouseClick(table.prev_button, Qt.MouseButton.LeftButton)
    assert cell(window, 0, 0) == "200"
    table.page_box.setValue(1)
    assert cell(window, 0, 0) == "0"
    shoot(window, "main_window_toyset")

    table.table_combo.setCurrentIndex(table.table_combo.findData("toyset_votes"))
    assert table.table == "toyset_votes"
    assert table.rows_label.text() == "Rows 1–30 of 30"
    assert model.columnCount() == 3 and cell(window, 29, 2) == "happy"
    assert not table.next_button.isEnabled()
    shoot(window, "main_window_votes_table")

    # the skipped rows as the README says: file, reason, how many, first line
    table.table_combo.setCurrentIndex(table.table_combo.count() - 1)
    assert table.table == "skipped rows"
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(4)] == [
        "file", "reason", "rows", "first line"]
    assert [[cell(window, r, c) for c in range(4)] for r in range(2)] == [
        ["training.csv", "literal NULL in the face box", "12", "57"],
        ["training.csv", "face_width 0", "3", "811"]]
    assert table.rows_label.text() == "Rows 1–2 of 2" and not table.next_button.isEnabled()
    shoot(window, "main_window_skipped_rows")
    click_dataset(qtbot, window, "tinyset")      # nothing skipped: no such entry
    assert table.table_combo.findData("skipped rows") < 0


def test_wide_table_is_read_a_block_of_columns_at_a_time(qtbot, open_window, tmp_path,
                                                          shoot) -> None:
    # FACES feature tables have ~8,500 columns; DuckDB's cost grows with each one read.
    from faceexplorer.gui import table_panel
    from faceexplorer.index.store import connect

    db = tmp_path / "wide.duckdb"
    con = connect(db)
    cols = ", ".join(f"i * 1000 + {k} AS AU{k:03d}_r__mean" for k in range(400))
    con.execute(f"CREATE TABLE wideset_features AS SELECT i AS ID, {cols} FROM range(250) t(i)")
    con.execute("INSERT INTO datasets VALUES ('wideset', '/data/Wide', now()::TIMESTAMP, "
                "'{\"participants\": 250}', '[]')")
    con.close()
    window = open_window(db)
    table = window.table_panel
    block = table_panel.COLUMN_BLOCK
    assert table.table == "wideset_features" and table.shape_label.text().startswith("401 columns")
    assert table.model.columnCount() == block
    assert table.columns_label.isVisible() and not table.col_prev_button.isEnabled()
    assert table.columns_label.text() == f"Columns 1–{block} of 401"
    qtbot.mouseClick(table.next_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(table.col_next_button, Qt.MouseButton.LeftButton)
    # The row page is kept when moving across columns.
    assert table.rows_label.text() == "Rows 201–250 of 250"
    # The key column stays in front of every block.
    assert [table.model.headerData(c, Qt.Orientation.Horizontal) for c in (0, 1)] == [
        "ID", f"AU{block - 1:03d}_r__mean"]
    assert table.columns_label.text() == f"Columns ID + {block + 1}–{2 * block} of 401"
    assert cell(window, 0, 0) == "200" and cell(window, 0, 1) == str(200 * 1000 + block - 1)
    qtbot.mouseClick(table.col_next_button, Qt.MouseButton.LeftButton)
    assert table.model.columnCount() == 1 + 401 - 2 * block
    assert not table.col_next_button.isEnabled()
    shoot(window, "main_window_wide_table")


def test_reload_keeps_selected_dataset(qtbot, open_window, toy_index) -> None:
    window = open_window(toy_index)
    click_dataset(qtbot, window, "toyset")
    window.reload()
    assert window.state == "browse"
    assert window.dataset_panel.current().kind == "toyset"
    assert window.table_panel.table == "toyset_images"


def test_empty_index_explains_how_to_fill_it(qtbot, open_window, tmp_path, shoot) -> None:
    from faceexplorer.index.store import connect

    db = tmp_path / "empty.duckdb"
    connect(db).close()
    window = open_window(db)
    assert window.state == "empty"
    body = window.empty_page.body.text()
    assert "faceexplorer index add KIND PATH" in body and "faceexplorer demo" in body
    assert "no datasets" in window.empty_page.title.text()
    shoot(window, "main_window_empty")


@pytest.mark.parametrize("case", ["missing", "garbage", "folder"])
def test_unopenable_index_shows_why(qtbot, open_window, tmp_path, shoot, case) -> None:
    db = tmp_path / "index.duckdb"
    if case == "garbage":
        db.write_bytes(b"this is not a database\n" * 300)
    elif case == "folder":
        db.mkdir()
    window = open_window(db)
    # a missing index is an empty one: its first import (File > Add dataset) creates it
    assert window.state == ("empty" if case == "missing" else "error")
    page = window.empty_page if case == "missing" else window.error_page
    title, body = page.title.text(), page.body.text()
    assert str(db) in body and "Traceback" not in body
    if case == "missing":
        assert title == "No index here yet" and "faceexplorer demo" in body
        assert page.button.text() == "Add dataset…"
    else:
        assert title == "Cannot open the index"
    assert "not open" in window.path_label.text()
    shoot(window, f"main_window_error_{case}")


def test_index_locked_by_another_process(qtbot, open_window, toy_index, shoot) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, duckdb
            con = duckdb.connect({str(toy_index)!r})
            print("locked", flush=True)
            sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        window = open_window(toy_index)
        assert window.state == "error"
        assert window.error_page.title.text() == "The index is in use"
        assert "Retry" in window.error_page.button.text()
        shoot(window, "main_window_locked")
    finally:
        holder.communicate("", timeout=30)
    # Once the other process is gone, Retry opens the index.
    qtbot.mouseClick(window.error_page.button, Qt.MouseButton.LeftButton)
    assert window.state == "browse" and window.table_panel.total == 3


def test_window_releases_the_index_on_close(qtbot, open_window, toy_index) -> None:
    from faceexplorer.index.store import connect

    window = open_window(toy_index)
    window.close()
    connect(toy_index).close()   # a writer can open it again at once


RUN_AND_CLOSE = """
import sys
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from faceexplorer.gui.app import run
from faceexplorer.gui.main_window import MainWindow

def close_soon():
    import gc
    states = [w.state for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    print("states", states, flush=True)
    print("frozen", gc.get_freeze_count() > 10_000, flush=True)
    for w in QApplication.topLevelWidgets():
        if isinstance(w, MainWindow):
            w.close()
    QApplication.instance().exit(0)

app = QApplication(sys.argv[:1])
QTimer.singleShot(500, close_soon)
sys.exit(run(Path(sys.argv[1])))
"""


def test_run_shows_window_and_returns_exit_code(toy_index) -> None:
    """The real entry point, in its own process: app.exec() and quitting would leave the
    test session's shared QApplication quitting, which breaks later event-loop waits."""
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", RUN_AND_CLOSE, str(toy_index)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "states ['browse']" in result.stdout
    # what startup made is out of the cycle collector's full passes (app.py)
    assert "frozen True" in result.stdout


def test_format_cell() -> None:
    assert format_cell(None) == NULL_TEXT
    assert format_cell(True) == "true"
    assert format_cell(414623) == "414623"
    assert format_cell(0.123456789) == "0.123457"
    assert format_cell(float("nan")) == "NaN"
    assert format_cell([1.0, None, 3.25]) == "[1, NULL, 3.25]"
    assert format_cell(list(range(10))) == "[0, 1, 2, 3, …] (10)"
    assert format_cell("a\nb") == "a b"
    assert len(format_cell("x" * 500)) == 120


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "writer", "folder", "main_table"), [
    ("affectnet", "affectnet:write_affectnet", "AffectNet", "affectnet_images"),
    ("hrm", "hrm:write_hrm", "HRM", "hrm_frames"),
])
def test_real_sample_import(qtbot, open_window, tmp_path, shoot, kind, writer, folder,
                            main_table) -> None:
    """The real importer on its small sample, browsed in the window."""
    module, func = writer.split(":")
    samples = pytest.importorskip(f"faceexplorer.samples.{module}",
                                  reason=f"{kind} sample writer not written yet")
    from faceexplorer.datasets import registry

    try:
        imp = registry.importer(kind)
    except ImportError:
        pytest.skip(f"{kind} importer not written yet")
    root = tmp_path / "samples"
    getattr(samples, func)(root, "small", np.random.default_rng(0), images=False)
    db = tmp_path / "index.duckdb"
    report = registry.import_path(db, root / folder, kind)
    window = open_window(db)
    assert window.state == "browse"
    ds = window.dataset_panel.current()
    assert ds.kind == kind and ds.title == imp.TITLE and ds.counts_live
    assert ds.skipped_total == report.skipped_total
    if report.skipped:
        assert "Skipped rows" in window.dataset_panel.details.text()
    window.show_view(window.table_panel)    # the Records tab reads its page when shown
    table = window.table_panel
    assert table.table == main_table == imp.TABLES[0]
    total = table.total
    assert total > 200 and table.rows_label.text() == f"Rows 1–200 of {total:,}"
    first = [cell(window, 0, c) for c in range(table.model.columnCount())]
    qtbot.mouseClick(table.next_button, Qt.MouseButton.LeftButton)
    assert table.rows_label.text().startswith("Rows 201–")
    assert table.model.headerData(0, Qt.Orientation.Vertical) == "201"
    assert [cell(window, 0, c) for c in range(table.model.columnCount())] != first
    shoot(window, f"main_window_sample_{kind}")
    for other in ds.tables[1:]:
        table.table_combo.setCurrentIndex(table.table_combo.findData(other))
        assert table.table == other and table.model.columnCount() > 0


def test_views_are_built_when_their_tab_is_first_shown(qtbot, open_window, tmp_path) -> None:
    """Start-up builds only the view on screen; the others on first show, connected."""
    from faceexplorer.datasets import registry
    from faceexplorer.gui.lazy_tab import LazyTab
    from faceexplorer.samples.hrm import write_hrm

    root = tmp_path / "samples"
    write_hrm(root, "small", np.random.default_rng(0), images=False)
    db = tmp_path / "index.duckdb"
    registry.import_path(db, root / "HRM", "hrm")
    window = open_window(db)
    pages = {window.views.tabText(i): window.views.widget(i)
             for i in range(window.views.count())}
    assert all(isinstance(p, LazyTab) for t, p in pages.items() if t != "Records")
    current = window.views.tabText(window.views.currentIndex())
    assert current == "HRM timelines" and pages[current].built
    built = {t for t, p in pages.items() if isinstance(p, LazyTab) and p.built}
    assert built == {"HRM timelines"}, built
    # the navigator of the built view already lists the children (it got the connection)
    assert window.hrm_view.navigator.tree.topLevelItemCount() > 0
    stats_page = pages["HRM statistics"]
    window.show_view(window.hrm_stats)   # builds it, then brings its tab up
    assert stats_page.built and stats_page.isVisible() and window.hrm_stats.isVisible()
    assert window.hrm_stats is stats_page.built_view()
    # closing the index reaches built views only; a later build gets the reopened one
    window.reload()
    assert not pages["Live models"].built and not pages["FACES / DASS-21"].built
