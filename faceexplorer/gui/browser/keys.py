"""The browser's paging keys, on the grid and the table alike.

Arrows move within the page as Qt does, except past a page end, where they turn the
page; PgUp/PgDn change page; Home/End go to the first/last image of the whole selection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView

if TYPE_CHECKING:
    from faceexplorer.gui.browser.browser import ImageBrowser


def paging_key(browser: ImageBrowser, view: QAbstractItemView, event: QKeyEvent) -> bool:
    """Act on ``event`` if it is a paging key for ``view``; whether it was."""
    key = event.key()
    row = view.currentIndex().row() if view.currentIndex().isValid() else -1
    n = view.model().rowCount()
    if key == Qt.Key.Key_PageDown:
        browser.next_page()
    elif key == Qt.Key.Key_PageUp:
        browser.previous_page()
    elif key == Qt.Key.Key_Home:
        browser.first_page()
    elif key == Qt.Key.Key_End:
        browser.last_page()
    elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down) and row == n - 1:
        browser.next_page()
    elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up) and row == 0:
        browser.previous_page(select="last")
    else:
        return False
    return True
