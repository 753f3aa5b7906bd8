"""The image browser driven as a user would: filters, search, modes, keys, selection."""

from __future__ import annotations

from pathlib import Path

import cv2
import duckdb
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMainWindow

from faceexplorer.datasets.registry import import_path
from faceexplorer.gui.browser import PAGE_SIZE, ImageBrowser
from faceexplorer.media.images import MissingImage
from faceexplorer.reports.c25_image_stats import materialize_image_stats
from faceexplorer.samples.generate import write_samples

DRAWN = 10  # images written for the first rows; every later image file is missing


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both datasets, and AffectNet alone; the first DRAWN train images exist."""
    root = tmp_path_factory.mktemp("browser")
    # Drawing all 2,700 faces takes minutes; a few plain images show the thumbnails.
    write_samples(root, "small", seed=0, only=["affectnet-c25"], images=False)
    both, alone = root / "both.duckdb", root / "affectnet.duckdb"
    import_path(alone, root / "AffectNet", "affectnet")
    import_path(both, root / "AffectNet", "affectnet")
    import_path(both, root / "AffectNetC25", "affectnet-c25")
    con = duckdb.connect(str(both))
    materialize_image_stats(con)
    rows = con.execute("SELECT image_root, sub_path, face_x, face_y, face_w, face_h "
                       "FROM affectnet_images WHERE split = 'train' ORDER BY row_index "
                       f"LIMIT {DRAWN}").fetchall()
    con.close()
    for k, (folder, sub, x, y, w, h) in enumerate(rows):
        image = np.full((max(y + h, 64) + 20, max(x + w, 64) + 20, 3), 40, np.uint8)
        color = (60 + 20 * k, 160, 220 - 15 * k)
        cv2.rectangle(image, (x, y), (x + w, y + h), color, -1)
        cv2.circle(image, (x + w // 2, y + h // 2), max(4, w // 5), (30, 30, 30), -1)
        path = Path(folder) / sub
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), image)
    return {"both": both, "affectnet": alone}


@pytest.fixture
def browser(qtbot, sessions):
    """``browser(db)``: an ImageBrowser in a window on ``db`` (read-only)."""
    made = []

    def make(db: Path) -> ImageBrowser:
        con = duckdb.connect(str(db), read_only=True)
        window = QMainWindow()
        widget = ImageBrowser(window)
        window.setCentralWidget(widget)
        window.resize(1200, 760)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        widget.attach(sessions(con))
        made.append((window, widget, con))
        return widget

    yield make
    for window, widget, con in made:
        widget.attach(None)
        widget.close_loader()
        window.close()
        con.close()


def test_grid_thumbnails_missing_placeholder_and_table(qtbot, browser, indexes, shoot) -> None:
    b = browser(indexes["both"])
    assert b.page_label.text() == "1–200 of 2,691"
    first = b.model.rows[0]
    qtbot.waitUntil(lambda: isinstance(b.model.thumbnail_of(first.key), QImage))
    thumb = b.model.thumbnail_of(first.key)
    assert max(thumb.width(), thumb.height()) == 128
    missing = b.model.rows[DRAWN + 2]
    qtbot.waitUntil(lambda: b.model.thumbnail_of(missing.key) is not None)
    placeholder = b.model.thumbnail_of(missing.key)
    assert isinstance(placeholder, MissingImage) and placeholder.reason == "missing"
    index = b.model.index(DRAWN + 2, 0)
    tip = b.model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert missing.image_path in tip and "missing" in tip
    # Browsing goes on past missing files.
    b.next_page()
    assert b.page_label.text() == "201–400 of 2,691"
    b.first_page()
    qtbot.waitUntil(lambda: b.thumbs.pending() == 0)
    qtbot.wait(50)
    shoot(b.window(), "browser_grid")

    qtbot.mouseClick(b.table_button, Qt.MouseButton.LeftButton)
    assert b.mode == "table" and b.stack.currentWidget() is b.table
    header = [b.model.headerData(c, Qt.Orientation.Horizontal)
              for c in range(b.model.columnCount())]
    assert header[:6] == ["Key", "Filename", "Split", "Expression", "Valence", "Arousal"]
    assert {"C25 set", "Majority", "Agreement", "Entropy"} <= set(header)
    shoot(b.window(), "browser_table")


def test_filters_search_sort_and_keys(qtbot, browser, indexes, shoot) -> None:
    b = browser(indexes["both"])
    f = b.filters
    f.votes.setCurrentIndex(1)  # has crowd votes
    assert b.page_label.text() == "1–200 of 1,600"
    assert all(r.c25_set is not None for r in b.model.rows)
    f.expression_actions["happy"].trigger()
    n_happy = b.total
    assert 0 < n_happy < 1600 and all(r.expression == "happy" for r in b.model.rows)
    assert f.expression_button.text() == "happy"
    f.differs.click()
    assert all(r.majority_differs for r in b.model.rows) and b.total < n_happy
    f.reset()
    assert b.total == 2691

    name = b.model.rows[7].filename
    qtbot.keyClicks(f.search, name[:12])
    qtbot.waitUntil(lambda: b.total == 1)
    assert b.model.rows[0].filename == name
    f.search.clear()
    qtbot.keyClicks(f.search, "1500")
    qtbot.keyClick(f.search, Qt.Key.Key_Return)
    assert ("train", 1500) in [(r.split, r.row_index) for r in b.model.rows]
    f.reset()

    # Sort by clicking a table header (twice: descending).
    b.set_mode("table")
    header = b.table.horizontalHeader()
    section = b.columns.index("entropy")

    def click_header() -> None:
        b.table.scrollTo(b.model.index(0, section))
        x = header.sectionViewportPosition(section) + header.sectionSize(section) // 2
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))

    click_header()
    assert b.sort.column == "entropy" and not b.sort.descending
    click_header()
    assert b.sort.descending and b.sort_combo.currentData() == "entropy"
    values = [r.entropy for r in b.model.rows]
    assert values == sorted(values, reverse=True)
    shoot(b.window(), "browser_table_sorted")

    # Keys: PgDn / PgUp page, End / Home jump to the ends of the selection.
    b.set_mode("grid")
    b.grid.setFocus()
    with qtbot.waitSignal(b.image_selected) as sig:
        qtbot.keyClick(b.grid, Qt.Key.Key_PageDown)
    assert b.offset == PAGE_SIZE and b.grid.currentIndex().row() == 0
    assert sig.args == [b.model.rows[0].split, b.model.rows[0].row_index]
    qtbot.keyClick(b.grid, Qt.Key.Key_End)
    assert b.offset == (2691 - 1) // PAGE_SIZE * PAGE_SIZE
    assert b.grid.currentIndex().row() == 2691 - b.offset - 1
    qtbot.keyClick(b.grid, Qt.Key.Key_Right)  # at the very end: stays
    assert b.offset == (2691 - 1) // PAGE_SIZE * PAGE_SIZE
    qtbot.keyClick(b.grid, Qt.Key.Key_Home)
    assert b.offset == 0 and b.grid.currentIndex().row() == 0
    qtbot.keyClick(b.grid, Qt.Key.Key_Right)
    assert b.grid.currentIndex().row() == 1
    qtbot.keyClick(b.grid, Qt.Key.Key_PageUp)  # first page: nothing before
    assert b.offset == 0

    # Clicking a tile selects the image and says which.
    target = b.model.rows[5]
    rect = b.grid.visualRect(b.model.index(5, 0))
    with qtbot.waitSignal(b.image_selected) as sig:
        qtbot.mouseClick(b.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == [target.split, target.row_index]


def test_export_and_painted_hook(qtbot, browser, indexes, tmp_path) -> None:
    b = browser(indexes["both"])
    b.filters.votes.setCurrentIndex(1)
    painted = []
    b.view_painted.connect(lambda: painted.append(1))
    b.paint_now()
    qtbot.waitUntil(lambda: bool(painted))
    n = b.export(tmp_path / "sel.parquet", "parquet")
    assert n == 1600
    back = duckdb.sql(f"SELECT count(*), count(expression_p0) FROM '{tmp_path / 'sel.parquet'}'")
    assert back.fetchall() == [(1600, 1600)]


def test_index_without_c25_hides_crowd(qtbot, browser, indexes, shoot) -> None:
    b = browser(indexes["affectnet"])
    assert b.page_label.text() == "1–200 of 2,691"
    assert all(w.isHidden() for w in b.filters.crowd_widgets)
    assert "majority" not in b.columns and "entropy" not in b.columns
    assert b.filters.current_filter().has_votes is None
    b.set_mode("table")
    shoot(b.window(), "browser_no_c25")


def test_no_connection_shows_empty_state(qtbot, browser, indexes) -> None:
    b = browser(indexes["both"])
    b.attach(None)
    assert b.stack.currentWidget() is b.empty and b.page_label.text() == ""


def _record_takes(prefetch) -> list:
    """What ``prefetch.take`` hands over from now on, in a list."""
    taken: list = []
    take = type(prefetch).take

    def recorded(key, *args, **kwargs):
        taken.append(take(prefetch, key, *args, **kwargs))
        return taken[-1]

    prefetch.take = recorded
    return taken


def test_next_pages_read_ahead_equal_the_pages_read_on_click(qtbot, browser, indexes) -> None:
    """The ▶ click takes the page read ahead on the worker: the same rows, any order."""
    from faceexplorer.index import faces_page
    from faceexplorer.index.faces_query import ImageFilter, ImageSort

    b = browser(indexes["both"])
    assert b.prefetch is not None
    for flt, sort in ((ImageFilter(), ImageSort("valence", descending=True)),
                      (ImageFilter(has_votes=True), ImageSort("majority"))):
        b.apply(flt, sort)
        for offset in range(PAGE_SIZE, min(b.total, 4 * PAGE_SIZE), PAGE_SIZE):
            qtbot.waitUntil(b.background_settled)
            taken = _record_takes(b.prefetch)
            b.next_page()
            assert taken and taken[0] is not None, "the next page was not read ahead"
            expected = faces_page.image_page(b.con, flt, sort, offset, PAGE_SIZE)
            assert [r.pos for r in b.model.rows] == [r.pos for r in expected.rows]
            assert tuple(b.model.rows) == tuple(expected.rows)
        # a click before the read-ahead is done still shows the right page
        b.previous_page()
        b.next_page()
        expected = faces_page.image_page(b.con, flt, sort, b.offset, PAGE_SIZE)
        assert [r.pos for r in b.model.rows] == [r.pos for r in expected.rows]
    b.attach(None)   # closes the worker's cursor before the connection goes
    assert b.prefetch is None
