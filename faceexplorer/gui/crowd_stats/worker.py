"""Set statistics: read from the index when stored, else computed off the GUI thread.

Imports store each set's figures (``reports.c25_set_views``): a request reads them on the
GUI thread (JSON, a few milliseconds), so even the tab's first visit shows a set at
once. An index without them (made before, or by other statistics code) computes a set
as before: about a second or more, in a
:class:`~faceexplorer.gui.background.BackgroundCache` keyed by set. Either way one
result covers all three tasks, so switching task or coming back to a set is instant.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from faceexplorer.gui.background import BackgroundCache
from faceexplorer.reports import c25_set_views
from faceexplorer.reports.crowd_views import CrowdSetView, set_view


class SetStatsCache(BackgroundCache):
    """Cached :class:`CrowdSetView` per C25 set (signals: see BackgroundCache)."""

    def __init__(self, parent: QObject | None = None) -> None:
        #: Sets the index does not store (until the next reset): computed instead.
        self._not_stored: set[int] = set()
        super().__init__(set_view, parent)

    def reset(self) -> None:
        self._not_stored = set()
        super().reset()

    def request(self, key: int) -> CrowdSetView | None:
        """The view of set ``key``: cached, stored in the index, or None while computing."""
        if key not in self.results and self.con is not None \
                and key not in self._not_stored:
            view = c25_set_views.stored_view(self.con, key)
            if view is None:
                self._not_stored.add(key)
            else:
                self.results[key] = view
        return super().request(key)

    def put(self, view: CrowdSetView) -> None:
        """Cache a view computed elsewhere on the same connection (a benchmark, a test)."""
        self.store(view.c25_set, view)
