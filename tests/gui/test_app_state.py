"""What the user was looking at survives a restart: the app state (gui.core.state).

The real window on a sample index with AffectNet, AffectNetC25 and HRM: the user filters
the images (two expressions, a search, C25 set 1), sorts by valence descending, switches
to the table and opens an HRM child; after closing and reopening the window the filter
bar, the sort controls, the mode and the HRM timelines show exactly that again, and the
browser shows as many images as the same filter counts in the index.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from faceexplorer.datasets.registry import import_path
from faceexplorer.gui.browser.column_widths import DEFAULT_WIDTHS
from faceexplorer.gui.browser.models import LABEL_ROLE
from faceexplorer.gui.core.settings import Settings
from faceexplorer.gui.core.state import AppState
from faceexplorer.gui.main_window import MainWindow
from faceexplorer.index import faces_query as fq
from faceexplorer.index.faces_query import ImageFilter, ImageSort
from faceexplorer.samples.affectnet import write_affectnet
from faceexplorer.samples.affectnet_c25 import write_c25
from faceexplorer.samples.hrm import write_hrm
from tests.gui.windows import show_window


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("state")
    rng = np.random.default_rng(3)
    affectnet = write_affectnet(root, "small", rng, images=False)
    write_c25(root, affectnet, rng)
    write_hrm(root, "small", rng, images=False)
    db = root / "index.duckdb"
    import_path(db, root / "AffectNet", "affectnet")
    import_path(db, root / "AffectNetC25", "affectnet-c25")
    import_path(db, root / "HRM", "hrm")
    return db


def _open(qtbot, db: Path) -> MainWindow:
    return show_window(qtbot, db)


def test_filter_sort_mode_and_hrm_child_survive_a_restart(qtbot, index: Path) -> None:
    window = _open(qtbot, index)
    browser = window.faces_view.browser
    bar = browser.filters
    bar.expression_actions["happy"].setChecked(True)
    bar.expression_actions["sad"].setChecked(True)
    bar.c25_set.setCurrentText("set 1")
    bar.search.setText("1")
    bar.flush()
    browser.show_sort(ImageSort("valence", True))
    browser.apply()
    browser.set_mode("table")
    expected = browser.filter
    assert expected.expressions == ("happy", "sad") and expected.c25_set == 1
    total = browser.total
    hrm = window.hrm_view
    child = hrm.navigator.children_rows[1].child
    hrm.navigator.select_child(child)
    assert window.app_state.get("hrm_child") == child
    window.close()

    again = _open(qtbot, index)
    browser = again.faces_view.browser
    assert browser.filters.current_filter() == expected
    assert browser.filter == expected and browser.sort == ImageSort("valence", True)
    assert browser.sort_combo.currentData() == "valence" and browser.sort_order.isChecked()
    assert browser.mode == "table"
    con = again.session.connection
    assert browser.total == total == fq.count_images(con, expected, fq.prepare_browse(con))
    assert again.hrm_view.timeline.timeline is not None
    assert again.hrm_view.timeline.timeline.child == child
    again.close()


def test_remembered_per_index_and_old_values_dropped(qtbot, tmp_path: Path) -> None:
    settings = Settings()
    a = AppState(settings, tmp_path / "a.duckdb")
    a.set("image_filter", ImageFilter(expressions=("anger",)))
    a.set("browse_mode", "table")
    b = AppState(settings, tmp_path / "b.duckdb")
    assert b.get("image_filter") == ImageFilter()          # another index: its own
    assert b.get("browse_mode") == "table"                   # a preference: shared
    seen: list[str] = []
    b.changed.connect(seen.append)
    b.set("browse_mode", "table")
    b.set("browse_mode", "grid")
    assert seen == ["browse_mode"]
    # a value written by an older version that no longer parses is forgotten, not fatal
    settings.set_text(a._key("image_filter", True), '{"expressions": ["not-a-label"]}')
    assert AppState(settings, tmp_path / "a.duckdb").get("image_filter") == ImageFilter()
    with pytest.raises(KeyError):
        a.set("no_such_field", 1)


def test_grid_and_table_share_one_model_and_one_selection(qtbot, index: Path) -> None:
    """The image picked in the table is the image framed in the grid, and back."""
    window = _open(qtbot, index)
    browser = window.faces_view.browser
    assert browser.grid.model() is browser.table.model() is browser.model
    assert browser.grid.selectionModel() is browser.table.selectionModel()
    browser.set_mode("table")
    seen = []
    browser.image_selected.connect(lambda split, row: seen.append((split, row)))
    browser.table.setCurrentIndex(browser.model.index(7, 3))
    browser.table.setCurrentIndex(browser.model.index(7, 5))   # same image, another cell
    row7 = browser.model.rows[7]
    assert seen == [(row7.split, row7.row_index)]
    browser.set_mode("grid")
    assert browser.grid.currentIndex().row() == 7
    assert browser.grid.selectionModel().isSelected(browser.model.index(7, 0))
    rect = browser.grid.visualRect(browser.model.index(12, 0))
    qtbot.mouseClick(browser.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    browser.set_mode("table")
    assert browser.table.currentIndex().row() == 12
    # the grid's tile label is the expression, the table's first cell the filename
    index12 = browser.model.index(12, 0)
    assert browser.model.data(index12, LABEL_ROLE) == browser.model.rows[12].expression
    assert browser.model.data(index12) == browser.model.rows[12].value(browser.columns[0])


def test_column_widths_survive_a_restart_and_reset_layout(qtbot, index: Path) -> None:
    window = _open(qtbot, index)
    browser = window.faces_view.browser
    browser.set_mode("table")
    header = browser.table.horizontalHeader()
    name = browser.columns[1]
    header.resizeSection(1, 173)        # the user drags the column's edge
    window.close()

    again = _open(qtbot, index)
    browser = again.faces_view.browser
    header = browser.table.horizontalHeader()
    assert browser.columns[1] == name and header.sectionSize(1) == 173
    browser.next_page()                 # a new page keeps the width
    assert header.sectionSize(1) == 173
    again.reset_layout()
    assert header.sectionSize(1) == DEFAULT_WIDTHS.get(name, header.defaultSectionSize())
    assert header.sectionSize(browser.columns.index("filename")) == 220 != 173


def test_page_and_selected_image_survive_a_restart(qtbot, index: Path) -> None:
    window = _open(qtbot, index)
    browser = window.faces_view.browser
    browser.apply(ImageFilter())
    browser.next_page()
    browser.next_page()
    browser.select_row(17)
    row = browser.model.rows[17]
    label = browser.page_label.text()
    window.close()

    again = _open(qtbot, index)
    browser = again.faces_view.browser
    assert browser.offset == 400 and browser.page_label.text() == label
    assert browser.current_row() == 17
    title = again.faces_view.detail.title
    qtbot.waitUntil(lambda: f"{row.split} · row {row.row_index:,}<" in title.text())
