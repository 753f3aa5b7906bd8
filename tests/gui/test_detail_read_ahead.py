"""The detail read-ahead in the real main window: a page's clicks need no query.

A user shows a page of C25 images, waits a moment, then clicks images of it: the panel
must show each one exactly as the single-image query would (the reference), without
running that query. A click before the read-ahead (or after it was forgotten) still
works, by the query; a new connection (after an import or a model run) never shows
details read from the old one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from faceexplorer.gui.detail import panel as panel_module
from faceexplorer.gui.main_window import MainWindow
from faceexplorer.reports.image_detail import image_detail
from tests.gui import test_browser_layout
from tests.reports.test_image_detail import add_expression_run
from tests.reports.test_page_details import assert_same

#: The sample index (AffectNet + C25, no image files) of the layout tests.
index = test_browser_layout.index


@pytest.fixture
def window(qtbot, index, tmp_path):
    db = tmp_path / "index.duckdb"
    shutil.copy(index, db)
    w = MainWindow(db)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.show_view(w.faces_view)
    yield w
    w.close()


def counting_queries(monkeypatch) -> list[tuple]:
    """Record every single-image query the panel runs."""
    calls: list[tuple] = []

    def counted(con, split, row_index, *args, **kwargs):
        calls.append((split, row_index))
        return image_detail(con, split, row_index, *args, **kwargs)

    monkeypatch.setattr(panel_module, "image_detail", counted)
    return calls


def settle(qtbot, panel) -> None:
    qtbot.waitUntil(panel.background_settled, timeout=20_000)


def click(qtbot, browser, panel, row: int):
    r = browser.model.rows[row]
    with qtbot.waitSignal(panel.shown, timeout=20_000, check_params_cb=lambda d: (
            d is not None and d.row_index == r.row_index)) as shown:
        browser.select_row(row)
    return shown.args[0]


def test_clicks_on_a_read_page_run_no_query(qtbot, window, monkeypatch, shoot) -> None:
    b, p = window.faces_view.browser, window.faces_view.detail
    b.filters.votes.setCurrentIndex(1)   # has crowd votes
    qtbot.waitUntil(lambda: b.total == 1600)
    settle(qtbot, p)
    assert p.read_ahead is not None and p.read_ahead.pages_read >= 1
    calls = counting_queries(monkeypatch)
    rows = [5, 17, 40, len(b.model.rows) - 1]
    for row in rows:
        d = click(qtbot, b, p, row)
        assert_same(d, image_detail(window.session.connection, d.split, d.row_index))
        # what the user sees is this image's crowd
        assert sum(p.histogram.heights) == d.crowd.n_votes
        assert f"row {d.row_index:,}" in p.title.text()
    assert calls == []   # every click was served by the read-ahead
    shoot(window, "read_ahead_click")

    # Forgotten (or not read yet): the click asks the index, and shows the same.
    p.read_ahead.clear()
    d = click(qtbot, b, p, 8)
    assert calls == [(d.split, d.row_index)]
    assert_same(d, image_detail(window.session.connection, d.split, d.row_index))

    # The next page is read ahead in its turn.
    before = p.read_ahead.pages_read
    b.next_page()
    settle(qtbot, p)
    assert p.read_ahead.pages_read == before + 1
    n = len(calls)
    click(qtbot, b, p, 3)
    assert len(calls) == n


def test_a_new_connection_forgets_what_was_read(qtbot, window, tmp_path) -> None:
    b, p = window.faces_view.browser, window.faces_view.detail
    b.filters.votes.setCurrentIndex(1)
    qtbot.waitUntil(lambda: b.total == 1600)
    settle(qtbot, p)
    d = click(qtbot, b, p, 2)
    assert d.predictions == ()
    old = p.read_ahead
    # A model run writes predictions for that image through the window's index session
    # (as the Model runs tab does): the read-ahead lets go of its cursor for the switch to
    # read-write and makes a new one after, and nothing it read before is kept.
    from faceexplorer.gui.core.session import DatasetChange

    def late_run(_ctx, db_path):
        add_expression_run(Path(db_path), d.split, d.row_index, "late-model", 4)

    window.session.write(late_run, name="late run",
                         change=DatasetChange(frozenset({"affectnet"}), "predictions"))
    window.session.wait_until_idle(60)
    assert old.idle() and p.read_ahead is not None and p.read_ahead is not old
    b.filters.votes.setCurrentIndex(1)
    qtbot.waitUntil(lambda: b.total == 1600)
    settle(qtbot, p)
    with qtbot.waitSignal(p.shown, timeout=20_000) as shown:
        p.show_image(d.split, d.row_index)
    again = shown.args[0]
    assert [x.model_name for x in again.predictions] == ["late-model"]
    assert p.models_card.isVisible()


def test_a_click_pauses_the_read_ahead_between_chunks(index) -> None:
    """While a click is served nothing new is read; after it the page is read in chunks."""
    import time

    import duckdb

    from faceexplorer.gui.detail.read_ahead import CHUNK, DetailReadAhead
    from faceexplorer.reports.image_detail import c25_image_names, index_tables

    con = duckdb.connect(str(index), read_only=True)
    ahead = DetailReadAhead(con, index_tables(con), c25_image_names(con))
    keys = [("train", int(r[0])) for r in con.execute(
        "SELECT DISTINCT image_index FROM c25_images ORDER BY 1 LIMIT ?",
        [3 * CHUNK]).fetchall()]
    try:
        ahead.pause()                 # a click is being served
        ahead.request(keys)
        time.sleep(0.3)
        assert not ahead.idle() and all(ahead.get(k) is None for k in keys)
        ahead.resume()                # painted: the page is read
        deadline = time.monotonic() + 20
        while not ahead.idle():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert all(ahead.get(k) is not None for k in keys) and ahead.pages_read == 1
        # a read-ahead waiting out a pause closes at once
        ahead.pause()
        ahead.clear()
        ahead.request(keys)
        started = time.monotonic()
    finally:
        ahead.close(timeout=5)
        con.close()
    assert ahead.idle() and time.monotonic() - started < 2


def test_a_click_taken_back_does_not_leave_the_read_ahead_paused(qtbot, window) -> None:
    """A click whose answer is never painted (the selection cleared) resumes the reading."""
    import time

    b, p = window.faces_view.browser, window.faces_view.detail
    b.filters.votes.setCurrentIndex(1)
    qtbot.waitUntil(lambda: b.total == 1600)
    settle(qtbot, p)
    keys = [(r.split, int(r.row_index)) for r in b.model.rows]
    p.show_image(*keys[3])        # a click ...
    p.clear()                     # ... taken back before its answer is painted
    p.read_ahead.clear()
    started = time.monotonic()
    p.read_ahead.request(keys)
    qtbot.waitUntil(p.read_ahead.idle, timeout=20_000)
    # a paused read-ahead waits 5 s per chunk before it gives up on the click
    assert time.monotonic() - started < 4
    assert all(p.read_ahead.get(k) is not None for k in keys)
