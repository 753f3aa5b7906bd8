"""The HRM tab: children and segments, the frame viewer, and the AU timeline, kept in sync.

The navigator picks a child (or a segment, which zooms the timeline to it); the
timeline's cursor and the frame viewer show one frame: the app state's ``hrm_frame``
(``gui.core.state``). Each side emits only for its own user's moves (``cursor_moved``,
``frame_shown``), which set ``hrm_frame``; every change of ``hrm_frame`` moves both
sides silently (``set_cursor``, ``set_frame``), so the two never echo and anything else
that follows the frame reads the same value. Without an app state (a view on its own)
the two sides are wired to each other directly.

Opening a child reads it from the index once (``hrm_query.child_timeline``) and hands the
same arrays to the navigator (its segment rows), the timeline and the frame viewer: three
queries of the same rows cost more than drawing them.
"""

from __future__ import annotations

import duckdb
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.kinds import DatasetKind
from faceexplorer.gui.core.session import IndexSession, IndexView
from faceexplorer.gui.hrm.frame_viewer import FrameViewer
from faceexplorer.gui.hrm.navigator import HRMNavigator
from faceexplorer.gui.hrm.timeline import TimelineWidget
from faceexplorer.index import hrm_query


class HRMView(QSplitter, IndexView):
    """Navigator on the left; the frame viewer above the AU timeline on the right."""

    index_kinds = frozenset({DatasetKind.HRM})

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("hrmView")
        self.navigator = HRMNavigator(self)
        self.navigator.queries_segments = False     # _open_child hands them over
        self.viewer = FrameViewer(self)
        self.timeline = TimelineWidget(self)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.viewer)
        right.addWidget(self.timeline)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        right.setChildrenCollapsible(False)
        self.addWidget(self.navigator)
        self.addWidget(right)
        self.setStretchFactor(0, 0)
        self.setStretchFactor(1, 1)
        self.setSizes([360, 1000])
        self.setChildrenCollapsible(False)

        self.navigator.child_selected.connect(self._open_child)
        self.navigator.segment_selected.connect(self._open_segment)
        self.timeline.cursor_moved.connect(self.go_to_frame)
        self.viewer.frame_shown.connect(self.go_to_frame)
        self._following: object | None = None

    def go_to_frame(self, frame: int) -> None:
        """Put the HRM cursor on ``frame``: the timeline and the viewer both show it."""
        state = self.app_state
        if state is None:
            self._show_frame(frame)
        elif not state.set("hrm_frame", frame):
            self._show_frame(frame)    # unchanged in the state, maybe not on screen

    def _state_changed(self, name: str) -> None:
        if name == "hrm_frame" and self.app_state.get("hrm_frame") is not None:
            self._show_frame(self.app_state.get("hrm_frame"))

    def _show_frame(self, frame: int) -> None:
        self.timeline.set_cursor(frame)
        self.viewer.set_frame(frame)

    def _open_child(self, child: str) -> None:
        """Read ``child`` once and hand the same arrays to all three views."""
        if self.con is None:
            return
        try:
            tl = hrm_query.child_timeline(self.con, child)
        except FaceExplorerError as exc:
            self.navigator.show_segments(child, [])
            self.timeline.show_error(str(exc))
            self.viewer.show_error(str(exc))
            return
        self.navigator.show_segments(child, hrm_query.timeline_segments(tl))
        self.timeline.show_timeline(tl)
        self.viewer.set_timeline(tl)
        if self.timeline.cursor is not None:    # a new child starts at its first frame
            self.go_to_frame(self.timeline.cursor)

    def _open_segment(self, child: str, start: int, end: int) -> None:
        shown = self.timeline.timeline
        if shown is None or shown.child != child:
            self._open_child(child)
        self.timeline.zoom_to(start, end)
        self.go_to_frame(start)

    def attach(self, session: IndexSession | None) -> None:
        """Show ``session``'s HRM data in the three widgets (None: nothing open)."""
        # the viewer and the timeline first: the navigator's first child opens in them
        for widget in (self.viewer, self.timeline, self.navigator):
            widget.app_state = self.app_state
        if self.app_state is not None and self._following is not self.app_state:
            self._following = self.app_state
            self.app_state.changed.connect(self._state_changed)
        self.viewer.attach(session)
        self.timeline.attach(session)
        self.navigator.attach(session)
        self.session = session
        # the child open when the window last closed, open again
        child = self.app_state.get("hrm_child") if self.app_state is not None else None
        if child is not None and session is not None and session.is_open \
                and self.navigator.child_item(child) is not None:
            self.navigator.select_child(child)

    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """The three widgets follow the session themselves."""
