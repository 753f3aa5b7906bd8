"""The Crowd statistics tab shows stored set statistics at once, and computes the others."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from faceexplorer.datasets.registry import import_path
from faceexplorer.gui.crowd_stats.panel import CrowdStatsPanel
from faceexplorer.reports import c25_set_views
from faceexplorer.samples.generate import write_samples

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(an index with stored set statistics, a copy made before they were stored)."""
    root = tmp_path_factory.mktemp("stored-views")
    written = write_samples(root, "small", seed=0, images=False, only=["affectnet-c25"])
    stored = root / "stored.duckdb"
    import_path(stored, written.path("affectnet"), "affectnet")
    import_path(stored, written.path("affectnet-c25"), "affectnet-c25")
    old = root / "old.duckdb"
    shutil.copyfile(stored, old)
    con = duckdb.connect(str(old))
    con.execute(f"DROP TABLE {c25_set_views.TABLE}")
    con.close()
    return stored, old


def _panel(qtbot, db: Path, sessions) -> CrowdStatsPanel:
    panel = CrowdStatsPanel()
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.attach(sessions(db))
    return panel


def _summary(panel: CrowdStatsPanel) -> list[tuple[str, str]]:
    t = panel.summary
    return [(t.item(r, 0).text(), t.item(r, 1).text()) for r in range(t.rowCount())]


def test_stored_statistics_show_at_once_and_equal_computed_ones(qtbot, indexes, sessions) -> None:
    stored, old = indexes
    panel = _panel(qtbot, stored, sessions)
    try:
        assert panel.shown == (1, "expression") and not panel.busy.isVisible()
        assert not panel.cache.running   # nothing was computed
        shown = {}
        for task in ("expression", "valence"):
            panel.show_statistics(2, task)
            assert panel.shown == (2, task)
            shown[task] = _summary(panel)
    finally:
        panel.cache.wait()
        panel.attach(None)

    panel = _panel(qtbot, old, sessions)   # the same figures, computed in the background
    try:
        assert panel.busy.isVisible()
        qtbot.waitUntil(lambda: panel.shown == (1, "expression"), timeout=TIMEOUT_MS)
        for task in ("expression", "valence"):
            panel.show_statistics(2, task)
            qtbot.waitUntil(lambda t=task: panel.shown == (2, t), timeout=TIMEOUT_MS)
            assert _summary(panel) == shown[task]
    finally:
        panel.cache.wait()
        panel.attach(None)
