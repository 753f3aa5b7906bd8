"""The whole HRM tab: a child picked in the navigator is read once and shown by all three."""

from __future__ import annotations

from contextlib import contextmanager

import duckdb
import pytest

from faceexplorer.gui.hrm.view import HRMView
from faceexplorer.index import hrm_query
from tests.test_hrm_query import HRMIndex, build_hrm_index, read_child_csv


@pytest.fixture(scope="module")
def hrm(tmp_path_factory: pytest.TempPathFactory) -> HRMIndex:
    return build_hrm_index(tmp_path_factory.mktemp("hrm_view"))


@contextmanager
def _shown_view(sessions, qtbot, hrm: HRMIndex, app_state=None):
    con = duckdb.connect(str(hrm.db), read_only=True)
    v = HRMView()
    qtbot.addWidget(v)
    v.resize(1500, 950)
    v.show()
    qtbot.waitExposed(v)
    v.app_state = app_state
    v.attach(sessions(con))
    try:
        yield v
    finally:
        v.viewer.shutdown()
        v.attach(None)   # the widgets let go of the connection before it closes
        con.close()


@pytest.fixture
def view(sessions, qtbot, hrm: HRMIndex):
    with _shown_view(sessions, qtbot, hrm) as v:
        yield v


def test_a_child_is_read_once_for_all_three_views(qtbot, view, hrm, monkeypatch,
                                                    shoot) -> None:
    calls: list[str] = []
    real = hrm_query.child_timeline

    def counted(con, child, *args, **kwargs):
        calls.append(child)
        return real(con, child, *args, **kwargs)

    monkeypatch.setattr(hrm_query, "child_timeline", counted)
    segment_queries: list[str] = []
    monkeypatch.setattr(hrm_query, "child_segments",
                        lambda con, child: segment_queries.append(child) or [])
    view.navigator.select_child("S4")
    assert calls == ["S4"] and segment_queries == []
    t = read_child_csv(hrm.sample, "S4")
    # the navigator's rows, the timeline and the viewer all show S4
    model = view.navigator.segment_model
    assert [(s.start_frame, s.end_frame) for s in model.segments] == list(
        view.timeline.timeline.segments)
    assert model.rowCount() == t["segment"].max()
    assert view.navigator.segments_label.text() == f"Segments of S4 ({t['segment'].max()})"
    assert view.timeline.timeline.child == "S4" and view.viewer.timeline.child == "S4"
    first = int(t["frame"].min())
    assert view.timeline.cursor == first
    qtbot.waitUntil(lambda: view.viewer.frame == first, timeout=3000)
    shoot(view, "hrm_view_open")


def test_an_unknown_child_is_named_everywhere(qtbot, view) -> None:
    view.navigator.select_child("S1")
    view._open_child("S999")
    assert view.timeline.timeline is None and "S999" in view.timeline.message.text()
    assert view.viewer.timeline is None and "S999" in view.viewer.placeholder.text()
    assert view.navigator.segment_model.rowCount() == 0


def test_one_cursor_the_app_states_frame(qtbot, sessions, hrm: HRMIndex, tmp_path) -> None:
    """The timeline and the viewer show the app state's ``hrm_frame``; a move on either
    side sets it, and setting it (anything that follows the frame) moves both."""
    from faceexplorer.gui.core.settings import Settings
    from faceexplorer.gui.core.state import AppState

    state = AppState(Settings(tmp_path / "settings.ini"), hrm.db)
    with _shown_view(sessions, qtbot, hrm, state) as view:
        view.navigator.select_child("S4")
        first = view.timeline.cursor
        assert state.get("hrm_frame") == first
        view.timeline._move_cursor(first + 40)          # a click on the timeline
        assert state.get("hrm_frame") == first + 40 and view.viewer.frame == first + 40
        view.viewer.step(3)                             # the viewer's own step button
        assert state.get("hrm_frame") == first + 43 == view.timeline.cursor
        state.set("hrm_frame", first + 7)
        assert view.timeline.cursor == first + 7 == view.viewer.frame
