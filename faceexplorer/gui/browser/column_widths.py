"""The image table's column widths: the user's, remembered by column name.

The browser's table changes its columns with the index (the crowd columns only with
AffectNetC25) and Qt resets section sizes on every page (the model is reset), so widths
are kept by column *name* in the settings (``layout/browse_columns``, JSON) and put back
after each page. A width the user drags is stored at once; View > Reset layout forgets
them all (the settings' ``changed`` signal) and the defaults come back. The last column
stretches to the table's edge, so its width is neither stored nor set.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from PySide6.QtWidgets import QHeaderView

from faceexplorer.gui.core.settings import BROWSE_COLUMNS, Settings

#: Column widths (px) before the user sets their own.
DEFAULT_WIDTHS = {"filename": 220}


class ColumnWidths:
    """Keeps ``header``'s widths for the columns ``columns()`` names, in ``settings()``."""

    def __init__(self, header: QHeaderView, columns: Callable[[], list[str]],
                 settings: Callable[[], Settings | None]) -> None:
        self.header, self._columns, self._settings = header, columns, settings
        self._applying = False
        self._followed: Settings | None = None
        header.sectionResized.connect(self._resized)

    def stored(self) -> dict[str, int]:
        """The widths the user set, by column name (a hand-broken value: none)."""
        settings = self._settings()
        if settings is None:
            return {}
        try:
            widths = json.loads(settings.get(BROWSE_COLUMNS) or "{}")
        except ValueError:
            return {}
        return {k: int(v) for k, v in widths.items()
                if isinstance(v, (int, float)) and v > 0} if isinstance(widths, dict) else {}

    def apply(self) -> None:
        """Give every column but the last its stored width, else its default."""
        settings = self._settings()
        if settings is not None and settings is not self._followed:
            self._followed = settings
            settings.changed.connect(self._settings_changed)
        stored = self.stored()
        self._applying = True
        try:
            for section, name in enumerate(self._columns()[:-1]):
                width = stored.get(name, DEFAULT_WIDTHS.get(name,
                                                            self.header.defaultSectionSize()))
                if self.header.sectionSize(section) != width:
                    self.header.resizeSection(section, width)
        finally:
            self._applying = False

    def _resized(self, section: int, _old: int, new: int) -> None:
        columns, settings = self._columns(), self._settings()
        if self._applying or settings is None or new <= 0 or section >= len(columns) - 1:
            return
        widths = self.stored()
        widths[columns[section]] = new
        settings.set(BROWSE_COLUMNS, json.dumps(widths, sort_keys=True))

    def _settings_changed(self, key: str) -> None:
        if key == BROWSE_COLUMNS.key:   # View > Reset layout
            self.apply()
