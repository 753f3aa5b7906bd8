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

from faceexplorer.datasets.registry import import_path
from faceexplorer.gui.core.settings import Settings
from faceexplorer.gui.core.state import AppState
from faceexplorer.gui.main_window import MainWindow
from faceexplorer.index import faces_query as fq
from faceexplorer.index.faces_query import ImageFilter, ImageSort
from faceexplorer.samples.affectnet import write_affectnet
from faceexplorer.samples.affectnet_c25 import write_c25
from faceexplorer.samples.hrm import write_hrm


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
    window = MainWindow(db)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


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
