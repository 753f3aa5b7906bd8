"""The set statistics view paints each part once per switch (a structure check, no timing).

Bringing the tab up on a set and task used to paint it three times: the plot scenes'
queued dirty-item passes each synced the whole window, before the layouts and before the
repaints a tab switch queues.
Counting paint events is steady where timings are not, so this guards the one-paint path
of ``CrowdStatsPanel._show`` without a clock. Every part must still be shown and filled.
"""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget, QWidget

from faceexplorer.gui.crowd_stats import CrowdStatsPanel
from faceexplorer.index.store import connect
from faceexplorer.reports.crowd_views import set_view


class PaintCounter(QObject):
    """Counts the paint events of the watched widgets."""

    def __init__(self, widgets: dict[str, QObject]) -> None:
        super().__init__()
        self.names = {id(w): name for name, w in widgets.items()}
        self.counts: Counter[str] = Counter()
        for w in widgets.values():
            w.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.counts[self.names[id(watched)]] += 1
        return False


@pytest.fixture(scope="module")
def linked_index(tmp_path_factory):
    from faceexplorer.datasets.registry import import_path
    from faceexplorer.samples.generate import write_samples

    root = tmp_path_factory.mktemp("c25paint")
    written = write_samples(root, "small", seed=0, images=False, only=["affectnet-c25"])
    db = root / "linked.duckdb"
    import_path(db, written.path("affectnet"), "affectnet")
    import_path(db, written.path("affectnet-c25"), "affectnet-c25")
    return db


@pytest.mark.parametrize("tasks", [("valence", "arousal"), ("arousal", "expression"),
                                   ("expression", "valence")])
def test_a_switch_paints_each_part_once(qtbot, linked_index, tasks, sessions) -> None:
    con = connect(linked_index, read_only=True)
    # as in the main window: the panel is one tab, brought up for the switch
    window = QMainWindow()
    tabs = QTabWidget(window)
    other = QWidget(tabs)
    panel = CrowdStatsPanel(tabs)
    tabs.addTab(other, "Other")
    tabs.addTab(panel, "Crowd statistics")
    window.setCentralWidget(tabs)
    window.resize(1200, 760)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        session = sessions(con)
        panel.cache.set_session(session)
        panel.cache.put(set_view(con, 1))
        panel.attach(session)
        before, after = tasks
        tabs.setCurrentWidget(panel)
        panel.show_statistics(1, before)
        qtbot.wait(100)
        tabs.setCurrentWidget(other)
        qtbot.wait(50)
        counter = PaintCounter({"ranking": panel.ranking.viewport(),
                                "summary": panel.summary.viewport(),
                                "plot": panel.ds_card.view.viewport()})
        tabs.setCurrentWidget(panel)
        panel.show_statistics(1, after)
        # what the event loop runs first: the queued events (layouts, the paint), then
        # a repaint of the window as the bench does (no table or plot left to paint)
        QApplication.sendPostedEvents()
        window.repaint()
        assert counter.counts["ranking"] == 1, counter.counts
        assert counter.counts["summary"] == 1, counter.counts
        # the heatmap is drawn for the expression task only (a note otherwise)
        assert counter.counts["plot"] == (after == "expression"), counter.counts
        qtbot.wait(100)
        # and what is painted is the new task's
        assert panel.shown == (1, after)
        assert panel.ranking.isVisible() and panel.ranking.ranking.rowCount() == 25
        assert panel.ds_card.showing_plot == (after == "expression")
    finally:
        panel.cache.wait()
        panel.attach(None)
        con.close()
