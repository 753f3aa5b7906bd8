"""Compute set statistics off the GUI thread, once per set and connection.

One set's figures take about a second or more (Dawid-Skene dominates); they come from
a :class:`~faceexplorer.gui.background.BackgroundCache` keyed by set. One computation
covers all three tasks, so switching task or coming back to a set is instant.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from faceexplorer.gui.background import BackgroundCache
from faceexplorer.stats.crowd_views import CrowdSetView, set_view


class SetStatsCache(BackgroundCache):
    """Cached :class:`CrowdSetView` per C25 set (signals: see BackgroundCache)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(set_view, parent)

    def put(self, view: CrowdSetView) -> None:
        """Cache a view computed elsewhere on the same connection (a benchmark, a test)."""
        self.store(view.c25_set, view)
