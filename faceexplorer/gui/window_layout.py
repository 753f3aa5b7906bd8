"""The main window's remembered layout: its geometry, the dataset list's splitter and the
current tab, kept in :class:`~faceexplorer.gui.core.settings.Settings` when the window
closes and restored when it opens; View > Reset layout forgets them and goes back to the
defaults (a window sized to the screen, maximised on a laptop).

:class:`WindowLayout` is a mixin of :class:`~faceexplorer.gui.main_window.MainWindow`,
kept apart because it is one job; it uses the window's ``settings``, ``browse_page``,
``views``, ``_tabs``, ``dataset_panel`` and ``_build_current``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from faceexplorer.gui.core import settings as keys
from faceexplorer.gui.fit import fit_to_screen, opens_maximized, window_geometry


class WindowLayout:
    """The window's geometry, splitter and tab: defaults, restored, saved, reset."""

    #: The window's size where no screen is known; with a screen, the window opens sized
    #: to it (``fit.window_geometry``) before any layout is remembered, and after View >
    #: Reset layout.
    DEFAULT_SIZE = (1200, 760)
    BROWSE_SIZES = (280, 1000)

    def _use_default_geometry(self) -> None:
        screen = self.screen()
        if screen is None:
            self.resize(*self.DEFAULT_SIZE)
            return
        available = screen.availableGeometry()
        rect = window_geometry(available)
        self.resize(rect.size())
        self.move(rect.topLeft())
        if opens_maximized(available):     # a laptop: all of it
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def _restore_layout(self) -> None:
        """Geometry, splitter and tab as the window was last closed (if remembered)."""
        geometry = self.settings.get(keys.WINDOW_GEOMETRY)
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
            if self.screen() is not None:   # remembered on a larger screen: fit this one
                fit_to_screen(self, self.screen().availableGeometry())
        splitter = self.settings.get(keys.BROWSE_SPLITTER)
        if not splitter.isEmpty():
            self.browse_page.restoreState(splitter)
        self._select_tab(self.settings.get(keys.CURRENT_TAB))
        self._restoring = False
        self._build_current()

    def _select_tab(self, title: str) -> bool:
        for widget, (name, _kinds) in self._tabs.items():
            index = self.views.indexOf(widget)
            if name == title and self.views.isTabVisible(index):
                self.views.setCurrentIndex(index)
                return True
        return False

    def _save_layout(self) -> None:
        self.settings.set(keys.WINDOW_GEOMETRY, self.saveGeometry())
        self.settings.set(keys.BROWSE_SPLITTER, self.browse_page.saveState())
        self.settings.sync()

    def reset_layout(self) -> None:
        """Forget the remembered layout and go back to the defaults (View > Reset layout)."""
        self.settings.forget_group(keys.LAYOUT_GROUP)
        if self.isMaximized() or self.isFullScreen():
            self.showNormal()
        self._use_default_geometry()
        self.browse_page.setSizes(list(self.BROWSE_SIZES))
        selected = self.dataset_panel.current()
        if selected is not None:           # the tab a fresh start shows: the dataset's view
            self._open_view_for(selected)
        self.statusBar().showMessage("Layout reset to the defaults", 5000)
