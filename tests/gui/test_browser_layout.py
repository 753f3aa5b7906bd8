"""The AffectNet tab in the real main window at laptop sizes: the detail panel readable.

At 1366x768 and 1600x900 the Faces splitter gives the browser three grid columns and the
detail panel the rest; the panel then puts its statistics and votes under the face
(compact arrangement), so the votes table shows all four columns and the statistics
are wide enough to read without dragging a splitter.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from PySide6.QtCore import Qt

from faceexplorer.datasets.registry import import_path
from faceexplorer.gui.main_window import MainWindow
from faceexplorer.reports.c25_image_stats import materialize_image_stats
from faceexplorer.samples.generate import write_samples


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layout")
    write_samples(root, "small", seed=0, only=["affectnet-c25"], images=False)
    db = root / "both.duckdb"
    import_path(db, root / "AffectNet", "affectnet")
    import_path(db, root / "AffectNetC25", "affectnet-c25")
    con = duckdb.connect(str(db))
    materialize_image_stats(con)
    con.close()
    return db


@pytest.mark.parametrize("size", [(1366, 768), (1600, 900)])
def test_detail_readable_at_laptop_sizes(qtbot, index, shoot, size) -> None:
    window = MainWindow(index)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    faces = window.faces_view
    window.show_view(faces)
    b, p = faces.browser, faces.detail
    b.filters.votes.setCurrentIndex(1)  # has crowd votes
    qtbot.waitUntil(lambda: b.total == 1600)
    with qtbot.waitSignal(p.shown, timeout=10_000) as shown:
        b.select_row(3)
    d = shown.args[0]
    assert d is not None and d.crowd is not None
    qtbot.wait(50)
    # The browser keeps three grid columns; the panel gets the rest.
    assert b.grid.viewport().width() >= 3 * b.grid.gridSize().width()
    assert p.stats.isVisible() and p.votes_view.isVisible()
    shoot(window, f"window_{size[0]}x{size[1]}")
    # Every column of the votes table visible, none squeezed.
    view = p.votes_view
    header = view.horizontalHeader()
    for col in range(4):
        left = header.sectionViewportPosition(col)
        assert header.sectionSize(col) >= 45, col
        assert 0 <= left and left + header.sectionSize(col) <= view.viewport().width(), col
    assert view.model().rowCount() == 25
    # A long annotator id keeps its set and its number ("set1/p…ipant12"), whole on hover.
    assert view.textElideMode() == Qt.TextElideMode.ElideMiddle and not view.wordWrap()
    cell = view.model().index(0, 0)
    assert cell.data(Qt.ItemDataRole.ToolTipRole) == cell.data()
    # The statistics are wide enough to read (a line holds a few words, not one).
    assert p.stats.viewport().width() >= 250
    # Nothing else went missing: the plots and the face are still shown.
    for part in (p.face_card, p.histogram_card, p.va_card, p.stats_card, p.votes_card):
        assert part.isVisible() and part.width() >= 200 and part.height() >= 150
    window.close()


def test_detail_arrangement_follows_width_only(sessions, qtbot, index) -> None:
    """Compact below COMPACT_WIDTH, three columns above; a new image never re-arranges."""
    from faceexplorer.gui.detail.panel import COMPACT_WIDTH, DetailPanel

    con = duckdb.connect(str(index), read_only=True)
    p = DetailPanel()
    qtbot.addWidget(p)
    p.resize(COMPACT_WIDTH + 300, 800)
    p.show()
    qtbot.waitExposed(p)
    p.attach(sessions(con))
    try:
        train = con.execute("SELECT row_index FROM affectnet_images a JOIN c25_images c "
                            "USING (filename) WHERE split = 'train' LIMIT 2").fetchall()
        for width, compact in ((COMPACT_WIDTH + 300, False), (COMPACT_WIDTH - 300, True),
                               (COMPACT_WIDTH + 300, False)):
            p.resize(width, 800)
            qtbot.wait(20)
            assert p.compact is compact
            for (row,) in train:
                with qtbot.waitSignal(p.shown, timeout=10_000):
                    p.show_image("train", row)
                assert p.compact is compact
                assert (p.tables.parent() is p.left) is compact
                for part in (p.face_card, p.histogram_card, p.va_card, p.stats_card,
                             p.votes_card):
                    assert part.isVisible() and part.width() > 150 and part.height() > 100
    finally:
        p.attach(None)
        con.close()
